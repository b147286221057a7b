//! `scenario`: the simulator's rescuer scenarios under each policy.
//!
//! Criterion times one whole simulation (the simulator's wall time). The figures that
//! matter are in virtual time and exact, so they are taken from one more run of each case
//! and written to the side file `scenario.json`, with the reported case's side-by-side
//! timeline (Slurp above Cursor) as `reported_case_timeline.svg` beside it.

// criterion's macros generate an undocumented `fn benches` and `fn main`.
#![allow(missing_docs)]

use cmwq_benches::scenario::{POLICIES, rescuer_scenarios, side_row};
use cmwq_benches::side_file;
use criterion::{BenchmarkId, Criterion};
use serde_json::{Value, json};

/// The reported case's timeline, written beside the side files.
const TIMELINE: &str = "reported_case_timeline.svg";

fn scenario(c: &mut Criterion) {
    let mut group = c.benchmark_group("scenario");
    let mut rows = Vec::new();
    for scenario in rescuer_scenarios() {
        for policy in POLICIES {
            let mut ran = false;
            group.bench_function(BenchmarkId::new(policy.name(), &scenario.name), |b| {
                ran = true;
                b.iter(|| cmwq_sim::run(&scenario, policy).expect("a library scenario runs"));
            });
            if ran {
                let run = cmwq_sim::run(&scenario, policy).expect("a library scenario runs");
                rows.push(side_row(&scenario, &run));
            }
        }
    }
    group.finish();
    if rows.is_empty() {
        return;
    }
    let dir = side_file::side_dir();
    let timeline = match cmwq_sim::reported_case_svg() {
        Ok(svg) => match std::fs::create_dir_all(&dir)
            .and_then(|()| std::fs::write(dir.join(TIMELINE), svg))
        {
            Ok(()) => Value::from(format!("side/{TIMELINE}")),
            Err(e) => {
                eprintln!("could not write the timeline: {e}");
                Value::Null
            }
        },
        Err(e) => {
            eprintln!("the reported case did not run: {e}");
            Value::Null
        }
    };
    side_file::write(
        "scenario",
        &json!({
            "mayday_interval_ns": cmwq_pool::MAYDAY_INTERVAL,
            "timeline_svg": timeline,
            "scenarios": rows,
        }),
    );
}

criterion::criterion_group!(benches, scenario);
criterion::criterion_main!(benches);
