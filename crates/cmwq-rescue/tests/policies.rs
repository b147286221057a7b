//! The three policies on hand-built worklists.

use cmwq_rescue::{
    Cursor, CursorMove, Policy, RESCUER_BATCH, Rescan, RescueCtx, RescuerPolicy, Slurp, Then,
    WorklistView,
};
use cmwq_work::{CursorId, PwqId, WorkFlags, WorkList, WorkRef, work_fn};

const MINE: PwqId = PwqId(1);
const OTHER: PwqId = PwqId(2);

/// A worklist from a pattern: 'm' = an item of MINE, 'o' = of OTHER, 'c' = MINE's cursor,
/// 'x' = OTHER's cursor. Item names are their positions.
fn worklist(pattern: &str) -> (WorkList, CursorId) {
    let mut l = WorkList::new();
    let mine_c = l.new_cursor(u64::from(MINE.0));
    let other_c = l.new_cursor(u64::from(OTHER.0));
    const NAMES: [&str; 10] = ["n0", "n1", "n2", "n3", "n4", "n5", "n6", "n7", "n8", "n9"];
    let names = &NAMES[..pattern.len()];
    for (i, ch) in pattern.chars().enumerate() {
        match ch {
            'm' | 'o' => {
                let w = WorkRef::from_arc(work_fn(names[i], || {}));
                assert!(w.head().test_and_set_pending().unwrap());
                w.head()
                    .set_pwq(if ch == 'm' { MINE } else { OTHER }, 0, WorkFlags::empty());
                l.push_back(w);
            }
            'c' => l.move_cursor_to_back(mine_c),
            'x' => l.move_cursor_to_back(other_c),
            _ => unreachable!(),
        }
    }
    (l, mine_c)
}

fn ctx() -> RescueCtx {
    RescueCtx {
        pwq: MINE,
        nr_active: 5,
        need_to_create_worker: true,
        manager_active: true,
        others_waiting: false,
        rescued_this_visit: 0,
        passes_this_visit: 0,
    }
}

fn taken(c: &cmwq_rescue::Choice<'_>) -> Vec<String> {
    c.take.iter().map(|c| c.head().name().to_string()).collect()
}

#[test]
fn cursor_takes_the_first_item_after_its_cursor() {
    let (l, c) = worklist("momcxomm");
    let view = WorklistView::new(&l, MINE, c);
    let choice = Cursor.choose(&view, &ctx());
    assert_eq!(
        taken(&choice),
        vec!["n6"],
        "skips other pwqs' items and cursors"
    );
    assert_eq!(choice.cursor, CursorMove::AfterTaken);
    assert_eq!(choice.then, Then::Continue);
    assert_eq!(view.visited(), 3, "x, o, m");
}

#[test]
fn cursor_starts_at_the_head_when_unlinked() {
    let (l, c) = worklist("oomm");
    let view = WorklistView::new(&l, MINE, c);
    assert!(!view.cursor_is_linked());
    let choice = Cursor.choose(&view, &ctx());
    assert_eq!(taken(&choice), vec!["n2"]);
}

#[test]
fn rescan_always_restarts_from_the_head() {
    let (l, c) = worklist("omcm");
    let view = WorklistView::new(&l, MINE, c);
    let choice = Rescan.choose(&view, &ctx());
    assert_eq!(taken(&choice), vec!["n1"]);
    assert_eq!(choice.cursor, CursorMove::Stay);
    assert_eq!(taken(&Cursor.choose(&view, &ctx())), vec!["n3"]);
}

