//! The list itself: elements, cursor nodes and the iterators over both.
//!
//! All of this crate's `unsafe` lives here. The two rules it keeps (see DESIGN.md):
//!
//! 1. Every pointer the list stores or hands back has the provenance of the pointer the
//!    element was pushed with. When a caller names an element again (to remove it, to
//!    place a cursor before it, ...), possibly through a pointer made from a `&E` reference,
//!    the list first looks up its own stored pointer for that node ([`List::stored_node`])
//!    and works from that one.
//! 2. Cursor nodes are allocated and freed by the list only; a node whose metadata is
//!    `None` is a cursor and is only ever turned into a [`CursorRef`], never into an `E`.

use core::fmt;
use core::iter::FusedIterator;
use core::marker::PhantomData;
use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicU64, Ordering};

use intrusive_collections::UnsafeRef;
use intrusive_collections::linked_list::{Cursor, LinkedList};

use crate::node::{Node, NodeAdapter};

/// A type that embeds a [`Node`] and can be put on a [`List`].
///
/// # Safety
///
/// - [`Element::node`] always returns a reference to the same `Node`, embedded in `self`
///   (at a fixed offset from the start of `Self`), never a node stored elsewhere.
/// - [`Element::from_node`] is its inverse (the kernel's `container_of`): given a pointer to
///   the node of a live `Self`, it returns a pointer to that `Self`, derived from the given
///   pointer by address arithmetic only (so it keeps that pointer's provenance).
pub unsafe trait Element {
    /// What [`Node::meta`] returns for this type's elements.
    type Meta: 'static;

    /// The node embedded in `self`.
    fn node(&self) -> &Node<Self::Meta>;

    /// The element that embeds `node`.
    ///
    /// # Safety
    ///
    /// `node` points to the node embedded in a live `Self` (one that [`Element::node`]
    /// returned for it, or a pointer derived from the same allocation).
    unsafe fn from_node(node: NonNull<Node<Self::Meta>>) -> NonNull<Self>;
}

/// Handle to a positional cursor owned by one [`List`].
///
/// A cursor is a node of the list that is not an element: it marks a position (the kernel's
/// `pwq->mayday_cursor`, a dummy work item embedded in the pwq). Here the list allocates and
/// owns the cursor node ([`List::new_cursor`], once, e.g. when a pwq is created, never on
/// the queue path) and its owner keeps this `Copy` id; so a cursor can never dangle, even if
/// its owner forgets it while it is linked. Using an id on another list, or after
/// [`List::free_cursor`], panics.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct CursorId {
    list: u64,
    index: u32,
    generation: u32,
}

impl CursorId {
    /// The unique id of the list that owns this cursor (see [`List::id`]).
    pub fn list_id(self) -> u64 {
        self.list
    }
}

/// A cursor met while iterating: its id and owner, and nothing that leads to an element.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct CursorRef<'a> {
    id: CursorId,
    owner: u64,
    _list: PhantomData<&'a ()>,
}

impl CursorRef<'_> {
    /// The cursor's id.
    pub fn id(&self) -> CursorId {
        self.id
    }

    /// The owner given to [`List::new_cursor`] (cmwq stores the pwq id there).
    pub fn owner(&self) -> u64 {
        self.owner
    }
}

/// An element met while iterating a [`List`]: it derefs to `&'a E`, and
/// [`ElemRef::as_ptr`] gives back the pointer the element was pushed with, with that
/// pointer's provenance (a `&E` covers only the `E`; the pushed pointer may cover the
/// whole allocation around it, as cmwq-work's `Arc` items do).
pub struct ElemRef<'a, E> {
    ptr: NonNull<E>,
    _list: PhantomData<&'a E>,
}

// SAFETY: an `ElemRef` is a `&'a E` that also remembers its pointer's provenance: it can be
// sent and shared exactly when `&E` can, that is when `E: Sync`.
unsafe impl<E: Sync> Send for ElemRef<'_, E> {}
// SAFETY: as above.
unsafe impl<E: Sync> Sync for ElemRef<'_, E> {}

impl<E> Clone for ElemRef<'_, E> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<E> Copy for ElemRef<'_, E> {}

