//! The simulator's scenarios as benchmark cases: which ones, and the virtual-time
//! figures of a run in the form the ab-bench report reads.

use cmwq_pool::TimerModel;
use cmwq_sim::{KernelFigures, PolicyChoice, RunOutput, Scenario, TraceKind, library};
use serde_json::{Value, json};

use crate::latency::{Percentiles, quantile_ladder_of_sorted};

/// The policies every case runs under, in report order.
pub const POLICIES: [PolicyChoice; 3] = [
    PolicyChoice::Slurp,
    PolicyChoice::Cursor,
    PolicyChoice::Rescan,
];

/// The built-in scenarios in which the rescuer policy matters (the library runs them under
/// every policy by default).
pub fn rescuer_scenarios() -> Vec<Scenario> {
    library::all()
        .into_iter()
        .filter(|s| s.policy == PolicyChoice::All)
        .collect()
}

/// How long after the last pressure window the latest scripted event is signalled: in
/// the reported case, how long the blocker still blocks once pressure has ended.
pub fn blocked_after_pressure(scenario: &Scenario) -> Option<u64> {
    let end = scenario.pressure_end()?;
    let last = scenario.signals.iter().map(|s| s.at).max()?;
    Some(last.saturating_sub(end).as_nanos() as u64)
}

/// Every queue-to-start latency of a run, sorted (from its trace).
pub fn queue_to_start(run: &RunOutput) -> Vec<u64> {
    let mut queued_at = vec![0u64; run.trace.items.len()];
    let mut samples = Vec::new();
    for ev in &run.trace.events {
        match ev.kind {
            TraceKind::Queued { item } => queued_at[item as usize] = ev.t,
            TraceKind::Started { item, .. } => {
                samples.push(ev.t.saturating_sub(queued_at[item as usize]));
            }
            _ => {}
        }
    }
    samples.sort_unstable();
    samples
}

/// One row of the side file `scenario.json`: the run's exact figures.
pub fn side_row(scenario: &Scenario, run: &RunOutput) -> Value {
    let m = &run.metrics;
    let sorted = queue_to_start(run);
    let ladder: Vec<Value> = quantile_ladder_of_sorted(&sorted, 101)
        .into_iter()
        .map(|(q, ns)| json!([q, ns]))
        .collect();
    // Figures to hold against a kernel's, for scenarios replayed on a kernel's clock.
    let kernel_hz = match scenario.clock {
        TimerModel::Kernel(clock) => Some(clock.hz()),
        TimerModel::Exact => None,
    };
    let kf = KernelFigures::of(run);
    let after = kf.siblings_finish_after_pressure;
    json!({
        "scenario": scenario.name,
        "kernel_clock_hz": kernel_hz,
        "creation_after_pressure_ns": kernel_hz.and(kf.creation_after_pressure),
        "siblings_first_after_pressure_ns": kernel_hz.and(after.map(|a| a.0)),
        "siblings_last_after_pressure_ns": kernel_hz.and(after.map(|a| a.1)),
        "policy": run.policy.name(),
        "reported_case": scenario.name == library::REPORTED_CASE,
        "sibling_stall_ns": m.sibling_stall,
        "blocker_after_pressure_ns": blocked_after_pressure(scenario),
        "latency_ns": Percentiles::of_sorted(&sorted).map(|p| p.to_json()),
        "latency_ladder": ladder,
        "rescued": m.rescued,
        "maydays": m.maydays,
        "nodes_per_rescued": m.nodes_per_rescued(),
        "unfinished": run.unfinished,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reported_case_is_among_the_cases_and_its_blocker_outlasts_pressure() {
        let cases = rescuer_scenarios();
        let reported = cases
            .iter()
            .find(|s| s.name == library::REPORTED_CASE)
            .expect("the reported case runs under every policy");
        // Pressure ends at 1 s; the blocker's event comes at 3 s.
        assert_eq!(blocked_after_pressure(reported), Some(2_000_000_000));
    }

    #[test]
    fn side_rows_carry_the_runs_exact_figures() {
        let scenario = library::reported_case();
        let run = cmwq_sim::run(&scenario, PolicyChoice::Slurp).expect("the case runs");
        let row = side_row(&scenario, &run);
        assert_eq!(row["policy"], "slurp");
        assert_eq!(row["reported_case"], true);
        assert_eq!(row["sibling_stall_ns"], json!(run.metrics.sibling_stall));
        assert_eq!(
            row["latency_ns"]["count"],
            json!(queue_to_start(&run).len())
        );
        assert_eq!(row["latency_ladder"].as_array().map(Vec::len), Some(101));
        // The built-in reported case replays on a kernel's clock.
        assert_eq!(row["kernel_clock_hz"], 250);
    }

    #[test]
    fn the_kernel_scale_case_carries_its_kernel_figures() {
        let scenario = library::reported_case_kernel();
        let run = cmwq_sim::run(&scenario, PolicyChoice::Cursor).expect("the case runs");
        let row = side_row(&scenario, &run);
        let figures = KernelFigures::of(&run);
        assert_eq!(row["kernel_clock_hz"], 250);
        assert_eq!(
            row["creation_after_pressure_ns"],
            json!(figures.creation_after_pressure)
        );
        assert!(row["siblings_last_after_pressure_ns"].as_u64().is_some());
    }
}
