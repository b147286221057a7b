//! Scenarios as data: workqueues, scripted work items, memory-pressure windows, signals,
//! flushes and the instants at which to take dumps.
//!
//! A [`Scenario`] is built in Rust with [`Scenario::builder`] or read from a text file with
//! [`Scenario::from_toml`](crate::Scenario::from_toml); both go through the same
//! validation ([`ScenarioBuilder::build`]), so a scenario that validates refers only to
//! workqueues, items and events it defines.

use std::collections::BTreeSet;
use std::time::Duration;

use cmwq_pool::{KernelClock, TimerModel};

use crate::ScenarioError;

/// The largest `max_active` a workqueue may ask for (the kernel's `WQ_MAX_ACTIVE`).
pub const WQ_MAX_ACTIVE: u32 = 2048;
/// The `max_active` used when a workqueue asks for 0 (the kernel's `WQ_DFL_ACTIVE`).
pub const WQ_DFL_ACTIVE: u32 = 1024;
/// The most CPUs a scenario may simulate.
pub const MAX_CPUS: u32 = 64;
/// The most items (instances over every group) a scenario may have: each costs memory
/// up front.
pub const MAX_ITEMS: u64 = 10_000_000;

/// Which rescuer policy a run uses; `All` runs the scenario once per policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PolicyChoice {
    /// Pre-7.0: the rescuer moves every item of the stalled pwq to its scheduled list.
    Slurp,
    /// 7.0: the rescuer takes items one by one behind a per-pwq cursor.
    Cursor,
    /// The O(N^2) strawman: one by one, rescanning the worklist from its head each time.
    Rescan,
    /// Every policy, one run each.
    All,
}

impl PolicyChoice {
    /// The single policies this choice stands for, in the order runs are shown
    /// (Slurp, Cursor, Rescan).
    pub fn expand(self) -> &'static [PolicyChoice] {
        match self {
            PolicyChoice::Slurp => &[PolicyChoice::Slurp],
            PolicyChoice::Cursor => &[PolicyChoice::Cursor],
            PolicyChoice::Rescan => &[PolicyChoice::Rescan],
            PolicyChoice::All => &[
                PolicyChoice::Slurp,
                PolicyChoice::Cursor,
                PolicyChoice::Rescan,
            ],
        }
    }

    /// The lower-case name used on the command line and in files.
    pub fn name(self) -> &'static str {
        match self {
            PolicyChoice::Slurp => "slurp",
            PolicyChoice::Cursor => "cursor",
            PolicyChoice::Rescan => "rescan",
            PolicyChoice::All => "all",
        }
    }

    /// Parses `slurp`, `cursor`, `rescan` or `all` (any case).
    pub fn parse(text: &str) -> Result<Self, ScenarioError> {
        match text.to_ascii_lowercase().as_str() {
            "slurp" => Ok(PolicyChoice::Slurp),
            "cursor" => Ok(PolicyChoice::Cursor),
            "rescan" => Ok(PolicyChoice::Rescan),
            "all" => Ok(PolicyChoice::All),
            _ => Err(ScenarioError::BadPolicy(text.to_owned())),
        }
    }
}

/// How a workqueue's pwqs map to pools.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WqKind {
    /// One pwq per CPU, each on that CPU's per-CPU pool (the kernel's default).
    PerCpu,
    /// One pwq on the unbound pool (`WQ_UNBOUND`).
    Unbound,
    /// Unbound with max_active 1 and strict queueing order (`alloc_ordered_workqueue`).
    Ordered,
}

/// A workqueue a scenario creates before time 0.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkqueueSpec {
    /// Its name, as dumps print it.
    pub name: String,
    /// Per-CPU, unbound or ordered.
    pub kind: WqKind,
    /// `WQ_MEM_RECLAIM`: the workqueue owns a rescuer.
    pub mem_reclaim: bool,
    /// `WQ_HIGHPRI`: its pwqs use the high-priority pools.
    pub highpri: bool,
    /// `WQ_CPU_INTENSIVE`: its items never count in nr_running.
    pub cpu_intensive: bool,
    /// Per-pwq max_active; 0 means the default ([`WQ_DFL_ACTIVE`]).
    pub max_active: u32,
}

