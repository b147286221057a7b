//! The scenario file format: a small TOML document, so a scenario needs no code.
//!
//! `SCENARIOS.md` beside the crate's README is the reference (every table and key, units,
//! defaults, pitfalls); [`json_schema`] is the format as a JSON Schema. In short:
//!
//! ```toml
//! name = "my-case"
//! description = "one blocked rescued item and its siblings"
//! seed = 1            # optional, default 0
//! cpus = 1            # optional, default 1
//! jitter = 0          # optional, percent of jitter on `run` steps
//! policy = "all"      # optional: slurp | cursor | rescan | all
//! dumps = ["15ms", "2.5s"]
//! siblings = ["sib"]  # optional: item groups whose stall after pressure is measured
//! until = "60s"       # optional: stop even if work remains
//! hz = 250            # optional: timers land on a kernel's timer wheel at this HZ
//! nodes = [0]         # optional: NUMA node of each CPU (default all 0)
//!
//! [[workqueue]]
//! name = "xfs-buf"
//! kind = "percpu"     # percpu (default) | unbound | ordered
//! flags = ["mem_reclaim"]   # mem_reclaim, highpri, cpu_intensive
//! max_active = 0      # 0 = default
//!
//! [[pressure]]
//! start = "1ms"       # not "0": a pool starts with no workers (SCENARIOS.md)
//! end = "1s"
//!
//! [[item]]
//! name = "sib"
//! func = "xfs_end_io" # optional, default = name
//! wq = "xfs-buf"
//! cpu = 0             # optional
//! at = "1ms"          # optional, default 0; `chained = true` = only queued by a `queue` step
//! count = 8           # optional, default 1
//! interval = "10us"   # optional, between instances
//! script = ["run 1ms", "sleep 2s", "block io", "signal io", "queue other"]
//!
//! [[signal]]
//! event = "io"
//! at = "3s"
//!
//! [[flush]]
//! item = "sib"
//! at = "2ms"
//! waiter = 42
//!
//! [[cancel]]          # cancel_work of the group's first instance (timer included)
//! item = "sib"
//! at = "3ms"
//!
//! [[flush_workqueue]]
//! wq = "xfs-buf"
//! at = "4ms"
//! ```
//!
//! Delayed work: an item's `delay = "10ms"` makes its initial queueings
//! `queue_delayed_work`; script steps `queue_delayed ITEM D` and `mod_delayed ITEM D`.

use serde::Deserialize;

use crate::ScenarioError;
use crate::scenario::{ItemSpec, PolicyChoice, Scenario, Step, WorkqueueSpec, WqKind};
use crate::time::{exact, parse_duration};

/// A duration: a number (fractions allowed) and a unit, `ns`, `us`, `ms` or `s`; `0` alone.
const DURATION: &str = r"^\s*(0|([0-9]+(\.[0-9]{0,9})?|\.[0-9]{1,9})\s*(ns|us|ms|s))\s*$";
/// A script step, as [`parse_step`] reads it.
const STEP: &str = r"^\s*(run|sleep)\s+(0|([0-9]+(\.[0-9]{0,9})?|\.[0-9]{1,9})\s*(ns|us|ms|s))\s*$|^\s*(block|signal|queue)\s+\S+\s*$|^\s*(queue_delayed|mod_delayed)\s+\S+\s+(0|([0-9]+(\.[0-9]{0,9})?|\.[0-9]{1,9})\s*(ns|us|ms|s))\s*$";

