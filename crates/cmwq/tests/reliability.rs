//! Defects found from the outside (misuse and edge inputs): each test names the behaviour
//! its fix restored and fails without it.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use cmwq::{
    Affinity, BuildError, DisableError, FailSwitch, FlushError, QueueError, Runtime, SpawnError,
    SpawnRequest, Spawner, ThreadBody, ThreadRole, ThreadSpawner, WQ_MEM_RECLAIM, WQ_UNBOUND,
    WqFlags,
};
use cmwq_pool::WqError;
use common::*;

/// A spawner that counts the rescuer threads alive, beside a `ThreadSpawner` whose stats
/// count the pool workers.
struct CountingSpawner {
    inner: Arc<ThreadSpawner>,
    rescuers_started: AtomicUsize,
    rescuers_alive: Arc<AtomicUsize>,
}

impl Spawner for CountingSpawner {
    fn spawn(&self, req: &SpawnRequest, body: ThreadBody) -> Result<(), SpawnError> {
        if !matches!(req.role, ThreadRole::Rescuer { .. }) {
            return self.inner.spawn(req, body);
        }
        self.rescuers_started.fetch_add(1, Ordering::SeqCst);
        self.rescuers_alive.fetch_add(1, Ordering::SeqCst);
        let alive = Arc::clone(&self.rescuers_alive);
        self.inner.spawn(
            req,
            Box::new(move || {
                body();
                alive.fetch_sub(1, Ordering::SeqCst);
            }),
        )
    }
}

fn quiet_runtime() -> cmwq::RuntimeBuilder {
    Runtime::builder()
        .nr_cpus(1)
        .affinity(Affinity::Free)
        .watchdog_thresh(None)
}

#[test]
#[cfg_attr(miri, ignore = "100 000 workqueues take too long under Miri")]
fn creating_and_dropping_100_000_workqueues_works_without_thread_growth() {
    let spawner = Arc::new(CountingSpawner {
        inner: Arc::new(ThreadSpawner::new()),
        rescuers_started: AtomicUsize::new(0),
        rescuers_alive: Arc::new(AtomicUsize::new(0)),
    });
    let rt = quiet_runtime()
        .spawner_arc(Arc::clone(&spawner) as Arc<dyn Spawner>)
        .build()
        .unwrap();
    let latch = Latch::new();
    let item = Counted::new(&latch);
    const N: usize = 100_000;
    for i in 0..N {
        // A queue per "connection", all on the one CPU's normal pool (more than its
        // 65536 pwq slots over the runtime's life), now and then one with a rescuer, and
        // an unbound one beside.
        let flags = match i % 5_000 {
            0 => WQ_MEM_RECLAIM,
            1 => WQ_UNBOUND,
            _ => WqFlags::empty(),
        };
        let wq = rt
            .workqueue("conn")
            .flags(flags)
            .build()
            .unwrap_or_else(|e| panic!("workqueue #{i}: {e}"));
        wq.queue_work(Arc::clone(&item)).unwrap();
        drop(wq); // drains: the item has run
    }
    assert_eq!(item.runs.load(Ordering::SeqCst), N, "every queueing ran");
    let stats = spawner.inner.stats();
    assert!(
        stats.live_workers <= 16 && stats.worker_attempts <= 32,
        "pool workers do not grow with the workqueues made: {stats:?}"
    );
    assert_eq!(spawner.rescuers_started.load(Ordering::SeqCst), N / 5_000);
    assert!(
        spawner.rescuers_alive.load(Ordering::SeqCst) <= 1,
        "a dropped workqueue's rescuer has exited (the last may still be returning)"
    );
}

