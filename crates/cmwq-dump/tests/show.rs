//! The dump's lines, each checked against a hand-written expected string: the forms of
//! kernel/workqueue.c's show_pwq, pr_cont_work, pr_cont_pool_info, show_one_worker_pool
//! and wq_watchdog_timer_fn, and lines quoted from real kernels' output.

use std::collections::BTreeSet;

use cmwq_dump::{
    CpuList, DumpError, InFlightWorker, KernelFormat, Lockup, PoolInfo, PoolLine, PoolSnapshot,
    PwqLines, PwqSnapshot, Snapshot, WorkEntry, WorkList, WorkqueueLine, WqSnapshot, pool_flags,
    wq_flags,
};

// ---- fixtures -------------------------------------------------------------------------

fn cpus(list: &[u32]) -> BTreeSet<u32> {
    list.iter().copied().collect()
}

/// A per-CPU pool on `cpu`, node 0, nice 0, with `nr_workers` busy workers.
fn cpu_pool(id: u32, cpu: u32) -> PoolSnapshot {
    {
        let mut v = PoolSnapshot::default();
        v.id = id;
        v.cpus = cpus(&[cpu]);
        v.node = Some(0);
        v.nr_workers = 1;
        v
    }
}

fn worker(id: u32, func: &str, running_ms: u64) -> InFlightWorker {
    {
        let mut v = InFlightWorker::default();
        v.id = id;
        v.rescuer = false;
        v.func = func.into();
        v.running_ms = running_ms;
        v.scheduled = vec![];
        v
    }
}

fn pwq(pool_id: u32, nr_active: u32, refcnt: u32) -> PwqSnapshot {
    {
        let mut v = PwqSnapshot::default();
        v.id = pool_id;
        v.pool_id = pool_id;
        v.nr_active = nr_active;
        v.refcnt = refcnt;
        v
    }
}

fn funcs(names: &[&str]) -> Vec<WorkEntry> {
    names.iter().map(|n| WorkEntry::func(*n)).collect()
}

fn pwq_lines(pwq: &PwqSnapshot, pool: &PoolSnapshot, format: KernelFormat) -> String {
    PwqLines { pwq, pool, format }.to_string()
}

// ---- CPU range lists (%*pbl) ------------------------------------------------------------

#[test]
fn cpu_list_prints_a_single_cpu_as_its_number() {
    assert_eq!(CpuList(&cpus(&[0])).to_string(), "0");
    assert_eq!(CpuList(&cpus(&[17])).to_string(), "17");
}

#[test]
fn cpu_list_prints_consecutive_cpus_as_a_range() {
    assert_eq!(CpuList(&cpus(&[0, 1, 2, 3])).to_string(), "0-3");
    assert_eq!(CpuList(&cpus(&[4, 5])).to_string(), "4-5");
}

#[test]
fn cpu_list_joins_ranges_and_single_cpus_with_commas() {
    assert_eq!(CpuList(&cpus(&[0, 2, 3])).to_string(), "0,2-3");
    assert_eq!(CpuList(&cpus(&[1, 3, 5])).to_string(), "1,3,5");
    assert_eq!(
        CpuList(&cpus(&[0, 1, 2, 3, 8, 10, 11, 12, 63])).to_string(),
        "0-3,8,10-12,63"
    );
}

#[test]
fn cpu_list_of_an_empty_set_prints_nothing() {
    assert_eq!(CpuList(&BTreeSet::new()).to_string(), "");
}

#[test]
fn cpu_list_handles_the_largest_cpu_number() {
    assert_eq!(
        CpuList(&cpus(&[u32::MAX - 1, u32::MAX])).to_string(),
        "4294967294-4294967295"
    );
}

// ---- pool info (pr_cont_pool_info) ------------------------------------------------------

#[test]
fn pool_info_of_a_per_cpu_pool_prints_cpus_node_flags_and_nice() {
    let pool = cpu_pool(6, 1);
    assert_eq!(
        PoolInfo(&pool).to_string(),
        " cpus=1 node=0 flags=0x0 nice=0"
    );
}

#[test]
fn pool_info_of_a_highpri_pool_prints_its_negative_nice() {
    let pool = {
        let mut v = cpu_pool(1, 0);
        v.nice = -20;
        v
    };
    assert_eq!(
        PoolInfo(&pool).to_string(),
        " cpus=0 node=0 flags=0x0 nice=-20"
    );
}

#[test]
fn pool_info_omits_node_when_the_pool_has_none() {
    let pool = {
        let mut v = PoolSnapshot::default();
        v.cpus = cpus(&[0, 1, 2, 3]);
        v.node = None;
        v.flags = pool_flags::POOL_DISASSOCIATED;
        v
    };
    assert_eq!(PoolInfo(&pool).to_string(), " cpus=0-3 flags=0x4 nice=0");
}

#[test]
fn pool_info_of_a_bh_pool_prints_bh_instead_of_nice() {
    let bh = {
        let mut v = cpu_pool(0, 0);
        v.flags = pool_flags::POOL_BH;
        v
    };
    assert_eq!(PoolInfo(&bh).to_string(), " cpus=0 node=0 flags=0x1 bh");
    let bh_hi = {
        let mut v = bh;
        v.nice = -20;
        v
    };
    assert_eq!(
        PoolInfo(&bh_hi).to_string(),
        " cpus=0 node=0 flags=0x1 bh-hi"
    );
}

