//! The public API's behaviours, one per test, on a small private runtime.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use cmwq::{
    Affinity, BuildError, MaxActiveError, QueueError, Runtime, WQ_MAX_ACTIVE, WQ_MEM_RECLAIM,
    WQ_UNBOUND, Work, WorkId, WorkItem, impl_has_work, work_fn,
};
use common::{Counted, GUARD, Latch, fast_timings, rt};
use parking_lot::Mutex;

/// An item that blocks until released, and says when it started.
struct Gate {
    work: Work<Self>,
    started: Mutex<Option<mpsc::Sender<Option<WorkId>>>>,
    release: Mutex<Option<mpsc::Receiver<()>>>,
    runs: AtomicUsize,
}
impl_has_work!(Gate { work });
impl WorkItem for Gate {
    fn run(this: Arc<Self>) {
        this.runs.fetch_add(1, Ordering::SeqCst);
        if let Some(tx) = this.started.lock().take() {
            let _ = tx.send(cmwq::current_work());
        }
        if let Some(rx) = this.release.lock().take() {
            cmwq::blocking(|| {
                let _ = rx.recv();
            });
        }
    }
}
fn gate() -> (Arc<Gate>, mpsc::Receiver<Option<WorkId>>, mpsc::Sender<()>) {
    let (stx, srx) = mpsc::channel();
    let (rtx, rrx) = mpsc::channel();
    (
        Arc::new(Gate {
            work: Work::new(),
            started: Mutex::new(Some(stx)),
            release: Mutex::new(Some(rrx)),
            runs: AtomicUsize::new(0),
        }),
        srx,
        rtx,
    )
}

#[test]
fn queueing_a_pending_item_hands_the_arc_back() {
    let rt = rt();
    let wq = rt.workqueue("pending").build().unwrap();
    let (g, started, release) = gate();
    wq.queue_work(g.clone()).unwrap();
    started.recv_timeout(GUARD).unwrap();
    // Running, not pending: it queues again, once.
    wq.queue_work(g.clone()).unwrap();
    let r = wq.queue_work(g.clone()).unwrap_err();
    assert!(r.is_already_pending());
    assert!(Arc::ptr_eq(&r.item, &g));
    release.send(()).unwrap();
    wq.flush();
    assert_eq!(g.runs.load(Ordering::SeqCst), 2);
}

#[test]
fn flush_waits_for_everything_queued_before_it() {
    let rt = rt();
    let wq = rt.workqueue("flush").flags(WQ_UNBOUND).build().unwrap();
    let latch = Latch::new();
    let items: Vec<_> = (0..100).map(|_| Counted::new(&latch)).collect();
    for i in &items {
        wq.queue_work(i.clone()).unwrap();
    }
    wq.flush();
    assert_eq!(latch.get(), 100);
}

#[test]
fn flush_work_waits_for_the_running_instance() {
    let rt = rt();
    let wq = rt.workqueue("flushwork").build().unwrap();
    let (g, started, release) = gate();
    wq.queue_work(g.clone()).unwrap();
    let id = started.recv_timeout(GUARD).unwrap();
    assert_eq!(
        id,
        Some(WorkId::of(&*g)),
        "current_work inside the item is the item"
    );
    assert!(wq.work_busy(&g).running);
    let g2 = g.clone();
    let wq = Arc::new(wq);
    let wq2 = wq.clone();
    let flusher = std::thread::spawn(move || wq2.flush_work(&g2));
    // The flusher's barrier is queued behind the running item: the dump shows it on the
    // worker's scheduled list as BAR(task). (Polling a query, no sleep.)
    while !wq.show().contains("BAR(") {
        std::thread::yield_now();
    }
    release.send(()).unwrap();
    assert!(
        flusher.join().unwrap(),
        "there was a running instance to wait for"
    );
    assert!(!wq.work_busy(&g).running);
    assert!(!wq.flush_work(&g), "idle: nothing to wait for");
}

