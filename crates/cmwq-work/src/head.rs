//! `WorkHead`: the part embedded in every work item, and the atomic operations on its data
//! word.

use core::fmt;
use core::marker::PhantomData;
use core::ops::Deref;
use core::ptr::NonNull;

use cmwq_list::{Element, Node};
use thiserror::Error;

use crate::data::{
    self, OffqFlags, PoolId, PwqId, WORK_DATA_INIT, WORK_OFFQ_DISABLE_MAX, WorkData, WorkFlags,
};
use crate::item::{HasWork, WorkItem, WorkVTable, vtable_of};
use crate::raw::WorkHeadRaw;
use crate::sync::{AtomicUsize, Ordering};

/// The part embedded in every work item (the kernel's `struct work_struct`): its list node,
/// its data word, and through the node's metadata its type's [`WorkVTable`].
///
/// 32 bytes on 64-bit targets, like the kernel's `work_struct`. Only this crate's methods
/// change the data word.
///
/// A head is never built on its own: an item embeds a [`Work<Self, ID>`](Work), whose
/// constructor installs the vtable of that item type and head id, and every list, pool and
/// data-word operation sees the [`WorkHead`] inside it. So the vtable a head carries always
/// belongs to the type it is embedded in. Linking a head onto a [`cmwq_list::List`] by hand
/// (rather than through [`WorkList`](crate::WorkList)) adds to that list's `unsafe`
/// contract: the head must be pushed with the pointer of a [`WorkRef`](crate::WorkRef) and
/// held by it while linked, because [`LinkedWork`](crate::LinkedWork) reaches the item
/// through the pointer the list stored.
///
/// # Memory ordering of the data word
///
/// Every write to the word is a read-modify-write (`swap`, `fetch_or`, `fetch_and`,
/// `compare_exchange`), never a plain store. That keeps one property the queue path relies
/// on: a release RMW heads a *release sequence* that every later RMW on the word continues,
/// so an acquiring RMW later in the word's modification order synchronizes with *every*
/// earlier releasing one. Concretely, the kernel's guarantee "if `queue_work` finds the item
/// already pending, the run that follows sees what the queuer wrote before it" holds here
/// because:
///
/// - the queuer's [`WorkHead::test_and_set_pending`] always writes with `AcqRel`, also when
///   PENDING was already set (a successful `compare_exchange(old, old)`), so its earlier
///   writes are released into the word;
/// - the worker clears PENDING with an `AcqRel` swap ([`WorkHead::set_pool_and_clear_pending`])
///   before it runs the item: if the queuer's write came first, the worker acquires it and the
///   run sees the queuer's data; if it came after, the queuer saw PENDING clear, took it, and
///   queued the item again.
///
/// Reads are `Acquire` loads: cheap, and a reader that sees a pwq id or a pool id also sees
/// what was written before that word was (by the pool lock holder that wrote it).
/// Updates made under the pool lock (pwq, colour, INACTIVE, LINKED) are ordered among
/// themselves by that lock; they are still RMWs so as not to break a queuer's release
/// sequence.
#[repr(C)]
pub struct WorkHead {
    node: Node<WorkVTable>,
    data: AtomicUsize,
}

// (loom's atomics are larger: the size holds for the atomics that ship.)
#[cfg(not(loom))]
static_assertions::const_assert!(
    core::mem::size_of::<usize>() != 8 || core::mem::size_of::<WorkHead>() <= 32
);

// SAFETY: the node is the first field (`repr(C)`), so a pointer to it is a pointer to the
// head with the same provenance; `node` always returns that field.
unsafe impl Element for WorkHead {
    type Meta = WorkVTable;

    fn node(&self) -> &Node<WorkVTable> {
        &self.node
    }

    unsafe fn from_node(node: NonNull<Node<WorkVTable>>) -> NonNull<Self> {
        node.cast()
    }
}

/// `test_and_set_pending` found the item disabled (`disable_work`): queueing is refused.
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
#[error("work item is disabled (disable count {count}): queueing refused")]
pub struct WorkDisabled {
    /// The disable count found.
    pub count: u16,
}

