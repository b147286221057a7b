//! A seeded random-operations stress with fault injection, under each rescuer policy.
//!
//! Producer threads pick operations at random (seeded) over an ordered queue, a
//! max_active 2 queue and a WQ_MEM_RECLAIM queue: queue, queue on a CPU, delayed queue,
//! mod_delayed_work, cancel (plain, sync, delayed), flush_work, flush_delayed_work,
//! disable/enable, flush, drain, work_busy, and dropping a whole workqueue mid-run (a new
//! one takes its place). Worker creation fails at random and in memory-pressure windows
//! the producers open (the rescuer then runs the reclaim queue's items, some of which
//! block), and some items panic. Checked:
//!
//! - every accepted queueing runs exactly once, unless a cancel reported removing it;
//! - no item runs on two threads at once within its workqueue;
//! - the ordered queue runs each producer's items in the order they were queued;
//! - no more than max_active items of the max_active 2 queue run at once;
//! - every panic is caught and counted;
//! - drop and drain never hang (the run has a guard: it fails instead of hanging).
//!
//! The test suite runs a CI-sized form; `cargo xtask stress [--ops N] [--seed S]` runs the
//! long form (the ignored test below, in release mode), which prints what it checked.

mod common;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

use cmwq::{
    Affinity, Policy, Runtime, ThreadSpawner, WQ_MEM_RECLAIM, WQ_UNBOUND, Work, WorkItem,
    Workqueue, impl_has_work,
};
use common::*;
use parking_lot::{Mutex, RwLock};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const PRODUCERS: usize = 4;
const ITEMS_PER_QUEUE: usize = 8;

/// The three workqueue shapes of the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// `alloc_ordered_workqueue`: one at a time, in queueing order.
    Ordered,
    /// Unbound, max_active 2 (one pool, so the limit is global).
    MaxActive2,
    /// Per-CPU WQ_MEM_RECLAIM, max_active 4: its rescuer runs items while workers fail.
    Reclaim,
}

const KINDS: [Kind; 3] = [Kind::Ordered, Kind::MaxActive2, Kind::Reclaim];

impl Kind {
    fn limit(self) -> usize {
        match self {
            Kind::Ordered => 1,
            Kind::MaxActive2 => 2,
            Kind::Reclaim => 4,
        }
    }

    fn build(self, rt: &Runtime, policy: Policy) -> Workqueue {
        let b = rt.workqueue(format!("stress-{self:?}")).rescuer(policy);
        match self {
            Kind::Ordered => b.ordered(),
            Kind::MaxActive2 => b.flags(WQ_UNBOUND).max_active(2),
            Kind::Reclaim => b.flags(WQ_MEM_RECLAIM).max_active(4),
        }
        .build()
        .expect("stress workqueue")
    }
}

/// One workqueue of the run and what is checked about it.
struct Slot {
    kind: Kind,
    /// The workqueue; dropping it replaces it under the write lock (no operation uses the
    /// slot meanwhile), so an item never has two live workqueues.
    wq: RwLock<Workqueue>,
    active: AtomicUsize,
    max_seen: AtomicUsize,
    over_limit: AtomicUsize,
    /// Ordered queue: the items run, in run order, per producer (their owner).
    run_log: [Mutex<Vec<usize>>; PRODUCERS],
}

/// A stress item: it checks for overlapping runs and counts its runs and queueings.
struct Probe {
    work: Work<Self>,
    slot: Arc<Slot>,
    id: usize,
    /// Ordered items belong to one producer, the only one that queues them.
    owner: usize,
    /// Injected panics: every second run of this item panics (after it is counted).
    panicky: bool,
    running: AtomicBool,
    overlaps: AtomicUsize,
    runs: AtomicUsize,
    accepted: AtomicUsize,
    cancelled: AtomicUsize,
    panics: Arc<AtomicU64>,
}
impl_has_work!(Probe { work });

