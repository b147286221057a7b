//! Timelines of a run: an SVG picture (built with the `svg` crate) and a text one.
//!
//! The picture has one lane per worker (the rescuer's lane tinted and labelled
//! `(RESCUER)`), time left to right; every run of a work item is a bar from start to
//! finish coloured by its pwq, lighter where it slept, with a thin whisker back to the
//! instant it was queued; memory-pressure windows are shaded; maydays and worker creations
//! (successful and failed) are ticks on the row above the lanes. Hovering a bar shows the
//! item's name and times (SVG `<title>`). Several runs stack on one time axis, so Slurp and
//! Cursor of one scenario compare at a glance. The output depends on the traces only, so
//! it is deterministic for a seed.

use std::fmt::Write as _;

use svg::Document;
use svg::node::element::{Circle, Group, Line, Rectangle, Text, Title};

use crate::time::{NSEC_PER_MSEC, NSEC_PER_SEC, Nanos, Pretty};
use crate::trace::{Trace, TraceKind, WorkerIdx};

/// Colours of pwqs, in pwq order (Tableau 10).
const PALETTE: [&str; 10] = [
    "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f", "#bab0ac",
];

const WIDTH: f64 = 1200.0;
/// Smallest width of the lane-label column.
const MIN_LEFT: f64 = 130.0;
/// Approximate advance of one bold 11px character, to size the label column.
const LABEL_CHAR_W: f64 = 7.0;
const RIGHT: f64 = 24.0;
const LANE_H: f64 = 16.0;
const LANE_GAP: f64 = 4.0;
const TICK_ROW_H: f64 = 18.0;
const PANEL_TITLE_H: f64 = 22.0;
const AXIS_H: f64 = 30.0;
const PANEL_GAP: f64 = 18.0;
const LEGEND_ROW_H: f64 = 18.0;
const FONT: &str = "DejaVu Sans, Verdana, sans-serif";

fn r2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// The pwq colour of index `i`.
pub fn pwq_colour(i: u32) -> &'static str {
    PALETTE[i as usize % PALETTE.len()]
}

struct Scale {
    t_max: Nanos,
    /// Left edge of the plot (right edge of the lane labels).
    left: f64,
    plot_w: f64,
}

impl Scale {
    fn x(&self, t: Nanos) -> f64 {
        r2(self.left + (t.min(self.t_max) as f64) / (self.t_max as f64) * self.plot_w)
    }
    /// Width of `[a, b)`, never thinner than one pixel.
    fn w(&self, a: Nanos, b: Nanos) -> f64 {
        r2((self.x(b) - self.x(a)).max(1.0))
    }
}

/// A step of about one eighth of `span` from the 1-2-5 series.
fn tick_step(span: Nanos) -> Nanos {
    let target = (span / 8).max(1);
    let mut step: Nanos = 1;
    loop {
        for m in [1, 2, 5] {
            if step.saturating_mul(m) >= target {
                return step.saturating_mul(m);
            }
        }
        step = step.saturating_mul(10);
    }
}

/// An axis label in ms or s.
fn axis_label(t: Nanos, span: Nanos) -> String {
    if span >= 2 * NSEC_PER_SEC {
        let s = t as f64 / NSEC_PER_SEC as f64;
        format!("{}s", trim(s))
    } else if span >= 2 * NSEC_PER_MSEC {
        let ms = t as f64 / NSEC_PER_MSEC as f64;
        format!("{}ms", trim(ms))
    } else {
        format!("{}us", trim(t as f64 / 1000.0))
    }
}

fn trim(v: f64) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_owned()
}

fn lanes(trace: &Trace) -> Vec<WorkerIdx> {
    let mut lanes: Vec<WorkerIdx> = (0..trace.workers.len() as u32).collect();
    // Normal workers by pool then id, rescuers last.
    lanes.sort_by_key(|&w| {
        let info = &trace.workers[w as usize];
        (info.rescuer, info.pool, info.id)
    });
    lanes
}

