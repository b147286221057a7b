//! The threaded driver: pools under one lock each, worker and rescuer threads, the timer
//! thread, and the execution of the core's actions. See SLEEP.md for the protocol.

use cmwq_work::raw::WorkHeadRaw;
use std::cell::RefCell;
use std::fmt::Write as _;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::Thread;
use std::time::{Duration, Instant};

use cmwq_pool::{
    Action, Actions, MaydaySink, Next, Pool, PoolKind, Priority, RescueNext, UnboundAttrs,
    WorkerId, WqId,
};
use cmwq_work::{PoolId, PwqId, WorkRef};
use parking_lot::{Mutex, RwLock};

use crate::blocking::{self, WorkerHooks};
use crate::config::{Affinity, Timings};
use crate::panic::{PanicHook, WorkPanic, payload_message};
use crate::spawner::{SpawnRequest, Spawner, ThreadRole};
use crate::wq::WqShared;

/// Id the runtime uses where no worker/wq is recorded.
const NONE: u32 = u32::MAX;

/// How long an idle pool worker spins on its wake token before it starts yielding (see
/// [`WorkerShared::park_idle`] and SLEEP.md, *Wake tokens*).
const PARK_SPIN: Duration = Duration::from_micros(10);

/// Token checks between two clock reads while an idle worker spins.
const PARK_SPIN_CHECK: u32 = 32;

/// How many times an idle pool worker yields its CPU, looking for a wake-up token after
/// each, before it blocks (see [`WorkerShared::park_idle`] and SLEEP.md, *Wake tokens*).
const PARK_YIELDS: u32 = 32;

/// What the timer thread does when a deadline passes.
pub(crate) enum TimerEvent {
    /// `Pool::mayday_timeout`.
    Mayday(PoolId),
    /// `Pool::idle_timeout`.
    Idle(PoolId),
    /// `Pool::create_retry_timeout`.
    CreateRetry(PoolId),
    /// Create a worker for the pool (the core's `CreateWorker`), off the queue path.
    Create(PoolId),
    /// A delayed item's timer (kernel `delayed_work_timer_fn`); stale if `generation` moved on.
    Delayed {
        work: WorkRef,
        generation: u64,
        wq: Arc<WqShared>,
        cpu: Option<u32>,
    },
    /// The cpu-intensive tick over running workers.
    Tick,
    /// The lockup watchdog.
    Watchdog,
}

/// One worker pool: the core's `Pool` under its one lock.
pub(crate) struct PoolSlot {
    pub(crate) id: PoolId,
    /// The CPU of a per-CPU pool (workers are pinned there), `None` for unbound.
    pub(crate) cpu: Option<u32>,
    pub(crate) highpri: bool,
    pub(crate) core: Mutex<Pool>,
    /// Next worker number in this pool, for `kworker/C:N` names.
    next_nr: AtomicU32,
    /// A watchdog report was made for the current stall (reported once per stall).
    pub(crate) reported: AtomicBool,
}

/// A worker or rescuer thread, as the runtime sees it.
pub(crate) struct WorkerShared {
    pub(crate) id: WorkerId,
    pub(crate) name: String,
    /// The pool of a normal worker; the attached pool of a rescuer (or `NONE`).
    pub(crate) pool: AtomicU32,
    pub(crate) rescuer_of: Option<WqId>,
    thread: OnceLock<Thread>,
    token: AtomicBool,
    /// Address of the item running now (0: none).
    pub(crate) current: AtomicUsize,
    /// The workqueue of the item running now (`NONE`: none).
    pub(crate) current_wq: AtomicU32,
    pub(crate) exit: AtomicBool,
}

impl WorkerShared {
    fn new(id: WorkerId, name: String, pool: Option<PoolId>, rescuer_of: Option<WqId>) -> Self {
        WorkerShared {
            id,
            name,
            pool: AtomicU32::new(pool.map_or(NONE, |p| p.0)),
            rescuer_of,
            thread: OnceLock::new(),
            token: AtomicBool::new(false),
            current: AtomicUsize::new(0),
            current_wq: AtomicU32::new(NONE),
            exit: AtomicBool::new(false),
        }
    }

    /// Give the worker a wake-up token and unpark it. A token given before the worker
    /// parks is not lost: `park` consumes it without sleeping.
    pub(crate) fn wake(&self) {
        self.token.store(true, Ordering::Release);
        if let Some(t) = self.thread.get() {
            t.unpark();
        }
    }

