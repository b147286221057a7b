//! loom model of the worker/rescuer handoff on the real core: a `System` under a loom
//! mutex (the pool lock), a normal worker and the workqueue's rescuer serving the same
//! pool, and a producer that queues an item again while it may be running. The items'
//! data words are loom atomics (cmwq-work's `sync` module), everything else is the code
//! that ships.
//!
//! Set up single-threaded: item `A` is queued, the pool's only worker becomes the manager
//! and its worker creation fails, the mayday timer calls the rescuer. Then three threads:
//! a worker is created at last and the workers serve the pool, the rescuer serves its
//! maydays, the producer queues `A` again. Invariants: `A` never runs on two threads at once (the
//! core's non-reentrancy: `assign_work` hands it to the worker already running it), and
//! it runs exactly once per queueing that found it idle (nothing is stranded on a
//! `scheduled` list).
//!
//! Run with `cargo xtask loom` (or `RUSTFLAGS="--cfg loom" cargo test -p cmwq-pool
//! --release --test loom_handoff`).
#![cfg(loom)]

use std::sync::Arc as StdArc;

use cmwq_pool::{
    Action, Actions, MAYDAY_INITIAL_TIMEOUT, Next, Policy, PoolKind, Priority, QueueError,
    QueueFrom, RescuerStep, System, SystemConfig, WorkerId, WqFlags, WqId, WqSpec,
};
use cmwq_work::{Work, WorkItem, WorkRef, impl_has_work};
use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use loom::sync::{Arc, Mutex};
use loom::thread;

struct Item {
    work: Work<Self>,
    running: AtomicBool,
    runs: AtomicUsize,
}
impl_has_work!(Item { work });
impl WorkItem for Item {
    fn run(this: StdArc<Self>) {
        assert!(
            !this.running.swap(true, Ordering::SeqCst),
            "an item runs on two threads at once"
        );
        this.runs.fetch_add(1, Ordering::SeqCst);
        this.running.store(false, Ordering::SeqCst);
    }
}

fn item() -> StdArc<Item> {
    StdArc::new(Item {
        work: Work::new(),
        running: AtomicBool::new(false),
        runs: AtomicUsize::new(0),
    })
}

const NOW: u64 = MAYDAY_INITIAL_TIMEOUT;

/// A worker serves the pool until it is idle: take an item under the lock, run it outside,
/// report it under the lock.
fn serve_worker(sys: &Mutex<System>, w: WorkerId) {
    loop {
        let mut out = Actions::new();
        let next = sys.lock().unwrap().next_work(w, NOW, &mut out);
        match next {
            Next::Run(work) => {
                work.run();
                sys.lock().unwrap().work_done(w, 1, NOW, &mut out);
            }
            Next::Idle | Next::Manage | Next::Exit => return,
        }
    }
}

/// The rescuer serves its maydays until none is left.
fn serve_rescuer(sys: &Mutex<System>, wq: WqId, r: WorkerId) {
    loop {
        let mut out = Actions::new();
        let step = sys.lock().unwrap().rescuer_step(wq, NOW, &mut out);
        match step {
            RescuerStep::Run { work, .. } => {
                work.run();
                sys.lock().unwrap().work_done(r, 1, NOW, &mut out);
            }
            RescuerStep::Sleep => return,
        }
    }
}

#[test]
fn handoff_never_runs_an_item_twice_at_once_and_strands_nothing() {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(2);
    builder.check(|| {
        let mut sys = System::new(SystemConfig { nr_cpus: 1 });
        let mut out = Actions::new();
        let wq = sys
            .alloc_workqueue(
                WqSpec::new("reclaim", WqFlags::MEM_RECLAIM).policy(Policy::Cursor),
                0,
                &mut out,
            )
            .expect("a reclaim workqueue");
        // Every pool the workqueue uses gets its first worker; CPU 0's normal pool is the
        // one the items go to.
        let pool = PoolKind::PerCpu {
            cpu: 0,
            pri: Priority::Normal,
        }
        .percpu_pool_id()
        .expect("a per-CPU pool");
        let mut w = None;
        for act in out.drain().collect::<Vec<_>>() {
            if let Action::CreateWorker { pool: p } = act {
                let id = sys.worker_created(p, 0, &mut out);
                if p == pool {
                    w = Some(id);
                }
            }
        }
        let w = w.expect("CPU 0's normal pool asked for a worker");
        // A new worker starts by asking for work: there is none, it goes idle.
        assert!(matches!(sys.next_work(w, 0, &mut out), Next::Idle));
        out.drain().for_each(drop);
        // Item `A` is queued; the worker wakes, finds no idle worker to leave behind and
        // becomes the manager, whose worker creation fails: the pool stalls, and its
        // mayday timer calls the rescuer.
        let a = item();
        sys.queue_work(
            wq,
            None,
            WorkRef::from_arc(a.clone()),
            QueueFrom::Outside,
            0,
            &mut out,
        )
        .expect("idle");
        assert!(matches!(sys.next_work(w, 0, &mut out), Next::Manage));
        for act in out.drain().collect::<Vec<_>>() {
            if let Action::CreateWorker { pool } = act {
                sys.worker_create_failed(pool, 0, &mut out);
            }
        }
        sys.mayday_timeout(pool, NOW, &mut out);
        assert!(
            out.drain().any(|a| matches!(a, Action::WakeRescuer { .. })),
            "the rescuer is called"
        );
        let r = sys
            .rescuer_id(wq)
            .expect("a MEM_RECLAIM workqueue has a rescuer");
        let sys = Arc::new(Mutex::new(sys));

        // Pressure ends: a second worker is created, and both workers serve the pool.
        let worker = {
            let sys = sys.clone();
            thread::spawn(move || {
                let mut out = Actions::new();
                let w2 = sys.lock().unwrap().worker_created(pool, NOW, &mut out);
                serve_worker(&sys, w);
                serve_worker(&sys, w2);
            })
        };
        let rescuer = {
            let sys = sys.clone();
            thread::spawn(move || serve_rescuer(&sys, wq, r))
        };
        let producer = {
            let (sys, a) = (sys.clone(), a.clone());
            thread::spawn(move || {
                let mut out = Actions::new();
                let r = sys.lock().unwrap().queue_work(
                    wq,
                    None,
                    WorkRef::from_arc(a),
                    QueueFrom::Outside,
                    NOW,
                    &mut out,
                );
                match r {
                    Ok(()) => true,
                    Err((QueueError::AlreadyPending, _)) => false,
                    Err((e, _)) => panic!("queue_work: {e}"),
                }
            })
        };
        worker.join().unwrap();
        rescuer.join().unwrap();
        let requeued = producer.join().unwrap();
        // Whatever is still queued runs now (the producer may have come last).
        serve_worker(&sys, w);
        serve_rescuer(&sys, wq, r);
        let queueings = 1 + usize::from(requeued);
        assert_eq!(
            a.runs.load(Ordering::SeqCst),
            queueings,
            "one run per queueing"
        );
        let s = sys.lock().unwrap();
        for p in s.pools() {
            p.check_consistency().unwrap();
            assert_eq!(p.worklist_len(), 0, "nothing stranded");
        }
    });
}
