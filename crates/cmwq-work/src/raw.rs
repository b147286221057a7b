//! The data-word operations and barrier items of the queue path, shared by the crates that
//! implement a workqueue (cmwq-pool, the runtime), kept off [`WorkHead`]'s public face.
//!
//! A user of work items never needs this module: queueing, running, flushing and
//! cancelling go through a workqueue. Code that implements the queue path itself (as
//! cmwq-pool does, or a test of the data-word protocol) imports the extension trait:
//!
//! ```
//! use std::sync::Arc;
//! use cmwq_work::raw::WorkHeadRaw;
//! use cmwq_work::{PoolId, PwqId, Work, WorkFlags, WorkItem, impl_has_work};
//!
//! struct Job {
//!     work: Work<Self>,
//! }
//! impl_has_work!(Job { work });
//! impl WorkItem for Job {
//!     fn run(_this: Arc<Self>) {}
//! }
//!
//! let job = Job { work: Work::new() };
//! assert_eq!(job.work.test_and_set_pending(), Ok(true));
//! job.work.set_pwq(PwqId::new(1), 0, WorkFlags::empty());
//! assert_eq!(job.work.pwq(), Some(PwqId::new(1)));
//! job.work.set_pool_and_clear_pending(PoolId(0));
//! assert!(!job.work.is_pending());
//! ```
//!
//! The trait is sealed: [`WorkHead`] is its only implementation.

use crate::data::{PoolId, PwqId, WorkFlags};
use crate::head::{DisableError, Work, WorkDisabled, WorkHead, WorkOffqData};
use crate::item::{HasWork, WorkItem};

mod sealed {
    pub trait Sealed {}
    impl Sealed for crate::WorkHead {}
}

/// The operations that change a [`WorkHead`]'s data word, each with its memory ordering
/// (see [`WorkHead`]'s docs for why they are right together). Only the queue path calls
/// them: most under the pool lock, as their docs say.
pub trait WorkHeadRaw: sealed::Sealed {
    /// The raw data word (`Acquire`).
    fn raw_data(&self) -> usize;

    /// The queue fast path: atomically set PENDING.
    ///
    /// - `Ok(true)`: PENDING was clear and the caller now owns it: it must queue the item.
    /// - `Ok(false)`: already pending; queueing is a no-op (the pending run will see what the
    ///   caller wrote before this call).
    /// - `Err(WorkDisabled)`: PENDING was clear but the item is disabled; nothing changed.
    ///
    /// Ordering: `AcqRel` compare-exchange in both `Ok` cases, so the caller's earlier writes
    /// are released to the worker that clears PENDING, and on `Ok(true)` the caller acquires
    /// the previous owner's release (the last clear); failures reload with `Acquire`.
    fn test_and_set_pending(&self) -> Result<bool, WorkDisabled>;

    /// Set PENDING whatever the disable count (the first step of the kernel's
    /// `try_to_grab_pending`, used by cancel and disable): `true` if it was clear, and the
    /// caller now owns PENDING. `AcqRel` `fetch_or`, as `test_and_set_pending`.
    #[must_use = "true means the caller owns PENDING and must release it"]
    fn grab_pending(&self) -> bool;

    /// Record the pwq the item is being queued on (the kernel's `set_work_pwq`, in
    /// `insert_work`): the word becomes `pwq | colour | PENDING | PWQ | extra`, where
    /// `extra` may hold INACTIVE and LINKED.
    ///
    /// Call it under the pool lock, with PENDING owned. `AcqRel` swap (an RMW, see the
    /// module docs; the lock orders it with the other pool-side updates).
    ///
    /// # Panics
    ///
    /// If `color >= WORK_NR_COLORS` or `pwq` exceeds [`WORK_PWQ_ID_MAX`](crate::WORK_PWQ_ID_MAX).
    fn set_pwq(&self, pwq: PwqId, color: u8, extra: WorkFlags);

    /// Set or clear INACTIVE (the item moves between its pwq's inactive list and the pool
    /// worklist: `pwq_activate_work` clears it). Under the pool lock; `Release` RMW.
    fn set_inactive(&self, on: bool);

    /// Set flag bits: INACTIVE and LINKED only (PENDING and PWQ change only through the
    /// methods that keep the word's form consistent; other bits are ignored). Under the pool
    /// lock; `Release` `fetch_or`.
    fn set_flags(&self, flags: WorkFlags);

    /// Clear flag bits: INACTIVE and LINKED only (see [`WorkHead::set_flags`]). Under the pool
    /// lock; `Release` `fetch_and`.
    fn clear_flags(&self, flags: WorkFlags);

    /// Clear PENDING and record the pool, just before the item runs (the kernel's
    /// `set_work_pool_and_clear_pending` in `process_one_work`): the word becomes off queue,
    /// last pool `pool`, not disabled, no flags.
    ///
    /// `AcqRel` swap: it acquires every queuer's release that came before it (see the module
    /// docs), so the run that follows sees their writes.
    fn set_pool_and_clear_pending(&self, pool: PoolId);

    /// Clear PENDING, writing `offqd` (cancel and disable paths keep or change the disable
    /// count this way). `AcqRel` swap, as [`WorkHead::set_pool_and_clear_pending`].
    fn set_offqd_and_clear_pending(&self, offqd: WorkOffqData);

