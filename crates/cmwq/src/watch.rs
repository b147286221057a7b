//! The dump, the monitor table, stall detection and the lockup watchdog, over a plain-data
//! [`Snapshot`] (the runtime copies it pool by pool, each pool lock held only while copying
//! it; formatting happens with no lock held).

use std::sync::Arc;
use std::time::Duration;

use cmwq_dump::{KernelFormat, Snapshot};

/// A function called by the lockup watchdog for each newly stalled pool.
pub type LockupHook = Arc<dyn Fn(&Stall) + Send + Sync + 'static>;

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

pub(crate) fn show_all(s: &Snapshot) -> String {
    match s.show_all_workqueues(KernelFormat::default()) {
        Ok(d) => d.to_string(),
        Err(e) => format!("cmwq: inconsistent snapshot: {e}\n"),
    }
}

pub(crate) fn show_one(s: &Snapshot, name: &str) -> String {
    match s.show_one_workqueue(name, KernelFormat::default()) {
        Ok(d) => d.to_string(),
        Err(e) => format!("cmwq: inconsistent snapshot: {e}\n"),
    }
}

pub(crate) fn monitor(s: &Snapshot) -> String {
    s.wq_monitor().to_string()
}

pub(crate) fn stalled(s: &Snapshot, thresh: Duration) -> Vec<Stall> {
    let thresh_ms = thresh.as_millis() as u64;
    s.watchdog_lockups(thresh_ms)
        .map(|l| Stall {
            pool: l.0.id,
            stuck_for: Duration::from_millis(l.0.since_progress_ms),
            report: l.to_string().trim_end().to_owned(),
        })
        .collect()
}

/// One run of the watchdog timer: report each newly stalled pool once per stall, with the
/// dump, through `tracing` and the hook. `mark(pool, stuck)` records whether a pool is
/// stuck now and returns whether it was at the previous run.
pub(crate) fn watchdog(
    s: &Snapshot,
    thresh: Duration,
    pools: impl Iterator<Item = u32>,
    mut mark: impl FnMut(u32, bool) -> bool,
    hook: Option<&LockupHook>,
) {
    let stalls = stalled(s, thresh);
    let mut fresh = false;
    for p in pools {
        let now = stalls.iter().find(|st| st.pool == p);
        let was = mark(p, now.is_some());
        if let (Some(st), false) = (now, was) {
            fresh = true;
            if let Some(h) = hook {
                // User code on the timer thread: a panic in it must not stop the watchdog.
                if let Err(p) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| h(st))) {
                    tracing::error!(target: "workqueue", pool = st.pool,
                        message = crate::panic::payload_message(&*p), "the lockup hook panicked");
                }
            }
        }
    }
    if fresh {
        if let Ok(r) = s.watchdog_report(thresh.as_millis() as u64, KernelFormat::default()) {
            tracing::error!(target: "workqueue", "{r}");
        }
    }
}
