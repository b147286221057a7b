//! The kernel's debug dump (`show_all_workqueues`, `show_one_workqueue`) and the
//! workqueue watchdog's lockup report, written as `Display` values.
//!
//! Every writer here formats straight into the `fmt::Write` it is given: no line is built
//! in a temporary `String`, no user code runs, no lock is taken. Each pr_info() line of the
//! kernel becomes one `\n`-terminated line.

use std::collections::BTreeSet;
use std::fmt::{self, Display, Write as _};

use crate::model::{
    HIGHPRI_NICE_LEVEL, InFlightWorker, MAYDAY_CURSOR_FUNC, PoolSnapshot, PwqSnapshot, Snapshot,
    WorkEntry, WorkKind, WqSnapshot, wq_flags,
};

/// Which kernel's dump format to follow.
///
/// The two differ in one place: Linux 7.0 appends ` for Ns` (how long the worker has run
/// its current item) to each in-flight worker; 6.12 prints nothing there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum KernelFormat {
    /// Linux 6.12 (6.9 through 6.19): in-flight workers print as `ID:FUNC`.
    Linux6_12,
    /// Linux 7.0: in-flight workers print as `ID:FUNC for Ns`.
    #[default]
    Linux7_0,
}

/// What was wrong with a snapshot that the dump cannot print.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DumpError {
    /// A pwq names a pool the snapshot does not contain.
    #[error(
        "pwq {pwq} of workqueue {workqueue:?} queues to pool {pool_id}, but the snapshot has no pool with that id"
    )]
    UnknownPool {
        /// Name of the workqueue owning the pwq.
        workqueue: String,
        /// The pwq's id ([`PwqSnapshot::id`]).
        pwq: u32,
        /// The missing pool id.
        pool_id: u32,
    },
    /// Two pools of the snapshot share an id; pool ids must be unique.
    #[error("pool id {0} appears more than once in the snapshot; pool ids must be unique")]
    DuplicatePool(u32),
    /// `show_one_workqueue` was asked for a workqueue the snapshot does not contain.
    #[error("the snapshot has no workqueue named {0:?}")]
    UnknownWorkqueue(String),
}

impl Snapshot {
    /// Checks what the dump relies on: pool ids are unique and every pwq names a pool of
    /// this snapshot.
    pub fn validate(&self) -> Result<(), DumpError> {
        let mut ids = BTreeSet::new();
        for pool in &self.pools {
            if !ids.insert(pool.id) {
                return Err(DumpError::DuplicatePool(pool.id));
            }
        }
        for wq in &self.workqueues {
            for pwq in &wq.pwqs {
                if !ids.contains(&pwq.pool_id) {
                    return Err(DumpError::UnknownPool {
                        workqueue: wq.name.clone(),
                        pwq: pwq.id,
                        pool_id: pwq.pool_id,
                    });
                }
            }
        }
        Ok(())
    }

    /// The pool with id `id`, if the snapshot has it.
    pub fn pool(&self, id: u32) -> Option<&PoolSnapshot> {
        self.pools.iter().find(|p| p.id == id)
    }

    /// The workqueue named `name`, if the snapshot has it.
    pub fn workqueue(&self, name: &str) -> Option<&WqSnapshot> {
        self.workqueues.iter().find(|w| w.name == name)
    }