#[test]
fn a_workqueue_name_with_a_control_character_is_refused_by_build() {
    let rt = quiet_runtime().build().unwrap();
    for name in ["evil\nline", "bell\u{7}", "\u{1b}[31mred"] {
        let e = rt.workqueue(name).build().unwrap_err();
        assert!(
            matches!(e, BuildError::Spec(WqError::NameHasControl { .. })),
            "{name:?}: {e}"
        );
    }
    assert!(
        !rt.show_all_workqueues().contains("evil"),
        "nothing of a refused workqueue reaches the dump"
    );
    rt.workqueue("plain name/0").build().unwrap();
}

#[test]
fn a_delay_of_duration_max_saturates_and_leaves_the_item_usable() {
    let rt = quiet_runtime().build().unwrap();
    let wq = rt.workqueue("delays").flags(WQ_UNBOUND).build().unwrap();
    let latch = Latch::new();
    let item = Counted::new(&latch);
    wq.queue_delayed_work(Arc::clone(&item), Duration::MAX)
        .unwrap();
    assert!(wq.work_busy(&item).pending, "it waits on its timer");
    // mod_delayed_work with the longest delay, then back to now: the item runs once.
    assert!(wq.mod_delayed_work(&item, Duration::MAX).unwrap());
    assert!(wq.mod_delayed_work(&item, Duration::ZERO).unwrap());
    latch.wait_for(1);
    // Waiting "forever" on the timer, then flushed: it runs at once.
    wq.queue_delayed_work(Arc::clone(&item), Duration::MAX)
        .unwrap();
    assert!(wq.flush_delayed_work(&item));
    assert_eq!(item.runs.load(Ordering::SeqCst), 2);
    // And cancelled from its timer.
    wq.queue_delayed_work_on(0, Arc::clone(&item), Duration::MAX)
        .unwrap();
    assert!(wq.cancel_delayed_work_sync(&item));
    assert!(!wq.work_busy(&item).pending);
    assert_eq!(item.runs.load(Ordering::SeqCst), 2);
}

#[test]
fn timings_of_duration_max_saturate_instead_of_panicking() {
    let rt = Runtime::builder()
        .nr_cpus(1)
        .affinity(Affinity::Free)
        .watchdog_thresh(Some(Duration::MAX))
        .cpu_intensive_thresh(Duration::MAX)
        .build()
        .unwrap();
    let wq = rt.workqueue("slow-clocks").build().unwrap();
    let latch = Latch::new();
    let item = Counted::new(&latch);
    wq.queue_work(Arc::clone(&item)).unwrap();
    latch.wait_for(1);
}

#[test]
fn disabling_past_the_count_limit_is_refused_and_no_enable_is_lost() {
    let rt = quiet_runtime().build().unwrap();
    let wq = rt.workqueue("disables").build().unwrap();
    let latch = Latch::new();
    let item = Counted::new(&latch);
    for _ in 0..u16::MAX {
        assert!(!wq.disable_work(&item).unwrap());
    }
    assert_eq!(
        wq.disable_work(&item),
        Err(DisableError::Overflow { count: u16::MAX })
    );
    assert_eq!(
        wq.disable_work_sync(&item),
        Err(DisableError::Overflow { count: u16::MAX })
    );
    // Every accepted disable has its enable: the last one makes the item queueable.
    for left in (0..u16::MAX).rev() {
        assert_eq!(wq.enable_work(&item), left == 0);
    }
    wq.queue_work(Arc::clone(&item)).unwrap();
    latch.wait_for(1);
}

/// A spawner that panics for pool workers while its switch is on (rescuers and the timer
/// are created normally), counting the panics.
struct PanickingSpawner {
    inner: ThreadSpawner,
    panicking: FailSwitch,
    panics: AtomicUsize,
}

impl Spawner for PanickingSpawner {
    fn spawn(&self, req: &SpawnRequest, body: ThreadBody) -> Result<(), SpawnError> {
        if matches!(req.role, ThreadRole::Worker { .. }) && self.panicking.is_failing() {
            self.panics.fetch_add(1, Ordering::SeqCst);
            panic!("spawner bug creating {}", req.name);
        }
        self.inner.spawn(req, body)
    }
}

