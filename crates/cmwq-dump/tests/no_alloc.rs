//! Formatting a dump never allocates: every writer formats straight into the `fmt::Write`
//! it is given. Proved with a counting global allocator; this file holds a single test so
//! no other test's allocations are counted.

use std::alloc::{GlobalAlloc, Layout, System};
use std::fmt::{self, Write};
use std::sync::atomic::{AtomicUsize, Ordering};

use cmwq_dump::{
    InFlightWorker, KernelFormat, PoolSnapshot, PwqSnapshot, PwqStats, Snapshot, WorkEntry,
    WqSnapshot, pool_flags, wq_flags,
};

struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards every call to the system allocator unchanged; counting has no effect on
// the memory returned.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, which we pass on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout (see `alloc`).
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller upholds `GlobalAlloc::realloc`'s contract, which we pass on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// A `fmt::Write` that only counts bytes, so writing into it cannot allocate.
struct Sink(usize);

impl Write for Sink {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0 += s.len();
        Ok(())
    }
}

fn busy_snapshot() -> Snapshot {
    {
        let mut v = Snapshot::default();
        v.workqueues = vec![{
            let mut v = WqSnapshot::default();
            v.name = "a_very_long_workqueue_name_for_testing".into();
            v.flags = wq_flags::WQ_MEM_RECLAIM | wq_flags::WQ_FREEZABLE;
            v.pwqs = vec![{
                let mut v = PwqSnapshot::default();
                v.id = 0;
                v.pool_id = 4;
                v.nr_active = 9;
                v.max_active = 16;
                v.refcnt = 10;
                v.mayday = true;
                v.in_flight = vec![{
                    let mut v = InFlightWorker::default();
                    v.id = 149;
                    v.rescuer = true;
                    v.func = "stall_fn".into();
                    v.running_ms = 31_000;
                    v.scheduled = vec![WorkEntry::func("stall_fn"), WorkEntry::barrier(3)];
                    v
                }];
                v.pending = vec![
                    WorkEntry::mayday_cursor(),
                    WorkEntry::func("f"),
                    WorkEntry::func("f").linked(),
                    WorkEntry::barrier(8),
                    WorkEntry::func("g"),
                ];
                v.inactive = vec![WorkEntry::func("h"), WorkEntry::func("h")];
                v.stats = {
                    let mut v = PwqStats::default();
                    v.started = 10;
                    v.completed = 3;
                    v.cpu_time_us = 1_234_567;
                    v
                };
                v
            }];
            v
        }];
        v.pools = vec![{
            let mut v = PoolSnapshot::default();
            v.id = 4;
            v.cpus = [0, 2, 3, 7].into_iter().collect();
            v.node = Some(1);
            v.flags = pool_flags::POOL_MANAGER_ACTIVE;
            v.nice = -20;
            v.worklist_len = 5;
            v.since_progress_ms = 40_000;
            v.since_touched_ms = None;
            v.nr_workers = 3;
            v.nr_idle = 1;
            v.manager = Some(150);
            v.idle = vec![151];
            v
        }];
        v
    }
}

#[test]
fn formatting_a_dump_a_watchdog_report_and_a_monitor_table_never_allocates() {
    let snap = busy_snapshot();
    let all = snap.show_all_workqueues(KernelFormat::Linux7_0).unwrap();
    let freezable = snap
        .show_freezable_workqueues(KernelFormat::Linux7_0)
        .unwrap();
    let report = snap
        .watchdog_report(30_000, KernelFormat::Linux6_12)
        .unwrap();
    let monitor = snap.wq_monitor();

    let mut sink = Sink(0);
    let before = ALLOCATIONS.load(Ordering::Relaxed);
    write!(sink, "{all}{freezable}{report}{monitor}").unwrap();
    let after = ALLOCATIONS.load(Ordering::Relaxed);

    assert!(sink.0 > 1000, "wrote {} bytes", sink.0);
    assert_eq!(after - before, 0, "formatting allocated");
}
