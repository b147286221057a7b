//! The queue path, the worker path and the rescuer path allocate nothing once warmed up
//! (invariant 5): a counting global allocator watches `Pool::queue_work`, `next_work`,
//! `work_done` and a rescuer's `rescuer_attach`/`rescuer_next`/`rescuer_detach` visits.

use cmwq_work::raw::WorkHeadRaw;
use std::alloc::{GlobalAlloc, Layout, System as SysAlloc};
use std::cell::Cell;

use cmwq_pool::{
    Actions, Next, Pool, PoolId, PoolKind, Priority, PwqSpec, QueueFrom, WorkerId, WqFlags, WqId,
};
use cmwq_work::{WorkRef, work_fn};

struct Counting;

thread_local! {
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: forwards to the system allocator; the counter is a thread-local Cell touched
// without allocating.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: same layout contract as ours.
        unsafe { SysAlloc.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: ptr came from SysAlloc.alloc with this layout.
        unsafe { SysAlloc.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new: usize) -> *mut u8 {
        let _ = ALLOCS.try_with(|c| c.set(c.get() + 1));
        // SAFETY: same contract as ours.
        unsafe { SysAlloc.realloc(ptr, layout, new) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocs() -> u64 {
    ALLOCS.with(Cell::get)
}

#[test]
fn queueing_and_running_allocate_nothing_once_warm() {
    let mut out = Actions::with_capacity(64);
    let mut pool = Pool::new(
        PoolId(2),
        PoolKind::PerCpu {
            cpu: 0,
            pri: Priority::Normal,
        },
        1,
        0,
    );
    let pwq = pool
        .add_pwq(
            PwqSpec {
                wq: WqId(0),
                wq_flags: WqFlags::empty(),
                max_active: 16,
                policy: Default::default(),
            },
            0,
            &mut out,
        )
        .unwrap();
    out.clear();
    let (w1, w2) = (WorkerId(1), WorkerId(2));
    pool.worker_created(w1, 0, &mut out);
    pool.worker_created(w2, 0, &mut out);
    let items: Vec<_> = (0..8).map(|_| work_fn("noalloc_fn", || {})).collect();
    let mut round = |count: bool| -> u64 {
        let mut during = 0;
        for it in &items {
            let w = WorkRef::from_arc(it.clone());
            assert!(w.head().test_and_set_pending().unwrap());
            out.clear();
            let before = allocs();
            pool.queue_work(pwq, w, QueueFrom::Outside, 1, &mut out)
                .unwrap();
            during += allocs() - before;
        }
        loop {
            out.clear();
            let before = allocs();
            let next = pool.next_work(w1, 2, &mut out);
            during += allocs() - before;
            match next {
                Next::Run(w) => {
                    w.run();
                    out.clear();
                    let before = allocs();
                    pool.work_done(w1, 10, 3, &mut out);
                    during += allocs() - before;
                }
                Next::Idle => break,
                other => panic!("{other:?}"),
            }
        }
        if count { during } else { 0 }
    };
    round(false); // warm-up: buffers and tables grow once
    assert_eq!(round(true), 0, "allocations on the queue and worker paths");
    let _ = w2;
}

/// A workqueue lock with nothing on its maydays list.
struct NoMaydays;

impl cmwq_pool::MaydaySink for NoMaydays {
    fn send_mayday(&mut self, _wq: WqId, _pwq: cmwq_pool::PwqId) -> bool {
        false
    }
    fn others_waiting(&self, _wq: WqId) -> bool {
        false
    }
    fn is_on_maydays(&self, _wq: WqId, _pwq: cmwq_pool::PwqId) -> bool {
        false
    }
}

#[test]
fn rescuer_visits_allocate_nothing_once_warm() {
    use cmwq_pool::{Policy, RescueNext};
    for policy in Policy::BUILTIN {
        let mut out = Actions::with_capacity(64);
        let mut pool = Pool::new(
            PoolId(2),
            PoolKind::PerCpu {
                cpu: 0,
                pri: Priority::Normal,
            },
            1,
            0,
        );
        let pwq = pool
            .add_pwq(
                PwqSpec {
                    wq: WqId(0),
                    wq_flags: WqFlags::MEM_RECLAIM,
                    max_active: 16,
                    policy: policy.clone(),
                },
                0,
                &mut out,
            )
            .unwrap();
        let (w1, rescuer) = (WorkerId(1), WorkerId(100));
        pool.worker_created(w1, 0, &mut out);
        // The only worker becomes the manager; its creation request is never answered.
        let w = WorkRef::from_arc(work_fn("first_fn", || {}));
        assert!(w.head().test_and_set_pending().unwrap());
        pool.queue_work(pwq, w, QueueFrom::Outside, 1, &mut out)
            .unwrap();
        assert!(matches!(pool.next_work(w1, 1, &mut out), Next::Manage));
        assert!(pool.need_to_create_worker());
        let items: Vec<_> = (0..8).map(|_| work_fn("reclaim_fn", || {})).collect();
        let mut sink = NoMaydays;
        let mut visit = |pool: &mut Pool, count: bool| -> u64 {
            let mut during = 0;
            let mut measure = |f: &mut dyn FnMut()| {
                let before = allocs();
                f();
                during += allocs() - before;
            };
            for it in &items {
                let w = WorkRef::from_arc(it.clone());
                assert!(w.head().test_and_set_pending().unwrap());
                out.clear();
                measure(&mut || {
                    pool.queue_work(pwq, w.clone(), QueueFrom::Outside, 1, &mut out)
                        .unwrap()
                });
            }
            out.clear();
            measure(&mut || pool.rescuer_attach(rescuer, pwq, 2));
            let mut ran = 0;
            loop {
                out.clear();
                let mut next = None;
                measure(&mut || next = Some(pool.rescuer_next(rescuer, &mut sink, 2, &mut out)));
                match next.unwrap() {
                    RescueNext::Run(w) => {
                        w.run();
                        ran += 1;
                        out.clear();
                        measure(&mut || pool.work_done(rescuer, 10, 3, &mut out));
                    }
                    RescueNext::Leave => break,
                }
            }
            out.clear();
            measure(&mut || pool.rescuer_detach(rescuer, &mut sink, 3, &mut out));
            assert!(ran >= items.len(), "{policy}: ran {ran}");
            if count { during } else { 0 }
        };
        visit(&mut pool, false); // warm-up
        assert_eq!(
            visit(&mut pool, true),
            0,
            "{policy}: allocations on the rescuer path"
        );
    }
}
