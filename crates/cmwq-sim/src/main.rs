//! `cmwq-sim`: run the simulator's scenarios from the command line.
//!
//! `cmwq-sim --help` lists the commands, `cmwq-sim <command> --help` explains one. The
//! scenario file format is described in `crates/cmwq-sim/SCENARIOS.md`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use cmwq_dump::{KernelFormat, MAYDAY_CURSOR_FUNC};
use cmwq_sim::{PolicyChoice, RunOptions, ScenarioError, SimError};

/// Where the scenario file format is described, for the help texts.
const FORMAT_DOC: &str = "crates/cmwq-sim/SCENARIOS.md";

/// Runs the cmwq core in virtual time: a scenario of workqueues, work items and memory
/// pressure plays out in milliseconds, the same way every time.
#[derive(Debug, Parser)]
#[command(
    name = "cmwq-sim",
    version,
    after_help = "Start with `cmwq-sim run reported-case --policy all --timeline`.\n\
                  Scenario files: `cmwq-sim new > my.toml` writes a commented one; every \
                  table and key is described in crates/cmwq-sim/SCENARIOS.md."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// One command.
#[derive(Debug, Subcommand)]
enum Command {
    /// List the built-in scenarios: name, default policy and what each shows.
    List,
    /// Print a scenario in the file format (a built-in one is a starting point for your own).
    Show {
        /// A built-in scenario's name (see `list`) or a scenario file.
        scenario: String,
    },
    /// Print a commented starter scenario file: `cmwq-sim new > my.toml`.
    New,
    /// Check a scenario file (parse and validate it) and say what it contains.
    Check {
        /// The scenario file (TOML).
        file: PathBuf,
    },
    /// Print the scenario file format as a JSON Schema, for editors (taplo) and validators.
    Schema,
    /// Run a scenario and print its timelines, kernel-format dumps and metrics.
    Run(RunArgs),
}

/// `cmwq-sim run`'s arguments.
#[derive(Debug, clap::Args)]
struct RunArgs {
    /// A built-in scenario's name (see `list`) or a scenario file (see `new`).
    scenario: String,
    /// The rescuer policy to run; several are shown one after the other on one time
    /// scale. Default: the scenario's own `policy`.
    #[arg(long, value_enum)]
    policy: Option<PolicyArg>,
    /// Also write an SVG timeline (one lane per worker, every policy on one time axis).
    /// Without a FILE it goes to target/cmwq-sim/SCENARIO.svg.
    #[arg(long, value_name = "FILE", num_args = 0..=1)]
    timeline: Option<Option<PathBuf>>,
    /// The kernel whose `show_workqueue_state()` format the dumps are printed in. It
    /// changes only how the dumps read (7.0 adds how long each in-flight item has run), not
    /// what is simulated: pick the rescuer behaviour with --policy.
    #[arg(long, value_enum, value_name = "VERSION", default_value = "7.0")]
    kernel: KernelArg,
}

/// `--policy`'s values.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum PolicyArg {
    /// Before Linux 7.0: the rescuer moves every pending item of a stalled pwq at once.
    Slurp,
    /// Linux 7.0: the rescuer takes items one at a time behind a per-pwq cursor.
    Cursor,
    /// A strawman: one at a time, rescanning the worklist from its head each time.
    Rescan,
    /// Every policy, one run each.
    All,
}

impl From<PolicyArg> for PolicyChoice {
    fn from(p: PolicyArg) -> Self {
        match p {
            PolicyArg::Slurp => PolicyChoice::Slurp,
            PolicyArg::Cursor => PolicyChoice::Cursor,
            PolicyArg::Rescan => PolicyChoice::Rescan,
            PolicyArg::All => PolicyChoice::All,
        }
    }
}

