//! flush_work, flush_workqueue, drain, cancel, disable/enable, work_busy, destroy.

mod harness;

use cmwq_pool::{QueueError, QueueFrom, WorkBusy, WqError, WqFlags, WqSpec, pool_of};
use cmwq_work::WorkRef;
use harness::*;

#[test]
fn flush_work_of_a_pending_item_completes_after_it_runs() {
    let mut h = Harness::new(1);
    let wq = h.alloc(WqSpec::new("events", WqFlags::empty()));
    h.blocking.push("busy".into());
    let busy = h.item("busy");
    h.queue(wq, &busy).unwrap();
    // Make `target` wait behind `busy` on an ordered-like single slot: max_active 1.
    h.sys.set_max_active(wq, 1, h.now, &mut h.out).unwrap();
    let target = h.item("target");
    h.queue(wq, &target).unwrap();
    let bar = barrier(1);
    h.sys
        .flush_work(
            target.head(),
            WorkRef::from_arc(bar.clone()),
            h.now,
            &mut h.out,
        )
        .unwrap();
    h.settle();
    assert!(!bar.is_done());
    h.release_all("busy");
    assert!(bar.is_done());
    assert_eq!(h.ran(), vec!["busy", "target"]);
    // The barrier ran right after the target, with no item between.
    let names: Vec<_> = h.starts.iter().map(|(_, n)| n.as_str()).collect();
    assert_eq!(names, vec!["busy", "target", "wq_barrier_func"]);
}

#[test]
fn flush_work_of_an_idle_item_has_nothing_to_wait_for() {
    let mut h = Harness::new(1);
    let _wq = h.alloc(WqSpec::new("events", WqFlags::empty()));
    let idle = h.item("idle");
    let bar = barrier(1);
    let back = h
        .sys
        .flush_work(
            idle.head(),
            WorkRef::from_arc(bar.clone()),
            h.now,
            &mut h.out,
        )
        .unwrap_err();
    assert_eq!(back.addr(), WorkRef::from_arc(bar).addr());
}

#[test]
fn flush_work_of_a_running_item_waits_for_that_run_only() {
    let mut h = Harness::new(1);
    let wq = h.alloc(WqSpec::new("events", WqFlags::empty()));
    let (r, w) = h.start_blocking(wq, "running");
    let bar = barrier(9);
    h.sys
        .flush_work(r.head(), WorkRef::from_arc(bar.clone()), h.now, &mut h.out)
        .unwrap();
    assert_eq!(
        h.sys
            .pool(h.sys.worker_pool(w).unwrap())
            .unwrap()
            .scheduled_len(w),
        1
    );
    h.release(Runner::Worker(w));
    assert!(bar.is_done());
}

#[test]
fn a_barrier_behind_an_inactive_item_moves_with_it_and_to_the_running_worker() {
    let mut h = Harness::new(1);
    let wq = h.alloc(WqSpec::new("events", WqFlags::empty()).max_active(1));
    let (a, w1) = h.start_blocking(wq, "again");
    // Requeue while it runs: it waits inactive (max_active 1); flush it: the barrier is
    // linked behind it on the inactive list.
    h.queue(wq, &a).unwrap();
    let bar = barrier(5);
    h.sys
        .flush_work(a.head(), WorkRef::from_arc(bar.clone()), h.now, &mut h.out)
        .unwrap();
    let pwq = h.sys.pwq_of(wq, None).unwrap();
    assert_eq!(h.sys.pool(pool_of(pwq)).unwrap().pwq_nr_inactive(pwq), 2);
    h.release(Runner::Worker(w1));
    // The second run is blocked again (same worker); the barrier waits behind it.
    assert!(!bar.is_done());
    assert_eq!(h.holder("again"), Some(Runner::Worker(w1)));
    h.release(Runner::Worker(w1));
    assert!(bar.is_done());
}

#[test]
fn flush_workqueue_waits_for_items_queued_before_it_only() {
    let mut h = Harness::new(2);
    let wq = h.alloc(WqSpec::new("events", WqFlags::empty()));
    h.blocking.push("old".into());
    let old0 = h.item("old");
    let old1 = h.item("old");
    h.queue_on(wq, Some(0), &old0).unwrap();
    h.queue_on(wq, Some(1), &old1).unwrap();
    let t = h.sys.flush_workqueue(wq, h.now, &mut h.out).unwrap();
    h.settle();
    h.blocking.push("new".into());
    let new = h.item("new");
    h.queue_on(wq, Some(0), &new).unwrap();
    // A second flusher arriving now waits for the next flush, which covers `new`.
    let t_next = h.sys.flush_workqueue(wq, h.now, &mut h.out).unwrap();
    assert_ne!(t_next, t);
    assert_eq!(
        h.sys.flush_workqueue(wq, h.now, &mut h.out).unwrap(),
        t_next,
        "shared"
    );
    let first = h.holder("old").unwrap();
    h.release(first);
    assert!(h.flush_done.is_empty());
    h.release_all("old");
    assert_eq!(h.flush_done, vec![(wq, t)], "done while `new` still runs");
    assert!(h.holder("new").is_some());
    h.release_all("new");
    assert_eq!(h.flush_done, vec![(wq, t), (wq, t_next)]);
    // An idle workqueue flushes at once.
    let t2 = h.sys.flush_workqueue(wq, h.now, &mut h.out).unwrap();
    h.settle();
    assert_eq!(h.flush_done.last(), Some(&(wq, t2)));
}