impl WorkqueueSpec {
    /// A per-CPU workqueue with default max_active and no flags.
    pub fn new(name: impl Into<String>) -> Self {
        WorkqueueSpec {
            name: name.into(),
            kind: WqKind::PerCpu,
            mem_reclaim: false,
            highpri: false,
            cpu_intensive: false,
            max_active: 0,
        }
    }
    /// Sets `WQ_MEM_RECLAIM`.
    pub fn mem_reclaim(mut self) -> Self {
        self.mem_reclaim = true;
        self
    }
    /// Sets `WQ_HIGHPRI`.
    pub fn highpri(mut self) -> Self {
        self.highpri = true;
        self
    }
    /// Sets `WQ_CPU_INTENSIVE`.
    pub fn cpu_intensive(mut self) -> Self {
        self.cpu_intensive = true;
        self
    }
    /// Makes it unbound (`WQ_UNBOUND`).
    pub fn unbound(mut self) -> Self {
        self.kind = WqKind::Unbound;
        self
    }
    /// Makes it ordered (unbound, max_active 1, strict order).
    pub fn ordered(mut self) -> Self {
        self.kind = WqKind::Ordered;
        self.max_active = 1;
        self
    }
    /// Sets max_active.
    pub fn max_active(mut self, n: u32) -> Self {
        self.max_active = n;
        self
    }
    /// The max_active the pwqs get (0 resolved to the default).
    pub fn effective_max_active(&self) -> u32 {
        match (self.kind, self.max_active) {
            (WqKind::Ordered, _) => 1,
            (_, 0) => WQ_DFL_ACTIVE,
            (_, n) => n,
        }
    }
}

/// One step of a simulated work function.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Run on the CPU for this long (the worker stays runnable; past the cpu-intensive
    /// threshold the worker stops counting in nr_running).
    Run(Duration),
    /// Sleep until the named event is signalled (the core is told the worker sleeps, and
    /// that it runs again when woken). An event signalled before it is waited on stays
    /// signalled: events are latches.
    Block(String),
    /// Sleep for this long.
    Sleep(Duration),
    /// Queue an instance of the named item group (chained queueing): instance `i mod count`,
    /// where `i` is the queueing item's own instance index, so groups of equal size chain
    /// pairwise and a group of one is always the one queued. Queueing an instance that is
    /// still pending is a no-op, as `queue_work` on a pending item is.
    Queue(String),
    /// Signal the named event, waking every item blocked on it.
    Signal(String),
    /// `queue_delayed_work`: queue an instance of the named group (chosen as for
    /// [`Step::Queue`]) after this delay; the core keeps it on its delayed-work timer
    /// meanwhile. A pending instance is left alone.
    QueueDelayed(String, Duration),
    /// `mod_delayed_work`: (re)queue an instance of the named group to run after this delay
    /// from now, whether it was idle, waiting on its timer or pending.
    ModDelayed(String, Duration),
}

impl Step {
    /// Whether this step puts the worker to sleep.
    pub fn sleeps(&self) -> bool {
        matches!(self, Step::Block(_) | Step::Sleep(_))
    }
}

/// A group of identical simulated work items: `count` items with the same function name
/// and script, queued on one workqueue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ItemSpec {
    /// The group's name, used by [`Step::Queue`] and sibling lists.
    pub name: String,
    /// The function name dumps print for these items.
    pub func: String,
    /// The workqueue they are queued on.
    pub wq: String,
    /// The CPU they are queued from (per-CPU workqueues use that CPU's pwq); `None` = CPU 0.
    pub cpu: Option<u32>,
    /// When the first instance is queued; `None` = only when a [`Step::Queue`] queues it.
    pub at: Option<Duration>,
    /// How many items the group has (at least 1).
    pub count: u32,
    /// Time between the initial queueing of consecutive instances.
    pub interval: Duration,
    /// What each instance does when it runs.
    pub script: Vec<Step>,
    /// `Some(d)`: the initial queueings are `queue_delayed_work(.., d)`.
    pub delay: Option<Duration>,
}

