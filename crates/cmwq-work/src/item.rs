//! Work items: the `WorkItem<ID>` trait, `HasWork<ID>` and its macro, the vtable of each
//! item type and head id, the type-erased owning `WorkRef`, and closure items.
//!
//! Provenance rule: a `WorkRef` keeps the pointer `Arc::into_raw` gave (projected to the
//! head by address arithmetic), so running, dropping or cloning through it never goes
//! through a `&WorkHead` reference, and the lists store and hand back that same pointer.
//! The item is only ever reached from a pointer with that provenance (a `WorkRef`, or the
//! [`ElemRef`] a list's iteration yields, through [`LinkedWork`]); never from a
//! `&WorkHead`, whose provenance covers the head only. No provenance is exposed.

use core::any::TypeId;
use core::fmt;
use core::mem::ManuallyDrop;
use core::ptr::NonNull;
use std::sync::Arc;

use cmwq_list::ElemRef;

use crate::head::{Work, WorkHead};
use crate::raw::BarrierWork;

/// A work item (shaped like Rust-for-Linux's `WorkItem`): a type that embeds a
/// [`Work<Self, ID>`](Work) head (declared with [`impl_has_work!`](crate::impl_has_work)), is
/// queued as an `Arc<Self>`, and whose `run` receives that `Arc`.
///
/// `ID` names one of the item's heads, `0` unless said otherwise. An item with one head
/// implements `WorkItem` (that is, `WorkItem<0>`) and embeds a `Work<Self>`; an item that
/// needs several heads (the kernel often embeds several `work_struct`s in one struct, as a
/// device with a reset work and a refresh work) embeds a `Work<Self, ID>` per head and
/// implements `WorkItem<ID>` for each, with its own `run` and `name`. Each head is queued,
/// run, flushed and cancelled on its own: it is its own `work_struct`, with its own pending
/// bit and its own place on a worklist.
///
/// The bounds are what running on another thread needs: the `Arc` is sent to a worker
/// (`Send + Sync`), and the item outlives any borrow (`'static`).
///
/// Two heads on one item, each running its own function:
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use cmwq_work::{Work, WorkItem, WorkRef, impl_has_work};
///
/// const RESET: u64 = 1;
///
/// struct Device {
///     refresh: Work<Self>,
///     reset: Work<Self, RESET>,
///     refreshed: AtomicU32,
///     resets: AtomicU32,
/// }
/// impl_has_work!(Device { refresh => 0, reset => RESET });
/// impl WorkItem for Device {
///     fn run(this: Arc<Self>) {
///         this.refreshed.fetch_add(1, Ordering::Relaxed);
///     }
/// }
/// impl WorkItem<RESET> for Device {
///     fn run(this: Arc<Self>) {
///         this.resets.fetch_add(1, Ordering::Relaxed);
///     }
///     fn name(&self) -> &str {
///         "device_reset_fn"
///     }
/// }
///
/// let dev = Arc::new(Device {
///     refresh: Work::new(),
///     reset: Work::new(),
///     refreshed: AtomicU32::new(0),
///     resets: AtomicU32::new(0),
/// });
/// // With two heads, say which one: the id is the second generic argument.
/// let reset = WorkRef::from_arc::<Device, RESET>(dev.clone());
/// let refresh = WorkRef::from_arc::<Device, 0>(dev.clone());
/// assert_eq!(reset.name(), "device_reset_fn");
/// assert_eq!(refresh.name(), "Device");
/// reset.run();
/// assert_eq!((dev.refreshed.load(Ordering::Relaxed), dev.resets.load(Ordering::Relaxed)), (0, 1));
/// refresh.run();
/// assert_eq!((dev.refreshed.load(Ordering::Relaxed), dev.resets.load(Ordering::Relaxed)), (1, 1));
/// ```
///
/// For a type with one head the id is inferred (the one impl that applies decides it):
/// `WorkRef::from_arc(item)`, `wq.queue_work(item)`. With several, it must be named, as
/// above (`from_arc::<Device, RESET>`, or `::<_, RESET>` on Rust 1.89 and later); leaving it
/// out does not compile:
///
/// ```compile_fail,E0283
/// # use std::sync::Arc;
/// # use cmwq_work::{Work, WorkItem, WorkRef, impl_has_work};
/// struct Device {
///     refresh: Work<Self>,
///     reset: Work<Self, 1>,
/// }
/// impl_has_work!(Device { refresh => 0, reset => 1 });
/// impl WorkItem for Device {
///     fn run(_this: Arc<Self>) {}
/// }
/// impl WorkItem<1> for Device {
///     fn run(_this: Arc<Self>) {}
/// }
/// let dev = Arc::new(Device { refresh: Work::new(), reset: Work::new() });
/// let _ = WorkRef::from_arc(dev); // which head?
/// ```
///
/// An item that is not `Send + Sync` is refused:
///
/// ```compile_fail,E0277
/// use std::{rc::Rc, sync::Arc};
/// use cmwq_work::{Work, WorkItem};
/// // Rc is neither Send nor Sync: such an item cannot be a WorkItem.
/// struct NotSend {
///     work: Work<Self>,
///     shared: Rc<u32>,
/// }
/// impl WorkItem for NotSend {
///     fn run(_this: Arc<Self>) {}
/// }
/// ```
///
/// A head needs the `WorkItem` impl of its id (here `WorkItem<1>` is missing):
///
/// ```compile_fail,E0277
/// # use std::sync::Arc;
/// # use cmwq_work::{Work, WorkItem, impl_has_work};
/// struct Half {
///     refresh: Work<Self>,
///     reset: Work<Self, 1>,
/// }
/// impl_has_work!(Half { refresh => 0, reset => 1 });
/// impl WorkItem for Half {
///     fn run(_this: Arc<Self>) {}
/// }
/// let _ = Half { refresh: Work::new(), reset: Work::new() };
/// ```
pub trait WorkItem<const ID: u64 = 0>: Send + Sync + 'static {
    /// The work function of head `ID`.
    fn run(this: Arc<Self>);

    /// What the dump prints for head `ID` of this item (the kernel prints the work
    /// function's name). By default the type's name without its module path.
    fn name(&self) -> &str {
        short_type_name::<Self>()
    }
}

