//! A worker pool and the pool_workqueues that live on it: everything one pool lock guards.
//!
//! The state is here; its transitions are split by concept: [`pwq`] (pwqs and the queue
//! path), [`workers`] (concurrency management and the worker loop), [`manager`]
//! (creation, the mayday and idle timers), [`rescuer`] (the rescuer's visit, plan then
//! apply), [`cancel`] (barriers and grabbing a pending item), [`check`] (consistency).

mod busy;
mod cancel;
mod check;
mod manager;
mod pwq;
mod rescuer;
mod workers;

use rescuer::RescueScratch;

use rustc_hash::{FxHashMap, FxHashSet};
use std::ptr::NonNull;

use cmwq_list::{CursorId, ElemRef, Entry};
use cmwq_rescue::{
    Candidate, CursorMove, Policy, RescueCtx, RescuerPolicy, Take, Then, WorklistView,
};
use cmwq_work::raw::WorkHeadRaw;
use cmwq_work::{WorkFlags, WorkHead, WorkList, WorkRef};

use crate::action::{Action, Actions};
use crate::error::{PoolError, QueueError};
use crate::incoming::Incoming;
use crate::lists;
use crate::types::{
    MAX_IDLE_WORKERS_RATIO, PWQ_SLOT_BITS, PoolFlags, PoolId, PoolKind, PoolTimings, PwqId,
    PwqStats, QueueFrom, WORK_NR_COLORS, WorkerFlags, WorkerId, WqFlags, WqId, make_pwq_id,
    pool_of, pwq_slot,
};

/// The rescuer seam (the kernel's `wq_mayday_lock` and `wq->maydays`). A pool calls it with
/// its own lock held; the runtime implements it by taking the workqueue's small lock nested
/// inside the pool lock (lock order: pool, then workqueue), `System` over its workqueues.
pub trait MaydaySink {
    /// `send_mayday`: put `pwq` on `wq`'s maydays list if the workqueue has a rescuer and the
    /// pwq is not on the list yet. Returns whether it was newly added.
    fn send_mayday(&mut self, wq: WqId, pwq: PwqId) -> bool;
    /// Whether any pwq waits on `wq`'s maydays list.
    fn others_waiting(&self, wq: WqId) -> bool;
    /// Whether `pwq` is on `wq`'s maydays list.
    fn is_on_maydays(&self, wq: WqId, pwq: PwqId) -> bool;
}

/// How a driver reaches workqueue state from inside a pool lock: enter workqueue `id`'s lock
/// nested inside it. [`MaydaySink`] is written once over it (for `System`'s table and the
/// runtime's per-workqueue mutexes alike).
pub trait WqLocks {
    /// Run `f` on workqueue `id` under its lock, for reading. `None`: no such workqueue.
    fn read_wq<R>(&self, id: WqId, f: impl FnOnce(&crate::Workqueue) -> R) -> Option<R>;
    /// Run `f` on workqueue `id` under its lock. `None`: no such workqueue.
    fn write_wq<R>(&mut self, id: WqId, f: impl FnOnce(&mut crate::Workqueue) -> R) -> Option<R>;
}

impl<T: WqLocks> MaydaySink for T {
    fn send_mayday(&mut self, wq: WqId, pwq: PwqId) -> bool {
        self.write_wq(wq, |w| w.send_mayday(pwq)) == Some(true)
    }
    fn others_waiting(&self, wq: WqId) -> bool {
        self.read_wq(wq, crate::Workqueue::has_maydays) == Some(true)
    }
    fn is_on_maydays(&self, wq: WqId, pwq: PwqId) -> bool {
        self.read_wq(wq, |w| w.is_on_maydays(pwq)) == Some(true)
    }
}

/// What a pool needs to know to host a workqueue's pwq.
#[derive(Clone, Debug)]
pub struct PwqSpec {
    /// The workqueue.
    pub wq: WqId,
    /// Its flags (`WQ_CPU_INTENSIVE`, `WQ_MEM_RECLAIM` matter here).
    pub wq_flags: WqFlags,
    /// Its max_active.
    pub max_active: u16,
    /// Its rescuer policy.
    pub policy: Policy,
}

