//! The work data word: layout constants, flag types and the decoded view.
//!
//! Kernel layout (`include/linux/workqueue.h`, 64-bit, without debugobjects):
//!
//! ```text
//! on queue (PWQ set):   [ pwq id                              ][ colour:4 ][ LINKED PWQ INACTIVE PENDING ]
//!                        63 .. 8                                 7 .. 4       3     2      1       0
//! off queue (PWQ clear):[ free ][ pool id:31 ][ disable count:16 ][ BH ][ LINKED PWQ INACTIVE PENDING ]
//!                               51 .. 21      20 .. 5             4      3 .. 0
//! ```
//!
//! The kernel stores a 256-byte-aligned `pool_workqueue` pointer where cmwq stores a
//! [`PwqId`] shifted left by [`WORK_STRUCT_PWQ_SHIFT`].

use bitflags::bitflags;

/// Bit number of [`WorkFlags::PENDING`].
pub const WORK_STRUCT_PENDING_BIT: u32 = 0;
/// Bit number of [`WorkFlags::INACTIVE`].
pub const WORK_STRUCT_INACTIVE_BIT: u32 = 1;
/// Bit number of [`WorkFlags::PWQ`].
pub const WORK_STRUCT_PWQ_BIT: u32 = 2;
/// Bit number of [`WorkFlags::LINKED`].
pub const WORK_STRUCT_LINKED_BIT: u32 = 3;
/// Number of flag bits at the bottom of the word.
pub const WORK_STRUCT_FLAG_BITS: u32 = 4;
/// Where the flush colour starts (on queue).
pub const WORK_STRUCT_COLOR_SHIFT: u32 = WORK_STRUCT_FLAG_BITS;
/// Width of the flush colour.
pub const WORK_STRUCT_COLOR_BITS: u32 = 4;
/// Number of flush colours.
pub const WORK_NR_COLORS: u32 = 1 << WORK_STRUCT_COLOR_BITS;
/// Where the pwq id starts (on queue).
pub const WORK_STRUCT_PWQ_SHIFT: u32 = WORK_STRUCT_COLOR_SHIFT + WORK_STRUCT_COLOR_BITS;

/// Where the off-queue flags start.
pub const WORK_OFFQ_FLAG_SHIFT: u32 = WORK_STRUCT_FLAG_BITS;
/// Off-queue flag: the item last ran on a BH pool.
pub const WORK_OFFQ_BH_BIT: u32 = WORK_OFFQ_FLAG_SHIFT;
/// Number of off-queue flag bits.
pub const WORK_OFFQ_FLAG_BITS: u32 = 1;
/// Where the disable count starts (off queue).
pub const WORK_OFFQ_DISABLE_SHIFT: u32 = WORK_OFFQ_FLAG_SHIFT + WORK_OFFQ_FLAG_BITS;
/// Width of the disable count.
pub const WORK_OFFQ_DISABLE_BITS: u32 = 16;
/// The largest disable count.
pub const WORK_OFFQ_DISABLE_MAX: u16 = u16::MAX;
/// Where the last pool id starts (off queue).
pub const WORK_OFFQ_POOL_SHIFT: u32 = WORK_OFFQ_DISABLE_SHIFT + WORK_OFFQ_DISABLE_BITS;
/// Width of the last pool id: 31 bits on 64-bit, what is left on 32-bit.
pub const WORK_OFFQ_POOL_BITS: u32 = {
    let left = usize::BITS - WORK_OFFQ_POOL_SHIFT;
    if left <= 31 { left } else { 31 }
};
/// The pool id meaning "no pool".
pub const WORK_OFFQ_POOL_NONE: usize = (1 << WORK_OFFQ_POOL_BITS) - 1;
/// An off-queue word with no pool recorded.
pub const WORK_STRUCT_NO_POOL: usize = WORK_OFFQ_POOL_NONE << WORK_OFFQ_POOL_SHIFT;
/// The data word of a fresh item (the kernel's `WORK_DATA_INIT()`).
pub const WORK_DATA_INIT: usize = WORK_STRUCT_NO_POOL;

