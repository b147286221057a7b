//! A worker pool and the pool_workqueues that live on it: everything one pool lock guards.

use cmwq_work::raw::WorkHeadRaw;
use rustc_hash::{FxHashMap, FxHashSet};
use std::ptr::NonNull;

use cmwq_list::{CursorId, ElemRef, Entry};
use cmwq_rescue::{
    Candidate, CursorMove, Policy, RescueCtx, RescuerPolicy, Take, Then, WorklistView,
};
use cmwq_work::{WorkFlags, WorkHead, WorkList, WorkRef};

use crate::action::{Action, Actions};
use crate::error::{PoolError, QueueError};
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
    /// `busy_hash`: the address of each running item's `WorkHead` to its worker. The
    /// kernel hashes the address with `hash_ptr`; FxHash is the same kind of cheap
    /// multiplicative hash (SipHash cost 5-7% of a throughput profile).
    busy: FxHashMap<usize, WorkerId>,
    pub(crate) manager: Option<WorkerId>,
    create: CreateState,
    mayday_at: Option<u64>,
    idle_at: Option<u64>,
    watchdog_ts: u64,
    pub(crate) pwqs: Vec<Option<Pwq>>,
    free_slots: Vec<usize>,
    next_seq: u32,
    timings: PoolTimings,
    rescue_scratch: RescueScratch,
    /// Name buffers of detached rescuers, reused by the next attach (no allocation per visit).
    spare_names: Vec<String>,
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
            busy: FxHashMap::default(),
            manager: None,
            create: CreateState::Idle,
            mayday_at: None,
            idle_at: None,
            watchdog_ts: now,
            pwqs: Vec::new(),
            free_slots: Vec::new(),
            next_seq: 0,
            timings: PoolTimings::default(),
            rescue_scratch: RescueScratch::default(),
            spare_names: Vec::new(),
        }
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

    fn worker(&self, w: WorkerId) -> Option<&Worker> {
        self.windex.get(&w).map(|&i| &self.workers[i])
    }

    /// Check the pool's bookkeeping against its lists (for tests and debug assertions in
    /// drivers): `nr_running` against the workers that count, the idle list against the
    /// idle workers, the busy table against the workers' current items, and each pwq's
    /// `nr_active` and `nr_in_flight` against the items on the worklist, the scheduled lists,
    /// the inactive list and the workers. O(items). Returns what disagrees.
    pub fn check_consistency(&self) -> Result<(), String> {
        let counted = self.workers.iter().filter(|w| w.counted()).count() as u32;
        if counted != self.nr_running {
            return Err(format!(
                "nr_running {} but {counted} workers count",
                self.nr_running
            ));
        }
        let idle = self
            .workers
            .iter()
            .filter(|w| w.phase == Phase::Idle)
            .count();
        if idle != self.idle.len() {
            return Err(format!(
                "{} on the idle list, {idle} idle workers",
                self.idle.len()
            ));
        }
        for id in &self.idle {
            let Some(w) = self.worker(*id) else {
                return Err(format!("idle worker {id} unknown"));
            };
            if !w.flags.contains(WorkerFlags::IDLE) || w.phase != Phase::Idle {
                return Err(format!("idle worker {id} is not idle"));
            }
        }
        let normal = self.workers.iter().filter(|w| !w.is_rescuer()).count() as u32;
        if normal != self.nr_workers {
            return Err(format!(
                "nr_workers {} but {normal} workers",
                self.nr_workers
            ));
        }
        for (addr, id) in &self.busy {
            if self.worker(*id).and_then(|w| w.current).map(|c| c.addr) != Some(*addr) {
                return Err(format!("busy table: {addr:#x} not run by {id}"));
            }
        }
        if self.workers.iter().filter(|w| w.current.is_some()).count() != self.busy.len() {
            return Err("busy table misses a running worker".into());
        }
        for p in self.pwqs.iter().flatten() {
            let mut active = 0u32;
            let mut in_flight = [0u32; WORK_NR_COLORS as usize];
            let mut count = |h: ElemRef<'_, WorkHead>| {
                if h.pwq() == Some(p.id) {
                    in_flight[usize::from(h.color())] += 1;
                    if !lists::flags(&h).contains(WorkFlags::INACTIVE) {
                        active += 1;
                    }
                }
            };
            self.worklist.heads().for_each(&mut count);
            for w in &self.workers {
                w.scheduled.heads().for_each(&mut count);
            }
            let mut inactive_ok = true;
            for h in p.inactive.heads() {
                inactive_ok &=
                    h.pwq() == Some(p.id) && lists::flags(&h).contains(WorkFlags::INACTIVE);
                in_flight[usize::from(h.color())] += 1;
            }
            if !inactive_ok {
                return Err(format!(
                    "pwq {:?}: a foreign or active item on its inactive list",
                    p.id
                ));
            }
            for w in &self.workers {
                if let Some(c) = w.current.filter(|c| c.pwq == p.id) {
                    in_flight[usize::from(c.color)] += 1;
                    active += u32::from(c.active);
                }
            }
            if active != p.nr_active {
                return Err(format!(
                    "pwq {:?}: nr_active {} but {active} active items",
                    p.id, p.nr_active
                ));
            }
            if in_flight != p.nr_in_flight {
                return Err(format!(
                    "pwq {:?}: nr_in_flight {:?} but items {:?}",
                    p.id, p.nr_in_flight, in_flight
                ));
            }
        }
        Ok(())
    }

    // ------------------------------------------------------------------ pwqs

    fn pwq(&self, id: PwqId) -> Option<&Pwq> {
        if pool_of(id) != self.id {
            return None;
        }
        self.pwqs.get(pwq_slot(id))?.as_ref()
    }

    fn pwq_mut(&mut self, id: PwqId) -> Option<&mut Pwq> {
        if pool_of(id) != self.id {
            return None;
        }
        self.pwqs.get_mut(pwq_slot(id))?.as_mut()
    }

    /// Host a workqueue on this pool: a new pwq with its cursor (allocated here, never on
    /// the queue path). Asks for the pool's first worker if it has none.
    pub fn add_pwq(
        &mut self,
        spec: PwqSpec,
        now: u64,
        out: &mut Actions,
    ) -> Result<PwqId, PoolError> {
        let slot = match self.free_slots.pop() {
            Some(s) => s,
            None if self.pwqs.len() < (1 << PWQ_SLOT_BITS) => {
                self.pwqs.push(None);
                self.pwqs.len() - 1
            }
            None => return Err(PoolError::NoPwqSlot(self.id)),
        };
        let id = make_pwq_id(self.id, slot);
        let cursor = self.worklist.new_cursor(u64::from(id.get()));
        self.pwqs[slot] = Some(Pwq {
            id,
            wq: spec.wq,
            wq_flags: spec.wq_flags,
            policy: spec.policy,
            nr_active: 0,
            max_active: u32::from(spec.max_active),
            inactive: WorkList::new(),
            cursor,
            nr_in_flight: [0; WORK_NR_COLORS as usize],
            work_color: 0,
            flush_color: None,
            draining: 0,
            stats: PwqStats::default(),
        });
        if self.nr_workers == 0 && !self.manager_active() {
            self.maybe_create_worker(None, now, out);
        }
        Ok(id)
    }

    /// Remove an empty pwq (its workqueue is being destroyed), free its cursor and its
    /// slot (the next [`add_pwq`](Self::add_pwq) reuses it, so the id comes back).
    pub fn remove_pwq(&mut self, id: PwqId) -> Result<(), PoolError> {
        let pwq = self.pwq(id).ok_or(PoolError::NoSuchPwq(id))?;
        if pwq.in_flight() != 0 || !pwq.inactive.is_empty() || pwq.nr_active != 0 {
            return Err(PoolError::PwqBusy(id));
        }
        if self
            .workers
            .iter()
            .any(|w| matches!(w.phase, Phase::Rescuer(v) if v.pwq == id))
        {
            return Err(PoolError::PwqBusy(id));
        }
        let slot = pwq_slot(id);
        let pwq = self.pwqs[slot].take().ok_or(PoolError::NoSuchPwq(id))?;
        self.worklist.free_cursor(pwq.cursor);
        // The slot serves the next `add_pwq`: a pool hosts at most 65536 pwqs at once, not
        // 65536 over its life. The pwq was empty, so no item's data word names it.
        self.free_slots.push(slot);
        Ok(())
    }

    /// Ids of the pwqs living on this pool.
    pub fn pwq_ids(&self) -> impl Iterator<Item = PwqId> + '_ {
        self.pwqs.iter().flatten().map(|p| p.id)
    }

    /// The workqueue a pwq belongs to.
    pub fn pwq_wq(&self, id: PwqId) -> Option<WqId> {
        self.pwq(id).map(|p| p.wq)
    }

    /// A pwq's `nr_active`.
    pub fn pwq_nr_active(&self, id: PwqId) -> u32 {
        self.pwq(id).map_or(0, |p| p.nr_active)
    }

    /// A pwq's max_active.
    pub fn pwq_max_active(&self, id: PwqId) -> u32 {
        self.pwq(id).map_or(0, |p| p.max_active)
    }

    /// Items on a pwq's inactive list.
    pub fn pwq_nr_inactive(&self, id: PwqId) -> usize {
        self.pwq(id).map_or(0, |p| p.inactive.len())
    }

    /// A pwq's items in flight (queued, inactive or running; barriers included), summed
    /// over colours.
    pub fn pwq_nr_in_flight(&self, id: PwqId) -> u32 {
        self.pwq(id).map_or(0, Pwq::in_flight)
    }

    /// Kernel `workqueue_congested` for this pwq: items wait on its inactive list (it is at
    /// max_active).
    pub fn pwq_congested(&self, id: PwqId) -> bool {
        self.pwq(id).is_some_and(|p| !p.inactive.is_empty())
    }

    /// A pwq's statistics.
    pub fn pwq_stats(&self, id: PwqId) -> PwqStats {
        self.pwq(id).map_or_else(PwqStats::default, |p| p.stats)
    }

    /// Whether a pwq's mayday cursor is on the worklist.
    pub fn pwq_cursor_linked(&self, id: PwqId) -> bool {
        self.pwq(id)
            .is_some_and(|p| self.worklist.cursor_is_linked(p.cursor))
    }

    /// Kernel `pwq_is_empty`: no active and no inactive item.
    pub fn pwq_is_empty(&self, id: PwqId) -> bool {
        self.pwq(id)
            .is_none_or(|p| p.nr_active == 0 && p.inactive.is_empty())
    }

    /// A drain of the pwq's workqueue starts (`true`: queueing from outside the workqueue
    /// is refused) or ends (`false`). Counted, so that a drain ending while another starts
    /// leaves the pwq draining.
    pub fn pwq_set_draining(&mut self, id: PwqId, draining: bool) {
        if let Some(p) = self.pwq_mut(id) {
            if draining {
                p.draining += 1;
            } else {
                p.draining = p.draining.saturating_sub(1);
            }
        }
    }

    /// Change a pwq's max_active and activate what the new limit allows.
    pub fn pwq_set_max_active(&mut self, id: PwqId, max_active: u16, now: u64, out: &mut Actions) {
        let Some(p) = self.pwq_mut(id) else { return };
        p.max_active = u32::from(max_active);
        if self.activate_inactive(id, now) {
            self.kick_pool(out);
        }
    }

    /// `flush_workqueue_prep_pwqs` for one pwq: if items of `flush_color` are in flight,
    /// remember to report [`Action::FlushColorDone`] when the last one finishes, and return
    /// true. New items get `work_color` from now on.
    pub fn pwq_flush_prep(&mut self, id: PwqId, flush_color: u8, work_color: u8) -> bool {
        let Some(p) = self.pwq_mut(id) else {
            return false;
        };
        let c = usize::from(flush_color % WORK_NR_COLORS);
        let wait = p.nr_in_flight[c] > 0;
        if wait {
            p.flush_color = Some(flush_color % WORK_NR_COLORS);
        }
        p.work_color = work_color % WORK_NR_COLORS;
        wait
    }

    // ------------------------------------------------------------------ queueing

    /// `__queue_work` under the pool lock: the caller owns PENDING (it won
    /// `test_and_set_pending`) and picked this pool's pwq. The item goes to the worklist if
    /// the pwq is under max_active (and nothing waits before it), else onto its inactive list.
    /// On refusal PENDING is cleared again and the item handed back.
    pub fn queue_work(
        &mut self,
        pwq: PwqId,
        work: WorkRef,
        from: QueueFrom,
        now: u64,
        out: &mut Actions,
    ) -> Result<(), (QueueError, WorkRef)> {
        let Some(p) = self.pwq_mut(pwq) else {
            work.head().clear_pending();
            return Err((QueueError::NoSuchPwq(pwq), work));
        };
        if p.draining > 0 && from != QueueFrom::WorkOf(p.wq) {
            let wq = p.wq;
            work.head().clear_pending();
            return Err((QueueError::Draining(wq), work));
        }
        let color = p.work_color;
        p.nr_in_flight[usize::from(color)] += 1;
        if p.inactive.is_empty() && p.nr_active < p.max_active {
            p.nr_active += 1;
            work.head().set_pwq(pwq, color, WorkFlags::PENDING);
            if !self.worklist.raw().has_linked_nodes() {
                self.watchdog_ts = now;
            }
            trace_activate(work.head());
            self.worklist.push_back(work);
            self.kick_pool(out);
        } else {
            work.head()
                .set_pwq(pwq, color, WorkFlags::PENDING | WorkFlags::INACTIVE);
            p.inactive.push_back(work);
        }
        Ok(())
    }

    /// Non-reentrancy (`find_worker_executing_work`): if a worker of this pool runs `work`
    /// for workqueue `wq`, the pwq it runs it for; queueing should go there.
    pub fn find_executing_pwq(&self, work: &WorkHead, wq: WqId) -> Option<PwqId> {
        let w = self.busy.get(&(work as *const WorkHead as usize))?;
        let pwq = self.worker(*w)?.current_pwq()?;
        (self.pwq(pwq)?.wq == wq).then_some(pwq)
    }

    /// The worker of this pool running `work`, if any.
    pub fn is_executing(&self, work: &WorkHead) -> Option<WorkerId> {
        self.busy.get(&(work as *const WorkHead as usize)).copied()
    }

    /// Activate inactive items of `pwq` while it is under max_active. True if any moved.
    fn activate_inactive(&mut self, pwq: PwqId, now: u64) -> bool {
        let slot = pwq_slot(pwq);
        let mut moved = false;
        loop {
            let Some(Some(p)) = self.pwqs.get_mut(slot) else {
                return moved;
            };
            if p.nr_active >= p.max_active {
                return moved;
            }
            let Some(front) = p.inactive.front().map(NonNull::from) else {
                return moved;
            };
            p.nr_active += 1;
            if !self.worklist.raw().has_linked_nodes() {
                self.watchdog_ts = now;
            }
            // SAFETY: front is the first element of p.inactive.
            let first = unsafe { lists::head(front) };
            first.set_inactive(false);
            trace_activate(first);
            // SAFETY: front is an element of p.inactive.
            unsafe { lists::move_linked(&mut p.inactive, &mut self.worklist, front, |_| {}) };
            moved = true;
        }
    }

    // ------------------------------------------------------------------ kick / create

    /// `kick_pool`: wake the most recently idle worker if the pool needs one. Returns
    /// whether a worker was woken. With no idle worker it does nothing, as in the kernel:
    /// a worker never starts working without leaving an idle worker or a manager behind
    /// (`next_work`), so whoever is idle or managing takes care of the pool.
    fn kick_pool(&mut self, out: &mut Actions) -> bool {
        if !self.need_more_worker() {
            return false;
        }
        match self.idle.last() {
            Some(&w) => {
                out.push(Action::WakeWorker {
                    pool: self.id,
                    worker: w,
                });
                true
            }
            None => false,
        }
    }

    /// Start `maybe_create_worker`: POOL_MANAGER_ACTIVE, the mayday timer at
    /// MAYDAY_INITIAL_TIMEOUT, and a CreateWorker request.
    fn maybe_create_worker(&mut self, manager: Option<WorkerId>, now: u64, out: &mut Actions) {
        self.flags |= PoolFlags::MANAGER_ACTIVE;
        self.manager = manager;
        self.create = CreateState::Requested;
        let at = now + self.timings.mayday_initial_timeout;
        self.mayday_at = Some(at);
        out.push(Action::ArmMaydayTimer { pool: self.id, at });
        out.push(Action::CreateWorker { pool: self.id });
    }

    fn end_creation(&mut self, out: &mut Actions) {
        self.flags.remove(PoolFlags::MANAGER_ACTIVE);
        self.create = CreateState::Idle;
        self.mayday_at = None;
        if let Some(m) = self.manager.take() {
            if let Some(&i) = self.windex.get(&m) {
                if self.workers[i].phase == Phase::Managing {
                    self.workers[i].phase = Phase::Woken;
                    out.push(Action::WakeWorker {
                        pool: self.id,
                        worker: m,
                    });
                }
            }
        }
    }

    /// A worker was created for this pool (answer to [`Action::CreateWorker`]). It starts
    /// idle; it is woken if the pool needs it.
    pub fn worker_created(&mut self, id: WorkerId, now: u64, out: &mut Actions) {
        if self.windex.contains_key(&id) {
            return;
        }
        let mut flags = WorkerFlags::PREP;
        // worker_attach_to_pool: a worker of a disassociated pool is WORKER_UNBOUND.
        if self.flags.contains(PoolFlags::DISASSOCIATED) {
            flags |= WorkerFlags::UNBOUND;
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.windex.insert(id, self.workers.len());
        self.workers.push(Worker {
            id,
            seq,
            flags,
            phase: Phase::Woken,
            sleeping: false,
            scheduled: WorkList::new(),
            current: None,
            current_func: String::new(),
            last_active: now,
            batch_start: false,
        });
        self.nr_workers += 1;
        let i = self.workers.len() - 1;
        self.enter_idle(i, now, out);
        if self.create != CreateState::Idle {
            self.end_creation(out);
        }
        self.kick_pool(out);
    }

    /// Creating a worker failed: cool down for CREATE_COOLDOWN, then retry if still needed.
    /// The manager stays active and the mayday timer keeps running.
    pub fn worker_create_failed(&mut self, now: u64, out: &mut Actions) {
        if self.create != CreateState::Requested {
            return;
        }
        let until = now + self.timings.create_cooldown;
        self.create = CreateState::Cooldown { until };
        out.push(Action::ArmCreateRetry {
            pool: self.id,
            at: until,
        });
    }

    /// The creation cooldown is over: ask again if a worker is still needed, else stop
    /// managing. Ignored if no cooldown is due.
    pub fn create_retry_timeout(&mut self, now: u64, out: &mut Actions) {
        let CreateState::Cooldown { until } = self.create else {
            return;
        };
        if now < until {
            return;
        }
        if self.need_to_create_worker() || self.nr_workers == 0 {
            self.create = CreateState::Requested;
            out.push(Action::CreateWorker { pool: self.id });
        } else {
            self.end_creation(out);
        }
    }

    /// `pool_mayday_timeout`: while the pool still needs to create a worker, send a mayday
    /// for the pwq of every item on the worklist; re-arm for MAYDAY_INTERVAL. Ignored unless
    /// the timer is armed and due.
    pub fn mayday_timeout(&mut self, now: u64, sink: &mut dyn MaydaySink, out: &mut Actions) {
        match self.mayday_at {
            Some(at) if now >= at => {}
            _ => return,
        }
        if self.need_to_create_worker() {
            let Self { worklist, pwqs, .. } = self;
            for e in worklist.iter() {
                let Entry::Elem(h) = e else { continue };
                let Some(id) = h.pwq() else { continue };
                let Some(Some(p)) = pwqs.get_mut(pwq_slot(id)) else {
                    continue;
                };
                if !p.wq_flags.contains(WqFlags::MEM_RECLAIM) {
                    continue;
                }
                if sink.send_mayday(p.wq, id) {
                    p.stats.mayday += 1;
                    out.push(Action::WakeRescuer { wq: p.wq });
                }
            }
        }
        let at = now + self.timings.mayday_interval;
        self.mayday_at = Some(at);
        out.push(Action::ArmMaydayTimer { pool: self.id, at });
    }

    // ------------------------------------------------------------------ idle

    fn enter_idle(&mut self, i: usize, now: u64, out: &mut Actions) {
        let w = &mut self.workers[i];
        w.flags |= WorkerFlags::IDLE;
        w.phase = Phase::Idle;
        w.last_active = now;
        self.idle.push(w.id);
        if self.too_many_workers() && self.idle_at.is_none() {
            let at = now + self.timings.idle_worker_timeout;
            self.idle_at = Some(at);
            out.push(Action::ArmIdleTimer { pool: self.id, at });
        }
    }

    fn leave_idle(&mut self, i: usize) {
        let w = &mut self.workers[i];
        w.flags.remove(WorkerFlags::IDLE);
        let id = w.id;
        if let Some(pos) = self.idle.iter().rposition(|&x| x == id) {
            self.idle.remove(pos);
        }
    }

    /// `idle_worker_timeout`: cull the least recently idle workers while there are too many
    /// and they have been idle for IDLE_WORKER_TIMEOUT. Ignored unless armed and due.
    pub fn idle_timeout(&mut self, now: u64, out: &mut Actions) {
        match self.idle_at {
            Some(at) if now >= at => {}
            _ => return,
        }
        self.idle_at = None;
        while self.too_many_workers() {
            let Some(&oldest) = self.idle.first() else {
                break;
            };
            let i = self.windex[&oldest];
            let expires = self.workers[i].last_active + self.timings.idle_worker_timeout;
            if now < expires {
                self.idle_at = Some(expires);
                out.push(Action::ArmIdleTimer {
                    pool: self.id,
                    at: expires,
                });
                break;
            }
            self.idle.remove(0);
            self.remove_worker(oldest);
            self.nr_workers -= 1;
            out.push(Action::StopWorker {
                pool: self.id,
                worker: oldest,
            });
        }
    }

    fn remove_worker(&mut self, id: WorkerId) -> Option<Worker> {
        let i = self.windex.remove(&id)?;
        let w = self.workers.swap_remove(i);
        if i < self.workers.len() {
            let moved = self.workers[i].id;
            self.windex.insert(moved, i);
        }
        Some(w)
    }

    // ------------------------------------------------------------------ nr_running

    fn set_flags(&mut self, i: usize, f: WorkerFlags) {
        let w = &mut self.workers[i];
        let before = w.counted();
        w.flags |= f;
        if before && !w.counted() {
            self.nr_running -= 1;
        }
    }

    fn clr_flags(&mut self, i: usize, f: WorkerFlags) {
        let w = &mut self.workers[i];
        let before = w.counted();
        w.flags.remove(f);
        if !before && w.counted() {
            self.nr_running += 1;
        }
    }

    /// `wq_worker_sleeping`: a running worker is about to block. It stops counting in
    /// nr_running; if work is then pending with nobody running, an idle worker is woken.
    pub fn worker_sleeping(&mut self, w: WorkerId, _now: u64, out: &mut Actions) {
        let Some(&i) = self.windex.get(&w) else {
            return;
        };
        let wk = &mut self.workers[i];
        if wk.sleeping || wk.flags.intersects(WorkerFlags::NOT_RUNNING) {
            return;
        }
        wk.sleeping = true;
        self.nr_running -= 1;
        let pwq = wk.current_pwq();
        if self.kick_pool(out) {
            if let Some(p) = pwq.and_then(|p| self.pwq_mut(p)) {
                p.stats.cm_wakeup += 1;
            }
        }
    }

    /// `wq_worker_running`: a worker that blocked runs again and counts again.
    pub fn worker_running(&mut self, w: WorkerId, now: u64) {
        let Some(&i) = self.windex.get(&w) else {
            return;
        };
        let wk = &mut self.workers[i];
        if !wk.sleeping {
            return;
        }
        wk.sleeping = false;
        if let Some(c) = wk.current.as_mut() {
            c.at = now;
        }
        if wk.counted() {
            self.nr_running += 1;
        }
    }

    /// `wq_worker_tick`: a concurrency-managed worker that has run its current item for
    /// CPU_INTENSIVE_THRESH is marked CPU_INTENSIVE and stops counting; the pool is kicked.
    pub fn worker_tick(&mut self, w: WorkerId, now: u64, out: &mut Actions) {
        let Some(&i) = self.windex.get(&w) else {
            return;
        };
        let wk = &self.workers[i];
        let Some(cur) = wk.current else { return };
        if wk.flags.intersects(WorkerFlags::NOT_RUNNING)
            || wk.sleeping
            || now.saturating_sub(cur.at) < self.timings.cpu_intensive_thresh
        {
            return;
        }
        self.set_flags(i, WorkerFlags::CPU_INTENSIVE);
        let woke = self.kick_pool(out);
        if let Some(p) = self.pwq_mut(cur.pwq) {
            p.stats.cpu_intensive += 1;
            if woke {
                p.stats.cm_wakeup += 1;
            }
        }
    }

    // ------------------------------------------------------------------ workers

    /// `assign_work`: move `work` (and its linked barriers) from the worklist to worker
    /// `i`'s scheduled list, unless another worker of the pool runs the same item: then it
    /// goes to that worker (non-reentrancy) and this returns false.
    ///
    /// # Safety
    ///
    /// `work` is an element of `self.worklist`.
    unsafe fn assign_work(
        &mut self,
        work: NonNull<WorkHead>,
        i: usize,
        moved: impl FnMut(NonNull<WorkHead>),
    ) -> bool {
        let addr = work.as_ptr() as usize;
        let target = match self.busy.get(&addr) {
            Some(&other) if other != self.workers[i].id => self.windex[&other],
            _ => i,
        };
        let Self {
            worklist, workers, ..
        } = self;
        // SAFETY: work is on the worklist (contract).
        unsafe { lists::move_linked(worklist, &mut workers[target].scheduled, work, moved) };
        target == i
    }

    /// Unlink cursors at the worklist head and return the first work item (a normal worker's
    /// assign path meets cursors only as `Entry::Cursor`, never as work).
    fn first_work(&mut self) -> Option<NonNull<WorkHead>> {
        loop {
            let first = self.worklist.iter().next()?;
            match first {
                Entry::Elem(h) => return Some(NonNull::from(h)),
                Entry::Cursor(c) => {
                    let id = c.id();
                    self.worklist.unlink_cursor(id);
                }
            }
        }
    }

    /// `process_one_work`, the part before the function runs: take the first item of
    /// worker `i`'s scheduled list, record it as current, clear PENDING.
    fn process_one_work(&mut self, i: usize, now: u64, out: &mut Actions) -> Option<WorkRef> {
        let work = self.workers[i].scheduled.pop_front()?;
        let head = work.head();
        let data_flags = lists::flags(head);
        let pwq = head.pwq();
        let color = head.color();
        let addr = work.addr();
        let w = &mut self.workers[i];
        w.current_func.clear();
        w.current_func.push_str(work.name());
        let pwq = pwq.unwrap_or(PwqId::new(u32::MAX));
        w.current = Some(Current {
            addr,
            pwq,
            color,
            active: !data_flags.contains(WorkFlags::INACTIVE),
            started: now,
            at: now,
        });
        let id = w.id;
        self.busy.insert(addr, id);
        if let Some(p) = self.pwq_mut(pwq) {
            p.stats.started += 1;
            if p.wq_flags.contains(WqFlags::CPU_INTENSIVE) {
                self.set_flags(i, WorkerFlags::CPU_INTENSIVE);
            }
        }
        if std::mem::take(&mut self.workers[i].batch_start) {
            self.watchdog_ts = now;
        }
        // Chain execution for workers that do not count (unbound, cpu-intensive).
        self.kick_pool(out);
        work.head().set_pool_and_clear_pending(self.id);
        Some(work)
    }

    /// The worker finished the item `next_work`/`rescuer_next` handed it, having used
    /// `cpu_ns` of CPU time. Updates nr_active (activating inactive items), flush colours
    /// and stats.
    pub fn work_done(&mut self, w: WorkerId, cpu_ns: u64, now: u64, out: &mut Actions) {
        let Some(&i) = self.windex.get(&w) else {
            return;
        };
        if self.workers[i].sleeping {
            self.worker_running(w, now);
        }
        let Some(cur) = self.workers[i].current.take() else {
            return;
        };
        self.busy.remove(&cur.addr);
        if self.workers[i].flags.contains(WorkerFlags::CPU_INTENSIVE) {
            self.clr_flags(i, WorkerFlags::CPU_INTENSIVE);
        }
        if let Some(p) = self.pwq_mut(cur.pwq) {
            p.stats.completed += 1;
            p.stats.cpu_time_ns += cpu_ns;
        }
        // As the kernel's process_one_work, no kick_pool for an item this activates: the
        // worker asks for its next item right after (next_work's work loop), and takes it
        // itself unless another running worker does. Waking the idle spare here would
        // only have it find the worklist empty again.
        self.pwq_dec_nr_in_flight(cur.pwq, cur.color, cur.active, now, out);
    }

    /// `pwq_dec_nr_in_flight`: an item of `pwq` with `color` left (completed or grabbed).
    /// Returns whether it activated an inactive item (which the caller may need to kick
    /// the pool for).
    fn pwq_dec_nr_in_flight(
        &mut self,
        pwq: PwqId,
        color: u8,
        active: bool,
        now: u64,
        out: &mut Actions,
    ) -> bool {
        let Some(p) = self.pwq_mut(pwq) else {
            return false;
        };
        let c = usize::from(color % WORK_NR_COLORS);
        p.nr_in_flight[c] = p.nr_in_flight[c].saturating_sub(1);
        let wq = p.wq;
        if p.flush_color == Some(color % WORK_NR_COLORS) && p.nr_in_flight[c] == 0 {
            p.flush_color = None;
            out.push(Action::FlushColorDone { wq, pwq });
        }
        if active {
            p.nr_active = p.nr_active.saturating_sub(1);
            return self.activate_inactive(pwq, now);
        }
        false
    }

    /// The worker loop (`worker_thread`) as a state machine. Call it when the worker starts,
    /// when it is woken, and after `work_done`. It returns the next item to run, or tells the
    /// worker to park (idle, or as manager) or to exit.
    pub fn next_work(&mut self, w: WorkerId, now: u64, out: &mut Actions) -> Next {
        let Some(&i) = self.windex.get(&w) else {
            return Next::Exit;
        };
        // A worker asking for work is running, whether or not its driver reported the wake-up.
        self.worker_running(w, now);
        if self.workers[i].current.is_some() {
            // The driver did not report the previous item: count it done with no CPU time.
            self.work_done(w, 0, now, out);
        }
        match self.workers[i].phase {
            Phase::Rescuer(_) => return Next::Idle,
            Phase::Idle => {
                self.leave_idle(i);
                self.workers[i].phase = Phase::Woken;
            }
            Phase::Managing => {
                if self.manager == Some(w) && self.manager_active() {
                    return Next::Manage;
                }
                self.workers[i].phase = Phase::Woken;
            }
            Phase::Woken | Phase::Working => {}
        }
        if self.workers[i].phase == Phase::Woken {
            // woke_up / recheck
            if !self.need_more_worker() {
                self.enter_idle(i, now, out);
                return Next::Idle;
            }
            if !self.may_start_working() && !self.manager_active() {
                self.workers[i].phase = Phase::Managing;
                self.maybe_create_worker(Some(w), now, out);
                return Next::Manage;
            }
            self.clr_flags(i, WorkerFlags::PREP | WorkerFlags::REBOUND);
            self.workers[i].phase = Phase::Working;
            return self.work_loop(i, true, now, out);
        }
        self.work_loop(i, false, now, out)
    }

    fn work_loop(&mut self, i: usize, first: bool, now: u64, out: &mut Actions) -> Next {
        let mut first = first;
        loop {
            if let Some(work) = self.process_one_work(i, now, out) {
                return Next::Run(work);
            }
            if !first && !self.keep_working() {
                break;
            }
            first = false;
            let Some(work) = self.first_work() else { break };
            // SAFETY: first_work returned an element of the worklist.
            if unsafe { self.assign_work(work, i, |_| {}) } {
                self.workers[i].batch_start = true;
            }
        }
        self.set_flags(i, WorkerFlags::PREP);
        self.enter_idle(i, now, out);
        Next::Idle
    }

    // ------------------------------------------------------------------ rescuer

    /// The workqueue's rescuer attaches to this pool to help `pwq` (`worker_attach_to_pool`).
    /// It is a worker of the pool in WORKER_PREP: never counted in nr_running, nor in
    /// nr_workers.
    pub fn rescuer_attach(&mut self, r: WorkerId, pwq: PwqId, now: u64) {
        if self.windex.contains_key(&r) {
            return;
        }
        self.windex.insert(r, self.workers.len());
        let mut flags = WorkerFlags::PREP | WorkerFlags::RESCUER;
        if self.flags.contains(PoolFlags::DISASSOCIATED) {
            flags |= WorkerFlags::UNBOUND;
        }
        self.workers.push(Worker {
            id: r,
            seq: 0,
            flags,
            phase: Phase::Rescuer(RescueVisit {
                pwq,
                rescued: 0,
                passes: 0,
                leave_after: None,
            }),
            sleeping: false,
            scheduled: WorkList::new(),
            current: None,
            current_func: self.spare_names.pop().unwrap_or_default(),
            last_active: now,
            batch_start: false,
        });
    }

    /// One step of the rescuer's visit: run what it took, else ask the pwq's policy
    /// (`assign_rescuer_work`), else leave.
    pub fn rescuer_next(
        &mut self,
        r: WorkerId,
        sink: &mut dyn MaydaySink,
        now: u64,
        out: &mut Actions,
    ) -> RescueNext {
        let mut scratch = std::mem::take(&mut self.rescue_scratch);
        let next = self.rescuer_next_with(r, sink, now, out, &mut scratch);
        scratch.takes.clear();
        scratch.taken.clear();
        scratch.chained.clear();
        self.rescue_scratch = scratch;
        next
    }

    fn rescuer_next_with(
        &mut self,
        r: WorkerId,
        sink: &mut dyn MaydaySink,
        now: u64,
        out: &mut Actions,
        scratch: &mut RescueScratch,
    ) -> RescueNext {
        let Some(&i) = self.windex.get(&r) else {
            return RescueNext::Leave;
        };
        if self.workers[i].current.is_some() {
            self.work_done(r, 0, now, out);
        }
        loop {
            // (The emptiness check spares a call per policy round: a Cursor rescuer asks its
            // policy before every item.)
            if !self.workers[i].scheduled.is_empty() {
                if let Some(work) = self.process_one_work(i, now, out) {
                    return RescueNext::Run(work);
                }
            }
            let Phase::Rescuer(mut visit) = self.workers[i].phase else {
                return RescueNext::Leave;
            };
            if let Some(remayday) = visit.leave_after {
                if remayday {
                    self.requeue_mayday(visit.pwq, sink);
                }
                return RescueNext::Leave;
            }
            let Some(p) = self.pwq(visit.pwq) else {
                return RescueNext::Leave;
            };
            let (wq, cursor) = (p.wq, p.cursor);
            let mut ctx = RescueCtx::new(visit.pwq);
            ctx.nr_active = p.nr_active;
            ctx.need_to_create_worker = self.need_to_create_worker();
            ctx.manager_active = self.manager_active();
            ctx.others_waiting = sink.others_waiting(wq);
            ctx.rescued_this_visit = visit.rescued;
            ctx.passes_this_visit = visit.passes;
            // Let the policy choose, then turn its choice into positions on the worklist
            // (in a reused buffer: no allocation per step).
            //
            // The policy is safe code and is trusted with nothing: a candidate is kept only
            // if it was met on this worklist in this call (the token says which list it was
            // met on), is queued on the rescued pwq (its data word, written under this
            // lock), and was not handed over before in this call (`taken`). Each check is
            // O(1). Nothing changes the worklist while the policy runs (it is borrowed), so
            // every kept position is an element of it until the assignments below move it.
            let RescueScratch {
                takes,
                taken,
                chained,
            } = scratch;
            takes.clear();
            taken.clear();
            let (cursor_plan, then, visited) = {
                let view = WorklistView::new(&self.worklist, visit.pwq, cursor);
                let worklist = &self.worklist;
                let mut keep = |c: Candidate<'_>| {
                    let pos = c.as_ptr();
                    if c.is_on(worklist) && c.is_of(visit.pwq) && taken.insert(pos) {
                        takes.push(pos);
                    }
                };
                let choice = p.policy.choose(&view, &ctx, &mut Take::new(&mut keep));
                let (cursor_move, then) = (choice.cursor, choice.then);
                let plan = match cursor_move {
                    CursorMove::Stay => CursorPlan::Stay,
                    CursorMove::Unlink => CursorPlan::Unlink,
                    CursorMove::AfterTaken => match *takes.as_slice() {
                        [] => CursorPlan::Stay,
                        // One item (Cursor's every step): the cursor goes before the element
                        // after its LINKED chain, found and moved to in one list operation.
                        // SAFETY: the item came from a scan of self.worklist, unchanged since.
                        [only] => match unsafe { lists::chain_end(&self.worklist, only) } {
                            Some(end) => CursorPlan::BeforeNextElem(end),
                            None => CursorPlan::Before(None),
                        },
                        [.., last] => {
                            // SAFETY: last came from a scan of self.worklist, unchanged since.
                            let mut n = unsafe { lists::after_chain(&self.worklist, last) };
                            while let Some(x) = n {
                                if !taken.contains(&x) {
                                    break;
                                }
                                // SAFETY: x is on the worklist (found there just above).
                                n = unsafe { lists::after_chain(&self.worklist, x) };
                            }
                            CursorPlan::Before(n)
                        }
                    },
                };
                (plan, then, view.visited())
            };
            visit.passes += 1;
            match cursor_plan {
                CursorPlan::Stay => {}
                CursorPlan::Unlink => self.worklist.unlink_cursor(cursor),
                // SAFETY: n is an element of the worklist (found there, nothing removed yet).
                CursorPlan::Before(Some(n)) => unsafe {
                    self.worklist.move_cursor_before(cursor, lists::head(n))
                },
                // SAFETY: as above.
                CursorPlan::BeforeNextElem(e) => unsafe {
                    self.worklist
                        .move_cursor_before_next_elem(cursor, lists::head(e))
                },
                CursorPlan::Before(None) => self.worklist.move_cursor_to_back(cursor),
            }
            let took = match *takes.as_slice() {
                // One item (Cursor's every step): nothing else to skip.
                // SAFETY: the item came from a scan of the worklist and was not moved since.
                [only] => u32::from(unsafe { self.assign_work(only, i, |_| {}) }),
                _ => {
                    chained.clear();
                    let mut took = 0u32;
                    for t in takes.iter().copied() {
                        if chained.contains(&t) {
                            continue;
                        }
                        // SAFETY: t came from a scan of the worklist, appears once in `takes`
                        // (checked when kept) and was not moved since: the only items moved
                        // are earlier entries of `takes` and the items moved along with their
                        // LINKED chains, which are in `chained`.
                        if unsafe {
                            self.assign_work(t, i, |x| {
                                chained.insert(x);
                            })
                        } {
                            took += 1;
                        }
                    }
                    took
                }
            };
            visit.rescued += took;
            if took > 0 {
                self.workers[i].batch_start = true;
            }
            if let Some(p) = self.pwq_mut(visit.pwq) {
                p.stats.rescue_nodes_visited += visited;
                p.stats.rescued += u64::from(took);
            }
            match then {
                Then::Continue if took > 0 => {}
                Then::Continue if !takes.is_empty() => {} // all handed to busy workers: ask again
                Then::Continue | Then::Leave => {
                    if took == 0 {
                        self.workers[i].phase = Phase::Rescuer(visit);
                        return RescueNext::Leave;
                    }
                    visit.leave_after = Some(false);
                }
                Then::LeaveAndRemayday => {
                    if took == 0 {
                        self.workers[i].phase = Phase::Rescuer(visit);
                        // Only a visit that rescued something goes back on maydays: a
                        // policy that asks for it while taking nothing would otherwise keep
                        // the rescuer popping and re-sending the same pwq forever. (The
                        // built-in policies never ask for it before rescuing.)
                        if visit.rescued > 0 {
                            self.requeue_mayday(visit.pwq, sink);
                        }
                        return RescueNext::Leave;
                    }
                    visit.leave_after = Some(true);
                }
            }
            self.workers[i].phase = Phase::Rescuer(visit);
        }
    }

    /// Put the pwq back on its workqueue's maydays (the rescuer itself does it: no MAYDAY
    /// stat, no wake-up, as the kernel's rescuer_thread).
    fn requeue_mayday(&mut self, pwq: PwqId, sink: &mut dyn MaydaySink) {
        if let Some(p) = self.pwq(pwq) {
            sink.send_mayday(p.wq, pwq);
        }
    }

    /// The rescuer leaves the pool (`worker_detach_from_pool`): the cursor is unlinked
    /// unless the pwq is back on maydays (it cannot be left behind without the rescuer
    /// watching it), and the pool is kicked so that normal workers resume.
    pub fn rescuer_detach(
        &mut self,
        r: WorkerId,
        sink: &mut dyn MaydaySink,
        now: u64,
        out: &mut Actions,
    ) {
        let Some(&i) = self.windex.get(&r) else {
            return;
        };
        if self.workers[i].current.is_some() {
            self.work_done(r, 0, now, out);
        }
        let Phase::Rescuer(visit) = self.workers[i].phase else {
            return;
        };
        // Anything still scheduled on the rescuer goes back to the worklist head, in order.
        let mut w = self.remove_worker(r).expect("indexed above");
        let mut prev: Option<NonNull<WorkHead>> = None;
        while let Some(x) = w.scheduled.pop_front() {
            let pos = NonNull::from(x.head());
            match prev {
                None => self.worklist.push_front(x),
                // SAFETY: prev was put on the worklist by the previous iteration.
                Some(p) => unsafe { self.worklist.insert_after(lists::head(p), x) },
            }
            prev = Some(pos);
        }
        w.current_func.clear();
        self.spare_names.push(w.current_func);
        if let Some(p) = self.pwq(visit.pwq) {
            let (wq, cursor) = (p.wq, p.cursor);
            if self.worklist.cursor_is_linked(cursor) && !sink.is_on_maydays(wq, visit.pwq) {
                self.worklist.unlink_cursor(cursor);
            }
        }
        self.kick_pool(out);
    }

    /// The pwq a rescuer attached to this pool is visiting.
    pub fn rescuer_pwq(&self, r: WorkerId) -> Option<PwqId> {
        match self.worker(r)?.phase {
            Phase::Rescuer(v) => Some(v.pwq),
            _ => None,
        }
    }

    // ------------------------------------------------------------------ flush / cancel

    /// Find the list of this pool holding `target` (a pending item of `pwq`).
    fn locate(&self, target: &WorkHead, pwq: PwqId) -> Option<Loc> {
        if let Some(p) = self.pwq(pwq) {
            if lists::flags(target).contains(WorkFlags::INACTIVE) && p.inactive.contains(target) {
                return Some(Loc::Inactive);
            }
        }
        for (i, w) in self.workers.iter().enumerate() {
            if w.scheduled.contains(target) {
                return Some(Loc::Scheduled(i));
            }
        }
        if self.worklist.contains(target) {
            return Some(Loc::Worklist);
        }
        None
    }

    fn list_mut(&mut self, loc: Loc, pwq: PwqId) -> &mut WorkList {
        match loc {
            Loc::Worklist => &mut self.worklist,
            Loc::Scheduled(i) => &mut self.workers[i].scheduled,
            Loc::Inactive => {
                &mut self.pwqs[pwq_slot(pwq)]
                    .as_mut()
                    .expect("located on it")
                    .inactive
            }
        }
    }

    /// `insert_wq_barrier`: queue `barrier` (a fresh item whose `barrier_task()` is Some)
    /// LINKED right behind `target` if it is pending on this pool, or at the head of the
    /// scheduled list of the worker running it. The barrier counts in its pwq's flush colour
    /// but not in nr_active. `Err(barrier)`: nothing to wait for (drop it).
    pub fn insert_barrier(
        &mut self,
        target: &WorkHead,
        barrier: WorkRef,
        _now: u64,
        _out: &mut Actions,
    ) -> Result<(), WorkRef> {
        if !matches!(barrier.head().test_and_set_pending(), Ok(true)) {
            return Err(barrier);
        }
        let tflags = lists::flags(target);
        if let Some(pwq) = target.pwq().filter(|&p| pool_of(p) == self.id) {
            if tflags.contains(WorkFlags::PENDING) {
                if let Some(loc) = self.locate(target, pwq) {
                    let color = target.color();
                    let inherit = tflags & WorkFlags::LINKED;
                    barrier.head().set_pwq(
                        pwq,
                        color,
                        WorkFlags::PENDING | WorkFlags::INACTIVE | inherit,
                    );
                    target.set_flags(WorkFlags::LINKED);
                    let pos = NonNull::from(target);
                    let list = self.list_mut(loc, pwq);
                    // SAFETY: locate found target on this list.
                    unsafe { list.insert_after(lists::head(pos), barrier) };
                    if let Some(p) = self.pwq_mut(pwq) {
                        p.nr_in_flight[usize::from(color % WORK_NR_COLORS)] += 1;
                    }
                    return Ok(());
                }
            }
        }
        if let Some(&w) = self.busy.get(&(target as *const WorkHead as usize)) {
            let i = self.windex[&w];
            let cur = self.workers[i]
                .current
                .expect("busy workers have a current item");
            barrier
                .head()
                .set_pwq(cur.pwq, cur.color, WorkFlags::PENDING | WorkFlags::INACTIVE);
            self.workers[i].scheduled.push_front(barrier);
            if let Some(p) = self.pwq_mut(cur.pwq) {
                p.nr_in_flight[usize::from(cur.color % WORK_NR_COLORS)] += 1;
            }
            return Ok(());
        }
        barrier.head().clear_pending();
        Err(barrier)
    }

    /// `try_to_grab_pending` under this pool's lock: take a pending item off the worklist,
    /// an inactive list or a scheduled list. Barriers cannot be grabbed.
    pub fn try_grab_pending(&mut self, work: &WorkHead, now: u64, out: &mut Actions) -> Grab {
        let Some(pwq) = work.pwq().filter(|&p| pool_of(p) == self.id) else {
            return Grab::NotHere;
        };
        if lists::is_barrier(work) || !lists::flags(work).contains(WorkFlags::PENDING) {
            return Grab::NotHere;
        }
        let Some(loc) = self.locate(work, pwq) else {
            return Grab::NotHere;
        };
        let color = work.color();
        let pos = NonNull::from(work);
        let w = if loc == Loc::Inactive {
            // Kernel try_to_grab_pending: the flush barriers LINKED behind an inactive item
            // must not stay on the inactive list (activation would count them in nr_active
            // and make their flushers wait for a max_active slot): the item and its chain
            // go to the worklist tail, then the item alone is taken off it.
            let Self { pwqs, worklist, .. } = &mut *self;
            let p = pwqs[pwq_slot(pwq)].as_mut().expect("located on it");
            // SAFETY: locate found work on p.inactive.
            unsafe { lists::move_linked(&mut p.inactive, worklist, pos, |_| {}) };
            // SAFETY: move_linked just put work on the worklist.
            unsafe { lists::take(worklist, pos) }
        } else {
            let list = self.list_mut(loc, pwq);
            // SAFETY: locate found work on this list.
            unsafe { lists::take(list, pos) }
        };
        w.head().set_pool_keep_pending(self.id);
        let activated = self.pwq_dec_nr_in_flight(pwq, color, loc != Loc::Inactive, now, out);
        // No worker loop follows a grab: an item it activated, or the moved barriers,
        // may be all the worklist holds now.
        if activated || loc == Loc::Inactive {
            self.kick_pool(out);
        }
        Grab::Grabbed(w)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Loc {
    Worklist,
    Inactive,
    Scheduled(usize),
}

/// `rescuer_next`'s reused buffers: positions on the worklist, meaningful only during one
/// call and empty between calls.
#[derive(Debug, Default)]
struct RescueScratch {
    /// The positions the policy took, in its order, each once.
    takes: Vec<NonNull<WorkHead>>,
    /// The same positions as a set: the O(1) "taken already?" check.
    taken: FxHashSet<NonNull<WorkHead>>,
    /// Items moved along with a taken one's LINKED chain.
    chained: FxHashSet<NonNull<WorkHead>>,
}

// SAFETY: the collections are cleared before `Pool::rescuer_next` (which holds `&mut Pool`)
// returns, so no pointer in them is ever shared with or sent to another thread; only their
// capacity outlives a call.
unsafe impl Send for RescueScratch {}
// SAFETY: as above: between calls there is nothing to read through a `&RescueScratch`.
unsafe impl Sync for RescueScratch {}

enum CursorPlan {
    Stay,
    Unlink,
    /// Before this element, or at the tail.
    Before(Option<NonNull<WorkHead>>),
    /// Before the first element after this one, or at the tail.
    BeforeNextElem(NonNull<WorkHead>),
}

/// The kernel's `workqueue_activate_work` tracepoint, as a `tracing` event (target
/// `workqueue`, field `work`: the item's address, as the runtime's other workqueue events
/// report it): `work` starts counting against max_active and goes on the pool worklist,
/// either at once when queued or later from its pwq's inactive list. With no subscriber
/// listening it costs a check and allocates nothing.
fn trace_activate(work: &WorkHead) {
    tracing::trace!(target: "workqueue", work = work as *const WorkHead as usize,
        "workqueue_activate_work");
}
