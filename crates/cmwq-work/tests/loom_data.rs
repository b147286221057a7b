//! loom models of the data word's PENDING, claim and cancel transitions, on the real
//! `WorkHead` (built with `--cfg loom`, its atomics are loom's: see `src/sync.rs`) and the
//! real `WorkList` under a loom mutex standing for the pool lock.
//!
//! - Two queuers of an idle item: exactly one owns PENDING and queues it.
//! - A queuer that finds the item pending while a worker clears PENDING to run it: either
//!   the queuer took PENDING (and queues again) or the run that follows sees what the
//!   queuer wrote before queueing (the release sequence on the word, `WorkHead`'s docs).
//! - queue, run and cancel (`try_to_grab_pending`) together: every queueing that found the
//!   item idle is run exactly once or stolen by exactly one cancel, and PENDING ends clear.
//!
//! Run with `cargo xtask loom` (or `RUSTFLAGS="--cfg loom" cargo test -p cmwq-work
//! --release --test loom_data`).
#![cfg(loom)]

use std::sync::Arc as StdArc;

use cmwq_work::raw::WorkHeadRaw;
use cmwq_work::{PoolId, PwqId, Work, WorkFlags, WorkItem, WorkList, WorkRef, impl_has_work};
use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::{Arc, Mutex};
use loom::thread;

struct Item {
    work: Work<Self>,
    /// What a queuer writes before queueing (relaxed: ordered only by the data word).
    payload: AtomicUsize,
}
impl_has_work!(Item { work });
impl WorkItem for Item {
    fn run(_this: StdArc<Self>) {}
}

fn item() -> StdArc<Item> {
    StdArc::new(Item {
        work: Work::new(),
        payload: AtomicUsize::new(0),
    })
}

const PWQ: PwqId = PwqId::new(1);
const POOL: PoolId = PoolId(0);

/// `queue_work`: take PENDING; only if it was clear, record the pwq and link the item
/// under the pool lock. Returns whether this call queued it.
fn queue(it: &StdArc<Item>, pool: &Mutex<WorkList>) -> bool {
    match it.work.test_and_set_pending() {
        Ok(true) => {
            let mut list = pool.lock().unwrap();
            it.work.set_pwq(PWQ, 0, WorkFlags::empty());
            list.push_back(WorkRef::from_arc(it.clone()));
            true
        }
        Ok(false) | Err(_) => false,
    }
}

/// A worker's step: pop under the lock, clear PENDING recording the pool, then "run"
/// (return the item). `None` if the worklist was empty.
fn work_once(pool: &Mutex<WorkList>) -> Option<WorkRef> {
    let w = pool.lock().unwrap().pop_front()?;
    w.head().set_pool_and_clear_pending(POOL);
    Some(w)
}

/// `try_to_grab_pending`, as cmwq-pool does it: own PENDING of an idle item (then release
/// it: cancelling an idle item), or find the item on the worklist under the lock and steal
/// it; retry while someone else is between "took PENDING" and "linked". Returns whether a
/// queued instance was stolen.
fn cancel(it: &StdArc<Item>, pool: &Mutex<WorkList>) -> bool {
    loop {
        if it.work.grab_pending() {
            // Was idle: we own PENDING; nothing was queued. Release it.
            it.work.clear_pending();
            return false;
        }
        {
            let mut list = pool.lock().unwrap();
            if let Some(w) = list.remove_checked(&it.work) {
                w.head().set_pool_keep_pending(POOL);
                drop(list);
                w.head().clear_pending();
                return true;
            }
        }
        // PENDING is set but the item is not linked: a queuer is between the two, or a
        // worker is about to clear PENDING. Let them go on.
        thread::yield_now();
    }
}

#[test]
fn two_queuers_of_an_idle_item_one_owns_pending() {
    loom::model(|| {
        let it = item();
        let pool = Arc::new(Mutex::new(WorkList::new()));
        let (it2, pool2) = (it.clone(), pool.clone());
        let t = thread::spawn(move || queue(&it2, &pool2));
        let mine = queue(&it, &pool);
        let theirs = t.join().unwrap();
        assert!(mine ^ theirs, "exactly one queueing queues the item");
        assert_eq!(pool.lock().unwrap().len(), 1);
        assert!(it.work.is_pending());
        assert_eq!(it.work.pwq(), Some(PWQ));
        drop(pool.lock().unwrap().pop_front());
    });
}

#[test]
fn a_queueing_that_finds_the_item_pending_is_seen_by_the_run() {
    loom::model(|| {
        let it = item();
        let pool = Arc::new(Mutex::new(WorkList::new()));
        assert!(queue(&it, &pool));
        let (it2, pool2) = (it.clone(), pool.clone());
        let queuer = thread::spawn(move || {
            it2.payload.store(1, Ordering::Relaxed);
            queue(&it2, &pool2)
        });
        // The worker: claim the item, then run it (read what the run would see).
        let w = work_once(&pool).expect("queued above");
        let seen = it.payload.load(Ordering::Relaxed);
        drop(w);
        let requeued = queuer.join().unwrap();
        if !requeued {
            assert_eq!(seen, 1, "a no-op queueing is seen by the run that follows");
        } else {
            // It queued again: that run sees the payload.
            let again = work_once(&pool).expect("queued again");
            assert_eq!(it.payload.load(Ordering::Relaxed), 1);
            drop(again);
        }
        assert!(!it.work.is_pending());
    });
}

#[test]
fn every_queueing_runs_once_or_is_cancelled_once() {
    loom::model(|| {
        let it = item();
        let pool = Arc::new(Mutex::new(WorkList::new()));
        let (it2, pool2) = (it.clone(), pool.clone());
        let queuer = thread::spawn(move || queue(&it2, &pool2));
        let pool3 = pool.clone();
        let worker = thread::spawn(move || work_once(&pool3).is_some());
        let stolen = cancel(&it, &pool);
        let queued = queuer.join().unwrap();
        let mut ran = worker.join().unwrap();
        // Drain what is left (the worker may have looked before the queueing).
        if let Some(w) = work_once(&pool) {
            drop(w);
            assert!(!ran);
            ran = true;
        }
        assert_eq!(
            usize::from(queued),
            usize::from(ran) + usize::from(stolen),
            "queued {queued}, ran {ran}, stolen {stolen}"
        );
        assert!(!it.work.is_pending(), "PENDING ends clear");
        assert_eq!(pool.lock().unwrap().len(), 0);
    });
}
