//! `refcnt` on the dump's pwq lines counts what the kernel's get_pwq()/put_pwq() count:
//! the pwq's initial reference, the per-CPU pwq table's references of unbound and ordered
//! workqueues, one per item in flight (inactive ones included), send_mayday()'s pin while
//! the pwq is on maydays, and the reference the rescuer keeps while it serves the pwq.
//! Each test holds cmwq's line against one a real Linux 6.12 kernel printed in the same
//! state.

mod harness;

use cmwq_dump::KernelFormat;
use cmwq_pool::{
    CREATE_COOLDOWN, MAYDAY_INITIAL_TIMEOUT, MAYDAY_INTERVAL, Policy, WqFlags, WqSpec,
};
use harness::*;

fn pwq_line(h: &Harness, wq: &str) -> String {
    let text = h
        .sys
        .snapshot(h.now)
        .show_one_workqueue(wq, KernelFormat::Linux6_12)
        .unwrap()
        .to_string();
    let line = text
        .lines()
        .find(|l| l.starts_with("  pwq "))
        .unwrap_or_else(|| panic!("no pwq line in {text}"));
    // From "active=" on: the part the kernel's line is compared by.
    line[line.find(" active=").expect("an active= field") + 1..].to_owned()
}

/// A per-CPU `WQ_MEM_RECLAIM` workqueue under memory pressure: one item that blocks in
/// the rescuer and `siblings` short ones behind it.
fn rescued(siblings: usize) -> Harness {
    let mut h = Harness::new(1);
    let wq = h.alloc(WqSpec::new("reclaim_wq", WqFlags::MEM_RECLAIM).policy(Policy::Cursor));
    h.create_fails = true;
    h.blocking.push("blocker_fn".into());
    let b = h.item("blocker_fn");
    h.queue(wq, &b).unwrap();
    for _ in 0..siblings {
        let s = h.item("sibling_fn");
        h.queue(wq, &s).unwrap();
    }
    // The rescuer takes the blocker at the first mayday and blocks in it; the mayday timer,
    // still unable to create a worker, sends the pwq's mayday again.
    h.advance_to(MAYDAY_INITIAL_TIMEOUT + MAYDAY_INTERVAL + 1);
    assert!(matches!(h.holder("blocker_fn"), Some(Runner::Rescuer(_))));
    h
}

#[test]
fn a_rescued_pwq_back_on_maydays_counts_the_rescuers_reference_and_the_mayday_pin() {
    // Linux 6.12: `active=32 refcnt=35 MAYDAY` (32 items, the rescuer running one).
    let h = rescued(31);
    assert_eq!(pwq_line(&h, "reclaim_wq"), "active=32 refcnt=35 MAYDAY");
    // Linux 6.12: `active=2 refcnt=5 MAYDAY`.
    let h = rescued(1);
    assert_eq!(pwq_line(&h, "reclaim_wq"), "active=2 refcnt=5 MAYDAY");
}

#[test]
fn only_the_blocker_left_in_the_rescuer_still_holds_four_references() {
    // Linux 6.12: `active=1 refcnt=4 MAYDAY` (only the blocker left, in the rescuer).
    let mut h = rescued(3);
    h.create_fails = false;
    h.advance(CREATE_COOLDOWN);
    assert_eq!(h.count_ran("sibling_fn"), 3);
    assert_eq!(pwq_line(&h, "reclaim_wq"), "active=1 refcnt=4 MAYDAY");
}

#[test]
fn an_ordered_workqueue_counts_a_table_reference_per_cpu_and_its_inactive_items() {
    // Linux 6.12 on two CPUs, an ordered workqueue with one item running and two waiting:
    // `active=1 refcnt=6` (dfl_pwq's own reference, one per CPU's pwq table slot, three
    // items in flight).
    let mut h = Harness::new(2);
    let wq = h.alloc(WqSpec::ordered("ordered_wq", WqFlags::empty()));
    h.blocking.push("first_fn".into());
    for name in ["first_fn", "second_fn", "third_fn"] {
        let item = h.item(name);
        h.queue(wq, &item).unwrap();
    }
    assert_eq!(pwq_line(&h, "ordered_wq"), "active=1 refcnt=6");
}

#[test]
fn a_per_cpu_pwq_without_rescue_counts_its_initial_reference_and_its_items() {
    // init_pwq()'s reference plus insert_work()'s one per item: `active=1 refcnt=2`, the
    // shape of the real 6.12 line `pool 6 ... active=1 refcnt=2` for one busy item.
    let mut h = Harness::new(1);
    let wq = h.alloc(WqSpec::new("events", WqFlags::empty()));
    h.start_blocking(wq, "busy_fn");
    assert_eq!(pwq_line(&h, "events"), "active=1 refcnt=2");
}
