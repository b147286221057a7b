//! Workers and concurrency management: `nr_running` and the sleep hooks, the
//! cpu-intensive tick, `assign_work`, `process_one_work`, `work_done` and the worker loop
//! (`next_work`).

#[allow(unused_imports)]
use super::*;

impl Pool {
    // ------------------------------------------------------------------ nr_running

    pub(super) fn set_flags(&mut self, i: usize, f: WorkerFlags) {
        let w = &mut self.workers[i];
        let before = w.counted();
        w.flags |= f;
        if before && !w.counted() {
            self.nr_running -= 1;
        }
    }

    pub(super) fn clr_flags(&mut self, i: usize, f: WorkerFlags) {
        let w = &mut self.workers[i];
        let before = w.counted();
        w.flags.remove(f);
        if !before && w.counted() {
            self.nr_running += 1;
        }
    }

    /// `wq_worker_sleeping`: a running worker is about to block. It stops counting in
    /// nr_running; if work is then pending with nobody running, an idle worker is woken.
    pub fn worker_sleeping(&mut self, w: WorkerId, _now: u64, out: &mut Actions) {
        let Some(&i) = self.windex.get(&w) else {
            return;
        };
        let wk = &mut self.workers[i];
        if wk.sleeping || wk.flags.intersects(WorkerFlags::NOT_RUNNING) {
            return;
        }
        wk.sleeping = true;
        self.nr_running -= 1;
        let pwq = wk.current_pwq();
        if self.kick_pool(out) {
            if let Some(p) = pwq.and_then(|p| self.pwq_mut(p)) {
                p.stats.cm_wakeup += 1;
            }
        }
    }

    /// `wq_worker_running`: a worker that blocked runs again and counts again.
    pub fn worker_running(&mut self, w: WorkerId, now: u64) {
        if let Some(&i) = self.windex.get(&w) {
            self.running_at(i, now);
        }
    }

    /// [`worker_running`](Self::worker_running) for the worker at index `i`.
    fn running_at(&mut self, i: usize, now: u64) {
        let wk = &mut self.workers[i];
        if !wk.sleeping {
            return;
        }
        wk.sleeping = false;
        if let Some(c) = wk.current.as_mut() {
            c.at = now;
        }
        if wk.counted() {
            self.nr_running += 1;
        }
    }

    /// `wq_worker_tick`: a concurrency-managed worker whose current item has consumed
    /// CPU_INTENSIVE_THRESH of CPU time since it started or last woke (`cpu_ns`, the
    /// kernel's `sum_exec_runtime - current_at`, measured by the driver's CPU clock) is
    /// marked CPU_INTENSIVE and stops counting; the pool is kicked. The driver may call it
    /// as often as it likes: below the threshold, or once marked, nothing changes.
    pub fn worker_tick(&mut self, w: WorkerId, cpu_ns: u64, out: &mut Actions) {
        let Some(&i) = self.windex.get(&w) else {
            return;
        };
        let wk = &self.workers[i];
        let Some(cur) = wk.current else { return };
        if wk.flags.intersects(WorkerFlags::NOT_RUNNING)
            || wk.sleeping
            || cpu_ns < self.timings.cpu_intensive_thresh
        {
            return;
        }
        self.set_flags(i, WorkerFlags::CPU_INTENSIVE);
        let woke = self.kick_pool(out);
        if let Some(p) = self.pwq_mut(cur.pwq) {
            p.stats.cpu_intensive += 1;
            if woke {
                p.stats.cm_wakeup += 1;
            }
        }
    }

    // ------------------------------------------------------------------ workers

    /// `assign_work`: move `work` (and its linked barriers) from the worklist to worker
    /// `i`'s scheduled list, unless another worker of the pool runs the same item: then it
    /// goes to that worker (non-reentrancy) and this returns false.
    ///
    /// # Safety
    ///
    /// `work` is an element of `self.worklist`.
    pub(super) unsafe fn assign_work(
        &mut self,
        work: NonNull<WorkHead>,
        i: usize,
        moved: impl FnMut(NonNull<WorkHead>),
    ) -> bool {
        let addr = work.as_ptr() as usize;
        let target = self.busy_find(addr).unwrap_or(i);
        let Self {
            worklist, workers, ..
        } = self;
        // SAFETY: work is on the worklist (contract).
        unsafe { lists::move_linked(worklist, &mut workers[target].scheduled, work, moved) };
        target == i
    }

