//! The rescuer: mayday timer, the three policies, the cursor.

mod harness;

use cmwq_pool::{
    MAYDAY_INITIAL_TIMEOUT, MAYDAY_INTERVAL, Policy, PoolKind, Priority, RESCUER_BATCH, WqFlags,
    WqId, WqSpec, pool_of,
};
use cmwq_work::raw::WorkHeadRaw;
use harness::*;

/// A MEM_RECLAIM workqueue on CPU 0 (and 1 if `cpus` is 2) whose pools have their first
/// worker, after which every worker creation fails.
fn stalled(policy: Policy, cpus: u32) -> (Harness, WqId) {
    let mut h = Harness::new(cpus);
    let wq = h.alloc(WqSpec::new("reclaim_wq", WqFlags::MEM_RECLAIM).policy(policy));
    assert_eq!(h.created.len(), cpus as usize);
    h.create_fails = true;
    (h, wq)
}

fn normal_pool(cpu: u32) -> cmwq_pool::PoolId {
    PoolKind::PerCpu {
        cpu,
        pri: Priority::Normal,
    }
    .percpu_pool_id()
    .unwrap()
}

#[test]
fn mayday_timer_calls_the_rescuer_after_the_initial_timeout() {
    let (mut h, wq) = stalled(Policy::Cursor, 1);
    let a = h.item("a_fn");
    h.queue(wq, &a).unwrap();
    // The only worker became the manager; creation failed; nothing ran.
    assert!(h.ran().is_empty());
    assert_eq!(h.create_failures, 1);
    assert!(h.sys.pool(normal_pool(0)).unwrap().manager_active());
    assert_eq!(
        h.timer(Timer::Mayday(normal_pool(0))),
        Some(MAYDAY_INITIAL_TIMEOUT)
    );
    h.advance_to(MAYDAY_INITIAL_TIMEOUT - 1);
    assert!(h.ran().is_empty());
    h.advance_to(MAYDAY_INITIAL_TIMEOUT);
    assert_eq!(h.ran(), vec!["a_fn"]);
    assert_eq!(h.rescued_names(wq), vec!["a_fn"]);
    let s = h.sys.wq_stats(wq);
    assert_eq!((s.mayday, s.rescued), (1, 1));
    // The timer re-arms for MAYDAY_INTERVAL while creation keeps failing.
    assert_eq!(
        h.timer(Timer::Mayday(normal_pool(0))),
        Some(MAYDAY_INITIAL_TIMEOUT + MAYDAY_INTERVAL)
    );
}

#[test]
fn workqueues_without_mem_reclaim_get_no_mayday() {
    let mut h = Harness::new(1);
    let wq = h.alloc(WqSpec::new("plain", WqFlags::empty()));
    h.create_fails = true;
    let a = h.item("a_fn");
    h.queue(wq, &a).unwrap();
    h.advance_to(MAYDAY_INITIAL_TIMEOUT + 3 * MAYDAY_INTERVAL);
    assert!(h.ran().is_empty());
    assert_eq!(h.sys.wq_stats(wq).mayday, 0);
}

/// The blocked-sibling scenario: one item blocks inside the rescuer; then creation
/// succeeds again. Returns the names run by normal workers while the blocker is held.
fn blocked_sibling_scenario(policy: Policy) -> (Harness, WqId) {
    let (mut h, wq) = stalled(policy, 1);
    h.blocking.push("blocker".into());
    let blocker = h.item("blocker");
    h.queue(wq, &blocker).unwrap();
    let sibs: Vec<_> = (0..5).map(|_| h.item("sibling")).collect();
    for s in &sibs {
        h.queue(wq, s).unwrap();
    }
    h.advance_to(MAYDAY_INITIAL_TIMEOUT);
    assert_eq!(h.holder("blocker"), Some(Runner::Rescuer(wq)));
    // Pressure ends: the next creation attempt (after CREATE_COOLDOWN) succeeds.
    h.create_fails = false;
    h.advance(cmwq_pool::CREATE_COOLDOWN);
    assert_eq!(
        h.holder("blocker"),
        Some(Runner::Rescuer(wq)),
        "still blocked"
    );
    (h, wq)
}