const FLAG_MASK: usize = (1 << WORK_STRUCT_FLAG_BITS) - 1;
const COLOR_MASK: usize = ((1 << WORK_STRUCT_COLOR_BITS) - 1) << WORK_STRUCT_COLOR_SHIFT;
const DISABLE_MASK: usize = ((1 << WORK_OFFQ_DISABLE_BITS) - 1) << WORK_OFFQ_DISABLE_SHIFT;
const OFFQ_FLAG_MASK: usize = ((1 << WORK_OFFQ_FLAG_BITS) - 1) << WORK_OFFQ_FLAG_SHIFT;

/// The largest pwq id the word can hold.
pub const WORK_PWQ_ID_MAX: u32 = {
    let bits = usize::BITS - WORK_STRUCT_PWQ_SHIFT;
    if bits >= 32 {
        u32::MAX
    } else {
        (1 << bits) - 1
    }
};

bitflags! {
    /// The flag bits at the bottom of every data word.
    #[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
    pub struct WorkFlags: usize {
        /// Queued (or grabbed by a canceller): queueing it again is a no-op.
        const PENDING = 1 << WORK_STRUCT_PENDING_BIT;
        /// On its pwq's inactive list (beyond max_active), not on the pool worklist.
        const INACTIVE = 1 << WORK_STRUCT_INACTIVE_BIT;
        /// The word holds a pwq id (on queue), not a pool id (off queue).
        const PWQ = 1 << WORK_STRUCT_PWQ_BIT;
        /// The next item on the list is linked to this one (a flush barrier behind it).
        const LINKED = 1 << WORK_STRUCT_LINKED_BIT;
    }
}

bitflags! {
    /// Off-queue flags (bits above the work flags while PWQ is clear).
    #[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
    pub struct OffqFlags: usize {
        /// The item last ran on a BH pool (`WORK_OFFQ_BH`).
        const BH = 1 << WORK_OFFQ_BH_BIT;
    }
}

bitflags! {
    /// What `work_busy()` reports.
    #[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
    pub struct WorkBusy: u32 {
        /// Pending (queued, not yet running).
        const PENDING = 1 << 0;
        /// Running on some worker.
        const RUNNING = 1 << 1;
    }
}

/// Identifies a pool_workqueue in the data word (cmwq stores an id where the kernel stores
/// a 256-byte-aligned pointer). Assigned by cmwq-pool, which gives the number its meaning
/// (how it packs pool and slot is cmwq-pool's own business).
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub struct PwqId(u32);

impl PwqId {
    /// The pwq id numbered `id`.
    pub const fn new(id: u32) -> Self {
        Self(id)
    }

    /// The number.
    pub const fn get(self) -> u32 {
        self.0
    }
}

/// A worker pool's id, as the kernel numbers pools.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub struct PoolId(pub u32);

/// A decoded data word.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Debug)]
pub enum WorkData {
    /// PWQ set: the item is queued on (or, with PENDING grabbed, just taken off) a pwq.
    OnQueue {
        /// The flag bits; contains [`WorkFlags::PWQ`].
        flags: WorkFlags,
        /// The flush colour, `0..WORK_NR_COLORS`.
        color: u8,
        /// The pwq the item was queued on.
        pwq: PwqId,
    },
    /// PWQ clear: the item is idle, running, or grabbed; the word remembers the last pool.
    OffQueue {
        /// The flag bits; does not contain [`WorkFlags::PWQ`].
        flags: WorkFlags,
        /// The pool the item last ran on, if any.
        pool: Option<PoolId>,
        /// How many times the item is disabled (`disable_work`); queueing is refused while
        /// it is non-zero.
        disable: u16,
    },
}

impl WorkData {
    /// Decode a raw word.
    pub const fn from_raw(raw: usize) -> Self {
        let flags = WorkFlags::from_bits_retain(raw & FLAG_MASK);
        if raw & WorkFlags::PWQ.bits() != 0 {
            WorkData::OnQueue {
                flags,
                color: ((raw & COLOR_MASK) >> WORK_STRUCT_COLOR_SHIFT) as u8,
                pwq: PwqId((raw >> WORK_STRUCT_PWQ_SHIFT) as u32),
            }
        } else {
            let pool = (raw >> WORK_OFFQ_POOL_SHIFT) & WORK_OFFQ_POOL_NONE;
            WorkData::OffQueue {
                flags,
                pool: if pool == WORK_OFFQ_POOL_NONE {
                    None
                } else {
                    Some(PoolId(pool as u32))
                },
                disable: ((raw & DISABLE_MASK) >> WORK_OFFQ_DISABLE_SHIFT) as u16,
            }
        }
    }

