//! Every error variant: bad input gives a typed error, never a panic.

mod harness;

use cmwq_pool::{
    Actions, Pool, PoolError, PoolId, PoolKind, Priority, PwqId, PwqSpec, QueueError, QueueFrom,
    System, SystemConfig, WqError, WqFlags, WqId, WqSpec,
};
use cmwq_work::raw::WorkHeadRaw;
use cmwq_work::{WorkRef, work_fn};
use harness::*;

fn alloc_err(spec: WqSpec) -> WqError {
    let mut sys = System::new(SystemConfig { nr_cpus: 1 });
    sys.alloc_workqueue(spec, 0, &mut Actions::new())
        .unwrap_err()
}

#[test]
fn bad_names_are_refused() {
    let long = "x".repeat(32);
    assert_eq!(
        alloc_err(WqSpec::new(long, WqFlags::empty())),
        WqError::NameTooLong { len: 32 }
    );
    assert_eq!(
        alloc_err(WqSpec::new("", WqFlags::empty())),
        WqError::EmptyName
    );
    assert_eq!(
        alloc_err(WqSpec::new("a\0b", WqFlags::empty())),
        WqError::NameHasNul
    );
    // 31 bytes fit.
    let mut sys = System::new(SystemConfig { nr_cpus: 1 });
    sys.alloc_workqueue(
        WqSpec::new("y".repeat(31), WqFlags::empty()),
        0,
        &mut Actions::new(),
    )
    .unwrap();
}

#[test]
fn max_active_out_of_range_is_refused() {
    for bad in [0u16, 2049] {
        assert_eq!(
            alloc_err(WqSpec::new("wq", WqFlags::empty()).max_active(bad)),
            WqError::MaxActiveOutOfRange {
                value: u32::from(bad)
            }
        );
    }
    let mut h = Harness::new(1);
    let wq = h.alloc(WqSpec::new("wq", WqFlags::empty()).max_active(2048));
    assert_eq!(
        h.sys.set_max_active(wq, 0, 0, &mut h.out),
        Err(WqError::MaxActiveOutOfRange { value: 0 })
    );
    assert_eq!(
        h.sys.set_min_active(wq, 4096),
        Err(WqError::MinActiveOutOfRange {
            value: 4096,
            max_active: 2048
        })
    );
}

#[test]
fn contradicting_or_unknown_flags_are_refused() {
    assert_eq!(
        alloc_err(WqSpec::new("wq", WqFlags::BH | WqFlags::MEM_RECLAIM)),
        WqError::BhWithFlags {
            flags: WqFlags::MEM_RECLAIM
        }
    );
    assert_eq!(
        alloc_err(WqSpec::new("wq", WqFlags::BH | WqFlags::UNBOUND)),
        WqError::BhWithFlags {
            flags: WqFlags::UNBOUND
        }
    );
    assert_eq!(
        alloc_err(WqSpec::new("wq", WqFlags::BH).max_active(1)),
        WqError::BhWithMaxActive
    );
    assert_eq!(
        alloc_err(WqSpec::new("wq", WqFlags::UNBOUND | WqFlags::PERCPU)),
        WqError::UnboundAndPercpu
    );
    assert_eq!(
        alloc_err(WqSpec::new("wq", WqFlags::ORDERED)),
        WqError::InternalFlags {
            flags: WqFlags::ORDERED
        }
    );
    assert_eq!(
        alloc_err(WqSpec::new("wq", WqFlags::from_bits_retain(1 << 9))),
        WqError::UnknownFlags { bits: 1 << 9 }
    );
    assert_eq!(
        alloc_err(WqSpec::ordered("wq", WqFlags::empty()).max_active(2)),
        WqError::OrderedMaxActive { value: 2 }
    );
    // BH with HIGHPRI is fine.
    let mut sys = System::new(SystemConfig { nr_cpus: 1 });
    sys.alloc_workqueue(
        WqSpec::new("bh", WqFlags::BH | WqFlags::HIGHPRI),
        0,
        &mut Actions::new(),
    )
    .unwrap();
}

#[test]
fn ordered_queues_keep_max_active_one() {
    let mut h = Harness::new(1);
    let wq = h.alloc(WqSpec::ordered("ord", WqFlags::empty()));
    assert_eq!(
        h.sys.set_max_active(wq, 4, 0, &mut h.out),
        Err(WqError::OrderedSetMaxActive(wq))
    );
}

#[test]
fn unknown_workqueues_and_cpus_are_refused() {
    let mut h = Harness::new(2);
    let ghost = WqId(99);
    let a = h.item("a");
    assert_eq!(h.queue(ghost, &a), Err(QueueError::NoSuchWorkqueue(ghost)));
    assert_eq!(
        h.sys.destroy_workqueue(ghost),
        Err(WqError::NoSuchWorkqueue(ghost))
    );
    assert_eq!(
        h.sys.flush_workqueue(ghost, 0, &mut h.out).unwrap_err(),
        WqError::NoSuchWorkqueue(ghost)
    );
    assert_eq!(
        h.sys.set_max_active(ghost, 1, 0, &mut h.out),
        Err(WqError::NoSuchWorkqueue(ghost))
    );
    let wq = h.alloc(WqSpec::new("percpu", WqFlags::empty()));
    assert_eq!(
        h.queue_on(wq, Some(2), &a),
        Err(QueueError::NoSuchCpu { cpu: 2, nr_cpus: 2 })
    );
    assert!(!a.head().is_pending(), "a refused item is not left pending");
    h.queue_on(wq, Some(1), &a).unwrap();
}