fn panel_height(trace: &Trace) -> f64 {
    PANEL_TITLE_H + TICK_ROW_H + lanes(trace).len() as f64 * (LANE_H + LANE_GAP) + AXIS_H
}

fn label(x: f64, y: f64, text: impl Into<String>, size: u32) -> Text {
    Text::new(text)
        .set("x", r2(x))
        .set("y", r2(y))
        .set("font-family", FONT)
        .set("font-size", size)
}

fn panel(trace: &Trace, scale: &Scale, top: f64) -> Group {
    let mut g = Group::new().set("class", "run");
    let lanes = lanes(trace);
    let lanes_top = top + PANEL_TITLE_H + TICK_ROW_H;
    let lanes_bottom = lanes_top + lanes.len() as f64 * (LANE_H + LANE_GAP);
    let policy = trace.policy.map_or("", |p| p.name());
    g = g.add(
        label(
            8.0,
            top + 15.0,
            format!("{} \u{2014} {policy}", trace.scenario),
            14,
        )
        .set("font-weight", "bold"),
    );

    // Lane backgrounds and labels.
    for (row, &w) in lanes.iter().enumerate() {
        let y = lanes_top + row as f64 * (LANE_H + LANE_GAP);
        let info = &trace.workers[w as usize];
        g = g.add(
            Rectangle::new()
                .set("x", scale.left)
                .set("y", r2(y))
                .set("width", r2(scale.plot_w))
                .set("height", LANE_H)
                .set("fill", if info.rescuer { "#fde9c9" } else { "#f3f3f3" }),
        );
        let mut text = label(
            scale.left - 6.0,
            y + LANE_H - 4.0,
            trace.worker_label(w),
            11,
        )
        .set("text-anchor", "end");
        if info.rescuer {
            text = text.set("font-weight", "bold").set("fill", "#a34400");
        }
        g = g.add(text);
    }

    // Pressure windows, over the lane backgrounds, under the bars.
    for &(a, b) in &trace.pressure {
        g = g.add(
            Rectangle::new()
                .set("x", scale.x(a))
                .set("y", r2(top + PANEL_TITLE_H))
                .set("width", scale.w(a, b))
                .set("height", r2(lanes_bottom - top - PANEL_TITLE_H))
                .set("fill", "#d62728")
                .set("fill-opacity", 0.10)
                .add(Title::new(format!(
                    "memory pressure {}..{}: worker creation fails",
                    Pretty(a),
                    Pretty(b)
                ))),
        );
    }

    // Item bars.
    let row_of = |w: WorkerIdx| lanes.iter().position(|&l| l == w).unwrap_or(0);
    for span in trace.spans() {
        let y = lanes_top + row_of(span.worker) as f64 * (LANE_H + LANE_GAP);
        let info = &trace.items[span.item as usize];
        let colour = pwq_colour(info.pwq);
        let name = trace.item_label(span.item);
        let tip = format!(
            "{name} ({pwq}) on {worker}: queued {q}, started {s}, {fin} {e}",
            pwq = trace.pwqs[info.pwq as usize].label,
            worker = trace.worker_label(span.worker),
            q = Pretty(span.queued),
            s = Pretty(span.start),
            fin = if span.finished {
                "finished"
            } else {
                "still running at"
            },
            e = Pretty(span.end),
        );
        // Waiting (queued -> started): a dashed line along the lane's lower edge, in the
        // lane of the worker that ran the item, visible over other items' bars.
        let wait_y = r2(y + LANE_H - 2.5);
        if span.start > span.queued {
            g = g.add(
                Line::new()
                    .set("x1", scale.x(span.queued))
                    .set("x2", scale.x(span.start))
                    .set("y1", wait_y)
                    .set("y2", wait_y)
                    .set("stroke", colour)
                    .set("stroke-width", 1.2)
                    .set("stroke-dasharray", "4 2"),
            );
        }
        g = g.add(
            Circle::new()
                .set("cx", scale.x(span.queued))
                .set("cy", wait_y)
                .set("r", 2.2)
                .set("fill", colour)
                .set("stroke", "#333")
                .set("stroke-width", 0.4),
        );
        let mut bar = Group::new().add(Title::new(tip)).add(
            Rectangle::new()
                .set("x", scale.x(span.start))
                .set("y", r2(y + 1.0))
                .set("width", scale.w(span.start, span.end))
                .set("height", LANE_H - 2.0)
                .set("fill", colour)
                .set("stroke", "#333")
                .set("stroke-width", 0.3),
        );
        for &(a, b) in &span.sleeps {
            bar = bar.add(
                Rectangle::new()
                    .set("x", scale.x(a))
                    .set("y", r2(y + 1.0))
                    .set("width", scale.w(a, b))
                    .set("height", LANE_H - 2.0)
                    .set("fill", "#ffffff")
                    .set("fill-opacity", 0.55),
            );
        }
        g = g.add(bar);
    }

    // Tick row: maydays and creations.
    let tick_top = top + PANEL_TITLE_H + 2.0;
    g = g.add(
        label(scale.left - 6.0, tick_top + 11.0, "maydays / creations", 10)
            .set("text-anchor", "end")
            .set("fill", "#555"),
    );
    for ev in &trace.events {
        let (colour, dy, what) = match ev.kind {
            TraceKind::Mayday { pwq } => (
                "#d62728",
                0.0,
                format!("mayday for {}", trace.pwqs[pwq as usize].label),
            ),
            TraceKind::CreateOk { pool, worker } => (
                "#2ca02c",
                5.0,
                format!(
                    "created {} for pool {}",
                    trace.workers[worker as usize].name, trace.pools[pool as usize].label
                ),
            ),
            TraceKind::CreateFailed { pool } => (
                "#7f7f7f",
                5.0,
                format!(
                    "worker creation failed for pool {}",
                    trace.pools[pool as usize].label
                ),
            ),
            _ => continue,
        };
        let x = scale.x(ev.t);
        g = g.add(
            Group::new()
                .add(Title::new(format!("{what} at {}", Pretty(ev.t))))
                .add(
                    Line::new()
                        .set("x1", x)
                        .set("x2", x)
                        .set("y1", r2(tick_top + dy))
                        .set("y2", r2(tick_top + dy + 9.0))
                        .set("stroke", colour)
                        .set("stroke-width", 1.5),
                ),
        );
    }

    // Time axis.
    let axis_y = r2(lanes_bottom + 2.0);
    g = g.add(
        Line::new()
            .set("x1", scale.left)
            .set("x2", r2(scale.left + scale.plot_w))
            .set("y1", axis_y)
            .set("y2", axis_y)
            .set("stroke", "#333"),
    );
    let step = tick_step(scale.t_max);
    let mut t = 0;
    while t <= scale.t_max {
        let x = scale.x(t);
        g = g
            .add(
                Line::new()
                    .set("x1", x)
                    .set("x2", x)
                    .set("y1", axis_y)
                    .set("y2", r2(axis_y + 4.0))
                    .set("stroke", "#333"),
            )
            .add(
                label(x, axis_y + 15.0, axis_label(t, scale.t_max), 10)
                    .set("text-anchor", "middle"),
            );
        t += step;
    }
    g
}

