//! Workqueues: the builder, the queueing paths, flush, drain, destroy.

use cmwq_work::raw::WorkHeadRaw;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use cmwq_pool::{PwqSpec, QueueFrom, WqId, WqSpec};
use cmwq_work::{HasWork, PwqId, WorkItem, WorkRef};
use parking_lot::{Condvar, Mutex};

use crate::error::{BuildError, MaxActiveError, QueueError};
use crate::flags::{Rescue, WQ_MAX_ACTIVE, WQ_NAME_LEN, WqFlags};
use crate::rt::{Shared, TimerEvent, WorkerShared, percpu_pool_id, with_actions};
use crate::runtime::Runtime;
use crate::stats::WorkqueueStats;

/// What the runtime keeps of a workqueue (shared with its rescuer and the timer).
pub(crate) struct WqShared {
    pub(crate) id: WqId,
    pub(crate) name: String,
    pub(crate) flags: WqFlags,
    pub(crate) ordered: bool,
    pub(crate) rt: Arc<Shared>,
    /// The core's workqueue state under the small per-workqueue lock (maydays, flush
    /// colours, max_active). Lock order: any pool lock, then this.
    pub(crate) core: Mutex<cmwq_pool::Workqueue>,
    /// pwqs: per CPU (index = cpu), or the one unbound pwq.
    pub(crate) pwqs: Box<[PwqId]>,
    pub(crate) rescuer: Option<Arc<WorkerShared>>,
    /// Serialises drains and destroy (outermost lock).
    drain_lock: Mutex<()>,
    /// Serialises flushers (taken before any pool lock).
    flush_lock: Mutex<()>,
    flush_done: Mutex<u64>,
    flush_cv: Condvar,
    pub(crate) panics: AtomicU64,
    destroyed: AtomicBool,
}

/// A thread's "home CPU" for queueing without a CPU (the kernel uses the local CPU).
fn home_cpu(nr_cpus: u32) -> u32 {
    use std::cell::Cell;
    static NEXT: AtomicU32 = AtomicU32::new(0);
    thread_local!(static HOME: Cell<u32> = const { Cell::new(u32::MAX) });
    let h = HOME.with(|h| {
        if h.get() == u32::MAX {
            h.set(NEXT.fetch_add(1, Ordering::Relaxed));
        }
        h.get()
    });
    h % nr_cpus.max(1)
}

impl WqShared {
    fn is_unbound(&self) -> bool {
        self.pwqs.len() == 1 && self.flags.contains(WqFlags::UNBOUND)
    }

    pub(crate) fn select_pwq(&self, cpu: Option<u32>) -> Result<PwqId, QueueError> {
        if self.is_unbound() {
            return Ok(self.pwqs[0]);
        }
        let nr = self.rt.nr_cpus;
        let cpu = match cpu {
            Some(c) if c >= nr => {
                return Err(QueueError::NoSuchCpu {
                    cpu: c as usize,
                    nr_cpus: nr as usize,
                });
            }
            Some(c) => c,
            // A worker queues on its own CPU (if this runtime has it: the worker may belong
            // to another runtime); other threads on their home CPU.
            None => crate::blocking::with_hooks(|h| h.current_cpu())
                .flatten()
                .filter(|&c| c < nr)
                .unwrap_or_else(|| home_cpu(nr)),
        };
        Ok(self.pwqs[cpu as usize])
    }