#[test]
fn slurp_keeps_siblings_stalled_behind_a_blocked_rescuer() {
    let (mut h, wq) = blocked_sibling_scenario(Policy::Slurp);
    assert_eq!(
        h.count_ran("sibling"),
        0,
        "siblings sit on the rescuer's scheduled list"
    );
    // The worklist is empty, so the pool does not even need a new worker any more.
    assert!(!h.sys.pool(normal_pool(0)).unwrap().manager_active());
    let pool = h.sys.pool(normal_pool(0)).unwrap();
    assert_eq!(pool.worklist_len(), 0);
    assert_eq!(pool.scheduled_len(h.sys.rescuer_id(wq).unwrap()), 5);
    h.release_all("blocker");
    assert_eq!(h.count_ran("sibling"), 5);
}

#[test]
fn cursor_lets_siblings_run_on_normal_workers_after_pressure_ends() {
    let (mut h, wq) = blocked_sibling_scenario(Policy::Cursor);
    assert!(
        h.created.len() >= 2,
        "a worker was created after the cooldown"
    );
    assert_eq!(h.count_ran("sibling"), 5, "normal workers ran the siblings");
    assert!(h.rescued_names(wq) == vec!["blocker"]);
    h.release_all("blocker");
    assert_eq!(h.count_ran("blocker"), 1);
    assert_eq!(h.sys.wq_stats(wq).rescued, 1);
}

/// Worklist: [other, other, mine] x 20 on a stalled pool; only the rescuer runs. Returns
/// (nodes visited, items rescued).
fn scan_cost(policy: Policy) -> (u64, u64) {
    let (mut h, wq) = stalled(policy, 1);
    let other = h.alloc(WqSpec::new("other_wq", WqFlags::empty()));
    let mut keep = Vec::new();
    for _ in 0..20 {
        for _ in 0..2 {
            let o = h.item("other");
            h.queue(other, &o).unwrap();
            keep.push(o);
        }
        let m = h.item("mine");
        h.queue(wq, &m).unwrap();
        keep.push(m);
    }
    h.advance_to(MAYDAY_INITIAL_TIMEOUT);
    assert_eq!(h.count_ran("mine"), 20);
    assert_eq!(h.count_ran("other"), 0);
    let s = h.sys.wq_stats(wq);
    (s.rescue_nodes_visited, s.rescued)
}

#[test]
fn cursor_scans_each_worklist_node_about_once_per_rescue_episode() {
    let (visited, rescued) = scan_cost(Policy::Cursor);
    assert_eq!(rescued, 20);
    assert!(visited <= 60 + rescued, "visited {visited} nodes");
}

#[test]
// A count of visits over a long worklist: the list code it runs is the one every other
// rescuer test runs under Miri, at a quadratic cost there.
#[cfg_attr(miri, ignore)]
fn rescan_visits_quadratically_many_nodes() {
    let (cursor, _) = scan_cost(Policy::Cursor);
    let (rescan, rescued) = scan_cost(Policy::Rescan);
    assert_eq!(rescued, 20);
    // The k-th item sits behind 2k foreign items: sum (2k + 1) for k = 1..=20 = 440.
    assert!(rescan >= 440, "rescan visited {rescan}");
    assert!(rescan >= 5 * cursor, "rescan {rescan} vs cursor {cursor}");
}

#[test]
fn slurp_scans_once_but_takes_everything() {
    let (visited, rescued) = scan_cost(Policy::Slurp);
    assert_eq!(rescued, 20);
    assert!(visited <= 60);
}