    /// Take the token if one was given.
    fn try_take(&self) -> bool {
        self.token.load(Ordering::Relaxed) && self.token.swap(false, Ordering::Acquire)
    }

    /// Sleep until a token arrives (spurious unparks are absorbed).
    fn park(&self) {
        while !self.token.swap(false, Ordering::Acquire) {
            std::thread::park();
        }
    }

    /// An idle pool worker's sleep: [`park`](Self::park), after a short wait that stays
    /// on the CPU.
    ///
    /// A worker that has just gone idle is likely to be woken again soon (a producer that
    /// queues one item after another). Before it blocks, it spins on its token for
    /// [`PARK_SPIN`], then gives its CPU away [`PARK_YIELDS`] times (`sched_yield`),
    /// looking for a token after each: a wake that comes meanwhile costs the waker no
    /// futex call (`unpark` finds the thread not parked) and the worker no sleep and
    /// wake-up, and during the spin not even a context switch.
    fn park_idle(&self) {
        let start = Instant::now();
        'spin: loop {
            for _ in 0..PARK_SPIN_CHECK {
                if self.try_take() {
                    return;
                }
                std::hint::spin_loop();
            }
            if start.elapsed() >= PARK_SPIN {
                break 'spin;
            }
        }
        for _ in 0..PARK_YIELDS {
            if self.try_take() {
                return;
            }
            std::thread::yield_now();
        }
        self.park();
    }
}

/// Everything a runtime's threads share.
pub(crate) struct Shared {
    epoch: Instant,
    pub(crate) nr_cpus: u32,
    pub(crate) timings: Timings,
    affinity: Affinity,
    pools: Box<[Option<PoolSlot>]>,
    unbound: [PoolId; 2],
    pub(crate) timer: crate::timer::TimerQueue<TimerEvent>,
    spawner: Arc<dyn Spawner>,
    pub(crate) panic_hook: RwLock<Option<PanicHook>>,
    pub(crate) lockup_hook: Option<crate::runtime::LockupHook>,
    workers: RwLock<Vec<Option<Arc<WorkerShared>>>>,
    pub(crate) wqs: RwLock<Vec<Option<Arc<WqShared>>>>,
    next_worker: AtomicU32,
    /// Delayed items waiting on their timer: item address -> timer generation.
    pub(crate) delayed: Mutex<std::collections::HashMap<usize, u64>>,
    pub(crate) next_gen: AtomicU64,
    tick_armed: AtomicBool,
    pub(crate) shut_down: AtomicBool,
    /// Count of panicking items over the whole runtime.
    pub(crate) panics: AtomicU64,
}

thread_local! {
    /// A reused action buffer per thread: no allocation once warmed up.
    static ACTIONS: RefCell<Option<Actions>> = const { RefCell::new(None) };
}

/// Run `f` with this thread's reused action buffer (a fresh one if it is in use).
pub(crate) fn with_actions<R>(f: impl FnOnce(&mut Actions) -> R) -> R {
    let mut buf = ACTIONS.with(|c| c.borrow_mut().take()).unwrap_or_default();
    let r = f(&mut buf);
    buf.clear();
    ACTIONS.with(|c| *c.borrow_mut() = Some(buf));
    r
}

/// The kernel's pool numbering: per CPU c, `4c+2` normal and `4c+3` highpri (the BH
/// pools `4c`, `4c+1` are not built: userspace has no softirq), then two unbound pools.
pub(crate) fn percpu_pool_id(cpu: u32, highpri: bool) -> PoolId {
    PoolId(4 * cpu + 2 + u32::from(highpri))
}

