//! The built-in scenario library: the states a workqueue dump is read for, and the rescuer
//! cases the Slurp/Cursor comparison is about.
//!
//! Every scenario is plain data built with [`Scenario::builder`]; [`builtin`] finds one by
//! name and [`all`] lists them. Scenarios where the rescuer policy matters run under every
//! policy by default ([`PolicyChoice::All`]); the others under the kernel's current one
//! (Cursor).

use crate::scenario::{ItemSpec, PolicyChoice, Scenario, WorkqueueSpec};
use std::time::Duration;

use crate::time::{ms, secs, us};

/// The name of the reported case (ying chen's XFS report, fixed by the 7.0 cursor).
pub const REPORTED_CASE: &str = "reported-case";

/// The name of the reported case at the kernel's own scale, with the kernel's clock.
pub const REPORTED_CASE_KERNEL: &str = "reported-case-kernel";

/// Every built-in scenario, in listing order.
pub fn all() -> Vec<Scenario> {
    vec![
        idle(),
        busy_percpu(),
        max_active_one(),
        flush_barrier(),
        ordered(),
        reported_case(),
        reported_case_kernel(),
        chained_rescue(),
        two_stalled_pwqs(),
        sustained_pressure(),
        long_worklist(),
        delayed_rearm(),
        cancel_flush_rescue(),
    ]
}

/// The built-in scenario named `name`.
pub fn builtin(name: &str) -> Option<Scenario> {
    all().into_iter().find(|s| s.name == name)
}

fn must(b: crate::ScenarioBuilder) -> Scenario {
    // The library's scenarios are fixed data; a unit test builds every one of them, so a
    // mistake here fails `cargo test` rather than a user's run.
    b.build().expect("built-in scenarios are valid")
}

/// An idle system: two workqueues whose items all ran before the dump, which therefore
/// shows only its header.
pub fn idle() -> Scenario {
    must(
        Scenario::builder("idle")
            .description("Items ran and finished; the dump taken afterwards lists nothing busy.")
            .cpus(2)
            .policy(PolicyChoice::Cursor)
            .workqueue(WorkqueueSpec::new("events"))
            .workqueue(WorkqueueSpec::new("kblockd").highpri().mem_reclaim())
            .item(ItemSpec::new("tick", "vmstat_update", "events").run(us(50)))
            .item(
                ItemSpec::new("blk", "blk_mq_run_work_fn", "kblockd")
                    .cpu(1)
                    .at(us(10))
                    .run(us(20)),
            )
            .dump_at(ms(5)),
    )
}

/// A busy per-CPU pool: one item in flight on the CPU, one sleeping in flight on a second
/// worker, and a pending backlog whose consecutive items of one function merge into
/// `N*func` in the dump.
pub fn busy_percpu() -> Scenario {
    must(
        Scenario::builder("busy-percpu")
            .description(
                "A per-CPU pool with in-flight items (one running, one sleeping) and a pending \
                 backlog that the dump merges into N*func runs.",
            )
            .cpus(1)
            .policy(PolicyChoice::Cursor)
            .workqueue(WorkqueueSpec::new("events"))
            .item(
                ItemSpec::new("sleeper", "flush_to_ldisc", "events")
                    .run(us(100))
                    .sleep(ms(20)),
            )
            .item(
                ItemSpec::new("vmstat", "vmstat_update", "events")
                    .at(us(10))
                    .count(6, us(1))
                    .run(ms(2)),
            )
            .item(
                ItemSpec::new("lru", "lru_add_drain_per_cpu", "events")
                    .at(us(20))
                    .count(3, us(1))
                    .run(ms(1)),
            )
            .item(
                ItemSpec::new("vmstat-late", "vmstat_update", "events")
                    .at(us(30))
                    .run(ms(1)),
            )
            .dump_at(ms(3)),
    )
}

