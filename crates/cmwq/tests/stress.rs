//! Many producer threads queueing, cancelling and flushing at random (seeded): nothing is
//! lost, nothing runs twice per queueing, no item ever runs on two threads at once.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use cmwq::{Affinity, Runtime, Work, WorkItem, impl_has_work};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

struct Probe {
    work: Work<Self>,
    running: AtomicBool,
    runs: AtomicUsize,
    overlaps: AtomicUsize,
}
impl_has_work!(Probe { work });
impl WorkItem for Probe {
    fn run(this: Arc<Self>) {
        if this.running.swap(true, Ordering::AcqRel) {
            this.overlaps.fetch_add(1, Ordering::Relaxed);
        }
        // A little work, so that runs overlap with queueing and cancelling.
        std::hint::black_box((0..200u32).sum::<u32>());
        this.runs.fetch_add(1, Ordering::Relaxed);
        this.running.store(false, Ordering::Release);
    }
}

const ITEMS: usize = 16;
const PRODUCERS: usize = 4;
const OPS: usize = 3_000;

fn stress(seed: u64, nr_cpus: usize, unbound: bool) {
    let rt = Runtime::builder()
        .nr_cpus(nr_cpus)
        .affinity(Affinity::Free)
        .watchdog_thresh(None)
        .build()
        .unwrap();
    let mut b = rt.workqueue("stress").max_active(4);
    if unbound {
        b = b.flags(cmwq::WQ_UNBOUND);
    }
    let wq = Arc::new(b.build().unwrap());
    let items: Arc<Vec<Arc<Probe>>> = Arc::new(
        (0..ITEMS)
            .map(|_| {
                Arc::new(Probe {
                    work: Work::new(),
                    running: AtomicBool::new(false),
                    runs: AtomicUsize::new(0),
                    overlaps: AtomicUsize::new(0),
                })
            })
            .collect(),
    );
    // Per item: successful queueings and successful cancels (a cancel that took a
    // pending instance off its queue).
    let queued: Arc<Vec<AtomicUsize>> = Arc::new((0..ITEMS).map(|_| AtomicUsize::new(0)).collect());
    let cancelled: Arc<Vec<AtomicUsize>> =
        Arc::new((0..ITEMS).map(|_| AtomicUsize::new(0)).collect());
    let threads: Vec<_> = (0..PRODUCERS)
        .map(|t| {
            let (wq, items, queued, cancelled) =
                (wq.clone(), items.clone(), queued.clone(), cancelled.clone());
            std::thread::spawn(move || {
                let mut rng = ChaCha8Rng::seed_from_u64(seed ^ ((t as u64) << 32));
                for _ in 0..OPS {
                    let i = rng.gen_range(0..ITEMS);
                    let it = &items[i];
                    match rng.gen_range(0..100) {
                        0..=9 => {
                            let d = Duration::from_micros(rng.gen_range(0..2000));
                            if wq.queue_delayed_work(Arc::clone(it), d).is_ok() {
                                queued[i].fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        10..=14 => {
                            let d = Duration::from_micros(rng.gen_range(0..2000));
                            // Not pending before: a new queueing; pending: the same one,
                            // moved to the new deadline.
                            if let Ok(false) = wq.mod_delayed_work(it, d) {
                                queued[i].fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        15..=69 => {
                            let r = if rng.gen_bool(0.5) {
                                wq.queue_work(Arc::clone(it))
                            } else {
                                let cpu = rng.gen_range(0..nr_cpus);
                                wq.queue_work_on(cpu, Arc::clone(it))
                            };
                            if r.is_ok() {
                                queued[i].fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        70..=84 => {
                            if wq.cancel_work(it) {
                                cancelled[i].fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        85..=92 => {
                            if wq.cancel_work_sync(it) {
                                cancelled[i].fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        93..=97 => {
                            wq.flush_work(it);
                        }
                        _ => {
                            wq.flush();
                        }
                    }
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    // Fire the delay timers still armed, then wait for everything; again if a timer was
    // between firing and queueing its item when we looked.
    loop {
        for it in items.iter() {
            wq.flush_delayed_work(it);
        }
        wq.flush();
        if items
            .iter()
            .all(|it| wq.work_busy(it) == cmwq::WorkBusy::default())
        {
            break;
        }
    }
    for (i, it) in items.iter().enumerate() {
        let q = queued[i].load(Ordering::Relaxed);
        let c = cancelled[i].load(Ordering::Relaxed);
        let r = it.runs.load(Ordering::Relaxed);
        assert_eq!(q, r + c, "item {i}: queued {q} = ran {r} + cancelled {c}");
        assert_eq!(
            it.overlaps.load(Ordering::Relaxed),
            0,
            "item {i} ran on two threads at once"
        );
        assert!(!it.work.is_pending());
    }
}

#[test]
fn random_queue_cancel_flush_loses_nothing_and_never_overlaps_percpu() {
    stress(0x5eed_0001, 2, false);
}

#[test]
fn random_queue_cancel_flush_loses_nothing_and_never_overlaps_unbound() {
    stress(0x5eed_0002, 2, true);
}
