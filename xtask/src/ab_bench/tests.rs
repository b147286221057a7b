//! The report is built from a small fixture of criterion output and side files: no bench
//! runs here.

use std::path::{Path, PathBuf};

use serde_json::json;

use super::data::{Results, SideFiles};
use super::machine::Machine;
use super::report::{Input, Report, Verdict, loglog_slope};
use super::{Options, started_benchmark};

/// A fresh scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cmwq-ab-bench-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes one criterion benchmark as criterion 0.5 lays it out.
fn criterion_bench(
    root: &Path,
    run: &str,
    group: &str,
    function: &str,
    param: &str,
    median_ns: f64,
    elements: Option<u64>,
) {
    let dir = root.join(group).join(function).join(param).join(run);
    std::fs::create_dir_all(&dir).unwrap();
    let throughput = elements.map_or(serde_json::Value::Null, |n| json!({ "Elements": n }));
    let meta = json!({
        "group_id": group, "function_id": function, "value_str": param,
        "throughput": throughput, "full_id": format!("{group}/{function}/{param}"),
        "directory_name": format!("{group}/{function}/{param}"), "title": format!("{group}/{function}/{param}"),
    });
    let est = |p: f64| {
        json!({
            "confidence_interval": { "confidence_level": 0.95, "lower_bound": p * 0.98, "upper_bound": p * 1.02 },
            "point_estimate": p, "standard_error": p * 0.01,
        })
    };
    let estimates = json!({
        "mean": est(median_ns), "median": est(median_ns), "median_abs_dev": est(median_ns * 0.01),
        "slope": null, "std_dev": est(median_ns * 0.02),
    });
    std::fs::write(dir.join("benchmark.json"), meta.to_string()).unwrap();
    std::fs::write(dir.join("estimates.json"), estimates.to_string()).unwrap();
}

fn machine() -> Machine {
    Machine {
        cpus: 2,
        memory: "8.0 GiB".into(),
        cpu_model: "Fixture CPU".into(),
        rustc: "rustc 1.95.0".into(),
        commit: "0123456789ab".into(),
        date: "2026-11-26 18:00 UTC".into(),
    }
}