#[test]
fn rescuer_leaves_a_pwq_that_no_longer_needs_rescue_and_helps_the_next() {
    let (mut h, wq) = stalled(Policy::Cursor, 2);
    h.blocking.push("blocker0".into());
    let b0 = h.item("blocker0");
    h.queue_on(wq, Some(0), &b0).unwrap();
    let p0: Vec<_> = (0..4).map(|_| h.item("p0")).collect();
    for i in &p0 {
        h.queue_on(wq, Some(0), i).unwrap();
    }
    let p1: Vec<_> = (0..3).map(|_| h.item("p1")).collect();
    for i in &p1 {
        h.queue_on(wq, Some(1), i).unwrap();
    }
    h.advance_to(MAYDAY_INITIAL_TIMEOUT);
    assert_eq!(h.holder("blocker0"), Some(Runner::Rescuer(wq)));
    // CPU 0's pool recovers, CPU 1's does not.
    h.create_fails = false;
    h.fail_pools.push(normal_pool(1));
    h.advance(cmwq_pool::CREATE_COOLDOWN);
    assert_eq!(h.count_ran("p0"), 4, "normal workers of CPU 0 ran p0");
    assert_eq!(h.count_ran("p1"), 0);
    h.release_all("blocker0");
    // The rescuer left pwq 0 at once (nothing to rescue) and rescued pwq 1.
    assert_eq!(
        h.rescued_names(wq),
        vec!["blocker0", "p1", "p1", "p1"],
        "rescuer took no p0 item"
    );
    let pwq0 = h.sys.pwq_of(wq, Some(0)).unwrap();
    assert!(!h.sys.pool(pool_of(pwq0)).unwrap().pwq_cursor_linked(pwq0));
}

fn activation_and_chaining(policy: Policy) -> Harness {
    let mut h = Harness::new(1);
    let wq = h.alloc(
        WqSpec::new("reclaim_wq", WqFlags::MEM_RECLAIM)
            .policy(policy)
            .max_active(2),
    );
    h.create_fails = true;
    let items: Vec<_> = (0..6).map(|_| h.item("batch")).collect();
    for i in &items {
        h.queue(wq, i).unwrap();
    }
    let src = h.item("chain_src");
    let chained = h.item("chained");
    h.chains
        .insert("chain_src".into(), vec![(wq, chained.clone())]);
    h.queue(wq, &src).unwrap();
    let pwq = h.sys.pwq_of(wq, None).unwrap();
    assert_eq!(h.sys.pool(pool_of(pwq)).unwrap().pwq_nr_inactive(pwq), 5);
    h.advance_to(MAYDAY_INITIAL_TIMEOUT);
    assert_eq!(h.now, MAYDAY_INITIAL_TIMEOUT);
    h
}

#[test]
fn activated_and_chained_items_are_rescued_without_another_mayday_interval() {
    for policy in Policy::BUILTIN {
        let h = activation_and_chaining(policy.clone());
        assert_eq!(h.count_ran("batch"), 6, "{policy}");
        assert_eq!(h.count_ran("chain_src"), 1, "{policy}");
        assert_eq!(
            h.count_ran("chained"),
            1,
            "{policy}: chained item rescued too"
        );
    }
}

fn two_stalled_pwqs(policy: Policy) -> Vec<String> {
    let (mut h, wq) = stalled(policy, 2);
    let a: Vec<_> = (0..40).map(|_| h.item("p0")).collect();
    for i in &a {
        h.queue_on(wq, Some(0), i).unwrap();
    }
    let b: Vec<_> = (0..5).map(|_| h.item("p1")).collect();
    for i in &b {
        h.queue_on(wq, Some(1), i).unwrap();
    }
    h.advance_to(MAYDAY_INITIAL_TIMEOUT);
    assert_eq!(h.count_ran("p0") + h.count_ran("p1"), 45);
    h.rescued_names(wq)
}

#[test]
fn cursor_serves_a_second_stalled_pwq_within_rescuer_batch() {
    let order = two_stalled_pwqs(Policy::Cursor);
    let first_p1 = order.iter().position(|n| n == "p1").unwrap();
    // Kernel: `if (++count > RESCUER_BATCH && ...)` after each processed item: the pwq is
    // left after its 17th item, the other one is served completely, then the first resumes.
    assert_eq!(first_p1, RESCUER_BATCH as usize + 1, "first p1 item");
    assert!(order[first_p1..first_p1 + 5].iter().all(|n| n == "p1"));
    assert!(order[first_p1 + 5..].iter().all(|n| n == "p0"));
    let order = two_stalled_pwqs(Policy::Slurp);
    let first_p1 = order.iter().position(|n| n == "p1").unwrap();
    assert_eq!(first_p1, 40, "slurp serves one pwq completely first");
}

