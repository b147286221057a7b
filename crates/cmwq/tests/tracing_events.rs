//! The runtime emits the kernel's workqueue tracepoints as `tracing` events (target
//! `workqueue`), in the kernel's order for one item: queue, activate, execute start, end.

use std::sync::{Arc, OnceLock};

use cmwq::{Affinity, Runtime, Work, WorkId, WorkItem, impl_has_work};
use parking_lot::{Condvar, Mutex};
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
    work: Work<Self>,
}
impl_has_work!(Traced { work });
impl WorkItem for Traced {
    fn run(_: Arc<Self>) {}
}

/// The events of every test in this file: one global subscriber (worker threads emit
/// events too), installed once; each test keeps the events of its own items by address.
fn log() -> Events {
    static LOG: OnceLock<Events> = OnceLock::new();
    LOG.get_or_init(|| {
        let log: Events = Arc::default();
        tracing::subscriber::set_global_default(
            tracing_subscriber::registry().with(Record(log.clone())),
        )
        .unwrap();
        log
    })
    .clone()
}

/// The messages of the events about the item at `addr`, in order.
fn events_of(log: &Events, addr: WorkId) -> Vec<String> {
    log.lock()
        .iter()
        .filter(|(_, w)| w.map(|w| w as usize) == Some(addr.addr()))
        .map(|(m, _)| m.clone())
        .collect()
}

#[test]
fn one_item_emits_queue_activate_execute_start_and_end_in_order() {
    let log = log();
    let rt = Runtime::builder()
        .nr_cpus(1)
        .affinity(Affinity::Free)
        .watchdog_thresh(None)
        .build()
        .unwrap();
    let wq = rt.workqueue("traced").build().unwrap();
    let item = Arc::new(Traced { work: Work::new() });
    let addr = WorkId::of(&*item);
    wq.queue_work(item.clone()).unwrap();
    wq.flush_work(&item);
    assert_eq!(
        events_of(&log, addr),
        [
            "workqueue_queue_work",
            "workqueue_activate_work",
            "workqueue_execute_start",
            "workqueue_execute_end"
        ]
    );
}

/// An item that waits, while running, until the test opens its gate.
struct Gated {
    work: Work<Self>,
    open: Mutex<bool>,
    opened: Condvar,
}
impl_has_work!(Gated { work });
impl WorkItem for Gated {
    fn run(this: Arc<Self>) {
        let mut open = this.open.lock();
        while !*open {
            this.opened.wait(&mut open);
        }
    }
}

#[test]
fn an_item_held_back_by_max_active_is_activated_when_its_predecessor_ends() {
    let log = log();
    let rt = Runtime::builder()
        .nr_cpus(1)
        .affinity(Affinity::Free)
        .watchdog_thresh(None)
        .build()
        .unwrap();
    let wq = rt.workqueue("traced-max1").max_active(1).build().unwrap();
    let first = Arc::new(Gated {
        work: Work::new(),
        open: Mutex::new(false),
        opened: Condvar::new(),
    });
    let second = Arc::new(Traced { work: Work::new() });
    wq.queue_work(first.clone()).unwrap();
    // `first` holds the only max_active slot until its gate opens: `second` waits inactive.
    wq.queue_work(second.clone()).unwrap();
    *first.open.lock() = true;
    first.opened.notify_all();
    wq.flush_work(&second);

    let (a, b) = (WorkId::of(&*first), WorkId::of(&*second));
    assert_eq!(
        events_of(&log, b),
        [
            "workqueue_queue_work",
            "workqueue_activate_work",
            "workqueue_execute_start",
            "workqueue_execute_end"
        ],
        "the inactive item is activated once, when a max_active slot frees up"
    );
    // The second item's activation follows the first item's end, as in the kernel
    // (execute_end, then pwq_dec_nr_in_flight activates the next inactive item).
    let all = log.lock().clone();
    let pos = |addr: WorkId, msg: &str| {
        all.iter()
            .position(|(m, w)| m == msg && w.map(|w| w as usize) == Some(addr.addr()))
            .unwrap_or_else(|| panic!("no {msg} event for {addr:?}"))
    };
    assert!(
        pos(b, "workqueue_activate_work") > pos(a, "workqueue_execute_end"),
        "the second item is activated only after the first one ends"
    );
}