impl<'a, E> ElemRef<'a, E> {
    /// The element.
    #[inline]
    pub fn get(self) -> &'a E {
        // SAFETY: `ptr` is the stored pointer of an element linked on a list borrowed for
        // `'a` (see `List::entry`), so the element is live and unchanged that long.
        unsafe { self.ptr.as_ref() }
    }

    /// The pointer the element was pushed with, with its provenance.
    #[inline]
    pub fn as_ptr(self) -> NonNull<E> {
        self.ptr
    }
}

impl<E> From<ElemRef<'_, E>> for NonNull<E> {
    /// [`ElemRef::as_ptr`]: the pushed pointer, with its provenance.
    fn from(e: ElemRef<'_, E>) -> NonNull<E> {
        e.ptr
    }
}

impl<E> core::ops::Deref for ElemRef<'_, E> {
    type Target = E;

    #[inline]
    fn deref(&self) -> &E {
        self.get()
    }
}

impl<E: fmt::Debug> fmt::Debug for ElemRef<'_, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.get().fmt(f)
    }
}

/// One node met while iterating a [`List`]: an element or a cursor.
pub enum Entry<'a, E> {
    /// An element.
    Elem(ElemRef<'a, E>),
    /// A positional cursor (never an element).
    Cursor(CursorRef<'a>),
}

impl<'a, E> Entry<'a, E> {
    /// The element, if this entry is one.
    pub fn elem(self) -> Option<ElemRef<'a, E>> {
        match self {
            Entry::Elem(e) => Some(e),
            Entry::Cursor(_) => None,
        }
    }

    /// The cursor, if this entry is one.
    pub fn cursor(self) -> Option<CursorRef<'a>> {
        match self {
            Entry::Elem(_) => None,
            Entry::Cursor(c) => Some(c),
        }
    }

    /// Whether this entry is a cursor.
    pub fn is_cursor(&self) -> bool {
        matches!(self, Entry::Cursor(_))
    }
}

impl<E> Clone for Entry<'_, E> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<E> Copy for Entry<'_, E> {}

impl<E: fmt::Debug> fmt::Debug for Entry<'_, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Entry::Elem(e) => f.debug_tuple("Elem").field(e).finish(),
            Entry::Cursor(c) => f.debug_tuple("Cursor").field(c).finish(),
        }
    }
}

/// A cursor node as the list allocates it. `repr(C)` with the node first, so a pointer to
/// the node is a pointer to the whole `CursorNode` (with its provenance).
#[repr(C)]
struct CursorNode<M: 'static> {
    node: Node<M>,
    id: CursorId,
    owner: u64,
}

struct CursorSlot<M: 'static> {
    /// The node, made by `Box::into_raw` and freed by `Box::from_raw`; `None` once freed.
    node: Option<NonNull<CursorNode<M>>>,
    generation: u32,
}

/// Source of the unique list ids that cursor ids are checked against.
static NEXT_LIST_ID: AtomicU64 = AtomicU64::new(1);

/// An intrusive doubly linked list of elements and positional cursors.
///
/// The list does not own or allocate its elements: each embeds a [`Node`], and the caller
/// promises (in the `unsafe` methods that link one) that it stays live and in place while
/// linked. It owns its cursor nodes. It is used under one external lock: every change
/// takes `&mut self`, and `List<E>` is `Send + Sync` when `E: Sync`, so a
/// `parking_lot::Mutex<List<E>>` is `Sync`.
///
/// Dropping a list unlinks the elements still on it (it never owned them) and frees its
/// cursor nodes.
pub struct List<E: Element> {
    inner: LinkedList<NodeAdapter<E::Meta>>,
    len: usize,
    id: u64,
    cursors: Vec<CursorSlot<E::Meta>>,
    free_slots: Vec<u32>,
    _elems: PhantomData<*const E>,
}

// SAFETY: the list stores pointers to elements (which it hands out as `&E`, hence `E: Sync`)
// and to its own cursor nodes, which it owns and which hold only an atomic link, `None`
// metadata and plain data. Nothing in it is tied to the thread that made it, and every
// change goes through `&mut self`.
unsafe impl<E: Element + Sync> Send for List<E> {}
// SAFETY: through `&List` one can only read: iterate (reading links that only `&mut List`
// writes, or that are atomic), get `&E` (hence `E: Sync`) and read cursor ids and owners.
unsafe impl<E: Element + Sync> Sync for List<E> {}