/// max_active = 1: one item active, the rest wait on the pwq's inactive list.
pub fn max_active_one() -> Scenario {
    must(
        Scenario::builder("max-active-1")
            .description(
                "A workqueue with max_active 1: one item is active, the backlog waits on the \
                 pwq's inactive list until it finishes.",
            )
            .policy(PolicyChoice::Cursor)
            .workqueue(WorkqueueSpec::new("serial").max_active(1))
            .item(
                ItemSpec::new("first", "nvme_reset_work", "serial")
                    .run(ms(1))
                    .sleep(ms(10)),
            )
            .item(
                ItemSpec::new("backlog", "nvme_scan_work", "serial")
                    .at(us(5))
                    .count(4, us(1))
                    .run(ms(1)),
            )
            .item(
                ItemSpec::new("tail", "nvme_async_event_work", "serial")
                    .at(us(10))
                    .run(ms(1)),
            )
            .dump_at(ms(5))
            .dump_at(ms(13)),
    )
}

/// flush_work barriers: one behind a running item (on its worker's scheduled list), one
/// behind a pending item (LINKED, so the dump prints `func BAR(PID)` with no comma).
pub fn flush_barrier() -> Scenario {
    must(
        Scenario::builder("flush-barrier")
            .description(
                "flush_work on a running item and on a pending one: the barriers show as \
                 BAR(PID), the second LINKED right behind the item it waits for.",
            )
            .policy(PolicyChoice::Cursor)
            .workqueue(WorkqueueSpec::new("events"))
            .item(
                ItemSpec::new("running", "sync_inodes_work", "events")
                    .run(us(200))
                    .sleep(ms(30)),
            )
            .item(
                ItemSpec::new("pending", "writeback_work", "events")
                    .at(us(1))
                    .run(ms(5)),
            )
            .item(
                ItemSpec::new("after", "writeback_work", "events")
                    .at(us(2))
                    .count(2, us(1))
                    .run(ms(5)),
            )
            .flush("running", ms(1), 1001)
            .flush("after", ms(1), 1002)
            .dump_at(ms(2)),
    )
}

/// An ordered workqueue: strictly one item at a time in queueing order.
pub fn ordered() -> Scenario {
    must(
        Scenario::builder("ordered")
            .description(
                "alloc_ordered_workqueue: one item at a time, in queueing order, the rest \
                 inactive.",
            )
            .cpus(2)
            .policy(PolicyChoice::Cursor)
            .workqueue(WorkqueueSpec::new("i915-ordered").ordered())
            .item(ItemSpec::new("a", "intel_atomic_commit_work", "i915-ordered").run(ms(2)))
            .item(
                ItemSpec::new("b", "intel_atomic_cleanup_work", "i915-ordered")
                    .cpu(1)
                    .at(us(1))
                    .count(2, us(1))
                    .run(ms(2)),
            )
            .item(
                ItemSpec::new("c", "intel_atomic_commit_work", "i915-ordered")
                    .at(us(5))
                    .run(ms(2)),
            )
            .dump_at(ms(1))
            .dump_at(ms(5)),
    )
}

