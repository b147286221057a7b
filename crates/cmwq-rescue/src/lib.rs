//! cmwq-rescue: how a workqueue's rescuer picks work.
//!
//! A workqueue created with `WQ_MEM_RECLAIM` owns a *rescuer*: a thread created up front
//! that helps a worker pool which cannot create a new worker (memory pressure, a thread
//! cap, a spawn failure). When a pool has been trying to create a worker for
//! `MAYDAY_INITIAL_TIMEOUT`, its mayday timer puts the pool_workqueues (pwqs) of the items
//! on its worklist on their workqueue's `maydays` list and wakes the rescuers. A rescuer
//! pops a pwq, attaches to its pool and takes some of that pwq's items off the pool
//! worklist to run them itself.
//!
//! *Which* items it takes is a policy, and this crate owns that contract:
//!
//! - [`Slurp`] (every kernel before Linux 7.0): take every item of the pwq in one pass, run
//!   them all, then put the pwq back on `maydays` if it still has active items and the pool
//!   still needs a worker. One item that blocks inside the rescuer stalls every sibling it
//!   slurped, even after normal workers could run them again.
//! - [`Cursor`] (Linux 7.0): only when really needed (the pwq has active items and the pool
//!   needs to create a worker, or the pool's manager is still trying and no other pwq waits),
//!   take **one** item at a time, resuming the scan right after the pwq's positional cursor;
//!   after [`RESCUER_BATCH`] items, if other pwqs wait, re-send the mayday and move on. A
//!   rescue episode scans each worklist node about once.
//! - [`Rescan`]: one item at a time like [`Cursor`], but restarting from the worklist head
//!   every time: the O(N²) strawman that shows what the cursor buys.
//!
//! A policy only *chooses* (architecture invariant 3): it reads the worklist through a
//! [`WorklistView`], whose scans count every node they visit, hands the [`Candidate`]s it
//! takes now to a [`Take`], and returns a [`Choice`]: where the cursor goes
//! ([`CursorMove`]) and what the rescuer does next ([`Then`]). It runs no work, takes no
//! lock and arms no timer; cmwq-pool applies the choice under the pool lock. The trait has
//! one required method and nothing to allocate: the pool lends the `Take` over a buffer of
//! its own. A [`Candidate`] can only be made by a view's scan and is consumed when taken;
//! whatever a policy hands over, the pool checks in O(1) that each item is on the worklist
//! it lent, of the rescued pwq and not taken twice before it moves anything, so a
//! misbehaving policy cannot break the pool.
//!
//! Which policy a workqueue uses is a value ([`Policy`]) given when it is built, so one
//! binary can A/B all three.
//!
//! The design note [`design`] (`README.md` beside this crate) explains the rescuer, the
//! cursor and the three policies on a small worklist drawing, with a custom policy.
//!
//! # Example
//!
//! A policy on a worklist built by hand (a pool does the queueing steps under its lock):
//!
//! ```
//! use cmwq_rescue::{Policy, RescueCtx, Then, WorklistView, choose_collect};
//! use cmwq_work::raw::WorkHeadRaw;
//! use cmwq_work::{PwqId, WorkFlags, WorkList, WorkRef, work_fn};
//!
//! let pwq = PwqId::new(7);
//! let mut worklist = WorkList::new();
//! let cursor = worklist.new_cursor(u64::from(pwq.get()));
//! for _ in 0..3 {
//!     let item = WorkRef::from_arc(work_fn("reclaim_fn", || {}));
//!     assert!(item.head().test_and_set_pending().unwrap());
//!     item.head().set_pwq(pwq, 0, WorkFlags::empty());
//!     worklist.push_back(item);
//! }
//! let mut ctx = RescueCtx::new(pwq);
//! ctx.nr_active = 3;
//! ctx.need_to_create_worker = true;
//! let view = WorklistView::new(&worklist, pwq, cursor);
//! let (taken, choice) = choose_collect(&Policy::Cursor, &view, &ctx);
//! assert_eq!(taken.len(), 1, "the cursor policy takes one item at a time");
//! assert_eq!(choice.then, Then::Continue);
//! assert_eq!(view.visited(), 1);
//! ```

#[doc = include_str!("../README.md")]
pub mod design {}

use std::cell::Cell;
use std::fmt;
use std::sync::Arc;

