//! The atomics of the idle workers' wake hand-off ([`crate::idle`]): std's, or loom's
//! under `cfg(loom)`, so that its loom model checks the code that ships.

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicU32, Ordering, fence};

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicBool, AtomicU32, Ordering, fence};