    /// `__queue_work` with PENDING already owned by the caller.
    pub(crate) fn queue_owned(
        &self,
        work: WorkRef,
        cpu: Option<u32>,
    ) -> Result<(), (QueueError, WorkRef)> {
        let mut pwq = match self.select_pwq(cpu) {
            Ok(p) => p,
            Err(e) => {
                work.head().clear_pending();
                return Err((e, work));
            }
        };
        let head = work.head();
        let addr = work.addr();
        // Non-reentrancy: if the item still runs on its last pool for this wq, queue it
        // behind that run (kernel __queue_work's last_pool check).
        if let Some(last) = head.last_pool() {
            if last != cmwq_pool::pool_of(pwq) && self.rt.pool_exists(last) {
                let id = self.id;
                if let Some(p) = self.rt.pool(last).core.lock().find_executing_pwq(head, id) {
                    pwq = p;
                }
            }
        }
        let me = Arc::as_ptr(&self.rt).addr();
        let from = match crate::blocking::with_hooks(|h| h.current_wq()).flatten() {
            Some((rt, w)) if rt == me && w == self.id => QueueFrom::WorkOf(w),
            _ => QueueFrom::Outside,
        };
        tracing::trace!(target: "workqueue", work = addr, function = work.name(),
            workqueue = self.name.as_str(), req_cpu = cpu.unwrap_or(u32::MAX),
            pwq = pwq.get(), "workqueue_queue_work");
        let p = cmwq_pool::pool_of(pwq);
        let r = with_actions(|acts| {
            let r = {
                let mut pool = self.rt.pool(p).core.lock();
                // The core emits `workqueue_activate_work` when the item goes on the
                // worklist, now or later from the pwq's inactive list (max_active).
                pool.queue_work(pwq, work, from, self.rt.now(), acts)
            };
            self.rt.perform(acts);
            r
        });
        r.map_err(|(e, w)| (QueueError::from_core(e), w))
    }

    /// The core reports a pwq's flush colour done: maybe the whole flush is done.
    pub(crate) fn flush_pwq_done(&self, pwq: PwqId) {
        if self.core.lock().flush_pwq_done(pwq).is_some() {
            self.flush_complete();
        }
    }

    fn flush_complete(&self) {
        *self.flush_done.lock() += 1;
        self.flush_cv.notify_all();
    }

    /// `flush_workqueue`: wait until every item queued before the call has finished.
    fn flush(&self) {
        let _serial = self.flush_lock.lock();
        let _blocking = crate::BlockingGuard::enter();
        let target = *self.flush_done.lock() + 1;
        let begin = match self.core.lock().flush_begin() {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(target: "workqueue", workqueue = self.name.as_str(), error = %e,
                    "flush_workqueue refused");
                return;
            }
        };
        for &pwq in self.pwqs.iter() {
            let p = cmwq_pool::pool_of(pwq);
            let mut pool = self.rt.pool(p).core.lock();
            if pool.pwq_flush_prep(pwq, begin.flush_color, begin.work_color) {
                // Before the pool lock is released: its FlushColorDone cannot come first.
                self.core.lock().flush_pwq_added();
            }
        }
        if self.core.lock().flush_prepared().is_some() {
            self.flush_complete();
        }
        let mut done = self.flush_done.lock();
        while *done < target {
            self.flush_cv.wait(&mut done);
        }
    }

    fn all_pwqs_empty(&self) -> bool {
        self.pwqs.iter().all(|&pwq| {
            let pool = self.rt.pool(cmwq_pool::pool_of(pwq)).core.lock();
            pool.pwq_is_empty(pwq) && pool.pwq_nr_in_flight(pwq) == 0
        })
    }

    /// `drain_workqueue`: flush until empty; meanwhile only the workqueue's own items may
    /// queue on it (chained queueing). Drains are serialised by `drain_lock`.
    fn drain(&self) {
        let _serial = self.drain_lock.lock();
        self.drain_locked();
        self.set_draining(false);
    }

    /// The drain loop, with `drain_lock` held; leaves the workqueue draining.
    fn drain_locked(&self) {
        self.set_draining(true);
        let mut rounds = 0u32;
        loop {
            self.flush();
            if self.all_pwqs_empty() {
                break;
            }
            rounds += 1;
            if rounds % 100 == 0 {
                tracing::warn!(target: "workqueue", workqueue = self.name.as_str(), rounds,
                    "drain_workqueue isn't complete after {rounds} tries");
            }
        }
    }

    fn set_draining(&self, on: bool) {
        {
            let mut c = self.core.lock();
            if on {
                // Already draining (drain() racing destroy): the flushes below still run.
                let _ = c.begin_drain();
            } else {
                c.end_drain();
            }
        }
        for &pwq in self.pwqs.iter() {
            self.rt
                .pool(cmwq_pool::pool_of(pwq))
                .core
                .lock()
                .pwq_set_draining(pwq, on);
        }
    }

    /// Drain, remove the pwqs, stop the rescuer, unregister.
    fn destroy(&self) {
        if self.destroyed.swap(true, Ordering::AcqRel) {
            return;
        }
        // Drain and stay draining: from here on only chained queueing is accepted, and once
        // the pwqs are removed nothing is (the core refuses a removed pwq: `Destroyed`).
        let _serial = self.drain_lock.lock();
        self.drain_locked();
        for &pwq in self.pwqs.iter() {
            let p = cmwq_pool::pool_of(pwq);
            if let Err(e) = self.rt.pool(p).core.lock().remove_pwq(pwq) {
                tracing::warn!(target: "workqueue", workqueue = self.name.as_str(), error = %e,
                    "destroy_workqueue: pwq not empty");
            }
        }
        self.core.lock().mark_destroyed();
        if let Some(r) = &self.rescuer {
            r.exit.store(true, Ordering::Release);
            r.wake();
        }
        if let Some(slot) = self.rt.wqs.write().get_mut(self.id.0 as usize) {
            *slot = None;
        }
    }
}

