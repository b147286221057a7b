//! The kernel's debug dump (`show_all_workqueues`, `show_one_workqueue`) and the
//! workqueue watchdog's lockup report, written as `Display` values.
//!
//! Every writer here formats straight into the `fmt::Write` it is given: no line is built
//! in a temporary `String`, no user code runs, no lock is taken. The writers make the
//! kernel's `pr_info()` / `pr_cont()` calls, piece for piece, into printk's record store
//! ([`crate::printk`]), so a line longer than a printk record breaks where a kernel's
//! would ([`RecordLimit`]).

use std::collections::BTreeSet;
use std::fmt::{self, Display, Write as _};

use crate::model::{
    HIGHPRI_NICE_LEVEL, InFlightWorker, MAYDAY_CURSOR_FUNC, PoolSnapshot, PwqSnapshot, Snapshot,
    WorkEntry, WorkKind, WqSnapshot, pool_flags, wq_flags,
};
use crate::printk::{End, LOG_LINE_MAX_6_1, PRINTKRB_RECORD_MAX, Printk, RecordLimit};

/// Which kernel's dump format to follow.
///
/// - Linux 7.0 appends ` for Ns` (how long the worker has run its current item) to each
///   in-flight worker; 6.12 prints nothing there.
/// - Linux 6.1 (kernel/workqueue.c of v6.1: `show_pwq`, `pr_cont_pool_info`,
///   `show_one_worker_pool`) prints the pwq's limit beside its count,
///   `active=NR_ACTIVE/MAX_ACTIVE`; separates in-flight workers with `", "` where later
///   kernels print `" ,"` (its format is `"%s %d%s:%ps"` with `","` as the first
///   argument); has no BH pools, so pool info always ends in ` nice=N` and the pool flag
///   bits differ (`POOL_MANAGER_ACTIVE` is `0x1`; later kernels use `0x1` for `POOL_BH`
///   and `0x2` for the manager); and stores at most [`LOG_LINE_MAX_6_1`] bytes a printk
///   record instead of [`PRINTKRB_RECORD_MAX`]. Everything else (the skip rules, the
///   work-list form, `hung=`, the pool line) is the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum KernelFormat {
    /// Linux 6.1 (the 6.1 LTS): `active=N/MAX`, in-flight workers `ID:FUNC, ID:FUNC`, no
    /// BH pools, `POOL_MANAGER_ACTIVE` = `0x1`.
    Linux6_1,
    /// Linux 6.12 (6.9 through 6.19): in-flight workers print as `ID:FUNC`.
    Linux6_12,
    /// Linux 7.0: in-flight workers print as `ID:FUNC for Ns`.
    #[default]
    Linux7_0,
}

impl KernelFormat {
    /// The printk record limit of this kernel, in bytes ([`RecordLimit::Kernel`]).
    pub fn record_max(self) -> usize {
        match self {
            Self::Linux6_1 => LOG_LINE_MAX_6_1,
            Self::Linux6_12 | Self::Linux7_0 => PRINTKRB_RECORD_MAX,
        }
    }

    /// The `flags=0x%x` value this kernel prints for a pool whose flags are `flags` in
    /// the model's encoding ([`pool_flags`], the 6.9-and-later bits). For 6.1,
    /// `POOL_MANAGER_ACTIVE` moves from `1 << 1` to `1 << 0` and `POOL_DISASSOCIATED`
    /// stays `1 << 2`; `POOL_BH` does not exist there ([`Snapshot::validate_for`] refuses
    /// a BH pool in that format).
    pub fn pool_flags(self, flags: u32) -> u32 {
        match self {
            Self::Linux6_12 | Self::Linux7_0 => flags,
            Self::Linux6_1 => {
                let manager = if flags & pool_flags::POOL_MANAGER_ACTIVE != 0 {
                    1 << 0
                } else {
                    0
                };
                let rest = flags & !(pool_flags::POOL_BH | pool_flags::POOL_MANAGER_ACTIVE);
                manager | rest
            }
        }
    }

