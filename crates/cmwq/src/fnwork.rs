//! One-shot closures ([`FnOnceWork`]) in cells the runtime recycles.
//!
//! [`Workqueue::queue_fn`](crate::Workqueue::queue_fn) puts each closure in a cell: an
//! `Arc<FnOnceWork>` with the work head, the name and up to [`INLINE`] bytes of closure
//! stored inline (a larger or more aligned closure is boxed into those bytes). A cell is
//! not freed when its run ends: if the run holds its last reference (the caller dropped the
//! handle `queue_fn` returned, and no queue holds it), the cell goes back to a cache, and
//! the next `queue_fn` takes it from there instead of allocating. A closure queue is a
//! flood of items made on one thread and freed on another: through the allocator each
//! item is a cross-thread free and an allocation whose memory the other CPU wrote last.
//!
//! The cache has two levels. Each thread keeps the cells it released (up to [`SPILL`]) and
//! what is left of the segment it took last; a thread whose own cells run out takes one
//! segment ([`SPILL`] cells) from the shared cache, under its lock (one lock operation per
//! [`SPILL`] cells either way, and a flood's producers share the cells between them;
//! segments of 32 cells measured about 10% slower with four producers, 128 and 256 level
//! with a lock-free stack that a taker empties whole). A
//! worker gives its released cells to the shared cache [`SPILL`] at a time, each segment
//! holding only cells whose runs have ended (the cell of the run that is ending starts the
//! next one), so a cell is never queued again while the worker that ran it still counts it
//! as its current item: the busy table never sees a recycled cell as the item it ran. A
//! thread that ends gives its cells to the shared cache too. The shared cache holds at
//! most [`SHARED_CAP`] cells (4 MiB of 128-byte cells); beyond that, released cells are
//! freed. The cap is sized for a flood's backlog: a producer that outruns its workers has
//! tens of thousands of cells in flight, and a smaller cap (4 096 was measured) sends most
//! of them back through the allocator. The cells stay cached for the process, as freed
//! memory stays in the allocator's bins.
//!
//! A recycled cell is, to the core, a new item: its work head is made afresh when the cell
//! is released (the kernel's `INIT_WORK` of a reused allocation), so it names no pool it
//! last ran on and any pool's producer queues it on the lock-free path.

use std::borrow::Cow;
use std::cell::{Cell, UnsafeCell};
use std::fmt;
use std::mem::MaybeUninit;
use std::ptr;
use std::sync::Arc;
use std::sync::atomic::{AtomicPtr, Ordering};

use cmwq_work::{Work, WorkItem};

/// Bytes of closure a cell holds inline (pointer-aligned); the closure of a larger or more
/// aligned one is boxed, its box held inline.
pub(crate) const INLINE: usize = 40;

/// Cells a thread keeps of those it released before giving them to the shared cache (a
/// segment).
pub(crate) const SPILL: usize = 128;

/// Cells the shared cache holds at most; cells released beyond it are freed.
pub(crate) const SHARED_CAP: usize = 32768;

/// How to run and drop the closure a cell holds: one static table per closure type and
/// storage form.
struct Thunk {
    /// Moves the closure out of the storage and calls it.
    call: unsafe fn(*mut u8),
    /// Drops the closure in the storage, unrun.
    drop: unsafe fn(*mut u8),
}

/// A closure queued once: the item [`Workqueue::queue_fn`](crate::Workqueue::queue_fn)
/// makes and returns, to flush or cancel it by. It runs its closure at most once; queued
/// again after that, it runs and does nothing.
///
/// The item is a cell the runtime recycles once nothing refers to it but its run (see
/// `queue_fn`): keeping the returned `Arc` keeps the cell from being reused, so the handle
/// always names this closure's item.
pub struct FnOnceWork {
    work: Work<Self>,
    /// The closure's table while the cell holds one; null once a run took it (one atomic
    /// swap per run) or while the cell is cached.
    thunk: AtomicPtr<Thunk>,
    /// The next cell of a cache chain, while the cell is cached.
    next: AtomicPtr<FnOnceWork>,
    /// Written only while one thread alone refers to the cell (filling it, or releasing it
    /// through `Arc::get_mut`).
    name: UnsafeCell<Cow<'static, str>>,
    /// The closure (or its box), while `thunk` is set.
    storage: UnsafeCell<MaybeUninit<[usize; INLINE / size_of::<usize>()]>>,
}