/// A queueing that was refused: the item is handed back with the reason.
pub struct Refused<T> {
    /// The item, as it was given.
    pub item: Arc<T>,
    /// Why it was not queued.
    pub reason: QueueError,
}

impl<T> fmt::Debug for Refused<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Refused")
            .field("reason", &self.reason)
            .finish_non_exhaustive()
    }
}

impl<T> fmt::Display for Refused<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "work item not queued: {}", self.reason)
    }
}

impl<T> std::error::Error for Refused<T> {}

impl<T> Refused<T> {
    /// Whether the item was already pending (the kernel's `queue_work` returning false):
    /// it will run, once, for this queueing too.
    pub fn is_already_pending(&self) -> bool {
        self.reason == QueueError::AlreadyPending
    }
}

/// The queue path's fast path (`test_and_set_bit(WORK_STRUCT_PENDING_BIT)`): take PENDING
/// for `item` and make its queue reference, or hand the `Arc` back saying why not (already
/// pending: the queueing is a no-op; disabled: refused).
fn claim_pending<T: WorkItem + HasWork>(item: Arc<T>) -> Result<WorkRef, Refused<T>> {
    match item.work_head().test_and_set_pending() {
        Ok(true) => Ok(WorkRef::from_arc(item)),
        Ok(false) => Err(Refused {
            item,
            reason: QueueError::AlreadyPending,
        }),
        Err(_) => Err(Refused {
            item,
            reason: QueueError::Disabled,
        }),
    }
}

fn hand_back<T: WorkItem + HasWork>(work: WorkRef, reason: QueueError) -> Refused<T> {
    match work.try_into_arc::<T>() {
        Ok(item) => Refused { item, reason },
        // A WorkRef made from an Arc<T> always converts back to Arc<T>.
        Err(_) => unreachable!("cmwq: a work item changed type while queued"),
    }
}

/// Builds a [`Workqueue`]: name, flags, max_active, rescuer policy, runtime.
///
/// ```
/// use cmwq::{Rescue, Workqueue, WQ_MEM_RECLAIM};
/// let wq = Workqueue::builder("my-reclaim-wq")
///     .flags(WQ_MEM_RECLAIM)
///     .max_active(16)
///     .rescuer(Rescue::Cursor)
///     .build()?;
/// # drop(wq);
/// # Ok::<(), cmwq::BuildError>(())
/// ```
#[derive(Debug, Clone)]
#[must_use = "a builder does nothing until .build()"]
pub struct WorkqueueBuilder {
    name: String,
    flags: WqFlags,
    max_active: u32,
    ordered: bool,
    rescue: Rescue,
    runtime: Option<Runtime>,
}

