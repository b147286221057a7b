//! Work items: the `WorkItem` trait, `HasWork` and its macro, the per-type vtable, the
//! type-erased owning `WorkRef`, and closure items.
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

use crate::head::WorkHead;
use crate::raw::BarrierWork;

/// A work item (shaped like Rust-for-Linux's `WorkItem`): a type that embeds a
/// [`WorkHead`] (declared with [`impl_has_work!`](crate::impl_has_work)), is queued as an
/// `Arc<Self>`, and whose `run` receives that `Arc`.
///
/// The bounds are what running on another thread needs: the `Arc` is sent to a worker
/// (`Send + Sync`), and the item outlives any borrow (`'static`).
///
/// ```compile_fail,E0277
/// use std::{rc::Rc, sync::Arc};
/// use cmwq_work::{WorkHead, WorkItem};
/// // Rc is neither Send nor Sync: such an item cannot be a WorkItem.
/// struct NotSend {
///     work: WorkHead,
///     shared: Rc<u32>,
/// }
/// impl WorkItem for NotSend {
///     fn run(_this: Arc<Self>) {}
/// }
/// ```
pub trait WorkItem: Send + Sync + 'static {
    /// The work function.
    fn run(this: Arc<Self>);

    /// What the dump prints for this item (the kernel prints the work function's name).
    /// By default the type's name without its module path.
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

/// A type with a [`WorkHead`] field at a fixed offset.
///
/// Implement it with [`impl_has_work!`](crate::impl_has_work), which computes the offset
/// with `offset_of!` and checks the field's type. The trait has no provided method: the
/// pointer arithmetic built on it is this crate's own.
///
/// # Safety
///
/// [`HasWork::WORK_OFFSET`] is the byte offset within `Self` of a field of type
/// [`WorkHead`], and [`HasWork::work_head`] returns a reference to that same field.
pub unsafe trait HasWork: Sized {
    /// Byte offset of the head within `Self`.
    const WORK_OFFSET: usize;

    /// The embedded head.
    fn work_head(&self) -> &WorkHead;
}

/// The head of the item at `ptr`, keeping `ptr`'s provenance.
///
/// # Safety
///
/// `ptr` points to a live `T`.
unsafe fn raw_work_head<T: HasWork>(ptr: *const T) -> *const WorkHead {
    // SAFETY: the offset is within `T` (`HasWork`'s contract) and `ptr` is live.
    unsafe { ptr.byte_add(T::WORK_OFFSET).cast() }
}

/// The item that embeds the head at `head` (`container_of`), keeping `head`'s provenance.
///
/// # Safety
///
/// `head` points to the head field of a live `T`, with provenance over the whole `T`.
unsafe fn from_work_head<T: HasWork>(head: *const WorkHead) -> *const T {
    // SAFETY: stepping back by the field's offset stays within the live `T`.
    unsafe { head.byte_sub(T::WORK_OFFSET).cast() }
}

/// Implement [`HasWork`] for a type from the name of its [`WorkHead`] field:
/// `impl_has_work!(MyItem { work })`, or for a generic type
/// `impl_has_work!(impl[T: Send] MyItem<T> { work })`.
///
/// It fails to compile unless the field is a `WorkHead`:
///
/// ```compile_fail,E0308
/// struct Bad {
///     work: u64,
/// }
/// cmwq_work::impl_has_work!(Bad { work });
/// ```
#[macro_export]
macro_rules! impl_has_work {
    (impl[$($generics:tt)*] $ty:ty { $field:ident }) => {
        // SAFETY: the offset is computed by `offset_of!` for the field that `work_head`
        // returns, and `work_head`'s signature checks that it is a `WorkHead`.
        unsafe impl<$($generics)*> $crate::HasWork for $ty {
            const WORK_OFFSET: usize = ::core::mem::offset_of!($ty, $field);
            fn work_head(&self) -> &$crate::WorkHead {
                &self.$field
            }
        }
    };
    ($ty:ty { $field:ident }) => {
        $crate::impl_has_work!(impl[] $ty { $field });
    };
}

