//! SyncMap's `load` (a snapshot hit) broken into its parts, rebuilt from
//! the types SyncMap is built from, against the whole measured on a real
//! [`SyncMap`].
//!
//! SyncMap's internals are private, so the parts are rebuilt from the
//! same pieces: `crossbeam_epoch::pin`, an `Atomic` snapshot pointer
//! loaded with Acquire, the map's foldhash hasher, a std `HashMap` of
//! `u64` → `Arc<entry>` probed for the key (the snapshot's own type),
//! SyncMap's striped counter ([`mapknee_maps::counters::Counters`]), the
//! entry's `Atomic` value pointer loaded with Acquire, and the value's
//! clone. Every figure runs over the same pseudo-random sequence of
//! present keys, and has the cost of a loop that only reads that sequence
//! subtracted.
//!
//! Each part's cost *inside a load* is the replica's load cut after the
//! part less the load cut before it, so the parts sum to the replica's
//! whole load, which is then checked against the real `SyncMap::load`.
//! Each part is also timed alone: alone, successive iterations are
//! independent and the CPU overlaps their cache misses; inside a load the
//! pin's fence (crossbeam's pin is a SeqCst fence on x86) and the pointer
//! chain snapshot → slot → entry → value make each load wait for its
//! misses one after another. Measured on the 2-vCPU development VM with
//! 64k keys, the parts alone summed to about a third of the load or less
//! (13 of 42 ns in one run, 34 of 190 ns in another while other work
//! shared the caches).

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::hint::black_box;
use std::sync::atomic::Ordering::Acquire;
use std::sync::Arc;

use crossbeam_epoch::Atomic;
use mapknee_maps::counters::Counters;
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

/// The parts, in the order a load runs them.
pub const PARTS: [&str; 7] = [
    "pin+unpin",
    "snapshot load",
    "hash",
    "probe",
    "counter",
    "entry load",
    "clone",
];

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
    /// Sum of the parts' `in_load_ns`: the replica's whole load.
    pub sum_ns: f64,
    /// `SyncMap::load` of a present key, baseline subtracted.
    pub whole: Estimate,
    /// The replica's load over the real one: the median of the ratios of
    /// every pair of their samples (baseline subtracted; the
    /// Hodges–Lehmann estimate, robust to the bursts of a shared machine).
    pub ratio: f64,
    /// 95 % interval of `ratio` (distribution-free, see
    /// `mapknee_analyze::stats::ratio_ci`); `None` when a sample was not
    /// above the baseline.
    #[serde(default)]
    pub ratio_ci: Option<[f64; 2]>,
    /// The replica's whole load (all parts, in one loop), with its
    /// interval.
    pub chained: Estimate,
    /// Sum of the parts timed alone, ns: what the parts would cost if a
    /// load's misses overlapped as independent operations' do.
    pub alone_sum_ns: f64,
}

/// One part.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Part {
    /// One of [`PARTS`].
    pub part: String,
    /// What was timed.
    pub what: String,
    /// What the part adds inside a load: the replica's load cut after this
    /// part less the load cut before it (medians; noise can make a tiny
    /// part slightly negative). These sum to `sum_ns`.
    pub in_load_ns: f64,
    /// The part timed alone, iterations independent (baseline subtracted):
    /// the CPU overlaps the cache misses of successive iterations, which
    /// the pin's fence inside a real load does not allow.
    pub alone: Estimate,
}

/// The entry a snapshot maps a key to (SyncMap's `Entry`: an epoch-managed
/// pointer to a boxed value).
struct Entry {
    p: Atomic<u64>,
}

/// The read snapshot: `{m, amended}`.
struct ReadOnly {
    m: Arc<HashMap<u64, Arc<Entry>, mapknee_maps::DefaultHashBuilder>>,
    amended: bool,
}

