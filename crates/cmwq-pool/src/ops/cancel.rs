//! `try_to_grab_pending` and what is built on it: cancel, disable, enable, work_busy.

use cmwq_work::raw::WorkHeadRaw;
use cmwq_work::{DisableError, WorkBusy, WorkHead, WorkRef};

use crate::action::Actions;
use crate::driver::Driver;
use crate::error::DisableWorkError;
use crate::pool::Grab;
use crate::types::pool_of;

use super::{in_pool, item_pool};

/// Another context owns the item's PENDING (it is between setting PENDING and putting the
/// item on a list or timer, or cancelling it): try again, as the kernel does on -EAGAIN.
/// The retry (and how to wait between tries) is the driver's: the core never spins.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("work item's PENDING is owned by another context: retry")]
pub struct Again;

/// `try_to_grab_pending`: own the item's PENDING with the item on no list and no timer.
/// `Ok(true)`: it was pending (queued, inactive, scheduled or waiting on its delay timer)
/// and is now taken off; `Ok(false)`: it was idle (perhaps running). The caller owns
/// PENDING either way and must clear it (cancel) or keep it while it waits (cancel_sync).
/// The queue reference of a taken item is dropped here, outside every lock.
pub fn try_to_grab_pending<D: Driver>(
    d: &mut D,
    work: &WorkHead,
    out: &mut Actions,
) -> Result<bool, Again> {
    if work.grab_pending() {
        return Ok(false);
    }
    if let Some(w) = d.with_timers(|t| t.steal(work)) {
        drop(w);
        return Ok(true);
    }
    if let Some(pwq) = work.pwq() {
        let now = d.now();
        let g = in_pool(d, pool_of(pwq), out, |p, _, out| {
            p.try_grab_pending(work, now, out)
        });
        if let Some(Grab::Grabbed(w)) = g {
            drop(w);
            return Ok(true);
        }
    }
    Err(Again)
}

/// `cancel_work`: if the item is pending, take it off its queue or timer. Returns whether
/// it was pending; PENDING is clear afterwards (a running instance is not waited for: a
/// `cancel_work_sync` driver then flushes it holding PENDING, see [`try_to_grab_pending`]).
pub fn cancel_work<D: Driver>(
    d: &mut D,
    work: &WorkHead,
    out: &mut Actions,
) -> Result<bool, Again> {
    let was = try_to_grab_pending(d, work, out)?;
    work.clear_pending();
    Ok(was)
}

/// `cancel_work_sync`'s first half (`__cancel_work_sync`): grab PENDING (the item comes
/// off its queue or timer), then, holding it, put `barrier` behind a running instance
/// (so queueings meanwhile are no-ops). Returns whether it was pending and the barrier's
/// fate: `Ok(())`: wait until it runs; `Err(barrier)`: nothing runs (or it is the caller's
/// own item). Then call [`cancel_work_sync_end`], which gives PENDING up.
pub fn cancel_work_sync_begin<D: Driver>(
    d: &mut D,
    work: &WorkHead,
    barrier: WorkRef,
    out: &mut Actions,
) -> Result<(bool, Result<(), WorkRef>), (Again, WorkRef)> {
    match try_to_grab_pending(d, work, out) {
        Ok(was) => Ok((was, super::flush_work(d, work, barrier, out))),
        Err(Again) => Err((Again, barrier)),
    }
}

/// `cancel_work_sync`'s second half, once the barrier ran (or there was none): PENDING,
/// owned since [`cancel_work_sync_begin`], is given up. The item is neither pending nor
/// running now, unless queued again since.
pub fn cancel_work_sync_end(work: &WorkHead) {
    work.clear_pending();
}

/// `disable_work_sync`'s first half: [`disable_work`], then a barrier behind a running
/// instance (`Ok(())`: wait until it runs). The item stays disabled; nothing to finish.
pub fn disable_work_sync_begin<D: Driver>(
    d: &mut D,
    work: &WorkHead,
    barrier: WorkRef,
    out: &mut Actions,
) -> Result<(bool, Result<(), WorkRef>), (DisableWorkError, WorkRef)> {
    match disable_work(d, work, out) {
        Ok(was) => Ok((was, super::flush_work(d, work, barrier, out))),
        Err(e) => Err((e, barrier)),
    }
}

/// `disable_work`: cancel it and increment its disable count (queueing then fails with
/// `Disabled` until `enable_work`). Returns whether it was pending. Nothing changes on error;
/// `Busy` is [`Again`].
pub fn disable_work<D: Driver>(
    d: &mut D,
    work: &WorkHead,
    out: &mut Actions,
) -> Result<bool, DisableWorkError> {
    if work.disable_count() == u16::MAX {
        return Err(DisableError::Overflow.into());
    }
    let was = try_to_grab_pending(d, work, out).map_err(|Again| DisableWorkError::Busy)?;
    // Cannot overflow: checked above, and the word is ours (PENDING) meanwhile.
    let _ = work.disable();
    work.clear_pending();
    Ok(was)
}

/// `enable_work`: decrement the disable count; returns the new count.
pub fn enable_work(work: &WorkHead) -> Result<u16, DisableError> {
    work.enable()
}

/// `work_busy`: PENDING if queued (or waiting on its timer), RUNNING if a worker of its
/// pool runs it.
pub fn work_busy<D: Driver>(d: &mut D, work: &WorkHead) -> WorkBusy {
    let mut b = WorkBusy::empty();
    if work.is_pending() {
        b |= WorkBusy::PENDING;
    }
    if let Some(p) = item_pool(work) {
        if d.with_pool(p, |pool, _| pool.is_executing(work).is_some()) == Some(true) {
            b |= WorkBusy::RUNNING;
        }
    }
    b
}
