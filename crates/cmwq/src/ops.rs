//! Item operations that find an item through its data word: grab PENDING (cancel),
//! flush, busy. They work for any workqueue of the runtime.

use std::sync::Arc;
use std::time::{Duration, Instant};

use cmwq_pool::Grab;
use cmwq_work::{PoolId, WorkHead, WorkRef};

use crate::error::DisableError;
use crate::flags::WorkBusy;
use crate::item::Barrier;
use crate::rt::{DelayedEntry, Shared, other_runtimes};

fn addr(head: &WorkHead) -> usize {
    std::ptr::from_ref(head).addr()
}

/// The pool an item is queued on, or last ran on.
fn pool_of_item(head: &WorkHead) -> Option<PoolId> {
    head.pwq()
        .map(cmwq_pool::pool_of)
        .or_else(|| head.last_pool())
}

/// Take a delayed item off its timer (the timer entry goes stale): its entry if it was
/// armed; the caller then owns PENDING.
pub(crate) fn steal_from_timer(rt: &Shared, head: &WorkHead) -> Option<DelayedEntry> {
    rt.delayed.lock().remove(&addr(head))
}

/// One `try_to_grab_pending` attempt on runtime `rt`: take the pending item off its
/// timer or its pool's lists there. True if it was there (the caller owns PENDING now).
fn try_grab_on(rt: &Shared, head: &WorkHead) -> bool {
    if let Some(entry) = steal_from_timer(rt, head) {
        drop(entry);
        return true;
    }
    if let Some(pwq) = head.pwq() {
        let p = cmwq_pool::pool_of(pwq);
        if rt.pool_exists(p) {
            let g = rt.with_pool(p, |pool, now, acts| pool.try_grab_pending(head, now, acts));
            if let Grab::Grabbed(w) = g {
                drop(w);
                return true;
            }
        }
    }
    false
}

/// Tries on the caller's runtime before the other runtimes are searched too.
const TRIES_BEFORE_OTHER_RUNTIMES: u32 = 8;

/// The kernel's `try_to_grab_pending`, retried until it succeeds: afterwards the caller
/// owns PENDING and the item is on no list and no timer. Returns whether it was pending
/// (queued or waiting on its timer).
///
/// The item may be pending on another runtime than `rt` (an item can be queued through
/// any workqueue of any runtime, and cancelled through any other): its data word does not
/// say which, so after a few tries the other runtimes are searched as well and the item
/// is taken off wherever it is. A pending item is always on some runtime's list or timer
/// but for the short window of its queueing, so this never spins for long.
pub(crate) fn grab_pending(rt: &Shared, head: &WorkHead) -> bool {
    let mut tries = 0u32;
    loop {
        if head.grab_pending() {
            return false;
        }
        if try_grab_on(rt, head) {
            return true;
        }
        if tries >= TRIES_BEFORE_OTHER_RUNTIMES
            && other_runtimes(rt).iter().any(|x| try_grab_on(x, head))
        {
            return true;
        }
        // Someone is between setting PENDING and putting the item on a list or timer
        // (or another canceller owns it): retry, as the kernel does on -EAGAIN.
        tries += 1;
        if tries < 64 {
            std::thread::yield_now();
        } else {
            std::thread::park_timeout(Duration::from_micros(50));
        }
    }
}

/// Give up an owned PENDING without queueing.
pub(crate) fn release_pending(head: &WorkHead) {
    head.clear_pending();
}

/// `flush_work`: wait for the item's last queueing to finish. An item flushing itself
/// would wait for itself forever: that is reported and refused (returns false).
pub(crate) fn flush_work(rt: &Shared, head: &WorkHead) -> bool {
    flush_work_until(rt, head, None).unwrap_or(false)
}

/// `flush_work` until `deadline` at most: `Ok(whether there was anything to wait for)`.
pub(crate) fn flush_work_until(
    rt: &Shared,
    head: &WorkHead,
    deadline: Option<Instant>,
) -> Result<bool, FlushStop> {
    if crate::blocking::with_hooks(|h| h.current_work()).flatten() == Some(addr(head)) {
        tracing::warn!(target: "workqueue", work = addr(head),
            "flush_work of the running item from inside it: it would wait for itself");
        return Err(FlushStop::WouldWaitForItself);
    }
    let Some(p) = pool_of_item(head) else {
        return Ok(false);
    };
    let barrier = Barrier::new();
    // Its pool on this runtime first; if nothing there is to wait for, the item may be
    // pending or running on another runtime (see `grab_pending`).
    let inserted = insert_barrier_on(rt, p, head, &barrier)
        || other_runtimes(rt)
            .iter()
            .any(|x| insert_barrier_on(x, p, head, &barrier));
    if inserted && !barrier.wait(deadline) {
        return Err(FlushStop::TimedOut);
    }
    Ok(inserted)
}

/// Why a wait with a deadline stopped early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FlushStop {
    /// The deadline passed.
    TimedOut,
    /// The caller is what it would wait for.
    WouldWaitForItself,
}

impl FlushStop {
    pub(crate) fn into_error(self, timeout: std::time::Duration) -> crate::FlushError {
        match self {
            FlushStop::TimedOut => crate::FlushError::TimedOut { timeout },
            FlushStop::WouldWaitForItself => crate::FlushError::WouldWaitForItself,
        }
    }
}

/// `insert_wq_barrier` on pool `p` of runtime `rt`: true if the item is pending or
/// running there and `barrier` now waits behind it.
fn insert_barrier_on(rt: &Shared, p: PoolId, head: &WorkHead, barrier: &Arc<Barrier>) -> bool {
    if !rt.pool_exists(p) {
        return false;
    }
    let r = rt.with_pool(p, |pool, now, acts| {
        pool.insert_barrier(head, WorkRef::from_arc(Arc::clone(barrier)), now, acts)
    });
    // Err: nothing to wait for there (the barrier's reference comes back; drop it).
    r.is_ok()
}

/// `cancel_work_sync`: grab PENDING, wait for a running instance with PENDING held (so
/// queueings meanwhile are no-ops), then release it.
pub(crate) fn cancel_sync(rt: &Shared, head: &WorkHead) -> bool {
    let was = grab_pending(rt, head);
    flush_work(rt, head);
    release_pending(head);
    was
}

/// `disable_work(_sync)`. At the count's limit nothing changes (the item is not even
/// cancelled) and the call is refused.
pub(crate) fn disable(rt: &Shared, head: &WorkHead, sync: bool) -> Result<bool, DisableError> {
    let full = || DisableError::Overflow { count: u16::MAX };
    if head.disable_count() == u16::MAX {
        return Err(full());
    }
    let was = grab_pending(rt, head);
    if sync {
        flush_work(rt, head);
    }
    // With PENDING held the word is off queue; only a disabler racing this one to the
    // limit can make it fail now (the item is then cancelled but not disabled).
    let r = head.disable().map(|_| was).map_err(|_| full());
    release_pending(head);
    r
}

/// `enable_work`: true when the count reached zero.
pub(crate) fn enable(head: &WorkHead) -> bool {
    match head.enable() {
        Ok(n) => n == 0,
        Err(e) => {
            tracing::warn!(target: "workqueue", error = %e, "enable_work");
            head.disable_count() == 0
        }
    }
}

/// `work_busy`.
pub(crate) fn work_busy(rt: &Shared, head: &WorkHead) -> WorkBusy {
    let pending = head.is_pending();
    let running = pool_of_item(head)
        .filter(|p| rt.pool_exists(*p))
        .is_some_and(|p| rt.pool(p).core.lock().is_executing(head).is_some());
    WorkBusy { pending, running }
}
