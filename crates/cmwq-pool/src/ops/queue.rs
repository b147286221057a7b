//! `__queue_work` and delayed work.

use cmwq_work::raw::WorkHeadRaw;
use cmwq_work::{WorkFlags, WorkHead, WorkRef};

use crate::action::{Action, Actions};
use crate::driver::Driver;
use crate::error::QueueError;
use crate::incoming::Incoming;
use crate::types::{PwqId, QueueFrom, WqId, pool_of};

/// A workqueue's pwq table as the queue path reads it ([`Driver::wq_pwqs`]).
#[derive(Clone, Copy, Debug)]
pub struct PwqTable<'a> {
    /// Per CPU (index = CPU), or the one unbound pwq. Empty once destroyed.
    pub pwqs: &'a [PwqId],
    /// Whether the workqueue is unbound (one pwq, whatever the CPU).
    pub unbound: bool,
    /// The workqueue's name (for the `workqueue_queue_work` event).
    pub name: &'a str,
    /// The incoming ring of each pwq, in the order of `pwqs` ([`crate::Pool::pwq_incoming`]),
    /// or empty: then every queueing takes the pool lock. A driver that gives rings
    /// takes them in and re-decides them in every pool lock hold
    /// ([`crate::Pool::absorb_incoming`], [`crate::Pool::publish_incoming`]).
    pub incoming: &'a [std::sync::Arc<Incoming>],
}

/// The pwq a queueing uses (`__queue_work`'s choice before the last-pool check): an
/// unbound workqueue's only pwq; else the pwq of `cpu`, or with no CPU given the caller's
/// CPU (`ctx_cpu`, the kernel's local CPU), falling back to CPU 0 when the driver does not
/// know the caller's CPU or it is not one of the workqueue's.
pub fn select_pwq(
    t: &PwqTable<'_>,
    wq: WqId,
    cpu: Option<u32>,
    ctx_cpu: Option<u32>,
) -> Result<PwqId, QueueError> {
    select_index(t, wq, cpu, ctx_cpu).map(|i| t.pwqs[i])
}

/// [`select_pwq`]'s choice as an index into the table.
fn select_index(
    t: &PwqTable<'_>,
    wq: WqId,
    cpu: Option<u32>,
    ctx_cpu: Option<u32>,
) -> Result<usize, QueueError> {
    if t.pwqs.is_empty() {
        return Err(QueueError::Destroyed(wq));
    }
    if t.unbound {
        return Ok(0);
    }
    let nr = t.pwqs.len() as u32;
    let cpu = match cpu {
        Some(c) if c >= nr => {
            return Err(QueueError::NoSuchCpu {
                cpu: c,
                nr_cpus: nr,
            });
        }
        Some(c) => c,
        None => ctx_cpu.filter(|&c| c < nr).unwrap_or(0),
    };
    Ok(cpu as usize)
}

/// `queue_work_on`: take PENDING (already pending: a no-op, the reference comes back with
/// `AlreadyPending`; disabled: `Disabled`), then [`queue_work_owned`].
pub fn queue_work<D: Driver>(
    d: &mut D,
    wq: WqId,
    cpu: Option<u32>,
    work: WorkRef,
    out: &mut Actions,
) -> Result<(), (QueueError, WorkRef)> {
    match work.head().test_and_set_pending() {
        Err(_) => return Err((QueueError::Disabled, work)),
        Ok(false) => return Err((QueueError::AlreadyPending, work)),
        Ok(true) => {}
    }
    queue_work_owned(d, wq, cpu, work, out)
}