impl WorkItem for Probe {
    fn run(this: Arc<Self>) {
        if this.running.swap(true, Ordering::AcqRel) {
            this.overlaps.fetch_add(1, Ordering::Relaxed);
        }
        let slot = &this.slot;
        let n = slot.active.fetch_add(1, Ordering::AcqRel) + 1;
        slot.max_seen.fetch_max(n, Ordering::Relaxed);
        if n > slot.kind.limit() {
            slot.over_limit.fetch_add(1, Ordering::Relaxed);
        }
        if slot.kind == Kind::Ordered {
            slot.run_log[this.owner].lock().push(this.id);
        }
        if slot.kind == Kind::Reclaim && this.id % 4 == 1 {
            // Work that blocks: the pool wants another worker (concurrency management),
            // which may fail to come (pressure): the mayday timer calls the rescuer.
            cmwq::blocking(std::thread::yield_now);
        } else {
            std::hint::black_box((0..100u32).sum::<u32>());
        }
        let run = this.runs.fetch_add(1, Ordering::AcqRel);
        slot.active.fetch_sub(1, Ordering::AcqRel);
        this.running.store(false, Ordering::Release);
        if this.panicky && run % 2 == 1 {
            this.panics.fetch_add(1, Ordering::Relaxed);
            std::panic::panic_any(INJECTED);
        }
    }
    fn name(&self) -> &str {
        "stress_probe"
    }
}

/// The size and seed of a run.
#[derive(Clone, Debug)]
struct Config {
    ops_per_producer: usize,
    seed: u64,
    policy: Policy,
}

/// What a run did and found.
#[derive(Debug, Default)]
struct Report {
    ops: usize,
    accepted: usize,
    cancelled: usize,
    runs: usize,
    lost_or_doubled: Vec<String>,
    overlaps: usize,
    over_limit: usize,
    max_active_seen: [usize; 3],
    ordered_runs: usize,
    /// Producers whose ordered items did not run in their queueing order.
    out_of_order: usize,
    order_detail: String,
    panics_injected: u64,
    panics_caught: u64,
    drops: usize,
    drains: usize,
    spawn_failures: u64,
    /// Memory-pressure windows opened (no worker can be made while one is open).
    windows: usize,
    /// Items run by rescuers (counted when their workqueue is dropped).
    rescued: u64,
}

impl Report {
    fn assert_clean(&self) {
        assert!(
            self.lost_or_doubled.is_empty(),
            "items lost or run twice: {:?}",
            self.lost_or_doubled
        );
        assert_eq!(self.overlaps, 0, "an item ran on two threads at once");
        assert_eq!(self.over_limit, 0, "max_active exceeded");
        assert_eq!(
            self.out_of_order, 0,
            "the ordered queue ran out of order: {}",
            self.order_detail
        );
        assert_eq!(
            self.panics_caught, self.panics_injected,
            "every panic is caught and counted"
        );
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "  {} operations, {} workqueues dropped mid-run, {} drains; {} worker spawns failed (injected; {} pressure windows); {} items rescued",
            self.ops, self.drops, self.drains, self.spawn_failures, self.windows, self.rescued
        )?;
        writeln!(
            f,
            "  exactly once: {} accepted queueings = {} runs + {} removed by a cancel ({} items off)",
            self.accepted,
            self.runs,
            self.cancelled,
            self.lost_or_doubled.len()
        )?;
        writeln!(
            f,
            "  non-reentrancy: {} overlapping runs within a workqueue",
            self.overlaps
        )?;
        writeln!(
            f,
            "  ordered: {} runs checked against their producer's queueing order, {} producers out of order",
            self.ordered_runs, self.out_of_order
        )?;
        writeln!(
            f,
            "  max_active: most running at once {:?} (limits [1, 2, 4]), {} over the limit",
            self.max_active_seen, self.over_limit
        )?;
        write!(
            f,
            "  panics: {} injected, {} caught; every drop and drain returned",
            self.panics_injected, self.panics_caught
        )
    }
}

/// The message of the panics the stress injects.
const INJECTED: &str = "injected panic (stress)";

/// Keep the injected panics (hundreds per run) out of the output; others still print.
fn quiet_injected_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if info.payload().downcast_ref::<&str>() != Some(&INJECTED) {
                prev(info);
            }
        }));
    });
}

/// Worker creation that fails at random (p = 0.25, seeded) and always during a pressure
/// window, which producers open at random. A window ends by itself after
/// [`PRESSURE_ATTEMPTS`] refused attempts (creation is retried every `CREATE_COOLDOWN`),
/// as memory pressure does: a producer stuck in a flush behind it cannot be the one to end
/// it.
struct Faulty {
    inner: ThreadSpawner,
    rng: Mutex<ChaCha8Rng>,
    /// Attempts the open pressure window still refuses (0: none open).
    pressure: AtomicU64,
    failures: AtomicU64,
}

