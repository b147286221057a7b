//! The rescuer on a pool: attach, the visit's steps (`rescuer_next`: a *plan*, what the
//! policy chose, made from a read-only view; then its *application* to the worklist) and
//! detach.

#[allow(unused_imports)]
use super::*;

impl Pool {
    // ------------------------------------------------------------------ rescuer

    /// The workqueue's rescuer attaches to this pool to help `pwq` (`worker_attach_to_pool`).
    /// It is a worker of the pool in WORKER_PREP: never counted in nr_running, nor in
    /// nr_workers.
    pub fn rescuer_attach(&mut self, r: WorkerId, pwq: PwqId, now: u64) {
        if self.windex.contains_key(&r) {
            return;
        }
        tracing::debug!(target: "workqueue", pool = self.id.0, worker = r.0, pwq = pwq.get(),
            "workqueue_rescuer_attach");
        self.windex.insert(r, self.workers.len());
        let mut flags = WorkerFlags::PREP | WorkerFlags::RESCUER;
        if self.flags.contains(PoolFlags::DISASSOCIATED) {
            flags |= WorkerFlags::UNBOUND;
        }
        self.workers.push(Worker {
            id: r,
            seq: 0,
            flags,
            phase: Phase::Rescuer(RescueVisit {
                pwq,
                rescued: 0,
                passes: 0,
                leave_after: None,
            }),
            sleeping: false,
            scheduled: WorkList::new(),
            current: None,
            current_func: self.spare_names.pop().unwrap_or_default(),
            last_active: now,
            batch_start: false,
            busy_next: busy::NIL,
        });
    }

    /// One step of the rescuer's visit: run what it took, else ask the pwq's policy
    /// (`assign_rescuer_work`), else leave.
    pub fn rescuer_next(
        &mut self,
        r: WorkerId,
        sink: &mut dyn MaydaySink,
        now: u64,
        out: &mut Actions,
    ) -> RescueNext {
        let mut scratch = std::mem::take(&mut self.rescue_scratch);
        let next = self.rescuer_next_with(r, sink, now, out, &mut scratch);
        scratch.takes.clear();
        scratch.taken.clear();
        scratch.chained.clear();
        self.rescue_scratch = scratch;
        next
    }

    pub(super) fn rescuer_next_with(
        &mut self,
        r: WorkerId,
        sink: &mut dyn MaydaySink,
        now: u64,
        out: &mut Actions,
        scratch: &mut RescueScratch,
    ) -> RescueNext {
        let Some(&i) = self.windex.get(&r) else {
            return RescueNext::Leave;
        };
        if self.workers[i].current.is_some() {
            self.work_done(r, 0, now, out);
        }
        loop {
            // (The emptiness check spares a call per policy round: a Cursor rescuer asks its
            // policy before every item.)
            if !self.workers[i].scheduled.is_empty() {
                if let Some(work) = self.process_one_work(i, now, out) {
                    return RescueNext::Run(work);
                }
            }
            let Phase::Rescuer(mut visit) = self.workers[i].phase else {
                return RescueNext::Leave;
            };
            if let Some(remayday) = visit.leave_after {
                if remayday {
                    self.requeue_mayday(visit.pwq, sink);
                }
                return RescueNext::Leave;
            }
            let Some(p) = self.pwq(visit.pwq) else {
                return RescueNext::Leave;
            };
            let (wq, cursor) = (p.wq, p.cursor);
            let mut ctx = RescueCtx::new(visit.pwq);
            ctx.nr_active = p.nr_active;
            ctx.need_to_create_worker = self.need_to_create_worker();
            ctx.manager_active = self.manager_active();
            ctx.others_waiting = sink.others_waiting(wq);
            ctx.rescued_this_visit = visit.rescued;
            ctx.passes_this_visit = visit.passes;
            // Plan: what the policy chose, as positions on the worklist (in a reused
            // buffer: no allocation per step). Nothing changes yet.
            let RescueScratch {
                takes,
                taken,
                chained,
            } = scratch;
            takes.clear();
            taken.clear();
            let plan = self.plan_rescue(visit.pwq, cursor, &ctx, takes, taken);
            visit.passes += 1;
            // Apply: move the cursor, take the chosen items.
            // SAFETY: `takes` and the plan's positions come from a scan of the worklist made
            // just above, with nothing changed since, each position once (`plan_rescue`).
            let took = unsafe { self.apply_rescue(i, cursor, &plan, takes, chained) };
            let (then, visited) = (plan.then, plan.visited);
            visit.rescued += took;
            if took > 0 {
                self.workers[i].batch_start = true;
            }
            if let Some(p) = self.pwq_mut(visit.pwq) {
                p.stats.rescue_nodes_visited += visited;
                p.stats.rescued += u64::from(took);
            }
            match then {
                Then::Continue if took > 0 => {}
                Then::Continue if !takes.is_empty() => {} // all handed to busy workers: ask again
                Then::Continue | Then::Leave => {
                    if took == 0 {
                        self.workers[i].phase = Phase::Rescuer(visit);
                        return RescueNext::Leave;
                    }
                    visit.leave_after = Some(false);
                }
                Then::LeaveAndRemayday => {
                    if took == 0 {
                        self.workers[i].phase = Phase::Rescuer(visit);
                        // Only a visit that rescued something goes back on maydays: a
                        // policy that asks for it while taking nothing would otherwise keep
                        // the rescuer popping and re-sending the same pwq forever. (The
                        // built-in policies never ask for it before rescuing.)
                        if visit.rescued > 0 {
                            self.requeue_mayday(visit.pwq, sink);
                        }
                        return RescueNext::Leave;
                    }
                    visit.leave_after = Some(true);
                }
            }
            self.workers[i].phase = Phase::Rescuer(visit);
        }
    }

