//! Helpers shared by the runtime's integration tests: items that record events, latches,
//! and a spawner wrapper that gates or reports thread creation.
#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use cmwq::{
    Affinity, Runtime, SpawnError, SpawnRequest, Spawner, ThreadBody, ThreadRole, Timings, Work,
    WorkItem, impl_has_work,
};
use parking_lot::{Condvar, Mutex};

/// The longest any test waits for an event before failing (a guard against hangs, never a
/// synchronisation: every wait ends on the event itself).
pub const GUARD: Duration = Duration::from_secs(60);

/// A runtime of two CPUs, threads not pinned, with [`fast_timings`].
pub fn rt() -> Runtime {
    Runtime::builder()
        .nr_cpus(2)
        .affinity(Affinity::Free)
        .timings(fast_timings())
        .build()
        .unwrap()
}

/// Timings for tests: the kernel's protocol, on a millisecond scale.
pub fn fast_timings() -> Timings {
    {
        let mut v = Timings::default();
        v.mayday_initial_timeout = Duration::from_millis(1);
        v.mayday_interval = Duration::from_millis(5);
        v.create_cooldown = Duration::from_millis(5);
        v.cpu_intensive_thresh = Duration::from_millis(10);
        v.watchdog_thresh = None;
        v
    }
}

/// A counter others can wait on.
#[derive(Default)]
pub struct Latch {
    n: Mutex<usize>,
    cv: Condvar,
}

impl Latch {
    pub fn new() -> Arc<Self> {
        Arc::default()
    }
    pub fn count_up(&self) {
        *self.n.lock() += 1;
        self.cv.notify_all();
    }
    pub fn get(&self) -> usize {
        *self.n.lock()
    }
    /// Wait until the count reaches `target`; panics after `GUARD`.
    pub fn wait_for(&self, target: usize) {
        let mut n = self.n.lock();
        while *n < target {
            if self.cv.wait_for(&mut n, GUARD).timed_out() {
                panic!("latch stuck at {} of {target}", *n);
            }
        }
    }
}

/// An item that counts its runs on a latch.
pub struct Counted {
    work: Work<Self>,
    pub runs: AtomicUsize,
    pub latch: Arc<Latch>,
}
impl_has_work!(Counted { work });
impl WorkItem for Counted {
    fn run(this: Arc<Self>) {
        this.runs.fetch_add(1, Ordering::SeqCst);
        this.latch.count_up();
    }
    fn name(&self) -> &str {
        "counted_func"
    }
}
impl Counted {
    pub fn new(latch: &Arc<Latch>) -> Arc<Self> {
        Arc::new(Counted {
            work: Work::new(),
            runs: AtomicUsize::new(0),
            latch: Arc::clone(latch),
        })
    }
}

/// A spawner wrapper: reports each successful worker creation on a channel, and holds
/// rescuer threads at a gate until the test opens it.
pub struct Observed<S> {
    pub inner: S,
    pub created: Mutex<Option<mpsc::Sender<String>>>,
    pub gate: Arc<Gate>,
}

#[derive(Default)]
pub struct Gate {
    open: Mutex<bool>,
    cv: Condvar,
}
impl Gate {
    pub fn open(&self) {
        *self.open.lock() = true;
        self.cv.notify_all();
    }
    fn wait(&self) {
        let mut o = self.open.lock();
        while !*o {
            self.cv.wait(&mut o);
        }
    }
}

impl<S: Spawner> Observed<S> {
    pub fn new(inner: S) -> (Self, mpsc::Receiver<String>, Arc<Gate>) {
        let (tx, rx) = mpsc::channel();
        let gate = Arc::new(Gate::default());
        (
            Observed {
                inner,
                created: Mutex::new(Some(tx)),
                gate: Arc::clone(&gate),
            },
            rx,
            gate,
        )
    }
}

impl<S: Spawner> Spawner for Observed<S> {
    fn spawn(&self, req: &SpawnRequest, body: ThreadBody) -> Result<(), SpawnError> {
        let body: ThreadBody = if matches!(req.role, ThreadRole::Rescuer { .. }) {
            let gate = Arc::clone(&self.gate);
            Box::new(move || {
                gate.wait();
                body();
            })
        } else {
            body
        };
        let r = self.inner.spawn(req, body);
        if r.is_ok()
            && matches!(
                req.role,
                ThreadRole::Worker { .. } | ThreadRole::FirstWorker { .. }
            )
        {
            if let Some(tx) = &*self.created.lock() {
                let _ = tx.send(req.name.clone());
            }
        }
        r
    }
}
