//! A pwq's incoming ring: queueings that need no decision now, taken without the pool lock.
//!
//! `__queue_work` under the pool lock does two things: it accounts the item (flush colour,
//! `nr_in_flight`, `nr_active` or the inactive list, the watchdog stamp) and it decides
//! whether to wake a worker (`kick_pool`). When the pool knows that a queueing on one of its
//! pwqs would wake nobody (a concurrency-managed worker is running, no worker is idle, or
//! the pwq is at max_active so the item would wait on the inactive list) and that one of
//! its lock holds is sure to come (the running or busy workers report back), the
//! accounting can wait for that hold: the producer puts the item, PENDING already owned, in
//! the pwq's ring with one compare-exchange, and the pool takes the ring in, in order,
//! first thing in every lock hold ([`crate::Pool::absorb_incoming`]), before anything
//! looks at its lists or counts. So every flush, cancel, drain, dump or rescuer sees the
//! item accounted exactly as if it had been queued under the lock.
//!
//! Whether the ring is open is one bit (`SLOW`) in the same word as the ring's tail, so a
//! producer's reservation and the pool's closing are ordered by that one word: a
//! reservation made before the close is taken by the close (and accounted, with the wake
//! decision, by the hold that closed it), one after it fails and takes the pool lock
//! instead. The pool re-decides at the end of every lock hold
//! ([`crate::Pool::publish_incoming`]): a worker about to go idle closes the ring before
//! it leaves the lock, and an item that slipped in meanwhile is accounted and wakes a
//! worker there. No wake-up is lost.
//!
//! The ring is bounded (allocated once, with the pwq): a producer that finds it full takes
//! the lock, so queueing never allocates. The one wait in it is the pool's, for a
//! producer between its reservation and the store of its item (a few instructions, unless
//! that thread was preempted there): the pool spins, yielding now and then, as a reader
//! of crossbeam's bounded queue does.

use std::ptr::{self, NonNull};

use cmwq_work::raw::{WorkHeadRaw, from_raw_head, into_raw_head};
use cmwq_work::{WorkHead, WorkRef};

use crate::sync::{AtomicPtr, AtomicU32, AtomicU64, Ordering, spin_loop, yield_now};

/// Slots of a ring (a power of two).
#[cfg(not(loom))]
pub const INCOMING_CAP: u32 = 1024;
/// Slots of a ring under the loom model: two, so that a model reaches a full ring.
#[cfg(loom)]
pub const INCOMING_CAP: u32 = 2;

/// The state word's bit saying that producers must take the pool lock.
const SLOW: u64 = 1 << 63;
/// The state word's tail: items reserved so far, wrapping.
const TAIL: u64 = u32::MAX as u64;

/// Keeps the producers' word and the consumer's word on cache lines of their own.
#[repr(align(128))]
#[derive(Debug)]
struct Line<T>(T);

/// The lock-free incoming ring of one pwq. See the module docs.
#[derive(Debug)]
pub struct Incoming {
    /// `SLOW` and the tail (see the constants). Producers reserve a slot by bumping the
    /// tail in a compare-exchange that fails once `SLOW` is set.
    state: Line<AtomicU64>,
    /// The next slot the pool takes (written only under the pool lock).
    head: Line<AtomicU32>,
    /// Reserved slots hold the item's head pointer (carrying its reference) once the
    /// producer has written it; null otherwise.
    slots: Box<[AtomicPtr<WorkHead>]>,
}

impl Default for Incoming {
    fn default() -> Self {
        Self::new()
    }
}

impl Incoming {
    /// An empty ring, closed (producers take the lock until the pool opens it).
    pub fn new() -> Self {
        Incoming {
            state: Line(AtomicU64::new(SLOW)),
            head: Line(AtomicU32::new(0)),
            slots: (0..INCOMING_CAP)
                .map(|_| AtomicPtr::new(ptr::null_mut()))
                .collect(),
        }
    }

