//! Workqueue-level state: what one small per-workqueue lock guards.

use std::collections::VecDeque;

use cmwq_rescue::Policy;

use crate::action::FlushTicket;
use crate::error::WqError;
use crate::types::{
    PwqId, WORK_NR_COLORS, WQ_DFL_ACTIVE, WQ_DFL_MIN_ACTIVE, WQ_MAX_ACTIVE, WQ_NAME_LEN, WorkerId,
    WqFlags, WqId,
};

/// How to build a workqueue (`alloc_workqueue(name, flags, max_active)`).
#[derive(Clone, Debug)]
pub struct WqSpec {
    /// The name (at most 31 bytes: `WQ_NAME_LEN` counts the NUL).
    pub name: String,
    /// `WQ_*` flags (no internal `__WQ_*` bits).
    pub flags: WqFlags,
    /// `None`: `WQ_DFL_ACTIVE` (what the kernel's 0 means; required for `WQ_BH`).
    /// `Some(n)`: 1..=`WQ_MAX_ACTIVE`.
    pub max_active: Option<u16>,
    /// The rescuer policy (used when `WQ_MEM_RECLAIM` is set).
    pub policy: Policy,
    /// Internal: an ordered workqueue (set by [`WqSpec::ordered`]).
    ordered: bool,
}

impl WqSpec {
    /// A workqueue with these flags, the default max_active and the Cursor policy.
    pub fn new(name: impl Into<String>, flags: WqFlags) -> Self {
        Self {
            name: name.into(),
            flags,
            max_active: None,
            policy: Policy::default(),
            ordered: false,
        }
    }

    /// `alloc_ordered_workqueue(name, flags)`: unbound, max_active 1, items run one at a
    /// time in queueing order.
    pub fn ordered(name: impl Into<String>, flags: WqFlags) -> Self {
        Self {
            name: name.into(),
            flags: flags | WqFlags::UNBOUND,
            max_active: Some(1),
            policy: Policy::default(),
            ordered: true,
        }
    }

    /// Set max_active.
    #[must_use]
    pub fn max_active(mut self, n: u16) -> Self {
        self.max_active = Some(n);
        self
    }

    /// Set the rescuer policy.
    #[must_use]
    pub fn policy(mut self, p: Policy) -> Self {
        self.policy = p;
        self
    }

    /// Whether this builds an ordered workqueue.
    pub fn is_ordered(&self) -> bool {
        self.ordered
    }

