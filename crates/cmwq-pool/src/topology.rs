//! Which pools exist, which a workqueue uses, and what threads are called: the kernel's
//! numbering, shared by every driver.

use crate::action::Actions;
use crate::driver::Driver;
use crate::error::WqError;
use crate::pool::PwqSpec;
use crate::types::{
    POOLS_PER_CPU, PoolId, PoolKind, Priority, PwqId, UnboundAttrs, WqFlags, WqId, pool_of,
};
use crate::workqueue::WqSpec;

/// The pools of a system of `nr_cpus` CPUs, numbered as the kernel numbers them: per CPU
/// `c`, `4c` BH, `4c + 1` BH high-priority, `4c + 2` normal, `4c + 3` high-priority; then
/// the unbound pools, `4n` (nice 0) and `4n + 1` (nice -20), which span every CPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Topology {
    nr_cpus: u32,
}

impl Topology {
    /// The topology of `nr_cpus` CPUs (at least 1).
    pub fn new(nr_cpus: u32) -> Self {
        Self {
            nr_cpus: nr_cpus.max(1),
        }
    }

    /// Number of CPUs.
    pub fn nr_cpus(&self) -> u32 {
        self.nr_cpus
    }

    /// Number of pools.
    pub fn nr_pools(&self) -> u32 {
        POOLS_PER_CPU * self.nr_cpus + 2
    }

    /// Every pool with its kind, in id order.
    pub fn pools(&self) -> impl Iterator<Item = (PoolId, PoolKind)> {
        let n = self.nr_cpus;
        (0..self.nr_pools()).map(move |id| {
            let kind = if id >= POOLS_PER_CPU * n {
                let pri = if id == POOLS_PER_CPU * n {
                    Priority::Normal
                } else {
                    Priority::High
                };
                PoolKind::Unbound(UnboundAttrs { nice: pri.nice() })
            } else {
                let cpu = id / POOLS_PER_CPU;
                let pri = if id % 2 == 0 {
                    Priority::Normal
                } else {
                    Priority::High
                };
                if id % POOLS_PER_CPU < 2 {
                    PoolKind::Bh { cpu, pri }
                } else {
                    PoolKind::PerCpu { cpu, pri }
                }
            };
            (PoolId(id), kind)
        })
    }

    /// The unbound pool of a priority.
    pub fn unbound_pool(&self, pri: Priority) -> PoolId {
        PoolId(POOLS_PER_CPU * self.nr_cpus + u32::from(pri == Priority::High))
    }

    /// The pools a workqueue with these (validated) flags has a pwq on: the unbound pool
    /// of its priority, or its kind of per-CPU pool on every CPU, in CPU order.
    pub fn pools_for(&self, flags: WqFlags) -> Vec<PoolId> {
        let pri = if flags.contains(WqFlags::HIGHPRI) {
            Priority::High
        } else {
            Priority::Normal
        };
        if flags.contains(WqFlags::UNBOUND) {
            return vec![self.unbound_pool(pri)];
        }
        let bh = flags.contains(WqFlags::BH);
        (0..self.nr_cpus)
            .map(|cpu| {
                let kind = if bh {
                    PoolKind::Bh { cpu, pri }
                } else {
                    PoolKind::PerCpu { cpu, pri }
                };
                kind.percpu_pool_id().unwrap_or(PoolId(0))
            })
            .collect()
    }
}

/// The kernel's name of a pool worker: `kworker/C:N` (per-CPU), `kworker/C:NH`
/// (high-priority), `kworker/uP:N` (unbound pool P); `seq` is its number in the pool.
pub fn worker_name(pool: PoolId, kind: &PoolKind, seq: u32) -> String {
    match *kind {
        PoolKind::Bh { cpu, pri } | PoolKind::PerCpu { cpu, pri } => format!(
            "kworker/{cpu}:{seq}{}",
            if pri == Priority::High { "H" } else { "" }
        ),
        PoolKind::Unbound(_) => format!("kworker/u{}:{seq}", pool.0),
    }
}

/// The kernel's name of a workqueue's rescuer thread: `kworker/R-NAME`.
pub fn rescuer_name(wq_name: &str) -> String {
    format!("kworker/R-{wq_name}")
}

/// `alloc_workqueue`'s part on the pools: validate `spec` (every rule, once, for every
/// driver), then add a pwq for workqueue `id` on each pool it uses (asking for first
/// workers). On failure the pwqs already added are removed again. Returns the pwqs in the
/// order [`Driver::wq_pwqs`] must give them; the driver then builds the workqueue's own
/// state with [`crate::Workqueue::new`] and registers both.
pub fn alloc_pwqs<D: Driver>(
    d: &mut D,
    id: WqId,
    spec: &WqSpec,
    out: &mut Actions,
) -> Result<Vec<PwqId>, WqError> {
    let (flags, max_active) = spec.validate()?;
    let pools = Topology::new(d.nr_cpus()).pools_for(flags);
    let now = d.now();
    let mut pwqs = Vec::with_capacity(pools.len());
    for p in pools {
        let r = d.with_pool(p, |pool, _| {
            pool.add_pwq(
                PwqSpec {
                    wq: id,
                    wq_flags: flags,
                    max_active,
                    policy: spec.policy.clone(),
                },
                now,
                out,
            )
        });
        match r {
            Some(Ok(pwq)) => pwqs.push(pwq),
            other => {
                for &pwq in &pwqs {
                    d.with_pool(pool_of(pwq), |pool, _| pool.remove_pwq(pwq));
                }
                return Err(match other {
                    Some(Err(e)) => e.into(),
                    _ => WqError::Unsupported { flags },
                });
            }
        }
    }
    Ok(pwqs)
}
