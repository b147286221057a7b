//! Tidy checks over the workspace, written as tests so plain `cargo test` enforces them
//! (the rust-analyzer habit): layout, lints, unsafe hygiene, docs, pending snapshots.

use std::fs;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn crate_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = fs::read_dir(root().join("crates"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("Cargo.toml").is_file())
        .collect();
    dirs.sort();
    dirs
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n == "target") {
                continue;
            }
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn all_rust_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for top in ["crates", "benches", "xtask"] {
        rust_files(&root().join(top), &mut files);
    }
    files
}

#[test]
fn every_crate_folder_is_named_as_its_crate() {
    for dir in crate_dirs() {
        let manifest = fs::read_to_string(dir.join("Cargo.toml")).unwrap();
        let folder = dir.file_name().unwrap().to_str().unwrap();
        let expected = format!("name = \"{folder}\"");
        assert!(
            manifest.lines().any(|l| l.trim() == expected),
            "{} should declare `{expected}`",
            dir.display()
        );
    }
}

#[test]
fn every_package_uses_the_workspace_lints() {
    let mut manifests: Vec<PathBuf> = crate_dirs().iter().map(|d| d.join("Cargo.toml")).collect();
    manifests.push(root().join("benches/Cargo.toml"));
    manifests.push(root().join("xtask/Cargo.toml"));
    for manifest in manifests {
        let text = fs::read_to_string(&manifest).unwrap();
        assert!(
            text.contains("[lints]\nworkspace = true"),
            "{} must have `[lints] workspace = true`",
            manifest.display()
        );
    }
}

/// Every `unsafe` block and `unsafe impl` carries a `// SAFETY:` comment on one of the
/// lines just above it (or on the same line); clippy checks blocks, this also checks impls
/// in every target, tests included.
#[test]
fn every_unsafe_block_and_impl_is_argued() {
    let mut missing = Vec::new();
    for file in all_rust_files() {
        if file.ends_with("tidy.rs") {
            continue;
        }
        let text = fs::read_to_string(&file).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            let needs = code.contains("unsafe {") || code.trim_start().starts_with("unsafe impl");
            if !needs {
                continue;
            }
            let window = &lines[i.saturating_sub(8)..=i];
            if !window.iter().any(|l| l.contains("SAFETY:")) {
                missing.push(format!("{}:{}", file.display(), i + 1));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "unsafe without a `// SAFETY:` argument at:\n{}",
        missing.join("\n")
    );
}

#[test]
fn every_crate_root_starts_with_crate_docs() {
    for dir in crate_dirs() {
        let lib = dir.join("src/lib.rs");
        let text = fs::read_to_string(&lib).unwrap();
        assert!(
            text.trim_start().starts_with("//!"),
            "{} must open with `//!` crate docs",
            lib.display()
        );
    }
}

#[test]
fn readme_names_every_crate() {
    let readme = fs::read_to_string(root().join("README.md")).unwrap();
    for dir in crate_dirs() {
        let name = dir.file_name().unwrap().to_str().unwrap();
        assert!(
            readme.contains(name),
            "README.md should say what `{name}` is for"
        );
    }
}

#[test]
fn no_unreviewed_snapshots_are_left_behind() {
    let mut pending = Vec::new();
    let mut stack = vec![root().join("snapshots"), root().join("crates")];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.to_string_lossy().ends_with(".snap.new") {
                pending.push(path.display().to_string());
            }
        }
    }
    assert!(pending.is_empty(), "unreviewed snapshots: {pending:?}");
}

/// The test targets a command line names with `--test NAME` (in `ci.yml` or the xtask's
/// test, CI and snapshot commands) exist as `crates/*/tests/NAME.rs` (or `NAME/main.rs`): a renamed test
/// file must not leave CI running nothing, or failing on a target that is gone.
#[test]
fn every_test_target_named_by_ci_exists() {
    let sources = [
        root().join(".github/workflows/ci.yml"),
        root().join("xtask/src/ci.rs"),
        root().join("xtask/src/snapshots.rs"),
    ];
    let exists = |name: &str| {
        crate_dirs().iter().any(|dir| {
            dir.join("tests").join(format!("{name}.rs")).is_file()
                || dir.join("tests").join(name).join("main.rs").is_file()
        })
    };
    for source in sources {
        let text = fs::read_to_string(&source).unwrap();
        // Shell lines (`--test NAME`) and Rust string arrays (`"--test", "NAME"`).
        let words: Vec<&str> = text
            .split(|c: char| c.is_whitespace() || c == '"' || c == ',' || c == '[' || c == ']')
            .filter(|w| !w.is_empty())
            .collect();
        for pair in words.windows(2) {
            if pair[0] == "--test" {
                assert!(
                    exists(pair[1]),
                    "{} runs `--test {}`, but no crates/*/tests/{}.rs exists",
                    source.display(),
                    pair[1],
                    pair[1]
                );
            }
        }
    }
}
