//! `cmwq-sim`: run the simulator's scenarios from the command line.
//!
//! ```text
//! cmwq-sim list
//! cmwq-sim show <scenario name or file.toml>      (prints it in the file format)
//! cmwq-sim run <scenario name or file.toml> [--policy slurp|cursor|rescan|all]
//!              [--timeline FILE.svg] [--kernel 7.0|6.12]
//! ```

use std::process::ExitCode;

use cmwq_dump::KernelFormat;
use cmwq_sim::{PolicyChoice, RunOptions, ScenarioError, SimError};

#[derive(Debug, thiserror::Error)]
enum CliError {
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    #[error(transparent)]
    Sim(#[from] SimError),
    #[error("writing {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
}

const USAGE: &str = "usage:\n  cmwq-sim list\n  cmwq-sim show <scenario name or file.toml>\n  \
                     cmwq-sim run <scenario name or file.toml> \
                     [--policy slurp|cursor|rescan|all] [--timeline FILE.svg] [--kernel 7.0|6.12]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match real_main(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cmwq-sim: {e}");
            ExitCode::from(2)
        }
    }
}

fn real_main(args: &[String]) -> Result<(), CliError> {
    match args.first().map(String::as_str) {
        Some("list") => {
            for s in cmwq_sim::library::all() {
                println!("{:<20} [{}] {}", s.name, s.policy.name(), s.description);
            }
            Ok(())
        }
        Some("run") => run(&args[1..]),
        Some("show") => match &args[1..] {
            [target] => {
                print!("{}", cmwq_sim::load(target)?.to_toml());
                Ok(())
            }
            _ => Err(CliError::Usage(USAGE.to_owned())),
        },
        Some("-h" | "--help") => {
            println!("{USAGE}");
            Ok(())
        }
        _ => Err(CliError::Usage(USAGE.to_owned())),
    }
}

fn run(args: &[String]) -> Result<(), CliError> {
    let mut target = None;
    let mut policy = None;
    let mut timeline = None;
    let mut options = RunOptions::default();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |flag: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| CliError::Usage(format!("{flag} needs a value\n{USAGE}")))
        };
        match a.as_str() {
            "--policy" => policy = Some(PolicyChoice::parse(&value("--policy")?)?),
            "--timeline" => timeline = Some(value("--timeline")?),
            "--kernel" => {
                options.dump_format = match value("--kernel")?.as_str() {
                    "7.0" => KernelFormat::Linux7_0,
                    "6.12" => KernelFormat::Linux6_12,
                    other => {
                        return Err(CliError::Usage(format!(
                            "--kernel {other}: expected 7.0 or 6.12"
                        )));
                    }
                }
            }
            flag if flag.starts_with("--") => {
                return Err(CliError::Usage(format!("unknown option {flag}\n{USAGE}")));
            }
            name if target.is_none() => target = Some(name.to_owned()),
            extra => return Err(CliError::Usage(format!("unexpected {extra:?}\n{USAGE}"))),
        }
    }
    let target = target.ok_or_else(|| CliError::Usage(USAGE.to_owned()))?;
    let scenario = cmwq_sim::load(&target)?;
    let policy = policy.unwrap_or(scenario.policy);
    let runs = policy
        .expand()
        .iter()
        .map(|&p| cmwq_sim::run_with(&scenario, p, options))
        .collect::<Result<Vec<_>, _>>()?;
    print!(
        "{}",
        cmwq_sim::report::render_side_by_side(&scenario, &runs)
    );
    if let Some(path) = timeline {
        let traces: Vec<&cmwq_sim::Trace> = runs.iter().map(|r| &r.trace).collect();
        let svg = cmwq_sim::timeline::render_svg_stack(&traces);
        std::fs::write(&path, svg).map_err(|source| CliError::Write {
            path: path.clone(),
            source,
        })?;
        eprintln!("cmwq-sim: timeline written to {path}");
    }
    Ok(())
}
