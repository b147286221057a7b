//! Every binary of the workspace answers `--help` and `--version` the way Rust CLIs do, and
//! every subcommand its help lists exists (answers `--help` itself).
//!
//! The binaries come from `cargo metadata` (every `bin` target of a workspace member), so a
//! new binary is checked without touching this file. They are built once by `cargo build`
//! in the workspace's target directory (the `cargo test` running this holds no lock on it
//! while tests run).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::workspace_root;

/// A binary target of a workspace member.
#[derive(Debug)]
struct Binary {
    package: String,
    name: String,
}

fn binaries() -> Vec<Binary> {
    let out = cargo()
        .args(["metadata", "--no-deps", "--format-version", "1"])
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).expect("metadata is JSON");
    let mut bins = Vec::new();
    for package in meta["packages"].as_array().expect("packages") {
        for target in package["targets"].as_array().expect("targets") {
            let is_bin = target["kind"]
                .as_array()
                .is_some_and(|k| k.iter().any(|k| k == "bin"));
            if is_bin {
                bins.push(Binary {
                    package: package["name"].as_str().expect("name").to_owned(),
                    name: target["name"].as_str().expect("name").to_owned(),
                });
            }
        }
    }
    bins
}

fn cargo() -> Command {
    let mut c = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    c.current_dir(workspace_root());
    c
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| workspace_root().join("target"), PathBuf::from)
}

/// Builds every binary and returns its path beside its name. One `cargo build` per
/// package, as `cargo run -p PACKAGE` builds it: building several packages at once would
/// unify their dependencies' features and rebuild the binaries `cargo run` made.
fn build(bins: &[Binary]) -> Vec<(String, PathBuf)> {
    for b in bins {
        let args = ["build", "--quiet", "-p", &b.package, "--bin", &b.name];
        let status = cargo().args(args).status().expect("cargo build runs");
        assert!(status.success(), "cargo {}: {status}", args.join(" "));
    }
    bins.iter()
        .map(|b| {
            let path = target_dir().join("debug").join(format!(
                "{}{}",
                b.name,
                std::env::consts::EXE_SUFFIX
            ));
            (b.name.clone(), path)
        })
        .collect()
}

fn run(bin: &Path, args: &[&str]) -> Output {
    Command::new(bin)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{} runs: {e}", bin.display()))
}

/// The subcommands under `Commands:` in a clap help text, without clap's own `help`.
fn listed_subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| l.trim_end() != "Commands:")
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        // A subcommand line is indented by two; a wrapped description by more.
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect()
}

