//! Worker creation: the [`Spawner`] trait, the real [`ThreadSpawner`], a cap on live
//! workers and injected failure ([`FailurePlan`]).
//!
//! The kernel creates kworkers from the pool manager (`maybe_create_worker`); creation can
//! fail under memory pressure, and that failure is what the rescuer exists for. cmwq sends
//! every thread creation through a `Spawner`, so a test or a bench can make it fail on
//! purpose, deterministically.

use std::fmt;
use std::ops::Range;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::error::SpawnError;

/// What a thread the runtime asks for will be.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ThreadRole {
    /// A pool worker (a kworker).
    Worker {
        /// The pool's id, as the dump numbers pools.
        pool: u32,
        /// The CPU of a per-CPU pool; `None` for an unbound pool.
        cpu: Option<usize>,
    },
    /// A pool's first worker, created when the pool comes up. The kernel creates it at
    /// CPU bring-up (`workqueue_prepare_cpu`) or with the unbound pool
    /// (`get_unbound_pool`, which fails the pool rather than leave it empty), never under
    /// a pool's memory pressure; so [`ThreadSpawner`] injects no failure into it and does
    /// not hold it to `max_workers` (it still counts as live). A pool therefore always has
    /// a worker, and its manager is one of them.
    FirstWorker {
        /// The pool's id, as the dump numbers pools.
        pool: u32,
        /// The CPU of a per-CPU pool; `None` for an unbound pool.
        cpu: Option<usize>,
    },
    /// The rescuer of a `WQ_MEM_RECLAIM` workqueue (created with the workqueue).
    Rescuer {
        /// The workqueue's name.
        workqueue: String,
    },
    /// The runtime's timer thread (mayday, idle, create-retry, delayed work, watchdog).
    Timer,
}

/// One thread the runtime wants created.
#[derive(Debug, Clone)]
pub struct SpawnRequest {
    /// The thread's name, in the kernel's form (`kworker/0:1`, `kworker/u4:0`,
    /// `kworker/R-NAME`).
    pub name: String,
    /// What the thread is for.
    pub role: ThreadRole,
}

/// The body of a thread the runtime wants created.
pub type ThreadBody = Box<dyn FnOnce() + Send + 'static>;

/// Creates the runtime's threads. Implement it to control worker creation; the runtime
/// treats an `Err` as the kernel treats a failed `create_worker`: it retries after
/// `CREATE_COOLDOWN`, and the mayday timer calls the rescuers meanwhile.
///
/// An implementation must either run `body` on a new thread and return `Ok`, or drop
/// `body` without running it and return `Err`. A panic in `spawn` is caught, reported
/// (`tracing` error, target `workqueue`) and treated as an `Err`
/// ([`SpawnError::Panicked`]): a failed attempt, retried like any other.
pub trait Spawner: Send + Sync + 'static {
    /// Create a thread for `req` running `body`.
    fn spawn(&self, req: &SpawnRequest, body: ThreadBody) -> Result<(), SpawnError>;
}

/// A handle that turns injected failure on and off ([`FailurePlan::Switch`]). Cloning it
/// gives another handle to the same switch. This is the deterministic way for a test to
/// say "memory pressure starts now" and "ends now".
#[derive(Clone, Debug, Default)]
pub struct FailSwitch(Arc<AtomicBool>);

impl FailSwitch {
    /// A switch, initially not failing.
    pub fn new() -> Self {
        Self::default()
    }
    /// A switch that starts failing.
    pub fn failing() -> Self {
        let s = Self::new();
        s.start_failing();
        s
    }
    /// From now on, worker creation fails.
    pub fn start_failing(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    /// From now on, worker creation succeeds again.
    pub fn stop_failing(&self) {
        self.0.store(false, Ordering::SeqCst);
    }
    /// Whether creation fails now.
    pub fn is_failing(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// When a [`ThreadSpawner`] fails worker creation on purpose. Only pool workers are
/// refused: rescuers and the timer thread are created up front, as the kernel creates
/// rescuers at `alloc_workqueue` time, before any pressure.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub enum FailurePlan {
    /// Never inject a failure.
    #[default]
    Never,
    /// Refuse every worker.
    Always,
    /// Refuse every `n`th try (the `n`th, `2n`th, ...). `n == 0` never refuses.
    EveryNth(u64),
    /// Refuse each try with the given probability, drawn from a ChaCha8 generator
    /// seeded with `seed` (same seed, same sequence of refusals).
    Random {
        /// The generator's seed.
        seed: u64,
        /// Probability of refusal, 0.0 to 1.0.
        probability: f64,
    },
    /// Refuse during these windows of time, measured from the spawner's creation.
    Windows(Vec<Range<Duration>>),
    /// Refuse while the switch is on.
    Switch(FailSwitch),
}

impl fmt::Display for FailurePlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailurePlan::Never => f.write_str("no plan"),
            FailurePlan::Always => f.write_str("an always-fail plan"),
            FailurePlan::EveryNth(n) => write!(f, "an every-{n}th-try plan"),
            FailurePlan::Random { seed, probability } => {
                write!(f, "a random plan (p={probability}, seed={seed})")
            }
            FailurePlan::Windows(w) => write!(f, "a plan of {} time windows", w.len()),
            FailurePlan::Switch(_) => f.write_str("a failure switch"),
        }
    }
}

