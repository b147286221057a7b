//! What no kernel could print, no scenario's dump prints.
//!
//! In the kernel a pool gets its first worker when it comes up, and its manager is one of
//! its workers: `POOL_MANAGER_ACTIVE` (`flags=0x2`) is only ever seen on a pool whose
//! `pool N:` line shows `workers=M manager: PID`, as in a real Linux 6.12 dump:
//! `pool 2: cpus=0 node=0 flags=0x2 nice=0 hung=2s workers=1 manager: 157`.

use cmwq_dump::pool_flags;
use cmwq_sim::library;

/// The pool id and flags of a `  pwq N: ... flags=0x.. ...` line.
fn pwq_pool_and_flags(line: &str) -> Option<(u32, u32)> {
    let rest = line.strip_prefix("  pwq ")?;
    let (id, rest) = rest.split_once(':')?;
    let flags = rest
        .split_whitespace()
        .find_map(|f| f.strip_prefix("flags=0x"))?;
    Some((id.parse().ok()?, u32::from_str_radix(flags, 16).ok()?))
}

#[test]
fn every_managed_pool_in_every_dump_shows_its_workers_and_its_manager() {
    let mut checked = 0;
    for scenario in library::all() {
        for &policy in scenario.policy.expand() {
            let run = cmwq_sim::run(&scenario, policy).expect("the scenario runs");
            for dump in &run.dumps {
                for line in dump.text.lines() {
                    let Some((pool, flags)) = pwq_pool_and_flags(line) else {
                        continue;
                    };
                    if flags & pool_flags::POOL_MANAGER_ACTIVE == 0 {
                        continue;
                    }
                    checked += 1;
                    let pool_line = dump
                        .text
                        .lines()
                        .find(|l| l.starts_with(&format!("pool {pool}:")))
                        .unwrap_or_else(|| {
                            panic!(
                                "{}@{}: a pwq on managed pool {pool} but no pool line:\n{}",
                                scenario.name,
                                policy.name(),
                                dump.text
                            )
                        });
                    assert!(
                        pool_line.contains(" manager: ") && !pool_line.contains(" workers=0"),
                        "{}@{}: {pool_line}",
                        scenario.name,
                        policy.name()
                    );
                }
            }
        }
    }
    assert!(checked > 0, "some dump shows a managed pool");
}

#[test]
fn a_scenarios_numa_nodes_reach_the_dump() {
    // A CPU of a second node prints `node=1`, as a kernel's pool info does; the unbound
    // pool spanning both nodes prints none.
    let text = r#"
name = "two-nodes"
cpus = 2
nodes = [0, 1]
dumps = ["1ms"]

[[workqueue]]
name = "events"

[[workqueue]]
name = "events_unbound"
kind = "unbound"

[[item]]
name = "a"
wq = "events"
cpu = 1
script = ["run 5ms"]

[[item]]
name = "b"
wq = "events_unbound"
script = ["run 5ms"]
"#;
    let scenario = cmwq_sim::Scenario::from_toml(text).unwrap();
    assert_eq!(scenario.nodes, [0, 1]);
    let run = cmwq_sim::run(&scenario, cmwq_sim::PolicyChoice::Cursor).unwrap();
    let dump = &run.dumps[0].text;
    assert!(dump.contains("cpus=1 node=1 flags=0x0 nice=0"), "{dump}");
    assert!(dump.contains("cpus=0-1 flags=0x4 nice=0"), "{dump}");
    let bad = text.replace("nodes = [0, 1]", "nodes = [0]");
    assert!(cmwq_sim::Scenario::from_toml(&bad).is_err());
}
