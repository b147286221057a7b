//! Open-loop throughput: P producers each submit M tiny items as fast as they can.
//!
//! This is the `queue_work` shape of the kernel's `lib/test_workqueue.c` without its wait:
//! each of P producer threads submits M items one after another, never waiting for one to
//! run, to a side with [`WORKERS`] worker threads. Each item stamps its queue-to-start
//! latency (the producer reads the clock just before submitting it, the item just as it
//! starts), counts itself done, and the item that completes the run stamps its end. One
//! run yields:
//!
//! - wall time from releasing the producers to the last item's start ([`ThroughputRun::elapsed`]);
//! - the process's CPU time over the same span ([`crate::cpu_time`]): producers, workers
//!   and any thread the side keeps awake;
//! - the allocations the producers' threads made while submitting (the counting
//!   allocator of [`crate::alloc_count`], when the binary installs it);
//! - how many distinct threads ran items.
//!
//! Every side's item has the same body, [`item_started`], and reports to one static
//! board, so a closure captures only three integers and a preallocated item holds them
//! beside its `WorkHead`: the sides differ only in how they hand an item to a thread.
//! Runs are serialised (one board), so tests and benches may call [`run_throughput`]
//! from several threads.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex, OnceLock, mpsc};
use std::thread::{self, JoinHandle, Thread};
use std::time::{Duration, Instant};

use crate::alloc_count::allocations_on_this_thread;
use crate::cpu_time::process_cpu_time;
use crate::latency::LatencySamples;

/// Worker threads every side is given (the shape: two, on a 2-CPU machine).
pub const WORKERS: usize = 2;
/// The most items one run may submit in all (the board's size).
pub const MAX_ITEMS: usize = 1 << 20;
/// The most producers one run may have.
pub const MAX_PRODUCERS: usize = 64;

/// How big one run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThroughputShape {
    /// Producer threads submitting at once.
    pub producers: usize,
    /// Items each producer submits without waiting.
    pub items_per_producer: usize,
}

impl ThroughputShape {
    /// Items submitted by one run.
    pub fn total_items(&self) -> u64 {
        (self.producers * self.items_per_producer) as u64
    }
}

/// A shape the board cannot hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ShapeError {
    /// No producer or no item.
    #[error(
        "a throughput run needs at least one producer and one item (got {producers} x {items_per_producer})"
    )]
    Empty {
        /// Producers asked for.
        producers: usize,
        /// Items per producer asked for.
        items_per_producer: usize,
    },
    /// More producers or items than the board has slots for.
    #[error(
        "{producers} producers x {items_per_producer} items do not fit the board (at most {MAX_PRODUCERS} producers and {MAX_ITEMS} items)"
    )]
    TooBig {
        /// Producers asked for.
        producers: usize,
        /// Items per producer asked for.
        items_per_producer: usize,
    },
}

/// What one run measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThroughputRun {
    /// Items run.
    pub items: u64,
    /// From releasing the producers to the last item's start.
    pub elapsed: Duration,
    /// The process's CPU time over the run (zero where the clock is unavailable).
    pub cpu: Duration,
    /// Allocations the producers' threads made while submitting.
    pub allocations: u64,
    /// Distinct threads that ran at least one item.
    pub threads: u64,
}

impl ThroughputRun {
    /// Items per second of wall time.
    pub fn items_per_sec(&self) -> f64 {
        self.items as f64 / self.elapsed.as_secs_f64().max(1e-12)
    }
}

/// Something that runs tiny items on [`WORKERS`] threads: cmwq in one form or a peer.
pub trait ThroughputSide: Sync {
    /// What a producer keeps between its submissions (a sender, preallocated items...).
    /// Made before the timed region, dropped after it.
    type Producer: Send;

    /// The side's name in benchmark ids and the report.
    fn name(&self) -> &'static str;

    /// Prepares producer number `producer`, which will submit `items` items.
    fn producer(&self, producer: u32, items: usize) -> Self::Producer;