#[test]
fn pool_info_prints_flags_in_hex() {
    let pool = {
        let mut v = cpu_pool(3, 2);
        v.flags = pool_flags::POOL_MANAGER_ACTIVE | pool_flags::POOL_DISASSOCIATED;
        v
    };
    assert_eq!(
        PoolInfo(&pool).to_string(),
        " cpus=2 node=0 flags=0x6 nice=0"
    );
}

// ---- pool lines (show_one_worker_pool) --------------------------------------------------

#[test]
fn pool_line_matches_a_real_kernel_pool_line() {
    // From Linux 6.12.95 under qemu.
    let pool = {
        let mut v = cpu_pool(6, 1);
        v.worklist_len = 1;
        v.since_progress_ms = 3_400;
        v.nr_workers = 2;
        v.nr_idle = 1;
        v.idle = vec![28];
        v
    };
    assert_eq!(
        PoolLine(&pool).to_string(),
        "pool 6: cpus=1 node=0 flags=0x0 nice=0 hung=3s workers=2 idle: 28\n"
    );
}

#[test]
fn pool_line_with_an_active_manager_and_no_idle_worker_has_no_idle_part() {
    let pool = {
        let mut v = PoolSnapshot::default();
        v.id = 8;
        v.cpus = cpus(&[0, 1, 2, 3]);
        v.node = None;
        v.flags = pool_flags::POOL_MANAGER_ACTIVE;
        v.worklist_len = 5;
        v.since_progress_ms = 12_000;
        v.nr_workers = 3;
        v.manager = Some(150);
        v
    };
    assert_eq!(
        PoolLine(&pool).to_string(),
        "pool 8: cpus=0-3 flags=0x2 nice=0 hung=12s workers=3 manager: 150\n"
    );
}

#[test]
fn pool_line_lists_idle_workers_in_idle_list_order_after_the_manager() {
    let pool = {
        let mut v = cpu_pool(2, 1);
        v.nr_workers = 5;
        v.nr_idle = 3;
        v.manager = Some(40);
        v.idle = vec![31, 28, 17];
        v
    };
    assert_eq!(
        PoolLine(&pool).to_string(),
        "pool 2: cpus=1 node=0 flags=0x0 nice=0 hung=0s workers=5 manager: 40 idle: 31 28 17\n"
    );
}

#[test]
fn pool_hung_is_zero_while_the_worklist_is_empty() {
    let pool = {
        let mut v = cpu_pool(0, 0);
        v.worklist_len = 0;
        v.since_progress_ms = 600_000;
        v
    };
    assert_eq!(pool.hung_secs(), 0);
    assert_eq!(
        PoolLine(&pool).to_string(),
        "pool 0: cpus=0 node=0 flags=0x0 nice=0 hung=0s workers=1\n"
    );
}

#[test]
fn pool_hung_rounds_milliseconds_down_to_whole_seconds() {
    let pool = {
        let mut v = cpu_pool(0, 0);
        v.worklist_len = 1;
        v.since_progress_ms = 2_999;
        v
    };
    assert_eq!(
        PoolLine(&pool).to_string(),
        "pool 0: cpus=0 node=0 flags=0x0 nice=0 hung=2s workers=1\n"
    );
}

// ---- workqueue and pwq lines (show_one_workqueue, show_pwq) -----------------------------

#[test]
fn workqueue_line_prints_name_and_hex_flags() {
    let wq = {
        let mut v = WqSnapshot::default();
        v.name = "events_unbound".into();
        v.flags = wq_flags::WQ_UNBOUND;
        v.pwqs = vec![];
        v
    };
    assert_eq!(
        WorkqueueLine(&wq).to_string(),
        "workqueue events_unbound: flags=0x2\n"
    );
    let ordered = {
        let mut v = WqSnapshot::default();
        v.name = "writeback".into();
        v.flags = wq_flags::WQ_ORDERED | wq_flags::WQ_MEM_RECLAIM | wq_flags::WQ_UNBOUND;
        v.pwqs = vec![];
        v
    };
    assert_eq!(
        WorkqueueLine(&ordered).to_string(),
        "workqueue writeback: flags=0x2000a\n"
    );
}

#[test]
fn pwq_line_prints_the_pool_id_and_info_active_and_refcnt() {
    let pool = cpu_pool(2, 1);
    let mut p = pwq(2, 1, 2);
    p.id = 77; // the pwq's own id is not printed: the kernel prints the pool's
    assert_eq!(
        pwq_lines(&p, &pool, KernelFormat::Linux7_0),
        "  pwq 2: cpus=1 node=0 flags=0x0 nice=0 active=1 refcnt=2\n"
    );
}

#[test]
fn pwq_on_maydays_prints_mayday_as_a_real_kernel_does() {
    // Shape of a rescued pwq in Linux 6.12.95: `active=4 refcnt=12 MAYDAY`.
    let pool = cpu_pool(6, 1);
    let p = {
        let mut v = pwq(6, 4, 12);
        v.mayday = true;
        v
    };
    assert_eq!(
        pwq_lines(&p, &pool, KernelFormat::Linux6_12),
        "  pwq 6: cpus=1 node=0 flags=0x0 nice=0 active=4 refcnt=12 MAYDAY\n"
    );
}

#[test]
fn in_flight_prints_the_7_0_duration_as_a_real_kernel_does() {
    // From the Linux 7.0 change that added the duration:
    // `in-flight: 165:stall_work_fn [wq_stall] for 100s`.
    let pool = cpu_pool(2, 1);
    let p = {
        let mut v = pwq(2, 1, 2);
        v.in_flight = vec![worker(165, "stall_work_fn [wq_stall]", 100_250)];
        v
    };
    assert_eq!(
        pwq_lines(&p, &pool, KernelFormat::Linux7_0),
        "  pwq 2: cpus=1 node=0 flags=0x0 nice=0 active=1 refcnt=2\n    \
         in-flight: 165:stall_work_fn [wq_stall] for 100s\n"
    );
}

