//! Runs whole `rescue_scan` rescues for a policy and N outside criterion, for profilers
//! and quick A/B timings:
//!
//! - `valgrind --tool=callgrind --toggle-collect='*rescue_all*'
//!   target/release/examples/rescue_profile cursor 1000` counts the instructions of
//!   exactly one rescue (the set-up is not collected);
//! - `rescue_profile cursor 1000 2000` times 2000 rescues (each on a fresh stalled pool,
//!   built untimed) and prints the median and the fastest, in nanoseconds.

use std::time::Instant;

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
    let mut times = Vec::with_capacity(reps);
    for _ in 0..reps {
        let mut pool = StalledPool::new(policy.clone(), n);
        let start = Instant::now();
        let o = std::hint::black_box(pool.rescue_all());
        times.push(start.elapsed().as_nanos());
        assert_eq!(o.rescued, pool.mine() as u64);
    }
    if reps > 1 {
        times.sort_unstable();
        println!(
            "{policy} {n}: median {} ns, min {} ns over {reps} rescues",
            times[reps / 2],
            times[0]
        );
    }
}
