//! cmwq: the Linux kernel's concurrency-managed workqueue (cmwq) in userspace Rust.
//!
//! A **workqueue** ([`Workqueue`]) is where you queue **work items**: values that embed a
//! work head, [`Work<Self>`](Work) (the kernel's `work_struct`, made by [`Work::new()`] and
//! declared with [`impl_has_work!`]), and implement [`WorkItem`], queued as `Arc<T>`; an
//! item may have several heads (see below). Items run on the worker threads of **pools**
//! shared by every workqueue of a [`Runtime`]: per CPU a normal and a high-priority pool
//! (whose workers are pinned to their CPU), plus unbound pools. The semantics are the
//! kernel's:
//!
//! - **Non-reentrant per workqueue, queued at most once.** Queueing an item that is already
//!   pending is a no-op that says so (the `Arc` comes back in [`Refused`]); a pending item
//!   runs once for all the queueings that found it pending. Within one workqueue an item
//!   never runs on two threads at once: queued again on the workqueue it is running on, it
//!   is queued behind that run, on the same pool. That is all the kernel promises, and all
//!   cmwq does: queued on another workqueue while it runs, it can run there at the same
//!   time (an item queued on several workqueues must not rely on non-reentrancy).
//! - **max_active** bounds how many items of a workqueue run at once on one pool; the rest
//!   wait (inactive). Ordered workqueues run one item at a time in queueing order.
//! - **Concurrency management.** A pool keeps about one *running* worker while it has work:
//!   a worker that blocks inside a [`blocking`] scope (the userspace form of the kernel's
//!   scheduler hooks) lets the pool start the next item on another worker; an item that runs
//!   longer than the cpu-intensive threshold stops counting, so others start too.
//! - **Forward progress.** Worker threads are created on demand through a [`Spawner`], which
//!   may fail ([`ThreadSpawner`] can inject failure: [`FailurePlan`]). A workqueue built with
//!   [`WQ_MEM_RECLAIM`] owns a **rescuer** thread, created up front: when a pool cannot get a
//!   worker for `MAYDAY_INITIAL_TIMEOUT`, the rescuer runs that workqueue's items, picking them
//!   by its policy ([`Policy::Cursor`], the Linux 7.0 one, by default; [`Policy::Slurp`], the
//!   pre-7.0 one, and [`Policy::Rescan`] for comparison).
//! - **flush / cancel / drain.** [`Workqueue::flush_work`], [`Workqueue::flush`],
//!   [`Workqueue::drain`], [`Workqueue::cancel_work_sync`], `disable_work`/`enable_work`,
//!   delayed items ([`Workqueue::queue_delayed_work`], [`Workqueue::mod_delayed_work`]).
//!   Dropping a workqueue drains it (items still on a delay timer for it are queued at
//!   once first). [`Workqueue::flush_work_timeout`], [`Workqueue::flush_timeout`] and
//!   [`Workqueue::drain_timeout`] give up after a timeout ([`FlushError`]): as in the
//!   kernel, the work of a pool that can never get a worker waits for good unless a
//!   rescuer serves it, and the runtime says so at the first failed creation (a `warn`
//!   event naming the pool and the spawn error, once per stall). The item operations (`flush_work`, `cancel_work`,
//!   `cancel_work_sync`, `flush_delayed_work`, `cancel_delayed_work*`) act on the item
//!   wherever it is queued, as the kernel's do: its work head records where it was last
//!   queued, so through any workqueue they reach the item on its own workqueue (of this
//!   runtime or, found by a search when this one does not hold it, of another).
//!   Only [`Workqueue::flush`] and [`Workqueue::drain`] are about one workqueue.
//! - **Handles.** A [`Workqueue`] owns its workqueue (dropping it destroys it). A work
//!   item finds the workqueue it runs on with [`current_workqueue`], a [`WeakWorkqueue`]
//!   that queues on it without keeping it alive and is refused ([`QueueError::Destroyed`])
//!   once it is destroyed: a self-re-arming item needs no handle of its own.
//!   [`Workqueue::queue_fn`] returns the closure's item, to flush or cancel it by.
//! - **Lifetime.** A runtime of your own stops its threads when its last handle goes;
//!   the global one ([`Runtime::global`], under the system workqueues) lives for the
//!   process: its docs say why, and how to wait for work before the process exits.
//! - **Introspection.** [`Runtime::show_all_workqueues`] and [`Workqueue::show`] print the
//!   kernel's debug dump, byte for byte in its format; [`Workqueue::stats`] and
//!   [`Runtime::wq_monitor`] the monitoring counters; a lockup watchdog reports a pool that
//!   makes no progress through `tracing` (and [`RuntimeBuilder::lockup_hook`]). `tracing`
//!   events carry the kernel's tracepoint names (`workqueue_queue_work`,
//!   `workqueue_activate_work`, `workqueue_execute_start`, `workqueue_execute_end`), target
//!   `workqueue`, and, where the kernel has no tracepoint, names in its style:
//!   `workqueue_send_mayday`, `workqueue_rescuer_attach`, `workqueue_rescuer_detach`,
//!   `workqueue_worker_create` and `workqueue_worker_destroy` (with the pool's
//!   `nr_workers` and `nr_idle`). [`Runtime::snapshot`] gives the whole state as plain data
//!   (cmwq-dump's `Snapshot`, serialisable as JSON; the dump is one rendering of it), and
//!   [`Runtime::workers`] maps each worker id the dump prints to its thread.
//! - **Panics** in work functions are caught: the worker and the workqueue keep working, the
//!   panic is reported (`tracing`, [`WorkqueueStats::panics`], [`RuntimeBuilder::panic_hook`]).
//!
//! All decisions (which worker runs what, when to create workers, maydays, what the rescuer
//! takes) are made by the sans-IO core, `cmwq-pool`; this crate is its threaded driver: one
//! lock per pool, no lock held while a work function runs, and no allocation when an
//! existing `Arc` item is queued. `SLEEP.md` beside this crate describes how its threads
//! sleep and wake, its timers and its lock order.
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use std::sync::atomic::{AtomicUsize, Ordering};
//! use cmwq::{Work, WorkItem, Workqueue, WQ_UNBOUND, impl_has_work};
//!
//! struct Hello {
//!     work: Work<Self>,
//!     runs: AtomicUsize,
//! }
//! impl_has_work!(Hello { work });
//! impl WorkItem for Hello {
//!     fn run(this: Arc<Self>) {
//!         this.runs.fetch_add(1, Ordering::Relaxed);
//!     }
//! }
//!
//! let wq = Workqueue::builder("hello").flags(WQ_UNBOUND).max_active(4).build()?;
//! let item = Arc::new(Hello { work: Work::new(), runs: AtomicUsize::new(0) });
//! wq.queue_work(Arc::clone(&item)).expect("it was idle");
//! wq.flush_work(&item);
//! assert_eq!(item.runs.load(Ordering::Relaxed), 1);
//!
//! // Closures, and the system workqueues.
//! let (tx, rx) = std::sync::mpsc::channel();
//! cmwq::system_wq().queue_fn("send_func", move || tx.send(42).unwrap())?;
//! assert_eq!(rx.recv().unwrap(), 42);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Several heads in one item
//!
//! As a kernel struct may embed several `work_struct`s, an item may embed several heads,
//! `Work<Self, ID>`, each with its own [`WorkItem<ID>`](WorkItem) impl (its own `run` and
//! name). Each head is an item of its own to the workqueue: queued, flushed, cancelled and
//! disabled independently, and pending or running independently. Every operation that
//! takes an item takes the head's id as its last generic argument: it is inferred when the
//! type has one head, and named when it has several (`queue_work::<Device, RESET>`; on
//! Rust 1.89 and later `queue_work::<_, RESET>` also works).
//!
//! ```
//! use std::sync::Arc;
//! use std::sync::atomic::{AtomicUsize, Ordering};
//! use cmwq::{Work, WorkItem, Workqueue, WQ_UNBOUND, impl_has_work};
//!
//! const REFRESH: u64 = 0;
//! const RESET: u64 = 1;
//!
//! struct Device {
//!     refresh: Work<Self, REFRESH>,
//!     reset: Work<Self, RESET>,
//!     refreshes: AtomicUsize,
//!     resets: AtomicUsize,
//! }
//! impl_has_work!(Device { refresh => REFRESH, reset => RESET });
//! impl WorkItem<REFRESH> for Device {
//!     fn run(this: Arc<Self>) {
//!         this.refreshes.fetch_add(1, Ordering::Relaxed);
//!     }
//! }
//! impl WorkItem<RESET> for Device {
//!     fn run(this: Arc<Self>) {
//!         this.resets.fetch_add(1, Ordering::Relaxed);
//!     }
//!     fn name(&self) -> &str {
//!         "device_reset_fn"
//!     }
//! }
//!
//! let wq = Workqueue::new("device-wq", WQ_UNBOUND, 2)?;
//! let dev = Arc::new(Device {
//!     refresh: Work::new(),
//!     reset: Work::new(),
//!     refreshes: AtomicUsize::new(0),
//!     resets: AtomicUsize::new(0),
//! });
//! wq.queue_work::<Device, RESET>(Arc::clone(&dev)).expect("reset was idle");
//! wq.queue_work::<Device, REFRESH>(Arc::clone(&dev)).expect("refresh was idle");
//! wq.flush_work::<Device, RESET>(&dev);
//! wq.flush_work::<Device, REFRESH>(&dev);
//! assert_eq!(dev.resets.load(Ordering::Relaxed), 1);
//! assert_eq!(dev.refreshes.load(Ordering::Relaxed), 1);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod blocking;
mod config;
mod cpuclock;
mod error;
mod flags;
mod fnwork;
mod idle;
mod item;
mod panic;
mod rt;
mod runtime;
mod spawner;
mod stats;
mod sync;
mod system;
mod timer;
mod watch;
mod weak;
mod wq;

