//! Delayed work: queue after a delay, move the deadline, cancel, flush; and an item that
//! re-arms itself through `current_workqueue()`, with no handle of its own.
//!
//! `cargo run -p cmwq --example delayed`

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use cmwq::{Work, WorkItem, Workqueue, impl_has_work, work_fn};

/// Polls every 5 ms, `left` times, then says it is done.
struct Poller {
    work: Work<Self>,
    left: AtomicU32,
    done: Mutex<mpsc::Sender<()>>,
}
impl_has_work!(Poller { work });
impl WorkItem for Poller {
    fn run(this: Arc<Self>) {
        println!("poll ({} left)", this.left.load(Ordering::Relaxed));
        if this.left.fetch_sub(1, Ordering::Relaxed) == 1 {
            let _ = this.done.lock().map(|tx| tx.send(()));
            return;
        }
        // The workqueue this item runs on, as a non-owning handle: it is refused once
        // the workqueue is being destroyed, and the chain ends.
        if let Some(wq) = cmwq::current_workqueue() {
            if let Err(e) = wq.queue_delayed_work(this, Duration::from_millis(5)) {
                println!("not re-armed: {}", e.reason);
            }
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let wq = Workqueue::new("delayed-demo", cmwq::WqFlags::empty(), 0)?;
    let (tx, rx) = mpsc::channel();
    let start = Instant::now();
    let tick = work_fn("tick_func", move || {
        let _ = tx.send(start.elapsed());
    });

    // Run in 50 ms.
    wq.queue_delayed_work(tick.clone(), Duration::from_millis(50))?;
    println!("ran after {:?}", rx.recv()?);

    // Queue for an hour, then pull it in to 10 ms with mod_delayed_work.
    wq.queue_delayed_work(tick.clone(), Duration::from_secs(3600))?;
    let was_pending = wq.mod_delayed_work(&tick, Duration::from_millis(10))?;
    println!("mod_delayed_work: was pending = {was_pending}");
    println!("ran after {:?}", rx.recv()?);

    // Queue for an hour and cancel it.
    wq.queue_delayed_work(tick.clone(), Duration::from_secs(3600))?;
    println!("cancelled: {}", wq.cancel_delayed_work_sync(&tick));

    // Queue for an hour and flush it: flush_delayed_work runs it now and waits.
    wq.queue_delayed_work(tick.clone(), Duration::from_secs(3600))?;
    wq.flush_delayed_work(&tick);
    println!("flushed: ran after {:?}", rx.recv()?);

    // A self-re-arming item.
    let (done_tx, done) = mpsc::channel();
    let poller = Arc::new(Poller {
        work: Work::new(),
        left: AtomicU32::new(3),
        done: Mutex::new(done_tx),
    });
    wq.queue_delayed_work(poller, Duration::from_millis(5))?;
    done.recv()?;
    println!("poller done");
    Ok(())
}