/// The type's name without module paths (`a::b::Foo<c::Bar>` -> `Foo<Bar>`).
fn short_type_name<T: ?Sized>() -> &'static str {
    let full = core::any::type_name::<T>();
    // Keep generic arguments out of the cut: take the last path segment of the base name.
    let base_end = full.find('<').unwrap_or(full.len());
    let start = full[..base_end].rfind("::").map_or(0, |i| i + 2);
    &full[start..base_end]
}

/// A type with a [`Work<Self, ID>`](Work) field at a fixed offset: its head number `ID`.
///
/// Implement it with [`impl_has_work!`](crate::impl_has_work), which computes the offset
/// with `offset_of!` and checks the field's type. The trait has no provided method: the
/// pointer arithmetic built on it is this crate's own.
///
/// # Safety
///
/// [`HasWork::WORK_OFFSET`] is the byte offset within `Self` of a field of type
/// [`Work<Self, ID>`](Work), and [`HasWork::work_head`] returns a reference to that same
/// field.
pub unsafe trait HasWork<const ID: u64 = 0>: Sized {
    /// Byte offset of head `ID` within `Self`.
    const WORK_OFFSET: usize;

    /// The embedded head number `ID`.
    fn work_head(&self) -> &Work<Self, ID>;
}

/// Head `ID` of the item at `ptr`, keeping `ptr`'s provenance.
///
/// # Safety
///
/// `ptr` points to a live `T`.
unsafe fn raw_work_head<T: HasWork<ID>, const ID: u64>(ptr: *const T) -> *const WorkHead {
    // SAFETY: the offset is within `T` (`HasWork`'s contract) and `ptr` is live. `Work` is
    // `repr(transparent)` over `WorkHead`, so the field's address is its head's.
    unsafe { ptr.byte_add(T::WORK_OFFSET).cast() }
}

