//! The runtime emits the kernel's workqueue tracepoints as `tracing` events (target
//! `workqueue`), in the kernel's order for one item: queue, activate, execute start, end.

use std::sync::Arc;

use cmwq::{Affinity, Runtime, WorkHead, WorkId, WorkItem, impl_has_work};
use parking_lot::Mutex;
use tracing::field::{Field, Visit};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::{Context, SubscriberExt};

#[derive(Default)]
struct Fields {
    message: String,
    work: Option<u64>,
}
impl Visit for Fields {
    fn record_debug(&mut self, f: &Field, v: &dyn std::fmt::Debug) {
        if f.name() == "message" {
            self.message = format!("{v:?}");
        }
    }
    fn record_u64(&mut self, f: &Field, v: u64) {
        if f.name() == "work" {
            self.work = Some(v);
        }
    }
}

/// (event message, work address) of each `workqueue` event, in order.
type Events = Arc<Mutex<Vec<(String, Option<u64>)>>>;

/// Records every `workqueue` event.
struct Record(Events);
impl<S: tracing::Subscriber> Layer<S> for Record {
    fn on_event(&self, e: &tracing::Event<'_>, _: Context<'_, S>) {
        if e.metadata().target() == "workqueue" {
            let mut f = Fields::default();
            e.record(&mut f);
            self.0.lock().push((f.message, f.work));
        }
    }
}

struct Traced {
    work: WorkHead,
}
impl_has_work!(Traced { work });
impl WorkItem for Traced {
    fn run(_: Arc<Self>) {}
}

#[test]
fn one_item_emits_queue_activate_execute_start_and_end_in_order() {
    let log: Events = Arc::default();
    tracing::subscriber::set_global_default(
        tracing_subscriber::registry().with(Record(log.clone())),
    )
    .unwrap();
    let rt = Runtime::builder()
        .nr_cpus(1)
        .affinity(Affinity::Free)
        .watchdog_thresh(None)
        .build()
        .unwrap();
    let wq = rt.workqueue("traced").build().unwrap();
    let item = Arc::new(Traced {
        work: WorkHead::new::<Traced>(),
    });
    let addr = WorkId::of(&*item);
    wq.queue_work(item.clone()).unwrap();
    wq.flush_work(&item);
    let events: Vec<String> = log
        .lock()
        .iter()
        .filter(|(_, w)| w.map(|w| w as usize) == Some(addr.addr()))
        .map(|(m, _)| m.clone())
        .collect();
    assert_eq!(
        events,
        [
            "workqueue_queue_work",
            "workqueue_activate_work",
            "workqueue_execute_start",
            "workqueue_execute_end"
        ]
    );
}
