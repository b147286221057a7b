//! `Pool::check_consistency`: the pool's counters checked against its lists.

#[allow(unused_imports)]
use super::*;

impl Pool {
    /// Check the pool's bookkeeping against its lists (for tests and debug assertions in
    /// drivers): `nr_running` against the workers that count, the idle list against the
    /// idle workers, the busy table against the workers' current items, and each pwq's
    /// `nr_active` and `nr_in_flight` against the items on the worklist, the scheduled lists,
    /// the inactive list and the workers. O(items). Returns what disagrees.
    pub fn check_consistency(&self) -> Result<(), String> {
        let counted = self.workers.iter().filter(|w| w.counted()).count() as u32;
        if counted != self.nr_running {
            return Err(format!(
                "nr_running {} but {counted} workers count",
                self.nr_running
            ));
        }
        let idle = self
            .workers
            .iter()
            .filter(|w| w.phase == Phase::Idle)
            .count();
        if idle != self.idle.len() {
            return Err(format!(
                "{} on the idle list, {idle} idle workers",
                self.idle.len()
            ));
        }
        for id in &self.idle {
            let Some(w) = self.worker(*id) else {
                return Err(format!("idle worker {id} unknown"));
            };
            if !w.flags.contains(WorkerFlags::IDLE) || w.phase != Phase::Idle {
                return Err(format!("idle worker {id} is not idle"));
            }
        }
        let normal = self.workers.iter().filter(|w| !w.is_rescuer()).count() as u32;
        if normal != self.nr_workers {
            return Err(format!(
                "nr_workers {} but {normal} workers",
                self.nr_workers
            ));
        }
        let busy = self.busy_entries();
        for &(addr, i) in &busy {
            if addr == usize::MAX {
                return Err(format!(
                    "busy table: worker {} chained with no current item or in the wrong bucket",
                    self.workers[i].id
                ));
            }
        }
        let mut indices: Vec<usize> = busy.iter().map(|&(_, i)| i).collect();
        indices.sort_unstable();
        indices.dedup();
        if indices.len() != busy.len() {
            return Err("busy table: a worker is chained twice".into());
        }
        if self.workers.iter().filter(|w| w.current.is_some()).count() != busy.len() {
            return Err("busy table misses a running worker".into());
        }
        for p in self.pwqs.iter().flatten() {
            let mut active = 0u32;
            let mut in_flight = [0u32; WORK_NR_COLORS as usize];
            let mut count = |h: ElemRef<'_, WorkHead>| {
                if h.pwq() == Some(p.id) {
                    in_flight[usize::from(h.color())] += 1;
                    if !lists::flags(&h).contains(WorkFlags::INACTIVE) {
                        active += 1;
                    }
                }
            };
            self.worklist.heads().for_each(&mut count);
            for w in &self.workers {
                w.scheduled.heads().for_each(&mut count);
            }
            let mut inactive_ok = true;
            for h in p.inactive.heads() {
                inactive_ok &=
                    h.pwq() == Some(p.id) && lists::flags(&h).contains(WorkFlags::INACTIVE);
                in_flight[usize::from(h.color())] += 1;
            }
            if !inactive_ok {
                return Err(format!(
                    "pwq {:?}: a foreign or active item on its inactive list",
                    p.id
                ));
            }
            for w in &self.workers {
                if let Some(c) = w.current.filter(|c| c.pwq == p.id) {
                    in_flight[usize::from(c.color)] += 1;
                    active += u32::from(c.active);
                }
            }
            if active != p.nr_active {
                return Err(format!(
                    "pwq {:?}: nr_active {} but {active} active items",
                    p.id, p.nr_active
                ));
            }
            if in_flight != p.nr_in_flight {
                return Err(format!(
                    "pwq {:?}: nr_in_flight {:?} but items {:?}",
                    p.id, p.nr_in_flight, in_flight
                ));
            }
        }
        Ok(())
    }
}