/// The item that embeds `head` as its head `ID` (`container_of`), keeping `head`'s
/// provenance.
///
/// # Safety
///
/// `head` points to the head field number `ID` of a live `T`, with provenance over the
/// whole `T`.
unsafe fn from_work_head<T: HasWork<ID>, const ID: u64>(head: *const WorkHead) -> *const T {
    // SAFETY: stepping back by the field's offset stays within the live `T`.
    unsafe { head.byte_sub(T::WORK_OFFSET).cast() }
}

/// Implement [`HasWork`] for a type from the names of its [`Work`] fields.
///
/// - `impl_has_work!(MyItem { work })`: one head, `work: Work<Self>` (id 0);
/// - `impl_has_work!(MyItem { refresh => 0, reset => RESET })`: several heads, each field
///   with its id (any constant expression of type `u64`), one `HasWork<ID>` impl each;
/// - `impl_has_work!(impl[T: Send] MyItem<T> { work })` (or with `field => ID` pairs): the
///   same for a generic type, its generic parameters and bounds in the brackets.
///
/// It fails to compile unless each field is a `Work<Self, ID>` of its id:
///
/// ```compile_fail,E0308
/// struct Bad {
///     work: u64,
/// }
/// cmwq_work::impl_has_work!(Bad { work });
/// ```
///
/// A head made for another type does not fit (where the kernel's `INIT_WORK` would take a
/// function whose `container_of` expects another struct, and only crash when it runs):
///
/// ```compile_fail,E0308
/// # use std::sync::Arc;
/// # use cmwq_work::{Work, WorkItem};
/// struct Other {
///     work: Work<Self>,
/// }
/// cmwq_work::impl_has_work!(Other { work });
/// impl WorkItem for Other {
///     fn run(_this: Arc<Self>) {}
/// }
/// struct Foo {
///     work: Work<Other>,
/// }
/// cmwq_work::impl_has_work!(Foo { work });
/// ```
///
/// Nor does a head of another id:
///
/// ```compile_fail,E0308
/// # use cmwq_work::Work;
/// struct Foo {
///     reset: Work<Self, 1>,
/// }
/// cmwq_work::impl_has_work!(Foo { reset => 2 });
/// ```
#[macro_export]
macro_rules! impl_has_work {
    (@one [$($generics:tt)*] $ty:ty, $field:ident, $id:expr) => {
        // SAFETY: the offset is computed by `offset_of!` for the field that `work_head`
        // returns, and `work_head`'s signature checks that it is a `Work<Self, ID>`.
        unsafe impl<$($generics)*> $crate::HasWork<{ $id }> for $ty {
            const WORK_OFFSET: usize = ::core::mem::offset_of!($ty, $field);
            fn work_head(&self) -> &$crate::Work<Self, { $id }> {
                &self.$field
            }
        }
    };
    // The bracketed generics are kept as one token tree, so that each head's impl can
    // repeat them.
    (impl $generics:tt $ty:ty { $($field:ident => $id:expr),+ $(,)? }) => {
        $( $crate::impl_has_work!(@one $generics $ty, $field, $id); )+
    };
    (impl $generics:tt $ty:ty { $field:ident }) => {
        $crate::impl_has_work!(@one $generics $ty, $field, 0);
    };
    ($ty:ty { $($field:ident => $id:expr),+ $(,)? }) => {
        $( $crate::impl_has_work!(@one [] $ty, $field, $id); )+
    };
    ($ty:ty { $field:ident }) => {
        $crate::impl_has_work!(@one [] $ty, $field, 0);
    };
}

