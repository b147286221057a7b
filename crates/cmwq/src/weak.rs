//! A non-owning handle to a workqueue: what a work item gets from [`current_workqueue`] to
//! queue itself again, without a handle of its own that would keep the workqueue alive
//! (a [`Workqueue`](crate::Workqueue) destroys its workqueue when dropped, so the owner
//! keeps that one).

use std::fmt;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Duration;

use cmwq_work::{HasWork, WorkItem};

use crate::error::QueueError;
use crate::rt::{Shared, WqShared};
use crate::wq::Refused;

/// A non-owning handle to a workqueue: it queues on the workqueue while it lives and
/// keeps neither it nor its runtime alive. [`current_workqueue`] gives one to the work
/// item running now, [`Workqueue::downgrade`](crate::Workqueue::downgrade) to anyone.
///
/// Once the workqueue's destruction has begun (its [`Workqueue`](crate::Workqueue) was
/// dropped), every queueing through the handle is refused with
/// [`QueueError::Destroyed`], the item handed back: a self-re-arming item stops
/// re-arming, so the drain that destruction starts with comes to an end. Everything it
/// queued before is drained and runs.
///
/// A self-re-arming delayed item, with no handle of its own:
///
/// ```
/// use std::sync::{Arc, Mutex, mpsc};
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use std::time::Duration;
/// use cmwq::{QueueError, Work, WorkItem, Workqueue, WQ_UNBOUND, impl_has_work};
///
/// struct Poll {
///     work: Work<Self>,
///     left: AtomicU32,
///     done: Mutex<mpsc::Sender<()>>,
/// }
/// impl_has_work!(Poll { work });
/// impl WorkItem for Poll {
///     fn run(this: Arc<Self>) {
///         if this.left.fetch_sub(1, Ordering::Relaxed) == 1 {
///             this.done.lock().unwrap().send(()).unwrap();
///             return;
///         }
///         let wq = cmwq::current_workqueue().expect("runs on a workqueue");
///         // Refused once the workqueue is being destroyed: then the chain just ends.
///         let _ = wq.queue_delayed_work(this, Duration::from_millis(1));
///     }
/// }
///
/// let wq = Workqueue::new("poll-wq", WQ_UNBOUND, 1)?;
/// let (tx, rx) = mpsc::channel();
/// let poll = Arc::new(Poll {
///     work: Work::new(),
///     left: AtomicU32::new(3),
///     done: Mutex::new(tx),
/// });
/// wq.queue_delayed_work(Arc::clone(&poll), Duration::ZERO).expect("idle");
/// rx.recv()?; // the third run
/// assert_eq!(poll.left.load(Ordering::Relaxed), 0);
///
/// let weak = wq.downgrade();
/// drop(wq); // destroys the workqueue
/// let refused = weak.queue_work(poll).unwrap_err();
/// assert_eq!(refused.reason, QueueError::Destroyed);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct WeakWorkqueue {
    rt: Weak<Shared>,
    wq: Weak<WqShared>,
}

impl fmt::Debug for WeakWorkqueue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.wq.upgrade().map(|w| w.name.clone());
        f.debug_struct("WeakWorkqueue")
            .field("name", &name)
            .finish_non_exhaustive()
    }
}

/// `current_work`'s workqueue: a handle to the workqueue of the item the calling worker
/// thread runs now (`None` outside a work function). The kernel's work items find theirs
/// through the pointer they keep or `current_work()->...`; here an item needs neither a
/// field of its own for it nor a `Weak` of its own.
///
/// See [`WeakWorkqueue`] for a self-re-arming delayed item.
pub fn current_workqueue() -> Option<WeakWorkqueue> {
    crate::blocking::with_hooks(|h| h.current_workqueue()).flatten()
}

/// A CPU number as the core takes it (one too large for `u32` is refused there as
/// [`QueueError::NoSuchCpu`]).
fn cpu_of(cpu: usize) -> u32 {
    u32::try_from(cpu).unwrap_or(u32::MAX)
}

impl WeakWorkqueue {
    pub(crate) fn new(rt: &Arc<Shared>, wq: &Arc<WqShared>) -> Self {
        WeakWorkqueue {
            rt: Arc::downgrade(rt),
            wq: Arc::downgrade(wq),
        }
    }

    /// Run `f` on the workqueue if its destruction has not begun, under its weak gate
    /// (destruction waits for `f` to return).
    fn with<R>(&self, f: impl FnOnce(&Shared, &WqShared) -> R) -> Result<R, QueueError> {
        let (Some(rt), Some(wq)) = (self.rt.upgrade(), self.wq.upgrade()) else {
            return Err(QueueError::Destroyed);
        };
        let _gate = wq.weak_gate.read();
        if wq.destroyed.load(Ordering::Acquire) {
            return Err(QueueError::Destroyed);
        }
        Ok(f(&rt, &wq))
    }