#[test]
fn cursor_is_never_run_counted_flushed_or_left_behind() {
    let (mut h, wq) = stalled(Policy::Cursor, 1);
    h.blocking.push("blocker".into());
    let blocker = h.item("blocker");
    h.queue(wq, &blocker).unwrap();
    let sibs: Vec<_> = (0..3).map(|_| h.item("sibling")).collect();
    for s in &sibs {
        h.queue(wq, s).unwrap();
    }
    h.advance_to(MAYDAY_INITIAL_TIMEOUT);
    let pwq = h.sys.pwq_of(wq, None).unwrap();
    let pool = h.sys.pool(pool_of(pwq)).unwrap();
    assert!(
        pool.pwq_cursor_linked(pwq),
        "the rescuer's cursor marks its place"
    );
    assert_eq!(pool.worklist_len(), 3, "the cursor is not counted as work");
    assert_eq!(
        pool.pwq_nr_active(pwq),
        4,
        "blocker + 3 siblings, no cursor"
    );
    assert_eq!(pool.pwq_nr_in_flight(pwq), 4);
    // A flush waits for the four items only.
    let t = h.sys.flush_workqueue(wq, h.now, &mut h.out).unwrap();
    h.settle();
    assert!(h.flush_done.is_empty());
    h.create_fails = false;
    h.advance(cmwq_pool::CREATE_COOLDOWN);
    h.release_all("blocker");
    assert_eq!(h.flush_done, vec![(wq, t)]);
    // Every start was a real item.
    assert_eq!(h.starts.len(), 4);
    assert!(
        h.starts
            .iter()
            .all(|(_, n)| n == "blocker" || n == "sibling")
    );
    let pool = h.sys.pool(pool_of(pwq)).unwrap();
    assert!(
        !pool.pwq_cursor_linked(pwq),
        "the cursor left with the rescuer"
    );
}

#[test]
fn two_reclaim_workqueues_on_one_pool_rescue_side_by_side() {
    let mut h = Harness::new(1);
    let a = h.alloc(WqSpec::new("wq_a", WqFlags::MEM_RECLAIM));
    let b = h.alloc(WqSpec::new("wq_b", WqFlags::MEM_RECLAIM));
    h.create_fails = true;
    h.blocking.push("a_block".into());
    h.blocking.push("b_block".into());
    let ab = h.item("a_block");
    let bb = h.item("b_block");
    let an = h.item("a_next");
    let bn = h.item("b_next");
    h.queue(a, &ab).unwrap();
    h.queue(b, &bb).unwrap();
    h.queue(a, &an).unwrap();
    h.queue(b, &bn).unwrap();
    h.advance_to(MAYDAY_INITIAL_TIMEOUT);
    assert_eq!(h.holder("a_block"), Some(Runner::Rescuer(a)));
    assert_eq!(h.holder("b_block"), Some(Runner::Rescuer(b)));
    let pa = h.sys.pwq_of(a, None).unwrap();
    let pb = h.sys.pwq_of(b, None).unwrap();
    let pool = h.sys.pool(pool_of(pa)).unwrap();
    assert!(pool.pwq_cursor_linked(pa) && pool.pwq_cursor_linked(pb));
    assert_eq!(pool.worklist_len(), 2);
    h.release_all("a_block");
    assert_eq!(
        h.count_ran("a_next"),
        1,
        "rescuer a went on past b's cursor and items"
    );
    assert_eq!(h.count_ran("b_next"), 0);
    h.release_all("b_block");
    assert_eq!(h.count_ran("b_next"), 1);
    let pool = h.sys.pool(pool_of(pa)).unwrap();
    assert!(!pool.pwq_cursor_linked(pa) && !pool.pwq_cursor_linked(pb));
}

