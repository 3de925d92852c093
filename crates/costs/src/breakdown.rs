//! SyncMap's `load` (a snapshot hit) broken into its parts, each measured
//! inside the real load path.
//!
//! [`SyncMap::load_staged`]`::<N>` is `SyncMap::load` stopped after its
//! first `N` parts ([`mapknee_maps::syncmap::LOAD_STAGES`]: pin, snapshot
//! load, hash, probe, counter, entry load, clone), the work cut off kept
//! alive with `black_box`. A part's cost inside a load is the prefix that
//! ends with it less the prefix before it, so the parts sum to the last
//! prefix, which is the whole load; `SyncMap::load` is timed beside it as
//! the measured whole. Every figure runs over the same pseudo-random
//! sequence of present keys, and has the cost of a loop that only reads
//! that sequence subtracted.
//!
//! An earlier version timed a replica of the load built from the same
//! types (SyncMap's internals are private): its parts summed to 1.13x
//! (1,024 keys) and 0.82x (65,536 keys) of the real load, since the
//! replica's code and memory layout were not the map's.

use std::hint::black_box;

use mapknee_maps::syncmap::LOAD_STAGES;
use mapknee_maps::SyncMap;
use serde::{Deserialize, Serialize};

use crate::bench::{self, BenchConfig, Estimate, Samples};

/// Key sequence length: a power of two, as long as the default keyspace
/// so the loads range over the whole map (its table and entries are not
/// all in cache, as in a real run); the sequence itself is read in order,
/// which the prefetcher hides.
const SEQ: usize = 1 << 16;

/// Rounds the samples are split over (see [`measure`]): many, so that the
/// prefixes, timed one after another, see the same machine; their
/// differences are small against a load at 64k keys.
const ROUNDS: usize = 10;

/// The parts, in the order a load runs them (SyncMap's own list).
pub const PARTS: [&str; 7] = LOAD_STAGES;

/// The breakdown and the whole.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Breakdown {
    /// Keys in the map (all present, all in the read snapshot).
    pub keys: u64,
    /// The loop that only reads the key sequence; subtracted from every
    /// figure below.
    pub baseline: Estimate,
    /// One per [`PARTS`] entry.
    pub parts: Vec<Part>,
    /// Sum of the parts' `in_load_ns`: the last prefix, the whole staged
    /// load.
    pub sum_ns: f64,
    /// `SyncMap::load` of a present key, baseline subtracted.
    pub whole: Estimate,
    /// The staged load at its last stage over `SyncMap::load`: the median
    /// of the ratios of every pair of their samples (baseline subtracted;
    /// the Hodges–Lehmann estimate, robust to the bursts of a shared
    /// machine).
    pub ratio: f64,
    /// 95 % interval of `ratio` (distribution-free, see
    /// `mapknee_analyze::stats::ratio_ci`); `None` when a sample was not
    /// above the baseline.
    #[serde(default)]
    pub ratio_ci: Option<[f64; 2]>,
    /// The staged load at its last stage (all parts), with its interval.
    pub chained: Estimate,
}

/// One part.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Part {
    /// One of [`PARTS`].
    pub part: String,
    /// What was timed.
    pub what: String,
    /// What the part adds inside a load: the load cut after this part
    /// less the load cut before it (medians; noise can make a tiny part
    /// slightly negative). These sum to `sum_ns`.
    pub in_load_ns: f64,
    /// The load cut after this part (baseline subtracted), with its
    /// interval.
    pub prefix: Estimate,
}

/// Pseudo-random present keys in `0..keys`.
fn key_sequence(keys: u64) -> Vec<u64> {
    let mut rng = mapknee_load::FastRng::new(0x5eed);
    (0..SEQ).map(|_| rng.next_u64() % keys.max(1)).collect()
}

