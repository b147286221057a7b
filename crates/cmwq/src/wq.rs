//! Workqueues: the builder and the public API. Every operation is the core's
//! ([`cmwq_pool::ops`]), run on this runtime as its driver; this module converts types,
//! waits for completions and retries where the core says another context owns an item.

use cmwq_work::raw::WorkHeadRaw;
use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use cmwq_pool::ops;
use cmwq_pool::{Again, Driver, WqSpec};
use cmwq_work::{HasWork, WorkHead, WorkItem, WorkRef};

use crate::error::{BuildError, DisableError, FlushError, MaxActiveError, QueueError};
use crate::flags::{WQ_MAX_ACTIVE, WqFlags};
use crate::fnwork::FnOnceWork;
use crate::item;
use crate::rt::{Shared, WqShared, deadline_after};
use crate::runtime::Runtime;
use crate::stats::WorkqueueStats;
use cmwq_rescue::{Policy, RescuerPolicy};

/// Tries on the caller's runtime before the other runtimes are tried as well.
const TRIES_BEFORE_OTHER_RUNTIMES: u32 = 8;

/// Retry a core operation that found another context owning the item's PENDING (the
/// kernel's -EAGAIN loop): yield at first, then sleep briefly between tries.
///
/// `f` runs on the caller's runtime `rt`; after a few tries, on the other runtimes of the
/// process too. An item can be queued through a workqueue of one runtime and cancelled
/// through one of another, and its data word does not say which runtime holds it: a
/// pending item is on some runtime's list or delay timer (but for the short window of its
/// queueing), so the operation succeeds there instead of spinning on `rt` forever.
fn retry<R>(rt: &Shared, mut f: impl FnMut(&Shared) -> Result<R, Again>) -> R {
    let mut tries = 0u32;
    loop {
        if let Ok(r) = f(rt) {
            return r;
        }
        if tries >= TRIES_BEFORE_OTHER_RUNTIMES {
            for x in crate::rt::other_runtimes(rt) {
                if let Ok(r) = f(&x) {
                    return r;
                }
            }
        }
        tries += 1;
        if tries < 64 {
            std::thread::yield_now();
        } else {
            std::thread::park_timeout(Duration::from_micros(50));
        }
    }
}

