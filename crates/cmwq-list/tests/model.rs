//! Model test: random sequences of list and cursor operations give the same list as a `Vec`
//! model, after every step. Seeded (deterministic); fewer cases under Miri.

use core::ptr::NonNull;

use cmwq_list::{CursorId, Entry, List, Node};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

const ITEMS: u8 = 6;
/// Three, so cursors often sit side by side and move past each other.
const CURSORS: u8 = 3;

struct Item {
    id: u8,
    node: Node<()>,
}
cmwq_list::impl_element!(Item { node: Node<()> });

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Tok {
    Item(u8),
    Cursor(u8),
}

#[derive(Clone, Debug)]
enum Op {
    PushBack(u8),
    PushFront(u8),
    /// Insert item `.1` after the element picked by `.0`.
    InsertAfter(u8, u8),
    /// Remove the element picked by `.0`.
    Remove(u8),
    PopFront,
    /// Cursor `.0` before the element picked by `.1`.
    CursorBefore(u8, u8),
    CursorAfter(u8, u8),
    /// Cursor `.0` before the first element after the one picked by `.1` (or at the back).
    CursorBeforeNextElem(u8, u8),
    CursorToBack(u8),
    UnlinkCursor(u8),
}

fn op() -> impl Strategy<Value = Op> {
    let item = 0..ITEMS;
    let cursor = 0..CURSORS;
    let pick = any::<u8>();
    prop_oneof![
        3 => item.clone().prop_map(Op::PushBack),
        1 => item.clone().prop_map(Op::PushFront),
        1 => (pick, item).prop_map(|(p, i)| Op::InsertAfter(p, i)),
        2 => pick.prop_map(Op::Remove),
        2 => Just(Op::PopFront),
        2 => (cursor.clone(), pick).prop_map(|(c, p)| Op::CursorBefore(c, p)),
        1 => (cursor.clone(), pick).prop_map(|(c, p)| Op::CursorAfter(c, p)),
        2 => (cursor.clone(), pick).prop_map(|(c, p)| Op::CursorBeforeNextElem(c, p)),
        1 => cursor.clone().prop_map(Op::CursorToBack),
        1 => cursor.prop_map(Op::UnlinkCursor),
    ]
}

struct Model {
    toks: Vec<Tok>,
}

impl Model {
    fn elems(&self) -> Vec<u8> {
        self.toks
            .iter()
            .filter_map(|t| match t {
                Tok::Item(i) => Some(*i),
                Tok::Cursor(_) => None,
            })
            .collect()
    }

    fn has(&self, t: Tok) -> bool {
        self.toks.contains(&t)
    }

    fn index(&self, t: Tok) -> usize {
        self.toks.iter().position(|x| *x == t).unwrap()
    }

    fn remove(&mut self, t: Tok) {
        if let Some(i) = self.toks.iter().position(|x| *x == t) {
            self.toks.remove(i);
        }
    }
}

fn shape(list: &List<Item>) -> Vec<Tok> {
    list.iter().map(tok).collect()
}

fn tok(e: Entry<'_, Item>) -> Tok {
    match e {
        Entry::Elem(it) => Tok::Item(it.id),
        Entry::Cursor(c) => Tok::Cursor(c.owner() as u8),
    }
}

