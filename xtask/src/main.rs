//! cmwq's project commands, run as `cargo xtask <command>`; `cargo xtask --help` lists them
//! and `cargo xtask <command> --help` explains one.
//!
//! - `test`: every test of the workspace (nextest when installed, `cargo test` otherwise),
//!   doctests included.
//! - `ci`: what `.ci/run` runs: fmt, clippy, tests, docs, the loom models, Miri over the
//!   unsafe crates.
//! - `miri`: the unsafe crates' tests under Miri, Stacked and Tree Borrows (installs the
//!   nightly miri component when missing, fails when it cannot).
//! - `loom`: the loom models, on the real types: the data word, the worker/rescuer handoff,
//!   the incoming ring, the hand-off of a wake between idle workers.
//! - `public-api [--bless]`: compare each library crate's public API with its reviewed
//!   snapshot `crates/NAME/public-api.txt` (nightly rustdoc JSON), or rewrite them.
//! - `snapshots [--review]`: regenerate the scenario snapshots, or review what changed.
//! - `ab-bench [--quick] [--save NAME | --baseline NAME] [--report-only]`: the A/B report.
//! - `stress [--ops N] [--seed S]`: the long seeded random-operations stress of the runtime.
//!
//! The command line is clap's derive API: a new command is a variant of [`Command`] with a
//! doc comment (its line in `--help`) and an arm in [`main`]. The `help` test module runs
//! every binary of the workspace with `--help` and checks each subcommand it lists.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod ab_bench;
mod ci;
#[cfg(test)]
mod help;
mod public_api;
mod snapshots;
mod stress;

/// cmwq's project commands: tests, CI, snapshots and the A/B benchmark report.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", bin_name = "cargo xtask", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// One project command.
#[derive(Debug, Subcommand)]
enum Command {
    /// Run every test of the workspace, doctests included (nextest when installed).
    Test,
    /// Run what CI runs: fmt, clippy, tests, docs, the loom models and Miri.
    Ci,
    /// Run the unsafe crates' tests under Miri, Stacked and Tree Borrows (installs Miri).
    Miri,
    /// Run the loom models (`--cfg loom`): the real data word, handoff, incoming ring and idle
    /// workers' wake hand-off.
    Loom,
    /// Compare each crate's public API with crates/NAME/public-api.txt, or rewrite them.
    PublicApi(public_api::Options),
    /// Regenerate the scenario snapshots and docs/reported-case.svg, or review changes.
    Snapshots(snapshots::Options),
    /// Run the criterion benches and write the A/B report to target/ab-bench/report.md.
    AbBench(ab_bench::Options),
    /// Run the long seeded random-operations stress of the runtime (each rescuer policy).
    Stress(stress::Options),
}