#[test]
fn in_flight_in_the_6_12_format_has_no_duration() {
    let pool = cpu_pool(2, 1);
    let p = {
        let mut v = pwq(2, 1, 2);
        v.in_flight = vec![worker(165, "stall_work_fn [wq_stall]", 100_250)];
        v
    };
    assert_eq!(
        pwq_lines(&p, &pool, KernelFormat::Linux6_12),
        "  pwq 2: cpus=1 node=0 flags=0x0 nice=0 active=1 refcnt=2\n    \
         in-flight: 165:stall_work_fn [wq_stall]\n"
    );
}

#[test]
fn in_flight_workers_after_the_first_are_separated_by_space_comma() {
    let pool = cpu_pool(0, 0);
    let p = {
        let mut v = pwq(0, 3, 4);
        v.in_flight = vec![
            worker(7, "test_work_func", 0),
            worker(64, "test_work_func", 1_000),
            worker(249, "test_work_func", 59_999),
        ];
        v
    };
    assert_eq!(
        pwq_lines(&p, &pool, KernelFormat::Linux7_0),
        "  pwq 0: cpus=0 node=0 flags=0x0 nice=0 active=3 refcnt=4\n    \
         in-flight: 7:test_work_func for 0s ,64:test_work_func for 1s ,249:test_work_func for 59s\n"
    );
    assert_eq!(
        pwq_lines(&p, &pool, KernelFormat::Linux6_12),
        "  pwq 0: cpus=0 node=0 flags=0x0 nice=0 active=3 refcnt=4\n    \
         in-flight: 7:test_work_func ,64:test_work_func ,249:test_work_func\n"
    );
}

#[test]
fn rescuer_in_flight_is_marked_rescuer() {
    let pool = cpu_pool(6, 1);
    let p = {
        let mut v = pwq(6, 4, 12);
        v.mayday = true;
        v.in_flight = vec![worker(31, "blocker_fn", 4_000), {
            let mut v = worker(149, "stall_fn", 2_000);
            v.rescuer = true;
            v
        }];
        v
    };
    assert_eq!(
        pwq_lines(&p, &pool, KernelFormat::Linux6_12),
        "  pwq 6: cpus=1 node=0 flags=0x0 nice=0 active=4 refcnt=12 MAYDAY\n    \
         in-flight: 31:blocker_fn ,149(RESCUER):stall_fn\n"
    );
}

#[test]
fn scheduled_items_follow_their_worker_after_plain_spaces_never_merged() {
    let pool = cpu_pool(6, 1);
    let p = {
        let mut v = pwq(6, 6, 8);
        v.in_flight = vec![
            {
                let mut v = worker(149, "stall_fn", 1_500);
                v.rescuer = true;
                v.scheduled = vec![
                    WorkEntry::func("stall_fn"),
                    WorkEntry::func("stall_fn"),
                    WorkEntry::func("stall_fn").linked(),
                    WorkEntry::barrier(812),
                ];
                v
            },
            {
                let mut v = worker(30, "other_fn", 0);
                v.scheduled = vec![WorkEntry::func("other_fn")];
                v
            },
        ];
        v
    };
    assert_eq!(
        pwq_lines(&p, &pool, KernelFormat::Linux7_0),
        "  pwq 6: cpus=1 node=0 flags=0x0 nice=0 active=6 refcnt=8\n    \
         in-flight: 149(RESCUER):stall_fn for 1s stall_fn stall_fn stall_fn BAR(812) \
         ,30:other_fn for 0s other_fn\n"
    );
}

#[test]
fn bh_pool_workers_print_bh_instead_of_an_id() {
    let bh = {
        let mut v = cpu_pool(0, 0);
        v.flags = pool_flags::POOL_BH;
        v
    };
    let p = {
        let mut v = pwq(0, 1, 2);
        v.in_flight = vec![worker(0, "tasklet_action_fn", 0)];
        v
    };
    assert_eq!(
        pwq_lines(&p, &bh, KernelFormat::Linux7_0),
        "  pwq 0: cpus=0 node=0 flags=0x1 bh active=1 refcnt=2\n    \
         in-flight: bh:tasklet_action_fn for 0s\n"
    );
    let bh_hi = {
        let mut v = bh;
        v.nice = -20;
        v
    };
    assert_eq!(
        pwq_lines(&p, &bh_hi, KernelFormat::Linux6_12),
        "  pwq 0: cpus=0 node=0 flags=0x1 bh-hi active=1 refcnt=2\n    \
         in-flight: bh-hi:tasklet_action_fn\n"
    );
}

#[test]
fn pending_and_inactive_lines_follow_in_flight() {
    let pool = cpu_pool(0, 0);
    let p = {
        let mut v = pwq(0, 8, 11);
        v.in_flight = vec![worker(7, "test_work_func", 3_000)];
        v.pending = funcs(&[
            "test_work_func",
            "test_work_func",
            "test_work_func1",
            "test_work_func1",
            "test_work_func1",
            "test_work_func1",
            "test_work_func1",
        ]);
        v.inactive = funcs(&["late_fn", "late_fn"]);
        v
    };
    assert_eq!(
        pwq_lines(&p, &pool, KernelFormat::Linux7_0),
        "  pwq 0: cpus=0 node=0 flags=0x0 nice=0 active=8 refcnt=11\n    \
         in-flight: 7:test_work_func for 3s\n    \
         pending: 2*test_work_func, 5*test_work_func1\n    \
         inactive: 2*late_fn\n"
    );
}