// A cell and its `Arc` counts are 128 bytes (two cache lines) on 64-bit targets.
const _: () = assert!(size_of::<usize>() != 8 || size_of::<FnOnceWork>() == 112);

// SAFETY: `storage` only ever holds `F: Send` closures (`fill` requires it), moved out by
// the one run that wins the `thunk` swap (to run on its thread) or dropped by `Drop`
// (exclusive); no `&F` is handed out, so sharing needs no `F: Sync`. `name` is written
// only while one thread alone refers to the cell, and read (`&str`) otherwise.
unsafe impl Sync for FnOnceWork {}
// SAFETY: as above: the closure it holds is `Send`, and so is its name.
unsafe impl Send for FnOnceWork {}

impl fmt::Debug for FnOnceWork {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FnOnceWork")
            .field("name", &self.name())
            .field("ran", &self.thunk.load(Ordering::Relaxed).is_null())
            .finish_non_exhaustive()
    }
}

cmwq_work::impl_has_work!(FnOnceWork { work });

impl WorkItem for FnOnceWork {
    fn run(mut this: Arc<Self>) {
        let thunk = this.thunk.swap(ptr::null_mut(), Ordering::Acquire);
        if !thunk.is_null() {
            // SAFETY: this run won the swap, so it alone owns the closure in `storage`,
            // which `thunk` (a static table, set by `fill` for that closure's type) moves
            // out and calls; `Drop` cannot run while `this` is held.
            unsafe { ((*thunk).call)(this.storage.get().cast()) };
        }
        if let Some(cell) = Arc::get_mut(&mut this) {
            // Nothing else refers to the cell: it can be reused, as a new item (the
            // kernel's `INIT_WORK` of a reused allocation). A fresh head records no last
            // pool, so a producer of any pool queues the cell on its lock-free path, as it
            // would a new allocation; its head is on no list, the run having begun. Its
            // name (perhaps a `String`) goes now rather than when the cell is filled again.
            cell.work = Work::new();
            *cell.name.get_mut() = Cow::Borrowed("");
            release(this);
        }
    }

    fn name(&self) -> &str {
        // SAFETY: the name is written only while one thread alone refers to the cell
        // (`fill`, `run`'s release through `Arc::get_mut`), never while `&self` is held
        // by another.
        unsafe { &*self.name.get() }
    }
}

impl Drop for FnOnceWork {
    fn drop(&mut self) {
        let thunk = *self.thunk.get_mut();
        if !thunk.is_null() {
            // SAFETY: `thunk` is set, so `storage` holds the closure of its table, unrun;
            // `&mut self` is the last reference.
            unsafe { ((*thunk).drop)(self.storage.get_mut().as_mut_ptr().cast()) };
        }
    }
}

impl FnOnceWork {
    /// A cell holding `f`, named `name`: one from the cache, or a new one.
    pub(crate) fn new<F: FnOnce() + Send + 'static>(name: Cow<'static, str>, f: F) -> Arc<Self> {
        let cell = take().unwrap_or_else(|| {
            #[cfg(test)]
            tests::MADE.with(|m| m.set(m.get() + 1));
            Arc::new(FnOnceWork {
                work: Work::new(),
                thunk: AtomicPtr::new(ptr::null_mut()),
                next: AtomicPtr::new(ptr::null_mut()),
                name: UnsafeCell::new(Cow::Borrowed("")),
                storage: UnsafeCell::new(MaybeUninit::uninit()),
            })
        });
        // SAFETY: a cell just made, or just taken from a cache, is referred to by `cell`
        // alone, and holds no closure.
        unsafe { cell.fill(name, f) };
        cell
    }

    /// Put `f` and `name` in the cell.
    ///
    /// # Safety
    ///
    /// The caller's reference is the only one to the cell, and the cell holds no closure.
    unsafe fn fill<F: FnOnce() + Send + 'static>(&self, name: Cow<'static, str>, f: F) {
        // SAFETY: no other reference (caller's contract), so nothing reads the name.
        unsafe { *self.name.get() = name };
        let storage = self.storage.get().cast::<u8>();
        let thunk: &'static Thunk = if size_of::<F>() <= INLINE
            && align_of::<F>() <= align_of::<[usize; INLINE / size_of::<usize>()]>()
        {
            // SAFETY: the storage is unoccupied, large and aligned enough for `F`.
            unsafe { storage.cast::<F>().write(f) };
            const {
                &Thunk {
                    call: call_inline::<F>,
                    drop: drop_inline::<F>,
                }
            }
        } else {
            // SAFETY: the storage is unoccupied, large and aligned enough for a box.
            unsafe { storage.cast::<Box<F>>().write(Box::new(f)) };
            const {
                &Thunk {
                    call: call_boxed::<F>,
                    drop: drop_boxed::<F>,
                }
            }
        };
        self.thunk
            .store(ptr::from_ref(thunk).cast_mut(), Ordering::Relaxed);
    }
}