fn legend(traces: &[&Trace]) -> (Group, f64) {
    let mut g = Group::new().set("class", "legend");
    let mut entries: Vec<(String, &str, &str)> = Vec::new();
    // The pwqs that have items, labelled from the first trace that has them.
    let nr_pwqs = traces.iter().map(|t| t.pwqs.len()).max().unwrap_or(0);
    for p in 0..nr_pwqs {
        let used = traces
            .iter()
            .find(|t| t.pwqs.len() > p && t.items.iter().any(|i| i.pwq as usize == p));
        if let Some(t) = used {
            entries.push((
                format!("pwq {}", t.pwqs[p].label),
                pwq_colour(p as u32),
                "bar",
            ));
        }
    }
    entries.push(("sleeping (lighter)".into(), "#b0b0b0", "sleep"));
    entries.push(("memory pressure".into(), "#d62728", "pressure"));
    entries.push(("mayday".into(), "#d62728", "tick"));
    entries.push(("worker created".into(), "#2ca02c", "tick"));
    entries.push(("creation failed".into(), "#7f7f7f", "tick"));
    entries.push(("queued \u{2192} started".into(), "#4e79a7", "queue"));

    let mut x = 8.0;
    let mut y = 8.0;
    for (text, colour, kind) in entries {
        let w = 30.0 + 6.5 * text.chars().count() as f64;
        if x + w > WIDTH - RIGHT {
            x = 8.0;
            y += LEGEND_ROW_H;
        }
        let swatch: Group = match kind {
            "sleep" => Group::new()
                .add(
                    Rectangle::new()
                        .set("x", r2(x))
                        .set("y", r2(y + 3.0))
                        .set("width", 18)
                        .set("height", 10)
                        .set("fill", pwq_colour(0)),
                )
                .add(
                    Rectangle::new()
                        .set("x", r2(x))
                        .set("y", r2(y + 3.0))
                        .set("width", 18)
                        .set("height", 10)
                        .set("fill", "#ffffff")
                        .set("fill-opacity", 0.55),
                ),
            "bar" => Group::new().add(
                Rectangle::new()
                    .set("x", r2(x))
                    .set("y", r2(y + 3.0))
                    .set("width", 18)
                    .set("height", 10)
                    .set("fill", colour),
            ),
            "pressure" => Group::new().add(
                Rectangle::new()
                    .set("x", r2(x))
                    .set("y", r2(y + 1.0))
                    .set("width", 18)
                    .set("height", 14)
                    .set("fill", colour)
                    .set("fill-opacity", 0.15),
            ),
            "tick" => Group::new().add(
                Line::new()
                    .set("x1", r2(x + 9.0))
                    .set("x2", r2(x + 9.0))
                    .set("y1", r2(y + 2.0))
                    .set("y2", r2(y + 14.0))
                    .set("stroke", colour)
                    .set("stroke-width", 1.5),
            ),
            _ => Group::new()
                .add(
                    Line::new()
                        .set("x1", r2(x + 2.0))
                        .set("x2", r2(x + 18.0))
                        .set("y1", r2(y + 8.0))
                        .set("y2", r2(y + 8.0))
                        .set("stroke", colour)
                        .set("stroke-width", 1.2)
                        .set("stroke-dasharray", "4 2"),
                )
                .add(
                    Circle::new()
                        .set("cx", r2(x + 2.0))
                        .set("cy", r2(y + 8.0))
                        .set("r", 2.2)
                        .set("fill", colour)
                        .set("stroke", "#333")
                        .set("stroke-width", 0.4),
                ),
        };
        g = g.add(swatch).add(label(x + 22.0, y + 12.0, text, 11));
        x += w;
    }
    (g, y + LEGEND_ROW_H + 6.0)
}

