//! The A/B report: tables, goals, plots and the closing summary, from criterion's
//! estimates and the benches' side files.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::Value;

use super::data::{Bench, Estimate, Ratio, Results, SideFiles};
use super::machine::Machine;
use super::plots::{self, Series, Unit};

/// The rescue policies, in the order the report lists them.
const POLICIES: [&str; 3] = ["slurp", "cursor", "rescan"];
/// The runtime's side in the `runtime` group; every other side there is a peer.
const CMWQ: &str = "cmwq";
/// "Within a few percent": Cursor's scan cost over Slurp's may be at most this.
const FEW_PERCENT: f64 = 1.05;
/// "Far below": Rescan's scan cost over Cursor's, at the largest N, at least this.
const FAR_BELOW: f64 = 10.0;
/// "About two mayday intervals": siblings finish within this many intervals.
const ABOUT_TWO_INTERVALS: f64 = 2.2;
/// "The blocker's whole duration": Slurp's siblings wait at least this share of it.
const WHOLE_DURATION: f64 = 0.9;
/// The kernel's MAYDAY_INTERVAL, used when a side file does not say.
const MAYDAY_INTERVAL_NS: f64 = 100_000_000.0;

/// Everything the report is made from.
#[derive(Debug, Clone)]
pub(crate) struct Input {
    pub(crate) results: Results,
    pub(crate) side: SideFiles,
    pub(crate) machine: Machine,
    /// `--quick` run.
    pub(crate) quick: bool,
    /// `--baseline NAME`, when comparing.
    pub(crate) baseline: Option<String>,
    /// The options criterion ran with (empty for a report of earlier results).
    pub(crate) criterion_args: String,
}

/// Whether a goal is met.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Met,
    NotMet,
    /// The benches it needs did not run (or left no figures).
    NoData,
}

impl Verdict {
    fn label(self) -> &'static str {
        match self {
            Verdict::Met => "met",
            Verdict::NotMet => "NOT met",
            Verdict::NoData => "no data",
        }
    }
}

/// A goal the report is read against, and how the run fared.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Goal {
    pub(crate) name: &'static str,
    pub(crate) verdict: Verdict,
    pub(crate) detail: String,
}

/// A plot to draw beside the report.
#[derive(Debug, Clone)]
enum Plot {
    Lines {
        file: &'static str,
        title: &'static str,
        x: (&'static str, Unit),
        y: (&'static str, Unit),
        series: Vec<Series>,
        log_y: bool,
    },
    Bars {
        file: &'static str,
        title: &'static str,
        y: (&'static str, Unit),
        bars: Vec<(String, f64)>,
    },
}

/// One line of the verdict table that opens the report: a question, the figures that
/// answer it, their ratio and what the ratio says.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct VerdictRow {
    pub(crate) question: String,
    pub(crate) figures: String,
    pub(crate) ratio: String,
    pub(crate) answer: String,
}

/// The report, built but not yet written.
#[derive(Debug, Clone)]
pub(crate) struct Report {
    pub(crate) markdown: String,
    pub(crate) goals: Vec<Goal>,
    pub(crate) verdicts: Vec<VerdictRow>,
    plots: Vec<Plot>,
}

/// What a ratio with its interval says: `below` when the whole interval is under 1.0,
/// `above` when it is over, and inconclusive when it crosses 1.0. An exact ratio (no
/// spread, from virtual time or counts) of exactly 1.0 reads as equal.
pub(crate) fn judge(r: &Ratio, below: &str, above: &str) -> String {
    if r.lower == r.upper && r.point == 1.0 {
        "equal".into()
    } else if r.lower <= 1.0 && r.upper >= 1.0 {
        "**inconclusive** (interval crosses 1.0)".into()
    } else if r.point < 1.0 {
        below.into()
    } else {
        above.into()
    }
}

/// A ratio without spread (virtual time, counts).
fn exact(point: f64) -> Ratio {
    Ratio {
        point,
        lower: point,
        upper: point,
    }
}

/// Formats nanoseconds with a unit that keeps 3 significant digits.
pub(crate) fn fmt_ns(ns: f64) -> String {
    if ns == 0.0 {
        return "0".into();
    }
    let (v, unit) = if ns >= 1e9 {
        (ns / 1e9, "s")
    } else if ns >= 1e6 {
        (ns / 1e6, "ms")
    } else if ns >= 1e3 {
        (ns / 1e3, "µs")
    } else {
        (ns, "ns")
    };
    let digits = if v >= 100.0 {
        0
    } else if v >= 10.0 {
        1
    } else {
        2
    };
    format!("{v:.digits$} {unit}")
}

fn fmt_est(e: &Estimate) -> String {
    format!(
        "{} [{} – {}]",
        fmt_ns(e.point),
        fmt_ns(e.lower),
        fmt_ns(e.upper)
    )
}

fn fmt_ratio(r: &Ratio) -> String {
    format!("{:.3} [{:.3} – {:.3}]", r.point, r.lower, r.upper)
}

/// A ratio cell of a table: [`fmt_ratio`], marked when its interval crosses 1.0 (the run
/// cannot tell the two sides apart).
fn fmt_ratio_cell(r: &Ratio) -> String {
    if r.lower < r.upper && r.lower <= 1.0 && r.upper >= 1.0 {
        format!("{} inconclusive", fmt_ratio(r))
    } else {
        fmt_ratio(r)
    }
}

fn fmt_rate(per_sec: f64) -> String {
    if per_sec >= 1e6 {
        format!("{:.2} M/s", per_sec / 1e6)
    } else if per_sec >= 1e3 {
        format!("{:.1} k/s", per_sec / 1e3)
    } else {
        format!("{per_sec:.0} /s")
    }
}

fn f(v: &Value, key: &str) -> Option<f64> {
    v.get(key).and_then(Value::as_f64)
}

fn arr<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

fn ladder(v: &Value, key: &str) -> Vec<(f64, f64)> {
    arr(v, key)
        .iter()
        .filter_map(|p| Some((p.get(1)?.as_f64()?, p.get(0)?.as_f64()?)))
        .collect()
}

impl Report {
    /// Builds the report from `input`.
    pub(crate) fn build(input: &Input) -> Report {
        let mut r = Report {
            markdown: String::new(),
            goals: Vec::new(),
            verdicts: Vec::new(),
            plots: Vec::new(),
        };
        let mut body = String::new();
        r.rescue_scan(input, &mut body);
        r.scenario(input, &mut body);
        r.rescue_real(input, &mut body);
        r.runtime(input, &mut body);
        r.throughput(input, &mut body);
        r.baseline(input, &mut body);

        // The questions in the order a reader asks them: Cursor against Slurp first.
        r.verdicts.sort_by_key(|v| {
            [
                "Sibling stall",
                "Scan cost",
                "Items rescued",
                "Runtime",
                "Throughput",
            ]
            .iter()
            .position(|p| v.question.starts_with(p))
            .unwrap_or(usize::MAX)
        });
        let m = &input.machine;
        let md = &mut r.markdown;
        let _ = writeln!(md, "# cmwq A/B benchmark report\n");
        let _ = writeln!(
            md,
            "Mode: {}. Times are criterion medians with their 95% confidence interval \
             in brackets; ratios carry the conservative interval of the two (lower over \
             upper, upper over lower); one whose interval crosses 1.0 is marked inconclusive. \
             Figures from the simulator are exact virtual time.\n",
            if input.quick { "`--quick`" } else { "full" }
        );
        if !input.criterion_args.is_empty() {
            let _ = writeln!(md, "Criterion options: `{}`.\n", input.criterion_args);
        }
        let _ = writeln!(md, "## Verdict\n");
        let _ = writeln!(
            md,
            "Is Cursor better than Slurp, and by how much; is the runtime as fast as what a \
             Rust user would pick instead. A ratio whose interval crosses 1.0 is \
             inconclusive: the run cannot tell the two sides apart. Ratios of virtual-time \
             figures and counts are exact.\n"
        );
        let _ = writeln!(
            md,
            "| question | figures | ratio [interval] | answer |\n|---|---|---|---|"
        );
        if r.verdicts.is_empty() {
            let _ = writeln!(md, "| (no bench ran) | | | |");
        }
        for v in &r.verdicts {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} |",
                v.question, v.figures, v.ratio, v.answer
            );
        }
        md.push('\n');
        let _ = writeln!(md, "## Machine\n");
        let _ = writeln!(md, "| | |\n|---|---|");
        let _ = writeln!(md, "| date | {} |", m.date);
        let _ = writeln!(md, "| commit | {} |", m.commit);
        let _ = writeln!(md, "| CPUs (nproc) | {} |", m.cpus);
        let _ = writeln!(md, "| CPU model | {} |", m.cpu_model);
        let _ = writeln!(md, "| memory | {} |", m.memory);
        let _ = writeln!(md, "| rustc | {} |\n", m.rustc);
        let _ = writeln!(md, "## Goals\n");
        let _ = writeln!(
            md,
            "Read against, never tuned for: each line says whether the run met it and by how much.\n"
        );
        let _ = writeln!(md, "| goal | verdict | by how much |\n|---|---|---|");
        for g in &r.goals {
            let _ = writeln!(
                md,
                "| {} | **{}** | {} |",
                g.name,
                g.verdict.label(),
                g.detail
            );
        }
        md.push('\n');
        md.push_str(&body);
        r
    }

