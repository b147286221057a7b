//! The shape of the kernel's `lib/test_workqueue.c`, and the peers that run it.
//!
//! In the kernel's test each of `nr_threads` producer threads queues one work item,
//! waits for its completion, and does so `wq_items` times; it reports items/s and the
//! p50/p90/p95 latency. Here the same closed loop runs against any [`Executor`]: the
//! producer stamps the queue time in its context, the item stamps its start time when it
//! runs and signals the producer, and the producer records start minus queue time.
//! Producers wait with `thread::park`, the same way on every side, so the sides differ
//! only in how they hand an item to a thread.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

use crate::alloc_count::allocations_on_this_thread;
use crate::latency::LatencySamples;

/// How big one run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    /// Producer threads (the kernel's `nr_threads`; it defaults to the online CPUs).
    pub producers: usize,
    /// Items each producer queues, one after another (the kernel's `wq_items`).
    pub items_per_producer: usize,
}

impl Shape {
    /// Items queued by one run.
    pub fn total_items(&self) -> u64 {
        (self.producers * self.items_per_producer) as u64
    }
}

/// One producer's side of the hand-off: the item's body calls [`ProducerCtx::on_start`].
#[derive(Debug)]
pub struct ProducerCtx {
    base: Instant,
    queued_ns: AtomicU64,
    started_ns: AtomicU64,
    done: AtomicBool,
    producer: Thread,
}

impl ProducerCtx {
    /// A context for the calling thread (the producer), timing from `base`.
    pub fn for_current_thread(base: Instant) -> Self {
        Self {
            base,
            queued_ns: AtomicU64::new(0),
            started_ns: AtomicU64::new(0),
            done: AtomicBool::new(false),
            producer: thread::current(),
        }
    }

    fn now_ns(&self) -> u64 {
        self.base.elapsed().as_nanos() as u64
    }

    /// The item's whole body: stamp the start time and wake the producer (the kernel's
    /// `bench_work_fn` completes the producer's completion).
    pub fn on_start(&self) {
        self.started_ns.store(self.now_ns(), Ordering::Relaxed);
        self.done.store(true, Ordering::Release);
        self.producer.unpark();
    }

    fn arm(&self) {
        self.done.store(false, Ordering::Relaxed);
        self.queued_ns.store(self.now_ns(), Ordering::Relaxed);
    }

    /// Waits for the item's start; returns its queue-to-start latency in nanoseconds.
    fn wait(&self) -> u64 {
        while !self.done.load(Ordering::Acquire) {
            thread::park();
        }
        let queued = self.queued_ns.load(Ordering::Relaxed);
        self.started_ns
            .load(Ordering::Relaxed)
            .saturating_sub(queued)
    }
}

/// Something that runs small items on other threads: cmwq or a peer.
pub trait Executor: Sync {
    /// What a producer keeps between its queueings (a reusable item, a pool handle...).
    /// Made once per producer and run, outside the timed region.
    type Producer: Send;

    /// The side's name in benchmark ids and the report (`cmwq`, `rayon`...).
    fn name(&self) -> &'static str;

    /// Prepares a producer whose items call `ctx.on_start()`.
    fn producer(&self, ctx: Arc<ProducerCtx>) -> Self::Producer;

    /// Queues one item that calls `on_start` of the producer's context.
    fn queue(&self, producer: &mut Self::Producer);
}

