//! Single-threaded `GoMap` against std `HashMap`, same hasher.
//!
//! Dimensions: operation (`get` hit, `get` miss, `insert` of new keys into a
//! presized map, `insert` overwriting) × map (`gomap`, `std`). Both maps
//! hash with foldhash with one fixed seed, so only the table differs.
//! 65,536 `u64 → u64` entries; keys are scrambled integers, because
//! windows of consecutive integers spread unevenly over buckets under
//! foldhash. Each iteration makes one pass over all 65,536 keys; throughput
//! is reported per key, so criterion's "time per element" is ns/op.
//!
//! Run: `cargo bench -p mapknee-maps --bench gomap`.

#[path = "../examples/common/mod.rs"]
mod common;

use std::collections::HashMap;
use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use foldhash::fast::FixedState;
use mapknee_maps::GoMap;

use common::scramble;

const KEYS: usize = 65_536;

fn hasher() -> FixedState {
    FixedState::with_seed(0x006d_6170_6b6e_6565)
}

/// Keys present in the map, and keys absent from it.
fn keys() -> (Vec<u64>, Vec<u64>) {
    let hits = (0..KEYS as u64).map(scramble).collect();
    let misses = (KEYS as u64..2 * KEYS as u64).map(scramble).collect();
    (hits, misses)
}

fn gomap(keys: &[u64]) -> GoMap<u64, u64, FixedState> {
    let mut m = GoMap::with_hasher(hasher());
    for &k in keys {
        m.insert(k, k);
    }
    m
}

fn std_map(keys: &[u64]) -> HashMap<u64, u64, FixedState> {
    let mut m = HashMap::with_hasher(hasher());
    for &k in keys {
        m.insert(k, k);
    }
    m
}

fn get(c: &mut Criterion) {
    let (hits, misses) = keys();
    let (go, std) = (gomap(&hits), std_map(&hits));
    for (name, probe) in [("get_hit", &hits), ("get_miss", &misses)] {
        let mut g = c.benchmark_group(name);
        g.throughput(Throughput::Elements(KEYS as u64));
        g.bench_function("gomap", |b| {
            b.iter(|| {
                let mut found = 0u64; // sums values so the lookup must load them
                for k in probe.iter() {
                    found = found.wrapping_add(go.get(black_box(k)).copied().unwrap_or(1));
                }
                found
            })
        });
        g.bench_function("std", |b| {
            b.iter(|| {
                let mut found = 0u64; // sums values so the lookup must load them
                for k in probe.iter() {
                    found = found.wrapping_add(std.get(black_box(k)).copied().unwrap_or(1));
                }
                found
            })
        });
        g.finish();
    }
}

fn insert(c: &mut Criterion) {
    let (hits, _) = keys();
    let mut g = c.benchmark_group("insert_new_presized");
    g.throughput(Throughput::Elements(KEYS as u64));
    g.bench_function("gomap", |b| {
        b.iter_batched(
            || GoMap::with_capacity_and_hasher(KEYS, hasher()),
            |mut m| {
                for &k in &hits {
                    m.insert(black_box(k), k);
                }
                m
            },
            BatchSize::LargeInput,
        )
    });
    g.bench_function("std", |b| {
        b.iter_batched(
            || HashMap::with_capacity_and_hasher(KEYS, hasher()),
            |mut m| {
                for &k in &hits {
                    m.insert(black_box(k), k);
                }
                m
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();

    let mut g = c.benchmark_group("insert_overwrite");
    g.throughput(Throughput::Elements(KEYS as u64));
    let (mut go, mut std) = (gomap(&hits), std_map(&hits));
    g.bench_function("gomap", |b| {
        b.iter(|| {
            for &k in &hits {
                go.insert(black_box(k), k + 1);
            }
        })
    });
    g.bench_function("std", |b| {
        b.iter(|| {
            for &k in &hits {
                std.insert(black_box(k), k + 1);
            }
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(1))
        .sample_size(20);
    targets = get, insert
}
criterion_main!(benches);
