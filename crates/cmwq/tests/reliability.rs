//! Defects found from the outside (misuse and edge inputs): each test names the behaviour
//! its fix restored and fails without it.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use cmwq::{
    Affinity, BuildError, DisableError, Runtime, SpawnError, SpawnRequest, Spawner, ThreadBody,
    ThreadRole, ThreadSpawner, WQ_MEM_RECLAIM, WQ_UNBOUND, WqFlags,
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

#[test]
fn a_delay_of_duration_max_saturates_and_leaves_the_item_usable() {
    let rt = quiet_runtime().build().unwrap();
    let wq = rt.workqueue("delays").flags(WQ_UNBOUND).build().unwrap();
    let latch = Latch::new();
    let item = Counted::new(&latch);
    wq.queue_delayed_work(Arc::clone(&item), Duration::MAX)
        .unwrap();
    assert!(wq.work_busy(&item).pending, "it waits on its timer");
    // mod_delayed_work with the longest delay, then back to now: the item runs once.
    assert!(wq.mod_delayed_work(&item, Duration::MAX).unwrap());
    assert!(wq.mod_delayed_work(&item, Duration::ZERO).unwrap());
    latch.wait_for(1);
    // Waiting "forever" on the timer, then flushed: it runs at once.
    wq.queue_delayed_work(Arc::clone(&item), Duration::MAX)
        .unwrap();
    assert!(wq.flush_delayed_work(&item));
    assert_eq!(item.runs.load(Ordering::SeqCst), 2);
    // And cancelled from its timer.
    wq.queue_delayed_work_on(0, Arc::clone(&item), Duration::MAX)
        .unwrap();
    assert!(wq.cancel_delayed_work_sync(&item));
    assert!(!wq.work_busy(&item).pending);
    assert_eq!(item.runs.load(Ordering::SeqCst), 2);
}

#[test]
fn timings_of_duration_max_saturate_instead_of_panicking() {
    let rt = Runtime::builder()
        .nr_cpus(1)
        .affinity(Affinity::Free)
        .watchdog_thresh(Some(Duration::MAX))
        .cpu_intensive_thresh(Duration::MAX)
        .build()
        .unwrap();
    let wq = rt.workqueue("slow-clocks").build().unwrap();
    let latch = Latch::new();
    let item = Counted::new(&latch);
    wq.queue_work(Arc::clone(&item)).unwrap();
    latch.wait_for(1);
}

#[test]
fn disabling_past_the_count_limit_is_refused_and_no_enable_is_lost() {
    let rt = quiet_runtime().build().unwrap();
    let wq = rt.workqueue("disables").build().unwrap();
    let latch = Latch::new();
    let item = Counted::new(&latch);
    for _ in 0..u16::MAX {
        assert!(!wq.disable_work(&item).unwrap());
    }
    assert_eq!(
        wq.disable_work(&item),
        Err(DisableError::Overflow { count: u16::MAX })
    );
    assert_eq!(
        wq.disable_work_sync(&item),
        Err(DisableError::Overflow { count: u16::MAX })
    );
    // Every accepted disable has its enable: the last one makes the item queueable.
    for left in (0..u16::MAX).rev() {
        assert_eq!(wq.enable_work(&item), left == 0);
    }
    wq.queue_work(Arc::clone(&item)).unwrap();
    latch.wait_for(1);
}
