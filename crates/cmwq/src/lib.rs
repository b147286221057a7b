//! cmwq: the Linux kernel's concurrency-managed workqueue in userspace Rust.

mod blocking;
mod error;
mod panic;
mod spawner;
mod timer;

pub use blocking::{BlockingGuard, blocking};
pub use error::{BuildError, MaxActiveError, QueueError, SpawnError};
pub use panic::{PanicHook, WorkPanic};
pub use spawner::{
    FailSwitch, FailurePlan, SpawnRequest, Spawner, SpawnerStats, ThreadBody, ThreadRole,
    ThreadSpawner,
};