fn main() -> ExitCode {
    // `cargo xtask` runs `xtask` with the subcommand as its first argument; clap prints
    // `--help`/`--version` and exits 0, or an `error:` line naming what was wrong, the
    // usage and a pointer to `--help`, and exits 2.
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Test => ci::test(),
        Command::Ci => ci::ci(),
        Command::Miri => ci::miri(),
        Command::Loom => ci::loom(),
        Command::PublicApi(opts) => public_api::run(&opts),
        Command::Snapshots(opts) => snapshots::snapshots(&opts),
        Command::AbBench(opts) => ab_bench::run(&opts),
        Command::Stress(opts) => stress::run(&opts),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Runs a command from the workspace root, echoing it first and its duration after; fails
/// with a message naming it.
pub(crate) fn run(program: &str, args: &[&str], envs: &[(&str, &str)]) -> Result<(), String> {
    eprintln!("$ {program} {}", args.join(" "));
    let started = std::time::Instant::now();
    let status = std::process::Command::new(program)
        .args(args)
        .envs(envs.iter().copied())
        .current_dir(workspace_root())
        .status()
        .map_err(|e| format!("could not start `{program}`: {e}"))?;
    eprintln!(
        "xtask: `{program} {}` took {:.0} s",
        args.join(" "),
        started.elapsed().as_secs_f64()
    );
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{program} {}` failed: {status}", args.join(" ")))
    }
}

/// One command of [`run_concurrently`].
pub(crate) struct Job<'a> {
    /// What the log calls it.
    pub(crate) label: &'a str,
    pub(crate) program: &'a str,
    pub(crate) args: Vec<&'a str>,
    pub(crate) envs: Vec<(&'a str, &'a str)>,
}

/// Runs the jobs at the same time from the workspace root, each one's output kept in
/// `target/xtask-logs/LABEL.log` and printed whole when all have ended (so logs do not
/// interleave); fails naming every job that failed.
pub(crate) fn run_concurrently(jobs: &[Job<'_>]) -> Result<(), String> {
    let logs = workspace_root().join("target").join("xtask-logs");
    std::fs::create_dir_all(&logs)
        .map_err(|e| format!("could not create {}: {e}", logs.display()))?;
    let started = std::time::Instant::now();
    let mut children = Vec::new();
    for j in jobs {
        let path = logs.join(format!("{}.log", j.label.replace(' ', "-")));
        let out = std::fs::File::create(&path)
            .map_err(|e| format!("could not create {}: {e}", path.display()))?;
        let err = out
            .try_clone()
            .map_err(|e| format!("could not share {}: {e}", path.display()))?;
        eprintln!(
            "$ {} {} ({}; output in {})",
            j.program,
            j.args.join(" "),
            j.label,
            path.display()
        );
        let child = std::process::Command::new(j.program)
            .args(&j.args)
            .envs(j.envs.iter().copied())
            .current_dir(workspace_root())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("could not start `{}`: {e}", j.program))?;
        children.push((j, path, child));
    }
    let mut failed = Vec::new();
    for (j, path, mut child) in children {
        let status = child
            .wait()
            .map_err(|e| format!("could not wait for {}: {e}", j.label))?;
        eprintln!("==== {} ({status}) ====", j.label);
        if let Ok(text) = std::fs::read_to_string(&path) {
            eprint!("{text}");
        }
        if !status.success() {
            failed.push(j.label);
        }
    }
    eprintln!(
        "xtask: {} jobs side by side took {:.0} s",
        jobs.len(),
        started.elapsed().as_secs_f64()
    );
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!("failed: {}", failed.join(", ")))
    }
}

/// Whether `program args` runs and exits successfully (used to probe for tools).
pub(crate) fn probe(program: &str, args: &[&str]) -> bool {
    std::process::Command::new(program)
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

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::{Cli, Command};

    #[test]
    fn command_line_definition_is_consistent() {
        // clap's own checks: no duplicate flags, conflicts naming real arguments, ...
        Cli::command().debug_assert();
    }

    #[test]
    fn unknown_command_is_an_error_that_names_it() {
        let err = Cli::try_parse_from(["xtask", "frobnicate"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::InvalidSubcommand);
        assert!(err.to_string().contains("'frobnicate'"), "{err}");
    }

    #[test]
    fn stress_options_parse_with_their_defaults() {
        let cli = Cli::try_parse_from(["xtask", "stress"]).unwrap();
        assert!(matches!(cli.command, Command::Stress(o) if o.ops == 1_000_000 && o.seed == 1));
        let cli = Cli::try_parse_from(["xtask", "stress", "--ops", "5000", "--seed", "7"]).unwrap();
        assert!(matches!(cli.command, Command::Stress(o) if o.ops == 5000 && o.seed == 7));
        let err = Cli::try_parse_from(["xtask", "stress", "--ops", "many"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::ValueValidation);
    }

    #[test]
    fn snapshots_review_flag_parses() {
        let cli = Cli::try_parse_from(["xtask", "snapshots", "--review"]).unwrap();
        assert!(matches!(cli.command, Command::Snapshots(o) if o.review));
        let cli = Cli::try_parse_from(["xtask", "snapshots"]).unwrap();
        assert!(matches!(cli.command, Command::Snapshots(o) if !o.review));
    }
}