/// Runs one closed-loop run of `shape` on `executor`, adds every queue-to-start latency
/// to `samples` and returns the wall time from releasing the producers to the last
/// item's completion.
pub fn run_workload<E: Executor>(
    executor: &E,
    shape: Shape,
    samples: &mut LatencySamples,
) -> Duration {
    let base = Instant::now();
    let barrier = Barrier::new(shape.producers + 1);
    let (start, per_producer) = thread::scope(|s| {
        let handles: Vec<_> = (0..shape.producers)
            .map(|_| {
                let barrier = &barrier;
                s.spawn(move || {
                    let ctx = Arc::new(ProducerCtx::for_current_thread(base));
                    let mut producer = executor.producer(Arc::clone(&ctx));
                    let mut local = LatencySamples::with_capacity(shape.items_per_producer);
                    barrier.wait();
                    for _ in 0..shape.items_per_producer {
                        ctx.arm();
                        executor.queue(&mut producer);
                        local.record(ctx.wait());
                    }
                    (Instant::now(), local)
                })
            })
            .collect();
        barrier.wait();
        let start = Instant::now();
        let results: Vec<_> = handles
            .into_iter()
            .map(|h| h.join().expect("a producer thread panicked"))
            .collect();
        (start, results)
    });
    let mut end = start;
    for (finished, local) in &per_producer {
        end = end.max(*finished);
        samples.extend_from(local);
    }
    end - start
}

/// Queue-and-wait cycles [`allocations_per_queue`] runs before it starts counting, so that
/// lazily grown buffers (thread-locals, action buffers) are warm on every side alike.
pub const ALLOCATION_WARM_UP: usize = 100;

/// Allocations the producer's thread makes per queueing on `executor`, over `items`
/// queue-and-wait cycles after [`ALLOCATION_WARM_UP`] uncounted ones (only the `queue`
/// call is counted, not the wait). Meaningful when
/// [`crate::alloc_count::CountingAlloc`] is the global allocator.
pub fn allocations_per_queue<E: Executor>(executor: &E, items: usize) -> f64 {
    let ctx = Arc::new(ProducerCtx::for_current_thread(Instant::now()));
    let mut producer = executor.producer(Arc::clone(&ctx));
    let mut allocations = 0;
    for i in 0..ALLOCATION_WARM_UP + items {
        ctx.arm();
        let before = allocations_on_this_thread();
        executor.queue(&mut producer);
        if i >= ALLOCATION_WARM_UP {
            allocations += allocations_on_this_thread() - before;
        }
        ctx.wait();
    }
    allocations as f64 / items.max(1) as f64
}

/// cmwq: `Workqueue::queue_work` of an `Arc` item with an embedded [`cmwq::WorkHead`].
///
/// As in the kernel's test, each producer owns one item and queues it again once it has
/// started (its PENDING bit is clear by then), so queueing moves an `Arc` clone in and
/// allocates nothing. The workqueue is unbound with the default max_active, as the
/// kernel's `bench_wq` (`WQ_UNBOUND | WQ_SYSFS`, max_active 0).
#[derive(Debug)]
pub struct CmwqExecutor {
    wq: cmwq::Workqueue,
}

/// The item a cmwq producer queues: the kernel's `bench_work_fn` with its context.
#[derive(Debug)]
pub struct BenchWork {
    work: cmwq::Work<Self>,
    ctx: Arc<ProducerCtx>,
}

cmwq_work::impl_has_work!(BenchWork { work });

impl cmwq::WorkItem for BenchWork {
    fn run(this: Arc<Self>) {
        this.ctx.on_start();
    }

    fn name(&self) -> &str {
        "bench_work_fn"
    }
}

impl CmwqExecutor {
    /// A runtime for the machine's CPUs and one unbound workqueue on it.
    pub fn new() -> Result<Self, cmwq::BuildError> {
        let rt = cmwq::Runtime::builder().build()?;
        let wq = rt.workqueue("bench_wq").flags(cmwq::WQ_UNBOUND).build()?;
        Ok(Self { wq })
    }
}

impl Executor for CmwqExecutor {
    type Producer = Arc<BenchWork>;

    fn name(&self) -> &'static str {
        "cmwq"
    }

    fn producer(&self, ctx: Arc<ProducerCtx>) -> Self::Producer {
        Arc::new(BenchWork {
            work: cmwq::Work::new(),
            ctx,
        })
    }

    fn queue(&self, item: &mut Self::Producer) {
        if let Err(refused) = self.wq.queue_work(Arc::clone(item)) {
            // The producer waits for each start, so its item is never pending here.
            panic!("bench_wq refused an idle item: {refused:?}");
        }
    }
}