pub use blocking::{BlockingGuard, blocking};
pub use cmwq_pool::{ClockError, KernelClock, TimerModel};
pub use cmwq_rescue::{Policy, RescuerPolicy};
pub use cmwq_work::{FnWork, HasWork, Work, WorkHead, WorkItem, impl_has_work, work_fn};

/// Rescuer policies: the [`RescuerPolicy`] trait and what a policy of your own needs
/// (cmwq-rescue, re-exported).
pub use cmwq_rescue as rescue;
pub use config::{Affinity, Timings};
pub use error::{BuildError, DisableError, FlushError, MaxActiveError, QueueError, SpawnError};
pub use flags::*;
pub use fnwork::FnOnceWork;
pub use item::WorkId;
pub use panic::{PanicHook, WorkPanic};
pub use runtime::{Runtime, RuntimeBuilder, WorkerThread};
pub use spawner::{
    FailSwitch, FailurePlan, SpawnRequest, Spawner, SpawnerStats, ThreadBody, ThreadRole,
    ThreadSpawner,
};
pub use stats::WorkqueueStats;
pub use system::*;
pub use watch::{LockupHook, Stall};
pub use weak::{WeakWorkqueue, current_workqueue};
pub use wq::{Refused, Workqueue, WorkqueueBuilder};

/// The Rust examples of the repository's README.md, compiled and run as doctests so the
/// README stays true.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;
