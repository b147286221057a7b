//! The event loop: a virtual nanosecond clock and a binary heap of `(time, seq, event)`
//! driving the cmwq-pool core ([`cmwq_pool::System`]) exactly as the runtime's threads do.
//!
//! # Model
//!
//! - **Workers** are state machines. A worker asks the core for work (`next_work`), runs the
//!   item's script step by step, tells the core when the item sleeps (`worker_sleeping`)
//!   and runs again (`worker_running`), and reports completion (`work_done`). An idle worker
//!   waits for the core's `WakeWorker`; a manager waits for the creation it asked for.
//! - **Worker creation** (`CreateWorker`) takes [`WORKER_CREATE_NS`] and fails while a
//!   memory-pressure window is open; the core then arms its create-retry timer
//!   (CREATE_COOLDOWN) and its mayday timer, which the loop fires when due.
//! - **The rescuer** of a `WQ_MEM_RECLAIM` workqueue is a worker too: `WakeRescuer` makes it
//!   step the core's rescuer state machine (`rescuer_step`) until it has nothing to do.
//! - **Timers** are heap events at the deadlines the core asks for; a stale one is ignored by
//!   the core, so the loop never cancels any.
//! - **CPUs**: the scenario's CPU count sets the per-CPU pools, and each CPU runs one worker
//!   at a time. A worker of a per-CPU pool runs on that CPU, a rescuer on the CPU of the pool
//!   it is attached to, an unbound worker on any. Workers that want the same CPU share it
//!   round-robin in slices of [`CPU_SLICE_NS`] (a FIFO run queue per CPU, plus one for
//!   unbound workers); a worker alone on its CPU runs its whole step without slicing, so the
//!   loop only pays for slices under contention. Only `run` steps use a CPU: sleeping,
//!   blocking, queueing and signalling take no CPU time.
//! - **CPU-intensive ticks**: whenever a worker's slice ends, the core gets a
//!   `worker_tick` with the simulated CPU time its item used since it started or last woke
//!   (the kernel's `sum_exec_runtime - current_at`); the core decides when that crosses
//!   CPU_INTENSIVE_THRESH, so the worker stops counting in nr_running.
//! - **Determinism**: events at one instant run in the order they were scheduled (the heap
//!   key is `(time, seq)`), and the only randomness, the optional jitter of run steps, comes
//!   from a ChaCha8 generator seeded by the scenario.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::sync::Arc;

use cmwq_dump::KernelFormat;
use cmwq_pool::{
    Action, Actions, Next, PoolId, PoolKind, Priority, QueueError, QueueFrom, RescuerStep, System,
    SystemConfig, WorkerId, WqFlags, WqId, WqSpec,
};
use cmwq_rescue::Policy;
use cmwq_work::{PwqId, Work, WorkItem, WorkRef, impl_has_work};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::metrics::Metrics;
use crate::scenario::{PolicyChoice, Scenario, Step, WqKind};
use crate::time::{Nanos, Pretty, nanos};
use crate::trace::{ItemInfo, PoolInfo, PwqInfo, Trace, TraceKind, WorkerInfo};

/// The time slice of workers sharing a CPU, in virtual nanoseconds.
pub const CPU_SLICE_NS: Nanos = 1_000_000;
/// How long creating a worker takes (kthread creation), in virtual nanoseconds.
pub const WORKER_CREATE_NS: Nanos = 50_000;
/// How long a run goes on past the scenario's last scheduled instant before it is stopped
/// as stuck, when the scenario sets no `until`.
pub const DEFAULT_HORIZON_NS: Nanos = 120 * crate::time::NSEC_PER_SEC;

/// Why a run could not be carried out.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The core refused to create a workqueue of the scenario.
    #[error("workqueue {name:?}: {source}")]
    Workqueue {
        /// The workqueue's name.
        name: String,
        /// The core's reason.
        source: cmwq_pool::WqError,
    },
    /// The core refused to queue a scenario item for a reason other than it being pending.
    #[error("queueing {item}: {reason:?}")]
    Queue {
        /// The item.
        item: String,
        /// The core's reason.
        reason: QueueError,
    },
    /// The core refused the scenario's NUMA node map.
    #[error("nodes: {0}")]
    Nodes(#[source] cmwq_pool::PoolError),
    /// `--policy all` is not a single policy: use [`run_policies`].
    #[error("`all` is not a single policy; run_policies runs each")]
    NotASinglePolicy,
    /// The dump could not be formatted.
    #[error("dump: {0}")]
    Dump(#[from] cmwq_dump::DumpError),
}

/// A dump taken during a run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dump {
    /// When.
    pub at: Nanos,
    /// `show_all_workqueues` as the kernel prints it.
    pub text: String,
}

/// Everything one run of a scenario under one policy produced.
#[derive(Clone, Debug)]
pub struct RunOutput {
    /// The policy.
    pub policy: PolicyChoice,
    /// The event trace.
    pub trace: Trace,
    /// The metrics.
    pub metrics: Metrics,
    /// The dumps, at the scenario's instants.
    pub dumps: Vec<Dump>,
    /// Items still queued or running when the run stopped (non-zero only for a run that
    /// hit its horizon: a stuck scenario).
    pub unfinished: u64,
    /// What the scenario's cancels and workqueue flushes did, in the order they happened.
    pub ops: Vec<OpRecord>,
    /// Queueings the scenario's cancels took back (those items never run for them).
    pub cancelled: u64,
}

/// The outcome of one of the scenario's cancels or workqueue flushes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpRecord {
    /// When it happened (for a flush: when it completed).
    pub at: Nanos,
    /// What happened, e.g. `cancel io#0: was pending` or
    /// `flush_workqueue xfs-buf (from 4ms): done`.
    pub text: String,
}

/// Options of a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunOptions {
    /// Which kernel's dump format to print.
    pub dump_format: KernelFormat,
    /// Whether to record the event trace (metrics need it; a bench may turn it off).
    pub trace: TraceMode,
}

/// Whether a run records its event trace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TraceMode {
    /// Record every event (needed for metrics and timelines).
    Record,
    /// Record nothing (the fastest runs; metrics are then only counts from the core).
    Off,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            dump_format: KernelFormat::Linux7_0,
            trace: TraceMode::Record,
        }
    }
}

