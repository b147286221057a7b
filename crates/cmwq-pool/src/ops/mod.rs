//! The operations that span pools and workqueues, written once against a [`Driver`]:
//! kernel/workqueue.c's `__queue_work`, delayed work and its timer, `flush_work`,
//! `flush_workqueue`, `drain_workqueue`, `try_to_grab_pending` with cancel and disable, the
//! rescuer thread's loop and the worker's report-and-ask step.
//!
//! Each enters one lock at a time through the driver (pool locks, the workqueue lock, the
//! timer lock; a workqueue lock nested inside a pool lock only through the
//! [`crate::MaydaySink`]). The cross-lock consequences of what a pool decided are settled
//! here before an operation returns ([`Action::FlushColorDone`] -> the workqueue's flush
//! count -> [`Action::WqFlushDone`] -> a reserved next flush and the drain's next step), so
//! what is left in the caller's [`Actions`] is only for threads and timers.

mod cancel;
mod flush;
mod queue;
mod rescuer;
mod worker;

pub use cancel::{
    Again, cancel_work, cancel_work_sync_begin, cancel_work_sync_end, disable_work,
    disable_work_sync_begin, enable_work, try_to_grab_pending, work_busy,
};
pub use flush::{
    destroy_workqueue, drain_workqueue, flush_delayed_work, flush_work, flush_workqueue,
    set_max_active,
};
pub use queue::{
    PwqTable, delayed_deadline, delayed_timeout, expire_delayed_of, mod_delayed_work,
    queue_delayed_work, queue_delayed_work_owned, queue_work, queue_work_owned, release_delayed,
    select_pwq,
};
pub use rescuer::{RescuerStep, rescuer_step};
pub use worker::{worker_next, worker_work_done};

use cmwq_work::WorkHead;

use crate::action::{Action, Actions};
use crate::driver::Driver;
use crate::pool::{MaydaySink, Pool};
use crate::types::{PoolId, pool_of};

/// The pool an item is queued on, or last ran on.
pub(crate) fn item_pool(work: &WorkHead) -> Option<PoolId> {
    work.pwq().map(pool_of).or_else(|| work.last_pool())
}

/// Enter pool `id` through the driver, then settle the cross-lock consequences of what it
/// decided. `None` if the driver has no such pool.
pub(crate) fn in_pool<D: Driver, R>(
    d: &mut D,
    id: PoolId,
    out: &mut Actions,
    f: impl FnOnce(&mut Pool, &mut dyn MaydaySink, &mut Actions) -> R,
) -> Option<R> {
    let start = out.len();
    let r = d.with_pool(id, |p, sink| f(p, sink, &mut *out));
    settle(d, start, out);
    r
}

/// Process the cross-lock consequences of the actions pushed since `start`:
/// `FlushColorDone` -> the workqueue's flush; a finished flush -> the reserved next flush
/// and the drain's next step. The settled actions stay in `out` (drivers ignore
/// `FlushColorDone`).
pub(crate) fn settle<D: Driver>(d: &mut D, start: usize, out: &mut Actions) {
    let mut i = start;
    while i < out.len() {
        match out.as_slice()[i] {
            Action::FlushColorDone { wq, pwq } => {
                if let Some(Some(t)) = d.with_wq(wq, |w| w.flush_pwq_done(pwq)) {
                    out.push(Action::WqFlushDone { wq, ticket: t });
                }
            }
            Action::WqFlushDone { wq, .. } => {
                flush::start_reserved_flush(d, wq, out);
                flush::drain_step(d, wq, out);
            }
            _ => {}
        }
        i += 1;
    }
}
