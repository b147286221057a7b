//! A deterministic, single-threaded driver of `System` for tests: it plays the roles of
//! worker threads, rescuer threads, the timer thread and the spawner. Work functions run
//! inline (they only log); an item can be made to "block" (its worker reports
//! `worker_sleeping` and holds it until the test releases it), and an item can queue
//! others when it runs (chained queueing).
#![allow(dead_code, unreachable_pub)]

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use cmwq_pool::{
    Action, Actions, FlushTicket, Next, PoolId, QueueError, QueueFrom, RescuerStep, System,
    SystemConfig, WorkerId, WqId,
};
use cmwq_work::{FnWork, WorkRef, work_fn};

pub type Log = Arc<Mutex<Vec<String>>>;

/// A flush barrier item that records that it ran.
pub type Barrier = cmwq_work::raw::Barrier<Ran>;

/// A barrier for the task `task` (the dump prints `BAR(task)`).
pub fn barrier(task: u32) -> Arc<Barrier> {
    Barrier::new(task, Ran::default())
}

/// A barrier's completion in a single-threaded driver: a flag.
#[derive(Default)]
pub struct Ran(AtomicBool);

impl cmwq_work::raw::Completion for Ran {
    fn complete(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Whether a barrier has run.
pub trait BarrierRan {
    fn is_done(&self) -> bool;
}

impl BarrierRan for Barrier {
    fn is_done(&self) -> bool {
        self.done().0.load(Ordering::SeqCst)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Timer {
    Mayday(PoolId),
    Idle(PoolId),
    CreateRetry(PoolId),
    Delayed,
}

/// Who runs an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Runner {
    Worker(WorkerId),
    Rescuer(WqId),
}

pub struct Held {
    pub work: WorkRef,
    pub runner: Runner,
    pub started: u64,
}

pub type Item = Arc<FnWork<Box<dyn Fn() + Send + Sync>>>;

pub struct Harness {
    pub sys: System,
    pub now: u64,
    pub out: Actions,
    pub log: Log,
    /// Answer CreateWorker with failure while true.
    pub create_fails: bool,
    /// Pools whose creation fails (besides `create_fails`).
    pub fail_pools: Vec<PoolId>,
    /// Names of items that block when they start.
    pub blocking: Vec<String>,
    /// Items held by blocked runners, by runner.
    pub held: HashMap<Runner, Held>,
    runnable: VecDeque<WorkerId>,
    rescuers: VecDeque<WqId>,
    timers: BTreeMap<Timer, u64>,
    pending_creates: VecDeque<PoolId>,
    /// Follow-ups: when an item named K runs, queue these on their workqueue (chained).
    pub chains: HashMap<String, Vec<(WqId, Item)>>,
    /// Signals: when an item named K finishes, the runner blocked in the item named V is
    /// released (an event the blocked item waits for).
    pub signals: HashMap<String, String>,
    pub flush_done: Vec<(WqId, FlushTicket)>,
    pub drained: Vec<WqId>,
    pub stopped: Vec<WorkerId>,
    pub created: Vec<(PoolId, WorkerId)>,
    pub create_requests: u32,
    pub create_failures: u32,
    /// (runner, item name) in start order.
    pub starts: Vec<(Runner, String)>,
}

impl Harness {
    pub fn new(nr_cpus: u32) -> Self {
        Self {
            sys: System::new(SystemConfig { nr_cpus }),
            now: 0,
            out: Actions::new(),
            log: Arc::new(Mutex::new(Vec::new())),
            create_fails: false,
            fail_pools: Vec::new(),
            blocking: Vec::new(),
            held: HashMap::new(),
            runnable: VecDeque::new(),
            rescuers: VecDeque::new(),
            timers: BTreeMap::new(),
            pending_creates: VecDeque::new(),
            chains: HashMap::new(),
            signals: HashMap::new(),
            flush_done: Vec::new(),
            drained: Vec::new(),
            stopped: Vec::new(),
            created: Vec::new(),
            create_requests: 0,
            create_failures: 0,
            starts: Vec::new(),
        }
    }

    /// An item that logs its name when it runs.
    pub fn item(&self, name: &'static str) -> Item {
        let log = self.log.clone();
        let f: Box<dyn Fn() + Send + Sync> = Box::new(move || {
            log.lock().unwrap().push(name.to_string());
        });
        work_fn(name, f)
    }

    pub fn ran(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    pub fn count_ran(&self, name: &str) -> usize {
        self.log
            .lock()
            .unwrap()
            .iter()
            .filter(|n| *n == name)
            .count()
    }

    pub fn alloc(&mut self, spec: cmwq_pool::WqSpec) -> WqId {
        let wq = self
            .sys
            .alloc_workqueue(spec, self.now, &mut self.out)
            .unwrap();
        self.settle();
        wq
    }

    pub fn queue(&mut self, wq: WqId, item: &Item) -> Result<(), QueueError> {
        self.queue_on(wq, None, item)
    }

    pub fn queue_on(&mut self, wq: WqId, cpu: Option<u32>, item: &Item) -> Result<(), QueueError> {
        let r = self.sys.queue_work(
            wq,
            cpu,
            WorkRef::from_arc(item.clone()),
            QueueFrom::Outside,
            self.now,
            &mut self.out,
        );
        let r = r.map_err(|(e, _w)| e);
        self.settle();
        r
    }

    /// Queue without running anything afterwards.
    pub fn queue_quiet(&mut self, wq: WqId, item: &Item) -> Result<(), QueueError> {
        let r = self
            .sys
            .queue_work(
                wq,
                None,
                WorkRef::from_arc(item.clone()),
                QueueFrom::Outside,
                self.now,
                &mut self.out,
            )
            .map_err(|(e, _)| e);
        self.absorb();
        r
    }

    /// Take the actions out of the buffer into the harness's queues (no running).
    pub fn absorb(&mut self) {
        let acts: Vec<Action> = self.out.drain().collect();
        for a in acts {
            match a {
                Action::WakeWorker { worker, .. } => {
                    if !self.runnable.contains(&worker) {
                        self.runnable.push_back(worker);
                    }
                }
                Action::CreateWorker { pool } => {
                    self.create_requests += 1;
                    self.pending_creates.push_back(pool);
                }
                Action::StopWorker { worker, .. } => {
                    self.stopped.push(worker);
                    self.runnable.retain(|w| *w != worker);
                }
                Action::ArmMaydayTimer { pool, at } => {
                    self.timers.insert(Timer::Mayday(pool), at);
                }
                Action::ArmIdleTimer { pool, at } => {
                    self.timers.insert(Timer::Idle(pool), at);
                }
                Action::ArmCreateRetry { pool, at } => {
                    self.timers.insert(Timer::CreateRetry(pool), at);
                }
                Action::ArmDelayedTimer { at } => {
                    let t = self.timers.entry(Timer::Delayed).or_insert(at);
                    *t = (*t).min(at);
                }
                Action::WakeRescuer { wq } => {
                    if !self.rescuers.contains(&wq) {
                        self.rescuers.push_back(wq);
                    }
                }
                Action::FlushColorDone { .. } => {}
                Action::WqFlushDone { wq, ticket } => self.flush_done.push((wq, ticket)),
                Action::WqDrained { wq } => self.drained.push(wq),
                other => panic!("the harness does not know {other:?}"),
            }
        }
    }

    /// Answer creation requests, run every runnable worker and rescuer until quiet.
    pub fn settle(&mut self) {
        for _ in 0..100_000 {
            self.absorb();
            if let Some(pool) = self.pending_creates.pop_front() {
                if self.create_fails || self.fail_pools.contains(&pool) {
                    self.create_failures += 1;
                    self.sys.worker_create_failed(pool, self.now, &mut self.out);
                } else {
                    let w = self.sys.worker_created(pool, self.now, &mut self.out);
                    self.created.push((pool, w));
                }
                continue;
            }
            if let Some(w) = self.runnable.pop_front() {
                if self.held.contains_key(&Runner::Worker(w)) {
                    continue;
                }
                self.step_worker(w);
                continue;
            }
            if let Some(wq) = self.rescuers.pop_front() {
                if self.held.contains_key(&Runner::Rescuer(wq)) {
                    continue;
                }
                self.step_rescuer(wq);
                continue;
            }
            for p in self.sys.pools() {
                if let Err(e) = p.check_consistency() {
                    panic!("pool {:?} inconsistent: {e}", p.id());
                }
            }
            return;
        }
        panic!("harness did not settle");
    }

    /// Answer pending creation requests only (no worker runs).
    pub fn settle_creations_only(&mut self) {
        loop {
            self.absorb();
            let Some(pool) = self.pending_creates.pop_front() else {
                return;
            };
            if self.create_fails || self.fail_pools.contains(&pool) {
                self.create_failures += 1;
                self.sys.worker_create_failed(pool, self.now, &mut self.out);
            } else {
                let w = self.sys.worker_created(pool, self.now, &mut self.out);
                self.created.push((pool, w));
            }
        }
    }

    fn step_worker(&mut self, w: WorkerId) {
        match self.sys.next_work(w, self.now, &mut self.out) {
            Next::Run(work) => self.start(Runner::Worker(w), work),
            Next::Idle | Next::Manage | Next::Exit => {}
        }
    }

    fn step_rescuer(&mut self, wq: WqId) {
        match self.sys.rescuer_step(wq, self.now, &mut self.out) {
            RescuerStep::Run { work, .. } => self.start(Runner::Rescuer(wq), work),
            RescuerStep::Sleep => {}
        }
    }

    fn start(&mut self, runner: Runner, work: WorkRef) {
        assert!(
            !self.held.values().any(|h| h.work.addr() == work.addr()),
            "{} started on {runner:?} while another runner holds it",
            work.name()
        );
        let name = work.name().to_string();
        self.starts.push((runner, name.clone()));
        if self.blocking.contains(&name) {
            if let Runner::Worker(w) = runner {
                self.sys.worker_sleeping(w, self.now, &mut self.out);
            }
            self.held.insert(
                runner,
                Held {
                    work,
                    runner,
                    started: self.now,
                },
            );
            return;
        }
        self.finish(runner, work);
    }

    fn finish(&mut self, runner: Runner, work: WorkRef) {
        let name = work.name().to_string();
        work.run();
        let rid = match runner {
            Runner::Worker(w) => w,
            Runner::Rescuer(wq) => self.sys.rescuer_id(wq).unwrap(),
        };
        self.sys.work_done(rid, 1_000, self.now, &mut self.out);
        if let Some(follow) = self.chains.get(&name).cloned() {
            for (wq, item) in follow {
                let _ = self.sys.queue_work(
                    wq,
                    None,
                    WorkRef::from_arc(item.clone()),
                    QueueFrom::WorkOf(wq),
                    self.now,
                    &mut self.out,
                );
            }
        }
        match runner {
            Runner::Worker(w) => self.runnable.push_front(w),
            Runner::Rescuer(wq) => self.rescuers.push_front(wq),
        }
        if let Some(waiter) = self.signals.get(&name).cloned() {
            if let Some(r) = self.holder(&waiter) {
                let held = self.held.remove(&r).expect("held");
                if let Runner::Worker(w) = r {
                    self.sys.worker_running(w, self.now);
                }
                self.finish(r, held.work);
            }
        }
    }

    /// Release a blocked runner: it wakes, finishes its item and goes on.
    pub fn release(&mut self, runner: Runner) {
        let held = self.held.remove(&runner).expect("runner holds an item");
        if let Runner::Worker(w) = runner {
            self.sys.worker_running(w, self.now);
        }
        self.finish(runner, held.work);
        self.settle();
    }

    /// Release every blocked runner holding an item called `name`.
    pub fn release_all(&mut self, name: &str) {
        let rs: Vec<Runner> = self
            .held
            .iter()
            .filter(|(_, h)| h.work.name() == name)
            .map(|(r, _)| *r)
            .collect();
        for r in rs {
            self.release(r);
        }
    }

    /// Queue a new item `name` that blocks when it runs (it stays held until released) and
    /// return it with the worker running it: the common start of handoff and
    /// concurrency-management tests.
    pub fn start_blocking(&mut self, wq: WqId, name: &'static str) -> (Item, WorkerId) {
        self.blocking.push(name.into());
        let item = self.item(name);
        self.queue(wq, &item).unwrap();
        match self.holder(name) {
            Some(Runner::Worker(w)) => (item, w),
            other => panic!("a worker should run `{name}`, found {other:?}"),
        }
    }

    /// The runner holding an item with this name.
    pub fn holder(&self, name: &str) -> Option<Runner> {
        self.held
            .iter()
            .find(|(_, h)| h.work.name() == name)
            .map(|(r, _)| *r)
    }

    /// Move the clock to `t`, firing due timers in deadline order (all timers of one
    /// instant fire before anything runs), settling after each instant.
    pub fn advance_to(&mut self, t: u64) {
        while let Some(at) = self.timers.values().copied().filter(|at| *at <= t).min() {
            let due: Vec<Timer> = self
                .timers
                .iter()
                .filter(|(_, a)| **a == at)
                .map(|(k, _)| *k)
                .collect();
            self.now = self.now.max(at);
            for timer in due {
                self.timers.remove(&timer);
                match timer {
                    Timer::Mayday(p) => self.sys.mayday_timeout(p, self.now, &mut self.out),
                    Timer::Idle(p) => self.sys.idle_timeout(p, self.now, &mut self.out),
                    Timer::CreateRetry(p) => {
                        self.sys.create_retry_timeout(p, self.now, &mut self.out)
                    }
                    Timer::Delayed => self.sys.delayed_timeout(self.now, &mut self.out),
                }
                self.absorb();
            }
            self.settle();
        }
        self.now = self.now.max(t);
        self.settle();
    }

    pub fn advance(&mut self, dt: u64) {
        let t = self.now + dt;
        self.advance_to(t);
    }

    pub fn timer(&self, t: Timer) -> Option<u64> {
        self.timers.get(&t).copied()
    }

    pub fn rescued_names(&self, wq: WqId) -> Vec<String> {
        self.starts
            .iter()
            .filter(|(r, _)| *r == Runner::Rescuer(wq))
            .map(|(_, n)| n.clone())
            .collect()
    }
}

pub const MS: u64 = 1_000_000;
pub const SEC: u64 = 1_000_000_000;