#[test]
fn cancel_takes_a_pending_item_off_its_queue() {
    let rt = rt();
    let wq = rt
        .workqueue("cancel")
        .max_active(1)
        .flags(WQ_UNBOUND)
        .build()
        .unwrap();
    let (g, started, release) = gate();
    wq.queue_work(g.clone()).unwrap();
    started.recv_timeout(GUARD).unwrap();
    // max_active 1 and a running item: the next one waits (inactive).
    let latch = Latch::new();
    let c = Counted::new(&latch);
    wq.queue_work(c.clone()).unwrap();
    assert!(wq.work_busy(&c).pending);
    assert!(wq.congested(0).unwrap());
    assert!(wq.cancel_work(&c), "it was pending");
    assert!(!wq.work_busy(&c).pending);
    release.send(()).unwrap();
    wq.flush();
    assert_eq!(latch.get(), 0, "the cancelled item never ran");
    assert!(!wq.cancel_work(&c));
}

#[test]
fn cancel_work_sync_returns_after_the_running_instance_finished() {
    let rt = rt();
    let wq = Arc::new(rt.workqueue("cancelsync").build().unwrap());
    let (g, started, release) = gate();
    wq.queue_work(g.clone()).unwrap();
    started.recv_timeout(GUARD).unwrap();
    wq.queue_work(g.clone()).unwrap(); // pending behind its own run
    let (wq2, g2) = (wq.clone(), g.clone());
    let canceller = std::thread::spawn(move || wq2.cancel_work_sync(&g2));
    release.send(()).unwrap();
    let cancelled = canceller.join().unwrap();
    // Whichever won the race (the canceller taking the second queueing, or the worker
    // starting it first), when cancel_work_sync returns nothing is pending or running, and
    // the second queueing ran exactly when it was not cancelled.
    assert_eq!(wq.work_busy(&g), cmwq::WorkBusy::default());
    assert_eq!(g.runs.load(Ordering::SeqCst), if cancelled { 1 } else { 2 });
}

#[test]
fn disabled_items_refuse_queueing_until_enabled() {
    let rt = rt();
    let wq = rt.workqueue("disable").build().unwrap();
    let latch = Latch::new();
    let c = Counted::new(&latch);
    assert!(!wq.disable_work(&c).unwrap());
    assert!(!wq.disable_work(&c).unwrap());
    assert_eq!(
        wq.queue_work(c.clone()).unwrap_err().reason,
        QueueError::Disabled
    );
    assert!(!wq.enable_work(&c), "disable nests");
    assert!(wq.enable_work(&c));
    wq.queue_work(c.clone()).unwrap();
    wq.flush();
    assert_eq!(latch.get(), 1);
}

#[test]
fn delayed_work_runs_after_its_timer_and_mod_delayed_work_moves_it() {
    let rt = rt();
    let wq = rt.workqueue("delayed").build().unwrap();
    let latch = Latch::new();
    let c = Counted::new(&latch);
    wq.queue_delayed_work(c.clone(), Duration::from_secs(3600))
        .unwrap();
    assert!(
        wq.work_busy(&c).pending,
        "waiting on its timer counts as pending"
    );
    assert!(
        wq.queue_delayed_work(c.clone(), Duration::ZERO)
            .unwrap_err()
            .is_already_pending()
    );
    // Pull the hour-long timer in to now.
    assert!(wq.mod_delayed_work(&c, Duration::ZERO).unwrap());
    latch.wait_for(1);
    // A delayed item can be flushed: flush_delayed_work fires its timer at once.
    wq.queue_delayed_work(c.clone(), Duration::from_secs(3600))
        .unwrap();
    assert!(wq.flush_delayed_work(&c));
    assert_eq!(latch.get(), 2);
    // And cancelled.
    wq.queue_delayed_work(c.clone(), Duration::from_secs(3600))
        .unwrap();
    assert!(wq.cancel_delayed_work_sync(&c));
    assert!(!wq.work_busy(&c).pending);
    assert_eq!(c.runs.load(Ordering::SeqCst), 2);
}