impl WorkqueueBuilder {
    /// Workqueue flags (`WQ_*`).
    pub fn flags(mut self, flags: WqFlags) -> Self {
        self.flags = flags;
        self
    }
    /// Per-pwq limit of items running at once; 0 means `WQ_DFL_ACTIVE`.
    pub fn max_active(mut self, n: u32) -> Self {
        self.max_active = n;
        self
    }
    /// An ordered workqueue: unbound, one item at a time, in queueing order
    /// (`alloc_ordered_workqueue`).
    pub fn ordered(mut self) -> Self {
        self.ordered = true;
        self
    }
    /// The rescuer's policy (used when the flags include `WQ_MEM_RECLAIM`).
    pub fn rescuer(mut self, policy: Rescue) -> Self {
        self.rescue = policy;
        self
    }
    /// Build on this runtime instead of the global one.
    pub fn runtime(mut self, rt: &Runtime) -> Self {
        self.runtime = Some(rt.clone());
        self
    }

    /// `alloc_workqueue`.
    pub fn build(self) -> Result<Workqueue, BuildError> {
        let len = self.name.len();
        if len == 0 || len >= WQ_NAME_LEN {
            return Err(BuildError::BadName {
                name: self.name,
                len,
                max: WQ_NAME_LEN - 1,
            });
        }
        if self.max_active > WQ_MAX_ACTIVE {
            return Err(BuildError::BadMaxActive {
                given: self.max_active,
                max: WQ_MAX_ACTIVE,
            });
        }
        if self.flags.contains(WqFlags::BH) {
            return Err(BuildError::Conflict(
                "WQ_BH: userspace has no softirq context to run bottom-half work in",
            ));
        }
        if self.flags.contains(WqFlags::UNBOUND | WqFlags::PERCPU) {
            return Err(BuildError::Conflict(
                "WQ_UNBOUND and WQ_PERCPU exclude each other",
            ));
        }
        if self.ordered && self.max_active > 1 {
            return Err(BuildError::Conflict(
                "an ordered workqueue has max_active 1",
            ));
        }
        let rt = match self.runtime {
            Some(rt) => rt,
            None => Runtime::global().clone(),
        };
        rt.create_workqueue(
            self.name,
            self.flags,
            self.max_active,
            self.ordered,
            self.rescue,
        )
    }
}

/// A workqueue: items queued on it run on its runtime's worker pools, at most
/// `max_active` at once per pool, each item on at most one worker at a time.
///
/// Dropping a `Workqueue` destroys it (`destroy_workqueue`): it is drained first, so every
/// item queued on it has run. (Dropped by one of its own items, it is destroyed from
/// another thread once that item returns.) Share it with `Arc<Workqueue>` or a `static`.
pub struct Workqueue {
    pub(crate) inner: Arc<WqShared>,
    pub(crate) rt: Runtime,
}

impl fmt::Debug for Workqueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Workqueue")
            .field("name", &self.inner.name)
            .field("flags", &self.inner.flags)
            .finish_non_exhaustive()
    }
}

impl Drop for Workqueue {
    fn drop(&mut self) {
        let me = (Arc::as_ptr(&self.rt.shared).addr(), self.inner.id);
        if crate::blocking::with_hooks(|h| h.current_wq()).flatten() == Some(me) {
            // The last handle dropped by one of the workqueue's own items: draining here
            // would wait for this very item. Destroy from another thread instead; it
            // drains once this item has returned.
            let (inner, rt) = (Arc::clone(&self.inner), self.rt.clone());
            let spawned = std::thread::Builder::new()
                .name(format!("cmwq-destroy/{}", inner.name))
                .spawn(move || {
                    inner.destroy();
                    drop(rt);
                });
            if spawned.is_ok() {
                return;
            }
            tracing::error!(target: "workqueue", workqueue = self.inner.name.as_str(),
                "destroy_workqueue from its own work item and no thread to defer it to");
        }
        self.inner.destroy();
    }
}

