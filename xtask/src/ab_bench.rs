//! `cargo xtask ab-bench [--quick] [--save NAME | --baseline NAME] [--report-only]`:
//! runs cmwq's criterion benches and writes the A/B report.
//!
//! The benches (`cargo bench -p cmwq-benches`) leave criterion's estimates under
//! `target/criterion/<group>/<function>/<parameter>/<run>/estimates.json` and their own
//! figures (latency percentiles, virtual-time figures, allocation counts) as JSON side
//! files under `target/ab-bench/side/`. This command runs them one bench target at a
//! time, showing which group and how far, then reads both and writes
//! `target/ab-bench/report.md` with its SVG plots beside it, and prints a summary of the
//! goals the report is read against.
//!
//! - `--quick`: fewer samples and shorter measurements, smaller sizes in the benches
//!   (`CMWQ_BENCH_QUICK=1`): a trustworthy smaller run in a few minutes.
//! - `--save NAME`: keep this run as criterion baseline NAME (`--save-baseline`).
//! - `--baseline NAME`: compare against baseline NAME (criterion's `--baseline-lenient`,
//!   so benchmarks new since then still run); the report gets a change column per
//!   benchmark that the baseline has.
//! - `--report-only`: do not run anything; rebuild the report from what is there.

mod data;
mod machine;
mod plots;
mod report;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use crate::workspace_root;

/// The bench targets of `cmwq-benches`, in the order they run (one criterion group each).
const BENCHES: [&str; 5] = [
    "rescue_scan",
    "scenario",
    "runtime",
    "throughput",
    "rescue_real",
];

/// `cargo xtask ab-bench`'s options.
///
/// A full run takes tens of minutes on two cores; `--quick` a few. The report is
/// `target/ab-bench/report.md`, its plots beside it.
#[derive(Debug, Clone, Default, PartialEq, Eq, clap::Args)]
pub(crate) struct Options {
    /// Fewer samples, shorter measurements and smaller sizes (CMWQ_BENCH_QUICK=1): a few minutes.
    #[arg(long)]
    quick: bool,
    /// Keep this run as criterion baseline NAME, to compare a later run against.
    #[arg(long, value_name = "NAME", conflicts_with = "baseline")]
    save: Option<String>,
    /// Compare against baseline NAME: the report gets a change column per benchmark.
    #[arg(long, value_name = "NAME")]
    baseline: Option<String>,
    /// Run nothing; rebuild the report from the results already under target/.
    #[arg(long)]
    report_only: bool,
}

impl Options {
    /// Parses `ab-bench`'s arguments as the command line does (for the tests).
    #[cfg(test)]
    fn parse(args: &[String]) -> Result<Self, String> {
        use clap::Parser;
        #[derive(Parser)]
        struct Wrap {
            #[command(flatten)]
            options: Options,
        }
        let argv = std::iter::once("ab-bench".to_owned()).chain(args.iter().cloned());
        Wrap::try_parse_from(argv)
            .map(|w| w.options)
            .map_err(|e| e.to_string())
    }

    /// Criterion's options for this run.
    fn criterion_args(&self) -> Vec<String> {
        let mut a: Vec<String> = if self.quick {
            [
                "--sample-size",
                "10",
                "--warm-up-time",
                "0.5",
                "--measurement-time",
                "1",
                "--noplot",
            ]
        } else {
            [
                "--sample-size",
                "30",
                "--warm-up-time",
                "1",
                "--measurement-time",
                "4",
                "--noplot",
            ]
        }
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        if let Some(name) = &self.save {
            a.extend(["--save-baseline".to_owned(), name.clone()]);
        }
        if let Some(name) = &self.baseline {
            // Lenient: a benchmark the baseline does not have yet runs without comparison
            // instead of failing the whole run.
            a.extend(["--baseline-lenient".to_owned(), name.clone()]);
        }
        a
    }
}

fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from)
}

/// The `ab-bench` command.
pub(crate) fn run(opts: &Options) -> Result<(), String> {
    let root = workspace_root();
    let target = target_dir(&root);
    let out = target.join("ab-bench");
    let side_dir = out.join("side");
    // Estimates older than this run (benchmarks it left out) must not be read as its own.
    let run_start = std::time::SystemTime::now();
    let failed = if opts.report_only {
        Vec::new()
    } else {
        run_benches(&root, &side_dir, opts)?
    };
    let run_name = opts.save.as_deref().unwrap_or("new");
    let input = report::Input {
        results: data::Results::read(
            &target.join("criterion"),
            run_name,
            opts.baseline.as_deref(),
            (!opts.report_only).then_some(run_start),
        ),
        side: data::SideFiles::read(&side_dir),
        machine: machine::Machine::detect(&root),
        quick: opts.quick,
        baseline: opts.baseline.clone(),
        criterion_args: if opts.report_only {
            String::new()
        } else {
            opts.criterion_args().join(" ")
        },
    };
    let report = report::Report::build(&input);
    report.write(&out)?;
    eprintln!();
    eprint!("{}", report.summary());
    eprintln!("report: {}", out.join("report.md").display());
    if failed.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "ab-bench: these bench groups failed (the report has the others): {}",
            failed.join("; ")
        ))
    }
}

