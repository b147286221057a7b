//! Properties every run must have, over seeded random scenarios: every queueing runs
//! exactly once, an item never runs on two workers at once, a worker runs one item at a
//! time, max_active bounds what a pwq runs, an ordered workqueue starts items in queueing
//! order, nothing is rescued without memory pressure (so the policy then makes no
//! difference), and a run is a function of its scenario.

use std::collections::HashMap;
use std::time::Duration;

use cmwq_sim::trace::TraceKind;
use cmwq_sim::{ItemSpec, PolicyChoice, RunOutput, Scenario, WorkqueueSpec, WqKind, run};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

#[derive(Clone, Debug)]
struct WqGen {
    kind: u8,
    mem_reclaim: bool,
    max_active: u32,
}

#[derive(Clone, Debug)]
enum StepGen {
    Run(u64),
    Sleep(u64),
    /// Queue the group this many places after the current one (chains only go forward, so
    /// no scenario queues itself forever).
    Queue(usize),
}

#[derive(Clone, Debug)]
struct GroupGen {
    wq: usize,
    cpu: u32,
    at_us: Option<u64>,
    count: u32,
    interval_us: u64,
    steps: Vec<StepGen>,
}

#[derive(Clone, Debug)]
struct Gen {
    cpus: u32,
    wqs: Vec<WqGen>,
    groups: Vec<GroupGen>,
    pressure_ms: Option<(u64, u64)>,
}

fn wq_gen() -> impl Strategy<Value = WqGen> {
    (0u8..3, any::<bool>(), 0u32..4).prop_map(|(kind, mem_reclaim, max_active)| WqGen {
        kind,
        mem_reclaim,
        max_active,
    })
}

fn step_gen() -> impl Strategy<Value = StepGen> {
    prop_oneof![
        3 => (1u64..3000).prop_map(StepGen::Run),
        1 => (1u64..20_000).prop_map(StepGen::Sleep),
        1 => (0usize..3).prop_map(StepGen::Queue),
    ]
}

fn group_gen() -> impl Strategy<Value = GroupGen> {
    (
        0usize..8,
        0u32..2,
        prop::option::weighted(0.8, 0u64..5000),
        1u32..12,
        0u64..500,
        prop::collection::vec(step_gen(), 1..4),
    )
        .prop_map(|(wq, cpu, at_us, count, interval_us, steps)| GroupGen {
            wq,
            cpu,
            at_us,
            count,
            interval_us,
            steps,
        })
}

fn scenario_gen() -> impl Strategy<Value = Gen> {
    (
        1u32..3,
        prop::collection::vec(wq_gen(), 1..4),
        prop::collection::vec(group_gen(), 1..6),
        // Pressure from time 0 (the pools' first workers cannot be created) or later.
        prop::option::of((prop_oneof![Just(0u64), 0u64..20], 1u64..400)),
    )
        .prop_map(|(cpus, wqs, groups, pressure)| Gen {
            cpus,
            wqs,
            groups,
            pressure_ms: pressure.map(|(start, len)| (start, start + len)),
        })
}

fn build(g: &Gen) -> Scenario {
    let mut b = Scenario::builder("prop").cpus(g.cpus);
    for (i, w) in g.wqs.iter().enumerate() {
        let mut spec = WorkqueueSpec::new(format!("wq{i}")).max_active(w.max_active);
        spec = match w.kind {
            0 => spec,
            1 => spec.unbound(),
            _ => spec.ordered(),
        };
        if w.mem_reclaim {
            spec = spec.mem_reclaim();
        }
        b = b.workqueue(spec);
    }
    let n = g.groups.len();
    for (i, gr) in g.groups.iter().enumerate() {
        let wq = format!("wq{}", gr.wq % g.wqs.len());
        let mut item = ItemSpec::new(format!("g{i}"), format!("fn{i}"), wq)
            .cpu(gr.cpu % g.cpus)
            .count(gr.count, Duration::from_micros(gr.interval_us));
        item = match gr.at_us {
            Some(at) => item.at(Duration::from_micros(at)),
            None => item.chained(),
        };
        for s in &gr.steps {
            item = match *s {
                StepGen::Run(us) => item.run(Duration::from_micros(us)),
                StepGen::Sleep(us) => item.sleep(Duration::from_micros(us)),
                StepGen::Queue(off) if i + 1 + off < n => item.queue(format!("g{}", i + 1 + off)),
                StepGen::Queue(_) => item,
            };
        }
        b = b.item(item);
    }
    if let Some((start, end)) = g.pressure_ms {
        b = b.pressure(Duration::from_millis(start), Duration::from_millis(end));
    }
    b.build().expect("generated scenarios are valid")
}

