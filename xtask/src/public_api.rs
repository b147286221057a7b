//! `cargo xtask public-api [--bless]`: the reviewed public API of each library crate.
//!
//! Each crate's public API, as the `public-api` crate lists it from rustdoc's JSON output
//! (built with the nightly toolchain), is kept in `crates/NAME/public-api.txt`, one item a
//! line. Without `--bless` the command compares the current API with that file and fails
//! on any difference, printing the lines added and removed: CI runs it, so a change to a
//! trait boundary cannot land unreviewed. With `--bless` it rewrites the files; review
//! them with `git diff crates/*/public-api.txt` and commit them with the change.

use std::collections::BTreeSet;
use std::path::Path;

use crate::workspace_root;

/// The library crates whose API is kept (all but the benches and xtask).
pub(crate) const CRATES: &[&str] = &[
    "cmwq-list",
    "cmwq-work",
    "cmwq-rescue",
    "cmwq-pool",
    "cmwq-dump",
    "cmwq-sim",
    "cmwq",
];

/// `cargo xtask public-api`'s options.
#[derive(Debug, Clone, Default, clap::Args)]
pub(crate) struct Options {
    /// Rewrite crates/NAME/public-api.txt with the current API instead of comparing.
    #[arg(long)]
    pub(crate) bless: bool,
}

/// The current public API of `krate`, one item a line, sorted.
fn current_api(krate: &str) -> Result<String, String> {
    let root = workspace_root();
    let json = rustdoc_json::Builder::default()
        .toolchain("nightly")
        .manifest_path(root.join("crates").join(krate).join("Cargo.toml"))
        .target_dir(root.join("target").join("public-api"))
        .quiet(true)
        .build()
        .map_err(|e| format!("{krate}: rustdoc JSON could not be built: {e}"))?;
    let api = public_api::Builder::from_rustdoc_json(&json)
        .build()
        .map_err(|e| format!("{krate}: the public API could not be read: {e}"))?;
    let mut text = api.to_string();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    Ok(text)
}

fn snapshot_path(krate: &str) -> std::path::PathBuf {
    workspace_root()
        .join("crates")
        .join(krate)
        .join("public-api.txt")
}

/// Lines of `new` not in `old` (`+`) and of `old` not in `new` (`-`).
fn diff(old: &str, new: &str) -> Vec<String> {
    let old: BTreeSet<&str> = old.lines().collect();
    let new: BTreeSet<&str> = new.lines().collect();
    let mut out: Vec<String> = old.difference(&new).map(|l| format!("- {l}")).collect();
    out.extend(new.difference(&old).map(|l| format!("+ {l}")));
    out
}

pub(crate) fn run(opts: &Options) -> Result<(), String> {
    let mut changed = Vec::new();
    for krate in CRATES {
        let api = current_api(krate)?;
        let path = snapshot_path(krate);
        if opts.bless {
            std::fs::write(&path, &api)
                .map_err(|e| format!("could not write {}: {e}", path.display()))?;
            eprintln!("xtask: wrote {}", relative(&path));
            continue;
        }
        let kept = std::fs::read_to_string(&path).unwrap_or_default();
        let lines = diff(&kept, &api);
        if !lines.is_empty() {
            eprintln!(
                "xtask: the public API of {krate} differs from {}:",
                relative(&path)
            );
            for l in &lines {
                eprintln!("  {l}");
            }
            changed.push(*krate);
        }
    }
    if changed.is_empty() {
        if !opts.bless {
            eprintln!(
                "xtask: the public API of all {} crates matches crates/*/public-api.txt",
                CRATES.len()
            );
        }
        Ok(())
    } else {
        Err(format!(
            "the public API of {} changed without review: if the change is meant, run \
             `cargo xtask public-api --bless` and commit crates/*/public-api.txt",
            changed.join(", ")
        ))
    }
}

fn relative(path: &Path) -> String {
    path.strip_prefix(workspace_root())
        .unwrap_or(path)
        .display()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::diff;

    #[test]
    fn diff_names_added_and_removed_lines() {
        let old = "pub fn a()\npub fn b()\n";
        let new = "pub fn b()\npub fn c()\n";
        assert_eq!(diff(old, new), ["- pub fn a()", "+ pub fn c()"]);
        assert!(diff(old, old).is_empty());
    }
}
