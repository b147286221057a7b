//! What a researcher can see of a running runtime: its state as plain data
//! (`Runtime::snapshot()`, serialisable as JSON, from which the text dump is one
//! rendering), per-pool worker and idle counts, and which thread each dump worker id is.

use std::sync::mpsc;

use cmwq::{Affinity, Runtime, work_fn};
use cmwq_dump::{KernelFormat, Snapshot};

#[test]
fn the_snapshot_is_the_dumps_data_and_serialises_as_json() {
    let rt = Runtime::builder()
        .nr_cpus(1)
        .affinity(Affinity::Free)
        .build()
        .unwrap();
    let wq = rt.workqueue("events").build().unwrap();
    let (started_tx, started) = mpsc::channel();
    let (release, released) = mpsc::channel::<()>();
    let released = parking_lot::Mutex::new(released);
    wq.queue_work(work_fn("busy_fn", move || {
        started_tx.send(()).unwrap();
        cmwq::blocking(|| {
            let _ = released.lock().recv();
        });
    }))
    .unwrap();
    started.recv().unwrap();
    let snap = rt.snapshot();
    let w = snap
        .workqueue("events")
        .expect("the workqueue is in the snapshot");
    let pwq = w
        .pwqs
        .iter()
        .find(|p| p.nr_active == 1)
        .expect("its busy pwq");
    assert_eq!(pwq.in_flight[0].func, "busy_fn");
    // Per-pool counts: the pool runs one worker that is busy.
    let pool = snap.pool(pwq.pool_id).unwrap();
    assert!(
        pool.nr_workers >= 1 && pool.nr_idle < pool.nr_workers,
        "{pool:?}"
    );
    // The text dump is a rendering of this data.
    let text = snap
        .show_all_workqueues(KernelFormat::default())
        .unwrap()
        .to_string();
    assert!(text.contains("in-flight: "), "{text}");
    assert!(text.contains(":busy_fn for "), "{text}");
    // JSON there and back.
    let json = serde_json::to_string(&snap).unwrap();
    let back: Snapshot = serde_json::from_str(&json).unwrap();
    assert_eq!(back, snap);
    // The in-flight worker's dump id names a thread of the runtime.
    let id = pwq.in_flight[0].id;
    let workers = rt.workers();
    let t = workers
        .iter()
        .find(|t| t.id == id)
        .unwrap_or_else(|| panic!("worker {id} in {workers:?}"));
    assert!(t.name.starts_with("kworker/0:"), "{t:?}");
    assert!(t.thread.is_some() && !t.rescuer, "{t:?}");
    assert_eq!(t.pool, Some(pwq.pool_id));
    release.send(()).unwrap();
    wq.flush();
}

#[test]
fn a_rescuer_is_listed_as_the_rescuer_of_its_workqueue() {
    let rt = Runtime::builder()
        .nr_cpus(1)
        .affinity(Affinity::Free)
        .build()
        .unwrap();
    let _wq = rt
        .workqueue("reclaim")
        .flags(cmwq::WQ_MEM_RECLAIM)
        .build()
        .unwrap();
    let workers = rt.workers();
    assert!(
        workers
            .iter()
            .any(|t| t.rescuer && t.name == "kworker/R-reclaim"),
        "{workers:?}"
    );
}
