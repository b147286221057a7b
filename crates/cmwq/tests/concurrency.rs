//! Concurrency management on real threads: a pool keeps about one running worker; the
//! blocking scope and the cpu-intensive tick are what let a second item start while the
//! first one has not finished.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use cmwq::{Affinity, Runtime, WQ_CPU_INTENSIVE, work_fn};
use common::{GUARD, fast_timings};

fn one_cpu(tick: Duration) -> Runtime {
    Runtime::builder()
        .nr_cpus(1)
        .affinity(Affinity::Free)
        .timings({
            let mut v = fast_timings();
            v.cpu_intensive_thresh = tick;
            v
        })
        .build()
        .unwrap()
}

/// Item A waits (inside the blocking scope) for item B, queued after it on the same
/// per-CPU pool. B can only start if A's blocking made the pool wake another worker: the
/// tick is an hour away, so nothing else would.
#[test]
fn blocking_scope_lets_the_pool_start_the_next_item() {
    let rt = one_cpu(Duration::from_secs(3600));
    let wq = rt.workqueue("cm").build().unwrap();
    let (b_ran_tx, b_ran_rx) = mpsc::channel::<()>();
    let (a_done_tx, a_done_rx) = mpsc::channel::<()>();
    let b_ran_rx = parking_lot::Mutex::new(Some(b_ran_rx));
    let (a_started_tx, a_started_rx) = mpsc::channel::<()>();
    let a = work_fn("a_func", move || {
        let _ = a_started_tx.send(());
        let rx = b_ran_rx.lock().take().expect("runs once");
        cmwq::blocking(|| rx.recv().expect("B runs while A is blocked"));
        let _ = a_done_tx.send(());
    });
    let b = work_fn("b_func", move || {
        let _ = b_ran_tx.send(());
    });
    wq.queue_work_on(0, a).unwrap();
    // B is queued while A runs (and counts in nr_running): the pool does not start it
    // on its own.
    a_started_rx.recv_timeout(GUARD).unwrap();
    wq.queue_work_on(0, b).unwrap();
    a_done_rx
        .recv_timeout(GUARD)
        .expect("A finished: B ran on another worker");
    wq.flush();
}

/// Item A spins, without a blocking scope, until item B has run. Only the cpu-intensive
/// tick can let B start: it marks A CPU_INTENSIVE once A has run past the threshold.
#[test]
fn cpu_intensive_tick_lets_the_pool_start_the_next_item() {
    let rt = one_cpu(Duration::from_millis(10));
    let wq = rt.workqueue("hog").build().unwrap();
    let b_ran = Arc::new(AtomicBool::new(false));
    let seen = b_ran.clone();
    let (a_started_tx, a_started_rx) = mpsc::channel::<()>();
    let a_started_tx = parking_lot::Mutex::new(a_started_tx);
    let a = work_fn("hog_func", move || {
        let _ = a_started_tx.lock().send(());
        while !seen.load(Ordering::Acquire) {
            std::hint::spin_loop();
            std::thread::yield_now();
        }
    });
    let flag = b_ran.clone();
    let b = work_fn("b_func", move || flag.store(true, Ordering::Release));
    wq.queue_work_on(0, a).unwrap();
    a_started_rx.recv_timeout(GUARD).unwrap();
    wq.queue_work_on(0, b).unwrap();
    wq.flush();
    assert!(b_ran.load(Ordering::Acquire));
    assert_eq!(wq.stats().cpu_intensive, 1, "A was marked CPU_INTENSIVE");
}

/// Item A waits for item B *without* a blocking scope: the runtime is not told of the
/// sleep, and A consumes no CPU time, so the CPU clock alone would never let B start. The
/// tick asks the OS: A's thread is asleep past the threshold, which the kernel's scheduler
/// would have reported, so A stops counting in nr_running and B starts.
#[test]
fn an_undeclared_sleep_past_the_threshold_lets_the_pool_start_the_next_item() {
    let rt = one_cpu(Duration::from_millis(10));
    let wq = rt.workqueue("sleeper").build().unwrap();
    let (b_ran_tx, b_ran_rx) = mpsc::channel::<()>();
    let b_ran_rx = parking_lot::Mutex::new(Some(b_ran_rx));
    let (a_started_tx, a_started_rx) = mpsc::channel::<()>();
    let a_started_tx = parking_lot::Mutex::new(a_started_tx);
    let a = work_fn("sleeper_func", move || {
        let _ = a_started_tx.lock().send(());
        let rx = b_ran_rx.lock().take().expect("runs once");
        rx.recv().expect("B runs while A sleeps");
    });
    let b = work_fn("b_func", move || {
        let _ = b_ran_tx.send(());
    });
    wq.queue_work_on(0, a).unwrap();
    a_started_rx.recv_timeout(GUARD).unwrap();
    wq.queue_work_on(0, b).unwrap();
    wq.flush();
    assert_eq!(
        wq.stats().cpu_intensive,
        1,
        "A stopped counting once the tick found it asleep"
    );
}

/// WQ_CPU_INTENSIVE items never count in nr_running: a spinning one does not hold back
/// the next one, tick or no tick.
#[test]
fn wq_cpu_intensive_items_do_not_hold_the_pool() {
    let rt = one_cpu(Duration::from_secs(3600));
    let wq = rt
        .workqueue("intensive")
        .flags(WQ_CPU_INTENSIVE)
        .build()
        .unwrap();
    let b_ran = Arc::new(AtomicBool::new(false));
    let seen = b_ran.clone();
    let a = work_fn("spin_func", move || {
        while !seen.load(Ordering::Acquire) {
            std::thread::yield_now();
        }
    });
    let flag = b_ran.clone();
    let b = work_fn("b_func", move || flag.store(true, Ordering::Release));
    wq.queue_work_on(0, a).unwrap();
    wq.queue_work_on(0, b).unwrap();
    wq.flush();
    assert!(b_ran.load(Ordering::Acquire));
}