    /// The whole dump as `show_all_workqueues()` prints it: the header, every busy
    /// workqueue, every busy pool. Validates the snapshot first ([`Snapshot::validate`]),
    /// so displaying the result cannot fail for want of a pool.
    pub fn show_all_workqueues(
        &self,
        format: KernelFormat,
    ) -> Result<ShowAllWorkqueues<'_>, DumpError> {
        self.validate()?;
        Ok(ShowAllWorkqueues {
            snapshot: self,
            format,
        })
    }

    /// The freezer's dump (`show_freezable_workqueues()`, printed when freezing tasks
    /// fails): its header, then every busy `WQ_FREEZABLE` workqueue.
    pub fn show_freezable_workqueues(
        &self,
        format: KernelFormat,
    ) -> Result<ShowFreezableWorkqueues<'_>, DumpError> {
        self.validate()?;
        Ok(ShowFreezableWorkqueues {
            snapshot: self,
            format,
        })
    }

    /// One workqueue as `show_one_workqueue()` prints it: nothing if it is idle, else its
    /// `workqueue` line and its busy pwqs.
    pub fn show_one_workqueue(
        &self,
        name: &str,
        format: KernelFormat,
    ) -> Result<ShowOneWorkqueue<'_>, DumpError> {
        self.validate()?;
        let wq = self
            .workqueue(name)
            .ok_or_else(|| DumpError::UnknownWorkqueue(name.to_owned()))?;
        Ok(ShowOneWorkqueue {
            snapshot: self,
            wq,
            format,
        })
    }

    /// The pools the workqueue watchdog reports as locked up, given its threshold in
    /// milliseconds ([`WQ_WATCHDOG_THRESH_MS`] by default): pools with a non-empty worklist
    /// whose latest progress or watchdog touch is more than `thresh_ms` ago, in pool order.
    /// A threshold of 0 disables the watchdog, as in the kernel.
    pub fn watchdog_lockups(&self, thresh_ms: u64) -> impl Iterator<Item = Lockup<'_>> + '_ {
        self.pools.iter().filter_map(move |pool| {
            if thresh_ms == 0 || pool.worklist_len == 0 {
                return None;
            }
            // The later of progress and touch is the smaller elapsed time.
            let since = match pool.since_touched_ms {
                Some(touched) => touched.min(pool.since_progress_ms),
                None => pool.since_progress_ms,
            };
            (since > thresh_ms).then_some(Lockup(pool))
        })
    }

    /// What the watchdog timer prints on one run: a lockup line per stalled pool and, if
    /// there was any, the whole dump after them. Empty if no pool is stalled.
    pub fn watchdog_report(
        &self,
        thresh_ms: u64,
        format: KernelFormat,
    ) -> Result<WatchdogReport<'_>, DumpError> {
        self.validate()?;
        Ok(WatchdogReport {
            snapshot: self,
            thresh_ms,
            format,
        })
    }
}

/// The workqueue watchdog's default threshold (`workqueue.watchdog_thresh`, 30 s), in
/// milliseconds.
pub const WQ_WATCHDOG_THRESH_MS: u64 = 30_000;

/// `show_all_workqueues()` output; made by [`Snapshot::show_all_workqueues`].
#[derive(Debug, Clone, Copy)]
pub struct ShowAllWorkqueues<'a> {
    snapshot: &'a Snapshot,
    format: KernelFormat,
}

/// The header line `show_all_workqueues()` starts with.
pub const SHOW_ALL_HEADER: &str = "Showing busy workqueues and worker pools:";

impl Display for ShowAllWorkqueues<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(SHOW_ALL_HEADER)?;
        f.write_char('\n')?;
        for wq in &self.snapshot.workqueues {
            write_one_workqueue(f, self.snapshot, wq, self.format)?;
        }
        for pool in &self.snapshot.pools {
            if pool.is_busy() {
                PoolLine(pool).fmt(f)?;
            }
        }
        Ok(())
    }
}

/// `show_freezable_workqueues()` output; made by [`Snapshot::show_freezable_workqueues`].
#[derive(Debug, Clone, Copy)]
pub struct ShowFreezableWorkqueues<'a> {
    snapshot: &'a Snapshot,
    format: KernelFormat,
}

/// The header line `show_freezable_workqueues()` starts with.
pub const SHOW_FREEZABLE_HEADER: &str = "Showing freezable workqueues that are still busy:";

impl Display for ShowFreezableWorkqueues<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(SHOW_FREEZABLE_HEADER)?;
        f.write_char('\n')?;
        for wq in &self.snapshot.workqueues {
            if wq.flags & wq_flags::WQ_FREEZABLE != 0 {
                write_one_workqueue(f, self.snapshot, wq, self.format)?;
            }
        }
        Ok(())
    }
}

