//! Errors of the cmwq runtime.

use std::io;

/// Why a workqueue could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The name is empty or longer than the kernel's `WQ_NAME_LEN - 1` bytes.
    #[error("workqueue name {name:?} is {len} bytes long; expected 1 to {max} bytes")]
    BadName {
        /// The name that was given.
        name: String,
        /// Its length in bytes.
        len: usize,
        /// The longest name accepted.
        max: usize,
    },
    /// The NUMA node map does not name one node per CPU.
    #[error(
        "the NUMA node map names {given} CPUs; expected one node for each of the {nr_cpus} CPUs"
    )]
    BadNumaNodes {
        /// Entries given.
        given: usize,
        /// The runtime's CPUs.
        nr_cpus: usize,
    },
    /// `max_active` is outside `1..=WQ_MAX_ACTIVE`.
    #[error("max_active {given} is out of range; expected 1 to {max} (or 0 for the default)")]
    BadMaxActive {
        /// The value that was given.
        given: u32,
        /// `WQ_MAX_ACTIVE`.
        max: u32,
    },
    /// Two flags that exclude each other were given (for example an ordered queue with
    /// `max_active` other than 1).
    #[error("conflicting workqueue settings: {0}")]
    Conflict(&'static str),
    /// The rescuer thread of a `WQ_MEM_RECLAIM` workqueue could not be created.
    #[error("could not create the rescuer thread of workqueue {name:?}: {source}")]
    Rescuer {
        /// The workqueue's name.
        name: String,
        /// Why the spawner refused.
        #[source]
        source: SpawnError,
    },
    /// A runtime needs 1 to 1024 CPUs.
    #[error("nr_cpus {given} is out of range; expected 1 to 1024")]
    BadNrCpus {
        /// The value that was given.
        given: usize,
    },
    /// The runtime's timer thread could not be created.
    #[error("could not create the runtime's timer thread: {0}")]
    Timer(#[source] SpawnError),
    /// The runtime was shut down.
    #[error("the cmwq runtime is shut down")]
    ShutDown,
    /// The core refused the workqueue's specification.
    #[error("workqueue refused: {0}")]
    Spec(#[source] cmwq_pool::WqError),
    /// The core refused to add a pwq to a pool.
    #[error("pwq refused: {0}")]
    Pwq(#[source] cmwq_pool::PoolError),
}

impl BuildError {
    /// The core refused the specification of workqueue `name` (`max_active` as given):
    /// its errors in the runtime's terms.
    pub(crate) fn from_spec(e: cmwq_pool::WqError, name: &str, max_active: u32) -> BuildError {
        use cmwq_pool::WqError as E;
        match e {
            E::EmptyName | E::NameTooLong { .. } => BuildError::BadName {
                name: name.to_owned(),
                len: name.len(),
                max: cmwq_pool::WQ_NAME_LEN - 1,
            },
            E::MaxActiveOutOfRange { .. } => BuildError::BadMaxActive {
                given: max_active,
                max: u32::from(cmwq_pool::WQ_MAX_ACTIVE),
            },
            E::OrderedMaxActive { .. } => {
                BuildError::Conflict("an ordered workqueue has max_active 1")
            }
            E::UnboundAndPercpu => {
                BuildError::Conflict("WQ_UNBOUND and WQ_PERCPU exclude each other")
            }
            E::Unsupported { .. } => BuildError::Conflict(
                "WQ_BH: userspace has no softirq context to run bottom-half work in",
            ),
            E::Pool(p) => BuildError::Pwq(p),
            e => BuildError::Spec(e),
        }
    }
}

impl From<cmwq_pool::WqError> for BuildError {
    fn from(e: cmwq_pool::WqError) -> Self {
        BuildError::Spec(e)
    }
}

impl From<cmwq_pool::PoolError> for BuildError {
    fn from(e: cmwq_pool::PoolError) -> Self {
        BuildError::Pwq(e)
    }
}

/// Why a [`Spawner`](crate::Spawner) did not create a thread.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SpawnError {
    /// The operating system refused (`std::thread::Builder::spawn` failed).
    #[error("the OS refused to create thread {name:?}: {source}")]
    Os {
        /// The thread's name.
        name: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The spawner's cap on live workers is reached.
    #[error("worker cap reached: {live} live workers, at most {max} allowed")]
    Cap {
        /// Workers alive now.
        live: usize,
        /// The configured cap.
        max: usize,
    },
    /// The [`Spawner`](crate::Spawner) panicked. The runtime caught the panic and treats
    /// it as a failed attempt (a worker is retried after `CREATE_COOLDOWN`, and the
    /// rescuers are called meanwhile).
    #[error("the spawner panicked creating thread {name:?}: {message}")]
    Panicked {
        /// The thread's name.
        name: String,
        /// The panic's message.
        message: String,
    },
    /// A failure injected on purpose (tests and benches) by a [`FailurePlan`](crate::FailurePlan).
    #[error("worker creation failure injected by {plan} (try #{attempt})")]
    Injected {
        /// Which plan refused, e.g. `"every 3rd try"`.
        plan: String,
        /// The number of the try that was refused (counting from 1).
        attempt: u64,
    },
}

/// Why a `set_max_active` call was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum MaxActiveError {
    /// The value is outside `1..=WQ_MAX_ACTIVE`.
    #[error("max_active {given} is out of range; expected 1 to {max}")]
    OutOfRange {
        /// The value that was given.
        given: u32,
        /// `WQ_MAX_ACTIVE`.
        max: u32,
    },
    /// Ordered workqueues run one item at a time; their max_active is fixed at 1.
    #[error("workqueue {0:?} is ordered; its max_active is fixed at 1")]
    Ordered(String),
}

/// Why an item could not be queued.
#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone, Copy)]
#[non_exhaustive]
pub enum QueueError {
    /// The item is already pending: this queueing is a no-op (the pending run covers it).
    #[error("the work item is already pending")]
    AlreadyPending,
    /// The item is disabled (`disable_work`) and cannot be queued until enabled.
    #[error("the work item is disabled")]
    Disabled,
    /// The workqueue is draining: only its own items may queue on it.
    #[error("the workqueue is draining; only its own work items may queue on it")]
    Draining,
    /// The workqueue is destroyed.
    #[error("the workqueue is destroyed")]
    Destroyed,
    /// The chosen CPU is not one of the runtime's CPUs.
    #[error("cpu {cpu} does not exist; the runtime has cpus 0 to {}", .nr_cpus - 1)]
    NoSuchCpu {
        /// The CPU asked for.
        cpu: usize,
        /// How many CPUs the runtime has.
        nr_cpus: usize,
    },
}

impl QueueError {
    pub(crate) fn from_core(e: cmwq_pool::QueueError) -> QueueError {
        use cmwq_pool::QueueError as C;
        match e {
            C::AlreadyPending => QueueError::AlreadyPending,
            C::Disabled => QueueError::Disabled,
            C::Draining(_) => QueueError::Draining,
            C::NoSuchCpu { cpu, nr_cpus } => QueueError::NoSuchCpu {
                cpu: cpu as usize,
                nr_cpus: nr_cpus as usize,
            },
            _ => QueueError::Destroyed,
        }
    }
}

/// Why a `disable_work` call was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone, Copy)]
#[non_exhaustive]
pub enum DisableError {
    /// The item is disabled 65 535 times already (the data word's 16-bit count): one more
    /// would be lost, and with it the matching `enable_work`. Nothing was changed.
    #[error("work item is disabled {count} times already; the count cannot go higher")]
    Overflow {
        /// The disable count (`u16::MAX`).
        count: u16,
    },
}

/// Why a flush or drain with a timeout ([`Workqueue::flush_work_timeout`],
/// [`Workqueue::flush_timeout`], [`Workqueue::drain_timeout`]) gave up.
///
/// [`Workqueue::flush_work_timeout`]: crate::Workqueue::flush_work_timeout
/// [`Workqueue::flush_timeout`]: crate::Workqueue::flush_timeout
/// [`Workqueue::drain_timeout`]: crate::Workqueue::drain_timeout
#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone, Copy)]
#[non_exhaustive]
pub enum FlushError {
    /// What was waited for had not finished when the timeout passed (for example, its
    /// pool cannot create a worker and no rescuer serves it). Nothing was undone: the
    /// items still run when they can.
    #[error("gave up after {timeout:?}: the work waited for has not finished")]
    TimedOut {
        /// The timeout given.
        timeout: std::time::Duration,
    },
    /// Called from the work item waited for, or (flush, drain) from one of the
    /// workqueue's own items: it would wait for itself.
    #[error("refused: called from the work it would wait for")]
    WouldWaitForItself,
}