/// The table the list node of every head points to, one per item type and head id: how to
/// run, drop and clone a reference to the item, what the dump prints for it, and where the
/// head sits in the item.
pub struct WorkVTable {
    pub(crate) run: unsafe fn(NonNull<WorkHead>),
    pub(crate) drop_ref: unsafe fn(NonNull<WorkHead>),
    pub(crate) clone_ref: unsafe fn(NonNull<WorkHead>),
    pub(crate) name: unsafe fn(NonNull<WorkHead>) -> *const str,
    pub(crate) barrier_task: unsafe fn(NonNull<WorkHead>) -> Option<u32>,
    pub(crate) is_barrier: bool,
    pub(crate) type_id: fn() -> TypeId,
    pub(crate) type_name: fn() -> &'static str,
    /// The head's id: the `ID` of the `Work<T, ID>` the head is.
    pub(crate) id: u64,
    /// The head's byte offset in its item (`<T as HasWork<ID>>::WORK_OFFSET`): stepping
    /// back by it from a head reaches the item, whichever of its heads it is.
    pub(crate) offset: usize,
}

impl fmt::Debug for WorkVTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkVTable")
            .field("type", &(self.type_name)())
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// Holder of the vtable of `T`'s head `ID` as an associated constant, so
/// `&VTable::<T, ID>::VTABLE` is promoted to a `'static`.
struct VTable<T, const ID: u64>(core::marker::PhantomData<T>);

impl<T: WorkItem<ID> + HasWork<ID>, const ID: u64> VTable<T, ID> {
    const VTABLE: WorkVTable = WorkVTable {
        run: run_item::<T, ID>,
        drop_ref: drop_item_ref::<T, ID>,
        clone_ref: clone_item_ref::<T, ID>,
        name: item_name::<T, ID>,
        barrier_task: no_barrier_task,
        is_barrier: false,
        type_id: TypeId::of::<T>,
        type_name: short_type_name::<T>,
        id: ID,
        offset: T::WORK_OFFSET,
    };
}

impl<T: BarrierWork> VTable<T, 0> {
    const BARRIER: WorkVTable = WorkVTable {
        barrier_task: item_barrier_task::<T>,
        is_barrier: true,
        ..Self::VTABLE
    };
}

/// `T`'s vtable as a barrier item (barriers have one head, id 0).
pub(crate) const fn barrier_vtable_of<T: BarrierWork>() -> &'static WorkVTable {
    &VTable::<T, 0>::BARRIER
}

/// # Safety
///
/// None needed: an item that is not a barrier has no task, whatever `head` is.
unsafe fn no_barrier_task(_head: NonNull<WorkHead>) -> Option<u32> {
    None
}

/// The vtable of `T`'s head `ID`.
pub(crate) const fn vtable_of<T: WorkItem<ID> + HasWork<ID>, const ID: u64>() -> &'static WorkVTable
{
    &VTable::<T, ID>::VTABLE
}

/// # Safety
///
/// `head` is `T`'s head `ID` and carries one strong count of an `Arc<T>` (made by
/// `WorkRef::from_arc`, with the provenance of `Arc::into_raw`); the count is consumed.
unsafe fn run_item<T: WorkItem<ID> + HasWork<ID>, const ID: u64>(head: NonNull<WorkHead>) {
    // SAFETY: the caller hands over one strong count of the `Arc<T>` whose head `ID` this
    // is.
    let item = unsafe { Arc::from_raw(from_work_head::<T, ID>(head.as_ptr())) };
    <T as WorkItem<ID>>::run(item);
}

/// # Safety
///
/// As `run_item`.
unsafe fn drop_item_ref<T: HasWork<ID>, const ID: u64>(head: NonNull<WorkHead>) {
    // SAFETY: the caller hands over one strong count of the `Arc<T>` whose head `ID` this
    // is.
    drop(unsafe { Arc::from_raw(from_work_head::<T, ID>(head.as_ptr())) });
}

/// # Safety
///
/// `head` is head `ID` of a live `Arc<T>` item, with its allocation's provenance.
unsafe fn clone_item_ref<T: HasWork<ID>, const ID: u64>(head: NonNull<WorkHead>) {
    // SAFETY: the item is an `Arc<T>` allocation with at least one strong count (the
    // caller's).
    unsafe { Arc::increment_strong_count(from_work_head::<T, ID>(head.as_ptr())) };
}

