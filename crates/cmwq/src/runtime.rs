//! The runtime: a set of worker pools, their threads and a timer thread. Most programs use
//! the global one (through [`Workqueue::new`] and the system workqueues); tests and
//! benches build their own, with their own [`Spawner`].

use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use crate::config::{Affinity, Timings};
use crate::error::BuildError;
use crate::panic::{PanicHook, WorkPanic};
use crate::rt::Shared;
use crate::spawner::{Spawner, ThreadSpawner};
use crate::watch::{LockupHook, Stall};
use crate::wq::{Workqueue, WorkqueueBuilder};

/// One of the runtime's worker or rescuer threads ([`Runtime::workers`]): what maps a
/// dump's worker id to a thread.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WorkerThread {
    /// The id the dump prints (`in-flight: ID:func`, `idle: ID`, `manager: ID`).
    pub id: u32,
    /// The thread's name (`kworker/0:1`, `kworker/u8:0`, `kworker/R-NAME`).
    pub name: String,
    /// The OS thread, once it has started.
    pub thread: Option<std::thread::ThreadId>,
    /// The pool it serves (a rescuer: the pool it is attached to, if any).
    pub pool: Option<u32>,
    /// Whether it is a workqueue's rescuer.
    pub rescuer: bool,
}

/// Shuts the runtime's threads down when the last handle goes.
struct Owner(Arc<Shared>);

impl Drop for Owner {
    fn drop(&mut self) {
        self.0.shutdown();
    }
}

/// A cmwq runtime: per-CPU pools (normal and high priority) for `nr_cpus` CPUs, two
/// unbound pools, their workers, and a timer thread. Cloning gives another handle; the
/// threads stop when the last handle (workqueues hold one) is dropped.
#[derive(Clone)]
pub struct Runtime {
    pub(crate) shared: Arc<Shared>,
    _owner: Arc<Owner>,
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("nr_cpus", &self.shared.nr_cpus)
            .field("timings", &self.shared.timings)
            .finish_non_exhaustive()
    }
}

/// Builds a [`Runtime`].
///
/// ```
/// use std::time::Duration;
/// use cmwq::{FailurePlan, Runtime, ThreadSpawner};
/// let rt = Runtime::builder()
///     .nr_cpus(2)
///     .spawner(ThreadSpawner::new().failure(FailurePlan::EveryNth(2)))
///     .watchdog_thresh(Some(Duration::from_secs(5)))
///     .build()?;
/// # drop(rt);
/// # Ok::<(), cmwq::BuildError>(())
/// ```
#[must_use = "a builder does nothing until .build()"]
pub struct RuntimeBuilder {
    nr_cpus: Option<usize>,
    spawner: Option<Arc<dyn Spawner>>,
    timings: Timings,
    affinity: Affinity,
    panic_hook: Option<PanicHook>,
    lockup_hook: Option<LockupHook>,
    numa_nodes: Option<Vec<u32>>,
}

impl fmt::Debug for RuntimeBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RuntimeBuilder")
            .field("nr_cpus", &self.nr_cpus)
            .field("timings", &self.timings)
            .field("affinity", &self.affinity)
            .finish_non_exhaustive()
    }
}