/// Worker creation attempts a pressure window refuses.
const PRESSURE_ATTEMPTS: u64 = 10;

impl cmwq::Spawner for Faulty {
    fn spawn(
        &self,
        req: &cmwq::SpawnRequest,
        body: cmwq::ThreadBody,
    ) -> Result<(), cmwq::SpawnError> {
        let worker = matches!(req.role, cmwq::ThreadRole::Worker { .. });
        let in_window = || {
            self.pressure
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
                .is_ok()
        };
        if worker && (in_window() || self.rng.lock().gen_bool(0.25)) {
            self.failures.fetch_add(1, Ordering::Relaxed);
            return Err(cmwq::SpawnError::Injected {
                plan: "stress".into(),
                attempt: 0,
            });
        }
        self.inner.spawn(req, body)
    }
}

fn run_stress(cfg: Config) -> Report {
    quiet_injected_panics();
    let spawner = Arc::new(Faulty {
        inner: ThreadSpawner::new(),
        rng: Mutex::new(ChaCha8Rng::seed_from_u64(cfg.seed ^ 0x5eed)),
        pressure: AtomicU64::new(0),
        failures: AtomicU64::new(0),
    });
    let rt = Runtime::builder()
        .nr_cpus(2)
        .affinity(Affinity::Free)
        .timings({
            let mut t = fast_timings();
            // Idle workers go soon, so that workers are created (and fail) all run long.
            t.idle_worker_timeout = Duration::from_millis(2);
            t
        })
        .spawner_arc(Arc::clone(&spawner) as Arc<dyn cmwq::Spawner>)
        .build()
        .unwrap();
    let panics = Arc::new(AtomicU64::new(0));
    let slots: Vec<Arc<Slot>> = KINDS
        .iter()
        .map(|&kind| {
            Arc::new(Slot {
                kind,
                wq: RwLock::new(kind.build(&rt, cfg.policy.clone())),
                active: AtomicUsize::new(0),
                max_seen: AtomicUsize::new(0),
                over_limit: AtomicUsize::new(0),
                run_log: Default::default(),
            })
        })
        .collect();
    let items: Vec<Vec<Arc<Probe>>> = slots
        .iter()
        .map(|slot| {
            (0..ITEMS_PER_QUEUE)
                .map(|i| {
                    Arc::new(Probe {
                        work: Work::new(),
                        slot: Arc::clone(slot),
                        id: i,
                        owner: i % PRODUCERS,
                        panicky: i % 4 == 3,
                        running: AtomicBool::new(false),
                        overlaps: AtomicUsize::new(0),
                        runs: AtomicUsize::new(0),
                        accepted: AtomicUsize::new(0),
                        cancelled: AtomicUsize::new(0),
                        panics: Arc::clone(&panics),
                    })
                })
                .collect()
        })
        .collect();
    let drops = Arc::new(AtomicUsize::new(0));
    let drains = Arc::new(AtomicUsize::new(0));
    let windows = Arc::new(AtomicUsize::new(0));
    let rescued = Arc::new(AtomicU64::new(0));
    let items = Arc::new(items);
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let (rt, slots, items) = (rt.clone(), slots.clone(), Arc::clone(&items));
            let (drops, drains) = (Arc::clone(&drops), Arc::clone(&drains));
            let (spawner, windows) = (Arc::clone(&spawner), Arc::clone(&windows));
            let rescued = Arc::clone(&rescued);
            let cfg = cfg.clone();
            std::thread::spawn(move || {
                let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed.wrapping_add(p as u64));
                // This producer's accepted queueings of its ordered items, in order (a
                // cancelled one becomes None): the order they must run in.
                let mut ordered = OrderLog::default();
                for _ in 0..cfg.ops_per_producer {
                    let s = rng.gen_range(0..slots.len());
                    let slot = &slots[s];
                    let mine: Vec<&Arc<Probe>> = if slot.kind == Kind::Ordered {
                        items[s].iter().filter(|it| it.owner == p).collect()
                    } else {
                        items[s].iter().collect()
                    };
                    let it = mine[rng.gen_range(0..mine.len())];
                    let op = rng.gen_range(0..100);
                    if op == 98 && rng.gen_bool(0.5) {
                        // Open a memory-pressure window: no worker can be made for a while.
                        spawner.pressure.store(PRESSURE_ATTEMPTS, Ordering::Release);
                        windows.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    if op == 99 {
                        // Drop the whole workqueue mid-run; a new one takes its place.
                        let mut wq = slot.wq.write();
                        let old =
                            std::mem::replace(&mut *wq, slot.kind.build(&rt, cfg.policy.clone()));
                        rescued.fetch_add(old.stats().rescued, Ordering::Relaxed);
                        drop(old); // drains (delayed items included) before returning
                        drops.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    let wq = slot.wq.read();
                    let change = one_op(&wq, it, op, slot.kind, &drains, &mut rng);
                    if slot.kind == Kind::Ordered {
                        ordered.record(it.id, change);
                    }
                }
                ordered.expected()
            })
        })
        .collect();
    let expected_order: Vec<Vec<usize>> = producers
        .into_iter()
        .map(|p| p.join().expect("a producer panicked"))
        .collect();
    // Drop every workqueue: each drains, its delayed items first.
    for slot in &slots {
        let mut wq = slot.wq.write();
        let old = std::mem::replace(&mut *wq, slot.kind.build(&rt, cfg.policy.clone()));
        rescued.fetch_add(old.stats().rescued, Ordering::Relaxed);
        drop(old);
        assert!(wq.drain());
    }
    let mut r = Report {
        ops: cfg.ops_per_producer * PRODUCERS,
        drops: drops.load(Ordering::Relaxed),
        drains: drains.load(Ordering::Relaxed),
        panics_injected: panics.load(Ordering::Relaxed),
        panics_caught: rt.panics(),
        spawn_failures: spawner.failures.load(Ordering::Relaxed),
        rescued: rescued.load(Ordering::Relaxed),
        windows: windows.load(Ordering::Relaxed),
        ..Report::default()
    };
    for (s, slot) in slots.iter().enumerate() {
        r.over_limit += slot.over_limit.load(Ordering::Relaxed);
        r.max_active_seen[s] = slot.max_seen.load(Ordering::Relaxed);
        if slot.kind == Kind::Ordered {
            for (p, want) in expected_order.iter().enumerate() {
                let got = slot.run_log[p].lock();
                r.ordered_runs += got.len();
                if *got != *want {
                    r.out_of_order += 1;
                    r.order_detail = format!(
                        "producer {p}: queued (cancels removed) {want:?}, ran {:?}",
                        *got
                    );
                }
            }
        }
        for (i, it) in items[s].iter().enumerate() {
            let (acc, can, runs) = (
                it.accepted.load(Ordering::Relaxed),
                it.cancelled.load(Ordering::Relaxed),
                it.runs.load(Ordering::Relaxed),
            );
            r.accepted += acc;
            r.cancelled += can;
            r.runs += runs;
            r.overlaps += it.overlaps.load(Ordering::Relaxed);
            if acc != runs + can {
                r.lost_or_doubled.push(format!(
                    "{:?} item {i}: {acc} accepted, {runs} runs, {can} cancelled",
                    slot.kind
                ));
            }
        }
    }
    r
}