/// Why a disable or enable could not be applied to the data word.
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
pub enum DisableError {
    /// The word holds a pwq id (the item is queued), so there is no disable count to change;
    /// grab PENDING (cancel) first, as the kernel's `disable_work` does.
    #[error("work item is queued on pwq {pwq:?}: grab it off the queue before (en|dis)abling")]
    OnQueue {
        /// The pwq the item is queued on.
        pwq: PwqId,
    },
    /// The disable count is already at its maximum.
    #[error("disable count overflow: already {WORK_OFFQ_DISABLE_MAX}")]
    Overflow,
    /// `enable` without a matching `disable` (the kernel WARNs).
    #[error("enable without a matching disable: the disable count is 0")]
    NotDisabled,
}

/// The off-queue contents of a data word (the kernel's `struct work_offq_data`).
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub struct WorkOffqData {
    /// The pool the item last ran on, if any.
    pub pool: Option<PoolId>,
    /// The disable count.
    pub disable: u16,
    /// Off-queue flags (BH).
    pub flags: OffqFlags,
}

impl WorkOffqData {
    /// Last pool `pool`, not disabled, no flags.
    pub const fn pool(pool: PoolId) -> Self {
        Self {
            pool: Some(pool),
            disable: 0,
            flags: OffqFlags::empty(),
        }
    }
}

impl WorkHead {
    /// An idle head (not pending, no pool: `WORK_DATA_INIT`) carrying `vtable`; only
    /// [`Work`]'s constructors call it, with the vtable of the type the `Work` is for.
    #[cfg(not(loom))]
    pub(crate) const fn with_vtable(vtable: &'static WorkVTable) -> Self {
        Self {
            node: Node::new(vtable),
            data: AtomicUsize::new(WORK_DATA_INIT),
        }
    }

    /// [`WorkHead::with_vtable`] under loom (not `const`: loom's atomics are not).
    #[cfg(loom)]
    pub(crate) fn with_vtable(vtable: &'static WorkVTable) -> Self {
        Self {
            node: Node::new(vtable),
            data: AtomicUsize::new(WORK_DATA_INIT),
        }
    }

    pub(crate) fn vtable(&self) -> &'static WorkVTable {
        self.node.meta()
    }

    /// Whether the head is on a list now (one relaxed load; exact under the list's lock).
    pub fn is_linked(&self) -> bool {
        self.node.is_linked()
    }

    /// The short name of the item type this head was made for (the default
    /// [`WorkItem::name`]). The item's own name is [`WorkRef::name`](crate::WorkRef::name),
    /// or [`LinkedWork::name`](crate::LinkedWork::name) for an item met on a list: a head
    /// alone does not reach its item.
    pub fn type_name(&self) -> &'static str {
        (self.vtable().type_name)()
    }

    /// Whether this is a flush barrier's head
    /// ([`raw::barrier_work`](crate::raw::barrier_work)): a property of the item's type,
    /// read from the head alone.
    pub fn is_barrier(&self) -> bool {
        self.vtable().is_barrier
    }

    /// The decoded data word (`Acquire`).
    pub fn data(&self) -> WorkData {
        WorkData::from_raw(self.raw_data())
    }

    /// The flag bits (`Acquire`).
    pub fn flags(&self) -> WorkFlags {
        self.data().flags()
    }

    /// Whether PENDING is set (`Acquire`).
    pub fn is_pending(&self) -> bool {
        self.raw_data() & WorkFlags::PENDING.bits() != 0
    }

    /// The pwq the item is queued on, when PWQ is set (the kernel's `get_work_pwq`).
    pub fn pwq(&self) -> Option<PwqId> {
        match self.data() {
            WorkData::OnQueue { pwq, .. } => Some(pwq),
            WorkData::OffQueue { .. } => None,
        }
    }

    /// The pool the item last ran on, when off queue (`get_work_pool_id` off queue).
    pub fn last_pool(&self) -> Option<PoolId> {
        match self.data() {
            WorkData::OnQueue { .. } => None,
            WorkData::OffQueue { pool, .. } => pool,
        }
    }

    /// The flush colour while on queue; 0 off queue.
    pub fn color(&self) -> u8 {
        match self.data() {
            WorkData::OnQueue { color, .. } => color,
            WorkData::OffQueue { .. } => 0,
        }
    }

    /// The disable count (0 while on queue).
    pub fn disable_count(&self) -> u16 {
        data::disable_count(self.raw_data())
    }

    /// The off-queue contents, or `None` while on queue (`work_offqd_unpack`).
    pub fn offq_data(&self) -> Option<WorkOffqData> {
        let raw = self.raw_data();
        match WorkData::from_raw(raw) {
            WorkData::OnQueue { .. } => None,
            WorkData::OffQueue { pool, disable, .. } => Some(WorkOffqData {
                pool,
                disable,
                flags: data::offq_flags(raw),
            }),
        }
    }
}

