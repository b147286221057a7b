//! Snapshot tests of the scenario library: the report (text timeline, kernel-format dumps,
//! metrics) of every built-in scenario under each policy it runs with, and SVG timelines of
//! a few, stored in the repository's top-level `snapshots/` folder.
//!
//! `cargo test` fails on a missing or changed snapshot. Off CI, insta also writes the new
//! value as `NAME.snap.new`; with `CI` set it writes nothing. Regenerate with
//! `cargo xtask snapshots` (`INSTA_UPDATE=always`), review differences with
//! `cargo xtask snapshots --review`.

use cmwq_sim::{PolicyChoice, Scenario, library, report, timeline};

/// Where the snapshots live, relative to this file.
const SNAPSHOT_DIR: &str = "../../../snapshots";

fn settings() -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_snapshot_path(SNAPSHOT_DIR);
    s.set_prepend_module_to_snapshot(false);
    s.set_omit_expression(true);
    s
}

/// Whether this run is CI's (insta's rule: `CI` set to anything but `false`/`0`).
fn is_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// On CI, snapshots are compared, never rewritten: an `INSTA_UPDATE` that would accept new
/// values there would turn every snapshot check into a pass.
fn refuse_updates_on_ci() {
    if is_ci() {
        let update = std::env::var("INSTA_UPDATE").unwrap_or_default();
        assert!(
            matches!(update.as_str(), "" | "auto" | "no" | "new"),
            "CI is set together with INSTA_UPDATE={update}: CI must compare snapshots, \
             not rewrite them (unset INSTA_UPDATE)"
        );
    }
}

fn check(scenario: Scenario) {
    refuse_updates_on_ci();
    for &policy in scenario.policy.expand() {
        let run = cmwq_sim::run(&scenario, policy).expect("the scenario runs");
        assert_eq!(
            run.unfinished, 0,
            "{} under {policy:?} got stuck",
            scenario.name
        );
        let name = format!("{}@{}", scenario.name, policy.name());
        settings().bind(|| insta::assert_snapshot!(name, report::render_run(&scenario, &run)));
    }
}

macro_rules! scenario_snapshots {
    ($($test:ident => $ctor:ident),* $(,)?) => {$(
        #[test]
        fn $test() {
            check(library::$ctor());
        }
    )*};
}

scenario_snapshots! {
    idle_system => idle,
    busy_percpu_pool => busy_percpu,
    max_active_one_backlog => max_active_one,
    flush_barrier => flush_barrier,
    ordered_queue => ordered,
    reported_case => reported_case,
    reported_case_at_the_kernels_scale_and_clock => reported_case_kernel,
    chained_queueing_during_a_rescue => chained_rescue,
    two_stalled_pwqs_on_one_rescuer => two_stalled_pwqs,
    sustained_pressure => sustained_pressure,
    long_worklist_shared_by_many_pwqs => long_worklist,
    delayed_item_rearming_across_pressure => delayed_rearm,
    cancel_and_flush_while_the_rescuer_works => cancel_flush_rescue,
}

#[test]
fn every_builtin_scenario_has_a_snapshot_test() {
    let tested = [
        "idle",
        "busy-percpu",
        "max-active-1",
        "flush-barrier",
        "ordered",
        "reported-case",
        "reported-case-kernel",
        "chained-rescue",
        "two-stalled-pwqs",
        "sustained-pressure",
        "long-worklist",
        "delayed-rearm",
        "cancel-flush-rescue",
    ];
    for s in library::all() {
        assert!(
            tested.contains(&s.name.as_str()),
            "{} has no snapshot test",
            s.name
        );
    }
}

#[test]
fn reported_case_timeline_slurp_above_cursor() {
    refuse_updates_on_ci();
    let svg = cmwq_sim::reported_case_svg().expect("the reported case runs");
    settings().bind(|| insta::assert_snapshot!("timeline-reported-case", svg));
}

#[test]
fn chained_rescue_timeline_slurp_above_cursor() {
    refuse_updates_on_ci();
    let s = library::chained_rescue();
    let slurp = cmwq_sim::run(&s, PolicyChoice::Slurp).expect("runs");
    let cursor = cmwq_sim::run(&s, PolicyChoice::Cursor).expect("runs");
    let svg = timeline::render_svg_pair(&slurp.trace, &cursor.trace);
    settings().bind(|| insta::assert_snapshot!("timeline-chained-rescue", svg));
}

#[test]
fn busy_percpu_timeline() {
    refuse_updates_on_ci();
    let s = library::busy_percpu();
    let run = cmwq_sim::run(&s, PolicyChoice::Cursor).expect("runs");
    let svg = timeline::render_svg(&run.trace);
    settings().bind(|| insta::assert_snapshot!("timeline-busy-percpu", svg));
}
