//! The queue path does not allocate: queueing an already-created `Arc` item moves the Arc
//! into the pool's intrusive list, and `queue_fn` refills the cells of closures that ran.
//! Counted with a counting global allocator, per thread (the producer's own allocations
//! across N queueings), not timed.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use cmwq::{Affinity, Runtime, Work, WorkItem, impl_has_work};

struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static COUNT: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator; the bookkeeping touches only const-initialised
// thread-locals (no allocation, no re-entrancy).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = COUNTING.try_with(|c| {
            if c.get() {
                let _ = COUNT.try_with(|n| n.set(n.get() + 1));
            }
        });
        // SAFETY: the caller's contract is the system allocator's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let _ = COUNTING.try_with(|c| {
            if c.get() {
                let _ = COUNT.try_with(|n| n.set(n.get() + 1));
            }
        });
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations made by this thread while `f` runs.
fn allocations_in(f: impl FnOnce()) -> usize {
    COUNT.with(|n| n.set(0));
    COUNTING.with(|c| c.set(true));
    f();
    COUNTING.with(|c| c.set(false));
    COUNT.with(Cell::get)
}

struct Tick {
    work: Work<Self>,
    runs: AtomicUsize,
}
impl_has_work!(Tick { work });
impl WorkItem for Tick {
    fn run(this: Arc<Self>) {
        this.runs.fetch_add(1, Ordering::Release);
    }
}

const N: usize = 1000;

/// A runtime of one CPU, its threads free to run anywhere, no watchdog.
fn one_cpu_runtime() -> Runtime {
    Runtime::builder()
        .nr_cpus(1)
        .affinity(Affinity::Free)
        .watchdog_thresh(None)
        .build()
        .unwrap()
}

#[test]
fn queue_work_of_an_existing_arc_item_allocates_nothing() {
    let rt = one_cpu_runtime();
    let wq = rt.workqueue("noalloc").build().unwrap();
    let item = Arc::new(Tick {
        work: Work::new(),
        runs: AtomicUsize::new(0),
    });
    // Warm up: the pool's worker exists, this thread's action buffer is allocated.
    for _ in 0..4 {
        wq.queue_work(Arc::clone(&item)).unwrap();
        wq.flush();
    }
    let mut refused = 0usize;
    let n = allocations_in(|| {
        for _ in 0..N {
            // Cloning an Arc is a count increment, not an allocation.
            if wq.queue_work(Arc::clone(&item)).is_err() {
                refused += 1; // still pending from the previous call: a no-op
            }
        }
    });
    wq.flush();
    assert_eq!(n, 0, "allocations across {N} queue_work calls");
    let runs = item.runs.load(Ordering::Acquire);
    assert_eq!(runs, 4 + N - refused, "each successful queueing ran once");
}

/// Queue a closure on `wq` that spins until `open` is set: behind it, an ordered
/// workqueue runs nothing (and so releases no cell) until then.
fn queue_gate(wq: &cmwq::Workqueue, open: &Arc<std::sync::atomic::AtomicBool>) {
    let gate = Arc::clone(open);
    drop(wq.queue_fn("gate", move || {
        while !gate.load(Ordering::Acquire) {
            std::hint::spin_loop();
        }
    }));
}

#[test]
fn queue_fn_reuses_the_cells_of_closures_that_ran() {
    let rt = one_cpu_runtime();
    // Ordered: the closures run one by one after a gate, which holds them back until
    // every handle is dropped, so each run holds its cell's last reference.
    let wq = rt.workqueue("noalloc-fn").ordered().build().unwrap();
    let runs = Arc::new(AtomicUsize::new(0));
    let queue = |name: &'static str| {
        let r = Arc::clone(&runs);
        drop(wq.queue_fn(name, move || {
            r.fetch_add(1, Ordering::Relaxed);
        }));
    };
    let open = Arc::new(std::sync::atomic::AtomicBool::new(false));
    queue_gate(&wq, &open);
    // With the gate, 1024 cells: their worker gives them back a segment at a time,
    // keeping its last segment.
    (0..1023).for_each(|_| queue("warm"));
    open.store(true, Ordering::Release);
    wq.flush();
    assert_eq!(runs.load(Ordering::Relaxed), 1023);
    // This thread takes the cells given back (the first for a second gate, which keeps
    // the worker from giving back any more meanwhile): queue_fn allocates nothing until
    // they run out, then one new cell.
    let open = Arc::new(std::sync::atomic::AtomicBool::new(false));
    queue_gate(&wq, &open);
    let mut reused = 0;
    let first_new = loop {
        let n = allocations_in(|| queue("reused"));
        if n > 0 {
            break n;
        }
        reused += 1;
        assert!(reused < 1024, "more cells reused than were given back");
    };
    assert_eq!(
        first_new, 1,
        "with no cell left, one allocation for a new one"
    );
    assert!(
        reused >= 512,
        "{reused} queue_fn calls reused a cell: most of the 1024 cells that ran come back"
    );
    open.store(true, Ordering::Release);
    wq.flush();
    assert_eq!(runs.load(Ordering::Relaxed), 1023 + reused + 1);
}
