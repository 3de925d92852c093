//! Single-thread ns/op of SyncMap, GoMap and std's `HashMap` (all with
//! foldhash, `u64` keys and values, 65,536 keys): get-hit, get-miss and
//! insert of new keys into an empty map. Each figure is the median of 5
//! passes; keys are visited in a scrambled order so the hardware
//! prefetcher does not walk the table for us.
//!
//! ```text
//! cargo run --release -p mapknee-maps --example nsop
//! ```

use std::collections::HashMap;
use std::hint::black_box;
use std::time::Instant;

use mapknee_maps::{DefaultHashBuilder, GoMap, SyncMap};

const KEYS: u64 = 65_536;
const PASSES: usize = 5;

/// A bijection of `0..2^64`: scrambled keys, so neighbours in `0..KEYS`
/// land far apart.
fn scramble(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// Median ns per key of `pass`, which handles `KEYS` keys.
fn median_ns(mut pass: impl FnMut()) -> f64 {
    let mut ns: Vec<f64> = (0..PASSES)
        .map(|_| {
            let t = Instant::now();
            pass();
            t.elapsed().as_nanos() as f64 / KEYS as f64
        })
        .collect();
    ns.sort_by(f64::total_cmp);
    ns[PASSES / 2]
}

fn main() {
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

    let row = |name: &str, hit: f64, miss: f64, insert: f64| {
        println!("{name:8} get-hit {hit:6.1}  get-miss {miss:6.1}  insert {insert:6.1}  ns/op");
    };
    let sum = |f: &dyn Fn(u64) -> Option<u64>, keys: &[u64]| {
        keys.iter()
            .fold(0u64, |a, &k| a.wrapping_add(f(k).unwrap_or(1)))
    };

    let hit = median_ns(|| {
        black_box(sum(&|k| sync.load(&k), &present));
    });
    let miss = median_ns(|| {
        black_box(sum(&|k| sync.load(&k), &absent));
    });
    let insert = median_ns(|| {
        let m: SyncMap<u64, u64> = SyncMap::new();
        for &k in &present {
            m.store(k, k);
        }
        black_box(&m);
    });
    row("syncmap", hit, miss, insert);

    let hit = median_ns(|| {
        black_box(sum(&|k| go.get(&k).copied(), &present));
    });
    let miss = median_ns(|| {
        black_box(sum(&|k| go.get(&k).copied(), &absent));
    });
    let insert = median_ns(|| {
        let mut m: GoMap<u64, u64> = GoMap::new();
        for &k in &present {
            m.insert(k, k);
        }
        black_box(&m);
    });
    row("gomap", hit, miss, insert);

    let hit = median_ns(|| {
        black_box(sum(&|k| std.get(&k).copied(), &present));
    });
    let miss = median_ns(|| {
        black_box(sum(&|k| std.get(&k).copied(), &absent));
    });
    let insert = median_ns(|| {
        let mut m: HashMap<u64, u64, DefaultHashBuilder> = HashMap::default();
        for &k in &present {
            m.insert(k, k);
        }
        black_box(&m);
    });
    row("std", hit, miss, insert);
}
