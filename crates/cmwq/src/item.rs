//! Runtime-provided items: flush barriers, and work identity.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use cmwq_work::{HasWork, WorkHead};
use parking_lot::{Condvar, Mutex};

/// An item's identity (the address of its `WorkHead`), as [`current_work`](crate::current_work)
/// reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WorkId(pub(crate) usize);

impl WorkId {
    /// The identity of `item`.
    pub fn of<T: HasWork<ID>, const ID: u64>(item: &T) -> WorkId {
        WorkId(std::ptr::from_ref::<WorkHead>(item.work_head()).addr())
    }

    /// The address of the item's `WorkHead` (what the `work` field of the runtime's
    /// `tracing` events holds).
    pub fn addr(self) -> usize {
        self.0
    }
}

/// A small id per waiting thread, printed by the dump as `BAR(ID)` (the kernel prints
/// the waiting task's pid).
pub(crate) fn task_id() -> u32 {
    static NEXT: AtomicU32 = AtomicU32::new(1);
    thread_local!(static ID: u32 = NEXT.fetch_add(1, Ordering::Relaxed));
    ID.with(|i| *i)
}

/// A flush barrier (kernel `struct wq_barrier`): queued behind the item waited for; its
/// run wakes the waiter.
pub(crate) type Barrier = cmwq_work::raw::Barrier<Waiter>;

/// A new barrier for the calling thread to wait on.
pub(crate) fn barrier() -> Arc<Barrier> {
    Barrier::new(task_id(), Waiter::default())
}

/// The completion of a runtime barrier: the waiting thread sleeps on it.
#[derive(Default)]
pub(crate) struct Waiter {
    done: Mutex<bool>,
    cv: Condvar,
}

impl cmwq_work::raw::Completion for Waiter {
    fn complete(&self) {
        *self.done.lock() = true;
        self.cv.notify_all();
    }
}

impl Waiter {
    /// Wait for the barrier to run, inside a blocking scope; until `deadline` at most
    /// (`None`: no limit). Returns whether it ran. A barrier given up on stays queued and
    /// runs later, waking no one.
    pub(crate) fn wait(&self, deadline: Option<std::time::Instant>) -> bool {
        let _b = crate::BlockingGuard::enter();
        let mut d = self.done.lock();
        while !*d {
            match deadline {
                Some(at) => {
                    if self.cv.wait_until(&mut d, at).timed_out() {
                        return *d;
                    }
                }
                None => self.cv.wait(&mut d),
            }
        }
        true
    }
}
