//! A stalled pool with a long worklist, for the `rescue_scan` bench: the core
//! (`cmwq_pool::System`) driven just far enough that its rescuer must rescue.
//!
//! One CPU, one normal per-CPU pool. Its first worker exists; every later worker creation
//! fails, so when items are queued the worker becomes the manager and nothing runs. The
//! worklist holds N items: one in [`INTERLEAVE`] belongs to the `WQ_MEM_RECLAIM` workqueue
//! being rescued, the others to plain workqueues (no rescuer), so they stay on the
//! worklist for the whole rescue and the policy must scan past them. Then the mayday
//! timer fires and the rescuer steps until it sleeps: every item of the rescued pwq has
//! run, and the pwq's stats say how many worklist nodes the policy visited.
//!
//! Workqueues keep the kernel's cap: max_active is at most `WQ_MAX_ACTIVE` (2048). The
//! rescued workqueue uses that cap; beyond it its items wait on the pwq's inactive list
//! and are activated (appended to the worklist) as rescued items complete, as in the
//! kernel. The plain workqueues are as many as needed to keep all their items active.

use std::sync::Arc;

use cmwq_pool::{
    Action, Actions, MAYDAY_INITIAL_TIMEOUT, Next, Policy, PoolId, PwqId, QueueFrom, RescuerStep,
    System, SystemConfig, WQ_MAX_ACTIVE, WorkRef, WqFlags, WqId, WqSpec, pool_of,
};
use cmwq_work::{FnWork, work_fn};

/// One item in this many on the worklist belongs to the rescued pwq.
pub const INTERLEAVE: usize = 4;

type Item = Arc<FnWork<fn()>>;

fn nothing() {}

/// What one whole rescue did, from the rescued pwq's stats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RescueOutcome {
    /// Items the rescuer ran (`PWQ_STAT_RESCUED`).
    pub rescued: u64,
    /// Worklist nodes the policy visited, cursors included.
    pub nodes_visited: u64,
}

impl RescueOutcome {
    /// Visited nodes per rescued item.
    pub fn nodes_per_rescued(&self) -> f64 {
        self.nodes_visited as f64 / self.rescued.max(1) as f64
    }
}

/// A pool whose worker creation fails, with `n` items queued and the mayday timer due.
pub struct StalledPool {
    sys: System,
    out: Actions,
    wq: WqId,
    pwq: PwqId,
    pool: PoolId,
    /// How many of the queued items are the rescued workqueue's.
    mine: usize,
}

impl std::fmt::Debug for StalledPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StalledPool")
            .field("wq", &self.wq)
            .field("pwq", &self.pwq)
            .field("mine", &self.mine)
            .finish_non_exhaustive()
    }
}

impl StalledPool {
    /// Builds the stalled pool with `n` items queued (see the module docs).
    pub fn new(policy: Policy, n: usize) -> Self {
        let mut sys = System::new(SystemConfig { nr_cpus: 1 });
        let mut out = Actions::new();
        let wq = sys
            .alloc_workqueue(
                WqSpec::new("reclaim_wq", WqFlags::MEM_RECLAIM)
                    .max_active(WQ_MAX_ACTIVE)
                    .policy(policy),
                0,
                &mut out,
            )
            .expect("a valid workqueue");
        // The pool's first worker is created; it goes idle.
        settle(&mut sys, &mut out, true);
        let pwq = sys.pwq_of(wq, Some(0)).expect("the pwq of CPU 0");
        let pool = pool_of(pwq);
        let mine = n / INTERLEAVE;
        let foreign = n - mine;
        let nr_other = foreign.div_ceil(usize::from(WQ_MAX_ACTIVE)).max(1);
        let others: Vec<WqId> = (0..nr_other)
            .map(|i| {
                sys.alloc_workqueue(
                    WqSpec::new(format!("other_wq{i}"), WqFlags::empty()).max_active(WQ_MAX_ACTIVE),
                    0,
                    &mut out,
                )
                .expect("a valid workqueue")
            })
            .collect();
        settle(&mut sys, &mut out, false);
        let mut next_other = 0;
        for i in 0..n {
            let item: Item = if i % INTERLEAVE == INTERLEAVE - 1 {
                work_fn("reclaim_fn", nothing as fn())
            } else {
                work_fn("other_fn", nothing as fn())
            };
            let target = if i % INTERLEAVE == INTERLEAVE - 1 {
                wq
            } else {
                next_other = (next_other + 1) % others.len();
                others[next_other]
            };
            sys.queue_work(
                target,
                Some(0),
                WorkRef::from_arc(item),
                QueueFrom::Outside,
                0,
                &mut out,
            )
            .map_err(|(e, _)| e)
            .expect("a fresh item queues");
            // Every creation fails from now on: the woken worker becomes the manager.
            settle(&mut sys, &mut out, false);
        }
        Self {
            sys,
            out,
            wq,
            pwq,
            pool,
            mine,
        }
    }

