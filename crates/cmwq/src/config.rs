//! The runtime's tunables, with the kernel's values as defaults.

use std::time::Duration;

use cmwq_pool::{KernelClock, TimerModel};

/// Whether per-CPU pools pin their workers to their CPU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Affinity {
    /// Pin each per-CPU pool's workers to that CPU where the OS allows (the kernel's
    /// behaviour). Unbound pools are never pinned.
    #[default]
    PinPerCpu,
    /// Pin nothing (useful when the runtime's CPU count is not the machine's).
    Free,
}

/// Timings of the runtime. Defaults are the kernel's; tests shorten them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Timings {
    /// `MAYDAY_INITIAL_TIMEOUT`: how long a pool tries to create a worker before calling
    /// the rescuers.
    pub mayday_initial_timeout: Duration,
    /// `MAYDAY_INTERVAL`: how often maydays are re-sent while creation still fails.
    pub mayday_interval: Duration,
    /// `CREATE_COOLDOWN`: wait between failed worker creations.
    pub create_cooldown: Duration,
    /// `IDLE_WORKER_TIMEOUT`: how long surplus idle workers live.
    pub idle_worker_timeout: Duration,
    /// `wq_cpu_intensive_thresh_us`: an item running longer stops counting in
    /// `nr_running` (CPU_INTENSIVE).
    pub cpu_intensive_thresh: Duration,
    /// The lockup watchdog's threshold (`wq_watchdog_thresh`); `None` turns it off.
    pub watchdog_thresh: Option<Duration>,
    /// How the core's timer deadlines land: exactly ([`TimerModel::Exact`], the default),
    /// or where a kernel's timer wheel would fire them ([`TimerModel::Kernel`]; see
    /// [`Timings::kernel`]).
    pub timer: TimerModel,
}

impl Default for Timings {
    fn default() -> Self {
        Timings {
            mayday_initial_timeout: Duration::from_millis(10),
            mayday_interval: Duration::from_millis(100),
            create_cooldown: Duration::from_secs(1),
            idle_worker_timeout: Duration::from_secs(300),
            cpu_intensive_thresh: Duration::from_millis(10),
            watchdog_thresh: Some(Duration::from_secs(30)),
            timer: TimerModel::Exact,
        }
    }
}

impl Timings {
    /// A kernel's timings: the workqueue constants as that kernel's jiffy counts
    /// (`MAYDAY_INITIAL_TIMEOUT` is 2 jiffies, 8 ms, at HZ=250) and timers that fire on its
    /// timer wheel (the 1 s creation cooldown after 1.024 s at HZ=250), so a run on real
    /// threads can be held against a kernel's figures. The watchdog keeps its default.
    pub fn kernel(clock: KernelClock) -> Self {
        let t = clock.pool_timings();
        let d = Duration::from_nanos;
        Timings {
            mayday_initial_timeout: d(t.mayday_initial_timeout),
            mayday_interval: d(t.mayday_interval),
            create_cooldown: d(t.create_cooldown),
            idle_worker_timeout: d(t.idle_worker_timeout),
            cpu_intensive_thresh: d(t.cpu_intensive_thresh),
            timer: TimerModel::Kernel(clock),
            ..Timings::default()
        }
    }

    /// The core's view (nanoseconds).
    pub(crate) fn to_core(self) -> cmwq_pool::PoolTimings {
        let ns = |d: Duration| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        let mut t = cmwq_pool::PoolTimings::default();
        t.mayday_initial_timeout = ns(self.mayday_initial_timeout);
        t.mayday_interval = ns(self.mayday_interval);
        t.create_cooldown = ns(self.create_cooldown);
        t.idle_worker_timeout = ns(self.idle_worker_timeout);
        t.cpu_intensive_thresh = ns(self.cpu_intensive_thresh);
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_runtime_keeps_exact_timers_unless_asked_for_a_kernels_clock() {
        assert_eq!(Timings::default().timer, TimerModel::Exact);
        let k = Timings::kernel(KernelClock::HZ_250);
        assert_eq!(k.timer, TimerModel::Kernel(KernelClock::HZ_250));
        // MAYDAY_INITIAL_TIMEOUT = max(HZ / 100, 2) jiffies: 8 ms at HZ=250, not 10 ms.
        assert_eq!(k.mayday_initial_timeout, Duration::from_millis(8));
        assert_eq!(k.create_cooldown, Duration::from_secs(1));
        assert_eq!(k.to_core(), KernelClock::HZ_250.pool_timings());
    }
}