    /// Check the kernel's `alloc_workqueue` rules; returns the effective flags and
    /// max_active.
    pub fn validate(&self) -> Result<(WqFlags, u16), WqError> {
        if self.name.is_empty() {
            return Err(WqError::EmptyName);
        }
        if self.name.len() >= WQ_NAME_LEN {
            return Err(WqError::NameTooLong {
                len: self.name.len(),
            });
        }
        if self.name.contains('\0') {
            return Err(WqError::NameHasNul);
        }
        if let Some((offset, ch)) = self.name.char_indices().find(|(_, c)| c.is_control()) {
            return Err(WqError::NameHasControl { ch, offset });
        }
        let unknown = self.flags.bits() & !WqFlags::all().bits();
        if unknown != 0 {
            return Err(WqError::UnknownFlags { bits: unknown });
        }
        let internal = self.flags & WqFlags::INTERNAL;
        if !internal.is_empty() {
            return Err(WqError::InternalFlags { flags: internal });
        }
        let mut flags = self.flags;
        if flags.contains(WqFlags::BH) {
            let bad = flags - WqFlags::BH_ALLOWS;
            if !bad.is_empty() {
                return Err(WqError::BhWithFlags { flags: bad });
            }
            if self.max_active.is_some() {
                return Err(WqError::BhWithMaxActive);
            }
        }
        if flags.contains(WqFlags::UNBOUND | WqFlags::PERCPU) {
            return Err(WqError::UnboundAndPercpu);
        }
        let max_active = match self.max_active {
            None => WQ_DFL_ACTIVE,
            Some(n) if n == 0 || n > WQ_MAX_ACTIVE => {
                return Err(WqError::MaxActiveOutOfRange {
                    value: u32::from(n),
                });
            }
            Some(n) => n,
        };
        if self.ordered {
            if max_active != 1 {
                return Err(WqError::OrderedMaxActive {
                    value: u32::from(max_active),
                });
            }
            flags |= WqFlags::ORDERED | WqFlags::UNBOUND;
        }
        Ok((flags, max_active))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FlushInProgress {
    ticket: FlushTicket,
    /// pwqs still flushing, minus those that reported before being counted (signed: a pwq
    /// may report done before the flusher counts it, under another lock).
    remaining: i64,
    prepared: bool,
}

/// The start of a flush: the colour to wait for and the colour new items get.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlushBegin {
    /// Names this flush in [`crate::Action::WqFlushDone`].
    pub ticket: FlushTicket,
    /// Items of this colour must finish.
    pub flush_color: u8,
    /// New items get this colour.
    pub work_color: u8,
}

/// A workqueue's own state (`struct workqueue_struct` minus its pwqs, which live on their
/// pools): name, flags, max_active, its pwq ids, the `maydays` list, the rescuer, flush
/// colours and drain state.
#[derive(Debug)]
pub struct Workqueue {
    id: WqId,
    name: String,
    flags: WqFlags,
    max_active: u16,
    min_active: u16,
    policy: Policy,
    /// Per-CPU pwqs indexed by CPU, or the one unbound pwq.
    pwqs: Vec<PwqId>,
    maydays: VecDeque<PwqId>,
    rescuer: Option<WorkerId>,
    pub(crate) rescuer_on: Option<PwqId>,
    work_color: u8,
    flush_color: u8,
    flush: Option<FlushInProgress>,
    next_ticket: u64,
    reserved: Option<FlushTicket>,
    pub(crate) drain_requested: bool,
    drains_begun: u64,
    destroyed: bool,
}

impl Workqueue {
    /// Build the workqueue's own state from a validated spec. `pwqs` are the pwqs the
    /// caller created on the pools (per CPU in CPU order, or one for an unbound workqueue);
    /// `rescuer` is the rescuer's worker id when `WQ_MEM_RECLAIM` is set.
    pub fn new(
        id: WqId,
        spec: &WqSpec,
        pwqs: Vec<PwqId>,
        rescuer: Option<WorkerId>,
    ) -> Result<Self, WqError> {
        let (flags, max_active) = spec.validate()?;
        Ok(Self {
            id,
            name: spec.name.clone(),
            flags,
            max_active,
            min_active: WQ_DFL_MIN_ACTIVE.min(max_active),
            policy: spec.policy.clone(),
            pwqs,
            maydays: VecDeque::new(),
            rescuer: if flags.contains(WqFlags::MEM_RECLAIM) {
                rescuer
            } else {
                None
            },
            rescuer_on: None,
            work_color: 0,
            flush_color: 0,
            flush: None,
            next_ticket: 0,
            reserved: None,
            drain_requested: false,
            drains_begun: 0,
            destroyed: false,
        })
    }

