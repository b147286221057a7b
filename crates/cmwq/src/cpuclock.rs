//! The worker threads' CPU clocks, as the cpu-intensive tick reads them.
//!
//! The kernel's `wq_worker_tick` compares the CPU time a worker consumed since its item
//! started (or it last woke: `current_at`, reset by `wq_worker_running`) with
//! `wq_cpu_intensive_thresh_us`, reading the task's `se.sum_exec_runtime`. The runtime's
//! tick reads the same number for each running worker, from the timer thread, in
//! `/proc/self/task/TID/schedstat` (as of the thread's last scheduler tick or switch), so a
//! worker pays nothing per item for it; the estimate is explained at [`CpuSamples`].
//!
//! A userspace runtime sees only the sleeps a work function declares (a blocking scope);
//! the kernel's scheduler sees every one. So the tick also asks the OS whether a worker
//! whose item has run past the threshold in wall time, but not in CPU time, is asleep
//! (its state in `/proc/self/task/TID/stat`): such an undeclared sleep is taken as the
//! kernel takes any sleep, as the end of the item's claim on its pool's concurrency
//! (see crates/cmwq/SLEEP.md). A worker that is runnable but waiting for a CPU (a busy
//! machine) consumes no CPU time and, as in the kernel, does not cross.
//!
//! Where the OS offers neither (no `/proc`), the tick uses wall time, an upper bound of the
//! CPU time.

use std::collections::HashMap;

use cmwq_pool::WorkerId;

/// One thread of this process, as `/proc` names it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ThreadClock {
    tid: u32,
}

impl ThreadClock {
    /// The calling thread's clock, or `None` where the OS has no `/proc` to read it from.
    pub(crate) fn current() -> Option<Self> {
        // "/proc/thread-self" links to "PID/task/TID".
        let link = std::fs::read_link("/proc/thread-self").ok()?;
        let tid = link.file_name()?.to_str()?.parse().ok()?;
        let c = ThreadClock { tid };
        c.cpu_ns().map(|_| c)
    }

    /// The CPU time the thread has consumed (the kernel's `sum_exec_runtime`), in
    /// nanoseconds; `None` if it cannot be read (the thread has exited).
    pub(crate) fn cpu_ns(&self) -> Option<u64> {
        let s = std::fs::read_to_string(format!("/proc/self/task/{}/schedstat", self.tid)).ok()?;
        s.split_ascii_whitespace().next()?.parse().ok()
    }

    /// Whether the OS has the thread asleep (any state but running or runnable): what the
    /// kernel's scheduler would report to the workqueue as `wq_worker_sleeping`.
    pub(crate) fn asleep(&self) -> bool {
        std::fs::read_to_string(format!("/proc/self/task/{}/stat", self.tid))
            .ok()
            .and_then(|s| stat_state(&s))
            .is_some_and(|st| st != 'R')
    }
}

/// The state letter of a `/proc/PID/task/TID/stat` line: the first field after the
/// command name, which is parenthesised and may itself hold spaces and parentheses.
fn stat_state(stat: &str) -> Option<char> {
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.trim_start().chars().next()
}

/// What the tick last saw of one worker.
#[derive(Clone, Copy, Debug)]
struct Sample {
    /// The item (its address) and its start or last wake-up (the core's clock).
    key: (usize, u64),
    /// The thread's CPU clock at that tick.
    cpu_at: u64,
    /// The CPU time charged to the item up to that tick.
    ran: u64,
}

/// The tick's record of each running worker, for charging CPU time to items without a
/// clock read on the worker per item.
///
/// At each tick a worker's thread CPU clock is read once. For an item the tick saw at
/// the previous tick, the item is charged what the thread consumed since then. For an
/// item it sees for the first time, its start is not known in CPU time; it is charged
/// what the thread consumed since the last tick that read it (its whole life if none),
/// but no more than the item's wall time since it started: an upper bound that is exact
/// for an item that has run on a CPU all along, and that crosses the threshold at most
/// one tick early for one that started right after a busy one.
#[derive(Debug, Default)]
pub(crate) struct CpuSamples {
    samples: HashMap<WorkerId, Sample>,
}

