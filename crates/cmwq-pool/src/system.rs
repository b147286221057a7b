//! `System`: every pool and workqueue in one value, for single-threaded drivers (the
//! simulator, tests). It composes the partitioned pieces the runtime locks one by one and
//! makes the same calls in the same order (pool, then workqueue), so it is not a second
//! implementation.

use cmwq_work::raw::WorkHeadRaw;
use std::collections::HashMap;

use cmwq_work::{DisableError, WorkBusy, WorkHead, WorkRef};

use crate::action::{Action, Actions, FlushTicket};
use crate::error::{DisableWorkError, QueueError, WqError};
use crate::pool::{Grab, MaydaySink, Next, Pool, PwqSpec, RescueNext};
use crate::types::{
    PoolId, PoolKind, PoolTimings, Priority, PwqId, PwqStats, QueueFrom, UnboundAttrs, WorkerId,
    WqFlags, WqId, pool_of,
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

/// What the rescuer of a workqueue should do next ([`System::rescuer_step`]).
#[derive(Debug)]
pub enum RescuerStep {
    /// Run this item (on `pool`), then `work_done(rescuer_id, ..)` and step again.
    Run {
        /// The pool the rescuer is attached to.
        pool: PoolId,
        /// The item.
        work: WorkRef,
    },
    /// No mayday pending: sleep until [`Action::WakeRescuer`].
    Sleep,
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

impl MaydaySink for WqTable {
    fn send_mayday(&mut self, wq: WqId, pwq: PwqId) -> bool {
        self.get_mut(wq).is_some_and(|w| w.send_mayday(pwq))
    }
    fn others_waiting(&self, wq: WqId) -> bool {
        self.get(wq).is_some_and(Workqueue::has_maydays)
    }
    fn is_on_maydays(&self, wq: WqId, pwq: PwqId) -> bool {
        self.get(wq).is_some_and(|w| w.is_on_maydays(pwq))
    }
}

/// Every pool and workqueue of a system, driven single-threaded with `&mut self`.
#[derive(Debug)]
pub struct System {
    nr_cpus: u32,
    pools: Vec<Pool>,
    unbound: HashMap<UnboundAttrs, PoolId>,
    pub(crate) wqs: WqTable,
    worker_pool: HashMap<WorkerId, PoolId>,
    next_worker: u32,
    timings: PoolTimings,
}

impl System {
    /// A system with the four per-CPU pools of each CPU (BH, BH high-priority, normal,
    /// high-priority: pool ids `4 * cpu + 0..4`, as the kernel numbers them). Pools get
    /// their first worker when a workqueue first uses them.
    pub fn new(cfg: SystemConfig) -> System {
        let nr_cpus = cfg.nr_cpus.max(1);
        let mut pools = Vec::new();
        for cpu in 0..nr_cpus {
            for (bh, pri) in [
                (true, Priority::Normal),
                (true, Priority::High),
                (false, Priority::Normal),
                (false, Priority::High),
            ] {
                let kind = if bh {
                    PoolKind::Bh { cpu, pri }
                } else {
                    PoolKind::PerCpu { cpu, pri }
                };
                let id = kind.percpu_pool_id().expect("a per-CPU kind");
                debug_assert_eq!(id.0 as usize, pools.len());
                pools.push(Pool::new(id, kind, nr_cpus, 0));
            }
        }
        System {
            nr_cpus,
            pools,
            unbound: HashMap::new(),
            wqs: WqTable::default(),
            worker_pool: HashMap::new(),
            next_worker: 1,
            timings: PoolTimings::default(),
        }
    }

    /// Use these timing parameters in every pool, present and future.
    pub fn set_timings(&mut self, timings: PoolTimings) {
        self.timings = timings;
        for p in &mut self.pools {
            p.set_timings(timings);
        }
    }

    /// The timing parameters of new pools.
    pub fn timings(&self) -> PoolTimings {
        self.timings
    }

    /// Number of CPUs.
    pub fn nr_cpus(&self) -> u32 {
        self.nr_cpus
    }

    fn alloc_worker_id(&mut self) -> WorkerId {
        let id = WorkerId(self.next_worker);
        self.next_worker += 1;
        id
    }

    fn unbound_pool(&mut self, attrs: UnboundAttrs) -> PoolId {
        if let Some(&id) = self.unbound.get(&attrs) {
            return id;
        }
        let id = PoolId(self.pools.len() as u32);
        let mut pool = Pool::new(id, PoolKind::Unbound(attrs), self.nr_cpus, 0);
        pool.set_timings(self.timings);
        self.pools.push(pool);
        self.unbound.insert(attrs, id);
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
        let (flags, max_active) = spec.validate()?;
        let id = WqId(self.wqs.0.len() as u32);
        let pri = if flags.contains(WqFlags::HIGHPRI) {
            Priority::High
        } else {
            Priority::Normal
        };
        let pools: Vec<PoolId> = if flags.contains(WqFlags::UNBOUND) {
            vec![self.unbound_pool(UnboundAttrs { nice: pri.nice() })]
        } else {
            let bh = flags.contains(WqFlags::BH);
            (0..self.nr_cpus)
                .map(|cpu| {
                    let kind = if bh {
                        PoolKind::Bh { cpu, pri }
                    } else {
                        PoolKind::PerCpu { cpu, pri }
                    };
                    kind.percpu_pool_id().expect("a per-CPU kind")
                })
                .collect()
        };
        let mut pwqs = Vec::with_capacity(pools.len());
        for p in pools {
            let pwq = self.pools[p.0 as usize].add_pwq(
                PwqSpec {
                    wq: id,
                    wq_flags: flags,
                    max_active,
                    policy: spec.policy.clone(),
                },
                now,
                out,
            );
            match pwq {
                Ok(pwq) => pwqs.push(pwq),
                Err(e) => {
                    for pwq in pwqs {
                        let _ = self.pools[pool_of(pwq).0 as usize].remove_pwq(pwq);
                    }
                    return Err(e.into());
                }
            }
        }
        let rescuer = flags
            .contains(WqFlags::MEM_RECLAIM)
            .then(|| self.alloc_worker_id());
        let wq = Workqueue::new(id, &spec, pwqs, rescuer)?;
        self.wqs.0.push(wq);
        Ok(id)
    }

    fn wq(&self, id: WqId) -> Result<&Workqueue, WqError> {
        let w = self.wqs.get(id).ok_or(WqError::NoSuchWorkqueue(id))?;
        if w.is_destroyed() {
            return Err(WqError::Destroyed(id));
        }
        Ok(w)
    }

    /// `destroy_workqueue`: the workqueue must be empty (drain it first); its pwqs and
    /// cursors are freed and later calls get `Destroyed`.
    pub fn destroy_workqueue(&mut self, id: WqId) -> Result<(), WqError> {
        let w = self.wq(id)?;
        let busy = w.rescuer_visiting().is_some()
            || w.pwqs().iter().any(|&p| {
                let pool = &self.pools[pool_of(p).0 as usize];
                !pool.pwq_is_empty(p) || pool.pwq_nr_in_flight(p) != 0
            });
        if busy {
            return Err(WqError::NotDrained(id));
        }
        let pwqs = w.pwqs().to_vec();
        for p in pwqs {
            self.pools[pool_of(p).0 as usize].remove_pwq(p)?;
        }
        let w = self.wqs.get_mut(id).expect("checked");
        if let Some(r) = w.rescuer() {
            self.worker_pool.remove(&r);
        }
        w.mark_destroyed();
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
        self.wq(id)?;
        let w = self.wqs.get_mut(id).expect("checked");
        let n = w.set_max_active(n)?;
        let pwqs = w.pwqs().to_vec();
        for p in pwqs {
            self.pools[pool_of(p).0 as usize].pwq_set_max_active(p, n, now, out);
        }
        Ok(())
    }

    /// `workqueue_set_min_active`.
    pub fn set_min_active(&mut self, id: WqId, n: u16) -> Result<(), WqError> {
        self.wq(id)?;
        self.wqs.get_mut(id).expect("checked").set_min_active(n)
    }

    /// `queue_work_on`: the PENDING fast path (already pending: no-op, the reference comes
    /// back with `AlreadyPending`), pwq selection (`cpu` `None` = CPU 0), non-reentrancy (an
    /// item still running on its last pool goes to that pool's pwq), then the pool.
    pub fn queue_work(
        &mut self,
        wq: WqId,
        cpu: Option<u32>,
        work: WorkRef,
        from: QueueFrom,
        now: u64,
        out: &mut Actions,
    ) -> Result<(), (QueueError, WorkRef)> {
        let w = match self.wqs.get(wq) {
            None => return Err((QueueError::NoSuchWorkqueue(wq), work)),
            Some(w) if w.is_destroyed() => return Err((QueueError::Destroyed(wq), work)),
            Some(w) => w,
        };
        match work.head().test_and_set_pending() {
            Err(_) => return Err((QueueError::Disabled, work)),
            Ok(false) => return Err((QueueError::AlreadyPending, work)),
            Ok(true) => {}
        }
        let mut pwq = match w.select_pwq(cpu) {
            Ok(p) => p,
            Err(e) => {
                work.head().clear_pending();
                return Err((e, work));
            }
        };
        if let Some(last) = work.head().last_pool() {
            if last != pool_of(pwq) {
                if let Some(p) = self.pools.get(last.0 as usize) {
                    if let Some(x) = p.find_executing_pwq(work.head(), wq) {
                        pwq = x;
                    }
                }
            }
        }
        self.pools[pool_of(pwq).0 as usize].queue_work(pwq, work, from, now, out)
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

    /// See [`Pool::next_work`].
    pub fn next_work(&mut self, w: WorkerId, now: u64, out: &mut Actions) -> Next {
        let Some(p) = self.worker_pool(w) else {
            return Next::Exit;
        };
        let start = out.len();
        let next = self.pools[p.0 as usize].next_work(w, now, out);
        if matches!(next, Next::Exit) {
            self.worker_pool.remove(&w);
        }
        self.settle(start, now, out);
        next
    }

    /// See [`Pool::work_done`] (workers and rescuers alike).
    pub fn work_done(&mut self, w: WorkerId, cpu_ns: u64, now: u64, out: &mut Actions) {
        let Some(p) = self.worker_pool(w) else { return };
        let start = out.len();
        self.pools[p.0 as usize].work_done(w, cpu_ns, now, out);
        self.settle(start, now, out);
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

    /// See [`Pool::worker_tick`].
    pub fn worker_tick(&mut self, w: WorkerId, now: u64, out: &mut Actions) {
        if let Some(p) = self.worker_pool(w) {
            self.pools[p.0 as usize].worker_tick(w, now, out);
        }
    }

    // ------------------------------------------------------------------ timers

    /// See [`Pool::mayday_timeout`].
    pub fn mayday_timeout(&mut self, pool: PoolId, now: u64, out: &mut Actions) {
        let Self { pools, wqs, .. } = self;
        if let Some(p) = pools.get_mut(pool.0 as usize) {
            p.mayday_timeout(now, wqs, out);
        }
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

    /// The rescuer thread's loop (`rescuer_thread`) as a state machine: pop a pwq off
    /// `maydays`, attach to its pool, run what the policy takes (one [`RescuerStep::Run`]
    /// per item; call `work_done(rescuer, ..)` after each), detach and go on with the next
    /// pwq; [`RescuerStep::Sleep`] when `maydays` is empty.
    pub fn rescuer_step(&mut self, wq: WqId, now: u64, out: &mut Actions) -> RescuerStep {
        let Some(r) = self.rescuer_id(wq) else {
            return RescuerStep::Sleep;
        };
        let start = out.len();
        let step = loop {
            let Some(w) = self.wqs.get_mut(wq) else {
                break RescuerStep::Sleep;
            };
            if let Some(pwq) = w.rescuer_visiting() {
                let pool = pool_of(pwq);
                let Self { pools, wqs, .. } = self;
                let p = &mut pools[pool.0 as usize];
                match p.rescuer_next(r, wqs, now, out) {
                    RescueNext::Run(work) => break RescuerStep::Run { pool, work },
                    RescueNext::Leave => {
                        p.rescuer_detach(r, wqs, now, out);
                        if let Some(w) = wqs.get_mut(wq) {
                            w.set_rescuer_visiting(None);
                        }
                        self.worker_pool.remove(&r);
                    }
                }
            } else {
                match w.pop_mayday() {
                    Some(pwq) => {
                        w.set_rescuer_visiting(Some(pwq));
                        let pool = pool_of(pwq);
                        self.pools[pool.0 as usize].rescuer_attach(r, pwq, now);
                        self.worker_pool.insert(r, pool);
                    }
                    None => break RescuerStep::Sleep,
                }
            }
        };
        self.settle(start, now, out);
        step
    }

    // ------------------------------------------------------------------ flush / cancel

    fn item_pool(&self, work: &WorkHead) -> Option<PoolId> {
        work.pwq().map(pool_of).or_else(|| work.last_pool())
    }

    /// `flush_work`: queue `barrier` (an item whose `barrier_task()` is Some) LINKED behind
    /// `target` or at the head of the scheduled list of the worker running it; the driver
    /// waits until the barrier runs. `Err(barrier)`: target is idle, nothing to wait for.
    pub fn flush_work(
        &mut self,
        target: &WorkHead,
        barrier: WorkRef,
        now: u64,
        out: &mut Actions,
    ) -> Result<(), WorkRef> {
        let Some(pool) = self.item_pool(target) else {
            return Err(barrier);
        };
        match self.pools.get_mut(pool.0 as usize) {
            Some(p) => p.insert_barrier(target, barrier, now, out),
            None => Err(barrier),
        }
    }

    /// `flush_workqueue`: wait for every item queued before this call. Completion comes as
    /// [`Action::WqFlushDone`] with the returned ticket (possibly already in `out`). While a
    /// flush is in progress the caller gets the ticket of the next flush, which starts as
    /// soon as the current one completes (flushers that arrive meanwhile share it).
    pub fn flush_workqueue(
        &mut self,
        wq: WqId,
        now: u64,
        out: &mut Actions,
    ) -> Result<FlushTicket, WqError> {
        let w = self.wq(wq)?;
        if w.flush_in_progress().is_some() {
            return Ok(self.wqs.get_mut(wq).expect("checked").flush_reserve());
        }
        let start = out.len();
        let t = self.start_flush(wq, now, out)?;
        self.settle(start, now, out);
        Ok(t)
    }

    fn start_flush(
        &mut self,
        wq: WqId,
        _now: u64,
        out: &mut Actions,
    ) -> Result<FlushTicket, WqError> {
        let w = self.wqs.get_mut(wq).ok_or(WqError::NoSuchWorkqueue(wq))?;
        let begin = w.flush_begin()?;
        let pwqs = w.pwqs().to_vec();
        for p in pwqs {
            if self.pools[pool_of(p).0 as usize].pwq_flush_prep(
                p,
                begin.flush_color,
                begin.work_color,
            ) {
                self.wqs.get_mut(wq).expect("exists").flush_pwq_added();
            }
        }
        if let Some(t) = self.wqs.get_mut(wq).expect("exists").flush_prepared() {
            out.push(Action::WqFlushDone { wq, ticket: t });
        }
        Ok(begin.ticket)
    }

    /// `drain_workqueue`: refuse queueing from outside, flush until every pwq is empty
    /// (chained queueing from its own items is allowed meanwhile). Completion comes as
    /// [`Action::WqDrained`] (possibly already in `out`).
    pub fn drain_workqueue(
        &mut self,
        wq: WqId,
        now: u64,
        out: &mut Actions,
    ) -> Result<(), WqError> {
        self.wq(wq)?;
        let w = self.wqs.get_mut(wq).expect("checked");
        w.begin_drain()?;
        w.drain_requested = true;
        let pwqs = w.pwqs().to_vec();
        for p in pwqs {
            self.pools[pool_of(p).0 as usize].pwq_set_draining(p, true);
        }
        let start = out.len();
        self.drain_step(wq, now, out);
        self.settle(start, now, out);
        Ok(())
    }

    fn wq_is_empty(&self, wq: WqId) -> bool {
        self.wqs.get(wq).is_none_or(|w| {
            w.pwqs().iter().all(|&p| {
                let pool = &self.pools[pool_of(p).0 as usize];
                pool.pwq_is_empty(p) && pool.pwq_nr_in_flight(p) == 0
            })
        })
    }

    fn drain_step(&mut self, wq: WqId, now: u64, out: &mut Actions) {
        let Some(w) = self.wqs.get(wq) else { return };
        if !w.drain_requested {
            return;
        }
        if self.wq_is_empty(wq) {
            let w = self.wqs.get_mut(wq).expect("exists");
            w.end_drain();
            let pwqs = w.pwqs().to_vec();
            for p in pwqs {
                self.pools[pool_of(p).0 as usize].pwq_set_draining(p, false);
            }
            out.push(Action::WqDrained { wq });
            return;
        }
        if w.flush_in_progress().is_none() {
            // A flush that completes at once shows up as WqFlushDone in `out`; settle()
            // then calls drain_step again.
            let _ = self.start_flush(wq, now, out);
        }
    }

    /// Process the cross-lock consequences of what pools decided since `start`:
    /// FlushColorDone -> the workqueue's flush, flush completion -> drain.
    fn settle(&mut self, start: usize, now: u64, out: &mut Actions) {
        let mut i = start;
        while i < out.len() {
            match out.as_slice()[i].clone() {
                Action::FlushColorDone { wq, pwq } => {
                    if let Some(t) = self.wqs.get_mut(wq).and_then(|w| w.flush_pwq_done(pwq)) {
                        out.push(Action::WqFlushDone { wq, ticket: t });
                    }
                }
                Action::WqFlushDone { wq, .. } => {
                    let reserved = self.wqs.get(wq).is_some_and(|w| {
                        w.flush_reserved().is_some() && w.flush_in_progress().is_none()
                    });
                    if reserved {
                        let _ = self.start_flush(wq, now, out);
                    }
                    self.drain_step(wq, now, out);
                }
                _ => {}
            }
            i += 1;
        }
    }

    fn grab(&mut self, work: &WorkHead, now: u64, out: &mut Actions) -> Option<Option<WorkRef>> {
        if work.grab_pending() {
            return Some(None);
        }
        let pool = self.item_pool(work)?;
        let start = out.len();
        let g = self
            .pools
            .get_mut(pool.0 as usize)?
            .try_grab_pending(work, now, out);
        self.settle(start, now, out);
        match g {
            Grab::Grabbed(w) => Some(Some(w)),
            Grab::NotHere => None,
        }
    }

    /// `cancel_work`: if the item is pending, take it off its queue and return its
    /// reference (its PENDING cleared). `None`: it was not pending (it may be running: a
    /// cancel_sync then waits with `flush_work`).
    pub fn cancel_work(&mut self, work: &WorkHead, now: u64, out: &mut Actions) -> Option<WorkRef> {
        match self.grab(work, now, out) {
            Some(Some(w)) => {
                w.head().clear_pending();
                Some(w)
            }
            Some(None) => {
                work.clear_pending();
                None
            }
            None => None,
        }
    }

    /// `disable_work`: cancel it and increment its disable count (queueing then fails with
    /// `Disabled` until `enable_work`). Returns the cancelled reference if it was pending.
    /// Nothing changes on error.
    pub fn disable_work(
        &mut self,
        work: &WorkHead,
        now: u64,
        out: &mut Actions,
    ) -> Result<Option<WorkRef>, DisableWorkError> {
        if work.disable_count() == u16::MAX {
            return Err(DisableError::Overflow.into());
        }
        // Own PENDING first (grab), so that the word is off queue when the count changes.
        let cancelled = match self.grab(work, now, out) {
            Some(c) => c,
            None => return Err(DisableWorkError::Busy),
        };
        // Cannot overflow: checked above, and nothing else runs in between.
        let _ = work.disable();
        work.clear_pending();
        Ok(cancelled)
    }

    /// `enable_work`: decrement the disable count; returns the new count.
    pub fn enable_work(&mut self, work: &WorkHead) -> Result<u16, DisableError> {
        work.enable()
    }

    /// `workqueue_congested(cpu, wq)`: whether items of `wq` wait on the inactive list of
    /// its pwq for `cpu` (`None`: CPU 0, as for queueing; unbound workqueues have one pwq).
    pub fn workqueue_congested(&self, wq: WqId, cpu: Option<u32>) -> Result<bool, QueueError> {
        let w = match self.wqs.get(wq) {
            None => return Err(QueueError::NoSuchWorkqueue(wq)),
            Some(w) => w,
        };
        let pwq = w.select_pwq(cpu)?;
        Ok(self
            .pools
            .get(pool_of(pwq).0 as usize)
            .is_some_and(|p| p.pwq_congested(pwq)))
    }

    /// `work_busy`: PENDING (1) if queued, RUNNING (2) if a worker of its pool runs it.
    pub fn work_busy(&self, work: &WorkHead) -> WorkBusy {
        let mut b = WorkBusy::empty();
        if work.is_pending() {
            b |= WorkBusy::PENDING;
        }
        if let Some(p) = self
            .item_pool(work)
            .and_then(|p| self.pools.get(p.0 as usize))
        {
            if p.is_executing(work).is_some() {
                b |= WorkBusy::RUNNING;
            }
        }
        b
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
        self.wqs.get(wq)?.select_pwq(cpu).ok()
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
