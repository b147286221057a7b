//! Property: for any work list, the printed form reads back to the same items in order,
//! with a comma exactly where the previous item was not LINKED, and two neighbouring items
//! of one function merged exactly when the kernel's `pr_cont_work` merges them (the first
//! is not LINKED, so the second would be printed after a comma).

use cmwq_dump::{WorkEntry, WorkKind, WorkList};
use proptest::prelude::*;

fn entry() -> impl Strategy<Value = WorkEntry> {
    let kind = prop_oneof![
        6 => prop::sample::select(vec!["f", "g", "h_fn"]).prop_map(|n| WorkKind::Func(n.into())),
        2 => (1u32..4).prop_map(|task| WorkKind::Barrier { task }),
        1 => Just(WorkKind::MaydayCursor),
    ];
    (kind, prop::bool::weighted(0.3)).prop_map(|(kind, linked)| WorkEntry::new(kind, linked))
}

/// What an item prints as: a function name (a cursor prints its function's name) or a
/// barrier's task.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Printed {
    Func(String),
    Bar(u32),
}

fn printed(entry: &WorkEntry) -> Printed {
    match (&entry.kind, entry.func_name()) {
        (WorkKind::Barrier { task }, _) => Printed::Bar(*task),
        (_, name) => Printed::Func(name.expect("non-barriers have a name").into()),
    }
}

/// One printed segment: whether a comma preceded it, what it names, how many items.
#[derive(Debug)]
struct Segment {
    comma: bool,
    kind: Printed,
    count: usize,
}

fn parse(out: &str) -> Vec<Segment> {
    let mut segments = Vec::new();
    let mut rest = out;
    while !rest.is_empty() {
        let comma = rest.starts_with(',');
        if comma {
            rest = &rest[1..];
        }
        rest = rest
            .strip_prefix(' ')
            .expect("every segment starts with a space");
        let end = rest.find([' ', ',']).unwrap_or(rest.len());
        let token = &rest[..end];
        rest = &rest[end..];
        let segment = if let Some(task) = token.strip_prefix("BAR(") {
            let task = task.strip_suffix(')').unwrap().parse().unwrap();
            Segment {
                comma,
                kind: Printed::Bar(task),
                count: 1,
            }
        } else if let Some((n, name)) = token.split_once('*') {
            let count = n.parse().unwrap();
            assert!(count >= 2, "a run of one prints without a count: {token}");
            Segment {
                comma,
                kind: Printed::Func(name.into()),
                count,
            }
        } else {
            Segment {
                comma,
                kind: Printed::Func(token.into()),
                count: 1,
            }
        };
        segments.push(segment);
    }
    segments
}

proptest! {
    // Deterministic: a fixed seed, and no failure files written into the source tree.
    #![proptest_config(ProptestConfig {
        cases: 1024,
        rng_seed: prop::test_runner::RngSeed::Fixed(0x636d_7771),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn work_list_prints_every_item_with_the_kernels_comma_and_merge_rules(
        list in prop::collection::vec(entry(), 0..24)
    ) {
        let out = WorkList(&list).to_string();
        let segments = parse(&out);

        // Expanding the runs gives back the items, in order.
        let expanded: Vec<&Printed> = segments
            .iter()
            .flat_map(|s| std::iter::repeat_n(&s.kind, s.count))
            .collect();
        let items: Vec<Printed> = list.iter().map(printed).collect();
        let kinds: Vec<&Printed> = items.iter().collect();
        prop_assert_eq!(expanded, kinds, "output {:?}", out);

        let mut i = 0;
        for (n, segment) in segments.iter().enumerate() {
            // A comma before a segment exactly when its first item follows a non-LINKED one.
            let expect_comma = i > 0 && !list[i - 1].linked;
            prop_assert_eq!(segment.comma, expect_comma, "segment {} of {:?}", n, out);
            // Inside a run, every item follows a non-LINKED item of the same function.
            for j in i + 1..i + segment.count {
                prop_assert!(!list[j - 1].linked, "merged across a LINKED item: {:?}", out);
            }
            i += segment.count;
            // A run ends only where the kernel would end it: at a barrier, another
            // function, or after a LINKED item.
            if i < list.len() {
                let next_merges = matches!(
                    (&items[i - 1], &items[i]),
                    (Printed::Func(a), Printed::Func(b)) if a == b
                ) && !list[i - 1].linked;
                prop_assert!(!next_merges, "run split where the kernel merges: {:?}", out);
            }
        }
    }
}
