//! `WorkList`: a safe, owning list of work items over `cmwq_list::List<WorkHead>`.

use core::fmt;
use core::ptr::NonNull;

use cmwq_list::{CursorId, ElemRef, Entry, Iter, List};

use crate::head::WorkHead;
use crate::item::{LinkedWork, WorkRef};

/// A list of owned work items (a pool's worklist, a pwq's inactive list, a worker's
/// scheduled list): each element is held by one [`WorkRef`], so the list keeps its items
/// alive and in place; dropping the list drops those references.
///
/// Iteration yields each item as an [`ElemRef`] (it derefs to the `WorkHead`), whose
/// [`LinkedWork`] methods give the item's name and barrier task.
///
/// Cursor operations of [`cmwq_list::List`] are forwarded (and panic as they do when given a
/// cursor of another list or a freed one); iteration yields
/// [`Entry::Elem`]`(&WorkHead)` or [`Entry::Cursor`], and a cursor can never come out as a
/// work item:
///
/// ```compile_fail,E0308
/// use cmwq_work::{WorkList, WorkRef};
/// let mut list = WorkList::new();
/// let cursor = list.new_cursor(1);
/// list.move_cursor_to_back(cursor);
/// // A cursor is not a WorkRef: it cannot be run, pushed or returned as work.
/// let work: WorkRef = cursor;
/// ```
///
/// ```compile_fail,E0599
/// use cmwq_list::Entry;
/// use cmwq_work::{WorkHead, WorkList};
/// let list = WorkList::new();
/// for entry in list.iter() {
///     if let Entry::Cursor(c) = entry {
///         // A CursorRef has no way to produce a head.
///         let head: &WorkHead = c.elem();
///     }
/// }
/// ```
///
/// The methods that name an element by `&WorkHead` (`remove`, `insert_after`,
/// `move_cursor_before`, `iter_after`) are `unsafe` with one contract, "the head is on this
/// list", which keeps them O(1); [`WorkList::remove_checked`] checks it in O(n).
pub struct WorkList {
    list: List<WorkHead>,
}

impl Default for WorkList {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for WorkList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.list.iter().map(|e| match e {
                Entry::Elem(h) => h.name().to_owned(),
                Entry::Cursor(c) => format!("<cursor of {}>", c.owner()),
            }))
            .finish()
    }
}

impl WorkList {
    /// An empty list.
    pub fn new() -> Self {
        Self { list: List::new() }
    }

    /// Number of work items (cursors do not count). O(1).
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether there are no work items (cursors do not count).
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Link `work` at the tail. O(1), no allocation.
    ///
    /// # Panics
    ///
    /// If the item is already on a list (the PENDING protocol makes this a bug in the
    /// caller); `work` is then dropped normally.
    pub fn push_back(&mut self, work: WorkRef) {
        assert_not_linked(&work);
        let head = work.into_raw_head();
        // SAFETY: `head` carries a strong count that this list now holds until the item is
        // unlinked, so the item stays live and, in its `Arc`, does not move.
        unsafe { self.list.push_back(head) };
    }

    /// Link `work` at the head. O(1), no allocation.
    ///
    /// # Panics
    ///
    /// As [`WorkList::push_back`].
    pub fn push_front(&mut self, work: WorkRef) {
        assert_not_linked(&work);
        let head = work.into_raw_head();
        // SAFETY: as in `push_back`.
        unsafe { self.list.push_front(head) };
    }

    /// Link `work` right after `pos`. O(1).
    ///
    /// # Safety
    ///
    /// `pos` is on this list.
    ///
    /// # Panics
    ///
    /// As [`WorkList::push_back`].
    pub unsafe fn insert_after(&mut self, pos: &WorkHead, work: WorkRef) {
        assert_not_linked(&work);
        let head = work.into_raw_head();
        // SAFETY: `pos` is on this list (caller's contract); `head` as in `push_back`.
        unsafe { self.list.insert_after(NonNull::from(pos), head) };
    }

    /// Unlink and return the first work item (cursors before it stay).
    pub fn pop_front(&mut self) -> Option<WorkRef> {
        let head = self.list.pop_front()?;
        // SAFETY: every element was linked with the strong count of a `WorkRef`, and the
        // list gives back the pointer it was pushed with.
        Some(unsafe { WorkRef::from_raw_head(head) })
    }

    /// Unlink `head` and return its reference. O(1).
    ///
    /// # Safety
    ///
    /// `head` is on this list.
    pub unsafe fn remove(&mut self, head: &WorkHead) -> WorkRef {
        // SAFETY: `head` is on this list (caller's contract).
        let head = unsafe { self.list.remove(NonNull::from(head)) };
        // SAFETY: as in `pop_front`.
        unsafe { WorkRef::from_raw_head(head) }
    }

