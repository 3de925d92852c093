//! throwaway: insert presized vs from empty, GoMap vs std
#![allow(missing_docs)]
mod common;
use common::{compare, scramble};
use mapknee_maps::{DefaultHashBuilder, GoMap};
use std::collections::HashMap;
use std::hint::black_box;
fn main() {
    let rounds: usize = std::env::args().nth(1).map_or(15, |a| a.parse().unwrap());
    let keys: Vec<u64> = (0..65536).map(scramble).collect();
    let n = keys.len();
    compare("insert-pre", rounds, n, &["gomap", "std"], &mut [
        &mut || { let mut m: GoMap<u64,u64> = GoMap::with_capacity(n); for &k in &keys { m.insert(k,k); } black_box(&m); },
        &mut || { let mut m: HashMap<u64,u64,DefaultHashBuilder> = HashMap::with_capacity_and_hasher(n, Default::default()); for &k in &keys { m.insert(k,k); } black_box(&m); },
    ]);
    compare("insert-empty", rounds, n, &["gomap", "std"], &mut [
        &mut || { let mut m: GoMap<u64,u64> = GoMap::new(); for &k in &keys { m.insert(k,k); } black_box(&m); },
        &mut || { let mut m: HashMap<u64,u64,DefaultHashBuilder> = HashMap::default(); for &k in &keys { m.insert(k,k); } black_box(&m); },
    ]);
}