/// Measures the breakdown for a map of `keys` keys.
pub fn measure(cfg: &BenchConfig, keys: u64) -> Breakdown {
    let keys = keys.max(1);
    let seq = key_sequence(keys);
    let key = |i: u64| seq[i as usize & (SEQ - 1)];

    let map: SyncMap<u64, u64> = SyncMap::new();
    for k in 0..keys {
        map.store(k, k);
    }
    // Promote dirty to the snapshot: every load below hits it.
    map.range(|_, _| true);

    // Rounds, each timing every figure once with a share of the samples;
    // the samples are pooled per figure, so load from elsewhere on the
    // machine falls on all of them alike.
    let per_round = BenchConfig {
        samples: cfg.samples.div_ceil(ROUNDS),
        ..*cfg
    };
    // Baseline, the prefixes 1..=7, the whole.
    let mut acc: Vec<Samples> = vec![Samples::default(); PARTS.len() + 2];
    for _ in 0..ROUNDS {
        let c = &per_round;
        let mut slot = 0;
        let mut add = |s: Samples| {
            acc[slot].pool(s);
            slot += 1;
        };
        add(bench::one_samples(c, |i| {
            black_box(key(i));
        }));
        add(bench::one_samples(c, |i| {
            black_box(map.load_staged::<1>(&key(i)));
        }));
        add(bench::one_samples(c, |i| {
            black_box(map.load_staged::<2>(&key(i)));
        }));
        add(bench::one_samples(c, |i| {
            black_box(map.load_staged::<3>(&key(i)));
        }));
        add(bench::one_samples(c, |i| {
            black_box(map.load_staged::<4>(&key(i)));
        }));
        add(bench::one_samples(c, |i| {
            black_box(map.load_staged::<5>(&key(i)));
        }));
        add(bench::one_samples(c, |i| {
            black_box(map.load_staged::<6>(&key(i)));
        }));
        add(bench::one_samples(c, |i| {
            black_box(map.load_staged::<7>(&key(i)));
        }));
        add(bench::one_samples(c, |i| {
            black_box(map.load(&key(i)));
        }));
    }
    let baseline = acc[0].estimate();
    let base = baseline.median_ns;
    let prefixes: Vec<Estimate> = (1..=PARTS.len())
        .map(|i| acc[i].estimate().minus(base))
        .collect();
    let what = [
        "crossbeam_epoch::pin() and dropping the guard",
        "the snapshot pointer's Acquire load",
        "foldhash of the key with the snapshot's hasher (the hash `get` computes)",
        "HashMap::get on the snapshot less the hash",
        "SyncMap's snapshot-hit counter",
        "the entry's value pointer, Acquire (the value is not read yet)",
        "V::clone: reads the boxed value (a cache miss once the map outgrows the cache)",
    ];
    let parts: Vec<Part> = PARTS
        .iter()
        .zip(what)
        .enumerate()
        .map(|(i, (part, what))| {
            let before = if i == 0 {
                0.0
            } else {
                prefixes[i - 1].median_ns
            };
            Part {
                part: (*part).into(),
                what: what.into(),
                in_load_ns: prefixes[i].median_ns - before,
                prefix: prefixes[i],
            }
        })
        .collect();
    let chained = prefixes[PARTS.len() - 1];
    let whole_samples = &acc[PARTS.len() + 1];
    let whole = whole_samples.estimate().minus(base);
    let net = |s: &Samples| -> Vec<f64> { s.ns.iter().map(|x| x - base).collect() };
    let (real, staged) = (net(whole_samples), net(&acc[PARTS.len()]));
    let ratio_ci = mapknee_analyze::stats::ratio_ci(&real, &staged, 0.95).map(|c| [c.lo, c.hi]);
    let pairwise: Vec<f64> = real
        .iter()
        .flat_map(|r| staged.iter().map(move |c| c / r))
        .filter(|x| x.is_finite())
        .collect();
    let ratio = mapknee_analyze::stats::median(&pairwise);
    let sum_ns: f64 = parts.iter().map(|p| p.in_load_ns).sum();
    Breakdown {
        keys,
        baseline,
        parts,
        sum_ns,
        whole,
        ratio,
        ratio_ci,
        chained,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn every_part_is_measured_and_summed() {
        let _serial = crate::testutil::serial();
        let cfg = BenchConfig {
            samples: 5,
            sample_time: Duration::from_micros(100),
            warmup: Duration::ZERO,
        };
        let b = measure(&cfg, 1024);
        let names: Vec<_> = b.parts.iter().map(|p| p.part.as_str()).collect();
        assert_eq!(names, PARTS);
        let sum: f64 = b.parts.iter().map(|p| p.in_load_ns).sum();
        assert!((b.sum_ns - sum).abs() < 1e-9);
        // The parts telescope: their sum is the last prefix, the whole
        // staged load.
        assert!((b.sum_ns - b.chained.median_ns).abs() < 1e-6, "{b:?}");
        let prefixes: Vec<f64> = b.parts.iter().map(|p| p.prefix.median_ns).collect();
        assert_eq!(prefixes.last(), Some(&b.chained.median_ns));
        assert!(b.whole.median_ns > 0.0, "a load does some work: {b:?}");
    }

    #[test]
    fn the_key_sequence_holds_present_keys_only() {
        let _serial = crate::testutil::serial();
        let seq = key_sequence(100);
        assert_eq!(seq.len(), SEQ);
        assert!(seq.iter().all(|&k| k < 100));
    }
}