use cmwq_list::ElemRef;
use cmwq_list::{CursorId, Entry};
use cmwq_work::{LinkedWork, PwqId, WorkHead, WorkList};

/// After this many items rescued from one pwq in one visit, a [`Cursor`] (or [`Rescan`])
/// rescuer re-sends the pwq's mayday and moves on if other pwqs wait (kernel
/// `RESCUER_BATCH`).
pub const RESCUER_BATCH: u32 = 16;

/// What a policy may know about the pwq it rescues and its pool, read under the pool lock.
///
/// New fields may be added: build one with [`RescueCtx::new`] and set the fields that
/// matter (they are public).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RescueCtx {
    /// The pwq being rescued.
    pub pwq: PwqId,
    /// Its `nr_active`: items counted against max_active (on the worklist or running).
    pub nr_active: u32,
    /// The pool's `need_to_create_worker()`: work pending, nobody running, nobody idle.
    pub need_to_create_worker: bool,
    /// `POOL_MANAGER_ACTIVE`: someone is (still) trying to create a worker.
    pub manager_active: bool,
    /// Other pwqs of this workqueue wait on its `maydays` list.
    pub others_waiting: bool,
    /// Items this rescuer took from this pwq since it attached (the kernel's `count`).
    pub rescued_this_visit: u32,
    /// How many times the policy chose items during this visit (0 on the first call).
    pub passes_this_visit: u32,
}

impl RescueCtx {
    /// The context of a first call for `pwq`: no active item, no pressure, nobody else
    /// waiting, nothing rescued yet.
    pub const fn new(pwq: PwqId) -> Self {
        Self {
            pwq,
            nr_active: 0,
            need_to_create_worker: false,
            manager_active: false,
            others_waiting: false,
            rescued_this_visit: 0,
            passes_this_visit: 0,
        }
    }

    /// The Linux 7.0 test "does this pwq really need rescue?": it has active items, and the
    /// pool needs to create a worker, or its manager is still trying and no other pwq waits.
    #[inline]
    pub fn needs_rescue(&self) -> bool {
        self.nr_active != 0
            && (self.need_to_create_worker || (self.manager_active && !self.others_waiting))
    }

    /// The Linux 7.0 fairness test, checked after each rescued item: past
    /// [`RESCUER_BATCH`] items, with other pwqs waiting and this one still needing a worker,
    /// the rescuer re-sends this pwq's mayday and helps the others first.
    #[inline]
    pub fn batch_exhausted(&self) -> bool {
        self.rescued_this_visit > RESCUER_BATCH
            && self.others_waiting
            && self.nr_active != 0
            && self.need_to_create_worker
    }
}

/// A read-only view of a pool's worklist lent to a policy. Its scans count every node they
/// yield (work items and cursors alike) in [`WorklistView::visited`].
pub struct WorklistView<'a> {
    list: &'a WorkList,
    pwq: PwqId,
    cursor: CursorId,
    visited: Cell<u64>,
}

impl fmt::Debug for WorklistView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WorklistView")
            .field("pwq", &self.pwq)
            .field("cursor", &self.cursor)
            .field("len", &self.list.len())
            .field("visited", &self.visited.get())
            .finish()
    }
}

impl<'a> WorklistView<'a> {
    /// A view of `list` for rescuing `pwq`, whose positional cursor on `list` is `cursor`.
    #[inline]
    pub fn new(list: &'a WorkList, pwq: PwqId, cursor: CursorId) -> Self {
        Self {
            list,
            pwq,
            cursor,
            visited: Cell::new(0),
        }
    }

    /// The pwq being rescued.
    pub fn pwq(&self) -> PwqId {
        self.pwq
    }

    /// Whether the pwq's cursor is on the worklist.
    pub fn cursor_is_linked(&self) -> bool {
        self.list.cursor_is_linked(self.cursor)
    }

    /// Number of work items on the worklist (cursors not counted).
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether the worklist has no work items.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// Scan from the worklist head.
    #[inline]
    pub fn scan_from_head(&self) -> Scan<'_, 'a> {
        Scan {
            view: self,
            inner: self.list.iter(),
        }
    }

    /// Scan from the node right after the pwq's cursor, or from the head when the cursor is
    /// not linked (kernel: `list_next_entry(cursor)` or `list_first_entry(worklist)`).
    #[inline]
    pub fn scan_after_cursor(&self) -> Scan<'_, 'a> {
        Scan {
            view: self,
            inner: self.list.iter_after_cursor(self.cursor),
        }
    }