/// Runs `scenario` once under `policy` (a single policy, not `All`).
pub fn run(scenario: &Scenario, policy: PolicyChoice) -> Result<RunOutput, SimError> {
    run_with(scenario, policy, RunOptions::default())
}

/// Runs `scenario` once per policy `choice` stands for, in Slurp, Cursor, Rescan order.
pub fn run_policies(scenario: &Scenario, choice: PolicyChoice) -> Result<Vec<RunOutput>, SimError> {
    choice.expand().iter().map(|&p| run(scenario, p)).collect()
}

/// Runs `scenario` once under `policy` with `options`.
pub fn run_with(
    scenario: &Scenario,
    policy: PolicyChoice,
    options: RunOptions,
) -> Result<RunOutput, SimError> {
    let core_policy = match policy {
        PolicyChoice::Slurp => Policy::Slurp,
        PolicyChoice::Cursor => Policy::Cursor,
        PolicyChoice::Rescan => Policy::Rescan,
        PolicyChoice::All => return Err(SimError::NotASinglePolicy),
    };
    let mut sim = Sim::new(scenario, policy, core_policy, options)?;
    sim.run_loop()?;
    Ok(sim.finish())
}

/// A simulated work item: a real cmwq work item (it embeds a [`Work`] head) whose work
/// function the simulator plays from a script instead of calling.
struct SimWork {
    work: Work<Self>,
    idx: u32,
    func: Arc<str>,
}

impl WorkItem for SimWork {
    fn run(_this: Arc<Self>) {
        // Never called: the simulator plays the item's script in virtual time.
    }
    fn name(&self) -> &str {
        &self.func
    }
}
impl_has_work!(SimWork { work });

/// A flush barrier the scenario queues with `flush_work`; it completes when a worker takes
/// it, in no time, and wakes no one (the scenario's waiter is only a name in the dump).
type SimBarrier = cmwq_work::raw::Barrier<NoWaiter>;

/// The completion of a simulated barrier: nothing to wake.
struct NoWaiter;

impl cmwq_work::raw::Completion for NoWaiter {
    fn complete(&self) {}
}

/// A compiled script step.
#[derive(Clone, Copy, Debug)]
enum Op {
    Run(Nanos),
    Sleep(Nanos),
    Block(u32),
    Queue(u32),
    Signal(u32),
    QueueDelayed(u32, Nanos),
    ModDelayed(u32, Nanos),
}

struct Group {
    first: u32,
    count: u32,
    /// Time between the initial queueings of consecutive instances.
    interval: Nanos,
    wq: WqId,
    cpu: Option<u32>,
    script: Box<[Op]>,
    /// The initial queueings are delayed by this much.
    delay: Option<Nanos>,
}

struct Item {
    arc: Arc<SimWork>,
    group: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum WState {
    /// Created; about to ask for work.
    Starting,
    Idle,
    Managing,
    Running,
    Sleeping,
    Dead,
}

#[derive(Clone, Copy, Debug)]
struct Current {
    item: u32,
    pc: u32,
    cpu_ns: Nanos,
}

struct Worker {
    id: WorkerId,
    rescuer: Option<WqId>,
    state: WState,
    wake_queued: bool,
    current: Option<Current>,
    /// The CPU it runs on (its pool's; a rescuer's: the pool it is attached to); `None`
    /// for an unbound worker, which runs on any.
    home_cpu: Option<u32>,
    /// CPU time the current run step still needs.
    cpu_left: Nanos,
    /// The CPU it occupies, if any.
    on_cpu: Option<u32>,
    /// When its current slice began and when it is due to end.
    slice_start: Nanos,
    slice_end: Nanos,
    /// CPU time since the item started or last woke (the kernel's `current_at`).
    run_cpu: Nanos,
    /// Whether the core was told the current item crossed the cpu-intensive threshold.
    ticked: bool,
    /// Bumped at every slice, so a stale slice end is recognised.
    serial: u64,
}

/// One simulated CPU: the worker on it and the bound workers waiting for it.
#[derive(Default)]
struct Cpu {
    running: Option<u32>,
    waiting: VecDeque<u32>,
}

#[derive(Clone, Copy, Debug)]
enum Ev {
    QueueItem { item: u32 },
    Signal { event: u32 },
    Flush { flush: u32 },
    Cancel { cancel: u32 },
    FlushWq { flush: u32 },
    DelayedTimer,
    Dump,
    SliceEnd { w: u32, serial: u64 },
    Wake { w: u32 },
    WorkerNext { w: u32 },
    Create { pool: PoolId },
    MaydayTimer { pool: PoolId },
    IdleTimer { pool: PoolId },
    CreateRetry { pool: PoolId },
    RescuerStep { w: u32 },
}

struct Entry {
    t: Nanos,
    seq: u64,
    ev: Ev,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        (self.t, self.seq) == (other.t, other.seq)
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        // Reversed: BinaryHeap is a max-heap and the earliest (time, seq) must come first.
        (other.t, other.seq).cmp(&(self.t, self.seq))
    }
}

struct EventState {
    signalled: bool,
    waiters: Vec<u32>,
}

struct Sim<'s> {
    sc: &'s Scenario,
    policy: PolicyChoice,
    options: RunOptions,
    sys: System,
    out: Actions,
    pending: Vec<Action>,
    now: Nanos,
    heap: BinaryHeap<Entry>,
    seq: u64,
    groups: Vec<Group>,
    items: Vec<Item>,
    workers: Vec<Worker>,
    worker_idx: HashMap<WorkerId, u32>,
    pool_idx: HashMap<PoolId, u32>,
    pwq_idx: HashMap<PwqId, u32>,
    wq_names: HashMap<WqId, String>,
    events: Vec<EventState>,
    cpus: Vec<Cpu>,
    /// Unbound workers waiting for any CPU.
    any_waiting: VecDeque<u32>,
    /// Event id of each of the scenario's signals.
    signal_events: Vec<u32>,
    /// Last seen MAYDAY stat of each pwq (trace index), to trace maydays as they are sent.
    maydays_seen: Vec<u64>,
    pwq_ids: Vec<PwqId>,
    trace: Trace,
    rng: ChaCha8Rng,
    /// Items queued and not yet finished.
    live: u64,
    /// Scenario events (queueings, signals, flushes, dumps) not yet processed.
    scheduled_left: u64,
    dumps: Vec<Dump>,
    ops: Vec<OpRecord>,
    cancelled: u64,
    /// Workqueue flushes waiting for their ticket: (wq, ticket, issued at).
    wq_flush_waits: Vec<(WqId, cmwq_pool::FlushTicket, Nanos)>,
    horizon: Nanos,
    last_activity: Nanos,
}

