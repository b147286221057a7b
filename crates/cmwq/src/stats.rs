//! Monitoring counters (the kernel's pwq stats, summed per workqueue).

/// A workqueue's counters, in the kernel's order (`PWQ_STAT_*`), plus caught panics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WorkqueueStats {
    /// Items started (`STARTED`).
    pub started: u64,
    /// Items completed (`COMPLETED`).
    pub completed: u64,
    /// Wall-clock time spent running items, in nanoseconds: the kernel's `CPU_TIME`
    /// counter, measured here as each item's run time from the worker's lock hold that
    /// handed it out to its end, time blocked inside the item included. It is not CPU
    /// time: the runtime reads no thread CPU clock per item (on Linux
    /// `CLOCK_THREAD_CPUTIME_ID` is a system call, which costs about as much as queueing
    /// and running a small item). The same value is the `CPUtime` column of
    /// [`Runtime::wq_monitor`](crate::Runtime::wq_monitor).
    pub wall_time_ns: u64,
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
        self.wall_time_ns += s.cpu_time_ns;
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