/// The item that embeds `head` as its head `ID`, as a reference.
///
/// # Safety
///
/// `head` is the head field number `ID` of a live `T`, with provenance over the whole `T`
/// (the pointer `WorkRef::from_arc` made from `Arc::into_raw`, which the lists store and
/// hand back), and the `T` stays live for `'a`.
unsafe fn item_of<'a, T: HasWork<ID>, const ID: u64>(head: NonNull<WorkHead>) -> &'a T {
    // SAFETY: caller's contract: stepping back by the field's offset stays within the live
    // `T`, and the pointer's provenance covers it.
    unsafe { &*from_work_head::<T, ID>(head.as_ptr()) }
}

/// # Safety
///
/// As `item_of`; the returned pointer is valid as long as the item.
unsafe fn item_name<T: WorkItem<ID> + HasWork<ID>, const ID: u64>(
    head: NonNull<WorkHead>,
) -> *const str {
    // SAFETY: caller's contract.
    <T as WorkItem<ID>>::name(unsafe { item_of::<T, ID>(head) })
}

/// # Safety
///
/// As `item_of`, for a barrier's one head (id 0).
unsafe fn item_barrier_task<T: BarrierWork>(head: NonNull<WorkHead>) -> Option<u32> {
    // SAFETY: caller's contract.
    Some(unsafe { item_of::<T, 0>(head) }.barrier_task())
}

/// What the dump prints for a work item met on a list: the item's [`WorkItem::name`] and,
/// for a flush barrier, its waiting task. Implemented for the [`ElemRef`]s a
/// [`WorkList`](crate::WorkList)'s iteration yields, which keep the pointer the item was
/// queued with: the item is reached from its head through that pointer, whose provenance
/// covers the whole item (a `&WorkHead` covers the head only).
pub trait LinkedWork<'a> {
    /// [`WorkItem::name`] of the item.
    fn name(&self) -> &'a str;

    /// For a flush barrier, the id of the task waiting on it (the dump prints `BAR(ID)`);
    /// `None` for any other item.
    fn barrier_task(&self) -> Option<u32>;
}

impl<'a> LinkedWork<'a> for ElemRef<'a, WorkHead> {
    fn name(&self) -> &'a str {
        let head = self.as_ptr();
        // SAFETY: the element is linked on a `WorkList` borrowed for `'a`, which holds a
        // `WorkRef` for it: it is head `ID` of a live item of type `T`, where its vtable is
        // that of `(T, ID)` (see `WorkRef`), and `head` is the pointer that `WorkRef` was made
        // with, with the item's provenance. The name lives as long as the item, so for `'a`.
        unsafe { &*(self.get().vtable().name)(head) }
    }

    fn barrier_task(&self) -> Option<u32> {
        // SAFETY: as in `name`.
        unsafe { (self.get().vtable().barrier_task)(self.as_ptr()) }
    }
}

/// A type-erased owning reference to a work item: it holds one strong count of the item's
/// `Arc` (it is that `Arc`, with its type forgotten), and names one of the item's heads.
///
/// Making one from an `Arc` ([`WorkRef::from_arc`]) or moving it on and off a
/// [`WorkList`](crate::WorkList) never allocates; [`WorkRef::try_into_arc`] hands the `Arc`
/// back. Dropping it drops the count.
///
/// Invariant: `head` is the pointer `from_arc::<T, ID>` made, head `ID` of a live `Arc<T>`
/// with the provenance of `Arc::into_raw`, and the vtable in that head is the one of
/// `(T, ID)` (its `type_id` is `T`'s, its `offset` is `<T as HasWork<ID>>::WORK_OFFSET`).
/// The vtable part holds for every head: a head only exists inside a [`Work<T, ID>`](Work)
/// (no public constructor makes a bare [`WorkHead`]), [`Work`]'s constructors install the
/// vtable of `(T, ID)`, nothing changes a node's vtable afterwards, and
/// [`HasWork<ID>`](HasWork)'s contract makes the field at `WORK_OFFSET` a `Work<T, ID>`.
pub struct WorkRef {
    /// The item's head, derived from `Arc::into_raw` by address arithmetic.
    head: NonNull<WorkHead>,
}

