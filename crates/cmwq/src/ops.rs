//! Item operations that find an item through its data word: grab PENDING (cancel),
//! flush, busy. They work for any workqueue of the runtime.

use cmwq_work::raw::WorkHeadRaw;
use std::sync::Arc;
use std::time::Duration;

use cmwq_pool::Grab;
use cmwq_work::{PoolId, WorkHead, WorkRef};

use crate::flags::WorkBusy;
use crate::item::Barrier;
use crate::rt::Shared;

fn addr(head: &WorkHead) -> usize {
    std::ptr::from_ref(head).addr()
}

/// The pool an item is queued on, or last ran on.
fn pool_of_item(head: &WorkHead) -> Option<PoolId> {
    head.pwq()
        .map(cmwq_pool::pool_of)
        .or_else(|| head.last_pool())
}

/// Take a delayed item off its timer (the timer entry goes stale). True if it was armed;
/// the caller then owns PENDING.
pub(crate) fn steal_from_timer(rt: &Shared, head: &WorkHead) -> bool {
    rt.delayed.lock().remove(&addr(head)).is_some()
}

/// The kernel's `try_to_grab_pending`, retried until it succeeds: afterwards the caller
/// owns PENDING and the item is on no list and no timer. Returns whether it was pending
/// (queued or waiting on its timer).
pub(crate) fn grab_pending(rt: &Shared, head: &WorkHead) -> bool {
    let mut tries = 0u32;
    loop {
        if head.grab_pending() {
            return false;
        }
        if steal_from_timer(rt, head) {
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
    if crate::blocking::with_hooks(|h| h.current_work()).flatten() == Some(addr(head)) {
        tracing::warn!(target: "workqueue", work = addr(head),
            "flush_work of the running item from inside it: it would wait for itself");
        return false;
    }
    let Some(p) = pool_of_item(head) else {
        return false;
    };
    if !rt.pool_exists(p) {
        return false;
    }
    let barrier = Barrier::new();
    let r = rt.with_pool(p, |pool, now, acts| {
        pool.insert_barrier(head, WorkRef::from_arc(Arc::clone(&barrier)), now, acts)
    });
    match r {
        Ok(()) => {
            barrier.wait();
            true
        }
        Err(b) => {
            drop(b);
            false
        }
    }
}

/// `cancel_work_sync`: grab PENDING, wait for a running instance with PENDING held (so
/// queueings meanwhile are no-ops), then release it.
pub(crate) fn cancel_sync(rt: &Shared, head: &WorkHead) -> bool {
    let was = grab_pending(rt, head);
    flush_work(rt, head);
    release_pending(head);
    was
}

/// `disable_work(_sync)`.
pub(crate) fn disable(rt: &Shared, head: &WorkHead, sync: bool) -> bool {
    let was = grab_pending(rt, head);
    if sync {
        flush_work(rt, head);
    }
    if let Err(e) = head.disable() {
        tracing::warn!(target: "workqueue", error = %e, "disable_work");
    }
    release_pending(head);
    was
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
