//! The manager's part: `kick_pool`, worker creation (`maybe_create_worker`, answers to
//! `CreateWorker`, the cooldown), the mayday timer, idle workers and their culling.

#[allow(unused_imports)]
use super::*;

impl Pool {
    // ------------------------------------------------------------------ kick / create

    /// `kick_pool`: wake the most recently idle worker if the pool needs one. Returns
    /// whether a worker was woken. With no idle worker it does nothing, as in the kernel:
    /// a worker never starts working without leaving an idle worker or a manager behind
    /// (`next_work`), so whoever is idle or managing takes care of the pool.
    pub(super) fn kick_pool(&mut self, out: &mut Actions) -> bool {
        if !self.need_more_worker() {
            return false;
        }
        match self.idle.last() {
            Some(&w) => {
                out.push(Action::WakeWorker {
                    pool: self.id,
                    worker: w,
                });
                true
            }
            None => false,
        }
    }

    /// Start `maybe_create_worker`: POOL_MANAGER_ACTIVE, the mayday timer at
    /// MAYDAY_INITIAL_TIMEOUT, and a CreateWorker request.
    pub(super) fn maybe_create_worker(
        &mut self,
        manager: Option<WorkerId>,
        now: u64,
        out: &mut Actions,
    ) {
        self.flags |= PoolFlags::MANAGER_ACTIVE;
        self.manager = manager;
        self.create = CreateState::Requested;
        let at = now + self.timings.mayday_initial_timeout;
        self.mayday_at = Some(at);
        out.push(Action::ArmMaydayTimer { pool: self.id, at });
        out.push(Action::CreateWorker { pool: self.id });
    }

    pub(super) fn end_creation(&mut self, out: &mut Actions) {
        self.flags.remove(PoolFlags::MANAGER_ACTIVE);
        self.create = CreateState::Idle;
        self.mayday_at = None;
        if let Some(m) = self.manager.take() {
            if let Some(&i) = self.windex.get(&m) {
                if self.workers[i].phase == Phase::Managing {
                    self.workers[i].phase = Phase::Woken;
                    out.push(Action::WakeWorker {
                        pool: self.id,
                        worker: m,
                    });
                }
            }
        }
    }