    /// Submits item `index` of producer number `who`, queued at `queued_ns`; the item's
    /// body must call [`item_started`]`(who, index, queued_ns)`.
    fn submit(&self, producer: &mut Self::Producer, who: u32, index: u32, queued_ns: u64);
}

/// Per-producer countdown, on its own cache line.
#[repr(align(128))]
#[derive(Debug, Default)]
struct Countdown(AtomicUsize);

/// Where every item reports.
#[derive(Debug)]
struct Board {
    base: Instant,
    /// Queue-to-start latency per item, at `producer * stride + index`.
    latency: Box<[AtomicU64]>,
    stride: AtomicUsize,
    remaining: Box<[Countdown]>,
    producers_left: AtomicUsize,
    generation: AtomicU64,
    threads: AtomicU64,
    end_ns: AtomicU64,
    waiter: Mutex<Option<Thread>>,
}

fn board() -> &'static Board {
    static BOARD: OnceLock<Board> = OnceLock::new();
    BOARD.get_or_init(|| Board {
        base: Instant::now(),
        latency: (0..MAX_ITEMS).map(|_| AtomicU64::new(0)).collect(),
        stride: AtomicUsize::new(0),
        remaining: (0..MAX_PRODUCERS).map(|_| Countdown::default()).collect(),
        producers_left: AtomicUsize::new(0),
        generation: AtomicU64::new(0),
        threads: AtomicU64::new(0),
        end_ns: AtomicU64::new(0),
        waiter: Mutex::new(None),
    })
}

/// Nanoseconds on the board's clock: what a producer passes as `queued_ns`.
pub fn now_ns() -> u64 {
    board().base.elapsed().as_nanos() as u64
}

thread_local! {
    /// The last run generation this thread ran an item of.
    static SEEN_GENERATION: Cell<u64> = const { Cell::new(0) };
}

/// The body of every side's item: stamps its queue-to-start latency, counts the thread,
/// counts the item done, and ends the run when it is the last.
pub fn item_started(producer: u32, index: u32, queued_ns: u64) {
    let b = board();
    let now = b.base.elapsed().as_nanos() as u64;
    let slot = producer as usize * b.stride.load(Ordering::Relaxed) + index as usize;
    if let Some(l) = b.latency.get(slot) {
        l.store(now.saturating_sub(queued_ns), Ordering::Relaxed);
    }
    let generation = b.generation.load(Ordering::Relaxed);
    SEEN_GENERATION.with(|g| {
        if g.get() != generation {
            g.set(generation);
            b.threads.fetch_add(1, Ordering::Relaxed);
        }
    });
    let Some(countdown) = b.remaining.get(producer as usize) else {
        return;
    };
    if countdown.0.fetch_sub(1, Ordering::AcqRel) == 1
        && b.producers_left.fetch_sub(1, Ordering::AcqRel) == 1
    {
        b.end_ns
            .store(b.base.elapsed().as_nanos() as u64, Ordering::Release);
        let waiter = b.waiter.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if let Some(t) = waiter {
            t.unpark();
        }
    }
}

