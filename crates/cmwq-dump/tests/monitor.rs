//! The wq_monitor table and records, checked against hand-written lines in the exact
//! layout of tools/workqueue/wq_monitor.py (each line was also cross-checked by running
//! the script's own row formatting on the same numbers).

use cmwq_dump::{
    PwqSnapshot, PwqStats, Snapshot, WQ_MONITOR_HEADER, WqMonitorRecord, WqMonitorRow, WqSnapshot,
    wq_flags,
};

fn wq(name: &str, flags: u32, stats: &[PwqStats]) -> WqSnapshot {
    WqSnapshot {
        name: name.into(),
        flags,
        pwqs: stats
            .iter()
            .enumerate()
            .map(|(i, s)| PwqSnapshot {
                id: i as u32,
                pool_id: i as u32,
                stats: *s,
                ..PwqSnapshot::default()
            })
            .collect(),
    }
}

fn events() -> WqSnapshot {
    wq(
        "events",
        0,
        &[PwqStats {
            started: 1234,
            completed: 1230,
            cpu_time_us: 2_345_678,
            cpu_intensive: 5,
            cm_wakeup: 17,
            repatriated: 3,
            mayday: 9,
            rescued: 2,
        }],
    )
}

fn xfs_conv() -> WqSnapshot {
    wq(
        "xfs-conv/sda1",
        wq_flags::WQ_UNBOUND | wq_flags::WQ_MEM_RECLAIM,
        &[
            PwqStats {
                started: 100,
                completed: 90,
                cpu_time_us: 250_000,
                cpu_intensive: 8,
                cm_wakeup: 6,
                repatriated: 4,
                mayday: 5,
                rescued: 20,
            },
            PwqStats {
                started: 50,
                completed: 40,
                repatriated: 1,
                mayday: 2,
                rescued: 10,
                ..PwqStats::default()
            },
        ],
    )
}

#[test]
fn header_has_the_scripts_column_widths() {
    assert_eq!(
        WQ_MONITOR_HEADER,
        "                            total  infl  CPUtime CPUitsv CMW/RPR  mayday rescued"
    );
}

#[test]
fn per_cpu_row_shows_cpu_intensive_and_cm_wakeups_but_no_rescue_columns() {
    assert_eq!(
        WqMonitorRow(&events()).to_string(),
        "events                       1234     4      2.3       5      17       -       - \n"
    );
}

#[test]
fn unbound_mem_reclaim_row_sums_pwqs_and_shows_repatriated_mayday_rescued() {
    // CPU time 0.25 s prints as 0.2: the exact binary value rounded half to even, as
    // Python's %8.1f does.
    assert_eq!(
        WqMonitorRow(&xfs_conv()).to_string(),
        "xfs-conv/sda1                 150    20      0.2       -       5       7      30 \n"
    );
}

#[test]
fn per_cpu_mem_reclaim_row_shows_every_column() {
    let kblockd = wq(
        "kblockd",
        wq_flags::WQ_MEM_RECLAIM | wq_flags::WQ_HIGHPRI,
        &[PwqStats {
            started: 99,
            completed: 99,
            cpu_time_us: 1_750_000,
            cpu_intensive: 1,
            cm_wakeup: 2,
            repatriated: 0,
            mayday: 3,
            rescued: 4,
        }],
    );
    assert_eq!(
        WqMonitorRow(&kblockd).to_string(),
        "kblockd                        99     0      1.8       1       2       3       4 \n"
    );
}

#[test]
fn long_name_shows_its_last_24_characters_and_in_flight_never_goes_negative() {
    let long = wq(
        "a_very_long_workqueue_name_for_testing",
        wq_flags::WQ_UNBOUND,
        &[PwqStats {
            started: 5,
            completed: 7,
            ..PwqStats::default()
        }],
    );
    assert_eq!(
        WqMonitorRow(&long).to_string(),
        "rkqueue_name_for_testing        5     0      0.0       -       0       -       - \n"
    );
}

#[test]
fn name_is_cut_by_characters_not_bytes() {
    let name = "ééééééééééééééééééééééééé"; // 25 two-byte characters
    let row = WqMonitorRow(&wq(name, 0, &[PwqStats::default()])).to_string();
    assert!(
        row.starts_with("éééééééééééééééééééééééé        0"),
        "{row}"
    );
}

#[test]
fn numbers_wider_than_their_column_are_printed_whole() {
    let busy = wq(
        "events_unbound",
        wq_flags::WQ_UNBOUND,
        &[PwqStats {
            started: 123_456_789,
            cpu_time_us: 987_654_321_098,
            repatriated: 12,
            ..PwqStats::default()
        }],
    );
    assert_eq!(
        WqMonitorRow(&busy).to_string(),
        "events_unbound           123456789 123456789 987654.3       -      12       -       - \n"
    );
}

#[test]
fn table_is_the_header_then_a_row_per_workqueue_idle_ones_included() {
    let snap = Snapshot {
        workqueues: vec![events(), wq("idle_wq", 0, &[]), xfs_conv()],
        pools: vec![],
    };
    assert_eq!(
        snap.wq_monitor().to_string(),
        "                            total  infl  CPUtime CPUitsv CMW/RPR  mayday rescued\n\
         events                       1234     4      2.3       5      17       -       - \n\
         idle_wq                         0     0      0.0       0       0       -       - \n\
         xfs-conv/sda1                 150    20      0.2       -       5       7      30 \n"
    );
}

#[test]
fn records_carry_the_scripts_json_keys_and_summed_stats() {
    let snap = Snapshot {
        workqueues: vec![xfs_conv()],
        pools: vec![],
    };
    let records = snap.wq_monitor_records(1700000000.5);
    assert_eq!(
        records,
        vec![WqMonitorRecord {
            timestamp: 1700000000.5,
            name: "xfs-conv/sda1".into(),
            unbound: true,
            mem_reclaim: true,
            started: 150,
            completed: 130,
            cpu_time: 250_000,
            cpu_intensive: 8,
            cm_wakeup: 6,
            repatriated: 5,
            mayday: 7,
            rescued: 30,
        }]
    );
    assert_eq!(
        snap.wq_monitor_json(1700000000.5).unwrap(),
        "{\"timestamp\":1700000000.5,\"name\":\"xfs-conv/sda1\",\"unbound\":true,\
         \"mem_reclaim\":true,\"started\":150,\"completed\":130,\"cpu_time\":250000,\
         \"cpu_intensive\":8,\"cm_wakeup\":6,\"repatriated\":5,\"mayday\":7,\"rescued\":30}\n"
    );
}

#[test]
fn stats_saturate_instead_of_overflowing() {
    let huge = PwqStats {
        started: u64::MAX,
        ..PwqStats::default()
    };
    let w = wq("w", 0, &[huge, huge]);
    assert_eq!(w.stats().started, u64::MAX);
}