#[test]
fn rescued_pwq_lists_its_cursor_among_pending_items() {
    let pool = {
        let mut v = cpu_pool(6, 1);
        v.manager = Some(150);
        v.nr_workers = 2;
        v
    };
    let p = {
        let mut v = pwq(6, 4, 12);
        v.mayday = true;
        v.in_flight = vec![{
            let mut v = worker(149, "stall_fn", 0);
            v.rescuer = true;
            v
        }];
        v.pending = vec![
            WorkEntry::func("blocked_fn"),
            WorkEntry::mayday_cursor(),
            WorkEntry::func("stall_fn"),
            WorkEntry::func("stall_fn"),
        ];
        v
    };
    assert_eq!(
        pwq_lines(&p, &pool, KernelFormat::Linux6_12),
        "  pwq 6: cpus=1 node=0 flags=0x0 nice=0 active=4 refcnt=12 MAYDAY\n    \
         in-flight: 149(RESCUER):stall_fn\n    \
         pending: blocked_fn, mayday_cursor_func, 2*stall_fn\n"
    );
}

// ---- work lists (pr_cont_work) ----------------------------------------------------------

#[test]
fn work_list_merges_a_run_of_one_function_into_count_star_name() {
    assert_eq!(WorkList(&funcs(&["f", "f", "f"])).to_string(), " 3*f");
    assert_eq!(WorkList(&funcs(&["f"])).to_string(), " f");
    assert_eq!(
        WorkList(&funcs(&["f", "g", "g", "f"])).to_string(),
        " f, 2*g, f"
    );
}

#[test]
fn work_list_of_no_items_prints_nothing() {
    assert_eq!(WorkList(&[]).to_string(), "");
}

#[test]
fn work_list_prints_a_barrier_after_its_linked_item_without_a_comma() {
    let list = vec![
        WorkEntry::func("a"),
        WorkEntry::func("target_fn").linked(),
        WorkEntry::barrier(1234),
        WorkEntry::func("b"),
    ];
    assert_eq!(WorkList(&list).to_string(), " a, target_fn BAR(1234), b");
}

#[test]
fn work_list_barrier_ends_a_run_and_is_never_merged() {
    let list = vec![
        WorkEntry::func("f"),
        WorkEntry::func("f"),
        WorkEntry::barrier(5),
        WorkEntry::barrier(5),
        WorkEntry::func("f"),
    ];
    assert_eq!(WorkList(&list).to_string(), " 2*f, BAR(5), BAR(5), f");
}

#[test]
fn work_list_barrier_first_prints_without_a_comma() {
    let list = vec![WorkEntry::barrier(3), WorkEntry::func("a")];
    assert_eq!(WorkList(&list).to_string(), " BAR(3), a");
}

#[test]
fn work_list_item_after_a_linked_one_starts_a_new_run() {
    // No comma would be printed before the second `f`, so the kernel closes the run.
    let list = vec![WorkEntry::func("f").linked(), WorkEntry::func("f")];
    assert_eq!(WorkList(&list).to_string(), " f f");
    let list = vec![
        WorkEntry::func("f"),
        WorkEntry::func("f").linked(),
        WorkEntry::func("f"),
        WorkEntry::func("f"),
    ];
    assert_eq!(WorkList(&list).to_string(), " 2*f 2*f");
}

#[test]
fn work_list_chain_of_linked_barriers_prints_without_commas() {
    // flush_work() on an item that already has a barrier behind it: the new barrier is
    // inserted after the target and inherits its LINKED flag.
    let list = vec![
        WorkEntry::func("target_fn").linked(),
        WorkEntry::barrier(20).linked(),
        WorkEntry::barrier(10),
        WorkEntry::func("next_fn"),
    ];
    assert_eq!(
        WorkList(&list).to_string(),
        " target_fn BAR(20) BAR(10), next_fn"
    );
}

#[test]
fn work_list_merges_by_full_printed_name_including_module() {
    let list = funcs(&["fn [mod_a]", "fn [mod_a]", "fn [mod_b]"]);
    assert_eq!(WorkList(&list).to_string(), " 2*fn [mod_a], fn [mod_b]");
}

// ---- whole dumps -------------------------------------------------------------------------