    /// Encode into a raw word. [`WorkFlags::PWQ`] is set or cleared to match the variant;
    /// off-queue flags ([`OffqFlags`]) are not part of this view and encode as clear.
    ///
    /// # Panics
    ///
    /// If a field does not fit: a colour of [`WORK_NR_COLORS`] or more, a pwq id above
    /// [`WORK_PWQ_ID_MAX`], or a pool id of [`WORK_OFFQ_POOL_NONE`] or more.
    pub const fn to_raw(self) -> usize {
        match self {
            WorkData::OnQueue { flags, color, pwq } => encode_on_queue(pwq, color, flags),
            WorkData::OffQueue {
                flags,
                pool,
                disable,
            } => encode_off_queue(flags, pool, disable, OffqFlags::empty()),
        }
    }

    /// The flag bits.
    pub const fn flags(self) -> WorkFlags {
        match self {
            WorkData::OnQueue { flags, .. } | WorkData::OffQueue { flags, .. } => flags,
        }
    }
}

/// The off-queue flags of a raw word (empty when PWQ is set: those bits are the colour).
pub const fn offq_flags(raw: usize) -> OffqFlags {
    if raw & WorkFlags::PWQ.bits() != 0 {
        OffqFlags::empty()
    } else {
        OffqFlags::from_bits_retain(raw & OFFQ_FLAG_MASK)
    }
}

/// Encode an on-queue word. Panics as [`WorkData::to_raw`].
pub(crate) const fn encode_on_queue(pwq: PwqId, color: u8, flags: WorkFlags) -> usize {
    assert!(
        (color as u32) < WORK_NR_COLORS,
        "cmwq-work: flush colour out of range"
    );
    // Always true on 64-bit targets (the word has room for any u32 there).
    #[allow(clippy::absurd_extreme_comparisons)]
    let fits = pwq.0 <= WORK_PWQ_ID_MAX;
    assert!(fits, "cmwq-work: pwq id out of range");
    ((pwq.0 as usize) << WORK_STRUCT_PWQ_SHIFT)
        | ((color as usize) << WORK_STRUCT_COLOR_SHIFT)
        | (flags.bits() & FLAG_MASK)
        | WorkFlags::PWQ.bits()
}

/// Encode an off-queue word. Panics as [`WorkData::to_raw`].
pub(crate) const fn encode_off_queue(
    flags: WorkFlags,
    pool: Option<PoolId>,
    disable: u16,
    offq: OffqFlags,
) -> usize {
    let pool = match pool {
        Some(PoolId(id)) => {
            assert!(
                (id as usize) < WORK_OFFQ_POOL_NONE,
                "cmwq-work: pool id out of range"
            );
            id as usize
        }
        None => WORK_OFFQ_POOL_NONE,
    };
    (pool << WORK_OFFQ_POOL_SHIFT)
        | ((disable as usize) << WORK_OFFQ_DISABLE_SHIFT)
        | (offq.bits() & OFFQ_FLAG_MASK)
        | (flags.bits() & FLAG_MASK & !WorkFlags::PWQ.bits())
}

/// The disable count of a raw word (0 when on queue).
pub(crate) const fn disable_count(raw: usize) -> u16 {
    if raw & WorkFlags::PWQ.bits() != 0 {
        0
    } else {
        ((raw & DISABLE_MASK) >> WORK_OFFQ_DISABLE_SHIFT) as u16
    }
}

/// `raw` with its disable count replaced (off-queue words only).
pub(crate) const fn with_disable_count(raw: usize, count: u16) -> usize {
    (raw & !DISABLE_MASK) | ((count as usize) << WORK_OFFQ_DISABLE_SHIFT)
}
