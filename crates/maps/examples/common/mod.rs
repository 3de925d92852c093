//! What this crate's timing examples (`nsop`, `gomap_get`, `rebuild`) and
//! its `gomap` bench share: the scrambled keys, the lookup pass and the
//! side-by-side comparison. Each includes the module and uses a part of
//! it, hence the `dead_code` allowance.
#![allow(dead_code)]

use std::time::Instant;

/// A bijection of `0..2^64` (splitmix64's finaliser): scrambled keys, so
/// neighbours in `0..n` land far apart and the hardware prefetcher does
/// not walk the table for us.
pub(crate) fn scramble(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

pub(crate) fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// Looks up every key, summing what it finds: one pass of lookups, with
/// the lookup inlined (a call through a pointer per key would cost as
/// much as a lookup and hide the maps' differences). Kept out of line, one
/// copy per map, so each map's loop is compiled on its own.
#[inline(never)]
pub(crate) fn sum(get: impl Fn(u64) -> Option<u64>, keys: &[u64]) -> u64 {
    keys.iter()
        .fold(0u64, |a, &k| a.wrapping_add(get(k).unwrap_or(1)))
}

/// ns per key of one `pass`, which handles `keys` keys.
fn ns_per_key(keys: usize, pass: &mut dyn FnMut()) -> f64 {
    let t = Instant::now();
    pass();
    t.elapsed().as_nanos() as f64 / keys as f64
}

/// Runs `passes` (one per map, the reference map's last; each handles
/// `keys` keys) for `rounds` rounds and prints one line per map: its
/// median ns per key, and the median over rounds of the reference map's
/// time divided by its own (its speed as a fraction of the reference's,
/// from passes measured side by side) with the lowest and highest round.
///
/// Each round makes one timed pass per map, in an order that rotates
/// every round, so a slow spell of a shared machine lands on all of them
/// rather than on whichever ran then. Each timed pass follows an untimed
/// one of the same map, so it finds the caches as a run of that map alone
/// would leave them (steady state), not as the previous map left them.
pub(crate) fn compare(
    op: &str,
    rounds: usize,
    keys: usize,
    names: &[&str],
    passes: &mut [&mut dyn FnMut()],
) {
    let n = passes.len();
    let mut ns = vec![Vec::with_capacity(rounds); n];
    for round in 0..rounds {
        for turn in 0..n {
            let m = (round + turn) % n;
            passes[m]();
            ns[m].push(ns_per_key(keys, passes[m]));
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

/// The positive integer `arg` names, or exit 2 with a message naming
/// `what` and the example.
pub(crate) fn positive(example: &str, what: &str, arg: &str) -> usize {
    match arg.parse::<usize>() {
        Ok(n) if n > 0 => n,
        _ => {
            eprintln!("{example}: {what} must be a positive integer, got {arg:?}");
            std::process::exit(2);
        }
    }
}
