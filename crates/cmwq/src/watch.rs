//! The dump, the monitor table, stall detection and the lockup watchdog.
//!
//! A snapshot is copied pool by pool (each pool lock held only while copying it, then the
//! workqueue lock for the MAYDAY flag); formatting happens with no lock held.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use cmwq_dump::{KernelFormat, Snapshot, WqSnapshot};

use crate::rt::{Shared, Sink};
use crate::wq::WqShared;

/// A pool the watchdog considers locked up.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stall {
    /// The pool's id (as the dump numbers pools).
    pub pool: u32,
    /// Time since its worklist last made progress.
    pub stuck_for: Duration,
    /// The watchdog's line for it: `BUG: workqueue lockup - pool ... stuck for Ns!`.
    pub report: String,
}

fn wq_snapshot(rt: &Shared, wq: &WqShared, now: u64) -> WqSnapshot {
    let mut snap = wq.core.lock().snapshot_header();
    for &pwq in wq.pwqs.iter() {
        // Lock order: the pool, then the workqueue (the sink asks it for the MAYDAY flag).
        let pool = rt.pool(cmwq_pool::pool_of(pwq)).core.lock();
        if let Some(s) = pool.snapshot_pwq(pwq, &Sink(rt), now) {
            snap.pwqs.push(s);
        }
    }
    snap
}

/// Copy the state of every workqueue and pool of the runtime.
pub(crate) fn snapshot(rt: &Shared) -> Snapshot {
    let now = rt.now();
    let wqs: Vec<Arc<WqShared>> = rt.wqs.read().iter().flatten().cloned().collect();
    let workqueues = wqs.iter().map(|w| wq_snapshot(rt, w, now)).collect();
    let pools = rt
        .pools()
        .map(|p| p.core.lock().snapshot_pool(now))
        .collect();
    Snapshot { workqueues, pools }
}

pub(crate) fn show_all(rt: &Shared) -> String {
    let s = snapshot(rt);
    match s.show_all_workqueues(KernelFormat::default()) {
        Ok(d) => d.to_string(),
        Err(e) => format!("cmwq: inconsistent snapshot: {e}\n"),
    }
}

pub(crate) fn show_one(rt: &Shared, wq: &WqShared) -> String {
    let s = snapshot(rt);
    match s.show_one_workqueue(&wq.name, KernelFormat::default()) {
        Ok(d) => d.to_string(),
        Err(e) => format!("cmwq: inconsistent snapshot: {e}\n"),
    }
}

pub(crate) fn monitor(rt: &Shared) -> String {
    snapshot(rt).wq_monitor().to_string()
}

pub(crate) fn stalled(rt: &Shared, thresh: Duration) -> Vec<Stall> {
    let s = snapshot(rt);
    let thresh_ms = thresh.as_millis() as u64;
    s.watchdog_lockups(thresh_ms)
        .map(|l| Stall {
            pool: l.0.id,
            stuck_for: Duration::from_millis(l.0.since_progress_ms),
            report: l.to_string().trim_end().to_owned(),
        })
        .collect()
}

/// One run of the watchdog timer: report each newly stalled pool once per stall, with
/// the dump, through `tracing`.
pub(crate) fn watchdog(rt: &Shared, thresh: Duration) {
    let s = snapshot(rt);
    let thresh_ms = thresh.as_millis() as u64;
    let stuck: Vec<u32> = s.watchdog_lockups(thresh_ms).map(|l| l.0.id).collect();
    let mut fresh = false;
    for p in rt.pools() {
        let is_stuck = stuck.contains(&p.id.0);
        let was = p.reported.swap(is_stuck, Ordering::AcqRel);
        if is_stuck && !was {
            fresh = true;
            if let (Some(hook), Some(l)) = (
                &rt.lockup_hook,
                s.watchdog_lockups(thresh_ms).find(|l| l.0.id == p.id.0),
            ) {
                let stall = Stall {
                    pool: l.0.id,
                    stuck_for: Duration::from_millis(l.0.since_progress_ms),
                    report: l.to_string().trim_end().to_owned(),
                };
                // User code on the timer thread: a panic in it must not stop the watchdog.
                let called =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| hook(&stall)));
                if let Err(p) = called {
                    tracing::error!(target: "workqueue", pool = stall.pool,
                        message = crate::panic::payload_message(&*p), "the lockup hook panicked");
                }
            }
        }
    }
    if fresh {
        if let Ok(r) = s.watchdog_report(thresh_ms, KernelFormat::default()) {
            tracing::error!(target: "workqueue", "{r}");
        }
    }
}
