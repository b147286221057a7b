//! Text reports of runs: one run (timeline, dumps, metrics) or several side by side.

use std::fmt::Write as _;

use crate::engine::RunOutput;
use crate::scenario::Scenario;
use crate::time::Pretty;
use crate::timeline::{render_text, render_text_until};

/// Width of the text timeline in reports.
pub const TIMELINE_COLUMNS: usize = 96;

/// The report of one run: the scenario header, the text timeline, every dump and the
/// metrics. Stable text: the snapshot tests store it.
pub fn render_run(scenario: &Scenario, run: &RunOutput) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "scenario: {}", scenario.name);
    let _ = writeln!(out, "policy: {}", run.policy.name());
    let _ = writeln!(out, "{}", scenario.description);
    let _ = writeln!(out);
    let _ = writeln!(out, "-- timeline");
    out.push_str(&render_text(&run.trace, TIMELINE_COLUMNS));
    for d in &run.dumps {
        let _ = writeln!(out);
        let _ = writeln!(out, "-- dump at {}", Pretty(d.at));
        out.push_str(&d.text);
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "-- metrics");
    out.push_str(&run.metrics.to_string());
    if run.unfinished > 0 {
        let _ = writeln!(
            out,
            "STUCK: {} item(s) unfinished when the run stopped",
            run.unfinished
        );
    }
    out
}

/// Lays blocks of text out in columns, each as wide as its longest line, separated by
/// ` | `.
pub fn columns(blocks: &[(String, String)]) -> String {
    let widths: Vec<usize> = blocks
        .iter()
        .map(|(title, body)| {
            body.lines()
                .map(|l| l.chars().count())
                .chain(std::iter::once(title.chars().count()))
                .max()
                .unwrap_or(0)
        })
        .collect();
    let rows = blocks
        .iter()
        .map(|(_, b)| b.lines().count())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    let mut line = |cells: Vec<&str>| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i > 0 {
                s.push_str(" | ");
            }
            let pad = widths[i].saturating_sub(c.chars().count());
            s.push_str(c);
            if i + 1 < cells.len() {
                s.extend(std::iter::repeat_n(' ', pad));
            }
        }
        out.push_str(s.trim_end());
        out.push('\n');
    };
    line(blocks.iter().map(|(t, _)| t.as_str()).collect());
    let bodies: Vec<Vec<&str>> = blocks.iter().map(|(_, b)| b.lines().collect()).collect();
    for r in 0..rows {
        line(
            bodies
                .iter()
                .map(|b| b.get(r).copied().unwrap_or(""))
                .collect(),
        );
    }
    out
}

/// Several runs of one scenario side by side: their timelines one above the other (same
/// time scale per run), then each dump instant with one column per policy, then a metrics
/// table with one column per policy.
pub fn render_side_by_side(scenario: &Scenario, runs: &[RunOutput]) -> String {
    if let [one] = runs {
        return render_run(scenario, one);
    }
    let mut out = String::new();
    let _ = writeln!(out, "scenario: {}", scenario.name);
    let _ = writeln!(out, "{}", scenario.description);
    // One time scale for every run, so their timelines line up.
    let t_max = runs.iter().map(|r| r.trace.end).max().unwrap_or(0);
    for run in runs {
        let _ = writeln!(out);
        let _ = writeln!(out, "-- timeline ({})", run.policy.name());
        out.push_str(&render_text_until(&run.trace, TIMELINE_COLUMNS, t_max));
    }
    let nr_dumps = runs.iter().map(|r| r.dumps.len()).max().unwrap_or(0);
    for i in 0..nr_dumps {
        let at = runs.iter().find_map(|r| r.dumps.get(i)).map_or(0, |d| d.at);
        let _ = writeln!(out);
        let _ = writeln!(out, "-- dump at {}", Pretty(at));
        let blocks: Vec<(String, String)> = runs
            .iter()
            .map(|r| {
                (
                    format!("[{}]", r.policy.name()),
                    r.dumps.get(i).map_or_else(String::new, |d| d.text.clone()),
                )
            })
            .collect();
        out.push_str(&columns(&blocks));
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "-- metrics");
    let names: Vec<String> = runs
        .first()
        .map(|r| r.metrics.lines().into_iter().map(|(k, _)| k).collect())
        .unwrap_or_default();
    let mut blocks = vec![(String::new(), names.join("\n"))];
    for r in runs {
        let values: Vec<String> = r.metrics.lines().into_iter().map(|(_, v)| v).collect();
        blocks.push((r.policy.name().to_owned(), values.join("\n")));
    }
    out.push_str(&columns(&blocks));
    for r in runs.iter().filter(|r| r.unfinished > 0) {
        let _ = writeln!(
            out,
            "STUCK ({}): {} item(s) unfinished when the run stopped",
            r.policy.name(),
            r.unfinished
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_pad_every_cell_but_the_last() {
        let text = columns(&[("a".into(), "x\nlonger".into()), ("b".into(), "y".into())]);
        assert_eq!(text, "a      | b\nx      | y\nlonger |\n");
    }
}