    /// Items of the rescued workqueue on (or waiting for) the worklist.
    pub fn mine(&self) -> usize {
        self.mine
    }

    /// Fires the mayday timer and runs the rescuer until it sleeps; every item of the
    /// rescued pwq has then run. Returns what the pwq's stats say about it.
    pub fn rescue_all(&mut self) -> RescueOutcome {
        let now = MAYDAY_INITIAL_TIMEOUT;
        let rescuer = self
            .sys
            .rescuer_id(self.wq)
            .expect("WQ_MEM_RECLAIM has a rescuer");
        self.sys.mayday_timeout(self.pool, now, &mut self.out);
        loop {
            self.out.clear();
            match self.sys.rescuer_step(self.wq, now, &mut self.out) {
                RescuerStep::Run { work, .. } => {
                    work.run();
                    self.sys.work_done(rescuer, 0, now, &mut self.out);
                }
                RescuerStep::Sleep => break,
            }
        }
        self.out.clear();
        let stats = self.sys.pwq_stats(self.pwq);
        RescueOutcome {
            rescued: stats.rescued,
            nodes_visited: stats.rescue_nodes_visited,
        }
    }
}

/// Plays the worker threads and the spawner until no action is left: woken workers ask
/// for work (and become the manager when the pool has no idle worker), creation requests
/// succeed only when `create_ok`. Timers are ignored: the bench fires the mayday timer
/// itself. No item runs here, since a pool with a worklist and a manager but no idle
/// worker hands nothing to run.
fn settle(sys: &mut System, out: &mut Actions, create_ok: bool) {
    for _ in 0..1_000 {
        let actions: Vec<Action> = out.drain().collect();
        if actions.is_empty() {
            return;
        }
        for action in actions {
            match action {
                Action::CreateWorker { pool } if create_ok => {
                    sys.worker_created(pool, 0, out);
                }
                Action::CreateWorker { pool } => sys.worker_create_failed(pool, 0, out),
                Action::WakeWorker { worker, .. } => match sys.next_work(worker, 0, out) {
                    Next::Run(work) => panic!("{} ran before the rescue", work.name()),
                    Next::Idle | Next::Manage | Next::Exit => {}
                },
                _ => {}
            }
        }
    }
    panic!("the stalled pool did not settle");
}

#[cfg(test)]
mod tests {
    use super::*;
    use cmwq_pool::RescuerPolicy;

    #[test]
    fn every_policy_rescues_every_item_of_the_pwq_and_counts_its_scan() {
        for policy in Policy::BUILTIN {
            let name = policy.name();
            let mut p = StalledPool::new(policy, 400);
            assert_eq!(p.mine(), 100);
            let o = p.rescue_all();
            assert_eq!(o.rescued, 100, "{name}");
            assert!(
                o.nodes_visited >= 100,
                "{name}: visited {}",
                o.nodes_visited
            );
        }
    }

    #[test]
    fn cursor_scans_linearly_and_rescan_quadratically() {
        let visited = |policy: Policy, n| StalledPool::new(policy, n).rescue_all().nodes_visited;
        let (c1, c2) = (visited(Policy::Cursor, 400), visited(Policy::Cursor, 800));
        let (r1, r2) = (visited(Policy::Rescan, 400), visited(Policy::Rescan, 800));
        // Doubling N about doubles the cursor's scan and quadruples the rescan's.
        assert!(c2 <= 2 * c1 + 8, "cursor {c1} -> {c2}");
        assert!(r2 >= 3 * r1, "rescan {r1} -> {r2}");
    }

    #[test]
    fn items_beyond_max_active_are_activated_and_rescued_too() {
        let n = INTERLEAVE * (usize::from(WQ_MAX_ACTIVE) + 100);
        let mut p = StalledPool::new(Policy::Cursor, n);
        assert_eq!(p.rescue_all().rescued, p.mine() as u64);
    }
}
