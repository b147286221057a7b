//! cmwq-dump: the kernel workqueue debug dump and wq_monitor table from a plain-data
//! snapshot. (Crate docs are completed with the formatter.)

mod model;

pub use model::{
    HIGHPRI_NICE_LEVEL, InFlightWorker, MAYDAY_CURSOR_FUNC, PoolSnapshot, PwqSnapshot, PwqStats,
    Snapshot, WorkEntry, WorkKind, WqSnapshot, pool_flags, wq_flags,
};
