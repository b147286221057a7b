//! loom model of the PENDING bit with queue, run and cancel.
//!
//! What it models (not the whole runtime, the protocol the runtime follows): an item's data
//! word has a PENDING bit; `queue` test-and-sets it and, only if it was clear, puts the item
//! on the pool's worklist under the pool lock; a worker pops the item under the lock and
//! clears PENDING *before* running it (so a queueing during the run queues it again);
//! `cancel` is the kernel's `try_to_grab_pending`: it either sets PENDING itself (the item
//! was idle), or finds the item on the worklist under the lock and steals it, or retries
//! (someone between "set PENDING" and "on the list"). The invariant checked: every queueing
//! that found the item idle is either run exactly once or stolen by exactly one cancel, and
//! PENDING ends clear.
//!
//! Run with `cargo xtask loom` (or `RUSTFLAGS="--cfg loom" cargo test -p cmwq --release
//! --test loom_pending`).
#![cfg(loom)]

use loom::sync::atomic::{AtomicUsize, Ordering};
use loom::sync::{Arc, Mutex};
use loom::thread;

const PENDING: usize = 1;

struct Model {
    data: AtomicUsize,
    worklist: Mutex<Vec<()>>, // the item is on the list iff len == 1
    queued: AtomicUsize,
    ran: AtomicUsize,
    stolen: AtomicUsize,
}

impl Model {
    fn new() -> Self {
        Model {
            data: AtomicUsize::new(0),
            worklist: Mutex::new(Vec::new()),
            queued: AtomicUsize::new(0),
            ran: AtomicUsize::new(0),
            stolen: AtomicUsize::new(0),
        }
    }

    fn queue(&self) -> bool {
        if self.data.fetch_or(PENDING, Ordering::AcqRel) & PENDING != 0 {
            return false;
        }
        self.queued.fetch_add(1, Ordering::Relaxed);
        let mut l = self.worklist.lock().unwrap();
        assert!(l.is_empty(), "an item is on one list once");
        l.push(());
        true
    }

    /// One worker pass: run the item if it is on the list.
    fn work_once(&self) -> bool {
        let mut l = self.worklist.lock().unwrap();
        if l.pop().is_none() {
            return false;
        }
        // set_work_pool_and_clear_pending, under the pool lock, before running.
        self.data.fetch_and(!PENDING, Ordering::Release);
        drop(l);
        self.ran.fetch_add(1, Ordering::Relaxed);
        true
    }

    /// try_to_grab_pending + clear: true if a queued instance was stolen.
    fn cancel(&self) -> bool {
        loop {
            if self.data.fetch_or(PENDING, Ordering::AcqRel) & PENDING == 0 {
                // It was idle: we own PENDING, nothing queued to steal.
                self.data.fetch_and(!PENDING, Ordering::Release);
                return false;
            }
            let mut l = self.worklist.lock().unwrap();
            if l.pop().is_some() {
                self.stolen.fetch_add(1, Ordering::Relaxed);
                self.data.fetch_and(!PENDING, Ordering::Release);
                return true;
            }
            drop(l);
            // PENDING set by a queuer not yet on the list: retry (the kernel's -EAGAIN).
            thread::yield_now();
        }
    }
}

#[test]
fn every_queueing_runs_once_or_is_cancelled_once() {
    loom::model(|| {
        let m = Arc::new(Model::new());
        let q = {
            let m = m.clone();
            thread::spawn(move || {
                m.queue();
                m.queue();
            })
        };
        let c = {
            let m = m.clone();
            thread::spawn(move || {
                m.cancel();
            })
        };
        m.work_once();
        q.join().unwrap();
        c.join().unwrap();
        while m.work_once() {}
        let queued = m.queued.load(Ordering::Relaxed);
        let ran = m.ran.load(Ordering::Relaxed);
        let stolen = m.stolen.load(Ordering::Relaxed);
        assert_eq!(
            queued,
            ran + stolen,
            "queued {queued} ran {ran} stolen {stolen}"
        );
        assert_eq!(m.data.load(Ordering::Relaxed) & PENDING, 0);
    });
}

#[test]
fn queueing_a_pending_item_is_a_no_op_and_a_running_one_requeues() {
    loom::model(|| {
        let m = Arc::new(Model::new());
        assert!(m.queue());
        let w = {
            let m = m.clone();
            thread::spawn(move || m.work_once())
        };
        // Either still pending (no-op) or already popped (queued again).
        let again = m.queue();
        assert!(w.join().unwrap());
        while m.work_once() {}
        let ran = m.ran.load(Ordering::Relaxed);
        assert_eq!(ran, 1 + usize::from(again));
    });
}
