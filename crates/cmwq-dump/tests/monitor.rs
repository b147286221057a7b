//! The wq_monitor table and records, checked against hand-written lines in the exact
//! layout of tools/workqueue/wq_monitor.py (each line was also cross-checked by running
//! the script's own row formatting on the same numbers).

use cmwq_dump::{
    PwqSnapshot, PwqStats, Snapshot, WQ_MONITOR_HEADER, WqMonitorRecord, WqMonitorRow, WqSnapshot,
    wq_flags,
};

fn wq(name: &str, flags: u32, stats: &[PwqStats]) -> WqSnapshot {
    {
        let mut v = WqSnapshot::default();
        v.name = name.into();
        v.flags = flags;
        v.pwqs = stats
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let mut v = PwqSnapshot::default();
                v.id = i as u32;
                v.pool_id = i as u32;
                v.stats = *s;
                v
            })
            .collect();
        v
    }
}

fn events() -> WqSnapshot {
    wq(
        "events",
        0,
        &[{
            let mut v = PwqStats::default();
            v.started = 1234;
            v.completed = 1230;
            v.cpu_time_us = 2_345_678;
            v.cpu_intensive = 5;
            v.cm_wakeup = 17;
            v.repatriated = 3;
            v.mayday = 9;
            v.rescued = 2;
            v
        }],
    )
}

fn xfs_conv() -> WqSnapshot {
    wq(
        "xfs-conv/sda1",
        wq_flags::WQ_UNBOUND | wq_flags::WQ_MEM_RECLAIM,
        &[
            {
                let mut v = PwqStats::default();
                v.started = 100;
                v.completed = 90;
                v.cpu_time_us = 250_000;
                v.cpu_intensive = 8;
                v.cm_wakeup = 6;
                v.repatriated = 4;
                v.mayday = 5;
                v.rescued = 20;
                v
            },
            {
                let mut v = PwqStats::default();
                v.started = 50;
                v.completed = 40;
                v.repatriated = 1;
                v.mayday = 2;
                v.rescued = 10;
                v
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
        &[{
            let mut v = PwqStats::default();
            v.started = 99;
            v.completed = 99;
            v.cpu_time_us = 1_750_000;
            v.cpu_intensive = 1;
            v.cm_wakeup = 2;
            v.repatriated = 0;
            v.mayday = 3;
            v.rescued = 4;
            v
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
        &[{
            let mut v = PwqStats::default();
            v.started = 5;
            v.completed = 7;
            v
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
        &[{
            let mut v = PwqStats::default();
            v.started = 123_456_789;
            v.cpu_time_us = 987_654_321_098;
            v.repatriated = 12;
            v
        }],
    );
    assert_eq!(
        WqMonitorRow(&busy).to_string(),
        "events_unbound           123456789 123456789 987654.3       -      12       -       - \n"
    );
}

#[test]
fn table_is_the_header_then_a_row_per_workqueue_idle_ones_included() {
    let snap = {
        let mut v = Snapshot::default();
        v.workqueues = vec![events(), wq("idle_wq", 0, &[]), xfs_conv()];
        v.pools = vec![];
        v
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
    let snap = {
        let mut v = Snapshot::default();
        v.workqueues = vec![xfs_conv()];
        v.pools = vec![];
        v
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
    let huge = {
        let mut v = PwqStats::default();
        v.started = u64::MAX;
        v
    };
    let w = wq("w", 0, &[huge, huge]);
    assert_eq!(w.stats().started, u64::MAX);
}