/// rescue_scan (linear slurp and cursor, quadratic rescan), runtime (cmwq slower than
/// rayon, lower p95, no allocation), scenario side file with the reported case.
fn fixture(root: &Path) -> Input {
    let crit = root.join("criterion");
    for n in [100u64, 1_000, 10_000] {
        let nf = n as f64;
        criterion_bench(
            &crit,
            "new",
            "rescue_scan",
            "slurp",
            &n.to_string(),
            10.0 * nf,
            None,
        );
        criterion_bench(
            &crit,
            "new",
            "rescue_scan",
            "cursor",
            &n.to_string(),
            10.2 * nf,
            None,
        );
        criterion_bench(
            &crit,
            "new",
            "rescue_scan",
            "rescan",
            &n.to_string(),
            0.5 * nf * nf,
            None,
        );
    }
    criterion_bench(&crit, "new", "runtime", "cmwq", "2x2000", 30e6, Some(4000));
    criterion_bench(&crit, "new", "runtime", "rayon", "2x2000", 25e6, Some(4000));
    criterion_bench(
        &crit,
        "new",
        "runtime",
        "threadpool",
        "2x2000",
        90e6,
        Some(4000),
    );
    let lat = |p50: u64, p95: u64| json!({"count": 4000, "p50": p50, "p90": p95 - 10, "p95": p95, "p99": p95 * 2, "max": p95 * 10});
    // throughput: per P, cmwq's closures 3 M/s, its Arc items 4 M/s, the crossbeam pool
    // 5 M/s, rayon 3.5 M/s (items per run P x 1000).
    for p in [1u64, 2] {
        let items = p * 1000;
        for (side, rate) in [
            ("cmwq-fn-unbound", 3e6),
            ("cmwq-arc-percpu", 4e6),
            ("crossbeam-channel-pool", 5e6),
            ("rayon-spawn", 3.5e6),
        ] {
            criterion_bench(
                &crit,
                "new",
                "throughput",
                side,
                &p.to_string(),
                items as f64 * 1e9 / rate,
                Some(items),
            );
        }
    }
    let side = root.join("side");
    std::fs::create_dir_all(&side).unwrap();
    let tp_case = |side: &str, p: u64, cpu: f64, threads: u64| {
        json!({"side": side, "producers": p, "runs": 10, "items": 10 * p * 1000,
               "latency_ns": lat(2000, 9000), "latency_ladder": ladder_fixture(),
               "cpu_ns_per_item": cpu, "allocations_per_item": if side.starts_with("cmwq-arc") { 0.0 } else { 1.0 },
               "threads_min": threads, "threads_max": threads})
    };
    std::fs::write(side.join("throughput.json"), json!({
        "workers": 2, "items_per_producer": 1000, "producers": [1, 2],
        "cases": [
            tp_case("cmwq-fn-unbound", 1, 900.0, 3), tp_case("cmwq-fn-unbound", 2, 800.0, 3),
            tp_case("cmwq-arc-percpu", 1, 500.0, 2), tp_case("cmwq-arc-percpu", 2, 450.0, 2),
            tp_case("crossbeam-channel-pool", 1, 250.0, 2), tp_case("crossbeam-channel-pool", 2, 260.0, 2),
            tp_case("rayon-spawn", 1, 400.0, 2), tp_case("rayon-spawn", 2, 420.0, 2),
        ]
    }).to_string()).unwrap();
    let ladder = json!([[0.0, 400], [0.5, 900], [1.0, 50000]]);
    std::fs::write(side.join("runtime.json"), json!({
        "producers": 2, "items_per_producer": 2000,
        "sides": [
            {"side": "cmwq", "latency_ns": lat(800, 2000), "latency_ladder": ladder, "allocations_per_queue": 0.0},
            {"side": "rayon", "latency_ns": lat(900, 3000), "latency_ladder": ladder, "allocations_per_queue": 1.0},
            {"side": "threadpool", "latency_ns": lat(5000, 9000), "latency_ladder": ladder, "allocations_per_queue": 1.0},
        ]
    }).to_string()).unwrap();
    std::fs::write(side.join("rescue_scan.json"), json!({
        "interleave": 4,
        "cases": [{"policy": "cursor", "n": 1000, "rescued": 250, "nodes_visited": 1000, "nodes_per_rescued": 4.0}]
    }).to_string()).unwrap();
    std::fs::write(side.join("scenario.json"), json!({
        "mayday_interval_ns": 100_000_000u64,
        "scenarios": [
            {"scenario": "reported_case", "reported_case": true, "policy": "slurp", "sibling_stall_ns": 950_000_000u64,
             "blocker_after_pressure_ns": 1_000_000_000u64, "latency_ns": lat(1000, 5000), "latency_ladder": ladder, "rescued": 40, "maydays": 12},
            {"scenario": "reported_case", "reported_case": true, "policy": "cursor", "sibling_stall_ns": 150_000_000u64,
             "blocker_after_pressure_ns": 1_000_000_000u64, "latency_ns": lat(900, 4000), "latency_ladder": ladder, "rescued": 16, "maydays": 3},
            {"scenario": "reported-case-kernel", "reported_case": false, "policy": "cursor", "sibling_stall_ns": 57_000_000u64,
             "kernel_clock_hz": 250, "creation_after_pressure_ns": 2_048_050_000u64,
             "siblings_first_after_pressure_ns": 58_000_000u64, "siblings_last_after_pressure_ns": 58_100_000u64,
             "latency_ns": lat(900, 4000), "rescued": 1, "maydays": 2},
        ]
    }).to_string()).unwrap();
    Input {
        results: Results::read(&crit, "new", None, None),
        side: SideFiles::read(&side),
        machine: machine(),
        quick: true,
        baseline: None,
        criterion_args: "--sample-size 10".into(),
    }
}

fn ladder_fixture() -> serde_json::Value {
    json!([[0.0, 400], [0.5, 900], [1.0, 50000]])
}

fn verdict(report: &Report, name_part: &str) -> Verdict {
    report
        .goals
        .iter()
        .find(|g| g.name.contains(name_part))
        .unwrap_or_else(|| panic!("no goal mentioning {name_part}"))
        .verdict
}

