//! The kernel's clock: jiffies at `HZ` and the timer wheel's rounding, as a pure function
//! from "armed at `now` for `at`" to "fires at", for drivers that want their timers to land
//! where a kernel's would.
//!
//! The core asks for timers as nanosecond deadlines (`Action::ArmMaydayTimer { at }` and
//! friends, computed as `now + timeout`). A kernel counts in jiffies, ticks of `1/HZ`
//! seconds, and its workqueue constants are jiffy counts (kernel/workqueue.c:
//! `MAYDAY_INITIAL_TIMEOUT = HZ / 100 >= 2 ? HZ / 100 : 2`, `MAYDAY_INTERVAL = HZ / 10`,
//! `CREATE_COOLDOWN = HZ`, `IDLE_WORKER_TIMEOUT = 300 * HZ`). A timer armed for
//! `expires = jiffies + timeout` then lands in a bucket of the timer wheel
//! (kernel/time/timer.c, `calc_wheel_index()` / `calc_index()`):
//!
//! - the wheel has `LVL_DEPTH` levels (9 for `HZ > 100`, else 8) of 64 buckets; level `n`
//!   has a granularity of `8^n` jiffies and takes timers whose distance `expires - clk`
//!   is below `LVL_START(n + 1) = 63 << (3 * n)`;
//! - a timer never fires early, so its expiry is rounded *up* to its level's granularity,
//!   one granule past the truncated expiry: `bucket_expiry = ((expires >> 3n) + 1) << 3n`
//!   (at level 0 that is one jiffy after `expires`);
//! - distances beyond the wheel's capacity (`WHEEL_TIMEOUT_CUTOFF`) are clamped to
//!   `WHEEL_TIMEOUT_MAX`.
//!
//! With `HZ = 250` (4 ms a jiffy) the 1 s creation cooldown (250 jiffies, level 1) fires
//! after 256 jiffies, 1.024 s; the 100 ms mayday interval (25 jiffies, level 0) after 26,
//! 104 ms; the 10 ms initial mayday timeout is 2 jiffies and fires after 3, 12 ms.
//!
//! [`TimerModel::Exact`] (the runtime's default) keeps deadlines as the core computed
//! them. [`TimerModel::Kernel`] rounds them as above; use it together with
//! [`KernelClock::pool_timings`], the workqueue constants as that kernel's jiffy counts.

use crate::types::{CPU_INTENSIVE_THRESH, PoolTimings};

const NSEC_PER_SEC: u64 = 1_000_000_000;
/// `LVL_CLK_SHIFT`: each level is 8 times coarser than the one below.
const LVL_CLK_SHIFT: u32 = 3;
/// `LVL_BITS`: 64 buckets a level.
const LVL_BITS: u32 = 6;
const LVL_SIZE: u64 = 1 << LVL_BITS;

/// What was wrong with a kernel clock's configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ClockError {
    /// `HZ` must be between 1 and 1 000 000 000 (the kernel offers 100, 250, 300, 1000).
    #[error(
        "HZ {0} is out of range: expected 1..=1000000000 (a kernel offers 100, 250, 300 or 1000)"
    )]
    Hz(u32),
}

/// A kernel's tick: `HZ` jiffies a second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KernelClock {
    hz: u32,
}

impl KernelClock {
    /// `CONFIG_HZ=250`, the default of most distribution kernels.
    pub const HZ_250: KernelClock = KernelClock { hz: 250 };

    /// A clock of `hz` ticks a second.
    pub fn new(hz: u32) -> Result<Self, ClockError> {
        if hz == 0 || u64::from(hz) > NSEC_PER_SEC {
            return Err(ClockError::Hz(hz));
        }
        Ok(Self { hz })
    }

    /// Its `HZ`.
    pub fn hz(&self) -> u32 {
        self.hz
    }

    /// `TICK_NSEC`: nanoseconds a jiffy, `(NSEC_PER_SEC + HZ / 2) / HZ`.
    pub fn tick_ns(&self) -> u64 {
        let hz = u64::from(self.hz);
        (NSEC_PER_SEC + hz / 2) / hz
    }

    /// The jiffies counter at `ns` (the clock started at jiffy 0 at time 0).
    pub fn jiffies(&self, ns: u64) -> u64 {
        ns / self.tick_ns()
    }

