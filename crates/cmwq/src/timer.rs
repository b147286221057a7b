//! The timer thread's queue: a binary heap of deadlines under a mutex, and a condvar the
//! timer thread waits on until the earliest deadline (or until an earlier one is armed).
//!
//! Timers are never removed from the heap: a cancelled or re-armed timer is recognised
//! when it fires, by the generation the action carries (the kernel's `del_timer` +
//! `mod_timer` become "bump the generation" + "arm again"). That keeps arming and
//! cancelling O(log n) and O(1) without handles into the heap.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::time::Instant;

use parking_lot::{Condvar, Mutex};

struct Entry<A> {
    at: Instant,
    seq: u64,
    action: A,
}

impl<A> PartialEq for Entry<A> {
    fn eq(&self, o: &Self) -> bool {
        self.at == o.at && self.seq == o.seq
    }
}
impl<A> Eq for Entry<A> {}
impl<A> PartialOrd for Entry<A> {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl<A> Ord for Entry<A> {
    /// Reversed, so that `BinaryHeap` (a max-heap) pops the earliest deadline first;
    /// equal deadlines fire in arming order.
    fn cmp(&self, o: &Self) -> Ordering {
        o.at.cmp(&self.at).then(o.seq.cmp(&self.seq))
    }
}

struct State<A> {
    heap: BinaryHeap<Entry<A>>,
    seq: u64,
    shutdown: bool,
}

/// Deadlines and their actions, served by one thread calling [`TimerQueue::run`].
pub(crate) struct TimerQueue<A> {
    state: Mutex<State<A>>,
    cv: Condvar,
}

impl<A: Send> TimerQueue<A> {
    pub(crate) fn new() -> Self {
        Self {
            state: Mutex::new(State {
                heap: BinaryHeap::new(),
                seq: 0,
                shutdown: false,
            }),
            cv: Condvar::new(),
        }
    }

    /// Run `action` at `at` (or as soon as possible if `at` is past).
    pub(crate) fn arm(&self, at: Instant, action: A) {
        let mut s = self.state.lock();
        let seq = s.seq;
        s.seq += 1;
        let earliest = s.heap.peek().is_none_or(|e| at < e.at);
        s.heap.push(Entry { at, seq, action });
        drop(s);
        if earliest {
            self.cv.notify_one();
        }
    }

    /// Stop [`run`](Self::run); returns the actions that never fired (earliest first).
    pub(crate) fn shutdown(&self) -> Vec<A> {
        let mut s = self.state.lock();
        s.shutdown = true;
        let mut left = Vec::with_capacity(s.heap.len());
        while let Some(e) = s.heap.pop() {
            left.push(e.action);
        }
        drop(s);
        self.cv.notify_all();
        left
    }

    /// Number of timers armed (fired-but-stale ones included until they fire).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.state.lock().heap.len()
    }

    /// The timer thread's loop: sleep until the earliest deadline, then call `fire` for
    /// every due action, with no lock held. Returns after [`shutdown`](Self::shutdown).
    pub(crate) fn run(&self, mut fire: impl FnMut(A)) {
        let mut due = Vec::new();
        loop {
            {
                let mut s = self.state.lock();
                loop {
                    if s.shutdown {
                        return;
                    }
                    let now = Instant::now();
                    while s.heap.peek().is_some_and(|e| e.at <= now) {
                        if let Some(e) = s.heap.pop() {
                            due.push(e.action);
                        }
                    }
                    if !due.is_empty() {
                        break;
                    }
                    match s.heap.peek().map(|e| e.at) {
                        Some(at) => {
                            self.cv.wait_until(&mut s, at);
                        }
                        None => self.cv.wait(&mut s),
                    }
                }
            }
            for a in due.drain(..) {
                fire(a);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, mpsc};
    use std::time::Duration;

    #[test]
    fn fires_in_deadline_order_then_arming_order() {
        let q = Arc::new(TimerQueue::new());
        let base = Instant::now();
        // All in the past: they are due at once and must come out sorted.
        q.arm(base, 2);
        q.arm(base - Duration::from_millis(5), 1);
        q.arm(base, 3);
        q.arm(base - Duration::from_millis(10), 0);
        let (tx, rx) = mpsc::channel();
        let q2 = Arc::clone(&q);
        let t = std::thread::spawn(move || q2.run(|a| tx.send(a).unwrap()));
        let got: Vec<i32> = (0..4).map(|_| rx.recv().unwrap()).collect();
        assert_eq!(got, [0, 1, 2, 3]);
        q.shutdown();
        t.join().unwrap();
    }

    #[test]
    fn an_earlier_timer_wakes_a_thread_waiting_on_a_later_one() {
        let q = Arc::new(TimerQueue::new());
        q.arm(Instant::now() + Duration::from_secs(3600), "late");
        let (tx, rx) = mpsc::channel();
        let q2 = Arc::clone(&q);
        let t = std::thread::spawn(move || q2.run(|a| tx.send(a).unwrap()));
        q.arm(Instant::now(), "now");
        assert_eq!(rx.recv().unwrap(), "now");
        assert_eq!(q.len(), 1, "the late timer is still armed");
        q.shutdown();
        t.join().unwrap();
    }
}
