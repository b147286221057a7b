//! What the core asks its driver to do: wake threads, create workers, arm timers.

use crate::types::{PoolId, PwqId, WorkerId, WqId};

/// A flush_workqueue request's ticket: [`Action::WqFlushDone`] names it when done.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub struct FlushTicket(pub u64);

/// One thing the driver must do. Timers are deadlines in the driver's nanosecond clock; the
/// core remembers each deadline and ignores a late or superseded call, so a driver never
/// needs to cancel a timer: it calls the matching `*_timeout(now)` at or after `at`.
///
/// New actions may be added as the core learns more of the kernel: a driver's `match`
/// ends with an arm for the ones it does not know (and should fail loudly there).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// Wake this worker (idle, or parked as manager): it should call `next_work`.
    ///
    /// For an idle `worker` (the pool's most recently idle one, as `kick_pool` picks it)
    /// what the pool needs is *an* idle worker at `next_work`: a driver may bring another
    /// idle worker of the same pool there instead (the runtime does, for unbound pools,
    /// when one is still on a CPU and the named one may not be); the pool gives the work
    /// to whichever comes. A worker parked as manager must be woken itself.
    WakeWorker {
        /// The worker's pool.
        pool: PoolId,
        /// The worker.
        worker: WorkerId,
    },
    /// Try to create a worker for the pool (`POOL_MANAGER_ACTIVE` is set until answered):
    /// answer with `worker_created` or `worker_create_failed`.
    CreateWorker {
        /// The pool that needs a worker.
        pool: PoolId,
    },
    /// The worker was culled: it is already gone from the pool; let its thread exit.
    StopWorker {
        /// Its pool.
        pool: PoolId,
        /// The worker.
        worker: WorkerId,
    },
    /// Call `mayday_timeout(now)` for the pool at `at`.
    ArmMaydayTimer {
        /// The pool.
        pool: PoolId,
        /// Deadline.
        at: u64,
    },
    /// Call `idle_timeout(now)` for the pool at `at`.
    ArmIdleTimer {
        /// The pool.
        pool: PoolId,
        /// Deadline.
        at: u64,
    },
    /// Creation failed: call `create_retry_timeout(now)` for the pool at `at`
    /// (now + CREATE_COOLDOWN).
    ArmCreateRetry {
        /// The pool.
        pool: PoolId,
        /// Deadline.
        at: u64,
    },
    /// Call `ops::delayed_timeout` at `at`: a delayed item's deadline (the earliest one
    /// not yet asked for). A call with nothing due only re-arms, so stale timers are
    /// harmless.
    ArmDelayedTimer {
        /// Deadline.
        at: u64,
    },
    /// A mayday was newly sent for a pwq of this workqueue: wake its rescuer.
    WakeRescuer {
        /// The workqueue whose rescuer to wake.
        wq: WqId,
    },
    /// A pwq has no more items of the colour its workqueue is flushing: tell the
    /// workqueue (`Workqueue::flush_pwq_done`). The operations of `ops` (and `System`)
    /// settle it themselves before returning; drivers ignore it.
    FlushColorDone {
        /// The workqueue.
        wq: WqId,
        /// The pwq.
        pwq: PwqId,
    },
    /// A flush_workqueue finished: wake the flusher that holds `ticket`.
    WqFlushDone {
        /// The workqueue.
        wq: WqId,
        /// The finished flush.
        ticket: FlushTicket,
    },
    /// drain_workqueue finished: every pwq is empty.
    WqDrained {
        /// The workqueue.
        wq: WqId,
    },
}

/// Actions a buffer holds without allocating: one operation of the hot paths asks for
/// at most a wake-up or two.
const ACTIONS_INLINE: usize = 4;

/// A caller-owned buffer of [`Action`]s. The first few (four) live in the buffer
/// itself, so a buffer made on the stack for one operation allocates nothing unless that
/// operation asks for more (the queue path stays allocation-free without a buffer kept per
/// thread); a longer one grows on the heap and keeps its capacity across `clear`.
#[derive(Debug, Default, Clone)]
pub struct Actions {
    buf: smallvec::SmallVec<[Action; ACTIONS_INLINE]>,
}

impl Actions {
    /// An empty buffer.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty buffer with room for `n` actions.
    pub fn with_capacity(n: usize) -> Self {
        Self {
            buf: smallvec::SmallVec::with_capacity(n),
        }
    }

    /// Append an action.
    pub fn push(&mut self, a: Action) {
        self.buf.push(a);
    }

    /// Forget every action (keeps the capacity).
    pub fn clear(&mut self) {
        self.buf.clear();
    }

    /// Number of actions.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The actions, in the order they were decided.
    pub fn as_slice(&self) -> &[Action] {
        &self.buf
    }

    /// Iterate over the actions.
    pub fn iter(&self) -> std::slice::Iter<'_, Action> {
        self.buf.iter()
    }

    /// Take the actions out, in order, leaving the buffer empty (capacity kept).
    pub fn drain(&mut self) -> impl Iterator<Item = Action> + '_ {
        self.buf.drain(..)
    }
}

impl<'a> IntoIterator for &'a Actions {
    type Item = &'a Action;
    type IntoIter = std::slice::Iter<'a, Action>;
    fn into_iter(self) -> Self::IntoIter {
        self.buf.iter()
    }
}
