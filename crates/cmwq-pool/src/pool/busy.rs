//! `busy_hash`: which worker of the pool runs the item at an address.
//!
//! As in the kernel, a fixed table of `1 << BUSY_WORKER_HASH_ORDER` buckets, hashed with
//! `hash_ptr` (a multiplication by the 64-bit golden ratio, top bits kept), each bucket a
//! chain threaded through the workers themselves (`struct worker`'s `hentry`; here
//! `Worker::busy_next`, an index into the pool's `workers`). A worker is on a chain exactly
//! while it has a current item, keyed by that item's address: adding and removing is a
//! couple of stores, looking up walks one short chain, and nothing is allocated.

#[allow(unused_imports)]
use super::*;

/// `BUSY_WORKER_HASH_ORDER`: the table has 64 buckets.
pub(super) const BUSY_WORKER_HASH_ORDER: u32 = 6;
/// The end of a chain.
pub(super) const NIL: u32 = u32::MAX;

/// The kernel's `hash_ptr(addr, BUSY_WORKER_HASH_ORDER)`.
fn bucket(addr: usize) -> usize {
    const GOLDEN_RATIO_64: u64 = 0x61C8_8646_80B5_83EB;
    ((addr as u64).wrapping_mul(GOLDEN_RATIO_64) >> (64 - BUSY_WORKER_HASH_ORDER)) as usize
}

/// The bucket heads (worker indices, or [`NIL`]).
#[derive(Debug)]
pub(super) struct BusyHash {
    heads: [u32; 1 << BUSY_WORKER_HASH_ORDER],
}

impl Default for BusyHash {
    fn default() -> Self {
        BusyHash {
            heads: [NIL; 1 << BUSY_WORKER_HASH_ORDER],
        }
    }
}

impl Pool {
    /// `hash_add(pool->busy_hash, &worker->hentry, (unsigned long)work)`: worker `i`,
    /// whose current item is at `addr`, goes on that address's chain.
    pub(super) fn busy_add(&mut self, i: usize, addr: usize) {
        let b = bucket(addr);
        self.workers[i].busy_next = self.busy.heads[b];
        self.busy.heads[b] = i as u32;
    }

    /// `hash_del`: worker `i`, which ran the item at `addr`, leaves its chain.
    pub(super) fn busy_del(&mut self, i: usize, addr: usize) {
        let next = std::mem::replace(&mut self.workers[i].busy_next, NIL);
        self.busy_relink(bucket(addr), i as u32, next);
    }

    /// On bucket `b`'s chain, make the link that points at worker index `from` (the
    /// bucket's head or a worker's `busy_next`) point at `to` instead.
    fn busy_relink(&mut self, b: usize, from: u32, to: u32) {
        if self.busy.heads[b] == from {
            self.busy.heads[b] = to;
            return;
        }
        let mut at = self.busy.heads[b];
        while at != NIL {
            let w = &mut self.workers[at as usize];
            if w.busy_next == from {
                w.busy_next = to;
                return;
            }
            at = w.busy_next;
        }
    }

    /// `find_worker_executing_work` by address: the index of the worker running the item
    /// at `addr`, if one does.
    pub(super) fn busy_find(&self, addr: usize) -> Option<usize> {
        let mut at = self.busy.heads[bucket(addr)];
        while at != NIL {
            let w = &self.workers[at as usize];
            if w.current.is_some_and(|c| c.addr == addr) {
                return Some(at as usize);
            }
            at = w.busy_next;
        }
        None
    }

    /// The worker at index `from` now sits at `to` (a removal moved it): its chain
    /// points at its new index.
    pub(super) fn busy_moved(&mut self, from: usize, to: usize) {
        if let Some(c) = self.workers[to].current {
            self.busy_relink(bucket(c.addr), from as u32, to as u32);
        }
    }

    /// Every (address, worker index) on the chains, for the consistency check.
    pub(super) fn busy_entries(&self) -> Vec<(usize, usize)> {
        let mut v = Vec::new();
        for (b, &head) in self.busy.heads.iter().enumerate() {
            let mut at = head;
            // A chain longer than the pool has workers has a cycle: stop there and let
            // the count check report it.
            let mut steps = 0;
            while at != NIL && steps <= self.workers.len() {
                let w = &self.workers[at as usize];
                v.push((w.current.map_or(usize::MAX, |c| c.addr), at as usize));
                if w.current.is_some_and(|c| bucket(c.addr) != b) {
                    v.push((usize::MAX, at as usize));
                }
                at = w.busy_next;
                steps += 1;
            }
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::bucket;

    #[test]
    fn hash_ptr_spreads_aligned_addresses_over_the_buckets() {
        let mut seen = [0u32; 64];
        for k in 0..640usize {
            seen[bucket(0x7f00_0000_0000 + k * 64)] += 1;
        }
        assert!(seen.iter().all(|&n| n > 0), "{seen:?}");
    }
}