/// Renders several runs stacked top to bottom on one time axis (e.g. Slurp above Cursor).
pub fn render_svg_stack(traces: &[&Trace]) -> String {
    let t_max = traces.iter().map(|t| t.end).max().unwrap_or(0).max(1);
    let longest = traces
        .iter()
        .flat_map(|t| (0..t.workers.len() as u32).map(|w| t.worker_label(w).chars().count()))
        .max()
        .unwrap_or(0);
    let left = (longest as f64 * LABEL_CHAR_W + 12.0).clamp(MIN_LEFT, WIDTH / 2.0);
    let scale = Scale {
        t_max,
        left,
        plot_w: WIDTH - left - RIGHT,
    };
    let (legend, mut y) = legend(traces);
    // A white background first, so it sits beneath everything.
    let mut doc = Document::new()
        .add(
            Rectangle::new()
                .set("width", "100%")
                .set("height", "100%")
                .set("fill", "white"),
        )
        .add(legend);
    for t in traces {
        doc = doc.add(panel(t, &scale, y));
        y += panel_height(t) + PANEL_GAP;
    }
    let height = r2(y);
    doc = doc
        .set("width", WIDTH)
        .set("height", height)
        .set("viewBox", (0, 0, WIDTH, height));
    let mut out = doc.to_string();
    out.push('\n');
    out
}

