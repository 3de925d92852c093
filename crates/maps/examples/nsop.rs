//! Single-thread ns/op of SyncMap, GoMap and std's `HashMap` (all with
//! foldhash, `u64` keys and values, 65,536 keys): get-hit, get-miss and
//! insert of new keys into an empty map; then ShardedMap against dashmap:
//! get-hit, get-miss, and remove + insert of present keys. Keys are visited
//! in a scrambled order so the hardware prefetcher does not walk the table
//! for us.
//!
//! The maps take turns: each round makes one timed pass per map, in an
//! order that rotates every round, so a slow spell of a shared machine
//! lands on all of them rather than on whichever ran then. Each timed pass
//! follows an untimed one of the same map, so it finds the caches as a
//! run of that map alone would leave them (steady state), not as the
//! previous map left them. Printed per operation:
//! each map's median ns/op over the rounds, and the median over rounds of
//! the reference map's time (std's, or dashmap's for ShardedMap) divided
//! by each map's (its speed as a fraction of the reference's, from passes
//! measured side by side) with the lowest and highest round.
//!
//! ```text
//! cargo run --release -p mapknee-maps --example nsop [ROUNDS]
//! ```

use std::collections::HashMap;
use std::hint::black_box;
use std::time::Instant;

use mapknee_maps::{
    default_shards, ConcurrentMap, DashMapAdapter, DefaultHashBuilder, GoMap, ShardedMap, SyncMap,
};

const KEYS: u64 = 65_536;
const DEFAULT_ROUNDS: usize = 15;

/// A bijection of `0..2^64`: scrambled keys, so neighbours in `0..KEYS`
/// land far apart.
fn scramble(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// ns per key of one `pass`, which handles `KEYS` keys.
fn ns_per_key(pass: &mut dyn FnMut()) -> f64 {
    let t = Instant::now();
    pass();
    t.elapsed().as_nanos() as f64 / KEYS as f64
}

/// Looks up every key, summing what it finds: one pass of lookups, with
/// the lookup inlined (a call through a pointer per key would cost as
/// much as a lookup and hide the maps' differences). Kept out of line, one
/// copy per map, so each map's loop is compiled on its own.
#[inline(never)]
fn sum(get: impl Fn(u64) -> Option<u64>, keys: &[u64]) -> u64 {
    keys.iter()
        .fold(0u64, |a, &k| a.wrapping_add(get(k).unwrap_or(1)))
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// Runs `passes` (one per map, the reference map's last) for `rounds`
/// rounds in rotating order and prints one line per map.
fn compare(op: &str, rounds: usize, names: &[&str], passes: &mut [&mut dyn FnMut()]) {
    let n = passes.len();
    let mut ns = vec![Vec::with_capacity(rounds); n];
    for round in 0..rounds {
        for turn in 0..n {
            let m = (round + turn) % n;
            passes[m]();
            ns[m].push(ns_per_key(passes[m]));
        }
    }
    let reference = &ns[n - 1];
    let ref_name = names[n - 1];
    for (name, times) in names.iter().zip(&ns) {
        let ratios: Vec<f64> = reference.iter().zip(times).map(|(r, t)| r / t).collect();
        let lo = ratios.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = ratios.iter().copied().fold(0.0, f64::max);
        println!(
            "{op:13} {name:8} {:6.1} ns/op  {ref_name}/this {:.2} ({lo:.2}–{hi:.2})",
            median(times.clone()),
            median(ratios),
        );
    }
}

fn main() {
    let rounds = match std::env::args().nth(1) {
        None => DEFAULT_ROUNDS,
        Some(a) => match a.parse::<usize>() {
            Ok(r) if r > 0 => r,
            _ => {
                eprintln!("nsop: ROUNDS must be a positive integer, got {a:?}");
                std::process::exit(2);
            }
        },
    };
    let present: Vec<u64> = (0..KEYS).map(scramble).collect();
    // Scrambles of a disjoint range: never stored.
    let absent: Vec<u64> = (KEYS..2 * KEYS).map(scramble).collect();

    let sync: SyncMap<u64, u64> = SyncMap::new();
    for &k in &present {
        sync.store(k, k);
    }
    sync.range(|_, _| true); // promote: loads hit the snapshot
    let mut go: GoMap<u64, u64> = GoMap::new();
    let mut std: HashMap<u64, u64, DefaultHashBuilder> = HashMap::default();
    for &k in &present {
        go.insert(k, k);
        std.insert(k, k);
    }
    let names = ["syncmap", "gomap", "std"];
    println!(
        "{rounds} rounds, medians; REF/this = the reference map's ns (std's, then dashmap's) over this map's ns in the same round"
    );

    for (op, keys) in [("get-hit", &present), ("get-miss", &absent)] {
        compare(
            op,
            rounds,
            &names,
            &mut [
                &mut || {
                    black_box(sum(|k| sync.load(&k), keys));
                },
                &mut || {
                    black_box(sum(|k| go.get(&k).copied(), keys));
                },
                &mut || {
                    black_box(sum(|k| std.get(&k).copied(), keys));
                },
            ],
        );
    }
    compare(
        "insert",
        rounds,
        &names,
        &mut [
            &mut || {
                let m: SyncMap<u64, u64> = SyncMap::new();
                for &k in &present {
                    m.store(k, k);
                }
                black_box(&m);
            },
            &mut || {
                let mut m: GoMap<u64, u64> = GoMap::new();
                for &k in &present {
                    m.insert(k, k);
                }
                black_box(&m);
            },
            &mut || {
                let mut m: HashMap<u64, u64, DefaultHashBuilder> = HashMap::default();
                for &k in &present {
                    m.insert(k, k);
                }
                black_box(&m);
            },
        ],
    );

    // ShardedMap against its closest peer, dashmap (same shard count, both
    // presized, both through the `ConcurrentMap` trait as the load engine
    // calls them): the reference is dashmap here.
    let sharded: ShardedMap<u64, u64> = ShardedMap::with_capacity_and_hasher(
        default_shards(),
        true,
        KEYS as usize,
        Default::default(),
    );
    let dash: DashMapAdapter<u64, u64> =
        DashMapAdapter::with_capacity_and_hasher(KEYS as usize, Default::default());
    for &k in &present {
        sharded.insert(k, k);
        dash.insert(k, k);
    }
    let peers = ["sharded", "dashmap"];
    for (op, keys) in [("get-hit", &present), ("get-miss", &absent)] {
        compare(
            op,
            rounds,
            &peers,
            &mut [
                &mut || {
                    black_box(sum(|k| sharded.get(&k), keys));
                },
                &mut || {
                    black_box(sum(|k| dash.get(&k), keys));
                },
            ],
        );
    }
    // Each key removed and put back: a write-heavy mix's two writes.
    compare(
        "remove+insert",
        rounds,
        &peers,
        &mut [
            &mut || {
                for &k in &present {
                    black_box(sharded.remove(&k));
                    black_box(sharded.insert(k, k));
                }
            },
            &mut || {
                for &k in &present {
                    black_box(dash.remove(&k));
                    black_box(dash.insert(k, k));
                }
            },
        ],
    );
}
