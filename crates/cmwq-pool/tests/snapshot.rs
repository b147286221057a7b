//! The snapshot the dump formats: what a rescue looks like in show_all_workqueues.

mod harness;

use cmwq_dump::{KernelFormat, WorkEntry};
use cmwq_pool::{MAYDAY_INITIAL_TIMEOUT, Policy, WqFlags, WqSpec, pool_of};
use harness::*;

fn rescuing() -> (Harness, cmwq_pool::WqId) {
    let mut h = Harness::new(2);
    let wq = h.alloc(WqSpec::new("reclaim_wq", WqFlags::MEM_RECLAIM).policy(Policy::Cursor));
    h.create_fails = true;
    h.blocking.push("xfs_end_io".into());
    let b = h.item("xfs_end_io");
    h.queue(wq, &b).unwrap();
    for _ in 0..3 {
        let s = h.item("xfs_sibling");
        h.queue(wq, &s).unwrap();
    }
    h.advance_to(MAYDAY_INITIAL_TIMEOUT + 2_500 * MS);
    (h, wq)
}

#[test]
fn a_rescue_in_progress_dumps_rescuer_cursor_and_manager() {
    let (h, wq) = rescuing();
    let snap = h.sys.snapshot(h.now);
    let text = snap
        .show_all_workqueues(KernelFormat::Linux7_0)
        .unwrap()
        .to_string();
    let w = snap.workqueue("reclaim_wq").expect("listed");
    assert_eq!(w.flags, WqFlags::MEM_RECLAIM.bits());
    let pwq = &w.pwqs[0];
    assert_eq!(pwq.nr_active, 4);
    assert_eq!(pwq.in_flight.len(), 1);
    assert!(pwq.in_flight[0].rescuer);
    assert_eq!(pwq.in_flight[0].func, "xfs_end_io");
    assert_eq!(pwq.in_flight[0].running_ms, 2_500);
    assert_eq!(
        pwq.pending,
        vec![
            WorkEntry::mayday_cursor(),
            WorkEntry::func("xfs_sibling"),
            WorkEntry::func("xfs_sibling"),
            WorkEntry::func("xfs_sibling"),
        ]
    );
    let rescuer = h.sys.rescuer_id(wq).unwrap().0;
    assert!(
        text.contains(&format!(
            "    in-flight: {rescuer}(RESCUER):xfs_end_io for 2s"
        )),
        "{text}"
    );
    assert!(
        text.contains("    pending: mayday_cursor_func, 3*xfs_sibling"),
        "{text}"
    );
    let pool = pool_of(h.sys.pwq_of(wq, Some(0)).unwrap());
    let manager = h.created[0].1;
    assert!(
        text.contains(&format!(
            "pool {}: cpus=0 node=0 flags=0x2 nice=0 hung=2s workers=1 manager: {manager}",
            pool.0
        )),
        "{text}"
    );
}

#[test]
fn barriers_print_linked_behind_their_target() {
    let mut h = Harness::new(1);
    let wq = h.alloc(WqSpec::new("events", WqFlags::empty()).max_active(1));
    h.blocking.push("busy_fn".into());
    let busy = h.item("busy_fn");
    let target = h.item("target_fn");
    h.queue(wq, &busy).unwrap();
    h.queue(wq, &target).unwrap();
    let bar = barrier(77);
    h.sys
        .flush_work(
            target.head(),
            cmwq_work::WorkRef::from_arc(bar.clone()),
            h.now,
            &mut h.out,
        )
        .unwrap();
    let snap = h.sys.snapshot(h.now);
    let pwq = &snap.workqueue("events").unwrap().pwqs[0];
    assert_eq!(
        pwq.inactive,
        vec![
            WorkEntry::func("target_fn").linked(),
            WorkEntry::barrier(77)
        ]
    );
    let text = snap
        .show_all_workqueues(KernelFormat::Linux7_0)
        .unwrap()
        .to_string();
    assert!(text.contains("    inactive: target_fn BAR(77)"), "{text}");
}

#[test]
#[ignore = "prints the dump for eyeballing"]
fn print_dump() {
    let (h, _) = rescuing();
    println!(
        "{}",
        h.sys
            .snapshot(h.now)
            .show_all_workqueues(KernelFormat::Linux7_0)
            .unwrap()
    );
}

