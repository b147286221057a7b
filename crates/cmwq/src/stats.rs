//! Monitoring counters (the kernel's pwq stats, summed per workqueue).

/// A workqueue's counters, in the kernel's order (`PWQ_STAT_*`), plus caught panics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WorkqueueStats {
    /// Items started (`STARTED`).
    pub started: u64,
    /// Items completed (`COMPLETED`).
    pub completed: u64,
    /// Time spent running items, in nanoseconds (`CPU_TIME`; cmwq measures wall time).
    pub cpu_time_ns: u64,
    /// Items that crossed the cpu-intensive threshold (`CPU_INTENSIVE`).
    pub cpu_intensive: u64,
    /// Concurrency-management wake-ups (`CM_WAKEUP`).
    pub cm_wakeup: u64,
    /// Unbound items repatriated (`REPATRIATED`).
    pub repatriated: u64,
    /// Maydays sent (`MAYDAY`).
    pub mayday: u64,
    /// Items run by the rescuer (`RESCUED`).
    pub rescued: u64,
    /// Work functions that panicked (caught).
    pub panics: u64,
}

impl WorkqueueStats {
    pub(crate) fn add_core(&mut self, s: &cmwq_pool::PwqStats) {
        self.started += s.started;
        self.completed += s.completed;
        self.cpu_time_ns += s.cpu_time_ns;
        self.cpu_intensive += s.cpu_intensive;
        self.cm_wakeup += s.cm_wakeup;
        self.repatriated += s.repatriated;
        self.mayday += s.mayday;
        self.rescued += s.rescued;
    }

    /// Items started and not yet completed (`infl`).
    pub fn in_flight(&self) -> u64 {
        self.started.saturating_sub(self.completed)
    }
}