/// A cmwq-sim scenario file (crates/cmwq-sim/SCENARIOS.md describes every key).
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "cmwq-sim scenario")]
struct RawScenario {
    /// The scenario's name, shown in the output.
    name: String,
    /// One line about it.
    #[serde(default)]
    description: String,
    /// Seeds the jitter: the same file and seed always give the same run.
    #[serde(default)]
    seed: u64,
    /// CPUs (1..=64); each has per-CPU pools.
    #[serde(default = "one")]
    #[schemars(range(min = 1, max = 64))]
    cpus: u32,
    /// Each `run` step lasts its duration plus or minus up to this many percent.
    #[serde(default)]
    #[schemars(range(max = 100))]
    jitter: u32,
    /// The rescuer policy `run` uses without `--policy` (default all).
    #[schemars(extend("enum" = ["slurp", "cursor", "rescan", "all"]))]
    policy: Option<String>,
    /// Instants at which to print the kernel-format dump.
    #[serde(default)]
    #[schemars(inner(pattern(DURATION)))]
    dumps: Vec<String>,
    /// Item groups whose sibling stall is measured (default: those on a mem_reclaim
    /// workqueue that never sleep).
    #[serde(default)]
    siblings: Vec<String>,
    /// Stop the run here even if work remains.
    #[schemars(pattern(DURATION))]
    until: Option<String>,
    /// Let timers land on a kernel's timer wheel at this HZ, with that kernel's workqueue
    /// constants in jiffies (default: exact timers).
    #[schemars(range(min = 1, max = 1_000_000_000))]
    hz: Option<u32>,
    /// The NUMA node of each CPU, one entry per CPU (default: every CPU on node 0).
    #[serde(default)]
    nodes: Vec<u32>,
    /// Workqueues, created before t=0.
    #[serde(default)]
    workqueue: Vec<RawWorkqueue>,
    /// Memory-pressure windows: every worker creation in [start, end) fails.
    #[serde(default)]
    pressure: Vec<RawWindow>,
    /// Groups of identical work items.
    #[serde(default)]
    item: Vec<RawItem>,
    /// Events signalled at fixed instants.
    #[serde(default)]
    signal: Vec<RawSignal>,
    /// flush_work() calls at fixed instants.
    #[serde(default)]
    flush: Vec<RawFlush>,
    /// cancel_work() calls at fixed instants.
    #[serde(default)]
    cancel: Vec<RawCancel>,
    /// flush_workqueue() calls at fixed instants.
    #[serde(default)]
    flush_workqueue: Vec<RawWqFlush>,
}

fn one() -> u32 {
    1
}

/// A workqueue.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawWorkqueue {
    /// The name dumps print; items refer to it with `wq`.
    name: String,
    /// percpu (default), unbound or ordered.
    #[schemars(extend("enum" = ["percpu", "unbound", "ordered"]))]
    kind: Option<String>,
    /// mem_reclaim (owns a rescuer), highpri, cpu_intensive.
    #[serde(default)]
    #[schemars(extend("items" = {"enum": ["mem_reclaim", "highpri", "cpu_intensive"]}))]
    flags: Vec<String>,
    /// Per-pwq limit of active items; 0 = the default (1024).
    #[serde(default)]
    #[schemars(range(max = 2048))]
    max_active: u32,
}

/// A memory-pressure window.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawWindow {
    /// First instant of pressure.
    #[schemars(pattern(DURATION))]
    start: String,
    /// First instant without pressure.
    #[schemars(pattern(DURATION))]
    end: String,
}

/// A group of identical work items.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawItem {
    /// The group's name, for `queue` steps, `siblings` and flushes.
    name: String,
    /// The function name dumps print (default: the name).
    func: Option<String>,
    /// The workqueue the items are queued on.
    wq: String,
    /// The CPU they are queued from (default 0).
    cpu: Option<u32>,
    /// When the first instance is queued (default 0).
    #[schemars(pattern(DURATION))]
    at: Option<String>,
    /// Queued only by another item's `queue` step; excludes `at`.
    #[serde(default)]
    chained: bool,
    /// How many instances (at least 1).
    #[serde(default = "one")]
    #[schemars(range(min = 1))]
    count: u32,
    /// Time between the instances' initial queueing (default 0).
    #[schemars(pattern(DURATION))]
    interval: Option<String>,
    /// Steps: `run D`, `sleep D`, `block EVENT`, `signal EVENT`, `queue ITEM`,
    /// `queue_delayed ITEM D`, `mod_delayed ITEM D`.
    #[serde(default)]
    #[schemars(inner(pattern(STEP)))]
    script: Vec<String>,
    /// The initial queueings are queue_delayed_work() with this delay.
    #[schemars(pattern(DURATION))]
    delay: Option<String>,
}

