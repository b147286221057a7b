//! Plain-data snapshots of the state for the dump (cmwq-dump's types).
//!
//! Building a snapshot copies what the dump shows under the lock of each piece in turn
//! (a pool's pieces under its lock, a workqueue's header and maydays under its own); the
//! formatting that follows touches no lock. The only code of others it calls is each
//! item's `name()`/`barrier_task()` (what the kernel's `%ps` does).

use std::collections::BTreeSet;

use cmwq_dump::{
    InFlightWorker, PoolSnapshot, PwqSnapshot, PwqStats as DumpStats, Snapshot, WorkEntry,
    WqSnapshot,
};
use cmwq_list::{ElemRef, Entry};
use cmwq_work::{LinkedWork, WorkFlags, WorkHead, WorkList};

use crate::lists;
use crate::pool::{MaydaySink, Pool};
use crate::system::System;
use crate::types::{PoolKind, PwqId, PwqStats};
use crate::workqueue::Workqueue;

const NS_PER_MS: u64 = 1_000_000;

fn entry(h: ElemRef<'_, WorkHead>) -> WorkEntry {
    let e = match h.barrier_task() {
        Some(task) => WorkEntry::barrier(task),
        None => WorkEntry::func(h.name()),
    };
    if lists::flags(&h).contains(WorkFlags::LINKED) {
        e.linked()
    } else {
        e
    }
}

fn entries(list: &WorkList) -> Vec<WorkEntry> {
    list.heads().map(entry).collect()
}

impl From<PwqStats> for DumpStats {
    fn from(s: PwqStats) -> Self {
        {
            let mut v = DumpStats::default();
            v.started = s.started;
            v.completed = s.completed;
            v.cpu_time_us = s.cpu_time_ns / 1_000;
            v.cpu_intensive = s.cpu_intensive;
            v.cm_wakeup = s.cm_wakeup;
            v.repatriated = s.repatriated;
            v.mayday = s.mayday;
            v.rescued = s.rescued;
            v
        }
    }
}

impl Pool {
    /// The pool's line of the dump (`pool N: cpus=.. hung=.. workers=.. idle: ..`).
    pub fn snapshot_pool(&self, now: u64) -> PoolSnapshot {
        let node = self.node();
        {
            let mut v = PoolSnapshot::default();
            v.id = self.id().0;
            v.cpus = self.cpus.iter().copied().collect::<BTreeSet<u32>>();
            v.node = node;
            v.flags = self.flags().bits();
            v.nice = self.kind().nice();
            v.worklist_len = self.worklist.iter().count() as u32;
            v.since_progress_ms = now.saturating_sub(self.watchdog_ts()) / NS_PER_MS;
            v.since_touched_ms = None;
            v.nr_workers = self.nr_workers();
            v.nr_idle = self.nr_idle();
            v.manager = if self.manager_active() {
                self.manager.map(|m| m.0)
            } else {
                None
            };
            v.idle = self.idle_workers().map(|w| w.0).collect();
            v
        }
    }

    /// One pwq of this pool as the dump shows it. Whether it is on its workqueue's maydays
    /// list is asked of `sink` (the workqueue lock nests inside this pool's). The pwq's cursor, while linked, is listed among
    /// its pending items as `mayday_cursor_func`; a rescuer's in-flight line is marked and
    /// lists its scheduled items.
    pub fn snapshot_pwq(&self, pwq: PwqId, sink: &dyn MaydaySink, now: u64) -> Option<PwqSnapshot> {
        let p = self.pwqs.get(crate::types::pwq_slot(pwq))?.as_ref()?;
        if p.id != pwq {
            return None;
        }
        let on_maydays = sink.is_on_maydays(p.wq, pwq);
        let mut workers: Vec<_> = self
            .workers
            .iter()
            .filter(|w| w.current_pwq() == Some(pwq))
            .collect();
        workers.sort_by_key(|w| w.id);
        let in_flight = workers
            .iter()
            .map(|w| {
                let mut v = InFlightWorker::default();
                v.id = w.id.0;
                v.rescuer = w.is_rescuer();
                v.func = w.current_func.clone();
                v.running_ms = now.saturating_sub(w.current_started().unwrap_or(now)) / NS_PER_MS;
                v.scheduled = entries(&w.scheduled);
                v
            })
            .collect();
        let owner = u64::from(pwq.get());
        let pending = self
            .worklist
            .iter()
            .filter_map(|e| match e {
                Entry::Elem(h) if h.pwq() == Some(pwq) => Some(entry(h)),
                Entry::Cursor(c) if c.owner() == owner => Some(WorkEntry::mayday_cursor()),
                _ => None,
            })
            .collect();
        let refcnt = self.pwq_refcnt(p.nr_in_flight.iter().sum(), pwq, on_maydays);
        Some({
            let mut v = PwqSnapshot::default();
            v.id = pwq.get();
            v.pool_id = self.id().0;
            v.nr_active = p.nr_active;
            v.max_active = p.max_active;
            v.refcnt = refcnt;
            v.mayday = on_maydays;
            v.in_flight = in_flight;
            v.pending = pending;
            v.inactive = entries(&p.inactive);
            v.stats = p.stats.into();
            v
        })
    }
}