fn delay_ns(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl WqShared {
    /// Whether the calling thread runs one of this workqueue's items now (a flush or drain
    /// from there would wait for that item itself: the kernel's lockdep catches it).
    fn called_from_own_item(&self, rt: &Shared) -> bool {
        let me = (std::ptr::from_ref(rt).addr(), self.id);
        crate::blocking::with_hooks(|h| h.current_wq()).flatten() == Some(me)
    }

    /// Refuse (with a warning) a flush or drain from one of this workqueue's own items.
    fn refuse_own(&self, rt: &Shared, what: &'static str) -> bool {
        if self.called_from_own_item(rt) {
            tracing::warn!(target: "workqueue", workqueue = self.name.as_str(),
                "{what} from one of the workqueue's own work items: it would wait for itself; refused");
            return true;
        }
        false
    }

    /// `flush_workqueue`: wait until every item queued before the call has finished, or
    /// until `deadline` (then `false`; the flush goes on in the core).
    fn flush(&self, rt: &Shared, deadline: Option<Instant>) -> bool {
        match rt.run_op(Some(self), |d, acts| ops::flush_workqueue(d, self.id, acts)) {
            Ok(t) => self.wait_flush(t, deadline),
            Err(e) => {
                tracing::warn!(target: "workqueue", workqueue = self.name.as_str(), error = %e,
                    "flush_workqueue refused");
                true
            }
        }
    }

    /// `drain_workqueue`: wait for this drain (or the one running) to complete.
    fn drain(&self, rt: &Shared, deadline: Option<Instant>) -> bool {
        match rt.run_op(Some(self), |d, acts| ops::drain_workqueue(d, self.id, acts)) {
            Ok(n) => self.wait_drain(n, deadline),
            // Join the drain that runs: the latest one begun.
            Err(cmwq_pool::WqError::AlreadyDraining(_)) => {
                let n = self.core.lock().drains_begun();
                self.wait_drain(n, deadline)
            }
            Err(e) => {
                tracing::warn!(target: "workqueue", workqueue = self.name.as_str(), error = %e,
                    "drain_workqueue refused");
                true
            }
        }
    }

    /// `queue_work` on this workqueue of runtime `rt` (for [`Workqueue`] and
    /// [`WeakWorkqueue`](crate::WeakWorkqueue)).
    pub(crate) fn queue<T: WorkItem<ID> + HasWork<ID>, const ID: u64>(
        &self,
        rt: &Shared,
        item: Arc<T>,
        cpu: Option<u32>,
    ) -> Result<(), Refused<T>> {
        let id = self.id;
        let work = WorkRef::from_arc::<T, ID>(item);
        rt.run_op(Some(self), |d, acts| {
            ops::queue_work(d, id, cpu, work, acts)
        })
        .map_err(|(reason, w)| hand_back(w, QueueError::from_core(reason)))
    }

    /// `queue_delayed_work` on this workqueue of runtime `rt`.
    pub(crate) fn queue_delayed<T: WorkItem<ID> + HasWork<ID>, const ID: u64>(
        &self,
        rt: &Shared,
        item: Arc<T>,
        delay: Duration,
        cpu: Option<u32>,
    ) -> Result<(), Refused<T>> {
        let id = self.id;
        let work = WorkRef::from_arc::<T, ID>(item);
        rt.run_op(Some(self), |d, acts| {
            ops::queue_delayed_work(d, id, cpu, work, delay_ns(delay), acts)
        })
        .map_err(|(reason, w)| hand_back(w, QueueError::from_core(reason)))
    }

    /// `mod_delayed_work` on this workqueue of runtime `rt`.
    pub(crate) fn mod_delayed<T: WorkItem<ID> + HasWork<ID>, const ID: u64>(
        &self,
        rt: &Shared,
        item: &Arc<T>,
        delay: Duration,
    ) -> Result<bool, QueueError> {
        let id = self.id;
        let head: &WorkHead = item.work_head();
        // Own PENDING wherever the item is (this runtime or another), then re-arm it here
        // (the core's `mod_delayed_work`, split so that the grab can search the other
        // runtimes: see `retry`).
        let was = grab(rt, head);
        if head.disable_count() != 0 {
            head.clear_pending();
            return Err(QueueError::Disabled);
        }
        let work = WorkRef::from_arc::<T, ID>(Arc::clone(item));
        let r = rt.run_op(Some(self), |d, acts| {
            ops::queue_delayed_work_owned(d, id, None, work, delay_ns(delay), acts)
        });
        match r {
            Ok(()) => Ok(was),
            // Refused now (a zero delay on a draining workqueue) after the pending
            // queueing was taken: that queueing was accepted before, so it must not be
            // lost. Put it back on the delay timer, whose expiry a drain accepts.
            Err((cmwq_pool::QueueError::Draining(_), work)) if was => {
                if work.head().test_and_set_pending() == Ok(true) {
                    let _ = rt.run_op(Some(self), |d, acts| {
                        ops::queue_delayed_work_owned(d, id, None, work, 1, acts)
                    });
                }
                Ok(true)
            }
            Err((e, _)) => Err(QueueError::from_core(e)),
        }
    }

    /// Drain, then destroy in the core (retrying while an item queued meanwhile or the
    /// rescuer still attached keeps it busy), stop the rescuer, unregister.
    fn destroy(&self, rt: &Shared) {
        {
            // A queueing through a `WeakWorkqueue` in flight finishes first; later ones
            // see `destroyed` and are refused (so none can arm a timer past the expiry
            // below, or queue after the drain).
            let _no_weak_queueing = self.weak_gate.write();
            if self.destroyed.swap(true, Ordering::AcqRel) {
                return;
            }
        }
        // Delayed items still waiting run now, as part of the drain (nothing is lost).
        rt.run_op(Some(self), |d, acts| {
            ops::expire_delayed_of(d, self.id, acts)
        });
        loop {
            self.drain(rt, None);
            // The rescuer goes first (the kernel stops it before releasing the pwqs): a
            // stale mayday it still serves must find this workqueue's pwqs.
            if let Some(r) = &self.rescuer {
                r.stop_rescuer();
            }
            {
                // An expiry in flight (an item of ours taken off its timer, not yet on a
                // pwq) finishes first; the core's check below then sees its item.
                // (From the expiry itself, it is this thread's own: nothing to wait for.)
                let _no_expiry = (!crate::rt::in_expiry()).then(|| rt.expiring.write());
                self.pwqs_removed.store(true, Ordering::Release);
            }
            match rt.run_op(Some(self), |d, _| ops::destroy_workqueue(d, self.id)) {
                Ok(()) => break,
                Err(cmwq_pool::WqError::NotDrained(_)) => {
                    self.pwqs_removed.store(false, Ordering::Release);
                    std::thread::yield_now();
                }
                Err(e) => {
                    tracing::warn!(target: "workqueue", workqueue = self.name.as_str(),
                        error = %e, "destroy_workqueue");
                    break;
                }
            }
        }
        rt.unregister_wq(self.id);
    }
}

/// `flush_work`: wait for the item's last queueing to finish.
fn flush_work_head(rt: &Shared, head: &WorkHead) -> bool {
    flush_work_until(rt, head, None).unwrap_or(true)
}

/// `flush_work` until `deadline` at most: `Ok(whether there was anything to wait for)`,
/// `Err(())` if the deadline passed first.
fn flush_work_until(rt: &Shared, head: &WorkHead, deadline: Option<Instant>) -> Result<bool, ()> {
    let barrier = item::barrier();
    let insert = |rt: &Shared| {
        rt.run_op(None, |d, acts| {
            ops::flush_work(d, head, WorkRef::from_arc(Arc::clone(&barrier)), acts)
        })
        .is_ok()
    };
    // Nothing to wait for on this runtime: the item may be pending or running on another
    // (see `retry`).
    let inserted = insert(rt) || crate::rt::other_runtimes(rt).iter().any(|x| insert(x));
    if inserted && !barrier.done().wait(deadline) {
        return Err(());
    }
    Ok(inserted)
}

/// The runtime's error for a refused `disable_work`: the count's overflow (the only
/// refusal left once the core has grabbed PENDING; anything else is reported).
fn disable_error(e: cmwq_pool::DisableWorkError, head: &WorkHead) -> DisableError {
    if !matches!(
        e,
        cmwq_pool::DisableWorkError::Count(cmwq_work::DisableError::Overflow)
    ) {
        tracing::warn!(target: "workqueue", error = %e, "disable_work");
    }
    DisableError::Overflow {
        count: head.disable_count(),
    }
}

/// `try_to_grab_pending`, retried: the caller owns PENDING afterwards.
fn grab(rt: &Shared, head: &WorkHead) -> bool {
    retry(rt, |rt| {
        rt.run_op(None, |d, acts| ops::try_to_grab_pending(d, head, acts))
    })
}

/// A queueing that was refused: the item is handed back with the reason.
///
/// It does not record which of the item's heads was refused: the caller named it (or it
/// was inferred) in the call that returned this.
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

/// A refused queueing's reference back as the caller's `Arc<T>`.
fn hand_back<T: 'static>(work: WorkRef, reason: QueueError) -> Refused<T> {
    match work.try_into_arc::<T>() {
        Ok(item) => Refused { item, reason },
        // A WorkRef made from an Arc<T> always converts back to Arc<T>.
        Err(_) => unreachable!("cmwq: a work item changed type while queued"),
    }
}