#[test]
fn a_slurping_rescuer_lists_its_scheduled_items_on_its_in_flight_line() {
    let mut h = Harness::new(1);
    let wq = h.alloc(WqSpec::new("reclaim_wq", WqFlags::MEM_RECLAIM).policy(Policy::Slurp));
    h.create_fails = true;
    h.blocking.push("xfs_end_io".into());
    let b = h.item("xfs_end_io");
    h.queue(wq, &b).unwrap();
    let sibs: Vec<_> = (0..2).map(|_| h.item("xfs_sibling")).collect();
    for s in &sibs {
        h.queue(wq, s).unwrap();
    }
    h.advance_to(MAYDAY_INITIAL_TIMEOUT);
    let snap = h.sys.snapshot(h.now);
    let pwq = &snap.workqueue("reclaim_wq").unwrap().pwqs[0];
    assert!(
        pwq.pending.is_empty(),
        "slurped: nothing left pending, no cursor"
    );
    assert_eq!(
        pwq.in_flight[0].scheduled,
        vec![
            WorkEntry::func("xfs_sibling"),
            WorkEntry::func("xfs_sibling")
        ]
    );
    let text = snap
        .show_all_workqueues(KernelFormat::Linux7_0)
        .unwrap()
        .to_string();
    let r = h.sys.rescuer_id(wq).unwrap();
    assert!(
        text.contains(&format!(
            "    in-flight: {r}(RESCUER):xfs_end_io for 0s xfs_sibling xfs_sibling"
        )),
        "{text}"
    );
}

#[test]
fn unbound_pools_print_disassociated_with_all_cpus_and_the_node_holding_them() {
    // One node: the unbound pool's CPUs all lie in node 0, so 6.12's get_unbound_pool()
    // gives it node 0 and the dump prints ` node=0`.
    let mut h = Harness::new(4);
    let wq = h.alloc(WqSpec::new("ub", WqFlags::UNBOUND));
    h.blocking.push("long_fn".into());
    let a = h.item("long_fn");
    h.queue(wq, &a).unwrap();
    let snap = h.sys.snapshot(h.now);
    let text = snap
        .show_all_workqueues(KernelFormat::Linux7_0)
        .unwrap()
        .to_string();
    let pool = pool_of(h.sys.pwq_of(wq, None).unwrap()).0;
    assert!(
        text.contains(&format!(
            "  pwq {pool}: cpus=0-3 node=0 flags=0x4 nice=0 active=1 refcnt=6"
        )),
        "{text}"
    );
}

#[test]
fn pools_print_the_numa_node_of_their_cpus() {
    // Two nodes of two CPUs: a per-CPU pool prints its CPU's node (`node=1` for CPU 2, as
    // a real kernel's pool line on a second node reads `pool 10: cpus=2 node=1 ...`); the
    // unbound pool spans both nodes and prints none.
    let mut h = Harness::new(4);
    h.sys.set_cpu_nodes(vec![0, 0, 1, 1]).unwrap();
    let percpu = h.alloc(WqSpec::new("events", WqFlags::empty()));
    let unbound = h.alloc(WqSpec::new("events_unbound", WqFlags::UNBOUND));
    h.blocking.push("busy_fn".into());
    let a = h.item("busy_fn");
    h.queue_on(percpu, Some(2), &a).unwrap();
    let b = h.item("busy_fn");
    h.queue(unbound, &b).unwrap();
    let text = h
        .sys
        .snapshot(h.now)
        .show_all_workqueues(KernelFormat::Linux6_12)
        .unwrap()
        .to_string();
    let cpu2 = pool_of(h.sys.pwq_of(percpu, Some(2)).unwrap()).0;
    let ub = pool_of(h.sys.pwq_of(unbound, None).unwrap()).0;
    assert!(
        text.contains(&format!(
            "  pwq {cpu2}: cpus=2 node=1 flags=0x0 nice=0 active=1"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("  pwq {ub}: cpus=0-3 flags=0x4 nice=0 active=1")),
        "{text}"
    );
    // A map that does not name every CPU is refused.
    assert!(h.sys.set_cpu_nodes(vec![0, 1]).is_err());
}

#[test]
fn an_unbound_pool_inside_one_node_prints_that_node() {
    let mut h = Harness::new(2);
    h.sys.set_cpu_nodes(vec![1, 1]).unwrap();
    let wq = h.alloc(WqSpec::new("ub", WqFlags::UNBOUND));
    h.blocking.push("long_fn".into());
    let a = h.item("long_fn");
    h.queue(wq, &a).unwrap();
    let snap = h.sys.snapshot(h.now);
    let ub = pool_of(h.sys.pwq_of(wq, None).unwrap()).0;
    assert_eq!(snap.pool(ub).unwrap().node, Some(1));
}