/// THE REPORTED CASE: a WQ_MEM_RECLAIM queue whose pool cannot create a worker for one
/// second while its only worker is blocked in the log; the rescuer takes the first item, which blocks for three seconds. Under Slurp
/// the rescuer slurped every sibling onto its scheduled list, so they wait for the blocked
/// item even after pressure ends; under Cursor they stay on the worklist behind the pwq's
/// cursor and a normal worker runs them as soon as one can be created.
pub fn reported_case() -> Scenario {
    must(
        Scenario::builder(REPORTED_CASE)
            .description(
                "WQ_MEM_RECLAIM queue, worker creation fails for 1s; the rescued first item \
                 blocks for 3s. Slurp: the siblings wait in the rescuer's scheduled list until \
                 it unblocks. Cursor: they stay pending behind mayday_cursor_func and run on a \
                 new worker once pressure ends.",
            )
            .cpus(1)
            .seed(1)
            // Timers land where a kernel's would (HZ=250, timer wheel), so the replay can be
            // held against a kernel's figures.
            .kernel_clock(cmwq_pool::KernelClock::HZ_250)
            .workqueue(WorkqueueSpec::new("xfs-log/sda1"))
            .workqueue(WorkqueueSpec::new("xfs-conv/sda1").mem_reclaim())
            .pressure(ms(1), secs(1))
            // The pool's only worker blocks in the log, as in the report: the pool needs a
            // new worker and cannot create one.
            .item(
                ItemSpec::new("log", "xlog_cil_push_work", "xfs-log/sda1")
                    .run(us(50))
                    .block("log-io"),
            )
            .item(
                ItemSpec::new("blocker", "xfs_end_io", "xfs-conv/sda1")
                    .at(ms(2))
                    .run(us(200))
                    .block("log-io"),
            )
            .item(
                ItemSpec::new("siblings", "xfs_end_io_sibling", "xfs-conv/sda1")
                    .at(us(2001))
                    .count(8, us(2))
                    .run(ms(2)),
            )
            .signal("log-io", secs(3))
            .dump_at(ms(500))
            .dump_at(ms(1500)),
    )
}

/// The reported case at the kernel's own scale, replayed on a kernel's clock (HZ=250 and
/// the timer wheel's rounding, `cmwq_pool::KernelClock`): worker creation fails for 2 s,
/// the rescued first item blocks for 5 s, 31 siblings of 10 ms (each sleeping, as a
/// reproducer's `msleep(10)`) wait behind it on a workqueue of max_active 32. A kernel
/// retries creation after its cooldown of 256 jiffies, at 2.048 s, not at 2.000 s, so the
/// siblings finish some 60 to 90 ms after pressure ends under Cursor; under Slurp they wait
/// for the blocker. [`crate::KernelFigures`] gives the figures to hold against a kernel's.
pub fn reported_case_kernel() -> Scenario {
    must(
        Scenario::builder(REPORTED_CASE_KERNEL)
            .description(
                "The reported case at the kernel's scale and clock (HZ=250, timer wheel): \
                 creation fails for 2s, the rescued first item blocks for 5s, 31 siblings of \
                 10ms on a max_active 32 WQ_MEM_RECLAIM queue. The kernel retries creation \
                 at 2.048s; Cursor's siblings finish tens of ms after pressure ends, \
                 Slurp's wait for the blocker.",
            )
            .cpus(1)
            .seed(1)
            .kernel_clock(cmwq_pool::KernelClock::HZ_250)
            .workqueue(WorkqueueSpec::new("xfs-log/sda1"))
            .workqueue(
                WorkqueueSpec::new("xfs-conv/sda1")
                    .mem_reclaim()
                    .max_active(32),
            )
            .pressure(ms(1), secs(2))
            .item(
                ItemSpec::new("log", "xlog_cil_push_work", "xfs-log/sda1")
                    .run(us(50))
                    .block("log-io"),
            )
            .item(
                ItemSpec::new("blocker", "xfs_end_io", "xfs-conv/sda1")
                    .at(ms(2))
                    .run(us(200))
                    .block("log-io"),
            )
            .item(
                ItemSpec::new("siblings", "xfs_end_io_sibling", "xfs-conv/sda1")
                    .at(us(2001))
                    .count(31, us(2))
                    .sleep(ms(10)),
            )
            .sibling("siblings")
            .signal("log-io", secs(5))
            .dump_at(ms(500))
            .dump_at(ms(2010)),
    )
}