    /// The `flags=0x%x` value this kernel prints for a workqueue whose flags are `flags`
    /// ([`wq_flags`]): 6.1 has no `WQ_PERCPU` (per-CPU is the absence of `WQ_UNBOUND`
    /// there), so that bit is not printed; later kernels print the flags as they are.
    pub fn wq_flags(self, flags: u32) -> u32 {
        match self {
            Self::Linux6_12 | Self::Linux7_0 => flags,
            Self::Linux6_1 => flags & !wq_flags::WQ_PERCPU,
        }
    }
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
    /// The snapshot has a BH pool and the format's kernel has none (Linux 6.1; BH pools
    /// came with 6.9).
    #[error(
        "pool {pool} is a BH pool (POOL_BH), which {format:?} does not have; print it in the 6.12 or 7.0 format"
    )]
    BhPoolNotInFormat {
        /// The BH pool's id.
        pool: u32,
        /// The format asked for.
        format: KernelFormat,
    },
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

    /// [`Snapshot::validate`], and that `format`'s kernel can show every pool the dump
    /// prints (Linux 6.1 has no BH pools: a busy BH pool, or a busy pwq on one, cannot be
    /// printed in its format; idle ones are never printed and pass).
    pub fn validate_for(&self, format: KernelFormat) -> Result<(), DumpError> {
        self.validate()?;
        if format == KernelFormat::Linux6_1 {
            let shown_bh = self.pools.iter().find(|p| {
                p.is_bh()
                    && (p.is_busy()
                        || self
                            .workqueues
                            .iter()
                            .any(|w| w.pwqs.iter().any(|q| q.pool_id == p.id && q.is_busy())))
            });
            if let Some(pool) = shown_bh {
                return Err(DumpError::BhPoolNotInFormat {
                    pool: pool.id,
                    format,
                });
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
    /// workqueue, every busy pool. Validates the snapshot first
    /// ([`Snapshot::validate_for`]), so displaying the result cannot fail for want of a
    /// pool. Lines longer than the kernel's printk record break as the kernel's do; see
    /// [`ShowAllWorkqueues::record_limit`].
    pub fn show_all_workqueues(
        &self,
        format: KernelFormat,
    ) -> Result<ShowAllWorkqueues<'_>, DumpError> {
        self.validate_for(format)?;
        Ok(ShowAllWorkqueues {
            snapshot: self,
            format,
            limit: RecordLimit::Kernel,
        })
    }

    /// The freezer's dump (`show_freezable_workqueues()`, printed when freezing tasks
    /// fails): its header, then every busy `WQ_FREEZABLE` workqueue.
    pub fn show_freezable_workqueues(
        &self,
        format: KernelFormat,
    ) -> Result<ShowFreezableWorkqueues<'_>, DumpError> {
        self.validate_for(format)?;
        Ok(ShowFreezableWorkqueues {
            snapshot: self,
            format,
            limit: RecordLimit::Kernel,
        })
    }

    /// One workqueue as `show_one_workqueue()` prints it: nothing if it is idle, else its
    /// `workqueue` line and its busy pwqs.
    pub fn show_one_workqueue(
        &self,
        name: &str,
        format: KernelFormat,
    ) -> Result<ShowOneWorkqueue<'_>, DumpError> {
        self.validate_for(format)?;
        let wq = self
            .workqueue(name)
            .ok_or_else(|| DumpError::UnknownWorkqueue(name.to_owned()))?;
        Ok(ShowOneWorkqueue {
            snapshot: self,
            wq,
            format,
            limit: RecordLimit::Kernel,
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
        self.validate_for(format)?;
        Ok(WatchdogReport {
            snapshot: self,
            thresh_ms,
            format,
            limit: RecordLimit::Kernel,
        })
    }
}

/// The workqueue watchdog's default threshold (`workqueue.watchdog_thresh`, 30 s), in
/// milliseconds.
pub const WQ_WATCHDOG_THRESH_MS: u64 = 30_000;

/// The writer the dump's pieces go through for `format` and `limit`.
fn records<'w>(
    out: &'w mut dyn fmt::Write,
    format: KernelFormat,
    limit: RecordLimit,
) -> Printk<'w> {
    Printk::new(out, limit.bytes(format.record_max()))
}

