//! `cargo xtask test`, `ci` and `miri`: the checks `.ci/run` makes.

use crate::{probe, run};

/// Crates with `unsafe` code: they run under Miri.
const MIRI_CRATES: &[&str] = &["cmwq-list", "cmwq-work", "cmwq-pool"];

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
    loom()?;
    miri()
}

/// The runtime's loom models (`crates/cmwq/tests/loom_*.rs`), in their own target dir so
/// the `--cfg loom` build does not invalidate the normal one.
pub(crate) fn loom() -> Result<(), String> {
    run(
        "cargo",
        &[
            "test",
            "-p",
            "cmwq",
            "--release",
            "--test",
            "loom_pending",
            "--test",
            "loom_handoff",
        ],
        &[
            ("RUSTFLAGS", "--cfg loom"),
            ("CARGO_TARGET_DIR", "target/loom"),
        ],
    )
}

/// Miri over the crates with unsafe code. Installs the component when missing; when it
/// cannot be had, says so and succeeds, since Miri is a nightly-only extra.
pub(crate) fn miri() -> Result<(), String> {
    if !probe("cargo", &["+nightly", "miri", "--version"]) {
        eprintln!("xtask: installing the nightly miri component");
        let _ = run(
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
        );
    }
    if !probe("cargo", &["+nightly", "miri", "--version"]) {
        eprintln!("xtask: MIRI SKIPPED: `cargo +nightly miri` is not available on this machine");
        return Ok(());
    }
    for krate in MIRI_CRATES {
        run("cargo", &["+nightly", "miri", "test", "-p", krate], &[])?;
    }
    Ok(())
}
