//! What a researcher sees happen: `tracing` events (target `workqueue`) for a mayday sent,
//! the rescuer attaching to and leaving a pool, and a worker created and destroyed. The
//! kernel has no tracepoints for these; the names follow its style
//! (`workqueue_send_mayday`, `workqueue_rescuer_attach`, `workqueue_rescuer_detach`,
//! `workqueue_worker_create`, `workqueue_worker_destroy`), and the worker events carry
//! the pool's `nr_workers` and `nr_idle`.

mod harness;

use std::sync::Arc;

use cmwq_pool::{
    CREATE_COOLDOWN, IDLE_WORKER_TIMEOUT, MAYDAY_INITIAL_TIMEOUT, Policy, WqFlags, WqSpec,
};
use harness::*;
use std::sync::Mutex;
use tracing::field::{Field, Visit};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::{Context, SubscriberExt};

#[derive(Default)]
struct Fields {
    message: String,
    nr_workers: Option<u64>,
}
impl Visit for Fields {
    fn record_debug(&mut self, f: &Field, v: &dyn std::fmt::Debug) {
        if f.name() == "message" {
            self.message = format!("{v:?}");
        }
    }
    fn record_u64(&mut self, f: &Field, v: u64) {
        if f.name() == "nr_workers" {
            self.nr_workers = Some(v);
        }
    }
}

type Log = Arc<Mutex<Vec<(String, Option<u64>)>>>;
struct Record(Log);
impl<S: tracing::Subscriber> Layer<S> for Record {
    fn on_event(&self, e: &tracing::Event<'_>, _: Context<'_, S>) {
        if e.metadata().target() == "workqueue" {
            let mut f = Fields::default();
            e.record(&mut f);
            self.0.lock().unwrap().push((f.message, f.nr_workers));
        }
    }
}

fn recorded(f: impl FnOnce()) -> Vec<(String, Option<u64>)> {
    let log: Log = Arc::default();
    let sub = tracing_subscriber::registry().with(Record(log.clone()));
    tracing::subscriber::with_default(sub, f);
    log.lock().unwrap().clone()
}

fn names(events: &[(String, Option<u64>)], prefix: &str) -> Vec<String> {
    events
        .iter()
        .map(|(m, _)| m.clone())
        .filter(|m| m.starts_with(prefix))
        .collect()
}

#[test]
fn a_rescue_emits_mayday_attach_and_detach_and_the_new_worker_its_creation() {
    let events = recorded(|| {
        let mut h = Harness::new(1);
        let wq = h.alloc(WqSpec::new("reclaim_wq", WqFlags::MEM_RECLAIM).policy(Policy::Cursor));
        h.create_fails = true;
        for _ in 0..2 {
            let s = h.item("sibling_fn");
            h.queue(wq, &s).unwrap();
        }
        // The mayday timer calls the rescuer, which runs both items and leaves.
        h.advance_to(MAYDAY_INITIAL_TIMEOUT + 1);
        assert_eq!(h.count_ran("sibling_fn"), 2);
        // Pressure ends: the retry creates the pool's worker.
        h.create_fails = false;
        h.advance(CREATE_COOLDOWN);
    });
    let ours = names(&events, "workqueue_");
    let pos = |n: &str| {
        ours.iter()
            .position(|m| m == n)
            .unwrap_or_else(|| panic!("no {n} in {ours:?}"))
    };
    assert!(pos("workqueue_send_mayday") < pos("workqueue_rescuer_attach"));
    assert!(pos("workqueue_rescuer_attach") < pos("workqueue_rescuer_detach"));
    pos("workqueue_worker_create");
    // The worker event carries the pool's counts after the change: one worker.
    let creations: Vec<Option<u64>> = events
        .iter()
        .filter(|(m, _)| m == "workqueue_worker_create")
        .map(|(_, n)| *n)
        .collect();
    assert_eq!(creations, [Some(1)]);
}

#[test]
fn culling_an_idle_worker_emits_its_destruction_with_the_pools_counts() {
    let events = recorded(|| {
        let mut h = Harness::new(1);
        let wq = h.alloc(WqSpec::new("events", WqFlags::empty()));
        // Five items that sleep at once need five workers; when they finish, the pool has
        // more idle workers than it keeps, and the idle timer culls the surplus.
        h.blocking.push("nap_fn".into());
        for _ in 0..5 {
            let i = h.item("nap_fn");
            h.queue(wq, &i).unwrap();
        }
        h.release_all("nap_fn");
        h.advance(2 * IDLE_WORKER_TIMEOUT);
    });
    let destroyed: Vec<Option<u64>> = events
        .iter()
        .filter(|(m, _)| m == "workqueue_worker_destroy")
        .map(|(_, n)| *n)
        .collect();
    assert!(!destroyed.is_empty(), "{events:?}");
    assert!(
        destroyed.iter().all(|n| n.is_some_and(|n| n >= 2)),
        "{destroyed:?}"
    );
}