/// Two per-CPU pools, an unbound pool, a busy per-CPU workqueue, an idle one, and an
/// unbound MEM_RECLAIM workqueue being rescued.
fn system() -> Snapshot {
    {
        let mut v = Snapshot::default();
        v.workqueues = vec![
            {
                let mut v = WqSnapshot::default();
                v.name = "events".into();
                v.flags = 0;
                v.pwqs = vec![
                    {
                        let mut v = pwq(0, 3, 4);
                        v.in_flight = vec![worker(12, "vmstat_update", 0)];
                        v.pending = funcs(&["lru_add_drain_per_cpu", "lru_add_drain_per_cpu"]);
                        v
                    },
                    // Idle pwq of a busy workqueue: not shown.
                    pwq(2, 0, 1),
                ];
                v
            },
            {
                let mut v = WqSnapshot::default();
                v.name = "events_highpri".into();
                v.flags = wq_flags::WQ_HIGHPRI;
                v.pwqs = vec![pwq(1, 0, 1)];
                v
            },
            {
                let mut v = WqSnapshot::default();
                v.name = "xfs-conv/sda1".into();
                v.flags = wq_flags::WQ_UNBOUND | wq_flags::WQ_FREEZABLE | wq_flags::WQ_MEM_RECLAIM;
                let mut p = pwq(8, 4, 12);
                p.mayday = true;
                p.in_flight = vec![worker(88, "xfs_end_io", 45_000), {
                    let mut v = worker(149, "xfs_end_io", 31_000);
                    v.rescuer = true;
                    v
                }];
                p.pending = vec![
                    WorkEntry::mayday_cursor(),
                    WorkEntry::func("xfs_end_io"),
                    WorkEntry::func("xfs_end_io"),
                ];
                // Only inactive items, nr_active 0 elsewhere: still busy.
                p.inactive = funcs(&["xfs_end_io"]);
                v.pwqs = vec![p];
                v
            },
        ];
        v.pools = vec![
            {
                let mut v = cpu_pool(0, 0);
                v.worklist_len = 2;
                v.since_progress_ms = 500;
                v.nr_workers = 3;
                v.nr_idle = 2;
                v.idle = vec![5, 9];
                v
            },
            // All workers idle: not shown.
            {
                let mut v = cpu_pool(1, 0);
                v.nice = -20;
                v.nr_workers = 2;
                v.nr_idle = 2;
                v.idle = vec![6, 10];
                v
            },
            {
                let mut v = cpu_pool(2, 1);
                v.nr_workers = 1;
                v.nr_idle = 1;
                v.idle = vec![13];
                v
            },
            {
                let mut v = PoolSnapshot::default();
                v.id = 8;
                v.cpus = cpus(&[0, 1]);
                v.node = None;
                v.flags = pool_flags::POOL_MANAGER_ACTIVE;
                v.worklist_len = 3;
                v.since_progress_ms = 45_100;
                v.nr_workers = 2;
                v.manager = Some(150);
                v
            },
        ];
        v
    }
}

const SYSTEM_DUMP_7_0: &str = "\
Showing busy workqueues and worker pools:
workqueue events: flags=0x0
  pwq 0: cpus=0 node=0 flags=0x0 nice=0 active=3 refcnt=4
    in-flight: 12:vmstat_update for 0s
    pending: 2*lru_add_drain_per_cpu
workqueue xfs-conv/sda1: flags=0xe
  pwq 8: cpus=0-1 flags=0x2 nice=0 active=4 refcnt=12 MAYDAY
    in-flight: 88:xfs_end_io for 45s ,149(RESCUER):xfs_end_io for 31s
    pending: mayday_cursor_func, 2*xfs_end_io
    inactive: xfs_end_io
pool 0: cpus=0 node=0 flags=0x0 nice=0 hung=0s workers=3 idle: 5 9
pool 8: cpus=0-1 flags=0x2 nice=0 hung=45s workers=2 manager: 150
";

#[test]
fn show_all_workqueues_prints_busy_workqueues_then_busy_pools() {
    let dump = system()
        .show_all_workqueues(KernelFormat::Linux7_0)
        .unwrap()
        .to_string();
    assert_eq!(dump, SYSTEM_DUMP_7_0);
}

#[test]
fn show_all_workqueues_defaults_to_the_7_0_format() {
    assert_eq!(KernelFormat::default(), KernelFormat::Linux7_0);
    let dump = system()
        .show_all_workqueues(KernelFormat::default())
        .unwrap()
        .to_string();
    assert_eq!(dump, SYSTEM_DUMP_7_0);
}

#[test]
fn show_all_workqueues_in_the_6_12_format_differs_only_in_durations() {
    let dump = system()
        .show_all_workqueues(KernelFormat::Linux6_12)
        .unwrap()
        .to_string();
    assert_eq!(
        dump,
        "\
Showing busy workqueues and worker pools:
workqueue events: flags=0x0
  pwq 0: cpus=0 node=0 flags=0x0 nice=0 active=3 refcnt=4
    in-flight: 12:vmstat_update
    pending: 2*lru_add_drain_per_cpu
workqueue xfs-conv/sda1: flags=0xe
  pwq 8: cpus=0-1 flags=0x2 nice=0 active=4 refcnt=12 MAYDAY
    in-flight: 88:xfs_end_io ,149(RESCUER):xfs_end_io
    pending: mayday_cursor_func, 2*xfs_end_io
    inactive: xfs_end_io
pool 0: cpus=0 node=0 flags=0x0 nice=0 hung=0s workers=3 idle: 5 9
pool 8: cpus=0-1 flags=0x2 nice=0 hung=45s workers=2 manager: 150
"
    );
}

#[test]
fn show_all_workqueues_of_an_idle_system_is_only_the_header() {
    let mut snap = system();
    for wq in &mut snap.workqueues {
        for p in &mut wq.pwqs {
            p.nr_active = 0;
            p.inactive.clear();
        }
    }
    for pool in &mut snap.pools {
        pool.nr_idle = pool.nr_workers;
    }
    assert_eq!(
        snap.show_all_workqueues(KernelFormat::Linux7_0)
            .unwrap()
            .to_string(),
        "Showing busy workqueues and worker pools:\n"
    );
}

#[test]
fn workqueue_with_only_inactive_items_is_busy() {
    let pool = cpu_pool(0, 0);
    let snap = {
        let mut v = Snapshot::default();
        v.workqueues = vec![{
            let mut v = WqSnapshot::default();
            v.name = "frozen".into();
            v.flags = wq_flags::WQ_FREEZABLE;
            v.pwqs = vec![{
                let mut v = pwq(0, 0, 3);
                v.inactive = funcs(&["thaw_me", "thaw_me"]);
                v
            }];
            v
        }];
        v.pools = vec![{
            let mut v = pool;
            v.nr_idle = 1;
            v
        }];
        v
    };
    assert_eq!(
        snap.show_all_workqueues(KernelFormat::Linux7_0)
            .unwrap()
            .to_string(),
        "Showing busy workqueues and worker pools:\n\
         workqueue frozen: flags=0x4\n  \
         pwq 0: cpus=0 node=0 flags=0x0 nice=0 active=0 refcnt=3\n    \
         inactive: 2*thaw_me\n"
    );
}

