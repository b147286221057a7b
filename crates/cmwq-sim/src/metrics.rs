//! Metrics of a run, computed from its [`Trace`]: latency percentiles, the stall of sibling
//! items after pressure ends, rescuer cost and counts.

use std::fmt;

use crate::time::{Nanos, Pretty};
use crate::trace::{Trace, TraceKind};

/// Nearest-rank percentiles of a set of latencies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Percentiles {
    /// Number of samples.
    pub count: u64,
    /// Median.
    pub p50: Nanos,
    /// 90th percentile.
    pub p90: Nanos,
    /// 99th percentile.
    pub p99: Nanos,
    /// Largest sample.
    pub max: Nanos,
}

impl Percentiles {
    /// Percentiles of `samples` (sorted in place); all zero when empty.
    pub fn of(samples: &mut [Nanos]) -> Self {
        if samples.is_empty() {
            return Percentiles::default();
        }
        samples.sort_unstable();
        let n = samples.len();
        let rank = |p: usize| samples[(n * p).div_ceil(100).clamp(1, n) - 1];
        Percentiles {
            count: n as u64,
            p50: rank(50),
            p90: rank(90),
            p99: rank(99),
            max: samples[n - 1],
        }
    }
}

impl fmt::Display for Percentiles {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "p50={} p90={} p99={} max={} (n={})",
            Pretty(self.p50),
            Pretty(self.p90),
            Pretty(self.p99),
            Pretty(self.max),
            self.count
        )
    }
}

/// Latencies of one item group.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupLatency {
    /// The scenario's item group.
    pub group: String,
    /// Queue-to-start latency of its runs.
    pub queue_to_start: Percentiles,
    /// Queue-to-finish latency of its finished runs.
    pub queue_to_finish: Percentiles,
}

/// What a run measured.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Metrics {
    /// Queueings that took effect.
    pub queued: u64,
    /// Items that finished.
    pub finished: u64,
    /// Queue-to-start latency of every run.
    pub queue_to_start: Percentiles,
    /// Queue-to-finish latency of every finished run.
    pub queue_to_finish: Percentiles,
    /// Time from the end of the last pressure window until the last sibling finished
    /// (0 if they all finished before it; `None` without pressure or siblings).
    pub sibling_stall: Option<Nanos>,
    /// Maydays sent.
    pub maydays: u64,
    /// Items run by a rescuer.
    pub rescued: u64,
    /// Worklist nodes (items and cursors) the rescuer policy visited in total.
    pub rescuer_nodes_visited: u64,
    /// Successful worker creations.
    pub creations: u64,
    /// Failed worker creations.
    pub creation_failures: u64,
    /// When the run ended.
    pub end: Nanos,
    /// The latencies per item group, in the scenario's order (empty for a scenario of one
    /// group, where they equal the totals).
    pub groups: Vec<GroupLatency>,
}

impl Metrics {
    /// Computes the metrics of a trace; `rescuer_nodes_visited` comes from the core's
    /// policy statistics, which the trace does not see.
    pub fn from_trace(trace: &Trace, rescuer_nodes_visited: u64) -> Metrics {
        let n = trace.items.len();
        let mut queued_at: Vec<Nanos> = vec![0; n];
        // The queueing a run serves (an item re-queued while it runs starts again later).
        let mut run_queued_at: Vec<Nanos> = vec![0; n];
        let mut to_start = Vec::new();
        let mut to_finish = Vec::new();
        let mut m = Metrics {
            rescuer_nodes_visited,
            end: trace.end,
            ..Metrics::default()
        };
        let mut last_sibling_finish: Option<Nanos> = None;
        // Group index of every item, and per-group samples.
        let mut group_names: Vec<&str> = Vec::new();
        let mut group_of: Vec<usize> = Vec::with_capacity(n);
        for info in &trace.items {
            // Instances of a group are contiguous: try the last group first.
            if group_names.last().is_some_and(|g| *g == info.group) {
                group_of.push(group_names.len() - 1);
                continue;
            }
            let g = match group_names.iter().position(|g| *g == info.group) {
                Some(g) => g,
                None => {
                    group_names.push(&info.group);
                    group_names.len() - 1
                }
            };
            group_of.push(g);
        }
        let mut g_start: Vec<Vec<Nanos>> = vec![Vec::new(); group_names.len()];
        let mut g_finish: Vec<Vec<Nanos>> = vec![Vec::new(); group_names.len()];
        for ev in &trace.events {
            match ev.kind {
                TraceKind::Queued { item } => {
                    m.queued += 1;
                    queued_at[item as usize] = ev.t;
                }
                TraceKind::Started { item, worker } => {
                    run_queued_at[item as usize] = queued_at[item as usize];
                    to_start.push(ev.t - queued_at[item as usize]);
                    g_start[group_of[item as usize]].push(ev.t - queued_at[item as usize]);
                    if trace.workers[worker as usize].rescuer {
                        m.rescued += 1;
                    }
                }
                TraceKind::Finished { item, .. } => {
                    m.finished += 1;
                    to_finish.push(ev.t - run_queued_at[item as usize]);
                    g_finish[group_of[item as usize]].push(ev.t - run_queued_at[item as usize]);
                    if trace.items[item as usize].sibling {
                        last_sibling_finish = Some(ev.t);
                    }
                }
                TraceKind::Mayday { .. } => m.maydays += 1,
                TraceKind::CreateOk { .. } => m.creations += 1,
                TraceKind::CreateFailed { .. } => m.creation_failures += 1,
                TraceKind::Slept { .. } | TraceKind::Woke { .. } => {}
            }
        }
        m.queue_to_start = Percentiles::of(&mut to_start);
        m.queue_to_finish = Percentiles::of(&mut to_finish);
        if group_names.len() > 1 {
            m.groups = group_names
                .iter()
                .zip(g_start.iter_mut().zip(g_finish.iter_mut()))
                .map(|(name, (st, fi))| GroupLatency {
                    group: (*name).to_owned(),
                    queue_to_start: Percentiles::of(st),
                    queue_to_finish: Percentiles::of(fi),
                })
                .collect();
        }
        let pressure_end = trace.pressure.iter().map(|w| w.1).max();
        m.sibling_stall = match (pressure_end, last_sibling_finish) {
            (Some(end), Some(fin)) => Some(fin.saturating_sub(end)),
            _ => None,
        };
        m
    }

