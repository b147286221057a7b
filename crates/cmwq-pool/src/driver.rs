//! The driver interface: what the operations that span pools and workqueues ([`crate::ops`])
//! need from whoever runs the core.
//!
//! A driver owns the locks and the clock; the core owns every decision. The interface is
//! the kernel's locking, made explicit:
//!
//! - [`Driver::with_pool`] enters one pool's lock (`pool->lock`) and lends the pool together
//!   with a [`MaydaySink`], which reaches workqueue state by entering that workqueue's lock
//!   *nested inside* the pool lock (the kernel's `wq_mayday_lock` inside `pool->lock`);
//! - [`Driver::with_wq`] enters one workqueue's lock alone (`wq->mutex` / the flush state);
//! - [`Driver::wq_pwqs`] reads a workqueue's pwq table, which never changes after
//!   creation (the kernel reads `wq->cpu_pwq` under RCU, with no lock): the queue path
//!   takes at most one pool lock, none when the pwq's incoming ring
//!   ([`crate::Incoming`]) is open; a driver that hands out rings in the table takes them in
//!   first and re-decides them last in every `with_pool` ([`Pool::absorb_incoming`],
//!   [`Pool::publish_incoming`]);
//! - [`Driver::with_timers`] enters the delayed-work timer state ([`DelayedTimers`], the
//!   kernel's timer base lock), never nested with any other.
//!
//! Lock order: pool, then workqueue (through the sink only). The operations never hold two
//! pool locks, never enter a pool while holding a workqueue or the timers, and release every
//! lock before they return, so a threaded driver with one mutex per pool keeps the kernel's
//! concurrency and a single-threaded one (`System`) is trivially correct.
//!
//! Everything else the driver does is play: it performs the [`crate::Action`]s the
//! operations leave in its buffer (wake or create threads, arm timers, wake waiters) and
//! answers [`Driver::now`] and [`Driver::context`].

use crate::delayed::DelayedTimers;
use crate::ops::PwqTable;
use crate::pool::{MaydaySink, Pool};
use crate::types::{PoolId, WqId};
use crate::workqueue::Workqueue;

/// Who is calling: the CPU it runs on and, for a work function, its workqueue and item.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Context {
    /// The CPU the caller runs on, as the driver models CPUs (`None`: unknown). Queueing
    /// with no CPU given uses it (kernel: the local CPU); see [`crate::ops::select_pwq`].
    pub cpu: Option<u32>,
    /// The workqueue of the work item running on the calling thread, if any (chained
    /// queueing onto a draining workqueue is allowed only from its own items).
    pub wq: Option<WqId>,
    /// The address of the work item running on the calling thread, if any (an item that
    /// flushes or cancels-and-waits for itself would wait forever).
    pub work: Option<usize>,
}

/// What the core's cross-pool operations need from a driver. See the module docs for the
/// locking each method stands for.
pub trait Driver {
    /// Run `f` under pool `id`'s lock, with a sink that enters workqueue locks nested
    /// inside it. `None` if the driver has no such pool.
    fn with_pool<R>(
        &mut self,
        id: PoolId,
        f: impl FnOnce(&mut Pool, &mut dyn MaydaySink) -> R,
    ) -> Option<R>;

    /// Run `f` under workqueue `id`'s lock. `None` if there is no such workqueue.
    fn with_wq<R>(&mut self, id: WqId, f: impl FnOnce(&mut Workqueue) -> R) -> Option<R>;

    /// Read workqueue `id`'s pwq table (per CPU in CPU order, or its one unbound pwq),
    /// without its lock: it is fixed at creation. A destroyed workqueue has none (an empty
    /// slice). `None` if there is no such workqueue.
    fn wq_pwqs<R>(&mut self, id: WqId, f: impl FnOnce(PwqTable<'_>) -> R) -> Option<R>;

    /// Run `f` under the delayed-work timer state's lock.
    fn with_timers<R>(&mut self, f: impl FnOnce(&mut DelayedTimers) -> R) -> R;

    /// The clock, in nanoseconds (monotonic, the same clock as every deadline the core
    /// hands out).
    fn now(&self) -> u64;

    /// Who is calling.
    fn context(&self) -> Context;

    /// Number of CPUs (per-CPU pools exist for `0..nr_cpus`).
    fn nr_cpus(&self) -> u32;
}
