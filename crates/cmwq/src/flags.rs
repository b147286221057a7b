//! Workqueue flags and limits.

/// A workqueue's flags, with the kernel's bit values (`WQ_*` in include/linux/workqueue.h):
/// the core's one type (cmwq-pool's), so a dump prints the same `flags=0x..`. The internal
/// `__WQ_*` bits ([`WqFlags::INTERNAL`]) are refused by the builder.
pub use cmwq_pool::WqFlags;

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