    /// Visited worklist nodes per rescued item (`None` when nothing was rescued).
    pub fn nodes_per_rescued(&self) -> Option<f64> {
        (self.rescued > 0).then(|| self.rescuer_nodes_visited as f64 / self.rescued as f64)
    }

    /// The metrics as `name: value` lines (stable text, snapshot-tested); per-group
    /// latencies follow as `queue-to-start[GROUP]` and `queue-to-finish[GROUP]`.
    pub fn lines(&self) -> Vec<(String, String)> {
        let opt = |v: Option<Nanos>| v.map_or_else(|| "-".to_owned(), |v| Pretty(v).to_string());
        let mut lines: Vec<(String, String)> = [
            ("queued", self.queued.to_string()),
            ("finished", self.finished.to_string()),
            ("queue-to-start", self.queue_to_start.to_string()),
            ("queue-to-finish", self.queue_to_finish.to_string()),
            ("sibling stall", opt(self.sibling_stall)),
            ("maydays", self.maydays.to_string()),
            ("rescued", self.rescued.to_string()),
            (
                "rescuer nodes visited",
                self.rescuer_nodes_visited.to_string(),
            ),
            (
                "nodes per rescued item",
                self.nodes_per_rescued()
                    .map_or_else(|| "-".to_owned(), |v| format!("{v:.2}")),
            ),
            ("worker creations", self.creations.to_string()),
            ("creation failures", self.creation_failures.to_string()),
            ("end", Pretty(self.end).to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        for g in &self.groups {
            lines.push((
                format!("queue-to-start[{}]", g.group),
                g.queue_to_start.to_string(),
            ));
            lines.push((
                format!("queue-to-finish[{}]", g.group),
                g.queue_to_finish.to_string(),
            ));
        }
        lines
    }
}

impl fmt::Display for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines = self.lines();
        let width = lines.iter().map(|(k, _)| k.len()).max().unwrap_or(0) + 2;
        for (k, v) in lines {
            writeln!(f, "{k:<width$}{v}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::trace::{ItemInfo, PwqInfo, WorkerInfo};

    #[test]
    fn percentiles_use_nearest_rank() {
        let mut s: Vec<Nanos> = (1..=100).rev().collect();
        let p = Percentiles::of(&mut s);
        assert_eq!(
            (p.p50, p.p90, p.p99, p.max, p.count),
            (50, 90, 99, 100, 100)
        );
        assert_eq!(Percentiles::of(&mut []), Percentiles::default());
        let p = Percentiles::of(&mut [7]);
        assert_eq!((p.p50, p.max), (7, 7));
    }

    fn trace() -> Trace {
        let item = |sibling| ItemInfo {
            func: "f".into(),
            group: "g".into(),
            instance: 0,
            pwq: 0,
            sibling,
        };
        let worker = |rescuer| WorkerInfo {
            id: 1,
            name: "w".into(),
            pool: Some(0),
            rescuer,
        };
        Trace {
            end: 100,
            pressure: vec![(0, 40)],
            pwqs: vec![PwqInfo {
                label: "q/cpu0".into(),
                pool: 0,
                mem_reclaim: true,
            }],
            workers: vec![worker(false), worker(true)],
            items: vec![item(false), item(true)],
            ..Trace::default()
        }
    }

    #[test]
    fn stall_runs_from_pressure_end_to_the_last_sibling_finish() {
        let mut t = trace();
        t.push(0, TraceKind::Queued { item: 0 });
        t.push(1, TraceKind::Queued { item: 1 });
        t.push(10, TraceKind::Mayday { pwq: 0 });
        t.push(11, TraceKind::Started { item: 0, worker: 1 });
        t.push(90, TraceKind::Finished { item: 0, worker: 1 });
        t.push(90, TraceKind::Started { item: 1, worker: 1 });
        t.push(95, TraceKind::Finished { item: 1, worker: 1 });
        let m = Metrics::from_trace(&t, 4);
        assert_eq!(m.sibling_stall, Some(55));
        assert_eq!(m.rescued, 2);
        assert_eq!(m.maydays, 1);
        assert_eq!(m.nodes_per_rescued(), Some(2.0));
        assert_eq!(m.queue_to_start.max, 89);
        assert_eq!(m.queue_to_finish.max, 94);
    }

    #[test]
    fn siblings_done_before_pressure_ends_stall_zero() {
        let mut t = trace();
        t.push(1, TraceKind::Queued { item: 1 });
        t.push(2, TraceKind::Started { item: 1, worker: 0 });
        t.push(3, TraceKind::Finished { item: 1, worker: 0 });
        assert_eq!(Metrics::from_trace(&t, 0).sibling_stall, Some(0));
    }
}
