//! `System`: every pool and workqueue in one value, the trivial single-threaded
//! [`Driver`] (for the simulator and tests). Its operations are the ones in [`crate::ops`],
//! the same code the threaded runtime runs; `System` only lends its tables as the "locks"
//! and passes the caller's clock value and context.

use std::collections::HashMap;

use cmwq_work::{DisableError, WorkBusy, WorkHead, WorkRef};

use crate::action::{Action, Actions, FlushTicket};
use crate::delayed::DelayedTimers;
use crate::driver::{Context, Driver};
use crate::error::{DisableWorkError, QueueError, WqError};
use crate::ops::{self, PwqTable, RescuerStep};
use crate::pool::{MaydaySink, Next, Pool, WqLocks};
use crate::topology::Topology;
use crate::types::{
    PoolId, PoolTimings, PwqId, PwqStats, QueueFrom, WorkerId, WqFlags, WqId, pool_of,
};
use crate::workqueue::{Workqueue, WqSpec};

/// How many CPUs the system has (per-CPU pools are made for each).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SystemConfig {
    /// Number of CPUs (at least 1).
    pub nr_cpus: u32,
}

impl Default for SystemConfig {
    fn default() -> Self {
        Self { nr_cpus: 1 }
    }
}

/// The workqueues, indexed by id; the [`MaydaySink`] pools talk to.
#[derive(Debug, Default)]
pub(crate) struct WqTable(pub(crate) Vec<Workqueue>);

impl WqTable {
    fn get(&self, id: WqId) -> Option<&Workqueue> {
        self.0.get(id.0 as usize)
    }
    fn get_mut(&mut self, id: WqId) -> Option<&mut Workqueue> {
        self.0.get_mut(id.0 as usize)
    }
}

impl WqLocks for WqTable {
    fn read_wq<R>(&self, id: WqId, f: impl FnOnce(&Workqueue) -> R) -> Option<R> {
        self.get(id).map(f)
    }
    fn write_wq<R>(&mut self, id: WqId, f: impl FnOnce(&mut Workqueue) -> R) -> Option<R> {
        self.get_mut(id).map(f)
    }
}

/// The driver `System` lends to [`crate::ops`]: its tables, the caller's clock value and
/// context.
struct SysDriver<'a> {
    pools: &'a mut [Pool],
    wqs: &'a mut WqTable,
    timers: &'a mut DelayedTimers,
    nr_cpus: u32,
    now: u64,
    ctx: Context,
}

impl Driver for SysDriver<'_> {
    fn with_pool<R>(
        &mut self,
        id: PoolId,
        f: impl FnOnce(&mut Pool, &mut dyn MaydaySink) -> R,
    ) -> Option<R> {
        let p = self.pools.get_mut(id.0 as usize)?;
        Some(f(p, self.wqs))
    }
    fn with_wq<R>(&mut self, id: WqId, f: impl FnOnce(&mut Workqueue) -> R) -> Option<R> {
        self.wqs.get_mut(id).map(f)
    }
    fn wq_pwqs<R>(&mut self, id: WqId, f: impl FnOnce(PwqTable<'_>) -> R) -> Option<R> {
        let w = self.wqs.get(id)?;
        Some(f(PwqTable {
            pwqs: if w.is_destroyed() { &[] } else { w.pwqs() },
            unbound: w.flags().contains(WqFlags::UNBOUND),
            name: w.name(),
            incoming: &[],
        }))
    }
    fn with_timers<R>(&mut self, f: impl FnOnce(&mut DelayedTimers) -> R) -> R {
        f(self.timers)
    }
    fn now(&self) -> u64 {
        self.now
    }
    fn context(&self) -> Context {
        self.ctx
    }
    fn nr_cpus(&self) -> u32 {
        self.nr_cpus
    }
}

/// Every pool and workqueue of a system, driven single-threaded with `&mut self`.
#[derive(Debug)]
pub struct System {
    topology: Topology,
    pools: Vec<Pool>,
    pub(crate) wqs: WqTable,
    timers: DelayedTimers,
    worker_pool: HashMap<WorkerId, PoolId>,
    next_worker: u32,
    timings: PoolTimings,
}

impl System {
    /// A system with every pool of [`Topology`]: per CPU BH, BH high-priority, normal and
    /// high-priority (pool ids `4 * cpu + 0..4`, as the kernel numbers them), then the two
    /// unbound pools. Pools get their first worker when a workqueue first uses them.
    pub fn new(cfg: SystemConfig) -> System {
        let topology = Topology::new(cfg.nr_cpus);
        let nr_cpus = topology.nr_cpus();
        let pools = topology
            .pools()
            .map(|(id, kind)| Pool::new(id, kind, nr_cpus, 0))
            .collect();
        System {
            topology,
            pools,
            wqs: WqTable::default(),
            timers: DelayedTimers::new(),
            worker_pool: HashMap::new(),
            next_worker: 1,
            timings: PoolTimings::default(),
        }
    }