/// An event signalled at a fixed instant.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawSignal {
    /// The event, as `block` steps name it.
    event: String,
    /// When.
    #[schemars(pattern(DURATION))]
    at: String,
}

/// A flush_work() of a group's first instance.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawFlush {
    /// The group whose first instance is flushed.
    item: String,
    /// When.
    #[schemars(pattern(DURATION))]
    at: String,
    /// The id of the flushing task: dumps print the barrier as BAR(waiter).
    waiter: u32,
}

/// A cancel_work() of a group's first instance.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawCancel {
    /// The group whose first instance is cancelled.
    item: String,
    /// When.
    #[schemars(pattern(DURATION))]
    at: String,
}

/// A flush_workqueue() of a workqueue.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
struct RawWqFlush {
    /// The workqueue.
    wq: String,
    /// When.
    #[schemars(pattern(DURATION))]
    at: String,
}

/// The file format as a JSON Schema (draft 2020-12), derived from the types the file is
/// read into, so it cannot drift from what [`Scenario::from_toml`] accepts (the meaning
/// checks, such as names that must refer to something, are [`Scenario::from_toml`]'s).
/// Editors with TOML schema support (taplo) use it for completion and checks;
/// `cmwq-sim schema` prints it.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(RawScenario);
    format!("{:#}\n", schema.as_value())
}

/// Parses one script step: `run D`, `sleep D`, `block EVENT`, `queue ITEM`, `signal EVENT`.
pub fn parse_step(item: &str, text: &str) -> Result<Step, ScenarioError> {
    let bad = || ScenarioError::BadStep {
        item: item.to_owned(),
        step: text.to_owned(),
    };
    let words: Vec<&str> = text.split_whitespace().collect();
    if let [verb @ ("queue_delayed" | "mod_delayed"), item, delay] = words.as_slice() {
        let d = parse_duration(delay)?;
        return Ok(if *verb == "queue_delayed" {
            Step::QueueDelayed((*item).to_owned(), d)
        } else {
            Step::ModDelayed((*item).to_owned(), d)
        });
    }
    let [verb, arg] = words.as_slice() else {
        return Err(bad());
    };
    let (verb, arg) = (*verb, *arg);
    Ok(match verb {
        "run" => Step::Run(parse_duration(arg)?),
        "sleep" => Step::Sleep(parse_duration(arg)?),
        "block" => Step::Block(arg.to_owned()),
        "queue" => Step::Queue(arg.to_owned()),
        "signal" => Step::Signal(arg.to_owned()),
        _ => return Err(bad()),
    })
}

/// Writes a step the way [`parse_step`] reads it.
pub fn format_step(step: &Step) -> String {
    use crate::time::{Pretty, nanos};
    match step {
        Step::Run(d) => format!("run {}", Pretty(nanos(*d))),
        Step::Sleep(d) => format!("sleep {}", Pretty(nanos(*d))),
        Step::Block(e) => format!("block {e}"),
        Step::Queue(i) => format!("queue {i}"),
        Step::Signal(e) => format!("signal {e}"),
        Step::QueueDelayed(i, d) => format!("queue_delayed {i} {}", Pretty(nanos(*d))),
        Step::ModDelayed(i, d) => format!("mod_delayed {i} {}", Pretty(nanos(*d))),
    }
}

