//! The scenario file format: a small TOML document, so a scenario needs no code.
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
//!
//! [[workqueue]]
//! name = "xfs-buf"
//! kind = "percpu"     # percpu (default) | unbound | ordered
//! flags = ["mem_reclaim"]   # mem_reclaim, highpri, cpu_intensive
//! max_active = 0      # 0 = default
//!
//! [[pressure]]
//! start = "0"
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
//! ```

use serde::Deserialize;

use crate::ScenarioError;
use crate::scenario::{ItemSpec, PolicyChoice, Scenario, Step, WorkqueueSpec, WqKind};
use crate::time::{exact, parse_duration};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    seed: u64,
    #[serde(default = "one")]
    cpus: u32,
    #[serde(default)]
    jitter: u32,
    policy: Option<String>,
    #[serde(default)]
    dumps: Vec<String>,
    #[serde(default)]
    siblings: Vec<String>,
    until: Option<String>,
    hz: Option<u32>,
    #[serde(default)]
    workqueue: Vec<RawWorkqueue>,
    #[serde(default)]
    pressure: Vec<RawWindow>,
    #[serde(default)]
    item: Vec<RawItem>,
    #[serde(default)]
    signal: Vec<RawSignal>,
    #[serde(default)]
    flush: Vec<RawFlush>,
}

fn one() -> u32 {
    1
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWorkqueue {
    name: String,
    kind: Option<String>,
    #[serde(default)]
    flags: Vec<String>,
    #[serde(default)]
    max_active: u32,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWindow {
    start: String,
    end: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawItem {
    name: String,
    func: Option<String>,
    wq: String,
    cpu: Option<u32>,
    at: Option<String>,
    #[serde(default)]
    chained: bool,
    #[serde(default = "one")]
    count: u32,
    interval: Option<String>,
    #[serde(default)]
    script: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSignal {
    event: String,
    at: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFlush {
    item: String,
    at: String,
    waiter: u32,
}

/// Parses one script step: `run D`, `sleep D`, `block EVENT`, `queue ITEM`, `signal EVENT`.
pub fn parse_step(item: &str, text: &str) -> Result<Step, ScenarioError> {
    let bad = || ScenarioError::BadStep {
        item: item.to_owned(),
        step: text.to_owned(),
    };
    let mut words = text.split_whitespace();
    let (Some(verb), Some(arg), None) = (words.next(), words.next(), words.next()) else {
        return Err(bad());
    };
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
            b = b.item(spec);
        }
        for s in raw.signal {
            b = b.signal(s.event, parse_duration(&s.at)?);
        }
        for f in raw.flush {
            b = b.flush(f.item, parse_duration(&f.at)?, f.waiter);
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

    #[test]
    fn steps_round_trip_through_their_text_form() {
        for text in [
            "run 1.5ms",
            "sleep 3s",
            "block io",
            "queue next",
            "signal io",
        ] {
            let step = parse_step("x", text).unwrap();
            assert_eq!(format_step(&step), text);
        }
    }
}