#[test]
fn a_short_delay_fires_on_its_own() {
    let rt = rt();
    let wq = rt.workqueue("delayed2").build().unwrap();
    let latch = Latch::new();
    let c = Counted::new(&latch);
    wq.queue_delayed_work_on(1, c.clone(), Duration::from_millis(1))
        .unwrap();
    latch.wait_for(1);
}

#[test]
fn ordered_workqueue_runs_items_one_at_a_time_in_order() {
    let rt = rt();
    let wq = rt.workqueue("ordered").ordered().build().unwrap();
    assert!(wq.is_ordered());
    let log = Arc::new(Mutex::new(Vec::new()));
    for i in 0..50 {
        let log = log.clone();
        wq.queue_fn("ordered_func", move || log.lock().push(i))
            .unwrap();
    }
    wq.flush();
    assert_eq!(*log.lock(), (0..50).collect::<Vec<_>>());
    assert!(matches!(
        wq.set_max_active(4),
        Err(MaxActiveError::Ordered(_))
    ));
}

#[test]
fn a_panicking_item_is_caught_counted_and_reported() {
    let (tx, rx) = mpsc::channel::<String>();
    let tx = Mutex::new(tx);
    let rt = Runtime::builder()
        .nr_cpus(1)
        .timings(fast_timings())
        .panic_hook(move |p| {
            let _ = tx
                .lock()
                .send(format!("{}|{}|{}", p.workqueue, p.work, p.message));
        })
        .build()
        .unwrap();
    let wq = rt.workqueue("panicky").build().unwrap();
    let boom = work_fn("boom_func", || panic!("boom"));
    wq.queue_work(boom.clone()).unwrap();
    assert_eq!(rx.recv_timeout(GUARD).unwrap(), "panicky|boom_func|boom");
    // The worker and the workqueue keep working.
    let latch = Latch::new();
    wq.queue_work(Counted::new(&latch)).unwrap();
    wq.queue_work(boom).unwrap();
    latch.wait_for(1);
    wq.flush();
    assert_eq!(wq.stats().panics, 2);
    assert_eq!(rt.panics(), 2);
}

#[test]
fn dropping_a_workqueue_drains_it() {
    let rt = rt();
    let latch = Latch::new();
    {
        let wq = rt.workqueue("dropdrain").flags(WQ_UNBOUND).build().unwrap();
        for _ in 0..50 {
            wq.queue_work(Counted::new(&latch)).unwrap();
        }
    }
    assert_eq!(latch.get(), 50);
}

#[test]
fn draining_refuses_outside_queueing_but_allows_chained() {
    let rt = rt();
    let wq = Arc::new(rt.workqueue("drain").build().unwrap());
    let latch = Latch::new();
    let chained = Counted::new(&latch);
    let (g, started, release) = gate();
    wq.queue_work(g.clone()).unwrap();
    started.recv_timeout(GUARD).unwrap();
    // An item that chains another onto its own workqueue.
    let wq2 = Arc::downgrade(&wq);
    let c2 = chained.clone();
    let (res_tx, res_rx) = mpsc::channel();
    let chainer = work_fn("chain_func", move || {
        if let Some(wq) = wq2.upgrade() {
            let _ = res_tx.send(wq.queue_work(c2.clone()).is_ok());
        }
    });
    wq.queue_work(chainer).unwrap();
    let wq3 = wq.clone();
    let drainer = std::thread::spawn(move || wq3.drain());
    // Wait until draining is visible: an outside queueing is refused.
    let outsider = Counted::new(&Latch::new());
    loop {
        match wq.queue_work(outsider.clone()) {
            Err(r) if r.reason == QueueError::Draining => break,
            Ok(()) => {
                wq.cancel_work(&outsider);
            }
            Err(r) => panic!("{r}"),
        }
        std::thread::yield_now();
    }
    release.send(()).unwrap();
    drainer.join().unwrap();
    assert!(
        res_rx.recv_timeout(GUARD).unwrap(),
        "chained queueing accepted while draining"
    );
    assert_eq!(latch.get(), 1, "and drained");
}

