//! Defects found from the outside (misuse and edge inputs): each test names the behaviour
//! its fix restored and fails without it.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use cmwq::{
    Affinity, BuildError, Runtime, SpawnError, SpawnRequest, Spawner, ThreadBody, ThreadRole,
    ThreadSpawner, WQ_MEM_RECLAIM, WQ_UNBOUND, WqFlags,
};
use cmwq_pool::WqError;
use common::*;

/// A spawner that counts the rescuer threads alive, beside a `ThreadSpawner` whose stats
/// count the pool workers.
struct CountingSpawner {
    inner: Arc<ThreadSpawner>,
    rescuers_started: AtomicUsize,
    rescuers_alive: Arc<AtomicUsize>,
}

impl Spawner for CountingSpawner {
    fn spawn(&self, req: &SpawnRequest, body: ThreadBody) -> Result<(), SpawnError> {
        if !matches!(req.role, ThreadRole::Rescuer { .. }) {
            return self.inner.spawn(req, body);
        }
        self.rescuers_started.fetch_add(1, Ordering::SeqCst);
        self.rescuers_alive.fetch_add(1, Ordering::SeqCst);
        let alive = Arc::clone(&self.rescuers_alive);
        self.inner.spawn(
            req,
            Box::new(move || {
                body();
                alive.fetch_sub(1, Ordering::SeqCst);
            }),
        )
    }
}

fn quiet_runtime() -> cmwq::RuntimeBuilder {
    Runtime::builder()
        .nr_cpus(1)
        .affinity(Affinity::Free)
        .watchdog_thresh(None)
}

#[test]
#[cfg_attr(miri, ignore = "100 000 workqueues take too long under Miri")]
fn creating_and_dropping_100_000_workqueues_works_without_thread_growth() {
    let spawner = Arc::new(CountingSpawner {
        inner: Arc::new(ThreadSpawner::new()),
        rescuers_started: AtomicUsize::new(0),
        rescuers_alive: Arc::new(AtomicUsize::new(0)),
    });
    let rt = quiet_runtime()
        .spawner_arc(Arc::clone(&spawner) as Arc<dyn Spawner>)
        .build()
        .unwrap();
    let latch = Latch::new();
    let item = Counted::new(&latch);
    const N: usize = 100_000;
    for i in 0..N {
        // A queue per "connection", all on the one CPU's normal pool (more than its
        // 65536 pwq slots over the runtime's life), now and then one with a rescuer, and
        // an unbound one beside.
        let flags = match i % 5_000 {
            0 => WQ_MEM_RECLAIM,
            1 => WQ_UNBOUND,
            _ => WqFlags::empty(),
        };
        let wq = rt
            .workqueue("conn")
            .flags(flags)
            .build()
            .unwrap_or_else(|e| panic!("workqueue #{i}: {e}"));
        wq.queue_work(Arc::clone(&item)).unwrap();
        drop(wq); // drains: the item has run
    }
    assert_eq!(item.runs.load(Ordering::SeqCst), N, "every queueing ran");
    let stats = spawner.inner.stats();
    assert!(
        stats.live_workers <= 16 && stats.worker_attempts <= 32,
        "pool workers do not grow with the workqueues made: {stats:?}"
    );
    assert_eq!(spawner.rescuers_started.load(Ordering::SeqCst), N / 5_000);
    assert!(
        spawner.rescuers_alive.load(Ordering::SeqCst) <= 1,
        "a dropped workqueue's rescuer has exited (the last may still be returning)"
    );
}

#[test]
fn a_workqueue_name_with_a_control_character_is_refused_by_build() {
    let rt = quiet_runtime().build().unwrap();
    for name in ["evil\nline", "bell\u{7}", "\u{1b}[31mred"] {
        let e = rt.workqueue(name).build().unwrap_err();
        assert!(
            matches!(e, BuildError::Spec(WqError::NameHasControl { .. })),
            "{name:?}: {e}"
        );
    }
    assert!(
        !rt.show_all_workqueues().contains("evil"),
        "nothing of a refused workqueue reaches the dump"
    );
    rt.workqueue("plain name/0").build().unwrap();
}