    fn verdict(
        &mut self,
        question: impl Into<String>,
        figures: impl Into<String>,
        ratio: &Ratio,
        answer: String,
    ) {
        let exact = ratio.lower == ratio.upper;
        self.verdicts.push(VerdictRow {
            question: question.into(),
            figures: figures.into(),
            ratio: if exact {
                format!("{:.3} (exact)", ratio.point)
            } else {
                fmt_ratio(ratio)
            },
            answer,
        });
    }

    fn goal(&mut self, name: &'static str, verdict: Verdict, detail: impl Into<String>) {
        self.goals.push(Goal {
            name,
            verdict,
            detail: detail.into(),
        });
    }

    fn rescue_scan(&mut self, input: &Input, md: &mut String) {
        let _ = writeln!(
            md,
            "## rescue_scan: scan cost of a whole rescue against N\n"
        );
        let benches = input.results.group("rescue_scan");
        let side = input.side.get("rescue_scan");
        let few = "Cursor's total scan cost within a few percent of Slurp's";
        let far = "Cursor's scan cost far below Rescan's (linear against quadratic)";
        if benches.is_empty() {
            let _ = writeln!(md, "Not run.\n");
            self.goal(few, Verdict::NoData, "rescue_scan did not run");
            self.goal(far, Verdict::NoData, "rescue_scan did not run");
            return;
        }
        if let Some(side) = side {
            let _ = writeln!(
                md,
                "Every item of one pwq is rescued from a worklist of N items in which it has \
                 one item in {} (the rest belong to other pwqs). Time is one whole rescue; \
                 nodes are the worklist nodes the policy visited, per rescued item (from the \
                 pwq's stats).\n",
                side.get("interleave").and_then(Value::as_u64).unwrap_or(0)
            );
        }
        let mut ns: Vec<u64> = benches
            .iter()
            .filter_map(|b| b.parameter.as_deref()?.parse().ok())
            .collect();
        ns.sort_unstable();
        ns.dedup();
        let nodes = |policy: &str, n: u64| -> Option<f64> {
            arr(side?, "cases")
                .iter()
                .find(|c| s(c, "policy") == policy && c.get("n").and_then(Value::as_u64) == Some(n))
                .and_then(|c| f(c, "nodes_per_rescued"))
        };
        let rescued = |policy: &str, n: u64| -> Option<f64> {
            arr(side?, "cases")
                .iter()
                .find(|c| s(c, "policy") == policy && c.get("n").and_then(Value::as_u64) == Some(n))
                .and_then(|c| f(c, "rescued"))
        };
        let _ = writeln!(
            md,
            "| N | slurp | cursor | rescan | cursor/slurp | rescan/cursor | time per rescued item (slurp / cursor / rescan) | nodes per rescued item (slurp / cursor / rescan) |\n|---|---|---|---|---|---|---|---|"
        );
        let mut worst_few: Option<(f64, u64)> = None;
        let mut scan_verdicts = Vec::new();
        let mut far_at: Option<(Ratio, u64)> = None;
        for &n in &ns {
            let p = n.to_string();
            let get = |pol: &str| input.results.get("rescue_scan", pol, Some(&p));
            let cell = |b: Option<&Bench>| b.map_or("–".into(), |b| fmt_est(&b.median));
            let (sl, cu, re) = (get("slurp"), get("cursor"), get("rescan"));
            let cs = match (cu, sl) {
                (Some(c), Some(s)) => {
                    let r = c.median.ratio(&s.median);
                    if worst_few.is_none_or(|(w, _)| r.point > w) {
                        worst_few = Some((r.point, n));
                    }
                    scan_verdicts.push((n, r, c.median.point, s.median.point));
                    fmt_ratio_cell(&r)
                }
                _ => "–".into(),
            };
            let rc = match (re, cu) {
                (Some(r), Some(c)) => {
                    let ratio = r.median.ratio(&c.median);
                    far_at = Some((ratio, n));
                    fmt_ratio_cell(&ratio)
                }
                _ => "–".into(),
            };
            let nd = POLICIES
                .iter()
                .map(|pol| nodes(pol, n).map_or("–".into(), |v| format!("{v:.2}")))
                .collect::<Vec<_>>()
                .join(" / ");
            let per_item = [sl, cu, re]
                .iter()
                .zip(POLICIES)
                .map(|(b, pol)| match (b, rescued(pol, n)) {
                    (Some(b), Some(r)) if r > 0.0 => fmt_ns(b.median.point / r),
                    _ => "–".into(),
                })
                .collect::<Vec<_>>()
                .join(" / ");
            let _ = writeln!(
                md,
                "| {n} | {} | {} | {} | {cs} | {rc} | {per_item} | {nd} |",
                cell(sl),
                cell(cu),
                cell(re)
            );
        }
        for (n, r, c, sl) in scan_verdicts {
            self.verdict(
                format!("Scan cost of one whole rescue, N = {n}: Cursor ÷ Slurp"),
                format!("cursor {} against slurp {}", fmt_ns(c), fmt_ns(sl)),
                &r,
                judge(
                    &r,
                    &format!("Cursor cheaper, by {:.0}%", (1.0 - r.point) * 100.0),
                    &format!("Cursor dearer, by {:.0}%", (r.point - 1.0) * 100.0),
                ),
            );
        }
        if input.quick {
            let _ = writeln!(
                md,
                "\n`--quick` leaves Rescan out above N = 10 000 (it is quadratic): `–` marks it."
            );
        }
        let series: Vec<Series> = POLICIES
            .iter()
            .map(|pol| {
                let pts = ns
                    .iter()
                    .filter_map(|&n| {
                        let b = input
                            .results
                            .get("rescue_scan", pol, Some(&n.to_string()))?;
                        Some((n as f64, b.median.point))
                    })
                    .collect::<Vec<_>>();
                ((*pol).to_owned(), pts)
            })
            .filter(|(_, pts)| !pts.is_empty())
            .collect();
        let slopes: Vec<String> = series
            .iter()
            .filter_map(|(name, pts)| Some(format!("{name} {:.2}", loglog_slope(pts)?)))
            .collect();
        if !slopes.is_empty() {
            let _ = writeln!(
                md,
                "\nGrowth (slope of log time against log N; 1 is linear, 2 quadratic): {}.",
                slopes.join(", ")
            );
        }
        self.plots.push(Plot::Lines {
            file: "rescue_scan.svg",
            title: "Rescue scan cost against worklist length",
            x: ("N (worklist items)", Unit::Count),
            y: ("time of one whole rescue", Unit::Nanos),
            series,
            log_y: true,
        });
        let _ = writeln!(md, "\n![scan cost against N](rescue_scan.svg)\n");
        let node_series: Vec<Series> = POLICIES
            .iter()
            .map(|pol| {
                let pts = ns
                    .iter()
                    .filter_map(|&n| Some((n as f64, nodes(pol, n)?)))
                    .collect::<Vec<_>>();
                ((*pol).to_owned(), pts)
            })
            .filter(|(_, pts)| !pts.is_empty())
            .collect();
        if !node_series.is_empty() {
            self.plots.push(Plot::Lines {
                file: "rescue_scan_nodes.svg",
                title: "Worklist nodes visited per rescued item",
                x: ("N (worklist items)", Unit::Count),
                y: ("nodes visited per rescued item", Unit::Count),
                series: node_series,
                log_y: true,
            });
            let _ = writeln!(
                md,
                "![nodes visited per rescued item](rescue_scan_nodes.svg)\n"
            );
        }
        match worst_few {
            Some((w, n)) => self.goal(
                few,
                if w <= FEW_PERCENT {
                    Verdict::Met
                } else {
                    Verdict::NotMet
                },
                format!(
                    "worst cursor/slurp {w:.3} (at N = {n}): {:+.1}% against a bound of +{:.0}%",
                    (w - 1.0) * 100.0,
                    (FEW_PERCENT - 1.0) * 100.0
                ),
            ),
            None => self.goal(few, Verdict::NoData, "no N with both sides"),
        }
        match far_at {
            Some((r, n)) => self.goal(
                far,
                if r.point >= FAR_BELOW {
                    Verdict::Met
                } else {
                    Verdict::NotMet
                },
                format!(
                    "rescan/cursor {:.1}x at N = {n} (bound {FAR_BELOW:.0}x){}",
                    r.point,
                    if slopes.is_empty() {
                        String::new()
                    } else {
                        format!("; slopes {}", slopes.join(", "))
                    }
                ),
            ),
            None => self.goal(far, Verdict::NoData, "no N with both sides"),
        }
    }