impl ItemSpec {
    /// One item named `name` running `func` on workqueue `wq`, queued at time 0 from CPU 0,
    /// with an empty script (add steps with [`ItemSpec::run`] and friends).
    pub fn new(name: impl Into<String>, func: impl Into<String>, wq: impl Into<String>) -> Self {
        ItemSpec {
            name: name.into(),
            func: func.into(),
            wq: wq.into(),
            cpu: None,
            at: Some(Duration::ZERO),
            count: 1,
            interval: Duration::ZERO,
            script: Vec::new(),
            delay: None,
        }
    }
    /// Queues the first instance at `t`.
    pub fn at(mut self, t: Duration) -> Self {
        self.at = Some(t);
        self
    }
    /// Queued only by [`Step::Queue`] of another item.
    pub fn chained(mut self) -> Self {
        self.at = None;
        self
    }
    /// Queued from `cpu`.
    pub fn cpu(mut self, cpu: u32) -> Self {
        self.cpu = Some(cpu);
        self
    }
    /// `count` instances, `interval` apart.
    pub fn count(mut self, count: u32, interval: Duration) -> Self {
        self.count = count;
        self.interval = interval;
        self
    }
    /// Appends a [`Step::Run`].
    pub fn run(mut self, d: Duration) -> Self {
        self.script.push(Step::Run(d));
        self
    }
    /// Appends a [`Step::Sleep`].
    pub fn sleep(mut self, d: Duration) -> Self {
        self.script.push(Step::Sleep(d));
        self
    }
    /// Appends a [`Step::Block`].
    pub fn block(mut self, event: impl Into<String>) -> Self {
        self.script.push(Step::Block(event.into()));
        self
    }
    /// Appends a [`Step::Queue`].
    pub fn queue(mut self, item: impl Into<String>) -> Self {
        self.script.push(Step::Queue(item.into()));
        self
    }
    /// Appends a [`Step::Signal`].
    pub fn signal(mut self, event: impl Into<String>) -> Self {
        self.script.push(Step::Signal(event.into()));
        self
    }
    /// Appends a [`Step::QueueDelayed`].
    pub fn queue_delayed(mut self, item: impl Into<String>, delay: Duration) -> Self {
        self.script.push(Step::QueueDelayed(item.into(), delay));
        self
    }
    /// Appends a [`Step::ModDelayed`].
    pub fn mod_delayed(mut self, item: impl Into<String>, delay: Duration) -> Self {
        self.script.push(Step::ModDelayed(item.into(), delay));
        self
    }
    /// Each initial queueing (at `at`, and of each later instance) is a
    /// `queue_delayed_work` with this delay instead of a `queue_work`.
    pub fn delayed(mut self, delay: Duration) -> Self {
        self.delay = Some(delay);
        self
    }
}

/// An event signalled by the scenario itself at a fixed instant (an I/O completing).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignalSpec {
    /// The event.
    pub event: String,
    /// When.
    pub at: Duration,
}

/// A `flush_work` of an item group's first instance at a fixed instant: the core queues a
/// flush barrier behind it, which dumps print as `BAR(PID)`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlushSpec {
    /// The item group whose first instance is flushed.
    pub item: String,
    /// When.
    pub at: Duration,
    /// The id of the task that waits (what `BAR(PID)` prints).
    pub waiter: u32,
}

/// A `cancel_work` (or `cancel_delayed_work`) of an item group's first instance at a fixed
/// instant: taken off its queue or delay timer if pending; a running instance goes on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CancelSpec {
    /// The item group whose first instance is cancelled.
    pub item: String,
    /// When.
    pub at: Duration,
}

/// A `flush_workqueue` at a fixed instant: the flusher waits for every item queued on the
/// workqueue before it (the kernel's flush colours); the run records when it returns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WqFlushSpec {
    /// The workqueue.
    pub wq: String,
    /// When.
    pub at: Duration,
}

