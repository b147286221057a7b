//! cmwq-list: the intrusive worklist of cmwq, with positional cursors.
//!
//! A workqueue pool keeps its pending work items on one list (the kernel's
//! `pool->worklist`). Queueing must not allocate, so every item embeds its own link, a
//! [`Node`], and the [`List`] only threads those nodes together: it neither owns nor
//! allocates its elements. What it offers, all O(1) unless said otherwise:
//!
//! - push to the tail or head, insert after a given element, unlink an element known to be
//!   on the list, pop the first element, and ask a node whether it is linked;
//! - iteration from the head, from a given element, or from a cursor;
//! - **positional cursors.** Linux 7.0's rescuer walks a pool's worklist one item at a
//!   time and must resume where it stopped without rescanning from the head (which would be
//!   O(N²) over an episode). It marks its place with a cursor (`pwq->mayday_cursor`, a
//!   dummy work item in the kernel). Here a cursor is a node that the *list* allocates and
//!   owns ([`List::new_cursor`], once per owner), addressed by a `Copy` [`CursorId`]: the
//!   pwq keeps the id, so a cursor can never dangle. A cursor can be placed just before
//!   (or after) an element, moved to the tail, unlinked, and a scan resumes right after it
//!   ([`List::iter_after_cursor`]).
//!
//! **A cursor is not an element.** Iteration yields [`Entry::Elem`] or [`Entry::Cursor`];
//! a [`CursorRef`] gives its id and owner and nothing else, and no method outside this
//! crate turns a cursor into an element, so a cursor can never be run, counted or handed
//! out as work. Counting methods ([`List::len`], [`List::is_empty`], [`List::front`],
//! [`List::pop_front`]) see elements only.
//!
//! These do not compile: a [`CursorRef`] has no way to an element, and a [`CursorId`] is
//! not an element pointer.
//!
//! ```compile_fail,E0599
//! # use cmwq_list::{Entry, List, Node};
//! # struct Item { node: Node<()> }
//! # cmwq_list::impl_element!(Item { node: Node<()> });
//! let list = List::<Item>::new();
//! for entry in list.iter() {
//!     if let Entry::Cursor(c) = entry {
//!         let item: &Item = c.elem();
//!     }
//! }
//! ```
//!
//! ```compile_fail,E0308
//! # use cmwq_list::{List, Node};
//! # struct Item { node: Node<()> }
//! # cmwq_list::impl_element!(Item { node: Node<()> });
//! let mut list = List::<Item>::new();
//! let c = list.new_cursor(1);
//! list.move_cursor_to_back(c);
//! unsafe { list.remove(c) };
//! ```
//!
//! The list is used under one external lock (cmwq: the pool lock): every change takes
//! `&mut self`, and `List<E>` is `Send + Sync` when `E: Sync`, so
//! `parking_lot::Mutex<List<E>>` is `Sync`. Dropping a list that still has elements just
//! unlinks them (it never owned them) and frees its cursor nodes; using a [`CursorId`] on a
//! list that did not make it panics, since every list has a unique id. `DESIGN.md` beside
//! this crate says what the list guarantees and why it is sound.
//!
//! # Using it alone
//!
//! Embed a [`Node`] in your type, implement [`Element`] (with [`impl_element!`], or by hand
//! for a custom layout), and link values that outlive their time on the list. The methods
//! that link or name an element take a `NonNull<E>` and are `unsafe`: the list cannot know
//! that the element stays alive and in place. A safe, owning list of `Arc`s is built on top
//! of this one in cmwq-work (`WorkList`).
//!
//! # Example: resuming a scan from a cursor
//!
//! A rescuer takes the items of one owner ("pwq 1") one at a time, leaving a cursor right
//! after what it took, while other items stay where they are:
//!
//! ```
//! use core::ptr::NonNull;
//! use cmwq_list::{Entry, List, Node};
//!
//! struct Item {
//!     pwq: u32,
//!     name: &'static str,
//!     node: Node<()>,
//! }
//! cmwq_list::impl_element!(Item { node: Node<()> });
//!
//! fn item(pwq: u32, name: &'static str) -> Item {
//!     Item { pwq, name, node: Node::new(&()) }
//! }
//!
//! let items = [item(1, "a"), item(2, "b"), item(1, "c"), item(2, "d"), item(1, "e")];
//! let mut list = List::<Item>::new();
//! for it in &items {
//!     // SAFETY: `items` outlives `list` and is not moved while linked.
//!     unsafe { list.push_back(NonNull::from(it)) };
//! }
//! let cursor = list.new_cursor(1);
//!
//! let mut taken = Vec::new();
//! loop {
//!     // Scan from right after the cursor (from the head while it is not linked).
//!     let found = list
//!         .iter_after_cursor(cursor)
//!         .filter_map(Entry::elem)
//!         .find(|it| it.pwq == 1)
//!         .map(cmwq_list::ElemRef::as_ptr);
//!     let Some(found) = found else { break };
//!     // SAFETY: `found` is on `list`.
//!     unsafe {
//!         // Park the cursor after the item, then take the item: the cursor now sits
//!         // right before whatever followed it.
//!         list.move_cursor_after(cursor, found);
//!         list.remove(found);
//!         taken.push(found.as_ref().name);
//!     }
//! }
//! assert_eq!(taken, ["a", "c", "e"]);
//! // The other pwq's items are untouched, and the cursor is at the tail.
//! let left: Vec<_> = list
//!     .iter()
//!     .map(|e| match e {
//!         Entry::Elem(it) => it.name,
//!         Entry::Cursor(_) => "|cursor|",
//!     })
//!     .collect();
//! assert_eq!(left, ["b", "d", "|cursor|"]);
//! ```

