//! The few list and data-word operations the pool needs, in one place.
//!
//! Items live on the pool's lists as `WorkRef`s (each holds one strong count of its item),
//! so a `WorkHead` reached through a list stays valid while the `WorkRef` is on one of this
//! pool's lists or in the pool's hands. Positions are passed around as `NonNull<WorkHead>`
//! because a `&WorkHead` borrowed from a list would freeze the list; every function here
//! that takes one states which list it must be on.

use std::ptr::NonNull;

use cmwq_list::Entry;
use cmwq_work::{WorkFlags, WorkHead, WorkList, WorkRef};

/// The data word's flag bits.
pub(crate) fn flags(h: &WorkHead) -> WorkFlags {
    h.data().flags()
}

/// Whether the item is a flush barrier (it names a waiting task).
pub(crate) fn is_barrier(h: &WorkHead) -> bool {
    h.is_barrier()
}

/// Borrow the head behind a position.
///
/// # Safety
///
/// `p` points to the head of an item whose `WorkRef` is on a list of the caller's pool (or
/// held by the caller), and stays there for `'a`.
pub(crate) unsafe fn head<'a>(p: NonNull<WorkHead>) -> &'a WorkHead {
    // SAFETY: the caller guarantees the item is kept alive by a WorkRef it controls.
    unsafe { p.as_ref() }
}

/// The first element after `pos` (cursors skipped).
///
/// # Safety
///
/// `pos` is an element of `list`.
pub(crate) unsafe fn next_elem_after(
    list: &WorkList,
    pos: NonNull<WorkHead>,
) -> Option<NonNull<WorkHead>> {
    // SAFETY: forwarded: pos is on list.
    let mut it = unsafe { list.iter_after(head(pos)) };
    it.find_map(|e| match e {
        Entry::Elem(h) => Some(NonNull::from(h)),
        Entry::Cursor(_) => None,
    })
}

/// Unlink `pos` from `list`, returning its reference.
///
/// # Safety
///
/// `pos` is an element of `list`.
pub(crate) unsafe fn take(list: &mut WorkList, pos: NonNull<WorkHead>) -> WorkRef {
    // SAFETY: forwarded: pos is on list.
    unsafe { list.remove(head(pos)) }
}

/// Move `first` and the items LINKED behind it from `src` to the tail of `dst` (kernel
/// `move_linked_works`). Returns the number of items moved. Every item after the first is
/// reported to `moved` (so a caller iterating over stale positions can skip them).
///
/// # Safety
///
/// `first` is an element of `src`.
pub(crate) unsafe fn move_linked(
    src: &mut WorkList,
    dst: &mut WorkList,
    first: NonNull<WorkHead>,
    mut moved: impl FnMut(NonNull<WorkHead>),
) -> usize {
    let mut cur = first;
    let mut n = 0;
    loop {
        // SAFETY: cur is on src (first by contract, the rest found on src below).
        let linked = flags(unsafe { head(cur) }).contains(WorkFlags::LINKED);
        let next = if linked {
            // SAFETY: cur is on src.
            unsafe { next_elem_after(src, cur) }
        } else {
            None
        };
        // SAFETY: cur is on src.
        let w = unsafe { take(src, cur) };
        dst.push_back(w);
        n += 1;
        match next {
            Some(nx) => {
                moved(nx);
                cur = nx;
            }
            None => return n,
        }
    }
}

/// The element that follows `first`'s LINKED chain on `list`, if any.
///
/// # Safety
///
/// `first` is an element of `list`.
pub(crate) unsafe fn after_chain(
    list: &WorkList,
    first: NonNull<WorkHead>,
) -> Option<NonNull<WorkHead>> {
    let mut cur = first;
    loop {
        // SAFETY: cur is on list.
        let next = unsafe { next_elem_after(list, cur) };
        // SAFETY: cur is on list.
        if !flags(unsafe { head(cur) }).contains(WorkFlags::LINKED) {
            return next;
        }
        match next {
            Some(nx) => cur = nx,
            None => return None,
        }
    }
}

/// The last element of `first`'s LINKED chain on `list` (`first` itself unless it is
/// LINKED), or `None` if the chain runs off the tail: then nothing follows it.
/// `after_chain(first)` is the element after this one.
///
/// # Safety
///
/// `first` is an element of `list`.
pub(crate) unsafe fn chain_end(
    list: &WorkList,
    first: NonNull<WorkHead>,
) -> Option<NonNull<WorkHead>> {
    let mut cur = first;
    // SAFETY: cur is on list (first by contract, the rest found on list below).
    while flags(unsafe { head(cur) }).contains(WorkFlags::LINKED) {
        // SAFETY: cur is on list.
        cur = unsafe { next_elem_after(list, cur) }?;
    }
    Some(cur)
}