/// Builds a [`Workqueue`]: name, flags, max_active, rescuer policy, runtime.
///
/// ```
/// use cmwq::{Policy, Workqueue, WQ_MEM_RECLAIM};
/// let wq = Workqueue::builder("my-reclaim-wq")
///     .flags(WQ_MEM_RECLAIM)
///     .max_active(16)
///     .rescuer(Policy::Cursor)
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
    rescue: Policy,
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
    ///
    /// Any [`RescuerPolicy`] will do: the built-in ones ([`Policy::Cursor`], the default,
    /// [`Policy::Slurp`], [`Policy::Rescan`], or the unit types `Cursor`, `Slurp`, `Rescan`
    /// of [`cmwq::rescue`](crate::rescue)) or a policy of your own.
    pub fn rescuer(mut self, policy: impl RescuerPolicy + 'static) -> Self {
        self.rescue = Policy::new(policy);
        self
    }
    /// Build on this runtime instead of the global one.
    pub fn runtime(mut self, rt: &Runtime) -> Self {
        self.runtime = Some(rt.clone());
        self
    }

    /// `alloc_workqueue`. The core checks the specification (`cmwq_pool::WqSpec`): every
    /// rule is written once, there.
    pub fn build(self) -> Result<Workqueue, BuildError> {
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
/// `max_active` at once per pool, each item on at most one worker of this workqueue at a
/// time (non-reentrancy is per workqueue, as in the kernel: the same item queued on
/// another workqueue meanwhile may run there at the same time).
///
/// Dropping a `Workqueue` destroys it (`destroy_workqueue`): items still on a delay timer
/// for it are queued at once, then it is drained, so every item queued on it has run. (Dropped by one of its own items, it is destroyed from
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
        if self.inner.called_from_own_item(&self.rt.shared) {
            // The last handle dropped by one of the workqueue's own items: draining here
            // would wait for this very item. Destroy from another thread instead; it
            // drains once this item has returned.
            let (inner, rt) = (Arc::clone(&self.inner), self.rt.clone());
            let spawned = std::thread::Builder::new()
                .name(format!("cmwq-destroy/{}", inner.name))
                .spawn(move || {
                    inner.destroy(&rt.shared);
                    drop(rt);
                });
            if spawned.is_ok() {
                return;
            }
            tracing::error!(target: "workqueue", workqueue = self.inner.name.as_str(),
                "destroy_workqueue from its own work item and no thread to defer it to");
        }
        self.inner.destroy(&self.rt.shared);
    }
}