impl RuntimeBuilder {
    /// How many CPUs (per-CPU pool pairs) the runtime has; default: the machine's
    /// available parallelism.
    pub fn nr_cpus(mut self, n: usize) -> Self {
        self.nr_cpus = Some(n);
        self
    }
    /// The spawner for worker, rescuer and timer threads; default [`ThreadSpawner::new`].
    pub fn spawner(mut self, s: impl Spawner) -> Self {
        self.spawner = Some(Arc::new(s));
        self
    }
    /// A shared spawner (keep a handle to read its stats).
    pub fn spawner_arc(mut self, s: Arc<dyn Spawner>) -> Self {
        self.spawner = Some(s);
        self
    }
    /// All timings at once.
    pub fn timings(mut self, t: Timings) -> Self {
        self.timings = t;
        self
    }
    /// The lockup watchdog's threshold; `None` turns it off. Default 30 s.
    pub fn watchdog_thresh(mut self, t: Option<Duration>) -> Self {
        self.timings.watchdog_thresh = t;
        self
    }
    /// The cpu-intensive threshold. Default 10 ms.
    pub fn cpu_intensive_thresh(mut self, t: Duration) -> Self {
        self.timings.cpu_intensive_thresh = t;
        self
    }
    /// Whether per-CPU workers are pinned. Default [`Affinity::PinPerCpu`].
    pub fn affinity(mut self, a: Affinity) -> Self {
        self.affinity = a;
        self
    }
    /// The NUMA topology: `nodes[cpu]` is the node of CPU `cpu`, one entry per CPU.
    /// Per-CPU pools are on their CPU's node, an unbound pool on the node holding all its
    /// CPUs (none if they span nodes), as the dump's ` node=N` shows. Default: with the
    /// machine's CPU count, the machine's topology (Linux: `/sys/devices/system/node`);
    /// with a CPU count of one's own, every CPU on node 0.
    pub fn numa_nodes(mut self, nodes: Vec<u32>) -> Self {
        self.numa_nodes = Some(nodes);
        self
    }
    /// Called for each work function that panics (after the `tracing` error). A panic in
    /// the hook itself is caught and reported; the worker goes on.
    pub fn panic_hook(mut self, f: impl Fn(&WorkPanic<'_>) + Send + Sync + 'static) -> Self {
        self.panic_hook = Some(Arc::new(f));
        self
    }
    /// Called by the lockup watchdog for each pool it finds stalled (once per stall),
    /// besides its `tracing` error with the dump. It runs on the timer thread; a panic in
    /// it is caught and reported, and the timer thread goes on.
    pub fn lockup_hook(mut self, f: impl Fn(&Stall) + Send + Sync + 'static) -> Self {
        self.lockup_hook = Some(Arc::new(f));
        self
    }

    /// Start the runtime (its timer thread; workers come with the first workqueue).
    pub fn build(self) -> Result<Runtime, BuildError> {
        let nr = self.nr_cpus.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
        });
        if nr == 0 || nr > 1024 {
            return Err(BuildError::BadNrCpus { given: nr });
        }
        let nodes = match (self.numa_nodes, self.nr_cpus) {
            (Some(nodes), _) => nodes,
            // The machine's own CPUs: the machine's own topology, where it says.
            (None, None) => machine_numa_nodes(nr),
            (None, Some(_)) => vec![0; nr],
        };
        if nodes.len() != nr {
            return Err(BuildError::BadNumaNodes {
                given: nodes.len(),
                nr_cpus: nr,
            });
        }
        let spawner = self
            .spawner
            .unwrap_or_else(|| Arc::new(ThreadSpawner::new()));
        let shared = Shared::new(
            nr as u32,
            &nodes,
            self.timings,
            self.affinity,
            spawner,
            self.panic_hook,
            self.lockup_hook,
        );
        shared.start_timer().map_err(BuildError::Timer)?;
        Ok(Runtime {
            _owner: Arc::new(Owner(Arc::clone(&shared))),
            shared,
        })
    }
}

impl Runtime {
    /// A builder with the kernel's defaults.
    pub fn builder() -> RuntimeBuilder {
        RuntimeBuilder {
            nr_cpus: None,
            spawner: None,
            timings: Timings::default(),
            affinity: Affinity::default(),
            panic_hook: None,
            lockup_hook: None,
            numa_nodes: None,
        }
    }

