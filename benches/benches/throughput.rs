//! `throughput`: P producers each submit M tiny items as fast as they can to two workers.
//!
//! The `queue_work` shape of the kernel's `lib/test_workqueue.c` without its wait, for
//! P = 1, 2 and 4 producers and M = 100 000 items each (20 000 in `--quick`): cmwq with
//! closures (`queue_fn`) and with preallocated `Arc` items, unbound and per CPU, beside
//! rayon (`spawn`, `spawn_fifo`), threadpool, tokio's `spawn_blocking` on two threads
//! and the two pools a user writes by hand (over a crossbeam-channel, over a
//! `Mutex<mpsc::Receiver>`). Criterion measures the wall time of one run (P*M items);
//! every item's queue-to-start latency, the process's CPU time per item, the producers'
//! allocations per item and how many threads ran items go to the side file
//! `throughput.json`. One side lives at a time, so no other side's threads run beside it.

// criterion's macros generate an undocumented `fn benches` and `fn main`.
#![allow(missing_docs)]

use std::time::Duration;

use cmwq_benches::alloc_count::CountingAlloc;
use cmwq_benches::latency::LatencySamples;
use cmwq_benches::side_file;
use cmwq_benches::throughput::{
    CmwqItems, CmwqPools, CmwqSide, CrossbeamPool, MutexMpscPool, RayonSide, RayonSpawn,
    ThreadpoolSide, ThroughputShape, ThroughputSide, TokioSide, WORKERS, run_throughput,
};
use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput};
use serde_json::{Value, json};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// The producer counts of the shape.
const PRODUCERS: [usize; 3] = [1, 2, 4];
/// Latency samples kept per case (the rest are counted as dropped).
const SAMPLES_PER_CASE: usize = 1_000_000;

/// What every run of one (side, P) case added up to.
#[derive(Debug, Default)]
struct Totals {
    runs: u64,
    items: u64,
    cpu: Duration,
    allocations: u64,
    threads_min: u64,
    threads_max: u64,
    rates: Vec<f64>,
}

fn bench_side<S: ThroughputSide>(
    c: &mut Criterion,
    side: &S,
    items: usize,
    cases: &mut Vec<Value>,
) {
    let mut group = c.benchmark_group("throughput");
    group.sampling_mode(SamplingMode::Flat);
    for producers in PRODUCERS {
        let shape = ThroughputShape {
            producers,
            items_per_producer: items,
        };
        group.throughput(Throughput::Elements(shape.total_items()));
        let mut samples = LatencySamples::with_capacity(SAMPLES_PER_CASE);
        let mut t = Totals {
            threads_min: u64::MAX,
            ..Totals::default()
        };
        group.bench_function(BenchmarkId::new(side.name(), producers), |b| {
            b.iter_custom(|iters| {
                let mut elapsed = Duration::ZERO;
                for _ in 0..iters {
                    let run = run_throughput(side, shape, &mut samples)
                        .expect("the bench's shapes fit the board");
                    elapsed += run.elapsed;
                    t.runs += 1;
                    t.items += run.items;
                    t.cpu += run.cpu;
                    t.allocations += run.allocations;
                    t.threads_min = t.threads_min.min(run.threads);
                    t.threads_max = t.threads_max.max(run.threads);
                    t.rates.push(run.items_per_sec());
                }
                elapsed
            })
        });
        // Filtered out by a criterion filter: nothing measured, nothing to report.
        let Some(p) = samples.percentiles() else {
            continue;
        };
        t.rates.sort_by(f64::total_cmp);
        let ladder: Vec<Value> = samples
            .quantile_ladder(101)
            .into_iter()
            .map(|(q, ns)| json!([q, ns]))
            .collect();
        let per_item = |v: f64| v / t.items.max(1) as f64;
        cases.push(json!({
            "side": side.name(),
            "producers": producers,
            "runs": t.runs,
            "items": t.items,
            "items_per_sec_median_run": t.rates[t.rates.len() / 2],
            "latency_ns": p.to_json(),
            "latency_ladder": ladder,
            "samples_dropped": samples.dropped(),
            "cpu_ns_per_item": per_item(t.cpu.as_nanos() as f64),
            "allocations_per_item": per_item(t.allocations as f64),
            "threads_min": t.threads_min,
            "threads_max": t.threads_max,
        }));
    }
    group.finish();
}

fn throughput(c: &mut Criterion) {
    let items = if cmwq_benches::quick_mode() {
        20_000
    } else {
        100_000
    };
    let mut cases = Vec::new();
    for pools in [CmwqPools::Unbound, CmwqPools::PerCpu] {
        for how in [CmwqItems::Closure, CmwqItems::Preallocated] {
            let side = CmwqSide::new(pools, how).expect("a cmwq runtime and workqueue");
            bench_side(c, &side, items, &mut cases);
        }
    }
    bench_side(c, &CrossbeamPool::new(WORKERS), items, &mut cases);
    bench_side(c, &MutexMpscPool::new(WORKERS), items, &mut cases);
    bench_side(
        c,
        &RayonSide::new(WORKERS, RayonSpawn::Lifo),
        items,
        &mut cases,
    );
    bench_side(
        c,
        &RayonSide::new(WORKERS, RayonSpawn::Fifo),
        items,
        &mut cases,
    );
    bench_side(c, &ThreadpoolSide::new(WORKERS), items, &mut cases);
    bench_side(c, &TokioSide::new(WORKERS), items, &mut cases);
    if !cases.is_empty() {
        side_file::write(
            "throughput",
            &json!({
                "workers": WORKERS,
                "items_per_producer": items,
                "producers": PRODUCERS,
                "cases": cases,
            }),
        );
    }
}

criterion::criterion_group!(benches, throughput);
criterion::criterion_main!(benches);
