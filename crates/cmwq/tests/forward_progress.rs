//! Forward progress under total worker-creation failure: a WQ_MEM_RECLAIM workqueue
//! completes everything through its rescuer; a workqueue without one is reported stalled
//! by the lockup watchdog instead of hanging the test.

mod common;

use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use cmwq::{FailurePlan, Policy, Runtime, Stall, ThreadSpawner, Timings, WQ_MEM_RECLAIM};
use common::{Counted, GUARD, Latch, fast_timings};

const N: usize = 10_000;

fn failing_runtime(timings: Timings) -> Runtime {
    Runtime::builder()
        .nr_cpus(1)
        .timings(timings)
        .spawner(ThreadSpawner::new().failure(FailurePlan::Always))
        .build()
        .expect("runtime")
}

fn all_complete_through_the_rescuer(policy: impl cmwq::RescuerPolicy + 'static) {
    let rt = failing_runtime(fast_timings());
    let wq = rt
        .workqueue("reclaim")
        .flags(WQ_MEM_RECLAIM)
        .rescuer(policy)
        .build()
        .expect("a reclaim workqueue: its rescuer is created up front");
    let latch = Latch::new();
    let items: Vec<_> = (0..N).map(|_| Counted::new(&latch)).collect();
    for it in &items {
        wq.queue_work(Arc::clone(it)).expect("idle item queues");
    }
    latch.wait_for(N);
    assert!(
        items
            .iter()
            .all(|i| i.runs.load(std::sync::atomic::Ordering::SeqCst) == 1)
    );
    let stats = wq.stats();
    assert_eq!(stats.rescued, N as u64, "every item ran on the rescuer");
    assert!(stats.mayday >= 1);
    wq.flush();
}

#[test]
fn reclaim_wq_completes_every_item_through_the_rescuer_cursor() {
    all_complete_through_the_rescuer(Policy::Cursor);
}

#[test]
fn reclaim_wq_completes_every_item_through_the_rescuer_slurp() {
    all_complete_through_the_rescuer(Policy::Slurp);
}

#[test]
fn reclaim_wq_completes_every_item_through_the_rescuer_rescan() {
    all_complete_through_the_rescuer(Policy::Rescan);
}

/// A policy of the user's own: the 7.0 cursor policy, counting how often it is asked.
#[derive(Debug, Default)]
struct CountingCursor {
    asked: std::sync::atomic::AtomicU64,
}

impl cmwq::RescuerPolicy for CountingCursor {
    fn choose<'a>(
        &self,
        view: &cmwq::rescue::WorklistView<'a>,
        ctx: &cmwq::rescue::RescueCtx,
        take: &mut cmwq::rescue::Take<'_, 'a>,
    ) -> cmwq::rescue::Choice {
        self.asked
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        cmwq::rescue::Cursor.choose(view, ctx, take)
    }
}

#[test]
fn the_workqueue_builder_takes_a_policy_of_the_users_own() {
    let policy = Arc::new(CountingCursor::default());
    all_complete_through_the_rescuer(policy.clone());
    assert!(
        policy.asked.load(std::sync::atomic::Ordering::Relaxed) >= N as u64,
        "the rescuer asked the custom policy for every item"
    );
    // The unit types of the built-in policies are values too.
    all_complete_through_the_rescuer(cmwq::rescue::Slurp);
}

