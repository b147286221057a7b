//! cmwq-work: work items, their data word, and the owning worklist.
//!
//! A work item is user data plus a [`WorkHead`], the kernel's `work_struct`: a list node
//! (so queueing never allocates: the item *is* the list element, see cmwq-list) and an
//! atomic **data word**. The word is laid out as in the kernel: PENDING, INACTIVE, PWQ and
//! LINKED flags, four flush-colour bits, then either the id of the pwq the item is queued on
//! (PWQ set) or, off queue, the id of the pool it last ran on and a disable count. Its
//! operations are the queue path's, in the [`raw`] module (the crates that implement a
//! workqueue import [`raw::WorkHeadRaw`]): [`test_and_set_pending`](raw::WorkHeadRaw::test_and_set_pending) makes queueing an
//! already pending item a no-op (and refuses a disabled one), the pool records the pwq and
//! colour under its lock, and a worker clears PENDING (recording the pool) just before
//! running the item. Each method documents its memory ordering; [`WorkHead`]'s docs say
//! why they are right together.
//!
//! Items are shaped like Rust-for-Linux's workqueue binding: a type implements
//! [`WorkItem`] (`run` receives the item's `Arc`), embeds a [`Work<Self>`](Work) (a `WorkHead`
//! typed by its item) declared with [`impl_has_work!`], and is queued as an `Arc`. The head
//! is made by [`Work::new()`], its item type taken from the field's type, so a head can only
//! sit in the type it was made for. An item may embed several heads, `Work<Self, ID>` with
//! one [`WorkItem<ID>`](WorkItem) impl each, as a kernel struct embeds several
//! `work_struct`s: each is queued, run and cancelled on its own (see [`WorkItem`]).
//! [`WorkRef`] is that `Arc` with its type erased (through the [`WorkVTable`] of the item's
//! type and head id, in the head): making one, putting it on a [`WorkList`] and taking it
//! off allocate nothing, and [`WorkRef::try_into_arc`] gives the `Arc` back, whichever head
//! it was queued by. [`work_fn`] makes an item from a closure.
//!
//! # Using it alone
//!
//! Everything here works without the rest of cmwq: items, references, lists with cursors,
//! and the data-word protocol, as this example shows (a pool would do the same under its
//! lock, on worker threads).
//!
//! ```
//! use std::sync::Arc;
//! use std::sync::atomic::{AtomicU32, Ordering};
//! use cmwq_work::raw::WorkHeadRaw;
//! use cmwq_work::{Entry, LinkedWork, PoolId, PwqId, Work, WorkFlags, WorkItem, WorkList, WorkRef, impl_has_work};
//!
//! struct Flush {
//!     work: Work<Self>,
//!     runs: AtomicU32,
//! }
//! impl_has_work!(Flush { work });
//! impl WorkItem for Flush {
//!     fn run(this: Arc<Self>) {
//!         this.runs.fetch_add(1, Ordering::Relaxed);
//!     }
//!     fn name(&self) -> &str {
//!         "flush_func"
//!     }
//! }
//!
//! let item = Arc::new(Flush { work: Work::new(), runs: AtomicU32::new(0) });
//! let mut worklist = WorkList::new();
//!
//! // queue_work(): take PENDING, record the pwq, link the item.
//! assert_eq!(item.work.test_and_set_pending(), Ok(true));
//! item.work.set_pwq(PwqId::new(3), 0, WorkFlags::empty());
//! worklist.push_back(WorkRef::from_arc(item.clone()));
//! // Queueing it again while pending is a no-op.
//! assert_eq!(item.work.test_and_set_pending(), Ok(false));
//! assert_eq!(item.work.pwq(), Some(PwqId::new(3)));
//!
//! // A cursor sits in the list but is never a work item.
//! let cursor = worklist.new_cursor(3);
//! worklist.move_cursor_to_back(cursor);
//! let names: Vec<&str> = worklist
//!     .iter()
//!     .map(|e| match e {
//!         Entry::Elem(head) => head.name(),
//!         Entry::Cursor(_) => "mayday_cursor",
//!     })
//!     .collect();
//! assert_eq!(names, ["flush_func", "mayday_cursor"]);
//! assert_eq!(worklist.len(), 1);
//!
//! // A worker takes it, clears PENDING recording its pool, and runs it.
//! let work = worklist.pop_front().unwrap();
//! work.head().set_pool_and_clear_pending(PoolId(0));
//! work.run();
//! assert_eq!(item.runs.load(Ordering::Relaxed), 1);
//! assert_eq!(item.work.last_pool(), Some(PoolId(0)));
//! assert_eq!(Arc::strong_count(&item), 1);
//! ```

mod data;
mod head;
mod item;
pub mod raw;
mod sync;
mod worklist;

pub use cmwq_list::{CursorId, CursorRef, ElemRef, Entry};
pub use data::{
    OffqFlags, PoolId, PwqId, WORK_DATA_INIT, WORK_NR_COLORS, WORK_OFFQ_BH_BIT,
    WORK_OFFQ_DISABLE_BITS, WORK_OFFQ_DISABLE_MAX, WORK_OFFQ_DISABLE_SHIFT, WORK_OFFQ_FLAG_BITS,
    WORK_OFFQ_FLAG_SHIFT, WORK_OFFQ_POOL_BITS, WORK_OFFQ_POOL_NONE, WORK_OFFQ_POOL_SHIFT,
    WORK_PWQ_ID_MAX, WORK_STRUCT_COLOR_BITS, WORK_STRUCT_COLOR_SHIFT, WORK_STRUCT_FLAG_BITS,
    WORK_STRUCT_INACTIVE_BIT, WORK_STRUCT_LINKED_BIT, WORK_STRUCT_NO_POOL, WORK_STRUCT_PENDING_BIT,
    WORK_STRUCT_PWQ_BIT, WORK_STRUCT_PWQ_SHIFT, WorkBusy, WorkData, WorkFlags, offq_flags,
};
pub use head::{DisableError, Work, WorkDisabled, WorkHead, WorkOffqData};
pub use item::{FnWork, HasWork, LinkedWork, WorkItem, WorkRef, WorkVTable, work_fn};
pub use worklist::WorkList;
