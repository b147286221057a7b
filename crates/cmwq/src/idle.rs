//! The hand-off of a wake between an unbound pool's idle workers that still wait on CPUs
//! (per-CPU pools do not hand off: their workers share one CPU, see
//! `WorkerShared::park_idle`).
//!
//! The core's `WakeWorker { pool, worker }` asks for an idle worker of `pool` to come to
//! `next_work`; it names the pool's most recently idle one (the kernel's `kick_pool`).
//! Any idle worker does what the named one would (leave idle, take the work), and one
//! that is still spinning or yielding on its CPU comes at once, where the named one may be
//! asleep in `futex_wait` or runnable behind the very producer that woke it. So when
//! others of the pool wait on their CPUs, the runtime hands the wake to them: it sets the
//! pool's kick, and the first waiting worker to see it takes it.
//!
//! The protocol, and why a wake cannot be lost:
//! - a waiting worker is counted in `waiting` ([`IdleWaiters::enter`]) while it spins or
//!   yields, and leaves the count *before* it looks at the kick a last time
//!   ([`IdleWaiters::take`], [`IdleWaiters::leave`]);
//! - a waker sets the kick *before* it reads `waiting` ([`IdleWaiters::hand_off`]); on
//!   both sides a `SeqCst` fence separates the two (Dekker's pattern). Of the two fences
//!   one comes first in their single total order: if the waker's, the worker's last look
//!   sees the kick; if the worker's, the waker sees it gone from the count. So if the
//!   waker finds a worker counted, that worker takes the kick, unless another took it
//!   first (and that one comes to `next_work`); if it finds none, the hand-off fails and
//!   the waker wakes the named worker itself.
//!
//! Two kicks before a worker takes one fold into one `next_work`, as two wake-ups of a
//! running task do in the kernel: the core wakes another worker from there if the pool
//! needs one (`process_one_work`'s chain kick, or the next queueing). A kick left set
//! when the hand-off failed is taken later by a waiting worker for nothing: it finds
//! `next_work` idle again. The loom model below checks the protocol.

use crate::sync::{AtomicBool, AtomicU32, Ordering, fence};

/// A pool's idle workers waiting on their CPUs, and the wake handed to them.
#[derive(Debug, Default)]
pub(crate) struct IdleWaiters {
    /// Idle workers counted as waiting (spinning or yielding, not parked).
    waiting: AtomicU32,
    /// A wake handed to the waiting workers, not yet taken.
    kick: AtomicBool,
}

impl IdleWaiters {
    /// The calling worker starts waiting on its CPU.
    pub(crate) fn enter(&self) {
        self.waiting.fetch_add(1, Ordering::Relaxed);
    }

    /// Whether a kick may be waiting (a cheap look for the spin loop).
    pub(crate) fn kicked(&self) -> bool {
        self.kick.load(Ordering::Relaxed)
    }

    /// A waiting worker takes the kick. Taken: it has left the count and must come to
    /// `next_work`. Not taken: it is counted again and goes on waiting.
    pub(crate) fn take(&self) -> bool {
        self.waiting.fetch_sub(1, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        if self.kick.swap(false, Ordering::AcqRel) {
            return true;
        }
        self.waiting.fetch_add(1, Ordering::Relaxed);
        false
    }

    /// A waiting worker stops waiting (its own token came, or its wait ended): it leaves
    /// the count, then takes a kick handed to the waiting workers meanwhile. `true`: it
    /// took one and must come to `next_work` (with a token as well, the two fold into
    /// that one call).
    pub(crate) fn leave(&self) -> bool {
        self.waiting.fetch_sub(1, Ordering::Relaxed);
        fence(Ordering::SeqCst);
        self.kick.load(Ordering::Relaxed) && self.kick.swap(false, Ordering::AcqRel)
    }

    /// A waker hands a wake to the waiting workers. `false`: none waits, and the waker
    /// must wake the worker the core named.
    pub(crate) fn hand_off(&self) -> bool {
        if self.waiting.load(Ordering::Relaxed) == 0 {
            return false;
        }
        // An RMW, so that a worker taking the kick synchronises with every waker whose
        // kick it takes (a plain store would end the release sequence of an earlier one):
        // it then sees each of their queueings under the pool lock.
        self.kick.swap(true, Ordering::AcqRel);
        fence(Ordering::SeqCst);
        self.waiting.load(Ordering::Relaxed) > 0
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::IdleWaiters;

    #[test]
    fn with_nobody_waiting_the_waker_wakes_the_named_worker() {
        let w = IdleWaiters::default();
        assert!(!w.hand_off());
        assert!(!w.kicked(), "no kick is left behind for nobody");
    }

    #[test]
    fn a_waiting_worker_takes_a_handed_off_wake_once() {
        let w = IdleWaiters::default();
        w.enter();
        assert!(w.hand_off());
        assert!(w.kicked());
        assert!(w.take());
        assert!(!w.kicked());
        // It has left the count: the next wake goes to the named worker.
        assert!(!w.hand_off());
    }

    #[test]
    fn a_kick_not_there_leaves_the_worker_waiting() {
        let w = IdleWaiters::default();
        w.enter();
        assert!(!w.take());
        assert!(
            w.hand_off(),
            "still counted after a take that found nothing"
        );
        assert!(w.leave(), "leaving, it takes the kick handed off meanwhile");
    }

    #[test]
    fn two_wakes_before_a_take_fold_into_one() {
        let w = IdleWaiters::default();
        w.enter();
        w.enter();
        assert!(w.hand_off());
        assert!(w.hand_off());
        assert!(w.take());
        assert!(!w.leave(), "the second waiter finds the folded kick taken");
    }
}

#[cfg(all(test, loom))]
mod loom_model {
    use super::IdleWaiters;
    use loom::sync::Arc;
    use loom::sync::atomic::{AtomicBool, AtomicU32, Ordering};

    /// One waker, `waiters` waiting workers that each look at the kick once while waiting
    /// and then leave: a wake handed off is always taken by one of them, or the waker
    /// wakes the named worker itself. `queued` stands for the work the waker queued under
    /// the pool lock before its hand-off: whoever takes the kick sees it.
    fn model(waiters: usize, preemptions: Option<usize>) {
        let mut builder = loom::model::Builder::new();
        builder.preemption_bound = preemptions;
        builder.check(move || {
            let w = Arc::new(IdleWaiters::default());
            let queued = Arc::new(AtomicBool::new(false));
            let taken = Arc::new(AtomicU32::new(0));
            // The waiters are counted before the waker runs or while it runs.
            let handles: Vec<_> = (0..waiters)
                .map(|_| {
                    let (w, queued, taken) = (w.clone(), queued.clone(), taken.clone());
                    loom::thread::spawn(move || {
                        w.enter();
                        let got = (w.kicked() && w.take()) || w.leave();
                        if got {
                            assert!(
                                queued.load(Ordering::Relaxed),
                                "a kick taken before its work"
                            );
                            taken.fetch_add(1, Ordering::Relaxed);
                        }
                    })
                })
                .collect();
            queued.store(true, Ordering::Relaxed);
            let handed = w.hand_off();
            for h in handles {
                h.join().unwrap();
            }
            if handed {
                assert_eq!(
                    taken.load(Ordering::Relaxed),
                    1,
                    "a wake handed off was lost"
                );
            }
        });
    }

    #[test]
    fn a_handed_off_wake_is_taken_with_one_waiter() {
        model(1, None);
    }

    #[test]
    fn a_handed_off_wake_is_taken_once_with_two_waiters() {
        model(2, Some(5));
    }
}