#[test]
fn drain_refuses_outside_queueing_but_allows_chained_items() {
    let mut h = Harness::new(1);
    let wq = h.alloc(WqSpec::new("events", WqFlags::empty()));
    h.blocking.push("first".into());
    let first = h.item("first");
    let chained = h.item("chained");
    h.chains.insert("first".into(), vec![(wq, chained.clone())]);
    h.queue(wq, &first).unwrap();
    h.sys.drain_workqueue(wq, h.now, &mut h.out).unwrap();
    h.settle();
    assert!(
        h.sys
            .workqueue(wq)
            .unwrap()
            .flags()
            .contains(WqFlags::DRAINING)
    );
    let outsider = h.item("outsider");
    assert_eq!(h.queue(wq, &outsider), Err(QueueError::Draining(wq)));
    assert!(!outsider.head().is_pending(), "PENDING released on refusal");
    assert_eq!(
        h.sys.drain_workqueue(wq, h.now, &mut h.out).unwrap_err(),
        WqError::AlreadyDraining(wq)
    );
    h.release_all("first");
    assert_eq!(h.ran(), vec!["first", "chained"]);
    assert_eq!(h.drained, vec![wq]);
    assert!(!h.sys.workqueue(wq).unwrap().is_draining());
    h.queue(wq, &outsider).unwrap();
    assert_eq!(h.count_ran("outsider"), 1);
}

#[test]
fn cancel_takes_pending_items_off_the_worklist_and_the_inactive_list() {
    let mut h = Harness::new(1);
    let wq = h.alloc(WqSpec::new("events", WqFlags::empty()).max_active(1));
    h.blocking.push("busy".into());
    let busy = h.item("busy");
    h.queue(wq, &busy).unwrap();
    let a = h.item("a");
    let b = h.item("b");
    let c = h.item("c");
    for i in [&a, &b, &c] {
        h.queue(wq, i).unwrap();
    }
    let pwq = h.sys.pwq_of(wq, None).unwrap();
    assert!(
        h.sys.cancel_work(b.head(), h.now, &mut h.out),
        "was pending"
    );
    assert!(!b.head().is_pending());
    assert_eq!(h.sys.pool(pool_of(pwq)).unwrap().pwq_nr_inactive(pwq), 2);
    assert_eq!(h.sys.pool(pool_of(pwq)).unwrap().pwq_nr_active(pwq), 1);
    // Not pending: nothing to cancel (the running one keeps running).
    assert!(!h.sys.cancel_work(busy.head(), h.now, &mut h.out));
    assert!(!h.sys.cancel_work(b.head(), h.now, &mut h.out));
    h.release_all("busy");
    assert_eq!(h.ran(), vec!["busy", "a", "c"]);
    assert_eq!(h.sys.pool(pool_of(pwq)).unwrap().pwq_nr_in_flight(pwq), 0);
}

#[test]
fn cancelling_an_active_pending_item_activates_the_next_inactive_one() {
    let mut h = Harness::new(1);
    let wq = h.alloc(WqSpec::new("events", WqFlags::empty()).max_active(2));
    h.blocking.push("busy".into());
    let busy = h.item("busy");
    h.queue(wq, &busy).unwrap();
    // `a` is active but not running yet (the pool's only free worker is the manager-to-be).
    let a = h.item("a");
    let b = h.item("b");
    h.queue_quiet(wq, &a).unwrap();
    h.queue_quiet(wq, &b).unwrap();
    let pwq = h.sys.pwq_of(wq, None).unwrap();
    assert_eq!(h.sys.pool(pool_of(pwq)).unwrap().pwq_nr_inactive(pwq), 1);
    assert!(h.sys.cancel_work(a.head(), h.now, &mut h.out));
    let p = h.sys.pool(pool_of(pwq)).unwrap();
    assert_eq!(p.pwq_nr_inactive(pwq), 0, "b took a's slot");
    assert_eq!(p.pwq_nr_active(pwq), 2);
    h.settle();
    assert_eq!(h.ran(), vec!["b"]);
}