#[test]
fn workers_have_kernel_style_names() {
    let mut h = Harness::new(2);
    let _ = h.alloc(WqSpec::new("hi", WqFlags::HIGHPRI));
    let _ = h.alloc(WqSpec::new("ub", WqFlags::UNBOUND));
    let names: Vec<String> = h
        .created
        .iter()
        .map(|(p, w)| h.sys.pool(*p).unwrap().worker_name(*w).unwrap())
        .collect();
    assert_eq!(names, vec!["kworker/0:0H", "kworker/1:0H", "kworker/u8:0"]);
}

#[test]
fn shortened_timings_bring_the_rescue_forward() {
    let mut h = Harness::new(1);
    let mut timings = cmwq_pool::PoolTimings::default();
    timings.mayday_initial_timeout = MS;
    timings.mayday_interval = 5 * MS;
    h.sys.set_timings(timings);
    let wq = h.alloc(WqSpec::new("reclaim_wq", WqFlags::MEM_RECLAIM));
    h.create_fails = true;
    let a = h.item("a_fn");
    h.queue(wq, &a).unwrap();
    assert_eq!(h.timer(Timer::Mayday(normal_pool(0))), Some(MS));
    h.advance_to(MS);
    assert_eq!(h.rescued_names(wq), vec!["a_fn"]);
    assert_eq!(h.timer(Timer::Mayday(normal_pool(0))), Some(6 * MS));
}

#[test]
fn sleep_hooks_on_the_rescuer_are_harmless() {
    let (mut h, wq) = stalled(Policy::Cursor, 1);
    h.blocking.push("blocker".into());
    let b = h.item("blocker");
    h.queue(wq, &b).unwrap();
    h.advance_to(MAYDAY_INITIAL_TIMEOUT);
    let r = h.sys.rescuer_id(wq).unwrap();
    let before = h.sys.pool(normal_pool(0)).unwrap().nr_running();
    h.sys.worker_sleeping(r, h.now, &mut h.out);
    h.sys
        .worker_tick(r, cmwq_pool::CPU_INTENSIVE_THRESH, &mut h.out);
    h.sys.worker_running(r, h.now);
    assert_eq!(h.sys.pool(normal_pool(0)).unwrap().nr_running(), before);
    h.release_all("blocker");
    // Detached: the hooks are no-ops on an unknown worker too.
    h.sys.worker_sleeping(r, h.now, &mut h.out);
    h.sys.worker_running(r, h.now);
    assert_eq!(h.count_ran("blocker"), 1);
}

/// The reported case: a rescued item waits for an event that a sibling queued behind it
/// signals. Returns whether the waiter finished within 10 s of pressure ending.
fn reported_case(policy: Policy) -> bool {
    let (mut h, wq) = stalled(policy, 1);
    h.blocking.push("xfs_end_io_wait".into());
    h.signals
        .insert("xfs_sibling_signal".into(), "xfs_end_io_wait".into());
    let waiter = h.item("xfs_end_io_wait");
    let signal = h.item("xfs_sibling_signal");
    h.queue(wq, &waiter).unwrap();
    h.queue(wq, &signal).unwrap();
    h.advance_to(MAYDAY_INITIAL_TIMEOUT);
    assert_eq!(h.holder("xfs_end_io_wait"), Some(Runner::Rescuer(wq)));
    h.create_fails = false;
    h.advance(10 * SEC);
    h.count_ran("xfs_end_io_wait") == 1
}

#[test]
fn cursor_resolves_the_reported_case_and_slurp_stays_stuck() {
    assert!(
        reported_case(Policy::Cursor),
        "the sibling ran on a new worker"
    );
    assert!(reported_case(Policy::Rescan));
    assert!(
        !reported_case(Policy::Slurp),
        "the signalling sibling sits behind the waiter on the rescuer's list"
    );
}

