//! cmwq-sim: the cmwq core driven in virtual time.
//!
//! The simulator runs the same sans-IO core ([`cmwq_pool`]) that the runtime runs on OS
//! threads, but on a virtual nanosecond clock: a seeded, deterministic event loop
//! ([`engine`]) plays the part of the threads and timers. What a simulation shows is
//! therefore what the core decides, at a million work items per second and with no real
//! time passing.
//!
//! # Concepts
//!
//! - A [`Scenario`] is data: workqueues ([`WorkqueueSpec`]), groups of simulated work items
//!   ([`ItemSpec`]) each running a script of [`Step`]s (run on the CPU, sleep, block until
//!   an event, queue another item, signal an event), memory-pressure windows during which
//!   worker creation fails, events and flushes at fixed instants, and the instants at which
//!   to take a kernel-format dump. Build one in Rust ([`Scenario::builder`]) or write it as
//!   a small TOML file ([`file`](mod@file)). The [`library`] has the built-in ones, among them the
//!   reported case the 7.0 rescuer change is about.
//! - A run ([`run`], [`run_policies`]) plays a scenario under one rescuer policy (Slurp,
//!   Cursor or Rescan, [`PolicyChoice`]) and yields a [`RunOutput`]: the event
//!   [`Trace`] (queued, started, slept, woke, finished, maydays, worker creations), the
//!   [`Metrics`] (queue-to-start and queue-to-finish percentiles, the stall of sibling items
//!   after pressure ends, rescuer nodes visited per rescued item, maydays, rescued items,
//!   creations and failures) and the dumps.
//! - A run is drawn as a [`timeline`]: text, or an SVG picture with one lane per worker;
//!   [`timeline::render_svg_pair`] puts Slurp above Cursor on one time axis.
//!
//! # Example
//!
//! The reported case: under Slurp the rescuer's blocked item holds its slurped siblings
//! until it unblocks, long after pressure ended; under Cursor a new worker runs them as soon
//! as one can be created.
//!
//! ```
//! use cmwq_sim::{library, run, PolicyChoice};
//!
//! let scenario = library::reported_case();
//! let slurp = run(&scenario, PolicyChoice::Slurp)?;
//! let cursor = run(&scenario, PolicyChoice::Cursor)?;
//! let stall = |r: &cmwq_sim::RunOutput| r.metrics.sibling_stall.unwrap();
//! assert!(stall(&slurp) > 1_000_000_000, "slurp: siblings wait for the blocked item");
//! assert!(stall(&cursor) < 100_000_000, "cursor: siblings run once pressure ends");
//! # Ok::<(), cmwq_sim::SimError>(())
//! ```
//!
//! A scenario of one's own, from a string in the file format ([`file`](mod@file)): worker
//! creation fails for 100 ms while the pool's only worker is blocked, so the rescuer runs
//! the reclaim items.
//!
//! ```
//! use cmwq_sim::{PolicyChoice, Scenario, run};
//!
//! let scenario = Scenario::from_toml(
//!     r#"
//!     name = "small-stall"
//!     cpus = 1
//!
//!     [[workqueue]]
//!     name = "log"
//!
//!     [[workqueue]]
//!     name = "reclaim"
//!     flags = ["mem_reclaim"]
//!
//!     [[pressure]]
//!     start = "1ms"
//!     end = "100ms"
//!
//!     [[item]]
//!     name = "log"
//!     wq = "log"
//!     script = ["run 50us", "block io"]
//!
//!     [[item]]
//!     name = "flush"
//!     wq = "reclaim"
//!     at = "2ms"
//!     count = 3
//!     script = ["run 1ms"]
//!
//!     [[signal]]
//!     event = "io"
//!     at = "200ms"
//!     "#,
//! )
//! .expect("a valid scenario");
//! let out = run(&scenario, PolicyChoice::Cursor).expect("it runs");
//! assert_eq!(out.metrics.finished, 4, "every item ran");
//! assert!(out.metrics.rescued >= 1, "the rescuer ran reclaim items under pressure");
//! ```

pub mod engine;
mod error;
pub mod file;
mod kernel_figures;
pub mod library;
pub mod metrics;
pub mod report;
pub mod scenario;
pub mod starter;
pub mod time;
pub mod timeline;
pub mod trace;

pub use engine::{Dump, RunOptions, RunOutput, SimError, TraceMode, run, run_policies, run_with};
pub use error::ScenarioError;
pub use kernel_figures::KernelFigures;
pub use metrics::{Metrics, Percentiles};
pub use scenario::{
    FlushSpec, ItemSpec, PolicyChoice, PressureWindow, Scenario, ScenarioBuilder, SignalSpec, Step,
    WorkqueueSpec, WqKind,
};
pub use trace::{Trace, TraceEvent, TraceKind};

/// Finds a scenario: a built-in one by name, else a scenario file at that path.
pub fn load(name_or_path: &str) -> Result<Scenario, ScenarioError> {
    if let Some(s) = library::builtin(name_or_path) {
        return Ok(s);
    }
    let path = std::path::Path::new(name_or_path);
    if path.is_file() {
        return Scenario::from_file(path);
    }
    Err(ScenarioError::NotFound(name_or_path.to_owned()))
}

/// The reported case under Slurp (above) and Cursor (below), as one SVG timeline: under
/// Slurp the siblings sit in the rescuer's lane behind the blocked item; under Cursor they
/// run on a normal worker once pressure ends. (`cargo xtask ab-bench` puts it in its
/// report.)
pub fn reported_case_svg() -> Result<String, SimError> {
    let scenario = library::reported_case();
    let slurp = run(&scenario, PolicyChoice::Slurp)?;
    let cursor = run(&scenario, PolicyChoice::Cursor)?;
    Ok(timeline::render_svg_pair(&slurp.trace, &cursor.trace))
}
