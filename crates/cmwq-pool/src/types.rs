//! Ids, flags and constants shared by the core's pieces.

use std::fmt;

use bitflags::bitflags;
pub use cmwq_work::{PoolId, PwqId};

/// `MAYDAY_INITIAL_TIMEOUT`: how long a pool tries to create a worker before its mayday
/// timer first calls the rescuers (HZ/100: 10 ms), in nanoseconds.
pub const MAYDAY_INITIAL_TIMEOUT: u64 = 10_000_000;
/// `MAYDAY_INTERVAL`: the mayday timer's period while creation keeps failing (100 ms).
pub const MAYDAY_INTERVAL: u64 = 100_000_000;
/// `CREATE_COOLDOWN`: wait between failed worker creations (1 s).
pub const CREATE_COOLDOWN: u64 = 1_000_000_000;
/// `IDLE_WORKER_TIMEOUT`: an idle worker beyond the pool's needs is culled after this (300 s).
pub const IDLE_WORKER_TIMEOUT: u64 = 300_000_000_000;
/// `wq_cpu_intensive_thresh_us`: a concurrency-managed worker that runs one item longer than
/// this (10 ms) is marked `CPU_INTENSIVE` and stops counting in `nr_running`.
pub const CPU_INTENSIVE_THRESH: u64 = 10_000_000;
/// The workqueue watchdog's threshold (30 s): "BUG: workqueue lockup".
pub const WATCHDOG_THRESH: u64 = 30_000_000_000;
/// The time constants a pool uses, in nanoseconds. `Default` is the kernel's values;
/// tests and benches may shorten them ([`crate::Pool::set_timings`],
/// [`crate::System::set_timings`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolTimings {
    /// First mayday after creation starts ([`MAYDAY_INITIAL_TIMEOUT`]).
    pub mayday_initial_timeout: u64,
    /// Mayday timer period while creation fails ([`MAYDAY_INTERVAL`]).
    pub mayday_interval: u64,
    /// Wait between failed creations ([`CREATE_COOLDOWN`]).
    pub create_cooldown: u64,
    /// Idle time before a surplus worker is culled ([`IDLE_WORKER_TIMEOUT`]).
    pub idle_worker_timeout: u64,
    /// Run time after which a worker becomes CPU_INTENSIVE ([`CPU_INTENSIVE_THRESH`]).
    pub cpu_intensive_thresh: u64,
}

impl Default for PoolTimings {
    fn default() -> Self {
        Self {
            mayday_initial_timeout: MAYDAY_INITIAL_TIMEOUT,
            mayday_interval: MAYDAY_INTERVAL,
            create_cooldown: CREATE_COOLDOWN,
            idle_worker_timeout: IDLE_WORKER_TIMEOUT,
            cpu_intensive_thresh: CPU_INTENSIVE_THRESH,
        }
    }
}

/// `MAX_IDLE_WORKERS_RATIO`: keep idle workers down to a quarter of the busy ones.
pub const MAX_IDLE_WORKERS_RATIO: u32 = 4;
/// `WQ_MAX_ACTIVE`: the largest max_active.
pub const WQ_MAX_ACTIVE: u16 = 2048;
/// `WQ_DFL_ACTIVE`: max_active when none is given.
pub const WQ_DFL_ACTIVE: u16 = WQ_MAX_ACTIVE / 2;
/// `WQ_DFL_MIN_ACTIVE`: the default min_active.
pub const WQ_DFL_MIN_ACTIVE: u16 = 8;
/// `WQ_NAME_LEN`: name buffer size, NUL included, so a name has at most 31 bytes.
pub const WQ_NAME_LEN: usize = 32;
/// `WORK_NR_COLORS`: flush colours.
pub const WORK_NR_COLORS: u8 = 16;
/// `HIGHPRI_NICE_LEVEL`: nice of the high-priority pools' workers.
pub const HIGHPRI_NICE_LEVEL: i32 = -20;
/// Pools per CPU: BH, BH high-priority, normal, high-priority (kernel pool id order).
pub const POOLS_PER_CPU: u32 = 4;

pub use cmwq_rescue::RESCUER_BATCH;

/// A workqueue's id (its index in creation order; ids are never reused).
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub struct WqId(pub u32);

/// A worker's id: the "pid" the dump prints. Unique across the system; the driver picks it
/// for [`crate::Pool`] calls, [`crate::System`] allocates its own.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub struct WorkerId(pub u32);

impl fmt::Display for WorkerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Bits of a [`PwqId`] that number the pwq within its pool.
pub const PWQ_SLOT_BITS: u32 = 16;

/// The pool a pwq lives on: a [`PwqId`] encodes it (`pool << 16 | slot`), so finding the
/// lock to take for an item needs no table.
pub fn pool_of(pwq: PwqId) -> PoolId {
    PoolId(pwq.get() >> PWQ_SLOT_BITS)
}

pub(crate) fn pwq_slot(pwq: PwqId) -> usize {
    (pwq.get() & ((1 << PWQ_SLOT_BITS) - 1)) as usize
}

