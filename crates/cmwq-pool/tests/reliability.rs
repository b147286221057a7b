//! Defects found from the outside: each test names the behaviour a fix restored.

use cmwq_pool::{
    Actions, Pool, PoolId, PoolKind, Priority, PwqSpec, System, SystemConfig, WqError, WqFlags,
    WqId, WqSpec,
};

fn spec(wq: u32) -> PwqSpec {
    PwqSpec {
        wq: WqId(wq),
        wq_flags: WqFlags::empty(),
        max_active: 1,
        policy: Default::default(),
    }
}

#[test]
#[cfg_attr(miri, ignore = "100 000 pwqs take too long under Miri")]
fn a_removed_pwq_frees_its_slot_for_the_next_one() {
    let mut out = Actions::new();
    let mut pool = Pool::new(
        PoolId(2),
        PoolKind::PerCpu {
            cpu: 0,
            pri: Priority::Normal,
        },
        1,
        0,
    );
    // One long-lived pwq beside 100 000 short-lived ones (more than 65536 slots).
    let keep = pool.add_pwq(spec(0), 0, &mut out).unwrap();
    let mut first = None;
    for i in 1..=100_000u32 {
        let pwq = pool.add_pwq(spec(i), 0, &mut out).unwrap();
        out.clear();
        assert_eq!(*first.get_or_insert(pwq), pwq, "the freed slot is reused");
        pool.remove_pwq(pwq).unwrap();
    }
    assert_eq!(pool.pwq_ids().collect::<Vec<_>>(), vec![keep]);
}

#[test]
#[cfg_attr(miri, ignore = "70 000 workqueues take too long under Miri")]
fn a_system_creates_and_destroys_more_workqueues_than_a_pool_has_slots() {
    let mut sys = System::new(SystemConfig { nr_cpus: 1 });
    let mut out = Actions::new();
    // All on the one CPU's normal pool: 70 000 pwqs over its life, one at a time.
    for i in 0..70_000u32 {
        let wq = sys
            .alloc_workqueue(WqSpec::new("conn", WqFlags::empty()), 0, &mut out)
            .unwrap_or_else(|e| panic!("creation #{i}: {e}"));
        out.clear();
        sys.destroy_workqueue(wq).unwrap();
    }
}

#[test]
fn a_workqueue_name_with_a_control_character_is_refused() {
    let refused = |name: &str| WqSpec::new(name, WqFlags::empty()).validate().unwrap_err();
    assert_eq!(
        refused("evil\nworkqueue x: flags=0x0"),
        WqError::NameHasControl {
            ch: '\n',
            offset: 4
        }
    );
    assert_eq!(
        refused("\ttab"),
        WqError::NameHasControl {
            ch: '\t',
            offset: 0
        }
    );
    assert_eq!(
        refused("esc\u{1b}[2J"),
        WqError::NameHasControl {
            ch: '\u{1b}',
            offset: 3
        }
    );
    assert_eq!(
        refused("del\u{7f}"),
        WqError::NameHasControl {
            ch: '\u{7f}',
            offset: 3
        }
    );
    // What the kernel's names hold stays accepted: spaces, punctuation, non-ASCII.
    for ok in ["kblockd", "xfs-buf/sda1", "nvme reset", "caf\u{e9}"] {
        WqSpec::new(ok, WqFlags::empty()).validate().unwrap();
    }
    let mut sys = System::new(SystemConfig { nr_cpus: 1 });
    assert!(matches!(
        sys.alloc_workqueue(
            WqSpec::new("a\rb", WqFlags::empty()),
            0,
            &mut Actions::new()
        ),
        Err(WqError::NameHasControl { ch: '\r', .. })
    ));
}
