//! The kernel's clock: jiffies at HZ and timer-wheel rounding (kernel/time/timer.c,
//! calc_wheel_index), held against what real kernels at HZ=250 do.

use cmwq_pool::{
    CREATE_COOLDOWN, ClockError, KernelClock, MAYDAY_INITIAL_TIMEOUT, MAYDAY_INTERVAL, PoolTimings,
    TimerModel,
};

const MS: u64 = 1_000_000;

#[test]
fn at_hz_250_the_one_second_cooldown_fires_at_1_024_s() {
    // CREATE_COOLDOWN = HZ = 250 jiffies: level 1 (granularity 8), rounded up to 256.
    let clock = KernelClock::HZ_250;
    let t = clock.pool_timings();
    assert_eq!(t.create_cooldown, 1_000 * MS);
    assert_eq!(clock.expiry(0, t.create_cooldown), 1_024 * MS);
    // Two failed creations from time 0: the retry a real kernel makes at 2.048 s.
    let first = clock.expiry(0, t.create_cooldown);
    assert_eq!(clock.expiry(first, first + t.create_cooldown), 2_048 * MS);
}

#[test]
fn at_hz_250_the_mayday_interval_is_about_104_ms() {
    // MAYDAY_INTERVAL = HZ / 10 = 25 jiffies: level 0 fires one jiffy after expiry.
    let clock = KernelClock::HZ_250;
    let t = clock.pool_timings();
    assert_eq!(t.mayday_interval, 100 * MS);
    assert_eq!(clock.expiry(0, t.mayday_interval), 104 * MS);
    // Armed mid-jiffy: counted from the jiffy the timer was armed in.
    assert_eq!(clock.expiry(MS, MS + t.mayday_interval), 104 * MS);
}

#[test]
fn at_hz_250_the_initial_mayday_timeout_is_two_jiffies() {
    // MAYDAY_INITIAL_TIMEOUT = HZ / 100 >= 2 ? HZ / 100 : 2 = 2 jiffies (8 ms), firing
    // after 3.
    let clock = KernelClock::HZ_250;
    let t = clock.pool_timings();
    assert_eq!(t.mayday_initial_timeout, 8 * MS);
    assert_eq!(clock.expiry(0, t.mayday_initial_timeout), 12 * MS);
    // At HZ=1000 it is the 10 ms the constant's comment promises, plus the level-0 jiffy.
    let hz1000 = KernelClock::new(1000).unwrap();
    assert_eq!(
        hz1000.pool_timings().mayday_initial_timeout,
        MAYDAY_INITIAL_TIMEOUT
    );
    assert_eq!(hz1000.expiry(0, MAYDAY_INITIAL_TIMEOUT), 11 * MS);
}

#[test]
fn outer_levels_round_up_to_their_granularity_and_never_fire_early() {
    let clock = KernelClock::HZ_250;
    // IDLE_WORKER_TIMEOUT = 300 * HZ = 75000 jiffies: level 4, granularity 4096.
    assert_eq!(clock.bucket_expiry(75_000, 0), 77_824);
    for delta in [1u64, 62, 63, 503, 504, 4_031, 4_032, 40_000, 1 << 20] {
        for clk in [0u64, 5, 1_000_003] {
            let b = clock.bucket_expiry(clk + delta, clk);
            assert!(b > clk + delta, "delta {delta} clk {clk}: fires at {b}");
            // At most one granule of the level late (granularity 8^level, under 1/8 of
            // the distance past level 0).
            assert!(
                b - (clk + delta) <= (delta / 8).max(1) * 2,
                "delta {delta}: {b}"
            );
        }
    }
    // Beyond the wheel's capacity (LVL_START(9) = 63 << 24 jiffies) timers are clamped.
    let cutoff = 63u64 << 24;
    assert!(clock.bucket_expiry(cutoff * 4, 0) <= cutoff);
}

#[test]
fn the_exact_model_keeps_deadlines_and_default_timings() {
    let exact = TimerModel::Exact;
    assert_eq!(exact.expiry(3, 3 + CREATE_COOLDOWN), 3 + CREATE_COOLDOWN);
    assert_eq!(
        exact.pool_timings(PoolTimings::default()),
        PoolTimings::default()
    );
    let kernel = TimerModel::Kernel(KernelClock::HZ_250);
    assert_eq!(kernel.expiry(0, MAYDAY_INTERVAL), 104 * MS);
    assert_eq!(TimerModel::default(), TimerModel::Exact);
}

#[test]
fn hz_zero_is_a_typed_error() {
    assert_eq!(KernelClock::new(0), Err(ClockError::Hz(0)));
    assert_eq!(KernelClock::new(300).unwrap().tick_ns(), 3_333_333);
}
