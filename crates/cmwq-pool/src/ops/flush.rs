//! `flush_work`, `flush_workqueue` and `drain_workqueue` on the kernel's flush colours, and
//! the workqueue-wide changes that visit every pwq (`set_max_active`, destroy).

use cmwq_work::{WorkHead, WorkRef};

use crate::action::{Action, Actions, FlushTicket};
use crate::driver::Driver;
use crate::error::WqError;
use crate::types::{PwqId, WqId, pool_of};

use super::{in_pool, item_pool, settle};

fn pwqs_of<D: Driver>(d: &mut D, wq: WqId) -> Result<Vec<PwqId>, WqError> {
    d.wq_pwqs(wq, |t| t.pwqs.to_vec())
        .ok_or(WqError::NoSuchWorkqueue(wq))
}

/// `flush_work`: queue `barrier` (an item whose `barrier_task()` is Some) LINKED behind
/// `target` or at the head of the scheduled list of the worker running it; the caller waits
/// until the barrier runs. `Err(barrier)`: nothing to wait for: the target is idle, or it
/// is the caller's own running item (it would wait for itself; reported).
pub fn flush_work<D: Driver>(
    d: &mut D,
    target: &WorkHead,
    barrier: WorkRef,
    out: &mut Actions,
) -> Result<(), WorkRef> {
    let me = std::ptr::from_ref(target).addr();
    if d.context().work == Some(me) {
        tracing::warn!(target: "workqueue", work = me,
            "flush_work of the running item from inside it: it would wait for itself");
        return Err(barrier);
    }
    let Some(pool) = item_pool(target) else {
        return Err(barrier);
    };
    let now = d.now();
    let mut slot = Some(barrier);
    let r = in_pool(d, pool, out, |p, _, out| {
        slot.take().map(|b| p.insert_barrier(target, b, now, out))
    });
    match (r, slot) {
        (Some(Some(r)), _) => r,
        (_, Some(b)) => Err(b),
        (_, None) => unreachable!("cmwq: a barrier is inserted or handed back"),
    }
}

/// `flush_delayed_work`: if `work` waits on its delay timer, queue it at once on its
/// workqueue (`queue`: the reference from [`super::release_delayed`] is re-queued), then
/// flush it. Returns whether there was anything to wait for, with the barrier back when
/// there was not.
pub fn flush_delayed_work<D: Driver>(
    d: &mut D,
    target: &WorkHead,
    barrier: WorkRef,
    out: &mut Actions,
) -> (bool, Result<(), WorkRef>) {
    let stolen = d.with_timers(|t| t.take_expiring(target));
    let had = stolen.is_some();
    if let Some(e) = stolen {
        if let Err((err, w)) = super::queue::queue_from(
            d,
            e.wq,
            e.cpu,
            e.work,
            super::queue::expired_from(e.wq, e.from),
            out,
        ) {
            tracing::warn!(target: "workqueue", work = w.addr(), error = %err,
                "flush_delayed_work: its workqueue refuses it");
        }
    }
    let r = flush_work(d, target, barrier, out);
    (had || r.is_ok(), r)
}

enum Begin {
    Reserved(FlushTicket),
    Started(crate::workqueue::FlushBegin),
}

/// `flush_workqueue`: wait for every item queued before this call. Completion comes as
/// [`Action::WqFlushDone`] with the returned ticket (possibly already in `out`). While a
/// flush is in progress the caller gets the ticket of the next flush, which starts as soon
/// as the current one completes (flushers that arrive meanwhile share it): one flush
/// mechanism, the kernel's flush colours, for flushers and drains alike.
pub fn flush_workqueue<D: Driver>(
    d: &mut D,
    wq: WqId,
    out: &mut Actions,
) -> Result<FlushTicket, WqError> {
    let begin = d
        .with_wq(wq, |w| {
            if w.is_destroyed() {
                return Err(WqError::Destroyed(wq));
            }
            if w.flush_in_progress().is_some() {
                return Ok(Begin::Reserved(w.flush_reserve()));
            }
            w.flush_begin().map(Begin::Started)
        })
        .ok_or(WqError::NoSuchWorkqueue(wq))??;
    match begin {
        Begin::Reserved(t) => Ok(t),
        Begin::Started(b) => {
            let start = out.len();
            prep_flush(d, wq, b, out)?;
            settle(d, start, out);
            Ok(b.ticket)
        }
    }
}

/// `flush_workqueue_prep_pwqs` and the first completion check. Each pwq is prepared under
/// its own pool lock, its count added under the workqueue lock afterwards: the count is
/// signed and completion needs `flush_prepared`, so a pwq whose `FlushColorDone` is settled
/// before it is counted cannot complete the flush early.
fn prep_flush<D: Driver>(
    d: &mut D,
    wq: WqId,
    b: crate::workqueue::FlushBegin,
    out: &mut Actions,
) -> Result<(), WqError> {
    for p in pwqs_of(d, wq)? {
        let wait = d
            .with_pool(pool_of(p), |pool, _| {
                pool.pwq_flush_prep(p, b.flush_color, b.work_color)
            })
            .unwrap_or(false);
        if wait {
            d.with_wq(wq, |w| w.flush_pwq_added());
        }
    }
    if let Some(Some(t)) = d.with_wq(wq, |w| w.flush_prepared()) {
        out.push(Action::WqFlushDone { wq, ticket: t });
    }
    Ok(())
}

