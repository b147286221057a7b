//! `RescuerPolicy` is a safe trait: whatever a policy hands the pool (the same candidate
//! twice, items of another pwq, items out of order, nothing with `Continue`, random
//! cursor moves), the pool stays consistent, every item runs exactly once and nothing
//! leaks. These run under Miri too (`cargo xtask miri`), with fewer proptest cases.

mod harness;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use cmwq_pool::{MAYDAY_INITIAL_TIMEOUT, MAYDAY_INTERVAL, Policy, WqFlags, WqSpec};
use cmwq_rescue::{
    Candidate, Choice, CursorMove, RescueCtx, RescuerPolicy, Take, Then, Visit, WorklistView,
};
use harness::*;
use proptest::prelude::*;

/// Every item of every pwq the view's scans meet, from the head.
fn all_from_head<'a>(view: &WorklistView<'a>) -> Vec<Candidate<'a>> {
    view.scan_from_head()
        .filter_map(|v| match v {
            Visit::Work(c) => Some(c),
            Visit::Cursor(_) => None,
        })
        .collect()
}

/// Hands every item of the pwq over twice (two scans of one view).
#[derive(Debug)]
struct Twice;
impl RescuerPolicy for Twice {
    fn choose<'a>(
        &self,
        view: &WorklistView<'a>,
        _: &RescueCtx,
        take: &mut Take<'_, 'a>,
    ) -> Choice {
        for _ in 0..2 {
            let mut scan = view.scan_from_head();
            while let Some(c) = scan.next_of_pwq() {
                take.take(c);
            }
        }
        Choice::new(CursorMove::AfterTaken, Then::Continue)
    }
}

/// Hands the first item once and every other item twice: the duplicate that used to pass
/// the list's predecessor check and unlink an item from the wrong list.
#[derive(Debug)]
struct AllButFirstTwice;
impl RescuerPolicy for AllButFirstTwice {
    fn choose<'a>(
        &self,
        view: &WorklistView<'a>,
        _: &RescueCtx,
        take: &mut Take<'_, 'a>,
    ) -> Choice {
        let mut first = view.scan_from_head();
        let mut second = view.scan_from_head();
        let _ = second.next_of_pwq();
        while let Some(c) = first.next_of_pwq() {
            take.take(c);
        }
        while let Some(c) = second.next_of_pwq() {
            take.take(c);
        }
        Choice::new(CursorMove::Stay, Then::Continue)
    }
}

/// Hands over every item on the worklist, of any pwq, last first.
#[derive(Debug)]
struct EveryPwqReversed;
impl RescuerPolicy for EveryPwqReversed {
    fn choose<'a>(
        &self,
        view: &WorklistView<'a>,
        _: &RescueCtx,
        take: &mut Take<'_, 'a>,
    ) -> Choice {
        let mut all = all_from_head(view);
        while let Some(c) = all.pop() {
            take.take(c);
        }
        Choice::new(CursorMove::AfterTaken, Then::Continue)
    }
}

/// Takes nothing and asks to go on.
#[derive(Debug)]
struct EmptyContinue;
impl RescuerPolicy for EmptyContinue {
    fn choose<'a>(&self, _: &WorklistView<'a>, _: &RescueCtx, _: &mut Take<'_, 'a>) -> Choice {
        Choice::new(CursorMove::AfterTaken, Then::Continue)
    }
}

