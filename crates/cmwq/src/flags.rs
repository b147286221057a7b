//! Workqueue flags and the rescuer policy choice.

bitflags::bitflags! {
    /// A workqueue's flags, with the kernel's bit values (`WQ_*` in
    /// include/linux/workqueue.h), so a dump prints the same `flags=0x..`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct WqFlags: u32 {
        /// Bottom-half workqueue. Userspace has no softirq context: refused at build time.
        const BH = 1 << 0;
        /// Items are not bound to a CPU; served by unbound pools, whose workers are not pinned.
        const UNBOUND = 1 << 1;
        /// Freezable across suspend. Userspace has no freezer: accepted, has no effect.
        const FREEZABLE = 1 << 2;
        /// May be used on the memory-reclaim path: owns a rescuer thread, so it makes
        /// forward progress even when no worker can be created.
        const MEM_RECLAIM = 1 << 3;
        /// Served by the high-priority pools.
        const HIGHPRI = 1 << 4;
        /// Items do not take part in concurrency management (they never count in
        /// `nr_running`), as if each one were marked CPU_INTENSIVE when it starts.
        const CPU_INTENSIVE = 1 << 5;
        /// Visible in sysfs in the kernel. Accepted, has no effect.
        const SYSFS = 1 << 6;
        /// Unbound when power saving is asked for; per-CPU otherwise (cmwq: per-CPU).
        const POWER_EFFICIENT = 1 << 7;
        /// Explicitly per-CPU (the default when UNBOUND is absent).
        const PERCPU = 1 << 8;
    }
}

/// `WQ_BH`.
pub const WQ_BH: WqFlags = WqFlags::BH;
/// `WQ_UNBOUND`.
pub const WQ_UNBOUND: WqFlags = WqFlags::UNBOUND;
/// `WQ_FREEZABLE`.
pub const WQ_FREEZABLE: WqFlags = WqFlags::FREEZABLE;
/// `WQ_MEM_RECLAIM`.
pub const WQ_MEM_RECLAIM: WqFlags = WqFlags::MEM_RECLAIM;
/// `WQ_HIGHPRI`.
pub const WQ_HIGHPRI: WqFlags = WqFlags::HIGHPRI;
/// `WQ_CPU_INTENSIVE`.
pub const WQ_CPU_INTENSIVE: WqFlags = WqFlags::CPU_INTENSIVE;
/// `WQ_SYSFS`.
pub const WQ_SYSFS: WqFlags = WqFlags::SYSFS;
/// `WQ_POWER_EFFICIENT`.
pub const WQ_POWER_EFFICIENT: WqFlags = WqFlags::POWER_EFFICIENT;
/// `WQ_PERCPU`.
pub const WQ_PERCPU: WqFlags = WqFlags::PERCPU;

/// `WQ_MAX_ACTIVE`: the largest max_active.
pub const WQ_MAX_ACTIVE: u32 = 2048;
/// `WQ_DFL_ACTIVE`: max_active when 0 is given.
pub const WQ_DFL_ACTIVE: u32 = WQ_MAX_ACTIVE / 2;
/// `WQ_NAME_LEN`: a name is at most `WQ_NAME_LEN - 1` bytes.
pub const WQ_NAME_LEN: usize = 32;

/// `work_busy()` bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WorkBusy {
    /// `WORK_BUSY_PENDING`: queued (or waiting on its delay timer), not yet started.
    pub pending: bool,
    /// `WORK_BUSY_RUNNING`: a worker is running it.
    pub running: bool,
}

impl WorkBusy {
    /// The kernel's encoding: PENDING = 1, RUNNING = 2.
    pub fn bits(self) -> u32 {
        u32::from(self.pending) | (u32::from(self.running) << 1)
    }
}

impl WqFlags {
    pub(crate) fn to_core(self) -> cmwq_pool::WqFlags {
        cmwq_pool::WqFlags::from_bits_truncate(self.bits())
    }
}