impl<E: Element> Default for List<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E: Element> fmt::Debug for List<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("List")
            .field("id", &self.id)
            .field("len", &self.len)
            .field("nodes", &self.iter().count())
            .finish()
    }
}

/// Pointer to the node embedded in the element at `elem`, with `elem`'s provenance.
///
/// # Safety
///
/// `elem` points to a live `E`.
unsafe fn node_of<E: Element>(elem: NonNull<E>) -> NonNull<Node<E::Meta>> {
    // SAFETY: the caller guarantees `elem` is live.
    let node: *const Node<E::Meta> = unsafe { elem.as_ref() }.node();
    // `Element`'s contract: the node is embedded in the element, so this offset stays
    // inside the element's allocation.
    let offset = node.addr() - elem.as_ptr().addr();
    // SAFETY: `offset` is within the live element (see above).
    unsafe { elem.cast::<u8>().add(offset).cast() }
}

impl<E: Element> List<E> {
    /// An empty list with a fresh unique id.
    pub fn new() -> Self {
        Self {
            inner: LinkedList::new(NodeAdapter::new()),
            len: 0,
            id: NEXT_LIST_ID.fetch_add(1, Ordering::Relaxed),
            cursors: Vec::new(),
            free_slots: Vec::new(),
            _elems: PhantomData,
        }
    }

    /// This list's unique id (cursor ids carry it).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Whether the list has no elements (cursors do not count).
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The number of elements (cursors do not count). O(1).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether any node, element or cursor, is linked.
    pub fn has_linked_nodes(&self) -> bool {
        !self.inner.is_empty()
    }

    /// The pointer this list stored for `node`, which is on this list.
    ///
    /// The caller's pointer may have been made from a `&E` and so carry the provenance of
    /// that reference only; the stored one carries the provenance the element was pushed
    /// with. It is the `next` of the node before (or the list head).
    ///
    /// # Safety
    ///
    /// `node` points to a node on this list.
    unsafe fn stored_node(&self, node: NonNull<Node<E::Meta>>) -> NonNull<Node<E::Meta>> {
        // SAFETY: the caller guarantees `node` is on this list.
        let here = unsafe { self.inner.cursor_from_ptr(node.as_ptr()) };
        let stored = here
            .peek_prev()
            .peek_next()
            .get_ptr()
            .expect("cmwq-list: a linked node has a successor of its predecessor");
        assert_eq!(
            stored.addr(),
            node.addr(),
            "cmwq-list: the node is not on this list"
        );
        stored
    }