/// A window `[start, end)` of memory pressure: every worker creation in it fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PressureWindow {
    /// First instant of pressure.
    pub start: Duration,
    /// First instant without pressure.
    pub end: Duration,
}

/// A validated scenario. Build one with [`Scenario::builder`] or read one from a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Scenario {
    /// Its name (`cargo run -p cmwq-sim -- run NAME`).
    pub name: String,
    /// One paragraph: what it shows.
    pub description: String,
    /// Seed of the run's random choices (the jitter of run steps).
    pub seed: u64,
    /// Number of simulated CPUs (one per-CPU pool pair each).
    pub nr_cpus: u32,
    /// Jitter of [`Step::Run`] durations, in percent (0 = exact): each run step lasts its
    /// duration times a seeded factor in `[1 - j%, 1 + j%]`.
    pub jitter_percent: u32,
    /// The policies a run uses when the command line does not say.
    pub policy: PolicyChoice,
    /// Workqueues, created before time 0.
    pub workqueues: Vec<WorkqueueSpec>,
    /// Item groups.
    pub items: Vec<ItemSpec>,
    /// Events the scenario signals.
    pub signals: Vec<SignalSpec>,
    /// Flushes the scenario issues.
    pub flushes: Vec<FlushSpec>,
    /// Cancels the scenario issues.
    pub cancels: Vec<CancelSpec>,
    /// Workqueue flushes the scenario issues.
    pub wq_flushes: Vec<WqFlushSpec>,
    /// Memory-pressure windows, sorted and disjoint.
    pub pressure: Vec<PressureWindow>,
    /// Instants at which to take a dump, sorted.
    pub dumps: Vec<Duration>,
    /// Item groups whose stall after pressure is measured; empty = every group on a
    /// `WQ_MEM_RECLAIM` workqueue whose script never sleeps.
    pub siblings: Vec<String>,
    /// Stop the run at this instant even if work remains (a stuck scenario still ends).
    pub until: Option<Duration>,
    /// How the core's timer deadlines land: exactly ([`TimerModel::Exact`], the default) or
    /// on a kernel's timer wheel at its `HZ`, with that kernel's workqueue constants in
    /// jiffies ([`TimerModel::Kernel`]; see `cmwq_pool::KernelClock`), so a replay can be
    /// held against a kernel's figures.
    pub clock: TimerModel,
    /// The NUMA node of each CPU (`nodes[cpu]`); empty puts every CPU on node 0. The
    /// dump's pool info prints it as ` node=N`.
    pub nodes: Vec<u32>,
}

impl Scenario {
    /// Starts a scenario named `name`: 1 CPU, seed 0, no jitter, policy `All`.
    pub fn builder(name: impl Into<String>) -> ScenarioBuilder {
        ScenarioBuilder {
            s: Scenario {
                name: name.into(),
                description: String::new(),
                seed: 0,
                nr_cpus: 1,
                jitter_percent: 0,
                policy: PolicyChoice::All,
                workqueues: Vec::new(),
                items: Vec::new(),
                signals: Vec::new(),
                flushes: Vec::new(),
                cancels: Vec::new(),
                wq_flushes: Vec::new(),
                pressure: Vec::new(),
                dumps: Vec::new(),
                siblings: Vec::new(),
                until: None,
                clock: TimerModel::Exact,
                nodes: Vec::new(),
            },
        }
    }

    /// The workqueue named `name`.
    pub fn workqueue(&self, name: &str) -> Option<&WorkqueueSpec> {
        self.workqueues.iter().find(|w| w.name == name)
    }

    /// The item groups counted as siblings for the stall metric.
    pub fn sibling_groups(&self) -> Vec<&str> {
        if !self.siblings.is_empty() {
            return self.siblings.iter().map(String::as_str).collect();
        }
        self.items
            .iter()
            .filter(|i| {
                self.workqueue(&i.wq).is_some_and(|w| w.mem_reclaim)
                    && !i.script.iter().any(Step::sleeps)
            })
            .map(|i| i.name.as_str())
            .collect()
    }

