//! `runtime`: the kernel's `lib/test_workqueue.c` shape on cmwq and on its peers.
//!
//! P producer threads (P = the machine's CPUs, as the kernel's default) each queue one
//! small item and wait for it to run, M times over. Criterion measures the wall time of
//! one run (throughput: P*M items); the queue-to-start percentiles of every item of
//! every run, and the allocations one queueing makes on the producer's thread, go to the
//! side file `runtime.json`. Every side runs in the same binary, one after another, with
//! the same producers and the same counting allocator.

// criterion's macros generate an undocumented `fn benches` and `fn main`.
#![allow(missing_docs)]

use std::time::Duration;

use cmwq_benches::alloc_count::CountingAlloc;
use cmwq_benches::latency::LatencySamples;
use cmwq_benches::side_file;
use cmwq_benches::workload::{
    CmwqExecutor, Executor, RayonExecutor, Shape, ThreadpoolExecutor, TokioExecutor,
    allocations_per_queue, run_workload,
};
use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId, Criterion, SamplingMode, Throughput};
use serde_json::{Value, json};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// Latency samples kept per side (the rest are counted as dropped).
const SAMPLES_PER_SIDE: usize = 2_000_000;
/// Queue-and-wait cycles of the allocation count.
const ALLOCATION_PROBE_ITEMS: usize = 1_000;

fn bench_side<E: Executor>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    executor: &E,
    shape: Shape,
    sides: &mut Vec<Value>,
) {
    let mut samples = LatencySamples::with_capacity(SAMPLES_PER_SIDE);
    let id = BenchmarkId::new(
        executor.name(),
        format!("{}x{}", shape.producers, shape.items_per_producer),
    );
    group.bench_function(id, |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| run_workload(executor, shape, &mut samples))
                .sum::<Duration>()
        })
    });
    // Filtered out by a criterion filter: nothing measured, nothing to report.
    let Some(p) = samples.percentiles() else {
        return;
    };
    let allocs = allocations_per_queue(executor, ALLOCATION_PROBE_ITEMS);
    let ladder: Vec<Value> = samples
        .quantile_ladder(101)
        .into_iter()
        .map(|(q, ns)| json!([q, ns]))
        .collect();
    sides.push(json!({
        "side": executor.name(),
        "latency_ns": p.to_json(),
        "latency_ladder": ladder,
        "samples_dropped": samples.dropped(),
        "allocations_per_queue": allocs,
    }));
}

fn runtime(c: &mut Criterion) {
    let cpus = std::thread::available_parallelism().map_or(2, |n| n.get());
    let shape = Shape {
        producers: cpus,
        items_per_producer: if cmwq_benches::quick_mode() {
            2_000
        } else {
            5_000
        },
    };
    let mut group = c.benchmark_group("runtime");
    group.sampling_mode(SamplingMode::Flat);
    group.throughput(Throughput::Elements(shape.total_items()));
    let mut sides = Vec::new();
    let cmwq = CmwqExecutor::new().expect("a cmwq runtime and workqueue");
    bench_side(&mut group, &cmwq, shape, &mut sides);
    drop(cmwq);
    bench_side(&mut group, &RayonExecutor::new(cpus), shape, &mut sides);
    bench_side(
        &mut group,
        &ThreadpoolExecutor::new(cpus),
        shape,
        &mut sides,
    );
    bench_side(&mut group, &TokioExecutor::new(cpus), shape, &mut sides);
    group.finish();
    if !sides.is_empty() {
        side_file::write(
            "runtime",
            &json!({
                "producers": shape.producers,
                "items_per_producer": shape.items_per_producer,
                "sides": sides,
            }),
        );
    }
}

criterion::criterion_group!(benches, runtime);
criterion::criterion_main!(benches);
