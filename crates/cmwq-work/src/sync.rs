//! The atomics this crate uses: core's, or loom's under `cfg(loom)` (the crossbeam and
//! tokio pattern), so that the loom models in `tests/loom_data.rs` check the data-word code
//! that ships, not a copy of it. Nothing in the crate names `core::sync::atomic` directly.

#[cfg(not(loom))]
pub(crate) use core::sync::atomic::{AtomicUsize, Ordering};
#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicUsize, Ordering};
