//! Items with several work heads (`Work<Self, ID>`): each head is a work item of its own to
//! the workqueue, queued, run, flushed, cancelled and disabled independently.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use cmwq::{QueueError, WQ_UNBOUND, Work, WorkId, WorkItem, impl_has_work};
use common::{GUARD, rt};
use parking_lot::Mutex;

const REFRESH: u64 = 0;
const RESET: u64 = 1;

/// A device with a refresh work and a reset work, as a kernel driver embeds two
/// `work_struct`s. The reset work can be held running (`hold`), and reports which item the
/// worker says it runs.
struct Device {
    refresh: Work<Self, REFRESH>,
    reset: Work<Self, RESET>,
    refreshes: AtomicUsize,
    resets: AtomicUsize,
    /// The reset run sends `current_work()` here when it starts.
    reset_started: Mutex<Option<mpsc::Sender<Option<WorkId>>>>,
    /// The reset run waits on this, when set, before it returns.
    hold: Mutex<Option<mpsc::Receiver<()>>>,
    /// The refresh run sends here when it has run.
    refreshed: Mutex<Option<mpsc::Sender<()>>>,
}
impl_has_work!(Device { refresh => REFRESH, reset => RESET });

impl WorkItem<REFRESH> for Device {
    fn run(this: Arc<Self>) {
        this.refreshes.fetch_add(1, Ordering::SeqCst);
        if let Some(tx) = &*this.refreshed.lock() {
            let _ = tx.send(());
        }
    }
    fn name(&self) -> &str {
        "device_refresh_fn"
    }
}

impl WorkItem<RESET> for Device {
    fn run(this: Arc<Self>) {
        this.resets.fetch_add(1, Ordering::SeqCst);
        if let Some(tx) = this.reset_started.lock().take() {
            let _ = tx.send(cmwq::current_work());
        }
        let hold = this.hold.lock().take();
        if let Some(rx) = hold {
            cmwq::blocking(|| rx.recv_timeout(GUARD).expect("released"));
        }
    }
    fn name(&self) -> &str {
        "device_reset_fn"
    }
}

fn device() -> Arc<Device> {
    Arc::new(Device {
        refresh: Work::new(),
        reset: Work::new(),
        refreshes: AtomicUsize::new(0),
        resets: AtomicUsize::new(0),
        reset_started: Mutex::new(None),
        hold: Mutex::new(None),
        refreshed: Mutex::new(None),
    })
}

fn runs(dev: &Device) -> (usize, usize) {
    (
        dev.refreshes.load(Ordering::SeqCst),
        dev.resets.load(Ordering::SeqCst),
    )
}

#[test]
fn two_heads_queued_at_once_each_run_their_own_function_once() {
    let rt = rt();
    let wq = rt.workqueue("device").flags(WQ_UNBOUND).build().unwrap();
    let dev = device();
    // Both heads queued while both are pending: neither queueing finds the other's.
    wq.queue_work::<Device, RESET>(Arc::clone(&dev)).unwrap();
    wq.queue_work::<Device, REFRESH>(Arc::clone(&dev)).unwrap();
    wq.flush_work::<Device, RESET>(&dev);
    wq.flush_work::<Device, REFRESH>(&dev);
    assert_eq!(runs(&dev), (1, 1));
    // Each queueing held one count of the Arc, and gave it back.
    assert_eq!(Arc::strong_count(&dev), 1);
}

#[test]
fn each_head_is_pending_flushed_and_cancelled_on_its_own() {
    let rt = rt();
    // max_active 1: while the reset work runs, the refresh work waits, pending.
    let wq = rt
        .workqueue("device-one")
        .flags(WQ_UNBOUND)
        .max_active(1)
        .build()
        .unwrap();
    let dev = device();
    let (started_tx, started) = mpsc::channel();
    let (release, hold) = mpsc::channel();
    *dev.reset_started.lock() = Some(started_tx);
    *dev.hold.lock() = Some(hold);

    wq.queue_work::<Device, RESET>(Arc::clone(&dev)).unwrap();
    let running = started.recv_timeout(GUARD).unwrap();
    assert_eq!(running, Some(WorkId::of::<Device, RESET>(&dev)));
    assert_ne!(running, Some(WorkId::of::<Device, REFRESH>(&dev)));

    wq.queue_work::<Device, REFRESH>(Arc::clone(&dev)).unwrap();
    let reset = wq.work_busy::<Device, RESET>(&dev);
    let refresh = wq.work_busy::<Device, REFRESH>(&dev);
    assert!(reset.running && !reset.pending, "{reset:?}");
    assert!(refresh.pending && !refresh.running, "{refresh:?}");
    // The dump names each head by its own function.
    let dump = wq.show();
    assert!(dump.contains("device_reset_fn"), "{dump}");
    assert!(dump.contains("device_refresh_fn"), "{dump}");

    // Pending refresh: queueing it again is a no-op; the running reset queues again.
    let again = wq
        .queue_work::<Device, REFRESH>(Arc::clone(&dev))
        .unwrap_err();
    assert!(again.is_already_pending());
    assert!(Arc::ptr_eq(&again.item, &dev));
    drop(again);
    wq.queue_work::<Device, RESET>(Arc::clone(&dev)).unwrap();

    // Cancelling one head leaves the other queued.
    assert!(
        wq.cancel_work::<Device, REFRESH>(&dev),
        "refresh was pending"
    );
    assert!(!wq.work_busy::<Device, REFRESH>(&dev).pending);
    assert!(wq.work_busy::<Device, RESET>(&dev).pending);

    release.send(()).unwrap();
    // Whether the flush finds the second reset run still to wait for (true) or already
    // over (false) is the race of any flush after a release; either way it returns after
    // that run.
    wq.flush_work::<Device, RESET>(&dev);
    assert_eq!(runs(&dev), (0, 2), "the cancelled refresh never ran");
    assert!(
        !wq.flush_work::<Device, REFRESH>(&dev),
        "nothing to wait for on the cancelled head"
    );

    // Disabling one head refuses only its queueing.
    assert!(!wq.disable_work::<Device, REFRESH>(&dev).unwrap());
    assert_eq!(
        wq.queue_work::<Device, REFRESH>(Arc::clone(&dev))
            .unwrap_err()
            .reason,
        QueueError::Disabled
    );
    wq.queue_work::<Device, RESET>(Arc::clone(&dev)).unwrap();
    wq.flush_work::<Device, RESET>(&dev);
    assert!(wq.enable_work::<Device, REFRESH>(&dev));
    wq.queue_work::<Device, REFRESH>(Arc::clone(&dev)).unwrap();
    wq.flush_work::<Device, REFRESH>(&dev);
    assert_eq!(runs(&dev), (1, 3));
    assert_eq!(Arc::strong_count(&dev), 1);
}