/// A rescued item queues another item of its workqueue while pressure lasts (chained
/// queueing from inside a rescue).
pub fn chained_rescue() -> Scenario {
    must(
        Scenario::builder("chained-rescue")
            .description(
                "Items rescued under pressure queue follow-up items on their own workqueue; \
                 the follow-ups must be rescued too, behind the cursor or in a later slurp.",
            )
            .cpus(1)
            .workqueue(WorkqueueSpec::new("writeback").mem_reclaim())
            .pressure(ms(0), ms(400))
            .item(
                ItemSpec::new("stage1", "wb_workfn", "writeback")
                    .count(3, us(1))
                    .run(ms(5))
                    .queue("stage2"),
            )
            .item(
                ItemSpec::new("stage2", "wb_update_bandwidth_workfn", "writeback")
                    .chained()
                    .count(3, us(0))
                    .run(ms(5))
                    .queue("stage3"),
            )
            .item(
                ItemSpec::new("stage3", "wb_inode_writeback_end", "writeback")
                    .chained()
                    .count(3, us(0))
                    .run(ms(5)),
            )
            .dump_at(ms(18))
            .dump_at(ms(30)),
    )
}

/// One rescuer, two stalled pwqs (two CPUs' pools both under pressure): RESCUER_BATCH
/// fairness decides how the rescuer alternates between them.
pub fn two_stalled_pwqs() -> Scenario {
    must(
        Scenario::builder("two-stalled-pwqs")
            .description(
                "One WQ_MEM_RECLAIM workqueue, two CPUs whose pools both cannot create \
                 workers: one rescuer serves both pwqs, Cursor in batches of RESCUER_BATCH.",
            )
            .cpus(2)
            .workqueue(WorkqueueSpec::new("dm-bufio").mem_reclaim())
            .pressure(ms(0), ms(500))
            .item(
                ItemSpec::new("cpu0", "dm_bufio_work", "dm-bufio")
                    .cpu(0)
                    .count(40, us(1))
                    .run(ms(1)),
            )
            .item(
                ItemSpec::new("cpu1", "dm_bufio_write_work", "dm-bufio")
                    .cpu(1)
                    .count(40, us(1))
                    .run(ms(1)),
            )
            .dump_at(ms(15))
            .dump_at(ms(40)),
    )
}

/// Pressure that lasts: for 1.5 s no worker can be created while items keep arriving
/// faster than one CPU runs them, so the rescuer is the only progress and falls behind.
/// When pressure ends, Slurp's slurped backlog stays on the rescuer, which then shares the
/// CPU with the new worker; Cursor hands what is left to the new worker.
pub fn sustained_pressure() -> Scenario {
    must(
        Scenario::builder("sustained-pressure")
            .description(
                "Worker creation fails for 1.5s while items needing 2.5ms of CPU arrive every \
                 2ms: the rescuer must keep rescuing (the manager is still trying) and falls \
                 behind; after pressure ends Slurp keeps its slurped backlog on the rescuer.",
            )
            .cpus(1)
            .workqueue(WorkqueueSpec::new("nfsiod").mem_reclaim())
            .pressure(ms(0), ms(1500))
            .item(
                ItemSpec::new("stream", "nfs_pgio_release", "nfsiod")
                    .count(1000, ms(2))
                    .run(us(2500)),
            )
            .dump_at(ms(1000))
            .dump_at(ms(1600)),
    )
}

/// A long worklist shared by many pwqs: one WQ_MEM_RECLAIM pwq's items interleaved with
/// those of seven plain workqueues on one pool; what the rescuer scans to find its items
/// is what separates Cursor (O(N)) from Rescan (O(N^2)).
pub fn long_worklist() -> Scenario {
    let mut b = Scenario::builder("long-worklist")
        .description(
            "Eight workqueues share one pool's worklist; only one has a rescuer. Its items are \
             one in eight of 4000: Cursor scans the list once, Rescan once per rescued item.",
        )
        .cpus(1)
        .workqueue(WorkqueueSpec::new("reclaim").mem_reclaim())
        .pressure(ms(0), secs(2))
        .item(
            ItemSpec::new("rescued", "shrink_work", "reclaim")
                .count(500, us(8))
                .run(us(20)),
        )
        .dump_at(ms(11));
    for i in 0..7u64 {
        let wq = format!("plain{i}");
        b = b.workqueue(WorkqueueSpec::new(wq.clone())).item(
            ItemSpec::new(format!("plain{i}-items"), format!("plain{i}_fn"), wq)
                .at(us(i + 1))
                .count(500, us(8))
                .run(us(20)),
        );
    }
    must(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_scenario_validates_and_has_a_unique_name() {
        let all = all();
        let mut names: Vec<&str> = all.iter().map(|s| s.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), all.len());
        assert!(all.iter().all(|s| !s.description.is_empty()));
        assert!(builtin(REPORTED_CASE).is_some());
        assert!(builtin("nope").is_none());
    }
}