/// Items that all block together force the pool to grow (each blocking scope lets the
/// next item start on another worker); once they finish, the idle timer culls the
/// surplus down to the two idle workers a pool keeps.
#[test]
fn surplus_idle_workers_are_culled_after_the_idle_timeout() {
    const N: usize = 5;
    let spawner = Arc::new(cmwq::ThreadSpawner::new());
    let rt = Runtime::builder()
        .nr_cpus(1)
        .affinity(Affinity::Free)
        .timings({
            let mut v = fast_timings();
            v.idle_worker_timeout = Duration::from_millis(5);
            v.cpu_intensive_thresh = Duration::from_secs(3600);
            v
        })
        .spawner_arc(spawner.clone())
        .build()
        .unwrap();
    let wq = rt.workqueue("grow").build().unwrap();
    let all_in = Arc::new(std::sync::Barrier::new(N));
    for _ in 0..N {
        let all_in = all_in.clone();
        wq.queue_work_on(
            0,
            work_fn("together_func", move || {
                cmwq::blocking(|| all_in.wait());
            }),
        )
        .unwrap();
    }
    wq.flush();
    assert!(
        spawner.stats().live_workers >= N,
        "the pool grew to run {N} at once"
    );
    let deadline = std::time::Instant::now() + GUARD;
    while spawner.stats().live_workers > 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "surplus workers never culled"
        );
        std::thread::yield_now();
    }
}

/// max_active bounds how many items of a workqueue run at once on a pool, even when each
/// one blocks (and so lets the pool start more workers).
#[test]
fn max_active_bounds_the_items_running_at_once() {
    use std::sync::atomic::AtomicUsize;
    const MAX: usize = 2;
    const N: usize = 12;
    let rt = one_cpu(Duration::from_secs(3600));
    let wq = rt
        .workqueue("bounded")
        .max_active(MAX as u32)
        .build()
        .unwrap();
    let running = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    // Each item waits (blocking scope) until MAX items run together, so the pool is
    // pushed to start more; max_active must still hold it to MAX.
    let gate = Arc::new(std::sync::Barrier::new(MAX));
    for _ in 0..N {
        let (running, peak, gate) = (running.clone(), peak.clone(), gate.clone());
        wq.queue_work_on(
            0,
            work_fn("bounded_func", move || {
                let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                peak.fetch_max(now, Ordering::SeqCst);
                cmwq::blocking(|| gate.wait());
                running.fetch_sub(1, Ordering::SeqCst);
            }),
        )
        .unwrap();
    }
    wq.flush();
    assert_eq!(peak.load(Ordering::SeqCst), MAX);
    assert_eq!(wq.stats().completed, N as u64);
}

/// While an item of an unbound max_active-1 workqueue runs, its pwq is at max_active, so
/// the pool keeps the pwq's incoming ring open and later queueings take no pool lock: they
/// wait in the ring until the pool's next lock hold accounts them. Everything that looks
/// must see them accounted all the same: the dump lists them as pending (inactive), a
/// cancel takes one off, and a flush waits for the rest, which run once each, in order.
#[test]
fn queueings_made_without_the_pool_lock_are_seen_by_dump_cancel_and_flush() {
    use std::sync::atomic::AtomicUsize;
    let rt = one_cpu(Duration::from_secs(3600));
    let wq = rt
        .workqueue("ring")
        .flags(cmwq::WQ_UNBOUND)
        .max_active(1)
        .build()
        .unwrap();
    let (started_tx, started_rx) = mpsc::channel::<()>();
    let started_tx = parking_lot::Mutex::new(started_tx);
    let gate = Arc::new(std::sync::Barrier::new(2));
    let blocker = {
        let gate = Arc::clone(&gate);
        work_fn("ring_blocker_fn", move || {
            let _ = started_tx.lock().send(());
            cmwq::blocking(|| gate.wait());
        })
    };
    wq.queue_work(Arc::clone(&blocker)).unwrap();
    started_rx.recv_timeout(GUARD).expect("the blocker starts");
    let order = Arc::new(parking_lot::Mutex::new(Vec::new()));
    let runs = Arc::new(AtomicUsize::new(0));
    let items: Vec<_> = (0..4)
        .map(|i| {
            let (order, runs) = (Arc::clone(&order), Arc::clone(&runs));
            work_fn("ring_item_fn", move || {
                order.lock().push(i);
                runs.fetch_add(1, Ordering::SeqCst);
            })
        })
        .collect();
    for it in &items {
        wq.queue_work(Arc::clone(it)).unwrap();
    }
    // Looked at while the blocker still runs; asserted after it is released, so that a
    // failure cannot leave the blocker (and the workqueue's drain) waiting forever.
    let dump = wq.show();
    let cancelled = wq.cancel_work(&items[1]);
    let still_pending = cmwq::HasWork::work_head(&*items[1]).is_pending();
    gate.wait();
    assert!(
        dump.contains("inactive: 4*ring_item_fn"),
        "the dump lists every queued item as pending (inactive):\n{dump}"
    );
    assert!(cancelled, "a queued item is pending and cancelled");
    assert!(!still_pending);
    assert!(wq.flush());
    assert_eq!(*order.lock(), [0, 2, 3]);
    assert_eq!(runs.load(Ordering::SeqCst), 3);
    assert_eq!(wq.stats().completed, 4);
}
