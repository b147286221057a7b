//! Work items, `WorkRef` reference counting and `WorkList` ownership.

use cmwq_work::raw::WorkHeadRaw;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use cmwq_work::{
    Entry, FnWork, HasWork, LinkedWork, PwqId, Work, WorkFlags, WorkHead, WorkItem, WorkList,
    WorkRef, impl_has_work, work_fn,
};

/// A plain item that counts its runs.
struct Counter {
    tag: u32,
    work: Work<Self>,
    runs: AtomicU32,
}
impl_has_work!(Counter { work });
impl WorkItem for Counter {
    fn run(this: Arc<Self>) {
        this.runs.fetch_add(1, Ordering::Relaxed);
    }
}

fn counter(tag: u32) -> Arc<Counter> {
    Arc::new(Counter {
        tag,
        work: Work::new(),
        runs: AtomicU32::new(0),
    })
}

/// A flush barrier: the dump prints `BAR(task)`.
struct Barrier {
    work: Work<Self>,
    task: u32,
}
impl_has_work!(Barrier { work });
impl WorkItem for Barrier {
    fn run(_this: Arc<Self>) {}
    fn name(&self) -> &str {
        "wq_barrier_func"
    }
}
impl cmwq_work::raw::BarrierWork for Barrier {
    fn barrier_task(&self) -> u32 {
        self.task
    }
}