/// `--kernel`'s values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum KernelArg {
    /// Linux 7.0: in-flight workers print as `ID:FUNC for Ns`.
    #[value(name = "7.0")]
    Linux7_0,
    /// Linux 6.12 (6.9 to 6.19): in-flight workers print as `ID:FUNC`.
    #[value(name = "6.12")]
    Linux6_12,
    /// Linux 6.1 (LTS): `active=N/MAX`, in-flight workers as `ID:FUNC, ID:FUNC`, its own
    /// pool flag bits.
    #[value(name = "6.1")]
    Linux6_1,
}

impl From<KernelArg> for KernelFormat {
    fn from(k: KernelArg) -> Self {
        match k {
            KernelArg::Linux7_0 => KernelFormat::Linux7_0,
            KernelArg::Linux6_12 => KernelFormat::Linux6_12,
            KernelArg::Linux6_1 => KernelFormat::Linux6_1,
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum CliError {
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

fn main() -> ExitCode {
    // clap prints `--help` and `--version` and exits 0, or an `error:` line naming what
    // was wrong, the usage and a pointer to `--help`, and exits 2.
    let cli = Cli::parse();
    match real_main(cli.command) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cmwq-sim: error: {e}");
            // A file that was read but is not a valid scenario: say where the format is.
            let bad_file = matches!(&e, CliError::Scenario(s)
                if !matches!(s, ScenarioError::NotFound(_) | ScenarioError::Io { .. }));
            if bad_file {
                eprintln!("cmwq-sim: the scenario format is described in {FORMAT_DOC}");
            }
            ExitCode::from(2)
        }
    }
}

fn real_main(command: Command) -> Result<(), CliError> {
    match command {
        Command::List => {
            // One scenario per paragraph, wrapped to the report's width.
            let indent = " ".repeat(21);
            let options = textwrap::Options::new(cmwq_sim::report::REPORT_WIDTH)
                .subsequent_indent(&indent)
                .break_words(false);
            for s in cmwq_sim::library::all() {
                let line = format!("{:<20} [{}] {}", s.name, s.policy.name(), s.description);
                println!("{}", textwrap::fill(&line, &options));
            }
            Ok(())
        }
        Command::Show { scenario } => {
            print!("{}", cmwq_sim::load(&scenario)?.to_toml());
            Ok(())
        }
        Command::New => {
            print!("{}", cmwq_sim::starter::STARTER);
            Ok(())
        }
        Command::Check { file } => {
            let scenario = cmwq_sim::Scenario::from_file(&file)?;
            let line = format!(
                "{}: {}",
                file.display(),
                cmwq_sim::starter::summary(&scenario)
            );
            let options = textwrap::Options::new(cmwq_sim::report::REPORT_WIDTH)
                .subsequent_indent("  ")
                .break_words(false);
            println!("{}", textwrap::fill(&line, &options));
            eprintln!("cmwq-sim: the format is described in {FORMAT_DOC}");
            Ok(())
        }
        Command::Schema => {
            print!("{}", cmwq_sim::file::json_schema());
            Ok(())
        }
        Command::Run(args) => run(args),
    }
}

fn run(args: RunArgs) -> Result<(), CliError> {
    let scenario = cmwq_sim::load(&args.scenario)?;
    let policy = args.policy.map_or(scenario.policy, PolicyChoice::from);
    let options = RunOptions {
        dump_format: args.kernel.into(),
        ..RunOptions::default()
    };
    let runs = policy
        .expand()
        .iter()
        .map(|&p| cmwq_sim::run_with(&scenario, p, options))
        .collect::<Result<Vec<_>, _>>()?;
    print!(
        "{}",
        cmwq_sim::report::render_side_by_side(&scenario, &runs)
    );
    if let Some(warning) = cursor_in_old_format(args.kernel, &runs) {
        eprintln!("cmwq-sim: warning: {warning}");
    }
    if let Some(path) = args.timeline {
        let path = path.unwrap_or_else(|| default_timeline_path(&scenario.name));
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| write_error(dir, source))?;
        }
        let traces: Vec<&cmwq_sim::Trace> = runs.iter().map(|r| &r.trace).collect();
        let svg = cmwq_sim::timeline::render_svg_stack(&traces);
        std::fs::write(&path, svg).map_err(|source| write_error(&path, source))?;
        eprintln!("cmwq-sim: timeline written to {}", path.display());
    }
    Ok(())
}