/// The per-type table the list node of every head points to: how to run, drop and clone a
/// reference to the item, and what the dump prints for it.
pub struct WorkVTable {
    pub(crate) run: unsafe fn(NonNull<WorkHead>),
    pub(crate) drop_ref: unsafe fn(NonNull<WorkHead>),
    pub(crate) clone_ref: unsafe fn(NonNull<WorkHead>),
    pub(crate) name: unsafe fn(NonNull<WorkHead>) -> *const str,
    pub(crate) barrier_task: unsafe fn(NonNull<WorkHead>) -> Option<u32>,
    pub(crate) is_barrier: bool,
    pub(crate) type_id: fn() -> TypeId,
    pub(crate) type_name: fn() -> &'static str,
}

impl fmt::Debug for WorkVTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorkVTable")
            .field("type", &(self.type_name)())
            .finish_non_exhaustive()
    }
}

/// Holder of `T`'s vtable as an associated constant, so `&VTable::<T>::VTABLE` is promoted
/// to a `'static`.
struct VTable<T>(core::marker::PhantomData<T>);

impl<T: WorkItem + HasWork> VTable<T> {
    const VTABLE: WorkVTable = WorkVTable {
        run: run_item::<T>,
        drop_ref: drop_item_ref::<T>,
        clone_ref: clone_item_ref::<T>,
        name: item_name::<T>,
        barrier_task: no_barrier_task,
        is_barrier: false,
        type_id: TypeId::of::<T>,
        type_name: short_type_name::<T>,
    };
}

impl<T: BarrierWork> VTable<T> {
    const BARRIER: WorkVTable = WorkVTable {
        barrier_task: item_barrier_task::<T>,
        is_barrier: true,
        ..Self::VTABLE
    };
}

/// `T`'s vtable as a barrier item.
pub(crate) const fn barrier_vtable_of<T: BarrierWork>() -> &'static WorkVTable {
    &VTable::<T>::BARRIER
}

/// # Safety
///
/// None needed: an item that is not a barrier has no task, whatever `head` is.
unsafe fn no_barrier_task(_head: NonNull<WorkHead>) -> Option<u32> {
    None
}

/// `T`'s vtable.
pub(crate) const fn vtable_of<T: WorkItem + HasWork>() -> &'static WorkVTable {
    &VTable::<T>::VTABLE
}

/// # Safety
///
/// `head` carries one strong count of an `Arc<T>` (made by `WorkRef::from_arc`, with the
/// provenance of `Arc::into_raw`); the count is consumed.
unsafe fn run_item<T: WorkItem + HasWork>(head: NonNull<WorkHead>) {
    // SAFETY: the caller hands over one strong count of the `Arc<T>` whose head this is.
    let item = unsafe { Arc::from_raw(from_work_head::<T>(head.as_ptr())) };
    T::run(item);
}

/// # Safety
///
/// As `run_item`.
unsafe fn drop_item_ref<T: WorkItem + HasWork>(head: NonNull<WorkHead>) {
    // SAFETY: the caller hands over one strong count of the `Arc<T>` whose head this is.
    drop(unsafe { Arc::from_raw(from_work_head::<T>(head.as_ptr())) });
}

/// # Safety
///
/// `head` is the head of a live `Arc<T>` item, with its allocation's provenance.
unsafe fn clone_item_ref<T: WorkItem + HasWork>(head: NonNull<WorkHead>) {
    // SAFETY: the item is an `Arc<T>` allocation with at least one strong count (the
    // caller's).
    unsafe { Arc::increment_strong_count(from_work_head::<T>(head.as_ptr())) };
}