    /// Nodes yielded by this view's scans so far.
    pub fn visited(&self) -> u64 {
        self.visited.get()
    }

    /// Whether this view lends `list` (pointer identity).
    pub fn lent(&self, list: &WorkList) -> bool {
        std::ptr::eq(self.list, list)
    }
}

/// One node met by a [`Scan`].
#[derive(Debug)]
pub enum Visit<'a> {
    /// A work item (of any pwq).
    Work(Candidate<'a>),
    /// A positional cursor (this pwq's or another's): never a work item.
    Cursor(CursorId),
}

/// An iterator over the worklist nodes from some position to the tail; counts each node.
pub struct Scan<'v, 'a> {
    view: &'v WorklistView<'a>,
    inner: cmwq_list::Iter<'a, WorkHead>,
}

impl fmt::Debug for Scan<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scan").field("view", self.view).finish()
    }
}

impl<'a> Iterator for Scan<'_, 'a> {
    type Item = Visit<'a>;

    #[inline]
    fn next(&mut self) -> Option<Visit<'a>> {
        let entry = self.inner.next()?;
        self.view.visited.set(self.view.visited.get() + 1);
        Some(match entry {
            Entry::Elem(head) => Visit::Work(Candidate {
                head,
                list: self.view.list,
            }),
            Entry::Cursor(c) => Visit::Cursor(c.id()),
        })
    }
}

impl<'a> Scan<'_, 'a> {
    /// The next work item of the rescued pwq, skipping other pwqs' items and cursors.
    #[inline]
    pub fn next_of_pwq(&mut self) -> Option<Candidate<'a>> {
        let pwq = self.view.pwq;
        self.by_ref().find_map(|visit| match visit {
            Visit::Work(c) if c.is_of(pwq) => Some(c),
            _ => None,
        })
    }
}

/// A work item met on the worklist a view lent: a one-use token that a policy hands to
/// [`Take::take`] to take the item. Only a [`Scan`] makes one, so a policy cannot name an
/// item that was not on the worklist:
///
/// ```compile_fail
/// use cmwq_rescue::Candidate;
/// use cmwq_work::{WorkList, work_fn};
/// let item = work_fn("forged", || {});
/// let list = WorkList::new();
/// let forged = Candidate { head: item.head(), list: &list };
/// ```
///
/// It is neither `Copy` nor `Clone`: taking it consumes it.
///
/// ```compile_fail,E0382
/// use cmwq_rescue::{Candidate, Take};
/// fn twice<'a>(c: Candidate<'a>, take: &mut Take<'_, 'a>) {
///     take.take(c);
///     take.take(c);
/// }
/// ```
///
/// A policy can still meet one item twice (two scans of one view); the pool takes an item
/// once whatever it is handed (see [`RescuerPolicy`]).
pub struct Candidate<'a> {
    head: ElemRef<'a, WorkHead>,
    list: &'a WorkList,
}

impl fmt::Debug for Candidate<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Candidate")
            .field("name", &self.head.name())
            .field("pwq", &self.head.pwq())
            .finish()
    }
}

impl<'a> Candidate<'a> {
    /// The work item's head.
    #[inline]
    pub fn head(&self) -> &'a WorkHead {
        self.head.get()
    }

    /// The work item's name ([`WorkItem::name`](cmwq_work::WorkItem::name)).
    #[inline]
    pub fn name(&self) -> &'a str {
        self.head.name()
    }

    /// The position of the item on the worklist, with the provenance the worklist stored.
    #[inline]
    pub fn as_ptr(&self) -> std::ptr::NonNull<WorkHead> {
        self.head.as_ptr()
    }

    /// Whether the item is queued on `pwq` (kernel `get_work_pwq(work) == pwq`).
    #[inline]
    pub fn is_of(&self, pwq: PwqId) -> bool {
        self.head.pwq() == Some(pwq)
    }

    /// Whether this candidate was met on `list` (pointer identity).
    #[inline]
    pub fn is_on(&self, list: &WorkList) -> bool {
        std::ptr::eq(self.list, list)
    }
}

