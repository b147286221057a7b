//! The data word: kernel bit positions, encode/decode round trips, and the atomic
//! operations of the queue path.

use cmwq_work::raw::WorkHeadRaw;
use std::sync::Arc;

use cmwq_work::{
    DisableError, OffqFlags, PoolId, PwqId, WORK_DATA_INIT, WORK_NR_COLORS, WORK_OFFQ_BH_BIT,
    WORK_OFFQ_DISABLE_BITS, WORK_OFFQ_DISABLE_MAX, WORK_OFFQ_DISABLE_SHIFT, WORK_OFFQ_FLAG_BITS,
    WORK_OFFQ_FLAG_SHIFT, WORK_OFFQ_POOL_NONE, WORK_OFFQ_POOL_SHIFT, WORK_STRUCT_COLOR_BITS,
    WORK_STRUCT_COLOR_SHIFT, WORK_STRUCT_FLAG_BITS, WORK_STRUCT_INACTIVE_BIT,
    WORK_STRUCT_LINKED_BIT, WORK_STRUCT_NO_POOL, WORK_STRUCT_PENDING_BIT, WORK_STRUCT_PWQ_BIT,
    WORK_STRUCT_PWQ_SHIFT, Work, WorkBusy, WorkData, WorkDisabled, WorkFlags, WorkHead, WorkItem,
    WorkOffqData, impl_has_work, offq_flags,
};

struct Probe {
    work: Work<Self>,
}
impl_has_work!(Probe { work });
impl WorkItem for Probe {
    fn run(_this: Arc<Self>) {}
}

fn head() -> Work<Probe> {
    Work::new()
}

/// Every subset of the four flag bits.
fn all_flag_sets() -> impl Iterator<Item = WorkFlags> {
    (0..16usize).map(WorkFlags::from_bits_truncate)
}

#[test]
fn bit_positions_are_the_kernels() {
    assert_eq!(WORK_STRUCT_PENDING_BIT, 0);
    assert_eq!(WORK_STRUCT_INACTIVE_BIT, 1);
    assert_eq!(WORK_STRUCT_PWQ_BIT, 2);
    assert_eq!(WORK_STRUCT_LINKED_BIT, 3);
    assert_eq!(WorkFlags::PENDING.bits(), 1);
    assert_eq!(WorkFlags::INACTIVE.bits(), 2);
    assert_eq!(WorkFlags::PWQ.bits(), 4);
    assert_eq!(WorkFlags::LINKED.bits(), 8);
    assert_eq!(WORK_STRUCT_FLAG_BITS, 4);
    assert_eq!(WORK_STRUCT_COLOR_SHIFT, 4);
    assert_eq!(WORK_STRUCT_COLOR_BITS, 4);
    assert_eq!(WORK_NR_COLORS, 16);
    assert_eq!(WORK_STRUCT_PWQ_SHIFT, 8);
    assert_eq!(WORK_OFFQ_FLAG_SHIFT, 4);
    assert_eq!(WORK_OFFQ_BH_BIT, 4);
    assert_eq!(OffqFlags::BH.bits(), 1 << 4);
    assert_eq!(WORK_OFFQ_FLAG_BITS, 1);
    assert_eq!(WORK_OFFQ_DISABLE_SHIFT, 5);
    assert_eq!(WORK_OFFQ_DISABLE_BITS, 16);
    assert_eq!(WORK_OFFQ_DISABLE_MAX, 0xffff);
    assert_eq!(WORK_OFFQ_POOL_SHIFT, 21);
    assert_eq!(WorkBusy::PENDING.bits(), 1);
    assert_eq!(WorkBusy::RUNNING.bits(), 2);
}

#[test]
#[cfg(target_pointer_width = "64")]
fn pool_field_and_no_pool_word_are_the_kernels_on_64_bit() {
    assert_eq!(cmwq_work::WORK_OFFQ_POOL_BITS, 31);
    assert_eq!(WORK_OFFQ_POOL_NONE, 0x7fff_ffff);
    assert_eq!(WORK_STRUCT_NO_POOL, 0x7fff_ffff << 21);
    assert_eq!(WORK_DATA_INIT, WORK_STRUCT_NO_POOL);
}

#[test]
fn on_queue_word_is_pwq_colour_and_flags() {
    let data = WorkData::OnQueue {
        flags: WorkFlags::PENDING | WorkFlags::PWQ,
        color: 5,
        pwq: PwqId::new(3),
    };
    assert_eq!(data.to_raw(), (3 << 8) | (5 << 4) | 0b0101);
    // PWQ is implied by the variant.
    let no_pwq_flag = WorkData::OnQueue {
        flags: WorkFlags::PENDING,
        color: 5,
        pwq: PwqId::new(3),
    };
    assert_eq!(no_pwq_flag.to_raw(), data.to_raw());
}

