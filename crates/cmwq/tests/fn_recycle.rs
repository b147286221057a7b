//! `queue_fn`'s recycled closure cells under a seeded mix of producers: closures on
//! several workqueues of two runtimes (per-CPU, unbound, ordered), some queueing more
//! closures from their own run (a worker's released cells serve it first), some kept by
//! their handle and flushed or cancelled. Every closure runs at most once, a cancelled
//! one never, and each is dropped exactly once: a recycled cell never runs, loses or drops
//! another closure's state.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use cmwq::{Runtime, WQ_UNBOUND, Workqueue};

const PRODUCERS: usize = 3;
const PER_PRODUCER: usize = 6_000;
/// Closures a closure may queue from its run, each numbered after the producers' own.
const NESTED: usize = PRODUCERS * PER_PRODUCER;
const IDS: usize = PRODUCERS * PER_PRODUCER + NESTED;

/// Per closure id: how often it ran, and how often its captured state was dropped.
struct Board {
    runs: Vec<AtomicU8>,
    drops: Vec<AtomicU8>,
    cancelled: Vec<AtomicU8>,
    nested_next: AtomicUsize,
}

impl Board {
    fn new() -> Self {
        let zeros = || (0..IDS).map(|_| AtomicU8::new(0)).collect();
        Board {
            runs: zeros(),
            drops: zeros(),
            cancelled: zeros(),
            nested_next: AtomicUsize::new(PRODUCERS * PER_PRODUCER),
        }
    }
}

/// A closure's captured state: its id, dropped exactly once.
struct Token {
    id: usize,
    board: Arc<Board>,
}

impl Drop for Token {
    fn drop(&mut self) {
        self.board.drops[self.id].fetch_add(1, Ordering::Relaxed);
    }
}

/// The closure of `id`: counts its run; with `nest`, queues one more closure on `wq`.
fn closure(token: Token, nest: Option<Arc<Workqueue>>) -> impl FnOnce() + Send + 'static {
    // Padding that keeps some closures inline and pushes others into a box.
    let pad = [token.id as u64; 2];
    move || {
        let t = token;
        assert_eq!(pad[0] as usize, t.id, "a closure ran with another's state");
        t.board.runs[t.id].fetch_add(1, Ordering::Relaxed);
        if let Some(wq) = nest {
            let id = t.board.nested_next.fetch_add(1, Ordering::Relaxed);
            if id < IDS {
                let inner = Token {
                    id,
                    board: Arc::clone(&t.board),
                };
                if wq.queue_fn("nested", closure(inner, None)).is_err() {
                    panic!("a live workqueue refused a closure");
                }
            }
        }
    }
}

/// The same closure with a large capture (boxed into the cell).
fn big_closure(token: Token) -> impl FnOnce() + Send + 'static {
    let pad = [token.id as u64; 12];
    move || {
        let t = token;
        assert!(pad.iter().all(|&p| p as usize == t.id));
        t.board.runs[t.id].fetch_add(1, Ordering::Relaxed);
    }
}

#[test]
fn recycled_cells_run_each_closure_once_and_drop_it_once() {
    let board = Arc::new(Board::new());
    let runtimes: Vec<Runtime> = (0..2)
        .map(|_| {
            Runtime::builder()
                .nr_cpus(2)
                .watchdog_thresh(None)
                .build()
                .unwrap()
        })
        .collect();
    let mut wqs: Vec<Arc<Workqueue>> = Vec::new();
    for rt in &runtimes {
        wqs.push(Arc::new(rt.workqueue("fn-percpu").build().unwrap()));
        wqs.push(Arc::new(
            rt.workqueue("fn-unbound")
                .flags(WQ_UNBOUND)
                .max_active(2)
                .build()
                .unwrap(),
        ));
        wqs.push(Arc::new(
            rt.workqueue("fn-ordered").ordered().build().unwrap(),
        ));
    }
    std::thread::scope(|s| {
        for p in 0..PRODUCERS {
            let (board, wqs) = (Arc::clone(&board), wqs.clone());
            s.spawn(move || {
                let mut rng = ChaCha8Rng::seed_from_u64(0x5eed_0000 + p as u64);
                for i in 0..PER_PRODUCER {
                    let id = p * PER_PRODUCER + i;
                    let wq = &wqs[rng.gen_range(0..wqs.len())];
                    let token = Token {
                        id,
                        board: Arc::clone(&board),
                    };
                    let roll = rng.gen_range(0..100);
                    if roll < 10 {
                        // Kept: flushed (it has run by then) or cancelled (it never runs).
                        let item = wq.queue_fn("kept", closure(token, None)).unwrap();
                        if rng.gen_bool(0.5) {
                            wq.flush_work(&item);
                            assert_eq!(board.runs[id].load(Ordering::Relaxed), 1);
                        } else if wq.cancel_work(&item) {
                            board.cancelled[id].store(1, Ordering::Relaxed);
                        }
                    } else if roll < 15 {
                        drop(wq.queue_fn("big", big_closure(token)).unwrap());
                    } else {
                        let nest = (roll < 35).then(|| Arc::clone(wq));
                        drop(wq.queue_fn("flood", closure(token, nest)).unwrap());
                    }
                }
            });
        }
    });
    // Nested closures queue more while the first flush runs: flush until none is queued.
    for _ in 0..3 {
        wqs.iter().for_each(|wq| {
            wq.flush();
        });
    }
    drop(wqs);
    drop(runtimes);
    let nested = board.nested_next.load(Ordering::Relaxed).min(IDS);
    for id in 0..nested {
        let runs = board.runs[id].load(Ordering::Relaxed);
        let cancelled = board.cancelled[id].load(Ordering::Relaxed);
        assert_eq!(
            runs + cancelled,
            1,
            "closure {id}: {runs} runs, cancelled {cancelled}"
        );
        assert_eq!(
            board.drops[id].load(Ordering::Relaxed),
            1,
            "closure {id} drops"
        );
    }
    for id in nested..IDS {
        assert_eq!(board.runs[id].load(Ordering::Relaxed), 0);
        assert_eq!(board.drops[id].load(Ordering::Relaxed), 0);
    }
}