/// A generic item, declared with the macro's generic form.
struct Generic<T> {
    value: T,
    work: Work<Self>,
}
impl_has_work!(impl[T: Send + Sync + 'static] Generic<T> { work });
impl<T: Send + Sync + 'static> WorkItem for Generic<T> {
    fn run(_this: Arc<Self>) {}
}

/// An item whose head is not its first field.
struct Panicky {
    _pad: [u64; 3],
    work: Work<Self>,
}
impl_has_work!(Panicky { work });
impl WorkItem for Panicky {
    fn run(_this: Arc<Self>) {
        panic!("work function failed");
    }
}

#[test]
fn from_arc_takes_the_count_and_drop_releases_it() {
    let item = counter(1);
    let work = WorkRef::from_arc(item.clone());
    assert_eq!(Arc::strong_count(&item), 2);
    drop(work);
    assert_eq!(Arc::strong_count(&item), 1);
}

#[test]
fn clone_ref_adds_one_count_and_each_drop_removes_one() {
    let item = counter(1);
    let a = WorkRef::from_arc(item.clone());
    let b = a.clone_ref();
    #[allow(clippy::redundant_clone)]
    let c = b.clone();
    assert_eq!(Arc::strong_count(&item), 4);
    assert_eq!(a.addr(), b.addr());
    assert_eq!(b.addr(), c.addr());
    drop((a, b));
    assert_eq!(Arc::strong_count(&item), 2);
    drop(c);
    assert_eq!(Arc::strong_count(&item), 1);
}

#[test]
fn run_hands_the_arc_to_the_item_and_releases_it_after() {
    let item = counter(1);
    WorkRef::from_arc(item.clone()).run();
    assert_eq!(item.runs.load(Ordering::Relaxed), 1);
    assert_eq!(Arc::strong_count(&item), 1);
}

#[test]
fn a_panicking_run_still_releases_the_count() {
    let item = Arc::new(Panicky {
        _pad: [0; 3],
        work: Work::new(),
    });
    let work = WorkRef::from_arc(item.clone());
    let result = catch_unwind(AssertUnwindSafe(|| work.run()));
    assert!(result.is_err());
    assert_eq!(Arc::strong_count(&item), 1);
}

#[test]
fn try_into_arc_gives_the_arc_back_for_the_right_type_only() {
    let item = counter(7);
    let work = WorkRef::from_arc(item.clone());
    assert!(work.is::<Counter>());
    assert!(!work.is::<Barrier>());
    let Err(work) = work.try_into_arc::<Barrier>() else {
        panic!("a Counter is not a Barrier")
    };
    assert_eq!(
        Arc::strong_count(&item),
        2,
        "a refused conversion keeps the count"
    );
    let back: Arc<Counter> = work.try_into_arc().unwrap();
    assert!(Arc::ptr_eq(&back, &item));
    assert_eq!(back.tag, 7);
    assert_eq!(Arc::strong_count(&item), 2);
    drop(back);
    assert_eq!(Arc::strong_count(&item), 1);
}

#[test]
fn head_and_addr_identify_the_item() {
    let item = counter(1);
    let work = WorkRef::from_arc(item.clone());
    assert!(core::ptr::eq(work.head(), &*item.work));
    assert_eq!(work.addr(), core::ptr::from_ref(&item.work).addr());
    assert!(core::ptr::eq(item.work_head(), &item.work));
}

#[test]
fn names_come_from_the_item() {
    let f = work_fn("vmstat_update", || {});
    let named = WorkRef::from_arc(f.clone());
    assert_eq!(named.name(), "vmstat_update");
    assert_eq!(named.barrier_task(), None);

    let default = WorkRef::from_arc(counter(1));
    assert_eq!(
        default.name(),
        "Counter",
        "the type's name without its path"
    );
    let generic = WorkRef::from_arc(Arc::new(Generic {
        value: 5u8,
        work: Work::new(),
    }));
    assert_eq!(generic.name(), "Generic");
    assert_eq!(
        generic.try_into_arc::<Generic<u8>>().ok().map(|g| g.value),
        Some(5)
    );

    let bar = WorkRef::from_arc(Arc::new(Barrier {
        work: cmwq_work::raw::barrier_work(),
        task: 4242,
    }));
    assert_eq!(bar.name(), "wq_barrier_func");
    assert_eq!(bar.barrier_task(), Some(4242));
}

#[test]
fn items_met_on_a_list_name_themselves_and_a_head_alone_names_its_type() {
    let f = work_fn("mayday_cursor_func", || {});
    assert_eq!(
        f.head().type_name(),
        "FnWork",
        "a head alone: the type's name"
    );
    assert!(!f.head().is_barrier());
    let bar = Arc::new(Barrier {
        work: cmwq_work::raw::barrier_work(),
        task: 17,
    });
    assert!(
        bar.work.is_barrier(),
        "a barrier head says so without its item"
    );

    let mut list = WorkList::new();
    list.push_back(WorkRef::from_arc(f.clone()));
    list.push_back(WorkRef::from_arc(bar.clone()));
    let seen: Vec<(&str, Option<u32>)> =
        list.heads().map(|h| (h.name(), h.barrier_task())).collect();
    assert_eq!(
        seen,
        [("mayday_cursor_func", None), ("wq_barrier_func", Some(17))]
    );
}

#[test]
fn dropping_a_worklist_drops_its_references() {
    let items: Vec<_> = (0..3).map(counter).collect();
    {
        let mut list = WorkList::new();
        for it in &items {
            list.push_back(WorkRef::from_arc(it.clone()));
        }
        let c = list.new_cursor(1);
        list.move_cursor_to_back(c);
        assert!(items.iter().all(|it| Arc::strong_count(it) == 2));
        assert!(items.iter().all(|it| it.work.is_linked()));
    }
    assert!(items.iter().all(|it| Arc::strong_count(it) == 1));
    assert!(items.iter().all(|it| !it.work.is_linked()));
}

#[test]
fn worklist_keeps_order_and_hands_references_back() {
    let items: Vec<_> = (0..4).map(counter).collect();
    let mut list = WorkList::new();
    assert!(list.is_empty());
    list.push_back(WorkRef::from_arc(items[1].clone()));
    list.push_back(WorkRef::from_arc(items[2].clone()));
    list.push_front(WorkRef::from_arc(items[0].clone()));
    // SAFETY: items[2] is on the list.
    unsafe { list.insert_after(&items[2].work, WorkRef::from_arc(items[3].clone())) };
    assert_eq!(list.len(), 4);
    assert!(core::ptr::eq(list.front().unwrap(), &*items[0].work));
    let order: Vec<u32> = list
        .drain()
        .map(|w| w.try_into_arc::<Counter>().unwrap().tag)
        .collect();
    assert_eq!(order, [0, 1, 2, 3]);
    assert!(items.iter().all(|it| Arc::strong_count(it) == 1));
}

#[test]
fn remove_by_head_from_iteration_returns_the_reference() {
    let items: Vec<_> = (0..3).map(counter).collect();
    let mut list = WorkList::new();
    for it in &items {
        list.push_back(WorkRef::from_arc(it.clone()));
    }
    // The pool finds an item by scanning, then takes it.
    let middle = list.heads().nth(1).map(core::ptr::NonNull::from).unwrap();
    // SAFETY: `middle` was yielded by this list's iteration and nothing changed since; the
    // reference made from it is used only for this call.
    let work = unsafe { list.remove(middle.as_ref()) };
    assert_eq!(work.addr(), core::ptr::from_ref(&items[1].work).addr());
    work.run();
    assert_eq!(items[1].runs.load(Ordering::Relaxed), 1);
    assert_eq!(Arc::strong_count(&items[1]), 1);
    assert_eq!(list.len(), 2);

    assert!(list.remove_checked(&items[1].work).is_none());
    assert!(!list.contains(&items[1].work));
    let w0 = list.remove_checked(&items[0].work).unwrap();
    assert_eq!(w0.addr(), core::ptr::from_ref(&items[0].work).addr());
    assert_eq!(
        list.pop_front().map(|w| w.addr()),
        Some(core::ptr::from_ref(&items[2].work).addr())
    );
    assert_eq!(list.pop_front().map(|w| w.addr()), None);
}

#[test]
fn worklist_forwards_cursor_operations() {
    let items: Vec<_> = (0..3).map(counter).collect();
    let mut list = WorkList::new();
    for it in &items {
        list.push_back(WorkRef::from_arc(it.clone()));
    }
    let c = list.new_cursor(11);
    assert!(list.owns_cursor(c));
    assert_eq!(list.cursor_owner(c), 11);
    assert!(!list.cursor_is_linked(c));
    // SAFETY: items[1] is on the list.
    unsafe { list.move_cursor_before(c, &items[1].work) };
    let tags = |it: cmwq_work::Entry<'_, WorkHead>| match it {
        Entry::Elem(h) => items
            .iter()
            .position(|i| core::ptr::eq(&*i.work, h.get()))
            .unwrap()
            .to_string(),
        Entry::Cursor(c) => format!("C{}", c.owner()),
    };
    assert_eq!(
        list.iter().map(tags).collect::<Vec<_>>(),
        ["0", "C11", "1", "2"]
    );
    assert_eq!(
        list.iter_after_cursor(c).map(tags).collect::<Vec<_>>(),
        ["1", "2"]
    );
    // SAFETY: items[1] is on the list.
    unsafe { list.move_cursor_after(c, &items[1].work) };
    assert_eq!(
        list.iter_after_cursor(c).map(tags).collect::<Vec<_>>(),
        ["2"]
    );
    // SAFETY: items[0] is on the list.
    let after_first = unsafe { list.iter_after(&items[0].work) };
    assert_eq!(after_first.map(tags).collect::<Vec<_>>(), ["1", "C11", "2"]);
    list.move_cursor_to_back(c);
    assert_eq!(list.iter_after_cursor(c).count(), 0);
    list.unlink_cursor(c);
    assert_eq!(list.raw().iter().count(), 3);
    list.free_cursor(c);
    assert!(!list.owns_cursor(c));
    // A cursor is never counted or popped as work.
    let d = list.new_cursor(12);
    // SAFETY: items[0] is on the list.
    unsafe { list.move_cursor_before(d, &items[0].work) };
    assert_eq!(list.len(), 3);
    assert_eq!(list.drain().count(), 3);
    assert!(!list.cursor_is_linked(d));
}