#[test]
fn report_reads_criterion_estimates_into_per_group_tables() {
    let root = scratch("tables");
    let input = fixture(&root);
    assert_eq!(input.results.group("rescue_scan").len(), 9);
    let cursor = input
        .results
        .get("rescue_scan", "cursor", Some("1000"))
        .unwrap();
    assert_eq!(cursor.median.point, 10_200.0);
    let report = Report::build(&input);
    let md = &report.markdown;
    assert!(md.contains("| CPU model | Fixture CPU |"), "{md}");
    assert!(md.contains("| commit | 0123456789ab |"));
    // cursor/slurp at N = 1000: 1.02, spread 0.98/1.02 .. 1.02/0.98
    assert!(
        md.contains("| 1000 | 10.0 µs [9.80 µs – 10.2 µs] | 10.2 µs"),
        "{md}"
    );
    assert!(md.contains("1.020 [0.980 – 1.062]"), "{md}");
    assert!(
        md.contains("– / 4.00 / –"),
        "nodes per rescued item from the side file: {md}"
    );
    // runtime: items/s from the throughput, ratio cmwq/rayon 1.2, percentiles, allocations
    assert!(
        md.contains("| rayon | 25.0 ms [24.5 ms – 25.5 ms] | 160.0 k/s | 1.200"),
        "{md}"
    );
    assert!(
        md.contains("| cmwq | 30.0 ms") && md.contains("| 0.000 |"),
        "{md}"
    );
    // scenario rows come from the side file
    assert!(md.contains("| reported_case | cursor | 150 ms |"), "{md}");
    // a replay on a kernel's clock gets its figures beside the kernel's
    assert!(
        md.contains("| reported-case-kernel | cursor | 250 | "),
        "{md}"
    );
    // the timeline slot is left open and says why
    assert!(md.contains("No timeline in this run"));
}

#[test]
fn goals_are_judged_against_the_figures_not_tuned() {
    let root = scratch("goals");
    let report = Report::build(&fixture(&root));
    assert_eq!(verdict(&report, "within a few percent"), Verdict::Met);
    assert_eq!(verdict(&report, "far below Rescan"), Verdict::Met);
    assert_eq!(verdict(&report, "(simulated)"), Verdict::Met);
    // cmwq is 20% slower than rayon in the fixture: the report must say so.
    assert_eq!(verdict(&report, "items/s"), Verdict::NotMet);
    assert_eq!(verdict(&report, "p95"), Verdict::Met);
    assert_eq!(verdict(&report, "Zero allocations"), Verdict::Met);
    assert_eq!(verdict(&report, "real threads"), Verdict::NoData);
    let summary = report.summary();
    assert!(
        summary.contains("[NOT met] Runtime at least as fast"),
        "{summary}"
    );
    assert!(summary.contains("-16.7%"), "{summary}");
    // p95 is judged against the lowest peer p95 (rayon's here), not the fastest peer's
    assert!(
        summary.contains("cmwq 2.00 µs against the lowest peer p95, rayon 3.00 µs"),
        "{summary}"
    );
}

#[test]
fn report_writes_markdown_and_svg_plots_beside_it() {
    let root = scratch("write");
    let report = Report::build(&fixture(&root));
    let out = root.join("ab-bench");
    report.write(&out).unwrap();
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.starts_with("# cmwq A/B benchmark report"));
    for svg in [
        "rescue_scan.svg",
        "runtime_throughput.svg",
        "runtime_latency.svg",
        "scenario_latency.svg",
    ] {
        let text = std::fs::read_to_string(out.join(svg)).unwrap_or_else(|e| panic!("{svg}: {e}"));
        assert!(text.contains("<svg"), "{svg} is not an SVG");
        assert!(md.contains(svg), "report does not link {svg}");
    }
    assert!(!md.contains("could not be drawn"), "{md}");
}

#[test]
fn missing_groups_read_as_no_data() {
    let root = scratch("empty");
    let input = Input {
        results: Results::read(&root.join("criterion"), "new", None, None),
        side: SideFiles::read(&root.join("side")),
        machine: machine(),
        quick: false,
        baseline: None,
        criterion_args: String::new(),
    };
    let report = Report::build(&input);
    assert!(report.goals.iter().all(|g| g.verdict == Verdict::NoData));
    assert!(report.markdown.contains("Not run."));
}

#[test]
fn baseline_comparison_reads_the_named_run_beside_new() {
    let root = scratch("baseline");
    let crit = root.join("criterion");
    criterion_bench(&crit, "new", "rescue_scan", "cursor", "100", 1100.0, None);
    criterion_bench(
        &crit,
        "before",
        "rescue_scan",
        "cursor",
        "100",
        1000.0,
        None,
    );
    let input = Input {
        results: Results::read(&crit, "new", Some("before"), None),
        side: SideFiles::default(),
        machine: machine(),
        quick: false,
        baseline: Some("before".into()),
        criterion_args: String::new(),
    };
    let b = input
        .results
        .get("rescue_scan", "cursor", Some("100"))
        .unwrap();
    assert_eq!(b.baseline_median.unwrap().point, 1000.0);
    let md = Report::build(&input).markdown;
    assert!(
        md.contains("| rescue_scan/cursor/100 | 1.00 µs | 1.10 µs | +10.0%"),
        "{md}"
    );
    // --save NAME runs are read from NAME instead of `new`
    let saved = Results::read(&crit, "before", None, None);
    assert_eq!(
        saved
            .get("rescue_scan", "cursor", Some("100"))
            .unwrap()
            .median
            .point,
        1000.0
    );
}