fn run(ops: &[Op]) {
    let items: Vec<Item> = (0..ITEMS)
        .map(|id| Item {
            id,
            node: Node::new(&()),
        })
        .collect();
    let ptr = |i: u8| NonNull::from(&items[i as usize]);
    let mut list = List::new();
    let cursors: Vec<CursorId> = (0..CURSORS)
        .map(|c| list.new_cursor(u64::from(c)))
        .collect();
    let mut model = Model { toks: Vec::new() };

    for op in ops {
        let elems = model.elems();
        let picked = |p: u8| (!elems.is_empty()).then(|| elems[p as usize % elems.len()]);
        match *op {
            Op::PushBack(i) if !model.has(Tok::Item(i)) => {
                // SAFETY: `items` outlives `list`; the model says the item is linked exactly when
                // it is named here as on the list, and unlinked when it is linked here.
                unsafe { list.push_back(ptr(i)) };
                model.toks.push(Tok::Item(i));
            }
            Op::PushFront(i) if !model.has(Tok::Item(i)) => {
                // SAFETY: `items` outlives `list`; the model says the item is linked exactly when
                // it is named here as on the list, and unlinked when it is linked here.
                unsafe { list.push_front(ptr(i)) };
                model.toks.insert(0, Tok::Item(i));
            }
            Op::InsertAfter(p, i) if !model.has(Tok::Item(i)) => {
                if let Some(pos) = picked(p) {
                    // SAFETY: `items` outlives `list`; the model says the item is linked exactly when
                    // it is named here as on the list, and unlinked when it is linked here.
                    unsafe { list.insert_after(ptr(pos), ptr(i)) };
                    let at = model.index(Tok::Item(pos)) + 1;
                    model.toks.insert(at, Tok::Item(i));
                }
            }
            Op::Remove(p) => {
                if let Some(e) = picked(p) {
                    // SAFETY: `items` outlives `list`; the model says the item is linked exactly when
                    // it is named here as on the list, and unlinked when it is linked here.
                    let removed = unsafe { list.remove(ptr(e)) };
                    assert_eq!(removed, ptr(e));
                    model.remove(Tok::Item(e));
                }
            }
            Op::PopFront => {
                let got = list.pop_front();
                let want = elems.first().copied();
                assert_eq!(got, want.map(ptr));
                if let Some(e) = want {
                    model.remove(Tok::Item(e));
                }
            }
            Op::CursorBefore(c, p) => {
                if let Some(e) = picked(p) {
                    // SAFETY: `items` outlives `list`; the model says the item is linked exactly when
                    // it is named here as on the list, and unlinked when it is linked here.
                    unsafe { list.move_cursor_before(cursors[c as usize], ptr(e)) };
                    model.remove(Tok::Cursor(c));
                    let at = model.index(Tok::Item(e));
                    model.toks.insert(at, Tok::Cursor(c));
                }
            }
            Op::CursorAfter(c, p) => {
                if let Some(e) = picked(p) {
                    // SAFETY: `items` outlives `list`; the model says the item is linked exactly when
                    // it is named here as on the list, and unlinked when it is linked here.
                    unsafe { list.move_cursor_after(cursors[c as usize], ptr(e)) };
                    model.remove(Tok::Cursor(c));
                    let at = model.index(Tok::Item(e)) + 1;
                    model.toks.insert(at, Tok::Cursor(c));
                }
            }
            Op::CursorBeforeNextElem(c, p) => {
                if let Some(e) = picked(p) {
                    // SAFETY: `items` outlives `list`; the model says the item is linked exactly when
                    // it is named here as on the list, and unlinked when it is linked here.
                    unsafe { list.move_cursor_before_next_elem(cursors[c as usize], ptr(e)) };
                    model.remove(Tok::Cursor(c));
                    let from = model.index(Tok::Item(e)) + 1;
                    match model.toks[from..]
                        .iter()
                        .position(|t| matches!(t, Tok::Item(_)))
                    {
                        Some(k) => model.toks.insert(from + k, Tok::Cursor(c)),
                        None => model.toks.push(Tok::Cursor(c)),
                    }
                }
            }
            Op::CursorToBack(c) => {
                list.move_cursor_to_back(cursors[c as usize]);
                model.remove(Tok::Cursor(c));
                model.toks.push(Tok::Cursor(c));
            }
            Op::UnlinkCursor(c) => {
                list.unlink_cursor(cursors[c as usize]);
                model.remove(Tok::Cursor(c));
            }
            // Linking an item that is already linked: skipped (it would panic).
            Op::PushBack(_) | Op::PushFront(_) | Op::InsertAfter(..) => {}
        }

        // The whole list, the counts and every link state agree with the model.
        assert_eq!(shape(&list), model.toks, "after {op:?}");
        assert_eq!(list.len(), model.elems().len());
        assert_eq!(list.is_empty(), model.elems().is_empty());
        assert_eq!(list.has_linked_nodes(), !model.toks.is_empty());
        for it in &items {
            let t = Tok::Item(it.id);
            assert_eq!(it.node.is_linked(), model.has(t));
            assert_eq!(list.contains(it), model.has(t));
            if model.has(t) {
                // Resuming after an element sees the rest of the model (and checks that the
                // node before it links back to it: every `prev` link is right).
                // SAFETY: the model says the item is on the list.
                let after: Vec<Tok> = unsafe { list.iter_after(ptr(it.id)) }.map(tok).collect();
                assert_eq!(after, model.toks[model.index(t) + 1..], "after {op:?}");
            }
        }
        for (c, &id) in cursors.iter().enumerate() {
            let t = Tok::Cursor(c as u8);
            assert_eq!(list.cursor_is_linked(id), model.has(t));
            // A scan resumes right after the cursor, or at the head when it is not linked.
            let from = if model.has(t) { model.index(t) + 1 } else { 0 };
            let scanned: Vec<Tok> = list.iter_after_cursor(id).map(tok).collect();
            assert_eq!(scanned, model.toks[from..]);
        }
    }
}

#[test]
fn list_with_cursors_matches_a_vec_model() {
    let (cases, max_ops) = if cfg!(miri) { (4, 24) } else { (512, 64) };
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    runner
        .run(&prop::collection::vec(op(), 1..max_ops), |ops| {
            run(&ops);
            Ok(())
        })
        .unwrap();
}