/// # Safety
///
/// `p` holds an `F`, which the caller gives up.
unsafe fn call_inline<F: FnOnce()>(p: *mut u8) {
    // SAFETY: caller's contract.
    let f = unsafe { p.cast::<F>().read() };
    f();
}

/// # Safety
///
/// `p` holds an `F`, which the caller gives up.
unsafe fn drop_inline<F>(p: *mut u8) {
    // SAFETY: caller's contract.
    unsafe { p.cast::<F>().drop_in_place() };
}

/// # Safety
///
/// `p` holds a `Box<F>`, which the caller gives up.
unsafe fn call_boxed<F: FnOnce()>(p: *mut u8) {
    // SAFETY: caller's contract.
    let f = unsafe { p.cast::<Box<F>>().read() };
    f();
}

/// # Safety
///
/// `p` holds a `Box<F>`, which the caller gives up.
unsafe fn drop_boxed<F>(p: *mut u8) {
    // SAFETY: caller's contract.
    unsafe { p.cast::<Box<F>>().drop_in_place() };
}

/// A chain of cached cells, each an `Arc::into_raw` whose strong count the chain owns,
/// linked through `next` and ending in null.
type CellPtr = *const FnOnceWork;

/// A chain of at most [`SPILL`] cached cells, given back by a thread.
struct Segment(ptr::NonNull<FnOnceWork>);

// SAFETY: a segment owns its cells (each an `Arc` count of a `Send` cell) and is handed
// whole from the thread that gave it back to the one that takes it, under the lock.
unsafe impl Send for Segment {}

/// Segments the shared cache holds at most.
const SHARED_SEGMENTS: usize = SHARED_CAP / SPILL;

/// The segments threads gave back and no thread took yet, newest last. One lock
/// operation per segment, so per [`SPILL`] cells: a thread takes one segment at a time,
/// and a flood's producers share the cells between them.
static SHARED: parking_lot::Mutex<Vec<Segment>> = parking_lot::Mutex::new(Vec::new());

/// A thread's cells.
struct Local {
    /// Cells of the segment taken last, to hand out.
    free: Cell<CellPtr>,
    /// Cells this thread released, newest first, and their count.
    spill: Cell<CellPtr>,
    spill_len: Cell<usize>,
}

thread_local! {
    static LOCAL: Local = const {
        Local {
            free: Cell::new(ptr::null()),
            spill: Cell::new(ptr::null()),
            spill_len: Cell::new(0),
        }
    };
}

impl Drop for Local {
    /// The thread is leaving: its cells (at most two segments) go to the shared cache.
    fn drop(&mut self) {
        // SAFETY: both chains are this thread's own, and the thread is leaving.
        unsafe {
            publish(self.free.get());
            publish(self.spill.get());
        }
    }
}

/// Free every cell of `chain`.
///
/// # Safety
///
/// The caller owns `chain` (null or a chain of cached cells).
unsafe fn free_chain(mut chain: CellPtr) {
    while !chain.is_null() {
        // SAFETY: the chain owns one strong count of each of its cells (caller's
        // contract); the link is read before that count is given up.
        unsafe {
            let next = (*chain).next.load(Ordering::Relaxed);
            drop(Arc::from_raw(chain));
            chain = next;
        }
    }
}

/// Pop the first cell of the chain in `chain`, which the caller's thread owns.
///
/// # Safety
///
/// `chain` holds null or a chain of cached cells owned by the caller.
unsafe fn pop(chain: &Cell<CellPtr>) -> Option<Arc<FnOnceWork>> {
    let cell = chain.get();
    if cell.is_null() {
        return None;
    }
    // SAFETY: the chain is the caller's; the link is read while it still owns the cell.
    let next = unsafe { (*cell).next.load(Ordering::Relaxed) };
    chain.set(next);
    // SAFETY: the chain owned one strong count of `cell`, now handed to the caller.
    Some(unsafe { Arc::from_raw(cell) })
}