// SAFETY: a `WorkRef` is an `Arc<T>` with `T: WorkItem<ID>`, hence `T: Send + Sync`.
unsafe impl Send for WorkRef {}
// SAFETY: `&WorkRef` gives `&WorkHead` and `&T` (through the vtable), and `T: Sync`.
unsafe impl Sync for WorkRef {}

impl WorkRef {
    /// Take ownership of one strong count of `item`, as a reference to its head `ID`.
    ///
    /// `ID` is inferred when `T` has one head (one `HasWork` impl); with several, name it:
    /// `WorkRef::from_arc::<Device, 1>(dev)` (see [`WorkItem`]).
    pub fn from_arc<T: WorkItem<ID> + HasWork<ID>, const ID: u64>(item: Arc<T>) -> WorkRef {
        // The type of the field makes this so (see `WorkRef`'s invariant); checked in debug
        // builds against an `unsafe impl HasWork` written by hand.
        debug_assert!(
            {
                let vtable = item.work_head().vtable();
                (vtable.type_id)() == TypeId::of::<T>()
                    && vtable.id == ID
                    && vtable.offset == <T as HasWork<ID>>::WORK_OFFSET
            },
            "cmwq-work: {}'s head {ID} carries the vtable of {}'s head {}",
            short_type_name::<T>(),
            item.work_head().type_name(),
            item.work_head().vtable().id,
        );
        let raw = Arc::into_raw(item);
        // SAFETY: `raw` points to a live `T`.
        let head = unsafe { raw_work_head::<T, ID>(raw) };
        WorkRef {
            // SAFETY: derived from a non-null `Arc` pointer by adding an in-bounds offset.
            head: unsafe { NonNull::new_unchecked(head.cast_mut()) },
        }
    }

    /// Rebuild a reference from a head pointer given out by [`WorkRef::into_raw_head`].
    ///
    /// # Safety
    ///
    /// `head` came from `into_raw_head` (it carries one strong count), and that count is
    /// handed over.
    pub(crate) unsafe fn from_raw_head(head: NonNull<WorkHead>) -> WorkRef {
        WorkRef { head }
    }

    /// Give up the reference as a head pointer that carries its strong count.
    pub(crate) fn into_raw_head(self) -> NonNull<WorkHead> {
        ManuallyDrop::new(self).head
    }

