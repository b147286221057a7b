//! loom model of the rescuer/worker handoff.
//!
//! What it models: a pool's worklist served by a normal worker and a rescuer under the pool
//! lock. Each records the item it runs (`current`); before running an item, a thread checks
//! whether the other one runs that same item and, if so, hands it to the other's
//! `scheduled` list instead (the kernel's `find_worker_executing_work` /
//! `assign_work`), and a thread that finishes an item clears `current` and looks at its
//! `scheduled` list in the same critical section. A producer requeues item 0 while it may be
//! running. Invariants: an item never runs on two threads at once, and every queueing runs
//! exactly once (nothing is stranded on a `scheduled` list).
//!
//! Run with `cargo xtask loom` (or `RUSTFLAGS="--cfg loom" cargo test -p cmwq --release
//! --test loom_handoff`).
#![cfg(loom)]

use std::collections::VecDeque;

use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use loom::sync::{Arc, Mutex};
use loom::thread;

const N: usize = 2;

#[derive(Default)]
struct Pool {
    worklist: VecDeque<usize>,
    current: [Option<usize>; 2],
    scheduled: [VecDeque<usize>; 2],
}

struct Model {
    pool: Mutex<Pool>,
    running: [AtomicBool; N],
    runs: [AtomicUsize; N],
}

impl Model {
    /// Thread `me` (0 = worker, 1 = rescuer) works until it finds nothing to do.
    fn serve(&self, me: usize) {
        let other = 1 - me;
        let mut p = self.pool.lock().unwrap();
        loop {
            let item = match p.scheduled[me].pop_front() {
                Some(i) => i,
                None => match p.worklist.pop_front() {
                    Some(i) => i,
                    None => return,
                },
            };
            if p.current[other] == Some(item) {
                // Non-reentrancy: the other thread runs it; queue it behind that run.
                p.scheduled[other].push_back(item);
                continue;
            }
            p.current[me] = Some(item);
            drop(p);
            assert!(
                !self.running[item].swap(true, Ordering::AcqRel),
                "item {item} ran on two threads at once"
            );
            self.runs[item].fetch_add(1, Ordering::Relaxed);
            self.running[item].store(false, Ordering::Release);
            p = self.pool.lock().unwrap();
            p.current[me] = None;
        }
    }
}

#[test]
fn handoff_never_runs_an_item_twice_at_once_and_strands_nothing() {
    loom::model(|| {
        let mut pool = Pool::default();
        pool.worklist.extend(0..N);
        let m = Arc::new(Model {
            pool: Mutex::new(pool),
            running: Default::default(),
            runs: Default::default(),
        });
        let rescuer = {
            let m = m.clone();
            thread::spawn(move || m.serve(1))
        };
        let producer = {
            let m = m.clone();
            thread::spawn(move || m.pool.lock().unwrap().worklist.push_back(0))
        };
        m.serve(0);
        producer.join().unwrap();
        rescuer.join().unwrap();
        // Whatever was queued after both went idle is picked up by the next wake-up.
        m.serve(0);
        let p = m.pool.lock().unwrap();
        assert!(p.scheduled.iter().all(VecDeque::is_empty), "stranded items");
        assert_eq!(m.runs[0].load(Ordering::Relaxed), 2);
        assert_eq!(m.runs[1].load(Ordering::Relaxed), 1);
    });
}
