//! Handles: `current_workqueue()` and `WeakWorkqueue` (a self-re-arming item needs no
//! handle of its own; a destroyed workqueue's handle refuses), and the item `queue_fn`
//! returns (flushed and cancelled through it).

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use cmwq::{QueueError, WQ_UNBOUND, Work, WorkItem, current_workqueue, impl_has_work};
use common::{Counted, GUARD, Latch, rt};
use parking_lot::Mutex;

/// How a [`Rearm`] item queues itself again.
#[derive(Clone, Copy)]
enum How {
    Now,
    Delayed,
    ModDelayed,
}

/// An item that queues itself again through `current_workqueue()` while `left` > 0
/// (`usize::MAX`: for ever), and records the answer of its last re-arm.
struct Rearm {
    work: Work<Self>,
    how: How,
    left: AtomicUsize,
    runs: AtomicUsize,
    last: Mutex<Option<Result<(), QueueError>>>,
    latch: Arc<Latch>,
}
impl_has_work!(Rearm { work });
impl WorkItem for Rearm {
    fn run(this: Arc<Self>) {
        this.runs.fetch_add(1, Ordering::SeqCst);
        let left = this.left.load(Ordering::SeqCst);
        if left != usize::MAX {
            this.left.store(left.saturating_sub(1), Ordering::SeqCst);
        }
        if left > 1 {
            let wq = current_workqueue().expect("a work function runs on a workqueue");
            let r = match this.how {
                How::Now => wq.queue_work(Arc::clone(&this)).map_err(|r| r.reason),
                How::Delayed => wq
                    .queue_delayed_work(Arc::clone(&this), Duration::from_micros(100))
                    .map_err(|r| r.reason),
                How::ModDelayed => wq
                    .mod_delayed_work(&this, Duration::from_micros(100))
                    .map(|_| ()),
            };
            *this.last.lock() = Some(r);
        }
        this.latch.count_up();
    }
}
impl Rearm {
    fn new(how: How, n: usize) -> Arc<Self> {
        Arc::new(Rearm {
            work: Work::new(),
            how,
            left: AtomicUsize::new(n),
            runs: AtomicUsize::new(0),
            last: Mutex::new(None),
            latch: Latch::new(),
        })
    }
}

fn rearms_n_times_then_stops(how: How) {
    const N: usize = 5;
    let rt = rt();
    let wq = rt.workqueue("rearm").flags(WQ_UNBOUND).build().unwrap();
    let item = Rearm::new(how, N);
    wq.queue_work(Arc::clone(&item)).unwrap();
    item.latch.wait_for(N);
    // The N-th run queued nothing: the item is idle, and stays so.
    wq.flush();
    assert!(
        !wq.flush_work(&item),
        "nothing pending or running after the last run"
    );
    let busy = wq.work_busy(&item);
    assert!(!busy.pending && !busy.running);
    assert_eq!(item.runs.load(Ordering::SeqCst), N);
    assert_eq!(*item.last.lock(), Some(Ok(())), "every re-arm was accepted");
}

#[test]
fn a_self_rearming_item_requeues_through_current_workqueue_n_times_then_stops() {
    rearms_n_times_then_stops(How::Now);
}

#[test]
fn a_self_rearming_delayed_item_requeues_through_current_workqueue_n_times_then_stops() {
    rearms_n_times_then_stops(How::Delayed);
}

#[test]
fn a_self_rearming_item_mod_delays_itself_through_current_workqueue_n_times_then_stops() {
    rearms_n_times_then_stops(How::ModDelayed);
}

#[test]
fn a_weak_workqueue_can_be_shared_between_threads() {
    fn send_sync<T: Send + Sync + Clone>() {}
    send_sync::<cmwq::WeakWorkqueue>();
}

#[test]
fn a_weak_handle_queues_on_the_cpu_it_names_and_refuses_one_that_does_not_exist() {
    let rt = rt();
    let wq = rt.workqueue("percpu").build().unwrap();
    let weak = wq.downgrade();
    let (tx, rx) = mpsc::channel();
    let item = cmwq::work_fn("where_func", move || {
        let _ = tx.send(std::thread::current().name().map(str::to_owned));
    });
    weak.queue_work_on(1, Arc::clone(&item)).unwrap();
    let name = rx.recv_timeout(GUARD).unwrap().unwrap();
    assert!(
        name.starts_with("kworker/1:"),
        "ran on cpu 1's pool: {name}"
    );
    wq.flush_work(&item);
    weak.queue_delayed_work_on(0, Arc::clone(&item), Duration::ZERO)
        .unwrap();
    let name = rx.recv_timeout(GUARD).unwrap().unwrap();
    assert!(
        name.starts_with("kworker/0:"),
        "ran on cpu 0's pool: {name}"
    );
    wq.flush_work(&item);
    let r = weak.queue_work_on(7, Arc::clone(&item)).unwrap_err();
    assert!(
        matches!(r.reason, QueueError::NoSuchCpu { cpu: 7, .. }),
        "{:?}",
        r.reason
    );
}
#[test]
fn current_workqueue_is_none_outside_a_work_function() {
    assert!(current_workqueue().is_none());
}

