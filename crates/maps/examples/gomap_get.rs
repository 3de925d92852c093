//! GoMap's lookup speed against std's `HashMap` in a tight loop: get-hit of
//! every key of a map of N `u64` keys (scrambled order, foldhash), one
//! pass of GoMap then one of std, alternated PASSES times in one process,
//! so a slow spell of a shared machine lands on both. Prints, per size,
//! each map's fastest and median pass (ns per lookup) and std's time over
//! GoMap's (GoMap's speed as a fraction of std's) at the median and at the
//! fastest.
//!
//! Sizes span the caches: 1,024 keys stay in L1/L2 and show the lookup's
//! instruction cost; 65,536 keys (the `nsop` example's size, 2 MB of
//! entries) its cache misses; 524,288 keys its memory misses.
//!
//! ```text
//! cargo run --release -p mapknee-maps --example gomap_get [PASSES] [KEYS...]
//! ```

use std::collections::HashMap;
use std::hint::black_box;
use std::time::Instant;

use mapknee_maps::{DefaultHashBuilder, GoMap};

const DEFAULT_PASSES: usize = 300;
const DEFAULT_SIZES: [u64; 3] = [1_024, 65_536, 524_288];

/// A bijection of `0..2^64`: neighbouring keys land far apart.
fn scramble(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// One pass of lookups, out of line so each map's loop is compiled alone.
#[inline(never)]
fn sum_go(m: &GoMap<u64, u64>, keys: &[u64]) -> u64 {
    keys.iter().fold(0u64, |a, &k| {
        a.wrapping_add(m.get(&k).copied().unwrap_or(1))
    })
}

#[inline(never)]
fn sum_std(m: &HashMap<u64, u64, DefaultHashBuilder>, keys: &[u64]) -> u64 {
    keys.iter().fold(0u64, |a, &k| {
        a.wrapping_add(m.get(&k).copied().unwrap_or(1))
    })
}

fn ns_per_key(keys: usize, pass: impl FnOnce() -> u64) -> f64 {
    let t = Instant::now();
    black_box(pass());
    t.elapsed().as_nanos() as f64 / keys as f64
}

fn parse(arg: &str, what: &str) -> u64 {
    match arg.parse::<u64>() {
        Ok(n) if n > 0 => n,
        _ => {
            eprintln!("gomap_get: {what} must be a positive integer, got {arg:?}");
            std::process::exit(2);
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let passes = args
        .first()
        .map_or(DEFAULT_PASSES, |a| parse(a, "PASSES") as usize);
    let sizes: Vec<u64> = if args.len() > 1 {
        args[1..].iter().map(|a| parse(a, "KEYS")).collect()
    } else {
        DEFAULT_SIZES.to_vec()
    };
    println!(
        "{passes} alternated passes per size; ns per lookup; std/go = std's time over GoMap's"
    );
    for n in sizes {
        let keys: Vec<u64> = (0..n).map(scramble).collect();
        let mut go: GoMap<u64, u64> = GoMap::new();
        let mut std: HashMap<u64, u64, DefaultHashBuilder> = HashMap::default();
        for &k in &keys {
            go.insert(k, k);
            std.insert(k, k);
        }
        let (mut tg, mut ts) = (Vec::with_capacity(passes), Vec::with_capacity(passes));
        for _ in 0..passes {
            tg.push(ns_per_key(keys.len(), || sum_go(&go, &keys)));
            ts.push(ns_per_key(keys.len(), || sum_std(&std, &keys)));
        }
        tg.sort_by(f64::total_cmp);
        ts.sort_by(f64::total_cmp);
        let (gm, sm) = (tg[passes / 2], ts[passes / 2]);
        println!(
            "keys {n:>9}: gomap min {:6.2} med {gm:6.2}  std min {:6.2} med {sm:6.2}  std/go med {:.2} min {:.2}",
            tg[0],
            ts[0],
            sm / gm,
            ts[0] / tg[0]
        );
    }
}