#[cfg(test)]
mod file_tests {
    #[test]
    fn the_reported_case_file_is_the_builtin_reported_case() {
        let text = include_str!("../scenarios/reported-case.toml");
        let from_file = crate::Scenario::from_toml(text).unwrap();
        assert_eq!(from_file, super::reported_case());
    }
}

/// A delayed item that re-arms itself (a poller: run, then `queue_delayed_work` itself
/// again) on a `WQ_MEM_RECLAIM` workqueue, across a memory-pressure window in which the
/// pool's workers are all blocked: each expiry of its delayed-work timer queues it on a
/// pool that cannot create a worker, so the rescuer runs it until pressure ends; a cancel
/// finally takes it off its timer.
pub fn delayed_rearm() -> Scenario {
    must(
        Scenario::builder("delayed-rearm")
            .description(
                "A poller re-arms itself with queue_delayed_work every 10ms; while the \
                 pool's workers are blocked and creation fails, each expiry is rescued; a \
                 cancel takes it off its timer at the end.",
            )
            .policy(PolicyChoice::Cursor)
            .workqueue(WorkqueueSpec::new("reclaim-poll").mem_reclaim())
            .workqueue(WorkqueueSpec::new("events"))
            .pressure(ms(20), ms(200))
            .item(
                ItemSpec::new("poll", "poll_work_fn", "reclaim-poll")
                    .delayed(ms(5))
                    .run(ms(1))
                    .queue_delayed("poll", ms(10)),
            )
            .item(
                ItemSpec::new("io", "io_wait_fn", "events")
                    .at(ms(25))
                    .count(3, us(10))
                    .block("io-done"),
            )
            .signal("io-done", ms(250))
            .cancel("poll", ms(304))
            .dump_at(ms(100))
            .dump_at(ms(304)),
    )
}

/// A cancel and a workqueue flush while the rescuer works through a pwq: the cancelled
/// item never runs, the flush completes once everything queued before it has run (on the
/// rescuer), and a flush_work barrier waits behind the last item.
pub fn cancel_flush_rescue() -> Scenario {
    must(
        Scenario::builder("cancel-flush-rescue")
            .description(
                "No worker can be created: the rescuer runs the pwq's items one by one; a \
                 pending item is cancelled, flush_workqueue waits for the rest and a \
                 flush_work barrier sits behind the last one.",
            )
            .policy(PolicyChoice::All)
            .workqueue(WorkqueueSpec::new("reclaim").mem_reclaim())
            .pressure(Duration::ZERO, ms(500))
            .item(
                ItemSpec::new("work", "write_work_fn", "reclaim")
                    .at(us(10))
                    .count(4, us(1))
                    .run(ms(5)),
            )
            .item(
                ItemSpec::new("victim", "victim_work_fn", "reclaim")
                    .at(us(20))
                    .run(ms(5)),
            )
            .item(
                ItemSpec::new("tail", "tail_work_fn", "reclaim")
                    .at(us(30))
                    .run(ms(5)),
            )
            .cancel("victim", ms(15))
            .flush_workqueue("reclaim", ms(16))
            .flush("tail", ms(17), 2001)
            .dump_at(ms(18)),
    )
}
