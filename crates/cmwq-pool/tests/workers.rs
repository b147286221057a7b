//! Concurrency management, worker creation, idle culling, non-reentrancy.

mod harness;

use cmwq_pool::{
    Action, CPU_INTENSIVE_THRESH, CREATE_COOLDOWN, IDLE_WORKER_TIMEOUT, MAYDAY_INITIAL_TIMEOUT,
    PoolKind, Priority, WorkerFlags, WqFlags, WqSpec, pool_of,
};
use harness::*;

fn pool0() -> cmwq_pool::PoolId {
    PoolKind::PerCpu {
        cpu: 0,
        pri: Priority::Normal,
    }
    .percpu_pool_id()
    .unwrap()
}

#[test]
fn a_blocking_worker_wakes_an_idle_one_for_pending_work() {
    let mut h = Harness::new(1);
    let wq = h.alloc(WqSpec::new("events", WqFlags::empty()));
    h.blocking.push("sleeper".into());
    let s = h.item("sleeper");
    let b = h.item("b");
    h.queue(wq, &s).unwrap();
    let Some(Runner::Worker(w1)) = h.holder("sleeper") else {
        panic!("a worker holds the sleeper")
    };
    assert_eq!(h.sys.pool(pool0()).unwrap().nr_running(), 0, "it sleeps");
    h.queue(wq, &b).unwrap();
    assert_eq!(
        h.ran(),
        vec!["b"],
        "another worker ran b while the first slept"
    );
    assert!(
        h.starts
            .iter()
            .any(|(r, n)| n == "b" && *r != Runner::Worker(w1)),
        "{:?}",
        h.starts
    );
    h.release(Runner::Worker(w1));
    assert_eq!(h.ran(), vec!["b", "sleeper"]);
    assert_eq!(h.sys.pool(pool0()).unwrap().nr_running(), 0);
}

#[test]
fn sleeping_with_work_pending_counts_a_cm_wakeup() {
    let mut h = Harness::new(1);
    let wq = h.alloc(WqSpec::new("events", WqFlags::empty()));
    // Two items queued together: the first blocks while the second is still pending.
    h.blocking.push("sleeper".into());
    let s = h.item("sleeper");
    let b = h.item("b");
    h.queue_quiet(wq, &s).unwrap();
    h.queue_quiet(wq, &b).unwrap();
    h.settle();
    assert_eq!(h.count_ran("b"), 1);
    assert_eq!(h.sys.wq_stats(wq).cm_wakeup, 1);
}

#[test]
fn worker_running_again_counts_again() {
    let mut h = Harness::new(1);
    let wq = h.alloc(WqSpec::new("events", WqFlags::empty()));
    let (_s, w) = h.start_blocking(wq, "sleeper");
    assert_eq!(h.sys.pool(pool0()).unwrap().nr_running(), 0);
    h.sys.worker_running(w, h.now);
    assert_eq!(h.sys.pool(pool0()).unwrap().nr_running(), 1);
    // A second sleeping report while running is honoured once; repeated running is a no-op.
    h.sys.worker_running(w, h.now);
    assert_eq!(h.sys.pool(pool0()).unwrap().nr_running(), 1);
}

