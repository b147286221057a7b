//! The case reported against the pre-7.0 rescuer, on real threads: under memory pressure a
//! rescued item blocks (inside the blocking scope) until the test releases it; pressure ends
//! meanwhile. Under Cursor the blocked item's siblings complete on a normal worker while it
//! is still blocked; under Slurp they were taken by the rescuer along with it and complete
//! only after it is released. The test asserts the order of events, not durations.

mod common;

use std::sync::Arc;
use std::sync::mpsc;

use cmwq::{
    FailSwitch, FailurePlan, Policy, Runtime, ThreadSpawner, WQ_MEM_RECLAIM, Work, WorkItem,
    impl_has_work,
};
use common::{GUARD, Observed, fast_timings};
use parking_lot::Mutex;

const SIBLINGS: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Event {
    BlockerStarted { on_rescuer: bool },
    BlockerReleased,
    BlockerDone,
    SiblingDone(usize),
}

type Log = Arc<Mutex<Vec<Event>>>;

struct Blocker {
    work: Work<Self>,
    log: Log,
    started: Mutex<Option<mpsc::Sender<()>>>,
    release: Mutex<Option<mpsc::Receiver<()>>>,
}
impl_has_work!(Blocker { work });
impl WorkItem for Blocker {
    fn run(this: Arc<Self>) {
        this.log.lock().push(Event::BlockerStarted {
            on_rescuer: cmwq::current_is_workqueue_rescuer(),
        });
        if let Some(tx) = this.started.lock().take() {
            let _ = tx.send(());
        }
        let rx = this.release.lock().take().expect("runs once");
        cmwq::blocking(|| rx.recv().expect("released"));
        this.log.lock().push(Event::BlockerDone);
    }
    fn name(&self) -> &str {
        "xfs_end_io"
    }
}

struct Sibling {
    work: Work<Self>,
    i: usize,
    log: Log,
    done: mpsc::Sender<()>,
}
impl_has_work!(Sibling { work });
impl WorkItem for Sibling {
    fn run(this: Arc<Self>) {
        this.log.lock().push(Event::SiblingDone(this.i));
        let _ = this.done.send(());
    }
    fn name(&self) -> &str {
        "xfs_end_io"
    }
}

/// Runs the scenario; returns the event log.
fn scenario(policy: Policy) -> Vec<Event> {
    let pressure = FailSwitch::failing();
    let (spawner, created, rescuer_gate) =
        Observed::new(ThreadSpawner::new().failure(FailurePlan::Switch(pressure.clone())));
    let rt = Runtime::builder()
        .nr_cpus(1)
        .timings(fast_timings())
        .spawner(spawner)
        .build()
        .unwrap();
    let wq = rt
        .workqueue("xfs-conv/sda1")
        .flags(WQ_MEM_RECLAIM)
        .rescuer(policy.clone())
        .build()
        .unwrap();
    let log: Log = Arc::default();
    let (started_tx, started_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel();
    let blocker = Arc::new(Blocker {
        work: Work::new(),
        log: log.clone(),
        started: Mutex::new(Some(started_tx)),
        release: Mutex::new(Some(release_rx)),
    });
    let (done_tx, done_rx) = mpsc::channel();
    wq.queue_work(blocker.clone()).unwrap();
    for i in 0..SIBLINGS {
        let s = Arc::new(Sibling {
            work: Work::new(),
            i,
            log: log.clone(),
            done: done_tx.clone(),
        });
        wq.queue_work(s).unwrap();
    }
    // Every item is queued before the rescuer may look at the worklist.
    rescuer_gate.open();
    started_rx
        .recv_timeout(GUARD)
        .expect("the rescuer runs the blocker");
    // Pressure ends.
    pressure.stop_failing();
    match policy {
        Policy::Cursor => {
            // The siblings wait on the worklist, so the pool still needs a worker: its
            // next creation try succeeds.
            created
                .recv_timeout(GUARD)
                .expect("a worker is created once pressure ends");
            for _ in 0..SIBLINGS {
                done_rx
                    .recv_timeout(GUARD)
                    .expect("siblings complete while the blocker is still blocked");
            }
            log.lock().push(Event::BlockerReleased);
            release_tx.send(()).unwrap();
        }
        _ => {
            // The siblings sit on the rescuer's scheduled list behind the blocker: no
            // worker, however many are created, can run them.
            log.lock().push(Event::BlockerReleased);
            release_tx.send(()).unwrap();
            for _ in 0..SIBLINGS {
                done_rx
                    .recv_timeout(GUARD)
                    .expect("siblings complete after release");
            }
        }
    }
    wq.flush();
    drop(wq);
    log.lock().clone()
}

fn position(log: &[Event], e: &Event) -> usize {
    log.iter()
        .position(|x| x == e)
        .unwrap_or_else(|| panic!("{e:?} missing in {log:?}"))
}

#[test]
fn cursor_lets_siblings_run_while_the_rescued_item_blocks() {
    let log = scenario(Policy::Cursor);
    assert_eq!(log[0], Event::BlockerStarted { on_rescuer: true });
    let released = position(&log, &Event::BlockerReleased);
    for i in 0..SIBLINGS {
        assert!(position(&log, &Event::SiblingDone(i)) < released, "{log:?}");
    }
    assert!(position(&log, &Event::BlockerDone) > released);
}

#[test]
fn slurp_holds_siblings_until_the_rescued_item_is_released() {
    let log = scenario(Policy::Slurp);
    assert_eq!(log[0], Event::BlockerStarted { on_rescuer: true });
    let released = position(&log, &Event::BlockerReleased);
    let done = position(&log, &Event::BlockerDone);
    assert!(done > released);
    for i in 0..SIBLINGS {
        assert!(position(&log, &Event::SiblingDone(i)) > done, "{log:?}");
    }
}
