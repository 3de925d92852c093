//! GoMap's lookup speed against std's `HashMap` alone, at sizes that span
//! the caches: get-hit of every key of a map of N `u64` keys (scrambled
//! order, foldhash), the two maps' passes alternated (`common::compare`,
//! as in `nsop`) for PASSES rounds per size. More rounds of fewer maps than
//! `nsop`, so its ratio resolves ~0.02 where `nsop`'s moves by ±0.1
//! between runs of one build on a shared 2-vCPU VM.
//!
//! 1,024 keys stay in L1/L2 and show the lookup's instruction cost; 65,536
//! keys (`nsop`'s size, 2 MB of entries) its cache misses; 524,288 keys its
//! memory misses. Printed per size as by `nsop`: each map's median ns per
//! lookup and std's time over GoMap's, median over rounds (lowest–highest).
//!
//! ```text
//! cargo run --release -p mapknee-maps --example gomap_get [PASSES] [KEYS...]
//! ```

mod common;

use std::collections::HashMap;
use std::hint::black_box;

use mapknee_maps::{DefaultHashBuilder, GoMap};

use common::{compare, positive, scramble, sum};

const DEFAULT_PASSES: usize = 300;
const DEFAULT_SIZES: [usize; 3] = [1_024, 65_536, 524_288];

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let passes = args
        .first()
        .map_or(DEFAULT_PASSES, |a| positive("gomap_get", "PASSES", a));
    let sizes: Vec<usize> = match args.get(1..) {
        Some(rest) if !rest.is_empty() => rest
            .iter()
            .map(|a| positive("gomap_get", "KEYS", a))
            .collect(),
        _ => DEFAULT_SIZES.to_vec(),
    };
    println!(
        "{passes} rounds per size, medians; std/this = std's ns over this map's in the same round"
    );
    for n in sizes {
        let keys: Vec<u64> = (0..n as u64).map(scramble).collect();
        let mut go: GoMap<u64, u64> = GoMap::new();
        let mut std: HashMap<u64, u64, DefaultHashBuilder> = HashMap::default();
        for &k in &keys {
            go.insert(k, k);
            std.insert(k, k);
        }
        compare(
            &format!("get-hit {n}"),
            passes,
            n,
            &["gomap", "std"],
            &mut [
                &mut || {
                    black_box(sum(|k| go.get(&k).copied(), &keys));
                },
                &mut || {
                    black_box(sum(|k| std.get(&k).copied(), &keys));
                },
            ],
        );
    }
}
