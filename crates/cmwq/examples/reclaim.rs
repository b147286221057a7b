//! A WQ_MEM_RECLAIM workqueue surviving total worker-creation failure: its rescuer runs
//! every item. The dump is printed while the rescuer works, then pressure ends.
//!
//! `cargo run -p cmwq --example reclaim`

use std::sync::Arc;
use std::sync::mpsc;

use cmwq::{
    FailSwitch, FailurePlan, Policy, Runtime, ThreadSpawner, WQ_MEM_RECLAIM, Work, WorkItem,
    impl_has_work,
};

/// Writes back a page; the first one blocks until we have printed the dump.
struct Writeback {
    work: Work<Self>,
    hold: parking_lot::Mutex<Option<mpsc::Receiver<()>>>,
    running: parking_lot::Mutex<Option<mpsc::Sender<()>>>,
    done: mpsc::Sender<()>,
}
impl_has_work!(Writeback { work });
impl WorkItem for Writeback {
    fn run(this: Arc<Self>) {
        if let Some(tx) = this.running.lock().take() {
            let _ = tx.send(());
        }
        if let Some(rx) = this.hold.lock().take() {
            cmwq::blocking(|| rx.recv().ok());
        }
        let _ = this.done.send(());
    }
    fn name(&self) -> &str {
        "xfs_end_io"
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // Memory pressure: no worker thread can be created.
    let pressure = FailSwitch::failing();
    let rt = Runtime::builder()
        .nr_cpus(1)
        .spawner(ThreadSpawner::new().failure(FailurePlan::Switch(pressure.clone())))
        .build()?;
    let wq = rt
        .workqueue("xfs-conv/sda1")
        .flags(WQ_MEM_RECLAIM)
        .rescuer(Policy::Cursor)
        .build()?;

    let (done_tx, done_rx) = mpsc::channel();
    let (hold_tx, hold_rx) = mpsc::channel();
    let (running_tx, running_rx) = mpsc::channel();
    let n = 6;
    let mut hold = Some(hold_rx);
    for _ in 0..n {
        // The first item blocks until released; the others just complete.
        let first = hold.is_some();
        wq.queue_work(Arc::new(Writeback {
            work: Work::new(),
            hold: parking_lot::Mutex::new(hold.take()),
            running: parking_lot::Mutex::new(first.then(|| running_tx.clone())),
            done: done_tx.clone(),
        }))
        .map_err(|r| r.reason)?;
    }
    running_rx.recv()?;
    println!("{}", wq.show());
    println!("{}", rt.show_all_workqueues());

    hold_tx.send(())?;
    pressure.stop_failing();
    for _ in 0..n {
        done_rx.recv()?;
    }
    wq.flush();
    let stats = wq.stats();
    println!(
        "rescued {} of {} items, {} maydays",
        stats.rescued, stats.completed, stats.mayday
    );
    println!("{}", rt.wq_monitor());
    Ok(())
}