impl Shared {
    pub(crate) fn new(
        nr_cpus: u32,
        timings: Timings,
        affinity: Affinity,
        spawner: Arc<dyn Spawner>,
        panic_hook: Option<PanicHook>,
        lockup_hook: Option<crate::runtime::LockupHook>,
    ) -> Arc<Shared> {
        let epoch = Instant::now();
        let n = (4 * nr_cpus + 2) as usize;
        let mut pools: Vec<Option<PoolSlot>> = (0..n).map(|_| None).collect();
        let pool_timings = timings.to_core();
        let slot = |id: PoolId, kind: PoolKind, cpu, highpri| PoolSlot {
            id,
            cpu,
            highpri,
            core: Mutex::new({
                let mut p = Pool::new(id, kind, nr_cpus, 0);
                p.set_timings(pool_timings);
                p
            }),
            next_nr: AtomicU32::new(0),
            reported: AtomicBool::new(false),
        };
        for cpu in 0..nr_cpus {
            for (highpri, pri) in [(false, Priority::Normal), (true, Priority::High)] {
                let id = percpu_pool_id(cpu, highpri);
                pools[id.0 as usize] =
                    Some(slot(id, PoolKind::PerCpu { cpu, pri }, Some(cpu), highpri));
            }
        }
        let unbound = [PoolId(4 * nr_cpus), PoolId(4 * nr_cpus + 1)];
        for (i, id) in unbound.iter().enumerate() {
            let nice = if i == 0 { 0 } else { -20 };
            pools[id.0 as usize] = Some(slot(
                *id,
                PoolKind::Unbound(UnboundAttrs { nice }),
                None,
                i == 1,
            ));
        }
        let shared = Arc::new(Shared {
            epoch,
            nr_cpus,
            timings,
            affinity,
            pools: pools.into_boxed_slice(),
            unbound,
            timer: crate::timer::TimerQueue::new(),
            spawner,
            panic_hook: RwLock::new(panic_hook),
            lockup_hook,
            workers: RwLock::new(Vec::new()),
            wqs: RwLock::new(Vec::new()),
            next_worker: AtomicU32::new(1),
            delayed: Mutex::new(std::collections::HashMap::new()),
            next_gen: AtomicU64::new(1),
            tick_armed: AtomicBool::new(false),
            shut_down: AtomicBool::new(false),
            panics: AtomicU64::new(0),
        });
        if let Some(t) = timings.watchdog_thresh {
            shared
                .timer
                .arm(Instant::now() + watchdog_period(t), TimerEvent::Watchdog);
        }
        shared
    }

    /// Start the timer thread (through the spawner, role `Timer`).
    pub(crate) fn start_timer(self: &Arc<Self>) -> Result<(), crate::SpawnError> {
        let me = Arc::clone(self);
        self.spawner.spawn(
            &SpawnRequest {
                name: "cmwq-timer".into(),
                role: ThreadRole::Timer,
            },
            Box::new(move || {
                let me2 = Arc::clone(&me);
                me.timer.run(move |ev| me2.fire(ev));
            }),
        )
    }

    /// Nanoseconds since the runtime's epoch: the core's clock.
    pub(crate) fn now(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64
    }

    fn instant(&self, ns: u64) -> Instant {
        self.epoch + Duration::from_nanos(ns)
    }

    pub(crate) fn pool(&self, id: PoolId) -> &PoolSlot {
        match self.pools.get(id.0 as usize) {
            Some(Some(p)) => p,
            _ => panic!("cmwq: pool {} does not exist in this runtime", id.0),
        }
    }

    pub(crate) fn pool_exists(&self, id: PoolId) -> bool {
        matches!(self.pools.get(id.0 as usize), Some(Some(_)))
    }

    pub(crate) fn pools(&self) -> impl Iterator<Item = &PoolSlot> {
        self.pools.iter().flatten()
    }

    pub(crate) fn unbound_pool(&self, highpri: bool) -> PoolId {
        self.unbound[usize::from(highpri)]
    }

    pub(crate) fn wq(&self, id: WqId) -> Option<Arc<WqShared>> {
        self.wqs.read().get(id.0 as usize).and_then(Clone::clone)
    }

    /// Wake a registered worker (nothing for an unregistered one). The registry's read
    /// lock is held across the wake instead of cloning the worker's `Arc`: `wake` takes
    /// no lock and never blocks, and the refcount is left alone on the queue path.
    fn wake_worker(&self, id: WorkerId) {
        if let Some(Some(w)) = self.workers.read().get(id.0 as usize) {
            w.wake();
        }
    }

    pub(crate) fn alloc_worker_id(&self) -> WorkerId {
        WorkerId(self.next_worker.fetch_add(1, Ordering::Relaxed))
    }

    fn register(&self, w: &Arc<WorkerShared>) {
        let mut t = self.workers.write();
        let i = w.id.0 as usize;
        if t.len() <= i {
            t.resize(i + 1, None);
        }
        t[i] = Some(Arc::clone(w));
    }

    fn unregister(&self, id: WorkerId) {
        if let Some(s) = self.workers.write().get_mut(id.0 as usize) {
            *s = None;
        }
    }