/// The item that embeds `head`, as a reference.
///
/// # Safety
///
/// `head` is the head field of a live `T`, with provenance over the whole `T` (the pointer
/// `WorkRef::from_arc` made from `Arc::into_raw`, which the lists store and hand back), and
/// the `T` stays live for `'a`.
unsafe fn item_of<'a, T: WorkItem + HasWork>(head: NonNull<WorkHead>) -> &'a T {
    // SAFETY: caller's contract: stepping back by the field's offset stays within the live
    // `T`, and the pointer's provenance covers it.
    unsafe { &*from_work_head::<T>(head.as_ptr()) }
}

/// # Safety
///
/// As `item_of`; the returned pointer is valid as long as the item.
unsafe fn item_name<T: WorkItem + HasWork>(head: NonNull<WorkHead>) -> *const str {
    // SAFETY: caller's contract.
    unsafe { item_of::<T>(head) }.name()
}

/// # Safety
///
/// As `item_of`.
unsafe fn item_barrier_task<T: BarrierWork>(head: NonNull<WorkHead>) -> Option<u32> {
    // SAFETY: caller's contract.
    Some(unsafe { item_of::<T>(head) }.barrier_task())
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
        // `WorkRef` for it: it is embedded in a live item of its vtable's type (checked by
        // `WorkRef::from_arc`), and `head` is the pointer that `WorkRef` was made with, with
        // the item's provenance. The name lives as long as the item, so for `'a`.
        unsafe { &*(self.get().vtable().name)(head) }
    }

    fn barrier_task(&self) -> Option<u32> {
        // SAFETY: as in `name`.
        unsafe { (self.get().vtable().barrier_task)(self.as_ptr()) }
    }
}

/// A type-erased owning reference to a work item: it holds one strong count of the item's
/// `Arc` (it is that `Arc`, with its type forgotten).
///
/// Making one from an `Arc` ([`WorkRef::from_arc`]) or moving it on and off a
/// [`WorkList`](crate::WorkList) never allocates; [`WorkRef::try_into_arc`] hands the `Arc`
/// back. Dropping it drops the count.
pub struct WorkRef {
    /// The item's head, derived from `Arc::into_raw` by address arithmetic.
    head: NonNull<WorkHead>,
}

// SAFETY: a `WorkRef` is an `Arc<T>` with `T: WorkItem`, hence `T: Send + Sync`.
unsafe impl Send for WorkRef {}
// SAFETY: `&WorkRef` gives `&WorkHead` and `&T` (through the vtable), and `T: Sync`.
unsafe impl Sync for WorkRef {}

impl WorkRef {
    /// Take ownership of one strong count of `item`.
    ///
    /// # Panics
    ///
    /// If `item`'s head was made for another type (`WorkHead::new::<U>()` embedded in a
    /// `T`): running it would use the wrong vtable.
    pub fn from_arc<T: WorkItem + HasWork>(item: Arc<T>) -> WorkRef {
        assert!(
            (item.work_head().vtable().type_id)() == TypeId::of::<T>(),
            "cmwq-work: {}'s WorkHead was made with WorkHead::new::<{}>()",
            short_type_name::<T>(),
            (item.work_head().vtable().type_name)(),
        );
        let raw = Arc::into_raw(item);
        // SAFETY: `raw` points to a live `T`.
        let head = unsafe { raw_work_head(raw) };
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

    /// Whether the item is a `T`.
    pub fn is<T: WorkItem + HasWork>(&self) -> bool {
        (self.vtable().type_id)() == TypeId::of::<T>()
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

    /// The `Arc<T>` back, if the item is a `T`; otherwise the reference unchanged.
    pub fn try_into_arc<T: WorkItem + HasWork>(self) -> Result<Arc<T>, WorkRef> {
        if !self.is::<T>() {
            return Err(self);
        }
        let head = self.into_raw_head();
        // SAFETY: the item is a `T` (checked through its vtable, which `from_arc` checked
        // against the item's type), and `head` carries one strong count of its `Arc`,
        // handed over here.
        Ok(unsafe { Arc::from_raw(from_work_head::<T>(head.as_ptr())) })
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
    work: WorkHead,
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
        work: WorkHead::new::<FnWork<F>>(),
        name,
        f,
    })
}
