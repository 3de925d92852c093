//! throwaway
#![allow(missing_docs)]
use mapknee_maps::{DefaultHashBuilder, GoMap};
use std::collections::HashMap;
use std::hint::black_box;
fn scramble(i: u64) -> u64 {
    i.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17)
}
fn minflt() -> u64 {
    let s = std::fs::read_to_string("/proc/self/stat").unwrap();
    let rest = &s[s.rfind(')').unwrap() + 2..];
    rest.split(' ').nth(7).unwrap().parse().unwrap()
}
fn pass(which: &str, keys: &[u64]) {
    if which == "go" {
        let mut m: GoMap<u64, u64> = GoMap::new();
        for &k in keys {
            m.insert(k, k);
        }
        black_box(&m);
    } else {
        let mut m: HashMap<u64, u64, DefaultHashBuilder> = HashMap::default();
        for &k in keys {
            m.insert(k, k);
        }
        black_box(&m);
    }
}
fn main() {
    let n: usize = std::env::args().nth(1).map_or(10, |a| a.parse().unwrap());
    let hold = std::env::args().nth(2).is_some();
    let keys: Vec<u64> = (0..65536).map(scramble).collect();
    let mut held_go: GoMap<u64, u64> = GoMap::new();
    let mut held_std: HashMap<u64, u64, DefaultHashBuilder> = HashMap::default();
    if hold {
        for &k in &keys {
            held_go.insert(k, k);
            held_std.insert(k, k);
        }
    }
    for r in 0..n {
        for which in if r % 2 == 0 {
            ["go", "std"]
        } else {
            ["std", "go"]
        } {
            pass(which, &keys);
            let f = minflt();
            let t = std::time::Instant::now();
            pass(which, &keys);
            let ns = t.elapsed().as_nanos() as f64 / 65536.0;
            println!("{which}: {ns:.1} ns/op  faults {}", minflt() - f);
        }
    }
    black_box((&held_go, &held_std));
}
