//! Lines longer than a printk record break where a kernel's do.
//!
//! kernel/printk/printk.c (`vprintk_store`, Linux 6.2 through 7.0) appends a `pr_cont()`
//! piece to the open record only while the record's text plus the piece's reserve size
//! (the text, the two-byte `KERN_CONT` prefix, a trailing newline and the NUL) stays within
//! `PRINTKRB_RECORD_MAX` (1024); otherwise the piece starts a record of its own, and each
//! record is a line of `dmesg`. Linux 6.1 does the same within `LOG_LINE_MAX` (992). The
//! expected lines below are worked out from that rule by hand, piece by piece.

use std::collections::BTreeSet;

use cmwq_dump::{
    InFlightWorker, KernelFormat, LOG_LINE_MAX_6_1, PRINTKRB_RECORD_MAX, PoolSnapshot, PwqSnapshot,
    RecordLimit, Snapshot, WorkEntry, WqSnapshot, wq_flags,
};

fn snapshot(pwq: PwqSnapshot) -> Snapshot {
    {
        let mut v = Snapshot::default();
        v.workqueues = vec![{
            let mut v = WqSnapshot::default();
            v.name = "xfs-conv/sda1".into();
            v.flags = wq_flags::WQ_MEM_RECLAIM;
            v.pwqs = vec![pwq];
            v
        }];
        v.pools = vec![{
            let mut v = PoolSnapshot::default();
            v.id = 2;
            v.cpus = BTreeSet::from([1]);
            v.node = Some(0);
            v.nr_workers = 1;
            v
        }];
        v
    }
}

/// A rescuer that slurped `n` items: its scheduled list, one ` xfs_end_io` piece each.
fn slurping_rescuer(n: usize) -> PwqSnapshot {
    {
        let mut v = PwqSnapshot::default();
        v.pool_id = 2;
        v.nr_active = 1;
        v.max_active = 256;
        v.refcnt = 2;
        v.in_flight = vec![{
            let mut v = InFlightWorker::default();
            v.id = 149;
            v.rescuer = true;
            v.func = "xfs_end_io".into();
            v.running_ms = 0;
            v.scheduled = vec![WorkEntry::func("xfs_end_io"); n];
            v
        }];
        v
    }
}

fn in_flight_lines(dump: &str) -> Vec<&str> {
    dump.lines()
        .skip_while(|l| !l.starts_with("    in-flight:"))
        .take_while(|l| !l.starts_with("pool "))
        .collect()
}

#[test]
fn a_rescuers_long_in_flight_line_breaks_into_records_of_at_most_1024_bytes() {
    // "    in-flight:" (14) " " (1) "149(RESCUER)" (12) ":xfs_end_io" (11) = 38 bytes, then
    // one " xfs_end_io" (11, reserve 14) per scheduled item while the record holds at most
    // 1024 - 14 = 1010 bytes: 89 items (1017 bytes) in the first record, 92 in each
    // following one (1012 bytes), the rest in the last, where pr_cont("\n") still fits.
    let snap = snapshot(slurping_rescuer(200));
    let dump = snap
        .show_all_workqueues(KernelFormat::Linux6_12)
        .unwrap()
        .to_string();
    let kernel = [
        format!(
            "    in-flight: 149(RESCUER):xfs_end_io{}",
            " xfs_end_io".repeat(89)
        ),
        " xfs_end_io".repeat(92),
        " xfs_end_io".repeat(19),
    ];
    assert_eq!(in_flight_lines(&dump), kernel);
    assert_eq!(kernel[0].len(), 1017);
    assert!(dump.lines().all(|l| l.len() + 3 <= PRINTKRB_RECORD_MAX));
}

#[test]
fn linux_6_1_breaks_the_same_line_at_its_smaller_log_line_max() {
    // 6.1's worker piece is one "%s %d%s:%ps": " 149(RESCUER):xfs_end_io" (24), so the
    // record again starts at 38 bytes; it may hold 992 - 14 = 978 before a piece: 86 items
    // (984 bytes), then 89 a record (979 bytes).
    let snap = snapshot(slurping_rescuer(200));
    let dump = snap
        .show_all_workqueues(KernelFormat::Linux6_1)
        .unwrap()
        .to_string();
    let kernel = [
        format!(
            "    in-flight: 149(RESCUER):xfs_end_io{}",
            " xfs_end_io".repeat(86)
        ),
        " xfs_end_io".repeat(89),
        " xfs_end_io".repeat(25),
    ];
    assert_eq!(in_flight_lines(&dump), kernel);
    assert_eq!(KernelFormat::Linux6_1.record_max(), LOG_LINE_MAX_6_1);
}