/// Where a policy hands over the items it takes, one by one, in the order the rescuer
/// should run them. The pool makes one per call of [`RescuerPolicy::choose`] over a buffer
/// of its own, so choosing allocates nothing; [`choose_collect`] makes one over a `Vec`
/// for tests and tools.
pub struct Take<'t, 'a> {
    sink: &'t mut dyn FnMut(Candidate<'a>),
    count: usize,
}

impl fmt::Debug for Take<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Take").field("count", &self.count).finish()
    }
}

impl<'t, 'a> Take<'t, 'a> {
    /// A sink that hands every candidate taken to `sink`.
    pub fn new(sink: &'t mut dyn FnMut(Candidate<'a>)) -> Self {
        Self { sink, count: 0 }
    }

    /// Take the candidate's item now.
    #[inline]
    pub fn take(&mut self, candidate: Candidate<'a>) {
        self.count += 1;
        (self.sink)(candidate);
    }

    /// How many candidates were handed over so far in this call.
    pub fn count(&self) -> usize {
        self.count
    }
}

/// Where the rescued pwq's cursor goes once the chosen items are taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CursorMove {
    /// Leave it where it is (linked or not).
    Stay,
    /// Take it off the worklist.
    Unlink,
    /// Just before the node that followed the last taken item and the barriers linked
    /// behind it, or at the tail if none followed (kernel `list_move_tail(cursor, n)`).
    AfterTaken,
}

/// What the rescuer does after taking (and running) the chosen items.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Then {
    /// Run what was taken, then ask the policy again (the rescuer leaves instead if nothing
    /// was taken).
    Continue,
    /// Leave this pwq (after running what was taken, if anything).
    Leave,
    /// Put the pwq back on `maydays` and leave (fairness, or more to rescue later).
    LeaveAndRemayday,
}

/// A policy's decision for one step of a rescuer visit, besides the items it took: where
/// the cursor goes and what happens next.
///
/// New fields may be added: build one with [`Choice::new`] or the shorthands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Choice {
    /// Where the cursor goes.
    pub cursor: CursorMove,
    /// What happens next.
    pub then: Then,
}

impl Choice {
    /// Move the cursor by `cursor`, then `then`.
    pub const fn new(cursor: CursorMove, then: Then) -> Self {
        Self { cursor, then }
    }

    /// Leave the cursor alone and leave the pwq.
    pub const fn leave() -> Self {
        Self::new(CursorMove::Stay, Then::Leave)
    }

    /// Leave the cursor alone, put the pwq back on `maydays` and leave.
    pub const fn leave_and_remayday() -> Self {
        Self::new(CursorMove::Stay, Then::LeaveAndRemayday)
    }
}

/// How a rescuer picks the work of the pwq it rescues.
///
/// Called by cmwq-pool under the pool lock, repeatedly during one visit: first with
/// `passes_this_visit == 0`, then after the rescuer has run what the previous call took,
/// until the choice says [`Then::Leave`] or [`Then::LeaveAndRemayday`] (or takes nothing).
/// A policy must only read: everything it may use is in the view and the context.
///
/// The trait is safe, and the pool stays consistent whatever a policy does: it takes an
/// item only if it was met on the worklist lent in this call, is queued on the rescued pwq
/// and was not taken already in this call (each check O(1), made before the pool touches
/// the item); candidates that fail a check are skipped. A policy may hand candidates over
/// in any order: the rescuer runs them in the order given. Nor can a policy make the
/// rescuer spin: [`Then::Continue`] with nothing taken leaves, and a pwq goes back on
/// `maydays` ([`Then::LeaveAndRemayday`]) only from a visit that rescued something.
pub trait RescuerPolicy: Send + Sync + fmt::Debug {
    /// Choose what to take now: hand each item to take to `take` (in the order the rescuer
    /// should run them), and say where the cursor goes and what happens next.
    fn choose<'a>(
        &self,
        view: &WorklistView<'a>,
        ctx: &RescueCtx,
        take: &mut Take<'_, 'a>,
    ) -> Choice;

    /// Short name for reports (`"slurp"`, `"cursor"`, `"rescan"`). By default the type's
    /// name without its module path.
    fn name(&self) -> &'static str {
        let full = std::any::type_name::<Self>();
        let base = &full[..full.find('<').unwrap_or(full.len())];
        &base[base.rfind("::").map_or(0, |i| i + 2)..]
    }
}