/// `show_one_workqueue()` output; made by [`Snapshot::show_one_workqueue`].
#[derive(Debug, Clone, Copy)]
pub struct ShowOneWorkqueue<'a> {
    snapshot: &'a Snapshot,
    wq: &'a WqSnapshot,
    format: KernelFormat,
}

impl Display for ShowOneWorkqueue<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_one_workqueue(f, self.snapshot, self.wq, self.format)
    }
}

fn write_one_workqueue(
    f: &mut fmt::Formatter<'_>,
    snapshot: &Snapshot,
    wq: &WqSnapshot,
    format: KernelFormat,
) -> fmt::Result {
    if !wq.is_busy() {
        return Ok(());
    }
    WorkqueueLine(wq).fmt(f)?;
    for pwq in wq.pwqs.iter().filter(|pwq| pwq.is_busy()) {
        // Validated when the dump was made; a missing pool cannot appear afterwards.
        let pool = snapshot.pool(pwq.pool_id).ok_or(fmt::Error)?;
        PwqLines { pwq, pool, format }.fmt(f)?;
    }
    Ok(())
}

/// The `workqueue NAME: flags=0x%x` line.
#[derive(Debug, Clone, Copy)]
pub struct WorkqueueLine<'a>(pub &'a WqSnapshot);

impl Display for WorkqueueLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "workqueue {}: flags={:#x}", self.0.name, self.0.flags)
    }
}

/// A CPU set as the kernel's `%*pbl` prints it: ascending ranges joined by commas
/// (`0`, `0-3`, `0,2-3`); nothing for an empty set.
#[derive(Debug, Clone, Copy)]
pub struct CpuList<'a>(pub &'a BTreeSet<u32>);

impl Display for CpuList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut cpus = self.0.iter().copied();
        let Some(mut start) = cpus.next() else {
            return Ok(());
        };
        let mut end = start;
        let mut first = true;
        let mut range = |f: &mut fmt::Formatter<'_>, start: u32, end: u32| -> fmt::Result {
            if !first {
                f.write_char(',')?;
            }
            first = false;
            if start == end {
                write!(f, "{start}")
            } else {
                write!(f, "{start}-{end}")
            }
        };
        for cpu in cpus {
            if end.checked_add(1) == Some(cpu) {
                end = cpu;
            } else {
                range(f, start, end)?;
                start = cpu;
                end = cpu;
            }
        }
        range(f, start, end)
    }
}

/// The pool info the kernel appends to `pwq`, `pool` and lockup lines
/// (`pr_cont_pool_info`): ` cpus=LIST`, ` node=N` if the pool has a node, ` flags=0x%x`,
/// then ` nice=N`, or ` bh` / ` bh-hi` for BH pools.
#[derive(Debug, Clone, Copy)]
pub struct PoolInfo<'a>(pub &'a PoolSnapshot);

impl Display for PoolInfo<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pool = self.0;
        write!(f, " cpus={}", CpuList(&pool.cpus))?;
        if let Some(node) = pool.node {
            write!(f, " node={node}")?;
        }
        write!(f, " flags={:#x}", pool.flags)?;
        if pool.is_bh() {
            f.write_str(" ")?;
            write_bh_id(f, pool)
        } else {
            write!(f, " nice={}", pool.nice)
        }
    }
}

/// `bh` or `bh-hi`: how a BH pool names itself and its workers.
fn write_bh_id(f: &mut fmt::Formatter<'_>, pool: &PoolSnapshot) -> fmt::Result {
    if pool.nice == HIGHPRI_NICE_LEVEL {
        f.write_str("bh-hi")
    } else {
        f.write_str("bh")
    }
}