    /// Whether producers may put items here now (a hint: the pool may close it at once).
    pub fn is_open(&self) -> bool {
        self.state.0.load(Ordering::Relaxed) & SLOW == 0
    }

    /// Put `work` (its PENDING owned by the caller) in the ring, or hand it back if the ring
    /// is closed or full: the caller then queues it under the pool lock.
    pub(crate) fn push(&self, work: WorkRef) -> Result<(), WorkRef> {
        let mut s = self.state.0.load(Ordering::Relaxed);
        loop {
            if s & SLOW != 0 {
                return Err(work);
            }
            let tail = (s & TAIL) as u32;
            // Acquire: the slot we are about to fill was emptied before the head passed it.
            if tail.wrapping_sub(self.head.0.load(Ordering::Acquire)) >= INCOMING_CAP {
                return Err(work);
            }
            let next = (s & !TAIL) | u64::from(tail.wrapping_add(1));
            // AcqRel: the reservation is ordered with the pool's close on this one word.
            match self
                .state
                .0
                .compare_exchange(s, next, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => {
                    let p = into_raw_head(work);
                    // Release: the pool's Acquire swap sees the item's data word as written.
                    self.slots[(tail % INCOMING_CAP) as usize].store(p.as_ptr(), Ordering::Release);
                    return Ok(());
                }
                Err(now) => s = now,
            }
        }
    }

    /// Take every item reserved before this call, in order (under the pool lock).
    pub(crate) fn take(&self, f: impl FnMut(WorkRef)) {
        let tail = (self.state.0.load(Ordering::Acquire) & TAIL) as u32;
        self.take_until(tail, f);
    }

    /// Close the ring and take every item reserved before the close, in order (under the
    /// pool lock). Later pushes fail until [`open`](Self::open).
    pub(crate) fn close(&self, f: impl FnMut(WorkRef)) {
        let s = self.state.0.fetch_or(SLOW, Ordering::AcqRel);
        self.take_until((s & TAIL) as u32, f);
    }

    /// Let producers put items in the ring again (under the pool lock).
    pub(crate) fn open(&self) {
        self.state.0.fetch_and(!SLOW, Ordering::AcqRel);
    }

    fn take_until(&self, tail: u32, mut f: impl FnMut(WorkRef)) {
        let mut h = self.head.0.load(Ordering::Relaxed);
        let mut spins = 0u32;
        while h != tail {
            let slot = &self.slots[(h % INCOMING_CAP) as usize];
            // A producer between its reservation and its store: a few instructions, unless
            // it was preempted there, so spin, and let it run if that takes long.
            // Acquire: the item's data word as its producer wrote it.
            let Some(p) = NonNull::new(slot.load(Ordering::Acquire)) else {
                spins += 1;
                if spins % 64 == 0 || cfg!(loom) {
                    yield_now();
                } else {
                    spin_loop();
                }
                continue;
            };
            // Only the pool (under its lock) empties a slot, and a producer fills it again
            // only after it sees the head pass it (the Release store below), so a plain
            // store suffices.
            slot.store(ptr::null_mut(), Ordering::Relaxed);
            h = h.wrapping_add(1);
            // SAFETY: every non-null slot holds a pointer `push` got from `into_raw_head`,
            // and it was emptied above before the head passes it (no producer refills it
            // until then), so it is turned back exactly once.
            f(unsafe { from_raw_head(p) });
        }
        // Once per batch, not per item: every producer reads this line on each push.
        // Release: the slots emptied above are seen empty by a producer that sees the head.
        self.head.0.store(h, Ordering::Release);
    }
}

