//! Delayed work in the core (`ops`): the timer state, its expiry, mod_delayed_work,
//! cancel and flush of delayed items, saturating deadlines. Driven through `System`, the
//! same operations the runtime runs.

mod harness;

use cmwq_pool::{Action, QueueError, QueueFrom, WqFlags, WqSpec};
use cmwq_work::WorkRef;
use harness::*;

const MS: u64 = 1_000_000;

fn delayed(
    h: &mut Harness,
    wq: cmwq_pool::WqId,
    item: &Item,
    delay: u64,
) -> Result<(), QueueError> {
    let r = h
        .sys
        .queue_delayed_work(
            wq,
            None,
            WorkRef::from_arc(item.clone()),
            delay,
            QueueFrom::Outside,
            h.now,
            &mut h.out,
        )
        .map_err(|(e, _)| e);
    h.settle();
    r
}

#[test]
fn a_delayed_item_waits_on_its_timer_then_runs_once() {
    let mut h = Harness::new(1);
    let wq = h.alloc(WqSpec::new("events", WqFlags::empty()));
    let a = h.item("a");
    delayed(&mut h, wq, &a, 10 * MS).unwrap();
    assert!(a.head().is_pending(), "PENDING while on the timer");
    assert!(h.sys.delayed_timers().is_armed(a.head()));
    assert_eq!(
        delayed(&mut h, wq, &a, MS),
        Err(QueueError::AlreadyPending),
        "a second queueing is a no-op"
    );
    h.advance_to(10 * MS - 1);
    assert!(h.ran().is_empty(), "not before its deadline");
    h.advance_to(10 * MS);
    assert_eq!(h.ran(), vec!["a"]);
    assert!(!a.head().is_pending());
    assert!(h.sys.delayed_timers().is_empty());
}

#[test]
fn a_zero_delay_queues_at_once_and_arms_no_timer() {
    let mut h = Harness::new(1);
    let wq = h.alloc(WqSpec::new("events", WqFlags::empty()));
    let a = h.item("a");
    let r = h.sys.queue_delayed_work(
        wq,
        None,
        WorkRef::from_arc(a.clone()),
        0,
        QueueFrom::Outside,
        h.now,
        &mut h.out,
    );
    assert!(r.is_ok());
    assert!(
        !h.out
            .iter()
            .any(|x| matches!(x, Action::ArmDelayedTimer { .. })),
        "{:?}",
        h.out
    );
    h.settle();
    assert_eq!(h.ran(), vec!["a"]);
}

#[test]
fn an_overflowing_deadline_saturates_instead_of_firing_at_once() {
    let mut h = Harness::new(1);
    let wq = h.alloc(WqSpec::new("events", WqFlags::empty()));
    h.advance_to(5 * MS);
    let a = h.item("a");
    delayed(&mut h, wq, &a, u64::MAX).unwrap();
    assert_eq!(h.sys.delayed_timers().deadline(a.head()), Some(u64::MAX));
    h.advance_to(1_000_000 * MS);
    assert!(
        h.ran().is_empty(),
        "a delay past the clock's end never comes"
    );
    assert!(
        h.sys.cancel_work(a.head(), h.now, &mut h.out),
        "but it can be cancelled"
    );
    assert!(!a.head().is_pending());
}

#[test]
fn cancel_takes_a_delayed_item_off_its_timer() {
    let mut h = Harness::new(1);
    let wq = h.alloc(WqSpec::new("events", WqFlags::empty()));
    let a = h.item("a");
    delayed(&mut h, wq, &a, 10 * MS).unwrap();
    assert!(h.sys.cancel_work(a.head(), h.now, &mut h.out));
    assert!(!a.head().is_pending());
    h.advance_to(20 * MS);
    assert!(h.ran().is_empty(), "the stale timer finds nothing due");
    // Idle again: it can be queued anew.
    h.queue(wq, &a).unwrap();
    assert_eq!(h.ran(), vec!["a"]);
}