#[test]
fn an_item_running_past_the_threshold_becomes_cpu_intensive() {
    let mut h = Harness::new(1);
    let wq = h.alloc(WqSpec::new("events", WqFlags::empty()));
    // Hold a hog without reporting sleep: emulate a CPU-bound item by hand.
    let hog = h.item("hog");
    let next = h.item("next");
    h.queue_quiet(wq, &hog).unwrap();
    h.queue_quiet(wq, &next).unwrap();
    // Answer creation so that the first worker has a spare, then let it take the hog.
    h.settle_creations_only();
    let w = h.created[0].1;
    let pool = pool0();
    let hog_ref = loop {
        match h.sys.next_work(w, h.now, &mut h.out) {
            cmwq_pool::Next::Run(r) => break r,
            cmwq_pool::Next::Manage => h.settle_creations_only(),
            other => panic!("{other:?}"),
        }
    };
    h.out.clear();
    assert_eq!(hog_ref.name(), "hog");
    assert_eq!(h.sys.pool(pool).unwrap().nr_running(), 1);
    h.sys.worker_tick(w, CPU_INTENSIVE_THRESH - 1, &mut h.out);
    assert_eq!(
        h.sys.pool(pool).unwrap().nr_running(),
        1,
        "below the threshold"
    );
    assert!(h.out.is_empty());
    h.sys.worker_tick(w, CPU_INTENSIVE_THRESH, &mut h.out);
    let p = h.sys.pool(pool).unwrap();
    assert_eq!(p.nr_running(), 0);
    assert!(
        p.worker_flags(w)
            .unwrap()
            .contains(WorkerFlags::CPU_INTENSIVE)
    );
    assert!(
        h.out.iter().any(|a| matches!(a, Action::WakeWorker { .. })),
        "the pending item gets a worker: {:?}",
        h.out
    );
    let stats = h.sys.wq_stats(wq);
    assert_eq!((stats.cpu_intensive, stats.cm_wakeup), (1, 1));
    // Finishing clears the flag.
    hog_ref.run();
    h.sys.work_done(w, CPU_INTENSIVE_THRESH, h.now, &mut h.out);
    assert!(
        !h.sys
            .pool(pool)
            .unwrap()
            .worker_flags(w)
            .unwrap()
            .contains(WorkerFlags::CPU_INTENSIVE)
    );
}