/// `show_all_workqueues()` output; made by [`Snapshot::show_all_workqueues`].
#[derive(Debug, Clone, Copy)]
pub struct ShowAllWorkqueues<'a> {
    snapshot: &'a Snapshot,
    format: KernelFormat,
    limit: RecordLimit,
}

impl ShowAllWorkqueues<'_> {
    /// The same dump with lines cut into printk records by `limit` (by default
    /// [`RecordLimit::Kernel`], the record limit of the format's kernel;
    /// [`RecordLimit::Unlimited`] keeps every line whole).
    #[must_use]
    pub fn record_limit(mut self, limit: RecordLimit) -> Self {
        self.limit = limit;
        self
    }
}

/// The header line `show_all_workqueues()` starts with.
pub const SHOW_ALL_HEADER: &str = "Showing busy workqueues and worker pools:";

impl Display for ShowAllWorkqueues<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut p = records(f, self.format, self.limit);
        write_show_all(&mut p, self.snapshot, self.format)
    }
}

fn write_show_all(p: &mut Printk<'_>, snapshot: &Snapshot, format: KernelFormat) -> fmt::Result {
    p.info(format_args!("{SHOW_ALL_HEADER}"), End::Newline)?;
    for wq in &snapshot.workqueues {
        write_one_workqueue(p, snapshot, wq, format)?;
    }
    for pool in &snapshot.pools {
        if pool.is_busy() {
            write_pool_line(p, pool, format)?;
        }
    }
    p.close()
}

/// `show_freezable_workqueues()` output; made by [`Snapshot::show_freezable_workqueues`].
#[derive(Debug, Clone, Copy)]
pub struct ShowFreezableWorkqueues<'a> {
    snapshot: &'a Snapshot,
    format: KernelFormat,
    limit: RecordLimit,
}

impl ShowFreezableWorkqueues<'_> {
    /// The same dump with lines cut into printk records by `limit`
    /// ([`ShowAllWorkqueues::record_limit`]).
    #[must_use]
    pub fn record_limit(mut self, limit: RecordLimit) -> Self {
        self.limit = limit;
        self
    }
}

/// The header line `show_freezable_workqueues()` starts with.
pub const SHOW_FREEZABLE_HEADER: &str = "Showing freezable workqueues that are still busy:";

impl Display for ShowFreezableWorkqueues<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut p = records(f, self.format, self.limit);
        p.info(format_args!("{SHOW_FREEZABLE_HEADER}"), End::Newline)?;
        for wq in &self.snapshot.workqueues {
            if wq.flags & wq_flags::WQ_FREEZABLE != 0 {
                write_one_workqueue(&mut p, self.snapshot, wq, self.format)?;
            }
        }
        p.close()
    }
}

/// `show_one_workqueue()` output; made by [`Snapshot::show_one_workqueue`].
#[derive(Debug, Clone, Copy)]
pub struct ShowOneWorkqueue<'a> {
    snapshot: &'a Snapshot,
    wq: &'a WqSnapshot,
    format: KernelFormat,
    limit: RecordLimit,
}

impl ShowOneWorkqueue<'_> {
    /// The same dump with lines cut into printk records by `limit`
    /// ([`ShowAllWorkqueues::record_limit`]).
    #[must_use]
    pub fn record_limit(mut self, limit: RecordLimit) -> Self {
        self.limit = limit;
        self
    }
}

impl Display for ShowOneWorkqueue<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut p = records(f, self.format, self.limit);
        write_one_workqueue(&mut p, self.snapshot, self.wq, self.format)?;
        p.close()
    }
}

fn write_one_workqueue(
    p: &mut Printk<'_>,
    snapshot: &Snapshot,
    wq: &WqSnapshot,
    format: KernelFormat,
) -> fmt::Result {
    if !wq.is_busy() {
        return Ok(());
    }
    write_workqueue_line(p, wq, format)?;
    for pwq in wq.pwqs.iter().filter(|pwq| pwq.is_busy()) {
        // Validated when the dump was made; a missing pool cannot appear afterwards.
        let pool = snapshot.pool(pwq.pool_id).ok_or(fmt::Error)?;
        write_pwq(p, pwq, pool, format)?;
    }
    Ok(())
}

