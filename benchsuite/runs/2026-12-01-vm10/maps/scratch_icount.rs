//! Scratch: fixed single-thread work per map for callgrind instruction counts.
use std::hint::black_box;
use mapknee_maps::{ConcurrentMap, DashMapAdapter, ShardedMap};
fn scramble(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}
fn work(m: &impl ConcurrentMap<u64, u64>, keys: &[u64]) {
    for &k in &keys[..keys.len() / 2] { m.insert(k, k); }
    let mut s = 0u64;
    for r in 0..4 {
        for (i, &k) in keys.iter().enumerate() {
            match (i + r) % 20 {
                0 => { m.insert(k, i as u64); }
                1 => { black_box(m.get_or_insert(k, 1)); }
                _ => { s = s.wrapping_add(m.get(&k).unwrap_or(0)); }
            }
        }
    }
    black_box(s);
}
fn main() {
    let keys: Vec<u64> = (0..65_536).map(scramble).collect();
    let which = std::env::args().nth(1).unwrap_or_default();
    match which.as_str() {
        "sharded" => work(&ShardedMap::<u64, u64>::with_capacity_and_hasher(mapknee_maps::default_shards(), true, 65_536, Default::default()), &keys),
        "dashmap" => work(&DashMapAdapter::<u64, u64>::with_capacity_and_hasher(65_536, Default::default()), &keys),
        _ => panic!("sharded|dashmap"),
    }
}