fn check_run(s: &Scenario, r: &RunOutput) {
    let t = &r.trace;
    assert_eq!(r.unfinished, 0, "stuck");
    assert_eq!(
        r.metrics.queued, r.metrics.finished,
        "every queueing runs exactly once"
    );
    let mut running_on: HashMap<u32, u32> = HashMap::new(); // item -> worker
    let mut busy: HashMap<u32, u32> = HashMap::new(); // worker -> item
    let mut pwq_running: HashMap<u32, u32> = HashMap::new();
    let mut queued_order: HashMap<u32, Vec<u32>> = HashMap::new(); // pwq -> items
    let mut started_order: HashMap<u32, Vec<u32>> = HashMap::new();
    for ev in &t.events {
        match ev.kind {
            TraceKind::Queued { item } => {
                queued_order
                    .entry(t.items[item as usize].pwq)
                    .or_default()
                    .push(item);
            }
            TraceKind::Started { item, worker } => {
                assert!(
                    running_on.insert(item, worker).is_none(),
                    "item {item} started twice at {}",
                    ev.t
                );
                assert!(
                    busy.insert(worker, item).is_none(),
                    "worker {worker} runs two items"
                );
                let pwq = t.items[item as usize].pwq;
                let n = pwq_running.entry(pwq).or_default();
                *n += 1;
                let wq_name = &t.pwqs[pwq as usize].label;
                let wq = s
                    .workqueues
                    .iter()
                    .find(|w| wq_name.starts_with(&format!("{}/", w.name)))
                    .expect("the pwq's workqueue");
                assert!(
                    *n <= wq.effective_max_active(),
                    "{wq_name} runs {n} items, max_active {}",
                    wq.effective_max_active()
                );
                started_order.entry(pwq).or_default().push(item);
            }
            TraceKind::Finished { item, worker } => {
                assert_eq!(running_on.remove(&item), Some(worker));
                assert_eq!(busy.remove(&worker), Some(item));
                *pwq_running.get_mut(&t.items[item as usize].pwq).unwrap() -= 1;
            }
            _ => {}
        }
    }
    for w in s.workqueues.iter().filter(|w| w.kind == WqKind::Ordered) {
        for (pwq, info) in t.pwqs.iter().enumerate() {
            if info.label.starts_with(&format!("{}/", w.name)) {
                let pwq = pwq as u32;
                assert_eq!(
                    queued_order.get(&pwq),
                    started_order.get(&pwq),
                    "ordered {} starts items in queueing order",
                    w.name
                );
            }
        }
    }
    if s.pressure.is_empty() {
        assert_eq!(r.metrics.maydays, 0);
        assert_eq!(r.metrics.rescued, 0);
        assert_eq!(r.metrics.creation_failures, 0);
    }
}

#[test]
fn random_scenarios_keep_the_workqueue_guarantees() {
    let config = Config {
        cases: 128,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    runner
        .run(&scenario_gen(), |g| {
            let s = build(&g);
            let slurp = run(&s, PolicyChoice::Slurp).expect("runs");
            let cursor = run(&s, PolicyChoice::Cursor).expect("runs");
            check_run(&s, &slurp);
            check_run(&s, &cursor);
            let again = run(&s, PolicyChoice::Cursor).expect("runs");
            prop_assert_eq!(
                &again.trace,
                &cursor.trace,
                "a run is a function of its scenario"
            );
            if s.pressure.is_empty() {
                prop_assert_eq!(
                    &slurp.trace.events,
                    &cursor.trace.events,
                    "without pressure the rescuer policy changes nothing"
                );
            }
            Ok(())
        })
        .unwrap();
}