impl Scenario {
    /// Reads a scenario from the TOML format described in this module's docs, and
    /// validates it.
    pub fn from_toml(text: &str) -> Result<Scenario, ScenarioError> {
        let raw: RawScenario =
            toml::from_str(text).map_err(|e| ScenarioError::Syntax(e.to_string()))?;
        let mut b = Scenario::builder(raw.name)
            .description(raw.description)
            .seed(raw.seed)
            .cpus(raw.cpus)
            .jitter_percent(raw.jitter);
        if let Some(p) = raw.policy {
            b = b.policy(PolicyChoice::parse(&p)?);
        }
        for d in &raw.dumps {
            b = b.dump_at(parse_duration(d)?);
        }
        for s in raw.siblings {
            b = b.sibling(s);
        }
        if let Some(u) = raw.until {
            b = b.until(parse_duration(&u)?);
        }
        if !raw.nodes.is_empty() {
            b = b.nodes(raw.nodes);
        }
        if let Some(hz) = raw.hz {
            let clock = cmwq_pool::KernelClock::new(hz)
                .map_err(|e| ScenarioError::Invalid(format!("hz = {hz}: {e}")))?;
            b = b.kernel_clock(clock);
        }
        for w in raw.workqueue {
            let mut spec = WorkqueueSpec::new(w.name.clone()).max_active(w.max_active);
            spec.kind = match w.kind.as_deref().unwrap_or("percpu") {
                "percpu" => WqKind::PerCpu,
                "unbound" => WqKind::Unbound,
                "ordered" => {
                    spec.max_active = 1;
                    WqKind::Ordered
                }
                other => {
                    return Err(ScenarioError::Invalid(format!(
                        "workqueue {}: kind {other:?}, expected percpu, unbound or ordered",
                        w.name
                    )));
                }
            };
            for f in &w.flags {
                match f.as_str() {
                    "mem_reclaim" => spec.mem_reclaim = true,
                    "highpri" => spec.highpri = true,
                    "cpu_intensive" => spec.cpu_intensive = true,
                    other => {
                        return Err(ScenarioError::Invalid(format!(
                            "workqueue {}: flag {other:?}, expected mem_reclaim, highpri or cpu_intensive",
                            w.name
                        )));
                    }
                }
            }
            b = b.workqueue(spec);
        }
        for p in raw.pressure {
            b = b.pressure(parse_duration(&p.start)?, parse_duration(&p.end)?);
        }
        for i in raw.item {
            let func = i.func.unwrap_or_else(|| i.name.clone());
            let mut spec = ItemSpec::new(i.name.clone(), func, i.wq);
            spec.cpu = i.cpu;
            spec.at = match (i.chained, i.at) {
                (true, None) => None,
                (true, Some(_)) => {
                    return Err(ScenarioError::Invalid(format!(
                        "item {}: `chained = true` and `at` exclude each other",
                        i.name
                    )));
                }
                (false, Some(at)) => Some(parse_duration(&at)?),
                (false, None) => Some(std::time::Duration::ZERO),
            };
            spec.count = i.count;
            if let Some(iv) = i.interval {
                spec.interval = parse_duration(&iv)?;
            }
            for st in &i.script {
                spec.script.push(parse_step(&i.name, st)?);
            }
            if let Some(d) = i.delay {
                spec.delay = Some(parse_duration(&d)?);
            }
            b = b.item(spec);
        }
        for s in raw.signal {
            b = b.signal(s.event, parse_duration(&s.at)?);
        }
        for f in raw.flush {
            b = b.flush(f.item, parse_duration(&f.at)?, f.waiter);
        }
        for c in raw.cancel {
            b = b.cancel(c.item, parse_duration(&c.at)?);
        }
        for f in raw.flush_workqueue {
            b = b.flush_workqueue(f.wq, parse_duration(&f.at)?);
        }
        b.build()
    }