/// What a worker should do next.
#[derive(Debug)]
pub enum Next {
    /// Run this item outside any lock, then call `work_done`. PENDING is already cleared and
    /// the pool recorded as its last pool, as the kernel does before calling the function.
    Run(WorkRef),
    /// The worker is on the idle list: park until [`Action::WakeWorker`].
    Idle,
    /// The worker became the pool's manager and asked for a worker
    /// ([`Action::CreateWorker`]): park until [`Action::WakeWorker`].
    Manage,
    /// The worker is not (or no longer) part of this pool: its thread exits.
    Exit,
}

/// What the rescuer should do next during a visit.
#[derive(Debug)]
pub enum RescueNext {
    /// Run this item, then call `work_done` with the rescuer's id and ask again.
    Run(WorkRef),
    /// The visit is over: call `rescuer_detach`.
    Leave,
}

/// The result of `try_grab_pending` on one pool.
#[derive(Debug)]
pub enum Grab {
    /// Taken off its list: PENDING is still set and the pool recorded as last pool; the
    /// caller clears PENDING (cancel) or disables the item.
    Grabbed(WorkRef),
    /// Not on a list of this pool: it is being queued (retry), or queued elsewhere.
    NotHere,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CreateState {
    Idle,
    Requested,
    Cooldown { until: u64 },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Idle,
    Woken,
    Working,
    Managing,
    Rescuer(RescueVisit),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct RescueVisit {
    pwq: PwqId,
    rescued: u32,
    passes: u32,
    /// Run what was taken, then leave (and put the pwq back on maydays if true).
    leave_after: Option<bool>,
}

#[derive(Clone, Copy, Debug)]
struct Current {
    addr: usize,
    pwq: PwqId,
    color: u8,
    /// Counted in nr_active (its data word had no INACTIVE bit: not a barrier).
    active: bool,
    started: u64,
    /// Start of the current cpu-intensive measurement (reset when it wakes from a sleep).
    at: u64,
}

#[derive(Debug)]
pub(crate) struct Worker {
    pub(crate) id: WorkerId,
    pub(crate) seq: u32,
    pub(crate) flags: WorkerFlags,
    phase: Phase,
    sleeping: bool,
    pub(crate) scheduled: WorkList,
    current: Option<Current>,
    pub(crate) current_func: String,
    last_active: u64,
    /// The worker took a batch off the worklist (an item and its LINKED barriers) and has
    /// not started it yet: starting it is progress of the pool (kernel
    /// `process_scheduled_works` stamps `last_progress_ts` on its first item only).
    batch_start: bool,
    /// The next worker on this one's `busy_hash` chain (an index into `workers`), while
    /// it has a current item.
    busy_next: u32,
}

impl Worker {
    fn counted(&self) -> bool {
        !self.flags.intersects(WorkerFlags::NOT_RUNNING) && !self.sleeping
    }
    pub(crate) fn current_pwq(&self) -> Option<PwqId> {
        self.current.map(|c| c.pwq)
    }
    pub(crate) fn current_started(&self) -> Option<u64> {
        self.current.map(|c| c.started)
    }
    pub(crate) fn is_rescuer(&self) -> bool {
        self.flags.contains(WorkerFlags::RESCUER)
    }
    /// The pwq a rescuer attached to this pool serves (from the mayday it took until it
    /// leaves the pool).
    pub(crate) fn rescuing(&self) -> Option<PwqId> {
        match self.phase {
            Phase::Rescuer(v) => Some(v.pwq),
            _ => None,
        }
    }
}

/// A pool_workqueue: one workqueue's presence on one pool.
#[derive(Debug)]
pub(crate) struct Pwq {
    pub(crate) id: PwqId,
    pub(crate) wq: WqId,
    pub(crate) wq_flags: WqFlags,
    pub(crate) policy: Policy,
    pub(crate) nr_active: u32,
    pub(crate) max_active: u32,
    pub(crate) inactive: WorkList,
    pub(crate) cursor: CursorId,
    pub(crate) nr_in_flight: [u32; WORK_NR_COLORS as usize],
    pub(crate) work_color: u8,
    pub(crate) flush_color: Option<u8>,
    /// Drains in progress on its workqueue (queueing from outside is refused while > 0).
    pub(crate) draining: u32,
    pub(crate) stats: PwqStats,
    /// Queueings taken without the pool lock, accounted at the pool's next lock hold
    /// (see `crate::incoming`).
    pub(crate) incoming: std::sync::Arc<Incoming>,
    /// Whether `incoming` is open (the pool's own copy of the ring's bit).
    pub(crate) fast: bool,
}

impl Pwq {
    fn in_flight(&self) -> u32 {
        self.nr_in_flight.iter().sum()
    }
}

/// A worker pool (`struct worker_pool`) with the pwqs that live on it. Every method is a
/// plain state transition under the pool's lock: nothing here blocks, reads a clock or
/// spawns; `now` comes in, [`Action`]s go out.
#[derive(Debug)]
pub struct Pool {
    id: PoolId,
    kind: PoolKind,
    pub(crate) flags: PoolFlags,
    pub(crate) cpus: Vec<u32>,
    pub(crate) worklist: WorkList,
    pub(crate) workers: Vec<Worker>,
    /// Worker id to index in `workers`. FxHash: ids are small integers hashed under the
    /// pool lock on every item; SipHash's flooding resistance buys nothing here.
    windex: FxHashMap<WorkerId, usize>,
    /// Idle workers, most recently idle LAST (the kernel's idle_list head is our tail).
    pub(crate) idle: Vec<WorkerId>,
    nr_workers: u32,
    nr_running: u32,
    /// `busy_hash`: the running workers, chained by their current item's address (see
    /// the `busy` module).
    busy: busy::BusyHash,
    pub(crate) manager: Option<WorkerId>,
    create: CreateState,
    mayday_at: Option<u64>,
    idle_at: Option<u64>,
    watchdog_ts: u64,
    pub(crate) pwqs: Vec<Option<Pwq>>,
    free_slots: Vec<usize>,
    next_seq: u32,
    timings: PoolTimings,
    /// The pool's NUMA node (`pool->node`), `None` for `NUMA_NO_NODE`.
    node: Option<u32>,
    rescue_scratch: RescueScratch,
    /// Name buffers of detached rescuers, reused by the next attach (no allocation per visit).
    spare_names: Vec<String>,
    /// Slots of the pwqs whose incoming ring is open: the rings every lock hold takes in
    /// (a pool hosting many workqueues does not walk them all per hold).
    fast_slots: Vec<usize>,
    /// What the last `publish_incoming` decided with: whether the pool was busy then, and
    /// whether a pwq was added or removed or a drain began or ended since (its rings must be
    /// decided anew even if the pool stayed busy).
    published_busy: bool,
    publish_stale: bool,
    /// Items just taken off a ring, before they are accounted (reused: no allocation).
    absorbed: Vec<WorkRef>,
}

impl Pool {
    /// A pool with no worker yet; the first pwq added asks for one.
    /// `nr_cpus` sets the CPUs an unbound pool spans (for the dump).
    pub fn new(id: PoolId, kind: PoolKind, nr_cpus: u32, now: u64) -> Pool {
        let (flags, cpus) = match kind {
            // One BH execution context per CPU: a BH pool is per-CPU but, as in the
            // kernel, always disassociated (its workers are not concurrency-managed).
            PoolKind::Bh { cpu, .. } => (PoolFlags::BH | PoolFlags::DISASSOCIATED, vec![cpu]),
            PoolKind::PerCpu { cpu, .. } => (PoolFlags::empty(), vec![cpu]),
            // As in the kernel, an unbound pool is never associated with a CPU.
            PoolKind::Unbound(_) => (PoolFlags::DISASSOCIATED, (0..nr_cpus).collect()),
        };
        Pool {
            id,
            kind,
            flags,
            cpus,
            worklist: WorkList::new(),
            workers: Vec::new(),
            windex: FxHashMap::default(),
            idle: Vec::new(),
            nr_workers: 0,
            nr_running: 0,
            busy: busy::BusyHash::default(),
            manager: None,
            create: CreateState::Idle,
            mayday_at: None,
            idle_at: None,
            watchdog_ts: now,
            pwqs: Vec::new(),
            free_slots: Vec::new(),
            next_seq: 0,
            timings: PoolTimings::default(),
            // Until told otherwise every CPU is on node 0 (a single-node machine).
            node: Some(0),
            rescue_scratch: RescueScratch::default(),
            spare_names: Vec::new(),
            fast_slots: Vec::new(),
            published_busy: false,
            publish_stale: true,
            absorbed: Vec::new(),
        }
    }

    /// The pool's NUMA node as the dump prints it (` node=N`), `None` for
    /// `NUMA_NO_NODE`.
    pub fn node(&self) -> Option<u32> {
        self.node
    }

    /// Take the pool's node from the CPU-to-node map `cpu_nodes` (node of CPU `i` at index
    /// `i`), as the kernel does: a per-CPU pool is on its CPU's node
    /// (`init_cpu_worker_pool`: `pool->node = cpu_to_node(cpu)`); an unbound pool is on the
    /// node whose CPUs contain all of its own (`get_unbound_pool`: the NUMA pod its
    /// `__pod_cpumask` is a subset of), else on none. CPUs the map does not name count as
    /// no node.
    pub fn set_cpu_nodes(&mut self, cpu_nodes: &[u32]) {
        let mut nodes = self
            .cpus
            .iter()
            .map(|&c| cpu_nodes.get(c as usize).copied());
        let first = nodes.next().flatten();
        self.node = if nodes.all(|n| n.is_some() && n == first) {
            first
        } else {
            None
        };
    }

    /// The pool's timing parameters (the kernel's constants unless changed).
    pub fn timings(&self) -> PoolTimings {
        self.timings
    }

    /// Change the timing parameters (tests and benches shorten them). Deadlines already
    /// armed keep their time; new ones use the new values.
    pub fn set_timings(&mut self, timings: PoolTimings) {
        self.timings = timings;
    }

    /// The pool's id.
    pub fn id(&self) -> PoolId {
        self.id
    }

    /// What kind of pool this is.
    pub fn kind(&self) -> &PoolKind {
        &self.kind
    }

    /// `POOL_*` flags.
    pub fn flags(&self) -> PoolFlags {
        self.flags
    }

    // ------------------------------------------------------------------ predicates

    /// `need_more_worker`: work is pending and no worker is running.
    pub fn need_more_worker(&self) -> bool {
        !self.worklist.is_empty() && self.nr_running == 0
    }

    /// `may_start_working`: an idle worker is available.
    pub fn may_start_working(&self) -> bool {
        !self.idle.is_empty()
    }

    /// `keep_working`: work is pending and at most one worker is running.
    pub fn keep_working(&self) -> bool {
        !self.worklist.is_empty() && self.nr_running <= 1
    }

    /// `need_to_create_worker`: a worker is needed and none is idle.
    pub fn need_to_create_worker(&self) -> bool {
        self.need_more_worker() && !self.may_start_working()
    }

    /// `too_many_workers`: more idle workers than the pool needs.
    pub fn too_many_workers(&self) -> bool {
        let managing = u32::from(self.flags.contains(PoolFlags::MANAGER_ACTIVE));
        let nr_idle = self.idle.len() as u32 + managing;
        let nr_busy = self.nr_workers.saturating_sub(nr_idle);
        nr_idle > 2 && (nr_idle - 2) * MAX_IDLE_WORKERS_RATIO >= nr_busy
    }

    /// Whether someone is creating a worker (`POOL_MANAGER_ACTIVE`).
    pub fn manager_active(&self) -> bool {
        self.flags.contains(PoolFlags::MANAGER_ACTIVE)
    }

    /// Workers created for this pool (the rescuer does not count), kernel `nr_workers`.
    pub fn nr_workers(&self) -> u32 {
        self.nr_workers
    }

    /// Idle workers, kernel `nr_idle`.
    pub fn nr_idle(&self) -> u32 {
        self.idle.len() as u32
    }

    /// Running, concurrency-managed workers, kernel `nr_running`.
    pub fn nr_running(&self) -> u32 {
        self.nr_running
    }

    /// Work items on the worklist (cursors not counted).
    pub fn worklist_len(&self) -> usize {
        self.worklist.len()
    }

    /// Idle worker ids, most recently idle first (the kernel's idle_list order).
    pub fn idle_workers(&self) -> impl Iterator<Item = WorkerId> + '_ {
        self.idle.iter().rev().copied()
    }

    /// Ids of every worker attached to the pool (including an attached rescuer).
    pub fn worker_ids(&self) -> impl Iterator<Item = WorkerId> + '_ {
        self.workers.iter().map(|w| w.id)
    }