    /// Carry out what the core asked for. Called with no pool lock held.
    pub(crate) fn perform(&self, acts: &mut Actions) {
        for a in acts.drain() {
            match a {
                Action::WakeWorker { worker, .. } | Action::StopWorker { worker, .. } => {
                    self.wake_worker(worker);
                }
                Action::CreateWorker { pool } => {
                    self.timer.arm(Instant::now(), TimerEvent::Create(pool));
                }
                Action::ArmMaydayTimer { pool, at } => {
                    self.timer.arm(self.instant(at), TimerEvent::Mayday(pool));
                }
                Action::ArmIdleTimer { pool, at } => {
                    self.timer.arm(self.instant(at), TimerEvent::Idle(pool));
                }
                Action::ArmCreateRetry { pool, at } => {
                    self.timer
                        .arm(self.instant(at), TimerEvent::CreateRetry(pool));
                }
                Action::WakeRescuer { wq } => {
                    if let Some(r) = self.wq(wq).and_then(|w| w.rescuer.clone()) {
                        r.wake();
                    }
                }
                Action::FlushColorDone { wq, pwq } => {
                    if let Some(w) = self.wq(wq) {
                        w.flush_pwq_done(pwq);
                    }
                }
                // System-level actions: this driver composes the pieces itself.
                _ => {}
            }
        }
    }

    /// The timer thread's dispatch.
    fn fire(self: &Arc<Self>, ev: TimerEvent) {
        if self.shut_down.load(Ordering::Acquire) {
            return;
        }
        match ev {
            TimerEvent::Mayday(p) => self.with_pool(p, |pool, now, acts| {
                let mut sink = Sink(self);
                pool.mayday_timeout(now, &mut sink, acts);
            }),
            TimerEvent::Idle(p) => {
                self.with_pool(p, |pool, now, acts| pool.idle_timeout(now, acts))
            }
            TimerEvent::CreateRetry(p) => {
                self.with_pool(p, |pool, now, acts| pool.create_retry_timeout(now, acts));
            }
            TimerEvent::Create(p) => self.create_worker(p),
            TimerEvent::Delayed {
                work,
                generation,
                wq,
                cpu,
            } => {
                let addr = work.addr();
                let mine = {
                    let mut d = self.delayed.lock();
                    if d.get(&addr) == Some(&generation) {
                        d.remove(&addr);
                        true
                    } else {
                        false
                    }
                };
                if mine {
                    // PENDING is ours: queue it now (kernel delayed_work_timer_fn).
                    if let Err((_, w)) = wq.queue_owned(work, cpu) {
                        drop(w);
                    }
                }
            }
            TimerEvent::Tick => self.tick(),
            TimerEvent::Watchdog => {
                if let Some(t) = self.timings.watchdog_thresh {
                    crate::watch::watchdog(self, t);
                    self.timer
                        .arm(Instant::now() + watchdog_period(t), TimerEvent::Watchdog);
                }
            }
        }
    }

    /// Lock a pool, call the core, unlock, perform.
    pub(crate) fn with_pool<R>(
        &self,
        p: PoolId,
        f: impl FnOnce(&mut Pool, u64, &mut Actions) -> R,
    ) -> R {
        with_actions(|acts| {
            let r = {
                let mut pool = self.pool(p).core.lock();
                f(&mut pool, self.now(), acts)
            };
            self.perform(acts);
            r
        })
    }

    /// Ask the spawner for a worker of pool `p` and tell the core how it went.
    fn create_worker(self: &Arc<Self>, p: PoolId) {
        let slot = self.pool(p);
        let id = self.alloc_worker_id();
        let nr = slot.next_nr.fetch_add(1, Ordering::Relaxed);
        let name = match slot.cpu {
            Some(cpu) => format!("kworker/{cpu}:{nr}{}", if slot.highpri { "H" } else { "" }),
            None => format!("kworker/u{}:{nr}", p.0),
        };
        let ws = Arc::new(WorkerShared::new(id, name.clone(), Some(p), None));
        self.register(&ws);
        let req = SpawnRequest {
            name,
            role: ThreadRole::Worker {
                pool: p.0,
                cpu: slot.cpu.map(|c| c as usize),
            },
        };
        let body = {
            let me = Arc::clone(self);
            let ws = Arc::clone(&ws);
            Box::new(move || worker_main(&me, &ws))
        };
        match self.spawner.spawn(&req, body) {
            Ok(()) => {
                self.with_pool(p, |pool, now, acts| pool.worker_created(id, now, acts));
                // Start it: its first next_work() now finds it known to the pool.
                ws.wake();
            }
            Err(e) => {
                self.unregister(id);
                tracing::warn!(target: "workqueue", pool = p.0, error = %e, "worker creation failed");
                self.with_pool(p, |pool, now, acts| pool.worker_create_failed(now, acts));
            }
        }
    }