impl<'s> Sim<'s> {
    fn new(
        sc: &'s Scenario,
        policy: PolicyChoice,
        core_policy: Policy,
        options: RunOptions,
    ) -> Result<Self, SimError> {
        let mut sim = Sim {
            sc,
            policy,
            options,
            sys: System::new(SystemConfig {
                nr_cpus: sc.nr_cpus,
            }),
            out: Actions::default(),
            pending: Vec::new(),
            now: 0,
            heap: BinaryHeap::new(),
            seq: 0,
            groups: Vec::with_capacity(sc.items.len()),
            items: Vec::with_capacity(usize::try_from(sc.nr_items()).unwrap_or(0)),
            workers: Vec::new(),
            worker_idx: HashMap::new(),
            pool_idx: HashMap::new(),
            pwq_idx: HashMap::new(),
            wq_names: HashMap::new(),
            events: Vec::new(),
            cpus: (0..sc.nr_cpus).map(|_| Cpu::default()).collect(),
            any_waiting: VecDeque::new(),
            signal_events: Vec::new(),
            maydays_seen: Vec::new(),
            pwq_ids: Vec::new(),
            trace: Trace {
                scenario: sc.name.clone(),
                policy: Some(policy),
                pressure: sc
                    .pressure
                    .iter()
                    .map(|w| (nanos(w.start), nanos(w.end)))
                    .collect(),
                ..Trace::default()
            },
            rng: ChaCha8Rng::seed_from_u64(sc.seed),
            live: 0,
            scheduled_left: 0,
            dumps: Vec::new(),
            ops: Vec::new(),
            cancelled: 0,
            wq_flush_waits: Vec::new(),
            horizon: 0,
            last_activity: 0,
        };
        sim.setup(core_policy)?;
        if sim.tracing() {
            // Queued, started, finished and usually a sleep/wake pair per item: reserve
            // once so the loop does not regrow the trace.
            let per_item = 4;
            sim.trace
                .events
                .reserve(usize::try_from(sc.nr_items()).unwrap_or(0) * per_item);
        }
        Ok(sim)
    }

    fn schedule(&mut self, t: Nanos, ev: Ev) {
        self.seq += 1;
        self.heap.push(Entry {
            t,
            seq: self.seq,
            ev,
        });
    }

    fn tracing(&self) -> bool {
        self.options.trace == TraceMode::Record
    }

    fn record(&mut self, kind: TraceKind) {
        if self.tracing() {
            self.trace.push(self.now, kind);
        }
    }

    fn pool_index(&mut self, pool: PoolId) -> u32 {
        if let Some(&i) = self.pool_idx.get(&pool) {
            return i;
        }
        let label = match self.sys.pool(pool).map(|p| *p.kind()) {
            Some(PoolKind::PerCpu {
                cpu,
                pri: Priority::Normal,
            }) => format!("cpu{cpu}"),
            Some(PoolKind::PerCpu {
                cpu,
                pri: Priority::High,
            }) => format!("cpu{cpu}H"),
            Some(PoolKind::Bh { cpu, .. }) => format!("bh{cpu}"),
            Some(PoolKind::Unbound(_)) | None => format!("unbound{}", pool.0),
        };
        let i = self.trace.pools.len() as u32;
        self.trace.pools.push(PoolInfo { id: pool.0, label });
        self.pool_idx.insert(pool, i);
        i
    }

    /// The CPU a pool's workers run on (`None`: unbound, any CPU).
    fn pool_cpu(&self, pool: PoolId) -> Option<u32> {
        match self.sys.pool(pool).map(|p| *p.kind()) {
            Some(PoolKind::PerCpu { cpu, .. } | PoolKind::Bh { cpu, .. }) => {
                Some(cpu.min(self.sc.nr_cpus.saturating_sub(1)))
            }
            _ => None,
        }
    }

    fn add_worker(&mut self, id: WorkerId, pool: Option<PoolId>, rescuer: Option<WqId>) -> u32 {
        let name = match (rescuer, pool) {
            (Some(wq), _) => format!("kworker/R-{}", self.wq_names[&wq]),
            (None, Some(p)) => self
                .sys
                .pool(p)
                .and_then(|pool| pool.worker_name(id))
                .unwrap_or_else(|| format!("kworker/{}:{}", p.0, id.0)),
            (None, None) => format!("kworker/{}", id.0),
        };
        let pool_idx = pool.map(|p| self.pool_index(p));
        let home_cpu = pool.and_then(|p| self.pool_cpu(p));
        let w = self.workers.len() as u32;
        self.workers.push(Worker {
            id,
            rescuer,
            state: if rescuer.is_some() {
                WState::Idle
            } else {
                WState::Starting
            },
            wake_queued: false,
            current: None,
            home_cpu,
            cpu_left: 0,
            on_cpu: None,
            slice_start: 0,
            slice_end: 0,
            run_cpu: 0,
            ticked: false,
            serial: 0,
        });
        self.worker_idx.insert(id, w);
        self.trace.workers.push(WorkerInfo {
            id: id.0,
            name,
            pool: pool_idx,
            rescuer: rescuer.is_some(),
        });
        w
    }