    /// Its id.
    pub fn id(&self) -> WqId {
        self.id
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its flags, internal bits included (`__WQ_DRAINING` while draining).
    pub fn flags(&self) -> WqFlags {
        self.flags
    }

    /// Its max_active.
    pub fn max_active(&self) -> u16 {
        self.max_active
    }

    /// Its min_active.
    pub fn min_active(&self) -> u16 {
        self.min_active
    }

    /// Whether it is ordered.
    pub fn is_ordered(&self) -> bool {
        self.flags.contains(WqFlags::ORDERED)
    }

    /// Its rescuer policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Its rescuer's worker id (`WQ_MEM_RECLAIM` only).
    pub fn rescuer(&self) -> Option<WorkerId> {
        self.rescuer
    }

    /// The pwq its rescuer is visiting, if any (kept by the driver of the rescuer).
    pub fn rescuer_visiting(&self) -> Option<PwqId> {
        self.rescuer_on
    }

    /// Record which pwq the rescuer visits (`None` when it sleeps).
    pub fn set_rescuer_visiting(&mut self, pwq: Option<PwqId>) {
        self.rescuer_on = pwq;
    }

    /// Its pwqs: per CPU (index = CPU) or the single unbound one.
    pub fn pwqs(&self) -> &[PwqId] {
        &self.pwqs
    }

    /// Whether it is destroyed.
    pub fn is_destroyed(&self) -> bool {
        self.destroyed
    }

    /// Whether it is draining.
    pub fn is_draining(&self) -> bool {
        self.flags.contains(WqFlags::DRAINING)
    }

    /// `workqueue_set_max_active` validation: returns the new value, which the caller
    /// applies to every pwq (`Pool::pwq_set_max_active`).
    pub fn set_max_active(&mut self, n: u16) -> Result<u16, WqError> {
        if self.destroyed {
            return Err(WqError::Destroyed(self.id));
        }
        if self.is_ordered() {
            return Err(WqError::OrderedSetMaxActive(self.id));
        }
        if n == 0 || n > WQ_MAX_ACTIVE {
            return Err(WqError::MaxActiveOutOfRange {
                value: u32::from(n),
            });
        }
        self.max_active = n;
        self.min_active = self.min_active.min(n);
        Ok(n)
    }

    /// `workqueue_set_min_active`: 1..=max_active.
    pub fn set_min_active(&mut self, n: u16) -> Result<(), WqError> {
        if n == 0 || n > self.max_active {
            return Err(WqError::MinActiveOutOfRange {
                value: u32::from(n),
                max_active: u32::from(self.max_active),
            });
        }
        self.min_active = n;
        Ok(())
    }

    // ------------------------------------------------------------------ maydays

    /// `send_mayday`: put `pwq` at the tail of `maydays` if there is a rescuer and it is not
    /// there yet. True if newly added.
    pub fn send_mayday(&mut self, pwq: PwqId) -> bool {
        if self.rescuer.is_none() || self.destroyed || self.maydays.contains(&pwq) {
            return false;
        }
        self.maydays.push_back(pwq);
        true
    }

    /// The rescuer takes the first pwq off `maydays`.
    pub fn pop_mayday(&mut self) -> Option<PwqId> {
        self.maydays.pop_front()
    }

    /// Whether any pwq waits on `maydays`.
    pub fn has_maydays(&self) -> bool {
        !self.maydays.is_empty()
    }

    /// Whether `pwq` is on `maydays`.
    pub fn is_on_maydays(&self, pwq: PwqId) -> bool {
        self.maydays.contains(&pwq)
    }

    /// The `maydays` list, first to be served first.
    pub fn maydays(&self) -> impl Iterator<Item = PwqId> + '_ {
        self.maydays.iter().copied()
    }

    // ------------------------------------------------------------------ flush

    /// Start a flush_workqueue. One flush runs at a time per workqueue (a simplification of
    /// the kernel's flusher queue): while one runs this returns `FlushInProgress`; a new
    /// flusher then takes [`Workqueue::flush_reserve`]'s ticket and the next flush is
    /// started when the current one completes (`System` does this by itself).
    ///
    /// Then, for every pwq, under its pool lock: if `Pool::pwq_flush_prep(pwq, flush_color,
    /// work_color)` returns true, call [`Workqueue::flush_pwq_added`] (before releasing the
    /// pool lock); finally call [`Workqueue::flush_prepared`].
    pub fn flush_begin(&mut self) -> Result<FlushBegin, WqError> {
        if self.destroyed {
            return Err(WqError::Destroyed(self.id));
        }
        if self.flush.is_some() {
            return Err(WqError::FlushInProgress(self.id));
        }
        let ticket = match self.reserved.take() {
            Some(t) => t,
            None => self.new_ticket(),
        };
        let flush_color = self.work_color;
        self.work_color = (self.work_color + 1) % WORK_NR_COLORS;
        self.flush_color = flush_color;
        self.flush = Some(FlushInProgress {
            ticket,
            remaining: 0,
            prepared: false,
        });
        Ok(FlushBegin {
            ticket,
            flush_color,
            work_color: self.work_color,
        })
    }

