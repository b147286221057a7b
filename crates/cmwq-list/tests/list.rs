//! Behaviour of `cmwq_list::List`: every operation, cursors at the edges, and ownership on
//! drop. All of it runs under Miri (`cargo +nightly miri test -p cmwq-list`).

use core::ptr::NonNull;

use cmwq_list::{CursorId, Entry, List, Node};

struct Item {
    id: u32,
    node: Node<u32>,
}
cmwq_list::impl_element!(Item { node: Node<u32> });

static META: u32 = 42;

fn items(n: u32) -> Vec<Item> {
    (0..n)
        .map(|id| Item {
            id,
            node: Node::new(&META),
        })
        .collect()
}

fn ptr(item: &Item) -> NonNull<Item> {
    NonNull::from(item)
}

/// What the list holds, head first: element ids, and `C<owner>` for cursors.
fn shape(list: &List<Item>) -> Vec<String> {
    list.iter().map(show).collect()
}

fn show(entry: Entry<'_, Item>) -> String {
    match entry {
        Entry::Elem(item) => item.id.to_string(),
        Entry::Cursor(c) => format!("C{}", c.owner()),
    }
}

fn after_cursor(list: &List<Item>, c: CursorId) -> Vec<String> {
    list.iter_after_cursor(c).map(show).collect()
}

fn filled(items: &[Item]) -> List<Item> {
    let mut list = List::new();
    for it in items {
        // SAFETY: every test keeps `items` alive and unmoved for longer than `list` (declared
        // after it, so dropped first) and links each item once.
        unsafe { list.push_back(ptr(it)) };
    }
    list
}

#[test]
fn push_back_keeps_queue_order_and_counts_elements() {
    let its = items(3);
    let list = filled(&its);
    assert_eq!(shape(&list), ["0", "1", "2"]);
    assert_eq!(list.len(), 3);
    assert!(!list.is_empty());
    assert!(list.has_linked_nodes());
    assert_eq!(list.front().map(|i| i.id), Some(0));
}

#[test]
fn push_front_links_at_the_head() {
    let its = items(3);
    let mut list = List::new();
    for it in &its {
        // SAFETY: `its` outlives `list`.
        unsafe { list.push_front(ptr(it)) };
    }
    assert_eq!(shape(&list), ["2", "1", "0"]);
}

#[test]
fn insert_after_links_right_after_the_position() {
    let its = items(5);
    let mut list = filled(&its[..3]);
    // SAFETY: its[0] and its[2] are on the list; its[3] and its[4] are not linked, and
    // `its` outlives the list.
    unsafe {
        list.insert_after(ptr(&its[0]), ptr(&its[3]));
        assert_eq!(shape(&list), ["0", "3", "1", "2"]);
        // After the tail.
        list.insert_after(ptr(&its[2]), ptr(&its[4]));
    }
    assert_eq!(shape(&list), ["0", "3", "1", "2", "4"]);
    assert_eq!(list.len(), 5);
}

#[test]
fn remove_unlinks_and_returns_the_element() {
    let its = items(3);
    let mut list = filled(&its);
    assert!(its[1].node.is_linked());
    // SAFETY: its[1] is on the list.
    let removed = unsafe { list.remove(ptr(&its[1])) };
    assert_eq!(removed, ptr(&its[1]));
    assert!(!its[1].node.is_linked());
    assert_eq!(shape(&list), ["0", "2"]);
    assert_eq!(list.len(), 2);
    // Head and tail removal.
    // SAFETY: both are on the list.
    unsafe {
        list.remove(ptr(&its[0]));
        list.remove(ptr(&its[2]));
    }
    assert!(list.is_empty());
    assert!(!list.has_linked_nodes());
}

#[test]
fn remove_works_from_a_reference_yielded_by_iteration() {
    let its = items(4);
    let mut list = filled(&its);
    let third = list.elements().nth(2).map(NonNull::from).unwrap();
    // SAFETY: yielded by this list's iteration just above, nothing changed since.
    let removed = unsafe { list.remove(third) };
    // SAFETY: `removed` points to its[2], alive.
    assert_eq!(unsafe { removed.as_ref() }.id, 2);
    assert_eq!(shape(&list), ["0", "1", "3"]);
}

