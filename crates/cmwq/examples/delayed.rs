//! Delayed work: queue after a delay, move the deadline, cancel, flush.
//!
//! `cargo run -p cmwq --example delayed`

use std::sync::mpsc;
use std::time::{Duration, Instant};

use cmwq::{Workqueue, work_fn};

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
    Ok(())
}
