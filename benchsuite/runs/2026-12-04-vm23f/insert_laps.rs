//! throwaway: GoMap inserts from empty, many passes, for perf
#![allow(missing_docs)]
mod common;
use common::scramble;
use mapknee_maps::{DefaultHashBuilder, GoMap};
use std::collections::HashMap;
use std::hint::black_box;
fn main() {
    let which = std::env::args().nth(1).unwrap();
    let passes: usize = std::env::args().nth(2).map_or(300, |a| a.parse().unwrap());
    let keys: Vec<u64> = (0..65536).map(scramble).collect();
    // keep other maps alive as nsop does
    let mut held: HashMap<u64,u64,DefaultHashBuilder> = HashMap::default();
    let mut heldg: GoMap<u64,u64> = GoMap::new();
    for &k in &keys { held.insert(k,k); heldg.insert(k,k); }
    let t = std::time::Instant::now();
    let mut lap = std::time::Instant::now();
    for p in 0..passes {
        if p % 20 == 19 { print!("{:.1} ", lap.elapsed().as_nanos() as f64 / (20 * keys.len()) as f64); lap = std::time::Instant::now(); }
        if which == "go" {
            let mut m: GoMap<u64,u64> = GoMap::new(); for &k in &keys { m.insert(k,k); } black_box(&m);
        } else {
            let mut m: HashMap<u64,u64,DefaultHashBuilder> = HashMap::default(); for &k in &keys { m.insert(k,k); } black_box(&m);
        }
    }
    println!("{which} {:.1} ns/op", t.elapsed().as_nanos() as f64 / (passes * keys.len()) as f64);
    black_box((&held, &heldg));
}