    /// The end of the last pressure window, if any.
    pub fn pressure_end(&self) -> Option<Duration> {
        self.pressure.iter().map(|w| w.end).max()
    }

    /// Total number of items (instances over every group).
    pub fn nr_items(&self) -> u64 {
        self.items.iter().map(|i| u64::from(i.count)).sum()
    }
}

/// Builds a [`Scenario`]; [`ScenarioBuilder::build`] validates it.
#[derive(Clone, Debug)]
pub struct ScenarioBuilder {
    s: Scenario,
}

impl ScenarioBuilder {
    /// Sets the description.
    pub fn description(mut self, text: impl Into<String>) -> Self {
        self.s.description = text.into();
        self
    }
    /// Sets the seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.s.seed = seed;
        self
    }
    /// Sets the number of CPUs.
    pub fn cpus(mut self, n: u32) -> Self {
        self.s.nr_cpus = n;
        self
    }
    /// Sets the jitter of run steps, in percent.
    pub fn jitter_percent(mut self, p: u32) -> Self {
        self.s.jitter_percent = p;
        self
    }
    /// Sets the default policy.
    pub fn policy(mut self, p: PolicyChoice) -> Self {
        self.s.policy = p;
        self
    }
    /// Adds a workqueue.
    pub fn workqueue(mut self, wq: WorkqueueSpec) -> Self {
        self.s.workqueues.push(wq);
        self
    }
    /// Adds an item group.
    pub fn item(mut self, item: ItemSpec) -> Self {
        self.s.items.push(item);
        self
    }
    /// Signals `event` at `at`.
    pub fn signal(mut self, event: impl Into<String>, at: Duration) -> Self {
        self.s.signals.push(SignalSpec {
            event: event.into(),
            at,
        });
        self
    }
    /// Flushes the first instance of `item` at `at`, waited on by task `waiter`.
    pub fn flush(mut self, item: impl Into<String>, at: Duration, waiter: u32) -> Self {
        self.s.flushes.push(FlushSpec {
            item: item.into(),
            at,
            waiter,
        });
        self
    }
    /// Cancels the first instance of `item` at `at` (`cancel_work`).
    pub fn cancel(mut self, item: impl Into<String>, at: Duration) -> Self {
        self.s.cancels.push(CancelSpec {
            item: item.into(),
            at,
        });
        self
    }
    /// Flushes workqueue `wq` at `at` (`flush_workqueue`).
    pub fn flush_workqueue(mut self, wq: impl Into<String>, at: Duration) -> Self {
        self.s.wq_flushes.push(WqFlushSpec { wq: wq.into(), at });
        self
    }
    /// Adds a memory-pressure window `[start, end)`.
    pub fn pressure(mut self, start: Duration, end: Duration) -> Self {
        self.s.pressure.push(PressureWindow { start, end });
        self
    }
    /// Takes a dump at `at`.
    pub fn dump_at(mut self, at: Duration) -> Self {
        self.s.dumps.push(at);
        self
    }
    /// Names an item group whose stall after pressure is measured.
    pub fn sibling(mut self, item: impl Into<String>) -> Self {
        self.s.siblings.push(item.into());
        self
    }
    /// Stops the run at `at`.
    pub fn until(mut self, at: Duration) -> Self {
        self.s.until = Some(at);
        self
    }
    /// Sets the NUMA node of each CPU ([`Scenario::nodes`]).
    pub fn nodes(mut self, nodes: Vec<u32>) -> Self {
        self.s.nodes = nodes;
        self
    }
    /// Lets timers land as on a kernel with this clock ([`Scenario::clock`]).
    pub fn kernel_clock(mut self, clock: KernelClock) -> Self {
        self.s.clock = TimerModel::Kernel(clock);
        self
    }

    /// Checks every reference and range, sorts pressure windows and dump instants.
    pub fn build(self) -> Result<Scenario, ScenarioError> {
        let mut s = self.s;
        if s.name.is_empty() {
            return Err(ScenarioError::Invalid("the scenario has no name".into()));
        }
        if s.nr_cpus == 0 || s.nr_cpus > MAX_CPUS {
            return Err(ScenarioError::Invalid(format!(
                "cpus = {}, expected 1..={MAX_CPUS}",
                s.nr_cpus
            )));
        }
        if !s.nodes.is_empty() && s.nodes.len() != s.nr_cpus as usize {
            return Err(ScenarioError::Invalid(format!(
                "nodes names {} CPUs, expected one node for each of the {} CPUs",
                s.nodes.len(),
                s.nr_cpus
            )));
        }
        if s.jitter_percent > 100 {
            return Err(ScenarioError::Invalid(format!(
                "jitter = {}%, expected 0..=100",
                s.jitter_percent
            )));
        }
        if s.policy == PolicyChoice::All {
            // fine: runs each
        }
        let mut names = BTreeSet::new();
        for wq in &s.workqueues {
            if wq.name.is_empty() || !names.insert(wq.name.as_str()) {
                return Err(ScenarioError::Duplicate {
                    what: "workqueue",
                    name: wq.name.clone(),
                });
            }
            if wq.max_active > WQ_MAX_ACTIVE {
                return Err(ScenarioError::Invalid(format!(
                    "workqueue {}: max_active = {}, expected 0..={WQ_MAX_ACTIVE}",
                    wq.name, wq.max_active
                )));
            }
        }
        let mut items = BTreeSet::new();
        for it in &s.items {
            if it.name.is_empty() || !items.insert(it.name.as_str()) {
                return Err(ScenarioError::Duplicate {
                    what: "item",
                    name: it.name.clone(),
                });
            }
        }
        if s.nr_items() > MAX_ITEMS {
            return Err(ScenarioError::Invalid(format!(
                "{} items in all, at most {MAX_ITEMS}",
                s.nr_items()
            )));
        }
        let mut waited = BTreeSet::new();
        let mut signalled: BTreeSet<&str> = s.signals.iter().map(|x| x.event.as_str()).collect();
        for it in &s.items {
            if s.workqueue(&it.wq).is_none() {
                return Err(ScenarioError::Unknown {
                    what: "workqueue",
                    name: it.wq.clone(),
                    context: format!("item {}", it.name),
                });
            }
            if it.func.is_empty() {
                return Err(ScenarioError::Invalid(format!(
                    "item {}: empty function name",
                    it.name
                )));
            }
            if it.count == 0 {
                return Err(ScenarioError::Invalid(format!(
                    "item {}: count = 0, expected at least 1",
                    it.name
                )));
            }
            if let Some(cpu) = it.cpu {
                if cpu >= s.nr_cpus {
                    return Err(ScenarioError::Invalid(format!(
                        "item {}: cpu = {cpu}, the scenario has {} CPUs",
                        it.name, s.nr_cpus
                    )));
                }
            }
            for step in &it.script {
                match step {
                    Step::Queue(target)
                    | Step::QueueDelayed(target, _)
                    | Step::ModDelayed(target, _)
                        if !items.contains(target.as_str()) =>
                    {
                        return Err(ScenarioError::Unknown {
                            what: "item",
                            name: target.clone(),
                            context: format!("queue step of item {}", it.name),
                        });
                    }
                    Step::Block(e) => {
                        waited.insert(e.as_str());
                    }
                    Step::Signal(e) => {
                        signalled.insert(e.as_str());
                    }
                    _ => {}
                }
            }
        }
        if let Some(e) = waited.iter().find(|e| !signalled.contains(*e)) {
            return Err(ScenarioError::Unknown {
                what: "event",
                name: (*e).to_owned(),
                context: "nothing signals it".into(),
            });
        }
        for f in &s.flushes {
            if !items.contains(f.item.as_str()) {
                return Err(ScenarioError::Unknown {
                    what: "item",
                    name: f.item.clone(),
                    context: "flush".into(),
                });
            }
        }
        for c in &s.cancels {
            if !items.contains(c.item.as_str()) {
                return Err(ScenarioError::Unknown {
                    what: "item",
                    name: c.item.clone(),
                    context: "cancel".into(),
                });
            }
        }
        for f in &s.wq_flushes {
            if s.workqueue(&f.wq).is_none() {
                return Err(ScenarioError::Unknown {
                    what: "workqueue",
                    name: f.wq.clone(),
                    context: "flush_workqueue".into(),
                });
            }
        }
        for sib in &s.siblings {
            if !items.contains(sib.as_str()) {
                return Err(ScenarioError::Unknown {
                    what: "item",
                    name: sib.clone(),
                    context: "siblings".into(),
                });
            }
        }
        s.pressure.sort_by_key(|w| w.start);
        for (i, w) in s.pressure.iter().enumerate() {
            if w.end <= w.start {
                return Err(ScenarioError::Invalid(format!(
                    "pressure window {:?}..{:?} is empty",
                    w.start, w.end
                )));
            }
            if i > 0 && s.pressure[i - 1].end > w.start {
                return Err(ScenarioError::Invalid(
                    "pressure windows overlap".to_owned(),
                ));
            }
        }
        s.dumps.sort();
        s.dumps.dedup();
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::ms;

    fn base() -> ScenarioBuilder {
        Scenario::builder("t").workqueue(WorkqueueSpec::new("wq").mem_reclaim())
    }

    #[test]
    fn a_block_on_an_event_nothing_signals_is_rejected() {
        let err = base()
            .item(ItemSpec::new("a", "f", "wq").block("never"))
            .build()
            .unwrap_err();
        assert!(
            matches!(err, ScenarioError::Unknown { what: "event", .. }),
            "{err}"
        );
    }

    #[test]
    fn unknown_workqueue_and_queue_target_are_rejected() {
        let err = base()
            .item(ItemSpec::new("a", "f", "nope"))
            .build()
            .unwrap_err();
        assert!(matches!(
            err,
            ScenarioError::Unknown {
                what: "workqueue",
                ..
            }
        ));
        let err = base()
            .item(ItemSpec::new("a", "f", "wq").queue("b"))
            .build()
            .unwrap_err();
        assert!(matches!(err, ScenarioError::Unknown { what: "item", .. }));
    }

    #[test]
    fn overlapping_pressure_windows_are_rejected_and_others_sorted() {
        assert!(
            base()
                .pressure(ms(0), ms(10))
                .pressure(ms(5), ms(20))
                .build()
                .is_err()
        );
        let s = base()
            .pressure(ms(30), ms(40))
            .pressure(ms(0), ms(10))
            .build()
            .unwrap();
        assert_eq!(s.pressure[0].start, ms(0));
        assert_eq!(s.pressure_end(), Some(ms(40)));
    }

    #[test]
    fn default_siblings_are_non_sleeping_items_of_reclaim_queues() {
        let s = base()
            .workqueue(WorkqueueSpec::new("plain"))
            .item(ItemSpec::new("blocker", "f", "wq").sleep(ms(5)))
            .item(ItemSpec::new("sib", "g", "wq").run(ms(1)))
            .item(ItemSpec::new("other", "g", "plain").run(ms(1)))
            .build()
            .unwrap();
        assert_eq!(s.sibling_groups(), vec!["sib"]);
    }

    #[test]
    fn too_many_items_are_rejected_before_anything_is_allocated() {
        let err = base()
            .item(ItemSpec::new("a", "f", "wq").count(u32::MAX, ms(0)))
            .item(ItemSpec::new("b", "f", "wq").count(u32::MAX, ms(0)))
            .build()
            .unwrap_err();
        assert!(matches!(err, ScenarioError::Invalid(_)), "{err}");
    }

    #[test]
    fn cpu_out_of_range_is_rejected() {
        let err = base()
            .cpus(2)
            .item(ItemSpec::new("a", "f", "wq").cpu(2))
            .build()
            .unwrap_err();
        assert!(matches!(err, ScenarioError::Invalid(_)));
    }
}
