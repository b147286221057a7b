//! A counting global allocator: how many allocations a thread made.
//!
//! A bench binary installs it with
//! `#[global_allocator] static A: CountingAlloc = CountingAlloc;` and reads
//! [`allocations_on_this_thread`] before and after the code it measures. The count is per
//! thread (a `const` thread-local `Cell`, so counting itself never allocates and costs
//! no atomic operation), which lets a producer thread count exactly what its own
//! queueing allocated, whatever the worker threads do meanwhile.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

/// The system allocator, counting allocations (`alloc`, `alloc_zeroed`, `realloc`) per
/// thread.
#[derive(Debug, Default, Clone, Copy)]
pub struct CountingAlloc;

fn count_one() {
    // `try_with`: during thread teardown the slot may be gone; such allocations are
    // not counted (no measurement spans a thread's exit).
    let _ = ALLOCATIONS.try_with(|c| c.set(c.get() + 1));
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so
// `System`'s guarantees are ours; counting touches only a thread-local `Cell` whose
// access never allocates (const-initialised, no destructor).
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, which we forward.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` through us with this `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_one();
        // SAFETY: `ptr` was allocated by `System` through us with this `layout`; the
        // caller upholds `realloc`'s contract for `new_size`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// Allocations the calling thread has made through [`CountingAlloc`] so far (always 0
/// when it is not the global allocator).
pub fn allocations_on_this_thread() -> u64 {
    ALLOCATIONS.try_with(Cell::get).unwrap_or(0)
}