    /// The workqueue's name, while it is not destroyed.
    pub fn name(&self) -> Option<String> {
        self.wq
            .upgrade()
            .filter(|w| !w.destroyed.load(Ordering::Acquire))
            .map(|w| w.name.clone())
    }

    /// Whether the workqueue's destruction has begun (its owner dropped it): every
    /// queueing through this handle is refused from then on.
    pub fn is_destroyed(&self) -> bool {
        self.wq
            .upgrade()
            .is_none_or(|w| w.destroyed.load(Ordering::Acquire))
    }

    /// [`Workqueue::queue_work`](crate::Workqueue::queue_work) through this handle; once
    /// the workqueue's destruction has begun, refused with [`QueueError::Destroyed`].
    pub fn queue_work<T: WorkItem<ID> + HasWork<ID>, const ID: u64>(
        &self,
        item: Arc<T>,
    ) -> Result<(), Refused<T>> {
        self.queue_inner::<T, ID>(item, None, None)
    }

    /// [`Workqueue::queue_work_on`](crate::Workqueue::queue_work_on) through this handle;
    /// refused as [`queue_work`](Self::queue_work) is.
    pub fn queue_work_on<T: WorkItem<ID> + HasWork<ID>, const ID: u64>(
        &self,
        cpu: usize,
        item: Arc<T>,
    ) -> Result<(), Refused<T>> {
        self.queue_inner::<T, ID>(item, None, Some(cpu_of(cpu)))
    }

    /// [`Workqueue::queue_delayed_work`](crate::Workqueue::queue_delayed_work) through
    /// this handle; once the workqueue's destruction has begun, refused with
    /// [`QueueError::Destroyed`].
    pub fn queue_delayed_work<T: WorkItem<ID> + HasWork<ID>, const ID: u64>(
        &self,
        item: Arc<T>,
        delay: Duration,
    ) -> Result<(), Refused<T>> {
        self.queue_inner::<T, ID>(item, Some(delay), None)
    }

    /// [`Workqueue::queue_delayed_work_on`](crate::Workqueue::queue_delayed_work_on)
    /// through this handle; refused as [`queue_delayed_work`](Self::queue_delayed_work)
    /// is.
    pub fn queue_delayed_work_on<T: WorkItem<ID> + HasWork<ID>, const ID: u64>(
        &self,
        cpu: usize,
        item: Arc<T>,
        delay: Duration,
    ) -> Result<(), Refused<T>> {
        self.queue_inner::<T, ID>(item, Some(delay), Some(cpu_of(cpu)))
    }

    /// Queue now (`delay` `None`) or after `delay`, on `cpu`'s pool if given.
    fn queue_inner<T: WorkItem<ID> + HasWork<ID>, const ID: u64>(
        &self,
        item: Arc<T>,
        delay: Option<Duration>,
        cpu: Option<u32>,
    ) -> Result<(), Refused<T>> {
        let mut item = Some(item);
        let r = self.with(|rt, wq| {
            let item = item.take().expect("taken once");
            match delay {
                None => wq.queue::<T, ID>(rt, item, cpu),
                Some(d) => wq.queue_delayed::<T, ID>(rt, item, d, cpu),
            }
        });
        match r {
            Ok(r) => r,
            Err(reason) => Err(Refused {
                item: item.take().expect("not taken when refused"),
                reason,
            }),
        }
    }

    /// [`Workqueue::mod_delayed_work`](crate::Workqueue::mod_delayed_work) through this
    /// handle; once the workqueue's destruction has begun, refused with
    /// [`QueueError::Destroyed`].
    pub fn mod_delayed_work<T: WorkItem<ID> + HasWork<ID>, const ID: u64>(
        &self,
        item: &Arc<T>,
        delay: Duration,
    ) -> Result<bool, QueueError> {
        self.with(|rt, wq| wq.mod_delayed::<T, ID>(rt, item, delay))?
    }
}

impl crate::Workqueue {
    /// A non-owning handle to this workqueue, to queue on it without keeping it alive
    /// (see [`WeakWorkqueue`]); a work item running on it gets the same from
    /// [`current_workqueue`](crate::current_workqueue).
    pub fn downgrade(&self) -> WeakWorkqueue {
        WeakWorkqueue::new(&self.rt.shared, &self.inner)
    }
}
