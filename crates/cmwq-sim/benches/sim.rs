//! Simulator throughput: simulated work items per second of real time.
//!
//! A busy system of 4 CPUs and 8 workqueues with 100 000 items (on each CPU, every 80us one
//! item of each workqueue, running for 5us: the CPUs half busy), with and without the event
//! trace, and the same load with 100ms of memory pressure so that the rescuer works (Slurp
//! beside Cursor). Criterion reports elements/s: the simulator's target is at least a
//! million items per second.

// criterion's macros generate an undocumented `benches` function.
#![allow(missing_docs)]

use std::hint::black_box;

use cmwq_sim::time::{ms, secs, us};
use cmwq_sim::{ItemSpec, PolicyChoice, RunOptions, Scenario, TraceMode, WorkqueueSpec, run_with};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

const ITEMS: u32 = 100_000;

fn busy(pressure: bool) -> Scenario {
    let mut b = Scenario::builder("bench").cpus(4).until(secs(3600));
    let per_group = ITEMS / 32;
    for w in 0..8u32 {
        let name = format!("wq{w}");
        let mut spec = WorkqueueSpec::new(name.clone());
        if w == 0 {
            spec = spec.mem_reclaim();
        }
        b = b.workqueue(spec);
        for cpu in 0..4u32 {
            b = b.item(
                ItemSpec::new(format!("{name}-{cpu}"), format!("fn{w}"), name.clone())
                    .cpu(cpu)
                    .at(us(u64::from(w)))
                    .count(per_group, us(80))
                    .run(us(5)),
            );
        }
    }
    if pressure {
        b = b.pressure(ms(0), ms(100));
    }
    b.build().expect("the bench scenario is valid")
}

fn throughput(c: &mut Criterion) {
    let mut g = c.benchmark_group("sim_items");
    g.sample_size(10);
    g.throughput(Throughput::Elements(u64::from(ITEMS)));
    let plain = busy(false);
    for (label, trace) in [("trace", TraceMode::Record), ("no-trace", TraceMode::Off)] {
        g.bench_function(BenchmarkId::new("no-pressure", label), |b| {
            let options = RunOptions {
                trace,
                ..RunOptions::default()
            };
            b.iter(|| black_box(run_with(&plain, PolicyChoice::Cursor, options).expect("runs")));
        });
    }
    let pressured = busy(true);
    for policy in [PolicyChoice::Slurp, PolicyChoice::Cursor] {
        g.bench_function(BenchmarkId::new("pressure", policy.name()), |b| {
            let options = RunOptions {
                trace: TraceMode::Off,
                ..RunOptions::default()
            };
            b.iter(|| black_box(run_with(&pressured, policy, options).expect("runs")));
        });
    }
    g.finish();
}

criterion_group!(benches, throughput);
criterion_main!(benches);
