//! What the simulator shows about the rescuer policies, asserted: the reported case under
//! Slurp and Cursor, chained queueing during a rescue, fairness between stalled pwqs, the
//! scan cost of Cursor against Rescan, and determinism.

use cmwq_sim::time::{NSEC_PER_MSEC, NSEC_PER_SEC};
use cmwq_sim::trace::TraceKind;
use cmwq_sim::{PolicyChoice, RunOutput, Scenario, library, run};

fn dump_at(run: &RunOutput, at_ms: u64) -> &str {
    &run.dumps
        .iter()
        .find(|d| d.at == at_ms * NSEC_PER_MSEC)
        .expect("a dump at that instant")
        .text
}

/// Items of `group` and the workers (rescuer or not) that ran them.
fn ran_on_rescuer(run: &RunOutput, group: &str) -> Vec<bool> {
    run.trace
        .events
        .iter()
        .filter_map(|e| match e.kind {
            TraceKind::Started { item, worker }
                if run.trace.items[item as usize].group == group =>
            {
                Some(run.trace.workers[worker as usize].rescuer)
            }
            _ => None,
        })
        .collect()
}

#[test]
fn slurp_parks_the_siblings_on_the_rescuers_scheduled_list() {
    let run = run(&library::reported_case(), PolicyChoice::Slurp).unwrap();
    let dump = dump_at(&run, 500);
    let in_flight = dump
        .lines()
        .find(|l| l.contains("in-flight:") && l.contains("(RESCUER)"))
        .expect("the rescuer's in-flight line");
    assert!(in_flight.contains("(RESCUER):xfs_end_io"), "{dump}");
    assert_eq!(
        in_flight.matches(" xfs_end_io_sibling").count(),
        8,
        "every sibling sits on the rescuer's scheduled list:\n{dump}"
    );
    // Still there after pressure ended.
    assert!(dump_at(&run, 1500).contains("(RESCUER):xfs_end_io"));
    assert!(ran_on_rescuer(&run, "siblings").iter().all(|&r| r));
}

#[test]
fn cursor_keeps_the_siblings_pending_behind_the_cursor() {
    let run = run(&library::reported_case(), PolicyChoice::Cursor).unwrap();
    let dump = dump_at(&run, 500);
    assert!(dump.contains("(RESCUER):xfs_end_io"), "{dump}");
    let pending = dump
        .lines()
        .find(|l| l.contains("pending:"))
        .expect("a pending line");
    assert!(pending.contains("mayday_cursor_func"), "{dump}");
    assert!(pending.contains("8*xfs_end_io_sibling"), "{dump}");
}

#[test]
fn cursor_lets_siblings_run_after_pressure_ends() {
    let scenario = library::reported_case();
    let slurp = run(&scenario, PolicyChoice::Slurp).unwrap();
    let cursor = run(&scenario, PolicyChoice::Cursor).unwrap();
    let slurp_stall = slurp.metrics.sibling_stall.unwrap();
    let cursor_stall = cursor.metrics.sibling_stall.unwrap();
    // The blocked item unblocks at 3 s, two seconds after pressure ends at 1 s.
    assert!(slurp_stall >= 2 * NSEC_PER_SEC, "slurp stall {slurp_stall}");
    assert!(
        cursor_stall < 100 * NSEC_PER_MSEC,
        "cursor stall {cursor_stall}"
    );
    assert!(
        ran_on_rescuer(&cursor, "siblings").iter().all(|&r| !r),
        "under Cursor the siblings run on normal workers"
    );
    assert!(!dump_at(&cursor, 1500).contains("xfs_end_io_sibling"));
}

#[test]
fn both_policies_run_every_item_exactly_once_per_queueing() {
    for scenario in library::all() {
        for &p in scenario.policy.expand() {
            let r = run(&scenario, p).unwrap();
            assert_eq!(r.unfinished, 0, "{} {p:?}", scenario.name);
            assert_eq!(
                r.metrics.queued,
                r.metrics.finished + r.cancelled,
                "{} {p:?}: every queueing runs unless cancelled",
                scenario.name
            );
        }
    }
}

#[test]
fn chained_items_queued_during_a_rescue_are_rescued_too() {
    let scenario = library::chained_rescue();
    for &p in &[PolicyChoice::Slurp, PolicyChoice::Cursor] {
        let r = run(&scenario, p).unwrap();
        assert_eq!(r.metrics.finished, 9, "{p:?}");
        let stage3 = ran_on_rescuer(&r, "stage3");
        assert_eq!(stage3.len(), 3);
        assert!(
            stage3.iter().all(|&x| x),
            "{p:?}: pressure lasts, only the rescuer runs"
        );
    }
}

#[test]
fn one_rescuer_serves_both_stalled_pwqs() {
    let r = run(&library::two_stalled_pwqs(), PolicyChoice::Cursor).unwrap();
    for group in ["cpu0", "cpu1"] {
        assert!(
            ran_on_rescuer(&r, group).iter().any(|&x| x),
            "{group} rescued"
        );
    }
    // Fairness: within the first 40 rescued items both pwqs got some (RESCUER_BATCH = 16).
    let first: Vec<&str> = r
        .trace
        .events
        .iter()
        .filter_map(|e| match e.kind {
            TraceKind::Started { item, worker } if r.trace.workers[worker as usize].rescuer => {
                Some(r.trace.items[item as usize].group.as_str())
            }
            _ => None,
        })
        .take(40)
        .collect();
    assert!(
        first.contains(&"cpu0") && first.contains(&"cpu1"),
        "{first:?}"
    );
}