impl Runtime {
    pub(crate) fn create_workqueue(
        &self,
        name: String,
        mut flags: WqFlags,
        max_active: u32,
        ordered: bool,
        rescue: Rescue,
    ) -> Result<Workqueue, BuildError> {
        let shared = Arc::clone(&self.shared);
        if shared.shut_down.load(Ordering::Acquire) {
            return Err(BuildError::ShutDown);
        }
        if ordered {
            flags |= WqFlags::UNBOUND;
        }
        let policy = rescue.to_core();
        let core_flags = flags.to_core();
        let mut spec = if ordered {
            WqSpec::ordered(name.clone(), core_flags)
        } else {
            WqSpec::new(name.clone(), core_flags)
        };
        spec = spec.policy(policy.clone());
        if max_active != 0 && !ordered {
            spec = spec.max_active(max_active as u16);
        }
        let (eff_flags, max) = spec.validate().map_err(BuildError::from_core)?;
        let id = {
            let mut wqs = shared.wqs.write();
            let id = wqs.len() as u32;
            wqs.push(None);
            WqId(id)
        };
        let pools: Vec<_> = if flags.contains(WqFlags::UNBOUND) {
            vec![shared.unbound_pool(flags.contains(WqFlags::HIGHPRI))]
        } else {
            (0..shared.nr_cpus)
                .map(|c| percpu_pool_id(c, flags.contains(WqFlags::HIGHPRI)))
                .collect()
        };
        let mut pwqs = Vec::with_capacity(pools.len());
        for p in pools {
            let pwq = shared.with_pool(p, |pool, now, acts| {
                pool.add_pwq(
                    PwqSpec {
                        wq: id,
                        wq_flags: eff_flags,
                        max_active: max,
                        policy: policy.clone(),
                    },
                    now,
                    acts,
                )
            });
            match pwq {
                Ok(pwq) => pwqs.push(pwq),
                Err(e) => {
                    remove_pwqs(&shared, &pwqs);
                    return Err(BuildError::from_core(e));
                }
            }
        }
        let rescuer = flags
            .contains(WqFlags::MEM_RECLAIM)
            .then(|| shared.new_rescuer(id, &name));
        let core_wq = match cmwq_pool::Workqueue::new(
            id,
            &spec,
            pwqs.clone(),
            rescuer.as_ref().map(|r| r.id),
        ) {
            Ok(w) => w,
            Err(e) => {
                remove_pwqs(&shared, &pwqs);
                return Err(BuildError::from_core(e));
            }
        };
        let inner = Arc::new(WqShared {
            id,
            name: name.clone(),
            flags,
            ordered,
            rt: Arc::clone(&shared),
            core: Mutex::new(core_wq),
            pwqs: pwqs.into_boxed_slice(),
            rescuer: rescuer.clone(),
            drain_lock: Mutex::new(()),
            flush_lock: Mutex::new(()),
            flush_done: Mutex::new(0),
            flush_cv: Condvar::new(),
            panics: AtomicU64::new(0),
            destroyed: AtomicBool::new(false),
        });
        shared.wqs.write()[id.0 as usize] = Some(Arc::clone(&inner));
        let wq = Workqueue {
            inner,
            rt: self.clone(),
        };
        if let Some(r) = rescuer {
            if let Err(source) = shared.spawn_rescuer(&wq.inner, &r) {
                return Err(BuildError::Rescuer { name, source });
            }
        }
        Ok(wq)
    }
}

/// Undo `add_pwq`s of a workqueue whose creation failed (the pwqs are empty).
fn remove_pwqs(shared: &Shared, pwqs: &[PwqId]) {
    for &pwq in pwqs {
        let _ = shared
            .pool(cmwq_pool::pool_of(pwq))
            .core
            .lock()
            .remove_pwq(pwq);
    }
}

impl Workqueue {
    /// Start building a workqueue named `name` (at most 31 bytes).
    pub fn builder(name: impl Into<String>) -> WorkqueueBuilder {
        WorkqueueBuilder {
            name: name.into(),
            flags: WqFlags::empty(),
            max_active: 0,
            ordered: false,
            rescue: Rescue::default(),
            runtime: None,
        }
    }