/// The warning for dumps printed in 6.12's format that show the rescuer's mayday cursor,
/// which only 7.0 has: `--kernel` chose the format, not the rescuer.
fn cursor_in_old_format(kernel: KernelArg, runs: &[cmwq_sim::RunOutput]) -> Option<String> {
    let shows_cursor = runs
        .iter()
        .filter(|r| r.dumps.iter().any(|d| d.text.contains(MAYDAY_CURSOR_FUNC)))
        .map(|r| r.policy.name())
        .collect::<Vec<_>>();
    let old = match kernel {
        KernelArg::Linux7_0 => return None,
        KernelArg::Linux6_12 => "6.12",
        KernelArg::Linux6_1 => "6.1",
    };
    (!shows_cursor.is_empty()).then(|| {
        format!(
            "the {} run's dumps are in the {old} format but show `{MAYDAY_CURSOR_FUNC}`, the \
             rescuer's cursor, which only 7.0 has: --kernel changes the dump format, not the \
             rescuer (use --policy slurp for the pre-7.0 rescuer)",
            shows_cursor.join(" and ")
        )
    })
}

/// `target/cmwq-sim/NAME.svg` (under `CARGO_TARGET_DIR` when set), with the scenario's
/// name made safe for a file name.
fn default_timeline_path(scenario: &str) -> PathBuf {
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| "target".into(), PathBuf::from);
    let file: String = scenario
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    target.join("cmwq-sim").join(format!("{file}.svg"))
}

fn write_error(path: &Path, source: std::io::Error) -> CliError {
    CliError::Write {
        path: path.display().to_string(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    use super::{Cli, Command, KernelArg, default_timeline_path};

    #[test]
    fn command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn timeline_without_a_file_goes_under_target() {
        let cli = Cli::try_parse_from(["cmwq-sim", "run", "reported-case", "--timeline"]).unwrap();
        let Command::Run(args) = cli.command else {
            panic!("run parses as run")
        };
        assert_eq!(args.timeline, Some(None));
        assert_eq!(args.kernel, KernelArg::Linux7_0);
        let path = default_timeline_path("my case/1");
        assert!(
            path.ends_with("cmwq-sim/my_case_1.svg"),
            "{}",
            path.display()
        );
    }

    #[test]
    fn a_6_12_dump_showing_the_cursor_is_warned_about() {
        let scenario = cmwq_sim::library::reported_case();
        let options = cmwq_sim::RunOptions {
            dump_format: KernelArg::Linux6_12.into(),
            ..cmwq_sim::RunOptions::default()
        };
        let run = |p| vec![cmwq_sim::run_with(&scenario, p, options).unwrap()];
        let cursor = run(cmwq_sim::PolicyChoice::Cursor);
        let warning = super::cursor_in_old_format(KernelArg::Linux6_12, &cursor);
        assert!(warning.is_some_and(|w| w.starts_with("the cursor run's dumps")));
        assert_eq!(
            super::cursor_in_old_format(KernelArg::Linux7_0, &cursor),
            None
        );
        let slurp = run(cmwq_sim::PolicyChoice::Slurp);
        assert_eq!(
            super::cursor_in_old_format(KernelArg::Linux6_12, &slurp),
            None
        );
    }

    #[test]
    fn unknown_option_of_run_is_named() {
        let err = Cli::try_parse_from(["cmwq-sim", "run", "x", "--frob"]).unwrap_err();
        assert!(err.to_string().contains("'--frob'"), "{err}");
        let err = Cli::try_parse_from(["cmwq-sim", "run", "x", "--kernel", "5.4"]).unwrap_err();
        assert!(err.to_string().contains("5.4"), "{err}");
    }
}
