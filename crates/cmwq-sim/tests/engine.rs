//! The event loop's contract beyond the scenarios: stuck runs stop at their horizon, bad
//! input is a typed error, a run without a trace still dumps, and loading by name or path.

use cmwq_sim::time::{NSEC_PER_SEC, ms, secs};
use cmwq_sim::{
    ItemSpec, PolicyChoice, RunOptions, Scenario, ScenarioError, SimError, TraceMode,
    WorkqueueSpec, load, run, run_with,
};

#[test]
fn a_stuck_run_stops_at_its_horizon_and_reports_unfinished_items() {
    let s = Scenario::builder("stuck")
        .workqueue(WorkqueueSpec::new("wq"))
        .item(ItemSpec::new("waiter", "wait_for_io", "wq").block("io"))
        .signal("io", secs(1000))
        .until(secs(10))
        .dump_at(secs(5))
        .build()
        .unwrap();
    let r = run(&s, PolicyChoice::Cursor).unwrap();
    assert_eq!(r.unfinished, 1);
    assert_eq!(r.trace.end, 10 * NSEC_PER_SEC);
    assert!(
        r.dumps[0].text.contains("in-flight: "),
        "{}",
        r.dumps[0].text
    );
    assert!(
        r.dumps[0].text.contains(":wait_for_io for 4s"),
        "{}",
        r.dumps[0].text
    );
}

#[test]
fn a_workqueue_name_the_core_refuses_is_a_typed_error() {
    let long = "w".repeat(40);
    let s = Scenario::builder("bad")
        .workqueue(WorkqueueSpec::new(long.clone()))
        .build()
        .unwrap();
    match run(&s, PolicyChoice::Cursor) {
        Err(SimError::Workqueue { name, .. }) => assert_eq!(name, long),
        other => panic!("expected a workqueue error, got {other:?}"),
    }
}

#[test]
fn all_is_not_a_single_policy() {
    let s = cmwq_sim::library::idle();
    assert!(matches!(
        run(&s, PolicyChoice::All),
        Err(SimError::NotASinglePolicy)
    ));
    assert_eq!(
        cmwq_sim::run_policies(&s, PolicyChoice::All).unwrap().len(),
        3
    );
}

#[test]
fn a_run_without_trace_still_takes_its_dumps() {
    let s = cmwq_sim::library::max_active_one();
    let options = RunOptions {
        trace: TraceMode::Off,
        ..RunOptions::default()
    };
    let quiet = run_with(&s, PolicyChoice::Cursor, options).unwrap();
    let full = run(&s, PolicyChoice::Cursor).unwrap();
    assert!(quiet.trace.events.is_empty());
    assert_eq!(quiet.dumps, full.dumps);
    assert_eq!(quiet.unfinished, 0);
}

#[test]
fn sleeping_items_let_another_worker_run_the_pool() {
    // One item sleeps for 50 ms; the other must not wait for it (concurrency management
    // wakes or creates another worker).
    let s = Scenario::builder("cm")
        .workqueue(WorkqueueSpec::new("events"))
        .item(ItemSpec::new("sleeper", "sleepy", "events").sleep(ms(50)))
        .item(
            ItemSpec::new("quick", "quick", "events")
                .at(ms(1))
                .run(ms(1)),
        )
        .build()
        .unwrap();
    let r = run(&s, PolicyChoice::Cursor).unwrap();
    assert!(
        r.metrics.queue_to_start.max < 10 * 1_000_000,
        "{}",
        r.metrics
    );
}

#[test]
fn scenarios_load_by_builtin_name_or_file_path() {
    assert_eq!(load("reported-case").unwrap().name, "reported-case");
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/reported-case.toml");
    assert_eq!(load(path).unwrap(), cmwq_sim::library::reported_case());
    assert!(matches!(
        load("no-such-scenario"),
        Err(ScenarioError::NotFound(_))
    ));
}

#[test]
fn a_long_cpu_bound_item_turns_cpu_intensive_and_lets_the_pool_run_others() {
    use cmwq_sim::trace::TraceKind;
    let s = Scenario::builder("hog")
        .workqueue(WorkqueueSpec::new("events"))
        .item(ItemSpec::new("hog", "crc_hog", "events").run(ms(100)))
        .item(
            ItemSpec::new("quick", "quick", "events")
                .at(ms(1))
                .run(ms(1)),
        )
        .build()
        .unwrap();
    let r = run(&s, PolicyChoice::Cursor).unwrap();
    let quick_start = r
        .trace
        .events
        .iter()
        .find_map(|e| match e.kind {
            TraceKind::Started { item: 1, .. } => Some(e.t),
            _ => None,
        })
        .unwrap();
    // Not before the cpu-intensive threshold (10 ms: the hog still counts as running), and
    // long before the hog finishes at 100 ms.
    assert!(
        (10_000_000..20_000_000).contains(&quick_start),
        "quick started at {quick_start}"
    );
}

fn finish_times(r: &cmwq_sim::RunOutput) -> Vec<u64> {
    use cmwq_sim::trace::TraceKind;
    r.trace
        .events
        .iter()
        .filter_map(|e| matches!(e.kind, TraceKind::Finished { .. }).then_some(e.t))
        .collect()
}

#[test]
fn workers_bound_to_one_cpu_share_it_round_robin() {
    // WQ_CPU_INTENSIVE items do not count in nr_running, so the pool runs both at once on
    // its one CPU: each gets half of it and both finish at about 20 ms, not 10 ms.
    let s = Scenario::builder("share")
        .workqueue(WorkqueueSpec::new("crypto").cpu_intensive())
        .item(ItemSpec::new("a", "hash_a", "crypto").run(ms(10)))
        .item(ItemSpec::new("b", "hash_b", "crypto").run(ms(10)))
        .build()
        .unwrap();
    let r = run(&s, PolicyChoice::Cursor).unwrap();
    let done = finish_times(&r);
    assert_eq!(done.len(), 2);
    assert!(
        done.iter().all(|&t| t >= 18_000_000),
        "both finish late when sharing: {done:?}"
    );
}

#[test]
fn unbound_workers_spread_over_idle_cpus() {
    let s = Scenario::builder("spread")
        .cpus(2)
        .workqueue(WorkqueueSpec::new("unb").unbound().cpu_intensive())
        .item(ItemSpec::new("a", "job_a", "unb").run(ms(10)))
        .item(ItemSpec::new("b", "job_b", "unb").run(ms(10)))
        .build()
        .unwrap();
    let r = run(&s, PolicyChoice::Cursor).unwrap();
    let done = finish_times(&r);
    assert_eq!(done.len(), 2);
    assert!(
        done.iter().all(|&t| t < 12_000_000),
        "two CPUs run both at once: {done:?}"
    );
}

#[test]
fn the_delayed_cancel_and_flush_scenario_files_read_back_as_the_library_ones() {
    for (file, built) in [
        ("delayed-rearm.toml", cmwq_sim::library::delayed_rearm()),
        (
            "cancel-flush-rescue.toml",
            cmwq_sim::library::cancel_flush_rescue(),
        ),
    ] {
        let path = format!("{}/scenarios/{file}", env!("CARGO_MANIFEST_DIR"));
        assert_eq!(load(&path).unwrap(), built, "{file}");
    }
}