/// The `workqueue NAME: flags=0x%x` line (as 6.12 and 7.0 print it; the dump's own
/// writers map the flags for 6.1, see [`KernelFormat::wq_flags`]).
#[derive(Debug, Clone, Copy)]
pub struct WorkqueueLine<'a>(pub &'a WqSnapshot);

impl Display for WorkqueueLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut p = records(f, KernelFormat::default(), RecordLimit::Kernel);
        write_workqueue_line(&mut p, self.0, KernelFormat::default())
    }
}

fn write_workqueue_line(p: &mut Printk<'_>, wq: &WqSnapshot, format: KernelFormat) -> fmt::Result {
    p.info(
        format_args!(
            "workqueue {}: flags={:#x}",
            wq.name,
            format.wq_flags(wq.flags)
        ),
        End::Newline,
    )
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
/// then ` nice=N`, or ` bh` / ` bh-hi` for BH pools (as 6.12 and 7.0 print it).
#[derive(Debug, Clone, Copy)]
pub struct PoolInfo<'a>(pub &'a PoolSnapshot);

impl Display for PoolInfo<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut p = Printk::new(f, None);
        // Pool info is a run of pr_cont() pieces; opened here as if after a pr_info("").
        p.info(format_args!(""), End::Open)?;
        write_pool_info(&mut p, self.0, KernelFormat::default())
    }
}

/// `pr_cont_pool_info`: in 6.12 and 7.0 ` cpus=%*pbl`, ` node=%d`, ` flags=0x%x`, then
/// ` bh%s` or ` nice=%d`, each its own pr_cont(); in 6.1 the last two are one
/// ` flags=0x%x nice=%d`.
fn write_pool_info(p: &mut Printk<'_>, pool: &PoolSnapshot, format: KernelFormat) -> fmt::Result {
    p.cont(format_args!(" cpus={}", CpuList(&pool.cpus)), End::Open)?;
    if let Some(node) = pool.node {
        p.cont(format_args!(" node={node}"), End::Open)?;
    }
    let flags = format.pool_flags(pool.flags);
    match format {
        KernelFormat::Linux6_1 => p.cont(
            format_args!(" flags={flags:#x} nice={}", pool.nice),
            End::Open,
        ),
        KernelFormat::Linux6_12 | KernelFormat::Linux7_0 => {
            p.cont(format_args!(" flags={flags:#x}"), End::Open)?;
            if pool.is_bh() {
                p.cont(format_args!(" {}", BhId(pool)), End::Open)
            } else {
                p.cont(format_args!(" nice={}", pool.nice), End::Open)
            }
        }
    }
}

/// `bh` or `bh-hi`: how a BH pool names itself and its workers.
struct BhId<'a>(&'a PoolSnapshot);

impl Display for BhId<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.nice == HIGHPRI_NICE_LEVEL {
            f.write_str("bh-hi")
        } else {
            f.write_str("bh")
        }
    }
}

/// The `pool ID:` line of `show_one_worker_pool` (printed whether or not the pool is busy;
/// [`ShowAllWorkqueues`] skips pools that are not [`PoolSnapshot::is_busy`]), as 6.12 and
/// 7.0 print it.
#[derive(Debug, Clone, Copy)]
pub struct PoolLine<'a>(pub &'a PoolSnapshot);

impl Display for PoolLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut p = records(f, KernelFormat::default(), RecordLimit::Kernel);
        write_pool_line(&mut p, self.0, KernelFormat::default())
    }
}