/// Runs one open-loop run of `shape` on `side`, adds every item's queue-to-start latency
/// to `samples`, and returns what it measured.
pub fn run_throughput<S: ThroughputSide>(
    side: &S,
    shape: ThroughputShape,
    samples: &mut LatencySamples,
) -> Result<ThroughputRun, ShapeError> {
    let ThroughputShape {
        producers,
        items_per_producer,
    } = shape;
    if producers == 0 || items_per_producer == 0 {
        return Err(ShapeError::Empty {
            producers,
            items_per_producer,
        });
    }
    let fits = producers <= MAX_PRODUCERS
        && producers
            .checked_mul(items_per_producer)
            .is_some_and(|n| n <= MAX_ITEMS)
        && u32::try_from(items_per_producer).is_ok();
    if !fits {
        return Err(ShapeError::TooBig {
            producers,
            items_per_producer,
        });
    }
    static ONE_RUN_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _serial = ONE_RUN_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let b = board();
    b.stride.store(items_per_producer, Ordering::Relaxed);
    for c in &b.remaining[..producers] {
        c.0.store(items_per_producer, Ordering::Relaxed);
    }
    b.producers_left.store(producers, Ordering::Relaxed);
    b.threads.store(0, Ordering::Relaxed);
    b.end_ns.store(0, Ordering::Relaxed);
    b.generation.fetch_add(1, Ordering::Relaxed);
    *b.waiter.lock().unwrap_or_else(|e| e.into_inner()) = Some(thread::current());

    let barrier = Barrier::new(producers + 1);
    let (start_ns, cpu_before, per_producer) = thread::scope(|s| {
        let handles: Vec<_> = (0..producers as u32)
            .map(|p| {
                let barrier = &barrier;
                s.spawn(move || {
                    let mut producer = side.producer(p, items_per_producer);
                    barrier.wait();
                    let before = allocations_on_this_thread();
                    for i in 0..items_per_producer as u32 {
                        side.submit(&mut producer, p, i, now_ns());
                    }
                    let allocations = allocations_on_this_thread() - before;
                    // Dropped by the caller after the run: freeing preallocated items
                    // is not part of what is measured.
                    (producer, allocations)
                })
            })
            .collect();
        let cpu_before = process_cpu_time();
        barrier.wait();
        let start_ns = now_ns();
        // Release/Acquire through the countdowns: once this reads 0, every item's
        // latency store and the end stamp are visible.
        while b.producers_left.load(Ordering::Acquire) != 0 {
            thread::park();
        }
        let per_producer: Vec<_> = handles
            .into_iter()
            .map(|h| h.join().expect("a producer thread panicked"))
            .collect();
        (start_ns, cpu_before, per_producer)
    });
    let cpu_after = process_cpu_time();
    let end_ns = b.end_ns.load(Ordering::Acquire);
    *b.waiter.lock().unwrap_or_else(|e| e.into_inner()) = None;
    let allocations = per_producer.iter().map(|(_, a)| a).sum();
    drop(per_producer);
    for l in &b.latency[..producers * items_per_producer] {
        samples.record(l.load(Ordering::Relaxed));
    }
    let cpu = match (cpu_before, cpu_after) {
        (Some(a), Some(z)) => z.saturating_sub(a),
        _ => Duration::ZERO,
    };
    Ok(ThroughputRun {
        items: shape.total_items(),
        elapsed: Duration::from_nanos(end_ns.saturating_sub(start_ns).max(1)),
        cpu,
        allocations,
        threads: b.threads.load(Ordering::Relaxed),
    })
}

/// A boxed job of the hand-written pools.
type Job = Box<dyn FnOnce() + Send + 'static>;

/// The practical limit: a pool of threads over one crossbeam-channel, one channel
/// operation per item (what a Rust user writes in ten lines).
#[derive(Debug)]
pub struct CrossbeamPool {
    tx: Option<crossbeam_channel::Sender<Job>>,
    workers: Vec<JoinHandle<()>>,
}

impl CrossbeamPool {
    /// A pool of `threads` threads.
    pub fn new(threads: usize) -> Self {
        let (tx, rx) = crossbeam_channel::unbounded::<Job>();
        let workers = (0..threads)
            .map(|i| {
                let rx = rx.clone();
                thread::Builder::new()
                    .name(format!("crossbeam-pool-{i}"))
                    .spawn(move || {
                        while let Ok(job) = rx.recv() {
                            job();
                        }
                    })
                    .expect("a crossbeam pool thread")
            })
            .collect();
        Self {
            tx: Some(tx),
            workers,
        }
    }
}