#[test]
fn pop_front_takes_the_first_element_and_leaves_cursors_before_it() {
    let its = items(2);
    let mut list = filled(&its);
    let c = list.new_cursor(7);
    // SAFETY: its[0] is on the list.
    unsafe { list.move_cursor_before(c, ptr(&its[0])) };
    assert_eq!(shape(&list), ["C7", "0", "1"]);
    assert_eq!(list.pop_front(), Some(ptr(&its[0])));
    assert_eq!(shape(&list), ["C7", "1"]);
    assert_eq!(list.pop_front(), Some(ptr(&its[1])));
    assert_eq!(list.pop_front(), None);
    assert!(list.is_empty());
    assert!(list.has_linked_nodes(), "the cursor is still linked");
    assert_eq!(list.front().map(|i| i.id), None);
}

#[test]
fn node_meta_is_what_the_element_was_made_with() {
    let its = items(1);
    assert_eq!(*its[0].node.meta(), 42);
    let list = filled(&its);
    assert_eq!(*list.front().unwrap().node.meta(), 42);
}

#[test]
fn contains_finds_only_linked_elements_of_this_list() {
    let its = items(3);
    let mut list = filled(&its[..2]);
    let other = filled(&its[2..]);
    assert!(list.contains(&its[0]));
    assert!(list.contains(&its[1]));
    assert!(!list.contains(&its[2]));
    assert!(other.contains(&its[2]));
    // SAFETY: on the list.
    unsafe { list.remove(ptr(&its[0])) };
    assert!(!list.contains(&its[0]));
}

#[test]
fn iter_after_an_element_starts_at_its_successor() {
    let its = items(4);
    let mut list = filled(&its);
    let c = list.new_cursor(1);
    // SAFETY: its[2] is on the list.
    unsafe { list.move_cursor_before(c, ptr(&its[2])) };
    // SAFETY: its[1] is on the list.
    let rest: Vec<String> = unsafe { list.iter_after(ptr(&its[1])) }.map(show).collect();
    assert_eq!(rest, ["C1", "2", "3"]);
    // SAFETY: its[3] is on the list.
    assert_eq!(unsafe { list.iter_after(ptr(&its[3])) }.count(), 0);
}

#[test]
fn an_unlinked_cursor_scans_from_the_head() {
    let its = items(3);
    let mut list = filled(&its);
    let c = list.new_cursor(1);
    assert!(!list.cursor_is_linked(c));
    assert_eq!(after_cursor(&list, c), ["0", "1", "2"]);
}

#[test]
fn cursor_at_head_resumes_at_the_first_element() {
    let its = items(3);
    let mut list = filled(&its);
    let c = list.new_cursor(5);
    // SAFETY: its[0] is on the list.
    unsafe { list.move_cursor_before(c, ptr(&its[0])) };
    assert!(list.cursor_is_linked(c));
    assert_eq!(shape(&list), ["C5", "0", "1", "2"]);
    assert_eq!(after_cursor(&list, c), ["0", "1", "2"]);
    // Cursors are not elements.
    assert_eq!(list.len(), 3);
    assert_eq!(list.front().map(|i| i.id), Some(0));
    assert_eq!(list.elements().count(), 3);
}

#[test]
fn cursor_at_tail_sees_only_what_is_pushed_later() {
    let its = items(4);
    let mut list = filled(&its[..3]);
    let c = list.new_cursor(5);
    list.move_cursor_to_back(c);
    assert_eq!(shape(&list), ["0", "1", "2", "C5"]);
    assert_eq!(after_cursor(&list, c), Vec::<String>::new());
    // SAFETY: its[3] outlives the list.
    unsafe { list.push_back(ptr(&its[3])) };
    assert_eq!(after_cursor(&list, c), ["3"]);
}

#[test]
fn cursor_on_an_empty_list_is_the_only_node() {
    let mut list = List::<Item>::new();
    let c = list.new_cursor(9);
    list.move_cursor_to_back(c);
    assert!(list.is_empty());
    assert!(list.has_linked_nodes());
    assert_eq!(shape(&list), ["C9"]);
    assert_eq!(list.pop_front(), None);
    assert_eq!(after_cursor(&list, c), Vec::<String>::new());
}