fn panicking_spawner() -> Arc<PanickingSpawner> {
    Arc::new(PanickingSpawner {
        inner: ThreadSpawner::new(),
        panicking: FailSwitch::failing(),
        panics: AtomicUsize::new(0),
    })
}

#[test]
fn a_panicking_spawner_is_a_failed_attempt_and_the_rescuer_still_runs() {
    let spawner = panicking_spawner();
    let rt = Runtime::builder()
        .nr_cpus(1)
        .affinity(Affinity::Free)
        .timings(fast_timings())
        .spawner_arc(Arc::clone(&spawner) as Arc<dyn Spawner>)
        .build()
        .unwrap();
    let wq = rt
        .workqueue("reclaim")
        .flags(WQ_MEM_RECLAIM | WQ_UNBOUND)
        .build()
        .unwrap();
    let latch = Latch::new();
    let item = Counted::new(&latch);
    // No worker can be made: the mayday timer keeps firing and the rescuer runs the item.
    wq.queue_work(Arc::clone(&item)).unwrap();
    latch.wait_for(1);
    // The timer thread survived the panics: delayed work still fires, through the rescuer.
    wq.queue_delayed_work(Arc::clone(&item), Duration::from_millis(1))
        .unwrap();
    latch.wait_for(2);
    assert!(spawner.panics.load(Ordering::SeqCst) >= 1);
    // Each panic counted as a failed attempt: creation is retried, and once the spawner
    // works, a queue without a rescuer gets its worker.
    spawner.panicking.stop_failing();
    let plain = rt.workqueue("plain").build().unwrap();
    plain.queue_work(Arc::clone(&item)).unwrap();
    latch.wait_for(3);
    drop(plain);
    drop(wq); // does not hang
}

#[test]
fn panicking_panic_and_lockup_hooks_leave_workers_and_the_watchdog_running() {
    let spawner = panicking_spawner();
    let (stall_tx, stall_rx) = std::sync::mpsc::channel();
    let stall_tx = parking_lot::Mutex::new(stall_tx);
    let rt = Runtime::builder()
        .nr_cpus(1)
        .affinity(Affinity::Free)
        .timings({
            let mut v = fast_timings();
            v.watchdog_thresh = Some(Duration::from_millis(20));
            v
        })
        .spawner_arc(Arc::clone(&spawner) as Arc<dyn Spawner>)
        .lockup_hook(move |s| {
            let _ = stall_tx.lock().send(s.pool);
            panic!("lockup hook bug");
        })
        .panic_hook(|_| panic!("panic hook bug"))
        .build()
        .unwrap();
    // A per-CPU pool that never gets a worker: the watchdog reports it, the hook panics.
    let stuck = rt.workqueue("stuck").build().unwrap();
    let latch = Latch::new();
    let waiting = Counted::new(&latch);
    stuck.queue_work(Arc::clone(&waiting)).unwrap();
    let first = stall_rx
        .recv_timeout(GUARD)
        .expect("the watchdog reports the stall");
    // The timer thread lives on: a reclaim queue's items (a panicking one first, whose
    // panic hook panics too) run through its rescuer, called by the mayday timer.
    let reclaim = rt
        .workqueue("reclaim")
        .flags(WQ_MEM_RECLAIM | WQ_UNBOUND)
        .build()
        .unwrap();
    reclaim.queue_fn("boom", || panic!("item panics")).unwrap();
    let after = Counted::new(&latch);
    reclaim
        .queue_delayed_work(Arc::clone(&after), Duration::from_millis(1))
        .unwrap();
    latch.wait_for(1);
    reclaim.flush();
    assert_eq!(after.runs.load(Ordering::SeqCst), 1);
    assert_eq!(rt.panics(), 1, "the panicking item was caught and counted");
    assert_eq!(first, 2, "the watchdog named the CPU 0 normal pool");
    // Let the stuck queue drain so that dropping it returns.
    spawner.panicking.stop_failing();
    latch.wait_for(2);
    assert_eq!(waiting.runs.load(Ordering::SeqCst), 1);
}

