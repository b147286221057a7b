//! The figures a replay on a kernel's clock is held against a real kernel's by.
//!
//! A kernel running the reported case reports two things a reader compares: when the pool
//! finally created a worker once memory pressure ended (its creation retry, on the timer
//! wheel: 2.048 s at HZ=250 for a 2 s window, where exact timers give 2.000 s), and how long
//! after pressure ended the blocked item's siblings finished (66 to 91 ms on real kernels
//! under the 7.0 cursor). [`KernelFigures::of`] reads both from a run's trace; the A/B
//! report prints them for the scenarios that replay on a kernel's clock
//! ([`crate::library::reported_case_kernel`]).

use crate::engine::RunOutput;
use crate::time::Nanos;
use crate::trace::TraceKind;

/// The kernel-comparable figures of one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct KernelFigures {
    /// When the first worker creation at or after the end of the last pressure window
    /// succeeded (absolute virtual time), if one did.
    pub creation_after_pressure: Option<Nanos>,
    /// How long after the end of the last pressure window the first and the last sibling
    /// that were still unfinished when pressure ended finished, if any was.
    pub siblings_finish_after_pressure: Option<(Nanos, Nanos)>,
}

impl KernelFigures {
    /// Reads the figures from a run's trace (`None` fields for a run without pressure or
    /// without siblings outliving it).
    pub fn of(run: &RunOutput) -> KernelFigures {
        let trace = &run.trace;
        let Some(end) = trace.pressure.iter().map(|w| w.1).max() else {
            return KernelFigures::default();
        };
        let creation_after_pressure = trace
            .events
            .iter()
            .filter(|e| e.t >= end && matches!(e.kind, TraceKind::CreateOk { .. }))
            .map(|e| e.t)
            .next();
        let mut finishes = trace.events.iter().filter_map(|e| match e.kind {
            TraceKind::Finished { item, .. }
                if e.t >= end && trace.items.get(item as usize).is_some_and(|i| i.sibling) =>
            {
                Some(e.t - end)
            }
            _ => None,
        });
        let siblings_finish_after_pressure = finishes.next().map(|first| {
            let last = finishes.fold(first, |_, t| t);
            (first, last)
        });
        KernelFigures {
            creation_after_pressure,
            siblings_finish_after_pressure,
        }
    }
}
