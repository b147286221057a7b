//! The rescuer thread's loop (`rescuer_thread`) as a state machine.

use cmwq_work::WorkRef;

use crate::action::Actions;
use crate::driver::Driver;
use crate::pool::RescueNext;
use crate::types::{PoolId, WqId, pool_of};

use super::in_pool;

/// What the rescuer of a workqueue should do next ([`rescuer_step`]).
#[derive(Debug)]
pub enum RescuerStep {
    /// Run this item (attached to `pool`), then report it with
    /// [`super::worker_work_done`] (the rescuer's worker id, that pool) and step again.
    Run {
        /// The pool the rescuer is attached to.
        pool: PoolId,
        /// The item.
        work: WorkRef,
    },
    /// No mayday pending: sleep until [`crate::Action::WakeRescuer`].
    Sleep,
}

/// One step of `rescuer_thread`: pop a pwq off the workqueue's `maydays` (workqueue lock),
/// attach to its pool (pool lock), run what the pwq's policy takes (one
/// [`RescuerStep::Run`] per item), detach and go on with the next pwq;
/// [`RescuerStep::Sleep`] when `maydays` is empty. The workqueue records which pwq its
/// rescuer visits, so the loop's state survives between steps.
pub fn rescuer_step<D: Driver>(d: &mut D, wq: WqId, out: &mut Actions) -> RescuerStep {
    let Some((Some(r), mut visiting)) = d.with_wq(wq, |w| (w.rescuer(), w.rescuer_visiting()))
    else {
        return RescuerStep::Sleep;
    };
    loop {
        let now = d.now();
        match visiting {
            Some(pwq) => {
                let pool = pool_of(pwq);
                let next = in_pool(d, pool, out, |p, sink, out| {
                    match p.rescuer_next(r, sink, now, out) {
                        RescueNext::Run(work) => Some(work),
                        RescueNext::Leave => {
                            p.rescuer_detach(r, sink, now, out);
                            None
                        }
                    }
                });
                if let Some(Some(work)) = next {
                    return RescuerStep::Run { pool, work };
                }
                d.with_wq(wq, |w| w.set_rescuer_visiting(None));
                visiting = None;
            }
            None => {
                let next = d
                    .with_wq(wq, |w| {
                        let p = w.pop_mayday();
                        w.set_rescuer_visiting(p);
                        p
                    })
                    .flatten();
                let Some(pwq) = next else {
                    return RescuerStep::Sleep;
                };
                d.with_pool(pool_of(pwq), |p, _| p.rescuer_attach(r, pwq, now));
                visiting = Some(pwq);
            }
        }
    }
}