/// A shared policy is a policy (so a caller can keep a handle on a policy it gave away).
impl<P: RescuerPolicy + ?Sized> RescuerPolicy for Arc<P> {
    #[inline]
    fn choose<'a>(
        &self,
        view: &WorklistView<'a>,
        ctx: &RescueCtx,
        take: &mut Take<'_, 'a>,
    ) -> Choice {
        (**self).choose(view, ctx, take)
    }

    fn name(&self) -> &'static str {
        (**self).name()
    }
}

/// Ask `policy` once and collect the candidates it takes in a `Vec`, for tests and tools
/// (the pool hands the policy a [`Take`] over its own buffer instead).
pub fn choose_collect<'a, P: RescuerPolicy + ?Sized>(
    policy: &P,
    view: &WorklistView<'a>,
    ctx: &RescueCtx,
) -> (Vec<Candidate<'a>>, Choice) {
    let mut taken = Vec::new();
    let choice = policy.choose(view, ctx, &mut Take::new(&mut |c| taken.push(c)));
    (taken, choice)
}

/// One step of a one-item-at-a-time rescuer ([`Cursor`], [`Rescan`]), the Linux 7.0
/// `assign_rescuer_work`: past the batch with others waiting, re-send the mayday and leave;
/// leave unless the pwq really needs rescue; else take the first item of the pwq that
/// `scan` meets and move the cursor by `moved`. The two policies differ only in where the
/// scan starts and whether the cursor follows it.
fn one_at_a_time<'v, 'a: 'v>(
    ctx: &RescueCtx,
    scan: impl FnOnce() -> Scan<'v, 'a>,
    moved: CursorMove,
    take: &mut Take<'_, 'a>,
) -> Choice {
    if ctx.batch_exhausted() {
        return Choice::leave_and_remayday();
    }
    if !ctx.needs_rescue() {
        return Choice::leave();
    }
    match scan().next_of_pwq() {
        Some(c) => {
            take.take(c);
            Choice::new(moved, Then::Continue)
        }
        None => Choice::leave(),
    }
}

/// Pre-7.0 rescuer: take every item of the pwq in one pass.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Slurp;

impl RescuerPolicy for Slurp {
    fn name(&self) -> &'static str {
        "slurp"
    }

    #[inline]
    fn choose<'a>(
        &self,
        view: &WorklistView<'a>,
        ctx: &RescueCtx,
        take: &mut Take<'_, 'a>,
    ) -> Choice {
        if ctx.passes_this_visit > 0 {
            // The slurped items ran. Rescued items may have activated inactive ones or
            // queued more (chained queueing): come back without waiting MAYDAY_INTERVAL.
            // The pre-7.0 rescuer does this only after processing a non-empty scheduled
            // list: if every item it found went to a worker already running it, it leaves.
            return if ctx.rescued_this_visit > 0 && ctx.nr_active != 0 && ctx.need_to_create_worker
            {
                Choice::leave_and_remayday()
            } else {
                Choice::leave()
            };
        }
        let mut scan = view.scan_from_head();
        let mut any = false;
        while let Some(c) = scan.next_of_pwq() {
            take.take(c);
            any = true;
        }
        let then = if any { Then::Continue } else { Then::Leave };
        Choice::new(CursorMove::Stay, then)
    }
}

/// Linux 7.0 rescuer: one item at a time, resuming after the pwq's cursor.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cursor;

impl RescuerPolicy for Cursor {
    fn name(&self) -> &'static str {
        "cursor"
    }

    #[inline]
    fn choose<'a>(
        &self,
        view: &WorklistView<'a>,
        ctx: &RescueCtx,
        take: &mut Take<'_, 'a>,
    ) -> Choice {
        one_at_a_time(
            ctx,
            || view.scan_after_cursor(),
            CursorMove::AfterTaken,
            take,
        )
    }
}

/// One item at a time without a cursor, rescanning from the head: the O(N²) baseline.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Rescan;

impl RescuerPolicy for Rescan {
    fn name(&self) -> &'static str {
        "rescan"
    }

    #[inline]
    fn choose<'a>(
        &self,
        view: &WorklistView<'a>,
        ctx: &RescueCtx,
        take: &mut Take<'_, 'a>,
    ) -> Choice {
        one_at_a_time(ctx, || view.scan_from_head(), CursorMove::Stay, take)
    }
}

