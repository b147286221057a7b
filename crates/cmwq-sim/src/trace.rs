//! The event trace of a run: what was queued, started and finished where, maydays, worker
//! creations, pressure windows. Timelines (text and SVG) are drawn from it alone.

use crate::scenario::PolicyChoice;
use crate::time::Nanos;

/// Index of an item instance in [`Trace::items`].
pub type ItemIdx = u32;
/// Index of a worker in [`Trace::workers`].
pub type WorkerIdx = u32;
/// Index of a pwq in [`Trace::pwqs`].
pub type PwqIdx = u32;
/// Index of a pool in [`Trace::pools`].
pub type PoolIdx = u32;

/// A pool of the run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolInfo {
    /// The pool id dumps print.
    pub id: u32,
    /// A short label: `cpu0`, `cpu0H` (high priority), `unbound`.
    pub label: String,
}

/// A pool_workqueue of the run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PwqInfo {
    /// `WQNAME/POOLLABEL`.
    pub label: String,
    /// The pool it feeds.
    pub pool: PoolIdx,
    /// Whether its workqueue has a rescuer (`WQ_MEM_RECLAIM`).
    pub mem_reclaim: bool,
}

/// A worker (or rescuer) of the run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkerInfo {
    /// The id dumps print (the kernel prints the pid).
    pub id: u32,
    /// The kernel-style name: `kworker/0:1`, `kworker/u2:0`, `kworker/R-NAME`.
    pub name: String,
    /// The pool it belongs to (`None` for a rescuer, which visits the pools it rescues).
    pub pool: Option<PoolIdx>,
    /// Whether it is a workqueue's rescuer.
    pub rescuer: bool,
}

/// An item instance of the run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ItemInfo {
    /// The function name dumps print.
    pub func: String,
    /// The scenario's item group.
    pub group: String,
    /// Index of the instance in its group.
    pub instance: u32,
    /// The pwq it is queued on.
    pub pwq: PwqIdx,
    /// Whether it counts as a sibling for the stall metric.
    pub sibling: bool,
}

/// What happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TraceKind {
    /// The item was queued (it was idle, so the queueing took effect).
    Queued {
        /// The item.
        item: ItemIdx,
    },
    /// A worker started the item's function.
    Started {
        /// The item.
        item: ItemIdx,
        /// The worker.
        worker: WorkerIdx,
    },
    /// The item's function went to sleep (block or sleep step).
    Slept {
        /// The item.
        item: ItemIdx,
        /// The worker.
        worker: WorkerIdx,
    },
    /// The item's function woke up.
    Woke {
        /// The item.
        item: ItemIdx,
        /// The worker.
        worker: WorkerIdx,
    },
    /// The item's function returned.
    Finished {
        /// The item.
        item: ItemIdx,
        /// The worker.
        worker: WorkerIdx,
    },
    /// A mayday was sent for the pwq.
    Mayday {
        /// The pwq.
        pwq: PwqIdx,
    },
    /// A worker was created for the pool.
    CreateOk {
        /// The pool.
        pool: PoolIdx,
        /// The new worker.
        worker: WorkerIdx,
    },
    /// Creating a worker for the pool failed (memory pressure).
    CreateFailed {
        /// The pool.
        pool: PoolIdx,
    },
}

/// One trace record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceEvent {
    /// When.
    pub t: Nanos,
    /// What.
    pub kind: TraceKind,
}

/// The trace of one run of one scenario under one policy.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Trace {
    /// The scenario's name.
    pub scenario: String,
    /// The policy of the run (`None` only for a trace built by hand).
    pub policy: Option<PolicyChoice>,
    /// When the run ended.
    pub end: Nanos,
    /// Memory-pressure windows `[start, end)`.
    pub pressure: Vec<(Nanos, Nanos)>,
    /// Pools.
    pub pools: Vec<PoolInfo>,
    /// Pwqs.
    pub pwqs: Vec<PwqInfo>,
    /// Workers and rescuers.
    pub workers: Vec<WorkerInfo>,
    /// Item instances.
    pub items: Vec<ItemInfo>,
    /// Records, in time order.
    pub events: Vec<TraceEvent>,
}

/// One stretch of an item on a worker, from start to finish, as timelines draw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Span {
    /// The item.
    pub item: ItemIdx,
    /// The worker that ran it.
    pub worker: WorkerIdx,
    /// When it was queued (the queueing that led to this run).
    pub queued: Nanos,
    /// When it started.
    pub start: Nanos,
    /// When it finished (the run's end if it never did).
    pub end: Nanos,
    /// Whether it finished.
    pub finished: bool,
    /// Stretches `[from, to)` during which it slept.
    pub sleeps: Vec<(Nanos, Nanos)>,
}

impl Trace {
    /// Appends a record.
    pub fn push(&mut self, t: Nanos, kind: TraceKind) {
        self.events.push(TraceEvent { t, kind });
    }

    /// Every start-to-finish stretch of every item, in start order.
    pub fn spans(&self) -> Vec<Span> {
        let n = self.items.len();
        let mut queued_at: Vec<Nanos> = vec![0; n];
        let mut open: Vec<Option<usize>> = vec![None; n];
        let mut spans: Vec<Span> = Vec::new();
        for ev in &self.events {
            match ev.kind {
                TraceKind::Queued { item } => queued_at[item as usize] = ev.t,
                TraceKind::Started { item, worker } => {
                    open[item as usize] = Some(spans.len());
                    spans.push(Span {
                        item,
                        worker,
                        queued: queued_at[item as usize],
                        start: ev.t,
                        end: self.end,
                        finished: false,
                        sleeps: Vec::new(),
                    });
                }
                TraceKind::Slept { item, .. } => {
                    if let Some(i) = open[item as usize] {
                        spans[i].sleeps.push((ev.t, self.end));
                    }
                }
                TraceKind::Woke { item, .. } => {
                    if let Some(i) = open[item as usize] {
                        if let Some(last) = spans[i].sleeps.last_mut() {
                            last.1 = ev.t;
                        }
                    }
                }
                TraceKind::Finished { item, .. } => {
                    if let Some(i) = open[item as usize].take() {
                        spans[i].end = ev.t;
                        spans[i].finished = true;
                    }
                }
                _ => {}
            }
        }
        spans
    }

    /// The label of a worker's lane: its name, with ` (RESCUER)` appended for a rescuer.
    pub fn worker_label(&self, w: WorkerIdx) -> String {
        let info = &self.workers[w as usize];
        if info.rescuer {
            format!("{} (RESCUER)", info.name)
        } else {
            info.name.clone()
        }
    }

    /// A short name for an item instance: `func` or `func#N` for groups of several.
    pub fn item_label(&self, item: ItemIdx) -> String {
        let info = &self.items[item as usize];
        if info.instance == 0 {
            info.func.clone()
        } else {
            format!("{}#{}", info.func, info.instance)
        }
    }
}
