//! `cargo xtask test`, `ci` and `miri`: the checks `.ci/run` makes.

use crate::{probe, run};

/// Crates with `unsafe` code, and cmwq-rescue, whose safe policies feed the pool's unsafe
/// code: they run under Miri.
const MIRI_CRATES: &[&str] = &["cmwq-list", "cmwq-work", "cmwq-rescue", "cmwq-pool"];

/// The runtime crate's unit tests that run under Miri too: the runtime's own `unsafe`
/// (`FnOnceWork`'s recycled closure cells). The rest of that crate runs threads, timers and sleeps
/// everywhere, far too slow to interpret as a whole.
const MIRI_RUNTIME_TESTS: &str = "fnwork::tests";

/// Every test of the workspace: nextest when installed (then doctests separately), else
/// `cargo test`.
pub(crate) fn test() -> Result<(), String> {
    if probe("cargo", &["nextest", "--version"]) {
        run(
            "cargo",
            &["nextest", "run", "--workspace", "--no-fail-fast"],
            &[],
        )?;
        run("cargo", &["test", "--workspace", "--doc"], &[])
    } else {
        run("cargo", &["test", "--workspace", "--no-fail-fast"], &[])
    }
}

/// Everything CI checks, in the order `.ci/run` runs it.
pub(crate) fn ci() -> Result<(), String> {
    run("cargo", &["fmt", "--all", "--check"], &[])?;
    run(
        "cargo",
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
        &[],
    )?;
    test()?;
    run(
        "cargo",
        &["doc", "--workspace", "--no-deps"],
        &[("RUSTDOCFLAGS", "-D warnings")],
    )?;
    crate::public_api::run(&crate::public_api::Options::default())?;
    loom()?;
    miri()
}

/// The loom models, in their own target dir so the `--cfg loom` build does not invalidate
/// the normal one: cmwq-work's on the real data word (`tests/loom_data.rs`, through the
/// crate's `sync` module), the worker/rescuer handoff on the real core
/// (`crates/cmwq-pool/tests/loom_handoff.rs`), the pool's lock-free incoming ring
/// (`incoming::loom_model` in cmwq-pool's library, through its `sync` module) and the
/// runtime's hand-off of a wake between idle workers (`idle::loom_model` in cmwq's
/// library, through its `sync` module).
pub(crate) fn loom() -> Result<(), String> {
    let env = [
        ("RUSTFLAGS", "--cfg loom"),
        ("CARGO_TARGET_DIR", "target/loom"),
    ];
    let models: [(&str, &[&str]); 4] = [
        ("cmwq-work", &["--test", "loom_data"]),
        ("cmwq-pool", &["--test", "loom_handoff"]),
        ("cmwq-pool", &["--lib", "incoming::loom_model"]),
        ("cmwq", &["--lib", "idle::loom_model"]),
    ];
    for (krate, target) in models {
        let mut args = vec!["test", "-p", krate, "--release"];
        args.extend_from_slice(target);
        run("cargo", &args, &env)?;
    }
    Ok(())
}

/// Where each of [`MIRI_MODELS`] builds (relative to the workspace root).
const MIRI_TARGET_DIRS: [&str; 2] = ["target/miri-sb", "target/miri-tb"];

/// The memory models Miri checks every crate under: Stacked Borrows and Tree Borrows, both
/// with strict provenance (no crate exposes provenance or turns integers into pointers).
const MIRI_MODELS: &[(&str, &str)] = &[
    ("Stacked Borrows", "-Zmiri-strict-provenance"),
    (
        "Tree Borrows",
        "-Zmiri-tree-borrows -Zmiri-strict-provenance",
    ),
];

/// One `cargo` job per Miri model (its flags and target directory), labelled `labels[i]`.
fn model_jobs<'a>(labels: &'a [String], args: &[&'a str]) -> Vec<crate::Job<'a>> {
    MIRI_MODELS
        .iter()
        .zip(labels)
        .enumerate()
        .map(|(i, ((_, flags), label))| crate::Job {
            label,
            program: "cargo",
            args: args.to_vec(),
            envs: vec![
                ("MIRIFLAGS", *flags),
                ("CARGO_TARGET_DIR", MIRI_TARGET_DIRS[i]),
            ],
        })
        .collect()
}

/// Miri over the crates with unsafe code ([`MIRI_CRATES`]), under each of [`MIRI_MODELS`].
/// Installs the nightly `miri` and `rust-src` components when missing, and fails when Miri
/// cannot be had: a check that cannot run is a failed check.
pub(crate) fn miri() -> Result<(), String> {
    if !probe("cargo", &["+nightly", "miri", "--version"]) {
        eprintln!("xtask: installing the nightly miri component");
        run(
            "rustup",
            &[
                "component",
                "add",
                "--toolchain",
                "nightly",
                "miri",
                "rust-src",
            ],
            &[],
        )
        .map_err(|e| format!("Miri is missing and could not be installed: {e}"))?;
    }
    if !probe("cargo", &["+nightly", "miri", "--version"]) {
        return Err("`cargo +nightly miri` does not run, even after installing it".into());
    }
    run("cargo", &["+nightly", "miri", "setup"], &[])?;
    // The tests, not the doctests: each doctest is compiled on its own under Miri, which
    // doubles the run for examples that exercise no unsafe code of their own; the doctests
    // run natively in `cargo xtask test`.
    let mut args = vec!["+nightly", "miri", "test", "--tests"];
    for krate in MIRI_CRATES {
        args.extend(["-p", krate]);
    }
    // Miri interprets on one thread: the two models run side by side, each in its own
    // target directory (a shared one would serialise them on cargo's lock).
    let labels: Vec<String> = MIRI_MODELS.iter().map(|(m, _)| (*m).to_owned()).collect();
    crate::run_concurrently(&model_jobs(&labels, &args))?;
    let runtime_args = [
        "+nightly",
        "miri",
        "test",
        "-p",
        "cmwq",
        "--lib",
        MIRI_RUNTIME_TESTS,
    ];
    let labels: Vec<String> = MIRI_MODELS
        .iter()
        .map(|(m, _)| format!("{m}, runtime"))
        .collect();
    crate::run_concurrently(&model_jobs(&labels, &runtime_args))?;
    Ok(())
}