    fn new_ticket(&mut self) -> FlushTicket {
        let t = FlushTicket(self.next_ticket);
        self.next_ticket += 1;
        t
    }

    /// While a flush is in progress, a new flusher waits for the *next* flush (which will
    /// cover everything queued before it): this reserves that flush's ticket (shared by
    /// every flusher that arrives meanwhile). The next `flush_begin` uses it; start it once
    /// the current flush completes.
    pub fn flush_reserve(&mut self) -> FlushTicket {
        match self.reserved {
            Some(t) => t,
            None => {
                let t = self.new_ticket();
                self.reserved = Some(t);
                t
            }
        }
    }

    /// The ticket of a flush reserved by [`Workqueue::flush_reserve`] and not started yet.
    pub fn flush_reserved(&self) -> Option<FlushTicket> {
        self.reserved
    }

    /// A pwq has items of the flush colour in flight: the flush waits for its
    /// `FlushColorDone`.
    pub fn flush_pwq_added(&mut self) {
        if let Some(f) = self.flush.as_mut() {
            f.remaining += 1;
        }
    }

    /// Every pwq was prepared. Returns the ticket if the flush is already complete.
    pub fn flush_prepared(&mut self) -> Option<FlushTicket> {
        let f = self.flush.as_mut()?;
        f.prepared = true;
        self.flush_check()
    }

    /// A pwq reported [`crate::Action::FlushColorDone`]. Returns the ticket if that completed
    /// the flush.
    pub fn flush_pwq_done(&mut self, _pwq: PwqId) -> Option<FlushTicket> {
        let f = self.flush.as_mut()?;
        f.remaining -= 1;
        self.flush_check()
    }

    fn flush_check(&mut self) -> Option<FlushTicket> {
        let f = self.flush?;
        if f.prepared && f.remaining <= 0 {
            self.flush = None;
            self.flush_color = self.work_color;
            Some(f.ticket)
        } else {
            None
        }
    }

    /// The flush in progress, if any.
    pub fn flush_in_progress(&self) -> Option<FlushTicket> {
        self.flush.map(|f| f.ticket)
    }

    /// The colour new items get.
    pub fn work_color(&self) -> u8 {
        self.work_color
    }

    // ------------------------------------------------------------------ drain / destroy

    /// Start draining: `__WQ_DRAINING` is set; the caller marks every pwq draining
    /// (`Pool::pwq_set_draining`) and flushes until every pwq is empty.
    pub fn begin_drain(&mut self) -> Result<(), WqError> {
        if self.destroyed {
            return Err(WqError::Destroyed(self.id));
        }
        if self.is_draining() {
            return Err(WqError::AlreadyDraining(self.id));
        }
        self.flags |= WqFlags::DRAINING;
        self.drains_begun += 1;
        Ok(())
    }

    /// How many drains have begun. Drains run one at a time and each ends with one
    /// `WqDrained`, so the n-th drain is over once n `WqDrained` have been performed.
    pub fn drains_begun(&self) -> u64 {
        self.drains_begun
    }

    /// Draining is over.
    pub fn end_drain(&mut self) {
        self.flags.remove(WqFlags::DRAINING);
        self.drain_requested = false;
    }

    /// Mark destroyed (`__WQ_DESTROYING`): later calls fail with `Destroyed`.
    pub fn mark_destroyed(&mut self) {
        self.flags |= WqFlags::DESTROYING;
        self.destroyed = true;
        self.maydays.clear();
    }
}