impl CpuSamples {
    /// Charge the item `key` on worker `w`, whose thread's clock reads `cpu` now and
    /// which has run for `wall` since `key.1`; returns its CPU time so far.
    fn charge(&mut self, w: WorkerId, key: (usize, u64), cpu: u64, wall: u64) -> u64 {
        let ran = match self.samples.get(&w) {
            Some(s) if s.key == key => s.ran + cpu.saturating_sub(s.cpu_at),
            Some(s) => cpu.saturating_sub(s.cpu_at).min(wall),
            None => cpu.min(wall),
        };
        self.samples.insert(
            w,
            Sample {
                key,
                cpu_at: cpu,
                ran,
            },
        );
        ran
    }

    /// What the tick feeds the core for the item `key` on worker `w`, which has run for
    /// `wall` since `key.1`: its CPU time; its wall time where the thread has no readable
    /// clock, or where the OS has the thread asleep past `thresh` (in wall time, not yet
    /// in CPU time) outside any blocking scope: the sleep the kernel's scheduler would
    /// have seen.
    pub(crate) fn item_time(
        &mut self,
        w: WorkerId,
        key: (usize, u64),
        clock: Option<ThreadClock>,
        wall: u64,
        thresh: u64,
    ) -> u64 {
        let Some((c, cpu)) = clock.and_then(|c| c.cpu_ns().map(|cpu| (c, cpu))) else {
            return wall;
        };
        let ran = self.charge(w, key, cpu, wall);
        if ran < thresh && wall >= thresh && c.asleep() {
            wall
        } else {
            ran
        }
    }

    /// Forget the workers not in `running` (idle or gone since).
    pub(crate) fn retain(&mut self, running: impl Fn(WorkerId) -> bool) {
        self.samples.retain(|&w, _| running(w));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_state_follows_the_last_parenthesis() {
        assert_eq!(stat_state("12 (kworker/0:1) S 1 2 3"), Some('S'));
        assert_eq!(stat_state("12 (a) b) (c) R 1"), Some('R'));
        assert_eq!(stat_state("12 no parens"), None);
    }

    #[test]
    fn an_item_seen_again_is_charged_what_its_thread_consumed_since() {
        let mut s = CpuSamples::default();
        let w = WorkerId(1);
        // First sighting: the thread's 50 ms of CPU life is bounded by the item's 4 ms.
        assert_eq!(s.charge(w, (0x10, 100), 50_000_000, 4_000_000), 4_000_000);
        // Seen again: +3 ms of CPU over 10 ms of wall time (it waited for a CPU).
        assert_eq!(s.charge(w, (0x10, 100), 53_000_000, 14_000_000), 7_000_000);
        // A new item: at most what the thread consumed since the last sample.
        assert_eq!(s.charge(w, (0x20, 900), 54_000_000, 9_000_000), 1_000_000);
        // The same item after a wake-up is a new key: its charge starts again.
        assert_eq!(s.charge(w, (0x20, 950), 54_500_000, 100_000), 100_000);
    }

    #[test]
    fn forgotten_workers_start_from_their_whole_life_again() {
        let mut s = CpuSamples::default();
        let w = WorkerId(2);
        s.charge(w, (0x10, 0), 1_000, 1_000);
        s.retain(|_| false);
        assert_eq!(s.charge(w, (0x10, 0), 9_000, 20_000), 9_000);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn this_thread_has_a_cpu_clock_and_is_not_asleep() {
        let c = ThreadClock::current().expect("Linux has /proc/thread-self");
        let a = c.cpu_ns().expect("readable");
        // The clock is as of the thread's last scheduler tick or switch: spin until it
        // has moved (a yield is a switch).
        let mut x = 0u64;
        while c.cpu_ns().expect("readable") == a {
            for i in 0..100_000u64 {
                x = std::hint::black_box(x.wrapping_add(i));
            }
            std::thread::yield_now();
        }
        assert!(!c.asleep(), "the thread reading its own state is running");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_thread_parked_on_a_channel_is_asleep() {
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let (ctx, crx) = std::sync::mpsc::channel();
        let h = std::thread::spawn(move || {
            ctx.send(ThreadClock::current().expect("clock")).unwrap();
            rx.recv().unwrap();
        });
        let c = crx.recv().unwrap();
        // The thread is about to block or blocked in recv: wait until the OS says so.
        while !c.asleep() {
            std::thread::yield_now();
        }
        tx.send(()).unwrap();
        h.join().unwrap();
    }
}