    /// Writes the scenario in the file format, so that [`Scenario::from_toml`] reads it back
    /// to an equal scenario (`cmwq-sim show NAME` prints a built-in one this way, as a
    /// starting point for a scenario of one's own).
    pub fn to_toml(&self) -> String {
        use std::fmt::Write as _;
        let mut o = String::new();
        let list = |v: &mut dyn Iterator<Item = String>| {
            let items: Vec<String> = v.map(|x| toml_str(&x)).collect();
            format!("[{}]", items.join(", "))
        };
        let _ = writeln!(o, "name = {}", toml_str(&self.name));
        let _ = writeln!(o, "description = {}", toml_str(&self.description));
        let _ = writeln!(o, "seed = {}", self.seed);
        let _ = writeln!(o, "cpus = {}", self.nr_cpus);
        let _ = writeln!(o, "jitter = {}", self.jitter_percent);
        let _ = writeln!(o, "policy = {}", toml_str(self.policy.name()));
        let _ = writeln!(
            o,
            "dumps = {}",
            list(&mut self.dumps.iter().map(|d| exact(*d)))
        );
        if !self.siblings.is_empty() {
            let _ = writeln!(o, "siblings = {}", list(&mut self.siblings.iter().cloned()));
        }
        if let Some(u) = self.until {
            let _ = writeln!(o, "until = {}", toml_str(&exact(u)));
        }
        if !self.nodes.is_empty() {
            let nodes: Vec<String> = self.nodes.iter().map(u32::to_string).collect();
            let _ = writeln!(o, "nodes = [{}]", nodes.join(", "));
        }
        if let cmwq_pool::TimerModel::Kernel(clock) = self.clock {
            let _ = writeln!(o, "hz = {}", clock.hz());
        }
        for w in &self.workqueues {
            let _ = writeln!(o, "\n[[workqueue]]");
            let _ = writeln!(o, "name = {}", toml_str(&w.name));
            let kind = match w.kind {
                WqKind::PerCpu => "percpu",
                WqKind::Unbound => "unbound",
                WqKind::Ordered => "ordered",
            };
            let _ = writeln!(o, "kind = {}", toml_str(kind));
            let flags = [
                (w.mem_reclaim, "mem_reclaim"),
                (w.highpri, "highpri"),
                (w.cpu_intensive, "cpu_intensive"),
            ];
            let mut set = flags.iter().filter(|f| f.0).map(|f| f.1.to_owned());
            let _ = writeln!(o, "flags = {}", list(&mut set));
            let _ = writeln!(o, "max_active = {}", w.max_active);
        }
        for p in &self.pressure {
            let _ = writeln!(o, "\n[[pressure]]");
            let _ = writeln!(o, "start = {}", toml_str(&exact(p.start)));
            let _ = writeln!(o, "end = {}", toml_str(&exact(p.end)));
        }
        for i in &self.items {
            let _ = writeln!(o, "\n[[item]]");
            let _ = writeln!(o, "name = {}", toml_str(&i.name));
            let _ = writeln!(o, "func = {}", toml_str(&i.func));
            let _ = writeln!(o, "wq = {}", toml_str(&i.wq));
            if let Some(cpu) = i.cpu {
                let _ = writeln!(o, "cpu = {cpu}");
            }
            match i.at {
                Some(at) => {
                    let _ = writeln!(o, "at = {}", toml_str(&exact(at)));
                }
                None => {
                    let _ = writeln!(o, "chained = true");
                }
            }
            let _ = writeln!(o, "count = {}", i.count);
            let _ = writeln!(o, "interval = {}", toml_str(&exact(i.interval)));
            let _ = writeln!(
                o,
                "script = {}",
                list(&mut i.script.iter().map(format_step))
            );
            if let Some(d) = i.delay {
                let _ = writeln!(o, "delay = {}", toml_str(&exact(d)));
            }
        }
        for s in &self.signals {
            let _ = writeln!(o, "\n[[signal]]");
            let _ = writeln!(o, "event = {}", toml_str(&s.event));
            let _ = writeln!(o, "at = {}", toml_str(&exact(s.at)));
        }
        for f in &self.flushes {
            let _ = writeln!(o, "\n[[flush]]");
            let _ = writeln!(o, "item = {}", toml_str(&f.item));
            let _ = writeln!(o, "at = {}", toml_str(&exact(f.at)));
            let _ = writeln!(o, "waiter = {}", f.waiter);
        }
        for c in &self.cancels {
            let _ = writeln!(o, "\n[[cancel]]");
            let _ = writeln!(o, "item = {}", toml_str(&c.item));
            let _ = writeln!(o, "at = {}", toml_str(&exact(c.at)));
        }
        for f in &self.wq_flushes {
            let _ = writeln!(o, "\n[[flush_workqueue]]");
            let _ = writeln!(o, "wq = {}", toml_str(&f.wq));
            let _ = writeln!(o, "at = {}", toml_str(&exact(f.at)));
        }
        o
    }