impl Drop for CrossbeamPool {
    fn drop(&mut self) {
        drop(self.tx.take());
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

impl ThroughputSide for CrossbeamPool {
    type Producer = crossbeam_channel::Sender<Job>;

    fn name(&self) -> &'static str {
        "crossbeam-channel-pool"
    }

    fn producer(&self, _: u32, _: usize) -> Self::Producer {
        self.tx.clone().expect("the pool runs until dropped")
    }

    fn submit(&self, tx: &mut Self::Producer, who: u32, index: u32, queued_ns: u64) {
        let job: Job = Box::new(move || item_started(who, index, queued_ns));
        tx.send(job)
            .expect("the pool's workers run until it is dropped");
    }
}

/// The naive pool: threads sharing one `Mutex<mpsc::Receiver>`, each holding the lock
/// while it waits for the next job.
#[derive(Debug)]
pub struct MutexMpscPool {
    tx: Option<mpsc::Sender<Job>>,
    workers: Vec<JoinHandle<()>>,
}

impl MutexMpscPool {
    /// A pool of `threads` threads.
    pub fn new(threads: usize) -> Self {
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        let workers = (0..threads)
            .map(|i| {
                let rx = Arc::clone(&rx);
                thread::Builder::new()
                    .name(format!("mutex-mpsc-pool-{i}"))
                    .spawn(move || {
                        loop {
                            let job = rx.lock().unwrap_or_else(|e| e.into_inner()).recv();
                            match job {
                                Ok(job) => job(),
                                Err(_) => break,
                            }
                        }
                    })
                    .expect("a mutex-mpsc pool thread")
            })
            .collect();
        Self {
            tx: Some(tx),
            workers,
        }
    }
}

impl Drop for MutexMpscPool {
    fn drop(&mut self) {
        drop(self.tx.take());
        for w in self.workers.drain(..) {
            let _ = w.join();
        }
    }
}

impl ThroughputSide for MutexMpscPool {
    type Producer = mpsc::Sender<Job>;

    fn name(&self) -> &'static str {
        "mutex-mpsc-pool"
    }

    fn producer(&self, _: u32, _: usize) -> Self::Producer {
        self.tx.clone().expect("the pool runs until dropped")
    }

    fn submit(&self, tx: &mut Self::Producer, who: u32, index: u32, queued_ns: u64) {
        let job: Job = Box::new(move || item_started(who, index, queued_ns));
        tx.send(job)
            .expect("the pool's workers run until it is dropped");
    }
}

/// How rayon is asked to run an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RayonSpawn {
    /// `ThreadPool::spawn` (LIFO on the spawning worker, FIFO from outside).
    Lifo,
    /// `ThreadPool::spawn_fifo`.
    Fifo,
}

/// rayon: a pool of its own, items spawned as closures.
#[derive(Debug)]
pub struct RayonSide {
    pool: rayon::ThreadPool,
    how: RayonSpawn,
}

impl RayonSide {
    /// A rayon pool of `threads` threads spawning `how`.
    pub fn new(threads: usize, how: RayonSpawn) -> Self {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("rayon-throughput-{i}"))
            .build()
            .expect("a rayon pool");
        Self { pool, how }
    }
}

impl ThroughputSide for RayonSide {
    type Producer = ();

    fn name(&self) -> &'static str {
        match self.how {
            RayonSpawn::Lifo => "rayon-spawn",
            RayonSpawn::Fifo => "rayon-spawn-fifo",
        }
    }

    fn producer(&self, _: u32, _: usize) {}

    fn submit(&self, (): &mut (), who: u32, index: u32, queued_ns: u64) {
        let job = move || item_started(who, index, queued_ns);
        match self.how {
            RayonSpawn::Lifo => self.pool.spawn(job),
            RayonSpawn::Fifo => self.pool.spawn_fifo(job),
        }
    }
}

/// threadpool 1.x: `ThreadPool::execute` of a closure.
#[derive(Debug)]
pub struct ThreadpoolSide {
    pool: threadpool::ThreadPool,
}

impl ThreadpoolSide {
    /// A pool of `threads` threads.
    pub fn new(threads: usize) -> Self {
        Self {
            pool: threadpool::ThreadPool::with_name("threadpool-throughput".into(), threads),
        }
    }
}

