//! Timelines of a run: an SVG picture (built with the `svg` crate) and a text one.
//!
//! The picture has one lane per worker that ran an item (the rescuer's lane tinted and
//! labelled `(RESCUER)`; workers idle the whole run are named above the lanes instead of
//! drawn empty), time left to right; every run of a work item is a bar from start to
//! finish coloured by its pwq, lighter where it slept, at least [`MIN_BAR_W`] pixels wide
//! (so a 2 ms item on a 3 s axis shows), with a dashed line back to the instant it was
//! queued; memory-pressure windows are shaded and named; maydays and worker creations
//! (successful and failed) are ticks on the row above the lanes; each panel's title line
//! ends with the run's sibling stall, rescued items and maydays. What matters is written
//! on the picture, so it reads the same as a PNG or a README image: consecutive runs of
//! one item group are labelled once (`8× xfs_end_io_sibling at 1.024s`, or the function
//! and how long it slept), placed inside the bar, beside it, or over a neighbour,
//! never over another label. Hovering a bar still shows the item's name and times (SVG
//! `<title>`). Several runs stack on one time axis, so Slurp and Cursor of one scenario
//! compare at a glance. The output depends on the traces only, so it is deterministic for
//! a seed.

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
/// Advance of one bold 11px character, to size the label column: generous, so that a
/// wider fallback font (Verdana) still fits; labels are anchored at the left edge, so one
/// that is wider still runs into the plot rather than off the picture.
const LABEL_CHAR_W: f64 = 7.6;
/// Left margin of the lane labels.
const LABEL_X: f64 = 8.0;
/// Narrowest drawn item bar: a 2 ms item on a 3 s axis is well under a pixel wide.
pub const MIN_BAR_W: f64 = 3.0;
/// Advance of one 10px character of a bar label, to place it where it fits.
const BAR_LABEL_CHAR_W: f64 = 6.0;
/// Runs of one item group closer than this many pixels are labelled together.
const CLUSTER_GAP_PX: f64 = 4.0;
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
    /// Left edge and width of an item bar `[a, b)`: at least [`MIN_BAR_W`] wide, kept
    /// inside the plot.
    fn bar(&self, a: Nanos, b: Nanos) -> (f64, f64) {
        let w = (self.x(b) - self.x(a)).max(MIN_BAR_W);
        let x = self.x(a).min(self.left + self.plot_w - w);
        (r2(x), r2(w))
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

/// The lanes the picture draws: workers that ran at least one item, in [`lanes`] order.
/// A worker that stayed idle the whole run gets no lane; the panel names it instead.
fn busy_lanes(trace: &Trace) -> (Vec<WorkerIdx>, Vec<WorkerIdx>) {
    let spans = trace.spans();
    lanes(trace)
        .into_iter()
        .partition(|&w| spans.iter().any(|s| s.worker == w))
}

fn panel_height(trace: &Trace) -> f64 {
    let drawn = busy_lanes(trace).0.len().max(1);
    PANEL_TITLE_H + TICK_ROW_H + drawn as f64 * (LANE_H + LANE_GAP) + AXIS_H
}

/// The numbers a reader compares between panels: the sibling stall (when the scenario
/// measures one), items rescued and maydays.
fn headline(trace: &Trace) -> String {
    let m = crate::Metrics::from_trace(trace, 0);
    let mut parts = Vec::new();
    if let Some(stall) = m.sibling_stall {
        parts.push(format!("sibling stall {}", Pretty(stall)));
    }
    if m.maydays > 0 || m.rescued > 0 {
        parts.push(format!("{} rescued", m.rescued));
        parts.push(format!(
            "{} mayday{}",
            m.maydays,
            if m.maydays == 1 { "" } else { "s" }
        ));
    }
    parts.join(" \u{b7} ")
}

/// Consecutive runs of one item group in one lane, drawn close together: labelled once.
struct Cluster {
    /// The first run's item.
    item: u32,
    count: usize,
    start: Nanos,
    /// Time its runs spent asleep or blocked.
    asleep: Nanos,
    /// Drawn extent.
    x1: f64,
    x2: f64,
}

/// The clusters of one lane, left to right.
fn clusters(trace: &Trace, scale: &Scale, spans: &[&crate::trace::Span]) -> Vec<Cluster> {
    let mut out: Vec<Cluster> = Vec::new();
    for s in spans {
        let (x, w) = scale.bar(s.start, s.end);
        let group = &trace.items[s.item as usize].group;
        let asleep: Nanos = s.sleeps.iter().map(|&(a, b)| b.saturating_sub(a)).sum();
        match out.last_mut() {
            Some(c)
                if trace.items[c.item as usize].group == *group && x - c.x2 < CLUSTER_GAP_PX =>
            {
                c.count += 1;
                c.x2 = c.x2.max(x + w);
                c.asleep += asleep;
            }
            _ => out.push(Cluster {
                item: s.item,
                count: 1,
                start: s.start,
                asleep,
                x1: x,
                x2: x + w,
            }),
        }
    }
    out
}

/// A bar label: dark text with a white halo, readable over any bar or background.
fn bar_label(x: f64, y: f64, text: String, anchor: &str) -> Text {
    label(x, y, text, 10)
        .set("text-anchor", anchor.to_owned())
        .set("fill", "#111")
        .set("stroke", "white")
        .set("stroke-width", 2.5)
        .set("stroke-linejoin", "round")
        .set("paint-order", "stroke")
}

/// Where a label `width` wide goes for a cluster: inside it, to its right or to its left
/// (free space first, then over a neighbour), never over another label of the lane.
/// Returns the x and the anchor.
fn place_label(
    c: &Cluster,
    width: f64,
    free: (f64, f64),
    plot: (f64, f64),
    taken: &[(f64, f64)],
) -> Option<(f64, &'static str, (f64, f64))> {
    let clear =
        |a: f64, b: f64| a >= plot.0 && b <= plot.1 && taken.iter().all(|&(p, q)| b <= p || a >= q);
    let inside = (c.x1 + 3.0, c.x1 + 3.0 + width);
    if inside.1 <= c.x2 - 3.0 && clear(inside.0, inside.1) {
        return Some((inside.0, "start", inside));
    }
    let right = (c.x2 + 3.0, c.x2 + 3.0 + width);
    let left = (c.x1 - 3.0 - width, c.x1 - 3.0);
    let candidates = [
        (right, right.1 <= free.1),
        (left, left.0 >= free.0),
        (right, true),
        (left, true),
    ];
    candidates
        .into_iter()
        .find(|&((a, b), ok)| ok && clear(a, b))
        .map(|((a, b), _)| {
            if a == right.0 {
                (a, "start", (a, b))
            } else {
                (b, "end", (a, b))
            }
        })
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
    let (lanes, idle) = busy_lanes(trace);
    let lanes_top = top + PANEL_TITLE_H + TICK_ROW_H;
    let lanes_bottom = lanes_top + lanes.len().max(1) as f64 * (LANE_H + LANE_GAP);
    let policy = trace.policy.map_or("", |p| p.name());
    let title = format!("{} \u{2014} {policy}", trace.scenario);
    let title_w = title.chars().count() as f64 * 8.5;
    g = g.add(label(LABEL_X, top + 15.0, title, 14).set("font-weight", "bold"));
    // The run's headline numbers, at the right end of the title line.
    let headline = headline(trace);
    let headline_w = headline.chars().count() as f64 * 6.6;
    if !headline.is_empty() {
        g = g.add(
            label(WIDTH - RIGHT, top + 15.0, headline, 11)
                .set("text-anchor", "end")
                .set("fill", "#222"),
        );
    }
    if !idle.is_empty() {
        let names: Vec<String> = idle.iter().map(|&w| trace.worker_label(w)).collect();
        let mut note = format!("idle the whole run, not drawn: {}", names.join(", "));
        let room = ((WIDTH - RIGHT - headline_w - 16.0 - LABEL_X - title_w - 16.0) / 6.0) as usize;
        if note.chars().count() > room {
            note = format!(
                "{} workers idle the whole run, not drawn ({} ...)",
                idle.len(),
                names[0]
            );
        }
        g = g.add(label(LABEL_X + title_w + 16.0, top + 15.0, note, 10).set("fill", "#666"));
    }

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
        let mut text = label(LABEL_X, y + LANE_H - 4.0, trace.worker_label(w), 11);
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
        // Said in words too, at the window's right end in the tick row.
        let text = format!("pressure {}\u{2013}{}", Pretty(a), Pretty(b));
        let w = text.chars().count() as f64 * BAR_LABEL_CHAR_W;
        if scale.x(b) - scale.x(a) > w + 6.0 {
            g = g.add(
                bar_label(scale.x(b) - 3.0, top + PANEL_TITLE_H + 12.0, text, "end")
                    .set("fill", "#b22222"),
            );
        }
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
        let (bar_x, bar_w) = scale.bar(span.start, span.end);
        let mut bar = Group::new().add(Title::new(tip)).add(
            Rectangle::new()
                .set("x", bar_x)
                .set("y", r2(y + 1.0))
                .set("width", bar_w)
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

    // Bar labels: what runs where, readable without hovering.
    let all_spans = trace.spans();
    for (row, &w) in lanes.iter().enumerate() {
        let y = lanes_top + row as f64 * (LANE_H + LANE_GAP);
        let mut mine: Vec<&crate::trace::Span> =
            all_spans.iter().filter(|s| s.worker == w).collect();
        mine.sort_by_key(|s| s.start);
        let cl = clusters(trace, scale, &mine);
        let mut taken: Vec<(f64, f64)> = Vec::new();
        let plot = (scale.left, scale.left + scale.plot_w);
        for (i, c) in cl.iter().enumerate() {
            let func = &trace.items[c.item as usize].func;
            let mut text = if c.count > 1 {
                format!("{}\u{d7} {func}", c.count)
            } else {
                func.clone()
            };
            if c.x2 - c.x1 < 40.0 {
                let _ = write!(text, " at {}", Pretty(c.start));
            } else if c.asleep > 0 {
                let _ = write!(text, " (asleep {})", Pretty(c.asleep));
            }
            let width = text.chars().count() as f64 * BAR_LABEL_CHAR_W;
            let free = (
                if i > 0 { cl[i - 1].x2 } else { plot.0 },
                cl.get(i + 1).map_or(plot.1, |n| n.x1),
            );
            if let Some((x, anchor, extent)) = place_label(c, width, free, plot, &taken) {
                taken.push(extent);
                g = g.add(bar_label(x, y + LANE_H - 4.0, text, anchor));
            }
        }
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
    entries.push(("asleep or blocked (lighter)".into(), "#b0b0b0", "sleep"));
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
        .flat_map(|t| {
            busy_lanes(t)
                .0
                .into_iter()
                .map(|w| t.worker_label(w).chars().count())
        })
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
    fn short_items_on_a_long_axis_stay_visible_and_labelled() {
        // The reported case: 2 ms siblings on a 3 s axis, well under a pixel each.
        let svg = crate::reported_case_svg().unwrap();
        let widths = svg
            .split("<rect ")
            .filter(|r| r.contains("stroke-width=\"0.3\""))
            .filter_map(|r| {
                r.split(" width=\"")
                    .nth(1)?
                    .split('"')
                    .next()?
                    .parse::<f64>()
                    .ok()
            });
        assert!(widths.clone().count() > 0);
        assert!(
            widths.clone().all(|w| w >= MIN_BAR_W),
            "an item bar under {MIN_BAR_W}px"
        );
        // What matters is written on the picture, not only in hover titles.
        let text = |s: &str| svg.contains(&format!(">\n{s}\n</text>"));
        assert!(
            text("8\u{d7} xfs_end_io_sibling at 3s"),
            "slurp's siblings, at 3s"
        );
        // On the kernel's clock (HZ=250) creation is retried at 1.024 s.
        assert!(
            text("8\u{d7} xfs_end_io_sibling at 1.024s"),
            "cursor's, at 1.024s"
        );
        assert!(
            text("xfs_end_io (asleep 2.987s)"),
            "the blocked item says so"
        );
        assert!(
            text("pressure 1ms\u{2013}1s"),
            "the pressure window is named"
        );
    }

    #[test]
    fn idle_workers_get_no_lane_but_are_named() {
        let mut t = sample();
        t.workers.push(WorkerInfo {
            id: 11,
            name: "kworker/0:7".into(),
            pool: Some(0),
            rescuer: false,
        });
        let svg = render_svg(&t);
        assert!(svg.contains("idle the whole run, not drawn: kworker/0:0, kworker/0:7"));
        assert_eq!(
            svg.matches("kworker/0:7").count(),
            1,
            "no lane label for it"
        );
        assert_eq!(panel_height(&t), panel_height(&sample()));
    }

    #[test]
    fn long_rescuer_labels_start_at_the_left_margin_with_room_to_spare() {
        let mut t = sample();
        t.workers[1].name = "kworker/R-nvme-reset-wq-with-a-long-name".into();
        let svg = render_svg(&t);
        let label = format!("{} (RESCUER)", t.workers[1].name);
        let lane = svg
            .split("<text ")
            .find(|x| x.contains(&format!("{label}\n</text>")))
            .unwrap_or_else(|| panic!("the rescuer lane label {label:?} in {svg}"));
        assert!(
            lane.contains(&format!("x=\"{LABEL_X}\"")) && !lane.contains("text-anchor"),
            "{lane}"
        );
        // The plot starts right of the label, even at the wide fallback font's advance.
        let left: f64 = svg
            .split("<rect ")
            .find(|r| r.contains("fill=\"#fde9c9\""))
            .and_then(|r| r.split("x=\"").nth(1)?.split('"').next()?.parse().ok())
            .expect("the rescuer's lane background");
        assert!(
            left >= LABEL_X + label.chars().count() as f64 * 7.5,
            "plot starts at {left}"
        );
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