mod list;
mod node;

pub use list::{CursorId, CursorRef, Drain, ElemRef, Element, Entry, Iter, List};
pub use node::Node;

/// Implement [`Element`] for a struct with a [`Node`] field:
/// `impl_element!(Type { field: Node<Meta> })`.
///
/// The macro checks that `field` has type `Node<Meta>` and computes the container from the
/// field's offset (`core::mem::offset_of!`), which is what [`Element`]'s contract asks.
///
/// ```
/// use cmwq_list::{List, Node};
/// struct Item {
///     value: u64,
///     link: Node<&'static str>,
/// }
/// cmwq_list::impl_element!(Item { link: Node<&'static str> });
///
/// static KIND: &str = "item";
/// let it = Item { value: 7, link: Node::new(&KIND) };
/// let mut list = List::new();
/// // SAFETY: `it` outlives `list` and does not move.
/// unsafe { list.push_back(core::ptr::NonNull::from(&it)) };
/// assert_eq!(list.front().map(|i| i.value), Some(7));
/// assert_eq!(*list.front().unwrap().link.meta(), "item");
/// ```
#[macro_export]
macro_rules! impl_element {
    ($ty:ty { $field:ident : Node<$meta:ty> }) => {
        // SAFETY: `node` returns the `$field` field of `self`, always the same one, and
        // `from_node` subtracts that field's offset from a pointer to it, which keeps the
        // pointer's provenance (address arithmetic only).
        unsafe impl $crate::Element for $ty {
            type Meta = $meta;

            fn node(&self) -> &$crate::Node<$meta> {
                &self.$field
            }

            unsafe fn from_node(
                node: ::core::ptr::NonNull<$crate::Node<$meta>>,
            ) -> ::core::ptr::NonNull<Self> {
                // SAFETY: the caller guarantees `node` is the `$field` of a live `$ty`, so
                // stepping back by its offset stays within that `$ty`.
                unsafe {
                    node.byte_sub(::core::mem::offset_of!($ty, $field))
                        .cast::<Self>()
                }
            }
        }
    };
}

#[cfg(test)]
mod layout_tests {
    use super::Node;

    static_assertions::const_assert!(
        core::mem::size_of::<Node<()>>() <= 3 * core::mem::size_of::<usize>()
    );

    #[test]
    fn node_is_three_words() {
        assert_eq!(
            core::mem::size_of::<Node<u64>>(),
            3 * core::mem::size_of::<usize>()
        );
    }
}