    /// Last time the pool made progress (kernel `watchdog_ts`/`last_progress_ts`).
    pub fn watchdog_ts(&self) -> u64 {
        self.watchdog_ts
    }

    /// How long the pool has been stuck: time since progress while work is pending.
    pub fn stalled_for(&self, now: u64) -> Option<u64> {
        if self.worklist.raw().has_linked_nodes() {
            Some(now.saturating_sub(self.watchdog_ts))
        } else {
            None
        }
    }

    /// The pending mayday-timer deadline, if armed.
    pub fn mayday_deadline(&self) -> Option<u64> {
        self.mayday_at
    }

    /// The pending idle-timer deadline, if armed.
    pub fn idle_deadline(&self) -> Option<u64> {
        self.idle_at
    }

    /// The pending creation-retry deadline, if cooling down after a failure.
    pub fn create_retry_deadline(&self) -> Option<u64> {
        match self.create {
            CreateState::Cooldown { until } => Some(until),
            _ => None,
        }
    }

    /// Whether a `CreateWorker` request is outstanding (not yet answered).
    pub fn create_requested(&self) -> bool {
        self.create == CreateState::Requested
    }

    /// The kernel-style name of a worker of this pool (`kworker/0:1`, `kworker/1:0H`,
    /// `kworker/u8:2`, [`crate::worker_name`]), or `None` for an unknown worker or the
    /// rescuer.
    pub fn worker_name(&self, w: WorkerId) -> Option<String> {
        let wk = self.worker(w)?;
        if wk.is_rescuer() {
            return None;
        }
        Some(crate::topology::worker_name(self.id, &self.kind, wk.seq))
    }