/// A policy driven by a byte script: each call takes a random multiset of the worklist's
/// items (any pwq, duplicates, any order) and answers a random cursor move and next step.
#[derive(Debug)]
struct Scripted {
    script: Vec<u8>,
    at: AtomicUsize,
}
impl Scripted {
    fn byte(&self) -> u8 {
        let i = self.at.fetch_add(1, Ordering::Relaxed);
        self.script[i % self.script.len()]
    }
}
impl RescuerPolicy for Scripted {
    fn choose<'a>(
        &self,
        view: &WorklistView<'a>,
        _: &RescueCtx,
        take: &mut Take<'_, 'a>,
    ) -> Choice {
        // Two scans, so the same item can be handed over twice.
        let mut a: Vec<Option<Candidate<'a>>> = all_from_head(view).into_iter().map(Some).collect();
        let mut b: Vec<Option<Candidate<'a>>> = if self.byte() % 2 == 0 {
            view.scan_after_cursor()
                .filter_map(|v| match v {
                    Visit::Work(c) => Some(Some(c)),
                    Visit::Cursor(_) => None,
                })
                .collect()
        } else {
            all_from_head(view).into_iter().map(Some).collect()
        };
        let n = self.byte() % 6;
        for _ in 0..n {
            let k = self.byte();
            let from = if k & 1 == 0 { &mut a } else { &mut b };
            if from.is_empty() {
                continue;
            }
            let i = usize::from(k >> 1) % from.len();
            if let Some(c) = from[i].take() {
                take.take(c);
            }
        }
        let cursor = [CursorMove::Stay, CursorMove::Unlink, CursorMove::AfterTaken]
            [usize::from(self.byte() % 3)];
        let then =
            [Then::Continue, Then::Leave, Then::LeaveAndRemayday][usize::from(self.byte() % 3)];
        Choice::new(cursor, then)
    }
}

/// A MEM_RECLAIM workqueue with `policy` and a plain one share CPU 0's pool; its only
/// worker blocks and creation fails, so the rescuer runs `policy`. Then pressure ends.
/// Every item must run exactly once, the pool stay consistent (the harness checks it after
/// every settle), and every item's last reference come back.
fn stalled_pool_survives(policy: Policy, mine: usize, others: usize) {
    let mut h = Harness::new(1);
    let wq = h.alloc(WqSpec::new("reclaim_wq", WqFlags::MEM_RECLAIM).policy(policy));
    let other = h.alloc(WqSpec::new("other_wq", WqFlags::empty()));
    let (blocker, _) = h.start_blocking(other, "blocker");
    h.create_fails = true;
    const MINE: [&str; 6] = ["mine0", "mine1", "mine2", "mine3", "mine4", "mine5"];
    const OTHERS: [&str; 6] = ["other0", "other1", "other2", "other3", "other4", "other5"];
    let names: Vec<&'static str> = (0..mine.max(others))
        .flat_map(|i| [(i < mine).then(|| MINE[i]), (i < others).then(|| OTHERS[i])])
        .flatten()
        .collect();
    let items: Vec<_> = names.iter().map(|n| (*n, h.item(n))).collect();
    for (name, item) in &items {
        let q = if name.starts_with("mine") { wq } else { other };
        h.queue(q, item).unwrap();
    }
    h.advance_to(MAYDAY_INITIAL_TIMEOUT);
    h.advance(MAYDAY_INTERVAL);
    h.create_fails = false;
    h.release_all("blocker");
    h.advance(cmwq_pool::CREATE_COOLDOWN);
    h.release_all("blocker");
    for (name, item) in &items {
        assert_eq!(h.count_ran(name), 1, "{name} ran once");
        assert_eq!(Arc::strong_count(item), 1, "{name}'s reference came back");
    }
    assert_eq!(h.count_ran("blocker"), 1);
    assert_eq!(Arc::strong_count(&blocker), 1);
    for p in h.sys.pools() {
        assert_eq!(p.worklist_len(), 0);
        p.check_consistency().unwrap();
    }
}

#[test]
fn duplicated_candidates_are_taken_once() {
    stalled_pool_survives(Policy::new(Twice), 4, 3);
}

#[test]
fn all_but_the_first_twice_is_taken_once_each() {
    stalled_pool_survives(Policy::new(AllButFirstTwice), 4, 3);
}

#[test]
fn candidates_of_other_pwqs_in_reverse_order_are_skipped() {
    stalled_pool_survives(Policy::new(EveryPwqReversed), 3, 3);
}

#[test]
fn an_empty_choice_with_continue_leaves() {
    stalled_pool_survives(Policy::new(EmptyContinue), 3, 2);
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: if cfg!(miri) { 3 } else { 64 },
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn any_scripted_policy_keeps_the_pool_consistent(
        script in proptest::collection::vec(any::<u8>(), 1..48),
        mine in 1usize..6,
        others in 0usize..4,
    ) {
        let policy = Policy::new(Scripted { script, at: AtomicUsize::new(0) });
        stalled_pool_survives(policy, mine, others);
    }
}
