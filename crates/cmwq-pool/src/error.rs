//! Typed errors: bad input never panics.

use crate::types::{PoolId, PwqId, WqFlags, WqId};

/// Why a workqueue could not be created or changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WqError {
    /// The name does not fit `WQ_NAME_LEN` (32 bytes including the NUL).
    #[error("workqueue name is {len} bytes; at most 31 fit WQ_NAME_LEN (32, NUL included)")]
    NameTooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// The name is empty.
    #[error("workqueue name is empty")]
    EmptyName,
    /// The name contains a NUL byte.
    #[error("workqueue name contains a NUL byte")]
    NameHasNul,
    /// The name contains another control character (a newline, a tab, an escape, ...):
    /// the dump is a line protocol, and such a name would forge or break its lines.
    #[error("workqueue name contains control character {ch:?} at byte {offset}")]
    NameHasControl {
        /// The character.
        ch: char,
        /// Its byte offset in the name.
        offset: usize,
    },
    /// max_active must be in 1..=WQ_MAX_ACTIVE (the kernel clamps with a warning; cmwq
    /// refuses).
    #[error("max_active {value} is out of range: expected 1..=2048 (WQ_MAX_ACTIVE)")]
    MaxActiveOutOfRange {
        /// The value given.
        value: u32,
    },
    /// min_active must be in 1..=max_active.
    #[error("min_active {value} is out of range: expected 1..=max_active ({max_active})")]
    MinActiveOutOfRange {
        /// The value given.
        value: u32,
        /// The workqueue's max_active.
        max_active: u32,
    },
    /// Unknown flag bits.
    #[error("unknown workqueue flag bits {bits:#x}")]
    UnknownFlags {
        /// The unknown bits.
        bits: u32,
    },
    /// Internal `__WQ_*` flags may not be passed by callers.
    #[error(
        "internal workqueue flags {flags:?} may not be passed (use WqSpec::ordered for ordered queues)"
    )]
    InternalFlags {
        /// The internal flags given.
        flags: WqFlags,
    },
    /// `WQ_BH` combines only with `WQ_HIGHPRI` and `WQ_PERCPU`.
    #[error("WQ_BH cannot be combined with {flags:?}: only WQ_HIGHPRI and WQ_PERCPU are allowed")]
    BhWithFlags {
        /// The offending flags.
        flags: WqFlags,
    },
    /// A `WQ_BH` workqueue takes no max_active (the kernel requires 0).
    #[error("WQ_BH workqueues take no max_active")]
    BhWithMaxActive,
    /// `WQ_UNBOUND` and `WQ_PERCPU` contradict each other (cmwq refuses the pair rather
    /// than pick one).
    #[error("WQ_UNBOUND and WQ_PERCPU contradict each other")]
    UnboundAndPercpu,
    /// An ordered workqueue runs one item at a time: max_active 1.
    #[error("an ordered workqueue has max_active 1, not {value}")]
    OrderedMaxActive {
        /// The value given.
        value: u32,
    },
    /// max_active of an ordered workqueue cannot change.
    #[error("cannot change max_active of ordered workqueue {0:?}")]
    OrderedSetMaxActive(WqId),
    /// No workqueue has this id.
    #[error("no workqueue {0:?}")]
    NoSuchWorkqueue(WqId),
    /// The workqueue was destroyed.
    #[error("workqueue {0:?} is destroyed")]
    Destroyed(WqId),
    /// Destroying needs an empty (drained) workqueue.
    #[error("workqueue {0:?} still has work in flight: drain it before destroying it")]
    NotDrained(WqId),
    /// One flush_workqueue at a time per workqueue: wait for the current one.
    #[error("a flush of workqueue {0:?} is in progress: wait for its WqFlushDone and retry")]
    FlushInProgress(WqId),
    /// A drain is already in progress.
    #[error("workqueue {0:?} is already draining")]
    AlreadyDraining(WqId),
    /// The driver has none of the pools such a workqueue needs (the runtime builds no
    /// bottom-half pools: userspace has no softirq context).
    #[error("no pool for a workqueue with flags {flags:?} in this driver")]
    Unsupported {
        /// The workqueue's flags.
        flags: WqFlags,
    },
    /// A pool could not take another pwq.
    #[error(transparent)]
    Pool(#[from] PoolError),
}

/// Why an item was not queued. The item's `WorkRef` is handed back with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum QueueError {
    /// It is already pending: queueing is a no-op (it will run once for both queueings).
    #[error("work item is already pending")]
    AlreadyPending,
    /// Its disable count is non-zero (disable_work).
    #[error("work item is disabled")]
    Disabled,
    /// The workqueue is draining and the caller is not one of its own items.
    #[error("workqueue {0:?} is draining: only chained queueing from its own items is allowed")]
    Draining(WqId),
    /// The workqueue is destroyed (or its pwq is gone).
    #[error("workqueue {0:?} is destroyed")]
    Destroyed(WqId),
    /// No workqueue has this id.
    #[error("no workqueue {0:?}")]
    NoSuchWorkqueue(WqId),
    /// The CPU does not exist.
    #[error("no CPU {cpu}: the system has {nr_cpus}")]
    NoSuchCpu {
        /// The CPU asked for.
        cpu: u32,
        /// CPUs configured.
        nr_cpus: u32,
    },
    /// The pwq does not live on this pool (driver bug).
    #[error("pwq {0:?} is not on this pool")]
    NoSuchPwq(PwqId),
}

/// Pool-level misuse (wrong ids from a driver).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PoolError {
    /// The pool has no room for another pwq (65536 at once per pool; removed pwqs free
    /// their slots).
    #[error("pool {0:?} has no free pwq slot")]
    NoPwqSlot(PoolId),
    /// No such pwq on this pool.
    #[error("pwq {0:?} is not on this pool")]
    NoSuchPwq(PwqId),
    /// The pwq still has work.
    #[error("pwq {0:?} still has work in flight")]
    PwqBusy(PwqId),
    /// A CPU-to-NUMA-node map must name a node for every CPU of the system.
    #[error("the NUMA node map names {given} CPUs, but the system has {nr_cpus}")]
    NodeMap {
        /// CPUs in the map.
        given: usize,
        /// CPUs of the system.
        nr_cpus: u32,
    },
}

/// Why `disable_work` did nothing.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DisableWorkError {
    /// The item is pending but on none of its pool's lists (another context owns its
    /// PENDING bit: it is being queued or cancelled): retry, as the kernel does on -EAGAIN.
    #[error("work item is pending but not on its pool's lists (being queued or cancelled): retry")]
    Busy,
    /// The disable count cannot go higher.
    #[error(transparent)]
    Count(#[from] cmwq_work::DisableError),
}