    /// A rescuer step's plan (pure: the pool is only read): ask `pwq`'s policy what to
    /// take now, collect the candidates that are really this pwq's items on this worklist
    /// into `takes`, each once (`taken` is the same positions as a set), and turn the
    /// policy's cursor move into a position.
    ///
    /// The policy is safe code and is trusted with nothing: a candidate is kept only if it
    /// was met on this worklist in this call (the token says which list it was met on), is
    /// queued on the rescued pwq (its data word, written under this lock), and was not
    /// handed over before in this call. Each check is O(1). Nothing changes the worklist
    /// while the policy runs (it is borrowed), so every kept position is an element of it.
    fn plan_rescue(
        &self,
        pwq: PwqId,
        cursor: CursorId,
        ctx: &RescueCtx,
        takes: &mut Vec<NonNull<WorkHead>>,
        taken: &mut FxHashSet<NonNull<WorkHead>>,
    ) -> RescuePlan {
        let Some(p) = self.pwq(pwq) else {
            return RescuePlan {
                cursor: CursorPlan::Stay,
                then: Then::Leave,
                visited: 0,
            };
        };
        let visit_pwq = pwq;
        let view = WorklistView::new(&self.worklist, visit_pwq, cursor);
        let worklist = &self.worklist;
        let mut keep = |c: Candidate<'_>| {
            let pos = c.as_ptr();
            if c.is_on(worklist) && c.is_of(visit_pwq) && taken.insert(pos) {
                takes.push(pos);
            }
        };
        let choice = p.policy.choose(&view, ctx, &mut Take::new(&mut keep));
        let (cursor_move, then) = (choice.cursor, choice.then);
        let plan = match cursor_move {
            CursorMove::Stay => CursorPlan::Stay,
            CursorMove::Unlink => CursorPlan::Unlink,
            CursorMove::AfterTaken => match *takes.as_slice() {
                [] => CursorPlan::Stay,
                // One item (Cursor's every step): the cursor goes before the element
                // after its LINKED chain, found and moved to in one list operation.
                // SAFETY: the item came from a scan of self.worklist, unchanged since.
                [only] => match unsafe { lists::chain_end(&self.worklist, only) } {
                    Some(end) => CursorPlan::BeforeNextElem(end),
                    None => CursorPlan::Before(None),
                },
                [.., last] => {
                    // SAFETY: last came from a scan of self.worklist, unchanged since.
                    let mut n = unsafe { lists::after_chain(&self.worklist, last) };
                    while let Some(x) = n {
                        if !taken.contains(&x) {
                            break;
                        }
                        // SAFETY: x is on the worklist (found there just above).
                        n = unsafe { lists::after_chain(&self.worklist, x) };
                    }
                    CursorPlan::Before(n)
                }
            },
        };
        RescuePlan {
            cursor: plan,
            then,
            visited: view.visited(),
        }
    }

    /// Apply a rescuer step's plan: move `cursor`, then take each planned item through
    /// `assign_work` onto rescuer `i` (an item another worker runs goes to that worker).
    /// Returns how many the rescuer took.
    ///
    /// # Safety
    ///
    /// `takes` and the plan's positions come from [`Pool::plan_rescue`] on this pool,
    /// with the worklist unchanged since.
    unsafe fn apply_rescue(
        &mut self,
        i: usize,
        cursor: CursorId,
        plan: &RescuePlan,
        takes: &[NonNull<WorkHead>],
        chained: &mut FxHashSet<NonNull<WorkHead>>,
    ) -> u32 {
        match plan.cursor {
            CursorPlan::Stay => {}
            CursorPlan::Unlink => self.worklist.unlink_cursor(cursor),
            // SAFETY: n is an element of the worklist (found there, nothing removed yet).
            CursorPlan::Before(Some(n)) => unsafe {
                self.worklist.move_cursor_before(cursor, lists::head(n))
            },
            // SAFETY: as above.
            CursorPlan::BeforeNextElem(e) => unsafe {
                self.worklist
                    .move_cursor_before_next_elem(cursor, lists::head(e))
            },
            CursorPlan::Before(None) => self.worklist.move_cursor_to_back(cursor),
        }
        match *takes {
            // One item (Cursor's every step): nothing else to skip.
            // SAFETY: the item came from a scan of the worklist and was not moved since.
            [only] => u32::from(unsafe { self.assign_work(only, i, |_| {}) }),
            _ => {
                chained.clear();
                let mut took = 0u32;
                for t in takes.iter().copied() {
                    if chained.contains(&t) {
                        continue;
                    }
                    // SAFETY: t came from a scan of the worklist, appears once in `takes`
                    // (checked when planned) and was not moved since: the only items moved
                    // are earlier entries of `takes` and the items moved along with their
                    // LINKED chains, which are in `chained`.
                    if unsafe {
                        self.assign_work(t, i, |x| {
                            chained.insert(x);
                        })
                    } {
                        took += 1;
                    }
                }
                took
            }
        }
    }

    /// Put the pwq back on its workqueue's maydays (the rescuer itself does it: no MAYDAY
    /// stat, no wake-up, as the kernel's rescuer_thread).
    pub(super) fn requeue_mayday(&mut self, pwq: PwqId, sink: &mut dyn MaydaySink) {
        if let Some(p) = self.pwq(pwq) {
            sink.send_mayday(p.wq, pwq);
        }
    }

    /// The rescuer leaves the pool (`worker_detach_from_pool`): the cursor is unlinked
    /// unless the pwq is back on maydays (it cannot be left behind without the rescuer
    /// watching it), and the pool is kicked so that normal workers resume.
    pub fn rescuer_detach(
        &mut self,
        r: WorkerId,
        sink: &mut dyn MaydaySink,
        now: u64,
        out: &mut Actions,
    ) {
        let Some(&i) = self.windex.get(&r) else {
            return;
        };
        if self.workers[i].current.is_some() {
            self.work_done(r, 0, now, out);
        }
        let Phase::Rescuer(visit) = self.workers[i].phase else {
            return;
        };
        tracing::debug!(target: "workqueue", pool = self.id.0, worker = r.0,
            pwq = visit.pwq.get(), rescued = visit.rescued, "workqueue_rescuer_detach");
        // Anything still scheduled on the rescuer goes back to the worklist head, in order.
        let mut w = self.remove_worker(r).expect("indexed above");
        let mut prev: Option<NonNull<WorkHead>> = None;
        while let Some(x) = w.scheduled.pop_front() {
            let pos = NonNull::from(x.head());
            match prev {
                None => self.worklist.push_front(x),
                // SAFETY: prev was put on the worklist by the previous iteration.
                Some(p) => unsafe { self.worklist.insert_after(lists::head(p), x) },
            }
            prev = Some(pos);
        }
        w.current_func.clear();
        self.spare_names.push(w.current_func);
        if let Some(p) = self.pwq(visit.pwq) {
            let (wq, cursor) = (p.wq, p.cursor);
            if self.worklist.cursor_is_linked(cursor) && !sink.is_on_maydays(wq, visit.pwq) {
                self.worklist.unlink_cursor(cursor);
            }
        }
        self.kick_pool(out);
    }

    /// The pwq a rescuer attached to this pool is visiting.
    pub fn rescuer_pwq(&self, r: WorkerId) -> Option<PwqId> {
        match self.worker(r)?.phase {
            Phase::Rescuer(v) => Some(v.pwq),
            _ => None,
        }
    }
}