/// `show_one_worker_pool`: `pool %d:`, the pool info, ` hung=%lus workers=%d`,
/// ` manager: %d`, then the idle workers (6.12 and 7.0: ` %s` with `idle: ` for the first
/// and the worker id as pieces of their own; 6.1: one ` %s%d` piece each), then `\n`.
fn write_pool_line(p: &mut Printk<'_>, pool: &PoolSnapshot, format: KernelFormat) -> fmt::Result {
    p.info(format_args!("pool {}:", pool.id), End::Open)?;
    write_pool_info(p, pool, format)?;
    p.cont(
        format_args!(" hung={}s workers={}", pool.hung_secs(), pool.nr_workers),
        End::Open,
    )?;
    if let Some(manager) = pool.manager {
        p.cont(format_args!(" manager: {manager}"), End::Open)?;
    }
    for (i, id) in pool.idle.iter().enumerate() {
        let first = if i == 0 { "idle: " } else { "" };
        match format {
            KernelFormat::Linux6_1 => p.cont(format_args!(" {first}{id}"), End::Open)?,
            KernelFormat::Linux6_12 | KernelFormat::Linux7_0 => {
                p.cont(format_args!(" {first}"), End::Open)?;
                p.cont(format_args!("{id}"), End::Open)?;
            }
        }
    }
    p.newline()
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
        let mut p = records(f, self.format, RecordLimit::Kernel);
        write_pwq(&mut p, self.pwq, self.pool, self.format)
    }
}

fn write_pwq(
    p: &mut Printk<'_>,
    pwq: &PwqSnapshot,
    pool: &PoolSnapshot,
    format: KernelFormat,
) -> fmt::Result {
    // The kernel prints the pool's id here, not the pwq's.
    p.info(format_args!("  pwq {}:", pool.id), End::Open)?;
    write_pool_info(p, pool, format)?;
    let mayday = if pwq.mayday { " MAYDAY" } else { "" };
    match format {
        KernelFormat::Linux6_1 => p.cont(
            format_args!(
                " active={}/{} refcnt={}{mayday}",
                pwq.nr_active, pwq.max_active, pwq.refcnt
            ),
            End::Newline,
        )?,
        KernelFormat::Linux6_12 | KernelFormat::Linux7_0 => p.cont(
            format_args!(" active={} refcnt={}{mayday}", pwq.nr_active, pwq.refcnt),
            End::Newline,
        )?,
    }

    if !pwq.in_flight.is_empty() {
        p.info(format_args!("    in-flight:"), End::Open)?;
        for (i, worker) in pwq.in_flight.iter().enumerate() {
            write_in_flight(p, pool, worker, i > 0, format)?;
        }
        p.newline()?;
    }
    if !pwq.pending.is_empty() {
        p.info(format_args!("    pending:"), End::Open)?;
        write_work_list(p, &pwq.pending)?;
        p.newline()?;
    }
    if !pwq.inactive.is_empty() {
        p.info(format_args!("    inactive:"), End::Open)?;
        write_work_list(p, &pwq.inactive)?;
        p.newline()?;
    }
    Ok(())
}

/// A worker id as the dump prints it: `ID` or `ID(RESCUER)`, or `bh` / `bh-hi` for a BH
/// pool's worker (`pr_cont_worker_id`).
struct WorkerId<'a> {
    pool: &'a PoolSnapshot,
    worker: &'a InFlightWorker,
}

impl Display for WorkerId<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.pool.is_bh() {
            BhId(self.pool).fmt(f)
        } else {
            let rescuer = if self.worker.rescuer { "(RESCUER)" } else { "" };
            write!(f, "{}{rescuer}", self.worker.id)
        }
    }
}

/// One in-flight worker. 6.12 and 7.0: ` ` for the first worker or ` ,` after it (the
/// kernel really prints space-comma), the worker id, `:FUNC`, in 7.0 ` for Ns`, each a
/// pr_cont() of its own. 6.1: one `"%s %d%s:%ps"` piece, so `", "` separates workers.
/// Then the worker's scheduled items, each after a plain space and never merged.
fn write_in_flight(
    p: &mut Printk<'_>,
    pool: &PoolSnapshot,
    worker: &InFlightWorker,
    comma: bool,
    format: KernelFormat,
) -> fmt::Result {
    let id = WorkerId { pool, worker };
    match format {
        KernelFormat::Linux6_1 => {
            p.cont(
                format_args!("{} {id}:{}", sep(comma), worker.func),
                End::Open,
            )?;
        }
        KernelFormat::Linux6_12 | KernelFormat::Linux7_0 => {
            p.cont(format_args!(" {}", sep(comma)), End::Open)?;
            p.cont(format_args!("{id}"), End::Open)?;
            p.cont(format_args!(":{}", worker.func), End::Open)?;
            if format == KernelFormat::Linux7_0 {
                p.cont(
                    format_args!(" for {}s", worker.running_ms / 1000),
                    End::Open,
                )?;
            }
        }
    }
    // The kernel passes comma=false for every scheduled item, which closes the current
    // run before each one: nothing merges and no comma is printed.
    let mut runs = RunWriter::default();
    for work in &worker.scheduled {
        runs.push(p, false, work)?;
    }
    runs.flush(p)
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
        let mut p = Printk::new(f, None);
        p.info(format_args!(""), End::Open)?;
        write_work_list(&mut p, self.0)
    }
}