/// A flush finished: start the one reserved meanwhile, if any (called while settling).
pub(crate) fn start_reserved_flush<D: Driver>(d: &mut D, wq: WqId, out: &mut Actions) {
    let begin = d.with_wq(wq, |w| {
        if w.is_destroyed() || w.flush_reserved().is_none() || w.flush_in_progress().is_some() {
            return None;
        }
        w.flush_begin().ok()
    });
    if let Some(Some(b)) = begin {
        let _ = prep_flush(d, wq, b, out);
    }
}

/// `drain_workqueue`: refuse queueing from outside (chained queueing from its own items is
/// allowed meanwhile) and flush until every pwq is empty. Completion comes as
/// [`Action::WqDrained`] (possibly already in `out`). Returns the drain's number
/// ([`crate::Workqueue::drains_begun`]): it is over once that many `WqDrained` have been
/// performed. A second drain while one runs gets `AlreadyDraining` (wait for the current
/// one, number `drains_begun`).
pub fn drain_workqueue<D: Driver>(d: &mut D, wq: WqId, out: &mut Actions) -> Result<u64, WqError> {
    let seq = d
        .with_wq(wq, |w| {
            if w.is_destroyed() {
                return Err(WqError::Destroyed(wq));
            }
            w.begin_drain().map(|()| w.drains_begun())
        })
        .ok_or(WqError::NoSuchWorkqueue(wq))??;
    // The pwqs refuse outside queueing before the drain can be seen as requested, so
    // that a concurrent drain step cannot end it before they do.
    for p in pwqs_of(d, wq)? {
        d.with_pool(pool_of(p), |pool, _| pool.pwq_set_draining(p, true));
    }
    d.with_wq(wq, |w| w.drain_requested = true);
    let start = out.len();
    drain_step(d, wq, out);
    settle(d, start, out);
    Ok(seq)
}

fn wq_is_empty<D: Driver>(d: &mut D, pwqs: &[PwqId]) -> bool {
    pwqs.iter().all(|&p| {
        d.with_pool(pool_of(p), |pool, _| {
            pool.pwq_is_empty(p) && pool.pwq_nr_in_flight(p) == 0
        })
        .unwrap_or(true)
    })
}

/// The drain loop's step (called when a drain starts and whenever a flush of the
/// workqueue completes): done if every pwq is empty, else flush again.
pub(crate) fn drain_step<D: Driver>(d: &mut D, wq: WqId, out: &mut Actions) {
    if d.with_wq(wq, |w| w.drain_requested) != Some(true) {
        return;
    }
    let Ok(pwqs) = pwqs_of(d, wq) else { return };
    if wq_is_empty(d, &pwqs) {
        // Exactly one step ends the drain (they may run concurrently).
        if d.with_wq(wq, |w| {
            let mine = w.drain_requested;
            if mine {
                w.end_drain();
            }
            mine
        }) == Some(true)
        {
            for &p in &pwqs {
                d.with_pool(pool_of(p), |pool, _| pool.pwq_set_draining(p, false));
            }
            out.push(Action::WqDrained { wq });
        }
        return;
    }
    let begin = d.with_wq(wq, |w| {
        if w.flush_in_progress().is_some() {
            None // its completion calls this step again
        } else {
            w.flush_begin().ok()
        }
    });
    if let Some(Some(b)) = begin {
        let _ = prep_flush(d, wq, b, out);
    }
}

/// `destroy_workqueue`: the workqueue must be empty (drain it first) and its rescuer
/// gone from every pool; its pwqs and cursors are freed and later calls get `Destroyed`.
pub fn destroy_workqueue<D: Driver>(d: &mut D, wq: WqId) -> Result<(), WqError> {
    // The workqueue's own list of its pwqs: the queue path's table may already read as
    // empty (a driver hides it while the pwqs are removed).
    let (visiting, pwqs) = d
        .with_wq(wq, |w| {
            if w.is_destroyed() {
                Err(WqError::Destroyed(wq))
            } else {
                Ok((w.rescuer_visiting().is_some(), w.pwqs().to_vec()))
            }
        })
        .ok_or(WqError::NoSuchWorkqueue(wq))??;
    if visiting || !wq_is_empty(d, &pwqs) {
        return Err(WqError::NotDrained(wq));
    }
    for &p in &pwqs {
        if let Some(r) = d.with_pool(pool_of(p), |pool, _| pool.remove_pwq(p)) {
            r?;
        }
    }
    d.with_wq(wq, |w| w.mark_destroyed());
    Ok(())
}

/// `workqueue_set_max_active`: validated and recorded under the workqueue lock, then
/// applied to every pwq under its pool lock (activating what the new limit allows).
pub fn set_max_active<D: Driver>(
    d: &mut D,
    wq: WqId,
    n: u16,
    out: &mut Actions,
) -> Result<(), WqError> {
    let n = d
        .with_wq(wq, |w| w.set_max_active(n))
        .ok_or(WqError::NoSuchWorkqueue(wq))??;
    let now = d.now();
    for p in pwqs_of(d, wq)? {
        in_pool(d, pool_of(p), out, |pool, _, out| {
            pool.pwq_set_max_active(p, n, now, out);
        });
    }
    Ok(())
}