impl WorkHeadRaw for WorkHead {
    fn raw_data(&self) -> usize {
        self.data.load(Ordering::Acquire)
    }

    fn test_and_set_pending(&self) -> Result<bool, WorkDisabled> {
        let mut old = self.data.load(Ordering::Acquire);
        loop {
            let (new, took) = if old & WorkFlags::PENDING.bits() != 0 {
                // Write the same value back: an RMW that joins the release sequence.
                (old, false)
            } else {
                let count = data::disable_count(old);
                if count != 0 {
                    return Err(WorkDisabled { count });
                }
                (old | WorkFlags::PENDING.bits(), true)
            };
            match self
                .data
                .compare_exchange_weak(old, new, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return Ok(took),
                Err(now) => old = now,
            }
        }
    }

    fn grab_pending(&self) -> bool {
        self.data
            .fetch_or(WorkFlags::PENDING.bits(), Ordering::AcqRel)
            & WorkFlags::PENDING.bits()
            == 0
    }

    fn set_pwq(&self, pwq: PwqId, color: u8, extra: WorkFlags) {
        let extra = extra & (WorkFlags::INACTIVE | WorkFlags::LINKED);
        let new = data::encode_on_queue(pwq, color, extra | WorkFlags::PENDING);
        let old = self.data.swap(new, Ordering::AcqRel);
        debug_assert!(
            old & WorkFlags::PENDING.bits() != 0,
            "cmwq-work: set_pwq without owning PENDING"
        );
    }

    fn set_inactive(&self, on: bool) {
        if on {
            self.set_flags(WorkFlags::INACTIVE);
        } else {
            self.clear_flags(WorkFlags::INACTIVE);
        }
    }

    fn set_flags(&self, flags: WorkFlags) {
        let flags = flags & (WorkFlags::INACTIVE | WorkFlags::LINKED);
        self.data.fetch_or(flags.bits(), Ordering::Release);
    }

    fn clear_flags(&self, flags: WorkFlags) {
        let flags = flags & (WorkFlags::INACTIVE | WorkFlags::LINKED);
        self.data.fetch_and(!flags.bits(), Ordering::Release);
    }

    fn set_pool_and_clear_pending(&self, pool: PoolId) {
        self.set_offqd_and_clear_pending(WorkOffqData::pool(pool));
    }

    fn set_offqd_and_clear_pending(&self, offqd: WorkOffqData) {
        let new =
            data::encode_off_queue(WorkFlags::empty(), offqd.pool, offqd.disable, offqd.flags);
        self.data.swap(new, Ordering::AcqRel);
    }

    fn set_pool_keep_pending(&self, pool: PoolId) {
        self.set_offqd_keep_pending(WorkOffqData::pool(pool));
    }

    fn set_offqd_keep_pending(&self, offqd: WorkOffqData) {
        let new =
            data::encode_off_queue(WorkFlags::PENDING, offqd.pool, offqd.disable, offqd.flags);
        self.data.swap(new, Ordering::AcqRel);
    }

    fn clear_pending(&self) {
        let old = self
            .data
            .fetch_and(!WorkFlags::PENDING.bits(), Ordering::AcqRel);
        debug_assert!(
            old & WorkFlags::PWQ.bits() == 0,
            "cmwq-work: clear_pending on a queued item (use set_pool_and_clear_pending)"
        );
    }

    fn disable(&self) -> Result<u16, DisableError> {
        self.update_disable(|count| count.checked_add(1).ok_or(DisableError::Overflow))
    }

    fn enable(&self) -> Result<u16, DisableError> {
        self.update_disable(|count| count.checked_sub(1).ok_or(DisableError::NotDisabled))
    }
}