    /// `alloc_workqueue(name, flags, max_active)` on the global runtime.
    pub fn new(name: &str, flags: WqFlags, max_active: u32) -> Result<Workqueue, BuildError> {
        Self::builder(name)
            .flags(flags)
            .max_active(max_active)
            .build()
    }

    /// `alloc_ordered_workqueue(name, flags)` on the global runtime.
    pub fn new_ordered(name: &str, flags: WqFlags) -> Result<Workqueue, BuildError> {
        Self::builder(name).flags(flags).ordered().build()
    }

    /// The workqueue's name.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The workqueue's flags.
    pub fn flags(&self) -> WqFlags {
        self.inner.flags
    }

    /// Whether it is ordered.
    pub fn is_ordered(&self) -> bool {
        self.inner.ordered
    }

    /// Its current max_active.
    pub fn max_active(&self) -> u32 {
        u32::from(self.inner.core.lock().max_active())
    }

    /// The runtime it runs on.
    pub fn runtime(&self) -> &Runtime {
        &self.rt
    }

    /// `queue_work`: queue `item` on this workqueue. `Ok` if it was idle and is now
    /// queued; if it was already pending, the `Arc` comes back in `Err` with
    /// [`QueueError::AlreadyPending`] (it still runs once, for both queueings). No
    /// allocation happens on this path.
    pub fn queue_work<T: WorkItem + HasWork>(&self, item: Arc<T>) -> Result<(), Refused<T>> {
        self.queue_work_inner(item, None)
    }

    /// `queue_work_on`: queue `item` on the pool of `cpu` (per-CPU workqueues; unbound
    /// ones ignore the CPU).
    pub fn queue_work_on<T: WorkItem + HasWork>(
        &self,
        cpu: usize,
        item: Arc<T>,
    ) -> Result<(), Refused<T>> {
        let cpu = u32::try_from(cpu).unwrap_or(u32::MAX);
        self.queue_work_inner(item, Some(cpu))
    }

    fn queue_work_inner<T: WorkItem + HasWork>(
        &self,
        item: Arc<T>,
        cpu: Option<u32>,
    ) -> Result<(), Refused<T>> {
        let work = claim_pending(item)?;
        self.inner
            .queue_owned(work, cpu)
            .map_err(|(reason, w)| hand_back(w, reason))
    }

    /// Queue a one-shot closure (allocates its item). For a closure queued many times,
    /// make the item once with [`work_fn`](crate::work_fn) and use
    /// [`queue_work`](Self::queue_work).
    pub fn queue_fn(
        &self,
        name: &'static str,
        f: impl FnOnce() + Send + 'static,
    ) -> Result<(), QueueError> {
        let item = crate::item::OnceWork::new(name, f);
        self.queue_work(item).map_err(|r| r.reason)
    }

    /// `queue_delayed_work`: queue `item` after `delay` (at once if zero).
    pub fn queue_delayed_work<T: WorkItem + HasWork>(
        &self,
        item: Arc<T>,
        delay: Duration,
    ) -> Result<(), Refused<T>> {
        self.queue_delayed_inner(item, delay, None)
    }

    /// `queue_delayed_work_on`: as [`queue_delayed_work`](Self::queue_delayed_work), on
    /// `cpu`'s pool.
    pub fn queue_delayed_work_on<T: WorkItem + HasWork>(
        &self,
        cpu: usize,
        item: Arc<T>,
        delay: Duration,
    ) -> Result<(), Refused<T>> {
        let cpu = u32::try_from(cpu).unwrap_or(u32::MAX);
        self.queue_delayed_inner(item, delay, Some(cpu))
    }

    fn queue_delayed_inner<T: WorkItem + HasWork>(
        &self,
        item: Arc<T>,
        delay: Duration,
        cpu: Option<u32>,
    ) -> Result<(), Refused<T>> {
        let work = claim_pending(item)?;
        self.delayed_owned(work, delay, cpu)
            .map_err(|(reason, w)| hand_back(w, reason))
    }