#[test]
fn disabled_items_cannot_be_queued_until_enabled() {
    let mut h = Harness::new(1);
    let wq = h.alloc(WqSpec::new("events", WqFlags::empty()));
    let a = h.item("a");
    h.queue_quiet(wq, &a).unwrap();
    let cancelled = h.sys.disable_work(a.head(), h.now, &mut h.out).unwrap();
    assert!(cancelled, "disable cancels the pending instance");
    assert_eq!(h.queue(wq, &a), Err(QueueError::Disabled));
    assert_eq!(h.sys.enable_work(a.head()), Ok(0));
    h.queue(wq, &a).unwrap();
    assert_eq!(h.ran(), vec!["a"]);
    assert!(h.sys.enable_work(a.head()).is_err(), "not disabled");
}

#[test]
fn work_busy_reports_pending_and_running() {
    let mut h = Harness::new(1);
    let wq = h.alloc(WqSpec::new("events", WqFlags::empty()));
    h.blocking.push("a".into());
    let a = h.item("a");
    assert_eq!(h.sys.work_busy(a.head()), WorkBusy::empty());
    h.queue_quiet(wq, &a).unwrap();
    assert_eq!(h.sys.work_busy(a.head()), WorkBusy::PENDING);
    h.settle();
    assert_eq!(h.sys.work_busy(a.head()), WorkBusy::RUNNING);
    h.queue_quiet(wq, &a).unwrap();
    assert_eq!(
        h.sys.work_busy(a.head()),
        WorkBusy::PENDING | WorkBusy::RUNNING
    );
    assert_eq!(WorkBusy::PENDING.bits(), 1);
    assert_eq!(WorkBusy::RUNNING.bits(), 2);
}

#[test]
fn destroy_needs_an_empty_workqueue_and_then_refuses_everything() {
    let mut h = Harness::new(1);
    let wq = h.alloc(WqSpec::new("events", WqFlags::MEM_RECLAIM));
    h.blocking.push("a".into());
    let a = h.item("a");
    h.queue(wq, &a).unwrap();
    assert_eq!(h.sys.destroy_workqueue(wq), Err(WqError::NotDrained(wq)));
    h.release_all("a");
    h.sys.destroy_workqueue(wq).unwrap();
    assert_eq!(h.queue(wq, &a), Err(QueueError::Destroyed(wq)));
    assert_eq!(h.sys.destroy_workqueue(wq), Err(WqError::Destroyed(wq)));
    assert_eq!(
        h.sys.flush_workqueue(wq, h.now, &mut h.out).unwrap_err(),
        WqError::Destroyed(wq)
    );
    assert!(h.sys.snapshot(h.now).workqueue("events").is_none());
    let _ = QueueFrom::Outside;
}

#[test]
fn cancelling_an_inactive_item_releases_its_flush_barrier_at_once() {
    // Kernel try_to_grab_pending: an inactive item's LINKED barriers move to the worklist
    // when the item is grabbed; they never stay on the inactive list, never count in
    // nr_active, and the flusher does not wait for a max_active slot.
    let mut h = Harness::new(1);
    let wq = h.alloc(WqSpec::new("events", WqFlags::empty()).max_active(1));
    h.blocking.push("busy".into());
    let busy = h.item("busy");
    h.queue(wq, &busy).unwrap();
    let b = h.item("b");
    h.queue(wq, &b).unwrap();
    let pwq = h.sys.pwq_of(wq, None).unwrap();
    assert_eq!(h.sys.pool(pool_of(pwq)).unwrap().pwq_nr_inactive(pwq), 1);
    let bar = barrier(9);
    h.sys
        .flush_work(b.head(), WorkRef::from_arc(bar.clone()), h.now, &mut h.out)
        .unwrap();
    assert_eq!(h.sys.pool(pool_of(pwq)).unwrap().pwq_nr_inactive(pwq), 2);
    assert!(h.sys.cancel_work(b.head(), h.now, &mut h.out));
    let p = h.sys.pool(pool_of(pwq)).unwrap();
    assert_eq!(
        p.pwq_nr_inactive(pwq),
        0,
        "the barrier left the inactive list"
    );
    assert_eq!(p.pwq_nr_active(pwq), 1, "only `busy` holds the slot");
    h.settle();
    assert!(
        bar.is_done(),
        "the flusher of a cancelled item is released at once"
    );
    assert!(h.holder("busy").is_some(), "while `busy` still runs");
    h.release_all("busy");
    let p = h.sys.pool(pool_of(pwq)).unwrap();
    assert_eq!((p.pwq_nr_active(pwq), p.pwq_nr_in_flight(pwq)), (0, 0));
    assert_eq!(h.ran(), vec!["busy"]);
}