    /// Spawn the rescuer thread of a workqueue (`kworker/R-NAME`).
    pub(crate) fn spawn_rescuer(
        self: &Arc<Self>,
        wq: &Arc<WqShared>,
        ws: &Arc<WorkerShared>,
    ) -> Result<(), crate::SpawnError> {
        self.register(ws);
        let body = {
            let me = Arc::clone(self);
            let wq = Arc::clone(wq);
            let ws = Arc::clone(ws);
            Box::new(move || rescuer_main(&me, &wq, &ws))
        };
        let r = self.spawner.spawn(
            &SpawnRequest {
                name: ws.name.clone(),
                role: ThreadRole::Rescuer {
                    workqueue: wq.name.clone(),
                },
            },
            body,
        );
        if r.is_err() {
            self.unregister(ws.id);
        }
        r
    }

    pub(crate) fn new_rescuer(&self, wq: WqId, name: &str) -> Arc<WorkerShared> {
        Arc::new(WorkerShared::new(
            self.alloc_worker_id(),
            format!("kworker/R-{name}"),
            None,
            Some(wq),
        ))
    }

    /// Arm the cpu-intensive tick if it is not armed.
    fn arm_tick(&self) {
        // Read before swapping: while the tick is armed (nearly always while items run),
        // starting an item leaves the shared flag's cache line unwritten.
        if !self.tick_armed.load(Ordering::Relaxed) && !self.tick_armed.swap(true, Ordering::AcqRel)
        {
            self.timer.arm(
                Instant::now() + self.timings.cpu_intensive_thresh,
                TimerEvent::Tick,
            );
        }
    }

    /// The kernel's `wq_worker_tick` for every worker running an item; re-armed while any
    /// item runs.
    fn tick(&self) {
        self.tick_armed.store(false, Ordering::Release);
        let busy: Vec<(PoolId, WorkerId)> = self
            .workers
            .read()
            .iter()
            .flatten()
            .filter(|w| w.rescuer_of.is_none() && w.current.load(Ordering::Relaxed) != 0)
            .map(|w| (PoolId(w.pool.load(Ordering::Relaxed)), w.id))
            .collect();
        for (p, w) in &busy {
            self.with_pool(*p, |pool, now, acts| pool.worker_tick(*w, now, acts));
        }
        if !busy.is_empty() {
            self.arm_tick();
        }
    }

    /// Stop the timer thread and every idle worker (they exit when woken); release the
    /// items still waiting on a delay timer.
    pub(crate) fn shutdown(&self) {
        self.shut_down.store(true, Ordering::Release);
        for ev in self.timer.shutdown() {
            // A delayed item whose timer never fired gets its PENDING bit back, so it can
            // be queued elsewhere; its reference (and the workqueue's) is dropped here.
            if let TimerEvent::Delayed {
                work, generation, ..
            } = ev
            {
                let mut d = self.delayed.lock();
                if d.get(&work.addr()) == Some(&generation) {
                    d.remove(&work.addr());
                    drop(d);
                    work.head().clear_pending();
                }
            }
        }
        for w in self.workers.read().iter().flatten() {
            w.exit.store(true, Ordering::Release);
            w.wake();
        }
    }

