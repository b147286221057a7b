//! The blocking scope: the userspace form of the kernel's scheduler hooks.
//!
//! In the kernel, when a kworker sleeps the scheduler calls `wq_worker_sleeping`, which
//! drops the pool's `nr_running` and wakes an idle worker if work is pending (so a pool
//! always keeps about one runnable worker); waking calls `wq_worker_running`. Userspace has
//! no such hook, so a work function says it is about to block: [`blocking`] runs a closure
//! inside the scope; [`BlockingGuard`] is the same as a guard. Outside a worker thread
//! both are no-ops, so library code may use them unconditionally.
//!
//! Work that blocks without saying so is still caught, late, by the cpu-intensive tick:
//! it marks a worker CPU_INTENSIVE once its item has consumed 10 ms of CPU time, or once
//! the OS has had its thread asleep past that threshold in wall time (crates/cmwq/SLEEP.md);
//! it then stops counting in `nr_running`.

use std::cell::{Cell, RefCell};
use std::marker::PhantomData;
use std::sync::Arc;

/// What a worker thread installs so the blocking scope (and `current_work`) can reach it.
pub(crate) trait WorkerHooks: Send + Sync {
    /// The worker is about to block (kernel `wq_worker_sleeping`).
    fn sleeping(&self);
    /// The worker runs again (kernel `wq_worker_running`).
    fn running(&self);
    /// Identity of the item this worker runs now (its address), if any.
    fn current_work(&self) -> Option<usize>;
    /// Whether this worker is a rescuer.
    fn is_rescuer(&self) -> bool;
    /// The workqueue of the item this worker runs now, with the identity (address) of
    /// its runtime: workqueue ids are per runtime.
    fn current_wq(&self) -> Option<(usize, cmwq_pool::WqId)>;
    /// The CPU of this worker's pool (per-CPU pools).
    fn current_cpu(&self) -> Option<u32>;
    /// A handle to the workqueue of the item this worker runs now.
    fn current_workqueue(&self) -> Option<crate::WeakWorkqueue> {
        None
    }
}

thread_local! {
    static HOOKS: RefCell<Option<Arc<dyn WorkerHooks>>> = const { RefCell::new(None) };
    static DEPTH: Cell<u32> = const { Cell::new(0) };
    /// Whether `HOOKS` was installed: a plain flag, read before `HOOKS` (whose `Arc` needs
    /// a destructor, so each access to it also checks its registration), so that a thread
    /// that is no worker (a producer queueing items) learns it from one load.
    static IS_WORKER: Cell<bool> = const { Cell::new(false) };
}

/// Install the hooks of the worker running on this thread (once, when it starts).
pub(crate) fn install(h: Arc<dyn WorkerHooks>) {
    HOOKS.with(|c| *c.borrow_mut() = Some(h));
    IS_WORKER.with(|w| w.set(true));
}

pub(crate) fn with_hooks<R>(f: impl FnOnce(&dyn WorkerHooks) -> R) -> Option<R> {
    if !IS_WORKER.with(Cell::get) {
        return None;
    }
    HOOKS.with(|c| c.borrow().as_deref().map(f))
}

/// Inside a blocking scope: the worker does not count as running, so its pool may start
/// another worker for pending work. Dropping the guard ends the scope.
///
/// Not `Send`: a scope belongs to the thread that entered it.
///
/// ```compile_fail
/// let g = cmwq::BlockingGuard::enter();
/// std::thread::spawn(move || drop(g)); // a scope cannot end on another thread
/// ```
#[must_use = "the blocking scope ends when the guard is dropped"]
pub struct BlockingGuard {
    _not_send: PhantomData<*const ()>,
}

impl BlockingGuard {
    /// Enter a blocking scope. Nested scopes are allowed; only the outermost reports.
    pub fn enter() -> Self {
        if DEPTH.with(|d| {
            let n = d.get();
            d.set(n + 1);
            n == 0
        }) {
            with_hooks(|h| h.sleeping());
        }
        BlockingGuard {
            _not_send: PhantomData,
        }
    }
}

impl Drop for BlockingGuard {
    fn drop(&mut self) {
        if DEPTH.with(|d| {
            let n = d.get() - 1;
            d.set(n);
            n == 0
        }) {
            with_hooks(|h| h.running());
        }
    }
}

/// Run `f`, which is about to block (wait on a channel, a lock held long, I/O), inside a
/// blocking scope, so the worker's pool keeps other items moving meanwhile.
///
/// ```
/// let (tx, rx) = std::sync::mpsc::channel::<u32>();
/// # tx.send(1).unwrap();
/// let v = cmwq::blocking(|| rx.recv().unwrap());
/// # assert_eq!(v, 1);
/// ```
pub fn blocking<R>(f: impl FnOnce() -> R) -> R {
    let _g = BlockingGuard::enter();
    f()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicI32, Ordering};

    #[derive(Default)]
    struct Count(AtomicI32, AtomicI32);
    impl WorkerHooks for Count {
        fn sleeping(&self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
        fn running(&self) {
            self.1.fetch_add(1, Ordering::SeqCst);
        }
        fn current_work(&self) -> Option<usize> {
            None
        }
        fn is_rescuer(&self) -> bool {
            false
        }
        fn current_wq(&self) -> Option<(usize, cmwq_pool::WqId)> {
            None
        }
        fn current_cpu(&self) -> Option<u32> {
            None
        }
    }

    #[test]
    fn nested_scopes_report_sleeping_and_running_once() {
        std::thread::spawn(|| {
            let c = Arc::new(Count::default());
            install(c.clone());
            blocking(|| {
                let _inner = BlockingGuard::enter();
                assert_eq!(c.0.load(Ordering::SeqCst), 1);
            });
            assert_eq!(c.0.load(Ordering::SeqCst), 1);
            assert_eq!(c.1.load(Ordering::SeqCst), 1);
        })
        .join()
        .unwrap();
    }

    #[test]
    fn outside_a_worker_the_scope_is_a_no_op() {
        assert_eq!(blocking(|| 7), 7);
    }
}
