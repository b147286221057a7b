//! cmwq-dump: the Linux kernel's workqueue debug dump, byte for byte, from plain data.
//!
//! When a workqueue system stalls, the kernel prints `show_all_workqueues()` (on SysRq-t,
//! or after the workqueue watchdog's `BUG: workqueue lockup`): every busy workqueue, each
//! busy pool_workqueue (pwq) with the workers running its items ("in-flight"), its items
//! waiting on the pool's worklist ("pending") and the items max_active holds back
//! ("inactive"), then every busy worker pool. cmwq prints the same dump, in the same
//! format, so a dump from cmwq reads like one from a kernel and the two can be diffed.
//!
//! # The snapshot
//!
//! The dump is a reader. Whoever owns workqueue state copies what the dump needs into a
//! [`Snapshot`] (plain data: workqueues [`WqSnapshot`] holding their pwqs
//! [`PwqSnapshot`], which hold [`InFlightWorker`]s and [`WorkEntry`] lists; worker pools
//! [`PoolSnapshot`]; per-pwq [`PwqStats`]) and formats it later, with no lock held and no
//! user code run. The types depend on nothing else of cmwq: flags are plain integers with
//! the kernel's values ([`wq_flags`], [`pool_flags`]), so a snapshot can also be built by
//! hand or from another system, and it serialises to JSON with serde.
//!
//! # Producing a snapshot
//!
//! The dump prints what it is given, in the order given; it does not reorder or filter
//! beyond the kernel's busy rules. A producer fills, under its pool locks:
//!
//! - `workqueues` in creation order and `pools` in id order (the kernel's list and IDR);
//! - per pwq: `pool_id`, `nr_active`, `refcnt`, `mayday` (on the workqueue's `maydays`
//!   list); `in_flight`, the pool's busy workers whose current pwq is this one, each with
//!   its `scheduled` list; `pending`, this pwq's nodes on the pool worklist in list order,
//!   its cursor included ([`WorkEntry::mayday_cursor`]) while linked; `inactive`; `stats`;
//! - per pool: `worklist_len` (every node on the worklist), the milliseconds since the
//!   pool's last progress and since the watchdog was touched, `nr_workers`, `nr_idle`,
//!   the active manager's id, and the idle workers most recently idle first;
//! - per work entry: its function name as the dump should show it, or the waiting task's
//!   id for a flush barrier, and its `LINKED` flag.
//!
//! [`Snapshot::validate`] checks the cross-references (every pwq's pool exists, pool ids
//! are unique); every dump constructor runs it.
//!
//! # The formats
//!
//! - [`Snapshot::show_all_workqueues`] and [`Snapshot::show_one_workqueue`]: the dump,
//!   as Linux 7.0 prints it (in-flight workers with ` for Ns`), as 6.12 does, or as the
//!   6.1 LTS does (`active=N/MAX`, in-flight workers separated by `", "`, its own pool flag
//!   bits; see [`KernelFormat`]). The rules the kernel follows and this crate reproduces: a
//!   workqueue or pwq is shown when it has active or inactive items, a pool when not all
//!   its workers are idle; in-flight workers are separated by `" ,"`; a worker's scheduled
//!   items follow it after plain spaces, never merged; pending and inactive lists merge
//!   consecutive items of one function into `N*func`, print flush barriers as `BAR(task)`
//!   and omit the comma after a `LINKED` item; a pwq's mayday cursor is listed among its
//!   pending items as `mayday_cursor_func`. The pieces are `Display` values of their own
//!   ([`PoolInfo`], [`CpuList`], [`PwqLines`], [`WorkList`], [`PoolLine`]).
//! - printk's records: the kernel prints a dump line as one `pr_info()` and many
//!   `pr_cont()` pieces, and printk stores at most a record's worth (1024 bytes since
//!   Linux 6.2, 992 in 6.1) before the next piece starts a record, that is a line, of its
//!   own. The dump reproduces that by default, so a rescuer's line of 5 000 characters
//!   reads as a kernel's log shows it; [`RecordLimit::Unlimited`] keeps lines whole.
//! - [`Snapshot::show_freezable_workqueues`]: the freezer's dump of busy `WQ_FREEZABLE`
//!   workqueues.
//! - [`Snapshot::watchdog_lockups`] and [`Snapshot::watchdog_report`]: the watchdog's
//!   `BUG: workqueue lockup - pool ... stuck for Ns!` lines followed by the dump.
//! - [`Snapshot::wq_monitor`] and [`Snapshot::wq_monitor_records`]: the table and records
//!   of the kernel's `tools/workqueue/wq_monitor.py`.
//!
//! # Example
//!
//! A rescuer working through a stalled pwq, dumped as Linux 7.0 prints it:
//!
//! ```
//! use cmwq_dump::{
//!     InFlightWorker, KernelFormat, PoolSnapshot, PwqSnapshot, Snapshot, WorkEntry, WqSnapshot,
//!     wq_flags,
//! };
//!
//! // The model is plain data that grows with the kernel's dump: start from `Default` and
//! // set what you know.
//! let mut rescuer = InFlightWorker::default();
//! rescuer.id = 149;
//! rescuer.rescuer = true;
//! rescuer.func = "xfs_end_io".into();
//! rescuer.running_ms = 2_500;
//!
//! let mut pwq = PwqSnapshot::default();
//! pwq.pool_id = 8;
//! pwq.nr_active = 4;
//! pwq.max_active = 256;
//! pwq.refcnt = 12;
//! pwq.mayday = true;
//! pwq.in_flight = vec![rescuer];
//! pwq.pending = vec![
//!     WorkEntry::mayday_cursor(),
//!     WorkEntry::func("xfs_end_io"),
//!     WorkEntry::func("xfs_end_io").linked(),
//!     WorkEntry::barrier(1234),
//! ];
//!
//! let mut wq = WqSnapshot::default();
//! wq.name = "xfs-conv/sda1".into();
//! wq.flags = wq_flags::WQ_UNBOUND | wq_flags::WQ_MEM_RECLAIM | wq_flags::WQ_FREEZABLE;
//! wq.pwqs = vec![pwq];
//!
//! let mut pool = PoolSnapshot::default();
//! pool.id = 8;
//! pool.cpus = (0..4).collect();
//! pool.worklist_len = 4;
//! pool.since_progress_ms = 3_200;
//! pool.nr_workers = 2;
//! pool.manager = Some(150);
//!
//! let mut snapshot = Snapshot::default();
//! snapshot.workqueues = vec![wq];
//! snapshot.pools = vec![pool];
//!
//! let dump = snapshot.show_all_workqueues(KernelFormat::Linux7_0)?.to_string();
//! assert_eq!(
//!     dump,
//!     "Showing busy workqueues and worker pools:\n\
//!      workqueue xfs-conv/sda1: flags=0xe\n  \
//!      pwq 8: cpus=0-3 flags=0x0 nice=0 active=4 refcnt=12 MAYDAY\n    \
//!      in-flight: 149(RESCUER):xfs_end_io for 2s\n    \
//!      pending: mayday_cursor_func, 2*xfs_end_io BAR(1234)\n\
//!      pool 8: cpus=0-3 flags=0x0 nice=0 hung=3s workers=2 manager: 150\n"
//! );
//! # Ok::<(), cmwq_dump::DumpError>(())
//! ```

mod model;
mod monitor;
mod printk;
mod show;

pub use model::{
    HIGHPRI_NICE_LEVEL, InFlightWorker, MAYDAY_CURSOR_FUNC, PoolSnapshot, PwqSnapshot, PwqStats,
    Snapshot, WorkEntry, WorkKind, WqSnapshot, pool_flags, wq_flags,
};
pub use monitor::{WQ_MONITOR_HEADER, WqMonitor, WqMonitorRecord, WqMonitorRow};
pub use printk::{LOG_LINE_MAX_6_1, PRINTKRB_RECORD_MAX, RecordLimit};
pub use show::{
    CpuList, DumpError, KernelFormat, Lockup, PoolInfo, PoolLine, PwqLines, SHOW_ALL_HEADER,
    SHOW_FREEZABLE_HEADER, ShowAllWorkqueues, ShowFreezableWorkqueues, ShowOneWorkqueue,
    WQ_WATCHDOG_THRESH_MS, WatchdogReport, WorkList, WorkqueueLine,
};
