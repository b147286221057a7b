//! Shared helpers for cmwq's criterion benches.