    /// Reads a scenario file.
    pub fn from_file(path: &std::path::Path) -> Result<Scenario, ScenarioError> {
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Scenario::from_toml(&text)
    }
}

/// A TOML basic string: quoted, with backslash, quote and control characters escaped.
fn toml_str(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::{ms, secs};

    #[test]
    fn every_builtin_scenario_round_trips_through_the_file_format() {
        for s in crate::library::all() {
            let text = s.to_toml();
            let back =
                Scenario::from_toml(&text).unwrap_or_else(|e| panic!("{}: {e}\n{text}", s.name));
            assert_eq!(back, s, "{}", s.name);
        }
    }

    #[test]
    fn names_with_quotes_and_backslashes_survive_the_file_format() {
        let s = Scenario::builder("odd \"name\" \\ here\tx")
            .workqueue(crate::WorkqueueSpec::new("w"))
            .build()
            .unwrap();
        assert_eq!(Scenario::from_toml(&s.to_toml()).unwrap(), s);
    }

    const REPORTED: &str = r#"
name = "file-case"
cpus = 2
dumps = ["15ms"]
[[workqueue]]
name = "xfs"
flags = ["mem_reclaim"]
[[pressure]]
start = "0"
end = "1s"
[[item]]
name = "blocker"
func = "xfs_end_io"
wq = "xfs"
script = ["run 1ms", "block io"]
[[item]]
name = "sib"
wq = "xfs"
cpu = 1
count = 4
interval = "10us"
script = ["run 100us", "queue next"]
[[item]]
name = "next"
wq = "xfs"
chained = true
script = ["run 1ms"]
[[signal]]
event = "io"
at = "3s"
"#;

    #[test]
    fn a_file_reads_into_the_same_model_as_the_builder() {
        let s = Scenario::from_toml(REPORTED).unwrap();
        assert_eq!(s.nr_cpus, 2);
        assert_eq!(s.dumps, vec![ms(15)]);
        assert!(s.workqueues[0].mem_reclaim);
        assert_eq!(
            s.items[0].script,
            vec![Step::Run(ms(1)), Step::Block("io".into())]
        );
        assert_eq!(s.items[1].func, "sib");
        assert_eq!(s.items[1].count, 4);
        assert_eq!(s.items[2].at, None);
        assert_eq!(s.signals[0].at, secs(3));
        assert_eq!(s.sibling_groups(), vec!["sib", "next"]);
    }

    #[test]
    fn unknown_fields_and_bad_steps_are_typed_errors() {
        let err = Scenario::from_toml("name = \"x\"\nbogus = 1\n").unwrap_err();
        assert!(matches!(err, ScenarioError::Syntax(_)), "{err}");
        let text = "name = \"x\"\n[[workqueue]]\nname = \"w\"\n[[item]]\nname = \"a\"\nwq = \"w\"\nscript = [\"jump 1ms\"]\n";
        let err = Scenario::from_toml(text).unwrap_err();
        assert!(matches!(err, ScenarioError::BadStep { .. }), "{err}");
        let text = "name = \"x\"\n[[workqueue]]\nname = \"w\"\nflags = [\"reclaim\"]\n";
        assert!(matches!(
            Scenario::from_toml(text).unwrap_err(),
            ScenarioError::Invalid(_)
        ));
    }

    /// The keys of each table of the schema: `("", top-level keys)`, then one entry per
    /// array-of-tables key with that table's keys.
    fn schema_tables() -> Vec<(String, Vec<String>)> {
        let schema: serde_json::Value = serde_json::from_str(&json_schema()).unwrap();
        let keys = |v: &serde_json::Value| -> Vec<String> {
            v["properties"]
                .as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect()
        };
        let mut tables = vec![(String::new(), keys(&schema))];
        for (key, prop) in schema["properties"].as_object().unwrap() {
            if let Some(r) = prop["items"]["$ref"].as_str() {
                let def = r.trim_start_matches("#/$defs/");
                tables.push((key.clone(), keys(&schema["$defs"][def])));
            }
        }
        tables
    }

    #[test]
    fn schema_lists_every_table_and_key_and_rejects_unknown_ones() {
        let schema: serde_json::Value = serde_json::from_str(&json_schema()).unwrap();
        assert_eq!(schema["additionalProperties"], false);
        assert_eq!(schema["required"], serde_json::json!(["name"]));
        let tables = schema_tables();
        let names: Vec<&str> = tables.iter().map(|(t, _)| t.as_str()).collect();
        for t in [
            "",
            "workqueue",
            "pressure",
            "item",
            "signal",
            "flush",
            "cancel",
            "flush_workqueue",
        ] {
            assert!(names.contains(&t), "table {t:?} missing from {names:?}");
        }
        let item = &tables.iter().find(|(t, _)| t == "item").unwrap().1;
        assert!(item.iter().any(|k| k == "script") && item.iter().any(|k| k == "chained"));
        let flush = &schema["$defs"]["RawFlush"];
        assert_eq!(flush["additionalProperties"], false);
        assert_eq!(flush["properties"]["waiter"]["type"], "integer");
    }

    #[test]
    fn schema_patterns_accept_what_the_parser_accepts() {
        let duration = regex::Regex::new(DURATION).unwrap();
        let step = regex::Regex::new(STEP).unwrap();
        for d in ["0", "10ms", "1.5s", "250ns", "3us", ".5ms", "2 s"] {
            assert!(parse_duration(d).is_ok(), "{d}");
            assert!(duration.is_match(d), "the schema rejects duration {d:?}");
        }
        for d in ["10", "1.5", "ms", "1h", "-1s"] {
            assert!(parse_duration(d).is_err(), "{d}");
            assert!(!duration.is_match(d), "the schema accepts duration {d:?}");
        }
        // Every step of every built-in scenario and of the starter file, as the file
        // format writes it: a new kind of step needs the schema's STEP pattern too.
        let mut scenarios = crate::library::all();
        scenarios.push(Scenario::from_toml(crate::starter::STARTER).unwrap());
        for s in &scenarios {
            for item in &s.items {
                for st in &item.script {
                    let text = format_step(st);
                    assert!(step.is_match(&text), "the schema rejects step {text:?}");
                }
            }
        }
        for bad in ["jump 1ms", "run", "run 1ms 2ms", "block"] {
            assert!(parse_step("x", bad).is_err(), "{bad}");
            assert!(!step.is_match(bad), "the schema accepts step {bad:?}");
        }
    }

    #[test]
    fn every_key_of_the_format_is_documented_in_the_reference() {
        let doc = include_str!("../SCENARIOS.md");
        let tables = schema_tables();
        let is_table = |key: &str| tables.iter().any(|(t, _)| t == key);
        for (table, keys) in &tables {
            if !table.is_empty() {
                let heading = format!("## `[[{table}]]`");
                assert!(doc.contains(&heading), "SCENARIOS.md has no {heading}");
            }
            for key in keys.iter().filter(|k| !is_table(k)) {
                assert!(
                    doc.contains(&format!("| `{key}` |")),
                    "SCENARIOS.md has no row for key `{key}` of table {table:?}"
                );
            }
        }
    }

    #[test]
    fn steps_round_trip_through_their_text_form() {
        for text in [
            "run 1.5ms",
            "sleep 3s",
            "block io",
            "queue next",
            "signal io",
            "queue_delayed poll 10ms",
            "mod_delayed poll 1.5ms",
        ] {
            let step = parse_step("x", text).unwrap();
            assert_eq!(format_step(&step), text);
        }
    }
}
