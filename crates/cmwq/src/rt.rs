//! The threaded driver of the core: pools under one lock each, the worker, rescuer and
//! manager threads, the timer thread, and the performing of the core's actions. Every
//! workqueue decision is the core's ([`cmwq_pool::ops`]); this module only implements
//! [`Driver`] over its locks and plays threads and timers. See SLEEP.md for the protocol.

use cmwq_work::raw::WorkHeadRaw;
use std::fmt::Write as _;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::thread::Thread;
use std::time::{Duration, Instant};

use cmwq_pool::ops::{self, RescuerStep};
use cmwq_pool::{
    Action, Actions, Context, DelayedTimers, Driver, FlushTicket, Incoming, MaydaySink, Next, Pool,
    PoolKind, PwqTable, Topology, WorkerId, WqId, WqLocks,
};
use cmwq_work::{PoolId, PwqId, WorkRef};
use parking_lot::{Condvar, Mutex, RwLock};

use crate::blocking::{self, WorkerHooks};
use crate::config::{Affinity, Timings};
use crate::cpuclock::{CpuSamples, ThreadClock};
use crate::flags::WqFlags;
use crate::idle::IdleWaiters;
use crate::panic::{PanicHook, WorkPanic, payload_message};
use crate::spawner::{SpawnRequest, Spawner, ThreadRole};

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

/// The longest delay a runtime timer is armed for (about 100 years): longer ones, up to
/// `Duration::MAX`, saturate to it rather than overflow `Instant`.
const MAX_TIMER_DELAY: Duration = Duration::from_secs(100 * 365 * 24 * 60 * 60);

/// `Instant::now() + d`, saturated at [`MAX_TIMER_DELAY`] (and, on a platform whose
/// `Instant` cannot reach that far, at the furthest instant it can): never panics.
pub(crate) fn deadline_after(d: Duration) -> Instant {
    let now = Instant::now();
    let mut d = d.min(MAX_TIMER_DELAY);
    loop {
        if let Some(at) = now.checked_add(d) {
            return at;
        }
        d /= 2;
    }
}

/// Every runtime of the process, so that an item operation called through one runtime
/// can find an item pending on another (see `wq::retry`). Changed only when a runtime is
/// built.
static RUNTIMES: Mutex<Vec<Weak<Shared>>> = Mutex::new(Vec::new());

/// The live runtimes other than `me`.
pub(crate) fn other_runtimes(me: &Shared) -> Vec<Arc<Shared>> {
    RUNTIMES
        .lock()
        .iter()
        .filter_map(Weak::upgrade)
        .filter(|x| !std::ptr::eq(Arc::as_ptr(x), me))
        .collect()
}

/// Wait on `cv` until notified or `deadline` (`None`: no limit); `false` once the
/// deadline has passed.
fn wait_until<T>(
    cv: &Condvar,
    guard: &mut parking_lot::MutexGuard<'_, T>,
    deadline: Option<Instant>,
) -> bool {
    match deadline {
        None => {
            cv.wait(guard);
            true
        }
        Some(at) => !cv.wait_until(guard, at).timed_out(),
    }
}

thread_local! {
    /// This thread holds the `expiring` read lock (the timer thread moving expired items):
    /// a destroy run from here (an item's last reference dropped, dropping the last handle
    /// of a workqueue) must not wait for the write side.
    static IN_EXPIRY: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether this thread is the timer thread moving expired delayed items (see
/// [`Shared::expiring`]).
pub(crate) fn in_expiry() -> bool {
    IN_EXPIRY.with(std::cell::Cell::get)
}

/// What the timer thread does when a deadline passes.
pub(crate) enum TimerEvent {
    /// `Pool::mayday_timeout`.
    Mayday(PoolId),
    /// `Pool::idle_timeout`.
    Idle(PoolId),
    /// `Pool::create_retry_timeout`.
    CreateRetry(PoolId),
    /// The delayed-work timer (`ops::delayed_timeout`).
    Delayed,
    /// The cpu-intensive tick over running workers.
    Tick,
    /// The lockup watchdog.
    Watchdog,
}

/// A pool's manager thread: it answers the core's `CreateWorker` by calling the spawner
/// (the kernel's manager role, `maybe_create_worker`), so that a spawn that blocks delays
/// neither the timer thread (mayday timers) nor any other pool.
struct Manager {
    requested: Mutex<bool>,
    cv: Condvar,
    started: AtomicBool,
}

/// One worker pool: the core's `Pool` under its one lock.
pub(crate) struct PoolSlot {
    pub(crate) id: PoolId,
    /// The CPU of a per-CPU pool (workers are pinned there), `None` for unbound.
    pub(crate) cpu: Option<u32>,
    pub(crate) core: PoolLock<Pool>,
    manager: Manager,
    /// A watchdog report was made for the current stall (reported once per stall).
    pub(crate) reported: AtomicBool,
    /// Worker creation failed since the pool last got a worker: the failure was reported
    /// (a `warn` once per such stall; each later failure at `debug`).
    create_failing: AtomicBool,
    /// Idle periods begun on this pool so far: each worker going idle takes the next
    /// number, and only the latest [`spinners`](Self::spinners) may spin (see
    /// [`WorkerShared::park_idle`]).
    idle_seq: AtomicU64,
    /// How many of the pool's most recently idle workers may spin at once: one per CPU the
    /// pool runs on (one for a per-CPU pool).
    spinners: u64,
    /// The pool's idle workers still on their CPUs, and a wake handed to them (see
    /// [`crate::idle`]).
    waiters: IdleWaiters,
}

/// Flushes and drains of a workqueue that completed, for the threads waiting on them.
#[derive(Default)]
struct Completions {
    /// Every flush ticket below this has completed (tickets complete in order).
    flushed_below: u64,
    /// Drains completed so far.
    drained: u64,
}

/// What the runtime keeps of a workqueue: the core's state under its small lock, the pwq
/// table (fixed at creation), the rescuer thread, and where waiters wait.
pub(crate) struct WqShared {
    pub(crate) id: WqId,
    pub(crate) name: String,
    pub(crate) flags: WqFlags,
    pub(crate) ordered: bool,
    /// The core's workqueue state under the small per-workqueue lock (maydays, flush
    /// colours, max_active). Lock order: any pool lock, then this.
    pub(crate) core: Mutex<cmwq_pool::Workqueue>,
    /// pwqs: per CPU (index = cpu), or the one unbound pwq.
    pub(crate) pwqs: Box<[PwqId]>,
    /// The incoming ring of each pwq (same order): queueing without the pool lock while
    /// the pool keeps a ring open (see cmwq-pool's `Incoming`).
    incoming: Box<[Arc<Incoming>]>,
    pub(crate) rescuer: Option<Arc<WorkerShared>>,
    done: Mutex<Completions>,
    done_cv: Condvar,
    pub(crate) panics: AtomicU64,
    pub(crate) destroyed: AtomicBool,
    /// Set before `destroy` removes the pwqs: a pool reuses a removed pwq's slot, so the
    /// queue path must no longer see the ids (the table reads as empty: `Destroyed`).
    pub(crate) pwqs_removed: AtomicBool,
    /// Held (read) by each queueing through a `WeakWorkqueue`, (write) by `destroy` while
    /// it sets `destroyed`: a weak queueing either completes before destruction begins or
    /// is refused.
    pub(crate) weak_gate: RwLock<()>,
}

impl WqShared {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        id: WqId,
        name: String,
        flags: WqFlags,
        ordered: bool,
        core: cmwq_pool::Workqueue,
        pwqs: Vec<PwqId>,
        incoming: Vec<Arc<Incoming>>,
        rescuer: Option<Arc<WorkerShared>>,
    ) -> Self {
        WqShared {
            id,
            name,
            flags,
            ordered,
            core: Mutex::new(core),
            pwqs: pwqs.into_boxed_slice(),
            incoming: incoming.into_boxed_slice(),
            rescuer,
            done: Mutex::new(Completions::default()),
            done_cv: Condvar::new(),
            panics: AtomicU64::new(0),
            destroyed: AtomicBool::new(false),
            pwqs_removed: AtomicBool::new(false),
            weak_gate: RwLock::new(()),
        }
    }

    pub(crate) fn table(&self) -> PwqTable<'_> {
        let removed = self.pwqs_removed.load(Ordering::Acquire);
        PwqTable {
            pwqs: if removed { &[] } else { &self.pwqs },
            incoming: if removed { &[] } else { &self.incoming },
            unbound: self.flags.contains(WqFlags::UNBOUND),
            name: &self.name,
        }
    }

    fn flush_done(&self, t: FlushTicket) {
        let mut d = self.done.lock();
        d.flushed_below = d.flushed_below.max(t.0 + 1);
        drop(d);
        self.done_cv.notify_all();
    }

    fn drained(&self) {
        self.done.lock().drained += 1;
        self.done_cv.notify_all();
    }

    /// Wait (in a blocking scope) until the flush with ticket `t` has completed.
    pub(crate) fn wait_flush(&self, t: FlushTicket, deadline: Option<Instant>) -> bool {
        let _b = crate::BlockingGuard::enter();
        let mut d = self.done.lock();
        while d.flushed_below <= t.0 {
            if !wait_until(&self.done_cv, &mut d, deadline) {
                return false;
            }
        }
        true
    }

    /// Wait (in a blocking scope) until drain number `n` has completed (drains run one at a
    /// time, each ends with one `WqDrained`), or until `deadline` (then `false`).
    pub(crate) fn wait_drain(&self, n: u64, deadline: Option<Instant>) -> bool {
        let _b = crate::BlockingGuard::enter();
        let mut d = self.done.lock();
        while d.drained < n {
            if !wait_until(&self.done_cv, &mut d, deadline) {
                return false;
            }
        }
        true
    }
}