#[test]
fn removing_the_element_right_after_a_cursor_resumes_at_the_next_one() {
    let its = items(4);
    let mut list = filled(&its);
    let c = list.new_cursor(1);
    // SAFETY: its[1] is on the list.
    unsafe { list.move_cursor_before(c, ptr(&its[1])) };
    // SAFETY: its[1] is on the list.
    unsafe { list.remove(ptr(&its[1])) };
    assert_eq!(shape(&list), ["0", "C1", "2", "3"]);
    assert_eq!(after_cursor(&list, c), ["2", "3"]);
    // And the element right before it: the cursor stays put.
    // SAFETY: its[0] is on the list.
    unsafe { list.remove(ptr(&its[0])) };
    assert_eq!(shape(&list), ["C1", "2", "3"]);
}

#[test]
fn two_cursors_side_by_side_keep_their_order_and_see_each_other() {
    let its = items(3);
    let mut list = filled(&its);
    let a = list.new_cursor(1);
    let b = list.new_cursor(2);
    // SAFETY: its[1] is on the list (both calls).
    unsafe {
        list.move_cursor_before(a, ptr(&its[1]));
        list.move_cursor_before(b, ptr(&its[1]));
    }
    assert_eq!(shape(&list), ["0", "C1", "C2", "1", "2"]);
    assert_eq!(after_cursor(&list, a), ["C2", "1", "2"]);
    assert_eq!(after_cursor(&list, b), ["1", "2"]);
    // Taking the element after both leaves them side by side before the next one.
    // SAFETY: its[1] is on the list.
    unsafe { list.remove(ptr(&its[1])) };
    assert_eq!(shape(&list), ["0", "C1", "C2", "2"]);
    // Unlinking one leaves the other in place.
    list.unlink_cursor(a);
    assert_eq!(shape(&list), ["0", "C2", "2"]);
    assert!(!list.cursor_is_linked(a));
    assert!(list.cursor_is_linked(b));
    // pop_front skips a run of cursors.
    list.move_cursor_to_back(a);
    // SAFETY: its[0] is on the list.
    unsafe { list.move_cursor_before(a, ptr(&its[0])) };
    assert_eq!(shape(&list), ["C1", "0", "C2", "2"]);
    assert_eq!(list.pop_front(), Some(ptr(&its[0])));
    assert_eq!(list.pop_front(), Some(ptr(&its[2])));
    assert_eq!(shape(&list), ["C1", "C2"]);
}

#[test]
fn moving_a_linked_cursor_relinks_it_once() {
    let its = items(3);
    let mut list = filled(&its);
    let c = list.new_cursor(1);
    // SAFETY: all on the list.
    unsafe {
        list.move_cursor_before(c, ptr(&its[2]));
        assert_eq!(shape(&list), ["0", "1", "C1", "2"]);
        list.move_cursor_after(c, ptr(&its[0]));
        assert_eq!(shape(&list), ["0", "C1", "1", "2"]);
        // Before the element it already precedes: unchanged.
        list.move_cursor_before(c, ptr(&its[1]));
    }
    assert_eq!(shape(&list), ["0", "C1", "1", "2"]);
    list.move_cursor_to_back(c);
    assert_eq!(shape(&list), ["0", "1", "2", "C1"]);
    list.unlink_cursor(c);
    list.unlink_cursor(c);
    assert_eq!(shape(&list), ["0", "1", "2"]);
}

#[test]
fn cursor_ref_reports_id_and_owner() {
    let its = items(1);
    let mut list = filled(&its);
    let c = list.new_cursor(77);
    list.move_cursor_to_back(c);
    let found = list.iter().find_map(Entry::cursor).unwrap();
    assert_eq!(found.id(), c);
    assert_eq!(found.owner(), 77);
    assert_eq!(list.cursor_owner(c), 77);
    assert_eq!(c.list_id(), list.id());
    assert!(list.iter().any(|e| e.is_cursor()));
}

