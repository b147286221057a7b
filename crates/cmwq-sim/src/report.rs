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
    if !run.ops.is_empty() {
        let _ = writeln!(out);
        let _ = writeln!(out, "-- operations");
        for o in &run.ops {
            let _ = writeln!(out, "{:>10}  {}", Pretty(o.at).to_string(), o.text);
        }
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

/// How wide [`render_side_by_side`] keeps its lines: a terminal's 100 columns.
pub const REPORT_WIDTH: usize = 100;

/// How to read a text timeline, printed once before the timelines.
const TIMELINE_LEGEND: &str = "\
-- how to read the timelines
One row per worker (the rescuer's says RESCUER); time runs left to right, from 0 to the
time at the right end, one column per slice of time. In a worker's row a column shows:
  a b c ...  the worker runs an item of that pwq (the letters are listed under each timeline)
  A B C ...  UPPER CASE: the item is asleep or blocked (a `sleep` or `block` step) and keeps
             its worker: no other item runs there meanwhile
  .          the worker is idle (or not created yet)
pressure row: #  memory pressure: every worker creation fails
events row:   M  a mayday: a pool that cannot create a worker calls its workqueue's rescuer
              +  a worker was created    x  a worker creation failed
              (one mark per column: M hides +, + hides x)
";

/// What each metric means, printed under the metrics table.
const METRIC_DEFINITIONS: &[(&str, &str)] = &[
    (
        "queued, finished",
        "queueings that took effect; items whose function returned",
    ),
    (
        "queue-to-start",
        "time from an item's queueing until a worker starts running it (every item of the \
         run: p50, p99 and max, nearest rank)",
    ),
    (
        "queue-to-finish",
        "time from an item's queueing until its function returns",
    ),
    (
        "sibling stall",
        "from the end of the last pressure window until the last sibling item finished \
         (0 if they all finished before). Siblings are the scenario's `siblings` groups, by \
         default the items of a mem_reclaim workqueue that never sleep: work that could run \
         as soon as workers can be created again, unless the rescuer holds it",
    ),
    (
        "maydays",
        "how often a pool that could not create a worker called a rescuer",
    ),
    ("rescued", "items a rescuer ran"),
    (
        "rescuer nodes visited",
        "worklist entries (items and cursors) the rescuer policy looked at; per rescued item, \
         its scan cost",
    ),
    (
        "worker creations",
        "workers created; creation failures: attempts that failed under pressure",
    ),
    ("end", "the virtual instant the run ended"),
    (
        "[GROUP]",
        "the same latency, for one item group of the scenario",
    ),
];

/// Several runs of one scenario, fitted to [`REPORT_WIDTH`] columns: a legend, their
/// timelines one above the other on one time scale, each dump instant with one column per
/// policy when that fits (else one policy after the other, long lines wrapped), then a
/// metrics table with one column per policy and what each metric means. This is what
/// `cmwq-sim run` prints; [`render_run`] is the stable per-run form the snapshots store.
pub fn render_side_by_side(scenario: &Scenario, runs: &[RunOutput]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "scenario: {}", scenario.name);
    if let [one] = runs {
        let _ = writeln!(out, "policy: {}", one.policy.name());
    }
    out.push_str(&fill(&scenario.description, ""));
    let _ = writeln!(out);
    out.push_str(TIMELINE_LEGEND);
    // One time scale for every run, so their timelines line up, and one width that fits.
    let t_max = runs.iter().map(|r| r.trace.end).max().unwrap_or(0);
    let label = runs
        .iter()
        .map(|r| crate::timeline::text_label_width(&r.trace))
        .max()
        .unwrap_or(8);
    let width = REPORT_WIDTH.saturating_sub(label + 3).max(20);
    for run in runs {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "-- timeline ({}): one column = {}",
            run.policy.name(),
            Pretty(t_max.max(1).div_ceil(width as u64))
        );
        out.push_str(&render_text_until(&run.trace, width, t_max));
    }
    let nr_dumps = runs.iter().map(|r| r.dumps.len()).max().unwrap_or(0);
    for i in 0..nr_dumps {
        let at = runs.iter().find_map(|r| r.dumps.get(i)).map_or(0, |d| d.at);
        let blocks: Vec<(String, String)> = runs
            .iter()
            .map(|r| {
                (
                    format!("[{}]", r.policy.name()),
                    r.dumps.get(i).map_or_else(String::new, |d| d.text.clone()),
                )
            })
            .collect();
        let side = columns(&blocks);
        let _ = writeln!(out);
        if side.lines().all(|l| l.chars().count() <= REPORT_WIDTH) {
            let _ = writeln!(out, "-- dump at {}", Pretty(at));
            out.push_str(&side);
        } else {
            for (j, (title, body)) in blocks.iter().enumerate() {
                if j > 0 {
                    let _ = writeln!(out);
                }
                let _ = writeln!(out, "-- dump at {} {title}", Pretty(at));
                for line in body.lines() {
                    let indent = &line[..line.len() - line.trim_start().len()];
                    out.push_str(&fill(line, &format!("{indent}      ")));
                }
            }
        }
    }
    for run in runs.iter().filter(|r| !r.ops.is_empty()) {
        let _ = writeln!(out);
        let _ = writeln!(out, "-- operations ({})", run.policy.name());
        for o in &run.ops {
            let _ = writeln!(out, "{:>10}  {}", Pretty(o.at).to_string(), o.text);
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(out, "-- metrics");
    out.push_str(&metrics_table(runs));
    let _ = writeln!(out);
    let _ = writeln!(out, "-- what the metrics mean");
    let key_width = METRIC_DEFINITIONS
        .iter()
        .map(|(k, _)| k.len())
        .max()
        .unwrap_or(0);
    for (key, meaning) in METRIC_DEFINITIONS {
        let first = format!("{key:<key_width$}  {meaning}");
        out.push_str(&fill(&first, &" ".repeat(key_width + 2)));
    }
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

/// `text` wrapped to [`REPORT_WIDTH`], continuation lines starting with `indent`; ends
/// with a newline.
fn fill(text: &str, indent: &str) -> String {
    let options = textwrap::Options::new(REPORT_WIDTH)
        .subsequent_indent(indent)
        .break_words(false);
    let mut out = textwrap::fill(text, options);
    out.push('\n');
    out
}

/// The metrics of several runs as one table, a column per policy; each latency is three
/// rows (p50, p99, max) so that the table stays narrow.
fn metrics_table(runs: &[RunOutput]) -> String {
    use crate::metrics::{Metrics, Percentiles};
    /// Adds a row: its label and how to read its value from one run's metrics.
    type AddRow<'a> = dyn FnMut(String, &dyn Fn(&Metrics) -> String) + 'a;
    let mut rows: Vec<(String, Vec<String>)> = Vec::new();
    let mut row = |label: String, value: &dyn Fn(&Metrics) -> String| {
        rows.push((label, runs.iter().map(|r| value(&r.metrics)).collect()));
    };
    let latency = |row: &mut AddRow<'_>, name: &str, get: &dyn Fn(&Metrics) -> Percentiles| {
        row(format!("{name} p50"), &|m| Pretty(get(m).p50).to_string());
        let pad = " ".repeat(name.len());
        row(format!("{pad} p99"), &|m| Pretty(get(m).p99).to_string());
        row(format!("{pad} max"), &|m| Pretty(get(m).max).to_string());
    };
    row("queued".into(), &|m| m.queued.to_string());
    row("finished".into(), &|m| m.finished.to_string());
    latency(&mut row, "queue-to-start", &|m| m.queue_to_start);
    latency(&mut row, "queue-to-finish", &|m| m.queue_to_finish);
    row("sibling stall".into(), &|m| {
        m.sibling_stall
            .map_or_else(|| "-".to_owned(), |v| Pretty(v).to_string())
    });
    row("maydays".into(), &|m| m.maydays.to_string());
    row("rescued".into(), &|m| m.rescued.to_string());
    row("rescuer nodes visited".into(), &|m| {
        m.rescuer_nodes_visited.to_string()
    });
    row("  per rescued item".into(), &|m| {
        m.nodes_per_rescued()
            .map_or_else(|| "-".to_owned(), |v| format!("{v:.2}"))
    });
    row("worker creations".into(), &|m| m.creations.to_string());
    row("creation failures".into(), &|m| {
        m.creation_failures.to_string()
    });
    row("end".into(), &|m| Pretty(m.end).to_string());
    let groups: Vec<String> = runs
        .first()
        .map(|r| r.metrics.groups.iter().map(|g| g.group.clone()).collect())
        .unwrap_or_default();
    for (g, name) in groups.iter().enumerate() {
        let of = |m: &Metrics| m.groups.get(g).cloned().unwrap_or_default();
        latency(&mut row, &format!("queue-to-start[{name}]"), &|m| {
            of(m).queue_to_start
        });
        latency(&mut row, &format!("queue-to-finish[{name}]"), &|m| {
            of(m).queue_to_finish
        });
    }
    let mut blocks = vec![(
        String::new(),
        rows.iter()
            .map(|(k, _)| k.as_str())
            .collect::<Vec<_>>()
            .join("\n"),
    )];
    for (i, r) in runs.iter().enumerate() {
        let values: Vec<&str> = rows.iter().map(|(_, v)| v[i].as_str()).collect();
        blocks.push((r.policy.name().to_owned(), values.join("\n")));
    }
    columns(&blocks)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reported_case_report() -> String {
        let scenario = crate::library::reported_case();
        let runs: Vec<RunOutput> = crate::PolicyChoice::All
            .expand()
            .iter()
            .map(|&p| crate::run(&scenario, p).unwrap())
            .collect();
        render_side_by_side(&scenario, &runs)
    }

    #[test]
    fn command_line_report_fits_a_100_column_terminal() {
        let text = reported_case_report();
        for line in text.lines() {
            assert!(line.chars().count() <= REPORT_WIDTH, "too wide: {line:?}");
        }
        // Slurp's in-flight line lists every slurped sibling: wrapped, none lost.
        let slurp_dump = text
            .split("-- dump at 500ms [slurp]")
            .nth(1)
            .and_then(|rest| rest.split("-- dump at").next())
            .expect("slurp's dump at 500ms is there");
        assert_eq!(slurp_dump.matches("xfs_end_io_sibling").count(), 8);
    }

    #[test]
    fn command_line_report_explains_its_letters_and_metrics() {
        let text = reported_case_report();
        assert!(text.contains("UPPER CASE: the item is asleep or blocked"));
        for mark in [
            "#  memory pressure",
            "M  a mayday",
            "+  a worker was created",
            "x  a worker creation failed",
        ] {
            assert!(text.contains(mark), "legend lacks {mark:?}");
        }
        let definitions = text.split("-- what the metrics mean").nth(1).unwrap();
        assert!(
            definitions.contains("sibling stall          from the end of the last pressure window")
        );
        assert!(text.contains("-- timeline (slurp): one column = "));
    }

    #[test]
    fn columns_pad_every_cell_but_the_last() {
        let text = columns(&[("a".into(), "x\nlonger".into()), ("b".into(), "y".into())]);
        assert_eq!(text, "a      | b\nx      | y\nlonger |\n");
    }
}