/// A worker or rescuer thread, as the runtime sees it.
pub(crate) struct WorkerShared {
    pub(crate) id: WorkerId,
    pub(crate) name: String,
    /// The pool of a normal worker; the attached pool of a rescuer (or `NONE`).
    pub(crate) pool: AtomicU32,
    pub(crate) rescuer_of: Option<WqId>,
    thread: OnceLock<Thread>,
    /// The thread's CPU clock (set by the thread when it starts; none where the OS has
    /// none): the cpu-intensive tick reads it.
    clock: OnceLock<ThreadClock>,
    token: AtomicBool,
    /// The worker is in [`park_idle`](Self::park_idle) as an idle worker of an unbound
    /// pool (not as its pool's manager): any other idle worker of its pool may take a
    /// wake meant for it.
    idle_waiting: AtomicBool,
    /// Address of the item running now (0: none).
    pub(crate) current: AtomicUsize,
    /// The workqueue of the item running now (`NONE`: none).
    pub(crate) current_wq: AtomicU32,
    /// When the item running now started or its worker last woke (the core's clock): the
    /// cpu-intensive tick measures from here.
    run_at: AtomicU64,
    pub(crate) exit: AtomicBool,
    /// A rescuer thread was started for this worker (set by `spawn_rescuer`).
    started: AtomicBool,
    /// The thread has returned (rescuers: `destroy` waits for it before removing pwqs).
    exited: Mutex<bool>,
    exited_cv: Condvar,
}

