//! The pool_workqueues on a pool: adding and removing them, their counters, max_active
//! and flush colours, and `__queue_work` under the pool lock (worklist or inactive list).

#[allow(unused_imports)]
use super::*;

impl Pool {
    // ------------------------------------------------------------------ pwqs

    pub(super) fn pwq(&self, id: PwqId) -> Option<&Pwq> {
        if pool_of(id) != self.id {
            return None;
        }
        self.pwqs.get(pwq_slot(id))?.as_ref()
    }

    pub(super) fn pwq_mut(&mut self, id: PwqId) -> Option<&mut Pwq> {
        if pool_of(id) != self.id {
            return None;
        }
        self.pwqs.get_mut(pwq_slot(id))?.as_mut()
    }

    /// Host a workqueue on this pool: a new pwq with its cursor (allocated here, never on
    /// the queue path). Asks for the pool's first worker if it has none.
    pub fn add_pwq(
        &mut self,
        spec: PwqSpec,
        now: u64,
        out: &mut Actions,
    ) -> Result<PwqId, PoolError> {
        let slot = match self.free_slots.pop() {
            Some(s) => s,
            None if self.pwqs.len() < (1 << PWQ_SLOT_BITS) => {
                self.pwqs.push(None);
                self.pwqs.len() - 1
            }
            None => return Err(PoolError::NoPwqSlot(self.id)),
        };
        let id = make_pwq_id(self.id, slot);
        let cursor = self.worklist.new_cursor(u64::from(id.get()));
        self.pwqs[slot] = Some(Pwq {
            id,
            wq: spec.wq,
            wq_flags: spec.wq_flags,
            policy: spec.policy,
            nr_active: 0,
            max_active: u32::from(spec.max_active),
            inactive: WorkList::new(),
            cursor,
            nr_in_flight: [0; WORK_NR_COLORS as usize],
            work_color: 0,
            flush_color: None,
            draining: 0,
            stats: PwqStats::default(),
            incoming: std::sync::Arc::new(Incoming::new()),
            fast: false,
        });
        self.publish_stale = true;
        if self.nr_workers == 0 && !self.manager_active() {
            self.maybe_create_worker(None, now, out);
        }
        Ok(id)
    }

    /// Remove an empty pwq (its workqueue is being destroyed), free its cursor and its
    /// slot (the next [`add_pwq`](Self::add_pwq) reuses it, so the id comes back).
    pub fn remove_pwq(&mut self, id: PwqId) -> Result<(), PoolError> {
        let pwq = self.pwq(id).ok_or(PoolError::NoSuchPwq(id))?;
        if pwq.in_flight() != 0 || !pwq.inactive.is_empty() || pwq.nr_active != 0 {
            return Err(PoolError::PwqBusy(id));
        }
        if self
            .workers
            .iter()
            .any(|w| matches!(w.phase, Phase::Rescuer(v) if v.pwq == id))
        {
            return Err(PoolError::PwqBusy(id));
        }
        let slot = pwq_slot(id);
        let pwq = self.pwqs[slot].take().ok_or(PoolError::NoSuchPwq(id))?;
        self.worklist.free_cursor(pwq.cursor);
        if pwq.fast {
            self.fast_slots.retain(|&s| s != slot);
        }
        self.publish_stale = true;
        // Closed for good: a producer still holding the ring (a pwq table read before the
        // workqueue hid it) takes the lock, finds the pwq gone and is refused. Nothing is
        // in it: the lock hold that removes the pwq took it in first, and the pwq is empty.
        pwq.incoming.close(|w| {
            w.head().clear_pending();
        });
        // The slot serves the next `add_pwq`: a pool hosts at most 65536 pwqs at once, not
        // 65536 over its life. The pwq was empty, so no item's data word names it.
        self.free_slots.push(slot);
        Ok(())
    }