/// `V::clone`, as SyncMap's load calls it (generic, so the clone is the
/// trait's, as in the map).
fn clone_of<V: Clone>(v: &V) -> V {
    v.clone()
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

    let hasher = mapknee_maps::DefaultHashBuilder::default();
    let mut m = HashMap::with_hasher(hasher.clone());
    for k in 0..keys {
        m.insert(k, Arc::new(Entry { p: Atomic::new(k) }));
    }
    let read = Atomic::new(ReadOnly {
        m: Arc::new(m),
        amended: false,
    });
    let guard = crossbeam_epoch::pin();
    // SAFETY: `read` was just set to a valid `ReadOnly` and is never
    // replaced; it is freed at the end of this function, after every use.
    let snapshot = unsafe { read.load(Acquire, &guard).deref() };
    let entries: Vec<Arc<Entry>> = seq
        .iter()
        .filter_map(|k| snapshot.m.get(k).cloned())
        .collect();
    let counters: Counters<9> = Counters::new();

    let map: SyncMap<u64, u64> = SyncMap::new();
    for k in 0..keys {
        map.store(k, k);
    }
    // Every key read once: the misses promote dirty to the snapshot.
    for k in 0..keys {
        black_box(map.load(&k));
    }

    // Rounds, each timing every figure once with a share of the samples;
    // the samples are pooled per figure, so load from elsewhere on the
    // machine falls on all of them alike.
    let per_round = BenchConfig {
        samples: cfg.samples.div_ceil(ROUNDS),
        ..*cfg
    };
    let mut acc: Vec<Samples> = vec![Samples::default(); 2 * PARTS.len() + 2];
    let n = entries.len().max(1);
    let v = 42u64;
    // The replica's load cut after step `upto` (1..=7, PARTS order).
    let prefix = |i: u64, upto: usize| {
        let k = key(i);
        let g = crossbeam_epoch::pin();
        if upto == 1 {
            return;
        }
        // SAFETY: as for `snapshot` above; `g` is pinned.
        let r = unsafe { read.load(Acquire, &g).deref() };
        black_box(r.amended);
        if upto == 2 {
            return;
        }
        if upto == 3 {
            black_box(hasher.hash_one(k));
            return;
        }
        let found = r.m.get(&k);
        black_box(found.is_some());
        if upto == 4 {
            return;
        }
        if found.is_some() || !r.amended {
            counters.incr(0);
        }
        if upto == 5 {
            return;
        }
        // SAFETY: entries' values are never replaced; `g` is pinned.
        let val = found.and_then(|e| unsafe { e.p.load(Acquire, &g).as_ref() });
        if upto == 6 {
            black_box(val.is_some());
            return;
        }
        black_box(val.cloned());
    };
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
        // `upto` is a constant in each closure: the cut is compiled in.
        add(bench::one_samples(c, |i| prefix(i, 1)));
        add(bench::one_samples(c, |i| prefix(i, 2)));
        add(bench::one_samples(c, |i| prefix(i, 3)));
        add(bench::one_samples(c, |i| prefix(i, 4)));
        add(bench::one_samples(c, |i| prefix(i, 5)));
        add(bench::one_samples(c, |i| prefix(i, 6)));
        add(bench::one_samples(c, |i| prefix(i, 7)));
        // Each part alone, iterations independent of each other.
        add(bench::one_samples(c, |i| {
            black_box(key(i));
            drop(black_box(crossbeam_epoch::pin()));
        }));
        add(bench::one_samples(c, |i| {
            black_box(key(i));
            // SAFETY: as for `snapshot` above; `guard` is pinned.
            let r = unsafe { read.load(Acquire, &guard).deref() };
            black_box(r.amended);
        }));
        add(bench::one_samples(c, |i| {
            black_box(hasher.hash_one(key(i)));
        }));
        add(bench::one_samples(c, |i| {
            black_box(snapshot.m.get(&key(i)).is_some());
        }));
        add(bench::one_samples(c, |i| {
            black_box(key(i));
            counters.incr(0);
        }));
        add(bench::one_samples(c, |i| {
            black_box(key(i));
            let e = &entries[i as usize % n];
            // SAFETY: the entry's value was set at construction and is
            // never replaced; `guard` is pinned.
            black_box(unsafe { e.p.load(Acquire, &guard).as_ref() }.copied());
        }));
        add(bench::one_samples(c, |i| {
            black_box(key(i));
            black_box(clone_of(black_box(&v)));
        }));
        add(bench::one_samples(c, |i| {
            black_box(map.load(&key(i)));
        }));
    }
    let baseline = acc[0].estimate();
    let base = baseline.median_ns;
    let prefixes: Vec<Estimate> = (1..=PARTS.len()).map(|i| acc[i].estimate()).collect();
    let alone_hash = acc[PARTS.len() + 3].estimate().minus(base).median_ns;
    let what = [
        "crossbeam_epoch::pin() and dropping the guard",
        "Atomic<ReadOnly>::load(Acquire) and reading `amended`",
        "foldhash of the u64 key",
        "HashMap<u64, Arc<Entry>>::get less the hash",
        "Counters::incr (SyncMap's snapshot-hit counter)",
        "the Arc'd entry's Atomic<value>::load(Acquire) (a pointer; the value is not read yet)",
        "V::clone: reads the boxed value (a cache miss once the map outgrows the cache)",
    ];
    let parts: Vec<Part> = PARTS
        .iter()
        .zip(what)
        .enumerate()
        .map(|(i, (part, what))| {
            // The hash prefix hashes the key alone; the probe prefix calls
            // `get` (which hashes for itself) in its place, so probe = get
            // less the hash.
            let before = if i == 0 {
                base
            } else {
                prefixes[i - 1].median_ns
            };
            let mut alone = acc[PARTS.len() + 1 + i].estimate().minus(base);
            if *part == "probe" {
                alone = alone.minus(alone_hash);
            }
            Part {
                part: (*part).into(),
                what: what.into(),
                in_load_ns: prefixes[i].median_ns - before,
                alone,
            }
        })
        .collect();
    let chained = prefixes[PARTS.len() - 1].minus(base);
    let whole = acc[2 * PARTS.len() + 1].estimate().minus(base);
    let net = |s: &Samples| -> Vec<f64> { s.ns.iter().map(|x| x - base).collect() };
    let ratio_ci = mapknee_analyze::stats::ratio_ci(
        &net(&acc[2 * PARTS.len() + 1]),
        &net(&acc[PARTS.len()]),
        0.95,
    )
    .map(|c| [c.lo, c.hi]);
    drop(guard);
    // SAFETY: no reference from this function's guard outlives it; `read`
    // is owned here and nothing else can reach it.
    unsafe {
        drop(read.into_owned());
    }
    drop(entries);

    let sum_ns: f64 = parts.iter().map(|p| p.in_load_ns).sum();
    let alone_sum_ns: f64 = parts.iter().map(|p| p.alone.median_ns).sum();
    let (real, replica) = (net(&acc[2 * PARTS.len() + 1]), net(&acc[PARTS.len()]));
    let pairwise: Vec<f64> = real
        .iter()
        .flat_map(|r| replica.iter().map(move |c| c / r))
        .filter(|x| x.is_finite())
        .collect();
    let ratio = mapknee_analyze::stats::median(&pairwise);
    Breakdown {
        keys,
        baseline,
        parts,
        sum_ns,
        whole,
        ratio,
        ratio_ci,
        chained,
        alone_sum_ns,
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
        // The parts telescope: their sum is the replica's whole load.
        assert!((b.sum_ns - b.chained.median_ns).abs() < 1e-6, "{b:?}");
        assert!(b.parts.iter().all(|p| p.alone.median_ns >= 0.0));
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