#[test]
fn show_one_workqueue_prints_only_that_workqueue() {
    let snap = system();
    assert_eq!(
        snap.show_one_workqueue("events", KernelFormat::Linux6_12)
            .unwrap()
            .to_string(),
        "workqueue events: flags=0x0\n  \
         pwq 0: cpus=0 node=0 flags=0x0 nice=0 active=3 refcnt=4\n    \
         in-flight: 12:vmstat_update\n    \
         pending: 2*lru_add_drain_per_cpu\n"
    );
}

#[test]
fn show_one_workqueue_of_an_idle_workqueue_prints_nothing() {
    let snap = system();
    assert_eq!(
        snap.show_one_workqueue("events_highpri", KernelFormat::Linux7_0)
            .unwrap()
            .to_string(),
        ""
    );
}

#[test]
fn show_one_workqueue_of_an_unknown_name_is_an_error() {
    let err = system()
        .show_one_workqueue("nope", KernelFormat::Linux7_0)
        .unwrap_err();
    assert_eq!(err, DumpError::UnknownWorkqueue("nope".into()));
}

#[test]
fn dump_of_a_pwq_naming_a_missing_pool_is_an_error() {
    let mut snap = system();
    snap.workqueues[2].pwqs[0].pool_id = 99;
    snap.workqueues[2].pwqs[0].id = 5;
    let err = snap
        .show_all_workqueues(KernelFormat::Linux7_0)
        .unwrap_err();
    assert_eq!(
        err,
        DumpError::UnknownPool {
            workqueue: "xfs-conv/sda1".into(),
            pwq: 5,
            pool_id: 99,
        }
    );
    assert_eq!(
        err.to_string(),
        "pwq 5 of workqueue \"xfs-conv/sda1\" queues to pool 99, but the snapshot has no pool with that id"
    );
}

#[test]
fn dump_of_a_snapshot_with_duplicate_pool_ids_is_an_error() {
    let mut snap = system();
    snap.pools.push(cpu_pool(1, 3));
    assert_eq!(snap.validate(), Err(DumpError::DuplicatePool(1)));
    assert_eq!(
        snap.show_all_workqueues(KernelFormat::Linux7_0)
            .unwrap_err(),
        DumpError::DuplicatePool(1)
    );
}

#[test]
fn dump_writes_into_any_fmt_write() {
    use std::fmt::Write;
    let snap = system();
    let dump = snap.show_all_workqueues(KernelFormat::Linux7_0).unwrap();
    let mut out = String::from("prefix\n");
    write!(out, "{dump}").unwrap();
    assert_eq!(out, format!("prefix\n{SYSTEM_DUMP_7_0}"));
}

// ---- watchdog (wq_watchdog_timer_fn) ------------------------------------------------------

const THRESH_MS: u64 = cmwq_dump::WQ_WATCHDOG_THRESH_MS;

#[test]
fn lockup_line_matches_a_real_kernel_lockup_line() {
    // From a 5.10 report on lkml: a disassociated CPU 0 pool.
    let pool = {
        let mut v = PoolSnapshot::default();
        v.cpus = cpus(&[0]);
        v.node = None;
        v.flags = pool_flags::POOL_DISASSOCIATED;
        v.worklist_len = 1;
        v.since_progress_ms = 19_500;
        v
    };
    assert_eq!(
        Lockup(&pool).to_string(),
        "BUG: workqueue lockup - pool cpus=0 flags=0x4 nice=0 stuck for 19s!\n"
    );
}

#[test]
fn watchdog_reports_pools_stalled_past_the_threshold_only() {
    let mut snap = system();
    // Pool 8: 45.1 s without progress, worklist non-empty: locked up.
    // Pool 0: 0.5 s: fine. Exactly at the threshold is not past it.
    snap.pools[0].since_progress_ms = THRESH_MS;
    let stuck: Vec<u32> = snap.watchdog_lockups(THRESH_MS).map(|l| l.0.id).collect();
    assert_eq!(stuck, vec![8]);
    snap.pools[0].since_progress_ms = THRESH_MS + 1;
    let stuck: Vec<u32> = snap.watchdog_lockups(THRESH_MS).map(|l| l.0.id).collect();
    assert_eq!(stuck, vec![0, 8]);
}

#[test]
fn watchdog_default_threshold_is_30_seconds() {
    assert_eq!(THRESH_MS, 30_000);
}

#[test]
fn watchdog_with_a_zero_threshold_is_disabled() {
    let snap = system();
    assert_eq!(snap.watchdog_lockups(0).count(), 0);
    assert_eq!(
        snap.watchdog_report(0, KernelFormat::Linux7_0)
            .unwrap()
            .to_string(),
        ""
    );
}

#[test]
fn watchdog_ignores_pools_with_an_empty_worklist() {
    let mut snap = system();
    snap.pools[3].worklist_len = 0;
    assert_eq!(snap.watchdog_lockups(THRESH_MS).count(), 0);
}