/// A rescuer policy as a value: what a workqueue is built with. Cheap to clone.
///
/// Every [`RescuerPolicy`] is one ([`Policy::new`]); the three built-in ones are kept by
/// kind (no dynamic dispatch, compared and parsed by name), any other behind an `Arc`.
#[derive(Clone, Debug, Default)]
pub enum Policy {
    /// [`Slurp`]: the pre-7.0 rescuer.
    Slurp,
    /// [`Cursor`]: the Linux 7.0 rescuer (the default).
    #[default]
    Cursor,
    /// [`Rescan`]: the O(N²) strawman.
    Rescan,
    /// Any other policy.
    Custom(Arc<dyn RescuerPolicy>),
}

impl Policy {
    /// The three built-in policies, for A/B loops.
    pub const BUILTIN: [Policy; 3] = [Policy::Slurp, Policy::Cursor, Policy::Rescan];

    /// `policy` as a value: a built-in policy ([`Slurp`], [`Cursor`], [`Rescan`] or a
    /// `Policy`) keeps its kind, any other is put behind an `Arc`.
    ///
    /// ```
    /// use cmwq_rescue::{Choice, Cursor, Policy, RescueCtx, RescuerPolicy, Take, WorklistView};
    ///
    /// #[derive(Debug)]
    /// struct Never;
    /// impl RescuerPolicy for Never {
    ///     fn choose<'a>(&self, _: &WorklistView<'a>, _: &RescueCtx, _: &mut Take<'_, 'a>) -> Choice {
    ///         Choice::leave()
    ///     }
    /// }
    /// assert_eq!(Policy::new(Cursor), Policy::Cursor);
    /// assert_eq!(Policy::new(Policy::Slurp), Policy::Slurp);
    /// assert_eq!(Policy::new(Never).name(), "Never");
    /// ```
    pub fn new<P: RescuerPolicy + 'static>(policy: P) -> Policy {
        let any: &dyn std::any::Any = &policy;
        if let Some(p) = any.downcast_ref::<Policy>() {
            p.clone()
        } else if any.is::<Slurp>() {
            Policy::Slurp
        } else if any.is::<Cursor>() {
            Policy::Cursor
        } else if any.is::<Rescan>() {
            Policy::Rescan
        } else {
            Policy::Custom(Arc::new(policy))
        }
    }
}

impl RescuerPolicy for Policy {
    fn name(&self) -> &'static str {
        match self {
            Policy::Slurp => Slurp.name(),
            Policy::Cursor => Cursor.name(),
            Policy::Rescan => Rescan.name(),
            Policy::Custom(p) => p.name(),
        }
    }

    #[inline]
    fn choose<'a>(
        &self,
        view: &WorklistView<'a>,
        ctx: &RescueCtx,
        take: &mut Take<'_, 'a>,
    ) -> Choice {
        match self {
            Policy::Slurp => Slurp.choose(view, ctx, take),
            Policy::Cursor => Cursor.choose(view, ctx, take),
            Policy::Rescan => Rescan.choose(view, ctx, take),
            Policy::Custom(p) => p.choose(view, ctx, take),
        }
    }
}

impl PartialEq for Policy {
    /// Built-in policies compare by kind; custom ones by identity (`Arc::ptr_eq`).
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Policy::Custom(a), Policy::Custom(b)) => Arc::ptr_eq(a, b),
            (a, b) => std::mem::discriminant(a) == std::mem::discriminant(b),
        }
    }
}

impl Eq for Policy {}

/// A policy name [`Policy::from_str`](std::str::FromStr) does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown rescuer policy {0:?}: expected \"slurp\", \"cursor\" or \"rescan\"")]
pub struct UnknownPolicy(pub String);

impl std::str::FromStr for Policy {
    type Err = UnknownPolicy;

    /// `"slurp"`, `"cursor"` or `"rescan"` (ASCII case-insensitive).
    fn from_str(s: &str) -> Result<Self, UnknownPolicy> {
        match s.to_ascii_lowercase().as_str() {
            "slurp" => Ok(Policy::Slurp),
            "cursor" => Ok(Policy::Cursor),
            "rescan" => Ok(Policy::Rescan),
            _ => Err(UnknownPolicy(s.to_string())),
        }
    }
}

impl fmt::Display for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
