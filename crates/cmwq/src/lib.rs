//! cmwq: the Linux kernel's concurrency-managed workqueue in userspace Rust.

mod blocking;
mod config;
mod error;
mod flags;
mod item;
mod ops;
mod panic;
mod rt;
mod runtime;
mod spawner;
mod stats;
mod system;
mod timer;
mod watch;
mod wq;

pub use blocking::{BlockingGuard, blocking};
pub use cmwq_work::{FnWork, HasWork, WorkHead, WorkItem, impl_has_work, work_fn};
pub use config::{Affinity, Timings};
pub use error::{BuildError, MaxActiveError, QueueError, SpawnError};
pub use flags::*;
pub use item::WorkId;
pub use panic::{PanicHook, WorkPanic};
pub use runtime::{LockupHook, Runtime, RuntimeBuilder};
pub use spawner::{
    FailSwitch, FailurePlan, SpawnRequest, Spawner, SpawnerStats, ThreadBody, ThreadRole,
    ThreadSpawner,
};
pub use stats::WorkqueueStats;
pub use system::*;
pub use watch::Stall;
pub use wq::{Refused, Workqueue, WorkqueueBuilder};