#[test]
fn watchdog_touch_after_the_last_progress_defers_the_lockup() {
    let mut snap = system();
    snap.pools[3].since_touched_ms = Some(10_000);
    assert_eq!(snap.watchdog_lockups(THRESH_MS).count(), 0);
    // A touch older than the last progress changes nothing.
    snap.pools[3].since_touched_ms = Some(50_000);
    assert_eq!(snap.watchdog_lockups(THRESH_MS).count(), 1);
}

#[test]
fn watchdog_report_prints_lockups_then_the_whole_dump() {
    let snap = system();
    let report = snap
        .watchdog_report(THRESH_MS, KernelFormat::Linux7_0)
        .unwrap();
    assert!(report.lockup_detected());
    assert_eq!(
        report.to_string(),
        format!(
            "BUG: workqueue lockup - pool cpus=0-1 flags=0x2 nice=0 stuck for 45s!\n{SYSTEM_DUMP_7_0}"
        )
    );
}

#[test]
fn watchdog_report_without_a_lockup_is_empty() {
    let snap = system();
    let report = snap
        .watchdog_report(60_000, KernelFormat::Linux7_0)
        .unwrap();
    assert!(!report.lockup_detected());
    assert_eq!(report.to_string(), "");
}

// ---- serde ---------------------------------------------------------------------------------

#[test]
fn snapshot_round_trips_through_json() {
    let snap = system();
    let json = serde_json::to_string(&snap).unwrap();
    let back: Snapshot = serde_json::from_str(&json).unwrap();
    assert_eq!(back, snap);
}

#[test]
fn work_entries_serialise_as_readable_json() {
    let entries = vec![WorkEntry::func("f").linked(), WorkEntry::barrier(7)];
    assert_eq!(
        serde_json::to_string(&entries).unwrap(),
        r#"[{"kind":{"func":"f"},"linked":true},{"kind":{"barrier":{"task":7}},"linked":false}]"#
    );
}

#[test]
fn mayday_cursor_serialises_as_its_own_kind() {
    let entries = vec![WorkEntry::mayday_cursor()];
    assert_eq!(
        serde_json::to_string(&entries).unwrap(),
        r#"[{"kind":"mayday_cursor","linked":false}]"#
    );
}

// ---- the freezer's dump (show_freezable_workqueues) ------------------------------------

#[test]
fn show_freezable_workqueues_prints_only_busy_freezable_workqueues() {
    // `events` is busy but not freezable; `xfs-conv/sda1` is busy and freezable.
    let dump = system()
        .show_freezable_workqueues(KernelFormat::Linux6_12)
        .unwrap()
        .to_string();
    assert_eq!(
        dump,
        "\
Showing freezable workqueues that are still busy:
workqueue xfs-conv/sda1: flags=0xe
  pwq 8: cpus=0-1 flags=0x2 nice=0 active=4 refcnt=12 MAYDAY
    in-flight: 88:xfs_end_io ,149(RESCUER):xfs_end_io
    pending: mayday_cursor_func, 2*xfs_end_io
    inactive: xfs_end_io
"
    );
}

#[test]
fn json_input_may_leave_out_every_field_but_a_work_entrys_kind() {
    let json = r#"{
        "workqueues": [{
            "name": "events",
            "pwqs": [{ "pool_id": 3, "nr_active": 1, "pending": [{ "kind": { "func": "f" } }] }]
        }],
        "pools": [{ "id": 3, "cpus": [2], "nr_workers": 1 }]
    }"#;
    let snap: Snapshot = serde_json::from_str(json).unwrap();
    assert_eq!(
        snap.show_all_workqueues(KernelFormat::Linux7_0)
            .unwrap()
            .to_string(),
        "Showing busy workqueues and worker pools:\n\
         workqueue events: flags=0x0\n  \
         pwq 3: cpus=2 flags=0x0 nice=0 active=1 refcnt=0\n    \
         pending: f\n\
         pool 3: cpus=2 flags=0x0 nice=0 hung=0s workers=1\n"
    );
}

// ---- the Linux 6.1 format ---------------------------------------------------------------
//
// Linux 6.1's kernel/workqueue.c: show_pwq prints `" active=%d/%d refcnt=%d%s\n"` with
// nr_active and max_active, in-flight workers as `"%s %d%s:%ps"` with `","` for all but
// the first, pr_cont_pool_info ends in `" flags=0x%x nice=%d"`, and POOL_MANAGER_ACTIVE
// is `1 << 0` (6.9 made `1 << 0` POOL_BH and moved the manager to `1 << 1`).

#[test]
fn linux_6_1_pwq_line_prints_active_over_max_active_as_a_real_6_1_kernel_does() {
    // A real 6.1 kernel: `active=2/256 refcnt=3`; 6.12 for the same pwq: `active=2 refcnt=3`.
    let pool = cpu_pool(4, 2);
    let p = {
        let mut v = pwq(4, 2, 3);
        v.max_active = 256;
        v
    };
    assert_eq!(
        pwq_lines(&p, &pool, KernelFormat::Linux6_1),
        "  pwq 4: cpus=2 node=0 flags=0x0 nice=0 active=2/256 refcnt=3\n"
    );
    assert_eq!(
        pwq_lines(&p, &pool, KernelFormat::Linux6_12),
        "  pwq 4: cpus=2 node=0 flags=0x0 nice=0 active=2 refcnt=3\n"
    );
}

