//! The runtime's NUMA topology reaches the dump: per-CPU pools print their CPU's node, an
//! unbound pool the node holding all its CPUs (none when they span nodes), as a kernel's
//! pool info does (`cpus=1 node=1 flags=0x0 nice=0` for a CPU of a second node).

use std::sync::mpsc;

use cmwq::{Affinity, BuildError, Runtime, work_fn};

#[test]
fn per_cpu_pools_print_their_cpus_node_and_a_spanning_unbound_pool_none() {
    let rt = Runtime::builder()
        .nr_cpus(2)
        .numa_nodes(vec![0, 1])
        .affinity(Affinity::Free)
        .build()
        .unwrap();
    let wq = rt.workqueue("events").build().unwrap();
    let ub = rt
        .workqueue("events_unbound")
        .flags(cmwq::WQ_UNBOUND)
        .build()
        .unwrap();
    let (started_tx, started) = mpsc::channel();
    let (release, released) = mpsc::channel::<()>();
    let released = std::sync::Arc::new(parking_lot::Mutex::new(released));
    let hold = |name: &'static str| {
        let (tx, rx) = (started_tx.clone(), std::sync::Arc::clone(&released));
        work_fn(name, move || {
            tx.send(()).unwrap();
            cmwq::blocking(|| {
                let _ = rx.lock().recv();
            });
        })
    };
    wq.queue_work_on(1, hold("cpu1_fn")).unwrap();
    started.recv().unwrap();
    let dump = rt.show_all_workqueues();
    // The pool's manager may be creating a worker for the blocked one at this moment
    // (flags=0x2 then), so the pwq line is matched on everything but its flags.
    let line = dump
        .lines()
        .find(|l| l.starts_with("  pwq") && l.contains("cpus=1 node=1 flags="))
        .unwrap_or_else(|| panic!("{dump}"));
    assert!(line.ends_with(" nice=0 active=1 refcnt=2"), "{dump}");
    release.send(()).unwrap();
    ub.queue_work(hold("unbound_fn")).unwrap();
    started.recv().unwrap();
    let dump = rt.show_all_workqueues();
    let line = dump
        .lines()
        .find(|l| l.contains("cpus=0-1") && l.starts_with("  pwq"))
        .unwrap_or_else(|| panic!("{dump}"));
    assert!(!line.contains("node="), "{line}");
    release.send(()).unwrap();
}

#[test]
fn a_node_map_must_name_every_cpu() {
    let err = Runtime::builder()
        .nr_cpus(2)
        .numa_nodes(vec![0])
        .build()
        .unwrap_err();
    assert!(
        matches!(
            err,
            BuildError::BadNumaNodes {
                given: 1,
                nr_cpus: 2
            }
        ),
        "{err}"
    );
}