    /// What `node` (on this list, stored pointer) is, as an [`Entry`].
    ///
    /// # Safety
    ///
    /// `node` is a pointer stored by this list, to a node on it.
    unsafe fn entry(&self, node: NonNull<Node<E::Meta>>) -> Entry<'_, E> {
        // SAFETY: the node is live (it is on this list); only its `meta` field is read,
        // through a place expression, so no reference to the whole node is made.
        let is_cursor = unsafe { (*node.as_ptr()).meta.is_none() };
        if is_cursor {
            let cursor = node.cast::<CursorNode<E::Meta>>();
            // SAFETY: a node with `None` metadata is a cursor node, allocated by this list
            // as a `CursorNode` whose first field is the node (`repr(C)`), and live while
            // linked. Its `id` and `owner` are never written after allocation.
            let (id, owner) = unsafe { ((*cursor.as_ptr()).id, (*cursor.as_ptr()).owner) };
            Entry::Cursor(CursorRef {
                id,
                owner,
                _list: PhantomData,
            })
        } else {
            // SAFETY: a node with metadata was pushed as the node of a live `E` (the
            // pushing method's contract) with the element's provenance, and stays live
            // while linked, which `&self` guarantees for the returned lifetime.
            let ptr = unsafe { E::from_node(node) };
            Entry::Elem(ElemRef {
                ptr,
                _list: PhantomData,
            })
        }
    }

    /// Link `elem` at the tail. O(1).
    ///
    /// # Safety
    ///
    /// `elem` points to a live `E` that is not moved and stays live until it is unlinked
    /// (by this list's `remove`, `pop_front`, `drain` or drop). The list may hand out `&E`
    /// for it until then.
    ///
    /// # Panics
    ///
    /// If `elem` is already linked (on any list): the link is claimed atomically first, so
    /// this is caught before anything changes.
    pub unsafe fn push_back(&mut self, elem: NonNull<E>) {
        // SAFETY: the caller guarantees `elem` is live.
        let node = unsafe { node_of(elem) };
        // SAFETY: the node stays live and in place while linked (caller's contract).
        self.inner
            .push_back(unsafe { UnsafeRef::from_raw(node.as_ptr()) });
        self.len += 1;
    }

    /// Link `elem` at the head. O(1).
    ///
    /// # Safety
    ///
    /// As [`List::push_back`].
    ///
    /// # Panics
    ///
    /// If `elem` is already linked.
    pub unsafe fn push_front(&mut self, elem: NonNull<E>) {
        // SAFETY: the caller guarantees `elem` is live.
        let node = unsafe { node_of(elem) };
        // SAFETY: the node stays live and in place while linked (caller's contract).
        self.inner
            .push_front(unsafe { UnsafeRef::from_raw(node.as_ptr()) });
        self.len += 1;
    }

    /// Link `elem` right after `pos`, an element on this list. O(1).
    ///
    /// # Safety
    ///
    /// As [`List::push_back`] for `elem`; `pos` points to an element on this list.
    ///
    /// # Panics
    ///
    /// If `elem` is already linked.
    pub unsafe fn insert_after(&mut self, pos: NonNull<E>, elem: NonNull<E>) {
        // SAFETY: `pos` is live and on this list (caller's contract).
        let pos = unsafe { self.stored_node(node_of(pos)) };
        // SAFETY: the caller guarantees `elem` is live.
        let node = unsafe { node_of(elem) };
        // SAFETY: `pos` is on this list.
        let mut cursor = unsafe { self.inner.cursor_mut_from_ptr(pos.as_ptr()) };
        // SAFETY: the node stays live and in place while linked (caller's contract).
        cursor.insert_after(unsafe { UnsafeRef::from_raw(node.as_ptr()) });
        self.len += 1;
    }

    /// Unlink `elem`, an element on this list. O(1).
    ///
    /// Returns the pointer the element was pushed with (with its provenance), which may
    /// differ in provenance from `elem` if `elem` was made from a `&E`.
    ///
    /// # Safety
    ///
    /// `elem` points to an element on this list.
    pub unsafe fn remove(&mut self, elem: NonNull<E>) -> NonNull<E> {
        // SAFETY: `elem` is live and on this list (caller's contract).
        let node = unsafe { self.stored_node(node_of(elem)) };
        // SAFETY: `node` is on this list.
        let mut cursor = unsafe { self.inner.cursor_mut_from_ptr(node.as_ptr()) };
        let removed = cursor
            .remove()
            .expect("cmwq-list: a cursor made from a node points at it");
        self.len -= 1;
        let raw = UnsafeRef::into_raw(removed);
        // SAFETY: `raw` is the stored, non-null pointer to the node of a live `E`.
        unsafe { E::from_node(NonNull::new_unchecked(raw)) }
    }

    /// Unlink and return the first element. Cursors before it stay where they are.
    ///
    /// O(1) plus the number of cursors before the first element.
    pub fn pop_front(&mut self) -> Option<NonNull<E>> {
        let mut cursor = self.inner.front_mut();
        loop {
            let node = cursor.as_cursor().get_ptr()?;
            // SAFETY: `node` is a stored pointer to a live node of this list; only `meta`
            // is read.
            if unsafe { (*node.as_ptr()).meta.is_none() } {
                cursor.move_next();
                continue;
            }
            let removed = cursor
                .remove()
                .expect("cmwq-list: the cursor points at a node");
            self.len -= 1;
            let raw = UnsafeRef::into_raw(removed);
            // SAFETY: a stored, non-null pointer to the node of a live `E` (it had
            // metadata, so it is an element).
            return Some(unsafe { E::from_node(NonNull::new_unchecked(raw)) });
        }
    }

    /// The first element, skipping cursors.
    pub fn front(&self) -> Option<&E> {
        self.elements().next().map(ElemRef::get)
    }

    /// Whether `elem` is on this list. O(n).
    pub fn contains(&self, elem: &E) -> bool {
        let addr = ptr::from_ref(elem.node()).addr();
        let mut cursor = self.inner.front();
        while let Some(node) = cursor.get_ptr() {
            if node.as_ptr().addr() == addr {
                return true;
            }
            cursor.move_next();
        }
        false
    }

    /// Iterate over every node from the head: elements and cursors.
    pub fn iter(&self) -> Iter<'_, E> {
        Iter {
            cursor: self.inner.front(),
            list: self,
        }
    }

    /// Iterate over the elements only, from the head.
    pub fn elements(&self) -> impl Iterator<Item = ElemRef<'_, E>> + '_ {
        self.iter().filter_map(Entry::elem)
    }

    /// Iterate from the node right after `elem`, an element on this list.
    ///
    /// # Safety
    ///
    /// `elem` points to an element on this list.
    pub unsafe fn iter_after(&self, elem: NonNull<E>) -> Iter<'_, E> {
        // SAFETY: `elem` is live and on this list (caller's contract).
        let node = unsafe { self.stored_node(node_of(elem)) };
        // SAFETY: `node` is on this list.
        let mut cursor = unsafe { self.inner.cursor_from_ptr(node.as_ptr()) };
        cursor.move_next();
        Iter { cursor, list: self }
    }

    /// Iterate from the node right after cursor `c`, or from the head if `c` is not linked
    /// (the rescuer's scan in `assign_rescuer_work`).
    ///
    /// # Panics
    ///
    /// If `c` belongs to another list or was freed.
    pub fn iter_after_cursor(&self, c: CursorId) -> Iter<'_, E> {
        let node = self.cursor_node(c);
        if self.node_is_linked(node) {
            // SAFETY: the cursor node is linked, on this list (cursor nodes are only ever
            // linked on the list that owns them).
            let mut cursor = unsafe { self.inner.cursor_from_ptr(node.as_ptr()) };
            cursor.move_next();
            Iter { cursor, list: self }
        } else {
            self.iter()
        }
    }

    // ---- cursors ----

    /// Allocate a cursor node owned by this list, not linked. `owner` is whatever the
    /// caller wants to read back from [`CursorRef::owner`] (cmwq: the pwq id).
    ///
    /// This allocates: do it once per cursor owner, not on the queue path.
    pub fn new_cursor(&mut self, owner: u64) -> CursorId {
        let (index, generation) = match self.free_slots.pop() {
            Some(index) => (index, self.cursors[index as usize].generation),
            None => {
                let index = u32::try_from(self.cursors.len())
                    .expect("cmwq-list: more than u32::MAX cursors on one list");
                self.cursors.push(CursorSlot {
                    node: None,
                    generation: 0,
                });
                (index, 0)
            }
        };
        let id = CursorId {
            list: self.id,
            index,
            generation,
        };
        let node = Box::new(CursorNode {
            node: Node::cursor(),
            id,
            owner,
        });
        self.cursors[index as usize].node = Some(NonNull::from(Box::leak(node)));
        id
    }

    /// Free cursor `c` (unlinking it first if linked). Its id must not be used again.
    ///
    /// # Panics
    ///
    /// If `c` belongs to another list or was already freed.
    pub fn free_cursor(&mut self, c: CursorId) {
        self.unlink_cursor(c);
        let slot = &mut self.cursors[c.index as usize];
        let node = slot.node.take().expect("checked by unlink_cursor");
        // A stale id is caught unless its slot was reused 2^32 times since.
        slot.generation = slot.generation.wrapping_add(1);
        self.free_slots.push(c.index);
        // SAFETY: the node was made by `Box::leak` in `new_cursor`, is not linked any more,
        // and its slot no longer refers to it, so this is the only pointer to it.
        drop(unsafe { Box::from_raw(node.as_ptr()) });
    }

    /// Whether cursor `c` was made by this list and is not freed.
    pub fn owns_cursor(&self, c: CursorId) -> bool {
        c.list == self.id
            && self
                .cursors
                .get(c.index as usize)
                .is_some_and(|slot| slot.node.is_some() && slot.generation == c.generation)
    }

    /// The cursor node of `c`, checking that `c` is this list's and alive.
    fn cursor_node(&self, c: CursorId) -> NonNull<Node<E::Meta>> {
        assert_eq!(
            c.list, self.id,
            "cmwq-list: cursor {c:?} belongs to list {}, not to list {} it was used on",
            c.list, self.id
        );
        let slot = &self.cursors[c.index as usize];
        match slot.node {
            Some(node) if slot.generation == c.generation => node.cast(),
            _ => panic!("cmwq-list: cursor {c:?} was freed"),
        }
    }

    fn node_is_linked(&self, node: NonNull<Node<E::Meta>>) -> bool {
        // SAFETY: `node` is one of this list's live cursor nodes.
        unsafe { node.as_ref() }.is_linked()
    }

    /// Whether cursor `c` is linked.
    ///
    /// # Panics
    ///
    /// If `c` belongs to another list or was freed.
    pub fn cursor_is_linked(&self, c: CursorId) -> bool {
        self.node_is_linked(self.cursor_node(c))
    }

    /// The owner given to [`List::new_cursor`] for `c`.
    ///
    /// # Panics
    ///
    /// If `c` belongs to another list or was freed.
    pub fn cursor_owner(&self, c: CursorId) -> u64 {
        let node = self.cursor_node(c).cast::<CursorNode<E::Meta>>();
        // SAFETY: a live cursor node of this list; `owner` is never written after
        // allocation.
        unsafe { (*node.as_ptr()).owner }
    }

    /// Unlink cursor `c` if it is linked.
    ///
    /// # Panics
    ///
    /// If `c` belongs to another list or was freed.
    pub fn unlink_cursor(&mut self, c: CursorId) {
        let node = self.cursor_node(c);
        if self.node_is_linked(node) {
            // SAFETY: a linked cursor node is on the list that owns it: this one.
            let mut cursor = unsafe { self.inner.cursor_mut_from_ptr(node.as_ptr()) };
            // The list holds no ownership of cursor nodes: dropping the `UnsafeRef` frees
            // nothing.
            let _unlinked = cursor.remove();
        }
    }

    /// Place (or move) cursor `c` right before `elem`, an element on this list. O(1).
    ///
    /// # Safety
    ///
    /// `elem` points to an element on this list.
    ///
    /// # Panics
    ///
    /// If `c` belongs to another list or was freed.
    pub unsafe fn move_cursor_before(&mut self, c: CursorId, elem: NonNull<E>) {
        let node = self.cursor_node(c);
        // SAFETY: `elem` is live and on this list (caller's contract).
        let pos = unsafe { self.stored_node(node_of(elem)) };
        self.relink_cursor(node, Some(pos));
    }

    /// Place (or move) cursor `c` right before the first *element* that follows `elem`, an
    /// element on this list, or at the tail if no element follows. Cursors between `elem`
    /// and that element stay before `c`. O(1) plus the number of cursors skipped.
    ///
    /// The same as [`List::move_cursor_before`] the element after `elem` (or
    /// [`List::move_cursor_to_back`]), in one step: the rescuer's "resume after the item I
    /// took" (kernel `list_move_tail(&cursor->entry, &n->entry)`).
    ///
    /// # Safety
    ///
    /// `elem` points to an element on this list.
    ///
    /// # Panics
    ///
    /// If `c` belongs to another list or was freed.
    pub unsafe fn move_cursor_before_next_elem(&mut self, c: CursorId, elem: NonNull<E>) {
        let node = self.cursor_node(c);
        // SAFETY: `elem` is live and on this list (caller's contract).
        let pos = unsafe { self.stored_node(node_of(elem)) };
        // SAFETY: `pos` is on this list.
        let mut it = unsafe { self.inner.cursor_from_ptr(pos.as_ptr()) };
        it.move_next();
        let before = loop {
            match it.get_ptr() {
                // SAFETY: a stored pointer to a live node of this list; only `meta` is read.
                Some(n) if unsafe { (*n.as_ptr()).meta.is_none() } => it.move_next(),
                other => break other,
            }
        };
        self.relink_cursor(node, before);
    }

    /// Link cursor node `node` (one of this list's live cursor nodes) right before `before`
    /// (a stored pointer to a node on this list, not `node` itself), or at the tail for
    /// `None`, unlinking it first if it is elsewhere. Nothing changes if it is already there.
    ///
    /// A linked cursor is moved without giving up its link: intrusive-collections' unlink
    /// and relink would release the link and claim it again (an atomic compare-and-swap),
    /// which is wasted work for a node that never leaves this list. The move goes through
    /// `CursorMut::split_*`/`splice_*` only (O(1) each), which move nodes between lists
    /// without touching their "linked" word; no link is ever written except by
    /// intrusive-collections itself.
    fn relink_cursor(
        &mut self,
        node: NonNull<Node<E::Meta>>,
        before: Option<NonNull<Node<E::Meta>>>,
    ) {
        if !self.node_is_linked(node) {
            // SAFETY: the cursor node is owned by this list, unlinked, and lives until
            // `free_cursor` or drop, which unlink it first.
            let cursor_ref = unsafe { UnsafeRef::from_raw(node.as_ptr()) };
            match before {
                Some(pos) => {
                    // SAFETY: `pos` is on this list (this function's contract).
                    let mut at = unsafe { self.inner.cursor_mut_from_ptr(pos.as_ptr()) };
                    at.insert_before(cursor_ref);
                }
                None => self.inner.push_back(cursor_ref),
            }
            return;
        }
        // SAFETY: a linked cursor node is on the list that owns it: this one.
        let here = unsafe { self.inner.cursor_from_ptr(node.as_ptr()) };
        let next = here.peek_next().get_ptr();
        if next == before {
            return;
        }
        let prev = here.peek_prev().get_ptr();
        let one = self.split_off_cursor(node, prev, next);
        let mut at = match before {
            // SAFETY: `pos` is on this list (this function's contract) and is not the
            // cursor node, which is now on `one`.
            Some(pos) => unsafe { self.inner.cursor_mut_from_ptr(pos.as_ptr()) },
            // The null cursor: `splice_before` appends at the tail.
            None => self.inner.cursor_mut(),
        };
        at.splice_before(one);
    }

    /// Take the linked cursor node `node`, between `prev` and `next` (its neighbours, or
    /// `None` at the head or tail), off this list as a one-node list, without releasing its
    /// link: the caller splices that list back into this one.
    fn split_off_cursor(
        &mut self,
        node: NonNull<Node<E::Meta>>,
        prev: Option<NonNull<Node<E::Meta>>>,
        next: Option<NonNull<Node<E::Meta>>>,
    ) -> LinkedList<NodeAdapter<E::Meta>> {
        match (prev, next) {
            // The cursor is the only node.
            (None, None) => self.inner.take(),
            // The cursor is the head: everything before its successor is the cursor alone.
            (None, Some(next)) => {
                // SAFETY: `next` is a node of this list.
                let mut at = unsafe { self.inner.cursor_mut_from_ptr(next.as_ptr()) };
                at.split_before()
            }
            // The cursor is the tail: everything after its predecessor is the cursor alone.
            (Some(prev), None) => {
                // SAFETY: `prev` is a node of this list.
                let mut at = unsafe { self.inner.cursor_mut_from_ptr(prev.as_ptr()) };
                at.split_after()
            }
            (Some(prev), Some(_)) => {
                // SAFETY: `node` is a linked cursor node of this list.
                let rest = unsafe { self.inner.cursor_mut_from_ptr(node.as_ptr()) }.split_after();
                // SAFETY: `prev` is a node of this list; `node` is now its tail.
                let one = unsafe { self.inner.cursor_mut_from_ptr(prev.as_ptr()) }.split_after();
                // Join the two halves again: `rest` follows `prev`, the new tail.
                self.inner.back_mut().splice_after(rest);
                one
            }
        }
    }

    /// Place (or move) cursor `c` right after `elem`, an element on this list. O(1).
    ///
    /// # Safety
    ///
    /// `elem` points to an element on this list.
    ///
    /// # Panics
    ///
    /// If `c` belongs to another list or was freed.
    pub unsafe fn move_cursor_after(&mut self, c: CursorId, elem: NonNull<E>) {
        self.unlink_cursor(c);
        let node = self.cursor_node(c);
        // SAFETY: `elem` is live and on this list (caller's contract).
        let pos = unsafe { self.stored_node(node_of(elem)) };
        // SAFETY: `pos` is on this list.
        let mut cursor = unsafe { self.inner.cursor_mut_from_ptr(pos.as_ptr()) };
        // SAFETY: as in `move_cursor_before`.
        cursor.insert_after(unsafe { UnsafeRef::from_raw(node.as_ptr()) });
    }

    /// Place (or move) cursor `c` at the tail: nothing is after it until more is pushed.
    ///
    /// # Panics
    ///
    /// If `c` belongs to another list or was freed.
    pub fn move_cursor_to_back(&mut self, c: CursorId) {
        let node = self.cursor_node(c);
        self.relink_cursor(node, None);
    }

    /// Take every element out, head first; cursors met on the way are unlinked. When the
    /// returned iterator is dropped, whatever it did not yield is unlinked too, so the list
    /// is then empty of elements and cursors.
    pub fn drain(&mut self) -> Drain<'_, E> {
        Drain { list: self }
    }

    /// Same as [`List::drain`] (the name the agreed API used).
    pub fn take_all(&mut self) -> Drain<'_, E> {
        self.drain()
    }
}