#[test]
fn linux_6_1_separates_in_flight_workers_with_comma_space_where_6_12_prints_space_comma() {
    // Real kernels: 6.1 `in-flight: 22:fn, 29:fn`, 6.12 `in-flight: 31:fn ,21:fn`.
    let pool = cpu_pool(2, 1);
    let p = {
        let mut v = pwq(2, 2, 3);
        v.in_flight = vec![worker(22, "fn", 0), worker(29, "fn", 0)];
        v.max_active = 256;
        v
    };
    let dump_6_1 = pwq_lines(&p, &pool, KernelFormat::Linux6_1);
    assert!(
        dump_6_1.ends_with("    in-flight: 22:fn, 29:fn\n"),
        "{dump_6_1}"
    );
    let dump_6_12 = pwq_lines(&p, &pool, KernelFormat::Linux6_12);
    assert!(
        dump_6_12.ends_with("    in-flight: 22:fn ,29:fn\n"),
        "{dump_6_12}"
    );
}

#[test]
fn linux_6_1_in_flight_rescuer_and_scheduled_items_keep_their_form() {
    let pool = cpu_pool(2, 1);
    let mut rescuer = worker(149, "xfs_end_io", 0);
    rescuer.rescuer = true;
    rescuer.scheduled = vec![WorkEntry::func("xfs_end_io"), WorkEntry::barrier(7)];
    let p = {
        let mut v = pwq(2, 2, 3);
        v.in_flight = vec![worker(31, "fn", 0), rescuer];
        v
    };
    assert!(
        pwq_lines(&p, &pool, KernelFormat::Linux6_1)
            .ends_with("    in-flight: 31:fn, 149(RESCUER):xfs_end_io xfs_end_io BAR(7)\n")
    );
}

#[test]
fn linux_6_1_prints_the_manager_bit_as_0x1_where_6_12_prints_0x2() {
    let pool = {
        let mut v = PoolSnapshot::default();
        v.id = 8;
        v.cpus = cpus(&[0, 1, 2, 3]);
        v.flags = pool_flags::POOL_MANAGER_ACTIVE | pool_flags::POOL_DISASSOCIATED;
        v.worklist_len = 5;
        v.since_progress_ms = 12_000;
        v.nr_workers = 3;
        v.manager = Some(150);
        v
    };
    let p = pwq(8, 1, 2);
    let snap = {
        let mut v = Snapshot::default();
        v.workqueues = vec![{
            let mut v = WqSnapshot::default();
            v.name = "events_unbound".into();
            v.flags = wq_flags::WQ_UNBOUND;
            v.pwqs = vec![p];
            v
        }];
        v.pools = vec![pool];
        v
    };
    let dump = |format| snap.show_all_workqueues(format).unwrap().to_string();
    assert_eq!(
        dump(KernelFormat::Linux6_1),
        "Showing busy workqueues and worker pools:\n\
         workqueue events_unbound: flags=0x2\n  \
         pwq 8: cpus=0-3 flags=0x5 nice=0 active=1/0 refcnt=2\n\
         pool 8: cpus=0-3 flags=0x5 nice=0 hung=12s workers=3 manager: 150\n"
    );
    assert_eq!(
        dump(KernelFormat::Linux6_12),
        "Showing busy workqueues and worker pools:\n\
         workqueue events_unbound: flags=0x2\n  \
         pwq 8: cpus=0-3 flags=0x6 nice=0 active=1 refcnt=2\n\
         pool 8: cpus=0-3 flags=0x6 nice=0 hung=12s workers=3 manager: 150\n"
    );
}

#[test]
fn linux_6_1_idle_list_and_workqueue_flags_print_as_6_1_does() {
    // 6.1 prints idle workers with one `" %s%d"` piece each (the same text as 6.12's two
    // pieces) and has no WQ_PERCPU bit.
    let pool = {
        let mut v = cpu_pool(2, 1);
        v.nr_workers = 3;
        v.nr_idle = 2;
        v.idle = vec![31, 28];
        v
    };
    let snap = {
        let mut v = Snapshot::default();
        v.workqueues = vec![{
            let mut v = WqSnapshot::default();
            v.name = "events".into();
            v.flags = wq_flags::WQ_PERCPU;
            v.pwqs = vec![pwq(2, 1, 2)];
            v
        }];
        v.pools = vec![pool];
        v
    };
    let dump = snap
        .show_all_workqueues(KernelFormat::Linux6_1)
        .unwrap()
        .to_string();
    assert!(dump.contains("workqueue events: flags=0x0\n"), "{dump}");
    assert!(
        dump.ends_with("pool 2: cpus=1 node=0 flags=0x0 nice=0 hung=0s workers=3 idle: 31 28\n"),
        "{dump}"
    );
}

#[test]
fn linux_6_1_has_no_bh_pools_so_a_busy_bh_pool_is_a_typed_error() {
    let idle_bh = {
        let mut v = cpu_pool(0, 0);
        v.flags = pool_flags::POOL_BH;
        v.nr_workers = 1;
        v.nr_idle = 1;
        v
    };
    // An idle BH pool is never printed: nothing to refuse.
    let idle = {
        let mut v = Snapshot::default();
        v.workqueues = vec![];
        v.pools = vec![idle_bh.clone()];
        v
    };
    assert!(idle.show_all_workqueues(KernelFormat::Linux6_1).is_ok());
    let snap = {
        let mut v = Snapshot::default();
        v.workqueues = vec![];
        v.pools = vec![{
            let mut v = idle_bh;
            v.nr_idle = 0;
            v
        }];
        v
    };
    assert_eq!(
        snap.show_all_workqueues(KernelFormat::Linux6_1)
            .unwrap_err(),
        DumpError::BhPoolNotInFormat {
            pool: 0,
            format: KernelFormat::Linux6_1
        }
    );
    assert!(snap.show_all_workqueues(KernelFormat::Linux6_12).is_ok());
}