impl Runtime {
    /// A workqueue builder on this runtime.
    pub fn workqueue(&self, name: impl Into<String>) -> WorkqueueBuilder {
        Workqueue::builder(name).runtime(self)
    }

    pub(crate) fn create_workqueue(
        &self,
        name: String,
        mut flags: WqFlags,
        max_active: u32,
        ordered: bool,
        rescue: Policy,
    ) -> Result<Workqueue, BuildError> {
        let shared = Arc::clone(&self.shared);
        if shared.shut_down.load(Ordering::Acquire) {
            return Err(BuildError::ShutDown);
        }
        if ordered {
            flags |= WqFlags::UNBOUND;
        }
        let policy = rescue;
        let mut spec = if ordered {
            WqSpec::ordered(name.clone(), flags)
        } else {
            WqSpec::new(name.clone(), flags)
        };
        spec = spec.policy(policy);
        if max_active != 0 {
            let n = u16::try_from(max_active).map_err(|_| BuildError::BadMaxActive {
                given: max_active,
                max: WQ_MAX_ACTIVE,
            })?;
            spec = spec.max_active(n);
        }
        spec.validate()
            .map_err(|e| BuildError::from_spec(e, &name, max_active))?;
        let id = shared.reserve_wq_id();
        let pwqs = shared
            .run_op(None, |d, acts| cmwq_pool::alloc_pwqs(d, id, &spec, acts))
            .map_err(|e| {
                shared.unregister_wq(id);
                BuildError::from_spec(e, &name, max_active)
            })?;
        let rescuer = flags
            .contains(WqFlags::MEM_RECLAIM)
            .then(|| shared.new_rescuer(shared.alloc_worker_id(), id, &name));
        let core_wq =
            cmwq_pool::Workqueue::new(id, &spec, pwqs.clone(), rescuer.as_ref().map(|r| r.id))
                .map_err(|e| {
                    for &pwq in &pwqs {
                        shared.run_op(None, |d, _| {
                            d.with_pool(cmwq_pool::pool_of(pwq), |p, _| p.remove_pwq(pwq))
                        });
                    }
                    shared.unregister_wq(id);
                    BuildError::from_spec(e, &name, max_active)
                })?;
        let incoming = pwqs
            .iter()
            .map(|&pwq| {
                shared
                    .pool(cmwq_pool::pool_of(pwq))
                    .and_then(|p| shared.locked(p, None, |p| p.pwq_incoming(pwq)))
                    .unwrap_or_default()
            })
            .collect();
        let inner = Arc::new(WqShared::new(
            id,
            name.clone(),
            flags,
            ordered,
            core_wq,
            pwqs,
            incoming,
            rescuer.clone(),
        ));
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

impl Workqueue {
    /// Start building a workqueue named `name`: 1 to 31 bytes, no control characters (the
    /// dump is a line protocol; `build` refuses such a name with
    /// [`BuildError::Spec`]`(WqError::NameHasControl)`).
    pub fn builder(name: impl Into<String>) -> WorkqueueBuilder {
        WorkqueueBuilder {
            name: name.into(),
            flags: WqFlags::empty(),
            max_active: 0,
            ordered: false,
            rescue: Policy::default(),
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
    ///
    /// `ID` is the head of `item` to queue (its `Work<T, ID>` field), the last generic
    /// argument of this and every other item operation. It is inferred when `T` has one
    /// head; with several it must be named, `wq.queue_work::<Device, 1>(dev)` (see
    /// [Several heads in one item](crate#several-heads-in-one-item)); left out, it does not
    /// compile:
    ///
    /// ```compile_fail,E0283
    /// use std::sync::Arc;
    /// use cmwq::{Work, WorkItem, Workqueue, WQ_UNBOUND, impl_has_work};
    /// struct Device {
    ///     refresh: Work<Self>,
    ///     reset: Work<Self, 1>,
    /// }
    /// impl_has_work!(Device { refresh => 0, reset => 1 });
    /// impl WorkItem for Device {
    ///     fn run(_this: Arc<Self>) {}
    /// }
    /// impl WorkItem<1> for Device {
    ///     fn run(_this: Arc<Self>) {}
    /// }
    /// let wq = Workqueue::new("device-wq", WQ_UNBOUND, 1).unwrap();
    /// let dev = Arc::new(Device { refresh: Work::new(), reset: Work::new() });
    /// let _ = wq.queue_work(dev); // which head?
    /// ```
    pub fn queue_work<T: WorkItem<ID> + HasWork<ID>, const ID: u64>(
        &self,
        item: Arc<T>,
    ) -> Result<(), Refused<T>> {
        self.queue_work_inner::<T, ID>(item, None)
    }

    /// `queue_work_on`: queue `item` on the pool of `cpu` (per-CPU workqueues; unbound
    /// ones ignore the CPU).
    pub fn queue_work_on<T: WorkItem<ID> + HasWork<ID>, const ID: u64>(
        &self,
        cpu: usize,
        item: Arc<T>,
    ) -> Result<(), Refused<T>> {
        let cpu = u32::try_from(cpu).unwrap_or(u32::MAX);
        self.queue_work_inner::<T, ID>(item, Some(cpu))
    }

    fn queue_work_inner<T: WorkItem<ID> + HasWork<ID>, const ID: u64>(
        &self,
        item: Arc<T>,
        cpu: Option<u32>,
    ) -> Result<(), Refused<T>> {
        self.inner.queue::<T, ID>(&self.rt.shared, item, cpu)
    }

    /// Queue a one-shot closure `f`, shown as `name` in dumps and `tracing` events.
    ///
    /// The item is a cell the runtime recycles: an `Arc` holding the work head, the name
    /// and `f` itself (inline up to 40 bytes, pointer-aligned; a larger closure is boxed).
    /// Once its run holds the last reference (the returned handle was dropped), the cell
    /// goes back to a cache and a later `queue_fn` refills it, so a stream of closures
    /// allocates nothing once the cache is warm (the cache is bounded; see
    /// [`FnOnceWork`]). A `&'static str` name is borrowed and a `String` moved in, so
    /// neither is copied. For a closure queued many times, make the item once with
    /// [`work_fn`](crate::work_fn) and use [`queue_work`](Self::queue_work).
    ///
    /// Returns the queued item: a handle to [`flush_work`](Self::flush_work) or
    /// [`cancel_work`](Self::cancel_work) it (a cancelled closure never runs; it is
    /// dropped with the item's last `Arc`), or to drop; a cell is never reused while a
    /// handle to it is held. A new item is never pending, so
    /// the only errors are the workqueue's ([`QueueError::Draining`],
    /// [`QueueError::Destroyed`]); `f` is dropped unrun then.
    ///
    /// ```
    /// let wq = cmwq::Workqueue::new("fn-wq", cmwq::WQ_UNBOUND, 1)?;
    /// let (tx, rx) = std::sync::mpsc::channel();
    /// let name = format!("report_{}", 7);
    /// let item = wq.queue_fn(name, move || tx.send(7).unwrap())?;
    /// wq.flush_work(&item);
    /// assert_eq!(rx.try_recv(), Ok(7));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn queue_fn<F: FnOnce() + Send + 'static>(
        &self,
        name: impl Into<Cow<'static, str>>,
        f: F,
    ) -> Result<Arc<FnOnceWork>, QueueError> {
        let item = FnOnceWork::new(name.into(), f);
        self.queue_work(Arc::clone(&item)).map_err(|r| r.reason)?;
        Ok(item)
    }

    /// `queue_delayed_work`: queue `item` after `delay` (at once if zero).
    pub fn queue_delayed_work<T: WorkItem<ID> + HasWork<ID>, const ID: u64>(
        &self,
        item: Arc<T>,
        delay: Duration,
    ) -> Result<(), Refused<T>> {
        self.queue_delayed_inner::<T, ID>(item, delay, None)
    }

    /// `queue_delayed_work_on`: as [`queue_delayed_work`](Self::queue_delayed_work), on
    /// `cpu`'s pool.
    pub fn queue_delayed_work_on<T: WorkItem<ID> + HasWork<ID>, const ID: u64>(
        &self,
        cpu: usize,
        item: Arc<T>,
        delay: Duration,
    ) -> Result<(), Refused<T>> {
        let cpu = u32::try_from(cpu).unwrap_or(u32::MAX);
        self.queue_delayed_inner::<T, ID>(item, delay, Some(cpu))
    }

    fn queue_delayed_inner<T: WorkItem<ID> + HasWork<ID>, const ID: u64>(
        &self,
        item: Arc<T>,
        delay: Duration,
        cpu: Option<u32>,
    ) -> Result<(), Refused<T>> {
        self.inner
            .queue_delayed::<T, ID>(&self.rt.shared, item, delay, cpu)
    }

    /// `mod_delayed_work`: (re)queue `item` to run after `delay` from now, whether it was
    /// idle, waiting on its timer or pending. Returns whether it was pending before.
    pub fn mod_delayed_work<T: WorkItem<ID> + HasWork<ID>, const ID: u64>(
        &self,
        item: &Arc<T>,
        delay: Duration,
    ) -> Result<bool, QueueError> {
        self.inner
            .mod_delayed::<T, ID>(&self.rt.shared, item, delay)
    }

    /// `flush_workqueue`: wait until every item queued before this call has finished.
    /// Items queued meanwhile are not waited for. Returns `true` once flushed.
    ///
    /// Called from one of this workqueue's own work items, it would wait for that item
    /// itself and never return: it is refused instead, with a `tracing` warning, and
    /// returns `false` at once (as [`flush_work`](Self::flush_work) of the running item
    /// does; the kernel's lockdep reports it).
    pub fn flush(&self) -> bool {
        if self.inner.refuse_own(&self.rt.shared, "flush_workqueue") {
            return false;
        }
        self.inner.flush(&self.rt.shared, None)
    }

    /// `drain_workqueue`: flush until the workqueue is empty. While draining, only its own
    /// items may queue on it (chained queueing); other queueings are refused with
    /// [`QueueError::Draining`]. Returns `true` once drained; from one of its own work
    /// items it is refused as [`flush`](Self::flush) is, returning `false`.
    pub fn drain(&self) -> bool {
        if self.inner.refuse_own(&self.rt.shared, "drain_workqueue") {
            return false;
        }
        self.inner.drain(&self.rt.shared, None)
    }

    /// [`flush`](Self::flush), giving up after `timeout`: for a caller that must not wait
    /// forever (the work of a pool that can never get a worker, with no rescuer to serve
    /// it, never runs: as in the kernel, a plain flush then waits for good). Nothing is
    /// undone: the flush goes on and the items run when they can.
    pub fn flush_timeout(&self, timeout: Duration) -> Result<(), FlushError> {
        if self.inner.refuse_own(&self.rt.shared, "flush_workqueue") {
            return Err(FlushError::WouldWaitForItself);
        }
        if self
            .inner
            .flush(&self.rt.shared, Some(deadline_after(timeout)))
        {
            Ok(())
        } else {
            Err(FlushError::TimedOut { timeout })
        }
    }

    /// [`drain`](Self::drain), giving up waiting after `timeout`. The drain itself goes on
    /// (as in the kernel, a drain cannot be called off): until the workqueue is empty it
    /// keeps refusing queueings from outside. Dropping a workqueue drains it with no
    /// limit: to give up on a stuck one, cancel its items first.
    pub fn drain_timeout(&self, timeout: Duration) -> Result<(), FlushError> {
        if self.inner.refuse_own(&self.rt.shared, "drain_workqueue") {
            return Err(FlushError::WouldWaitForItself);
        }
        if self
            .inner
            .drain(&self.rt.shared, Some(deadline_after(timeout)))
        {
            Ok(())
        } else {
            Err(FlushError::TimedOut { timeout })
        }
    }

    /// `destroy_workqueue`: drain, then stop. The same as dropping it.
    pub fn destroy(self) {}

    /// `workqueue_set_max_active`.
    pub fn set_max_active(&self, n: u32) -> Result<(), MaxActiveError> {
        let out_of_range = MaxActiveError::OutOfRange {
            given: n,
            max: WQ_MAX_ACTIVE,
        };
        let Ok(n16) = u16::try_from(n) else {
            return Err(out_of_range);
        };
        let id = self.inner.id;
        self.rt
            .shared
            .run_op(Some(&self.inner), |d, acts| {
                ops::set_max_active(d, id, n16, acts)
            })
            .map_err(|e| match e {
                cmwq_pool::WqError::OrderedSetMaxActive(_) => {
                    MaxActiveError::Ordered(self.inner.name.clone())
                }
                _ => out_of_range,
            })
    }

    /// `workqueue_congested`: whether items wait (inactive) behind max_active on `cpu`'s
    /// pwq (any CPU for an unbound workqueue).
    pub fn congested(&self, cpu: usize) -> Result<bool, QueueError> {
        let cpu = u32::try_from(cpu).unwrap_or(u32::MAX);
        let pwq = ops::select_pwq(&self.inner.table(), self.inner.id, Some(cpu), None)
            .map_err(QueueError::from_core)?;
        Ok(self
            .rt
            .shared
            .pool(cmwq_pool::pool_of(pwq))
            .is_some_and(|p| self.rt.shared.locked(p, None, |p| p.pwq_congested(pwq))))
    }

    /// The workqueue's counters (summed over its pwqs), plus caught panics.
    pub fn stats(&self) -> WorkqueueStats {
        let mut s = WorkqueueStats::default();
        for &pwq in self.inner.pwqs.iter() {
            if let Some(p) = self.rt.shared.pool(cmwq_pool::pool_of(pwq)) {
                s.add_core(&self.rt.shared.locked(p, None, |p| p.pwq_stats(pwq)));
            }
        }
        s.panics = self.inner.panics.load(Ordering::Relaxed);
        s
    }

    /// `show_one_workqueue`: this workqueue's part of the kernel-format dump (empty
    /// header-only text when it is idle).
    pub fn show(&self) -> String {
        crate::watch::show_one(&self.rt.shared.snapshot(), &self.inner.name)
    }

    // ---- item operations: they find the item through its data word, so they work
    // through any workqueue, of this runtime or of another (see `retry`). Each acts on one
    // head of the item, `ID` (inferred when the type has one head).

    /// `flush_work`: wait until the last queueing of `item` has finished running. Returns
    /// whether there was anything to wait for (never for the caller's own running item: it
    /// would wait for itself; that is reported and refused).
    ///
    /// Acts on `item` wherever it is queued, as the kernel's does: on any workqueue, not
    /// only on `self` (its work head records where it was last queued).
    pub fn flush_work<T: WorkItem<ID> + HasWork<ID>, const ID: u64>(&self, item: &Arc<T>) -> bool {
        flush_work_head(&self.rt.shared, item.work_head())
    }

    /// [`flush_work`](Self::flush_work), giving up after `timeout`: `Ok(whether there was
    /// anything to wait for)`, or why it stopped (the item still runs when it can).
    pub fn flush_work_timeout<T: WorkItem<ID> + HasWork<ID>, const ID: u64>(
        &self,
        item: &Arc<T>,
        timeout: Duration,
    ) -> Result<bool, FlushError> {
        let head: &WorkHead = item.work_head();
        let me = std::ptr::from_ref(head).addr();
        if crate::blocking::with_hooks(|h| h.current_work()).flatten() == Some(me) {
            return Err(FlushError::WouldWaitForItself);
        }
        flush_work_until(&self.rt.shared, head, Some(deadline_after(timeout)))
            .map_err(|()| FlushError::TimedOut { timeout })
    }

    /// `flush_delayed_work`: if `item` waits on its delay timer, queue it now; then wait
    /// for it as [`flush_work`](Self::flush_work). Returns whether there was anything to
    /// wait for (the item was waiting on its timer, pending or running).
    ///
    /// Acts on `item` wherever it is queued, as the kernel's does: on any workqueue, not
    /// only on `self` (its work head records where it was last queued).
    pub fn flush_delayed_work<T: WorkItem<ID> + HasWork<ID>, const ID: u64>(
        &self,
        item: &Arc<T>,
    ) -> bool {
        let barrier = item::barrier();
        let (had, r) = self.rt.shared.run_op(Some(&self.inner), |d, acts| {
            ops::flush_delayed_work(
                d,
                item.work_head(),
                WorkRef::from_arc(Arc::clone(&barrier)),
                acts,
            )
        });
        if r.is_ok() {
            barrier.done().wait(None);
        }
        had
    }

    /// `cancel_work`: take `item` off its queue (or delay timer) if it is pending. Returns
    /// whether it was pending. A running instance is not waited for.
    ///
    /// Acts on `item` wherever it is queued, as the kernel's does: on any workqueue, not
    /// only on `self` (its work head records where it was last queued).
    pub fn cancel_work<T: WorkItem<ID> + HasWork<ID>, const ID: u64>(&self, item: &Arc<T>) -> bool {
        let rt = &self.rt.shared;
        retry(rt, |rt| {
            rt.run_op(None, |d, acts| ops::cancel_work(d, item.work_head(), acts))
        })
    }

    /// `cancel_work_sync`: cancel, then wait for a running instance to finish. When it
    /// returns, `item` is neither pending nor running (unless queued again since).
    ///
    /// Acts on `item` wherever it is queued, as the kernel's does: on any workqueue, not
    /// only on `self` (its work head records where it was last queued).
    pub fn cancel_work_sync<T: WorkItem<ID> + HasWork<ID>, const ID: u64>(
        &self,
        item: &Arc<T>,
    ) -> bool {
        let rt = &self.rt.shared;
        let head: &WorkHead = item.work_head();
        let barrier = item::barrier();
        let (was, r) = retry(rt, |rt| {
            let b = WorkRef::from_arc(Arc::clone(&barrier));
            rt.run_op(None, |d, acts| {
                ops::cancel_work_sync_begin(d, head, b, acts)
            })
            .map_err(|(again, _)| again)
        });
        if r.is_ok() {
            barrier.done().wait(None);
        }
        ops::cancel_work_sync_end(head);
        was
    }

    /// `cancel_delayed_work`: as [`cancel_work`](Self::cancel_work), timer included.
    ///
    /// Acts on `item` wherever it is queued, as the kernel's does: on any workqueue, not
    /// only on `self` (its work head records where it was last queued).
    pub fn cancel_delayed_work<T: WorkItem<ID> + HasWork<ID>, const ID: u64>(
        &self,
        item: &Arc<T>,
    ) -> bool {
        self.cancel_work::<T, ID>(item)
    }

    /// `cancel_delayed_work_sync`: as [`cancel_work_sync`](Self::cancel_work_sync), timer
    /// included.
    ///
    /// Acts on `item` wherever it is queued, as the kernel's does: on any workqueue, not
    /// only on `self` (its work head records where it was last queued).
    pub fn cancel_delayed_work_sync<T: WorkItem<ID> + HasWork<ID>, const ID: u64>(
        &self,
        item: &Arc<T>,
    ) -> bool {
        self.cancel_work_sync::<T, ID>(item)
    }

    /// `disable_work`: cancel `item` and refuse to queue it until [`enable_work`]; nests.
    /// Returns whether it was pending. The count nests up to 65 535 deep (the kernel's
    /// 16-bit count); one more is refused with [`DisableError::Overflow`] and changes
    /// nothing, where the kernel would warn and lose the matching enable.
    ///
    /// Acts on `item` wherever it is queued, as the kernel's does: on any workqueue, not
    /// only on `self` (its work head records where it was last queued).
    ///
    /// [`enable_work`]: Self::enable_work
    pub fn disable_work<T: WorkItem<ID> + HasWork<ID>, const ID: u64>(
        &self,
        item: &Arc<T>,
    ) -> Result<bool, DisableError> {
        self.disable(item.work_head())
    }

    /// `disable_work_sync`: disable and wait for a running instance. Refused as
    /// [`disable_work`](Self::disable_work) is at the count's limit.
    ///
    /// Acts on `item` wherever it is queued, as the kernel's does: on any workqueue, not
    /// only on `self` (its work head records where it was last queued).
    pub fn disable_work_sync<T: WorkItem<ID> + HasWork<ID>, const ID: u64>(
        &self,
        item: &Arc<T>,
    ) -> Result<bool, DisableError> {
        let rt = &self.rt.shared;
        let head: &WorkHead = item.work_head();
        let barrier = item::barrier();
        let r = retry(rt, |rt| {
            let b = WorkRef::from_arc(Arc::clone(&barrier));
            match rt.run_op(None, |d, acts| {
                ops::disable_work_sync_begin(d, head, b, acts)
            }) {
                Err((cmwq_pool::DisableWorkError::Busy, _)) => Err(Again),
                r => Ok(r),
            }
        });
        match r {
            Ok((was, wait)) => {
                if wait.is_ok() {
                    barrier.done().wait(None);
                }
                Ok(was)
            }
            Err((e, _)) => Err(disable_error(e, head)),
        }
    }

    fn disable(&self, head: &WorkHead) -> Result<bool, DisableError> {
        let rt = &self.rt.shared;
        let r = retry(rt, |rt| {
            match rt.run_op(None, |d, acts| ops::disable_work(d, head, acts)) {
                Err(cmwq_pool::DisableWorkError::Busy) => Err(Again),
                r => Ok(r),
            }
        });
        r.map_err(|e| disable_error(e, head))
    }

    /// `enable_work`: undo one `disable_work`. Returns whether the item can be queued again
    /// (the disable count reached zero).
    ///
    /// The disable count lives in the item's work head, so this acts on `item` whichever
    /// workqueue it was disabled through or is queued on, as the kernel's does.
    pub fn enable_work<T: WorkItem<ID> + HasWork<ID>, const ID: u64>(&self, item: &Arc<T>) -> bool {
        let head: &WorkHead = item.work_head();
        match ops::enable_work(head) {
            Ok(n) => n == 0,
            Err(e) => {
                tracing::warn!(target: "workqueue", error = %e, "enable_work");
                head.disable_count() == 0
            }
        }
    }

    /// `work_busy`: whether `item` is pending and/or running.
    ///
    /// Acts on `item` wherever it is queued, as the kernel's does: on any workqueue, not
    /// only on `self` (its work head records where it was last queued).
    pub fn work_busy<T: WorkItem<ID> + HasWork<ID>, const ID: u64>(
        &self,
        item: &Arc<T>,
    ) -> crate::WorkBusy {
        let b = self
            .rt
            .shared
            .run_op(None, |d, _| ops::work_busy(d, item.work_head()));
        crate::WorkBusy {
            pending: b.contains(cmwq_work::WorkBusy::PENDING),
            running: b.contains(cmwq_work::WorkBusy::RUNNING),
        }
    }
}