#[test]
fn cursor_scans_linearly_where_rescan_scans_quadratically() {
    let scenario = library::long_worklist();
    let cursor = run(&scenario, PolicyChoice::Cursor).unwrap();
    let rescan = run(&scenario, PolicyChoice::Rescan).unwrap();
    let c = cursor.metrics.nodes_per_rescued().unwrap();
    let r = rescan.metrics.nodes_per_rescued().unwrap();
    assert!(c < 20.0, "cursor visits {c} nodes per rescued item");
    assert!(r > 10.0 * c, "rescan {r} vs cursor {c}");
}

#[test]
fn a_run_is_deterministic_for_its_seed() {
    let scenario: Scenario = library::sustained_pressure();
    let a = run(&scenario, PolicyChoice::Cursor).unwrap();
    let b = run(&scenario, PolicyChoice::Cursor).unwrap();
    assert_eq!(a.trace, b.trace);
    assert_eq!(a.dumps, b.dumps);
}

#[test]
fn jitter_changes_run_lengths_reproducibly_by_seed() {
    let base = library::busy_percpu();
    let with = |seed: u64| {
        let mut s = base.clone();
        s.jitter_percent = 20;
        s.seed = seed;
        run(&s, PolicyChoice::Cursor).unwrap().trace
    };
    assert_eq!(with(7), with(7));
    assert_ne!(with(7), with(8));
}

#[test]
fn after_sustained_pressure_slurp_keeps_its_backlog_on_the_rescuer() {
    let scenario = library::sustained_pressure();
    // Items the rescuer starts after a worker could be created again (the pool's first
    // worker exists from the start, and is its manager while pressure lasts).
    let end = u64::try_from(scenario.pressure_end().unwrap().as_nanos()).unwrap();
    let rescued_after_creation = |p: PolicyChoice| {
        let r = run(&scenario, p).unwrap();
        let created = r
            .trace
            .events
            .iter()
            .find_map(|e| {
                (e.t >= end && matches!(e.kind, TraceKind::CreateOk { .. })).then_some(e.t)
            })
            .expect("a worker is created once pressure ends");
        assert!(created >= 1500 * NSEC_PER_MSEC);
        r.trace
            .events
            .iter()
            .filter(|e| {
                e.t > created
                    && matches!(e.kind, TraceKind::Started { worker, .. }
                        if r.trace.workers[worker as usize].rescuer)
            })
            .count()
    };
    let slurp = rescued_after_creation(PolicyChoice::Slurp);
    let cursor = rescued_after_creation(PolicyChoice::Cursor);
    assert!(
        slurp > 10,
        "slurp's rescuer still runs its slurped items: {slurp}"
    );
    assert_eq!(cursor, 0, "cursor's rescuer leaves once a worker exists");
}

#[test]
fn the_reported_case_picture_parks_siblings_in_the_rescuer_lane_only_under_slurp() {
    let svg = cmwq_sim::reported_case_svg().unwrap();
    let (slurp, cursor) = svg
        .split_once("reported-case \u{2014} cursor")
        .expect("Slurp's panel comes first, then Cursor's");
    assert!(slurp.contains("reported-case \u{2014} slurp"));
    let sibling = "xfs_end_io_sibling#7 (xfs-conv/sda1/cpu0) on ";
    assert!(slurp.contains(&format!("{sibling}kworker/R-xfs-conv/sda1 (RESCUER)")));
    assert!(!cursor.contains(&format!("{sibling}kworker/R-")));
    assert!(cursor.contains(&format!("{sibling}kworker/0:")));
}

#[test]
fn a_delayed_item_rearming_itself_is_rescued_during_pressure_and_cancelled_off_its_timer() {
    let scenario = library::delayed_rearm();
    let r = run(&scenario, PolicyChoice::Cursor).unwrap();
    let polls = ran_on_rescuer(&r, "poll");
    assert!(
        polls.len() >= 10,
        "it re-armed itself all along: {}",
        polls.len()
    );
    assert!(
        polls.iter().any(|&x| x),
        "an expiry during pressure ran on the rescuer"
    );
    assert_eq!(r.cancelled, 1, "the cancel found it waiting on its timer");
    assert_eq!(r.unfinished, 0, "the cancel ended the chain: the run ends");
}

#[test]
fn a_cancelled_item_never_runs_and_the_workqueue_flush_waits_for_the_rest() {
    let scenario = library::cancel_flush_rescue();
    for &p in scenario.policy.expand() {
        let r = run(&scenario, p).unwrap();
        assert!(ran_on_rescuer(&r, "victim").is_empty(), "{p:?}: cancelled");
        let tail = ran_on_rescuer(&r, "tail");
        assert_eq!(tail, vec![true], "{p:?}: only the rescuer runs");
        let flush_done = r
            .ops
            .iter()
            .find(|o| o.text.starts_with("flush_workqueue"))
            .expect("the flush returned");
        let last_finish = r
            .trace
            .events
            .iter()
            .filter(|e| matches!(e.kind, TraceKind::Finished { .. }))
            .map(|e| e.t)
            .max()
            .unwrap();
        assert_eq!(
            flush_done.at, last_finish,
            "{p:?}: the flush returns when the last item queued before it finishes"
        );
    }
}