impl ThroughputSide for ThreadpoolSide {
    type Producer = threadpool::ThreadPool;

    fn name(&self) -> &'static str {
        "threadpool"
    }

    fn producer(&self, _: u32, _: usize) -> Self::Producer {
        self.pool.clone()
    }

    fn submit(&self, pool: &mut Self::Producer, who: u32, index: u32, queued_ns: u64) {
        pool.execute(move || item_started(who, index, queued_ns));
    }
}

/// tokio: `Handle::spawn_blocking` on a blocking pool of at most `threads` threads (the
/// join handle is dropped).
#[derive(Debug)]
pub struct TokioSide {
    runtime: tokio::runtime::Runtime,
}

impl TokioSide {
    /// A current-thread runtime whose blocking pool has at most `threads` threads.
    pub fn new(threads: usize) -> Self {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .max_blocking_threads(threads)
            .thread_name("tokio-throughput")
            .build()
            .expect("a tokio runtime");
        Self { runtime }
    }
}

impl ThroughputSide for TokioSide {
    type Producer = tokio::runtime::Handle;

    fn name(&self) -> &'static str {
        "tokio-spawn-blocking"
    }

    fn producer(&self, _: u32, _: usize) -> Self::Producer {
        self.runtime.handle().clone()
    }

    fn submit(&self, handle: &mut Self::Producer, who: u32, index: u32, queued_ns: u64) {
        drop(handle.spawn_blocking(move || item_started(who, index, queued_ns)));
    }
}

/// Which of cmwq's pools a workqueue of [`CmwqSide`] uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmwqPools {
    /// `WQ_UNBOUND` with max_active [`WORKERS`]: one unbound pool, two items at a time.
    Unbound,
    /// A per-CPU workqueue on a runtime of [`WORKERS`] CPUs: each producer queues to its
    /// home CPU's pool, whose concurrency management keeps one worker running.
    PerCpu,
}

/// How items reach a cmwq workqueue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmwqItems {
    /// `Workqueue::queue_fn` of a closure (one allocation per item).
    Closure,
    /// `Workqueue::queue_work` of `Arc` items each producer made before the run (no
    /// allocation per item).
    Preallocated,
}

/// A preallocated cmwq item: its place on the board beside its `WorkHead`.
#[derive(Debug)]
pub struct ThroughputWork {
    work: cmwq::Work<Self>,
    who: u32,
    index: u32,
    queued_ns: AtomicU64,
}

cmwq_work::impl_has_work!(ThroughputWork { work });

impl cmwq::WorkItem for ThroughputWork {
    fn run(this: Arc<Self>) {
        item_started(this.who, this.index, this.queued_ns.load(Ordering::Relaxed));
    }

    fn name(&self) -> &str {
        "throughput_work_fn"
    }
}

/// cmwq: one workqueue on a runtime of its own.
#[derive(Debug)]
pub struct CmwqSide {
    wq: cmwq::Workqueue,
    pools: CmwqPools,
    items: CmwqItems,
}

impl CmwqSide {
    /// A runtime of [`WORKERS`] CPUs and one workqueue on the chosen pools.
    pub fn new(pools: CmwqPools, items: CmwqItems) -> Result<Self, cmwq::BuildError> {
        let rt = cmwq::Runtime::builder().nr_cpus(WORKERS).build()?;
        let wq = match pools {
            CmwqPools::Unbound => rt
                .workqueue("throughput_wq")
                .flags(cmwq::WQ_UNBOUND)
                .max_active(WORKERS as u32)
                .build()?,
            CmwqPools::PerCpu => rt.workqueue("throughput_wq").build()?,
        };
        Ok(Self { wq, pools, items })
    }
}

impl ThroughputSide for CmwqSide {
    type Producer = Vec<Arc<ThroughputWork>>;