    fn setup(&mut self, core_policy: Policy) -> Result<(), SimError> {
        let sc = self.sc;
        if !sc.nodes.is_empty() {
            // Validated with the scenario: one node per CPU.
            self.sys
                .set_cpu_nodes(sc.nodes.clone())
                .map_err(SimError::Nodes)?;
        }
        // A kernel clock brings the kernel's constants in jiffies along with its wheel.
        let timings = sc.clock.pool_timings(self.sys.timings());
        self.sys.set_timings(timings);
        let mut wq_ids: HashMap<&str, WqId> = HashMap::new();
        for spec in &sc.workqueues {
            let mut flags = WqFlags::empty();
            match spec.kind {
                WqKind::PerCpu => {}
                WqKind::Unbound | WqKind::Ordered => flags |= WqFlags::UNBOUND,
            }
            if spec.mem_reclaim {
                flags |= WqFlags::MEM_RECLAIM;
            }
            if spec.highpri {
                flags |= WqFlags::HIGHPRI;
            }
            if spec.cpu_intensive {
                flags |= WqFlags::CPU_INTENSIVE;
            }
            let mut wq_spec = if spec.kind == WqKind::Ordered {
                WqSpec::ordered(spec.name.clone(), flags)
            } else {
                WqSpec::new(spec.name.clone(), flags)
            };
            if spec.kind != WqKind::Ordered && spec.max_active != 0 {
                // The scenario checked max_active <= WQ_MAX_ACTIVE, which fits in a u16.
                wq_spec = wq_spec.max_active(u16::try_from(spec.max_active).unwrap_or(u16::MAX));
            }
            let wq_spec = wq_spec.policy(core_policy.clone());
            let wq = self
                .sys
                .alloc_workqueue(wq_spec, 0, &mut self.out)
                .map_err(|source| SimError::Workqueue {
                    name: spec.name.clone(),
                    source,
                })?;
            self.wq_names.insert(wq, spec.name.clone());
            wq_ids.insert(spec.name.as_str(), wq);
            let pwqs: Vec<PwqId> = self
                .sys
                .workqueue(wq)
                .map(|w| w.pwqs().to_vec())
                .unwrap_or_default();
            for pwq in pwqs {
                let pool = cmwq_pool::pool_of(pwq);
                let pool_i = self.pool_index(pool);
                let label = format!("{}/{}", spec.name, self.trace.pools[pool_i as usize].label);
                self.pwq_idx.insert(pwq, self.trace.pwqs.len() as u32);
                self.pwq_ids.push(pwq);
                self.maydays_seen.push(0);
                self.trace.pwqs.push(PwqInfo {
                    label,
                    pool: pool_i,
                    mem_reclaim: spec.mem_reclaim,
                });
            }
            if let Some(r) = self.sys.rescuer_id(wq) {
                self.add_worker(r, None, Some(wq));
            }
        }

        // Events, by name.
        let mut event_ids: HashMap<&str, u32> = HashMap::new();
        let mut event_id = |name: &'s str, events: &mut Vec<EventState>| -> u32 {
            *event_ids.entry(name).or_insert_with(|| {
                events.push(EventState {
                    signalled: false,
                    waiters: Vec::new(),
                });
                events.len() as u32 - 1
            })
        };
        let group_ids: HashMap<&str, u32> = sc
            .items
            .iter()
            .enumerate()
            .map(|(i, it)| (it.name.as_str(), i as u32))
            .collect();
        let siblings = sc.sibling_groups();
        for (gi, it) in sc.items.iter().enumerate() {
            let wq = wq_ids[it.wq.as_str()];
            let script: Box<[Op]> = it
                .script
                .iter()
                .map(|s| match s {
                    Step::Run(d) => Op::Run(nanos(*d)),
                    Step::Sleep(d) => Op::Sleep(nanos(*d)),
                    Step::Block(e) => Op::Block(event_id(e, &mut self.events)),
                    Step::Signal(e) => Op::Signal(event_id(e, &mut self.events)),
                    Step::Queue(g) => Op::Queue(group_ids[g.as_str()]),
                    Step::QueueDelayed(g, d) => Op::QueueDelayed(group_ids[g.as_str()], nanos(*d)),
                    Step::ModDelayed(g, d) => Op::ModDelayed(group_ids[g.as_str()], nanos(*d)),
                })
                .collect();
            let pwq = self
                .sys
                .pwq_of(wq, it.cpu)
                .and_then(|p| self.pwq_idx.get(&p).copied())
                .unwrap_or(0);
            let func: Arc<str> = Arc::from(it.func.as_str());
            let first = self.items.len() as u32;
            let sibling = siblings.contains(&it.name.as_str());
            for inst in 0..it.count {
                let idx = self.items.len() as u32;
                self.items.push(Item {
                    arc: Arc::new(SimWork {
                        work: Work::new(),
                        idx,
                        func: func.clone(),
                    }),
                    group: gi as u32,
                });
                self.trace.items.push(ItemInfo {
                    func: it.func.clone(),
                    group: it.name.clone(),
                    instance: inst,
                    pwq,
                    sibling,
                });
                if it.at.is_some() {
                    self.scheduled_left += 1;
                }
            }
            // Only the first instance goes on the heap now; each queueing schedules the
            // next, so the heap stays small however many items a group has.
            if let Some(at) = it.at {
                self.schedule(nanos(at), Ev::QueueItem { item: first });
            }
            self.groups.push(Group {
                first,
                count: it.count,
                interval: nanos(it.interval),
                wq,
                cpu: it.cpu,
                script,
                delay: it.delay.map(nanos),
            });
        }
        for (i, s) in sc.signals.iter().enumerate() {
            let id = event_id(&s.event, &mut self.events);
            self.signal_events.push(id);
            self.schedule(nanos(s.at), Ev::Signal { event: i as u32 });
            self.scheduled_left += 1;
        }
        for (i, f) in sc.flushes.iter().enumerate() {
            self.schedule(nanos(f.at), Ev::Flush { flush: i as u32 });
            self.scheduled_left += 1;
        }
        for (i, c) in sc.cancels.iter().enumerate() {
            self.schedule(nanos(c.at), Ev::Cancel { cancel: i as u32 });
            self.scheduled_left += 1;
        }
        for (i, f) in sc.wq_flushes.iter().enumerate() {
            self.schedule(nanos(f.at), Ev::FlushWq { flush: i as u32 });
            self.scheduled_left += 1;
        }
        for d in &sc.dumps {
            self.schedule(nanos(*d), Ev::Dump);
            self.scheduled_left += 1;
        }
        let last_queueing = sc
            .items
            .iter()
            .filter_map(|i| {
                i.at.map(|at| nanos(at) + u64::from(i.count - 1) * nanos(i.interval))
            })
            .max()
            .unwrap_or(0);
        let last_instant = self
            .heap
            .iter()
            .map(|e| e.t)
            .max()
            .unwrap_or(0)
            .max(last_queueing);
        let last_pressure = self.trace.pressure.iter().map(|w| w.1).max().unwrap_or(0);
        self.horizon = match sc.until {
            Some(u) => nanos(u),
            None => last_instant.max(last_pressure) + DEFAULT_HORIZON_NS,
        };
        self.drain_actions();
        Ok(())
    }

    /// Traces the maydays sent since the last look (the core counts them in each pwq's
    /// MAYDAY stat; the timer and the rescuer's re-send are the only senders).
    fn trace_maydays(&mut self) {
        for i in 0..self.pwq_ids.len() {
            let n = self.sys.pwq_stats(self.pwq_ids[i]).mayday;
            for _ in self.maydays_seen[i]..n {
                self.record(TraceKind::Mayday { pwq: i as u32 });
            }
            self.maydays_seen[i] = n;
        }
    }

    fn in_pressure(&self) -> bool {
        self.sc
            .pressure
            .iter()
            .any(|w| nanos(w.start) <= self.now && self.now < nanos(w.end))
    }

    fn run_loop(&mut self) -> Result<(), SimError> {
        while let Some(Entry { t, ev, .. }) = self.heap.pop() {
            if t > self.horizon {
                self.now = self.horizon;
                break;
            }
            self.now = t;
            self.handle(ev)?;
            self.drain_actions();
            if self.live == 0 && self.scheduled_left == 0 {
                break;
            }
        }
        Ok(())
    }

    fn finish(mut self) -> RunOutput {
        let end = self
            .last_activity
            .max(self.sc.dumps.iter().map(|d| nanos(*d)).max().unwrap_or(0));
        self.trace.end = if self.live > 0 { self.now } else { end };
        let visited: u64 = self
            .pwq_idx
            .keys()
            .map(|&p| self.sys.pwq_stats(p).rescue_nodes_visited)
            .sum();
        let metrics = Metrics::from_trace(&self.trace, visited);
        RunOutput {
            policy: self.policy,
            trace: self.trace,
            metrics,
            dumps: self.dumps,
            unfinished: self.live,
            ops: self.ops,
            cancelled: self.cancelled,
        }
    }

    fn handle(&mut self, ev: Ev) -> Result<(), SimError> {
        match ev {
            Ev::QueueItem { item } => {
                self.scheduled_left -= 1;
                let g = &self.groups[self.items[item as usize].group as usize];
                if item + 1 < g.first + g.count {
                    let next = self.now + g.interval;
                    self.schedule(next, Ev::QueueItem { item: item + 1 });
                }
                match self.groups[self.items[item as usize].group as usize].delay {
                    Some(d) => self.queue_item_delayed(item, d, QueueFrom::Outside)?,
                    None => self.queue_item(item, QueueFrom::Outside)?,
                }
            }
            Ev::Signal { event } => {
                self.scheduled_left -= 1;
                let id = self.signal_events[event as usize];
                self.signal(id);
            }
            Ev::Flush { flush } => {
                self.scheduled_left -= 1;
                let f = &self.sc.flushes[flush as usize];
                let g = self
                    .sc
                    .items
                    .iter()
                    .position(|i| i.name == f.item)
                    .unwrap_or(0);
                let target = self.items[self.groups[g].first as usize].arc.clone();
                let barrier = WorkRef::from_arc(SimBarrier::new(f.waiter, NoWaiter));
                // Err: the item is neither pending nor running, nothing to wait for.
                let _ = self
                    .sys
                    .flush_work(&target.work, barrier, self.now, &mut self.out);
            }
            Ev::Cancel { cancel } => {
                self.scheduled_left -= 1;
                let c = &self.sc.cancels[cancel as usize];
                let g = self
                    .sc
                    .items
                    .iter()
                    .position(|i| i.name == c.item)
                    .unwrap_or(0);
                let item = self.groups[g].first;
                let target = self.items[item as usize].arc.clone();
                let was = self.sys.cancel_work(&target.work, self.now, &mut self.out);
                if was {
                    // Taken off its queue or timer: it will not run for that queueing.
                    self.live -= 1;
                    self.cancelled += 1;
                }
                let text = format!(
                    "cancel {}: {}",
                    self.trace_item_name(item),
                    if was {
                        "was pending"
                    } else {
                        "was not pending"
                    }
                );
                self.ops.push(OpRecord { at: self.now, text });
            }
            Ev::FlushWq { flush } => {
                self.scheduled_left -= 1;
                let name = self.sc.wq_flushes[flush as usize].wq.clone();
                let wq = self
                    .wq_names
                    .iter()
                    .find(|(_, n)| **n == name)
                    .map(|(id, _)| *id);
                if let Some(wq) = wq {
                    match self.sys.flush_workqueue(wq, self.now, &mut self.out) {
                        Ok(t) => {
                            self.live += 1; // the flusher waits: the run goes on for it
                            self.wq_flush_waits.push((wq, t, self.now));
                        }
                        Err(e) => self.ops.push(OpRecord {
                            at: self.now,
                            text: format!("flush_workqueue {name}: refused: {e}"),
                        }),
                    }
                }
            }
            Ev::DelayedTimer => self.sys.delayed_timeout(self.now, &mut self.out),
            Ev::Dump => {
                self.scheduled_left -= 1;
                let snap = self.sys.snapshot(self.now);
                let text = snap
                    .show_all_workqueues(self.options.dump_format)?
                    .to_string();
                self.dumps.push(Dump { at: self.now, text });
                self.last_activity = self.now;
            }
            Ev::SliceEnd { w, serial } => self.slice_end(w, serial),
            Ev::Wake { w } => {
                let worker = &mut self.workers[w as usize];
                if worker.state != WState::Sleeping {
                    return Ok(());
                }
                worker.state = WState::Running;
                // The kernel resets current_at on wakeup: the threshold counts afresh.
                worker.run_cpu = 0;
                let id = worker.id;
                let item = worker.current.map_or(0, |c| c.item);
                self.sys.worker_running(id, self.now);
                self.record(TraceKind::Woke { item, worker: w });
                self.advance(w);
            }
            Ev::WorkerNext { w } => {
                self.workers[w as usize].wake_queued = false;
                if matches!(
                    self.workers[w as usize].state,
                    WState::Idle | WState::Managing | WState::Starting
                ) {
                    self.next_work(w);
                }
            }
            Ev::Create { pool } => {
                // A pool's first worker is not subject to memory pressure: the kernel
                // creates it when the pool comes up (workqueue_prepare_cpu() for per-CPU
                // pools, get_unbound_pool() for unbound ones, which fails the pool rather
                // than leave it without a worker), so a pool always has a worker and its
                // manager is one of them.
                let has_workers = self.sys.pool(pool).is_some_and(|p| p.nr_workers() > 0);
                if self.in_pressure() && has_workers {
                    self.sys.worker_create_failed(pool, self.now, &mut self.out);
                    let p = self.pool_index(pool);
                    self.record(TraceKind::CreateFailed { pool: p });
                } else {
                    let id = self.sys.worker_created(pool, self.now, &mut self.out);
                    let w = self.add_worker(id, Some(pool), None);
                    let p = self.pool_index(pool);
                    self.record(TraceKind::CreateOk { pool: p, worker: w });
                    // A new worker starts idle; the core wakes it (WakeWorker) if the pool
                    // needs it.
                    self.workers[w as usize].state = WState::Idle;
                }
            }
            Ev::MaydayTimer { pool } => {
                self.sys.mayday_timeout(pool, self.now, &mut self.out);
                self.trace_maydays();
            }
            Ev::IdleTimer { pool } => self.sys.idle_timeout(pool, self.now, &mut self.out),
            Ev::CreateRetry { pool } => {
                self.sys.create_retry_timeout(pool, self.now, &mut self.out);
            }
            Ev::RescuerStep { w } => {
                self.workers[w as usize].wake_queued = false;
                if self.workers[w as usize].state == WState::Idle {
                    self.rescuer_step(w);
                }
            }
        }
        Ok(())
    }

    /// Handles what the core asked for, until it asks for nothing more. The batch buffer
    /// is reused, so this allocates nothing once warmed up.
    fn drain_actions(&mut self) {
        let mut batch = std::mem::take(&mut self.pending);
        loop {
            batch.extend(self.out.drain());
            if batch.is_empty() {
                break;
            }
            // Handle in order; handlers may push more core actions into `out`.
            for a in batch.drain(..) {
                self.handle_action(a);
            }
        }
        self.pending = batch;
    }

    fn handle_action(&mut self, a: Action) {
        match a {
            Action::WakeWorker { worker, .. } => {
                if let Some(&w) = self.worker_idx.get(&worker) {
                    let wk = &mut self.workers[w as usize];
                    if !wk.wake_queued && matches!(wk.state, WState::Idle | WState::Managing) {
                        wk.wake_queued = true;
                        self.schedule(self.now, Ev::WorkerNext { w });
                    }
                }
            }
            Action::CreateWorker { pool } => {
                self.schedule(self.now + WORKER_CREATE_NS, Ev::Create { pool });
            }
            Action::StopWorker { worker, .. } => {
                if let Some(&w) = self.worker_idx.get(&worker) {
                    self.workers[w as usize].state = WState::Dead;
                }
            }
            Action::ArmMaydayTimer { pool, at } => {
                self.schedule(self.sc.clock.expiry(self.now, at), Ev::MaydayTimer { pool })
            }
            Action::ArmIdleTimer { pool, at } => {
                self.schedule(self.sc.clock.expiry(self.now, at), Ev::IdleTimer { pool })
            }
            Action::ArmCreateRetry { pool, at } => {
                self.schedule(self.sc.clock.expiry(self.now, at), Ev::CreateRetry { pool })
            }
            Action::ArmDelayedTimer { at } => {
                self.schedule(self.sc.clock.expiry(self.now, at), Ev::DelayedTimer)
            }
            Action::WqFlushDone { wq, ticket } => {
                let mut i = 0;
                while i < self.wq_flush_waits.len() {
                    let (w, t, from) = self.wq_flush_waits[i];
                    if w == wq && t == ticket {
                        self.wq_flush_waits.remove(i);
                        self.live -= 1;
                        let name = self.wq_names.get(&wq).cloned().unwrap_or_default();
                        self.ops.push(OpRecord {
                            at: self.now,
                            text: format!("flush_workqueue {name} (from {}): done", Pretty(from)),
                        });
                    } else {
                        i += 1;
                    }
                }
            }
            Action::WakeRescuer { wq } => {
                if let Some(w) = self
                    .sys
                    .rescuer_id(wq)
                    .and_then(|r| self.worker_idx.get(&r).copied())
                {
                    let wk = &mut self.workers[w as usize];
                    if !wk.wake_queued && wk.state == WState::Idle {
                        wk.wake_queued = true;
                        self.schedule(self.now, Ev::RescuerStep { w });
                    }
                }
            }
            // System completes flush colours itself; the scenario waits on no drain.
            _ => {}
        }
    }

    fn queue_item(&mut self, item: u32, from: QueueFrom) -> Result<(), SimError> {
        let it = &self.items[item as usize];
        let g = &self.groups[it.group as usize];
        let (wq, cpu) = (g.wq, g.cpu);
        let work = WorkRef::from_arc(it.arc.clone());
        match self
            .sys
            .queue_work(wq, cpu, work, from, self.now, &mut self.out)
        {
            Ok(()) => {
                self.live += 1;
                self.record(TraceKind::Queued { item });
                Ok(())
            }
            // Queueing a pending item is a no-op, as queue_work returning false.
            Err((QueueError::AlreadyPending, _)) => Ok(()),
            Err((reason, _)) => Err(SimError::Queue {
                item: self.trace_item_name(item),
                reason,
            }),
        }
    }

    /// `queue_delayed_work`: the item counts as queued from now (its latency includes the
    /// delay); the core holds it on its delayed-work timer until the deadline.
    fn queue_item_delayed(
        &mut self,
        item: u32,
        delay: Nanos,
        from: QueueFrom,
    ) -> Result<(), SimError> {
        let it = &self.items[item as usize];
        let g = &self.groups[it.group as usize];
        let (wq, cpu) = (g.wq, g.cpu);
        let work = WorkRef::from_arc(it.arc.clone());
        match self
            .sys
            .queue_delayed_work(wq, cpu, work, delay, from, self.now, &mut self.out)
        {
            Ok(()) => {
                self.live += 1;
                self.record(TraceKind::Queued { item });
                Ok(())
            }
            Err((QueueError::AlreadyPending, _)) => Ok(()),
            Err((reason, _)) => Err(SimError::Queue {
                item: self.trace_item_name(item),
                reason,
            }),
        }
    }

    /// `mod_delayed_work`: a pending instance is moved to the new deadline (still one
    /// queueing), an idle one queued.
    fn mod_delayed_item(&mut self, item: u32, delay: Nanos, from: QueueFrom) {
        let it = &self.items[item as usize];
        let g = &self.groups[it.group as usize];
        let (wq, cpu) = (g.wq, g.cpu);
        let work = WorkRef::from_arc(it.arc.clone());
        if let Ok(was) =
            self.sys
                .mod_delayed_work(wq, cpu, work, delay, from, self.now, &mut self.out)
        {
            if !was {
                self.live += 1;
                self.record(TraceKind::Queued { item });
            }
        }
    }

    fn trace_item_name(&self, item: u32) -> String {
        // The instance within its group, as the trace names it (`func#instance`).
        let group = self.items[item as usize].group as usize;
        let instance = item - self.groups[group].first;
        format!("{}#{}", self.sc.items[group].name, instance)
    }

    fn signal(&mut self, event: u32) {
        let Some(e) = self.events.get_mut(event as usize) else {
            return;
        };
        e.signalled = true;
        let waiters = std::mem::take(&mut e.waiters);
        for w in waiters {
            self.schedule(self.now, Ev::Wake { w });
        }
    }

    fn next_work(&mut self, w: u32) {
        loop {
            let id = self.workers[w as usize].id;
            match self.sys.next_work(id, self.now, &mut self.out) {
                Next::Run(work) => {
                    if self.start(w, work) {
                        return;
                    }
                    // A barrier: done in no time; ask again.
                    self.sys.work_done(id, 0, self.now, &mut self.out);
                }
                Next::Idle => {
                    self.workers[w as usize].state = WState::Idle;
                    return;
                }
                Next::Manage => {
                    self.workers[w as usize].state = WState::Managing;
                    return;
                }
                Next::Exit => {
                    self.workers[w as usize].state = WState::Dead;
                    return;
                }
            }
        }
    }

    fn rescuer_step(&mut self, w: u32) {
        let Some(wq) = self.workers[w as usize].rescuer else {
            return;
        };
        loop {
            let step = self.sys.rescuer_step(wq, self.now, &mut self.out);
            self.trace_maydays();
            match step {
                RescuerStep::Run { pool, work } => {
                    self.workers[w as usize].home_cpu = self.pool_cpu(pool);
                    if self.start(w, work) {
                        return;
                    }
                    let id = self.workers[w as usize].id;
                    self.sys.work_done(id, 0, self.now, &mut self.out);
                }
                RescuerStep::Sleep => {
                    self.workers[w as usize].state = WState::Idle;
                    return;
                }
            }
        }
    }

    /// Starts running `work` on worker `w`. Returns false for a flush barrier, which
    /// completes at once (the caller reports it done).
    fn start(&mut self, w: u32, work: WorkRef) -> bool {
        let item = match work.try_into_arc::<SimWork>() {
            Ok(arc) => arc.idx,
            Err(_barrier) => return false,
        };
        let worker = &mut self.workers[w as usize];
        worker.state = WState::Running;
        worker.run_cpu = 0;
        worker.ticked = false;
        worker.current = Some(Current {
            item,
            pc: 0,
            cpu_ns: 0,
        });
        self.record(TraceKind::Started { item, worker: w });
        self.advance(w);
        true
    }

    fn jitter(&mut self, d: Nanos) -> Nanos {
        let j = self.sc.jitter_percent;
        if j == 0 || d == 0 {
            return d;
        }
        let pct: i64 = self.rng.gen_range(-i64::from(j)..=i64::from(j));
        let delta = (d as i128 * pct as i128 / 100) as i64;
        (d as i64 + delta).max(0) as Nanos
    }

    /// Plays the current item's script from its program counter until a step takes time.
    fn advance(&mut self, w: u32) {
        loop {
            let Some(cur) = self.workers[w as usize].current else {
                return;
            };
            let group = self.items[cur.item as usize].group as usize;
            let op = self.groups[group].script.get(cur.pc as usize).copied();
            if let Some(c) = self.workers[w as usize].current.as_mut() {
                c.pc += 1;
            }
            match op {
                None => {
                    self.finish_item(w, cur);
                    return;
                }
                Some(Op::Run(d)) => {
                    let d = self.jitter(d);
                    if d == 0 {
                        continue;
                    }
                    self.workers[w as usize].cpu_left = d;
                    self.request_cpu(w);
                    return;
                }
                Some(Op::Sleep(d)) => {
                    self.go_to_sleep(w, cur.item);
                    self.schedule(self.now + d, Ev::Wake { w });
                    return;
                }
                Some(Op::Block(e)) => {
                    if self.events[e as usize].signalled {
                        continue;
                    }
                    self.go_to_sleep(w, cur.item);
                    self.events[e as usize].waiters.push(w);
                    return;
                }
                Some(Op::Queue(g)) => {
                    let wq = self.groups[group].wq;
                    let instance = cur.item - self.groups[group].first;
                    let target = &self.groups[g as usize];
                    let item = target.first + instance % target.count;
                    // A chained queueing the core refuses (draining) is dropped, as a
                    // kernel work function would see queue_work fail.
                    let _ = self.queue_item(item, QueueFrom::WorkOf(wq));
                }
                Some(Op::QueueDelayed(g, d)) => {
                    let wq = self.groups[group].wq;
                    let instance = cur.item - self.groups[group].first;
                    let target = &self.groups[g as usize];
                    let item = target.first + instance % target.count;
                    let _ = self.queue_item_delayed(item, d, QueueFrom::WorkOf(wq));
                }
                Some(Op::ModDelayed(g, d)) => {
                    let wq = self.groups[group].wq;
                    let instance = cur.item - self.groups[group].first;
                    let target = &self.groups[g as usize];
                    let item = target.first + instance % target.count;
                    self.mod_delayed_item(item, d, QueueFrom::WorkOf(wq));
                }
                Some(Op::Signal(e)) => self.signal(e),
            }
        }
    }

    fn go_to_sleep(&mut self, w: u32, item: u32) {
        let worker = &mut self.workers[w as usize];
        worker.state = WState::Sleeping;
        let id = worker.id;
        self.sys.worker_sleeping(id, self.now, &mut self.out);
        self.record(TraceKind::Slept { item, worker: w });
    }

    /// Puts `w` on its CPU if that is free, else in the CPU's run queue (making the worker
    /// on it share the CPU in slices).
    fn request_cpu(&mut self, w: u32) {
        match self.workers[w as usize].home_cpu {
            Some(c) => {
                if self.cpus[c as usize].running.is_none() {
                    self.dispatch(w, c);
                } else {
                    self.cpus[c as usize].waiting.push_back(w);
                    self.contend(c);
                }
            }
            None => {
                if let Some(c) = self.cpus.iter().position(|cpu| cpu.running.is_none()) {
                    self.dispatch(w, c as u32);
                } else {
                    self.any_waiting.push_back(w);
                    for c in 0..self.cpus.len() as u32 {
                        self.contend(c);
                    }
                }
            }
        }
    }

    /// Whether a worker waits for CPU `c` (bound to it, or unbound).
    fn cpu_wanted(&self, c: u32) -> bool {
        !self.cpus[c as usize].waiting.is_empty() || !self.any_waiting.is_empty()
    }

    /// Starts a slice of `w` on CPU `c`: the whole step if nobody waits for the CPU, else
    /// one [`CPU_SLICE_NS`]; cut short where the item crosses the cpu-intensive threshold.
    fn dispatch(&mut self, w: u32, c: u32) {
        let wanted = self.cpu_wanted(c);
        let now = self.now;
        self.cpus[c as usize].running = Some(w);
        let worker = &mut self.workers[w as usize];
        worker.on_cpu = Some(c);
        let mut len = worker.cpu_left;
        if wanted {
            len = len.min(CPU_SLICE_NS);
        }
        if worker.rescuer.is_none() && !worker.ticked {
            let to_thresh = cmwq_pool::CPU_INTENSIVE_THRESH.saturating_sub(worker.run_cpu);
            if to_thresh > 0 {
                len = len.min(to_thresh);
            }
        }
        worker.slice_start = now;
        worker.slice_end = now + len;
        worker.serial += 1;
        let serial = worker.serial;
        self.schedule(now + len, Ev::SliceEnd { w, serial });
    }

    /// Someone now waits for CPU `c`: the worker on it, if it was given a long slice,
    /// yields after at most one [`CPU_SLICE_NS`] from its slice start.
    fn contend(&mut self, c: u32) {
        let Some(r) = self.cpus[c as usize].running else {
            return;
        };
        let now = self.now;
        let worker = &mut self.workers[r as usize];
        let cut = (worker.slice_start + CPU_SLICE_NS).max(now);
        if worker.slice_end > cut {
            worker.slice_end = cut;
            worker.serial += 1;
            let serial = worker.serial;
            self.schedule(cut, Ev::SliceEnd { w: r, serial });
        }
    }

    /// Gives CPU `c` to the next waiting worker, or leaves it idle.
    fn dispatch_next(&mut self, c: u32) {
        let next = self.cpus[c as usize]
            .waiting
            .pop_front()
            .or_else(|| self.any_waiting.pop_front());
        match next {
            Some(n) => self.dispatch(n, c),
            None => self.cpus[c as usize].running = None,
        }
    }

    fn slice_end(&mut self, w: u32, serial: u64) {
        let now = self.now;
        let worker = &mut self.workers[w as usize];
        if worker.serial != serial {
            return; // the slice was cut short and rescheduled
        }
        let Some(c) = worker.on_cpu.take() else {
            return;
        };
        let used = now - worker.slice_start;
        worker.cpu_left -= used.min(worker.cpu_left);
        worker.run_cpu += used;
        if let Some(cur) = worker.current.as_mut() {
            cur.cpu_ns += used;
        }
        // Feed the core the item's CPU time since it started or woke; the core decides
        // whether that crossed the cpu-intensive threshold (calls below it, or after the
        // worker was marked, change nothing).
        if worker.rescuer.is_none() && worker.current.is_some() && !worker.ticked {
            // Slices are cut at the threshold (`dispatch`): once past it, no more cuts.
            worker.ticked = worker.run_cpu >= cmwq_pool::CPU_INTENSIVE_THRESH;
            let (id, cpu) = (worker.id, worker.run_cpu);
            self.sys.worker_tick(id, cpu, &mut self.out);
        }
        let worker = &self.workers[w as usize];
        if worker.cpu_left == 0 {
            self.dispatch_next(c);
            self.advance(w);
        } else if self.cpu_wanted(c) {
            // Round-robin: to the back of the queue it waits in, the CPU to the next.
            match worker.home_cpu {
                Some(h) => self.cpus[h as usize].waiting.push_back(w),
                None => self.any_waiting.push_back(w),
            }
            self.dispatch_next(c);
        } else {
            self.dispatch(w, c);
        }
    }

    fn finish_item(&mut self, w: u32, cur: Current) {
        self.record(TraceKind::Finished {
            item: cur.item,
            worker: w,
        });
        self.last_activity = self.now;
        // Every queueing that took effect leads to exactly one run.
        self.live -= 1;
        let worker = &mut self.workers[w as usize];
        worker.current = None;
        let id = worker.id;
        let rescuer = worker.rescuer.is_some();
        self.sys.work_done(id, cur.cpu_ns, self.now, &mut self.out);
        if rescuer {
            self.workers[w as usize].state = WState::Idle;
            self.rescuer_step(w);
        } else {
            self.workers[w as usize].state = WState::Starting;
            self.next_work(w);
        }
    }
}