#[test]
fn pool_level_misuse_is_refused() {
    let mut out = Actions::new();
    let id = PoolId(0);
    let mut pool = Pool::new(
        id,
        PoolKind::PerCpu {
            cpu: 0,
            pri: Priority::Normal,
        },
        1,
        0,
    );
    let bogus = PwqId::new(12345);
    assert_eq!(pool.remove_pwq(bogus), Err(PoolError::NoSuchPwq(bogus)));
    let w = WorkRef::from_arc(work_fn("x", || {}));
    assert!(w.head().test_and_set_pending().unwrap());
    let (e, w) = pool
        .queue_work(bogus, w, QueueFrom::Outside, 0, &mut out)
        .unwrap_err();
    assert_eq!(e, QueueError::NoSuchPwq(bogus));
    assert!(!w.head().is_pending());
    let spec = PwqSpec {
        wq: WqId(0),
        wq_flags: WqFlags::empty(),
        max_active: 1,
        policy: Default::default(),
    };
    let pwq = pool.add_pwq(spec, 0, &mut out).unwrap();
    assert!(w.head().test_and_set_pending().unwrap());
    pool.queue_work(pwq, w, QueueFrom::Outside, 0, &mut out)
        .unwrap();
    assert_eq!(pool.remove_pwq(pwq), Err(PoolError::PwqBusy(pwq)));
}

#[test]
#[cfg_attr(miri, ignore = "65536 pwqs take too long under Miri")]
fn a_pool_holds_at_most_65536_pwqs() {
    let mut out = Actions::new();
    let mut pool = Pool::new(
        PoolId(3),
        PoolKind::PerCpu {
            cpu: 0,
            pri: Priority::High,
        },
        1,
        0,
    );
    let spec = PwqSpec {
        wq: WqId(0),
        wq_flags: WqFlags::empty(),
        max_active: 1,
        policy: Default::default(),
    };
    for _ in 0..(1 << 16) {
        pool.add_pwq(spec.clone(), 0, &mut out).unwrap();
        out.clear();
    }
    assert_eq!(
        pool.add_pwq(spec, 0, &mut out),
        Err(PoolError::NoPwqSlot(PoolId(3)))
    );
}

#[test]
fn a_workqueue_runs_one_flush_at_a_time() {
    let spec = WqSpec::new("wq", WqFlags::empty());
    let mut w = cmwq_pool::Workqueue::new(WqId(4), &spec, vec![PwqId::new(0)], None).unwrap();
    let b = w.flush_begin().unwrap();
    assert_eq!(
        w.flush_begin().unwrap_err(),
        WqError::FlushInProgress(WqId(4))
    );
    let next = w.flush_reserve();
    assert_eq!(w.flush_reserve(), next);
    w.flush_pwq_added();
    assert_eq!(w.flush_prepared(), None);
    assert_eq!(w.flush_pwq_done(PwqId::new(0)), Some(b.ticket));
    let b2 = w.flush_begin().unwrap();
    assert_eq!(b2.ticket, next, "the reserved flush starts next");
    assert_eq!(b2.flush_color, b.work_color);
    assert_eq!(
        w.flush_prepared(),
        Some(next),
        "nothing in flight: done at once"
    );
}

#[test]
#[cfg_attr(miri, ignore = "65535 disables take too long under Miri")]
fn disable_refuses_an_item_someone_else_holds_pending_and_an_overflowing_count() {
    let mut h = Harness::new(1);
    let wq = h.alloc(WqSpec::new("events", WqFlags::empty()));
    let a = h.item("a");
    // PENDING owned elsewhere (a queuer that has not reached the pool yet).
    assert!(a.head().test_and_set_pending().unwrap());
    assert_eq!(
        h.sys.disable_work(a.head(), h.now, &mut h.out).unwrap_err(),
        cmwq_pool::DisableWorkError::Busy
    );
    assert!(a.head().is_pending(), "left alone");
    a.head().clear_pending();
    for _ in 0..u16::MAX {
        h.sys.disable_work(a.head(), h.now, &mut h.out).unwrap();
    }
    assert_eq!(
        h.sys.disable_work(a.head(), h.now, &mut h.out).unwrap_err(),
        cmwq_pool::DisableWorkError::Count(cmwq_work::DisableError::Overflow)
    );
    assert_eq!(a.head().disable_count(), u16::MAX);
    assert_eq!(h.queue(wq, &a), Err(QueueError::Disabled));
}
