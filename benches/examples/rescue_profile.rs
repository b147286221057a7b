//! Runs one whole rescue of `rescue_scan` for a policy and N, for profilers:
//! `valgrind --tool=callgrind --toggle-collect='*rescue_all*' target/release/examples/rescue_profile cursor 1000`.

use cmwq_benches::rescue_scan::StalledPool;
use cmwq_pool::Policy;

fn main() {
    let mut args = std::env::args().skip(1);
    let policy: Policy = args
        .next()
        .as_deref()
        .unwrap_or("cursor")
        .parse()
        .expect("a policy");
    let n: usize = args.next().as_deref().unwrap_or("1000").parse().expect("N");
    let reps: usize = args
        .next()
        .as_deref()
        .unwrap_or("1")
        .parse()
        .expect("repetitions");
    for _ in 0..reps {
        let mut pool = StalledPool::new(policy.clone(), n);
        let o = std::hint::black_box(pool.rescue_all());
        assert_eq!(o.rescued, pool.mine() as u64);
    }
}