/// Builds and runs every bench target present; a target that fails is reported and the
/// others still run. Returns the failures.
fn run_benches(root: &Path, side_dir: &Path, opts: &Options) -> Result<Vec<String>, String> {
    let present: Vec<&str> = BENCHES
        .iter()
        .copied()
        .filter(|b| {
            root.join("benches/benches")
                .join(format!("{b}.rs"))
                .exists()
        })
        .collect();
    let missing: Vec<&str> = BENCHES
        .iter()
        .copied()
        .filter(|b| !present.contains(b))
        .collect();
    if !missing.is_empty() {
        eprintln!(
            "ab-bench: not in this tree yet, skipped: {}",
            missing.join(", ")
        );
    }
    // Stale side files would be read as this run's figures.
    let _ = std::fs::remove_dir_all(side_dir);
    let quick_env = if opts.quick { "1" } else { "0" };
    let envs = [
        ("CMWQ_BENCH_QUICK", quick_env),
        (
            "CMWQ_AB_BENCH_SIDE_DIR",
            side_dir.to_str().ok_or("target path is not UTF-8")?,
        ),
    ];
    eprintln!("ab-bench: building the benches");
    crate::run("cargo", &["bench", "-p", "cmwq-benches", "--no-run"], &envs)?;
    let started = Instant::now();
    let criterion_args = opts.criterion_args();
    let mut failed = Vec::new();
    for (i, bench) in present.iter().enumerate() {
        let total = count_benchmarks(root, bench, &envs);
        eprintln!(
            "ab-bench: [{}/{}] group `{bench}`: {} benchmarks (elapsed {})",
            i + 1,
            present.len(),
            total.map_or("?".into(), |n| n.to_string()),
            elapsed(started)
        );
        let mut args = vec!["bench", "-p", "cmwq-benches", "--bench", bench, "--"];
        args.extend(criterion_args.iter().map(String::as_str));
        let result = run_with_progress(root, &args, &envs, |done, id| {
            eprintln!(
                "ab-bench: [{}/{}] {bench}: benchmark {done}/{} {id} (elapsed {})",
                i + 1,
                present.len(),
                total.map_or("?".into(), |n| n.to_string()),
                elapsed(started)
            );
        });
        if let Err(e) = result {
            eprintln!("ab-bench: group `{bench}` failed, going on with the others: {e}");
            failed.push(format!("{bench} ({e})"));
        }
    }
    eprintln!("ab-bench: benches done in {}", elapsed(started));
    Ok(failed)
}

fn elapsed(since: Instant) -> String {
    let s = since.elapsed().as_secs();
    format!("{}:{:02}", s / 60, s % 60)
}

/// How many benchmarks a bench target has (criterion's `--list`).
fn count_benchmarks(root: &Path, bench: &str, envs: &[(&str, &str)]) -> Option<usize> {
    let out = Command::new("cargo")
        .args([
            "bench",
            "-q",
            "-p",
            "cmwq-benches",
            "--bench",
            bench,
            "--",
            "--list",
        ])
        .envs(envs.iter().copied())
        .current_dir(root)
        .stderr(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    Some(text.lines().filter(|l| l.ends_with(": benchmark")).count())
}

/// Runs cargo, echoing its output, and calls `progress(n, id)` when criterion starts its
/// n-th benchmark.
fn run_with_progress(
    root: &Path,
    args: &[&str],
    envs: &[(&str, &str)],
    mut progress: impl FnMut(usize, &str),
) -> Result<(), String> {
    eprintln!("$ cargo {}", args.join(" "));
    let mut child = Command::new("cargo")
        .args(args)
        .envs(envs.iter().copied())
        .current_dir(root)
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("could not start cargo: {e}"))?;
    let mut done = 0;
    let mut last = String::new();
    if let Some(stdout) = child.stdout.take() {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(id) = started_benchmark(&line) {
                if id != last {
                    done += 1;
                    progress(done, id);
                    last = id.to_owned();
                }
            }
            println!("{line}");
        }
    }
    let status = child.wait().map_err(|e| format!("cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`cargo {}` failed: {status}", args.join(" ")))
    }
}

/// The id in criterion's `Benchmarking ID: Warming up ...` line.
fn started_benchmark(line: &str) -> Option<&str> {
    let (id, what) = line.strip_prefix("Benchmarking ")?.split_once(": ")?;
    what.starts_with("Warming up").then_some(id)
}

#[cfg(test)]
mod tests;