/// The `pool ID:` line of `show_one_worker_pool` (printed whether or not the pool is busy;
/// [`ShowAllWorkqueues`] skips pools that are not [`PoolSnapshot::is_busy`]).
#[derive(Debug, Clone, Copy)]
pub struct PoolLine<'a>(pub &'a PoolSnapshot);

impl Display for PoolLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pool = self.0;
        write!(
            f,
            "pool {}:{} hung={}s workers={}",
            pool.id,
            PoolInfo(pool),
            pool.hung_secs(),
            pool.nr_workers
        )?;
        if let Some(manager) = pool.manager {
            write!(f, " manager: {manager}")?;
        }
        for (i, id) in pool.idle.iter().enumerate() {
            if i == 0 {
                write!(f, " idle: {id}")?;
            } else {
                write!(f, " {id}")?;
            }
        }
        f.write_char('\n')
    }
}

/// One pwq as `show_pwq` prints it: the `  pwq` line, then `    in-flight:`,
/// `    pending:` and `    inactive:` lines when there is something to list. `pool` is
/// the pool the pwq queues to. (Printed whether or not the pwq is busy;
/// [`ShowAllWorkqueues`] skips pwqs that are not [`PwqSnapshot::is_busy`].)
#[derive(Debug, Clone, Copy)]
pub struct PwqLines<'a> {
    /// The pwq.
    pub pwq: &'a PwqSnapshot,
    /// The pool it queues to (its id and info are what the `pwq` line prints).
    pub pool: &'a PoolSnapshot,
    /// The kernel format to follow.
    pub format: KernelFormat,
}

impl Display for PwqLines<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self { pwq, pool, format } = *self;
        // The kernel prints the pool's id here, not the pwq's.
        write!(
            f,
            "  pwq {}:{} active={} refcnt={}",
            pool.id,
            PoolInfo(pool),
            pwq.nr_active,
            pwq.refcnt
        )?;
        if pwq.mayday {
            f.write_str(" MAYDAY")?;
        }
        f.write_char('\n')?;

        if !pwq.in_flight.is_empty() {
            f.write_str("    in-flight:")?;
            for (i, worker) in pwq.in_flight.iter().enumerate() {
                write_in_flight(f, pool, worker, i > 0, format)?;
            }
            f.write_char('\n')?;
        }
        if !pwq.pending.is_empty() {
            f.write_str("    pending:")?;
            WorkList(&pwq.pending).fmt(f)?;
            f.write_char('\n')?;
        }
        if !pwq.inactive.is_empty() {
            f.write_str("    inactive:")?;
            WorkList(&pwq.inactive).fmt(f)?;
            f.write_char('\n')?;
        }
        Ok(())
    }
}

/// One in-flight worker: ` ID:FUNC` for the first, ` ,ID:FUNC` after it (the kernel
/// really prints space-comma), `(RESCUER)` after a rescuer's id, ` for Ns` in the 7.0
/// format, then the worker's scheduled items, each after a plain space and never merged.
fn write_in_flight(
    f: &mut fmt::Formatter<'_>,
    pool: &PoolSnapshot,
    worker: &InFlightWorker,
    comma: bool,
    format: KernelFormat,
) -> fmt::Result {
    f.write_str(if comma { " ," } else { " " })?;
    if pool.is_bh() {
        write_bh_id(f, pool)?;
    } else {
        write!(f, "{}", worker.id)?;
        if worker.rescuer {
            f.write_str("(RESCUER)")?;
        }
    }
    write!(f, ":{}", worker.func)?;
    if format == KernelFormat::Linux7_0 {
        write!(f, " for {}s", worker.running_ms / 1000)?;
    }
    // The kernel passes comma=false for every scheduled item, which closes the current
    // run before each one: nothing merges and no comma is printed.
    let mut runs = RunWriter::default();
    for work in &worker.scheduled {
        runs.push(f, false, work)?;
    }
    runs.flush(f)
}