    /// The process-wide runtime (default settings), started on first use.
    ///
    /// # Lifetime: it is never shut down
    ///
    /// The global runtime lives for the process, and there is no call that stops it: it
    /// sits in a `static`, as do the system workqueues ([`system_wq`](crate::system_wq)
    /// and its siblings) built on it, and Rust never drops a `static` (the kernel never
    /// destroys its system workqueues either). A `shutdown` here would have to refuse
    /// every later queueing on `&'static` workqueues that code anywhere in the process
    /// holds, and wait for work it cannot see the end of; instead:
    ///
    /// - before the process exits, wait for the work that must finish: drop (or
    ///   [`destroy`](Workqueue::destroy)) your own workqueues, which drains them (their
    ///   delayed items run at once), and [`flush`](Workqueue::flush) the system
    ///   workqueues you queued on (a flush waits for what is queued, not for a delayed
    ///   item still on its timer: [`flush_delayed_work`](Workqueue::flush_delayed_work)
    ///   runs that one now and waits). Work still queued when `main` returns is not run:
    ///   the worker threads end with the process, as every thread does.
    /// - a program that needs to stop the runtime itself builds its own with
    ///   [`Runtime::builder`]: its threads stop when its last handle (every workqueue
    ///   holds one) is dropped, after each workqueue was drained by its own drop.
    ///
    /// # Panics
    ///
    /// If its timer thread cannot be created (the OS refuses a thread at start-up).
    pub fn global() -> &'static Runtime {
        static GLOBAL: OnceLock<Runtime> = OnceLock::new();
        GLOBAL.get_or_init(|| {
            Runtime::builder()
                .build()
                .unwrap_or_else(|e| panic!("cmwq: cannot start the global runtime: {e}"))
        })
    }

    /// A workqueue builder on this runtime.
    pub fn workqueue(&self, name: impl Into<String>) -> WorkqueueBuilder {
        Workqueue::builder(name).runtime(self)
    }

    /// How many CPUs the runtime has.
    pub fn nr_cpus(&self) -> usize {
        self.shared.nr_cpus as usize
    }

    /// The timings in force.
    pub fn timings(&self) -> Timings {
        self.shared.timings
    }

    /// Replace the panic hook.
    pub fn set_panic_hook(&self, f: impl Fn(&WorkPanic<'_>) + Send + Sync + 'static) {
        *self.shared.panic_hook.write() = Some(Arc::new(f));
    }

    /// Work functions that panicked so far, on every workqueue of this runtime.
    pub fn panics(&self) -> u64 {
        self.shared.panics.load(Ordering::Relaxed)
    }

    /// The state of every workqueue and pool as plain data (cmwq-dump's [`Snapshot`],
    /// serialisable with serde, e.g. as JSON): what the dump shows, and more (per-pool
    /// `nr_workers` and `nr_idle`, per-pwq stats). Each pool is copied under its own lock;
    /// [`show_all_workqueues`](Self::show_all_workqueues) is one rendering of it
    /// (`snapshot().show_all_workqueues(KernelFormat::default())`), and any other kernel
    /// format can be asked of it.
    ///
    /// [`Snapshot`]: cmwq_dump::Snapshot
    pub fn snapshot(&self) -> cmwq_dump::Snapshot {
        self.shared.snapshot()
    }

    /// Every live worker and rescuer thread: the id the dump prints for it (where the
    /// kernel prints a pid), its thread's name and id, the pool it serves.
    pub fn workers(&self) -> Vec<WorkerThread> {
        self.shared.worker_threads()
    }

    /// `show_all_workqueues()`: the kernel-format dump of every busy workqueue and pool.
    pub fn show_all_workqueues(&self) -> String {
        crate::watch::show_all(&self.shared.snapshot())
    }

    /// The `tools/workqueue/wq_monitor.py` table of every workqueue. Its `CPUtime` column
    /// is the items' wall-clock run time here ([`WorkqueueStats::wall_time_ns`]), not CPU
    /// time as in the kernel.
    ///
    /// [`WorkqueueStats::wall_time_ns`]: crate::WorkqueueStats::wall_time_ns
    pub fn wq_monitor(&self) -> String {
        crate::watch::monitor(&self.shared.snapshot())
    }

    /// Pools whose worklist has made no progress for at least the watchdog threshold (or
    /// 30 s when the watchdog is off): what the watchdog reports as lockups.
    pub fn stalled(&self) -> Vec<crate::watch::Stall> {
        let t = self
            .shared
            .timings
            .watchdog_thresh
            .unwrap_or(Duration::from_secs(30));
        crate::watch::stalled(&self.shared.snapshot(), t)
    }
}

/// The node of each of the first `nr` CPUs as Linux describes them
/// (`/sys/devices/system/node/nodeN/cpulist`); CPUs it does not name, and every CPU where
/// there is no such directory, are on node 0.
fn machine_numa_nodes(nr: usize) -> Vec<u32> {
    let mut nodes = vec![0; nr];
    let Ok(dir) = std::fs::read_dir("/sys/devices/system/node") else {
        return nodes;
    };
    for entry in dir.flatten() {
        let name = entry.file_name();
        let Some(node) = name
            .to_str()
            .and_then(|n| n.strip_prefix("node"))
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        if let Ok(list) = std::fs::read_to_string(entry.path().join("cpulist")) {
            for cpu in parse_cpulist(&list) {
                if let Some(slot) = nodes.get_mut(cpu) {
                    *slot = node;
                }
            }
        }
    }
    nodes
}

/// A kernel CPU list (`%*pbl`: `0-3,8,10-11`) as CPU numbers; malformed parts are skipped.
fn parse_cpulist(list: &str) -> impl Iterator<Item = usize> + '_ {
    list.trim()
        .split(',')
        .filter_map(|part| {
            let (a, b) = part.split_once('-').unwrap_or((part, part));
            Some(a.trim().parse::<usize>().ok()?..=b.trim().parse::<usize>().ok()?)
        })
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::parse_cpulist;

    #[test]
    fn a_kernel_cpu_list_reads_as_its_cpus() {
        let cpus: Vec<usize> = parse_cpulist("0-3,8,10-11\n").collect();
        assert_eq!(cpus, [0, 1, 2, 3, 8, 10, 11]);
        assert_eq!(parse_cpulist("").count(), 0);
        assert_eq!(parse_cpulist("x,2").collect::<Vec<_>>(), [2]);
    }
}