impl WorkHead {
    fn update_disable(
        &self,
        f: impl Fn(u16) -> Result<u16, DisableError>,
    ) -> Result<u16, DisableError> {
        let mut old = self.data.load(Ordering::Acquire);
        loop {
            if let WorkData::OnQueue { pwq, .. } = WorkData::from_raw(old) {
                return Err(DisableError::OnQueue { pwq });
            }
            let count = f(data::disable_count(old))?;
            let new = data::with_disable_count(old, count);
            match self
                .data
                .compare_exchange_weak(old, new, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return Ok(count),
                Err(now) => old = now,
            }
        }
    }
}

impl fmt::Debug for WorkHead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkHead")
            .field("type", &self.type_name())
            .field("id", &self.vtable().id)
            .field("data", &self.data())
            .field("linked", &self.is_linked())
            .finish()
    }
}

/// The work head an item embeds, typed by the item and the head's id (the kernel's
/// `struct work_struct` as Rust-for-Linux's `Work<T, ID>` types it): a [`WorkHead`] whose
/// vtable runs `<T as WorkItem<ID>>::run`.
///
/// A field of type `Work<Self>` (or `Work<Self, ID>`) is declared with
/// [`impl_has_work!`](crate::impl_has_work) and filled with [`Work::new()`]: the item type and
/// the id come from the field's type, so nothing is repeated, and a `Work` made for another
/// type or another id does not fit the field (it fails to compile). `ID` tells the heads of
/// one item apart: an item that the kernel would give several `work_struct`s (a device with
/// a reset work and a refresh work) embeds one `Work<Self, ID>` per head, each with its own
/// [`WorkItem<ID>`] impl, and each is queued, flushed and cancelled on its own (see
/// [`WorkItem`] for an example).
///
/// `#[repr(transparent)]` over its [`WorkHead`], so 32 bytes too; it derefs to that head,
/// which is what lists, pools and the data word see. The type parameter is only a marker
/// (`PhantomData<fn() -> T>`): a `Work<T>` is `Send` and `Sync` and adds no drop-check
/// constraint whatever `T` is.
#[repr(transparent)]
pub struct Work<T, const ID: u64 = 0> {
    head: WorkHead,
    _item: PhantomData<fn() -> T>,
}

#[cfg(not(loom))]
static_assertions::const_assert!(
    core::mem::size_of::<usize>() != 8 || core::mem::size_of::<Work<()>>() <= 32
);

impl<T: WorkItem<ID> + HasWork<ID>, const ID: u64> Work<T, ID> {
    /// An idle head for `T`'s head number `ID` (not pending, no pool: `WORK_DATA_INIT`),
    /// running `<T as WorkItem<ID>>::run`.
    #[cfg(not(loom))]
    pub const fn new() -> Self {
        Self::with_vtable(vtable_of::<T, ID>())
    }

    /// [`Work::new`] under loom (not `const`: loom's atomics are not).
    #[cfg(loom)]
    pub fn new() -> Self {
        Self::with_vtable(vtable_of::<T, ID>())
    }
}

/// [`Work::new()`]: so an item type can derive `Default` (the head is made for the type it
/// is embedded in, as with `new`).
impl<T: WorkItem<ID> + HasWork<ID>, const ID: u64> Default for Work<T, ID> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T, const ID: u64> Work<T, ID> {
    /// A head carrying `vtable`, which must be the vtable of `(T, ID)` (the default one or
    /// the barrier one): the invariant `WorkRef::try_into_arc` relies on.
    #[cfg(not(loom))]
    pub(crate) const fn with_vtable(vtable: &'static WorkVTable) -> Self {
        Work {
            head: WorkHead::with_vtable(vtable),
            _item: PhantomData,
        }
    }

    /// [`Work::with_vtable`] under loom.
    #[cfg(loom)]
    pub(crate) fn with_vtable(vtable: &'static WorkVTable) -> Self {
        Work {
            head: WorkHead::with_vtable(vtable),
            _item: PhantomData,
        }
    }
}

impl<T, const ID: u64> Deref for Work<T, ID> {
    type Target = WorkHead;

    /// The untyped head: what lists, pools and the data-word operations take.
    fn deref(&self) -> &WorkHead {
        &self.head
    }
}

impl<T, const ID: u64> fmt::Debug for Work<T, ID> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Work")
            .field("type", &self.type_name())
            .field("id", &ID)
            .field("data", &self.data())
            .field("linked", &self.is_linked())
            .finish()
    }
}