    /// With PENDING owned: arm the item's timer, or queue it now for a zero delay.
    fn delayed_owned(
        &self,
        work: WorkRef,
        delay: Duration,
        cpu: Option<u32>,
    ) -> Result<(), (QueueError, WorkRef)> {
        if let Err(e) = self.inner.select_pwq(cpu) {
            work.head().clear_pending();
            return Err((e, work));
        }
        if delay.is_zero() {
            return self.inner.queue_owned(work, cpu);
        }
        let rt = &self.inner.rt;
        let generation = rt.next_gen.fetch_add(1, Ordering::Relaxed);
        rt.delayed.lock().insert(work.addr(), generation);
        rt.timer.arm(
            Instant::now() + delay,
            TimerEvent::Delayed {
                work,
                generation,
                wq: Arc::clone(&self.inner),
                cpu,
            },
        );
        Ok(())
    }

    /// `mod_delayed_work`: (re)queue `item` to run after `delay` from now, whether it was
    /// idle, waiting on its timer or pending. Returns whether it was pending before.
    pub fn mod_delayed_work<T: WorkItem + HasWork>(
        &self,
        item: &Arc<T>,
        delay: Duration,
    ) -> Result<bool, QueueError> {
        let was_pending = crate::ops::grab_pending(&self.inner.rt, item.work_head());
        if item.work_head().disable_count() != 0 {
            crate::ops::release_pending(item.work_head());
            return Err(QueueError::Disabled);
        }
        self.delayed_owned(WorkRef::from_arc(Arc::clone(item)), delay, None)
            .map(|()| was_pending)
            .map_err(|(e, _)| e)
    }

    /// `flush_workqueue`: wait until every item queued before this call has finished.
    /// Items queued meanwhile are not waited for. Called from a work item of this same
    /// workqueue it would wait for itself: don't.
    pub fn flush(&self) {
        self.inner.flush();
    }

    /// `drain_workqueue`: flush until the workqueue is empty. While draining, only its own
    /// items may queue on it (chained queueing); other queueings are refused with
    /// [`QueueError::Draining`].
    pub fn drain(&self) {
        self.inner.drain();
    }

    /// `destroy_workqueue`: drain, then stop. The same as dropping it.
    pub fn destroy(self) {}

    /// `workqueue_set_max_active`.
    pub fn set_max_active(&self, n: u32) -> Result<(), MaxActiveError> {
        if self.inner.ordered {
            return Err(MaxActiveError::Ordered(self.inner.name.clone()));
        }
        if n == 0 || n > WQ_MAX_ACTIVE {
            return Err(MaxActiveError::OutOfRange {
                given: n,
                max: WQ_MAX_ACTIVE,
            });
        }
        let n = self
            .inner
            .core
            .lock()
            .set_max_active(n as u16)
            .map_err(|_| MaxActiveError::OutOfRange {
                given: n,
                max: WQ_MAX_ACTIVE,
            })?;
        for &pwq in self.inner.pwqs.iter() {
            self.inner
                .rt
                .with_pool(cmwq_pool::pool_of(pwq), |pool, now, acts| {
                    pool.pwq_set_max_active(pwq, n, now, acts);
                });
        }
        Ok(())
    }

    /// `workqueue_congested`: whether items wait (inactive) behind max_active on `cpu`'s
    /// pwq (any CPU for an unbound workqueue).
    pub fn congested(&self, cpu: usize) -> Result<bool, QueueError> {
        let pwq = self
            .inner
            .select_pwq(Some(u32::try_from(cpu).unwrap_or(u32::MAX)))?;
        Ok(self
            .inner
            .rt
            .pool(cmwq_pool::pool_of(pwq))
            .core
            .lock()
            .pwq_nr_inactive(pwq)
            > 0)
    }