fn pending(names: &[&str]) -> PwqSnapshot {
    {
        let mut v = PwqSnapshot::default();
        v.pool_id = 2;
        v.nr_active = names.len() as u32;
        v.refcnt = 1;
        v.pending = names.iter().map(|n| WorkEntry::func(*n)).collect();
        v
    }
}

#[test]
fn a_continuation_record_starts_with_the_piece_that_did_not_fit_comma_and_all() {
    // 64-byte records: a piece of n bytes fits while the record holds at most 61 - n.
    // "    pending:" (12) + " a_function_00" (14) + 3 x ", a_function_0N" (15) = 56 + 15 > 61.
    let names: Vec<String> = (0..8).map(|i| format!("a_function_0{i}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let snap = snapshot(pending(&names));
    let dump = snap
        .show_all_workqueues(KernelFormat::Linux6_12)
        .unwrap()
        .record_limit(RecordLimit::Bytes(64))
        .to_string();
    let lines: Vec<&str> = dump.lines().filter(|l| l.contains("a_function")).collect();
    assert_eq!(
        lines,
        [
            "    pending: a_function_00, a_function_01, a_function_02",
            ", a_function_03, a_function_04, a_function_05, a_function_06",
            ", a_function_07",
        ]
    );
}

#[test]
fn a_newline_that_no_longer_fits_stores_an_empty_record() {
    // The record reaches 61 bytes; pr_cont("\n") reserves 4 (prefix, newline, NUL), so it
    // opens a record of its own whose text is empty: an empty line in dmesg.
    let snap = snapshot(pending(&[
        "a_function_00",
        "a_function_01",
        "a_function_02",
        "abc",
    ]));
    let dump = snap
        .show_all_workqueues(KernelFormat::Linux6_12)
        .unwrap()
        .record_limit(RecordLimit::Bytes(64))
        .to_string();
    assert!(
        dump.contains("    pending: a_function_00, a_function_01, a_function_02, abc\n\npool 2:"),
        "{dump}"
    );
}

#[test]
fn unlimited_records_keep_every_line_whole_and_kernel_records_are_the_default() {
    let snap = snapshot(slurping_rescuer(200));
    let whole = snap
        .show_all_workqueues(KernelFormat::Linux7_0)
        .unwrap()
        .record_limit(RecordLimit::Unlimited)
        .to_string();
    let lines = in_flight_lines(&whole);
    assert_eq!(lines.len(), 1);
    assert_eq!(
        lines[0],
        format!(
            "    in-flight: 149(RESCUER):xfs_end_io for 0s{}",
            " xfs_end_io".repeat(200)
        )
    );
    let default = snap.show_all_workqueues(KernelFormat::Linux7_0).unwrap();
    assert_eq!(
        default.to_string(),
        default.record_limit(RecordLimit::Kernel).to_string()
    );
    assert_ne!(default.to_string(), whole);
    // Breaking only inserts line ends between pieces: the text is the same.
    assert_eq!(
        default.to_string().replace('\n', ""),
        whole.replace('\n', "")
    );
}

#[test]
fn a_piece_longer_than_a_record_is_cut_to_the_record() {
    // vscnprintf() into a 1024-byte reservation keeps 1023 bytes of output, the two-byte
    // prefix first: 1021 bytes of text.
    let long = "f".repeat(1500);
    let snap = snapshot(pending(&[&long]));
    let dump = snap
        .show_all_workqueues(KernelFormat::Linux6_12)
        .unwrap()
        .to_string();
    let lines: Vec<&str> = dump.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with("    pending:"))
        .unwrap();
    assert_eq!(lines[at], "    pending:");
    assert_eq!(lines[at + 1], format!(" {}", "f".repeat(1020)));
}