#[test]
fn mod_delayed_work_moves_the_deadline_of_a_waiting_item() {
    let mut h = Harness::new(1);
    let wq = h.alloc(WqSpec::new("events", WqFlags::empty()));
    let a = h.item("a");
    delayed(&mut h, wq, &a, 10 * MS).unwrap();
    let was = h
        .sys
        .mod_delayed_work(
            wq,
            None,
            WorkRef::from_arc(a.clone()),
            30 * MS,
            QueueFrom::Outside,
            h.now,
            &mut h.out,
        )
        .unwrap();
    assert!(was, "it was pending on its timer");
    h.advance_to(20 * MS);
    assert!(h.ran().is_empty(), "the old deadline is gone");
    h.advance_to(30 * MS);
    assert_eq!(h.ran(), vec!["a"], "one run for both queueings");
}

#[test]
fn mod_delayed_work_of_a_disabled_item_is_refused_and_changes_nothing() {
    let mut h = Harness::new(1);
    let wq = h.alloc(WqSpec::new("events", WqFlags::empty()));
    let a = h.item("a");
    h.sys.disable_work(a.head(), h.now, &mut h.out).unwrap();
    let r = h.sys.mod_delayed_work(
        wq,
        None,
        WorkRef::from_arc(a.clone()),
        MS,
        QueueFrom::Outside,
        h.now,
        &mut h.out,
    );
    assert!(matches!(r, Err((QueueError::Disabled, _))));
    assert!(!a.head().is_pending());
    assert_eq!(a.head().disable_count(), 1);
}

#[test]
fn flush_delayed_work_queues_a_waiting_item_at_once_and_waits_for_it() {
    let mut h = Harness::new(1);
    let wq = h.alloc(WqSpec::new("events", WqFlags::empty()));
    h.blocking.push("a".into());
    let a = h.item("a");
    delayed(&mut h, wq, &a, 100 * MS).unwrap();
    let bar = barrier(7);
    let (had, r) =
        h.sys
            .flush_delayed_work(a.head(), WorkRef::from_arc(bar.clone()), h.now, &mut h.out);
    assert!(had && r.is_ok());
    h.settle();
    assert_eq!(h.ran(), Vec::<String>::new(), "a started and blocks");
    assert!(!bar.is_done());
    h.release_all("a");
    assert!(bar.is_done(), "the barrier ran right after it");
    assert!(h.sys.delayed_timers().is_empty());
}

#[test]
fn a_delayed_queueing_onto_a_missing_cpu_is_refused_at_once() {
    let mut h = Harness::new(2);
    let wq = h.alloc(WqSpec::new("events", WqFlags::empty()));
    let a = h.item("a");
    let r = h.sys.queue_delayed_work(
        wq,
        Some(5),
        WorkRef::from_arc(a.clone()),
        MS,
        QueueFrom::Outside,
        h.now,
        &mut h.out,
    );
    assert!(matches!(
        r,
        Err((QueueError::NoSuchCpu { cpu: 5, nr_cpus: 2 }, _))
    ));
    assert!(!a.head().is_pending());
}

#[test]
fn a_delayed_item_whose_timer_fires_during_a_drain_is_run_by_the_drain_not_lost() {
    let mut h = Harness::new(1);
    let wq = h.alloc(WqSpec::new("events", WqFlags::empty()));
    // A running item keeps the drain going while the timer fires.
    h.blocking.push("sleeper".into());
    let s = h.item("sleeper");
    h.queue(wq, &s).unwrap();
    let a = h.item("a");
    delayed(&mut h, wq, &a, 10 * MS).unwrap();
    h.sys.drain_workqueue(wq, h.now, &mut h.out).unwrap();
    h.settle();
    h.advance_to(10 * MS);
    assert!(
        !h.sys.delayed_timers().is_armed(a.head()),
        "the timer fired"
    );
    // (A second worker may run it at once: the sleeper sleeps.)
    let runner = h.holder("sleeper").expect("the sleeper still runs");
    h.release(runner);
    h.settle();
    let ran = h.ran();
    assert_eq!(
        ran.iter().filter(|n| *n == "a").count(),
        1,
        "run once, not dropped by the drain: {ran:?}"
    );
    assert!(!a.head().is_pending());
}