#[test]
fn freeing_a_cursor_unlinks_it_and_retires_its_id() {
    let its = items(2);
    let mut list = filled(&its);
    let c = list.new_cursor(1);
    // SAFETY: its[1] is on the list.
    unsafe { list.move_cursor_before(c, ptr(&its[1])) };
    list.free_cursor(c);
    assert_eq!(shape(&list), ["0", "1"]);
    assert!(!list.owns_cursor(c));
    // The slot is reused with a new id.
    let d = list.new_cursor(2);
    assert_ne!(c, d);
    assert!(list.owns_cursor(d));
    assert_eq!(list.cursor_owner(d), 2);
}

#[test]
#[should_panic(expected = "was freed")]
fn using_a_freed_cursor_panics() {
    let mut list = List::<Item>::new();
    let c = list.new_cursor(1);
    list.free_cursor(c);
    let _ = list.new_cursor(2);
    list.move_cursor_to_back(c);
}

#[test]
#[should_panic(expected = "belongs to list")]
fn using_a_cursor_on_another_list_panics() {
    let mut a = List::<Item>::new();
    let mut b = List::<Item>::new();
    let c = a.new_cursor(1);
    assert!(!b.owns_cursor(c));
    b.move_cursor_to_back(c);
}

#[test]
fn lists_get_unique_ids() {
    let a = List::<Item>::new();
    let b = List::<Item>::new();
    assert_ne!(a.id(), b.id());
}

#[test]
#[should_panic(expected = "already linked")]
fn pushing_a_linked_element_panics_before_changing_anything() {
    let its = items(1);
    let mut other = List::new();
    let mut list = filled(&its);
    // SAFETY: live; the list claims the link atomically and panics since it is taken.
    unsafe { other.push_back(ptr(&its[0])) };
    let _ = list.pop_front();
}

#[test]
fn dropping_a_list_unlinks_its_elements_and_frees_its_cursors() {
    let its = items(3);
    {
        let mut list = filled(&its);
        let c = list.new_cursor(1);
        // SAFETY: its[1] is on the list.
        unsafe { list.move_cursor_before(c, ptr(&its[1])) };
        let _unlinked_cursor = list.new_cursor(2);
    }
    // Under Miri, a leaked cursor node would fail the run.
    assert!(its.iter().all(|it| !it.node.is_linked()));
    // The elements can go on another list.
    let again = filled(&its);
    assert_eq!(again.len(), 3);
}

#[test]
fn drain_takes_every_element_and_unlinks_cursors() {
    let its = items(3);
    let mut list = filled(&its);
    let c = list.new_cursor(1);
    // SAFETY: its[1] is on the list.
    unsafe { list.move_cursor_before(c, ptr(&its[1])) };
    let ids: Vec<u32> = list
        .drain()
        // SAFETY: the items are alive.
        .map(|p| unsafe { p.as_ref() }.id)
        .collect();
    assert_eq!(ids, [0, 1, 2]);
    assert!(list.is_empty());
    assert!(!list.has_linked_nodes());
    assert!(!list.cursor_is_linked(c));
    assert!(its.iter().all(|it| !it.node.is_linked()));
}

#[test]
fn dropping_a_drain_early_still_empties_the_list() {
    let its = items(3);
    let mut list = filled(&its);
    let first = list.take_all().next();
    assert_eq!(first, Some(ptr(&its[0])));
    assert!(list.is_empty());
    assert!(!list.has_linked_nodes());
    assert!(its.iter().all(|it| !it.node.is_linked()));
}

#[test]
fn list_under_a_mutex_is_shared_between_threads() {
    static_assertions::assert_impl_all!(List<Item>: Send, Sync);
    static_assertions::assert_impl_all!(parking_lot::Mutex<List<Item>>: Send, Sync);
    static_assertions::assert_impl_all!(Node<u32>: Send, Sync);

    let its = items(8);
    let list = parking_lot::Mutex::new(List::new());
    std::thread::scope(|s| {
        for half in its.chunks(4) {
            let list = &list;
            s.spawn(move || {
                for it in half {
                    // SAFETY: `its` outlives `list` (scoped threads end first, and the list
                    // is drained below before either is dropped).
                    unsafe { list.lock().push_back(ptr(it)) };
                    // Read without the lock: the link's "linked" word is atomic.
                    let _ = it.node.is_linked();
                }
            });
        }
    });
    let mut list = list.into_inner();
    let mut ids: Vec<u32> = list.elements().map(|i| i.id).collect();
    ids.sort_unstable();
    assert_eq!(ids, (0..8).collect::<Vec<_>>());
    assert_eq!(list.drain().count(), 8);
}