    /// Unlink cursors at the worklist head and return the first work item (a normal worker's
    /// assign path meets cursors only as `Entry::Cursor`, never as work).
    pub(super) fn first_work(&mut self) -> Option<NonNull<WorkHead>> {
        loop {
            let first = self.worklist.iter().next()?;
            match first {
                Entry::Elem(h) => return Some(NonNull::from(h)),
                Entry::Cursor(c) => {
                    let id = c.id();
                    self.worklist.unlink_cursor(id);
                }
            }
        }
    }

    /// `process_one_work`, the part before the function runs: take the first item of
    /// worker `i`'s scheduled list, record it as current, clear PENDING.
    pub(super) fn process_one_work(
        &mut self,
        i: usize,
        now: u64,
        out: &mut Actions,
    ) -> Option<WorkRef> {
        let work = self.workers[i].scheduled.pop_front()?;
        Some(self.start_work(i, work, now, out))
    }

    /// The rest of `process_one_work` for `work`, taken off worker `i`'s scheduled list
    /// (or straight off the worklist, see [`work_loop`](Self::work_loop)).
    fn start_work(&mut self, i: usize, work: WorkRef, now: u64, out: &mut Actions) -> WorkRef {
        // One read of the data word for its flags, pwq and colour.
        let (data_flags, pwq, color) = match work.head().data() {
            cmwq_work::WorkData::OnQueue { flags, color, pwq } => (flags, Some(pwq), color),
            cmwq_work::WorkData::OffQueue { flags, .. } => (flags, None, 0),
        };
        let addr = work.addr();
        let w = &mut self.workers[i];
        w.current_func.clear();
        w.current_func.push_str(work.name());
        let pwq = pwq.unwrap_or(PwqId::new(u32::MAX));
        w.current = Some(Current {
            addr,
            pwq,
            color,
            active: !data_flags.contains(WorkFlags::INACTIVE),
            started: now,
            at: now,
        });
        self.busy_add(i, addr);
        if let Some(p) = self.pwq_mut(pwq) {
            p.stats.started += 1;
            if p.wq_flags.contains(WqFlags::CPU_INTENSIVE) {
                self.set_flags(i, WorkerFlags::CPU_INTENSIVE);
            }
        }
        if std::mem::take(&mut self.workers[i].batch_start) {
            self.watchdog_ts = now;
        }
        // Chain execution for workers that do not count (unbound, cpu-intensive).
        self.kick_pool(out);
        work.head().set_pool_and_clear_pending(self.id);
        work
    }

    /// The worker finished the item `next_work`/`rescuer_next` handed it, having used
    /// `cpu_ns` of CPU time. Updates nr_active (activating inactive items), flush colours
    /// and stats.
    pub fn work_done(&mut self, w: WorkerId, cpu_ns: u64, now: u64, out: &mut Actions) {
        if let Some(&i) = self.windex.get(&w) {
            self.work_done_at(i, cpu_ns, now, out);
        }
    }

    /// [`work_done`](Self::work_done) for the worker at index `i`.
    fn work_done_at(&mut self, i: usize, cpu_ns: u64, now: u64, out: &mut Actions) {
        if self.workers[i].sleeping {
            self.running_at(i, now);
        }
        let Some(cur) = self.workers[i].current.take() else {
            return;
        };
        self.busy_del(i, cur.addr);
        if self.workers[i].flags.contains(WorkerFlags::CPU_INTENSIVE) {
            self.clr_flags(i, WorkerFlags::CPU_INTENSIVE);
        }
        if let Some(p) = self.pwq_mut(cur.pwq) {
            p.stats.completed += 1;
            p.stats.cpu_time_ns += cpu_ns;
        }
        // As the kernel's process_one_work, no kick_pool for an item this activates: the
        // worker asks for its next item right after (next_work's work loop), and takes it
        // itself unless another running worker does. Waking the idle spare here would
        // only have it find the worklist empty again.
        self.pwq_dec_nr_in_flight(cur.pwq, cur.color, cur.active, now, out);
    }

    /// `pwq_dec_nr_in_flight`: an item of `pwq` with `color` left (completed or grabbed).
    /// Returns whether it activated an inactive item (which the caller may need to kick
    /// the pool for).
    pub(super) fn pwq_dec_nr_in_flight(
        &mut self,
        pwq: PwqId,
        color: u8,
        active: bool,
        now: u64,
        out: &mut Actions,
    ) -> bool {
        let Some(p) = self.pwq_mut(pwq) else {
            return false;
        };
        let c = usize::from(color % WORK_NR_COLORS);
        p.nr_in_flight[c] = p.nr_in_flight[c].saturating_sub(1);
        let wq = p.wq;
        if p.flush_color == Some(color % WORK_NR_COLORS) && p.nr_in_flight[c] == 0 {
            p.flush_color = None;
            out.push(Action::FlushColorDone { wq, pwq });
        }
        if active {
            p.nr_active = p.nr_active.saturating_sub(1);
            return self.activate_inactive(pwq, now);
        }
        false
    }

