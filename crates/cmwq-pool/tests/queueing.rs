//! Queueing, max_active, inactive activation, ordered queues, worker basics.

mod harness;

use cmwq_pool::{Action, Next, PoolKind, Priority, QueueError, QueueFrom, WqFlags, WqSpec};
use cmwq_work::WorkRef;
use harness::*;

#[test]
fn first_pwq_asks_for_a_worker_and_an_item_runs_once() {
    let mut h = Harness::new(1);
    let wq = h.alloc(WqSpec::new("events", WqFlags::empty()));
    assert_eq!(h.created.len(), 1, "the pool's first worker");
    let a = h.item("a_fn");
    h.queue(wq, &a).unwrap();
    assert_eq!(h.ran(), vec!["a_fn"]);
    let s = h.sys.wq_stats(wq);
    assert_eq!((s.started, s.completed), (1, 1));
}

#[test]
fn queueing_a_pending_item_is_a_no_op_that_hands_the_ref_back() {
    let mut h = Harness::new(1);
    let wq = h.alloc(WqSpec::new("events", WqFlags::empty()));
    let a = h.item("a_fn");
    h.queue_quiet(wq, &a).unwrap();
    let r = h.sys.queue_work(
        wq,
        None,
        WorkRef::from_arc(a.clone()),
        QueueFrom::Outside,
        h.now,
        &mut h.out,
    );
    let (e, back) = r.unwrap_err();
    assert_eq!(e, QueueError::AlreadyPending);
    assert_eq!(back.addr(), WorkRef::from_arc(a.clone()).addr());
    h.settle();
    assert_eq!(h.count_ran("a_fn"), 1, "one run for both queueings");
}

#[test]
fn items_beyond_max_active_wait_inactive_and_activate_in_order() {
    let mut h = Harness::new(1);
    let wq = h.alloc(WqSpec::new("limited", WqFlags::empty()).max_active(2));
    h.blocking.push("blk".into());
    let items: Vec<_> = ["blk", "blk", "c", "d", "e"]
        .iter()
        .map(|n| h.item(n))
        .collect();
    for it in &items {
        h.queue(wq, it).unwrap();
    }
    let pwq = h.sys.pwq_of(wq, Some(0)).unwrap();
    let pool = h.sys.pool(cmwq_pool::pool_of(pwq)).unwrap();
    assert_eq!(pool.pwq_nr_active(pwq), 2);
    assert_eq!(pool.pwq_nr_inactive(pwq), 3);
    // Finishing one blocker frees one slot: the inactive items run through it in
    // queueing order while the other blocker still holds the second slot.
    let first = h.holder("blk").unwrap();
    h.release(first);
    assert_eq!(h.ran(), vec!["blk", "c", "d", "e"]);
    h.release_all("blk");
    let pool = h.sys.pool(cmwq_pool::pool_of(pwq)).unwrap();
    assert_eq!(pool.pwq_nr_active(pwq), 0);
}

#[test]
fn raising_max_active_at_run_time_activates_what_it_allows() {
    let mut h = Harness::new(1);
    let wq = h.alloc(WqSpec::new("limited", WqFlags::empty()).max_active(1));
    h.blocking.push("blk".into());
    let items: Vec<_> = (0..4).map(|_| h.item("blk")).collect();
    for it in &items {
        h.queue(wq, it).unwrap();
    }
    let pwq = h.sys.pwq_of(wq, Some(0)).unwrap();
    assert_eq!(
        h.sys
            .pool(cmwq_pool::pool_of(pwq))
            .unwrap()
            .pwq_nr_inactive(pwq),
        3
    );
    h.sys.set_max_active(wq, 3, h.now, &mut h.out).unwrap();
    h.settle();
    let pool = h.sys.pool(cmwq_pool::pool_of(pwq)).unwrap();
    assert_eq!(pool.pwq_nr_active(pwq), 3);
    assert_eq!(pool.pwq_nr_inactive(pwq), 1);
}

#[test]
fn ordered_queue_runs_one_at_a_time_in_queueing_order() {
    let mut h = Harness::new(2);
    let wq = h.alloc(WqSpec::ordered("ordered", WqFlags::empty()));
    assert!(
        h.sys
            .workqueue(wq)
            .unwrap()
            .flags()
            .contains(WqFlags::ORDERED | WqFlags::UNBOUND)
    );
    h.blocking.push("first".into());
    let first = h.item("first");
    h.queue(wq, &first).unwrap();
    let rest: Vec<_> = ["b", "c", "d"].iter().map(|n| h.item(n)).collect();
    for it in &rest {
        h.queue(wq, it).unwrap();
    }
    // Unbound workers do not count in nr_running: without ordering, others would start.
    assert_eq!(h.ran(), Vec::<String>::new());
    h.release_all("first");
    assert_eq!(h.ran(), vec!["first", "b", "c", "d"]);
}

