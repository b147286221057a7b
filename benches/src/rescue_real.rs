//! The reported case on real threads, for the `rescue_real` bench.
//!
//! A one-CPU cmwq runtime whose worker creation fails while a [`FailSwitch`] is on (the
//! pressure window). A `WQ_MEM_RECLAIM` workqueue gets one blocker item, which blocks
//! (inside [`cmwq::blocking`]) until it is released, and siblings queued behind it. The
//! rescuer takes the blocker. Pressure ends; later the blocker is released. What the case
//! measures is how long after pressure ended the last sibling finished:
//!
//! - under Slurp the rescuer took the siblings along with the blocker, so they finish
//!   only after it is released;
//! - under Cursor they stay on the worklist and run on the worker the pool creates at
//!   its first creation retry after pressure ends.
//!
//! The shape is the simulator's reported case (`cmwq_sim::library::reported_case`), with
//! the kernel's timings scaled down ten times so a run takes a fraction of a second:
//! MAYDAY_INITIAL_TIMEOUT 1 ms, MAYDAY_INTERVAL 10 ms, CREATE_COOLDOWN 100 ms. The window
//! ends half-way between two creation retries, so the Cursor figure shows the wait for the
//! retry rather than the luck of a tie.

use std::sync::Arc;
use std::time::{Duration, Instant};

use cmwq::{
    FailSwitch, FailurePlan, Policy, Runtime, SpawnError, SpawnRequest, Spawner, ThreadBody,
    ThreadRole, ThreadSpawner, Timings, WQ_MEM_RECLAIM, Work, WorkItem,
};
use parking_lot::{Condvar, Mutex};

/// How long any wait of the case may take before it is reported as a hang.
const GUARD: Duration = Duration::from_secs(30);

/// A failed run of the case.
#[derive(Debug, thiserror::Error)]
pub enum RealCaseError {
    /// The runtime or the workqueue could not be built.
    #[error("could not build the runtime or workqueue: {0}")]
    Build(#[from] cmwq::BuildError),
    /// Something the case waits for did not happen within the guard time.
    #[error("the reported case hung: {what} did not happen within {GUARD:?}")]
    Hung {
        /// What was waited for.
        what: &'static str,
    },
}

/// The case's parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RealCase {
    /// The runtime's timings.
    pub timings: Timings,
    /// How long worker creation fails, from the moment every item is queued.
    pub window: Duration,
    /// How long the blocker keeps blocking after the window ends.
    pub blocker_after_window: Duration,
    /// Sibling items queued behind the blocker.
    pub siblings: usize,
    /// How long each sibling runs (busy, not sleeping).
    pub sibling_run: Duration,
}

impl RealCase {
    /// The reported case with the kernel's timings scaled down ten times (see the module
    /// docs): a window of 1.5 creation cooldowns, the blocker held 2.5 cooldowns past it,
    /// 8 siblings of 0.2 ms.
    pub fn scaled_reported_case() -> Self {
        let cooldown = Duration::from_millis(100);
        Self {
            timings: {
                let mut v = Timings::default();
                v.mayday_initial_timeout = Duration::from_millis(1);
                v.mayday_interval = Duration::from_millis(10);
                v.create_cooldown = cooldown;
                v.watchdog_thresh = None;
                v
            },
            window: cooldown * 3 / 2,
            blocker_after_window: cooldown * 5 / 2,
            siblings: 8,
            sibling_run: Duration::from_micros(200),
        }
    }

    /// Runs the case once under `policy`.
    pub fn run(&self, policy: Policy) -> Result<RealOutcome, RealCaseError> {
        let pressure = FailSwitch::failing();
        let rescuer_gate = Arc::new(Gate::default());
        let spawner = GatedRescuer {
            inner: ThreadSpawner::new().failure(FailurePlan::Switch(pressure.clone())),
            gate: Arc::clone(&rescuer_gate),
        };
        let rt = Runtime::builder()
            .nr_cpus(1)
            .affinity(cmwq::Affinity::Free)
            .timings(self.timings)
            .spawner(spawner)
            .build()?;
        let wq = rt
            .workqueue("xfs-conv/sda1")
            .flags(WQ_MEM_RECLAIM)
            .rescuer(policy)
            .build()?;
        let release = Arc::new(Gate::default());
        let done = Arc::new(Countdown::new(self.siblings));
        let blocker = Arc::new(Blocker {
            work: Work::new(),
            release: Arc::clone(&release),
        });
        let queued = wq.queue_work(blocker);
        let siblings: Vec<_> = (0..self.siblings)
            .map(|_| {
                Arc::new(Sibling {
                    work: Work::new(),
                    run: self.sibling_run,
                    done: Arc::clone(&done),
                })
            })
            .collect();
        let all_queued = queued.is_ok() && siblings.into_iter().all(|s| wq.queue_work(s).is_ok());
        // Every item is queued before the rescuer may look at the worklist.
        rescuer_gate.open();
        let start = Instant::now();
        let result = if all_queued {
            std::thread::sleep(self.window);
            pressure.stop_failing();
            let window_end = Instant::now();
            let release_at = window_end + self.blocker_after_window;
            // Wait for the siblings until the blocker's time is up, then release it.
            let early = done.wait_until(release_at);
            release.open();
            let finished = match early {
                Some(t) => Some(t),
                None => done.wait_until(Instant::now() + GUARD),
            };
            finished
                .map(|t| RealOutcome {
                    stall: t.saturating_duration_since(window_end),
                    siblings_before_release: early.is_some(),
                })
                .ok_or(RealCaseError::Hung {
                    what: "the siblings' completion",
                })
        } else {
            Err(RealCaseError::Hung {
                what: "queueing fresh items",
            })
        };
        release.open();
        debug_assert!(start.elapsed() < GUARD * 3);
        drop(wq); // drains: every item has run
        drop(rt);
        result
    }
}