    /// The worker loop (`worker_thread`) as a state machine. Call it when the worker starts,
    /// when it is woken, and after `work_done`. It returns the next item to run, or tells the
    /// worker to park (idle, or as manager) or to exit.
    pub fn next_work(&mut self, w: WorkerId, now: u64, out: &mut Actions) -> Next {
        match self.windex.get(&w) {
            Some(&i) => self.next_work_at(i, now, out),
            None => Next::Exit,
        }
    }

    /// A worker's report-and-ask step under one lock hold (the core of
    /// [`crate::ops::worker_next`]): [`work_done`](Self::work_done) for the item it ran
    /// (`done`: the CPU time it used), then [`next_work`](Self::next_work), and the
    /// workqueue of the item handed out. The worker is looked up once.
    pub(crate) fn report_and_next(
        &mut self,
        w: WorkerId,
        done: Option<u64>,
        now: u64,
        out: &mut Actions,
    ) -> (Next, Option<WqId>) {
        let Some(&i) = self.windex.get(&w) else {
            return (Next::Exit, None);
        };
        if let Some(ns) = done {
            self.work_done_at(i, ns, now, out);
        }
        let n = self.next_work_at(i, now, out);
        let wq = match n {
            Next::Run(_) => self.workers[i]
                .current_pwq()
                .and_then(|pwq| self.pwq_wq(pwq)),
            _ => None,
        };
        (n, wq)
    }

    /// [`next_work`](Self::next_work) for the worker at index `i`.
    fn next_work_at(&mut self, i: usize, now: u64, out: &mut Actions) -> Next {
        let w = self.workers[i].id;
        // A worker asking for work is running, whether or not its driver reported the wake-up.
        self.running_at(i, now);
        if self.workers[i].current.is_some() {
            // The driver did not report the previous item: count it done with no CPU time.
            self.work_done_at(i, 0, now, out);
        }
        match self.workers[i].phase {
            Phase::Rescuer(_) => return Next::Idle,
            Phase::Idle => {
                self.leave_idle(i);
                self.workers[i].phase = Phase::Woken;
            }
            Phase::Managing => {
                if self.manager == Some(w) && self.manager_active() {
                    return Next::Manage;
                }
                self.workers[i].phase = Phase::Woken;
            }
            Phase::Woken | Phase::Working => {}
        }
        if self.workers[i].phase == Phase::Woken {
            // woke_up / recheck
            if !self.need_more_worker() {
                self.enter_idle(i, now, out);
                return Next::Idle;
            }
            if !self.may_start_working() && !self.manager_active() {
                self.workers[i].phase = Phase::Managing;
                self.maybe_create_worker(Some(w), now, out);
                return Next::Manage;
            }
            self.clr_flags(i, WorkerFlags::PREP | WorkerFlags::REBOUND);
            self.workers[i].phase = Phase::Working;
            return self.work_loop(i, true, now, out);
        }
        self.work_loop(i, false, now, out)
    }

    pub(super) fn work_loop(&mut self, i: usize, first: bool, now: u64, out: &mut Actions) -> Next {
        let mut first = first;
        loop {
            if let Some(work) = self.process_one_work(i, now, out) {
                return Next::Run(work);
            }
            if !first && !self.keep_working() {
                break;
            }
            first = false;
            let Some(work) = self.first_work() else { break };
            // The common case, in one step: an item with no barrier linked behind it that
            // no other worker of the pool runs would only pass through this worker's
            // (empty: process_one_work found nothing) scheduled list; take it straight off
            // the worklist instead of moving it there and back.
            // SAFETY: first_work returned an element of the worklist, alive while linked.
            let plain = !lists::flags(unsafe { lists::head(work) }).contains(WorkFlags::LINKED)
                && self.busy_find(work.as_ptr() as usize).is_none();
            if plain {
                // SAFETY: work is an element of the worklist.
                let w = unsafe { lists::take(&mut self.worklist, work) };
                self.workers[i].batch_start = true;
                return Next::Run(self.start_work(i, w, now, out));
            }
            // SAFETY: first_work returned an element of the worklist.
            if unsafe { self.assign_work(work, i, |_| {}) } {
                self.workers[i].batch_start = true;
            }
        }
        self.set_flags(i, WorkerFlags::PREP);
        self.enter_idle(i, now, out);
        Next::Idle
    }
}