    fn scenario(&mut self, input: &Input, md: &mut String) {
        let _ = writeln!(
            md,
            "## scenario: the simulator's scenarios under each policy\n"
        );
        let side = input.side.get("scenario");
        let benches = input.results.group("scenario");
        let goal = "Reported case (simulated): siblings finish within about two mayday intervals after pressure ends under Cursor, against the blocker's whole duration under Slurp";
        let Some(side) = side else {
            let _ = writeln!(md, "Not run.\n");
            self.goal(goal, Verdict::NoData, "scenario did not run");
            self.timeline_slot(input, md);
            return;
        };
        let interval = f(side, "mayday_interval_ns").unwrap_or(MAYDAY_INTERVAL_NS);
        let _ = writeln!(
            md,
            "Virtual time, so exact: stall is how long the siblings still waited after \
             pressure ended. p50, p99 and max are the queue-to-start latency of every item \
             the scenario queued (blockers, siblings and pressure alike, from its queueing \
             until a worker or the rescuer started it). Wall time is criterion's median for \
             one simulation.\n"
        );
        let _ = writeln!(
            md,
            "| scenario | policy | sibling stall after pressure | p50 queue-to-start | p99 queue-to-start | max queue-to-start | rescued | maydays | nodes per rescued item | wall time of the simulation |\n|---|---|---|---|---|---|---|---|---|---|"
        );
        let rows = arr(side, "scenarios");
        for row in rows {
            let lat = row.get("latency_ns").cloned().unwrap_or(Value::Null);
            let cell = |k: &str| f(&lat, k).map_or("–".into(), fmt_ns);
            let wall = benches
                .iter()
                .find(|b| {
                    b.function == s(row, "policy")
                        && b.parameter.as_deref() == Some(s(row, "scenario"))
                })
                .map_or("–".into(), |b| fmt_est(&b.median));
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {wall} |",
                s(row, "scenario"),
                s(row, "policy"),
                f(row, "sibling_stall_ns").map_or("–".into(), fmt_ns),
                cell("p50"),
                cell("p99"),
                cell("max"),
                f(row, "rescued").map_or("–".into(), |v| format!("{v:.0}")),
                f(row, "maydays").map_or("–".into(), |v| format!("{v:.0}")),
                f(row, "nodes_per_rescued").map_or("–".into(), |v| format!("{v:.2}")),
            );
        }
        let on_kernel_clock: Vec<&Value> = rows
            .iter()
            .filter(|r| f(r, "kernel_clock_hz").is_some())
            .collect();
        if !on_kernel_clock.is_empty() {
            let _ = writeln!(
                md,
                "\nReplayed on a kernel's clock (HZ, timer-wheel rounding), to hold against a \
                 kernel's figures (real kernels, reported case at this scale: creation retried \
                 at 2.048 s, siblings finish 66–91 ms after pressure ends under Cursor):\n\n\
                 | scenario | policy | HZ | worker created at | siblings finish after pressure |\n\
                 |---|---|---|---|---|"
            );
            for row in on_kernel_clock {
                let after = match (
                    f(row, "siblings_first_after_pressure_ns"),
                    f(row, "siblings_last_after_pressure_ns"),
                ) {
                    (Some(a), Some(b)) => format!("{}–{}", fmt_ns(a), fmt_ns(b)),
                    _ => "–".into(),
                };
                let _ = writeln!(
                    md,
                    "| {} | {} | {} | {} | {after} |",
                    s(row, "scenario"),
                    s(row, "policy"),
                    f(row, "kernel_clock_hz").map_or("–".into(), |v| format!("{v:.0}")),
                    f(row, "creation_after_pressure_ns").map_or("–".into(), fmt_ns),
                );
            }
        }
        let reported: Vec<&Value> = rows
            .iter()
            .filter(|r| r.get("reported_case").and_then(Value::as_bool) == Some(true))
            .collect();
        let by_policy = |rows: &[&Value], pol: &str, key: &str| {
            rows.iter()
                .find(|r| s(r, "policy") == pol)
                .and_then(|r| f(r, key))
        };
        if let (Some(c), Some(sl)) = (
            by_policy(&reported, "cursor", "sibling_stall_ns"),
            by_policy(&reported, "slurp", "sibling_stall_ns"),
        ) {
            let r = exact(if sl > 0.0 { c / sl } else { f64::NAN });
            self.verdict(
                "Sibling stall after pressure, reported case, simulated: Cursor ÷ Slurp",
                format!("cursor {} against slurp {}", fmt_ns(c), fmt_ns(sl)),
                &r,
                judge(
                    &r,
                    &format!("Cursor better, {:.1}× shorter", sl / c.max(1.0)),
                    &format!("Slurp better, {:.1}× shorter", c / sl.max(1.0)),
                ),
            );
        }
        let sustained: Vec<&Value> = rows
            .iter()
            .filter(|r| s(r, "scenario").contains("sustained"))
            .collect();
        if let (Some(c), Some(sl)) = (
            by_policy(&sustained, "cursor", "rescued"),
            by_policy(&sustained, "slurp", "rescued"),
        ) {
            let r = exact(if sl > 0.0 { c / sl } else { f64::NAN });
            let maydays = match (
                by_policy(&sustained, "cursor", "maydays"),
                by_policy(&sustained, "slurp", "maydays"),
            ) {
                (Some(cm), Some(sm)) => format!("; maydays {cm:.0} against {sm:.0}"),
                _ => String::new(),
            };
            self.verdict(
                "Items rescued under sustained pressure, simulated: Cursor ÷ Slurp",
                format!("cursor {c:.0} against slurp {sl:.0}{maydays}"),
                &r,
                judge(
                    &r,
                    "Cursor rescues fewer (one item per round; the rest wait for workers)",
                    "Cursor rescues more",
                ),
            );
        }
        let series: Vec<Series> = reported
            .iter()
            .map(|r| (s(r, "policy").to_owned(), ladder(r, "latency_ladder")))
            .filter(|(_, pts)| !pts.is_empty())
            .collect();
        if !series.is_empty() {
            self.plots.push(Plot::Lines {
                file: "scenario_latency.svg",
                title: "Reported case: queue-to-start latency distribution per policy",
                x: ("queue-to-start latency (virtual time)", Unit::Nanos),
                y: ("fraction of items started", Unit::Fraction),
                series,
                log_y: false,
            });
            let _ = writeln!(
                md,
                "\n![latency distribution per policy](scenario_latency.svg)\n"
            );
        }
        self.stall_goal(
            goal,
            &reported,
            interval,
            "sibling_stall_ns",
            "blocker_after_pressure_ns",
        );
        self.timeline_slot(input, md);
    }

    /// The goal on the reported case, from rows with a `policy` and a stall figure.
    fn stall_goal(
        &mut self,
        goal: &'static str,
        rows: &[&Value],
        interval: f64,
        stall_key: &str,
        blocker_key: &str,
    ) {
        let find = |pol: &str| rows.iter().find(|r| s(r, "policy") == pol);
        let (Some(cur), Some(sl)) = (find("cursor"), find("slurp")) else {
            self.goal(
                goal,
                Verdict::NoData,
                "no reported-case figures for both cursor and slurp",
            );
            return;
        };
        let (Some(cs), Some(ss)) = (f(cur, stall_key), f(sl, stall_key)) else {
            self.goal(goal, Verdict::NoData, "stall figures missing");
            return;
        };
        let blocker = f(sl, blocker_key).or_else(|| f(cur, blocker_key));
        let cursor_ok = cs <= ABOUT_TWO_INTERVALS * interval;
        let slurp_ok = blocker.is_none_or(|b| ss >= WHOLE_DURATION * b);
        let detail = format!(
            "cursor {} = {:.2} mayday intervals (bound {ABOUT_TWO_INTERVALS}); slurp {}{}",
            fmt_ns(cs),
            cs / interval,
            fmt_ns(ss),
            blocker.map_or(String::new(), |b| format!(
                " = {:.0}% of the blocker's {} after pressure",
                ss / b * 100.0,
                fmt_ns(b)
            ))
        );
        self.goal(
            goal,
            if cursor_ok && slurp_ok {
                Verdict::Met
            } else {
                Verdict::NotMet
            },
            detail,
        );
    }

    fn timeline_slot(&mut self, input: &Input, md: &mut String) {
        let _ = writeln!(md, "### The reported case, side by side\n");
        let svg = input
            .side
            .get("scenario")
            .map(|v| s(v, "timeline_svg"))
            .filter(|p| !p.is_empty());
        match svg {
            Some(file) => {
                let _ = writeln!(
                    md,
                    "![reported case timeline, slurp beside cursor]({file})\n"
                );
            }
            None => {
                let _ = writeln!(
                    md,
                    "No timeline in this run: the simulator's timeline call was not available \
                     to the scenario bench.\n"
                );
            }
        }
    }

    fn rescue_real(&mut self, input: &Input, md: &mut String) {
        let _ = writeln!(md, "## rescue_real: the reported case on real threads\n");
        let goal = "Reported case (real threads): Cursor's siblings finish by the pool's first worker-creation retry after the failure window (within one creation cooldown plus about two mayday intervals), Slurp's only after the blocker's whole duration";
        let benches = input.results.group("rescue_real");
        if benches.is_empty() {
            let _ = writeln!(md, "Not run.\n");
            self.goal(goal, Verdict::NoData, "rescue_real did not run");
            return;
        }
        let side = input
            .side
            .get("rescue_real")
            .cloned()
            .unwrap_or(Value::Null);
        let interval = f(&side, "mayday_interval_ns").unwrap_or(MAYDAY_INTERVAL_NS);
        let cooldown = f(&side, "create_cooldown_ns");
        let blocker = f(&side, "blocker_after_window_ns");
        let _ = writeln!(
            md,
            "Worker creation fails during a window; a blocking item sits among its \
             siblings. Time is from the end of the window until the last sibling finished.{}{}\n",
            blocker.map_or(String::new(), |b| format!(
                " The blocker keeps blocking {} after the window; the mayday interval is {}.",
                fmt_ns(b),
                fmt_ns(interval)
            )),
            cooldown.map_or(String::new(), |c| format!(
                " On real threads the pool retries worker creation {} after its last \
                 failed attempt (`CREATE_COOLDOWN`), so once the window ends the siblings \
                 can run no sooner than that retry: the goal allows one cooldown plus about \
                 two mayday intervals. The simulated case needs no such allowance because \
                 its window ends exactly when a cooldown expires.",
                fmt_ns(c)
            ))
        );
        let _ = writeln!(
            md,
            "| policy | time until siblings finish | in mayday intervals | ratio to slurp |\n|---|---|---|---|"
        );
        let slurp = benches.iter().find(|b| b.function == "slurp");
        let cursor = benches.iter().find(|b| b.function == "cursor");
        for b in benches {
            let ratio = match slurp {
                Some(s) if s.function == b.function => "reference".into(),
                Some(s) => fmt_ratio_cell(&b.median.ratio(&s.median)),
                None => "–".into(),
            };
            let _ = writeln!(
                md,
                "| {} | {} | {:.2} | {ratio} |",
                b.function,
                fmt_est(&b.median),
                b.median.point / interval
            );
        }
        md.push('\n');
        let (Some(c), Some(sl)) = (cursor, slurp) else {
            self.goal(
                goal,
                Verdict::NoData,
                "no reported-case figures for both cursor and slurp",
            );
            return;
        };
        let r = c.median.ratio(&sl.median);
        self.verdict(
            "Sibling stall after the failure window, reported case, real threads: Cursor ÷ Slurp",
            format!(
                "cursor {} against slurp {}",
                fmt_ns(c.median.point),
                fmt_ns(sl.median.point)
            ),
            &r,
            judge(
                &r,
                &format!(
                    "Cursor better, {:.1}× shorter",
                    sl.median.point / c.median.point
                ),
                &format!(
                    "Slurp better, {:.1}× shorter",
                    c.median.point / sl.median.point
                ),
            ),
        );
        let bound = cooldown.unwrap_or(0.0) + ABOUT_TWO_INTERVALS * interval;
        let cursor_ok = c.median.point <= bound;
        let slurp_ok = blocker.is_none_or(|b| sl.median.point >= WHOLE_DURATION * b);
        let detail = format!(
            "cursor {} against a bound of {} ({}{ABOUT_TWO_INTERVALS} mayday intervals); slurp {}{}",
            fmt_ns(c.median.point),
            fmt_ns(bound),
            cooldown.map_or(String::new(), |c| format!("cooldown {} + ", fmt_ns(c))),
            fmt_ns(sl.median.point),
            blocker.map_or(String::new(), |b| format!(
                " = {:.0}% of the blocker's {} after the window",
                sl.median.point / b * 100.0,
                fmt_ns(b)
            ))
        );
        self.goal(
            goal,
            if cursor_ok && slurp_ok {
                Verdict::Met
            } else {
                Verdict::NotMet
            },
            detail,
        );
    }

    fn runtime(&mut self, input: &Input, md: &mut String) {
        let _ = writeln!(
            md,
            "## runtime: lib/test_workqueue.c's shape against the peers\n"
        );
        let speed = "Runtime at least as fast as the fastest peer in items/s";
        let p95 = "Runtime's p95 queue-to-start latency at most every peer's (rayon's included)";
        let allocs = "Zero allocations per queued Arc item";
        let benches = input.results.group("runtime");
        let side = input.side.get("runtime").cloned().unwrap_or(Value::Null);
        if benches.is_empty() {
            let _ = writeln!(md, "Not run.\n");
            for g in [speed, p95, allocs] {
                self.goal(g, Verdict::NoData, "runtime did not run");
            }
            return;
        }
        let _ = writeln!(
            md,
            "{} producer threads each queue one small item and wait for it to start, {} \
             times over (the kernel's closed loop). p50/p90/p95 are the queue-to-start \
             latency of every item of every run (from the producer's queueing call to the \
             first instruction of the item's function); allocations are those one queueing made on the producer's \
             thread (counting allocator).\n",
            f(&side, "producers").map_or("P".into(), |v| format!("{v:.0}")),
            f(&side, "items_per_producer").map_or("M".into(), |v| format!("{v:.0}"))
        );
        let side_of = |name: &str| {
            arr(&side, "sides")
                .iter()
                .find(|x| s(x, "side") == name)
                .cloned()
        };
        let cmwq = benches.iter().find(|b| b.function == CMWQ);
        let peers: Vec<&Bench> = benches.iter().filter(|b| b.function != CMWQ).collect();
        let fastest = peers
            .iter()
            .copied()
            .min_by(|a, b| a.median.point.total_cmp(&b.median.point));
        let _ = writeln!(
            md,
            "| side | time per run | items/s | cmwq/side (time) | p50 queue-to-start | p90 | p95 | allocations per queue |\n|---|---|---|---|---|---|---|---|"
        );
        for b in benches {
            let sd = side_of(&b.function).unwrap_or(Value::Null);
            let lat = sd.get("latency_ns").cloned().unwrap_or(Value::Null);
            let cell = |k: &str| f(&lat, k).map_or("–".into(), fmt_ns);
            let ratio = match cmwq {
                Some(c) if c.function == b.function => "reference".into(),
                Some(c) => fmt_ratio_cell(&c.median.ratio(&b.median)),
                None => "–".into(),
            };
            let _ = writeln!(
                md,
                "| {} | {} | {} | {ratio} | {} | {} | {} | {} |",
                b.function,
                fmt_est(&b.median),
                b.elements_per_sec().map_or("–".into(), fmt_rate),
                cell("p50"),
                cell("p90"),
                cell("p95"),
                f(&sd, "allocations_per_queue").map_or("–".into(), |v| format!("{v:.3}")),
            );
        }
        md.push('\n');
        self.plots.push(Plot::Bars {
            file: "runtime_throughput.svg",
            title: "Items per second (median run)",
            y: ("items/s", Unit::Count),
            bars: benches
                .iter()
                .filter_map(|b| Some((b.function.clone(), b.elements_per_sec()?)))
                .collect(),
        });
        let series: Vec<Series> = arr(&side, "sides")
            .iter()
            .map(|x| (s(x, "side").to_owned(), ladder(x, "latency_ladder")))
            .filter(|(_, pts)| !pts.is_empty())
            .collect();
        let _ = writeln!(md, "![throughput per side](runtime_throughput.svg)\n");
        if !series.is_empty() {
            self.plots.push(Plot::Lines {
                file: "runtime_latency.svg",
                title: "Queue-to-start latency distribution per side",
                x: ("queue-to-start latency", Unit::Nanos),
                y: ("fraction of items started", Unit::Fraction),
                series,
                log_y: false,
            });
            let _ = writeln!(
                md,
                "![latency distribution per side](runtime_latency.svg)\n"
            );
        }
        let (Some(c), Some(fp)) = (cmwq, fastest) else {
            let why = if cmwq.is_none() {
                "no cmwq side in this run"
            } else {
                "no peer in this run"
            };
            for g in [speed, p95] {
                self.goal(g, Verdict::NoData, why);
            }
            self.goal(allocs, Verdict::NoData, why);
            return;
        };
        let (cr, fr) = (
            c.elements_per_sec().unwrap_or(0.0),
            fp.elements_per_sec().unwrap_or(0.0),
        );
        let r = fp.median.ratio(&c.median);
        self.verdict(
            format!(
                "Runtime, closed loop (queue one, wait for its start): cmwq ÷ the fastest peer ({}), items/s",
                fp.function
            ),
            format!("cmwq {} against {}", fmt_rate(cr), fmt_rate(fr)),
            &r,
            judge(
                &r,
                &format!("cmwq slower, by {:.0}%", (1.0 - r.point) * 100.0),
                &format!("cmwq faster, by {:.0}%", (r.point - 1.0) * 100.0),
            ),
        );
        self.goal(
            speed,
            if cr >= fr {
                Verdict::Met
            } else {
                Verdict::NotMet
            },
            format!(
                "cmwq {} against {} {} ({:+.1}%)",
                fmt_rate(cr),
                fp.function,
                fmt_rate(fr),
                (cr / fr - 1.0) * 100.0
            ),
        );
        let p95_of = |name: &str| side_of(name).and_then(|x| f(x.get("latency_ns")?, "p95"));
        let lowest = peers
            .iter()
            .filter_map(|b| Some((p95_of(&b.function)?, b.function.as_str())))
            .min_by(|a, b| a.0.total_cmp(&b.0));
        match (p95_of(CMWQ), lowest) {
            (Some(cp), Some((lp, name))) => self.goal(
                p95,
                if cp <= lp {
                    Verdict::Met
                } else {
                    Verdict::NotMet
                },
                format!(
                    "cmwq {} against the lowest peer p95, {name} {} ({:+.1}%)",
                    fmt_ns(cp),
                    fmt_ns(lp),
                    (cp / lp - 1.0) * 100.0
                ),
            ),
            _ => self.goal(p95, Verdict::NoData, "latency side file missing"),
        }
        match side_of(CMWQ).and_then(|x| f(&x, "allocations_per_queue")) {
            Some(a) => self.goal(
                allocs,
                if a == 0.0 {
                    Verdict::Met
                } else {
                    Verdict::NotMet
                },
                format!("{a:.3} allocations per queue_work of a pre-made Arc item"),
            ),
            None => self.goal(allocs, Verdict::NoData, "allocation figure missing"),
        }
    }

    fn throughput(&mut self, input: &Input, md: &mut String) {
        let _ = writeln!(
            md,
            "## throughput: P producers submitting without waiting, two workers\n"
        );
        let peers_goal = "Throughput: cmwq items/s at least the best of rayon, threadpool and tokio at every P, with closures and with preallocated Arc items";
        let limit_goal = "Throughput: cmwq items/s at least 0.8x the crossbeam-channel pool at every P (stretch 1.0x)";
        let cpu_goal = "Throughput: cmwq CPU time per item at most 0.35 µs";
        let threads_goal =
            "Throughput: no more threads run cmwq's items than the workers asked for";
        let benches = input.results.group("throughput");
        if benches.is_empty() {
            let _ = writeln!(md, "Not run.\n");
            for g in [peers_goal, limit_goal, cpu_goal, threads_goal] {
                self.goal(g, Verdict::NoData, "throughput did not run");
            }
            return;
        }
        let side = input.side.get("throughput").cloned().unwrap_or(Value::Null);
        let workers = f(&side, "workers").unwrap_or(2.0);
        let _ = writeln!(
            md,
            "P producer threads each submit {} tiny items as fast as they can, never \
             waiting, to {workers:.0} worker threads (the `queue_work` shape of the kernel's \
             `lib/test_workqueue.c`, without its wait). Items/s is criterion's median run \
             (interval in brackets); `÷ best other` divides it by the fastest other side at \
             that P. p50/p95/p99 are each item's queue-to-start latency (the producer reads \
             the clock just before submitting it, the item as it starts), over every item \
             of every run; with producers this far ahead of the workers it is mostly time \
             spent waiting in the queue. CPU per item is the whole process's CPU time over a \
             run (producers, workers and any thread kept awake) divided by its items; \
             allocations are the producers' threads' while submitting; threads counts the \
             distinct threads that ran items (min–max over runs). cmwq sides: `fn` queues \
             closures with `queue_fn`, `arc` queues `Arc` items made before the run with \
             `queue_work`; `unbound` is one `WQ_UNBOUND` workqueue with max_active \
             {workers:.0}, `percpu` a per-CPU workqueue on a runtime of {workers:.0} CPUs.\n",
            f(&side, "items_per_producer").map_or("M".into(), |v| format!("{v:.0}"))
        );
        let case = |name: &str, p: &str| -> Value {
            arr(&side, "cases")
                .iter()
                .find(|c| {
                    s(c, "side") == name
                        && c.get("producers")
                            .and_then(Value::as_u64)
                            .map(|n| n.to_string())
                            == Some(p.to_owned())
                })
                .cloned()
                .unwrap_or(Value::Null)
        };
        let mut ps: Vec<String> = benches.iter().filter_map(|b| b.parameter.clone()).collect();
        ps.sort_by_key(|p| p.parse::<u64>().unwrap_or(u64::MAX));
        ps.dedup();
        let mut names: Vec<String> = benches.iter().map(|b| b.function.clone()).collect();
        names.sort();
        names.dedup();
        let rate = |b: &Bench| b.elements_per_sec().unwrap_or(0.0);
        let rate_interval = |b: &Bench| {
            let n = b.elements.unwrap_or(0) as f64 * 1e9;
            format!(
                "{} [{} – {}]",
                fmt_rate(n / b.median.point),
                fmt_rate(n / b.median.upper),
                fmt_rate(n / b.median.lower)
            )
        };
        let at = |p: &str| -> Vec<&Bench> {
            let mut v: Vec<&Bench> = benches
                .iter()
                .filter(|b| b.parameter.as_deref() == Some(p))
                .collect();
            v.sort_by(|a, b| rate(b).total_cmp(&rate(a)));
            v
        };
        // The summary: items/s of every side at every P, as a user compares pools.
        let _ = write!(md, "| side |");
        for p in &ps {
            let _ = write!(md, " P = {p} |");
        }
        let _ = writeln!(
            md,
            " CPU per item (by P) | allocations per item | threads that ran items |"
        );
        let _ = writeln!(md, "|---|{}---|---|---|", "---|".repeat(ps.len()));
        let mut order = names.clone();
        let first_p = ps.first().cloned().unwrap_or_default();
        order.sort_by(|a, b| {
            let r = |n: &str| {
                input
                    .results
                    .get("throughput", n, Some(&first_p))
                    .map_or(0.0, rate)
            };
            r(b).total_cmp(&r(a))
        });
        for name in &order {
            let _ = write!(md, "| {name} |");
            let mut cpu = Vec::new();
            let mut allocs = Vec::new();
            let mut threads = Vec::new();
            for p in &ps {
                match input.results.get("throughput", name, Some(p)) {
                    Some(b) => {
                        let _ = write!(md, " {} |", fmt_rate(rate(b)));
                    }
                    None => md.push_str(" – |"),
                }
                let c = case(name, p);
                cpu.push(f(&c, "cpu_ns_per_item").map_or("–".into(), fmt_ns));
                allocs
                    .push(f(&c, "allocations_per_item").map_or("–".into(), |v| format!("{v:.2}")));
                threads.push(match (f(&c, "threads_min"), f(&c, "threads_max")) {
                    (Some(lo), Some(hi)) if lo == hi => format!("{hi:.0}"),
                    (Some(lo), Some(hi)) => format!("{lo:.0}–{hi:.0}"),
                    _ => "–".into(),
                });
            }
            let _ = writeln!(
                md,
                " {} | {} | {} |",
                cpu.join(" / "),
                allocs.join(" / "),
                threads.join(" / ")
            );
        }
        md.push('\n');
        for p in &ps {
            let _ = writeln!(md, "### P = {p}\n");
            let _ = writeln!(
                md,
                "| side | items/s | ÷ best other | p50 queue-to-start | p95 | p99 | CPU per item | allocations per item | threads |\n|---|---|---|---|---|---|---|---|---|"
            );
            let here = at(p);
            for b in &here {
                let best_other = here.iter().find(|o| o.function != b.function);
                let ratio = best_other.map_or("–".into(), |o| {
                    format!(
                        "{} ({})",
                        fmt_ratio_cell(&o.median.ratio(&b.median)),
                        o.function
                    )
                });
                let c = case(&b.function, p);
                let lat = c.get("latency_ns").cloned().unwrap_or(Value::Null);
                let cell = |k: &str| f(&lat, k).map_or("–".into(), fmt_ns);
                let _ = writeln!(
                    md,
                    "| {} | {} | {ratio} | {} | {} | {} | {} | {} | {} |",
                    b.function,
                    rate_interval(b),
                    cell("p50"),
                    cell("p95"),
                    cell("p99"),
                    f(&c, "cpu_ns_per_item").map_or("–".into(), fmt_ns),
                    f(&c, "allocations_per_item").map_or("–".into(), |v| format!("{v:.3}")),
                    match (f(&c, "threads_min"), f(&c, "threads_max")) {
                        (Some(lo), Some(hi)) if lo == hi => format!("{hi:.0}"),
                        (Some(lo), Some(hi)) => format!("{lo:.0}–{hi:.0}"),
                        _ => "–".into(),
                    }
                );
            }
            md.push('\n');
        }
        let series: Vec<Series> = order
            .iter()
            .map(|name| {
                let pts = ps
                    .iter()
                    .filter_map(|p| {
                        let b = input.results.get("throughput", name, Some(p))?;
                        Some((p.parse::<f64>().ok()?, rate(b)))
                    })
                    .collect();
                (name.clone(), pts)
            })
            .collect();
        self.plots.push(Plot::Lines {
            file: "throughput.svg",
            title: "Items per second against producers (two workers)",
            x: ("producers (P)", Unit::Count),
            y: ("items/s (median run)", Unit::Count),
            series,
            log_y: false,
        });
        let _ = writeln!(md, "![items per second against P](throughput.svg)\n");

        // Goals and verdicts: each cmwq form at its faster pool kind, at every P.
        const PEERS: [&str; 4] = [
            "rayon-spawn",
            "rayon-spawn-fifo",
            "threadpool",
            "tokio-spawn-blocking",
        ];
        const LIMIT: &str = "crossbeam-channel-pool";
        let forms = [("closures", "cmwq-fn-"), ("Arc items", "cmwq-arc-")];
        let best_of =
            |p: &str, pick: &dyn Fn(&str) -> bool| at(p).into_iter().find(|b| pick(&b.function));
        let mut peer_worst: Vec<(f64, String)> = Vec::new();
        let mut limit_worst: Vec<(f64, String)> = Vec::new();
        let mut cpu_worst: Option<(f64, String)> = None;
        let mut threads_worst: Option<(f64, String)> = None;
        for p in &ps {
            let peer = best_of(p, &|n| PEERS.contains(&n));
            let limit = best_of(p, &|n| n == LIMIT);
            for (form, prefix) in forms {
                let Some(c) = best_of(p, &|n| n.starts_with(prefix)) else {
                    continue;
                };
                if let Some(peer) = peer {
                    let r = peer.median.ratio(&c.median);
                    peer_worst.push((
                        r.point,
                        format!(
                            "{form} at P = {p}: {} {:.2}x {}",
                            c.function, r.point, peer.function
                        ),
                    ));
                    self.verdict(
                        format!("Throughput, P = {p}, {form}: cmwq ({}) ÷ the fastest of rayon, threadpool, tokio ({})", c.function, peer.function),
                        format!("{} against {}", fmt_rate(rate(c)), fmt_rate(rate(peer))),
                        &r,
                        judge(
                            &r,
                            &format!("cmwq slower, {:.1}× behind", 1.0 / r.point),
                            &format!("cmwq faster, by {:.0}%", (r.point - 1.0) * 100.0),
                        ),
                    );
                }
                if let Some(l) = limit {
                    let r = l.median.ratio(&c.median);
                    limit_worst.push((
                        r.point,
                        format!("{form} at P = {p}: {} {:.2}x", c.function, r.point),
                    ));
                }
                let cc = case(&c.function, p);
                if let Some(cpu) = f(&cc, "cpu_ns_per_item") {
                    if cpu_worst.as_ref().is_none_or(|(w, _)| cpu > *w) {
                        cpu_worst = Some((cpu, format!("{} at P = {p}", c.function)));
                    }
                }
                if let Some(t) = f(&cc, "threads_max") {
                    if threads_worst.as_ref().is_none_or(|(w, _)| t > *w) {
                        threads_worst = Some((t, format!("{} at P = {p}", c.function)));
                    }
                }
            }
        }
        let worst = |v: &[(f64, String)]| v.iter().min_by(|a, b| a.0.total_cmp(&b.0)).cloned();
        match worst(&peer_worst) {
            Some((w, what)) => self.goal(
                peers_goal,
                if w >= 1.0 {
                    Verdict::Met
                } else {
                    Verdict::NotMet
                },
                format!("worst: {what} ({:+.0}%)", (w - 1.0) * 100.0),
            ),
            None => self.goal(
                peers_goal,
                Verdict::NoData,
                "no cmwq side or no peer in this run",
            ),
        }
        match worst(&limit_worst) {
            Some((w, what)) => self.goal(
                limit_goal,
                if w >= 0.8 {
                    Verdict::Met
                } else {
                    Verdict::NotMet
                },
                format!("worst: {what} of the crossbeam pool (bound 0.8x)"),
            ),
            None => self.goal(
                limit_goal,
                Verdict::NoData,
                "no cmwq side or no crossbeam pool in this run",
            ),
        }
        match cpu_worst {
            Some((w, what)) => self.goal(
                cpu_goal,
                if w <= 350.0 {
                    Verdict::Met
                } else {
                    Verdict::NotMet
                },
                format!("worst: {} ({what}), {:.1}x the bound", fmt_ns(w), w / 350.0),
            ),
            None => self.goal(cpu_goal, Verdict::NoData, "no CPU figures in the side file"),
        }
        match threads_worst {
            Some((w, what)) => self.goal(
                threads_goal,
                if w <= workers {
                    Verdict::Met
                } else {
                    Verdict::NotMet
                },
                format!("at most {w:.0} threads ran items ({what}); {workers:.0} asked for"),
            ),
            None => self.goal(
                threads_goal,
                Verdict::NoData,
                "no thread counts in the side file",
            ),
        }
        let _ = writeln!(
            md,
            "Goals are judged on each cmwq form (closures, Arc items) at its faster pool kind \
             (unbound or per CPU) at each P; the tables above give every kind.\n"
        );
    }

    fn baseline(&mut self, input: &Input, md: &mut String) {
        let Some(name) = &input.baseline else { return };
        let _ = writeln!(md, "## Against baseline `{name}`\n");
        let _ = writeln!(
            md,
            "| benchmark | baseline | this run | change |\n|---|---|---|---|"
        );
        let mut any = false;
        for (group, benches) in &input.results.groups {
            for b in benches {
                let Some(base) = &b.baseline_median else {
                    continue;
                };
                any = true;
                let r = b.median.ratio(base);
                let _ = writeln!(
                    md,
                    "| {group}/{}{} | {} | {} | {:+.1}% [{:+.1}% – {:+.1}%] |",
                    b.function,
                    b.parameter
                        .as_deref()
                        .map_or(String::new(), |p| format!("/{p}")),
                    fmt_ns(base.point),
                    fmt_ns(b.median.point),
                    (r.point - 1.0) * 100.0,
                    (r.lower - 1.0) * 100.0,
                    (r.upper - 1.0) * 100.0
                );
            }
        }
        if !any {
            let _ = writeln!(
                md,
                "| (no benchmark has a saved baseline of that name) | | | |"
            );
        }
        md.push('\n');
    }

    /// The summary printed at the end of a run: one line per goal.
    pub(crate) fn summary(&self) -> String {
        let mut out = String::from("ab-bench summary:\n");
        for g in &self.goals {
            let _ = writeln!(out, "  [{:>7}] {}: {}", g.verdict.label(), g.name, g.detail);
        }
        out
    }

    /// Writes `report.md` and the plots into `dir`; a plot that fails is noted in the
    /// report instead of failing it.
    pub(crate) fn write(&self, dir: &Path) -> Result<(), String> {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let mut md = self.markdown.clone();
        for plot in &self.plots {
            let result = match plot {
                Plot::Lines {
                    file,
                    title,
                    x,
                    y,
                    series,
                    log_y,
                } => plots::lines(&dir.join(file), title, *x, *y, series, *log_y).map(|()| *file),
                Plot::Bars {
                    file,
                    title,
                    y,
                    bars,
                } => plots::bars(&dir.join(file), title, *y, bars).map(|()| *file),
            };
            if let Err(e) = result {
                let _ = writeln!(md, "\n(a plot could not be drawn: {e})");
            }
        }
        let path = dir.join("report.md");
        std::fs::write(&path, md).map_err(|e| format!("cannot write {}: {e}", path.display()))
    }
}

/// Least-squares slope of log y against log x (how a cost grows with N).
pub(crate) fn loglog_slope(pts: &[(f64, f64)]) -> Option<f64> {
    let logs: Vec<(f64, f64)> = pts
        .iter()
        .filter(|(x, y)| *x > 0.0 && *y > 0.0)
        .map(|(x, y)| (x.ln(), y.ln()))
        .collect();
    if logs.len() < 2 {
        return None;
    }
    let n = logs.len() as f64;
    let (mx, my) = logs
        .iter()
        .fold((0.0, 0.0), |(a, b), (x, y)| (a + x / n, b + y / n));
    let sxx: f64 = logs.iter().map(|(x, _)| (x - mx).powi(2)).sum();
    let sxy: f64 = logs.iter().map(|(x, y)| (x - mx) * (y - my)).sum();
    (sxx > 0.0).then(|| sxy / sxx)
}