    fn name(&self) -> &'static str {
        match (self.items, self.pools) {
            (CmwqItems::Closure, CmwqPools::Unbound) => "cmwq-fn-unbound",
            (CmwqItems::Closure, CmwqPools::PerCpu) => "cmwq-fn-percpu",
            (CmwqItems::Preallocated, CmwqPools::Unbound) => "cmwq-arc-unbound",
            (CmwqItems::Preallocated, CmwqPools::PerCpu) => "cmwq-arc-percpu",
        }
    }

    fn producer(&self, who: u32, items: usize) -> Self::Producer {
        match self.items {
            CmwqItems::Closure => Vec::new(),
            CmwqItems::Preallocated => (0..items as u32)
                .map(|index| {
                    Arc::new(ThroughputWork {
                        work: cmwq::Work::new(),
                        who,
                        index,
                        queued_ns: AtomicU64::new(0),
                    })
                })
                .collect(),
        }
    }

    fn submit(&self, items: &mut Self::Producer, who: u32, index: u32, queued_ns: u64) {
        match items.get(index as usize) {
            Some(item) => {
                item.queued_ns.store(queued_ns, Ordering::Relaxed);
                if let Err(refused) = self.wq.queue_work(Arc::clone(item)) {
                    // Each item is queued once per run and has started before the run
                    // ends, so it is never pending here.
                    panic!("throughput_wq refused an idle item: {refused:?}");
                }
            }
            None => {
                if let Err(e) = self.wq.queue_fn("throughput_fn", move || {
                    item_started(who, index, queued_ns);
                }) {
                    panic!("throughput_wq refused a closure: {e}");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runs_every_item_once<S: ThroughputSide>(side: &S) {
        for producers in [1, 3] {
            let shape = ThroughputShape {
                producers,
                items_per_producer: 200,
            };
            let mut samples = LatencySamples::with_capacity(1_000);
            let run = run_throughput(side, shape, &mut samples).expect("a shape that fits");
            assert_eq!(run.items, shape.total_items(), "{}", side.name());
            assert_eq!(samples.len() as u64, shape.total_items(), "{}", side.name());
            assert!(run.threads >= 1, "{}: no thread counted", side.name());
            assert!(run.elapsed > Duration::ZERO);
        }
    }

    #[test]
    fn every_peer_runs_every_submitted_item() {
        runs_every_item_once(&CrossbeamPool::new(WORKERS));
        runs_every_item_once(&MutexMpscPool::new(WORKERS));
        runs_every_item_once(&RayonSide::new(WORKERS, RayonSpawn::Lifo));
        runs_every_item_once(&RayonSide::new(WORKERS, RayonSpawn::Fifo));
        runs_every_item_once(&ThreadpoolSide::new(WORKERS));
        runs_every_item_once(&TokioSide::new(WORKERS));
    }

    #[test]
    fn every_cmwq_form_runs_every_submitted_item() {
        for pools in [CmwqPools::Unbound, CmwqPools::PerCpu] {
            for items in [CmwqItems::Closure, CmwqItems::Preallocated] {
                runs_every_item_once(&CmwqSide::new(pools, items).expect("a runtime"));
            }
        }
    }

    #[test]
    fn a_run_counts_no_more_threads_than_ran_items() {
        let side = CrossbeamPool::new(1);
        let shape = ThroughputShape {
            producers: 2,
            items_per_producer: 100,
        };
        let mut samples = LatencySamples::with_capacity(200);
        let run = run_throughput(&side, shape, &mut samples).expect("fits");
        assert_eq!(run.threads, 1);
    }

    #[test]
    fn shapes_the_board_cannot_hold_are_refused() {
        let side = CrossbeamPool::new(1);
        let mut samples = LatencySamples::with_capacity(1);
        let empty = ThroughputShape {
            producers: 0,
            items_per_producer: 10,
        };
        assert!(matches!(
            run_throughput(&side, empty, &mut samples),
            Err(ShapeError::Empty { .. })
        ));
        let big = ThroughputShape {
            producers: 2,
            items_per_producer: MAX_ITEMS,
        };
        assert!(matches!(
            run_throughput(&side, big, &mut samples),
            Err(ShapeError::TooBig { .. })
        ));
    }
}
