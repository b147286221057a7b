//! A workqueue, a few items, a flush.
//!
//! `cargo run -p cmwq --example basic`

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use cmwq::{WQ_UNBOUND, Work, WorkItem, Workqueue, impl_has_work, work_fn};

/// An item type: embeds a `Work<Self>` head, implements `WorkItem`.
struct Checksum {
    work: Work<Self>,
    data: Vec<u8>,
    out: AtomicU64,
}
impl_has_work!(Checksum { work });

impl WorkItem for Checksum {
    fn run(this: Arc<Self>) {
        let sum = this.data.iter().map(|&b| u64::from(b)).sum();
        this.out.store(sum, Ordering::Release);
    }
    fn name(&self) -> &str {
        "checksum_func"
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let wq = Workqueue::builder("checksums")
        .flags(WQ_UNBOUND)
        .max_active(4)
        .build()?;

    let items: Vec<Arc<Checksum>> = (0..8u8)
        .map(|i| {
            Arc::new(Checksum {
                work: Work::new(),
                data: vec![i; 1000],
                out: AtomicU64::new(0),
            })
        })
        .collect();
    for item in &items {
        // Queueing moves a clone of the Arc in; an item already pending comes back in Err.
        wq.queue_work(Arc::clone(item))?;
    }

    // Closures: a reusable item made once, and a one-shot one.
    let hello = work_fn("hello_func", || {
        println!("hello from {:?}", cmwq::current_work())
    });
    wq.queue_work(hello)?;
    wq.queue_fn("bye_func", || println!("one-shot closure"))?;

    wq.flush();
    for (i, item) in items.iter().enumerate() {
        println!("item {i}: checksum {}", item.out.load(Ordering::Acquire));
    }
    println!("{:?}", wq.stats());
    Ok(())
}