/// What one run of the case measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RealOutcome {
    /// From the end of the pressure window until the last sibling finished (zero if they
    /// finished within it).
    pub stall: Duration,
    /// Whether the siblings all finished while the blocker was still blocked.
    pub siblings_before_release: bool,
}

/// A one-shot gate: closed until opened.
#[derive(Debug, Default)]
struct Gate {
    open: Mutex<bool>,
    cv: Condvar,
}

impl Gate {
    fn open(&self) {
        *self.open.lock() = true;
        self.cv.notify_all();
    }

    fn wait(&self) {
        let mut open = self.open.lock();
        while !*open {
            self.cv.wait(&mut open);
        }
    }
}

/// Counts siblings down; remembers when the last one finished.
#[derive(Debug)]
struct Countdown {
    state: Mutex<(usize, Option<Instant>)>,
    cv: Condvar,
}

impl Countdown {
    fn new(n: usize) -> Self {
        Self {
            state: Mutex::new((n, (n == 0).then(Instant::now))),
            cv: Condvar::new(),
        }
    }

    fn count_down(&self) {
        let mut s = self.state.lock();
        s.0 = s.0.saturating_sub(1);
        if s.0 == 0 {
            s.1 = Some(Instant::now());
            self.cv.notify_all();
        }
    }

    /// When the last sibling finished, if it did before `deadline`.
    fn wait_until(&self, deadline: Instant) -> Option<Instant> {
        let mut s = self.state.lock();
        while s.1.is_none() {
            if self.cv.wait_until(&mut s, deadline).timed_out() {
                break;
            }
        }
        s.1
    }
}

/// Holds the rescuer thread at its start until the case opens the gate.
struct GatedRescuer {
    inner: ThreadSpawner,
    gate: Arc<Gate>,
}

impl Spawner for GatedRescuer {
    fn spawn(&self, req: &SpawnRequest, body: ThreadBody) -> Result<(), SpawnError> {
        let body: ThreadBody = if matches!(req.role, ThreadRole::Rescuer { .. }) {
            let gate = Arc::clone(&self.gate);
            Box::new(move || {
                gate.wait();
                body();
            })
        } else {
            body
        };
        self.inner.spawn(req, body)
    }
}

struct Blocker {
    work: Work<Self>,
    release: Arc<Gate>,
}

cmwq_work::impl_has_work!(Blocker { work });

impl WorkItem for Blocker {
    fn run(this: Arc<Self>) {
        cmwq::blocking(|| this.release.wait());
    }

    fn name(&self) -> &str {
        "xfs_end_io"
    }
}

struct Sibling {
    work: Work<Self>,
    run: Duration,
    done: Arc<Countdown>,
}

cmwq_work::impl_has_work!(Sibling { work });

impl WorkItem for Sibling {
    fn run(this: Arc<Self>) {
        let until = Instant::now() + this.run;
        while Instant::now() < until {
            std::hint::spin_loop();
        }
        this.done.count_down();
    }

    fn name(&self) -> &str {
        "xfs_end_io"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fast(blocker_after_window: Duration) -> RealCase {
        RealCase {
            timings: {
                let mut v = Timings::default();
                v.mayday_initial_timeout = Duration::from_millis(1);
                v.mayday_interval = Duration::from_millis(2);
                v.create_cooldown = Duration::from_millis(5);
                v.watchdog_thresh = None;
                v
            },
            window: Duration::from_millis(5),
            blocker_after_window,
            siblings: 4,
            sibling_run: Duration::from_micros(10),
        }
    }

    #[test]
    fn slurp_siblings_finish_only_after_the_blocker_is_released() {
        let case = fast(Duration::from_millis(20));
        let o = case.run(Policy::Slurp).expect("the case runs");
        assert!(!o.siblings_before_release);
        // Causal, not a timing bound: the release happens that long after the window.
        assert!(o.stall >= case.blocker_after_window, "{o:?}");
    }

    #[test]
    fn cursor_siblings_finish_while_the_blocker_still_blocks() {
        // The blocker is held until the siblings finish (or the guard): the run ends as
        // soon as they do, so this waits on the event, not on a clock.
        let o = fast(GUARD).run(Policy::Cursor).expect("the case runs");
        assert!(o.siblings_before_release, "{o:?}");
    }
}