#[test]
fn two_heads_of_one_item_run_at_the_same_time() {
    // Non-reentrancy is per head, as per work_struct in the kernel: the reset run waits
    // for the refresh run, which can only happen if the refresh head runs meanwhile.
    let rt = rt();
    let wq = rt
        .workqueue("device-two")
        .flags(WQ_UNBOUND)
        .max_active(2)
        .build()
        .unwrap();
    let dev = device();
    let (refreshed_tx, refreshed) = mpsc::channel();
    let (started_tx, started) = mpsc::channel();
    *dev.refreshed.lock() = Some(refreshed_tx);
    *dev.reset_started.lock() = Some(started_tx);
    let (release, hold) = mpsc::channel();
    *dev.hold.lock() = Some(hold);

    wq.queue_work::<Device, RESET>(Arc::clone(&dev)).unwrap();
    started.recv_timeout(GUARD).unwrap();
    wq.queue_work::<Device, REFRESH>(Arc::clone(&dev)).unwrap();
    refreshed.recv_timeout(GUARD).unwrap();
    assert!(wq.work_busy::<Device, RESET>(&dev).running);
    release.send(()).unwrap();
    wq.flush();
    assert_eq!(runs(&dev), (1, 1));
}

#[test]
fn one_head_waits_on_its_delay_timer_while_the_other_runs() {
    let rt = rt();
    let wq = rt
        .workqueue("device-delayed")
        .flags(WQ_UNBOUND)
        .build()
        .unwrap();
    let dev = device();
    // A timer that does not fire during the test: the reset head stays on it.
    wq.queue_delayed_work::<Device, RESET>(Arc::clone(&dev), Duration::from_secs(3600))
        .unwrap();
    assert!(wq.work_busy::<Device, RESET>(&dev).pending);
    wq.queue_work::<Device, REFRESH>(Arc::clone(&dev)).unwrap();
    wq.flush_work::<Device, REFRESH>(&dev);
    assert_eq!(runs(&dev), (1, 0));
    assert!(
        wq.work_busy::<Device, RESET>(&dev).pending,
        "still on its timer"
    );
    assert!(wq.cancel_delayed_work::<Device, RESET>(&dev));
    assert_eq!(
        wq.work_busy::<Device, RESET>(&dev),
        cmwq::WorkBusy::default()
    );

    // Through a weak handle too, and flush_delayed_work of that head alone.
    let weak = wq.downgrade();
    weak.queue_delayed_work::<Device, RESET>(Arc::clone(&dev), Duration::from_secs(3600))
        .unwrap();
    assert!(
        weak.mod_delayed_work::<Device, RESET>(&dev, Duration::from_secs(7200))
            .unwrap()
    );
    assert!(
        wq.flush_delayed_work::<Device, RESET>(&dev),
        "it waited on its timer"
    );
    assert_eq!(runs(&dev), (1, 1));
    assert_eq!(Arc::strong_count(&dev), 1);
}

#[test]
fn an_item_with_one_head_needs_no_id() {
    // The id is inferred from the one `HasWork` impl: the calls of a one-head item read as
    // before several heads existed.
    struct Single {
        work: Work<Self>,
        runs: AtomicUsize,
    }
    impl_has_work!(Single { work });
    impl WorkItem for Single {
        fn run(this: Arc<Self>) {
            this.runs.fetch_add(1, Ordering::SeqCst);
        }
    }
    let rt = rt();
    let wq = rt.workqueue("single").build().unwrap();
    let item = Arc::new(Single {
        work: Work::new(),
        runs: AtomicUsize::new(0),
    });
    wq.queue_work(Arc::clone(&item)).unwrap();
    wq.flush_work(&item);
    assert!(!wq.cancel_work(&item));
    assert_eq!(wq.work_busy(&item), cmwq::WorkBusy::default());
    assert_eq!(item.runs.load(Ordering::SeqCst), 1);
}