#[test]
#[should_panic(expected = "is already on a list")]
fn pushing_an_item_that_is_on_another_list_panics() {
    let item = counter(1);
    let mut a = WorkList::new();
    let mut b = WorkList::new();
    a.push_back(WorkRef::from_arc(item.clone()));
    b.push_back(WorkRef::from_arc(item));
}

#[test]
fn the_queue_protocol_links_an_item_once() {
    // What queue_work() does with the pieces: take PENDING, record the pwq, link.
    let item = counter(1);
    let mut list = WorkList::new();
    for _ in 0..3 {
        if item.work.test_and_set_pending() == Ok(true) {
            item.work.set_pwq(PwqId::new(2), 0, WorkFlags::empty());
            list.push_back(WorkRef::from_arc(item.clone()));
        }
    }
    assert_eq!(list.len(), 1);
    assert_eq!(Arc::strong_count(&item), 2);
}

#[test]
fn closure_items_run_their_closure() {
    let runs = Arc::new(AtomicU32::new(0));
    let r = runs.clone();
    let f: Arc<FnWork<_>> = work_fn("tick", move || {
        r.fetch_add(1, Ordering::Relaxed);
    });
    for _ in 0..3 {
        WorkRef::from_arc(f.clone()).run();
    }
    assert_eq!(runs.load(Ordering::Relaxed), 3);
    assert_eq!(Arc::strong_count(&f), 1);
}