/// `__queue_work` with PENDING owned by the caller: choose the pwq ([`select_pwq`]), keep
/// the item non-reentrant (still running on its last pool for this workqueue: queue it on
/// that pwq, behind the run, under that pool's lock), then queue under the pool lock. One
/// pool lock hold unless the item last ran on another pool, and none when the pwq's
/// incoming ring is open and the item last ran on this pool or never ran (it waits there
/// for the pool's next lock hold to account it; see [`crate::Incoming`]). A draining workqueue takes only
/// its own items' queueings (the caller's [`crate::Context::wq`]). On refusal PENDING is
/// cleared again and the reference handed back.
pub fn queue_work_owned<D: Driver>(
    d: &mut D,
    wq: WqId,
    cpu: Option<u32>,
    work: WorkRef,
    out: &mut Actions,
) -> Result<(), (QueueError, WorkRef)> {
    // One look at the caller's context on the hot path.
    let ctx = d.context();
    queue_inner(d, wq, cpu, ctx.cpu, work, origin(ctx.wq, wq), out)
}

/// Where a queueing on `wq` comes from, given the workqueue whose item the caller runs.
fn origin(caller_wq: Option<WqId>, wq: WqId) -> QueueFrom {
    match caller_wq {
        Some(w) if w == wq => QueueFrom::WorkOf(w),
        _ => QueueFrom::Outside,
    }
}

/// How an item taken off its delay timer (expired, flushed early, or its workqueue being
/// destroyed) is queued, whoever armed it (`_armed`): as its workqueue's own work, so that
/// a drain begun since does not refuse it. The queueing was accepted when the item was
/// delayed; refusing it now would lose it (the kernel's `__queue_work` WARNs there; cmwq
/// queues it, as it does chained work, and the drain waits for it).
pub(crate) fn expired_from(wq: WqId, _armed: QueueFrom) -> QueueFrom {
    QueueFrom::WorkOf(wq)
}

/// `__queue_work` for a queueing whose origin (`from`) is already known: a delayed item's
/// expiry, a flush of a delayed item.
pub(crate) fn queue_from<D: Driver>(
    d: &mut D,
    wq: WqId,
    cpu: Option<u32>,
    work: WorkRef,
    from: QueueFrom,
    out: &mut Actions,
) -> Result<(), (QueueError, WorkRef)> {
    let ctx_cpu = if cpu.is_none() { d.context().cpu } else { None };
    queue_inner(d, wq, cpu, ctx_cpu, work, from, out)
}

