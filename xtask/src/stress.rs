//! `cargo xtask stress [--ops N] [--seed S]`: the long form of the runtime's seeded
//! random-operations stress with fault injection.
//!
//! The stress lives in `crates/cmwq/tests/random_stress.rs`; the test suite runs a small
//! form of it. This command runs its ignored `long_random_stress` test in release mode
//! with `--nocapture`, passing the size and seed through `CMWQ_STRESS_OPS` and
//! `CMWQ_STRESS_SEED`: N random operations under each rescuer policy (Cursor, Slurp,
//! Rescan), four producer threads, worker creation failing at random, panicking items,
//! delayed items and whole workqueues dropped mid-run. For each policy it prints what it
//! checked: every accepted queueing ran exactly once unless a cancel reported removing it,
//! no item ran on two threads at once within one workqueue, the ordered queue ran in
//! queueing order, max_active held, every panic was caught, and no drop or drain hung.
//! A failed invariant fails the command; the same seed replays the same operations.

/// `cargo xtask stress`' options.
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct Options {
    /// Random operations per rescuer policy.
    #[arg(long, default_value_t = 1_000_000)]
    pub(crate) ops: u64,
    /// Seed of the random operations (and of the injected spawn failures).
    #[arg(long, default_value_t = 1)]
    pub(crate) seed: u64,
}

/// The cargo arguments that run the long form.
fn cargo_args() -> [&'static str; 12] {
    [
        "test",
        "--release",
        "-p",
        "cmwq",
        "--test",
        "random_stress",
        "--",
        "long_random_stress",
        "--exact",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ]
}

pub(crate) fn run(opts: &Options) -> Result<(), String> {
    let (ops, seed) = (opts.ops.to_string(), opts.seed.to_string());
    eprintln!(
        "xtask stress: {ops} random operations per rescuer policy, seed {seed} \
         (replay a failure with the same --seed)"
    );
    crate::run(
        "cargo",
        &cargo_args(),
        &[("CMWQ_STRESS_OPS", &ops), ("CMWQ_STRESS_SEED", &seed)],
    )
}