    /// Run one item on `ws` with no lock held: tracing, catch_unwind, panic report.
    /// Returns the wall time the item ran, in ns (the `CPU_TIME` stat's measure here).
    fn run_item(&self, ws: &WorkerShared, work: WorkRef, wq: Option<&WqShared>) -> u64 {
        let wq_name = wq.as_ref().map_or("", |w| w.name.as_str());
        let addr = work.addr();
        let mut name = NameBuf::new();
        let _ = name.write_str(work.name());
        ws.current.store(addr, Ordering::Relaxed);
        ws.current_wq
            .store(wq.as_ref().map_or(NONE, |w| w.id.0), Ordering::Relaxed);
        if ws.rescuer_of.is_none() {
            self.arm_tick();
        }
        tracing::trace!(target: "workqueue", work = addr, function = name.as_str(),
            workqueue = wq_name, worker = ws.name.as_str(), "workqueue_execute_start");
        let t0 = Instant::now();
        let r = catch_unwind(AssertUnwindSafe(move || work.run()));
        let ran_ns = t0.elapsed().as_nanos() as u64;
        if let Err(payload) = r {
            self.panics.fetch_add(1, Ordering::Relaxed);
            if let Some(w) = wq {
                w.panics.fetch_add(1, Ordering::Relaxed);
            }
            let report = WorkPanic {
                workqueue: wq_name,
                work: name.as_str(),
                worker: &ws.name,
                message: payload_message(&*payload),
            };
            tracing::error!(target: "workqueue", work = addr, function = name.as_str(),
                workqueue = wq_name, "{report}");
            let hook = self.panic_hook.read().clone();
            if let Some(h) = hook {
                // A panicking hook must not take the worker down either.
                let _ = catch_unwind(AssertUnwindSafe(|| h(&report)));
            }
        }
        tracing::trace!(target: "workqueue", work = addr, function = name.as_str(),
            workqueue = wq_name, "workqueue_execute_end");
        ws.current.store(0, Ordering::Relaxed);
        ws.current_wq.store(NONE, Ordering::Relaxed);
        ran_ns
    }
}

/// The watchdog checks four times per threshold.
fn watchdog_period(thresh: Duration) -> Duration {
    (thresh / 4).max(Duration::from_millis(1))
}

/// The core's mayday seam: the pool lock is held; each call takes the workqueue's small
/// lock inside it (lock order: pool, then workqueue).
pub(crate) struct Sink<'a>(pub(crate) &'a Shared);

impl MaydaySink for Sink<'_> {
    fn send_mayday(&mut self, wq: WqId, pwq: PwqId) -> bool {
        self.0
            .wq(wq)
            .is_some_and(|w| w.core.lock().send_mayday(pwq))
    }
    fn others_waiting(&self, wq: WqId) -> bool {
        self.0.wq(wq).is_some_and(|w| w.core.lock().has_maydays())
    }
    fn is_on_maydays(&self, wq: WqId, pwq: PwqId) -> bool {
        self.0
            .wq(wq)
            .is_some_and(|w| w.core.lock().is_on_maydays(pwq))
    }
}

/// A work item's name copied to the stack (no allocation), for reports after the item
/// was consumed by running it.
#[derive(Clone, Copy)]
struct NameBuf {
    buf: [u8; 64],
    len: usize,
}

