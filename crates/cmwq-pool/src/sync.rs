//! The atomics and spin hints of the lock-free incoming ring ([`crate::Incoming`]): std's,
//! or loom's under `cfg(loom)`, so that the ring's loom model (in `incoming.rs`) checks the
//! code that ships, as cmwq-work's `sync` module does for the data word.

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, Ordering};
#[cfg(not(loom))]
pub(crate) use std::{hint::spin_loop, thread::yield_now};

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, Ordering};
#[cfg(loom)]
pub(crate) use loom::{hint::spin_loop, thread::yield_now};
