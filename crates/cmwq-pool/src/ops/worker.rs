//! A worker's report-and-ask step, settled.

use crate::action::Actions;
use crate::driver::Driver;
use crate::pool::Next;
use crate::types::{PoolId, WorkerId, WqId};

use super::in_pool;

/// A worker of `pool` reports the item it ran (`done`: the CPU time it used, in ns) and
/// asks for the next one, under one pool lock hold (`work_done` then `next_work`); the
/// workqueue of the item handed out comes with it. `Next::Exit` for an unknown pool.
pub fn worker_next<D: Driver>(
    d: &mut D,
    pool: PoolId,
    w: WorkerId,
    done: Option<u64>,
    out: &mut Actions,
) -> (Next, Option<WqId>) {
    let now = d.now();
    in_pool(d, pool, out, |p, _, out| {
        p.report_and_next(w, done, now, out)
    })
    .unwrap_or((Next::Exit, None))
}

/// A worker (or an attached rescuer) of `pool` finished the item it was handed, having
/// used `cpu_ns` of CPU time.
pub fn worker_work_done<D: Driver>(
    d: &mut D,
    pool: PoolId,
    w: WorkerId,
    cpu_ns: u64,
    out: &mut Actions,
) {
    let now = d.now();
    in_pool(d, pool, out, |p, _, out| p.work_done(w, cpu_ns, now, out));
}
