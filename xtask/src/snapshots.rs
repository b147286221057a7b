//! `cargo xtask snapshots [--review]`: the scenario library's snapshot files.
//!
//! The snapshot tests live in `crates/cmwq-sim/tests/snapshots.rs` and store their files in
//! the top-level `snapshots/` folder. How insta treats them, by `INSTA_UPDATE`:
//!
//! - unset (`auto`): a changed or missing snapshot fails its test; off CI insta also writes
//!   the new value beside it as `NAME.snap.new`, with `CI` set it writes nothing. This is
//!   what `cargo test` and `.ci/run` do, so CI fails on any snapshot that is missing or
//!   differs. (The test refuses to run with `CI` set and an `INSTA_UPDATE` that would
//!   rewrite snapshots, so CI cannot accept changes by accident.)
//! - `always`: rewrite `NAME.snap` in place and pass. `cargo xtask snapshots` does this:
//!   it regenerates every snapshot; review the result with `git diff snapshots/`.
//! - `new`: write `NAME.snap.new` for every difference and leave `NAME.snap` alone.
//!   `cargo xtask snapshots --review` does this (with `INSTA_FORCE_PASS=1`, so every test
//!   runs), then opens `cargo insta review` when cargo-insta is installed, or prints a unified
//!   diff of each `.snap.new` against its `.snap` otherwise.
//!
//! The README's picture of the reported case, `docs/reported-case.svg`, is kept like a
//! snapshot by `crates/cmwq-sim/tests/docs.rs`: `cargo test` fails when it is stale,
//! `cargo xtask snapshots` rewrites it (that test with `CMWQ_UPDATE_DOCS=1`), and
//! `--review` says whether it changed (review it with `git diff docs/` after regenerating).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{probe, workspace_root};

const TEST_ARGS: &[&str] = &["test", "-p", "cmwq-sim", "--test", "snapshots"];

/// The test that compares (or, with `CMWQ_UPDATE_DOCS=1`, rewrites) docs/reported-case.svg.
const DOCS_TEST_ARGS: &[&str] = &["test", "-p", "cmwq-sim", "--test", "docs"];

/// `cargo xtask snapshots`' options.
///
/// Without `--review`, every snapshot under snapshots/ and docs/reported-case.svg is
/// rewritten in place: review the result with `git diff`.
#[derive(Debug, Clone, Default, clap::Args)]
pub(crate) struct Options {
    /// Leave the snapshots alone; write NAME.snap.new for each difference and review them.
    #[arg(long)]
    pub(crate) review: bool,
}

/// Dispatches `snapshots [--review]`.
pub(crate) fn snapshots(opts: &Options) -> Result<(), String> {
    if opts.review { review() } else { regenerate() }
}

/// Runs the snapshot tests with `CI` removed from the environment and the given variables.
fn run_tests(envs: &[(&str, &str)]) -> Result<(), String> {
    run_cargo_test(TEST_ARGS, envs)
}

/// Runs `cargo <args>` with `CI` removed from the environment and the given variables.
fn run_cargo_test(args: &[&str], envs: &[(&str, &str)]) -> Result<(), String> {
    eprintln!(
        "$ {} cargo {}",
        envs.iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" "),
        args.join(" ")
    );
    let status = Command::new("cargo")
        .args(args)
        .env_remove("CI")
        .envs(envs.iter().copied())
        .current_dir(workspace_root())
        .status()
        .map_err(|e| format!("could not start cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`cargo {}` failed: {status}", args.join(" ")))
    }
}

/// Regenerates every snapshot in place.
fn regenerate() -> Result<(), String> {
    remove_pending(&snapshot_dir())?;
    run_tests(&[("INSTA_UPDATE", "always")])?;
    run_cargo_test(DOCS_TEST_ARGS, &[("CMWQ_UPDATE_DOCS", "1")])?;
    eprintln!(
        "xtask: snapshots and docs/reported-case.svg regenerated; review them with \
         `git diff snapshots/ docs/`"
    );
    Ok(())
}

/// Writes `.snap.new` files for every difference and shows them.
fn review() -> Result<(), String> {
    let dir = snapshot_dir();
    remove_pending(&dir)?;
    run_tests(&[("INSTA_UPDATE", "new"), ("INSTA_FORCE_PASS", "1")])?;
    if run_cargo_test(DOCS_TEST_ARGS, &[]).is_err() {
        eprintln!(
            "xtask: docs/reported-case.svg differs from what the simulator draws now; \
             `cargo xtask snapshots` regenerates it (then `git diff docs/`)"
        );
    }
    let pending = pending_files(&dir)?;
    if pending.is_empty() {
        eprintln!("xtask: every snapshot matches");
        return Ok(());
    }
    if probe("cargo", &["insta", "--version"]) {
        return crate::run("cargo", &["insta", "review"], &[]);
    }
    eprintln!("xtask: cargo-insta is not installed; showing plain diffs");
    for new in &pending {
        let old = new.with_extension("");
        if old.exists() {
            // `diff` exits 1 when the files differ: that is the expected case here.
            let _ = Command::new("diff")
                .arg("-u")
                .arg(&old)
                .arg(new)
                .status()
                .map_err(|e| format!("could not start diff: {e}"))?;
        } else {
            println!("new snapshot {}:", new.display());
            let text = std::fs::read_to_string(new)
                .map_err(|e| format!("reading {}: {e}", new.display()))?;
            println!("{text}");
        }
    }
    eprintln!(
        "xtask: {} snapshot(s) differ; accept them all with `cargo xtask snapshots`",
        pending.len()
    );
    Ok(())
}

fn snapshot_dir() -> PathBuf {
    workspace_root().join("snapshots")
}

fn pending_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut out = Vec::new();
    let entries = std::fs::read_dir(dir).map_err(|e| format!("reading {}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.extension().is_some_and(|e| e == "new") {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

/// Removes `.snap.new` files left by an earlier run, so only this run's differences show.
fn remove_pending(dir: &Path) -> Result<(), String> {
    for path in pending_files(dir)? {
        std::fs::remove_file(&path).map_err(|e| format!("removing {}: {e}", path.display()))?;
    }
    Ok(())
}
