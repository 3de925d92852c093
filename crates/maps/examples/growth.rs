//! Growth pauses: every insert's latency while a map grows from empty.
//!
//! Grows `GoMap` (incremental evacuation) and std `HashMap` (all-at-once
//! rehash) from empty to N inserts, single-threaded, in one process, with
//! the same foldhash seed and the same keys, and prints each map's worst
//! insert, p99, p99.99 and total time. Each map runs twice, alternating, so
//! allocator warm-up favours neither.
//!
//! ```text
//! cargo run --release -p mapknee-maps --example growth [-- N]   # N = 4_000_000
//! ```
//!
//! The measuring logic (`measure_inserts`, `Summary`) is independent of
//! the printing, for the `mapknee growth` subcommand to reuse.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::time::{Duration, Instant};

use foldhash::fast::FixedState;
use mapknee_maps::{GoMap, GrowthStats};

/// Per-insert latencies of one growth, in ns, and its wall time.
struct Growth {
    latencies_ns: Vec<u64>,
    wall: Duration,
}

/// Times each of `keys.len()` calls of `insert` with the TSC clock
/// (`quanta`, a few ns per read, far below one insert's cost).
fn measure_inserts(keys: &[u64], mut insert: impl FnMut(u64)) -> Growth {
    let clock = quanta::Clock::new();
    let mut ticks = Vec::with_capacity(keys.len());
    let wall = Instant::now();
    for &k in keys {
        let start = clock.raw();
        insert(k);
        ticks.push(clock.raw().wrapping_sub(start));
    }
    let wall = wall.elapsed();
    let latencies_ns = ticks.iter().map(|&t| clock.delta_as_nanos(0, t)).collect();
    Growth { latencies_ns, wall }
}

/// The cost of the measurement itself: the median of timing nothing.
fn timer_overhead_ns() -> u64 {
    let noop = vec![0u64; 100_000];
    let mut g = measure_inserts(&noop, |k| {
        std::hint::black_box(k);
    });
    g.latencies_ns.sort_unstable();
    g.latencies_ns[g.latencies_ns.len() / 2]
}

/// What the report shows for one growth.
#[derive(Debug, Clone, Copy)]
struct Summary {
    worst_ns: u64,
    p99_ns: u64,
    p9999_ns: u64,
    total: Duration,
}

impl Growth {
    fn summary(mut self) -> Summary {
        self.latencies_ns.sort_unstable();
        let at = |q: f64| {
            let n = self.latencies_ns.len();
            self.latencies_ns[((q * n as f64).ceil() as usize).clamp(1, n) - 1]
        };
        Summary {
            worst_ns: *self.latencies_ns.last().unwrap_or(&0),
            p99_ns: at(0.99),
            p9999_ns: at(0.9999),
            total: self.wall,
        }
    }
}

fn scramble(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn grow_gomap<S: BuildHasher>(keys: &[u64], hasher: S) -> (Summary, GrowthStats) {
    let mut m = GoMap::with_hasher(hasher);
    let g = measure_inserts(keys, |k| {
        m.insert(k, k);
    });
    assert_eq!(m.len(), keys.len());
    (g.summary(), m.growth_stats())
}

fn grow_std<S: BuildHasher>(keys: &[u64], hasher: S) -> Summary {
    let mut m = HashMap::with_hasher(hasher);
    let g = measure_inserts(keys, |k| {
        m.insert(k, k);
    });
    assert_eq!(m.len(), keys.len());
    g.summary()
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .map(|s| s.replace('_', "").parse().expect("N: a number of inserts"))
        .unwrap_or(4_000_000);
    let keys: Vec<u64> = (0..n as u64).map(scramble).collect();
    let hasher = FixedState::with_seed(0x006d_6170_6b6e_6565);
    println!("{n} inserts of u64 → u64 from empty, foldhash (fixed seed), single thread");
    println!(
        "timer overhead (median of timing nothing): {} ns",
        timer_overhead_ns()
    );
    println!(
        "{:<8} {:>5} {:>12} {:>9} {:>9} {:>10}",
        "map", "round", "worst", "p99", "p99.99", "total"
    );
    let ms = |ns: u64| format!("{:.3} ms", ns as f64 / 1e6);
    let mut rows = Vec::new();
    for round in 1..=2 {
        let (go, stats) = grow_gomap(&keys, hasher.clone());
        let std = grow_std(&keys, hasher.clone());
        for (name, s) in [("gomap", go), ("std", std)] {
            println!(
                "{name:<8} {round:>5} {:>12} {:>6} ns {:>6} ns {:>7.0} ms",
                ms(s.worst_ns),
                s.p99_ns,
                s.p9999_ns,
                s.total.as_secs_f64() * 1e3
            );
        }
        println!("         gomap growth counters: {stats:?}");
        rows.push((go, std));
    }
    for (round, (go, std)) in rows.iter().enumerate() {
        println!(
            "round {}: gomap/std worst = {:.4} (goal ≤ 0.05), total = {:.2} (goal ≤ 2)",
            round + 1,
            go.worst_ns as f64 / std.worst_ns as f64,
            go.total.as_secs_f64() / std.total.as_secs_f64()
        );
    }
}
