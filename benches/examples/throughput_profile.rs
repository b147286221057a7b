//! Runs the `throughput` bench's shape for one side outside criterion, for profilers and
//! quick A/B timings: `throughput_profile SIDE P ITEMS RUNS` (defaults `cmwq-arc-unbound 1
//! 100000 20`) prints each run's items/s and the median; under `perf record -g` it shows
//! where a side's time goes.
//!
//! Sides: `cmwq-fn-unbound`, `cmwq-fn-percpu`, `cmwq-arc-unbound`, `cmwq-arc-percpu`,
//! `crossbeam-channel-pool`, `rayon-spawn`.

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
        "crossbeam-channel-pool" => measure(&CrossbeamPool::new(WORKERS), shape, runs),
        "rayon-spawn" => measure(&RayonSide::new(WORKERS, RayonSpawn::Lifo), shape, runs),
        other => panic!("unknown side {other}"),
    }
}