#[test]
fn estimates_older_than_the_run_are_not_read_as_its_own() {
    let root = scratch("stale");
    let crit = root.join("criterion");
    criterion_bench(&crit, "new", "rescue_scan", "rescan", "100000", 1e9, None);
    let after_it = std::time::SystemTime::now() + std::time::Duration::from_secs(3600);
    assert!(
        Results::read(&crit, "new", None, Some(after_it))
            .groups
            .is_empty()
    );
    let before_it = std::time::SystemTime::UNIX_EPOCH;
    assert_eq!(
        Results::read(&crit, "new", None, Some(before_it))
            .group("rescue_scan")
            .len(),
        1
    );
}

#[test]
fn options_map_to_criterion_flags() {
    let args = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    let o = Options::parse(&args(&["--quick", "--save", "main"])).unwrap();
    assert!(o.quick);
    let flags = o.criterion_args().join(" ");
    assert!(
        flags.contains("--sample-size 10") && flags.ends_with("--save-baseline main"),
        "{flags}"
    );
    let o = Options::parse(&args(&["--baseline", "main"])).unwrap();
    assert!(
        o.criterion_args()
            .join(" ")
            .ends_with("--baseline-lenient main")
    );
    assert!(Options::parse(&args(&["--save"])).is_err());
    assert!(Options::parse(&args(&["--save", "a", "--baseline", "b"])).is_err());
    assert!(Options::parse(&args(&["--fast"])).is_err());
}

#[test]
fn progress_follows_criterion_warm_up_lines() {
    assert_eq!(
        started_benchmark("Benchmarking runtime/rayon/2x2000: Warming up for 500.00 ms"),
        Some("runtime/rayon/2x2000")
    );
    assert_eq!(
        started_benchmark("Benchmarking runtime/rayon/2x2000: Analyzing"),
        None
    );
    assert_eq!(
        started_benchmark("runtime/rayon/2x2000    time:   [1 ms 2 ms 3 ms]"),
        None
    );
}

#[test]
fn growth_slope_tells_linear_from_quadratic() {
    let lin: Vec<(f64, f64)> = [100.0, 1e3, 1e4].iter().map(|&n| (n, 3.0 * n)).collect();
    let quad: Vec<(f64, f64)> = [100.0, 1e3, 1e4].iter().map(|&n| (n, n * n)).collect();
    assert!((loglog_slope(&lin).unwrap() - 1.0).abs() < 1e-9);
    assert!((loglog_slope(&quad).unwrap() - 2.0).abs() < 1e-9);
    assert_eq!(loglog_slope(&[(1.0, 1.0)]), None);
}

#[test]
fn report_opens_with_a_verdict_table_that_answers_cursor_against_slurp() {
    let root = scratch("verdict");
    let report = Report::build(&fixture(&root));
    let md = &report.markdown;
    let verdict_at = md.find("## Verdict").expect("a verdict section");
    assert!(verdict_at < md.find("## Machine").unwrap(), "{md}");
    assert!(verdict_at < md.find("## Goals").unwrap(), "{md}");
    // simulated stall: cursor 150 ms against slurp 950 ms, exact
    let row = report
        .verdicts
        .iter()
        .find(|v| v.question.contains("simulated") && v.question.contains("stall"))
        .expect("a simulated stall row");
    assert_eq!(row.ratio, "0.158 (exact)");
    assert!(row.answer.starts_with("Cursor better, 6.3×"), "{row:?}");
    // scan cost at N = 1000: 1.02 [0.980 – 1.062] crosses 1.0
    let scan = report
        .verdicts
        .iter()
        .find(|v| v.question.contains("N = 1000"))
        .expect("a scan-cost row");
    assert!(scan.answer.contains("inconclusive"), "{scan:?}");
    // ... and the table cell says so too
    assert!(md.contains("1.020 [0.980 – 1.062] inconclusive |"), "{md}");
    // the runtime against its peers, closed loop and throughput
    assert!(
        report
            .verdicts
            .iter()
            .any(|v| v.question.contains("closed loop") && v.answer.contains("cmwq slower")),
        "{md}"
    );
    assert!(
        report
            .verdicts
            .iter()
            .any(|v| v.question.contains("Throughput, P = 2, Arc items")
                && v.answer.contains("cmwq faster, by 14%")),
        "{md}"
    );
}

