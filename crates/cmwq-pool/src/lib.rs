//! cmwq-pool: the sans-IO core of cmwq, the Linux kernel's concurrency-managed workqueue
//! in userspace Rust.
//!
//! Every workqueue decision lives here as a plain state transition: where a queued item
//! goes (a pool's worklist, or its pool_workqueue's inactive list beyond max_active), which
//! worker runs it (never two at once: an item still running is handed to the worker running
//! it), when a pool wakes an idle worker (concurrency management: about one runnable worker
//! while work is pending), when it needs a new worker, when its mayday timer calls the
//! rescuers, and what a rescuer takes (asked of the workqueue's
//! [`RescuerPolicy`]). Nothing here spawns a thread, reads a
//! clock or sleeps: time comes in as `now` (nanoseconds), and what threads and timers must
//! do goes out as [`Action`]s in a caller-owned buffer. The one other output is an
//! observation: the kernel's `workqueue_activate_work` tracepoint, emitted as a `tracing`
//! event (target `workqueue`) where an item starts counting against max_active.
//!
//! # The pieces and their locks
//!
//! - [`Pool`]: a worker pool with everything one pool lock guards: its worklist, workers,
//!   LIFO idle list, `nr_running`, manager state, timer deadlines, and the pwqs that live on
//!   it (`nr_active`, max_active, inactive list, mayday cursor, flush colours, stats).
//! - [`Workqueue`]: what one small per-workqueue lock guards: name, flags, max_active, pwq
//!   ids, the `maydays` list, the rescuer's position, flush colours, drain state.
//! - [`DelayedTimers`]: delayed items waiting on their timers (the kernel's timer base).
//! - [`Driver`]: how a driver lends those pieces, one lock at a time, with its clock and the
//!   caller's [`Context`]. The operations that span pools and workqueues are written once in
//!   [`ops`] against it: `__queue_work`, delayed work, flush_work / flush_workqueue / drain
//!   on flush colours, grab_pending and cancel, the rescuer loop, a worker's step.
//!   [`Topology`] numbers the pools, names the threads and (with [`alloc_pwqs`]) validates
//!   every spec.
//! - [`System`]: the trivial single-threaded driver (the simulator, tests): its tables are
//!   the "locks"; the runtime (crate `cmwq`) is the threaded one.
//!
//! Lock order: a pool's lock, then a workqueue's lock nested inside it, never the reverse.
//! A pool reaches workqueue state only through [`MaydaySink`] (the kernel's
//! `wq_mayday_lock`). Work functions run outside every lock: a worker asks
//! [`Pool::next_work`] for an item ([`Next::Run`] hands over the `WorkRef`, PENDING already
//! cleared), runs it, reports [`Pool::work_done`] and asks again.
//!
//! Time constants (`MAYDAY_INITIAL_TIMEOUT`, `MAYDAY_INTERVAL`, `CREATE_COOLDOWN`,
//! `IDLE_WORKER_TIMEOUT`, `CPU_INTENSIVE_THRESH`) are the kernel's by default and can be
//! shortened per pool ([`PoolTimings`]). [`Pool::check_consistency`] verifies a pool's
//! counters against its lists, for tests and drivers' debug assertions.
//!
//! The cursor a Linux 7.0 rescuer leaves on the worklist is not a work item: the worklist
//! yields it as `Entry::Cursor`, so it can never be handed to a worker, flushed, cancelled
//! or counted. See `DESIGN.md` beside this crate for the worker, rescuer and cursor protocol.
//!
//! # Example
//!
//! ```
//! use cmwq_pool::{Action, Actions, Next, QueueFrom, System, SystemConfig, WqFlags, WqSpec};
//! use cmwq_work::{WorkRef, work_fn};
//!
//! let mut sys = System::new(SystemConfig { nr_cpus: 1 });
//! let mut out = Actions::new();
//! let wq = sys.alloc_workqueue(WqSpec::new("events", WqFlags::empty()), 0, &mut out).unwrap();
//! // The pool asks for its first worker; the driver creates it.
//! let pool = match out.as_slice() {
//!     [.., Action::CreateWorker { pool }] => *pool,
//!     other => panic!("unexpected {other:?}"),
//! };
//! out.clear();
//! let worker = sys.worker_created(pool, 0, &mut out);
//!
//! let item = work_fn("hello_fn", || {});
//! sys.queue_work(wq, None, WorkRef::from_arc(item.clone()), QueueFrom::Outside, 1, &mut out)
//!     .unwrap();
//! assert!(out.iter().any(|a| *a == Action::WakeWorker { pool, worker }));
//! out.clear();
//! // Woken with no other idle worker, it first becomes the manager and asks for a spare
//! // (as the kernel's worker_thread does); once that exists, it is woken again.
//! assert!(matches!(sys.next_work(worker, 2, &mut out), Next::Manage));
//! assert!(out.iter().any(|a| *a == Action::CreateWorker { pool }));
//! out.clear();
//! let _spare = sys.worker_created(pool, 2, &mut out);
//! assert!(out.iter().any(|a| *a == Action::WakeWorker { pool, worker }));
//! match sys.next_work(worker, 2, &mut out) {
//!     Next::Run(w) => {
//!         assert_eq!(w.name(), "hello_fn");
//!         w.run(); // outside any lock, in a real driver
//!     }
//!     other => panic!("expected an item, got {other:?}"),
//! }
//! sys.work_done(worker, 1_000, 3, &mut out);
//! assert!(matches!(sys.next_work(worker, 3, &mut out), Next::Idle));
//! assert_eq!(sys.wq_stats(wq).completed, 1);
//! ```

mod action;
mod clock;
mod delayed;
mod driver;
mod error;
mod incoming;
mod lists;
pub mod ops;
mod pool;
mod snapshot;
mod sync;
mod system;
mod topology;
mod types;
mod workqueue;

pub use action::{Action, Actions, FlushTicket};
pub use clock::{ClockError, KernelClock, TimerModel};
pub use delayed::DelayedTimers;
pub use driver::{Context, Driver};
pub use error::{DisableWorkError, PoolError, QueueError, WqError};
pub use incoming::{INCOMING_CAP, Incoming};
pub use ops::{Again, PwqTable, RescuerStep};
pub use pool::{Grab, MaydaySink, Next, Pool, PwqSpec, RescueNext, WqLocks};
pub use system::{System, SystemConfig};
pub use topology::{Topology, alloc_pwqs, rescuer_name, worker_name};
pub use types::*;
pub use workqueue::{FlushBegin, Workqueue, WqSpec};

pub use cmwq_rescue::{Policy, RescuerPolicy};
pub use cmwq_work::{WorkBusy, WorkHead, WorkRef};