impl Drop for Incoming {
    /// Items still in the ring of a pool that goes away are released as the pool's lists
    /// release theirs: PENDING cleared, the reference dropped.
    fn drop(&mut self) {
        self.close(|w| w.head().clear_pending());
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use cmwq_work::raw::WorkHeadRaw;
    use cmwq_work::{Work, WorkItem, WorkRef, impl_has_work};

    use super::{INCOMING_CAP, Incoming};

    /// The ring's test item (its data word is loom's under `cfg(loom)`, so the loom model
    /// uses it too).
    pub(super) struct Job {
        work: Work<Self>,
        n: usize,
    }
    impl_has_work!(Job { work });
    impl WorkItem for Job {
        fn run(_this: Arc<Self>) {}
    }

    /// A `Job` numbered `n`, PENDING taken (as a producer holds it when it pushes).
    pub(super) fn job(n: usize) -> WorkRef {
        let j = Arc::new(Job {
            work: Work::new(),
            n,
        });
        assert_eq!(j.work.test_and_set_pending(), Ok(true));
        WorkRef::from_arc(j)
    }

    /// The number of a `Job` taken from the ring.
    pub(super) fn n_of(w: WorkRef) -> usize {
        w.try_into_arc::<Job>().ok().map(|j| j.n).expect("a Job")
    }

    #[test]
    fn a_new_ring_is_closed_and_hands_items_back() {
        let r = Incoming::new();
        assert!(!r.is_open());
        assert!(r.push(job(1)).is_err());
    }

    #[test]
    fn items_come_out_in_push_order_and_close_takes_the_rest() {
        let r = Incoming::new();
        r.open();
        for i in 0..5 {
            assert!(r.push(job(i)).is_ok());
        }
        let mut got = Vec::new();
        r.take(|w| got.push(n_of(w)));
        assert_eq!(got, [0, 1, 2, 3, 4]);
        assert!(r.push(job(5)).is_ok());
        r.close(|w| got.push(n_of(w)));
        assert_eq!(got, [0, 1, 2, 3, 4, 5]);
        assert!(
            r.push(job(6)).is_err(),
            "closed: the producer takes the lock"
        );
    }

    #[test]
    fn a_full_ring_hands_the_item_back_and_wraps_around_after_a_take() {
        let r = Incoming::new();
        r.open();
        for lap in 0..if cfg!(miri) { 2 } else { 3 } {
            for i in 0..INCOMING_CAP as usize {
                assert!(r.push(job(i)).is_ok(), "lap {lap}, item {i}");
            }
            assert!(r.push(job(usize::MAX)).is_err(), "full");
            let mut next = 0;
            r.take(|w| {
                assert_eq!(n_of(w), next);
                next += 1;
            });
            assert_eq!(next, INCOMING_CAP as usize);
        }
    }

    #[test]
    fn dropping_a_ring_releases_its_items() {
        let j = Arc::new(Job {
            work: Work::new(),
            n: 0,
        });
        assert_eq!(j.work.test_and_set_pending(), Ok(true));
        let r = Incoming::new();
        r.open();
        assert!(r.push(WorkRef::from_arc(Arc::clone(&j))).is_ok());
        drop(r);
        assert!(!j.work.is_pending());
        assert_eq!(Arc::strong_count(&j), 1);
    }

    #[test]
    fn every_item_pushed_by_racing_producers_is_taken_once() {
        // Small under Miri, which runs this crate's tests.
        let n = if cfg!(miri) { 40 } else { 5_000 };
        let r = Arc::new(Incoming::new());
        r.open();
        let producers: Vec<_> = (0..4)
            .map(|p| {
                let r = Arc::clone(&r);
                std::thread::spawn(move || {
                    let mut back = Vec::new();
                    for i in 0..n {
                        if let Err(w) = r.push(job(p * 10_000 + i)) {
                            back.push(n_of(w));
                        }
                    }
                    back
                })
            })
            .collect();
        let mut taken = Vec::new();
        while producers.iter().any(|h| !h.is_finished()) {
            r.take(|w| taken.push(n_of(w)));
        }
        let mut back: Vec<usize> = producers
            .into_iter()
            .flat_map(|h| h.join().expect("producer"))
            .collect();
        r.close(|w| taken.push(n_of(w)));
        // Each producer's items come out in its order.
        for p in 0..4 {
            let mine: Vec<_> = taken.iter().filter(|&&n| n / 10_000 == p).collect();
            assert!(mine.windows(2).all(|w| w[0] < w[1]));
        }
        taken.append(&mut back);
        taken.sort_unstable();
        let want: Vec<usize> = (0..4)
            .flat_map(|p| (0..n).map(move |i| p * 10_000 + i))
            .collect();
        assert_eq!(taken, want);
    }
}

/// loom model of the ring (`cargo xtask loom`, or `RUSTFLAGS="--cfg loom" cargo test -p
/// cmwq-pool --release --lib incoming::loom_model`): the ring's own atomics and the items'
/// data words are loom's, the ring is two slots. The protocol's promises, checked in every
/// interleaving loom explores: an item whose push returned `Ok` is taken exactly once, by a
/// take or by the close; an item handed back is not taken; each producer's items come out
/// in its order; after a close every push fails; a full ring hands the item back.
#[cfg(all(test, loom))]
mod loom_model {
    use loom::sync::Arc;
    use loom::thread;