#[test]
fn is_linked_may_be_read_while_another_thread_changes_the_list() {
    let its = items(2);
    let list = parking_lot::Mutex::new(filled(&its));
    std::thread::scope(|s| {
        s.spawn(|| {
            for _ in 0..10 {
                let mut l = list.lock();
                let first = l.pop_front().unwrap();
                // SAFETY: just popped, alive.
                unsafe { l.push_back(first) };
            }
        });
        for _ in 0..10 {
            let _ = its[0].node.is_linked();
        }
    });
    assert_eq!(list.lock().len(), 2);
}

/// Checks every link of `list` through the public API, then leaves it as it was: the shape
/// is `want`; a node pushed at the front lands first and one pushed at the back lands last
/// (so the head and tail are right); every element's predecessor links back to it (which
/// `iter_after` asserts); and scanning from every linked cursor sees the rest of `want`.
fn assert_links(list: &mut List<Item>, cursors: &[CursorId], want: &[&str]) {
    assert_eq!(shape(list), want);
    let ends = [
        Item {
            id: 100,
            node: Node::new(&META),
        },
        Item {
            id: 101,
            node: Node::new(&META),
        },
    ];
    // SAFETY: `ends` outlives their time on the list: both are removed below.
    unsafe {
        list.push_front(ptr(&ends[0]));
        list.push_back(ptr(&ends[1]));
    }
    let mut framed = vec!["100"];
    framed.extend_from_slice(want);
    framed.push("101");
    assert_eq!(shape(list), framed);
    let items: Vec<NonNull<Item>> = list.elements().map(NonNull::from).collect();
    for (k, &it) in items.iter().enumerate() {
        // SAFETY: `it` is on the list (just collected from it).
        let after: Vec<String> = unsafe { list.iter_after(it) }.map(show).collect();
        // SAFETY: as above; the items outlive the list.
        let at = framed
            .iter()
            .position(|s| *s == unsafe { it.as_ref() }.id.to_string())
            .unwrap();
        assert_eq!(after, framed[at + 1..], "after element #{k}");
    }
    for &c in cursors {
        if list.cursor_is_linked(c) {
            let name = format!("C{}", list.cursor_owner(c));
            let at = framed.iter().position(|s| *s == name).unwrap();
            assert_eq!(after_cursor(list, c), framed[at + 1..]);
        }
    }
    // SAFETY: both were pushed just above.
    unsafe {
        list.remove(ptr(&ends[0]));
        list.remove(ptr(&ends[1]));
    }
    assert_eq!(shape(list), want);
}