#[test]
fn cpu_intensive_workqueue_items_do_not_hold_back_others() {
    let mut h = Harness::new(1);
    let wq = h.alloc(WqSpec::new("crunch", WqFlags::CPU_INTENSIVE));
    let a = h.item("a");
    let b = h.item("b");
    h.queue_quiet(wq, &a).unwrap();
    h.queue_quiet(wq, &b).unwrap();
    h.settle_creations_only();
    let w = h.created[0].1;
    let ra = loop {
        match h.sys.next_work(w, h.now, &mut h.out) {
            cmwq_pool::Next::Run(r) => break r,
            cmwq_pool::Next::Manage => h.settle_creations_only(),
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(ra.name(), "a");
    assert_eq!(h.sys.pool(pool0()).unwrap().nr_running(), 0, "not counted");
    assert!(h.out.iter().any(|x| matches!(x, Action::WakeWorker { .. })));
}

#[test]
fn creation_failure_cools_down_then_retries() {
    let mut h = Harness::new(1);
    let wq = h.alloc(WqSpec::new("events", WqFlags::empty()));
    h.create_fails = true;
    let a = h.item("a");
    h.queue(wq, &a).unwrap();
    let pool = pool0();
    assert_eq!(h.create_failures, 1);
    assert_eq!(h.timer(Timer::CreateRetry(pool)), Some(CREATE_COOLDOWN));
    assert!(h.sys.pool(pool).unwrap().manager_active());
    h.advance_to(CREATE_COOLDOWN - 1);
    assert_eq!(h.create_failures, 1, "no retry before the cooldown");
    h.advance_to(CREATE_COOLDOWN);
    assert_eq!(h.create_failures, 2, "retried after the cooldown");
    h.create_fails = false;
    h.advance(CREATE_COOLDOWN);
    assert_eq!(h.ran(), vec!["a"]);
    let p = h.sys.pool(pool).unwrap();
    assert!(!p.manager_active());
    assert_eq!(
        p.mayday_deadline(),
        None,
        "the mayday timer stops with creation"
    );
    assert_eq!(p.nr_workers(), 2);
}

#[test]
fn creation_stops_when_no_longer_needed() {
    let mut h = Harness::new(1);
    let wq = h.alloc(WqSpec::new("events", WqFlags::empty()));
    h.create_fails = true;
    let a = h.item("a");
    h.queue(wq, &a).unwrap();
    let pool = pool0();
    let cancelled = h.sys.cancel_work(a.head(), h.now, &mut h.out);
    assert!(cancelled);
    h.advance_to(CREATE_COOLDOWN);
    assert_eq!(h.create_failures, 1, "no new attempt: nothing to do");
    assert!(!h.sys.pool(pool).unwrap().manager_active());
    assert!(h.ran().is_empty());
    let _ = MAYDAY_INITIAL_TIMEOUT;
}

#[test]
fn surplus_idle_workers_are_culled_after_the_idle_timeout() {
    let mut h = Harness::new(1);
    let wq = h.alloc(WqSpec::new("events", WqFlags::empty()));
    h.blocking.push("sleeper".into());
    let items: Vec<_> = (0..6).map(|_| h.item("sleeper")).collect();
    for i in &items {
        h.queue(wq, i).unwrap();
    }
    let pool = pool0();
    let before = h.sys.pool(pool).unwrap().nr_workers();
    assert!(before >= 7, "one worker per sleeper plus a spare: {before}");
    h.release_all("sleeper");
    let p = h.sys.pool(pool).unwrap();
    assert_eq!(p.nr_idle(), before);
    assert!(p.too_many_workers());
    let at = h.timer(Timer::Idle(pool)).expect("idle timer armed");
    assert!(at <= h.now + IDLE_WORKER_TIMEOUT);
    h.advance(IDLE_WORKER_TIMEOUT);
    let p = h.sys.pool(pool).unwrap();
    assert_eq!(p.nr_workers(), 2, "culled down to two idle workers");
    assert_eq!(h.stopped.len() as u32, before - 2);
    assert!(!p.too_many_workers());
}

#[test]
fn a_requeued_running_item_is_handed_to_the_worker_running_it() {
    let mut h = Harness::new(1);
    let wq = h.alloc(WqSpec::new("events", WqFlags::empty()));
    let (a, w1) = h.start_blocking(wq, "again");
    // Queue it again while it runs: another worker picks it off the worklist but hands it
    // to w1 (never two workers on one item).
    h.queue(wq, &a).unwrap();
    let pool = h.sys.pool(pool0()).unwrap();
    assert_eq!(pool.scheduled_len(w1), 1);
    assert_eq!(pool.worklist_len(), 0);
    assert_eq!(h.starts.len(), 1);
    h.release(Runner::Worker(w1));
    assert_eq!(h.starts.len(), 2);
    assert!(h.starts.iter().all(|(r, _)| *r == Runner::Worker(w1)));
}

#[test]
fn a_running_item_queued_on_another_cpu_stays_on_its_pool() {
    let mut h = Harness::new(2);
    let wq = h.alloc(WqSpec::new("events", WqFlags::empty()));
    h.blocking.push("again".into());
    let a = h.item("again");
    h.queue_on(wq, Some(0), &a).unwrap();
    h.queue_on(wq, Some(1), &a).unwrap();
    let pwq0 = h.sys.pwq_of(wq, Some(0)).unwrap();
    let p0 = h.sys.pool(pool_of(pwq0)).unwrap();
    assert_eq!(
        p0.pwq_nr_active(pwq0),
        2,
        "the second queueing went to CPU 0's pwq"
    );
    let pwq1 = h.sys.pwq_of(wq, Some(1)).unwrap();
    assert_eq!(h.sys.pool(pool_of(pwq1)).unwrap().pwq_nr_active(pwq1), 0);
    h.release_all("again");
    h.release_all("again");
    assert_eq!(h.count_ran("again"), 2);
}

#[test]
fn a_driver_that_forgets_worker_running_does_not_skew_nr_running() {
    let mut h = Harness::new(1);
    let wq = h.alloc(WqSpec::new("events", WqFlags::empty()));
    let (_s, w) = h.start_blocking(wq, "sleeper");
    // Finish it without worker_running: work_done/next_work count the worker running again.
    let held = h.held.remove(&Runner::Worker(w)).unwrap();
    held.work.run();
    h.sys.work_done(w, 0, h.now, &mut h.out);
    assert!(matches!(
        h.sys.next_work(w, h.now, &mut h.out),
        cmwq_pool::Next::Idle
    ));
    assert_eq!(h.sys.pool(pool0()).unwrap().nr_running(), 0);
    h.blocking.clear();
    let again = h.item("again");
    h.queue(wq, &again).unwrap();
    assert_eq!(h.count_ran("again"), 1);
    assert_eq!(h.sys.pool(pool0()).unwrap().nr_running(), 0);
}

#[test]
fn a_handed_off_item_takes_its_linked_barrier_along() {
    let mut h = Harness::new(1);
    let wq = h.alloc(WqSpec::new("events", WqFlags::empty()));
    let (a, w1) = h.start_blocking(wq, "again");
    // Pending again while it runs, with a flush barrier LINKED behind the pending instance.
    h.queue_quiet(wq, &a).unwrap();
    let bar = barrier(3);
    h.sys
        .flush_work(
            a.head(),
            cmwq_work::WorkRef::from_arc(bar.clone()),
            h.now,
            &mut h.out,
        )
        .unwrap();
    let pool = h.sys.pool(pool0()).unwrap();
    assert_eq!(pool.worklist_len(), 2, "the item and its barrier");
    // Another worker picks it up and hands both to w1, which is still running the item.
    h.settle();
    let pool = h.sys.pool(pool0()).unwrap();
    assert_eq!(pool.worklist_len(), 0);
    assert_eq!(pool.scheduled_len(w1), 2);
    assert_eq!(h.starts.len(), 1, "nobody else ran it");
    h.release(Runner::Worker(w1));
    // Second run blocks again on w1; the barrier waits behind it.
    assert!(!bar.is_done());
    h.release(Runner::Worker(w1));
    assert!(bar.is_done());
    assert!(h.starts.iter().all(|(r, _)| *r == Runner::Worker(w1)));
}

#[test]
fn the_watchdog_does_not_take_a_handed_over_instance_for_worklist_progress() {
    // Kernel process_scheduled_works stamps the pool's progress once, when a worker starts
    // the batch it took off the worklist; an instance handed to the worker already running
    // the item starts in that same batch and is no progress of the worklist.
    let mut h = Harness::new(1);
    let wq = h.alloc(WqSpec::new("events", WqFlags::empty()));
    h.blocking.push("again".into());
    h.blocking.push("sleeper".into());
    let a = h.item("again");
    h.queue(wq, &a).unwrap();
    let Some(Runner::Worker(w1)) = h.holder("again") else {
        panic!("a worker runs `again`")
    };
    h.advance_to(SEC);
    h.queue(wq, &a).unwrap();
    assert_eq!(
        h.sys.pool(pool0()).unwrap().scheduled_len(w1),
        1,
        "handed to w1"
    );
    let s = h.item("sleeper");
    h.queue(wq, &s).unwrap();
    assert!(h.holder("sleeper").is_some());
    // The last idle worker becomes the manager and creation fails: `z` is stuck.
    h.create_fails = true;
    let z = h.item("z");
    h.queue(wq, &z).unwrap();
    let pool = h.sys.pool(pool0()).unwrap();
    assert_eq!(pool.worklist_len(), 1);
    assert_eq!(
        pool.watchdog_ts(),
        SEC,
        "queued on an empty worklist at 1 s"
    );
    // At 10 s w1 finishes and starts the handed-over instance (which blocks again).
    h.advance_to(10 * SEC);
    h.release(Runner::Worker(w1));
    assert_eq!(h.holder("again"), Some(Runner::Worker(w1)));
    assert_eq!(h.count_ran("z"), 0);
    assert_eq!(h.sys.pool(pool0()).unwrap().watchdog_ts(), SEC);
    h.advance_to(SEC + cmwq_pool::WATCHDOG_THRESH);
    assert_eq!(
        h.sys.stalled_pools(h.now, cmwq_pool::WATCHDOG_THRESH),
        vec![(pool0(), cmwq_pool::WATCHDOG_THRESH)],
        "z has waited 30 s: a lockup"
    );
}