pub(crate) fn make_pwq_id(pool: PoolId, slot: usize) -> PwqId {
    PwqId::new((pool.0 << PWQ_SLOT_BITS) | slot as u32)
}

bitflags! {
    /// Workqueue flags (`WQ_*`), with the kernel's bit values (include/linux/workqueue.h),
    /// so a dump prints the same `flags=0x..`. The one definition: the runtime re-exports
    /// it as `cmwq::WqFlags`.
    #[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
    pub struct WqFlags: u32 {
        /// `WQ_BH`: run in bottom-half context (here: on the BH pools; the runtime, which
        /// has no softirq context, refuses it).
        const BH = 1 << 0;
        /// `WQ_UNBOUND`: items are not bound to a CPU; served by an unbound pool, whose
        /// workers are not pinned.
        const UNBOUND = 1 << 1;
        /// `WQ_FREEZABLE`: frozen during suspend (userspace has no freezer: recorded only).
        const FREEZABLE = 1 << 2;
        /// `WQ_MEM_RECLAIM`: may be used on the memory-reclaim path: owns a rescuer, so it
        /// makes forward progress even when no worker can be created.
        const MEM_RECLAIM = 1 << 3;
        /// `WQ_HIGHPRI`: served by the high-priority pools.
        const HIGHPRI = 1 << 4;
        /// `WQ_CPU_INTENSIVE`: its items don't take part in concurrency management (they
        /// never count in `nr_running`).
        const CPU_INTENSIVE = 1 << 5;
        /// `WQ_SYSFS`: visible in sysfs (recorded only).
        const SYSFS = 1 << 6;
        /// `WQ_POWER_EFFICIENT`: unbound in power-efficient mode, per-CPU otherwise
        /// (recorded only: per-CPU).
        const POWER_EFFICIENT = 1 << 7;
        /// `WQ_PERCPU`: explicitly per-CPU (the default when UNBOUND is absent).
        const PERCPU = 1 << 8;
        /// `__WQ_DESTROYING`: internal.
        const DESTROYING = 1 << 15;
        /// `__WQ_DRAINING`: internal.
        const DRAINING = 1 << 16;
        /// `__WQ_ORDERED`: internal, set by ordered workqueues.
        const ORDERED = 1 << 17;
    }
}

impl WqFlags {
    /// The flags a caller may pass (everything but the internal `__WQ_*` bits).
    pub const PUBLIC: WqFlags = WqFlags::BH
        .union(WqFlags::UNBOUND)
        .union(WqFlags::FREEZABLE)
        .union(WqFlags::MEM_RECLAIM)
        .union(WqFlags::HIGHPRI)
        .union(WqFlags::CPU_INTENSIVE)
        .union(WqFlags::SYSFS)
        .union(WqFlags::POWER_EFFICIENT)
        .union(WqFlags::PERCPU);
    /// The internal bits.
    pub const INTERNAL: WqFlags = WqFlags::DESTROYING
        .union(WqFlags::DRAINING)
        .union(WqFlags::ORDERED);
    /// What a BH workqueue may combine `WQ_BH` with (kernel `__WQ_BH_ALLOWS`).
    pub const BH_ALLOWS: WqFlags = WqFlags::BH.union(WqFlags::HIGHPRI).union(WqFlags::PERCPU);
}

bitflags! {
    /// Worker pool flags (`POOL_*`).
    #[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
    pub struct PoolFlags: u32 {
        /// `POOL_BH`: a bottom-half pool.
        const BH = 1;
        /// `POOL_MANAGER_ACTIVE`: worker creation is in progress.
        const MANAGER_ACTIVE = 2;
        /// `POOL_DISASSOCIATED`: not bound to a CPU; its workers are `WORKER_UNBOUND` (set on
        /// unbound and BH pools, as in the kernel).
        const DISASSOCIATED = 4;
    }
}

bitflags! {
    /// Worker flags (`WORKER_*`), kernel values; `RESCUER` is cmwq's own marker bit.
    #[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
    pub struct WorkerFlags: u32 {
        /// `WORKER_DIE`: culled.
        const DIE = 2;
        /// `WORKER_IDLE`: on the idle list.
        const IDLE = 4;
        /// `WORKER_PREP`: preparing to run / not running work: not counted.
        const PREP = 8;
        /// `WORKER_CPU_INTENSIVE`: ran past the cpu-intensive threshold: not counted.
        const CPU_INTENSIVE = 0x40;
        /// `WORKER_UNBOUND`: worker of an unbound pool: not counted.
        const UNBOUND = 0x80;
        /// `WORKER_REBOUND`: unused by cmwq.
        const REBOUND = 0x100;
        /// The workqueue's rescuer while attached to a pool (cmwq only).
        const RESCUER = 0x1_0000;
    }
}

impl WorkerFlags {
    /// `WORKER_NOT_RUNNING`: a worker with any of these is not counted in `nr_running`.
    pub const NOT_RUNNING: WorkerFlags = WorkerFlags::PREP
        .union(WorkerFlags::CPU_INTENSIVE)
        .union(WorkerFlags::UNBOUND)
        .union(WorkerFlags::REBOUND);
}