#[test]
fn dropping_a_workqueue_runs_its_delayed_items_first() {
    let rt = quiet_runtime().build().unwrap();
    let latch = Latch::new();
    let hour = Duration::from_secs(3600);
    let a = Counted::new(&latch);
    let b = Counted::new(&latch);
    let wq = rt.workqueue("short-lived").build().unwrap();
    wq.queue_delayed_work(Arc::clone(&a), hour).unwrap();
    wq.queue_delayed_work_on(0, Arc::clone(&b), hour).unwrap();
    let other = rt.workqueue("other").flags(WQ_UNBOUND).build().unwrap();
    let c = Counted::new(&latch);
    other.queue_delayed_work(Arc::clone(&c), hour).unwrap();
    drop(wq);
    assert_eq!(a.runs.load(Ordering::SeqCst), 1, "flushed by the drop");
    assert_eq!(b.runs.load(Ordering::SeqCst), 1, "flushed by the drop");
    assert!(
        other.work_busy(&c).pending,
        "another queue's timer is left alone"
    );
    assert_eq!(c.runs.load(Ordering::SeqCst), 0);
    // Not left PENDING: the items can be queued again at once.
    other.queue_work(Arc::clone(&a)).unwrap();
    latch.wait_for(3);
    assert!(other.cancel_delayed_work(&c));
}

#[test]
fn flush_delayed_work_through_another_queue_runs_the_item_where_it_was_delayed() {
    let rt = quiet_runtime().build().unwrap();
    let latch = Latch::new();
    let item = Counted::new(&latch);
    let home = rt.workqueue("home").flags(WQ_UNBOUND).build().unwrap();
    let other = rt.workqueue("other").build().unwrap();
    home.queue_delayed_work(Arc::clone(&item), Duration::from_secs(3600))
        .unwrap();
    assert!(other.flush_delayed_work(&item));
    assert_eq!(item.runs.load(Ordering::SeqCst), 1);
    // (The flush's barrier counts as a completion on the item's pwq too.)
    assert!(
        home.stats().completed >= 1,
        "it ran on the queue it was delayed on"
    );
    assert_eq!(other.stats().completed, 0);
}

/// An item that calls `op` on its own workqueue and reports what it returned.
struct SelfCaller {
    work: cmwq::Work<Self>,
    wq: parking_lot::Mutex<Option<Arc<cmwq::Workqueue>>>,
    op: fn(&cmwq::Workqueue) -> bool,
    tx: parking_lot::Mutex<std::sync::mpsc::Sender<bool>>,
}
cmwq::impl_has_work!(SelfCaller { work });
impl cmwq::WorkItem for SelfCaller {
    fn run(this: Arc<Self>) {
        let wq = this.wq.lock().clone().expect("set before queueing");
        let r = (this.op)(&wq);
        let _ = this.tx.lock().send(r);
    }
}

