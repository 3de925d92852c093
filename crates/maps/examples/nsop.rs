//! Single-thread ns/op of SyncMap, GoMap and std's `HashMap` (all with
//! foldhash, `u64` keys and values, 65,536 keys): get-hit, get-miss and
//! insert of new keys into an empty map; then ShardedMap against dashmap:
//! get-hit, get-miss, and remove + insert of present keys. Keys are visited
//! in a scrambled order so the hardware prefetcher does not walk the table
//! for us.
//!
//! The maps take turns, pass by pass in rotating order, each timed pass
//! after an untimed one of the same map (`common::compare`). Printed per
//! operation: each map's median ns/op over the rounds, and the median over
//! rounds of the reference map's time (std's, or dashmap's for ShardedMap)
//! divided by each map's (its speed as a fraction of the reference's, from
//! passes measured side by side) with the lowest and highest round.
//!
//! Each comparison also times its reference map twice, as two maps (the
//! `std-aa` and `dash-aa` rows): their ratio is an A/A control, the spread
//! this machine gives two identical passes, against which a difference
//! between two maps can be read. On a shared 2-vCPU VM its per-run
//! medians spanned 0.97–1.02 (insert) to 0.79–1.09 (get-miss) over 20
//! runs (`benchsuite/runs/2026-12-04-vm23f/`).
//!
//! ```text
//! cargo run --release -p mapknee-maps --example nsop [ROUNDS]
//! ```

mod common;

use std::collections::HashMap;
use std::hint::black_box;

use mapknee_maps::{
    default_shards, ConcurrentMap, DashMapAdapter, DefaultHashBuilder, GoMap, ShardedMap, SyncMap,
};

use common::{compare, positive, scramble, sum};

const KEYS: u64 = 65_536;
const DEFAULT_ROUNDS: usize = 15;

/// std's map filled from empty, one insert per key (no presizing: the
/// insert passes measure growth too). The reference's pass and its A/A
/// control's.
fn std_from_empty(keys: &[u64]) -> HashMap<u64, u64, DefaultHashBuilder> {
    let mut m = HashMap::default();
    for &k in keys {
        m.insert(k, k);
    }
    m
}

/// Each key removed and put back: a write-heavy mix's two writes.
fn remove_insert(map: &impl ConcurrentMap<u64, u64>, keys: &[u64]) {
    for &k in keys {
        black_box(map.remove(&k));
        black_box(map.insert(k, k));
    }
}

fn main() {
    let rounds = std::env::args()
        .nth(1)
        .map_or(DEFAULT_ROUNDS, |a| positive("nsop", "ROUNDS", &a));
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
    // The A/A control's own copy: sharing `std`'s table would give `std`
    // four passes in a row whenever the control runs just before it.
    let mut std_aa: HashMap<u64, u64, DefaultHashBuilder> = HashMap::default();
    for &k in &present {
        go.insert(k, k);
        std.insert(k, k);
        std_aa.insert(k, k);
    }
    let names = ["syncmap", "gomap", "std-aa", "std"];
    println!(
        "{rounds} rounds, medians; REF/this = the reference map's ns (std's, then dashmap's) over this map's ns in the same round"
    );

    for (op, keys) in [("get-hit", &present), ("get-miss", &absent)] {
        compare(
            op,
            rounds,
            KEYS as usize,
            &names,
            &mut [
                &mut || {
                    black_box(sum(|k| sync.load(&k), keys));
                },
                &mut || {
                    black_box(sum(|k| go.get(&k).copied(), keys));
                },
                &mut || {
                    black_box(sum(|k| std_aa.get(&k).copied(), keys));
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
        KEYS as usize,
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
                black_box(&std_from_empty(&present));
            },
            &mut || {
                black_box(&std_from_empty(&present));
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
    let dash_aa: DashMapAdapter<u64, u64> =
        DashMapAdapter::with_capacity_and_hasher(KEYS as usize, Default::default());
    for &k in &present {
        sharded.insert(k, k);
        dash.insert(k, k);
        dash_aa.insert(k, k);
    }
    let peers = ["sharded", "dash-aa", "dashmap"];
    for (op, keys) in [("get-hit", &present), ("get-miss", &absent)] {
        compare(
            op,
            rounds,
            KEYS as usize,
            &peers,
            &mut [
                &mut || {
                    black_box(sum(|k| sharded.get(&k), keys));
                },
                &mut || {
                    black_box(sum(|k| dash_aa.get(&k), keys));
                },
                &mut || {
                    black_box(sum(|k| dash.get(&k), keys));
                },
            ],
        );
    }
    compare(
        "remove+insert",
        rounds,
        KEYS as usize,
        &peers,
        &mut [
            &mut || remove_insert(&sharded, &present),
            &mut || remove_insert(&dash_aa, &present),
            &mut || remove_insert(&dash, &present),
        ],
    );
}