#[test]
fn slurp_takes_every_item_of_the_pwq_in_one_pass() {
    let (l, c) = worklist("momxmo");
    let view = WorklistView::new(&l, MINE, c);
    let choice = Slurp.choose(&view, &ctx());
    assert_eq!(taken(&choice), vec!["n0", "n2", "n4"]);
    assert_eq!(view.visited(), 6);
    // After running them: back on maydays while the pool still needs a worker.
    let again = RescueCtx {
        passes_this_visit: 1,
        rescued_this_visit: 3,
        ..ctx()
    };
    assert_eq!(Slurp.choose(&view, &again).then, Then::LeaveAndRemayday);
    // Nothing reached the rescuer (all handed to workers already running them): the
    // pre-7.0 rescuer re-queues the mayday only after processing its scheduled list.
    let none_taken = RescueCtx {
        rescued_this_visit: 0,
        ..again
    };
    assert_eq!(Slurp.choose(&view, &none_taken).then, Then::Leave);
    let relieved = RescueCtx {
        need_to_create_worker: false,
        ..again
    };
    assert_eq!(Slurp.choose(&view, &relieved).then, Then::Leave);
    // Slurp (pre-7.0) rescues even when the pool no longer needs a worker.
    let first = RescueCtx {
        need_to_create_worker: false,
        manager_active: false,
        ..ctx()
    };
    assert_eq!(Slurp.choose(&view, &first).take.len(), 3);
}

#[test]
fn cursor_and_rescan_rescue_only_when_really_needed() {
    let (l, c) = worklist("mm");
    let view = WorklistView::new(&l, MINE, c);
    for p in [Policy::Cursor, Policy::Rescan] {
        let idle_pwq = RescueCtx {
            nr_active: 0,
            ..ctx()
        };
        assert_eq!(p.choose(&view, &idle_pwq).then, Then::Leave, "{p}");
        let relieved = RescueCtx {
            need_to_create_worker: false,
            manager_active: false,
            ..ctx()
        };
        assert_eq!(p.choose(&view, &relieved).then, Then::Leave, "{p}");
        // Sustained pressure: the manager still tries and nobody else waits.
        let sustained = RescueCtx {
            need_to_create_worker: false,
            manager_active: true,
            others_waiting: false,
            ..ctx()
        };
        assert_eq!(p.choose(&view, &sustained).take.len(), 1, "{p}");
        let others = RescueCtx {
            others_waiting: true,
            ..sustained
        };
        assert_eq!(p.choose(&view, &others).then, Then::Leave, "{p}");
    }
}

#[test]
fn after_a_batch_the_rescuer_yields_to_other_stalled_pwqs() {
    let (l, c) = worklist("mmm");
    let view = WorklistView::new(&l, MINE, c);
    let at_batch = RescueCtx {
        rescued_this_visit: RESCUER_BATCH,
        others_waiting: true,
        ..ctx()
    };
    assert_eq!(Cursor.choose(&view, &at_batch).then, Then::Continue);
    let past = RescueCtx {
        rescued_this_visit: RESCUER_BATCH + 1,
        ..at_batch
    };
    assert_eq!(Cursor.choose(&view, &past).then, Then::LeaveAndRemayday);
    let alone = RescueCtx {
        others_waiting: false,
        ..past
    };
    assert_eq!(Cursor.choose(&view, &alone).then, Then::Continue);
}

#[test]
fn nothing_left_means_leave() {
    let (l, c) = worklist("oco");
    let view = WorklistView::new(&l, MINE, c);
    assert_eq!(Cursor.choose(&view, &ctx()).then, Then::Leave);
    assert_eq!(Slurp.choose(&view, &ctx()).then, Then::Leave);
    assert_eq!(Rescan.choose(&view, &ctx()).then, Then::Leave);
}

#[test]
fn policies_parse_from_their_names() {
    for p in Policy::BUILTIN {
        assert_eq!(p.to_string().parse::<Policy>(), Ok(p.clone()));
    }
    assert_eq!("Cursor".parse::<Policy>(), Ok(Policy::Cursor));
    assert_eq!(
        "fifo".parse::<Policy>(),
        Err(cmwq_rescue::UnknownPolicy("fifo".into()))
    );
    assert_eq!(Policy::default(), Policy::Cursor);
}