#[test]
fn work_refs_and_lists_cross_threads() {
    static_assertions::assert_impl_all!(WorkRef: Send, Sync);
    static_assertions::assert_impl_all!(WorkList: Send, Sync);
    static_assertions::assert_impl_all!(parking_lot::Mutex<WorkList>: Send, Sync);
    static_assertions::assert_impl_all!(WorkHead: Send, Sync);

    let items: Vec<_> = (0..4).map(counter).collect();
    let list = parking_lot::Mutex::new(WorkList::new());
    std::thread::scope(|s| {
        for it in &items {
            let list = &list;
            s.spawn(move || list.lock().push_back(WorkRef::from_arc(it.clone())));
        }
    });
    // Workers take items and run them on their own threads.
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                while let Some(work) = list.lock().pop_front() {
                    work.run();
                }
            });
        }
    });
    assert!(items.iter().all(|it| it.runs.load(Ordering::Relaxed) == 1));
    assert!(items.iter().all(|it| Arc::strong_count(it) == 1));
}

#[test]
fn debug_output_names_items_and_cursors() {
    let mut list = WorkList::new();
    list.push_back(WorkRef::from_arc(work_fn("a_func", || {})));
    let c = list.new_cursor(3);
    list.move_cursor_to_back(c);
    assert_eq!(format!("{list:?}"), r#"["a_func", "<cursor of 3>"]"#);
    let w = list.pop_front().unwrap();
    let shown = format!("{w:?}");
    assert!(shown.starts_with(r#"WorkRef { name: "a_func""#), "{shown}");
}

const RESET: u64 = 1;

/// An item with two heads, each with its own work function and name (a device's refresh
/// and reset works).
struct Device {
    tag: u32,
    refresh: Work<Self>,
    reset: Work<Self, RESET>,
    refreshes: AtomicU32,
    resets: AtomicU32,
}
impl_has_work!(Device { refresh => 0, reset => RESET });
impl WorkItem for Device {
    fn run(this: Arc<Self>) {
        this.refreshes.fetch_add(1, Ordering::Relaxed);
    }
    fn name(&self) -> &str {
        "device_refresh_fn"
    }
}
impl WorkItem<RESET> for Device {
    fn run(this: Arc<Self>) {
        this.resets.fetch_add(1, Ordering::Relaxed);
    }
    fn name(&self) -> &str {
        "device_reset_fn"
    }
}

fn device(tag: u32) -> Arc<Device> {
    Arc::new(Device {
        tag,
        refresh: Work::new(),
        reset: Work::new(),
        refreshes: AtomicU32::new(0),
        resets: AtomicU32::new(0),
    })
}

fn device_runs(dev: &Device) -> (u32, u32) {
    (
        dev.refreshes.load(Ordering::Relaxed),
        dev.resets.load(Ordering::Relaxed),
    )
}

#[test]
fn two_heads_queued_at_once_each_run_their_own_function_once() {
    let dev = device(1);
    let mut list = WorkList::new();
    // Both heads take PENDING: one being pending does not make the other's a no-op.
    assert_eq!(dev.reset.test_and_set_pending(), Ok(true));
    assert_eq!(dev.refresh.test_and_set_pending(), Ok(true));
    assert_eq!(dev.reset.test_and_set_pending(), Ok(false));
    dev.reset.set_pwq(PwqId::new(1), 0, WorkFlags::empty());
    dev.refresh.set_pwq(PwqId::new(2), 3, WorkFlags::empty());
    list.push_back(WorkRef::from_arc::<Device, RESET>(dev.clone()));
    list.push_back(WorkRef::from_arc::<Device, 0>(dev.clone()));
    assert_eq!(Arc::strong_count(&dev), 3);
    assert_eq!(
        (dev.reset.pwq(), dev.refresh.pwq()),
        (Some(PwqId::new(1)), Some(PwqId::new(2)))
    );
    assert_eq!((dev.reset.color(), dev.refresh.color()), (0, 3));
    let names: Vec<&str> = list.heads().map(|h| h.name()).collect();
    assert_eq!(names, ["device_reset_fn", "device_refresh_fn"]);

    let reset = list.pop_front().unwrap();
    assert!(core::ptr::eq(reset.head(), &*dev.reset));
    assert_eq!(reset.head_id(), RESET);
    reset
        .head()
        .set_pool_and_clear_pending(cmwq_work::PoolId(0));
    assert!(
        dev.refresh.is_pending(),
        "clearing one head's PENDING leaves the other's"
    );
    reset.run();
    assert_eq!(device_runs(&dev), (0, 1));

    let refresh = list.pop_front().unwrap();
    assert!(core::ptr::eq(refresh.head(), &*dev.refresh));
    assert_eq!(refresh.head_id(), 0);
    refresh
        .head()
        .set_pool_and_clear_pending(cmwq_work::PoolId(0));
    refresh.run();
    assert_eq!(device_runs(&dev), (1, 1));
    assert_eq!(Arc::strong_count(&dev), 1);
}

#[test]
fn try_into_arc_from_the_second_head_gives_back_the_same_arc() {
    let dev = device(7);
    let work = WorkRef::from_arc::<Device, RESET>(dev.clone());
    assert!(work.is::<Device>());
    assert!(!work.is::<Counter>());
    assert_eq!(work.name(), "device_reset_fn");
    let clone = work.clone_ref();
    let Err(work) = work.try_into_arc::<Counter>() else {
        panic!("a Device is not a Counter");
    };
    let back = work.try_into_arc::<Device>().unwrap();
    assert!(Arc::ptr_eq(&back, &dev));
    assert_eq!(back.tag, 7);
    drop(back);
    drop(clone);
    assert_eq!(Arc::strong_count(&dev), 1);
}

#[test]
fn each_head_is_disabled_on_its_own() {
    let dev = device(2);
    assert_eq!(dev.reset.disable(), Ok(1));
    assert_eq!(
        dev.reset.test_and_set_pending(),
        Err(cmwq_work::WorkDisabled { count: 1 })
    );
    assert_eq!(dev.refresh.test_and_set_pending(), Ok(true));
    assert_eq!(dev.reset.enable(), Ok(0));
    assert_eq!(dev.reset.test_and_set_pending(), Ok(true));
}

/// A generic item with two heads, declared with the macro's generic form of `field => ID`.
struct GenericDevice<T> {
    value: T,
    a: Work<Self>,
    b: Work<Self, 2>,
}
impl_has_work!(impl[T: Send + Sync + 'static] GenericDevice<T> { a => 0, b => 2, });
impl<T: Send + Sync + 'static> WorkItem for GenericDevice<T> {
    fn run(_this: Arc<Self>) {}
    fn name(&self) -> &str {
        "a_fn"
    }
}
impl<T: Send + Sync + 'static> WorkItem<2> for GenericDevice<T> {
    fn run(_this: Arc<Self>) {}
    fn name(&self) -> &str {
        "b_fn"
    }
}

#[test]
fn the_generic_form_declares_several_heads() {
    let item = Arc::new(GenericDevice {
        value: 9u16,
        a: Work::new(),
        b: Work::new(),
    });
    assert_eq!(
        <GenericDevice<u16> as HasWork<2>>::WORK_OFFSET,
        core::mem::offset_of!(GenericDevice<u16>, b)
    );
    let b = WorkRef::from_arc::<GenericDevice<u16>, 2>(item.clone());
    let a = WorkRef::from_arc::<GenericDevice<u16>, 0>(item.clone());
    assert_eq!((a.name(), b.name()), ("a_fn", "b_fn"));
    assert_eq!((a.head_id(), b.head_id()), (0, 2));
    assert_ne!(a.addr(), b.addr(), "two heads, two identities");
    let b = b.try_into_arc::<GenericDevice<u16>>().unwrap();
    assert_eq!(b.value, 9);
    drop((a, b));
    assert_eq!(Arc::strong_count(&item), 1);
}

#[test]
fn a_head_debugs_as_its_type_and_id() {
    let dev = device(0);
    let shown = format!("{:?}", dev.reset);
    assert!(
        shown.starts_with(r#"Work { type: "Device", id: 1, data: "#),
        "{shown}"
    );
    let shown = format!("{:?}", &*dev.refresh);
    assert!(
        shown.starts_with(r#"WorkHead { type: "Device", id: 0, "#),
        "{shown}"
    );
}
