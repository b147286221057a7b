//! cmwq's project commands, run as `cargo xtask <command>`.
//!
//! - `test`: every test of the workspace (nextest when installed, `cargo test` otherwise),
//!   doctests included.
//! - `ci`: what `.ci/run` runs: fmt, clippy, tests, docs, the loom models, Miri over the
//!   unsafe crates.
//! - `loom`: the runtime's loom models.
//! - `snapshots [--review]`: regenerate the scenario snapshots, or review what changed.
//! - `ab-bench [--quick] [--save NAME] [--baseline NAME]`: the A/B report.

use std::process::{Command, ExitCode};

mod ab_bench;
mod ci;
mod snapshots;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("test") => ci::test(),
        Some("ci") => ci::ci(),
        Some("miri") => ci::miri(),
        Some("loom") => ci::loom(),
        Some("ab-bench") => ab_bench::run(&args[1..]),
        Some("snapshots") => snapshots::snapshots(&args[1..]),
        Some(other) => Err(format!("unknown command `{other}`\n{USAGE}")),
        None => Err(USAGE.to_owned()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

const USAGE: &str = "usage: cargo xtask <test | ci | miri | loom | snapshots [--review]>";

/// Runs a command from the workspace root, echoing it first; fails with a message naming it.
pub(crate) fn run(program: &str, args: &[&str], envs: &[(&str, &str)]) -> Result<(), String> {
    eprintln!("$ {program} {}", args.join(" "));
    let status = Command::new(program)
        .args(args)
        .envs(envs.iter().copied())
        .current_dir(workspace_root())
        .status()
        .map_err(|e| format!("could not start `{program}`: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{program} {}` failed: {status}", args.join(" ")))
    }
}

/// Whether `program args` runs and exits successfully (used to probe for tools).
pub(crate) fn probe(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

pub(crate) fn workspace_root() -> std::path::PathBuf {
    let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .parent()
        .expect("xtask lives one level below the root")
        .to_path_buf()
}