    fn vtable(&self) -> &'static WorkVTable {
        self.head().vtable()
    }

    /// The item's head.
    pub fn head(&self) -> &WorkHead {
        // SAFETY: the item is live while this reference holds its count.
        unsafe { self.head.as_ref() }
    }

    /// The head's address: the item's identity (the kernel compares work pointers).
    pub fn addr(&self) -> usize {
        self.head.as_ptr().addr()
    }

    /// What the dump prints for this item ([`WorkItem::name`]).
    pub fn name(&self) -> &str {
        // SAFETY: the head is embedded in the live item this reference owns a count of,
        // and `self.head` has the item's provenance; the name lives as long as the item.
        unsafe { &*(self.vtable().name)(self.head) }
    }

    /// The waiting task of a flush barrier ([`BarrierWork::barrier_task`]); `None` for any
    /// other item.
    pub fn barrier_task(&self) -> Option<u32> {
        // SAFETY: as in `name`.
        unsafe { (self.vtable().barrier_task)(self.head) }
    }

    /// Whether the item is a `T` (whichever of its heads this reference names).
    pub fn is<T: 'static>(&self) -> bool {
        (self.vtable().type_id)() == TypeId::of::<T>()
    }

    /// The id of the head this reference names (the `ID` of its `Work<T, ID>`).
    pub fn head_id(&self) -> u64 {
        self.vtable().id
    }

    /// Run the item: `T::run(arc)`, consuming this reference. Panics of the work function
    /// propagate (the driver catches them).
    pub fn run(self) {
        let run = self.vtable().run;
        let head = self.into_raw_head();
        // SAFETY: `head` carries one strong count, handed to `run`.
        unsafe { run(head) };
    }

    /// Another reference to the same item (one more strong count). Allocates nothing.
    pub fn clone_ref(&self) -> WorkRef {
        // SAFETY: the item is live (this reference holds a count) and `self.head` has its
        // provenance.
        unsafe { (self.vtable().clone_ref)(self.head) };
        WorkRef { head: self.head }
    }

    /// The `Arc<T>` back, if the item is a `T` (from whichever of its heads this
    /// reference was made); otherwise the reference unchanged.
    pub fn try_into_arc<T: 'static>(self) -> Result<Arc<T>, WorkRef> {
        if !self.is::<T>() {
            return Err(self);
        }
        let offset = self.vtable().offset;
        let head = self.into_raw_head();
        // SAFETY: by `WorkRef`'s invariant, `head` is head `ID` of an `Arc<U>` for some `U`
        // and `ID`, made by `from_arc::<U, ID>` as `Arc::into_raw` plus
        // `<U as HasWork<ID>>::WORK_OFFSET`, and its vtable is `(U, ID)`'s: its `type_id` is
        // `U`'s, equal to `T`'s (checked above), so `U` is `T`, and its `offset` is that
        // `WORK_OFFSET`. Stepping back by it gives the `Arc::into_raw` pointer of an `Arc<T>`
        // with its provenance, and `head` carries one strong count, handed over here.
        Ok(unsafe { Arc::from_raw(head.as_ptr().byte_sub(offset).cast::<T>()) })
    }
}

impl Clone for WorkRef {
    fn clone(&self) -> Self {
        self.clone_ref()
    }
}

impl Drop for WorkRef {
    fn drop(&mut self) {
        // SAFETY: this reference holds one strong count, released here.
        unsafe { (self.vtable().drop_ref)(self.head) };
    }
}

impl fmt::Debug for WorkRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkRef")
            .field("name", &self.name())
            .field("addr", &format_args!("{:#x}", self.addr()))
            .field("data", &self.head().data())
            .finish()
    }
}

/// A work item made from a closure: see [`work_fn`].
pub struct FnWork<F> {
    work: Work<Self>,
    name: &'static str,
    f: F,
}

crate::impl_has_work!(impl[F: Fn() + Send + Sync + 'static] FnWork<F> { work });

impl<F: Fn() + Send + Sync + 'static> WorkItem for FnWork<F> {
    fn run(this: Arc<Self>) {
        (this.f)();
    }

    fn name(&self) -> &str {
        self.name
    }
}

impl<F: Fn() + Send + Sync + 'static> FnWork<F> {
    /// The item's head.
    pub fn head(&self) -> &WorkHead {
        &self.work
    }
}

impl<F> fmt::Debug for FnWork<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FnWork").field("name", &self.name).finish()
    }
}

/// A work item that calls `f` each time it runs, printed as `name` in dumps.
///
/// ```
/// use std::sync::atomic::{AtomicU32, Ordering};
/// use std::sync::Arc;
/// use cmwq_work::{WorkRef, work_fn};
///
/// let runs = Arc::new(AtomicU32::new(0));
/// let counter = runs.clone();
/// let item = work_fn("count_func", move || {
///     counter.fetch_add(1, Ordering::Relaxed);
/// });
/// let work = WorkRef::from_arc(item);
/// assert_eq!(work.name(), "count_func");
/// work.run();
/// assert_eq!(runs.load(Ordering::Relaxed), 1);
/// ```
pub fn work_fn<F: Fn() + Send + Sync + 'static>(name: &'static str, f: F) -> Arc<FnWork<F>> {
    Arc::new(FnWork {
        work: Work::new(),
        name,
        f,
    })
}
