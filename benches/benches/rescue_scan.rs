//! `rescue_scan`: Slurp, Cursor and Rescan rescuing every item of one pwq from a worklist
//! of N items, one in four of them that pwq's, the rest other pwqs' (see
//! `cmwq_benches::rescue_scan`). Criterion times one whole rescue (building the stalled
//! pool is set-up, not timed); the nodes each policy visited per rescued item, from the
//! pwq's stats, go to the side file `rescue_scan.json`.

// criterion's macros generate an undocumented `fn benches` and `fn main`.
#![allow(missing_docs)]

use cmwq_benches::rescue_scan::{INTERLEAVE, StalledPool};
use cmwq_benches::{quick_mode, side_file};
use cmwq_pool::{Policy, RescuerPolicy, WQ_MAX_ACTIVE};
use criterion::{BatchSize, BenchmarkId, Criterion, SamplingMode};
use serde_json::json;

const SIZES: [usize; 4] = [100, 1_000, 10_000, 100_000];
/// Rescan is quadratic: in `--quick` mode it stops below this N.
const QUICK_RESCAN_LIMIT: usize = 10_000;

fn rescue_scan(c: &mut Criterion) {
    let quick = quick_mode();
    let mut group = c.benchmark_group("rescue_scan");
    group.sampling_mode(SamplingMode::Flat);
    let mut cases = Vec::new();
    for &n in &SIZES {
        for policy in Policy::BUILTIN {
            let name = policy.name();
            if quick && name == "rescan" && n > QUICK_RESCAN_LIMIT {
                continue;
            }
            let mut ran = false;
            group.bench_with_input(BenchmarkId::new(name, n), &n, |b, &n| {
                ran = true;
                b.iter_batched(
                    || StalledPool::new(policy.clone(), n),
                    |mut pool| {
                        pool.rescue_all();
                        pool
                    },
                    BatchSize::PerIteration,
                );
            });
            if ran {
                let outcome = StalledPool::new(policy.clone(), n).rescue_all();
                cases.push(json!({
                    "policy": name,
                    "n": n,
                    "rescued": outcome.rescued,
                    "nodes_visited": outcome.nodes_visited,
                    "nodes_per_rescued": outcome.nodes_per_rescued(),
                }));
            }
        }
    }
    group.finish();
    if !cases.is_empty() {
        side_file::write(
            "rescue_scan",
            &json!({
                "interleave": INTERLEAVE,
                "max_active": WQ_MAX_ACTIVE,
                "cases": cases,
            }),
        );
    }
}

criterion::criterion_group!(benches, rescue_scan);
criterion::criterion_main!(benches);
