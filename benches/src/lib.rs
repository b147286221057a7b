//! Shared harness of cmwq's criterion benches.
//!
//! The benches live in `benches/benches/*.rs` (`cargo bench -p cmwq-benches`, or all of
//! them with their report through `cargo xtask ab-bench`). What they share is here:
//!
//! - [`latency`]: queue-to-start latency samples and their percentiles;
//! - [`alloc_count`]: a counting global allocator, to show how many allocations one
//!   queueing costs on each side;
//! - [`workload`]: the shape of the kernel's `lib/test_workqueue.c` — P producer threads,
//!   each queueing one small item, waiting for it to run, M times over — with the peers a
//!   user would pick instead of cmwq (rayon, threadpool, tokio's `spawn_blocking`) behind
//!   one [`workload::Executor`] trait;
//! - [`throughput`]: the open-loop form — P producers each submit M tiny items without
//!   waiting, to two workers — with the same peers plus two hand-written reference pools
//!   (crossbeam-channel, `Mutex<mpsc>`), and cmwq with closures and preallocated items,
//!   unbound and per CPU; [`cpu_time`] reads the process's CPU clock for it;
//! - [`rescue_real`]: the reported case on real threads with injected worker-creation
//!   failure;
//! - [`rescue_scan`]: a stalled pool of the core with a long, interleaved worklist, and
//!   one whole rescue of one pwq under a chosen policy;
//! - [`scenario`]: the simulator's rescuer scenarios and their exact figures;
//! - [`side_file`]: the JSON side files in which benches leave the figures criterion does
//!   not measure (latency percentiles, virtual-time figures, allocation counts); the
//!   report of `cargo xtask ab-bench` reads them next to criterion's estimates.
//!
//! Criterion measures wall time; percentiles and virtual-time figures go to the side files.
//!
//! ```
//! use cmwq_benches::latency::LatencySamples;
//! use cmwq_benches::workload::{run_workload, Shape, ThreadpoolExecutor};
//!
//! let executor = ThreadpoolExecutor::new(2);
//! let mut samples = LatencySamples::with_capacity(64);
//! let shape = Shape { producers: 2, items_per_producer: 16 };
//! let elapsed = run_workload(&executor, shape, &mut samples);
//! assert_eq!(samples.len(), 32);
//! assert!(elapsed.as_nanos() > 0);
//! let p = samples.percentiles().expect("32 samples");
//! assert!(p.p50 <= p.p95 && p.p95 <= p.max);
//! ```

pub mod alloc_count;
pub mod cpu_time;
pub mod latency;
pub mod rescue_real;
pub mod rescue_scan;
pub mod scenario;
pub mod side_file;
pub mod throughput;
pub mod workload;

/// Whether the benches run in `cargo xtask ab-bench --quick` mode (the environment
/// variable `CMWQ_BENCH_QUICK` is set to `1`): smaller sizes, the slowest cases left out.
pub fn quick_mode() -> bool {
    std::env::var_os("CMWQ_BENCH_QUICK").is_some_and(|v| v == "1")
}