#[test]
fn set_max_active_at_run_time() {
    let rt = rt();
    let wq = rt
        .workqueue("maxactive")
        .max_active(1)
        .flags(WQ_UNBOUND)
        .build()
        .unwrap();
    assert_eq!(wq.max_active(), 1);
    wq.set_max_active(8).unwrap();
    assert_eq!(wq.max_active(), 8);
    assert_eq!(
        wq.set_max_active(0),
        Err(MaxActiveError::OutOfRange {
            given: 0,
            max: WQ_MAX_ACTIVE
        })
    );
}

#[test]
fn builder_errors_say_what_was_wrong() {
    let rt = rt();
    let e = rt.workqueue("").build().unwrap_err();
    assert!(matches!(e, BuildError::BadName { len: 0, .. }), "{e}");
    let e = rt.workqueue("x".repeat(40)).build().unwrap_err();
    assert!(e.to_string().contains("40 bytes"), "{e}");
    let e = rt.workqueue("big").max_active(5000).build().unwrap_err();
    assert!(e.to_string().contains("5000"), "{e}");
    let e = Runtime::builder().nr_cpus(0).build().unwrap_err();
    assert!(matches!(e, BuildError::BadNrCpus { given: 0 }), "{e}");
    let e = rt.workqueue("bh").flags(cmwq::WQ_BH).build().unwrap_err();
    assert!(e.to_string().contains("WQ_BH"), "{e}");
    // One WqFlags type with the core: its internal `__WQ_*` bits are refused.
    let e = rt
        .workqueue("internal")
        .flags(cmwq::WqFlags::DRAINING)
        .build()
        .unwrap_err();
    assert!(matches!(e, BuildError::Spec(_)), "{e}");
    assert_eq!(
        rt.workqueue("cpu")
            .build()
            .unwrap()
            .queue_work_on(7, Counted::new(&Latch::new()))
            .unwrap_err()
            .reason,
        QueueError::NoSuchCpu { cpu: 7, nr_cpus: 2 }
    );
}

#[test]
fn rescuer_identity_and_dump_of_a_busy_workqueue() {
    let rt = rt();
    let wq = rt
        .workqueue("dumped")
        .flags(WQ_MEM_RECLAIM)
        .build()
        .unwrap();
    assert!(!cmwq::current_is_workqueue_rescuer());
    let (g, started, release) = gate();
    wq.queue_work(g.clone()).unwrap();
    started.recv_timeout(GUARD).unwrap();
    let dump = wq.show();
    assert!(dump.contains("workqueue dumped: flags=0x8"), "{dump}");
    assert!(dump.contains(":Gate"), "{dump}");
    let all = rt.show_all_workqueues();
    assert!(
        all.starts_with("Showing busy workqueues and worker pools:"),
        "{all}"
    );
    release.send(()).unwrap();
    wq.flush();
    assert!(rt.wq_monitor().contains("dumped"));
    assert!(wq.stats().completed >= 1);
}

#[test]
fn system_workqueues_are_created_on_first_use() {
    let latch = Latch::new();
    cmwq::schedule_work(Counted::new(&latch)).unwrap();
    cmwq::system_unbound_wq()
        .queue_work(Counted::new(&latch))
        .unwrap();
    cmwq::system_highpri_wq()
        .queue_work(Counted::new(&latch))
        .unwrap();
    cmwq::system_long_wq()
        .queue_work(Counted::new(&latch))
        .unwrap();
    cmwq::system_power_efficient_wq()
        .queue_work(Counted::new(&latch))
        .unwrap();
    latch.wait_for(5);
    assert!(cmwq::show_all_workqueues().starts_with("Showing busy workqueues and worker pools:"));
    cmwq::system_wq().flush();
    assert_eq!(
        cmwq::show_workqueue(cmwq::system_wq()),
        "",
        "idle: nothing to show"
    );
    assert_eq!(cmwq::system_wq().name(), "events");
    assert_eq!(cmwq::system_unbound_wq().flags(), WQ_UNBOUND);
}