    /// Ids of the pwqs living on this pool.
    pub fn pwq_ids(&self) -> impl Iterator<Item = PwqId> + '_ {
        self.pwqs.iter().flatten().map(|p| p.id)
    }

    /// The workqueue a pwq belongs to.
    pub fn pwq_wq(&self, id: PwqId) -> Option<WqId> {
        self.pwq(id).map(|p| p.wq)
    }

    /// A pwq's `nr_active`.
    pub fn pwq_nr_active(&self, id: PwqId) -> u32 {
        self.pwq(id).map_or(0, |p| p.nr_active)
    }

    /// A pwq's max_active.
    pub fn pwq_max_active(&self, id: PwqId) -> u32 {
        self.pwq(id).map_or(0, |p| p.max_active)
    }

    /// Items on a pwq's inactive list.
    pub fn pwq_nr_inactive(&self, id: PwqId) -> usize {
        self.pwq(id).map_or(0, |p| p.inactive.len())
    }

    /// A pwq's items in flight (queued, inactive or running; barriers included), summed
    /// over colours.
    pub fn pwq_nr_in_flight(&self, id: PwqId) -> u32 {
        self.pwq(id).map_or(0, Pwq::in_flight)
    }

    /// Kernel `workqueue_congested` for this pwq: items wait on its inactive list (it is at
    /// max_active).
    pub fn pwq_congested(&self, id: PwqId) -> bool {
        self.pwq(id).is_some_and(|p| !p.inactive.is_empty())
    }

    /// A pwq's statistics.
    pub fn pwq_stats(&self, id: PwqId) -> PwqStats {
        self.pwq(id).map_or_else(PwqStats::default, |p| p.stats)
    }

    /// Whether a pwq's mayday cursor is on the worklist.
    pub fn pwq_cursor_linked(&self, id: PwqId) -> bool {
        self.pwq(id)
            .is_some_and(|p| self.worklist.cursor_is_linked(p.cursor))
    }

    /// Kernel `pwq_is_empty`: no active and no inactive item.
    pub fn pwq_is_empty(&self, id: PwqId) -> bool {
        self.pwq(id)
            .is_none_or(|p| p.nr_active == 0 && p.inactive.is_empty())
    }

    /// A drain of the pwq's workqueue starts (`true`: queueing from outside the workqueue
    /// is refused) or ends (`false`). Counted, so that a drain ending while another starts
    /// leaves the pwq draining.
    pub fn pwq_set_draining(&mut self, id: PwqId, draining: bool) {
        if let Some(p) = self.pwq_mut(id) {
            if draining {
                p.draining += 1;
            } else {
                p.draining = p.draining.saturating_sub(1);
            }
            self.publish_stale = true;
        }
    }

    /// Change a pwq's max_active and activate what the new limit allows.
    pub fn pwq_set_max_active(&mut self, id: PwqId, max_active: u16, now: u64, out: &mut Actions) {
        let Some(p) = self.pwq_mut(id) else { return };
        p.max_active = u32::from(max_active);
        if self.activate_inactive(id, now) {
            self.kick_pool(out);
        }
    }

    /// `flush_workqueue_prep_pwqs` for one pwq: if items of `flush_color` are in flight,
    /// remember to report [`Action::FlushColorDone`] when the last one finishes, and return
    /// true. New items get `work_color` from now on.
    pub fn pwq_flush_prep(&mut self, id: PwqId, flush_color: u8, work_color: u8) -> bool {
        let Some(p) = self.pwq_mut(id) else {
            return false;
        };
        let c = usize::from(flush_color % WORK_NR_COLORS);
        let wait = p.nr_in_flight[c] > 0;
        if wait {
            p.flush_color = Some(flush_color % WORK_NR_COLORS);
        }
        p.work_color = work_color % WORK_NR_COLORS;
        wait
    }

    // ------------------------------------------------------------------ queueing

    /// `__queue_work` under the pool lock: the caller owns PENDING (it won
    /// `test_and_set_pending`) and picked this pool's pwq. The item goes to the worklist if
    /// the pwq is under max_active (and nothing waits before it), else onto its inactive list.
    /// On refusal PENDING is cleared again and the item handed back.
    pub fn queue_work(
        &mut self,
        pwq: PwqId,
        work: WorkRef,
        from: QueueFrom,
        now: u64,
        out: &mut Actions,
    ) -> Result<(), (QueueError, WorkRef)> {
        let Some(p) = self.pwq_mut(pwq) else {
            work.head().clear_pending();
            return Err((QueueError::NoSuchPwq(pwq), work));
        };
        if p.draining > 0 && from != QueueFrom::WorkOf(p.wq) {
            let wq = p.wq;
            work.head().clear_pending();
            return Err((QueueError::Draining(wq), work));
        }
        self.enqueue(pwq, work, &mut || now, out);
        Ok(())
    }

    /// The accounting half of `__queue_work` (`insert_work` and the activation decision),
    /// for an item of `pwq` whose queueing was accepted: the flush colour and
    /// `nr_in_flight`, then the worklist (and a kick) under max_active with nothing waiting
    /// before it, else the inactive list. `now` is read only for the watchdog stamp.
    fn enqueue(
        &mut self,
        pwq: PwqId,
        work: WorkRef,
        now: &mut dyn FnMut() -> u64,
        out: &mut Actions,
    ) {
        let Some(p) = self.pwq_mut(pwq) else {
            // Only a ring can hold an item of a removed pwq, and a ring is taken in before
            // its pwq is removed: unreachable, but never lose the reference's PENDING.
            work.head().clear_pending();
            return;
        };
        let color = p.work_color;
        p.nr_in_flight[usize::from(color)] += 1;
        if p.inactive.is_empty() && p.nr_active < p.max_active {
            p.nr_active += 1;
            work.head().set_pwq(pwq, color, WorkFlags::PENDING);
            if !self.worklist.raw().has_linked_nodes() {
                self.watchdog_ts = now();
            }
            trace_activate(work.head());
            self.worklist.push_back(work);
            self.kick_pool(out);
        } else {
            work.head()
                .set_pwq(pwq, color, WorkFlags::PENDING | WorkFlags::INACTIVE);
            p.inactive.push_back(work);
        }
    }

    // ------------------------------------------------------------------ incoming rings

    /// The incoming ring of `pwq` (see `crate::incoming`): a driver that gives it to its
    /// producers in the pwq table ([`crate::PwqTable::incoming`]) lets them queue without
    /// the pool lock while the pool keeps the ring open. Such a driver calls
    /// [`absorb_incoming`](Self::absorb_incoming) first and
    /// [`publish_incoming`](Self::publish_incoming) last in every hold of the pool's lock.
    pub fn pwq_incoming(&self, pwq: PwqId) -> Option<std::sync::Arc<Incoming>> {
        self.pwq(pwq).map(|p| std::sync::Arc::clone(&p.incoming))
    }

    /// Take in, in order, the items queued on open rings since the last lock hold, and
    /// account each as `__queue_work` would have under the lock. The first step of every
    /// lock hold of a driver that hands out rings: nothing may look at the pool's lists or
    /// counts before it. `now` is read only if an item needs the watchdog stamp.
    pub fn absorb_incoming(&mut self, now: &mut dyn FnMut() -> u64, out: &mut Actions) {
        if self.fast_slots.is_empty() {
            return;
        }
        // The items go through a buffer the pool keeps (no allocation once it has grown),
        // not through a clone of the ring's Arc: its count is a cache line every worker
        // of the pool would write on every hold.
        let mut taken = std::mem::take(&mut self.absorbed);
        for k in 0..self.fast_slots.len() {
            let Some(p) = self.pwqs[self.fast_slots[k]].as_ref() else {
                continue;
            };
            p.incoming.take(|w| taken.push(w));
            let id = p.id;
            for w in taken.drain(..) {
                self.enqueue(id, w, now, out);
            }
        }
        self.absorbed = taken;
    }

    /// The last step of every lock hold of a driver that hands out rings: decide for each
    /// pwq whether queueing on it may skip the lock until the next hold. It may when no
    /// drain is in progress and a queueing would wake nobody while a later hold is sure
    /// to come: a concurrency-managed worker is running (`nr_running`: it reports back, or
    /// its sleep hook or the cpu-intensive tick takes the lock), no worker is idle (the
    /// busy, woken or managing ones take the lock again), or the pwq is at max_active (the
    /// item would wait on the inactive list for a completion, which takes the lock). A
    /// ring that must close is closed here, and what slipped in before is accounted now,
    /// with the wake-up `kick_pool` decides: no queueing is left unseen by a worker.
    pub fn publish_incoming(&mut self, now: &mut dyn FnMut() -> u64, out: &mut Actions) {
        let pool_busy = self.nr_running > 0 || self.idle.is_empty();
        // Busy then and now, with no pwq added, removed or draining differently: every
        // ring is already as this hold would decide it (open unless draining), so a flood's
        // holds do not walk the pwqs.
        if pool_busy && self.published_busy && !self.publish_stale {
            return;
        }
        self.published_busy = pool_busy;
        self.publish_stale = false;
        for slot in 0..self.pwqs.len() {
            let Some(p) = self.pwqs[slot].as_mut() else {
                continue;
            };
            let open = p.draining == 0 && (pool_busy || p.nr_active >= p.max_active);
            if open == p.fast {
                continue;
            }
            p.fast = open;
            if open {
                self.fast_slots.push(slot);
                p.incoming.open();
            } else {
                self.fast_slots.retain(|&s| s != slot);
                let (id, ring) = (p.id, std::sync::Arc::clone(&p.incoming));
                ring.close(|w| self.enqueue(id, w, now, out));
            }
        }
    }

    /// Non-reentrancy (`find_worker_executing_work`): if a worker of this pool runs `work`
    /// for workqueue `wq`, the pwq it runs it for; queueing should go there.
    pub fn find_executing_pwq(&self, work: &WorkHead, wq: WqId) -> Option<PwqId> {
        let i = self.busy_find(work as *const WorkHead as usize)?;
        let pwq = self.workers[i].current_pwq()?;
        (self.pwq(pwq)?.wq == wq).then_some(pwq)
    }

    /// The worker of this pool running `work`, if any.
    pub fn is_executing(&self, work: &WorkHead) -> Option<WorkerId> {
        self.busy_find(work as *const WorkHead as usize)
            .map(|i| self.workers[i].id)
    }

    /// Activate inactive items of `pwq` while it is under max_active. True if any moved.
    pub(super) fn activate_inactive(&mut self, pwq: PwqId, now: u64) -> bool {
        let slot = pwq_slot(pwq);
        let mut moved = false;
        loop {
            let Some(Some(p)) = self.pwqs.get_mut(slot) else {
                return moved;
            };
            if p.nr_active >= p.max_active {
                return moved;
            }
            let Some(front) = p.inactive.front().map(NonNull::from) else {
                return moved;
            };
            p.nr_active += 1;
            if !self.worklist.raw().has_linked_nodes() {
                self.watchdog_ts = now;
            }
            // SAFETY: front is the first element of p.inactive.
            let first = unsafe { lists::head(front) };
            first.set_inactive(false);
            trace_activate(first);
            // SAFETY: front is an element of p.inactive.
            unsafe { lists::move_linked(&mut p.inactive, &mut self.worklist, front, |_| {}) };
            moved = true;
        }
    }
}