/// A work list in the dump's form (what `pr_cont_work` prints for `pending:` and
/// `inactive:`): consecutive items of the same function merge into ` N*FUNC`, a barrier
/// prints ` BAR(TASK)`, and a comma precedes each item unless the previous one had
/// `WORK_STRUCT_LINKED` set.
///
/// Run merging follows the kernel exactly, including its corner: an item printed without a
/// comma (it follows a LINKED one) always starts a new run.
#[derive(Debug, Clone, Copy)]
pub struct WorkList<'a>(pub &'a [WorkEntry]);

impl Display for WorkList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut runs = RunWriter::default();
        let mut comma = false;
        for work in self.0 {
            runs.push(f, comma, work)?;
            comma = !work.linked;
        }
        runs.flush(f)
    }
}

/// The run-length state of the kernel's `pr_cont_work_struct`: the function of the run
/// being counted, its length, and whether a comma precedes it.
#[derive(Default)]
struct RunWriter<'a> {
    func: Option<&'a str>,
    count: u64,
    comma: bool,
}

impl<'a> RunWriter<'a> {
    /// `pr_cont_work(comma, work)`.
    fn push(
        &mut self,
        f: &mut fmt::Formatter<'_>,
        comma: bool,
        work: &'a WorkEntry,
    ) -> fmt::Result {
        let name = match &work.kind {
            WorkKind::Barrier { task } => {
                self.flush(f)?;
                return write!(f, "{} BAR({task})", sep(comma));
            }
            WorkKind::Func(name) => name.as_str(),
            WorkKind::MaydayCursor => MAYDAY_CURSOR_FUNC,
        };
        if !comma {
            self.flush(f)?;
        }
        if self.func == Some(name) {
            self.count += 1;
            return Ok(());
        }
        self.flush(f)?;
        self.func = Some(name);
        self.count = 1;
        self.comma = comma;
        Ok(())
    }

    /// Prints the run being counted, if any, and forgets it.
    fn flush(&mut self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(func) = self.func.take() {
            if self.count == 1 {
                write!(f, "{} {func}", sep(self.comma))?;
            } else {
                write!(f, "{} {}*{func}", sep(self.comma), self.count)?;
            }
            self.count = 0;
        }
        Ok(())
    }
}

fn sep(comma: bool) -> &'static str {
    if comma { "," } else { "" }
}

/// The watchdog's lockup line for one pool:
/// `BUG: workqueue lockup - pool cpus=... flags=0x... nice=N stuck for Ns!`, the seconds
/// counted from the pool's last progress. Made by [`Snapshot::watchdog_lockups`], or
/// directly for any pool.
#[derive(Debug, Clone, Copy)]
pub struct Lockup<'a>(pub &'a PoolSnapshot);

impl Lockup<'_> {
    /// The `stuck for` value in seconds.
    pub fn stuck_secs(&self) -> u64 {
        self.0.since_progress_ms / 1000
    }
}

impl Display for Lockup<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "BUG: workqueue lockup - pool{} stuck for {}s!",
            PoolInfo(self.0),
            self.stuck_secs()
        )
    }
}

/// One run of the watchdog timer (`wq_watchdog_timer_fn`); made by
/// [`Snapshot::watchdog_report`].
#[derive(Debug, Clone, Copy)]
pub struct WatchdogReport<'a> {
    snapshot: &'a Snapshot,
    thresh_ms: u64,
    format: KernelFormat,
}

impl WatchdogReport<'_> {
    /// Whether any pool is locked up (the report is empty otherwise).
    pub fn lockup_detected(&self) -> bool {
        self.snapshot
            .watchdog_lockups(self.thresh_ms)
            .next()
            .is_some()
    }
}

impl Display for WatchdogReport<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut detected = false;
        for lockup in self.snapshot.watchdog_lockups(self.thresh_ms) {
            detected = true;
            lockup.fmt(f)?;
        }
        if detected {
            ShowAllWorkqueues {
                snapshot: self.snapshot,
                format: self.format,
            }
            .fmt(f)?;
        }
        Ok(())
    }
}