/// A cached cell for this thread to fill: its own released cells first (the warmest),
/// then those of the segment it took last, then a segment of the shared cache.
fn take() -> Option<Arc<FnOnceWork>> {
    LOCAL
        .try_with(|l| {
            // SAFETY: both chains are this thread's.
            if let Some(cell) = unsafe { pop(&l.spill) } {
                l.spill_len.set(l.spill_len.get() - 1);
                return Some(cell);
            }
            // SAFETY: as above.
            if let Some(cell) = unsafe { pop(&l.free) } {
                return Some(cell);
            }
            let segment = SHARED.lock().pop()?;
            l.free.set(segment.0.as_ptr());
            // SAFETY: the segment, now this thread's free chain, is not empty.
            unsafe { pop(&l.free) }
        })
        .ok()
        .flatten()
}

/// Cache `cell`, referred to by nothing else, for a later `queue_fn`.
fn release(cell: Arc<FnOnceWork>) {
    let raw = Arc::into_raw(cell);
    let kept = LOCAL.try_with(|l| {
        if l.spill_len.get() == SPILL {
            // Give the others the cells released before this one: their runs have ended.
            // SAFETY: the spill chain is this thread's.
            unsafe { publish(l.spill.get()) };
            l.spill.set(ptr::null());
            l.spill_len.set(0);
        }
        // SAFETY: `raw` is referred to by nothing else, so its link is ours to write.
        unsafe {
            (*raw)
                .next
                .store(l.spill.get().cast_mut(), Ordering::Relaxed)
        };
        l.spill.set(raw);
        l.spill_len.set(l.spill_len.get() + 1);
    });
    if kept.is_err() {
        // The thread is leaving (its cache is gone): free the cell.
        // SAFETY: `raw` came from `Arc::into_raw` above and was not cached.
        drop(unsafe { Arc::from_raw(raw) });
    }
}