#[test]
fn wq_without_rescuer_is_reported_stalled_instead_of_hanging() {
    let (tx, rx) = mpsc::channel::<Stall>();
    let tx = parking_lot::Mutex::new(tx);
    let rt = Runtime::builder()
        .nr_cpus(1)
        .timings({
            let mut v = fast_timings();
            v.watchdog_thresh = Some(Duration::from_millis(20));
            v
        })
        .spawner(ThreadSpawner::new().failure(FailurePlan::Always))
        .lockup_hook(move |s| {
            let _ = tx.lock().send(s.clone());
        })
        .build()
        .unwrap();
    // Never dropped: destroying a stuck workqueue would wait for it (drain) forever, and a
    // failing assertion must fail the test, not hang it.
    let wq = std::mem::ManuallyDrop::new(rt.workqueue("plain").build().unwrap());
    let latch = Latch::new();
    let item = Counted::new(&latch);
    wq.queue_work(Arc::clone(&item)).unwrap();
    let stall = rx
        .recv_timeout(GUARD)
        .expect("the watchdog reports the stalled pool");
    assert!(
        stall.report.starts_with("BUG: workqueue lockup - pool"),
        "{}",
        stall.report
    );
    assert!(
        !rt.stalled().is_empty(),
        "stalled() agrees with the watchdog"
    );
    assert_eq!(
        latch.get(),
        0,
        "nothing ran: the pool's only worker is busy managing, and there is no rescuer"
    );
    let dump = rt.show_all_workqueues();
    assert!(dump.contains("workqueue plain: flags=0x0"), "{dump}");
    assert!(dump.contains("active=1"), "{dump}");
    assert!(dump.contains("pending: counted_func"), "{dump}");
    // As a kernel prints it: the pool kept its first worker, and that worker is the
    // manager trying to create another (`pool 2: ... flags=0x2 ... workers=1 manager: PID`).
    let pool = dump
        .lines()
        .find(|l| l.starts_with("pool "))
        .unwrap_or_else(|| panic!("a pool line: {dump}"));
    assert!(
        pool.contains(" flags=0x2 ") && pool.contains(" workers=1 manager: "),
        "{pool}"
    );
}

/// A spawner whose worker spawns block until the test opens its gate (as a spawn can block
/// under memory pressure); timer and rescuer threads are created at once.
struct GatedSpawner {
    inner: ThreadSpawner,
    open: parking_lot::Mutex<bool>,
    cv: parking_lot::Condvar,
    blocked: mpsc::SyncSender<()>,
}

impl cmwq::Spawner for GatedSpawner {
    fn spawn(
        &self,
        req: &cmwq::SpawnRequest,
        body: cmwq::ThreadBody,
    ) -> Result<(), cmwq::SpawnError> {
        if matches!(
            req.role,
            cmwq::ThreadRole::Worker { .. } | cmwq::ThreadRole::FirstWorker { .. }
        ) {
            let _ = self.blocked.try_send(());
            let mut open = self.open.lock();
            while !*open {
                self.cv.wait(&mut open);
            }
        }
        self.inner.spawn(req, body)
    }
}

#[test]
fn a_reclaim_item_is_rescued_while_a_worker_spawn_blocks() {
    let (blocked_tx, blocked_rx) = mpsc::sync_channel(64);
    let spawner = Arc::new(GatedSpawner {
        inner: ThreadSpawner::new(),
        open: parking_lot::Mutex::new(false),
        cv: parking_lot::Condvar::new(),
        blocked: blocked_tx,
    });
    let rt = Runtime::builder()
        .nr_cpus(1)
        .timings(fast_timings())
        .spawner_arc(Arc::clone(&spawner) as Arc<dyn cmwq::Spawner>)
        .build()
        .expect("runtime");
    let wq = rt
        .workqueue("reclaim")
        .flags(WQ_MEM_RECLAIM)
        .build()
        .expect("the rescuer spawns at once");
    // The pool's first worker is being created: its spawn blocks.
    blocked_rx.recv().expect("a worker spawn started");
    let (ran_tx, ran_rx) = mpsc::channel();
    let ran_tx = parking_lot::Mutex::new(ran_tx);
    let item = cmwq::work_fn("reclaim_fn", move || {
        let _ = ran_tx.lock().send(());
    });
    wq.queue_work(Arc::clone(&item)).expect("idle item queues");
    // No worker exists and the spawn is still blocked: only the rescuer, called by the
    // mayday timer, can run the item. (Were creation on the timer thread, the mayday
    // timer would wait for the spawn and this would never return.)
    ran_rx.recv().expect("the item ran");
    assert!(!*spawner.open.lock(), "the spawn is still blocked");
    assert_eq!(wq.stats().rescued, 1, "the rescuer ran it");
    *spawner.open.lock() = true;
    spawner.cv.notify_all();
    wq.flush();
}