#[test]
fn a_cursor_moves_between_every_kind_of_position_keeping_every_link_right() {
    let its = items(3);
    let mut list = filled(&its);
    let c = list.new_cursor(1);
    let cs = [c];
    // SAFETY: the items are on the list.
    unsafe { list.move_cursor_before(c, ptr(&its[0])) };
    assert_links(&mut list, &cs, &["C1", "0", "1", "2"]);
    // Head to interior, one step forward (the rescuer's step when its item is first).
    // SAFETY: the items are on the list.
    unsafe { list.move_cursor_before_next_elem(c, ptr(&its[0])) };
    assert_links(&mut list, &cs, &["0", "C1", "1", "2"]);
    // Interior to interior, one step forward, then one step back.
    // SAFETY: the items are on the list.
    unsafe { list.move_cursor_before(c, ptr(&its[2])) };
    assert_links(&mut list, &cs, &["0", "1", "C1", "2"]);
    // SAFETY: the items are on the list.
    unsafe { list.move_cursor_before(c, ptr(&its[1])) };
    assert_links(&mut list, &cs, &["0", "C1", "1", "2"]);
    // Interior to interior, two steps at once, each way.
    // SAFETY: the items are on the list.
    unsafe { list.move_cursor_after(c, ptr(&its[1])) };
    // SAFETY: the items are on the list.
    unsafe { list.move_cursor_before_next_elem(c, ptr(&its[0])) };
    assert_links(&mut list, &cs, &["0", "C1", "1", "2"]);
    // Interior to the head.
    // SAFETY: the items are on the list.
    unsafe { list.move_cursor_before(c, ptr(&its[0])) };
    assert_links(&mut list, &cs, &["C1", "0", "1", "2"]);
    // Head to the tail.
    list.move_cursor_to_back(c);
    assert_links(&mut list, &cs, &["0", "1", "2", "C1"]);
    // Tail to the head.
    // SAFETY: the items are on the list.
    unsafe { list.move_cursor_before(c, ptr(&its[0])) };
    assert_links(&mut list, &cs, &["C1", "0", "1", "2"]);
    // Head to before the last element, then interior to the tail (past the last element).
    // SAFETY: the items are on the list.
    unsafe { list.move_cursor_before_next_elem(c, ptr(&its[1])) };
    assert_links(&mut list, &cs, &["0", "1", "C1", "2"]);
    // SAFETY: the items are on the list.
    unsafe { list.move_cursor_before_next_elem(c, ptr(&its[2])) };
    assert_links(&mut list, &cs, &["0", "1", "2", "C1"]);
    // Tail to interior.
    // SAFETY: the items are on the list.
    unsafe { list.move_cursor_before(c, ptr(&its[1])) };
    assert_links(&mut list, &cs, &["0", "C1", "1", "2"]);
    // Interior to the tail.
    list.move_cursor_to_back(c);
    assert_links(&mut list, &cs, &["0", "1", "2", "C1"]);
    // Already there: unchanged.
    list.move_cursor_to_back(c);
    // SAFETY: the items are on the list.
    unsafe { list.move_cursor_before_next_elem(c, ptr(&its[2])) };
    assert_links(&mut list, &cs, &["0", "1", "2", "C1"]);
    // Throughout, the cursor node never read as unlinked, and the items stay linked.
    assert!(list.cursor_is_linked(c));
    assert!(its.iter().all(|it| it.node.is_linked()));
}

#[test]
fn a_cursor_that_is_the_only_node_or_next_to_another_cursor_moves_right() {
    let its = items(2);
    let mut list = List::new();
    let a = list.new_cursor(1);
    let b = list.new_cursor(2);
    let cs = [a, b];
    list.move_cursor_to_back(a);
    // The only node, already at the tail.
    list.move_cursor_to_back(a);
    assert_links(&mut list, &cs, &["C1"]);
    // SAFETY: the items outlive the list and are linked once.
    unsafe {
        list.push_back(ptr(&its[0]));
        list.push_back(ptr(&its[1]));
    }
    list.move_cursor_to_back(b);
    assert_links(&mut list, &cs, &["C1", "0", "1", "C2"]);
    // Two cursors side by side at the head: the second moves past the first.
    // SAFETY: the items are on the list.
    unsafe { list.move_cursor_before(b, ptr(&its[0])) };
    assert_links(&mut list, &cs, &["C1", "C2", "0", "1"]);
    // The first leaves the head, going before the element after the second's place.
    // SAFETY: the items are on the list.
    unsafe { list.move_cursor_before_next_elem(a, ptr(&its[0])) };
    assert_links(&mut list, &cs, &["C2", "0", "C1", "1"]);
    // A cursor skips another one on its way: cursors between stay before it.
    // SAFETY: the items are on the list.
    unsafe { list.move_cursor_before_next_elem(b, ptr(&its[0])) };
    assert_links(&mut list, &cs, &["0", "C1", "C2", "1"]);
    // Interior, next to the other cursor, to the tail and back to the head.
    list.move_cursor_to_back(a);
    assert_links(&mut list, &cs, &["0", "C2", "1", "C1"]);
    // SAFETY: the items are on the list.
    unsafe { list.move_cursor_before(a, ptr(&its[0])) };
    assert_links(&mut list, &cs, &["C1", "0", "C2", "1"]);
    // The cursors can be unlinked and freed from anywhere afterwards.
    list.unlink_cursor(b);
    list.free_cursor(a);
    assert_eq!(shape(&list), ["0", "1"]);
    assert_eq!(list.drain().count(), 2);
}