/// `rescuer_next`'s reused buffers: positions on the worklist, meaningful only during one
/// call and empty between calls.
#[derive(Debug, Default)]
pub(super) struct RescueScratch {
    /// The positions the policy took, in its order, each once.
    takes: Vec<NonNull<WorkHead>>,
    /// The same positions as a set: the O(1) "taken already?" check.
    taken: FxHashSet<NonNull<WorkHead>>,
    /// Items moved along with a taken one's LINKED chain.
    chained: FxHashSet<NonNull<WorkHead>>,
}

// SAFETY: the collections are cleared before `Pool::rescuer_next` (which holds `&mut Pool`)
// returns, so no pointer in them is ever shared with or sent to another thread; only their
// capacity outlives a call.
unsafe impl Send for RescueScratch {}
// SAFETY: as above: between calls there is nothing to read through a `&RescueScratch`.
unsafe impl Sync for RescueScratch {}

/// What a rescuer step planned: the cursor's new position, what the policy says next,
/// and the worklist nodes it visited.
pub(super) struct RescuePlan {
    cursor: CursorPlan,
    then: Then,
    visited: u64,
}

pub(super) enum CursorPlan {
    Stay,
    Unlink,
    /// Before this element, or at the tail.
    Before(Option<NonNull<WorkHead>>),
    /// Before the first element after this one, or at the tail.
    BeforeNextElem(NonNull<WorkHead>),
}
