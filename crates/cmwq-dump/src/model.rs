//! The plain-data state model: what a dump of a workqueue system contains.
//!
//! Every type here is plain data (pub fields, `Vec`, `String`, `Option`, integers) so that
//! anyone holding workqueue state (cmwq-pool, a simulator, a script reading a live kernel)
//! can build it by hand, compare it, and serialise it as JSON. In JSON input every field
//! but a work entry's `kind` may be left out and takes its default.
//!
//! The model grows with the kernel's dump, so its structs and [`WorkKind`] are
//! `#[non_exhaustive]`: build a struct from its `Default` and set the fields you have
//! (`let mut pwq = PwqSnapshot::default(); pwq.pool = 2;`), a [`WorkEntry`] with its
//! constructors ([`WorkEntry::func`], [`WorkEntry::barrier`], ...).
//!
//! Nothing here points back into a live system: building a [`Snapshot`] copies what the
//! dump needs, under whatever lock the producer holds, and formatting it later touches no
//! lock and runs no user code.
//!
//! Durations are carried in milliseconds and printed the way the kernel prints them,
//! `jiffies_to_msecs(delta) / 1000`: whole seconds, rounded down.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

/// Workqueue flags (`WQ_*`, the value printed as `flags=0x%x` on a `workqueue` line).
pub mod wq_flags {
    /// `WQ_BH`: executes in bottom-half (softirq) context.
    pub const WQ_BH: u32 = 1 << 0;
    /// `WQ_UNBOUND`: served by unbound pools (not per-CPU).
    pub const WQ_UNBOUND: u32 = 1 << 1;
    /// `WQ_FREEZABLE`: frozen during system suspend.
    pub const WQ_FREEZABLE: u32 = 1 << 2;
    /// `WQ_MEM_RECLAIM`: may be used in memory reclaim; owns a rescuer.
    pub const WQ_MEM_RECLAIM: u32 = 1 << 3;
    /// `WQ_HIGHPRI`: served by the high-priority pools.
    pub const WQ_HIGHPRI: u32 = 1 << 4;
    /// `WQ_CPU_INTENSIVE`: items don't take part in concurrency management.
    pub const WQ_CPU_INTENSIVE: u32 = 1 << 5;
    /// `WQ_SYSFS`: visible in sysfs.
    pub const WQ_SYSFS: u32 = 1 << 6;
    /// `WQ_POWER_EFFICIENT`: unbound when the power-efficient mode is on.
    pub const WQ_POWER_EFFICIENT: u32 = 1 << 7;
    /// `WQ_PERCPU`: explicitly per-CPU.
    pub const WQ_PERCPU: u32 = 1 << 8;
    /// `__WQ_DESTROYING`: internal, being destroyed.
    pub const WQ_DESTROYING: u32 = 1 << 15;
    /// `__WQ_DRAINING`: internal, being drained.
    pub const WQ_DRAINING: u32 = 1 << 16;
    /// `__WQ_ORDERED`: internal, ordered (max_active 1, one pwq).
    pub const WQ_ORDERED: u32 = 1 << 17;
}

/// Worker pool flags (`POOL_*`, the value printed as `flags=0x%x` in pool info).
pub mod pool_flags {
    /// `POOL_BH`: a bottom-half pool; its info prints ` bh`/` bh-hi` instead of ` nice=N`,
    /// and its workers print as `bh`/`bh-hi` instead of a pid.
    pub const POOL_BH: u32 = 1 << 0;
    /// `POOL_MANAGER_ACTIVE`: a worker is managing the pool (creating workers).
    pub const POOL_MANAGER_ACTIVE: u32 = 1 << 1;
    /// `POOL_DISASSOCIATED`: the pool's CPU is offline; it behaves as unbound.
    pub const POOL_DISASSOCIATED: u32 = 1 << 2;
}

/// `HIGHPRI_NICE_LEVEL` (`MIN_NICE`): the nice level of high-priority pools. A BH pool at
/// this level prints as `bh-hi`.
pub const HIGHPRI_NICE_LEVEL: i32 = -20;