    /// Unlink `head` if it is on this list. O(n).
    pub fn remove_checked(&mut self, head: &WorkHead) -> Option<WorkRef> {
        if self.list.contains(head) {
            // SAFETY: just checked.
            Some(unsafe { self.remove(head) })
        } else {
            None
        }
    }

    /// Whether `head` is on this list. O(n).
    pub fn contains(&self, head: &WorkHead) -> bool {
        self.list.contains(head)
    }

    /// The first work item, skipping cursors.
    pub fn front(&self) -> Option<&WorkHead> {
        self.list.front()
    }

    /// Every node from the head: work items and cursors.
    pub fn iter(&self) -> Iter<'_, WorkHead> {
        self.list.iter()
    }

    /// The work items only, from the head.
    pub fn heads(&self) -> impl Iterator<Item = ElemRef<'_, WorkHead>> + '_ {
        self.list.elements()
    }

    /// Iterate from the node right after `head`.
    ///
    /// # Safety
    ///
    /// `head` is on this list.
    pub unsafe fn iter_after(&self, head: &WorkHead) -> Iter<'_, WorkHead> {
        // SAFETY: caller's contract.
        unsafe { self.list.iter_after(NonNull::from(head)) }
    }

    /// Take every work item out, head first (cursors are unlinked); what the iterator does
    /// not yield is dropped with it.
    pub fn drain(&mut self) -> impl Iterator<Item = WorkRef> + '_ {
        self.list.drain().map(|head| {
            // SAFETY: as in `pop_front`.
            unsafe { WorkRef::from_raw_head(head) }
        })
    }

    /// The underlying intrusive list, read-only.
    pub fn raw(&self) -> &List<WorkHead> {
        &self.list
    }

    // ---- cursors, forwarded ----

    /// Allocate a cursor owned by this list (see [`List::new_cursor`]).
    pub fn new_cursor(&mut self, owner: u64) -> CursorId {
        self.list.new_cursor(owner)
    }

    /// Free a cursor (see [`List::free_cursor`]).
    pub fn free_cursor(&mut self, c: CursorId) {
        self.list.free_cursor(c);
    }

    /// Whether the cursor is this list's and not freed.
    pub fn owns_cursor(&self, c: CursorId) -> bool {
        self.list.owns_cursor(c)
    }

    /// Whether the cursor is linked.
    pub fn cursor_is_linked(&self, c: CursorId) -> bool {
        self.list.cursor_is_linked(c)
    }

    /// The cursor's owner.
    pub fn cursor_owner(&self, c: CursorId) -> u64 {
        self.list.cursor_owner(c)
    }

    /// Unlink the cursor if linked.
    pub fn unlink_cursor(&mut self, c: CursorId) {
        self.list.unlink_cursor(c);
    }

    /// Place (or move) the cursor right before `head`.
    ///
    /// # Safety
    ///
    /// `head` is on this list.
    pub unsafe fn move_cursor_before(&mut self, c: CursorId, head: &WorkHead) {
        // SAFETY: caller's contract.
        unsafe { self.list.move_cursor_before(c, NonNull::from(head)) };
    }

    /// Place (or move) the cursor right after `head`.
    ///
    /// # Safety
    ///
    /// `head` is on this list.
    pub unsafe fn move_cursor_after(&mut self, c: CursorId, head: &WorkHead) {
        // SAFETY: caller's contract.
        unsafe { self.list.move_cursor_after(c, NonNull::from(head)) };
    }

    /// Place (or move) the cursor right before the first work item after `head`, or at the
    /// tail if none follows (cursors in between stay before it; see
    /// [`List::move_cursor_before_next_elem`]).
    ///
    /// # Safety
    ///
    /// `head` is on this list.
    pub unsafe fn move_cursor_before_next_elem(&mut self, c: CursorId, head: &WorkHead) {
        // SAFETY: caller's contract.
        unsafe {
            self.list
                .move_cursor_before_next_elem(c, NonNull::from(head))
        };
    }

    /// Place (or move) the cursor at the tail.
    pub fn move_cursor_to_back(&mut self, c: CursorId) {
        self.list.move_cursor_to_back(c);
    }

    /// Iterate from right after the cursor, or from the head if it is not linked.
    pub fn iter_after_cursor(&self, c: CursorId) -> Iter<'_, WorkHead> {
        self.list.iter_after_cursor(c)
    }
}

fn assert_not_linked(work: &WorkRef) {
    assert!(
        !work.head().is_linked(),
        "cmwq-work: {} is already on a list",
        work.name()
    );
}

impl Drop for WorkList {
    fn drop(&mut self) {
        for work in self.list.drain() {
            // SAFETY: as in `pop_front`.
            drop(unsafe { WorkRef::from_raw_head(work) });
        }
    }
}
