//! Where one cycle of the closed loop goes: two producers each queue one item, wait until
//! it starts, and queue again (the `runtime` bench's shape), on cmwq (an unbound workqueue,
//! one reusable `Arc` item per producer) or on rayon (`spawn` of a closure). For every cycle
//! it stamps the queueing call, the item's start and the producer's return from its wait,
//! and prints the percentiles of each phase:
//!
//! - *queue call*: the producer's `queue_work` (or `spawn`);
//! - *queue-to-start*: from before that call until the item starts;
//! - *start-to-producer-back*: from the item's start (which unparks the producer) until the
//!   producer runs again;
//! - *cycle*: the whole.
//!
//! `closed_loop_phases [cmwq|rayon] [CYCLES] [--spin-wait]` (defaults `cmwq 20000`);
//! `--spin-wait`: the producers spin on their item's flag instead of parking, so that no
//! producer's wake-up is in the cycle (and no producer's CPU goes idle).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::{self, Thread};
use std::time::Instant;

/// One producer's rendezvous with its item.
struct Ctx {
    base: Instant,
    started: AtomicU64,
    done: AtomicBool,
    producer: Thread,
}

impl Ctx {
    fn ns(&self) -> u64 {
        self.base.elapsed().as_nanos() as u64
    }

    /// The item's body: stamp the start, wake the producer.
    fn on_start(&self) {
        self.started.store(self.ns(), Ordering::Relaxed);
        self.done.store(true, Ordering::Release);
        self.producer.unpark();
    }
}

/// cmwq's item: the context beside its work head.
struct Item {
    work: cmwq::Work<Self>,
    ctx: Arc<Ctx>,
}

cmwq_work::impl_has_work!(Item { work });

impl cmwq::WorkItem for Item {
    fn run(this: Arc<Self>) {
        this.ctx.on_start();
    }
}

/// The phases of one producer's cycles, in nanoseconds.
#[derive(Default)]
struct Phases {
    queue: Vec<u64>,
    to_start: Vec<u64>,
    back: Vec<u64>,
    cycle: Vec<u64>,
}

fn percentile(v: &mut [u64], q: f64) -> f64 {
    v.sort_unstable();
    v.get(((v.len().saturating_sub(1)) as f64 * q) as usize)
        .map_or(0.0, |&ns| ns as f64 / 1e3)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let side = args.next().unwrap_or_else(|| "cmwq".to_owned());
    let cycles: usize = args.next().map_or(20_000, |s| s.parse().expect("a number"));
    let spin_wait = match args.next().as_deref() {
        None => false,
        Some("--spin-wait") => true,
        Some(other) => panic!("unknown option {other} (--spin-wait)"),
    };
    let rt = cmwq::Runtime::builder().build().expect("a runtime");
    let wq = rt
        .workqueue("bench_wq")
        .flags(cmwq::WQ_UNBOUND)
        .build()
        .expect("a workqueue");
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .expect("a rayon pool");
    let use_cmwq = match side.as_str() {
        "cmwq" => true,
        "rayon" => false,
        other => panic!("unknown side {other} (cmwq or rayon)"),
    };
    let base = Instant::now();
    let per_producer: Vec<Phases> = thread::scope(|s| {
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let (wq, pool, spin_wait) = (&wq, &pool, spin_wait);
                s.spawn(move || {
                    let ctx = Arc::new(Ctx {
                        base,
                        started: AtomicU64::new(0),
                        done: AtomicBool::new(false),
                        producer: thread::current(),
                    });
                    let item = Arc::new(Item {
                        work: cmwq::Work::new(),
                        ctx: Arc::clone(&ctx),
                    });
                    let mut p = Phases::default();
                    for _ in 0..cycles {
                        ctx.done.store(false, Ordering::Relaxed);
                        let t0 = ctx.ns();
                        if use_cmwq {
                            wq.queue_work(Arc::clone(&item))
                                .expect("the item is idle between cycles");
                        } else {
                            let c = Arc::clone(&ctx);
                            pool.spawn(move || c.on_start());
                        }
                        let t1 = ctx.ns();
                        while !ctx.done.load(Ordering::Acquire) {
                            if spin_wait {
                                std::hint::spin_loop();
                            } else {
                                thread::park();
                            }
                        }
                        let t3 = ctx.ns();
                        let t2 = ctx.started.load(Ordering::Relaxed);
                        p.queue.push(t1 - t0);
                        p.to_start.push(t2.saturating_sub(t0));
                        p.back.push(t3.saturating_sub(t2));
                        p.cycle.push(t3 - t0);
                    }
                    p
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a producer panicked"))
            .collect()
    });
    let total = base.elapsed();
    let mut all = Phases::default();
    for p in per_producer {
        all.queue.extend(p.queue);
        all.to_start.extend(p.to_start);
        all.back.extend(p.back);
        all.cycle.extend(p.cycle);
    }
    println!(
        "{side}: {:.0} k items/s",
        (2 * cycles) as f64 / total.as_secs_f64() / 1e3
    );
    for (name, v) in [
        ("queue call", &mut all.queue),
        ("queue-to-start", &mut all.to_start),
        ("start-to-producer-back", &mut all.back),
        ("cycle", &mut all.cycle),
    ] {
        println!(
            "  {name:24} p50 {:6.2} us  p90 {:6.2} us  p99 {:6.2} us",
            percentile(v, 0.5),
            percentile(v, 0.9),
            percentile(v, 0.99)
        );
    }
}
