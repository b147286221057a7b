//! A pool that cannot get a worker is reported at once (a `warn` event naming the pool and
//! the spawn error, once per stall, long before the lockup watchdog), and a caller can give
//! up waiting on its work with the `*_timeout` flushes.

mod common;

use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

use cmwq::{
    Affinity, FailSwitch, FailurePlan, FlushError, Runtime, SpawnError, SpawnRequest, Spawner,
    ThreadBody, ThreadRole, ThreadSpawner,
};
use common::*;
use parking_lot::Mutex;
use tracing::field::{Field, Visit};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::{Context, SubscriberExt};

#[derive(Default, Clone, Debug)]
struct Warn {
    pool: Option<u64>,
    error: String,
    message: String,
}
impl Visit for Warn {
    fn record_debug(&mut self, f: &Field, v: &dyn std::fmt::Debug) {
        match f.name() {
            "message" => self.message = format!("{v:?}"),
            "error" => self.error = format!("{v:?}"),
            _ => {}
        }
    }
    fn record_u64(&mut self, f: &Field, v: u64) {
        if f.name() == "pool" {
            self.pool = Some(v);
        }
    }
}

/// Records the `warn` events of target `workqueue`.
struct Record(Arc<Mutex<Vec<Warn>>>);
impl<S: tracing::Subscriber> Layer<S> for Record {
    fn on_event(&self, e: &tracing::Event<'_>, _: Context<'_, S>) {
        let m = e.metadata();
        if m.target() == "workqueue" && *m.level() == tracing::Level::WARN {
            let mut w = Warn::default();
            e.record(&mut w);
            self.0.lock().push(w);
        }
    }
}

/// Reports each worker creation attempt on a channel.
struct Attempts {
    inner: ThreadSpawner,
    tx: Mutex<mpsc::Sender<()>>,
}
impl Spawner for Attempts {
    fn spawn(&self, req: &SpawnRequest, body: ThreadBody) -> Result<(), SpawnError> {
        let r = self.inner.spawn(req, body);
        if matches!(req.role, ThreadRole::Worker { .. }) {
            let _ = self.tx.lock().send(());
        }
        r
    }
}

#[test]
fn a_pool_that_cannot_get_a_worker_is_reported_once_and_flushes_can_give_up() {
    let warns: Arc<Mutex<Vec<Warn>>> = Arc::default();
    tracing::subscriber::set_global_default(
        tracing_subscriber::registry().with(Record(Arc::clone(&warns))),
    )
    .unwrap();
    let pressure = FailSwitch::failing();
    let (tx, attempts) = mpsc::channel();
    let rt = Runtime::builder()
        .nr_cpus(1)
        .affinity(Affinity::Free)
        .timings(fast_timings())
        .spawner(Attempts {
            inner: ThreadSpawner::new().failure(FailurePlan::Switch(pressure.clone())),
            tx: Mutex::new(tx),
        })
        .build()
        .unwrap();
    let wq = rt.workqueue("no-rescuer").build().unwrap();
    let latch = Latch::new();
    let item = Counted::new(&latch);
    wq.queue_work(Arc::clone(&item)).unwrap();
    // Three failed attempts (the first, and two retries after CREATE_COOLDOWN)...
    for _ in 0..3 {
        attempts.recv_timeout(GUARD).expect("creation is retried");
    }
    // ...and one warning, naming the pool (CPU 0's normal pool is pool 2) and the error.
    let reported: Vec<Warn> = warns
        .lock()
        .iter()
        .filter(|w| w.pool == Some(2))
        .cloned()
        .collect();
    assert_eq!(reported.len(), 1, "once per stall: {reported:?}");
    assert!(reported[0].error.contains("injected"), "{reported:?}");
    assert!(
        reported[0].message.contains("cannot create a worker"),
        "{reported:?}"
    );
    // A caller can give up waiting (the short timeout is the behaviour under test).
    let short = Duration::from_millis(5);
    assert_eq!(
        wq.flush_work_timeout(&item, short),
        Err(FlushError::TimedOut { timeout: short })
    );
    assert_eq!(
        wq.flush_timeout(short),
        Err(FlushError::TimedOut { timeout: short })
    );
    assert_eq!(
        wq.drain_timeout(short),
        Err(FlushError::TimedOut { timeout: short })
    );
    // Once workers can be created, the item runs, and everything flushes.
    pressure.stop_failing();
    latch.wait_for(1);
    assert_eq!(wq.flush_timeout(GUARD), Ok(()));
    assert_eq!(wq.drain_timeout(GUARD), Ok(()));
}