    /// The workqueue's counters (summed over its pwqs), plus caught panics.
    pub fn stats(&self) -> WorkqueueStats {
        let mut s = WorkqueueStats::default();
        for &pwq in self.inner.pwqs.iter() {
            let st = self
                .inner
                .rt
                .pool(cmwq_pool::pool_of(pwq))
                .core
                .lock()
                .pwq_stats(pwq);
            s.add_core(&st);
        }
        s.panics = self.inner.panics.load(Ordering::Relaxed);
        s
    }

    /// `show_one_workqueue`: this workqueue's part of the kernel-format dump (empty
    /// header-only text when it is idle).
    pub fn show(&self) -> String {
        crate::watch::show_one(&self.rt.shared, &self.inner)
    }

    // ---- item operations (they work for any workqueue of the same runtime)

    /// `flush_work`: wait until the last queueing of `item` has finished running. Returns
    /// whether there was anything to wait for.
    pub fn flush_work<T: WorkItem + HasWork>(&self, item: &Arc<T>) -> bool {
        crate::ops::flush_work(&self.inner.rt, item.work_head())
    }

    /// `flush_delayed_work`: if `item` waits on its delay timer, queue it now; then wait
    /// for it as [`flush_work`](Self::flush_work). Returns whether there was anything to
    /// wait for (the item was waiting on its timer, pending or running).
    pub fn flush_delayed_work<T: WorkItem + HasWork>(&self, item: &Arc<T>) -> bool {
        let rt = &self.inner.rt;
        let stolen = crate::ops::steal_from_timer(rt, item.work_head());
        if stolen {
            // PENDING is ours now: queue it at once.
            let _ = self
                .inner
                .queue_owned(WorkRef::from_arc(Arc::clone(item)), None);
        }
        crate::ops::flush_work(rt, item.work_head()) || stolen
    }

    /// `cancel_work`: take `item` off its queue (or delay timer) if it is pending. Returns
    /// whether it was pending. A running instance is not waited for.
    pub fn cancel_work<T: WorkItem + HasWork>(&self, item: &Arc<T>) -> bool {
        let rt = &self.inner.rt;
        let was = crate::ops::grab_pending(rt, item.work_head());
        crate::ops::release_pending(item.work_head());
        was
    }

    /// `cancel_work_sync`: cancel, then wait for a running instance to finish. When it
    /// returns, `item` is neither pending nor running (unless queued again since).
    pub fn cancel_work_sync<T: WorkItem + HasWork>(&self, item: &Arc<T>) -> bool {
        crate::ops::cancel_sync(&self.inner.rt, item.work_head())
    }

    /// `cancel_delayed_work`: as [`cancel_work`](Self::cancel_work), timer included.
    pub fn cancel_delayed_work<T: WorkItem + HasWork>(&self, item: &Arc<T>) -> bool {
        self.cancel_work(item)
    }

    /// `cancel_delayed_work_sync`.
    pub fn cancel_delayed_work_sync<T: WorkItem + HasWork>(&self, item: &Arc<T>) -> bool {
        self.cancel_work_sync(item)
    }

    /// `disable_work`: cancel `item` and refuse to queue it until [`enable_work`]; nests.
    /// Returns whether it was pending.
    ///
    /// [`enable_work`]: Self::enable_work
    pub fn disable_work<T: WorkItem + HasWork>(&self, item: &Arc<T>) -> bool {
        crate::ops::disable(&self.inner.rt, item.work_head(), false)
    }

    /// `disable_work_sync`: disable and wait for a running instance.
    pub fn disable_work_sync<T: WorkItem + HasWork>(&self, item: &Arc<T>) -> bool {
        crate::ops::disable(&self.inner.rt, item.work_head(), true)
    }

    /// `enable_work`: undo one `disable_work`. Returns whether the item can be queued again
    /// (the disable count reached zero).
    pub fn enable_work<T: WorkItem + HasWork>(&self, item: &Arc<T>) -> bool {
        crate::ops::enable(item.work_head())
    }

    /// `work_busy`: whether `item` is pending and/or running.
    pub fn work_busy<T: WorkItem + HasWork>(&self, item: &Arc<T>) -> crate::WorkBusy {
        crate::ops::work_busy(&self.inner.rt, item.work_head())
    }
}
