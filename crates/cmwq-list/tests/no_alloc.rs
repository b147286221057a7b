//! Linking, unlinking, iterating and moving cursors allocate nothing; only `new_cursor`
//! does.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering};

use cmwq_list::{List, Node};

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

fn allocations_in(f: impl FnOnce()) -> usize {
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    COUNTING.with(|c| c.set(true));
    f();
    COUNTING.with(|c| c.set(false));
    ALLOCATIONS.load(Ordering::Relaxed) - before
}

struct Item {
    node: Node<()>,
}
cmwq_list::impl_element!(Item { node: Node<()> });

#[test]
fn list_operations_after_new_cursor_do_not_allocate() {
    let items: Vec<Item> = (0..4)
        .map(|_| Item {
            node: Node::new(&()),
        })
        .collect();
    let mut list = List::new();
    let c = list.new_cursor(1);
    let n = allocations_in(|| {
        for it in &items {
            // SAFETY: `items` outlives `list`.
            unsafe { list.push_back(NonNull::from(it)) };
        }
        // SAFETY: items[2] and items[1] are on the list.
        unsafe {
            list.move_cursor_before(c, NonNull::from(&items[2]));
            list.remove(NonNull::from(&items[1]));
        }
        assert_eq!(list.iter_after_cursor(c).count(), 2);
        assert_eq!(list.iter().count(), 4);
        list.move_cursor_to_back(c);
        assert!(list.pop_front().is_some());
        list.unlink_cursor(c);
        assert_eq!(list.drain().count(), 2);
    });
    assert_eq!(n, 0, "a list operation allocated");
    assert!(
        allocations_in(|| {
            let _ = list.new_cursor(2);
        }) > 0,
        "new_cursor allocates"
    );
}