/// Give the chain `head` (at most [`SPILL`] cells) to the shared cache, or free it if the
/// cache is full.
///
/// # Safety
///
/// The caller owns the chain (null: nothing to give).
unsafe fn publish(head: CellPtr) {
    let Some(head) = ptr::NonNull::new(head.cast_mut()) else {
        return;
    };
    let mut shared = SHARED.lock();
    if shared.len() < SHARED_SEGMENTS {
        if shared.capacity() == 0 {
            shared.reserve_exact(SHARED_SEGMENTS);
        }
        shared.push(Segment(head));
        return;
    }
    drop(shared);
    // SAFETY: caller's contract.
    unsafe { free_chain(head.as_ptr()) };
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use cmwq_work::WorkItem;

    use super::FnOnceWork;

    thread_local! {
        /// Cells this thread made new (not taken from a cache).
        pub(super) static MADE: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    }

    /// The caches are the process's: these tests take turns, so that none takes the cells
    /// another expects back (under Miri or `cargo test` they share one process).
    fn serial() -> std::sync::MutexGuard<'static, ()> {
        static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());
        TURN.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Counts its drops (the closure's captured state).
    struct Token(Arc<AtomicUsize>);
    impl Drop for Token {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn the_closure_runs_once_however_often_the_item_runs() {
        let _turn = serial();
        let runs = Arc::new(AtomicUsize::new(0));
        let drops = Arc::new(AtomicUsize::new(0));
        let (r, token) = (Arc::clone(&runs), Token(Arc::clone(&drops)));
        let item = FnOnceWork::new("once".into(), move || {
            let _token = token;
            r.fetch_add(1, Ordering::SeqCst);
        });
        assert!(format!("{item:?}").contains("ran: false"));
        WorkItem::run(Arc::clone(&item));
        assert_eq!(
            (runs.load(Ordering::SeqCst), drops.load(Ordering::SeqCst)),
            (1, 1)
        );
        WorkItem::run(Arc::clone(&item));
        assert_eq!(runs.load(Ordering::SeqCst), 1, "a second run does nothing");
        assert!(format!("{item:?}").contains("ran: true"));
        assert_eq!(item.name(), "once", "a held cell keeps its name");
        drop(item);
        assert_eq!(
            drops.load(Ordering::SeqCst),
            1,
            "the closure is dropped once"
        );
    }

    #[test]
    fn an_item_that_never_ran_drops_its_closure() {
        let _turn = serial();
        let drops = Arc::new(AtomicUsize::new(0));
        let token = Token(Arc::clone(&drops));
        let item = FnOnceWork::new("never".into(), move || drop(token));
        assert_eq!(drops.load(Ordering::SeqCst), 0);
        drop(item);
        assert_eq!(drops.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_large_closure_is_boxed_and_runs_and_drops_once() {
        let _turn = serial();
        let runs = Arc::new(AtomicUsize::new(0));
        let drops = Arc::new(AtomicUsize::new(0));
        let (r, token) = (Arc::clone(&runs), Token(Arc::clone(&drops)));
        let payload = [7u64; 16];
        assert!(size_of_val(&payload) > super::INLINE);
        let item = FnOnceWork::new("large".into(), move || {
            let _token = token;
            r.fetch_add(payload.iter().sum::<u64>() as usize, Ordering::SeqCst);
        });
        WorkItem::run(Arc::clone(&item));
        assert_eq!(runs.load(Ordering::SeqCst), 7 * 16);
        assert_eq!(drops.load(Ordering::SeqCst), 1);
        // And one never run drops its closure with the cell.
        let token = Token(Arc::clone(&drops));
        let unrun = FnOnceWork::new("large-unrun".into(), move || {
            let _keep = (&token, payload);
        });
        drop(unrun);
        assert_eq!(drops.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn a_cell_whose_run_held_its_last_reference_is_reused() {
        let _turn = serial();
        let first = FnOnceWork::new(String::from("first").into(), || {});
        let addr = Arc::as_ptr(&first);
        // The run holds the only reference: the cell is released to this thread's cache.
        WorkItem::run(first);
        let again = FnOnceWork::new("second".into(), || {});
        assert_eq!(
            Arc::as_ptr(&again),
            addr,
            "the released cell is taken first"
        );
        assert_eq!(again.name(), "second");
        assert!(format!("{again:?}").contains("ran: false"));
    }

    #[test]
    fn a_cell_still_held_is_not_reused() {
        let _turn = serial();
        let held = FnOnceWork::new("held".into(), || {});
        WorkItem::run(Arc::clone(&held));
        let other = FnOnceWork::new("other".into(), || {});
        assert_ne!(Arc::as_ptr(&other), Arc::as_ptr(&held));
        assert_eq!(held.name(), "held");
    }

    #[test]
    fn cells_released_on_one_thread_serve_another() {
        let _turn = serial();
        // One thread makes the cells, another runs them: the runner gives the cells it
        // released to the shared cache a segment at a time, keeping its last one, and the
        // maker takes them back.
        const N: usize = 4 * super::SPILL;
        // Start from an empty shared cache.
        while let Some(segment) = super::SHARED.lock().pop() {
            // SAFETY: the segment, taken out, is this test's.
            unsafe { super::free_chain(segment.0.as_ptr()) };
        }
        let runs = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = std::sync::mpsc::channel::<Vec<Arc<FnOnceWork>>>();
        let (done_tx, done) = std::sync::mpsc::channel::<()>();
        let runner = std::thread::spawn(move || {
            for batch in rx {
                batch.into_iter().for_each(WorkItem::run);
                done_tx.send(()).unwrap();
            }
        });
        let mut made = Vec::new();
        for _ in 0..3 {
            let before = MADE.with(std::cell::Cell::get);
            let batch = (0..N)
                .map(|_| {
                    let r = Arc::clone(&runs);
                    FnOnceWork::new("flood".into(), move || {
                        r.fetch_add(1, Ordering::SeqCst);
                    })
                })
                .collect();
            made.push(MADE.with(std::cell::Cell::get) - before);
            tx.send(batch).unwrap();
            done.recv().unwrap();
        }
        drop(tx);
        runner.join().unwrap();
        assert_eq!(runs.load(Ordering::SeqCst), 3 * N);
        // The second round reuses the three segments the runner gave back of the first (it
        // kept the last); the third, the runner's four segments of the second round (the
        // first of them the one it kept of the first round).
        assert_eq!(made, [N, N - 3 * super::SPILL, 0]);
    }

    #[test]
    fn racing_runs_take_the_closure_once() {
        let _turn = serial();
        let runs = Arc::new(AtomicUsize::new(0));
        let r = Arc::clone(&runs);
        let item = FnOnceWork::new("race".into(), move || {
            r.fetch_add(1, Ordering::SeqCst);
        });
        std::thread::scope(|s| {
            for _ in 0..4 {
                let item = Arc::clone(&item);
                s.spawn(move || WorkItem::run(item));
            }
        });
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }
}
