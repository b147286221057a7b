//! The link embedded in every element (and in the list's own cursor nodes).

use core::fmt;

use intrusive_collections::linked_list::AtomicLink;
use intrusive_collections::{UnsafeRef, intrusive_adapter};

/// The link embedded in every element of a [`List`](crate::List).
///
/// It is the intrusive link (two pointers) plus one word of metadata: `Some(&'static M)`
/// for an element, `None` for a cursor node. Elements carry a `&'static M` the list hands
/// back through [`Node::meta`] (cmwq-work stores the work item's vtable there), so the
/// metadata costs one word and no allocation. 24 bytes on 64-bit targets.
///
/// Only [`Node::new`] is public and it always stores `Some`: a node made outside this crate
/// is always an element, never a cursor.
///
/// The link is an [`AtomicLink`]: its "is linked" word is atomic, so a node (and whatever
/// embeds it) is `Sync`, and [`Node::is_linked`] may be called from any thread, even while
/// another thread changes the list under its lock. All other link fields are only read or
/// written through a [`List`](crate::List), which the caller protects with one lock.
pub struct Node<M: 'static> {
    pub(crate) link: AtomicLink,
    pub(crate) meta: Option<&'static M>,
}

intrusive_adapter!(pub(crate) NodeAdapter<M> = UnsafeRef<Node<M>>: Node<M> { link => AtomicLink } where M: 'static);

impl<M: 'static> Node<M> {
    /// An element's node, not linked, carrying `meta`.
    pub const fn new(meta: &'static M) -> Self {
        Self {
            link: AtomicLink::new(),
            meta: Some(meta),
        }
    }

    /// A cursor node: no metadata. Only the list makes these.
    pub(crate) const fn cursor() -> Self {
        Self {
            link: AtomicLink::new(),
            meta: None,
        }
    }

    /// The element's metadata, as given to [`Node::new`].
    pub fn meta(&self) -> &'static M {
        match self.meta {
            Some(meta) => meta,
            // Every node outside this crate was made by `Node::new`; cursor nodes are
            // never handed out by reference.
            None => unreachable!("cmwq-list: a cursor node was handed out as an element"),
        }
    }

    /// Whether this node is on a list now.
    ///
    /// One relaxed atomic load: it may be read without the list's lock, and then says only
    /// what was true at some recent instant. Under the lock it is exact.
    pub fn is_linked(&self) -> bool {
        self.link.is_linked()
    }

    pub(crate) fn is_cursor(&self) -> bool {
        self.meta.is_none()
    }
}

impl<M: 'static> fmt::Debug for Node<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Node")
            .field("linked", &self.is_linked())
            .field("cursor", &self.is_cursor())
            .finish()
    }
}
