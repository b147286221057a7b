//! What the benches left behind: criterion's estimates and the benches' JSON side files.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::SystemTime;

use serde_json::Value;

/// A point estimate in nanoseconds with criterion's confidence interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Estimate {
    pub(crate) point: f64,
    pub(crate) lower: f64,
    pub(crate) upper: f64,
}

impl Estimate {
    fn from_json(v: &Value) -> Option<Self> {
        let ci = v.get("confidence_interval")?;
        Some(Self {
            point: v.get("point_estimate")?.as_f64()?,
            lower: ci.get("lower_bound")?.as_f64()?,
            upper: ci.get("upper_bound")?.as_f64()?,
        })
    }

    /// `self / other` with a conservative interval: the ratio of the intervals' opposite
    /// ends (numerator's lower over denominator's upper, and the reverse).
    pub(crate) fn ratio(&self, other: &Estimate) -> Ratio {
        Ratio {
            point: self.point / other.point,
            lower: self.lower / other.upper,
            upper: self.upper / other.lower,
        }
    }
}

/// A ratio of two estimates with its spread.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Ratio {
    pub(crate) point: f64,
    pub(crate) lower: f64,
    pub(crate) upper: f64,
}

/// One criterion benchmark: `<group>/<function>/<parameter>`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Bench {
    pub(crate) group: String,
    pub(crate) function: String,
    pub(crate) parameter: Option<String>,
    /// Median time of one iteration.
    pub(crate) median: Estimate,
    /// Elements per iteration, when the bench declared a throughput.
    pub(crate) elements: Option<u64>,
    /// The median of the baseline run compared against (`--baseline NAME`), when present.
    pub(crate) baseline_median: Option<Estimate>,
}

impl Bench {
    /// Elements per second at the median time.
    pub(crate) fn elements_per_sec(&self) -> Option<f64> {
        self.elements.map(|n| n as f64 * 1e9 / self.median.point)
    }
}

/// Every benchmark read from a criterion output directory, keyed by group.
#[derive(Debug, Default, Clone)]
pub(crate) struct Results {
    pub(crate) groups: BTreeMap<String, Vec<Bench>>,
}

impl Results {
    /// Reads `<criterion_dir>/<group>/**/<run>/{benchmark,estimates}.json` for every group,
    /// where `run` is `new` or the name given to `--save-baseline`; with `baseline`, also
    /// that baseline's estimates beside them. With `since`, estimates written before it
    /// (benchmarks an earlier run measured and this one left out) are skipped.
    /// Unreadable entries are skipped with a note.
    pub(crate) fn read(
        criterion_dir: &Path,
        run: &str,
        baseline: Option<&str>,
        since: Option<SystemTime>,
    ) -> Self {
        let mut results = Results::default();
        let mut stack = vec![criterion_dir.to_path_buf()];
        while let Some(dir) = stack.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                if !path.is_dir() {
                    continue;
                }
                if path.file_name().is_some_and(|n| n == run) {
                    let fresh = since.is_none_or(|t| {
                        std::fs::metadata(path.join("estimates.json"))
                            .and_then(|m| m.modified())
                            .is_ok_and(|m| m >= t)
                    });
                    if !fresh {
                        continue;
                    }
                    if let Some(bench) = read_bench(&path, baseline) {
                        results
                            .groups
                            .entry(bench.group.clone())
                            .or_default()
                            .push(bench);
                    }
                } else if path.file_name().is_none_or(|n| n != "report") {
                    stack.push(path);
                }
            }
        }
        for benches in results.groups.values_mut() {
            benches.sort_by(|a, b| (&a.function, param_key(a)).cmp(&(&b.function, param_key(b))));
        }
        results
    }

    /// The benchmarks of `group` (empty when it did not run).
    pub(crate) fn group(&self, group: &str) -> &[Bench] {
        self.groups.get(group).map_or(&[], Vec::as_slice)
    }

    /// One benchmark by group, function and parameter.
    pub(crate) fn get(
        &self,
        group: &str,
        function: &str,
        parameter: Option<&str>,
    ) -> Option<&Bench> {
        self.group(group)
            .iter()
            .find(|b| b.function == function && b.parameter.as_deref() == parameter)
    }
}

/// Sort key: numeric parameters in numeric order.
fn param_key(b: &Bench) -> (u64, String) {
    let p = b.parameter.clone().unwrap_or_default();
    (p.parse().unwrap_or(u64::MAX), p)
}

fn read_json(path: &Path) -> Option<Value> {
    let text = std::fs::read_to_string(path).ok()?;
    match serde_json::from_str(&text) {
        Ok(v) => Some(v),
        Err(e) => {
            eprintln!("ab-bench: skipping {}: {e}", path.display());
            None
        }
    }
}

fn read_bench(run_dir: &Path, baseline: Option<&str>) -> Option<Bench> {
    let meta = read_json(&run_dir.join("benchmark.json"))?;
    let estimates = read_json(&run_dir.join("estimates.json"))?;
    let baseline_median = baseline.and_then(|name| {
        let est = read_json(&run_dir.parent()?.join(name).join("estimates.json"))?;
        Estimate::from_json(est.get("median")?)
    });
    Some(Bench {
        group: meta.get("group_id")?.as_str()?.to_owned(),
        function: meta
            .get("function_id")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned(),
        parameter: meta
            .get("value_str")
            .and_then(Value::as_str)
            .map(str::to_owned),
        median: Estimate::from_json(estimates.get("median")?)?,
        elements: meta
            .get("throughput")
            .and_then(|t| t.get("Elements"))
            .and_then(Value::as_u64),
        baseline_median,
    })
}

/// The benches' side files: `<side_dir>/<bench>.json`, by bench name.
#[derive(Debug, Default, Clone)]
pub(crate) struct SideFiles {
    pub(crate) files: BTreeMap<String, Value>,
}

impl SideFiles {
    /// Reads every `*.json` in `dir` (none when it does not exist).
    pub(crate) fn read(dir: &Path) -> Self {
        let mut files = BTreeMap::new();
        if let Ok(entries) = std::fs::read_dir(dir) {
            for entry in entries.flatten() {
                let path = entry.path();
                if path.extension().is_some_and(|e| e == "json") {
                    if let (Some(stem), Some(v)) =
                        (path.file_stem().and_then(|s| s.to_str()), read_json(&path))
                    {
                        files.insert(stem.to_owned(), v);
                    }
                }
            }
        }
        Self { files }
    }

    /// The side file of `bench`, if it wrote one.
    pub(crate) fn get(&self, bench: &str) -> Option<&Value> {
        self.files.get(bench)
    }
}