    /// Record the pool and keep PENDING (the kernel's `set_work_pool_and_keep_pending`: a
    /// canceller stole the item off its queue and owns PENDING). `AcqRel` swap.
    fn set_pool_keep_pending(&self, pool: PoolId);

    /// Write `offqd` and keep PENDING set. `AcqRel` swap.
    fn set_offqd_keep_pending(&self, offqd: WorkOffqData);

    /// Clear PENDING and nothing else, for an off-queue word whose PENDING the caller owns
    /// (a canceller that grabbed an idle item). `AcqRel` `fetch_and`.
    fn clear_pending(&self);

    /// Increment the disable count (`disable_work`); returns the new count. The word must be
    /// off queue. `AcqRel` compare-exchange loop.
    fn disable(&self) -> Result<u16, DisableError>;

    /// Decrement the disable count (`enable_work`); returns the new count (queueing works
    /// again at 0). The word must be off queue. `AcqRel` compare-exchange loop.
    fn enable(&self) -> Result<u16, DisableError>;
}

/// A flush barrier item (the kernel's `struct wq_barrier`): queued LINKED behind the item a
/// flush waits for, printed `BAR(task)` in dumps, never cancelled. Only the crates that
/// implement flushing make barriers; an ordinary [`WorkItem`] is never one. A barrier has
/// one head (id 0).
pub trait BarrierWork: WorkItem + HasWork {
    /// The id of the task waiting on this barrier (the dump prints `BAR(ID)`).
    fn barrier_task(&self) -> u32;
}

/// The head of a barrier item of type `T`: [`Work::new`], with `T`'s barrier task readable
/// through the head ([`WorkHead::is_barrier`], [`LinkedWork::barrier_task`]). Like
/// `Work::new`, it makes a head for `T` only, so it fits no other type's field.
///
/// [`LinkedWork::barrier_task`]: crate::LinkedWork::barrier_task
#[cfg(not(loom))]
pub const fn barrier_work<T: BarrierWork>() -> Work<T> {
    Work::with_vtable(crate::item::barrier_vtable_of::<T>())
}

/// [`barrier_work`] under loom (not `const`: loom's atomics are not).
#[cfg(loom)]
pub fn barrier_work<T: BarrierWork>() -> Work<T> {
    Work::with_vtable(crate::item::barrier_vtable_of::<T>())
}

/// What a [`Barrier`] completes when a worker runs it: the kernel's `struct completion`
/// in `struct wq_barrier`. A threaded workqueue wakes its waiter; a single-threaded driver
/// records that it ran.
pub trait Completion: Send + Sync + 'static {
    /// Called once, by the worker that runs the barrier (`wq_barrier_func`).
    fn complete(&self);
}

/// The flush barrier item itself (the kernel's `struct wq_barrier`, run as
/// `wq_barrier_func`): a head made by [`barrier_work`], the waiting task's id and the
/// completion its run signals. Every crate that flushes queues this one type, with its own
/// completion.
///
/// ```
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use cmwq_work::raw::{Barrier, Completion};
/// use cmwq_work::WorkRef;
///
/// #[derive(Default)]
/// struct Flag(AtomicBool);
/// impl Completion for Flag {
///     fn complete(&self) {
///         self.0.store(true, Ordering::Release);
///     }
/// }
///
/// let bar = Barrier::new(7, Flag::default());
/// let head = WorkRef::from_arc(bar.clone());
/// assert_eq!(head.barrier_task(), Some(7));
/// head.run();
/// assert!(bar.done().0.load(Ordering::Acquire));
/// ```
pub struct Barrier<C: Completion> {
    work: Work<Self>,
    task: u32,
    done: C,
}

crate::impl_has_work!(impl[C: Completion] Barrier<C> { work });

impl<C: Completion> WorkItem for Barrier<C> {
    fn run(this: std::sync::Arc<Self>) {
        this.done.complete();
    }
    fn name(&self) -> &str {
        "wq_barrier_func"
    }
}

impl<C: Completion> BarrierWork for Barrier<C> {
    fn barrier_task(&self) -> u32 {
        self.task
    }
}

impl<C: Completion> Barrier<C> {
    /// A barrier for the task `task` (printed `BAR(task)` by the dump), completing `done`.
    pub fn new(task: u32, done: C) -> std::sync::Arc<Self> {
        std::sync::Arc::new(Barrier {
            work: barrier_work(),
            task,
            done,
        })
    }

    /// The id of the waiting task.
    pub fn task(&self) -> u32 {
        self.task
    }

    /// The completion, for the waiter to wait on.
    pub fn done(&self) -> &C {
        &self.done
    }
}

/// Give up `work` as a head pointer that carries its strong count (for a lock-free queue
/// that stores items as pointers, as cmwq-pool's incoming ring does). The item stays alive
/// until [`from_raw_head`] takes the count back.
pub fn into_raw_head(work: crate::WorkRef) -> core::ptr::NonNull<WorkHead> {
    work.into_raw_head()
}

/// Take back the reference [`into_raw_head`] gave up.
///
/// # Safety
///
/// `head` came from [`into_raw_head`] and its count was not taken back before: each
/// pointer [`into_raw_head`] returns is turned back into a reference exactly once.
pub unsafe fn from_raw_head(head: core::ptr::NonNull<WorkHead>) -> crate::WorkRef {
    // SAFETY: the caller's contract is `WorkRef::from_raw_head`'s.
    unsafe { crate::WorkRef::from_raw_head(head) }
}
