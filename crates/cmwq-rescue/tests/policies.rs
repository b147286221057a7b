//! The three policies on hand-built worklists.

use cmwq_rescue::{
    Candidate, Choice, Cursor, CursorMove, Policy, RESCUER_BATCH, Rescan, RescueCtx, RescuerPolicy,
    Slurp, Then, WorklistView, choose_collect,
};
use cmwq_work::raw::WorkHeadRaw;
use cmwq_work::{CursorId, PwqId, WorkFlags, WorkList, WorkRef, work_fn};

const MINE: PwqId = PwqId::new(1);
const OTHER: PwqId = PwqId::new(2);

/// A worklist from a pattern: 'm' = an item of MINE, 'o' = of OTHER, 'c' = MINE's cursor,
/// 'x' = OTHER's cursor. Item names are their positions.
fn worklist(pattern: &str) -> (WorkList, CursorId) {
    let mut l = WorkList::new();
    let mine_c = l.new_cursor(u64::from(MINE.get()));
    let other_c = l.new_cursor(u64::from(OTHER.get()));
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
    let mut ctx = RescueCtx::new(MINE);
    ctx.nr_active = 5;
    ctx.need_to_create_worker = true;
    ctx.manager_active = true;
    ctx
}

fn taken(c: &(Vec<Candidate<'_>>, Choice)) -> Vec<String> {
    c.0.iter().map(|c| c.name().to_string()).collect()
}

/// Ask the policy once: what it took and its choice.
fn ask<'a>(
    p: &dyn RescuerPolicy,
    view: &WorklistView<'a>,
    ctx: &RescueCtx,
) -> (Vec<Candidate<'a>>, Choice) {
    choose_collect(p, view, ctx)
}

#[test]
fn cursor_takes_the_first_item_after_its_cursor() {
    let (l, c) = worklist("momcxomm");
    let view = WorklistView::new(&l, MINE, c);
    let choice = ask(&Cursor, &view, &ctx());
    assert_eq!(
        taken(&choice),
        vec!["n6"],
        "skips other pwqs' items and cursors"
    );
    assert_eq!(choice.1.cursor, CursorMove::AfterTaken);
    assert_eq!(choice.1.then, Then::Continue);
    assert_eq!(view.visited(), 3, "x, o, m");
}

#[test]
fn cursor_starts_at_the_head_when_unlinked() {
    let (l, c) = worklist("oomm");
    let view = WorklistView::new(&l, MINE, c);
    assert!(!view.cursor_is_linked());
    let choice = ask(&Cursor, &view, &ctx());
    assert_eq!(taken(&choice), vec!["n2"]);
}

#[test]
fn rescan_always_restarts_from_the_head() {
    let (l, c) = worklist("omcm");
    let view = WorklistView::new(&l, MINE, c);
    let choice = ask(&Rescan, &view, &ctx());
    assert_eq!(taken(&choice), vec!["n1"]);
    assert_eq!(choice.1.cursor, CursorMove::Stay);
    assert_eq!(taken(&ask(&Cursor, &view, &ctx())), vec!["n3"]);
}

#[test]
fn slurp_takes_every_item_of_the_pwq_in_one_pass() {
    let (l, c) = worklist("momxmo");
    let view = WorklistView::new(&l, MINE, c);
    let choice = ask(&Slurp, &view, &ctx());
    assert_eq!(taken(&choice), vec!["n0", "n2", "n4"]);
    assert_eq!(view.visited(), 6);
    // After running them: back on maydays while the pool still needs a worker.
    let mut again = ctx();
    again.passes_this_visit = 1;
    again.rescued_this_visit = 3;
    assert_eq!(ask(&Slurp, &view, &again).1.then, Then::LeaveAndRemayday);
    // Nothing reached the rescuer (all handed to workers already running them): the
    // pre-7.0 rescuer re-queues the mayday only after processing its scheduled list.
    let mut none_taken = again;
    none_taken.rescued_this_visit = 0;
    assert_eq!(ask(&Slurp, &view, &none_taken).1.then, Then::Leave);
    let mut relieved = again;
    relieved.need_to_create_worker = false;
    assert_eq!(ask(&Slurp, &view, &relieved).1.then, Then::Leave);
    // Slurp (pre-7.0) rescues even when the pool no longer needs a worker.
    let mut first = ctx();
    first.need_to_create_worker = false;
    first.manager_active = false;
    assert_eq!(ask(&Slurp, &view, &first).0.len(), 3);
}

#[test]
fn cursor_and_rescan_rescue_only_when_really_needed() {
    let (l, c) = worklist("mm");
    let view = WorklistView::new(&l, MINE, c);
    for p in [Policy::Cursor, Policy::Rescan] {
        let mut idle_pwq = ctx();
        idle_pwq.nr_active = 0;
        assert_eq!(ask(&p, &view, &idle_pwq).1.then, Then::Leave, "{p}");
        let mut relieved = ctx();
        relieved.need_to_create_worker = false;
        relieved.manager_active = false;
        assert_eq!(ask(&p, &view, &relieved).1.then, Then::Leave, "{p}");
        // Sustained pressure: the manager still tries and nobody else waits.
        let mut sustained = ctx();
        sustained.need_to_create_worker = false;
        sustained.manager_active = true;
        sustained.others_waiting = false;
        assert_eq!(ask(&p, &view, &sustained).0.len(), 1, "{p}");
        let mut others = sustained;
        others.others_waiting = true;
        assert_eq!(ask(&p, &view, &others).1.then, Then::Leave, "{p}");
    }
}

#[test]
fn after_a_batch_the_rescuer_yields_to_other_stalled_pwqs() {
    let (l, c) = worklist("mmm");
    let view = WorklistView::new(&l, MINE, c);
    let mut at_batch = ctx();
    at_batch.rescued_this_visit = RESCUER_BATCH;
    at_batch.others_waiting = true;
    assert_eq!(ask(&Cursor, &view, &at_batch).1.then, Then::Continue);
    let mut past = at_batch;
    past.rescued_this_visit = RESCUER_BATCH + 1;
    assert_eq!(ask(&Cursor, &view, &past).1.then, Then::LeaveAndRemayday);
    let mut alone = past;
    alone.others_waiting = false;
    assert_eq!(ask(&Cursor, &view, &alone).1.then, Then::Continue);
}

#[test]
fn nothing_left_means_leave() {
    let (l, c) = worklist("oco");
    let view = WorklistView::new(&l, MINE, c);
    assert_eq!(ask(&Cursor, &view, &ctx()).1.then, Then::Leave);
    assert_eq!(ask(&Slurp, &view, &ctx()).1.then, Then::Leave);
    assert_eq!(ask(&Rescan, &view, &ctx()).1.then, Then::Leave);
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