/// What an operation did to an item's queueings.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Change {
    None,
    /// A queueing was accepted (it must run once).
    Accepted,
    /// A cancel removed the pending queueing (it must not run).
    Removed,
}

/// One producer's accepted queueings of its ordered items, in order. Only their owner
/// queues or cancels them, so a cancel that reports removing one removes the item's
/// latest accepted queueing (the only one not started).
#[derive(Default)]
struct OrderLog {
    log: Vec<Option<usize>>,
    latest: std::collections::HashMap<usize, usize>,
}

impl OrderLog {
    fn record(&mut self, item: usize, change: Change) {
        match change {
            Change::Accepted => {
                self.latest.insert(item, self.log.len());
                self.log.push(Some(item));
            }
            Change::Removed => {
                if let Some(&i) = self.latest.get(&item) {
                    self.log[i] = None;
                }
            }
            Change::None => {}
        }
    }
    fn expected(self) -> Vec<usize> {
        self.log.into_iter().flatten().collect()
    }
}

/// One random operation on `it` through `wq`; counts what it did to the item.
fn one_op(
    wq: &Workqueue,
    it: &Arc<Probe>,
    op: u32,
    kind: Kind,
    drains: &AtomicUsize,
    rng: &mut ChaCha8Rng,
) -> Change {
    let accepted = |ok: bool| {
        if ok {
            it.accepted.fetch_add(1, Ordering::Relaxed);
            Change::Accepted
        } else {
            Change::None
        }
    };
    let removed = |yes: bool| {
        if yes {
            it.cancelled.fetch_add(1, Ordering::Relaxed);
            Change::Removed
        } else {
            Change::None
        }
    };
    // The ordered queue's order is queueing order: no delays there.
    let op = if kind == Kind::Ordered && (20..55).contains(&op) {
        op - 20
    } else {
        op
    };
    match op {
        0..=29 => accepted(wq.queue_work(Arc::clone(it)).is_ok()),
        30..=34 => accepted(
            wq.queue_work_on(rng.gen_range(0..2), Arc::clone(it))
                .is_ok(),
        ),
        35..=47 => {
            let d = Duration::from_micros(rng.gen_range(0..2000));
            accepted(wq.queue_delayed_work(Arc::clone(it), d).is_ok())
        }
        // Ok(true): the pending queueing was moved, not added; Ok(false): a new one.
        48..=54 => {
            let d = Duration::from_micros(rng.gen_range(0..2000));
            accepted(wq.mod_delayed_work(it, d) == Ok(false))
        }
        55..=61 => removed(wq.cancel_work(it)),
        62..=65 => removed(wq.cancel_delayed_work_sync(it)),
        66..=69 => removed(wq.cancel_work_sync(it)),
        70..=77 => {
            wq.flush_work(it);
            Change::None
        }
        78..=81 => {
            wq.flush_delayed_work(it);
            Change::None
        }
        82..=86 => {
            let r = if rng.gen_bool(0.5) {
                wq.disable_work(it)
            } else {
                wq.disable_work_sync(it)
            };
            let c = removed(r == Ok(true));
            wq.enable_work(it);
            c
        }
        87..=91 => {
            let _ = wq.work_busy(it);
            Change::None
        }
        92..=96 => {
            assert!(wq.flush());
            Change::None
        }
        _ => {
            assert!(wq.drain());
            drains.fetch_add(1, Ordering::Relaxed);
            Change::None
        }
    }
}