#[test]
fn highpri_and_bh_queues_use_their_pools() {
    let mut h = Harness::new(2);
    let hi = h.alloc(WqSpec::new("hi", WqFlags::HIGHPRI));
    let bh = h.alloc(WqSpec::new("bh", WqFlags::BH));
    let ub = h.alloc(WqSpec::new("ub", WqFlags::UNBOUND | WqFlags::HIGHPRI));
    assert_eq!(
        cmwq_pool::pool_of(h.sys.pwq_of(hi, Some(1)).unwrap()),
        PoolKind::PerCpu {
            cpu: 1,
            pri: Priority::High
        }
        .percpu_pool_id()
        .unwrap()
    );
    assert_eq!(
        cmwq_pool::pool_of(h.sys.pwq_of(bh, Some(0)).unwrap()),
        PoolKind::Bh {
            cpu: 0,
            pri: Priority::Normal
        }
        .percpu_pool_id()
        .unwrap()
    );
    let ubpool = cmwq_pool::pool_of(h.sys.pwq_of(ub, None).unwrap());
    assert_eq!(
        ubpool.0, 9,
        "unbound pools come after the 4 per-CPU pools of each CPU: 4n nice 0, 4n+1 nice -20"
    );
    assert_eq!(h.sys.pool(ubpool).unwrap().kind().nice(), -20);
}

#[test]
fn a_second_item_wakes_nobody_while_one_worker_runs() {
    let mut h = Harness::new(1);
    let wq = h.alloc(WqSpec::new("events", WqFlags::empty()));
    let w = h.created[0].1;
    let a = h.item("a");
    let b = h.item("b");
    h.queue_quiet(wq, &a).unwrap();
    // The idle worker is woken; it becomes the manager (no other idle worker) first.
    h.out.clear();
    let pool = PoolKind::PerCpu {
        cpu: 0,
        pri: Priority::Normal,
    }
    .percpu_pool_id()
    .unwrap();
    assert!(matches!(h.sys.next_work(w, 0, &mut h.out), Next::Manage));
    assert!(
        h.out
            .iter()
            .any(|x| matches!(x, Action::CreateWorker { pool: p } if *p == pool))
    );
    h.out.clear();
    let w2 = h.sys.worker_created(pool, 0, &mut h.out);
    assert!(
        h.out
            .iter()
            .any(|x| *x == Action::WakeWorker { pool, worker: w })
    );
    h.out.clear();
    let Next::Run(ra) = h.sys.next_work(w, 0, &mut h.out) else {
        panic!()
    };
    assert_eq!(ra.name(), "a");
    assert_eq!(h.sys.pool(pool).unwrap().nr_running(), 1);
    h.out.clear();
    h.sys
        .queue_work(
            wq,
            None,
            WorkRef::from_arc(b.clone()),
            QueueFrom::Outside,
            0,
            &mut h.out,
        )
        .unwrap();
    assert!(
        !h.out.iter().any(|x| matches!(x, Action::WakeWorker { .. })),
        "nr_running is 1: no wake-up, {:?}",
        h.out
    );
    // keep_working: the same worker takes b after a.
    ra.run();
    h.sys.work_done(w, 0, 0, &mut h.out);
    let Next::Run(rb) = h.sys.next_work(w, 0, &mut h.out) else {
        panic!()
    };
    assert_eq!(rb.name(), "b");
    rb.run();
    h.sys.work_done(w, 0, 0, &mut h.out);
    assert!(matches!(h.sys.next_work(w, 0, &mut h.out), Next::Idle));
    let _ = w2;
}

#[test]
fn bh_pools_are_always_disassociated_and_their_workers_not_concurrency_managed() {
    // Kernel: one BH execution context per CPU, so a BH pool is per-CPU but always
    // POOL_DISASSOCIATED, and the workers attached to it get WORKER_UNBOUND.
    let mut h = Harness::new(1);
    let bh = h.alloc(WqSpec::new("bh", WqFlags::BH));
    let pool = cmwq_pool::pool_of(h.sys.pwq_of(bh, None).unwrap());
    let p = h.sys.pool(pool).unwrap();
    assert_eq!(
        p.flags(),
        cmwq_pool::PoolFlags::BH | cmwq_pool::PoolFlags::DISASSOCIATED
    );
    let w = h.created[0].1;
    assert!(
        p.worker_flags(w)
            .unwrap()
            .contains(cmwq_pool::WorkerFlags::UNBOUND)
    );
    h.blocking.push("bh_fn".into());
    let a = h.item("bh_fn");
    h.queue(bh, &a).unwrap();
    assert!(h.holder("bh_fn").is_some());
    assert_eq!(h.sys.pool(pool).unwrap().nr_running(), 0);
    // Per-CPU normal pools stay associated.
    let ev = h.alloc(WqSpec::new("events", WqFlags::empty()));
    let normal = cmwq_pool::pool_of(h.sys.pwq_of(ev, None).unwrap());
    assert!(h.sys.pool(normal).unwrap().flags().is_empty());
}

#[test]
fn workqueue_congested_reports_items_waiting_beyond_max_active() {
    let mut h = Harness::new(2);
    let wq = h.alloc(WqSpec::new("limited", WqFlags::empty()).max_active(1));
    h.blocking.push("blk".into());
    let a = h.item("blk");
    let b = h.item("blk");
    h.queue_on(wq, Some(1), &a).unwrap();
    assert_eq!(h.sys.workqueue_congested(wq, Some(1)), Ok(false));
    h.queue_on(wq, Some(1), &b).unwrap();
    assert_eq!(h.sys.workqueue_congested(wq, Some(1)), Ok(true));
    assert_eq!(h.sys.workqueue_congested(wq, Some(0)), Ok(false), "per CPU");
    assert_eq!(
        h.sys.workqueue_congested(wq, Some(7)),
        Err(QueueError::NoSuchCpu { cpu: 7, nr_cpus: 2 })
    );
    h.release_all("blk");
    h.release_all("blk");
    assert_eq!(h.sys.workqueue_congested(wq, Some(1)), Ok(false));
}
