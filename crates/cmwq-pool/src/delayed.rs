//! Delayed work's timer state (the kernel's `delayed_work.timer`, kept here instead of in
//! the item): which items wait on their delay, until when, for which workqueue and CPU.
//! One lock guards it (the kernel's timer base lock), never nested with a pool or
//! workqueue lock. The operations that use it are in [`crate::ops`]: `queue_delayed_work`,
//! `mod_delayed_work`, `delayed_timeout` (the timer's expiry), cancel and flush.

use std::collections::{BTreeSet, HashMap};

use cmwq_work::{WorkHead, WorkRef};

use crate::types::{QueueFrom, WqId};

/// An item waiting on its delay timer. It owns PENDING and the queue reference.
#[derive(Debug)]
struct Armed {
    work: WorkRef,
    wq: WqId,
    cpu: Option<u32>,
    from: QueueFrom,
    at: u64,
    seq: u64,
}

/// An item whose delay expired, to be queued (`delayed_work_timer_fn`).
#[derive(Debug)]
pub(crate) struct Expired {
    pub(crate) work: WorkRef,
    pub(crate) wq: WqId,
    pub(crate) cpu: Option<u32>,
    pub(crate) from: QueueFrom,
}

/// Every delayed item waiting on its timer, by item and by deadline.
#[derive(Debug, Default)]
pub struct DelayedTimers {
    items: HashMap<usize, Armed>,
    by_deadline: BTreeSet<(u64, u64, usize)>,
    seq: u64,
    /// The deadline the driver was last asked to call back at (`ArmDelayedTimer`).
    armed_at: Option<u64>,
}

fn addr(h: &WorkHead) -> usize {
    std::ptr::from_ref(h).addr()
}

impl DelayedTimers {
    /// No item waiting.
    pub fn new() -> Self {
        Self::default()
    }

    /// Items waiting on their timer.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether none waits.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Whether `work` waits on its timer.
    pub fn is_armed(&self, work: &WorkHead) -> bool {
        self.items.contains_key(&addr(work))
    }

    /// The deadline of `work`'s timer, if it waits on one.
    pub fn deadline(&self, work: &WorkHead) -> Option<u64> {
        self.items.get(&addr(work)).map(|a| a.at)
    }

    /// The earliest deadline.
    pub fn next_deadline(&self) -> Option<u64> {
        self.by_deadline.first().map(|&(at, ..)| at)
    }

    /// Arm `work`'s timer (its PENDING owned by the caller). Returns the deadline the
    /// driver must be asked to call back at, if that is earlier than the one it has.
    pub(crate) fn arm(
        &mut self,
        work: WorkRef,
        wq: WqId,
        cpu: Option<u32>,
        from: QueueFrom,
        at: u64,
    ) -> Option<u64> {
        let a = work.addr();
        let seq = self.seq;
        self.seq += 1;
        if let Some(old) = self.items.remove(&a) {
            self.by_deadline.remove(&(old.at, old.seq, a));
        }
        self.by_deadline.insert((at, seq, a));
        self.items.insert(
            a,
            Armed {
                work,
                wq,
                cpu,
                from,
                at,
                seq,
            },
        );
        self.want_callback(at)
    }

    fn want_callback(&mut self, at: u64) -> Option<u64> {
        if self.armed_at.is_some_and(|t| t <= at) {
            return None;
        }
        self.armed_at = Some(at);
        Some(at)
    }

    /// `del_timer` for a delayed item: take it off its timer (the caller then owns PENDING
    /// and the returned reference).
    pub(crate) fn steal(&mut self, work: &WorkHead) -> Option<WorkRef> {
        let a = addr(work);
        let armed = self.items.remove(&a)?;
        self.by_deadline.remove(&(armed.at, armed.seq, a));
        Some(armed.work)
    }

    /// Take `work` off its timer as if it expired now (`flush_delayed_work`).
    pub(crate) fn take_expiring(&mut self, work: &WorkHead) -> Option<Expired> {
        let a = addr(work);
        let armed = self.items.remove(&a)?;
        self.by_deadline.remove(&(armed.at, armed.seq, a));
        Some(Expired {
            work: armed.work,
            wq: armed.wq,
            cpu: armed.cpu,
            from: armed.from,
        })
    }

    /// The timer callback ran at `now`: the next item whose deadline passed, if any.
    pub(crate) fn pop_expired(&mut self, now: u64) -> Option<Expired> {
        let &(at, seq, a) = self.by_deadline.first()?;
        if at > now {
            return None;
        }
        self.by_deadline.remove(&(at, seq, a));
        let armed = self.items.remove(&a)?;
        Some(Expired {
            work: armed.work,
            wq: armed.wq,
            cpu: armed.cpu,
            from: armed.from,
        })
    }

    /// After expiry: the deadline to be called back at next, if any item still waits.
    pub(crate) fn rearm_after_expiry(&mut self) -> Option<u64> {
        self.armed_at = None;
        let at = self.next_deadline()?;
        self.want_callback(at)
    }

    /// Take every item of workqueue `wq` off its timer, earliest deadline first (the
    /// workqueue is being destroyed: they are queued at once).
    pub(crate) fn take_wq(&mut self, wq: WqId) -> Vec<Expired> {
        let mine: Vec<(u64, u64, usize)> = self
            .by_deadline
            .iter()
            .filter(|(_, _, a)| self.items.get(a).is_some_and(|x| x.wq == wq))
            .copied()
            .collect();
        mine.into_iter()
            .filter_map(|k| {
                self.by_deadline.remove(&k);
                let armed = self.items.remove(&k.2)?;
                Some(Expired {
                    work: armed.work,
                    wq: armed.wq,
                    cpu: armed.cpu,
                    from: armed.from,
                })
            })
            .collect()
    }

    /// Take every waiting item off its timer (the runtime shuts down): the caller clears
    /// their PENDING and drops the references.
    pub fn take_all(&mut self) -> Vec<WorkRef> {
        self.by_deadline.clear();
        self.armed_at = None;
        self.items.drain().map(|(_, a)| a.work).collect()
    }
}