#[test]
fn dropping_the_last_runtime_handle_stops_its_workers() {
    let spawner = Arc::new(cmwq::ThreadSpawner::new());
    let rt = Runtime::builder()
        .nr_cpus(2)
        .affinity(Affinity::Free)
        .timings(fast_timings())
        .spawner_arc(spawner.clone())
        .build()
        .unwrap();
    let wq = rt.workqueue("shortlived").build().unwrap();
    let latch = Latch::new();
    for cpu in 0..2 {
        wq.queue_work_on(cpu, Counted::new(&latch)).unwrap();
    }
    latch.wait_for(2);
    assert!(spawner.stats().live_workers >= 2);
    drop(wq);
    drop(rt);
    // Workers exit once woken; wait for the count (a query, no sleep).
    let deadline = std::time::Instant::now() + GUARD;
    while spawner.stats().live_workers != 0 {
        assert!(std::time::Instant::now() < deadline, "workers still alive");
        std::thread::yield_now();
    }
}

#[test]
fn queue_work_on_runs_on_that_cpus_pool_and_highpri_on_the_highpri_pool() {
    let rt = rt();
    let wq = rt.workqueue("oncpu").build().unwrap();
    let hi = rt
        .workqueue("oncpu_hi")
        .flags(cmwq::WQ_HIGHPRI)
        .build()
        .unwrap();
    let unbound = rt.workqueue("oncpu_u").flags(WQ_UNBOUND).build().unwrap();
    let (tx, rx) = mpsc::channel::<String>();
    let name = move || std::thread::current().name().unwrap_or("").to_owned();
    for (q, cpu) in [(&wq, 1), (&hi, 0), (&unbound, 1)] {
        let tx = Mutex::new(tx.clone());
        q.queue_work_on(
            cpu,
            work_fn("whoami_func", move || {
                let _ = tx.lock().send(name());
            }),
        )
        .unwrap();
        q.flush();
    }
    let names: Vec<String> = (0..3).map(|_| rx.recv_timeout(GUARD).unwrap()).collect();
    assert!(
        names[0].starts_with("kworker/1:") && !names[0].ends_with('H'),
        "{names:?}"
    );
    assert!(
        names[1].starts_with("kworker/0:") && names[1].ends_with('H'),
        "{names:?}"
    );
    assert!(names[2].starts_with("kworker/u"), "{names:?}");
}

#[test]
fn a_plain_wq_completes_when_worker_creation_fails_every_other_try() {
    // Four items that block together need four workers at once: creation is tried again
    // and again, every other try fails, and the pool gets there after cooldowns.
    const N: usize = 4;
    let spawner = Arc::new(cmwq::ThreadSpawner::new().failure(cmwq::FailurePlan::EveryNth(2)));
    let rt = Runtime::builder()
        .nr_cpus(1)
        .affinity(Affinity::Free)
        .timings(fast_timings())
        .spawner_arc(spawner.clone())
        .build()
        .unwrap();
    let wq = rt.workqueue("retry").build().unwrap();
    let all_in = Arc::new(std::sync::Barrier::new(N));
    let latch = Latch::new();
    for _ in 0..N {
        let (all_in, latch) = (all_in.clone(), latch.clone());
        wq.queue_work(work_fn("together_func", move || {
            cmwq::blocking(|| all_in.wait());
            latch.count_up();
        }))
        .unwrap();
    }
    latch.wait_for(N);
    let st = spawner.stats();
    assert!(st.worker_failures >= 1, "{st:?}");
    assert!(st.live_workers >= N, "{st:?}");
}

#[test]
fn a_delayed_item_left_on_a_dropped_runtime_can_be_queued_again() {
    let latch = Latch::new();
    let c = Counted::new(&latch);
    {
        let rt1 = rt();
        let wq1 = rt1.workqueue("gone").build().unwrap();
        wq1.queue_delayed_work(c.clone(), Duration::from_secs(3600))
            .unwrap();
        assert!(wq1.work_busy(&c).pending);
    }
    let rt2 = rt();
    let wq2 = rt2.workqueue("next").build().unwrap();
    wq2.queue_work(c.clone())
        .expect("PENDING was given back when its runtime stopped");
    latch.wait_for(1);
}