/// A `MaydaySink` over one workqueue's maydays that records every `send_mayday`.
#[derive(Default)]
struct RecordingSink {
    maydays: Vec<cmwq_pool::PwqId>,
    sent: Vec<cmwq_pool::PwqId>,
}

impl cmwq_pool::MaydaySink for RecordingSink {
    fn send_mayday(&mut self, _wq: WqId, pwq: cmwq_pool::PwqId) -> bool {
        self.sent.push(pwq);
        if self.maydays.contains(&pwq) {
            return false;
        }
        self.maydays.push(pwq);
        true
    }
    fn others_waiting(&self, _wq: WqId) -> bool {
        !self.maydays.is_empty()
    }
    fn is_on_maydays(&self, _wq: WqId, pwq: cmwq_pool::PwqId) -> bool {
        self.maydays.contains(&pwq)
    }
}

#[test]
fn slurp_does_not_remayday_when_everything_it_found_went_to_a_running_worker() {
    use cmwq_pool::{
        Actions, Next, Pool, PoolId, PwqSpec, QueueFrom, RescueNext, WorkRef, WorkerId,
    };
    let mut out = Actions::new();
    let kind = PoolKind::PerCpu {
        cpu: 0,
        pri: Priority::Normal,
    };
    let mut pool = Pool::new(PoolId(2), kind, 1, 0);
    let spec = |wq, flags, policy| PwqSpec {
        wq: WqId(wq),
        wq_flags: flags,
        max_active: 16,
        policy,
    };
    let reclaim = pool
        .add_pwq(spec(0, WqFlags::MEM_RECLAIM, Policy::Slurp), 0, &mut out)
        .unwrap();
    let plain = pool
        .add_pwq(spec(1, WqFlags::empty(), Policy::Slurp), 0, &mut out)
        .unwrap();
    let (w1, w2, rescuer) = (WorkerId(1), WorkerId(2), WorkerId(100));
    pool.worker_created(w1, 0, &mut out);
    pool.worker_created(w2, 0, &mut out);
    let queue = |pool: &mut Pool, pwq, w: &WorkRef, out: &mut Actions| {
        let w = w.clone();
        assert!(w.head().test_and_set_pending().unwrap());
        pool.queue_work(pwq, w, QueueFrom::Outside, 1, out).unwrap();
    };
    // X runs on w1 and blocks; queued again, it is pending while it runs.
    let x = WorkRef::from_arc(cmwq_work::work_fn("x_fn", || {}));
    queue(&mut pool, reclaim, &x, &mut out);
    let Next::Run(_running) = pool.next_work(w1, 1, &mut out) else {
        panic!("w1 runs x")
    };
    pool.worker_sleeping(w1, 1, &mut out);
    queue(&mut pool, reclaim, &x, &mut out);
    // w2 is woken, finds no idle worker and becomes the manager; another workqueue's item
    // keeps the worklist busy: the pool needs to create a worker.
    assert!(matches!(pool.next_work(w2, 2, &mut out), Next::Manage));
    let y = WorkRef::from_arc(cmwq_work::work_fn("y_fn", || {}));
    queue(&mut pool, plain, &y, &mut out);
    assert!(pool.need_to_create_worker());
    // The slurping rescuer finds only x, which goes to w1 (non-reentrancy), not to it.
    let mut sink = RecordingSink::default();
    pool.rescuer_attach(rescuer, reclaim, 3);
    assert!(matches!(
        pool.rescuer_next(rescuer, &mut sink, 3, &mut out),
        RescueNext::Leave
    ));
    assert_eq!(
        pool.scheduled_len(w1),
        1,
        "x waits behind its running instance"
    );
    assert!(pool.need_to_create_worker());
    assert!(
        sink.sent.is_empty(),
        "nothing was slurped onto the rescuer, so the mayday is not re-sent: {:?}",
        sink.sent
    );
    pool.rescuer_detach(rescuer, &mut sink, 3, &mut out);
    assert_eq!(pool.pwq_stats(reclaim).rescued, 0);
    pool.check_consistency().unwrap();
}