impl WorkerShared {
    fn new(id: WorkerId, name: String, pool: Option<PoolId>, rescuer_of: Option<WqId>) -> Self {
        WorkerShared {
            id,
            name,
            pool: AtomicU32::new(pool.map_or(NONE, |p| p.0)),
            rescuer_of,
            thread: OnceLock::new(),
            clock: OnceLock::new(),
            token: AtomicBool::new(false),
            idle_waiting: AtomicBool::new(false),
            current: AtomicUsize::new(0),
            current_wq: AtomicU32::new(NONE),
            run_at: AtomicU64::new(0),
            exit: AtomicBool::new(false),
            started: AtomicBool::new(false),
            exited: Mutex::new(false),
            exited_cv: Condvar::new(),
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

    /// Tell a rescuer to exit and wait until its thread has returned (at once if it was
    /// never started, or when called from that thread itself).
    pub(crate) fn stop_rescuer(&self) {
        self.exit.store(true, Ordering::Release);
        self.wake();
        if !self.started.load(Ordering::Acquire)
            || self.thread.get().map(Thread::id) == Some(std::thread::current().id())
        {
            return;
        }
        let mut done = self.exited.lock();
        while !*done {
            self.exited_cv.wait(&mut done);
        }
    }

    fn mark_exited(&self) {
        *self.exited.lock() = true;
        self.exited_cv.notify_all();
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
    /// on the CPU. `as_idle`: the worker waits as an idle worker (`Next::Idle`), not as
    /// its pool's manager waiting for a new worker (`Next::Manage`).
    ///
    /// A worker that has just gone idle is likely to be woken again soon (a producer that
    /// queues one item after another). Before it blocks, it spins on its token for
    /// [`PARK_SPIN`], then gives its CPU away [`PARK_YIELDS`] times (`sched_yield`),
    /// looking for a token after each: a wake that comes meanwhile costs the waker no
    /// futex call (`unpark` finds the thread not parked) and the worker no sleep and
    /// wake-up, and during the spin not even a context switch.
    ///
    /// Only the pool's latest idle workers wait so, one per CPU of the pool (`slot`'s
    /// `spinners`): the core wakes the most recently idle worker first (`kick_pool`), so
    /// those are the ones a wake finds, and an older idle worker still spinning would
    /// only take CPU time from the threads that run (a pool grown to five workers for two
    /// producers had all five yielding to each other, ahead of the producers). A worker
    /// stops waiting and parks as soon as enough others went idle after it.
    ///
    /// An idle worker of an unbound pool also takes a wake meant for *any* idle worker of
    /// its pool while it waits (the pool's kick, see [`Shared::wake_idle`]): the core
    /// asks for an idle worker to come to `next_work`, and one still on a CPU comes at
    /// once, where the one the core named may be asleep, or runnable behind the very
    /// producer that woke it. A per-CPU pool's workers all share its one CPU, so another
    /// of them is no nearer than the named one: there the core's choice always stands
    /// (handing off there only spread a flood's items over more threads).
    fn park_idle(&self, slot: Option<&PoolSlot>, as_idle: bool) {
        let Some(s) = slot else {
            self.park();
            return;
        };
        let idle = as_idle && s.cpu.is_none();
        let mine = s.idle_seq.fetch_add(1, Ordering::Relaxed);
        // Whether at most `spinners - 1` workers of the pool went idle after this one.
        let latest = || s.idle_seq.load(Ordering::Relaxed).wrapping_sub(mine) <= s.spinners;
        if idle {
            self.idle_waiting.store(true, Ordering::Relaxed);
            s.waiters.enter();
        }
        let waited = self.wait_on_cpu(s, idle, latest);
        let woken = match waited {
            // Taking it, the worker already left the count of waiting workers.
            Waited::Kick => true,
            _ if idle => {
                // Leaving the count, it takes a kick handed to the waiting workers while it
                // was counted (with its token as well, the two fold into one `next_work`).
                let kicked = s.waiters.leave();
                kicked || waited == Waited::Token
            }
            Waited::Token => true,
            Waited::Expired => false,
        };
        if !woken {
            self.park();
        }
        if idle {
            self.idle_waiting.store(false, Ordering::Relaxed);
        }
    }

    /// The on-CPU part of [`park_idle`](Self::park_idle): spin, then yield, until a token,
    /// a kick of the pool (`idle` workers only) or the end of the wait.
    fn wait_on_cpu(&self, s: &PoolSlot, idle: bool, latest: impl Fn() -> bool) -> Waited {
        let check = || {
            if self.try_take() {
                Some(Waited::Token)
            } else if idle && s.waiters.kicked() && s.waiters.take() {
                Some(Waited::Kick)
            } else {
                None
            }
        };
        let start = Instant::now();
        loop {
            for _ in 0..PARK_SPIN_CHECK {
                if let Some(w) = check() {
                    return w;
                }
                std::hint::spin_loop();
            }
            if start.elapsed() >= PARK_SPIN || !latest() {
                break;
            }
        }
        for _ in 0..PARK_YIELDS {
            if !latest() {
                break;
            }
            if let Some(w) = check() {
                return w;
            }
            std::thread::yield_now();
        }
        Waited::Expired
    }
}

/// How an idle worker's wait on its CPU ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Waited {
    /// Its own wake token.
    Token,
    /// The pool's kick (the worker already left the count of waiting workers).
    Kick,
    /// Nothing came: it parks.
    Expired,
}

/// A pool lock: std's mutex (on Linux a futex word: a short spin, then `futex_wait`;
/// unlock wakes one waiter) rather than parking_lot's, which the runtime's other locks
/// are.
///
/// In an unbound flood two workers and the producers take turns on one pool lock for
/// every item; with parking_lot's lock (it spins longer, yields, and parks through its
/// global parking lot) the unbound throughput bench ran 2.0-2.4 M items/s at 930-980 ns
/// of CPU per item, with std's 2.5-3.1 M items/s at 510-700 ns; per-CPU pools and the
/// closed loop did not separate (see BENCHMARKS.md). Like parking_lot's, it is not
/// poisoned: a panic under the lock is a bug of the core, which poisoning would turn
/// into a panic of every later operation instead of the one report.
pub(crate) struct PoolLock<T>(std::sync::Mutex<T>);

impl<T> PoolLock<T> {
    fn new(value: T) -> Self {
        PoolLock(std::sync::Mutex::new(value))
    }

    /// Lock it (a poisoned lock is taken as it is, as parking_lot's would be).
    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, T> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Everything a runtime's threads share.
pub(crate) struct Shared {
    me: Weak<Shared>,
    epoch: Instant,
    /// [`monotonic_ns`] at `epoch`.
    epoch_ns: u64,
    pub(crate) nr_cpus: u32,
    pub(crate) timings: Timings,
    affinity: Affinity,
    pools: Box<[Option<PoolSlot>]>,
    pub(crate) timer: crate::timer::TimerQueue<TimerEvent>,
    spawner: Arc<dyn Spawner>,
    pub(crate) panic_hook: RwLock<Option<PanicHook>>,
    pub(crate) lockup_hook: Option<crate::watch::LockupHook>,
    workers: RwLock<Vec<Option<Arc<WorkerShared>>>>,
    pub(crate) wqs: RwLock<Vec<Option<Arc<WqShared>>>>,
    /// Ids of destroyed workqueues, reused by the next ones (so creating and dropping
    /// workqueues all day does not grow `wqs`).
    free_wq_ids: Mutex<Vec<u32>>,
    next_worker: AtomicU32,
    /// Delayed items waiting on their timers (the core's state, under its own lock).
    delayed: Mutex<DelayedTimers>,
    /// Read-held by the timer thread while it moves expired delayed items to their pwqs;
    /// a destroy takes it for writing before hiding its pwqs, so that an item already
    /// taken off its timer is on a pwq (and drained) rather than refused and lost.
    pub(crate) expiring: RwLock<()>,
    tick_armed: AtomicBool,
    /// What the cpu-intensive tick last read of each running worker's CPU clock.
    tick_samples: Mutex<CpuSamples>,
    pub(crate) shut_down: AtomicBool,
    /// Count of panicking items over the whole runtime.
    pub(crate) panics: AtomicU64,
}

/// The monotonic clock in nanoseconds: `CLOCK_MONOTONIC`, the clock `Instant` reads on
/// Unix, without `Instant`'s `Duration` arithmetic (the core's clock is read once per item
/// on a worker, and that arithmetic was half the cost of the read).
#[cfg(unix)]
fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid place for the call to write; CLOCK_MONOTONIC is always
    // supported, so the call cannot fail (and on failure `ts` stays zero: time 0).
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    (ts.tv_sec as u64)
        .wrapping_mul(1_000_000_000)
        .wrapping_add(ts.tv_nsec as u64)
}

/// The monotonic clock in nanoseconds from a process-wide origin (no cheaper clock here).
#[cfg(not(unix))]
fn monotonic_ns() -> u64 {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    ORIGIN.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

/// A thread's "home CPU": the CPU the runtime says a thread that is not one of its
/// workers runs on (threads get CPUs round robin, once). The core queues there when no CPU
/// is given (the kernel's local CPU).
fn home_cpu(nr_cpus: u32) -> u32 {
    use std::cell::Cell;
    static NEXT: AtomicU32 = AtomicU32::new(0);
    thread_local!(static HOME: Cell<u32> = const { Cell::new(u32::MAX) });
    let h = HOME.with(|h| {
        if h.get() == u32::MAX {
            h.set(NEXT.fetch_add(1, Ordering::Relaxed));
        }
        h.get()
    });
    h % nr_cpus.max(1)
}

/// The runtime as a [`Driver`]: each method enters one of its locks. `wq` is the
/// workqueue the operation is about, when the caller holds it (the queue path then reads
/// its pwq table without touching the registry).
pub(crate) struct Rt<'a> {
    s: &'a Shared,
    wq: Option<&'a WqShared>,
    /// The time of this operation when the caller read the clock already (a worker's
    /// report-and-ask step reuses the end stamp of the item it ran).
    now: Option<u64>,
}

impl Driver for Rt<'_> {
    fn with_pool<R>(
        &mut self,
        id: PoolId,
        f: impl FnOnce(&mut Pool, &mut dyn MaydaySink) -> R,
    ) -> Option<R> {
        let slot = self.s.pools.get(id.0 as usize)?.as_ref()?;
        let now = self.now;
        Some(self.s.locked(slot, now, |pool| f(pool, &mut Sink(self.s))))
    }

    fn with_wq<R>(
        &mut self,
        id: WqId,
        f: impl FnOnce(&mut cmwq_pool::Workqueue) -> R,
    ) -> Option<R> {
        match self.wq {
            Some(w) if w.id == id => Some(f(&mut w.core.lock())),
            _ => self.s.wq(id).map(|w| f(&mut w.core.lock())),
        }
    }

    fn wq_pwqs<R>(&mut self, id: WqId, f: impl FnOnce(PwqTable<'_>) -> R) -> Option<R> {
        match self.wq {
            Some(w) if w.id == id => Some(f(w.table())),
            _ => self.s.wq(id).map(|w| f(w.table())),
        }
    }

    fn with_timers<R>(&mut self, f: impl FnOnce(&mut DelayedTimers) -> R) -> R {
        f(&mut self.s.delayed.lock())
    }

    fn now(&self) -> u64 {
        self.now.unwrap_or_else(|| self.s.now())
    }

    fn context(&self) -> Context {
        let me = std::ptr::from_ref(self.s).addr();
        let nr = self.s.nr_cpus;
        let hooks = blocking::with_hooks(|h| (h.current_cpu(), h.current_wq(), h.current_work()));
        match hooks {
            Some((cpu, wq, work)) => Context {
                // A worker of another runtime is, for this one, any other thread.
                cpu: cpu.filter(|&c| c < nr).or_else(|| Some(home_cpu(nr))),
                wq: wq.filter(|&(rt, _)| rt == me).map(|(_, w)| w),
                work,
            },
            None => Context {
                cpu: Some(home_cpu(nr)),
                wq: None,
                work: None,
            },
        }
    }

    fn nr_cpus(&self) -> u32 {
        self.s.nr_cpus
    }
}

impl Shared {
    pub(crate) fn new(
        nr_cpus: u32,
        nodes: &[u32],
        timings: Timings,
        affinity: Affinity,
        spawner: Arc<dyn Spawner>,
        panic_hook: Option<PanicHook>,
        lockup_hook: Option<crate::watch::LockupHook>,
    ) -> Arc<Shared> {
        // In this order, so the core's clock is never behind `epoch.elapsed()`: a timer set
        // for `epoch + at` fires when the core's clock reads `at` or later.
        let epoch_ns = monotonic_ns();
        let epoch = Instant::now();
        let pool_timings = timings.to_core();
        // The kernel's pool numbering (cmwq_pool::Topology); the bottom-half pools are not
        // built: userspace has no softirq context (WQ_BH workqueues are refused).
        let pools: Vec<Option<PoolSlot>> = Topology::new(nr_cpus)
            .pools()
            .map(|(id, kind)| {
                if matches!(kind, PoolKind::Bh { .. }) {
                    return None;
                }
                let mut p = Pool::new(id, kind, nr_cpus, 0);
                p.set_timings(pool_timings);
                p.set_cpu_nodes(nodes);
                Some(PoolSlot {
                    id,
                    cpu: kind.cpu(),
                    core: PoolLock::new(p),
                    manager: Manager {
                        requested: Mutex::new(false),
                        cv: Condvar::new(),
                        started: AtomicBool::new(false),
                    },
                    reported: AtomicBool::new(false),
                    create_failing: AtomicBool::new(false),
                    idle_seq: AtomicU64::new(0),
                    waiters: IdleWaiters::default(),
                    spinners: if kind.cpu().is_some() {
                        1
                    } else {
                        u64::from(nr_cpus.max(1))
                    },
                })
            })
            .collect();
        let shared = Arc::new_cyclic(|me| Shared {
            me: me.clone(),
            epoch,
            epoch_ns,
            nr_cpus,
            timings,
            affinity,
            pools: pools.into_boxed_slice(),
            timer: crate::timer::TimerQueue::new(),
            spawner,
            panic_hook: RwLock::new(panic_hook),
            lockup_hook,
            workers: RwLock::new(Vec::new()),
            wqs: RwLock::new(Vec::new()),
            free_wq_ids: Mutex::new(Vec::new()),
            next_worker: AtomicU32::new(1),
            delayed: Mutex::new(DelayedTimers::new()),
            expiring: RwLock::new(()),
            tick_armed: AtomicBool::new(false),
            tick_samples: Mutex::new(CpuSamples::default()),
            shut_down: AtomicBool::new(false),
            panics: AtomicU64::new(0),
        });
        {
            let mut all = RUNTIMES.lock();
            all.retain(|w| w.strong_count() > 0);
            all.push(Arc::downgrade(&shared));
        }
        if let Some(t) = timings.watchdog_thresh {
            shared
                .timer
                .arm(deadline_after(watchdog_period(t)), TimerEvent::Watchdog);
        }
        shared
    }

    /// Start the timer thread (through the spawner, role `Timer`).
    pub(crate) fn start_timer(self: &Arc<Self>) -> Result<(), crate::SpawnError> {
        let me = Arc::clone(self);
        self.spawn_caught(
            &SpawnRequest {
                name: "cmwq-timer".into(),
                role: ThreadRole::Timer,
            },
            Box::new(move || {
                let me2 = Arc::clone(&me);
                // A panic in what a timer event calls (user hooks) is caught and reported
                // here: the thread serves the next deadline, as maydays and delayed work
                // depend on it.
                me.timer.run(move |ev| {
                    if let Err(p) = catch_unwind(AssertUnwindSafe(|| me2.fire(ev))) {
                        tracing::error!(target: "workqueue", message = payload_message(&*p),
                            "cmwq timer: a timer event panicked; the timer thread goes on");
                    }
                });
            }),
        )
    }

    /// Call the spawner; a panic in it is caught, reported and returned as
    /// [`SpawnError::Panicked`](crate::SpawnError::Panicked): a failed attempt.
    fn spawn_caught(
        &self,
        req: &SpawnRequest,
        body: crate::ThreadBody,
    ) -> Result<(), crate::SpawnError> {
        catch_unwind(AssertUnwindSafe(|| self.spawner.spawn(req, body))).unwrap_or_else(|p| {
            let message = payload_message(&*p).to_owned();
            tracing::error!(target: "workqueue", thread = req.name.as_str(),
                message = message.as_str(), "the spawner panicked; counted as a failed attempt");
            Err(crate::SpawnError::Panicked {
                name: req.name.clone(),
                message,
            })
        })
    }

    /// Nanoseconds since the runtime's epoch: the core's clock.
    pub(crate) fn now(&self) -> u64 {
        monotonic_ns().saturating_sub(self.epoch_ns)
    }

    /// When a timer the core asked for at deadline `at` fires: `at`, or where the
    /// configured kernel's timer wheel puts it ([`crate::Timings::timer`]).
    fn fires_at(&self, at: u64) -> Instant {
        self.instant(self.timings.timer.expiry(self.now(), at))
    }

    /// The instant of a core deadline; one too far for the OS clock never comes (a year
    /// from now stands for it: the timer fires, the core finds nothing due and re-arms).
    fn instant(&self, ns: u64) -> Instant {
        self.epoch
            .checked_add(Duration::from_nanos(ns))
            .unwrap_or_else(|| deadline_after(MAX_TIMER_DELAY))
    }

    /// Hold `slot`'s lock for `f`, with the pool's incoming rings taken in first and
    /// re-decided last (the core's `absorb_incoming` and `publish_incoming`: queueings made
    /// without the lock are accounted before anything looks at the pool); a wake-up the
    /// pool decides there is performed after the lock is released. Every hold of a pool
    /// lock goes through here. `now`: the operation's time if the caller has it.
    pub(crate) fn locked<R>(
        &self,
        slot: &PoolSlot,
        now: Option<u64>,
        f: impl FnOnce(&mut Pool) -> R,
    ) -> R {
        let mut clock = || now.unwrap_or_else(|| self.now());
        let mut extra = Actions::default();
        let r = {
            let mut pool = slot.core.lock();
            pool.absorb_incoming(&mut clock, &mut extra);
            let r = f(&mut pool);
            pool.publish_incoming(&mut clock, &mut extra);
            r
        };
        if !extra.is_empty() {
            self.perform(&mut extra);
        }
        r
    }

    pub(crate) fn pool(&self, id: PoolId) -> Option<&PoolSlot> {
        self.pools.get(id.0 as usize)?.as_ref()
    }

    pub(crate) fn pools(&self) -> impl Iterator<Item = &PoolSlot> {
        self.pools.iter().flatten()
    }

    pub(crate) fn wq(&self, id: WqId) -> Option<Arc<WqShared>> {
        self.wqs.read().get(id.0 as usize).and_then(Clone::clone)
    }

    /// An id for a new workqueue: a destroyed one's, or the next one. Its `wqs` entry is
    /// empty until the workqueue is registered.
    pub(crate) fn reserve_wq_id(&self) -> WqId {
        if let Some(id) = self.free_wq_ids.lock().pop() {
            return WqId(id);
        }
        let mut wqs = self.wqs.write();
        let id = wqs.len() as u32;
        wqs.push(None);
        WqId(id)
    }

    /// Forget a destroyed (or never finished) workqueue and free its id. Its pwqs are
    /// removed and it has no item left, so nothing names the id any more.
    pub(crate) fn unregister_wq(&self, id: WqId) {
        if let Some(slot) = self.wqs.write().get_mut(id.0 as usize) {
            *slot = None;
        }
        self.free_wq_ids.lock().push(id.0);
    }

    /// Run a core operation on this runtime as its driver, then perform what it asked
    /// for, with no lock held. `wq`: the workqueue it is about, if the caller holds it.
    pub(crate) fn run_op<R>(
        &self,
        wq: Option<&WqShared>,
        f: impl FnOnce(&mut Rt<'_>, &mut Actions) -> R,
    ) -> R {
        self.run_op_at(wq, None, f)
    }

    /// [`run_op`](Self::run_op) at a time the caller has read already (`None`: the
    /// operation reads the clock if it needs it).
    pub(crate) fn run_op_at<R>(
        &self,
        wq: Option<&WqShared>,
        now: Option<u64>,
        f: impl FnOnce(&mut Rt<'_>, &mut Actions) -> R,
    ) -> R {
        // On the stack: the hot paths' operations ask for a wake-up at most, which the
        // buffer holds without allocating.
        let mut acts = Actions::new();
        let r = f(&mut Rt { s: self, wq, now }, &mut acts);
        // Most operations of the hot paths ask for nothing: skip the call (its frame
        // set-up alone was 5% of a throughput profile).
        if !acts.is_empty() {
            self.perform(&mut acts);
        }
        r
    }

    /// Carry out `WakeWorker { pool, worker }`: the core needs an idle worker of `pool`
    /// (`worker`, its most recently idle one) to come to `next_work`.
    ///
    /// If `worker` waits as an idle worker of an unbound pool (not as the pool's manager,
    /// which only it can be) and others of the pool wait on CPUs, the wake is handed to them
    /// ([`crate::idle`]): the first to see it comes to `next_work` and does what `worker`
    /// would. Else `worker` is woken.
    fn wake_idle(&self, pool: PoolId, id: WorkerId) {
        let workers = self.workers.read();
        let Some(Some(w)) = workers.get(id.0 as usize) else {
            return;
        };
        if w.idle_waiting.load(Ordering::Relaxed)
            && self.pool(pool).is_some_and(|s| s.waiters.hand_off())
        {
            return;
        }
        w.wake();
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
    #[inline(never)]
    fn perform(&self, acts: &mut Actions) {
        for a in acts.drain() {
            match a {
                Action::WakeWorker { pool, worker } => self.wake_idle(pool, worker),
                Action::StopWorker { worker, .. } => self.wake_worker(worker),
                Action::CreateWorker { pool } => self.request_worker(pool),
                Action::ArmMaydayTimer { pool, at } => {
                    self.timer.arm(self.fires_at(at), TimerEvent::Mayday(pool));
                }
                Action::ArmIdleTimer { pool, at } => {
                    self.timer.arm(self.fires_at(at), TimerEvent::Idle(pool));
                }
                Action::ArmCreateRetry { pool, at } => {
                    self.timer
                        .arm(self.fires_at(at), TimerEvent::CreateRetry(pool));
                }
                Action::ArmDelayedTimer { at } => {
                    self.timer.arm(self.fires_at(at), TimerEvent::Delayed);
                }
                Action::WakeRescuer { wq } => {
                    if let Some(r) = self.wq(wq).and_then(|w| w.rescuer.clone()) {
                        r.wake();
                    }
                }
                Action::WqFlushDone { wq, ticket } => {
                    if let Some(w) = self.wq(wq) {
                        w.flush_done(ticket);
                    }
                }
                Action::WqDrained { wq } => {
                    if let Some(w) = self.wq(wq) {
                        w.drained();
                    }
                }
                // Settled by the core already.
                Action::FlushColorDone { .. } => {}
                other => unreachable!("cmwq: the core asked for an unknown action {other:?}"),
            }
        }
    }

    /// The timer thread's dispatch.
    fn fire(&self, ev: TimerEvent) {
        if self.shut_down.load(Ordering::Acquire) {
            return;
        }
        match ev {
            TimerEvent::Mayday(p) => self.run_op(None, |d, acts| {
                let now = d.now();
                d.with_pool(p, |pool, sink| pool.mayday_timeout(now, sink, acts));
            }),
            TimerEvent::Idle(p) => self.run_op(None, |d, acts| {
                let now = d.now();
                d.with_pool(p, |pool, _| pool.idle_timeout(now, acts));
            }),
            TimerEvent::CreateRetry(p) => self.run_op(None, |d, acts| {
                let now = d.now();
                d.with_pool(p, |pool, _| pool.create_retry_timeout(now, acts));
            }),
            TimerEvent::Delayed => {
                // Held while expired items go from the timers to their pwqs: a destroy
                // waits for it before it hides the pwqs (see `WqShared::destroy`).
                let _expiring = self.expiring.read();
                IN_EXPIRY.with(|f| f.set(true));
                self.run_op(None, |d, acts| ops::delayed_timeout(d, acts));
                IN_EXPIRY.with(|f| f.set(false));
            }
            TimerEvent::Tick => self.tick(),
            TimerEvent::Watchdog => {
                if let Some(t) = self.timings.watchdog_thresh {
                    let snap = self.snapshot();
                    crate::watch::watchdog(
                        &snap,
                        t,
                        self.pools().map(|p| p.id.0),
                        |p, stuck| {
                            self.pool(PoolId(p))
                                .is_some_and(|s| s.reported.swap(stuck, Ordering::AcqRel))
                        },
                        self.lockup_hook.as_ref(),
                    );
                    self.timer
                        .arm(deadline_after(watchdog_period(t)), TimerEvent::Watchdog);
                }
            }
        }
    }

    /// Hand a `CreateWorker` to the pool's manager thread (started on first use).
    fn request_worker(&self, p: PoolId) {
        let Some(slot) = self.pool(p) else { return };
        *slot.manager.requested.lock() = true;
        slot.manager.cv.notify_one();
        if slot.manager.started.swap(true, Ordering::AcqRel) {
            return;
        }
        let Some(me) = self.me.upgrade() else { return };
        let spawned = std::thread::Builder::new()
            .name(format!("cmwq-manager/{}", p.0))
            .spawn(move || me.manager_main(p));
        if let Err(e) = spawned {
            // No manager thread: answer the request as a failed creation (retried after
            // the cooldown, the mayday timer runs meanwhile).
            slot.manager.started.store(false, Ordering::Release);
            *slot.manager.requested.lock() = false;
            tracing::warn!(target: "workqueue", pool = p.0, error = %e,
                "cannot start the pool's manager thread");
            self.run_op(None, |d, acts| {
                let now = d.now();
                d.with_pool(p, |pool, _| pool.worker_create_failed(now, acts));
            });
        }
    }

    /// A pool's manager thread: waits for creation requests and answers each through
    /// the spawner; it exits when the runtime shuts down.
    fn manager_main(self: Arc<Self>, p: PoolId) {
        let Some(slot) = self.pool(p) else { return };
        loop {
            {
                let mut req = slot.manager.requested.lock();
                while !*req && !self.shut_down.load(Ordering::Acquire) {
                    slot.manager.cv.wait(&mut req);
                }
                if self.shut_down.load(Ordering::Acquire) {
                    return;
                }
                *req = false;
            }
            self.create_worker(p);
        }
    }

    /// Ask the spawner for a worker of pool `p` and tell the core how it went. The name is
    /// the core's (`kworker/C:N`...): the one the next worker created in the pool gets.
    fn create_worker(self: &Arc<Self>, p: PoolId) {
        let Some(slot) = self.pool(p) else { return };
        let id = self.alloc_worker_id();
        // The pool's first worker comes with the pool, as the kernel's does.
        let (name, first) = self.locked(slot, None, |pool| {
            (pool.next_worker_name(), pool.nr_workers() == 0)
        });
        let ws = Arc::new(WorkerShared::new(id, name.clone(), Some(p), None));
        self.register(&ws);
        let (pool, cpu) = (p.0, slot.cpu.map(|c| c as usize));
        let req = SpawnRequest {
            name,
            role: if first {
                ThreadRole::FirstWorker { pool, cpu }
            } else {
                ThreadRole::Worker { pool, cpu }
            },
        };
        let body = {
            let me = Arc::clone(self);
            let ws = Arc::clone(&ws);
            Box::new(move || worker_main(&me, &ws))
        };
        // A spawner that panics is a failed creation (the pool keeps its manager state
        // and retries after the cooldown) rather than a dead manager thread.
        let ok = match self.spawn_caught(&req, body) {
            Ok(()) => {
                if slot.create_failing.swap(false, Ordering::AcqRel) {
                    tracing::info!(target: "workqueue", pool = p.0,
                        "worker pool {} got a worker again", p.0);
                }
                true
            }
            // Once per stall, at the first failure (long before the lockup watchdog):
            // the pool's work waits until a worker can be created, and only rescuers of
            // WQ_MEM_RECLAIM workqueues run it meanwhile.
            Err(e) if slot.create_failing.swap(true, Ordering::AcqRel) => {
                tracing::debug!(target: "workqueue", pool = p.0, error = %e,
                    "worker creation failed again");
                false
            }
            Err(e) => {
                tracing::warn!(target: "workqueue", pool = p.0, error = %e,
                    "worker pool {} cannot create a worker: {e}; its work waits (only rescuers of WQ_MEM_RECLAIM workqueues run it) and creation is retried; reported once until a worker is created",
                    p.0);
                false
            }
        };
        if ok {
            self.run_op(None, |d, acts| {
                let now = d.now();
                d.with_pool(p, |pool, _| pool.worker_created(id, now, acts));
            });
            // Start it: its first next_work() now finds it known to the pool.
            ws.wake();
        } else {
            self.unregister(id);
            self.run_op(None, |d, acts| {
                let now = d.now();
                d.with_pool(p, |pool, _| pool.worker_create_failed(now, acts));
            });
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
        let r = self.spawn_caught(
            &SpawnRequest {
                name: ws.name.clone(),
                role: ThreadRole::Rescuer {
                    workqueue: wq.name.clone(),
                },
            },
            body,
        );
        match &r {
            Ok(()) => ws.started.store(true, Ordering::Release),
            Err(_) => self.unregister(ws.id),
        }
        r
    }

    pub(crate) fn new_rescuer(&self, id: WorkerId, wq: WqId, name: &str) -> Arc<WorkerShared> {
        Arc::new(WorkerShared::new(
            id,
            cmwq_pool::rescuer_name(name),
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
                deadline_after(self.timings.cpu_intensive_thresh),
                TimerEvent::Tick,
            );
        }
    }

    /// The kernel's `wq_worker_tick` for every worker running an item; re-armed while any
    /// item runs.
    fn tick(&self) {
        self.tick_armed.store(false, Ordering::Release);
        let now = self.now();
        let thresh =
            u64::try_from(self.timings.cpu_intensive_thresh.as_nanos()).unwrap_or(u64::MAX);
        // (pool, worker, (item, start or last wake-up), the thread's CPU clock)
        type Busy = (PoolId, WorkerId, (usize, u64), Option<ThreadClock>);
        let busy: Vec<Busy> = self
            .workers
            .read()
            .iter()
            .flatten()
            .filter(|w| w.rescuer_of.is_none() && w.current.load(Ordering::Relaxed) != 0)
            .map(|w| {
                let key = (
                    w.current.load(Ordering::Relaxed),
                    w.run_at.load(Ordering::Relaxed),
                );
                (
                    PoolId(w.pool.load(Ordering::Relaxed)),
                    w.id,
                    key,
                    w.clock.get().copied(),
                )
            })
            .collect();
        // The core decides; the runtime feeds it the CPU time the item consumed since it
        // started or last woke (crate::cpuclock).
        let fed: Vec<(PoolId, WorkerId, u64)> = {
            let mut samples = self.tick_samples.lock();
            let fed: Vec<_> = busy
                .iter()
                .map(|&(p, w, key, clock)| {
                    let wall = now.saturating_sub(key.1);
                    (p, w, samples.item_time(w, key, clock, wall, thresh))
                })
                .collect();
            samples.retain(|w| fed.iter().any(|f| f.1 == w));
            fed
        };
        for &(p, w, ran) in &fed {
            self.run_op(None, |d, acts| {
                d.with_pool(p, |pool, _| pool.worker_tick(w, ran, acts));
            });
        }
        if !fed.is_empty() {
            self.arm_tick();
        }
    }

    /// Copy the state of every workqueue and pool of the runtime (the dump's input): each
    /// workqueue's header under its lock, then its pwqs one pool lock at a time (the sink
    /// takes the workqueue lock inside for the MAYDAY flag), then each pool.
    pub(crate) fn snapshot(&self) -> cmwq_dump::Snapshot {
        let now = self.now();
        let wqs: Vec<Arc<WqShared>> = self.wqs.read().iter().flatten().cloned().collect();
        let workqueues = wqs
            .iter()
            .map(|w| {
                let mut snap = w.core.lock().snapshot_header();
                for &pwq in w.pwqs.iter() {
                    if let Some(slot) = self.pool(cmwq_pool::pool_of(pwq)) {
                        if let Some(s) =
                            self.locked(slot, Some(now), |p| p.snapshot_pwq(pwq, &Sink(self), now))
                        {
                            snap.pwqs.push(s);
                        }
                    }
                }
                snap
            })
            .collect();
        let pools = self
            .pools()
            .map(|p| self.locked(p, Some(now), |p| p.snapshot_pool(now)))
            .collect();
        {
            let mut v = cmwq_dump::Snapshot::default();
            v.workqueues = workqueues;
            v.pools = pools;
            v
        }
    }

    /// Stop the timer and manager threads and every idle worker (they exit when woken);
    /// release the items still waiting on a delay timer.
    pub(crate) fn shutdown(&self) {
        self.shut_down.store(true, Ordering::Release);
        drop(self.timer.shutdown());
        // A delayed item whose timer never fired gets its PENDING bit back, so it can be
        // queued elsewhere; its reference is dropped here, outside the timer lock.
        let left = self.delayed.lock().take_all();
        for w in left {
            w.head().clear_pending();
        }
        for p in self.pools() {
            let _g = p.manager.requested.lock();
            p.manager.cv.notify_all();
        }
        for w in self.workers.read().iter().flatten() {
            w.exit.store(true, Ordering::Release);
            w.wake();
        }
    }

    /// The name of the item `ws` runs, as its pool recorded it (`current_func`).
    fn current_func(&self, ws: &WorkerShared) -> String {
        let p = PoolId(ws.pool.load(Ordering::Relaxed));
        self.pool(p)
            .and_then(|slot| {
                self.locked(slot, None, |pool| {
                    pool.worker_current_func(ws.id).map(str::to_owned)
                })
            })
            .unwrap_or_default()
    }

    /// Run one item on `ws` with no lock held: tracing, catch_unwind, panic report.
    /// `start` is the time of the lock hold that handed the item out (the core's clock).
    /// Returns the clock when it ended; the caller takes that minus `start` as its run
    /// time (the `CPU_TIME` stat's measure here: wall time from the worker's lock hold
    /// that took it, as the kernel's `current_at` is read in `process_one_work` before
    /// the function runs). One clock read per item.
    fn run_item(&self, ws: &WorkerShared, work: WorkRef, wq: Option<&WqShared>, start: u64) -> u64 {
        let wq_name = wq.as_ref().map_or("", |w| w.name.as_str());
        let addr = work.addr();
        // The name is needed after the item was consumed by running it: by the trace
        // events (copied here only when they are on) and by a panic report (which reads
        // it from the pool, where `process_one_work` recorded it as `current_func`, so
        // the report names the item the same way whether tracing is on or not).
        let traced = tracing::enabled!(target: "workqueue", tracing::Level::TRACE);
        let mut name = NameBuf::new();
        if traced {
            let _ = name.write_str(work.name());
        }
        // run_at before current: a tick that sees the item measures from its start.
        ws.run_at.store(start, Ordering::Relaxed);
        ws.current.store(addr, Ordering::Relaxed);
        ws.current_wq
            .store(wq.as_ref().map_or(NONE, |w| w.id.0), Ordering::Relaxed);
        if ws.rescuer_of.is_none() {
            self.arm_tick();
        }
        tracing::trace!(target: "workqueue", work = addr, function = name.as_str(),
            workqueue = wq_name, worker = ws.name.as_str(), "workqueue_execute_start");
        let r = catch_unwind(AssertUnwindSafe(move || work.run()));
        let end = self.now();
        if let Err(payload) = r {
            self.panics.fetch_add(1, Ordering::Relaxed);
            if let Some(w) = wq {
                w.panics.fetch_add(1, Ordering::Relaxed);
            }
            let func = self.current_func(ws);
            let report = WorkPanic {
                workqueue: wq_name,
                work: &func,
                worker: &ws.name,
                message: payload_message(&*payload),
            };
            tracing::error!(target: "workqueue", work = addr, function = func.as_str(),
                workqueue = wq_name, "{report}");
            let hook = self.panic_hook.read().clone();
            if let Some(h) = hook {
                // A panicking hook must not take the worker down either.
                if let Err(p) = catch_unwind(AssertUnwindSafe(|| h(&report))) {
                    tracing::error!(target: "workqueue", workqueue = wq_name,
                        message = payload_message(&*p), "the panic hook panicked");
                }
            }
        }
        tracing::trace!(target: "workqueue", work = addr, function = name.as_str(),
            workqueue = wq_name, "workqueue_execute_end");
        ws.current.store(0, Ordering::Relaxed);
        ws.current_wq.store(NONE, Ordering::Relaxed);
        end
    }
}

/// The watchdog checks four times per threshold.
fn watchdog_period(thresh: Duration) -> Duration {
    (thresh / 4).max(Duration::from_millis(1))
}

/// The core's mayday seam: the pool lock is held; each call takes the workqueue's small
/// lock inside it (lock order: pool, then workqueue).
pub(crate) struct Sink<'a>(pub(crate) &'a Shared);

impl WqLocks for Sink<'_> {
    fn read_wq<R>(&self, id: WqId, f: impl FnOnce(&cmwq_pool::Workqueue) -> R) -> Option<R> {
        self.0.wq(id).map(|w| f(&w.core.lock()))
    }
    fn write_wq<R>(
        &mut self,
        id: WqId,
        f: impl FnOnce(&mut cmwq_pool::Workqueue) -> R,
    ) -> Option<R> {
        self.0.wq(id).map(|w| f(&mut w.core.lock()))
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
    /// Appends the longest prefix of `s` that fits and ends on a char boundary, in one
    /// copy (this runs for every item; a char-by-char loop cost 1.6% of a throughput
    /// profile).
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let mut n = s.len().min(self.buf.len() - self.len);
        while !s.is_char_boundary(n) {
            n -= 1;
        }
        self.buf[self.len..self.len + n].copy_from_slice(&s.as_bytes()[..n]);
        self.len += n;
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
        self.shared.run_op(None, |d, acts| {
            let now = d.now();
            d.with_pool(p, |pool, _| pool.worker_sleeping(w, now, acts));
        });
    }
    fn running(&self) {
        if self.ws.rescuer_of.is_some() {
            return;
        }
        let p = PoolId(self.ws.pool.load(Ordering::Relaxed));
        let w = self.ws.id;
        self.shared.run_op(None, |d, _| {
            let now = d.now();
            self.ws.run_at.store(now, Ordering::Relaxed);
            d.with_pool(p, |pool, _| pool.worker_running(w, now));
        });
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
    fn current_workqueue(&self) -> Option<crate::WeakWorkqueue> {
        let (_, id) = self.current_wq()?;
        // Registered while one of its items runs: destroy drains before unregistering.
        let wq = self.shared.wq(id)?;
        Some(crate::WeakWorkqueue::new(&self.shared, &wq))
    }
    fn current_cpu(&self) -> Option<u32> {
        match self.ws.pool.load(Ordering::Relaxed) {
            NONE => None,
            p => self.shared.pool(PoolId(p))?.cpu,
        }
    }
}

impl Shared {
    /// Every live worker and rescuer thread, by the id the dump prints for it.
    pub(crate) fn worker_threads(&self) -> Vec<crate::WorkerThread> {
        self.workers
            .read()
            .iter()
            .flatten()
            .map(|w| {
                let pool = w.pool.load(Ordering::Relaxed);
                crate::WorkerThread {
                    id: w.id.0,
                    name: w.name.clone(),
                    thread: w.thread.get().map(Thread::id),
                    pool: (pool != NONE).then_some(pool),
                    rescuer: w.rescuer_of.is_some(),
                }
            })
            .collect()
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

/// A pool worker's thread (the kernel's `worker_thread`): report, ask, run, repeat.
fn worker_main(shared: &Arc<Shared>, ws: &Arc<WorkerShared>) {
    let _ = ws.thread.set(std::thread::current());
    if let Some(c) = ThreadClock::current() {
        let _ = ws.clock.set(c);
    }
    blocking::install(Arc::new(Hooks {
        shared: Arc::clone(shared),
        ws: Arc::clone(ws),
    }));
    let p = PoolId(ws.pool.load(Ordering::Relaxed));
    pin(shared, shared.pool(p).and_then(|s| s.cpu));
    // Wait for worker_created: before it the pool does not know this worker.
    ws.park();
    // The item this worker has just run, not yet reported: its run time and the clock
    // when it ended. Its `work_done` and the next `next_work` share one pool lock hold at
    // that end time, which is also the next item's start: one clock read per item.
    let mut done: Option<(u64, u64)> = None;
    // The workqueue of the last item run: a flood of one workqueue's items looks it up
    // once, not per item (the registry's read lock and the `Arc`'s count are cache lines
    // every worker would write on every item). A cached workqueue stands for its id until
    // its destroy removes its pwqs (`pwqs_removed`, set before the id can be reused, and
    // seen here through the pool lock that handed out the next item).
    // Dropped when the worker goes idle.
    let mut wq_cache: Option<Arc<WqShared>> = None;
    loop {
        if ws.exit.load(Ordering::Acquire) && shared.shut_down.load(Ordering::Acquire) {
            if let Some((ran, end)) = done {
                shared.run_op_at(None, Some(end), |d, acts| {
                    ops::worker_work_done(d, p, ws.id, ran, acts)
                });
            }
            break;
        }
        let now = done.map_or_else(|| shared.now(), |(_, end)| end);
        let (next, wq) = shared.run_op_at(None, Some(now), |d, acts| {
            ops::worker_next(d, p, ws.id, done.take().map(|(ran, _)| ran), acts)
        });
        match next {
            Next::Run(work) => {
                let cached = wq_cache
                    .as_ref()
                    .is_some_and(|c| Some(c.id) == wq && !c.pwqs_removed.load(Ordering::Acquire));
                if !cached {
                    wq_cache = wq.and_then(|id| shared.wq(id));
                }
                let end = shared.run_item(ws, work, wq_cache.as_deref(), now);
                done = Some((end.saturating_sub(now), end));
            }
            Next::Idle | Next::Manage => {
                // An idle worker keeps no workqueue alive.
                wq_cache = None;
                ws.park_idle(shared.pool(p), matches!(next, Next::Idle));
            }
            Next::Exit => break,
        }
    }
    shared.unregister(ws.id);
}

/// A rescuer's thread (the kernel's `rescuer_thread`): sleeps until a mayday, then runs
/// what the core's rescuer loop (`ops::rescuer_step`) hands it.
fn rescuer_main(shared: &Arc<Shared>, wq: &Arc<WqShared>, ws: &Arc<WorkerShared>) {
    let _ = ws.thread.set(std::thread::current());
    blocking::install(Arc::new(Hooks {
        shared: Arc::clone(shared),
        ws: Arc::clone(ws),
    }));
    // The pool the rescuer last ran on: attached to a per-CPU pool, it runs on that pool's
    // CPU, as the kernel's worker_attach_to_pool() binds it to the pool's cpumask. (An
    // unbound pool's cpumask is every CPU; pinning here sets one CPU at a time, so after a
    // per-CPU visit the rescuer keeps that CPU while it serves an unbound pool.)
    let mut pinned_to: Option<PoolId> = None;
    loop {
        loop {
            let step = shared.run_op(Some(wq), |d, acts| ops::rescuer_step(d, wq.id, acts));
            match step {
                RescuerStep::Run { pool, work } => {
                    if pinned_to != Some(pool) {
                        pin(shared, shared.pool(pool).and_then(|s| s.cpu));
                        pinned_to = Some(pool);
                    }
                    ws.pool.store(pool.0, Ordering::Relaxed);
                    let start = shared.now();
                    let end = shared.run_item(ws, work, Some(wq), start);
                    shared.run_op_at(Some(wq), Some(end), |d, acts| {
                        ops::worker_work_done(d, pool, ws.id, end.saturating_sub(start), acts);
                    });
                }
                RescuerStep::Sleep => break,
            }
        }
        ws.pool.store(NONE, Ordering::Relaxed);
        if ws.exit.load(Ordering::Acquire) {
            break;
        }
        ws.park();
    }
    shared.unregister(ws.id);
    ws.mark_exited();
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use super::NameBuf;

    #[test]
    fn name_buf_keeps_the_longest_whole_char_prefix_that_fits() {
        let mut b = NameBuf::new();
        let _ = b.write_str("bench_work_fn");
        assert_eq!(b.as_str(), "bench_work_fn");
        let mut b = NameBuf::new();
        let long = "x".repeat(70);
        let _ = b.write_str(&long);
        assert_eq!(b.as_str(), &long[..64]);
        // a two-byte char straddling the 64-byte end is left out whole
        let mut b = NameBuf::new();
        let s = format!("{}é", "y".repeat(63));
        let _ = b.write_str(&s);
        assert_eq!(b.as_str(), "y".repeat(63));
        // appending continues after what is there
        let mut b = NameBuf::new();
        let _ = b.write_str("ab");
        let _ = b.write_str("ç");
        assert_eq!(b.as_str(), "abç");
    }
}
