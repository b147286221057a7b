//! The queue path allocates nothing: making a `WorkRef` from an `Arc`, moving it between
//! lists, moving a cursor, taking the item back and running it.

use cmwq_work::raw::WorkHeadRaw;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use cmwq_work::{PoolId, PwqId, Work, WorkFlags, WorkItem, WorkList, WorkRef, impl_has_work};

/// Counts allocations made by the thread that set `COUNTING`.
struct CountingAlloc;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
}

// SAFETY: forwards every call to the system allocator unchanged; it only counts.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: the caller's contract is passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract is passed on.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

/// Allocations made by `f` on this thread.
fn allocations_in(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    COUNTING.with(|c| c.set(true));
    f();
    COUNTING.with(|c| c.set(false));
    ALLOCATIONS.load(Ordering::Relaxed) - before
}

struct Item {
    work: Work<Self>,
}
impl_has_work!(Item { work });
impl WorkItem for Item {
    fn run(_this: Arc<Self>) {}
}

#[test]
fn queueing_moving_and_running_an_item_does_not_allocate() {
    let item = Arc::new(Item { work: Work::new() });
    let other = Arc::new(Item { work: Work::new() });
    let mut worklist = WorkList::new();
    let mut scheduled = WorkList::new();
    // The cursor is allocated once, up front (as when a pwq is created).
    let cursor = worklist.new_cursor(1);

    let n = allocations_in(|| {
        // queue_work(): PENDING, pwq, link.
        assert_eq!(item.work.test_and_set_pending(), Ok(true));
        item.work.set_pwq(PwqId::new(1), 0, WorkFlags::empty());
        worklist.push_back(WorkRef::from_arc(item.clone()));
        worklist.push_back(WorkRef::from_arc(other.clone()));
        // The rescuer's cursor moves; an item moves to a worker's scheduled list.
        // SAFETY: `other` is on `worklist`.
        unsafe { worklist.move_cursor_before(cursor, &other.work) };
        let work = worklist.pop_front().unwrap();
        scheduled.push_back(work);
        let work = scheduled.pop_front().unwrap();
        work.head().set_pool_and_clear_pending(PoolId(0));
        let extra = work.clone_ref();
        work.run();
        let back: Arc<Item> = extra.try_into_arc().unwrap();
        drop(back);
        // SAFETY: `other` is on `worklist`.
        drop(unsafe { worklist.remove(&other.work) });
        worklist.unlink_cursor(cursor);
    });
    assert_eq!(n, 0, "the queue path allocated");
    assert_eq!(Arc::strong_count(&item), 1);
    assert_eq!(Arc::strong_count(&other), 1);
}
