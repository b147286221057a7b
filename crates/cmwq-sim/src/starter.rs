//! The commented starter scenario that `cmwq-sim new` prints, and the one-line summary
//! that `cmwq-sim check` gives of a scenario.
//!
//! Every table and key of the format is described in `SCENARIOS.md` beside this crate's
//! README; the starter file uses each kind of table once, with the pitfalls spelled out.

use crate::scenario::{Scenario, WqKind};
use crate::time::{Pretty, nanos};

/// A scenario file to start from: the reported case in small, every line commented.
/// It parses, validates and runs (a test checks it), so `cmwq-sim new > my.toml` and
/// `cmwq-sim run my.toml --policy all` work before any edit.
pub const STARTER: &str = r#"# A cmwq-sim scenario. Run it: cmwq-sim run THIS.toml --policy all --timeline
# Check it after editing: cmwq-sim check THIS.toml
# Every table and key: crates/cmwq-sim/SCENARIOS.md. Durations are strings with a
# unit: "250ns", "10us", "1.5ms", "2s" ("0" alone is allowed). Keys marked (optional)
# may be left out; their default is given.

name = "my-case"                  # shown in the output and the SVG file name
description = "a blocked rescued item and its siblings"   # (optional) ""
cpus = 1                          # (optional) 1: CPUs, one per-CPU pool (two with highpri) each
seed = 0                          # (optional) 0: seeds the jitter below; same seed, same run
jitter = 0                        # (optional) 0: each `run` step varies by up to this many percent
policy = "all"                    # (optional) "all": slurp | cursor | rescan | all
dumps = ["500ms", "2s"]           # (optional) []: when to print show_workqueue_state()
siblings = ["siblings"]           # (optional) groups on a mem_reclaim workqueue that never
                                  # sleep: the groups whose "sibling stall" is measured (from
                                  # the end of pressure until the last of them finishes)
# until = "10s"                   # (optional) stop here even if work remains

[[workqueue]]                     # one table per workqueue, created before t=0
name = "xfs-conv/sda1"            # the name dumps print
kind = "percpu"                   # (optional) "percpu": percpu | unbound | ordered
flags = ["mem_reclaim"]           # (optional) []: mem_reclaim (owns a rescuer), highpri, cpu_intensive
max_active = 0                    # (optional) 0 = the default, 1024 (ordered: always 1)

# Memory pressure: every worker creation in [start, end) fails. A pool starts with NO
# workers: it asks for its first one at t=0, which takes 50us. Pressure from "0" makes
# that fail, so even a plain item waits until the rescuer comes (the mayday timer, 10ms;
# mem_reclaim workqueues only) or creation is retried (the cooldown, 1s). Start pressure
# a little after t=0, as here, unless the empty pool is what you want to see.
[[pressure]]
start = "1ms"
end = "1s"

[[item]]                          # a group of identical work items
name = "blocker"                  # referred to by `queue` steps, `siblings` and [[flush]]
func = "xfs_end_io"               # (optional) the name: the function dumps print
wq = "xfs-conv/sda1"              # the workqueue it is queued on
at = "2ms"                        # (optional) "0": when the first instance is queued
script = ["run 200us", "block log-io"]   # what each instance does, step by step:
                                  #   run D: use the CPU for D     sleep D: sleep for D
                                  #   block EVENT: sleep until EVENT is signalled
                                  #   signal EVENT: wake everything blocked on it
                                  #   queue ITEM: queue an instance of group ITEM
                                  #   queue_delayed ITEM D: queue it after D
                                  #   mod_delayed ITEM D: (re)arm it to run D from now

[[item]]
name = "siblings"
func = "xfs_end_io_sibling"
wq = "xfs-conv/sda1"
at = "2.001ms"
count = 8                         # (optional) 1: how many instances
interval = "2us"                  # (optional) "0": between the instances' queueing
script = ["run 2ms"]
# cpu = 0                         # (optional) 0: the CPU it is queued from (per-CPU pwq)
# chained = true                  # (optional) false: queued only by a `queue` step (no `at`)
# delay = "5ms"                   # (optional) none: queue with queue_delayed_work, this delay

[[signal]]                        # an event signalled at a fixed instant (an I/O completing)
event = "log-io"
at = "3s"

[[flush]]                         # flush_work() of a group's first instance at an instant
item = "blocker"
at = "1.5s"
waiter = 4242                     # the id of the task that flushes: dumps print its barrier
                                  # as BAR(4242). Any number; it only labels the barrier.

# [[cancel]]                      # cancel_work() of a group's first instance, if pending
# item = "siblings"
# at = "500ms"

# [[flush_workqueue]]             # flush_workqueue(): wait for everything queued before it
# wq = "xfs-conv/sda1"
# at = "2s"
"#;

/// One line saying what a scenario contains, for `cmwq-sim check`.
pub fn summary(s: &Scenario) -> String {
    let wqs: Vec<String> = s
        .workqueues
        .iter()
        .map(|w| {
            let kind = match w.kind {
                WqKind::PerCpu => "percpu",
                WqKind::Unbound => "unbound",
                WqKind::Ordered => "ordered",
            };
            let rescuer = if w.mem_reclaim { ", rescuer" } else { "" };
            format!("{} ({kind}{rescuer})", w.name)
        })
        .collect();
    let pressure: Vec<String> = s
        .pressure
        .iter()
        .map(|p| format!("{}..{}", Pretty(nanos(p.start)), Pretty(nanos(p.end))))
        .collect();
    format!(
        "ok: scenario {:?}, {} CPU(s), workqueues {}; {} item group(s), {} item(s); \
         pressure {}; {} signal(s), {} flush(es), {} cancel(s), {} workqueue flush(es), \
         {} dump(s); policy {}",
        s.name,
        s.nr_cpus,
        if wqs.is_empty() {
            "none".to_owned()
        } else {
            wqs.join(", ")
        },
        s.items.len(),
        s.nr_items(),
        if pressure.is_empty() {
            "none".to_owned()
        } else {
            pressure.join(", ")
        },
        s.signals.len(),
        s.flushes.len(),
        s.cancels.len(),
        s.wq_flushes.len(),
        s.dumps.len(),
        s.policy.name(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PolicyChoice;

    #[test]
    fn starter_file_parses_runs_and_shows_the_reported_case() {
        let s = Scenario::from_toml(STARTER).expect("the starter file is valid");
        assert_eq!(s.policy, PolicyChoice::All);
        let slurp = crate::run(&s, PolicyChoice::Slurp).unwrap();
        let cursor = crate::run(&s, PolicyChoice::Cursor).unwrap();
        assert_eq!(slurp.unfinished + cursor.unfinished, 0);
        let stall = |r: &crate::RunOutput| r.metrics.sibling_stall.expect("siblings measured");
        assert!(
            stall(&slurp) > stall(&cursor),
            "slurp {} vs cursor {}",
            stall(&slurp),
            stall(&cursor)
        );
        let flushed = cursor.dumps.iter().any(|d| d.text.contains("BAR(4242)"));
        assert!(flushed, "the flush's barrier shows in a dump");
    }

    #[test]
    fn summary_names_what_the_scenario_holds() {
        let s = Scenario::from_toml(STARTER).unwrap();
        let line = summary(&s);
        assert!(line.starts_with("ok: scenario \"my-case\""), "{line}");
        assert!(line.contains("xfs-conv/sda1 (percpu, rescuer)"), "{line}");
        assert!(line.contains("2 item group(s), 9 item(s)"), "{line}");
        assert!(line.contains("pressure 1ms..1s"), "{line}");
    }
}