    /// A worker was created for this pool (answer to [`Action::CreateWorker`]). It starts
    /// idle; it is woken if the pool needs it.
    pub fn worker_created(&mut self, id: WorkerId, now: u64, out: &mut Actions) {
        if self.windex.contains_key(&id) {
            return;
        }
        let mut flags = WorkerFlags::PREP;
        // worker_attach_to_pool: a worker of a disassociated pool is WORKER_UNBOUND.
        if self.flags.contains(PoolFlags::DISASSOCIATED) {
            flags |= WorkerFlags::UNBOUND;
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.windex.insert(id, self.workers.len());
        self.workers.push(Worker {
            id,
            seq,
            flags,
            phase: Phase::Woken,
            sleeping: false,
            scheduled: WorkList::new(),
            current: None,
            current_func: String::new(),
            last_active: now,
            batch_start: false,
            busy_next: busy::NIL,
        });
        self.nr_workers += 1;
        let i = self.workers.len() - 1;
        self.enter_idle(i, now, out);
        tracing::debug!(target: "workqueue", pool = self.id.0, worker = id.0,
            nr_workers = self.nr_workers, nr_idle = self.nr_idle(), "workqueue_worker_create");
        if self.create != CreateState::Idle {
            self.end_creation(out);
        }
        self.kick_pool(out);
    }

    /// Creating a worker failed: cool down for CREATE_COOLDOWN, then retry if still needed.
    /// The manager stays active and the mayday timer keeps running.
    pub fn worker_create_failed(&mut self, now: u64, out: &mut Actions) {
        if self.create != CreateState::Requested {
            return;
        }
        let until = now + self.timings.create_cooldown;
        self.create = CreateState::Cooldown { until };
        out.push(Action::ArmCreateRetry {
            pool: self.id,
            at: until,
        });
    }

    /// The creation cooldown is over: ask again if a worker is still needed, else stop
    /// managing. Ignored if no cooldown is due.
    pub fn create_retry_timeout(&mut self, now: u64, out: &mut Actions) {
        let CreateState::Cooldown { until } = self.create else {
            return;
        };
        if now < until {
            return;
        }
        if self.need_to_create_worker() || self.nr_workers == 0 {
            self.create = CreateState::Requested;
            out.push(Action::CreateWorker { pool: self.id });
        } else {
            self.end_creation(out);
        }
    }

    /// `pool_mayday_timeout`: while the pool still needs to create a worker, send a mayday
    /// for the pwq of every item on the worklist; re-arm for MAYDAY_INTERVAL. Ignored unless
    /// the timer is armed and due.
    pub fn mayday_timeout(&mut self, now: u64, sink: &mut dyn MaydaySink, out: &mut Actions) {
        match self.mayday_at {
            Some(at) if now >= at => {}
            _ => return,
        }
        if self.need_to_create_worker() {
            let Self { worklist, pwqs, .. } = self;
            for e in worklist.iter() {
                let Entry::Elem(h) = e else { continue };
                let Some(id) = h.pwq() else { continue };
                let Some(Some(p)) = pwqs.get_mut(pwq_slot(id)) else {
                    continue;
                };
                if !p.wq_flags.contains(WqFlags::MEM_RECLAIM) {
                    continue;
                }
                if sink.send_mayday(p.wq, id) {
                    // No kernel tracepoint: named in the kernel's style (send_mayday()).
                    tracing::debug!(target: "workqueue", pool = self.id.0, pwq = id.get(),
                        workqueue = p.wq.0, "workqueue_send_mayday");
                    p.stats.mayday += 1;
                    out.push(Action::WakeRescuer { wq: p.wq });
                }
            }
        }
        let at = now + self.timings.mayday_interval;
        self.mayday_at = Some(at);
        out.push(Action::ArmMaydayTimer { pool: self.id, at });
    }

    // ------------------------------------------------------------------ idle

    pub(super) fn enter_idle(&mut self, i: usize, now: u64, out: &mut Actions) {
        let w = &mut self.workers[i];
        w.flags |= WorkerFlags::IDLE;
        w.phase = Phase::Idle;
        w.last_active = now;
        self.idle.push(w.id);
        if self.too_many_workers() && self.idle_at.is_none() {
            let at = now + self.timings.idle_worker_timeout;
            self.idle_at = Some(at);
            out.push(Action::ArmIdleTimer { pool: self.id, at });
        }
    }

    pub(super) fn leave_idle(&mut self, i: usize) {
        let w = &mut self.workers[i];
        w.flags.remove(WorkerFlags::IDLE);
        let id = w.id;
        if let Some(pos) = self.idle.iter().rposition(|&x| x == id) {
            self.idle.remove(pos);
        }
    }

    /// `idle_worker_timeout`: cull the least recently idle workers while there are too many
    /// and they have been idle for IDLE_WORKER_TIMEOUT. Ignored unless armed and due.
    pub fn idle_timeout(&mut self, now: u64, out: &mut Actions) {
        match self.idle_at {
            Some(at) if now >= at => {}
            _ => return,
        }
        self.idle_at = None;
        while self.too_many_workers() {
            let Some(&oldest) = self.idle.first() else {
                break;
            };
            let i = self.windex[&oldest];
            let expires = self.workers[i].last_active + self.timings.idle_worker_timeout;
            if now < expires {
                self.idle_at = Some(expires);
                out.push(Action::ArmIdleTimer {
                    pool: self.id,
                    at: expires,
                });
                break;
            }
            self.idle.remove(0);
            self.remove_worker(oldest);
            self.nr_workers -= 1;
            tracing::debug!(target: "workqueue", pool = self.id.0, worker = oldest.0,
                nr_workers = self.nr_workers, nr_idle = self.nr_idle(),
                "workqueue_worker_destroy");
            out.push(Action::StopWorker {
                pool: self.id,
                worker: oldest,
            });
        }
    }

    pub(super) fn remove_worker(&mut self, id: WorkerId) -> Option<Worker> {
        let i = self.windex.remove(&id)?;
        if let Some(c) = self.workers[i].current {
            self.busy_del(i, c.addr);
        }
        let last = self.workers.len() - 1;
        let w = self.workers.swap_remove(i);
        if i < self.workers.len() {
            let moved = self.workers[i].id;
            self.windex.insert(moved, i);
            self.busy_moved(last, i);
        }
        Some(w)
    }
}