    /// A duration as whole jiffies, rounded up (`nsecs_to_jiffies`-like; a duration that is
    /// a whole number of jiffies stays exact).
    pub fn to_jiffies(&self, ns: u64) -> u64 {
        ns.div_ceil(self.tick_ns())
    }

    /// `LVL_DEPTH`: levels of the wheel.
    fn depth(&self) -> u32 {
        if self.hz > 100 { 9 } else { 8 }
    }

    /// `calc_wheel_index()`'s bucket expiry, in jiffies, of a timer with expiry `expires`
    /// armed when the wheel's clock reads `clk`.
    pub fn bucket_expiry(&self, expires: u64, clk: u64) -> u64 {
        let depth = self.depth();
        let lvl_start = |n: u32| (LVL_SIZE - 1) << ((n - 1) * LVL_CLK_SHIFT);
        let lvl_gran = |n: u32| 1u64 << (n * LVL_CLK_SHIFT);
        let cutoff = lvl_start(depth);
        let wheel_timeout_max = cutoff - lvl_gran(depth - 1);
        if expires < clk {
            // Already due: the bucket of the wheel's current clock.
            return clk;
        }
        let delta = expires - clk;
        let (expires, lvl) = match (1..depth).find(|&n| delta < lvl_start(n)) {
            Some(n) => (expires, n - 1),
            // Force expire obscene large timeouts at the capacity limit of the wheel.
            None if delta >= cutoff => (clk + wheel_timeout_max, depth - 1),
            None => (expires, depth - 1),
        };
        let shift = lvl * LVL_CLK_SHIFT;
        // calc_index(): round up with the level's granularity so the timer never fires
        // early.
        ((expires >> shift) + 1) << shift
    }

    /// When a timer armed at `now` (ns) for the deadline `at` (ns) fires on this kernel:
    /// `expires = jiffies(now) + to_jiffies(at - now)`, placed on the wheel, converted back
    /// to nanoseconds.
    pub fn expiry(&self, now: u64, at: u64) -> u64 {
        let clk = self.jiffies(now);
        let expires = clk + self.to_jiffies(at.saturating_sub(now));
        self.bucket_expiry(expires, clk)
            .saturating_mul(self.tick_ns())
    }

    /// The workqueue's time constants as this kernel has them, jiffy counts in
    /// nanoseconds: `MAYDAY_INITIAL_TIMEOUT` `max(HZ / 100, 2)`, `MAYDAY_INTERVAL`
    /// `HZ / 10`, `CREATE_COOLDOWN` `HZ`, `IDLE_WORKER_TIMEOUT` `300 * HZ` jiffies. The
    /// cpu-intensive threshold is kept in microseconds by the kernel and stays 10 ms.
    pub fn pool_timings(&self) -> PoolTimings {
        let hz = u64::from(self.hz);
        let tick = self.tick_ns();
        let initial = if hz / 100 >= 2 { hz / 100 } else { 2 };
        PoolTimings {
            mayday_initial_timeout: initial * tick,
            mayday_interval: (hz / 10).max(1) * tick,
            create_cooldown: hz * tick,
            idle_worker_timeout: 300 * hz * tick,
            cpu_intensive_thresh: CPU_INTENSIVE_THRESH,
        }
    }
}

/// How a driver turns the core's timer deadlines into firing times.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TimerModel {
    /// Fire exactly at the deadline the core computed.
    #[default]
    Exact,
    /// Fire where a kernel of this `HZ` would: on its timer wheel
    /// ([`KernelClock::expiry`]).
    Kernel(KernelClock),
}

impl TimerModel {
    /// When a timer armed at `now` for the deadline `at` fires (both in nanoseconds).
    pub fn expiry(&self, now: u64, at: u64) -> u64 {
        match self {
            TimerModel::Exact => at,
            TimerModel::Kernel(clock) => clock.expiry(now, at),
        }
    }

    /// The pool timings that go with this model: the kernel's own constants for
    /// [`TimerModel::Kernel`], `default` otherwise.
    pub fn pool_timings(&self, default: PoolTimings) -> PoolTimings {
        match self {
            TimerModel::Exact => default,
            TimerModel::Kernel(clock) => clock.pool_timings(),
        }
    }
}