/// The whole state a dump shows: every workqueue and every worker pool.
///
/// Order matters and is the producer's job: `workqueues` in the kernel's `workqueues`
/// list order (creation order), `pools` in pool-id order (the kernel walks its pool IDR).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Snapshot {
    /// All workqueues, busy or idle (the dump skips idle ones itself).
    pub workqueues: Vec<WqSnapshot>,
    /// All worker pools, busy or idle (the dump skips idle ones itself).
    pub pools: Vec<PoolSnapshot>,
}

/// One workqueue (`struct workqueue_struct`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct WqSnapshot {
    /// The workqueue's name, printed as given (the kernel caps it at `WQ_NAME_LEN`).
    pub name: String,
    /// `WQ_*` flags ([`wq_flags`]), printed as `flags=0x%x`.
    pub flags: u32,
    /// The workqueue's pool_workqueues, in the kernel's `wq->pwqs` order.
    pub pwqs: Vec<PwqSnapshot>,
}

impl WqSnapshot {
    /// Whether the workqueue is unbound (`WQ_UNBOUND`); per-CPU otherwise.
    pub fn is_unbound(&self) -> bool {
        self.flags & wq_flags::WQ_UNBOUND != 0
    }

    /// Whether the workqueue may be used in memory reclaim (`WQ_MEM_RECLAIM`), i.e. has a
    /// rescuer.
    pub fn is_mem_reclaim(&self) -> bool {
        self.flags & wq_flags::WQ_MEM_RECLAIM != 0
    }

    /// Whether `show_one_workqueue` prints this workqueue: some pwq is busy
    /// ([`PwqSnapshot::is_busy`]).
    pub fn is_busy(&self) -> bool {
        self.pwqs.iter().any(PwqSnapshot::is_busy)
    }

    /// The sum of the stats of all its pwqs (what wq_monitor.py shows per workqueue).
    pub fn stats(&self) -> PwqStats {
        self.pwqs.iter().fold(PwqStats::default(), |acc, pwq| {
            acc.saturating_add(&pwq.stats)
        })
    }
}

/// One pool_workqueue: the link between a workqueue and a worker pool
/// (`struct pool_workqueue`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct PwqSnapshot {
    /// The producer's id for this pwq. Not printed (the kernel prints the pool's id on the
    /// `pwq` line); useful to correlate snapshots.
    pub id: u32,
    /// Id of the pool this pwq queues to ([`PoolSnapshot::id`]); the pwq line prints it and
    /// that pool's info. Must name a pool of the same [`Snapshot`].
    pub pool_id: u32,
    /// `nr_active`: active work items (pending on the pool worklist or running).
    pub nr_active: u32,
    /// `max_active`: how many of its items may be active at once. Linux 6.1 prints it
    /// beside `nr_active` (`active=2/256`); later kernels keep the limit per workqueue
    /// and print only the count.
    pub max_active: u32,
    /// `refcnt`: the pwq's reference count.
    pub refcnt: u32,
    /// Whether the pwq is on its workqueue's `maydays` list (prints ` MAYDAY`).
    pub mayday: bool,
    /// The pool's busy workers whose `current_pwq` is this pwq, in the order the dump
    /// lists them (the kernel walks its busy hash).
    pub in_flight: Vec<InFlightWorker>,
    /// This pwq's nodes on the pool worklist, in worklist order: its pending work items
    /// and, while a rescuer works on it, its cursor (a [`WorkEntry`] named
    /// [`WorkKind::MaydayCursor`], printed as `mayday_cursor_func`).
    pub pending: Vec<WorkEntry>,
    /// `inactive_works`: items held back by max_active, in list order.
    pub inactive: Vec<WorkEntry>,
    /// The pwq's statistics counters.
    pub stats: PwqStats,
}

impl PwqSnapshot {
    /// Whether the dump shows this pwq: `nr_active != 0` or inactive items exist.
    pub fn is_busy(&self) -> bool {
        self.nr_active != 0 || !self.inactive.is_empty()
    }
}

