//! The README's picture of the reported case, `docs/reported-case.svg`, is what
//! [`cmwq_sim::reported_case_svg`] draws today (Slurp above Cursor on one time axis).
//!
//! The file is checked in so the README can show it; this test fails when it is missing or
//! stale. `cargo xtask snapshots` regenerates it (it runs this test with
//! `CMWQ_UPDATE_DOCS=1`, which rewrites the file instead of comparing; refused on CI).

use std::path::PathBuf;

/// The command that regenerates the file, named in every failure message.
const REGENERATE: &str = "cargo xtask snapshots";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn is_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

fn update_requested() -> bool {
    std::env::var("CMWQ_UPDATE_DOCS").is_ok_and(|v| !v.is_empty() && v != "0")
}

#[test]
fn reported_case_svg_in_docs_is_up_to_date() {
    let path = root().join("docs/reported-case.svg");
    let svg = cmwq_sim::reported_case_svg().expect("the reported case runs");
    if update_requested() {
        assert!(
            !is_ci(),
            "CI is set together with CMWQ_UPDATE_DOCS: CI must compare docs/reported-case.svg, \
             not rewrite it"
        );
        std::fs::write(&path, &svg).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
        return;
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{} is missing ({e}): generate it with `{REGENERATE}`",
            path.display()
        )
    });
    if on_disk != svg {
        let line = on_disk
            .lines()
            .zip(svg.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| on_disk.lines().count().min(svg.lines().count()));
        panic!(
            "docs/reported-case.svg is stale: it differs from cmwq_sim::reported_case_svg() \
             from line {} on; regenerate it with `{REGENERATE}` and review `git diff docs/`",
            line + 1
        );
    }
}

#[test]
fn readme_shows_the_reported_case_timeline() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md is readable");
    assert!(
        readme.contains("](docs/reported-case.svg)"),
        "README.md must show docs/reported-case.svg as an image"
    );
}