    fn drv(&mut self, now: u64, ctx: Context) -> SysDriver<'_> {
        SysDriver {
            pools: &mut self.pools,
            wqs: &mut self.wqs,
            timers: &mut self.timers,
            nr_cpus: self.topology.nr_cpus(),
            now,
            ctx,
        }
    }

    /// The NUMA topology: `nodes[cpu]` is the node of CPU `cpu`, one entry per CPU. Every
    /// pool takes its node from it ([`Pool::set_cpu_nodes`]); the dump prints it as
    /// ` node=N`. Without it every CPU is on node 0.
    pub fn set_cpu_nodes(&mut self, nodes: Vec<u32>) -> Result<(), crate::PoolError> {
        let nr_cpus = self.topology.nr_cpus();
        if nodes.len() != nr_cpus as usize {
            return Err(crate::PoolError::NodeMap {
                given: nodes.len(),
                nr_cpus,
            });
        }
        for p in &mut self.pools {
            p.set_cpu_nodes(&nodes);
        }
        Ok(())
    }

    /// Use these timing parameters in every pool.
    pub fn set_timings(&mut self, timings: PoolTimings) {
        self.timings = timings;
        for p in &mut self.pools {
            p.set_timings(timings);
        }
    }

    /// The timing parameters of the pools.
    pub fn timings(&self) -> PoolTimings {
        self.timings
    }

    /// Number of CPUs.
    pub fn nr_cpus(&self) -> u32 {
        self.topology.nr_cpus()
    }

    /// The pool topology.
    pub fn topology(&self) -> Topology {
        self.topology
    }

    fn alloc_worker_id(&mut self) -> WorkerId {
        let id = WorkerId(self.next_worker);
        self.next_worker += 1;
        id
    }

    /// `alloc_workqueue` / `alloc_ordered_workqueue` (see [`WqSpec`]). Creates the pwqs on
    /// their pools (asking for first workers), and a rescuer id for `WQ_MEM_RECLAIM`.
    pub fn alloc_workqueue(
        &mut self,
        spec: WqSpec,
        now: u64,
        out: &mut Actions,
    ) -> Result<WqId, WqError> {
        let id = WqId(self.wqs.0.len() as u32);
        let pwqs =
            crate::topology::alloc_pwqs(&mut self.drv(now, Context::default()), id, &spec, out)?;
        let rescuer = spec
            .flags
            .contains(WqFlags::MEM_RECLAIM)
            .then(|| self.alloc_worker_id());
        let wq = Workqueue::new(id, &spec, pwqs, rescuer)?;
        self.wqs.0.push(wq);
        Ok(id)
    }

    /// `destroy_workqueue`: the workqueue must be empty (drain it first); its pwqs and
    /// cursors are freed and later calls get `Destroyed`.
    pub fn destroy_workqueue(&mut self, id: WqId) -> Result<(), WqError> {
        ops::destroy_workqueue(&mut self.drv(0, Context::default()), id)?;
        if let Some(r) = self.wqs.get(id).and_then(Workqueue::rescuer) {
            self.worker_pool.remove(&r);
        }
        Ok(())
    }

    /// `workqueue_set_max_active`: applies to every pwq and activates what it allows.
    pub fn set_max_active(
        &mut self,
        id: WqId,
        n: u16,
        now: u64,
        out: &mut Actions,
    ) -> Result<(), WqError> {
        ops::set_max_active(&mut self.drv(now, Context::default()), id, n, out)
    }

    /// `workqueue_set_min_active`.
    pub fn set_min_active(&mut self, id: WqId, n: u16) -> Result<(), WqError> {
        let w = self.wqs.get_mut(id).ok_or(WqError::NoSuchWorkqueue(id))?;
        if w.is_destroyed() {
            return Err(WqError::Destroyed(id));
        }
        w.set_min_active(n)
    }

    fn ctx_of(&self, from: QueueFrom, cpu: Option<u32>) -> Context {
        Context {
            cpu,
            wq: match from {
                QueueFrom::WorkOf(w) => Some(w),
                QueueFrom::Outside => None,
            },
            work: None,
        }
    }

    /// `queue_work_on` ([`ops::queue_work`]): `cpu` `None` queues on the caller's CPU,
    /// which a single-threaded caller does not have: CPU 0. `from` says whether the caller
    /// is an item of a workqueue (chained queueing onto a draining one).
    pub fn queue_work(
        &mut self,
        wq: WqId,
        cpu: Option<u32>,
        work: WorkRef,
        from: QueueFrom,
        now: u64,
        out: &mut Actions,
    ) -> Result<(), (QueueError, WorkRef)> {
        let ctx = self.ctx_of(from, None);
        ops::queue_work(&mut self.drv(now, ctx), wq, cpu, work, out)
    }

    /// `queue_delayed_work_on` ([`ops::queue_delayed_work`]): queue after `delay_ns`.
    /// [`Action::ArmDelayedTimer`] asks for [`System::delayed_timeout`].
    #[allow(clippy::too_many_arguments)]
    pub fn queue_delayed_work(
        &mut self,
        wq: WqId,
        cpu: Option<u32>,
        work: WorkRef,
        delay_ns: u64,
        from: QueueFrom,
        now: u64,
        out: &mut Actions,
    ) -> Result<(), (QueueError, WorkRef)> {
        let ctx = self.ctx_of(from, None);
        ops::queue_delayed_work(&mut self.drv(now, ctx), wq, cpu, work, delay_ns, out)
    }

    /// `mod_delayed_work_on` ([`ops::mod_delayed_work`]): `Ok(true)` if it was pending.
    /// Single-threaded, no other context can own its PENDING, so there is no retry.
    #[allow(clippy::too_many_arguments)]
    pub fn mod_delayed_work(
        &mut self,
        wq: WqId,
        cpu: Option<u32>,
        work: WorkRef,
        delay_ns: u64,
        from: QueueFrom,
        now: u64,
        out: &mut Actions,
    ) -> Result<bool, (QueueError, WorkRef)> {
        let ctx = self.ctx_of(from, None);
        match ops::mod_delayed_work(&mut self.drv(now, ctx), wq, cpu, work, delay_ns, out)? {
            Ok(was) => Ok(was),
            Err(w) => Err((QueueError::AlreadyPending, w)),
        }
    }

    /// The delayed-work timer fired ([`ops::delayed_timeout`]).
    pub fn delayed_timeout(&mut self, now: u64, out: &mut Actions) {
        ops::delayed_timeout(&mut self.drv(now, Context::default()), out);
    }

    /// The delayed items waiting on their timers.
    pub fn delayed_timers(&self) -> &DelayedTimers {
        &self.timers
    }

    // ------------------------------------------------------------------ workers

    /// Answer [`Action::CreateWorker`] with success: returns the new worker's id.
    pub fn worker_created(&mut self, pool: PoolId, now: u64, out: &mut Actions) -> WorkerId {
        let id = self.alloc_worker_id();
        if let Some(p) = self.pools.get_mut(pool.0 as usize) {
            p.worker_created(id, now, out);
            self.worker_pool.insert(id, pool);
        }
        id
    }

    /// Answer [`Action::CreateWorker`] with failure.
    pub fn worker_create_failed(&mut self, pool: PoolId, now: u64, out: &mut Actions) {
        if let Some(p) = self.pools.get_mut(pool.0 as usize) {
            p.worker_create_failed(now, out);
        }
    }

    /// The pool a worker (or attached rescuer) belongs to.
    pub fn worker_pool(&self, w: WorkerId) -> Option<PoolId> {
        self.worker_pool.get(&w).copied()
    }

    /// See [`Pool::next_work`] ([`ops::worker_next`]).
    pub fn next_work(&mut self, w: WorkerId, now: u64, out: &mut Actions) -> Next {
        let Some(p) = self.worker_pool(w) else {
            return Next::Exit;
        };
        let (next, _) = ops::worker_next(&mut self.drv(now, Context::default()), p, w, None, out);
        if matches!(next, Next::Exit) {
            self.worker_pool.remove(&w);
        }
        next
    }

    /// See [`Pool::work_done`] (workers and rescuers alike).
    pub fn work_done(&mut self, w: WorkerId, cpu_ns: u64, now: u64, out: &mut Actions) {
        let Some(p) = self.worker_pool(w) else { return };
        ops::worker_work_done(&mut self.drv(now, Context::default()), p, w, cpu_ns, out);
    }

    /// See [`Pool::worker_sleeping`].
    pub fn worker_sleeping(&mut self, w: WorkerId, now: u64, out: &mut Actions) {
        if let Some(p) = self.worker_pool(w) {
            self.pools[p.0 as usize].worker_sleeping(w, now, out);
        }
    }

    /// See [`Pool::worker_running`].
    pub fn worker_running(&mut self, w: WorkerId, now: u64) {
        if let Some(p) = self.worker_pool(w) {
            self.pools[p.0 as usize].worker_running(w, now);
        }
    }

    /// See [`Pool::worker_tick`]: `cpu_ns` is the CPU time the worker's current item has
    /// consumed since it started or last woke.
    pub fn worker_tick(&mut self, w: WorkerId, cpu_ns: u64, out: &mut Actions) {
        if let Some(p) = self.worker_pool(w) {
            self.pools[p.0 as usize].worker_tick(w, cpu_ns, out);
        }
    }

    // ------------------------------------------------------------------ timers

    /// See [`Pool::mayday_timeout`].
    pub fn mayday_timeout(&mut self, pool: PoolId, now: u64, out: &mut Actions) {
        self.drv(now, Context::default())
            .with_pool(pool, |p, sink| p.mayday_timeout(now, sink, out));
    }

    /// See [`Pool::idle_timeout`].
    pub fn idle_timeout(&mut self, pool: PoolId, now: u64, out: &mut Actions) {
        let start = out.len();
        if let Some(p) = self.pools.get_mut(pool.0 as usize) {
            p.idle_timeout(now, out);
        }
        for a in &out.as_slice()[start..] {
            if let Action::StopWorker { worker, .. } = a {
                self.worker_pool.remove(worker);
            }
        }
    }

    /// See [`Pool::create_retry_timeout`].
    pub fn create_retry_timeout(&mut self, pool: PoolId, now: u64, out: &mut Actions) {
        if let Some(p) = self.pools.get_mut(pool.0 as usize) {
            p.create_retry_timeout(now, out);
        }
    }

    // ------------------------------------------------------------------ rescuer

    /// The rescuer's worker id of a `WQ_MEM_RECLAIM` workqueue.
    pub fn rescuer_id(&self, wq: WqId) -> Option<WorkerId> {
        self.wqs.get(wq)?.rescuer()
    }

    /// The rescuer thread's loop ([`ops::rescuer_step`]): one [`RescuerStep::Run`] per
    /// item (call `work_done(rescuer, ..)` after each), [`RescuerStep::Sleep`] when
    /// `maydays` is empty.
    pub fn rescuer_step(&mut self, wq: WqId, now: u64, out: &mut Actions) -> RescuerStep {
        let step = ops::rescuer_step(&mut self.drv(now, Context::default()), wq, out);
        if let Some(r) = self.rescuer_id(wq) {
            match &step {
                RescuerStep::Run { pool, .. } => {
                    self.worker_pool.insert(r, *pool);
                }
                RescuerStep::Sleep => {
                    self.worker_pool.remove(&r);
                }
            }
        }
        step
    }

    // ------------------------------------------------------------------ flush / cancel

    /// `flush_work` ([`ops::flush_work`]): queue `barrier` (an item whose `barrier_task()`
    /// is Some) behind `target`; the caller waits until the barrier runs. `Err(barrier)`:
    /// target is idle, nothing to wait for.
    pub fn flush_work(
        &mut self,
        target: &WorkHead,
        barrier: WorkRef,
        now: u64,
        out: &mut Actions,
    ) -> Result<(), WorkRef> {
        ops::flush_work(&mut self.drv(now, Context::default()), target, barrier, out)
    }

    /// `flush_delayed_work` ([`ops::flush_delayed_work`]): an item waiting on its timer is
    /// queued at once, then flushed. Returns whether there was anything to wait for, with
    /// the barrier back if there was nothing to put it behind.
    pub fn flush_delayed_work(
        &mut self,
        target: &WorkHead,
        barrier: WorkRef,
        now: u64,
        out: &mut Actions,
    ) -> (bool, Result<(), WorkRef>) {
        ops::flush_delayed_work(&mut self.drv(now, Context::default()), target, barrier, out)
    }

    /// `flush_workqueue` ([`ops::flush_workqueue`]): completion comes as
    /// [`Action::WqFlushDone`] with the returned ticket (possibly already in `out`).
    pub fn flush_workqueue(
        &mut self,
        wq: WqId,
        now: u64,
        out: &mut Actions,
    ) -> Result<FlushTicket, WqError> {
        ops::flush_workqueue(&mut self.drv(now, Context::default()), wq, out)
    }

    /// `drain_workqueue` ([`ops::drain_workqueue`]): completion comes as
    /// [`Action::WqDrained`] (possibly already in `out`).
    pub fn drain_workqueue(
        &mut self,
        wq: WqId,
        now: u64,
        out: &mut Actions,
    ) -> Result<(), WqError> {
        ops::drain_workqueue(&mut self.drv(now, Context::default()), wq, out).map(|_| ())
    }

    /// `cancel_work` ([`ops::cancel_work`]), delayed items included: whether it was
    /// pending. Single-threaded, no other context can own its PENDING: an item pending on
    /// no list and no timer counts as not pending.
    pub fn cancel_work(&mut self, work: &WorkHead, now: u64, out: &mut Actions) -> bool {
        ops::cancel_work(&mut self.drv(now, Context::default()), work, out).unwrap_or(false)
    }

    /// `disable_work` ([`ops::disable_work`]): whether it was pending.
    pub fn disable_work(
        &mut self,
        work: &WorkHead,
        now: u64,
        out: &mut Actions,
    ) -> Result<bool, DisableWorkError> {
        ops::disable_work(&mut self.drv(now, Context::default()), work, out)
    }

    /// `enable_work`: decrement the disable count; returns the new count.
    pub fn enable_work(&mut self, work: &WorkHead) -> Result<u16, DisableError> {
        ops::enable_work(work)
    }

    /// `workqueue_congested(cpu, wq)`: whether items of `wq` wait on the inactive list of
    /// its pwq for `cpu` (`None`: CPU 0, as for queueing; unbound workqueues have one pwq).
    pub fn workqueue_congested(&self, wq: WqId, cpu: Option<u32>) -> Result<bool, QueueError> {
        let pwq = self.select(wq, cpu)?;
        Ok(self
            .pools
            .get(pool_of(pwq).0 as usize)
            .is_some_and(|p| p.pwq_congested(pwq)))
    }

    fn select(&self, wq: WqId, cpu: Option<u32>) -> Result<PwqId, QueueError> {
        let w = self.wqs.get(wq).ok_or(QueueError::NoSuchWorkqueue(wq))?;
        let t = PwqTable {
            pwqs: if w.is_destroyed() { &[] } else { w.pwqs() },
            unbound: w.flags().contains(WqFlags::UNBOUND),
            name: w.name(),
            incoming: &[],
        };
        ops::select_pwq(&t, wq, cpu, None)
    }

    /// `work_busy`: PENDING (1) if queued, RUNNING (2) if a worker of its pool runs it.
    pub fn work_busy(&mut self, work: &WorkHead) -> WorkBusy {
        ops::work_busy(&mut self.drv(0, Context::default()), work)
    }

    // ------------------------------------------------------------------ accessors

    /// A pool.
    pub fn pool(&self, id: PoolId) -> Option<&Pool> {
        self.pools.get(id.0 as usize)
    }

    /// A pool, mutably (for drivers that call `Pool` methods directly).
    pub fn pool_mut(&mut self, id: PoolId) -> Option<&mut Pool> {
        self.pools.get_mut(id.0 as usize)
    }

    /// Every pool, in id order.
    pub fn pools(&self) -> &[Pool] {
        &self.pools
    }

    /// A workqueue (destroyed ones included).
    pub fn workqueue(&self, id: WqId) -> Option<&Workqueue> {
        self.wqs.get(id)
    }

    /// Every workqueue, in creation order.
    pub fn workqueues(&self) -> &[Workqueue] {
        &self.wqs.0
    }

    /// The pool a workqueue uses for `cpu` (`None`: its first/only pwq).
    pub fn pwq_of(&self, wq: WqId, cpu: Option<u32>) -> Option<PwqId> {
        self.select(wq, cpu).ok()
    }

    /// The workqueue watchdog's view: pools with pending work and no progress for at least
    /// `thresh` ns, with how long they have been stuck.
    pub fn stalled_pools(&self, now: u64, thresh: u64) -> Vec<(PoolId, u64)> {
        self.pools
            .iter()
            .filter_map(|p| {
                p.stalled_for(now)
                    .filter(|d| *d >= thresh)
                    .map(|d| (p.id(), d))
            })
            .collect()
    }

    /// A pwq's stats.
    pub fn pwq_stats(&self, pwq: PwqId) -> PwqStats {
        self.pool(pool_of(pwq))
            .map_or_else(PwqStats::default, |p| p.pwq_stats(pwq))
    }

    /// A workqueue's stats summed over its pwqs.
    pub fn wq_stats(&self, wq: WqId) -> PwqStats {
        self.wqs.get(wq).map_or_else(PwqStats::default, |w| {
            w.pwqs()
                .iter()
                .fold(PwqStats::default(), |acc, &p| acc.add(&self.pwq_stats(p)))
        })
    }
}
