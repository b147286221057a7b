//! Runtime-provided items: one-shot closures, flush barriers, and work identity.

use std::borrow::Cow;
use std::cell::UnsafeCell;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use cmwq_work::{HasWork, Work, WorkHead, WorkItem};
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

/// A closure queued once: the item [`Workqueue::queue_fn`](crate::Workqueue::queue_fn)
/// makes and returns, to flush or cancel it by. It runs its closure at most once; queued
/// again after that, it runs and does nothing.
pub struct FnOnceWork<F> {
    work: Work<Self>,
    name: Cow<'static, str>,
    /// Set by the run that takes `f` (one atomic swap per run, where a lock would be two
    /// atomic operations on the item's cache line).
    taken: AtomicBool,
    /// The closure, until the run that set `taken` moves it out.
    f: UnsafeCell<Option<F>>,
}

// SAFETY: `f` is only reached through `&self` by the one run that wins the `taken` swap,
// which moves the closure out (to run it on its own thread: hence `F: Send`), and by
// `Drop` (exclusive); no `&F` is ever handed out, so sharing the item needs no `F: Sync`.
unsafe impl<F: Send> Sync for FnOnceWork<F> {}

impl<F> fmt::Debug for FnOnceWork<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FnOnceWork")
            .field("name", &self.name)
            .field("ran", &self.taken.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

cmwq_work::impl_has_work!(impl[F: FnOnce() + Send + 'static] FnOnceWork<F> { work });

impl<F: FnOnce() + Send + 'static> WorkItem for FnOnceWork<F> {
    fn run(this: Arc<Self>) {
        if this.taken.swap(true, Ordering::Acquire) {
            return;
        }
        // SAFETY: this run won the swap above, so no other run reaches `f`, and `Drop`
        // cannot run while `this` is held (see the `Sync` impl).
        let f = unsafe { (*this.f.get()).take() };
        if let Some(f) = f {
            f();
        }
    }
    fn name(&self) -> &str {
        &self.name
    }
}

impl<F: FnOnce() + Send + 'static> FnOnceWork<F> {
    pub(crate) fn new(name: Cow<'static, str>, f: F) -> Arc<Self> {
        Arc::new(FnOnceWork {
            work: Work::new(),
            name,
            taken: AtomicBool::new(false),
            f: UnsafeCell::new(Some(f)),
        })
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use cmwq_work::WorkItem;

    use super::FnOnceWork;

    /// Counts its drops (the closure's captured state).
    struct Token(Arc<AtomicUsize>);
    impl Drop for Token {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn the_closure_runs_once_however_often_the_item_runs() {
        let runs = Arc::new(AtomicUsize::new(0));
        let drops = Arc::new(AtomicUsize::new(0));
        let (r, token) = (Arc::clone(&runs), Token(Arc::clone(&drops)));
        let item = FnOnceWork::new("once".into(), move || {
            let _token = token;
            r.fetch_add(1, Ordering::SeqCst);
        });
        assert!(format!("{item:?}").contains("ran: false"));
        WorkItem::run(Arc::clone(&item));
        assert_eq!(
            (runs.load(Ordering::SeqCst), drops.load(Ordering::SeqCst)),
            (1, 1)
        );
        WorkItem::run(Arc::clone(&item));
        assert_eq!(runs.load(Ordering::SeqCst), 1, "a second run does nothing");
        assert!(format!("{item:?}").contains("ran: true"));
        drop(item);
        assert_eq!(
            drops.load(Ordering::SeqCst),
            1,
            "the closure is dropped once"
        );
    }

    #[test]
    fn an_item_that_never_ran_drops_its_closure() {
        let drops = Arc::new(AtomicUsize::new(0));
        let token = Token(Arc::clone(&drops));
        let item = FnOnceWork::new("never".into(), move || drop(token));
        assert_eq!(drops.load(Ordering::SeqCst), 0);
        drop(item);
        assert_eq!(drops.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn racing_runs_take_the_closure_once() {
        let runs = Arc::new(AtomicUsize::new(0));
        let r = Arc::clone(&runs);
        let item = FnOnceWork::new("race".into(), move || {
            r.fetch_add(1, Ordering::SeqCst);
        });
        std::thread::scope(|s| {
            for _ in 0..4 {
                let item = Arc::clone(&item);
                s.spawn(move || WorkItem::run(item));
            }
        });
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }
}
