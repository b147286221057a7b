//! Panicking work functions: caught, counted and reported.
//!
//! A work function that panics must not take its worker (and with it the pool's
//! concurrency accounting) down. The runtime runs every item under `catch_unwind`, emits a
//! `tracing` error, bumps the workqueue's `panics` counter and calls the hook set with
//! [`RuntimeBuilder::panic_hook`](crate::RuntimeBuilder::panic_hook), if any.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

/// What the panic hook is told about a work function that panicked.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct WorkPanic<'a> {
    /// The workqueue the item was queued on.
    pub workqueue: &'a str,
    /// The item's name (what the dump prints for it).
    pub work: &'a str,
    /// The worker thread's name (`kworker/0:1`, `kworker/R-NAME`, ...).
    pub worker: &'a str,
    /// The panic's message, when it was a string.
    pub message: &'a str,
}

impl fmt::Display for WorkPanic<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "work {} of workqueue {} panicked on {}: {}",
            self.work, self.workqueue, self.worker, self.message
        )
    }
}

/// A function called for each panicking work function.
pub type PanicHook = Arc<dyn Fn(&WorkPanic<'_>) + Send + Sync + 'static>;

/// The message of a panic payload (`&str` or `String`), else a placeholder.
pub(crate) fn payload_message(p: &(dyn Any + Send)) -> &str {
    if let Some(s) = p.downcast_ref::<&'static str>() {
        s
    } else if let Some(s) = p.downcast_ref::<String>() {
        s
    } else {
        "<non-string panic payload>"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_message_reads_str_and_string_payloads() {
        let a = std::panic::catch_unwind(|| panic!("static")).unwrap_err();
        assert_eq!(payload_message(&*a), "static");
        let n = 3;
        let b = std::panic::catch_unwind(move || panic!("formatted {n}")).unwrap_err();
        assert_eq!(payload_message(&*b), "formatted 3");
        let c = std::panic::catch_unwind(|| std::panic::panic_any(5u8)).unwrap_err();
        assert_eq!(payload_message(&*c), "<non-string panic payload>");
    }
}
