//! Finding a pending item on the pool's lists: `insert_wq_barrier` (flush_work) and
//! `try_to_grab_pending` (cancel, disable).

#[allow(unused_imports)]
use super::*;

impl Pool {
    // ------------------------------------------------------------------ flush / cancel

    /// Find the list of this pool holding `target` (a pending item of `pwq`).
    pub(super) fn locate(&self, target: &WorkHead, pwq: PwqId) -> Option<Loc> {
        if let Some(p) = self.pwq(pwq) {
            if lists::flags(target).contains(WorkFlags::INACTIVE) && p.inactive.contains(target) {
                return Some(Loc::Inactive);
            }
        }
        for (i, w) in self.workers.iter().enumerate() {
            if w.scheduled.contains(target) {
                return Some(Loc::Scheduled(i));
            }
        }
        if self.worklist.contains(target) {
            return Some(Loc::Worklist);
        }
        None
    }

    pub(super) fn list_mut(&mut self, loc: Loc, pwq: PwqId) -> &mut WorkList {
        match loc {
            Loc::Worklist => &mut self.worklist,
            Loc::Scheduled(i) => &mut self.workers[i].scheduled,
            Loc::Inactive => {
                &mut self.pwqs[pwq_slot(pwq)]
                    .as_mut()
                    .expect("located on it")
                    .inactive
            }
        }
    }

    /// `insert_wq_barrier`: queue `barrier` (a fresh item whose `barrier_task()` is Some)
    /// LINKED right behind `target` if it is pending on this pool, or at the head of the
    /// scheduled list of the worker running it. The barrier counts in its pwq's flush colour
    /// but not in nr_active. `Err(barrier)`: nothing to wait for (drop it).
    pub fn insert_barrier(
        &mut self,
        target: &WorkHead,
        barrier: WorkRef,
        _now: u64,
        _out: &mut Actions,
    ) -> Result<(), WorkRef> {
        if !matches!(barrier.head().test_and_set_pending(), Ok(true)) {
            return Err(barrier);
        }
        let tflags = lists::flags(target);
        if let Some(pwq) = target.pwq().filter(|&p| pool_of(p) == self.id) {
            if tflags.contains(WorkFlags::PENDING) {
                if let Some(loc) = self.locate(target, pwq) {
                    let color = target.color();
                    let inherit = tflags & WorkFlags::LINKED;
                    barrier.head().set_pwq(
                        pwq,
                        color,
                        WorkFlags::PENDING | WorkFlags::INACTIVE | inherit,
                    );
                    target.set_flags(WorkFlags::LINKED);
                    let pos = NonNull::from(target);
                    let list = self.list_mut(loc, pwq);
                    // SAFETY: locate found target on this list.
                    unsafe { list.insert_after(lists::head(pos), barrier) };
                    if let Some(p) = self.pwq_mut(pwq) {
                        p.nr_in_flight[usize::from(color % WORK_NR_COLORS)] += 1;
                    }
                    return Ok(());
                }
            }
        }
        if let Some(i) = self.busy_find(target as *const WorkHead as usize) {
            let cur = self.workers[i]
                .current
                .expect("busy workers have a current item");
            barrier
                .head()
                .set_pwq(cur.pwq, cur.color, WorkFlags::PENDING | WorkFlags::INACTIVE);
            self.workers[i].scheduled.push_front(barrier);
            if let Some(p) = self.pwq_mut(cur.pwq) {
                p.nr_in_flight[usize::from(cur.color % WORK_NR_COLORS)] += 1;
            }
            return Ok(());
        }
        barrier.head().clear_pending();
        Err(barrier)
    }

    /// `try_to_grab_pending` under this pool's lock: take a pending item off the worklist,
    /// an inactive list or a scheduled list. Barriers cannot be grabbed.
    pub fn try_grab_pending(&mut self, work: &WorkHead, now: u64, out: &mut Actions) -> Grab {
        let Some(pwq) = work.pwq().filter(|&p| pool_of(p) == self.id) else {
            return Grab::NotHere;
        };
        if lists::is_barrier(work) || !lists::flags(work).contains(WorkFlags::PENDING) {
            return Grab::NotHere;
        }
        let Some(loc) = self.locate(work, pwq) else {
            return Grab::NotHere;
        };
        let color = work.color();
        let pos = NonNull::from(work);
        let w = if loc == Loc::Inactive {
            // Kernel try_to_grab_pending: the flush barriers LINKED behind an inactive item
            // must not stay on the inactive list (activation would count them in nr_active
            // and make their flushers wait for a max_active slot): the item and its chain
            // go to the worklist tail, then the item alone is taken off it.
            let Self { pwqs, worklist, .. } = &mut *self;
            let p = pwqs[pwq_slot(pwq)].as_mut().expect("located on it");
            // SAFETY: locate found work on p.inactive.
            unsafe { lists::move_linked(&mut p.inactive, worklist, pos, |_| {}) };
            // SAFETY: move_linked just put work on the worklist.
            unsafe { lists::take(worklist, pos) }
        } else {
            let list = self.list_mut(loc, pwq);
            // SAFETY: locate found work on this list.
            unsafe { lists::take(list, pos) }
        };
        w.head().set_pool_keep_pending(self.id);
        let activated = self.pwq_dec_nr_in_flight(pwq, color, loc != Loc::Inactive, now, out);
        // No worker loop follows a grab: an item it activated, or the moved barriers,
        // may be all the worklist holds now.
        if activated || loc == Loc::Inactive {
            self.kick_pool(out);
        }
        Grab::Grabbed(w)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Loc {
    Worklist,
    Inactive,
    Scheduled(usize),
}