/// A worker running an item of a pwq (`struct worker` on the pool's busy hash).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct InFlightWorker {
    /// The worker's id, printed where the kernel prints its task's pid. (Workers of a BH
    /// pool print `bh`/`bh-hi` instead, as the kernel does.)
    pub id: u32,
    /// Whether this worker is the workqueue's rescuer (prints `(RESCUER)` after the id).
    pub rescuer: bool,
    /// Name of the function it runs (`current_func`, the kernel's `%ps`).
    pub func: String,
    /// Milliseconds since it started the current item (`current_start`); printed by the
    /// Linux 7.0 format as ` for Ns`.
    pub running_ms: u64,
    /// The worker's `scheduled` list: items handed to it (a rescuer's assigned items,
    /// items that were already running on it, barriers), in list order.
    pub scheduled: Vec<WorkEntry>,
}

/// One node of a work list as the dump shows it: a work item, a flush barrier, or a
/// pwq's mayday cursor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct WorkEntry {
    /// What the node is.
    pub kind: WorkKind,
    /// The node's `WORK_STRUCT_LINKED` flag: the next node is linked to it (a barrier
    /// queued behind it), so the next node prints without a separating comma.
    #[serde(default)]
    pub linked: bool,
}

/// What a [`WorkEntry`] is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum WorkKind {
    /// A work item running `func` (its name as `%ps` prints it, e.g. `"my_work_fn"` or
    /// `"my_work_fn [my_module]"`). Consecutive items with the same name merge as `N*func`.
    Func(String),
    /// A flush barrier (`wq_barrier_func`); prints `BAR(task)`, `task` being the id of the
    /// task waiting on it.
    Barrier {
        /// Id of the task that waits for the barrier.
        task: u32,
    },
    /// A pwq's mayday cursor: not a work item, but a position the rescuer keeps on the
    /// pool worklist. The kernel's dump has no special case for it and lists it under its
    /// function's name, [`MAYDAY_CURSOR_FUNC`]; so does this one.
    MaydayCursor,
}

/// The function name of a pwq's mayday cursor, as the kernel's dump prints it.
pub const MAYDAY_CURSOR_FUNC: &str = "mayday_cursor_func";

impl WorkEntry {
    /// An entry of kind `kind`, linked to the next one or not.
    pub fn new(kind: WorkKind, linked: bool) -> Self {
        Self { kind, linked }
    }

    /// A work item running the function named `name`, not linked.
    pub fn func(name: impl Into<String>) -> Self {
        Self {
            kind: WorkKind::Func(name.into()),
            linked: false,
        }
    }

    /// A flush barrier waited on by task `task`, not linked.
    pub fn barrier(task: u32) -> Self {
        Self {
            kind: WorkKind::Barrier { task },
            linked: false,
        }
    }

    /// A pwq's mayday cursor ([`WorkKind::MaydayCursor`]), never linked.
    pub fn mayday_cursor() -> Self {
        Self {
            kind: WorkKind::MaydayCursor,
            linked: false,
        }
    }

    /// The function name the dump prints for this entry, or `None` for a barrier.
    pub fn func_name(&self) -> Option<&str> {
        match &self.kind {
            WorkKind::Func(name) => Some(name),
            WorkKind::MaydayCursor => Some(MAYDAY_CURSOR_FUNC),
            WorkKind::Barrier { .. } => None,
        }
    }

    /// The same entry with `WORK_STRUCT_LINKED` set.
    #[must_use]
    pub fn linked(mut self) -> Self {
        self.linked = true;
        self
    }
}