/// rayon: `ThreadPool::spawn` of a closure on a pool of its own.
#[derive(Debug)]
pub struct RayonExecutor {
    pool: rayon::ThreadPool,
}

impl RayonExecutor {
    /// A rayon pool of `threads` threads.
    pub fn new(threads: usize) -> Self {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("rayon-bench-{i}"))
            .build()
            .expect("rayon pool");
        Self { pool }
    }
}

impl Executor for RayonExecutor {
    type Producer = Arc<ProducerCtx>;

    fn name(&self) -> &'static str {
        "rayon"
    }

    fn producer(&self, ctx: Arc<ProducerCtx>) -> Self::Producer {
        ctx
    }

    fn queue(&self, ctx: &mut Self::Producer) {
        let ctx = Arc::clone(ctx);
        self.pool.spawn(move || ctx.on_start());
    }
}

/// threadpool: `ThreadPool::execute` of a closure.
#[derive(Debug)]
pub struct ThreadpoolExecutor {
    pool: threadpool::ThreadPool,
}

impl ThreadpoolExecutor {
    /// A pool of `threads` threads.
    pub fn new(threads: usize) -> Self {
        Self {
            pool: threadpool::ThreadPool::with_name("threadpool-bench".into(), threads),
        }
    }
}

impl Executor for ThreadpoolExecutor {
    type Producer = (threadpool::ThreadPool, Arc<ProducerCtx>);

    fn name(&self) -> &'static str {
        "threadpool"
    }

    fn producer(&self, ctx: Arc<ProducerCtx>) -> Self::Producer {
        (self.pool.clone(), ctx)
    }

    fn queue(&self, (pool, ctx): &mut Self::Producer) {
        let ctx = Arc::clone(ctx);
        pool.execute(move || ctx.on_start());
    }
}

/// tokio: `Handle::spawn_blocking` of a closure (the join handle is dropped).
#[derive(Debug)]
pub struct TokioExecutor {
    runtime: tokio::runtime::Runtime,
}

impl TokioExecutor {
    /// A multi-thread runtime with `threads` workers (its blocking pool grows on demand,
    /// as tokio's does).
    pub fn new(threads: usize) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .thread_name("tokio-bench")
            .build()
            .expect("tokio runtime");
        Self { runtime }
    }
}

impl Executor for TokioExecutor {
    type Producer = (tokio::runtime::Handle, Arc<ProducerCtx>);

    fn name(&self) -> &'static str {
        "tokio-spawn-blocking"
    }

    fn producer(&self, ctx: Arc<ProducerCtx>) -> Self::Producer {
        (self.runtime.handle().clone(), ctx)
    }

    fn queue(&self, (handle, ctx): &mut Self::Producer) {
        let ctx = Arc::clone(ctx);
        drop(handle.spawn_blocking(move || ctx.on_start()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runs_every_item<E: Executor>(executor: &E) {
        let shape = Shape {
            producers: 2,
            items_per_producer: 50,
        };
        let mut samples = LatencySamples::with_capacity(1000);
        run_workload(executor, shape, &mut samples);
        assert_eq!(samples.len() as u64, shape.total_items());
    }

    #[test]
    fn cmwq_runs_every_queued_item_once_per_queueing() {
        runs_every_item(&CmwqExecutor::new().expect("runtime"));
    }

    #[test]
    fn every_peer_runs_every_queued_item_once_per_queueing() {
        runs_every_item(&RayonExecutor::new(2));
        runs_every_item(&ThreadpoolExecutor::new(2));
        runs_every_item(&TokioExecutor::new(2));
    }

    #[test]
    fn allocation_count_is_zero_without_the_counting_allocator() {
        // The test binary uses the system allocator, so nothing is counted: the figure
        // only means something in a bench binary that installs `CountingAlloc`.
        assert_eq!(allocations_per_queue(&ThreadpoolExecutor::new(1), 10), 0.0);
    }
}