/// Counters of a [`ThreadSpawner`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SpawnerStats {
    /// Tries to create a pool worker.
    pub worker_attempts: u64,
    /// Of those, refused (cap, injection or OS).
    pub worker_failures: u64,
    /// Pool workers alive now.
    pub live_workers: usize,
}

#[derive(Default)]
struct Counters {
    attempts: AtomicU64,
    failures: AtomicU64,
    live: AtomicUsize,
}

/// The real spawner: `std::thread::Builder`, optionally capped and with injected failure.
///
/// ```
/// use cmwq::{FailSwitch, FailurePlan, ThreadSpawner};
/// let pressure = FailSwitch::new();
/// let spawner = ThreadSpawner::new()
///     .max_workers(64)
///     .failure(FailurePlan::Switch(pressure.clone()));
/// pressure.start_failing(); // worker creation fails from here...
/// pressure.stop_failing(); // ...to here
/// # let _ = spawner;
/// ```
pub struct ThreadSpawner {
    max_workers: Option<usize>,
    stack_size: Option<usize>,
    plan: FailurePlan,
    rng: Mutex<Option<ChaCha8Rng>>,
    epoch: Instant,
    counters: Arc<Counters>,
}

impl fmt::Debug for ThreadSpawner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ThreadSpawner")
            .field("max_workers", &self.max_workers)
            .field("plan", &self.plan)
            .field("stats", &self.stats())
            .finish()
    }
}

impl Default for ThreadSpawner {
    fn default() -> Self {
        Self::new()
    }
}

impl ThreadSpawner {
    /// A spawner with no cap and no injected failure.
    pub fn new() -> Self {
        Self {
            max_workers: None,
            stack_size: None,
            plan: FailurePlan::Never,
            rng: Mutex::new(None),
            epoch: Instant::now(),
            counters: Arc::default(),
        }
    }

    /// Refuse a new pool worker while `max` of them are alive.
    pub fn max_workers(mut self, max: usize) -> Self {
        self.max_workers = Some(max);
        self
    }

    /// Stack size of the threads created.
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.stack_size = Some(bytes);
        self
    }

    /// Inject failures following `plan`. Time windows count from this call.
    pub fn failure(mut self, plan: FailurePlan) -> Self {
        if let FailurePlan::Random { seed, .. } = plan {
            *self.rng.get_mut() = Some(ChaCha8Rng::seed_from_u64(seed));
        }
        self.plan = plan;
        self.epoch = Instant::now();
        self
    }

    /// The counters so far.
    pub fn stats(&self) -> SpawnerStats {
        SpawnerStats {
            worker_attempts: self.counters.attempts.load(Ordering::Relaxed),
            worker_failures: self.counters.failures.load(Ordering::Relaxed),
            live_workers: self.counters.live.load(Ordering::Relaxed),
        }
    }

    fn injected(&self, attempt: u64) -> bool {
        match &self.plan {
            FailurePlan::Never => false,
            FailurePlan::Always => true,
            FailurePlan::EveryNth(n) => *n != 0 && attempt % n == 0,
            FailurePlan::Random { probability, .. } => {
                let mut rng = self.rng.lock();
                rng.as_mut()
                    .is_some_and(|r| r.gen_bool(probability.clamp(0.0, 1.0)))
            }
            FailurePlan::Windows(w) => {
                let t = self.epoch.elapsed();
                w.iter().any(|r| r.contains(&t))
            }
            FailurePlan::Switch(s) => s.is_failing(),
        }
    }

    fn os_spawn(&self, name: &str, body: ThreadBody) -> Result<(), SpawnError> {
        let mut b = std::thread::Builder::new().name(name.to_owned());
        if let Some(sz) = self.stack_size {
            b = b.stack_size(sz);
        }
        b.spawn(body).map(drop).map_err(|source| SpawnError::Os {
            name: name.to_owned(),
            source,
        })
    }
}

