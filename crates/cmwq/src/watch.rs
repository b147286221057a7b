//! The dump, the monitor table, stall detection and the lockup watchdog.
//!
//! A snapshot is copied pool by pool (each pool lock held only while copying it, then the
//! workqueue lock for the MAYDAY flag); formatting happens with no lock held.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use cmwq_dump::{InFlightWorker, KernelFormat, PoolSnapshot, PwqSnapshot, Snapshot, WqSnapshot};
use cmwq_pool::{Pool, WorkerFlags};
use cmwq_work::PwqId;

use crate::rt::Shared;
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

/// A pwq's part of the dump, from the pool's public queries and the runtime's own record
/// of what each worker runs.
fn pwq_snapshot(rt: &Shared, pool: &Pool, pwq: PwqId, now: u64) -> PwqSnapshot {
    let mut ids: Vec<_> = pool.worker_ids().chain(rt.rescuers_on(pool.id())).collect();
    ids.sort_by_key(|w| w.0);
    ids.dedup();
    let in_flight = ids
        .into_iter()
        .filter(|w| pool.current_pwq(*w) == Some(pwq))
        .map(|w| {
            let (func, started) = rt.worker_current(w).unwrap_or_default();
            InFlightWorker {
                id: w.0,
                rescuer: pool
                    .worker_flags(w)
                    .is_some_and(|f| f.contains(WorkerFlags::RESCUER)),
                func,
                running_ms: rt.ns_to_ms(now.saturating_sub(started)),
                scheduled: Vec::new(),
            }
        })
        .collect();
    PwqSnapshot {
        id: pwq.0,
        pool_id: pool.id().0,
        nr_active: pool.pwq_nr_active(pwq),
        refcnt: pool.pwq_nr_in_flight(pwq) + 1,
        mayday: false,
        in_flight,
        pending: Vec::new(),
        inactive: Vec::new(),
        stats: dump_stats(&pool.pwq_stats(pwq)),
    }
}

fn dump_stats(s: &cmwq_pool::PwqStats) -> cmwq_dump::PwqStats {
    cmwq_dump::PwqStats {
        started: s.started,
        completed: s.completed,
        cpu_time_us: s.cpu_time_ns / 1000,
        cpu_intensive: s.cpu_intensive,
        cm_wakeup: s.cm_wakeup,
        repatriated: s.repatriated,
        mayday: s.mayday,
        rescued: s.rescued,
    }
}

fn pool_snapshot(rt: &Shared, pool: &Pool, now: u64) -> PoolSnapshot {
    let cpus = match pool.kind().cpu() {
        Some(c) => [c].into_iter().collect(),
        None => (0..rt.nr_cpus).collect(),
    };
    PoolSnapshot {
        id: pool.id().0,
        cpus,
        node: None,
        flags: pool.flags().bits(),
        nice: pool.kind().nice(),
        worklist_len: pool.worklist_len() as u32,
        since_progress_ms: rt.ns_to_ms(now.saturating_sub(pool.watchdog_ts())),
        since_touched_ms: None,
        nr_workers: pool.nr_workers(),
        nr_idle: pool.nr_idle(),
        manager: None,
        idle: pool.idle_workers().map(|w| w.0).collect(),
    }
}

fn wq_snapshot(rt: &Shared, wq: &WqShared, now: u64) -> WqSnapshot {
    let mut pwqs = Vec::with_capacity(wq.pwqs.len());
    for &pwq in wq.pwqs.iter() {
        let mut s = {
            let pool = rt.pool(cmwq_pool::pool_of(pwq)).core.lock();
            pwq_snapshot(rt, &pool, pwq, now)
        };
        s.mayday = wq.core.lock().is_on_maydays(pwq);
        pwqs.push(s);
    }
    WqSnapshot {
        name: wq.name.clone(),
        flags: wq.core.lock().flags().bits(),
        pwqs,
    }
}

/// Copy the state of every workqueue and pool of the runtime.
pub(crate) fn snapshot(rt: &Shared) -> Snapshot {
    let now = rt.now();
    let wqs: Vec<Arc<WqShared>> = rt.wqs.read().iter().flatten().cloned().collect();
    let workqueues = wqs.iter().map(|w| wq_snapshot(rt, w, now)).collect();
    let pools = rt
        .pools()
        .map(|p| pool_snapshot(rt, &p.core.lock(), now))
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
                hook(&Stall {
                    pool: l.0.id,
                    stuck_for: Duration::from_millis(l.0.since_progress_ms),
                    report: l.to_string().trim_end().to_owned(),
                });
            }
        }
    }
    if fresh {
        if let Ok(r) = s.watchdog_report(thresh_ms, KernelFormat::default()) {
            tracing::error!(target: "workqueue", "{r}");
        }
    }
}
