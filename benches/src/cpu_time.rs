//! The process's CPU time: every thread's user and system time together.
//!
//! A throughput run reads it before releasing its producers and after its last item, so
//! the difference is what the whole run cost in CPU: producers, workers, any thread a
//! side keeps spinning or waking, and the side's own helpers (timers, watchdogs).

use std::time::Duration;

/// CPU time consumed by every thread of this process so far
/// (`clock_gettime(CLOCK_PROCESS_CPUTIME_ID)`); `None` where the clock is unavailable.
pub fn process_cpu_time() -> Option<Duration> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable `timespec` for the duration of the call, and
    // CLOCK_PROCESS_CPUTIME_ID is a clock id POSIX defines; the call writes nothing else.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return None;
    }
    let secs = u64::try_from(ts.tv_sec).ok()?;
    let nanos = u32::try_from(ts.tv_nsec).ok()?;
    Some(Duration::new(secs, nanos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn process_cpu_time_grows_with_work_done() {
        let before = process_cpu_time().expect("a process CPU clock");
        // Spin until the clock moves: CPU time only grows while this thread runs.
        let mut x = 0u64;
        let after = loop {
            for i in 0..10_000u64 {
                x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
            }
            let now = process_cpu_time().expect("a process CPU clock");
            if now > before {
                break now;
            }
        };
        assert!(after > before);
    }
}