#[test]
fn current_workqueue_names_the_items_own_workqueue() {
    let rt = rt();
    let _other = rt.workqueue("other").build().unwrap();
    let wq = rt.workqueue("mine").flags(WQ_UNBOUND).build().unwrap();
    let (tx, rx) = mpsc::channel();
    wq.queue_fn("ask_func", move || {
        let name = current_workqueue().and_then(|w| w.name());
        tx.send(name).unwrap();
    })
    .unwrap();
    assert_eq!(rx.recv_timeout(GUARD).unwrap().as_deref(), Some("mine"));
}

#[test]
fn a_destroyed_workqueues_handle_refuses_with_destroyed() {
    let rt = rt();
    let wq = rt.workqueue("gone").build().unwrap();
    let weak = wq.downgrade();
    assert!(!weak.is_destroyed());
    assert_eq!(weak.name().as_deref(), Some("gone"));
    // While it lives, the handle queues on it.
    let latch = Latch::new();
    let item = Counted::new(&latch);
    weak.queue_work(Arc::clone(&item)).unwrap();
    latch.wait_for(1);
    // A workqueue made after, which may reuse the destroyed one's id, gets nothing.
    drop(wq);
    let next = rt.workqueue("next").build().unwrap();
    assert!(weak.is_destroyed());
    assert_eq!(weak.name(), None);
    let r = weak.queue_work(Arc::clone(&item)).unwrap_err();
    assert_eq!(r.reason, QueueError::Destroyed);
    assert!(Arc::ptr_eq(&r.item, &item), "the item comes back");
    let r = weak
        .queue_delayed_work(Arc::clone(&item), Duration::ZERO)
        .unwrap_err();
    assert_eq!(r.reason, QueueError::Destroyed);
    assert_eq!(
        weak.mod_delayed_work(&item, Duration::ZERO),
        Err(QueueError::Destroyed)
    );
    next.flush();
    assert_eq!(
        latch.get(),
        1,
        "nothing ran after the workqueue was destroyed"
    );
    assert!(!next.work_busy(&item).pending);
}

#[test]
fn dropping_the_workqueue_ends_a_chain_that_rearms_for_ever() {
    let rt = rt();
    let wq = rt.workqueue("forever").flags(WQ_UNBOUND).build().unwrap();
    let item = Rearm::new(How::Now, usize::MAX);
    wq.queue_work(Arc::clone(&item)).unwrap();
    item.latch.wait_for(3);
    // Destruction refuses the handle's re-arms from its start, so its drain ends.
    drop(wq);
    assert_eq!(*item.last.lock(), Some(Err(QueueError::Destroyed)));
}

#[test]
fn queue_fn_returns_a_handle_that_flushes_it() {
    let rt = rt();
    let wq = rt.workqueue("fn-flush").flags(WQ_UNBOUND).build().unwrap();
    let ran = Arc::new(AtomicBool::new(false));
    let r = Arc::clone(&ran);
    let name = format!("owned_{}", 1);
    let h = wq
        .queue_fn(name, move || r.store(true, Ordering::SeqCst))
        .unwrap();
    assert_eq!(h.name(), "owned_1", "an owned name is the item's name");
    wq.flush_work(&h);
    assert!(
        ran.load(Ordering::SeqCst),
        "flush_work waited for the closure"
    );
    assert!(!wq.flush_work(&h), "done: nothing left to wait for");
}

#[test]
fn queue_fn_returns_a_handle_that_cancels_it() {
    let rt = rt();
    let wq = rt.workqueue("fn-cancel").ordered().build().unwrap();
    // An ordered workqueue runs one item at a time: a blocked first item keeps the
    // closure pending behind it.
    let (started_tx, started) = mpsc::channel();
    let (release, release_rx) = mpsc::channel::<()>();
    wq.queue_fn("block_func", move || {
        started_tx.send(()).unwrap();
        cmwq::blocking(|| release_rx.recv().unwrap());
    })
    .unwrap();
    started.recv_timeout(GUARD).unwrap();
    let ran = Arc::new(AtomicBool::new(false));
    let r = Arc::clone(&ran);
    let h = wq
        .queue_fn("cancelled_func", move || r.store(true, Ordering::SeqCst))
        .unwrap();
    assert!(wq.work_busy(&h).pending);
    assert!(wq.cancel_work(&h), "it was pending");
    release.send(()).unwrap();
    wq.flush();
    assert!(
        !ran.load(Ordering::SeqCst),
        "a cancelled closure never runs"
    );
    assert!(!wq.work_busy(&h).pending);
}

#[test]
fn a_weak_handle_keeps_neither_the_workqueue_nor_its_runtime_alive() {
    let rt = rt();
    let wq = rt.workqueue("short-lived").build().unwrap();
    let weak = wq.downgrade();
    drop(wq);
    drop(rt);
    let latch = Latch::new();
    let r = weak.queue_work(Counted::new(&latch)).unwrap_err();
    assert_eq!(r.reason, QueueError::Destroyed);
    assert!(weak.is_destroyed());
}