/// One worker pool (`struct worker_pool`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct PoolSnapshot {
    /// The pool id (`pool->id`), printed on `pool` and `pwq` lines.
    pub id: u32,
    /// The CPUs the pool's workers may run on, printed as a range list (`0`, `0-3`,
    /// `0,2-3`).
    pub cpus: BTreeSet<u32>,
    /// The pool's NUMA node; `None` is `NUMA_NO_NODE` (no ` node=` printed).
    pub node: Option<u32>,
    /// `POOL_*` flags ([`pool_flags`]), printed as `flags=0x%x`. `POOL_BH` makes the info
    /// print ` bh`/` bh-hi` instead of ` nice=N`.
    pub flags: u32,
    /// The workers' nice level; printed as ` nice=N`, or decides `bh` vs `bh-hi`
    /// ([`HIGHPRI_NICE_LEVEL`]) for BH pools.
    pub nice: i32,
    /// Number of nodes on the pool worklist (work items of every pwq, cursors included:
    /// what the kernel's `list_empty(&pool->worklist)` sees). `hung=` and the watchdog
    /// only count time while this is non-zero.
    pub worklist_len: u32,
    /// Milliseconds since the pool last made progress (`now - last_progress_ts`, called
    /// `watchdog_ts` before Linux 7.0).
    pub since_progress_ms: u64,
    /// Milliseconds since the watchdog was last touched for this pool's CPU (or for
    /// unbound pools, globally); `None` if never. The watchdog measures a stall from the
    /// later of progress and touch.
    pub since_touched_ms: Option<u64>,
    /// `nr_workers`: workers attached to the pool.
    pub nr_workers: u32,
    /// `nr_idle`: idle workers. A pool with `nr_workers == nr_idle` is not dumped.
    pub nr_idle: u32,
    /// Id of the manager worker while one is active (prints ` manager: ID`).
    pub manager: Option<u32>,
    /// Ids of the idle workers in `idle_list` order: most recently idle first (a worker
    /// entering idle is added at the head).
    pub idle: Vec<u32>,
}

impl PoolSnapshot {
    /// Whether this is a BH pool (`POOL_BH`).
    pub fn is_bh(&self) -> bool {
        self.flags & pool_flags::POOL_BH != 0
    }

    /// Whether `show_one_worker_pool` prints this pool: `nr_workers != nr_idle`.
    pub fn is_busy(&self) -> bool {
        self.nr_workers != self.nr_idle
    }

    /// The `hung=` value in seconds: time since progress while the worklist is non-empty,
    /// else 0.
    pub fn hung_secs(&self) -> u64 {
        if self.worklist_len == 0 {
            0
        } else {
            self.since_progress_ms / 1000
        }
    }
}

/// The per-pwq statistics counters (`enum pool_workqueue_stats`), in kernel order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct PwqStats {
    /// `PWQ_STAT_STARTED`: work items started execution.
    pub started: u64,
    /// `PWQ_STAT_COMPLETED`: work items completed execution.
    pub completed: u64,
    /// `PWQ_STAT_CPU_TIME`: total CPU time consumed, in microseconds.
    pub cpu_time_us: u64,
    /// `PWQ_STAT_CPU_INTENSIVE`: items that hogged the CPU past cpu_intensive_thresh.
    pub cpu_intensive: u64,
    /// `PWQ_STAT_CM_WAKEUP`: concurrency-management worker wakeups.
    pub cm_wakeup: u64,
    /// `PWQ_STAT_REPATRIATED`: unbound workers brought back into scope.
    pub repatriated: u64,
    /// `PWQ_STAT_MAYDAY`: maydays sent to the rescuer.
    pub mayday: u64,
    /// `PWQ_STAT_RESCUED`: work items executed by the rescuer.
    pub rescued: u64,
}

impl PwqStats {
    /// Field-wise saturating sum.
    #[must_use]
    pub fn saturating_add(&self, other: &Self) -> Self {
        Self {
            started: self.started.saturating_add(other.started),
            completed: self.completed.saturating_add(other.completed),
            cpu_time_us: self.cpu_time_us.saturating_add(other.cpu_time_us),
            cpu_intensive: self.cpu_intensive.saturating_add(other.cpu_intensive),
            cm_wakeup: self.cm_wakeup.saturating_add(other.cm_wakeup),
            repatriated: self.repatriated.saturating_add(other.repatriated),
            mayday: self.mayday.saturating_add(other.mayday),
            rescued: self.rescued.saturating_add(other.rescued),
        }
    }
}
