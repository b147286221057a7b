//! `rescue_real`: the reported case on real threads (see `cmwq_benches::rescue_real`),
//! per policy. Criterion's figure is the time from the end of the failure window until
//! the last sibling finished; the case's parameters and the spread of that time go to
//! the side file `rescue_real.json`.

// criterion's macros generate an undocumented `fn benches` and `fn main`.
#![allow(missing_docs)]

use std::time::Duration;

use cmwq::Policy;
use cmwq_benches::latency::LatencySamples;
use cmwq_benches::rescue_real::RealCase;
use cmwq_benches::side_file;
use criterion::{BenchmarkId, Criterion, SamplingMode};
use serde_json::json;

const POLICIES: [(Policy, &str); 3] = [
    (Policy::Slurp, "slurp"),
    (Policy::Cursor, "cursor"),
    (Policy::Rescan, "rescan"),
];

fn rescue_real(c: &mut Criterion) {
    let case = RealCase::scaled_reported_case();
    let mut group = c.benchmark_group("rescue_real");
    group.sampling_mode(SamplingMode::Flat);
    group.sample_size(10);
    let mut policies = Vec::new();
    for (policy, name) in POLICIES {
        let mut stalls = LatencySamples::with_capacity(10_000);
        group.bench_function(BenchmarkId::new(name, "reported-case"), |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| {
                        let outcome = case
                            .run(policy.clone())
                            .unwrap_or_else(|e| panic!("{name}: {e}"));
                        stalls.record(outcome.stall.as_nanos() as u64);
                        outcome.stall
                    })
                    .sum::<Duration>()
            })
        });
        if let Some(p) = stalls.percentiles() {
            policies.push(json!({"policy": name, "stall_ns": p.to_json()}));
        }
    }
    group.finish();
    if !policies.is_empty() {
        side_file::write(
            "rescue_real",
            &json!({
                "mayday_interval_ns": case.timings.mayday_interval.as_nanos() as u64,
                "create_cooldown_ns": case.timings.create_cooldown.as_nanos() as u64,
                "window_ns": case.window.as_nanos() as u64,
                "blocker_after_window_ns": case.blocker_after_window.as_nanos() as u64,
                "siblings": case.siblings,
                "policies": policies,
            }),
        );
    }
}

criterion::criterion_group!(benches, rescue_real);
criterion::criterion_main!(benches);