fn queue_inner<D: Driver>(
    d: &mut D,
    wq: WqId,
    cpu: Option<u32>,
    ctx_cpu: Option<u32>,
    work: WorkRef,
    from: QueueFrom,
    out: &mut Actions,
) -> Result<(), (QueueError, WorkRef)> {
    let mut slot = Some(work);
    let chosen = d.wq_pwqs(wq, |t| {
        let i = select_index(&t, wq, cpu, ctx_cpu)?;
        let pwq = t.pwqs[i];
        let Some(w) = slot.take() else {
            unreachable!("cmwq: the item is in hand until it is queued")
        };
        tracing::trace!(target: "workqueue", work = w.addr(), function = w.name(),
            workqueue = t.name, req_cpu = cpu.unwrap_or(u32::MAX), pwq = pwq.get(),
            "workqueue_queue_work");
        // The lock-free path: the item last ran on this pool or never ran (so no other
        // pool can be running it: the last-pool check has nothing to find), and the pool
        // keeps the pwq's ring open. The pwq goes in the data word first, so a cancel or
        // flush that comes before the pool takes the ring in looks in the right pool.
        if let Some(ring) = t.incoming.get(i).filter(|r| r.is_open()) {
            // One read of the data word for both: the last pool, and what to restore.
            let offq = w.head().offq_data();
            if offq.is_none_or(|o| o.pool.is_none_or(|l| l == pool_of(pwq))) {
                w.head().set_pwq(pwq, 0, WorkFlags::PENDING);
                match ring.push(w) {
                    Ok(()) => return Ok(None),
                    Err(w) => {
                        // The ring closed meanwhile: the item takes the locked path, which
                        // may refuse it, so the word goes back to what it was (off queue,
                        // PENDING ours, the last pool): refused, it must not name a pwq.
                        if let Some(o) = offq {
                            w.head().set_offqd_keep_pending(o);
                        }
                        slot = Some(w);
                    }
                }
                return Ok(Some(pwq));
            }
        }
        slot = Some(w);
        Ok(Some(pwq))
    });
    let Some(work) = slot.take() else {
        // Queued on the ring.
        return Ok(());
    };
    let pwq = match chosen {
        None => {
            work.head().clear_pending();
            return Err((QueueError::NoSuchWorkqueue(wq), work));
        }
        Some(Err(e)) => {
            work.head().clear_pending();
            return Err((e, work));
        }
        Some(Ok(None)) => unreachable!("cmwq: an item on the ring is not in hand"),
        Some(Ok(Some(p))) => p,
    };
    let now = d.now();
    let mut slot = Some(work);
    if let Some(last) = slot
        .as_ref()
        .and_then(|w| w.head().last_pool())
        .filter(|&l| l != pool_of(pwq))
    {
        // Kernel: lock the last pool; if a worker there still runs the item for this
        // workqueue, queue it there (non-reentrancy), under that same lock.
        let r = d.with_pool(last, |p, _| {
            let w = slot.take()?;
            match p.find_executing_pwq(w.head(), wq) {
                Some(x) => Some(p.queue_work(x, w, from, now, out)),
                None => {
                    slot = Some(w);
                    None
                }
            }
        });
        if let Some(Some(done)) = r {
            return map_removed(done, wq);
        }
    }
    let r = d.with_pool(pool_of(pwq), |p, _| {
        let w = slot.take()?;
        if p.pwq_wq(pwq) != Some(wq) {
            // The pwq was removed (its slot may already serve another workqueue): the
            // workqueue is destroyed.
            slot = Some(w);
            return None;
        }
        Some(p.queue_work(pwq, w, from, now, out))
    });
    match (r, slot) {
        (Some(Some(r)), _) => map_removed(r, wq),
        // A pwq on a pool the driver does not have (it was built wrong): refuse.
        (_, Some(w)) => {
            w.head().clear_pending();
            Err((QueueError::Destroyed(wq), w))
        }
        (_, None) => unreachable!("cmwq: an item taken for queueing is queued or handed back"),
    }
}

/// A pwq removed under the queueing (the workqueue was destroyed meanwhile).
fn map_removed(
    r: Result<(), (QueueError, WorkRef)>,
    wq: WqId,
) -> Result<(), (QueueError, WorkRef)> {
    r.map_err(|(e, w)| match e {
        QueueError::NoSuchPwq(_) => (QueueError::Destroyed(wq), w),
        e => (e, w),
    })
}

/// The deadline of a delay that starts now: saturating, so a delay too long for the clock
/// waits forever instead of wrapping into the past.
pub fn delayed_deadline(now: u64, delay_ns: u64) -> u64 {
    now.saturating_add(delay_ns)
}

/// `__queue_delayed_work` with PENDING owned: a zero delay queues at once; otherwise the
/// item waits on its timer ([`crate::DelayedTimers`]) and, if its deadline is the earliest,
/// [`Action::ArmDelayedTimer`] asks the driver to call [`delayed_timeout`] then. The CPU is
/// resolved now (the caller's, when none is given), as the kernel records `dwork->cpu`.
/// On refusal PENDING is cleared again and the reference handed back.
pub fn queue_delayed_work_owned<D: Driver>(
    d: &mut D,
    wq: WqId,
    cpu: Option<u32>,
    work: WorkRef,
    delay_ns: u64,
    out: &mut Actions,
) -> Result<(), (QueueError, WorkRef)> {
    let ctx = d.context();
    let from = origin(ctx.wq, wq);
    // Refuse a workqueue or CPU that does not exist now, not when the timer fires.
    let check = d.wq_pwqs(wq, |t| select_pwq(&t, wq, cpu, ctx.cpu).map(|_| t.unbound));
    let cpu = match check {
        None => Err(QueueError::NoSuchWorkqueue(wq)),
        Some(Err(e)) => Err(e),
        Some(Ok(unbound)) => Ok(if unbound { None } else { cpu.or(ctx.cpu) }),
    };
    let cpu = match cpu {
        Ok(c) => c,
        Err(e) => {
            work.head().clear_pending();
            return Err((e, work));
        }
    };
    if delay_ns == 0 {
        return queue_from(d, wq, cpu, work, from, out);
    }
    let at = delayed_deadline(d.now(), delay_ns);
    if let Some(at) = d.with_timers(|t| t.arm(work, wq, cpu, from, at)) {
        out.push(Action::ArmDelayedTimer { at });
    }
    Ok(())
}

