//! Runs the `throughput` bench's shape for one side outside criterion, for profilers and
//! quick A/B timings: `throughput_profile SIDE P ITEMS RUNS` (defaults `cmwq-arc-unbound 1
//! 100000 20`) prints each run's items/s and the median; under `perf record -g` it shows
//! where a side's time goes.
//!
//! Sides: `cmwq-fn-unbound`, `cmwq-fn-percpu`, `cmwq-arc-unbound`, `cmwq-arc-percpu`,
//! `crossbeam-channel-pool`, `rayon-spawn`; and the `runtime` bench's closed loop (each
//! producer queues one item and waits for it to start): `closed-cmwq`, `closed-rayon`.

use cmwq_benches::latency::LatencySamples;
use cmwq_benches::throughput::{
    CmwqItems, CmwqPools, CmwqSide, CrossbeamPool, RayonSide, RayonSpawn, ThroughputShape,
    ThroughputSide, WORKERS, run_throughput,
};

fn measure<S: ThroughputSide>(side: &S, shape: ThroughputShape, runs: usize) {
    let mut samples = LatencySamples::with_capacity(shape.total_items() as usize);
    let mut rates = Vec::with_capacity(runs);
    let mut cpu_ns = Vec::with_capacity(runs);
    for _ in 0..runs {
        samples.clear();
        let run = run_throughput(side, shape, &mut samples).expect("a shape that fits");
        rates.push(run.items_per_sec());
        cpu_ns.push(run.cpu.as_nanos() as f64 / run.items as f64);
    }
    rates.sort_by(f64::total_cmp);
    cpu_ns.sort_by(f64::total_cmp);
    println!(
        "{} P={}: median {:.2} M items/s (min {:.2}, max {:.2}), CPU {:.0} ns/item over {runs} runs",
        side.name(),
        shape.producers,
        rates[runs / 2] / 1e6,
        rates[0] / 1e6,
        rates[runs - 1] / 1e6,
        cpu_ns[runs / 2],
    );
}

/// The closed loop of the `runtime` bench: `P` producers each queue one item and wait for
/// it to start, `ITEMS` times; prints each run's items/s and the median, the p50/p95
/// queue-to-start latency and the process's threads.
fn closed<E: cmwq_benches::workload::Executor>(e: &E, producers: usize, items: usize, runs: usize) {
    use cmwq_benches::workload::{Shape, run_workload};
    let shape = Shape {
        producers,
        items_per_producer: items,
    };
    let mut samples = LatencySamples::with_capacity(producers * items * runs);
    let mut rates: Vec<f64> = (0..runs)
        .map(|_| (producers * items) as f64 / run_workload(e, shape, &mut samples).as_secs_f64())
        .collect();
    rates.sort_by(f64::total_cmp);
    let p = samples.percentiles().expect("samples");
    let threads = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Threads:"))
                .map(str::to_owned)
        })
        .unwrap_or_default();
    println!(
        "{} closed P={producers}: median {:.0} k items/s (min {:.0}, max {:.0}), p50 {:.1} us, p95 {:.1} us, {threads}",
        e.name(),
        rates[runs / 2] / 1e3,
        rates[0] / 1e3,
        rates[runs - 1] / 1e3,
        p.p50 as f64 / 1e3,
        p.p95 as f64 / 1e3,
    );
}

fn main() {
    let mut args = std::env::args().skip(1);
    let side = args.next().unwrap_or_else(|| "cmwq-arc-unbound".to_owned());
    let number =
        |s: Option<String>, default: usize| s.map_or(default, |s| s.parse().expect("a number"));
    let shape = ThroughputShape {
        producers: number(args.next(), 1),
        items_per_producer: number(args.next(), 100_000),
    };
    let runs = number(args.next(), 20).max(1);
    let cmwq = |pools, items| CmwqSide::new(pools, items).expect("a cmwq runtime");
    match side.as_str() {
        "cmwq-fn-unbound" => measure(&cmwq(CmwqPools::Unbound, CmwqItems::Closure), shape, runs),
        "cmwq-fn-percpu" => measure(&cmwq(CmwqPools::PerCpu, CmwqItems::Closure), shape, runs),
        "cmwq-arc-unbound" => measure(
            &cmwq(CmwqPools::Unbound, CmwqItems::Preallocated),
            shape,
            runs,
        ),
        "cmwq-arc-percpu" => measure(
            &cmwq(CmwqPools::PerCpu, CmwqItems::Preallocated),
            shape,
            runs,
        ),
        "closed-cmwq" => closed(
            &cmwq_benches::workload::CmwqExecutor::new().expect("a runtime"),
            shape.producers,
            shape.items_per_producer,
            runs,
        ),
        "closed-rayon" => closed(
            &cmwq_benches::workload::RayonExecutor::new(2),
            shape.producers,
            shape.items_per_producer,
            runs,
        ),
        "crossbeam-channel-pool" => measure(&CrossbeamPool::new(WORKERS), shape, runs),
        "rayon-spawn" => measure(&RayonSide::new(WORKERS, RayonSpawn::Lifo), shape, runs),
        other => panic!("unknown side {other}"),
    }
}