#[test]
fn off_queue_word_is_pool_disable_and_flags() {
    let data = WorkData::OffQueue {
        flags: WorkFlags::PENDING,
        pool: Some(PoolId(9)),
        disable: 2,
    };
    assert_eq!(data.to_raw(), (9 << 21) | (2 << 5) | 1);
    let none = WorkData::OffQueue {
        flags: WorkFlags::empty(),
        pool: None,
        disable: 0,
    };
    assert_eq!(none.to_raw(), WORK_STRUCT_NO_POOL);
}

#[test]
fn on_queue_words_round_trip_every_field() {
    let pwqs = [0, 1, 255, 256, 0x00ff_ffff, u32::MAX];
    for flags in all_flag_sets() {
        for color in 0..WORK_NR_COLORS as u8 {
            for pwq in pwqs {
                let data = WorkData::OnQueue {
                    flags: flags | WorkFlags::PWQ,
                    color,
                    pwq: PwqId::new(pwq),
                };
                assert_eq!(WorkData::from_raw(data.to_raw()), data);
            }
        }
    }
}

#[test]
fn off_queue_words_round_trip_every_field() {
    let pools = [
        None,
        Some(PoolId(0)),
        Some(PoolId(1)),
        Some(PoolId((WORK_OFFQ_POOL_NONE - 1) as u32)),
    ];
    for flags in all_flag_sets() {
        for pool in pools {
            for disable in [0, 1, 0x1234, WORK_OFFQ_DISABLE_MAX] {
                let data = WorkData::OffQueue {
                    flags: flags - WorkFlags::PWQ,
                    pool,
                    disable,
                };
                let raw = data.to_raw();
                assert_eq!(WorkData::from_raw(raw), data);
                assert_eq!(offq_flags(raw), OffqFlags::empty());
            }
        }
    }
}

#[test]
#[should_panic(expected = "colour out of range")]
fn colour_sixteen_does_not_fit() {
    let _ = WorkData::OnQueue {
        flags: WorkFlags::PWQ,
        color: 16,
        pwq: PwqId::new(0),
    }
    .to_raw();
}

#[test]
#[should_panic(expected = "pool id out of range")]
fn pool_none_is_not_a_pool_id() {
    let _ = WorkData::OffQueue {
        flags: WorkFlags::empty(),
        pool: Some(PoolId(WORK_OFFQ_POOL_NONE as u32)),
        disable: 0,
    }
    .to_raw();
}

#[test]
fn a_new_head_is_idle_with_no_pool() {
    let h = head();
    assert_eq!(h.raw_data(), WORK_DATA_INIT);
    assert_eq!(
        h.data(),
        WorkData::OffQueue {
            flags: WorkFlags::empty(),
            pool: None,
            disable: 0
        }
    );
    assert!(!h.is_pending());
    assert_eq!(h.pwq(), None);
    assert_eq!(h.last_pool(), None);
    assert_eq!(h.disable_count(), 0);
    assert!(!h.is_linked());
}

#[test]
fn head_is_at_most_a_kernel_work_struct() {
    #[cfg(target_pointer_width = "64")]
    assert_eq!(core::mem::size_of::<WorkHead>(), 32);
    assert!(core::mem::size_of::<WorkHead>() <= 4 * core::mem::size_of::<usize>());
    // The typed head an item embeds is the same head: no room taken by its type or id.
    assert_eq!(
        core::mem::size_of::<Work<Probe, 7>>(),
        core::mem::size_of::<WorkHead>()
    );
}

#[test]
fn second_test_and_set_pending_returns_false() {
    let h = head();
    assert_eq!(h.test_and_set_pending(), Ok(true));
    assert!(h.is_pending());
    assert_eq!(h.test_and_set_pending(), Ok(false));
    assert_eq!(h.test_and_set_pending(), Ok(false));
    assert_eq!(h.flags(), WorkFlags::PENDING);
}

#[test]
fn test_and_set_pending_on_a_queued_item_is_a_no_op() {
    let h = head();
    assert_eq!(h.test_and_set_pending(), Ok(true));
    h.set_pwq(PwqId::new(4), 2, WorkFlags::empty());
    let before = h.raw_data();
    assert_eq!(h.test_and_set_pending(), Ok(false));
    assert_eq!(h.raw_data(), before);
}

#[test]
fn disabled_item_refuses_pending_until_enabled() {
    let h = head();
    assert_eq!(h.disable(), Ok(1));
    assert_eq!(h.disable(), Ok(2));
    let before = h.raw_data();
    assert_eq!(h.test_and_set_pending(), Err(WorkDisabled { count: 2 }));
    assert_eq!(h.raw_data(), before, "a refused queueing changes nothing");
    assert_eq!(h.enable(), Ok(1));
    assert_eq!(h.test_and_set_pending(), Err(WorkDisabled { count: 1 }));
    assert_eq!(h.enable(), Ok(0));
    assert_eq!(h.test_and_set_pending(), Ok(true));
}