    /// The name the next worker created for this pool gets (creation is one request at a
    /// time per pool, so a driver names the thread it spawns with this).
    pub fn next_worker_name(&self) -> String {
        crate::topology::worker_name(self.id, &self.kind, self.next_seq)
    }

    /// The item a worker is running, as its address (`current_work`), if any.
    pub fn current_work(&self, w: WorkerId) -> Option<usize> {
        self.worker(w)?.current.map(|c| c.addr)
    }

    /// The pwq whose item a worker is running (`current_pwq`), if any.
    pub fn current_pwq(&self, w: WorkerId) -> Option<PwqId> {
        self.worker(w)?.current_pwq()
    }

    /// The worker's `WORKER_*` flags.
    pub fn worker_flags(&self, w: WorkerId) -> Option<WorkerFlags> {
        self.worker(w).map(|w| w.flags)
    }

    /// Items waiting on a worker's `scheduled` list.
    pub fn scheduled_len(&self, w: WorkerId) -> usize {
        self.worker(w).map_or(0, |w| w.scheduled.len())
    }

    /// The function name of the item worker `w` runs (`current_func`), while it runs it.
    pub fn worker_current_func(&self, w: WorkerId) -> Option<&str> {
        let wk = self.worker(w)?;
        wk.current.map(|_| wk.current_func.as_str())
    }

    fn worker(&self, w: WorkerId) -> Option<&Worker> {
        self.windex.get(&w).map(|&i| &self.workers[i])
    }
}

/// The kernel's `workqueue_activate_work` tracepoint, as a `tracing` event (target
/// `workqueue`, field `work`: the item's address, as the runtime's other workqueue events
/// report it): `work` starts counting against max_active and goes on the pool worklist,
/// either at once when queued or later from its pwq's inactive list. With no subscriber
/// listening it costs a check and allocates nothing.
pub(super) fn trace_activate(work: &WorkHead) {
    tracing::trace!(target: "workqueue", work = work as *const WorkHead as usize,
        "workqueue_activate_work");
}
