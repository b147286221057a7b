//! JSON side files: the figures criterion does not measure, for the ab-bench report.
//!
//! Each bench writes `<dir>/<bench>.json`, where `<dir>` is `$CMWQ_AB_BENCH_SIDE_DIR`
//! when set (`cargo xtask ab-bench` sets it) and otherwise `target/ab-bench/side` of the
//! workspace (`$CARGO_TARGET_DIR/ab-bench/side` when that is set).

use std::path::PathBuf;

/// The directory the side files go to.
pub fn side_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CMWQ_AB_BENCH_SIDE_DIR") {
        return PathBuf::from(dir);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
            manifest.parent().unwrap_or(&manifest).join("target")
        });
    target.join("ab-bench").join("side")
}

/// Writes `value` (pretty-printed) to `<side_dir>/<bench>.json` and says where on stderr.
///
/// A bench that cannot write its side file still has its criterion figures, so failure
/// is reported, not fatal.
pub fn write(bench: &str, value: &serde_json::Value) {
    let dir = side_dir();
    let path = dir.join(format!("{bench}.json"));
    let result = std::fs::create_dir_all(&dir).and_then(|()| {
        let text = serde_json::to_string_pretty(value).map_err(std::io::Error::other)?;
        std::fs::write(&path, text)
    });
    match result {
        Ok(()) => eprintln!("side file: {}", path.display()),
        Err(e) => eprintln!("could not write side file {}: {e}", path.display()),
    }
}