#[test]
fn disable_keeps_the_last_pool() {
    let h = head();
    assert_eq!(h.test_and_set_pending(), Ok(true));
    h.set_pool_and_clear_pending(PoolId(6));
    assert_eq!(h.disable(), Ok(1));
    assert_eq!(h.last_pool(), Some(PoolId(6)));
    assert_eq!(h.disable_count(), 1);
}

#[test]
fn enable_without_disable_is_an_error() {
    let h = head();
    assert_eq!(h.enable(), Err(DisableError::NotDisabled));
    assert_eq!(h.raw_data(), WORK_DATA_INIT);
}

#[test]
fn disable_count_saturates_with_an_error() {
    let h = head();
    h.set_offqd_and_clear_pending(WorkOffqData {
        pool: None,
        disable: WORK_OFFQ_DISABLE_MAX,
        flags: OffqFlags::empty(),
    });
    assert_eq!(h.disable(), Err(DisableError::Overflow));
    assert_eq!(h.disable_count(), WORK_OFFQ_DISABLE_MAX);
}

#[test]
fn disable_of_a_queued_item_is_refused() {
    let h = head();
    assert_eq!(h.test_and_set_pending(), Ok(true));
    h.set_pwq(PwqId::new(8), 0, WorkFlags::empty());
    assert_eq!(
        h.disable(),
        Err(DisableError::OnQueue { pwq: PwqId::new(8) })
    );
    assert_eq!(
        h.enable(),
        Err(DisableError::OnQueue { pwq: PwqId::new(8) })
    );
}

#[test]
fn grab_pending_ignores_the_disable_count() {
    let h = head();
    assert_eq!(h.disable(), Ok(1));
    assert!(h.grab_pending(), "cancel can grab a disabled idle item");
    assert!(!h.grab_pending(), "only once");
    let offqd = h.offq_data().unwrap();
    assert_eq!(offqd.disable, 1);
    h.set_offqd_and_clear_pending(offqd);
    assert!(!h.is_pending());
    assert_eq!(h.disable_count(), 1);
}

#[test]
fn set_pwq_records_pwq_colour_and_extra_flags() {
    let h = head();
    assert_eq!(h.test_and_set_pending(), Ok(true));
    h.set_pwq(
        PwqId::new(12),
        15,
        WorkFlags::INACTIVE | WorkFlags::LINKED | WorkFlags::PENDING,
    );
    assert_eq!(h.pwq(), Some(PwqId::new(12)));
    assert_eq!(h.color(), 15);
    assert_eq!(
        h.flags(),
        WorkFlags::PENDING | WorkFlags::PWQ | WorkFlags::INACTIVE | WorkFlags::LINKED
    );
    assert_eq!(h.last_pool(), None);
    assert_eq!(h.offq_data(), None);
    assert_eq!(h.disable_count(), 0);

    h.set_inactive(false);
    assert!(!h.flags().contains(WorkFlags::INACTIVE));
    h.set_inactive(true);
    assert!(h.flags().contains(WorkFlags::INACTIVE));
    h.clear_flags(WorkFlags::LINKED | WorkFlags::PENDING | WorkFlags::PWQ);
    assert_eq!(
        h.flags(),
        WorkFlags::PENDING | WorkFlags::PWQ | WorkFlags::INACTIVE,
        "only INACTIVE and LINKED change through set/clear_flags"
    );
    h.set_flags(WorkFlags::LINKED);
    assert!(h.flags().contains(WorkFlags::LINKED));
    assert_eq!(h.pwq(), Some(PwqId::new(12)), "flag updates keep the pwq");
    assert_eq!(h.color(), 15);
}

#[test]
fn set_pool_and_clear_pending_goes_off_queue() {
    let h = head();
    assert_eq!(h.test_and_set_pending(), Ok(true));
    h.set_pwq(PwqId::new(1), 3, WorkFlags::LINKED);
    h.set_pool_and_clear_pending(PoolId(2));
    assert_eq!(
        h.data(),
        WorkData::OffQueue {
            flags: WorkFlags::empty(),
            pool: Some(PoolId(2)),
            disable: 0
        }
    );
    assert_eq!(h.pwq(), None);
    assert_eq!(h.color(), 0);
    // Idle again: it can be queued.
    assert_eq!(h.test_and_set_pending(), Ok(true));
}