/// Run under every policy, each on its own thread with a guard: a drop or drain that
/// hangs fails the run instead of hanging it.
fn stress_all_policies(ops_per_producer: usize, seed: u64, guard: Duration) -> Vec<Report> {
    [Policy::Cursor, Policy::Slurp, Policy::Rescan]
        .into_iter()
        .map(|policy| {
            let cfg = Config {
                ops_per_producer,
                seed,
                policy: policy.clone(),
            };
            let (tx, rx) = mpsc::channel();
            let run = cfg.clone();
            std::thread::spawn(move || {
                let _ = tx.send(run_stress(run));
            });
            let r = rx
                .recv_timeout(guard)
                .unwrap_or_else(|_| panic!("{cfg:?}: the run did not finish (a hang)"));
            println!("policy {policy:?}, seed {seed}:\n{r}");
            r.assert_clean();
            r
        })
        .collect()
}

#[test]
fn random_operations_with_fault_injection_keep_every_invariant() {
    let reports = stress_all_policies(8_000, 0xC0FFEE, GUARD);
    for r in &reports {
        assert!(r.runs > 0 && r.cancelled > 0 && r.drops > 0, "{r}");
    }
}

/// The long form: `cargo xtask stress [--ops N] [--seed S]` (N operations per policy,
/// default 1 000 000). Reads `CMWQ_STRESS_OPS` and `CMWQ_STRESS_SEED`.
#[test]
#[ignore = "long: run by `cargo xtask stress`"]
fn long_random_stress() {
    let ops: usize = std::env::var("CMWQ_STRESS_OPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let seed: u64 = std::env::var("CMWQ_STRESS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let per_producer = ops.div_ceil(PRODUCERS);
    // A guard of one second per 2 000 operations, at least a minute.
    let guard = Duration::from_secs((ops as u64 / 2_000).max(60));
    println!(
        "cmwq stress: {} operations per policy ({PRODUCERS} producers), seed {seed}",
        per_producer * PRODUCERS
    );
    stress_all_policies(per_producer, seed, guard);
    println!("cmwq stress: all invariants held under every policy");
}