/// Checks `bin path... --help` and recurses into every subcommand it lists; returns how
/// many commands were checked.
fn check_help(name: &str, bin: &Path, path: &[String]) -> usize {
    let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
    args.push("--help");
    let out = run(bin, &args);
    let shown = format!("{name} {}", args.join(" "));
    assert!(
        out.status.success(),
        "`{shown}` failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let help = String::from_utf8(out.stdout).expect("help is UTF-8");
    assert!(
        help.contains("Usage:"),
        "`{shown}` prints no usage:\n{help}"
    );
    let mut checked = 1;
    for sub in listed_subcommands(&help) {
        let mut deeper = path.to_vec();
        deeper.push(sub);
        checked += check_help(name, bin, &deeper);
    }
    checked
}

#[test]
fn listed_subcommands_are_read_from_clap_help() {
    let help = "Does things\n\nUsage: x <COMMAND>\n\nCommands:\n  run    Run it\n         \
                and more\n  ab-bench  Bench\n  help   Print this message\n\nOptions:\n  \
                -h, --help  Print help\n";
    assert_eq!(listed_subcommands(help), ["run", "ab-bench"]);
}

#[test]
fn every_binary_answers_help_and_version_and_its_subcommands_exist() {
    let bins = binaries();
    assert!(
        bins.iter().any(|b| b.name == "xtask") && bins.iter().any(|b| b.name == "cmwq-sim"),
        "cargo metadata lists the workspace's binaries: {bins:?}"
    );
    for (name, path) in build(&bins) {
        let checked = check_help(&name, &path, &[]);
        assert!(checked > 1, "`{name} --help` lists no subcommand");

        let version = run(&path, &["--version"]);
        assert!(version.status.success(), "`{name} --version` failed");
        let version = String::from_utf8_lossy(&version.stdout);
        assert!(
            version.contains(env!("CARGO_PKG_VERSION")),
            "`{name} --version` prints {version:?}"
        );

        // A wrong command is an error that names it, before the usage, with clap's exit code.
        let wrong = run(&path, &["no-such-command"]);
        assert_eq!(wrong.status.code(), Some(2), "`{name} no-such-command`");
        let stderr = String::from_utf8_lossy(&wrong.stderr);
        let first = stderr.lines().next().unwrap_or_default();
        assert!(
            first.starts_with("error:") && first.contains("no-such-command"),
            "`{name} no-such-command` says {stderr:?}"
        );
    }
}

/// Every `cargo xtask ...` and `cargo run -p cmwq-sim -- ...` command line shown in the
/// workspace's Markdown files: the file, the binary and the words after it (up to a
/// comment or a redirection).
fn documented_commands() -> Vec<(String, &'static str, Vec<String>)> {
    let root = workspace_root();
    let mut files = vec![root.join("README.md"), root.join("ARCHITECTURE.md")];
    for dir in ["crates", "benches", "xtask", "snapshots"] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        for e in entries.flatten() {
            files.push(e.path().join("README.md"));
            files.push(e.path().join("SCENARIOS.md"));
        }
        files.push(root.join(dir).join("README.md"));
    }
    files.push(root.join("BENCHMARKS.md"));
    let mut found = Vec::new();
    for file in files {
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        let shown = file
            .strip_prefix(&root)
            .unwrap_or(&file)
            .display()
            .to_string();
        for line in text.lines() {
            for (prefix, bin) in [
                ("cargo xtask ", "xtask"),
                ("cargo run -p cmwq-sim -- ", "cmwq-sim"),
            ] {
                let Some(at) = line.find(prefix) else {
                    continue;
                };
                // An inline `cargo xtask test` ends at its closing backtick.
                let rest = &line[at + prefix.len()..];
                let rest = rest.split('`').next().unwrap_or(rest);
                let words: Vec<String> = rest
                    .split_whitespace()
                    .map(|w| w.trim_matches(|c| c == ',' || c == ')' || c == ';'))
                    .take_while(|w| !w.starts_with('#') && !w.starts_with('>') && !w.is_empty())
                    .map(str::to_owned)
                    .collect();
                if !words.is_empty() {
                    found.push((shown.clone(), bin, words));
                }
            }
        }
    }
    found
}

#[test]
fn commands_shown_in_the_docs_exist_with_the_options_they_use() {
    let built = build(&binaries());
    let path_of = |name: &str| {
        built
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, p)| p.clone())
            .expect("the binary is built")
    };
    let commands = documented_commands();
    assert!(
        commands.iter().any(|(_, b, _)| *b == "cmwq-sim")
            && commands.iter().any(|(_, b, _)| *b == "xtask"),
        "the README shows both binaries: {commands:?}"
    );
    for (file, bin, words) in commands {
        let path = path_of(bin);
        let top = String::from_utf8(run(&path, &["--help"]).stdout).expect("UTF-8");
        let subcommands = listed_subcommands(&top);
        let first = &words[0];
        if first.starts_with('-') {
            assert!(
                top.contains(first.as_str()),
                "{file}: `{bin} {first}` is no option"
            );
            continue;
        }
        // Placeholders such as `<command>` or `COMMAND` stand for any subcommand.
        if first.starts_with('<') || first.chars().all(|c| c.is_ascii_uppercase()) {
            continue;
        }
        assert!(
            subcommands.contains(first),
            "{file}: `{bin} {}` names no subcommand (it has {subcommands:?})",
            words.join(" ")
        );
        let help =
            String::from_utf8(run(&path, &[first.as_str(), "--help"]).stdout).expect("UTF-8");
        for option in words[1..].iter().filter(|w| w.starts_with("--")) {
            let name = option.split(['=', '[']).next().unwrap_or(option);
            assert!(
                help.contains(name),
                "{file}: `{bin} {}`: {first} has no option {name}",
                words.join(" ")
            );
        }
    }
}