fn call_from_own_item(op: fn(&cmwq::Workqueue) -> bool, flags: WqFlags) -> bool {
    let rt = quiet_runtime().build().unwrap();
    let wq = Arc::new(rt.workqueue("selfish").flags(flags).build().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    let item = Arc::new(SelfCaller {
        work: cmwq::Work::new(),
        wq: parking_lot::Mutex::new(Some(Arc::clone(&wq))),
        op,
        tx: parking_lot::Mutex::new(tx),
    });
    wq.queue_work(Arc::clone(&item)).unwrap();
    let r = rx.recv_timeout(GUARD).expect("the item's call returned");
    item.wq.lock().take();
    assert!(wq.flush(), "from outside, a flush works");
    r
}

#[test]
fn flush_from_one_of_the_workqueues_own_items_is_refused_instead_of_deadlocking() {
    assert!(!call_from_own_item(|wq| wq.flush(), WqFlags::empty()));
    assert!(!call_from_own_item(|wq| wq.flush(), WQ_UNBOUND));
}

#[test]
fn drain_from_one_of_the_workqueues_own_items_is_refused_instead_of_deadlocking() {
    assert!(!call_from_own_item(|wq| wq.drain(), WqFlags::empty()));
    assert!(!call_from_own_item(|wq| wq.drain(), WQ_UNBOUND));
}

/// An item that says when it started and then blocks (in a blocking scope) until the test
/// releases it.
struct Blocker {
    work: cmwq::Work<Self>,
    started: parking_lot::Mutex<Option<std::sync::mpsc::Sender<()>>>,
    release: parking_lot::Mutex<Option<std::sync::mpsc::Receiver<()>>>,
}
cmwq::impl_has_work!(Blocker { work });
impl cmwq::WorkItem for Blocker {
    fn run(this: Arc<Self>) {
        if let Some(tx) = this.started.lock().take() {
            let _ = tx.send(());
        }
        if let Some(rx) = this.release.lock().take() {
            cmwq::blocking(|| {
                let _ = rx.recv();
            });
        }
    }
}

fn blocker() -> (
    Arc<Blocker>,
    std::sync::mpsc::Receiver<()>,
    std::sync::mpsc::Sender<()>,
) {
    let (stx, srx) = std::sync::mpsc::channel();
    let (rtx, rrx) = std::sync::mpsc::channel();
    let b = Arc::new(Blocker {
        work: cmwq::Work::new(),
        started: parking_lot::Mutex::new(Some(stx)),
        release: parking_lot::Mutex::new(Some(rrx)),
    });
    (b, srx, rtx)
}

/// Run `f` on another thread; its result, or a failure if it does not return in `GUARD`.
fn returns<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> R {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(GUARD).expect("the call returned")
}

#[test]
fn cancelling_through_another_runtimes_workqueue_takes_the_item_off_where_it_is() {
    let a = quiet_runtime().build().unwrap();
    let b = quiet_runtime().build().unwrap();
    let wq_a = Arc::new(a.workqueue("on-a").ordered().build().unwrap());
    let wq_b = Arc::new(b.workqueue("on-b").build().unwrap());
    let (stuck, started, release) = blocker();
    wq_a.queue_work(Arc::clone(&stuck)).unwrap();
    started.recv_timeout(GUARD).unwrap();
    let latch = Latch::new();
    let item = Counted::new(&latch);
    // Pending (inactive, behind the blocked item) on runtime a; cancelled through b.
    wq_a.queue_work(Arc::clone(&item)).unwrap();
    let (wq, it) = (Arc::clone(&wq_b), Arc::clone(&item));
    assert!(returns(move || wq.cancel_work_sync(&it)), "it was pending");
    assert!(!wq_a.work_busy(&item).pending);
    // Waiting on runtime a's delay timer; cancelled and disabled through b.
    wq_a.queue_delayed_work(Arc::clone(&item), Duration::from_secs(3600))
        .unwrap();
    let (wq, it) = (Arc::clone(&wq_b), Arc::clone(&item));
    assert!(returns(move || wq.cancel_delayed_work(&it)));
    wq_a.queue_work(Arc::clone(&item)).unwrap();
    let (wq, it) = (Arc::clone(&wq_b), Arc::clone(&item));
    assert_eq!(returns(move || wq.disable_work(&it)), Ok(true));
    assert!(wq_b.enable_work(&item));
    // mod_delayed_work through b moves it from a to b.
    wq_a.queue_work(Arc::clone(&item)).unwrap();
    let (wq, it) = (Arc::clone(&wq_b), Arc::clone(&item));
    assert_eq!(
        returns(move || wq.mod_delayed_work(&it, Duration::ZERO)),
        Ok(true)
    );
    latch.wait_for(1);
    release.send(()).unwrap();
    assert!(wq_a.flush());
    assert_eq!(
        item.runs.load(Ordering::SeqCst),
        1,
        "only the moved queueing ran"
    );
}

#[test]
fn flushes_with_a_timeout_give_up_on_a_blocked_item_and_work_again_after() {
    let rt = quiet_runtime().build().unwrap();
    let wq = rt.workqueue("timeouts").flags(WQ_UNBOUND).build().unwrap();
    let (stuck, started, release) = blocker();
    wq.queue_work(Arc::clone(&stuck)).unwrap();
    started.recv_timeout(GUARD).unwrap();
    // The short timeout is the behaviour under test, not a synchronisation.
    let short = Duration::from_millis(5);
    let timed_out = Err(FlushError::TimedOut { timeout: short });
    assert_eq!(
        wq.flush_work_timeout(&stuck, short),
        timed_out.map(|()| true)
    );
    assert_eq!(wq.flush_timeout(short), timed_out);
    assert_eq!(
        wq.flush_timeout(short),
        timed_out,
        "again, behind the first"
    );
    assert_eq!(wq.drain_timeout(short), timed_out);
    // The drain goes on: queueings from outside are refused until it ends.
    let latch = Latch::new();
    let after = Counted::new(&latch);
    assert_eq!(
        wq.queue_work(Arc::clone(&after)).unwrap_err().reason,
        QueueError::Draining
    );
    release.send(()).unwrap();
    assert_eq!(wq.drain_timeout(GUARD), Ok(()));
    assert_eq!(wq.flush_work_timeout(&stuck, GUARD), Ok(false));
    wq.queue_work(Arc::clone(&after)).unwrap();
    assert_eq!(wq.flush_timeout(GUARD), Ok(()));
    assert_eq!(after.runs.load(Ordering::SeqCst), 1);
    assert!(wq.flush());
}

#[test]
fn flushes_with_a_timeout_from_the_workqueues_own_item_are_refused() {
    assert!(call_from_own_item(
        |wq| wq.flush_timeout(GUARD) == Err(FlushError::WouldWaitForItself),
        WqFlags::empty()
    ));
    assert!(call_from_own_item(
        |wq| wq.drain_timeout(GUARD) == Err(FlushError::WouldWaitForItself),
        WQ_UNBOUND
    ));
}

/// An item that counts how many of its runs overlap. Its first run reports its start
/// and blocks until released; every later run reports its start (and whether the first
/// run was still going) and returns.
struct Overlap {
    work: cmwq::Work<Self>,
    active: AtomicUsize,
    runs: AtomicUsize,
    started: parking_lot::Mutex<std::sync::mpsc::Sender<usize>>,
    release: parking_lot::Mutex<Option<std::sync::mpsc::Receiver<()>>>,
}
cmwq::impl_has_work!(Overlap { work });
impl cmwq::WorkItem for Overlap {
    fn run(this: Arc<Self>) {
        let others = this.active.fetch_add(1, Ordering::SeqCst);
        let _ = this.started.lock().send(others);
        if this.runs.fetch_add(1, Ordering::SeqCst) == 0 {
            let rx = this.release.lock().take().expect("the first run blocks");
            cmwq::blocking(|| {
                let _ = rx.recv();
            });
        }
        this.active.fetch_sub(1, Ordering::SeqCst);
    }
}

#[test]
fn non_reentrancy_holds_per_workqueue_as_the_docs_say() {
    let rt = Runtime::builder()
        .nr_cpus(2)
        .affinity(Affinity::Free)
        .watchdog_thresh(None)
        .build()
        .unwrap();
    let a = rt.workqueue("a").build().unwrap();
    let b = rt.workqueue("b").build().unwrap();
    let (started_tx, started) = std::sync::mpsc::channel();
    let (release_tx, release) = std::sync::mpsc::channel();
    let item = Arc::new(Overlap {
        work: cmwq::Work::new(),
        active: AtomicUsize::new(0),
        runs: AtomicUsize::new(0),
        started: parking_lot::Mutex::new(started_tx),
        release: parking_lot::Mutex::new(Some(release)),
    });
    a.queue_work_on(0, Arc::clone(&item)).unwrap();
    assert_eq!(started.recv_timeout(GUARD).unwrap(), 0, "the first run");
    // Queued on the same workqueue (even for another CPU) while it runs: it waits behind
    // that run on the same pool.
    a.queue_work_on(1, Arc::clone(&item)).unwrap();
    release_tx.send(()).unwrap();
    assert_eq!(
        started.recv_timeout(GUARD).unwrap(),
        0,
        "the run queued on the same workqueue starts after the first one returned"
    );
    assert!(a.flush());
    let (release_tx, release) = std::sync::mpsc::channel();
    item.runs.store(0, Ordering::SeqCst);
    *item.release.lock() = Some(release);
    a.queue_work_on(0, Arc::clone(&item)).unwrap();
    assert_eq!(started.recv_timeout(GUARD).unwrap(), 0);
    // Queued on another workqueue while it runs: it runs there now, beside the first run.
    b.queue_work_on(1, Arc::clone(&item)).unwrap();
    assert_eq!(
        started.recv_timeout(GUARD).unwrap(),
        1,
        "on another workqueue it runs while its first run still runs"
    );
    release_tx.send(()).unwrap();
    assert!(a.flush() && b.flush());
}

#[test]
fn mod_delayed_work_with_no_delay_during_a_drain_keeps_the_pending_queueing() {
    let rt = quiet_runtime().build().unwrap();
    let wq = rt.workqueue("draining").max_active(1).build().unwrap();
    let (stuck, started, release) = blocker();
    wq.queue_work_on(0, Arc::clone(&stuck)).unwrap();
    started.recv_timeout(GUARD).unwrap();
    let latch = Latch::new();
    let item = Counted::new(&latch);
    wq.queue_work_on(0, Arc::clone(&item)).unwrap(); // accepted: pending behind `stuck`
    // A drain that goes on after its caller gave up (the short timeout is not a
    // synchronisation: the drain cannot end while `stuck` runs).
    let short = Duration::from_millis(1);
    assert_eq!(
        wq.drain_timeout(short),
        Err(FlushError::TimedOut { timeout: short })
    );
    // The pending queueing is taken and re-armed with no delay: refused as a new
    // queueing would be while draining, it must still not be lost.
    assert_eq!(wq.mod_delayed_work(&item, Duration::ZERO), Ok(true));
    release.send(()).unwrap();
    assert_eq!(wq.drain_timeout(GUARD), Ok(()));
    latch.wait_for(1);
    assert_eq!(item.runs.load(Ordering::SeqCst), 1);
}

/// A spawner that panics when asked for a rescuer thread.
struct RescuerPanics(ThreadSpawner);

impl Spawner for RescuerPanics {
    fn spawn(&self, req: &SpawnRequest, body: ThreadBody) -> Result<(), SpawnError> {
        if matches!(req.role, ThreadRole::Rescuer { .. }) {
            panic!("no rescuer for {}", req.name);
        }
        self.0.spawn(req, body)
    }
}

#[test]
fn a_spawner_panicking_for_a_rescuer_fails_the_build_with_a_typed_error() {
    let rt = quiet_runtime()
        .spawner(RescuerPanics(ThreadSpawner::new()))
        .build()
        .unwrap();
    let e = rt
        .workqueue("reclaim")
        .flags(WQ_MEM_RECLAIM)
        .build()
        .unwrap_err();
    assert!(
        matches!(
            &e,
            BuildError::Rescuer {
                source: SpawnError::Panicked { message, .. },
                ..
            } if message.contains("no rescuer")
        ),
        "{e}"
    );
    // The runtime goes on: a queue without a rescuer builds and runs items.
    let wq = rt.workqueue("plain").build().unwrap();
    let latch = Latch::new();
    let item = Counted::new(&latch);
    wq.queue_work(Arc::clone(&item)).unwrap();
    latch.wait_for(1);
}
