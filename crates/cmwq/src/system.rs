//! The system workqueues (created on the global runtime on first use) and the
//! questions a work function may ask about the thread it runs on.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use cmwq_work::{HasWork, WorkItem};

use crate::flags::{WQ_MAX_ACTIVE, WqFlags};
use crate::item::WorkId;
use crate::wq::{Refused, Workqueue};

fn system(
    cell: &'static OnceLock<Workqueue>,
    name: &str,
    flags: WqFlags,
    max: u32,
) -> &'static Workqueue {
    cell.get_or_init(|| {
        Workqueue::new(name, flags, max)
            .unwrap_or_else(|e| panic!("cmwq: cannot create system workqueue {name}: {e}"))
    })
}

macro_rules! system_wq {
    ($(#[$doc:meta])* $fn:ident, $name:literal, $flags:expr, $max:expr) => {
        $(#[$doc])*
        pub fn $fn() -> &'static Workqueue {
            static CELL: OnceLock<Workqueue> = OnceLock::new();
            system(&CELL, $name, $flags, $max)
        }
    };
}

// The system workqueues are made on the global runtime the first time they are asked for.
// Their creation cannot fail for want of a thread (workers come later, on demand), so a
// failure there is a bug, reported by a panic naming the workqueue.
system_wq!(
    /// `system_wq` ("events"): per-CPU, for short items; what [`schedule_work`] uses.
    system_wq, "events", WqFlags::empty(), 0
);
system_wq!(
    /// `system_highpri_wq` ("events_highpri"): per-CPU, high-priority pools.
    system_highpri_wq, "events_highpri", WqFlags::HIGHPRI, 0
);
system_wq!(
    /// `system_long_wq` ("events_long"): per-CPU, for items that may run long.
    system_long_wq, "events_long", WqFlags::empty(), 0
);
system_wq!(
    /// `system_unbound_wq` ("events_unbound"): unbound, max_active `WQ_MAX_ACTIVE`.
    system_unbound_wq, "events_unbound", WqFlags::UNBOUND, WQ_MAX_ACTIVE
);
system_wq!(
    /// `system_freezable_wq` ("events_freezable").
    system_freezable_wq, "events_freezable", WqFlags::FREEZABLE, 0
);
system_wq!(
    /// `system_power_efficient_wq` ("events_power_efficient").
    system_power_efficient_wq, "events_power_efficient", WqFlags::POWER_EFFICIENT, 0
);

/// `schedule_work`: queue `item` on [`system_wq`].
pub fn schedule_work<T: WorkItem<ID> + HasWork<ID>, const ID: u64>(
    item: Arc<T>,
) -> Result<(), Refused<T>> {
    system_wq().queue_work::<T, ID>(item)
}

/// `schedule_delayed_work`: queue `item` on [`system_wq`] after `delay`.
pub fn schedule_delayed_work<T: WorkItem<ID> + HasWork<ID>, const ID: u64>(
    item: Arc<T>,
    delay: Duration,
) -> Result<(), Refused<T>> {
    system_wq().queue_delayed_work::<T, ID>(item, delay)
}

/// `current_work`: the item the calling worker thread runs now (`None` outside a work
/// function).
pub fn current_work() -> Option<WorkId> {
    crate::blocking::with_hooks(|h| h.current_work())
        .flatten()
        .map(WorkId)
}

/// Whether the calling thread runs `item` now.
pub fn current_work_is<T: HasWork<ID>, const ID: u64>(item: &T) -> bool {
    current_work() == Some(WorkId::of::<T, ID>(item))
}

/// `current_is_workqueue_rescuer`: whether the calling thread is a rescuer.
pub fn current_is_workqueue_rescuer() -> bool {
    crate::blocking::with_hooks(|h| h.is_rescuer()).unwrap_or(false)
}

/// `show_all_workqueues()` of the global runtime: the kernel-format dump of every busy
/// workqueue and pool (for a runtime of your own: [`Runtime::show_all_workqueues`]).
///
/// [`Runtime::show_all_workqueues`]: crate::Runtime::show_all_workqueues
pub fn show_all_workqueues() -> String {
    crate::Runtime::global().show_all_workqueues()
}

/// `show_one_workqueue(wq)`: `wq`'s part of the dump (see [`Workqueue::show`]).
pub fn show_workqueue(wq: &Workqueue) -> String {
    wq.show()
}
