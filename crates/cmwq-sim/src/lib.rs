//! cmwq-sim: the cmwq core driven in virtual time.
//!
//! (crate docs completed with the event loop)

mod error;
pub mod file;
pub mod library;
pub mod metrics;
pub mod scenario;
pub mod time;
pub mod timeline;
pub mod trace;

pub use error::ScenarioError;
pub use metrics::{Metrics, Percentiles};
pub use scenario::{
    FlushSpec, ItemSpec, PolicyChoice, PressureWindow, Scenario, ScenarioBuilder, SignalSpec, Step,
    WorkqueueSpec, WqKind,
};
pub use trace::{Trace, TraceEvent, TraceKind};