#[test]
fn ratios_are_inconclusive_exactly_when_their_interval_crosses_one() {
    use super::data::Ratio;
    use super::report::judge;
    let r = |point, lower, upper| Ratio {
        point,
        lower,
        upper,
    };
    assert_eq!(judge(&r(0.5, 0.4, 0.6), "lower", "higher"), "lower");
    assert_eq!(judge(&r(1.5, 1.1, 1.9), "lower", "higher"), "higher");
    assert!(judge(&r(0.95, 0.8, 1.05), "lower", "higher").contains("inconclusive"));
    assert!(judge(&r(1.05, 0.99, 1.2), "lower", "higher").contains("inconclusive"));
    assert_eq!(judge(&r(1.0, 1.0, 1.0), "lower", "higher"), "equal");
}

#[test]
fn real_thread_goal_allows_the_creation_cooldown_after_the_window() {
    let root = scratch("real");
    let mut input = fixture(&root);
    let crit = root.join("criterion");
    criterion_bench(&crit, "new", "rescue_real", "cursor", "", 52e6, None);
    criterion_bench(&crit, "new", "rescue_real", "slurp", "", 252e6, None);
    let side = root.join("side");
    std::fs::write(
        side.join("rescue_real.json"),
        json!({"mayday_interval_ns": 10_000_000u64, "create_cooldown_ns": 100_000_000u64,
               "window_ns": 150_000_000u64, "blocker_after_window_ns": 250_000_000u64})
        .to_string(),
    )
    .unwrap();
    input.results = Results::read(&crit, "new", None, None);
    input.side = SideFiles::read(&side);
    let report = Report::build(&input);
    // 52 ms is 5.2 mayday intervals, but within cooldown 100 ms + 2.2 intervals
    assert_eq!(verdict(&report, "real threads"), Verdict::Met);
    let row = report
        .verdicts
        .iter()
        .find(|v| v.question.contains("real threads"))
        .expect("a real-thread row");
    assert!(row.answer.starts_with("Cursor better, 4.8×"), "{row:?}");
}

#[test]
fn throughput_section_reads_rates_ratios_and_judges_its_goals() {
    let root = scratch("throughput");
    let report = Report::build(&fixture(&root));
    let md = &report.markdown;
    assert!(md.contains("## throughput"), "{md}");
    // summary row: items/s at P = 1 and 2, CPU per item by P, threads
    assert!(
        md.contains(
            "| cmwq-arc-percpu | 4.00 M/s | 4.00 M/s | 500 ns / 450 ns | 0.00 / 0.00 | 2 / 2 |"
        ),
        "{md}"
    );
    // per-P table: the crossbeam pool is the best other side of cmwq-arc-percpu
    assert!(
        md.contains("| cmwq-arc-percpu | 4.00 M/s [3.92 M/s – 4.08 M/s] | 0.800 [0.769 – 0.833] (crossbeam-channel-pool) |"),
        "{md}"
    );
    // Arc items beat rayon, closures do not: the peers goal is not met, by -14%
    assert_eq!(
        verdict(&report, "rayon, threadpool and tokio at every P"),
        Verdict::NotMet
    );
    let g = report
        .goals
        .iter()
        .find(|g| g.name.contains("at least the best of rayon"))
        .unwrap();
    assert!(
        g.detail.contains("closures") && g.detail.contains("-14%"),
        "{g:?}"
    );
    // closures reach 3/5 = 0.6 of the crossbeam pool (Arc items 0.8): not met
    assert_eq!(verdict(&report, "0.8x the crossbeam"), Verdict::NotMet);
    let g = report
        .goals
        .iter()
        .find(|g| g.name.contains("0.8x the crossbeam"))
        .unwrap();
    assert!(g.detail.contains("cmwq-fn-unbound 0.60x"), "{g:?}");
    assert_eq!(verdict(&report, "0.35 µs"), Verdict::NotMet);
    // closures ran on three threads with two asked for
    assert_eq!(verdict(&report, "no more threads"), Verdict::NotMet);
    let out = root.join("ab-bench");
    report.write(&out).unwrap();
    let svg = std::fs::read_to_string(out.join("throughput.svg")).unwrap();
    assert!(
        svg.contains("<svg") && svg.contains("cmwq-arc-percpu"),
        "legend names the sides"
    );
}