/// An item that flushes itself from inside its work function.
struct SelfFlush {
    work: Work<Self>,
    wq: std::sync::Weak<cmwq::Workqueue>,
    result: Mutex<mpsc::Sender<bool>>,
}
impl_has_work!(SelfFlush { work });
impl WorkItem for SelfFlush {
    fn run(this: Arc<Self>) {
        if let Some(wq) = this.wq.upgrade() {
            let r = wq.flush_work(&this);
            // Let go of the workqueue before reporting: the test's handle must be the
            // last one (dropping the last handle inside one of its items would drain
            // the workqueue from inside it).
            drop(wq);
            let _ = this.result.lock().send(r);
        }
    }
}

#[test]
fn an_item_flushing_itself_does_not_deadlock() {
    let rt = rt();
    let wq = Arc::new(rt.workqueue("selfflush").build().unwrap());
    let (tx, rx) = mpsc::channel::<bool>();
    let item = Arc::new(SelfFlush {
        work: Work::new(),
        wq: Arc::downgrade(&wq),
        result: Mutex::new(tx),
    });
    wq.queue_work(item).unwrap();
    assert!(!rx.recv_timeout(GUARD).unwrap(), "refused, not waited");
}

/// An item that owns the last handle of its own workqueue and drops it.
struct LastHandle {
    work: Work<Self>,
    go: Mutex<Option<mpsc::Receiver<()>>>,
    wq: Mutex<Option<cmwq::Workqueue>>,
    done: Mutex<mpsc::Sender<()>>,
}
impl_has_work!(LastHandle { work });
impl WorkItem for LastHandle {
    fn run(this: Arc<Self>) {
        // Wait until the test has handed over the workqueue's last handle.
        if let Some(go) = this.go.lock().take() {
            cmwq::blocking(|| go.recv().ok());
        }
        let wq = this.wq.lock().take();
        assert!(wq.is_some(), "the handle was handed over before `go`");
        drop(wq);
        let _ = this.done.lock().send(());
    }
}

#[test]
fn dropping_the_last_handle_from_its_own_item_destroys_it_without_deadlock() {
    let rt = rt();
    let wq = rt.workqueue("selfdrop").build().unwrap();
    let (tx, rx) = mpsc::channel();
    let (go_tx, go_rx) = mpsc::channel();
    let item = Arc::new(LastHandle {
        work: Work::new(),
        go: Mutex::new(Some(go_rx)),
        wq: Mutex::new(None),
        done: Mutex::new(tx),
    });
    let latch = Latch::new();
    let follower = Counted::new(&latch);
    wq.queue_work(item.clone()).unwrap();
    wq.queue_work(follower).unwrap();
    *item.wq.lock() = Some(wq);
    go_tx.send(()).unwrap();
    rx.recv_timeout(GUARD)
        .expect("the item returned from dropping its workqueue");
    latch.wait_for(1);
}

#[test]
fn a_runtime_built_with_defaults_has_the_kernels_timings_and_a_30s_watchdog() {
    let rt = Runtime::builder()
        .nr_cpus(1)
        .affinity(Affinity::Free)
        .build()
        .unwrap();
    let t = rt.timings();
    assert_eq!(
        t.watchdog_thresh,
        Some(Duration::from_secs(30)),
        "the lockup watchdog is on by default, at the kernel's 30 s"
    );
    assert_eq!(t.mayday_initial_timeout, Duration::from_millis(10));
    assert_eq!(t.mayday_interval, Duration::from_millis(100));
    assert_eq!(t.create_cooldown, Duration::from_secs(1));
    assert_eq!(t.idle_worker_timeout, Duration::from_secs(300));
    assert_eq!(t.cpu_intensive_thresh, Duration::from_millis(10));
    assert_eq!(t, cmwq::Timings::default());
}