/// Renders one run.
pub fn render_svg(trace: &Trace) -> String {
    render_svg_stack(&[trace])
}

/// Renders two runs side by side in time: `top` above `bottom`, same axis.
pub fn render_svg_pair(top: &Trace, bottom: &Trace) -> String {
    render_svg_stack(&[top, bottom])
}

/// A text timeline, `columns` characters wide: a row per worker where each column shows
/// the pwq letter (`a`, `b`, ...) of the item it was running (upper case when that item was
/// sleeping), `.` when idle; a `pressure` row marks pressure with `#`, and an `events` row
/// marks maydays `M`, creations `+` and failed creations `x`.
pub fn render_text(trace: &Trace, columns: usize) -> String {
    render_text_until(trace, columns, trace.end)
}

/// The width of the label column of [`render_text`]'s rows for this trace (its longest
/// worker name, at least 8), so a caller can fit the whole timeline to a terminal:
/// a row is `label + " |" + columns + "|"`.
pub fn text_label_width(trace: &Trace) -> usize {
    lanes(trace)
        .iter()
        .map(|&w| trace.worker_label(w).len())
        .max()
        .unwrap_or(0)
        .max(8)
}

/// [`render_text`] on a time axis from 0 to `t_max` (at least the trace's end), so that
/// several runs print on one scale.
pub fn render_text_until(trace: &Trace, columns: usize, t_max: Nanos) -> String {
    let columns = columns.max(10);
    let t_max = t_max.max(trace.end).max(1);
    let col =
        |t: Nanos| ((t as u128 * columns as u128 / (t_max as u128 + 1)) as usize).min(columns - 1);
    let lanes = lanes(trace);
    let width = text_label_width(trace);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:>width$} |0{:>pad$}|",
        "time",
        Pretty(t_max).to_string(),
        pad = columns - 1
    );
    let mut pressure = vec![' '; columns];
    for &(a, b) in &trace.pressure {
        for c in pressure
            .iter_mut()
            .take(col(b.saturating_sub(1)) + 1)
            .skip(col(a))
        {
            *c = '#';
        }
    }
    let _ = writeln!(
        out,
        "{:>width$} |{}|",
        "pressure",
        pressure.iter().collect::<String>()
    );
    let mut events = vec![' '; columns];
    for ev in &trace.events {
        let (ch, prio) = match ev.kind {
            TraceKind::Mayday { .. } => ('M', 3),
            TraceKind::CreateFailed { .. } => ('x', 1),
            TraceKind::CreateOk { .. } => ('+', 2),
            _ => continue,
        };
        let c = &mut events[col(ev.t)];
        let cur = match *c {
            'M' => 3,
            '+' => 2,
            'x' => 1,
            _ => 0,
        };
        if prio > cur {
            *c = ch;
        }
    }
    let _ = writeln!(
        out,
        "{:>width$} |{}|",
        "events",
        events.iter().collect::<String>()
    );
    let spans = trace.spans();
    for &w in &lanes {
        let mut row = vec!['.'; columns];
        for s in spans.iter().filter(|s| s.worker == w) {
            let letter = (b'a' + (trace.items[s.item as usize].pwq % 26) as u8) as char;
            for c in row.iter_mut().take(col(s.end) + 1).skip(col(s.start)) {
                *c = letter;
            }
            for &(a, b) in &s.sleeps {
                for c in row.iter_mut().take(col(b) + 1).skip(col(a)) {
                    *c = letter.to_ascii_uppercase();
                }
            }
        }
        let _ = writeln!(
            out,
            "{:>width$} |{}|",
            trace.worker_label(w),
            row.iter().collect::<String>()
        );
    }
    for (i, p) in trace.pwqs.iter().enumerate() {
        if !trace.items.iter().any(|it| it.pwq as usize == i) {
            continue;
        }
        let letter = (b'a' + (i % 26) as u8) as char;
        let _ = writeln!(out, "  {letter} = pwq {}", p.label);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::{ItemInfo, PoolInfo, PwqInfo, WorkerInfo};

    pub(super) fn sample() -> Trace {
        let mut t = Trace {
            scenario: "sample".into(),
            end: 100 * NSEC_PER_MSEC,
            pressure: vec![(0, 40 * NSEC_PER_MSEC)],
            pools: vec![PoolInfo {
                id: 0,
                label: "cpu0".into(),
            }],
            pwqs: vec![PwqInfo {
                label: "q/cpu0".into(),
                pool: 0,
                mem_reclaim: true,
            }],
            workers: vec![
                WorkerInfo {
                    id: 3,
                    name: "kworker/0:0".into(),
                    pool: Some(0),
                    rescuer: false,
                },
                WorkerInfo {
                    id: 9,
                    name: "kworker/R-q".into(),
                    pool: None,
                    rescuer: true,
                },
            ],
            items: vec![ItemInfo {
                func: "f<&>".into(),
                group: "g".into(),
                instance: 0,
                pwq: 0,
                sibling: true,
            }],
            ..Trace::default()
        };
        t.push(0, TraceKind::Queued { item: 0 });
        t.push(NSEC_PER_MSEC, TraceKind::CreateFailed { pool: 0 });
        t.push(10 * NSEC_PER_MSEC, TraceKind::Mayday { pwq: 0 });
        t.push(
            11 * NSEC_PER_MSEC,
            TraceKind::Started { item: 0, worker: 1 },
        );
        t.push(12 * NSEC_PER_MSEC, TraceKind::Slept { item: 0, worker: 1 });
        t.push(50 * NSEC_PER_MSEC, TraceKind::Woke { item: 0, worker: 1 });
        t.push(
            50 * NSEC_PER_MSEC,
            TraceKind::Finished { item: 0, worker: 1 },
        );
        t
    }

    #[test]
    fn svg_has_a_hover_title_per_bar_and_escapes_names() {
        let svg = render_svg(&sample());
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("<title>f&lt;&amp;&gt; (q/cpu0) on kworker/R-q (RESCUER)"));
        assert!(
            svg.matches("kworker/R-q (RESCUER)").count() >= 2,
            "lane label and tooltip"
        );
        assert!(svg.contains("mayday for q/cpu0 at 10ms"));
        assert!(svg.contains("worker creation failed for pool cpu0 at 1ms"));
        assert_eq!(svg, render_svg(&sample()), "rendering is deterministic");
    }

    #[test]
    fn bars_are_never_thinner_than_a_pixel() {
        let mut t = sample();
        t.end = 1000 * NSEC_PER_SEC;
        let svg = render_svg(&t);
        assert!(!svg.contains(" width=\"0\""));
        assert!(!svg.contains(" width=\"0."));
    }

    #[test]
    fn text_timeline_marks_pressure_maydays_and_the_rescuer_lane() {
        let text = render_text(&sample(), 20);
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[1].contains("|########"), "{text}");
        assert!(lines[2].contains('M'), "{text}");
        let rescuer = lines.iter().find(|l| l.contains("(RESCUER)")).unwrap();
        assert!(rescuer.contains("AAAA"), "{text}");
    }

    #[test]
    fn tick_steps_follow_the_1_2_5_series() {
        assert_eq!(tick_step(100), 20);
        assert_eq!(tick_step(8 * NSEC_PER_SEC), NSEC_PER_SEC);
        assert_eq!(axis_label(1_500 * NSEC_PER_MSEC, 3 * NSEC_PER_SEC), "1.5s");
        assert_eq!(axis_label(20 * NSEC_PER_MSEC, 100 * NSEC_PER_MSEC), "20ms");
    }
}