impl<E: Element> Drop for List<E> {
    fn drop(&mut self) {
        // Unlink every node, elements and cursors; `UnsafeRef`s own nothing.
        self.inner.clear();
        for slot in &mut self.cursors {
            if let Some(node) = slot.node.take() {
                // SAFETY: made by `Box::leak` in `new_cursor`, unlinked just above, and no
                // other pointer to it survives this list.
                drop(unsafe { Box::from_raw(node.as_ptr()) });
            }
        }
    }
}

/// Iterator over a [`List`]'s nodes, elements and cursors, in order.
pub struct Iter<'a, E: Element> {
    cursor: Cursor<'a, NodeAdapter<E::Meta>>,
    list: &'a List<E>,
}

impl<E: Element> Clone for Iter<'_, E> {
    fn clone(&self) -> Self {
        Self {
            cursor: self.cursor.clone(),
            list: self.list,
        }
    }
}

impl<'a, E: Element> Iterator for Iter<'a, E> {
    type Item = Entry<'a, E>;

    fn next(&mut self) -> Option<Entry<'a, E>> {
        let node = self.cursor.get_ptr()?;
        self.cursor.move_next();
        // SAFETY: `node` is a pointer stored by `self.list`, to a node on it; the list is
        // borrowed for `'a`, so the node stays linked (and live) that long.
        Some(unsafe { self.list.entry(node) })
    }
}

impl<E: Element> FusedIterator for Iter<'_, E> {}

/// Draining iterator of a [`List`]: see [`List::drain`].
pub struct Drain<'a, E: Element> {
    list: &'a mut List<E>,
}

impl<E: Element> Iterator for Drain<'_, E> {
    type Item = NonNull<E>;

    fn next(&mut self) -> Option<NonNull<E>> {
        loop {
            let removed = self.list.inner.pop_front()?;
            let raw = UnsafeRef::into_raw(removed);
            // SAFETY: a stored pointer to a live node of this list, just unlinked; only
            // `meta` is read.
            if unsafe { (*raw).meta.is_none() } {
                // A cursor: now unlinked, still owned by the list.
                continue;
            }
            self.list.len -= 1;
            // SAFETY: the node of a live `E`, with the provenance it was pushed with.
            return Some(unsafe { E::from_node(NonNull::new_unchecked(raw)) });
        }
    }
}

impl<E: Element> FusedIterator for Drain<'_, E> {}

impl<E: Element> Drop for Drain<'_, E> {
    fn drop(&mut self) {
        for _ in self.by_ref() {}
    }
}