#[test]
fn set_pool_keep_pending_is_a_grabbed_off_queue_word() {
    let h = head();
    assert_eq!(h.test_and_set_pending(), Ok(true));
    h.set_pwq(PwqId::new(1), 3, WorkFlags::empty());
    h.set_pool_keep_pending(PoolId(5));
    assert_eq!(
        h.data(),
        WorkData::OffQueue {
            flags: WorkFlags::PENDING,
            pool: Some(PoolId(5)),
            disable: 0
        }
    );
    h.clear_pending();
    assert!(!h.is_pending());
    assert_eq!(h.last_pool(), Some(PoolId(5)));
}

#[test]
fn offq_bh_flag_is_kept_off_queue() {
    let h = head();
    let offqd = WorkOffqData {
        pool: Some(PoolId(1)),
        disable: 3,
        flags: OffqFlags::BH,
    };
    h.set_offqd_keep_pending(offqd);
    assert!(h.is_pending());
    assert_eq!(h.offq_data(), Some(offqd));
    assert_eq!(offq_flags(h.raw_data()), OffqFlags::BH);
    assert_eq!(
        h.raw_data() & (1 << WORK_OFFQ_BH_BIT),
        1 << WORK_OFFQ_BH_BIT
    );
}

#[test]
fn racing_queuers_take_pending_exactly_once() {
    for _ in 0..if cfg!(miri) { 4 } else { 100 } {
        let h = head();
        let won: usize = std::thread::scope(|s| {
            let racers: Vec<_> = (0..4)
                .map(|_| s.spawn(|| h.test_and_set_pending() == Ok(true)))
                .collect();
            racers
                .into_iter()
                .map(|r| usize::from(r.join().unwrap()))
                .sum()
        });
        assert_eq!(won, 1);
    }
}

#[test]
fn a_queueing_that_finds_the_item_pending_is_seen_by_the_run_that_follows() {
    use std::sync::atomic::{AtomicBool, AtomicU32};

    // The kernel's promise for queue_work() returning false: the pending run happens after
    // the call and sees what the queuer wrote before it. The queuer writes `payload`, then
    // queues; a worker clears PENDING before each "run" and reads `payload`. Whatever the
    // interleaving, the last run sees the last payload. Under Miri's weak-memory emulation
    // (`MIRIFLAGS=-Zmiri-many-seeds=0..32 cargo +nightly miri test -p cmwq-work --test
    // data_word`) this fails if the clear were only `Release`, or if a queueing that finds
    // PENDING set returned without writing the word.
    const ROUNDS: u32 = if cfg!(miri) { 20 } else { 2000 };
    let h = head();
    let payload = AtomicU32::new(0);
    let done = AtomicBool::new(false);
    let last_seen = std::thread::scope(|s| {
        let worker = s.spawn(|| {
            let mut seen = 0;
            loop {
                if h.is_pending() {
                    h.set_pool_and_clear_pending(PoolId(0));
                    seen = payload.load(std::sync::atomic::Ordering::Relaxed);
                } else if done.load(std::sync::atomic::Ordering::Acquire) {
                    if !h.is_pending() {
                        return seen;
                    }
                } else {
                    std::thread::yield_now();
                }
            }
        });
        for i in 1..=ROUNDS {
            payload.store(i, std::sync::atomic::Ordering::Relaxed);
            assert!(h.test_and_set_pending().is_ok());
        }
        done.store(true, std::sync::atomic::Ordering::Release);
        worker.join().unwrap()
    });
    assert_eq!(last_seen, ROUNDS);
}

#[test]
fn any_field_values_round_trip_through_the_word() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

    let config = Config {
        cases: if cfg!(miri) { 16 } else { 1024 },
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    let flags = (0..16usize).prop_map(WorkFlags::from_bits_truncate);
    let on_queue = (
        flags.clone(),
        0..WORK_NR_COLORS as u8,
        0..=cmwq_work::WORK_PWQ_ID_MAX,
    )
        .prop_map(|(flags, color, pwq)| WorkData::OnQueue {
            flags: flags | WorkFlags::PWQ,
            color,
            pwq: PwqId::new(pwq),
        });
    let pool = prop_oneof![
        Just(None),
        (0..WORK_OFFQ_POOL_NONE as u32).prop_map(|p| Some(PoolId(p)))
    ];
    let off_queue =
        (flags, pool, any::<u16>()).prop_map(|(flags, pool, disable)| WorkData::OffQueue {
            flags: flags - WorkFlags::PWQ,
            pool,
            disable,
        });
    runner
        .run(&prop_oneof![on_queue, off_queue], |data| {
            let raw = data.to_raw();
            prop_assert_eq!(WorkData::from_raw(raw), data);
            prop_assert_eq!(raw & 0xf, data.flags().bits());
            Ok(())
        })
        .unwrap();
}