fn write_work_list(p: &mut Printk<'_>, works: &[WorkEntry]) -> fmt::Result {
    let mut runs = RunWriter::default();
    let mut comma = false;
    for work in works {
        runs.push(p, comma, work)?;
        comma = !work.linked;
    }
    runs.flush(p)
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
    fn push(&mut self, p: &mut Printk<'_>, comma: bool, work: &'a WorkEntry) -> fmt::Result {
        let name = match &work.kind {
            WorkKind::Barrier { task } => {
                self.flush(p)?;
                return p.cont(format_args!("{} BAR({task})", sep(comma)), End::Open);
            }
            WorkKind::Func(name) => name.as_str(),
            WorkKind::MaydayCursor => MAYDAY_CURSOR_FUNC,
        };
        if !comma {
            self.flush(p)?;
        }
        if self.func == Some(name) {
            self.count += 1;
            return Ok(());
        }
        self.flush(p)?;
        self.func = Some(name);
        self.count = 1;
        self.comma = comma;
        Ok(())
    }

    /// `pr_cont_work_flush`: prints the run being counted, if any, as one pr_cont(), and
    /// forgets it.
    fn flush(&mut self, p: &mut Printk<'_>) -> fmt::Result {
        if let Some(func) = self.func.take() {
            let sep = sep(self.comma);
            if self.count == 1 {
                p.cont(format_args!("{sep} {func}"), End::Open)?;
            } else {
                p.cont(format_args!("{sep} {}*{func}", self.count), End::Open)?;
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
/// directly for any pool; displays as 6.12 and 7.0 print it.
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
        let mut p = records(f, KernelFormat::default(), RecordLimit::Kernel);
        write_lockup(&mut p, self, KernelFormat::default())
    }
}

/// `pr_emerg("BUG: workqueue lockup - pool")`, the pool info, ` stuck for %us!\n`.
fn write_lockup(p: &mut Printk<'_>, lockup: &Lockup<'_>, format: KernelFormat) -> fmt::Result {
    p.info(format_args!("BUG: workqueue lockup - pool"), End::Open)?;
    write_pool_info(p, lockup.0, format)?;
    p.cont(
        format_args!(" stuck for {}s!", lockup.stuck_secs()),
        End::Newline,
    )
}

/// One run of the watchdog timer (`wq_watchdog_timer_fn`); made by
/// [`Snapshot::watchdog_report`].
#[derive(Debug, Clone, Copy)]
pub struct WatchdogReport<'a> {
    snapshot: &'a Snapshot,
    thresh_ms: u64,
    format: KernelFormat,
    limit: RecordLimit,
}

impl WatchdogReport<'_> {
    /// Whether any pool is locked up (the report is empty otherwise).
    pub fn lockup_detected(&self) -> bool {
        self.snapshot
            .watchdog_lockups(self.thresh_ms)
            .next()
            .is_some()
    }

    /// The same report with lines cut into printk records by `limit`
    /// ([`ShowAllWorkqueues::record_limit`]).
    #[must_use]
    pub fn record_limit(mut self, limit: RecordLimit) -> Self {
        self.limit = limit;
        self
    }
}

impl Display for WatchdogReport<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut p = records(f, self.format, self.limit);
        let mut detected = false;
        for lockup in self.snapshot.watchdog_lockups(self.thresh_ms) {
            detected = true;
            write_lockup(&mut p, &lockup, self.format)?;
        }
        if detected {
            write_show_all(&mut p, self.snapshot, self.format)?;
        }
        p.close()
    }
}
