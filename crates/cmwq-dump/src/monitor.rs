//! The table and records of the kernel's `tools/workqueue/wq_monitor.py`.
//!
//! Per workqueue, the stats of all its pwqs summed: `total` (STARTED), `infl` (STARTED -
//! COMPLETED, never below 0), `CPUtime` (seconds, `%8.1f`), `CPUitsv` (CPU_INTENSIVE,
//! per-CPU workqueues only), `CMW/RPR` (CM_WAKEUP for per-CPU workqueues, REPATRIATED for
//! unbound ones), `mayday` and `rescued` (WQ_MEM_RECLAIM workqueues only). A column that
//! does not apply prints `-`.

use std::fmt::{self, Display};

use serde::{Deserialize, Serialize};

use crate::model::{PwqStats, Snapshot, WqSnapshot};

/// The wq_monitor table: header line, then one row per workqueue (idle ones included),
/// in snapshot order. Made by [`Snapshot::wq_monitor`].
///
/// The script prints an empty line before each table it prints; that line belongs to its
/// polling loop and is not part of this value.
#[derive(Debug, Clone, Copy)]
pub struct WqMonitor<'a> {
    snapshot: &'a Snapshot,
}

/// The header line of the table (without its newline): a 24-wide empty name column, then
/// the column titles right-aligned to widths 8 5 8 7 7 7 7.
pub const WQ_MONITOR_HEADER: &str =
    "                            total  infl  CPUtime CPUitsv CMW/RPR  mayday rescued";

impl Snapshot {
    /// The wq_monitor table of this snapshot.
    pub fn wq_monitor(&self) -> WqMonitor<'_> {
        WqMonitor { snapshot: self }
    }

    /// The wq_monitor records of this snapshot (what `wq_monitor.py --json` reports), one
    /// per workqueue, stamped with `timestamp` (seconds since the Unix epoch, or any clock
    /// the caller uses).
    pub fn wq_monitor_records(&self, timestamp: f64) -> Vec<WqMonitorRecord> {
        self.workqueues
            .iter()
            .map(|wq| WqMonitorRecord::new(wq, timestamp))
            .collect()
    }

    /// The records of [`Snapshot::wq_monitor_records`] as JSON lines, one object per line.
    pub fn wq_monitor_json(&self, timestamp: f64) -> Result<String, serde_json::Error> {
        let mut out = String::new();
        for record in self.wq_monitor_records(timestamp) {
            out.push_str(&serde_json::to_string(&record)?);
            out.push('\n');
        }
        Ok(out)
    }
}

impl Display for WqMonitor<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(WQ_MONITOR_HEADER)?;
        f.write_str("\n")?;
        for wq in &self.snapshot.workqueues {
            WqMonitorRow(wq).fmt(f)?;
        }
        Ok(())
    }
}

/// One row of the wq_monitor table, newline included. Like the script, it ends with a
/// space before the newline, and shows only the last 24 characters of a longer name.
#[derive(Debug, Clone, Copy)]
pub struct WqMonitorRow<'a>(pub &'a WqSnapshot);

impl Display for WqMonitorRow<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let wq = self.0;
        let stats = wq.stats();
        let unbound = wq.is_unbound();
        let mem_reclaim = wq.is_mem_reclaim();
        write!(
            f,
            "{:<24} {:>8} {:>5} {:>8.1} ",
            last_chars(&wq.name, 24),
            stats.started,
            stats.started.saturating_sub(stats.completed),
            // The script divides as floats; so does this, and both print the exact binary
            // value rounded half to even.
            stats.cpu_time_us as f64 / 1_000_000.0,
        )?;
        write_opt(f, (!unbound).then_some(stats.cpu_intensive))?;
        write_opt(
            f,
            Some(if unbound {
                stats.repatriated
            } else {
                stats.cm_wakeup
            }),
        )?;
        write_opt(f, mem_reclaim.then_some(stats.mayday))?;
        write_opt(f, mem_reclaim.then_some(stats.rescued))?;
        f.write_str("\n")
    }
}

/// A value right-aligned to 7 then a space, or `-` for a column that does not apply.
fn write_opt(f: &mut fmt::Formatter<'_>, value: Option<u64>) -> fmt::Result {
    match value {
        Some(v) => write!(f, "{v:>7} "),
        None => write!(f, "{:>7} ", "-"),
    }
}

/// The last `n` characters of `s` (Python's `s[-n:]`).
fn last_chars(s: &str, n: usize) -> &str {
    let count = s.chars().count();
    if count <= n {
        return s;
    }
    let start = s.char_indices().nth(count - n).map_or(s.len(), |(i, _)| i);
    &s[start..]
}

/// One workqueue's record as `wq_monitor.py --json` reports it (same keys): the summed
/// stats and the flags that decide which columns apply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WqMonitorRecord {
    /// When the sample was taken (seconds; the caller's clock).
    pub timestamp: f64,
    /// The workqueue's name (whole, not cut to 24).
    pub name: String,
    /// `WQ_UNBOUND` is set.
    pub unbound: bool,
    /// `WQ_MEM_RECLAIM` is set.
    pub mem_reclaim: bool,
    /// Sum of PWQ_STAT_STARTED.
    pub started: u64,
    /// Sum of PWQ_STAT_COMPLETED.
    pub completed: u64,
    /// Sum of PWQ_STAT_CPU_TIME, microseconds.
    pub cpu_time: u64,
    /// Sum of PWQ_STAT_CPU_INTENSIVE.
    pub cpu_intensive: u64,
    /// Sum of PWQ_STAT_CM_WAKEUP.
    pub cm_wakeup: u64,
    /// Sum of PWQ_STAT_REPATRIATED.
    pub repatriated: u64,
    /// Sum of PWQ_STAT_MAYDAY.
    pub mayday: u64,
    /// Sum of PWQ_STAT_RESCUED.
    pub rescued: u64,
}

impl WqMonitorRecord {
    /// The record of `wq` at `timestamp`.
    pub fn new(wq: &WqSnapshot, timestamp: f64) -> Self {
        let PwqStats {
            started,
            completed,
            cpu_time_us,
            cpu_intensive,
            cm_wakeup,
            repatriated,
            mayday,
            rescued,
        } = wq.stats();
        Self {
            timestamp,
            name: wq.name.clone(),
            unbound: wq.is_unbound(),
            mem_reclaim: wq.is_mem_reclaim(),
            started,
            completed,
            cpu_time: cpu_time_us,
            cpu_intensive,
            cm_wakeup,
            repatriated,
            mayday,
            rescued,
        }
    }
}