/// `queue_delayed_work_on`: take PENDING, then queue after `delay_ns` (at once for 0).
pub fn queue_delayed_work<D: Driver>(
    d: &mut D,
    wq: WqId,
    cpu: Option<u32>,
    work: WorkRef,
    delay_ns: u64,
    out: &mut Actions,
) -> Result<(), (QueueError, WorkRef)> {
    match work.head().test_and_set_pending() {
        Err(_) => return Err((QueueError::Disabled, work)),
        Ok(false) => return Err((QueueError::AlreadyPending, work)),
        Ok(true) => {}
    }
    queue_delayed_work_owned(d, wq, cpu, work, delay_ns, out)
}

/// `mod_delayed_work_on`: grab the item wherever it is pending (timer, worklist, inactive
/// list) and queue it again after `delay_ns` from now. `Ok(true)` if it was pending before.
/// `Err(Again)`-style contention comes back as `Ok(Err(work))`: another context owns its
/// PENDING; the driver retries (the kernel's -EAGAIN loop).
pub fn mod_delayed_work<D: Driver>(
    d: &mut D,
    wq: WqId,
    cpu: Option<u32>,
    work: WorkRef,
    delay_ns: u64,
    out: &mut Actions,
) -> Result<Result<bool, WorkRef>, (QueueError, WorkRef)> {
    let was = match super::try_to_grab_pending(d, work.head(), out) {
        Ok(was) => was,
        Err(super::Again) => return Ok(Err(work)),
    };
    if work.head().disable_count() != 0 {
        work.head().clear_pending();
        return Err((QueueError::Disabled, work));
    }
    queue_delayed_work_owned(d, wq, cpu, work, delay_ns, out).map(|()| Ok(was))
}

/// The delayed-work timer expired (`delayed_work_timer_fn`): queue every item whose
/// deadline has passed, and ask to be called again for the next deadline. A stale call
/// (nothing due) only re-arms.
pub fn delayed_timeout<D: Driver>(d: &mut D, out: &mut Actions) {
    let now = d.now();
    while let Some(e) = d.with_timers(|t| t.pop_expired(now)) {
        if let Err((err, w)) = queue_from(d, e.wq, e.cpu, e.work, expired_from(e.wq, e.from), out) {
            tracing::warn!(target: "workqueue", work = w.addr(), function = w.name(),
                error = %err, "delayed work expired on a workqueue that refuses it");
        }
    }
    if let Some(at) = d.with_timers(|t| t.rearm_after_expiry()) {
        out.push(Action::ArmDelayedTimer { at });
    }
}

/// Queue at once every item of `wq` still waiting on its delay timer (before the
/// workqueue is destroyed: its drain then runs them, so nothing is lost).
pub fn expire_delayed_of<D: Driver>(d: &mut D, wq: WqId, out: &mut Actions) {
    for e in d.with_timers(|t| t.take_wq(wq)) {
        if let Err((err, w)) = queue_from(d, e.wq, e.cpu, e.work, expired_from(e.wq, e.from), out) {
            tracing::warn!(target: "workqueue", work = w.addr(), function = w.name(),
                error = %err, "delayed work of a destroyed workqueue refused");
        }
    }
}

/// Take `work` off its delay timer if it waits on one: the caller owns PENDING and the
/// returned queue reference (`flush_delayed_work` then queues it at once).
pub fn release_delayed<D: Driver>(d: &mut D, work: &WorkHead) -> Option<WorkRef> {
    d.with_timers(|t| t.steal(work))
}