impl Pool {
    /// `pwq->refcnt` as the kernel's get_pwq()/put_pwq() would count it for this pwq
    /// (kernel/workqueue.c, Linux 6.12):
    ///
    /// - 1 from `init_pwq()` (`pwq->refcnt = 1`): the reference of the per-CPU table slot of
    ///   a per-CPU workqueue, or of `wq->dfl_pwq` for an unbound one;
    /// - for an unbound workqueue (ordered ones included), one per possible CPU whose slot of
    ///   the per-CPU pwq table holds this pwq: `apply_wqattrs_prepare()` does
    ///   `ctx->dfl_pwq->refcnt++` for each CPU it points at dfl_pwq, which is every CPU for
    ///   an ordered workqueue and for a pod spanning the workqueue's cpumask. cmwq has one
    ///   unbound pwq covering every CPU of its pool, so: one per CPU of the pool;
    /// - one per work item in flight (`insert_work()` does `get_pwq(pwq)` for every item it
    ///   queues, pending, inactive and barrier alike; `pwq_dec_nr_in_flight()` puts it when
    ///   the item completes or is grabbed): the sum of `nr_in_flight`, which counts the same
    ///   items;
    /// - one while the pwq is on its workqueue's maydays list (`send_mayday()`:
    ///   `get_pwq(pwq); list_add_tail(&pwq->mayday_node, &wq->maydays)`);
    /// - one while the rescuer serves it: `rescuer_thread()` takes the pwq off maydays
    ///   keeping send_mayday's reference and drops it with `put_pwq(pwq)` only after it has
    ///   processed the pwq's items, before leaving the pool. So a rescued pwq that is again
    ///   on maydays holds both.
    pub(crate) fn pwq_refcnt(&self, nr_in_flight: u32, pwq: PwqId, on_maydays: bool) -> u32 {
        let table = match self.kind() {
            PoolKind::Unbound(_) => self.cpus.len() as u32,
            _ => 0,
        };
        let rescuer = self.workers.iter().any(|w| w.rescuing() == Some(pwq));
        1 + table + nr_in_flight + u32::from(on_maydays) + u32::from(rescuer)
    }
}

impl Workqueue {
    /// The workqueue's header for the dump; the caller fills `pwqs` from the pools.
    pub fn snapshot_header(&self) -> WqSnapshot {
        {
            let mut v = WqSnapshot::default();
            v.name = self.name().to_string();
            v.flags = self.flags().bits();
            v.pwqs = Vec::new();
            v
        }
    }
}

impl System {
    /// A plain-data snapshot of every live workqueue and every pool, for cmwq-dump.
    pub fn snapshot(&self, now: u64) -> Snapshot {
        let workqueues = self
            .workqueues()
            .iter()
            .filter(|w| !w.is_destroyed())
            .map(|w| {
                let mut s = w.snapshot_header();
                s.pwqs = w
                    .pwqs()
                    .iter()
                    .filter_map(|&p| {
                        self.pool(crate::types::pool_of(p))?
                            .snapshot_pwq(p, &self.wqs, now)
                    })
                    .collect();
                s
            })
            .collect();
        let pools = self.pools().iter().map(|p| p.snapshot_pool(now)).collect();
        {
            let mut v = Snapshot::default();
            v.workqueues = workqueues;
            v.pools = pools;
            v
        }
    }
}