    use super::tests::{job, n_of};
    use super::{INCOMING_CAP, Incoming};

    /// Push `items` in order; the numbers of those handed back.
    fn produce(r: &Incoming, items: impl IntoIterator<Item = usize>) -> Vec<usize> {
        items
            .into_iter()
            .filter_map(|n| r.push(job(n)).err().map(n_of))
            .collect()
    }

    /// Every item is either taken exactly once or handed back, never both, and the taken
    /// ones of each producer (`n / 10`) are in that producer's order.
    fn check(taken: &[usize], back: &[usize], all: &[usize]) {
        for p in [0, 1] {
            let mine: Vec<_> = taken.iter().filter(|&&n| n / 10 == p).collect();
            assert!(mine.windows(2).all(|w| w[0] < w[1]), "order: {taken:?}");
        }
        let mut seen: Vec<usize> = taken.iter().chain(back).copied().collect();
        seen.sort_unstable();
        assert_eq!(seen, all, "taken {taken:?}, handed back {back:?}");
    }

    /// Every interleaving with at most four preemptions (about 12 s here; five take a
    /// minute): the bound tokio's and crossbeam's models use is three.
    fn model(f: impl Fn() + Sync + Send + 'static) {
        let mut b = loom::model::Builder::new();
        b.preemption_bound = Some(4);
        b.check(f);
    }

    #[test]
    fn racing_producers_and_a_take_then_close_lose_and_duplicate_nothing() {
        assert_eq!(INCOMING_CAP, 2);
        model(|| {
            let r = Arc::new(Incoming::new());
            r.open();
            let producers: Vec<_> = [vec![0], vec![10, 11]]
                .into_iter()
                .map(|items| {
                    let r = Arc::clone(&r);
                    thread::spawn(move || produce(&r, items))
                })
                .collect();
            let mut taken = Vec::new();
            r.take(|w| taken.push(n_of(w)));
            r.close(|w| taken.push(n_of(w)));
            // Closed: whatever the producers push from now on is handed back, so once they
            // are done nothing can be left in the ring.
            let back: Vec<usize> = producers
                .into_iter()
                .flat_map(|h| h.join().expect("producer"))
                .collect();
            let mut late = Vec::new();
            r.take(|w| late.push(n_of(w)));
            assert!(late.is_empty(), "pushed after the close: {late:?}");
            check(&taken, &back, &[0, 10, 11]);
        });
    }

    #[test]
    fn a_close_and_reopen_under_a_producer_strands_nothing() {
        model(|| {
            let r = Arc::new(Incoming::new());
            r.open();
            let producer = {
                let r = Arc::clone(&r);
                thread::spawn(move || produce(&r, [0, 1, 2]))
            };
            let mut taken = Vec::new();
            r.close(|w| taken.push(n_of(w)));
            r.open();
            let back = producer.join().expect("producer");
            r.close(|w| taken.push(n_of(w)));
            check(&taken, &back, &[0, 1, 2]);
        });
    }
}
