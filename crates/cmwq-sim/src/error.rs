//! The simulator's typed errors.

/// What was wrong with a scenario, a scenario file or a command line.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// A duration that is not a number followed by `ns`, `us`, `ms` or `s`.
    #[error(
        "bad duration {0:?}: expected a number and a unit (ns, us, ms, s), e.g. `10ms` or `1.5s`"
    )]
    BadDuration(String),
    /// A policy name that is not `slurp`, `cursor`, `rescan` or `all`.
    #[error("bad policy {0:?}: expected slurp, cursor, rescan or all")]
    BadPolicy(String),
    /// A script step that does not parse.
    #[error(
        "item {item}: bad step {step:?}: expected `run D`, `sleep D`, `block EVENT`, `queue ITEM` or `signal EVENT`"
    )]
    BadStep {
        /// The item group.
        item: String,
        /// The step as written.
        step: String,
    },
    /// Two workqueues or items with the same name.
    #[error("duplicate {what} name {name:?}")]
    Duplicate {
        /// `workqueue` or `item`.
        what: &'static str,
        /// The name.
        name: String,
    },
    /// A reference to a workqueue, item or event the scenario does not define.
    #[error("unknown {what} {name:?} ({context})")]
    Unknown {
        /// `workqueue`, `item` or `event`.
        what: &'static str,
        /// The name.
        name: String,
        /// Where it was referred to.
        context: String,
    },
    /// A value out of its range, or an inconsistent scenario.
    #[error("invalid scenario: {0}")]
    Invalid(String),
    /// The file is not valid TOML or has fields of the wrong type or name.
    #[error("scenario file: {0}")]
    Syntax(String),
    /// No built-in scenario of that name and no such file.
    #[error("no built-in scenario or file named {0:?} (`list` shows the built-in ones)")]
    NotFound(String),
    /// The file could not be read.
    #[error("reading {path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
}