/// Decrements the live-worker count when a worker thread ends (even by panic).
struct LiveGuard(Arc<Counters>);
impl Drop for LiveGuard {
    fn drop(&mut self) {
        self.0.live.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Spawner for ThreadSpawner {
    fn spawn(&self, req: &SpawnRequest, body: ThreadBody) -> Result<(), SpawnError> {
        let first = match req.role {
            ThreadRole::Worker { .. } => false,
            ThreadRole::FirstWorker { .. } => true,
            _ => return self.os_spawn(&req.name, body),
        };
        let c = &self.counters;
        let attempt = c.attempts.fetch_add(1, Ordering::Relaxed) + 1;
        let refuse = |e: SpawnError| {
            c.failures.fetch_add(1, Ordering::Relaxed);
            Err(e)
        };
        if !first && self.injected(attempt) {
            return refuse(SpawnError::Injected {
                plan: self.plan.to_string(),
                attempt,
            });
        }
        let live = c.live.fetch_add(1, Ordering::Relaxed);
        if let (false, Some(max)) = (first, self.max_workers) {
            if live >= max {
                c.live.fetch_sub(1, Ordering::Relaxed);
                return refuse(SpawnError::Cap { live, max });
            }
        }
        let guard = LiveGuard(Arc::clone(c));
        let wrapped: ThreadBody = Box::new(move || {
            let _guard = guard;
            body();
        });
        match self.os_spawn(&req.name, wrapped) {
            Ok(()) => Ok(()),
            // The wrapped body was dropped unrun, and its guard with it: `live` is back.
            Err(e) => refuse(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    fn worker_req() -> SpawnRequest {
        SpawnRequest {
            name: "kworker/0:0".into(),
            role: ThreadRole::Worker {
                pool: 0,
                cpu: Some(0),
            },
        }
    }

    #[test]
    fn a_pools_first_worker_is_never_refused_by_injection_or_the_cap() {
        let s = ThreadSpawner::new()
            .failure(FailurePlan::Always)
            .max_workers(0);
        let first = SpawnRequest {
            name: "kworker/0:0".into(),
            role: ThreadRole::FirstWorker {
                pool: 0,
                cpu: Some(0),
            },
        };
        let (tx, rx) = mpsc::channel();
        assert!(
            s.spawn(&first, Box::new(move || tx.send(()).unwrap()))
                .is_ok()
        );
        rx.recv().unwrap();
        assert!(
            !try_spawn(&s),
            "a later worker still meets the injected failure"
        );
        assert_eq!(s.stats().worker_attempts, 2);
        assert_eq!(s.stats().worker_failures, 1);
    }

    fn try_spawn(s: &ThreadSpawner) -> bool {
        let (tx, rx) = mpsc::channel();
        let ok = s
            .spawn(&worker_req(), Box::new(move || tx.send(()).unwrap()))
            .is_ok();
        if ok {
            rx.recv().unwrap();
        }
        ok
    }

    #[test]
    fn every_nth_refuses_exactly_the_nth_tries() {
        let s = ThreadSpawner::new().failure(FailurePlan::EveryNth(3));
        let got: Vec<bool> = (0..7).map(|_| try_spawn(&s)).collect();
        assert_eq!(got, [true, true, false, true, true, false, true]);
        assert_eq!(s.stats().worker_failures, 2);
        assert_eq!(s.stats().worker_attempts, 7);
    }

    #[test]
    fn random_plan_is_reproducible_from_its_seed() {
        let run = || {
            let s = ThreadSpawner::new().failure(FailurePlan::Random {
                seed: 7,
                probability: 0.5,
            });
            (0..32).map(|_| s.injected(1)).collect::<Vec<_>>()
        };
        let a = run();
        assert_eq!(a, run());
        assert!(a.contains(&true) && a.contains(&false));
    }

    #[test]
    fn switch_refuses_workers_but_not_rescuers() {
        let sw = FailSwitch::failing();
        let s = ThreadSpawner::new().failure(FailurePlan::Switch(sw.clone()));
        assert!(!try_spawn(&s));
        let (tx, rx) = mpsc::channel();
        let rescuer = SpawnRequest {
            name: "kworker/R-test".into(),
            role: ThreadRole::Rescuer {
                workqueue: "test".into(),
            },
        };
        s.spawn(&rescuer, Box::new(move || tx.send(()).unwrap()))
            .expect("rescuers are never refused by injection");
        rx.recv().unwrap();
        sw.stop_failing();
        assert!(try_spawn(&s));
    }

    #[test]
    fn cap_refuses_while_max_workers_are_alive() {
        let s = ThreadSpawner::new().max_workers(1);
        let (release_tx, release_rx) = mpsc::channel::<()>();
        s.spawn(
            &worker_req(),
            Box::new(move || {
                let _ = release_rx.recv();
            }),
        )
        .unwrap();
        let err = s.spawn(&worker_req(), Box::new(|| ())).unwrap_err();
        assert!(matches!(err, SpawnError::Cap { live: 1, max: 1 }), "{err}");
        drop(release_tx);
    }

    #[test]
    fn an_os_refusal_is_reported_as_a_spawn_error() {
        // No OS gives a thread a petabyte of stack.
        let s = ThreadSpawner::new().stack_size(1 << 50);
        let err = s.spawn(&worker_req(), Box::new(|| ())).unwrap_err();
        assert!(matches!(err, SpawnError::Os { .. }), "{err}");
        assert!(err.to_string().contains("kworker/0:0"), "{err}");
        assert_eq!(s.stats().worker_failures, 1);
        assert_eq!(
            s.stats().live_workers,
            0,
            "the refused worker is not counted alive"
        );
    }

    #[test]
    fn windows_refuse_inside_and_accept_outside() {
        let s = ThreadSpawner::new().failure(FailurePlan::Windows(vec![
            Duration::ZERO..Duration::from_secs(3600),
        ]));
        assert!(!try_spawn(&s));
        let s = ThreadSpawner::new().failure(FailurePlan::Windows(vec![
            Duration::from_secs(3600)..Duration::from_secs(7200),
        ]));
        assert!(try_spawn(&s));
    }
}