impl NameBuf {
    fn new() -> Self {
        NameBuf {
            buf: [0; 64],
            len: 0,
        }
    }
    fn as_str(&self) -> &str {
        // Only whole chars are ever copied in (see write_str).
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

impl std::fmt::Write for NameBuf {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        for c in s.chars() {
            let n = c.len_utf8();
            if self.len + n > self.buf.len() {
                break;
            }
            c.encode_utf8(&mut self.buf[self.len..]);
            self.len += n;
        }
        Ok(())
    }
}

/// The sleep hooks of a worker thread: the blocking scope reports through them.
struct Hooks {
    shared: Arc<Shared>,
    ws: Arc<WorkerShared>,
}

impl WorkerHooks for Hooks {
    fn sleeping(&self) {
        if self.ws.rescuer_of.is_some() {
            return; // the rescuer never counts in nr_running
        }
        let p = PoolId(self.ws.pool.load(Ordering::Relaxed));
        let w = self.ws.id;
        self.shared
            .with_pool(p, |pool, now, acts| pool.worker_sleeping(w, now, acts));
    }
    fn running(&self) {
        if self.ws.rescuer_of.is_some() {
            return;
        }
        let p = PoolId(self.ws.pool.load(Ordering::Relaxed));
        let w = self.ws.id;
        self.shared
            .with_pool(p, |pool, now, _| pool.worker_running(w, now));
    }
    fn current_work(&self) -> Option<usize> {
        match self.ws.current.load(Ordering::Relaxed) {
            0 => None,
            a => Some(a),
        }
    }
    fn current_wq(&self) -> Option<(usize, WqId)> {
        match self.ws.current_wq.load(Ordering::Relaxed) {
            NONE => None,
            id => Some((Arc::as_ptr(&self.shared).addr(), WqId(id))),
        }
    }
    fn is_rescuer(&self) -> bool {
        self.ws.rescuer_of.is_some()
    }
    fn current_cpu(&self) -> Option<u32> {
        match self.ws.pool.load(Ordering::Relaxed) {
            NONE => None,
            p => self.shared.pools.get(p as usize)?.as_ref()?.cpu,
        }
    }
}

fn pin(shared: &Shared, cpu: Option<u32>) {
    if let (Affinity::PinPerCpu, Some(cpu)) = (shared.affinity, cpu) {
        let ids = core_affinity::get_core_ids().unwrap_or_default();
        if let Some(core) = ids.into_iter().find(|c| c.id == cpu as usize) {
            let _ = core_affinity::set_for_current(core);
        }
    }
}

/// A pool worker's thread (the kernel's `worker_thread`).
fn worker_main(shared: &Arc<Shared>, ws: &Arc<WorkerShared>) {
    let _ = ws.thread.set(std::thread::current());
    blocking::install(Arc::new(Hooks {
        shared: Arc::clone(shared),
        ws: Arc::clone(ws),
    }));
    let p = PoolId(ws.pool.load(Ordering::Relaxed));
    pin(shared, shared.pool(p).cpu);
    // Wait for worker_created: before it the pool does not know this worker.
    ws.park();
    // The wall time of the item this worker has just run, not yet reported: its
    // `work_done` and the next `next_work` share one pool lock hold.
    let mut done: Option<u64> = None;
    loop {
        if ws.exit.load(Ordering::Acquire) && shared.shut_down.load(Ordering::Acquire) {
            if let Some(ran) = done {
                shared.with_pool(p, |pool, now, acts| pool.work_done(ws.id, ran, now, acts));
            }
            break;
        }
        let (next, wq) = shared.with_pool(p, |pool, now, acts| {
            if let Some(ran) = done.take() {
                pool.work_done(ws.id, ran, now, acts);
            }
            let n = pool.next_work(ws.id, now, acts);
            let wq = pool.current_pwq(ws.id).and_then(|pwq| pool.pwq_wq(pwq));
            (n, wq)
        });
        match next {
            Next::Run(work) => {
                let wq = wq.and_then(|id| shared.wq(id));
                done = Some(shared.run_item(ws, work, wq.as_deref()));
            }
            Next::Idle | Next::Manage => ws.park_idle(),
            Next::Exit => break,
        }
    }
    shared.unregister(ws.id);
}

/// A rescuer's thread (the kernel's `rescuer_thread`): sleeps until a mayday, then serves
/// each pwq on its workqueue's `maydays` list as the workqueue's policy says.
fn rescuer_main(shared: &Arc<Shared>, wq: &Arc<WqShared>, ws: &Arc<WorkerShared>) {
    let _ = ws.thread.set(std::thread::current());
    blocking::install(Arc::new(Hooks {
        shared: Arc::clone(shared),
        ws: Arc::clone(ws),
    }));
    loop {
        while let Some(pwq) = {
            let mut c = wq.core.lock();
            let p = c.pop_mayday();
            c.set_rescuer_visiting(p);
            p
        } {
            let p = cmwq_pool::pool_of(pwq);
            ws.pool.store(p.0, Ordering::Relaxed);
            let slot = shared.pool(p);
            with_actions(|acts| {
                let mut pool = slot.core.lock();
                pool.rescuer_attach(ws.id, pwq, shared.now());
                loop {
                    let next = pool.rescuer_next(ws.id, &mut Sink(shared), shared.now(), acts);
                    match next {
                        RescueNext::Run(work) => {
                            drop(pool);
                            shared.perform(acts);
                            let ran = shared.run_item(ws, work, Some(wq));
                            pool = slot.core.lock();
                            pool.work_done(ws.id, ran, shared.now(), acts);
                        }
                        RescueNext::Leave => break,
                    }
                }
                pool.rescuer_detach(ws.id, &mut Sink(shared), shared.now(), acts);
                drop(pool);
                shared.perform(acts);
            });
            ws.pool.store(NONE, Ordering::Relaxed);
            wq.core.lock().set_rescuer_visiting(None);
        }
        if ws.exit.load(Ordering::Acquire) {
            break;
        }
        ws.park();
    }
    shared.unregister(ws.id);
}