/// Where a queueing call comes from: the kernel lets a draining workqueue accept only
/// chained queueing (from one of its own items).
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum QueueFrom {
    /// Anything but a work item of a workqueue (or an item of an unknown one).
    Outside,
    /// A work item of this workqueue, running now (chained queueing).
    WorkOf(WqId),
}

/// Worker pool priority.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum Priority {
    /// nice 0.
    Normal,
    /// nice -20 (`WQ_HIGHPRI`).
    High,
}

impl Priority {
    /// The nice level of the pool's workers.
    pub fn nice(self) -> i32 {
        match self {
            Priority::Normal => 0,
            Priority::High => HIGHPRI_NICE_LEVEL,
        }
    }
}

/// Attributes that key an unbound pool (kernel `workqueue_attrs`, reduced to what cmwq
/// uses: every unbound pool spans all CPUs).
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub struct UnboundAttrs {
    /// The workers' nice level.
    pub nice: i32,
}

/// What kind of pool this is.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum PoolKind {
    /// A per-CPU bottom-half pool.
    Bh {
        /// Its CPU.
        cpu: u32,
        /// Its priority.
        pri: Priority,
    },
    /// A per-CPU pool.
    PerCpu {
        /// Its CPU.
        cpu: u32,
        /// Its priority.
        pri: Priority,
    },
    /// An unbound pool, shared by every unbound workqueue with these attributes.
    Unbound(UnboundAttrs),
}

impl PoolKind {
    /// The nice level of this pool's workers.
    pub fn nice(&self) -> i32 {
        match *self {
            PoolKind::Bh { pri, .. } | PoolKind::PerCpu { pri, .. } => pri.nice(),
            PoolKind::Unbound(a) => a.nice,
        }
    }

    /// The pool's CPU, for per-CPU and BH pools.
    pub fn cpu(&self) -> Option<u32> {
        match *self {
            PoolKind::Bh { cpu, .. } | PoolKind::PerCpu { cpu, .. } => Some(cpu),
            PoolKind::Unbound(_) => None,
        }
    }

    /// Whether workers of this pool are unbound (never concurrency-managed).
    pub fn is_unbound(&self) -> bool {
        matches!(self, PoolKind::Unbound(_))
    }

    /// The kernel's id of a per-CPU pool: `4 * cpu + {0: BH, 1: BH highpri, 2: normal,
    /// 3: highpri}`. Unbound pools are numbered after them by whoever creates them (`None`).
    pub fn percpu_pool_id(&self) -> Option<PoolId> {
        let (cpu, base, pri) = match *self {
            PoolKind::Bh { cpu, pri } => (cpu, 0, pri),
            PoolKind::PerCpu { cpu, pri } => (cpu, 2, pri),
            PoolKind::Unbound(_) => return None,
        };
        Some(PoolId(
            cpu * POOLS_PER_CPU + base + u32::from(pri == Priority::High),
        ))
    }
}

/// Per-pwq statistics (`enum pool_workqueue_stats`, kernel order), plus cmwq's count of
/// worklist nodes the rescuer policy visited.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct PwqStats {
    /// `PWQ_STAT_STARTED`.
    pub started: u64,
    /// `PWQ_STAT_COMPLETED`.
    pub completed: u64,
    /// `PWQ_STAT_CPU_TIME`, in nanoseconds (as reported by the driver at work_done).
    pub cpu_time_ns: u64,
    /// `PWQ_STAT_CPU_INTENSIVE`.
    pub cpu_intensive: u64,
    /// `PWQ_STAT_CM_WAKEUP`.
    pub cm_wakeup: u64,
    /// `PWQ_STAT_REPATRIATED` (always 0: cmwq does not rebind workers).
    pub repatriated: u64,
    /// `PWQ_STAT_MAYDAY`: maydays sent for this pwq.
    pub mayday: u64,
    /// `PWQ_STAT_RESCUED`: items the rescuer took from this pwq.
    pub rescued: u64,
    /// Worklist nodes the rescuer policy visited for this pwq (cmwq only).
    pub rescue_nodes_visited: u64,
}

impl PwqStats {
    /// The eight kernel counters in kernel order (CPU time in ns).
    pub fn as_array(&self) -> [u64; 8] {
        [
            self.started,
            self.completed,
            self.cpu_time_ns,
            self.cpu_intensive,
            self.cm_wakeup,
            self.repatriated,
            self.mayday,
            self.rescued,
        ]
    }

    /// Field-wise sum.
    #[must_use]
    pub fn add(&self, o: &PwqStats) -> PwqStats {
        PwqStats {
            started: self.started + o.started,
            completed: self.completed + o.completed,
            cpu_time_ns: self.cpu_time_ns + o.cpu_time_ns,
            cpu_intensive: self.cpu_intensive + o.cpu_intensive,
            cm_wakeup: self.cm_wakeup + o.cm_wakeup,
            repatriated: self.repatriated + o.repatriated,
            mayday: self.mayday + o.mayday,
            rescued: self.rescued + o.rescued,
            rescue_nodes_visited: self.rescue_nodes_visited + o.rescue_nodes_visited,
        }
    }
}
