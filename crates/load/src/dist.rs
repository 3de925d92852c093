//! Key distributions over a keyspace of `keys` keys (`0..keys` as u64).
//!
//! - `uniform`: every key equally likely;
//! - `zipf:<theta>`: key `k` (rank `k + 1`) with probability ∝ 1/(k+1)^theta,
//!   drawn by rejection-inversion (Hörmann & Derflinger 1996), O(1) per draw
//!   for any theta > 0 and any keyspace, with no table;
//! - `hotset:<frac>:<prob>`: with probability `prob` a key among the first
//!   `frac · keys` (the hot set), otherwise one among the rest;
//! - `churn`: an endless stream of new keys, sync.Map's worst case: every
//!   write stores a key never seen before (beyond the keyspace, disjoint per
//!   thread); reads and removes pick among that thread's most recent
//!   `keys / threads` new keys (uniform over the keyspace until it has any).
//! - `order-cache[:<miss>]` (the default): a bounded cache of live orders
//!   whose state does not drift with the offered rate. `keys · prefill`
//!   orders are live, split evenly among the threads; each thread's live
//!   orders are a sliding window of its own sequence of order ids. A store
//!   of a new order (`insert`, or `get_or_insert` on a miss) takes the next
//!   id and evicts the thread's oldest live order in the same transaction,
//!   so the population stays constant and new keys arrive at exactly the
//!   mix's write share whatever the rate. `get` reads one of the thread's
//!   live orders, except for a share `miss` (default 0.05) that asks for
//!   an order never stored (a cache miss); `get_or_insert` loads a live
//!   order too, or with probability `miss` stores a new one (Go's
//!   `LoadOrStore` on a cache miss). `remove` drops the thread's oldest
//!   live order. The map itself is shared: every thread's orders hash
//!   across the same table, locks and snapshot.

use std::fmt;
use std::str::FromStr;

use crate::{FastRng, Op, ParseError};

/// A key distribution.
///
/// ```
/// use mapknee_load::Dist;
/// assert_eq!("zipf:0.99".parse::<Dist>().unwrap(), Dist::Zipf { theta: 0.99 });
/// assert_eq!("hotset:0.1:0.9".parse::<Dist>().unwrap().to_string(), "hotset:0.1:0.9");
/// assert!("zipf:-1".parse::<Dist>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Dist {
    /// Every key equally likely.
    Uniform,
    /// Zipf with exponent `theta` (> 0).
    Zipf {
        /// The skew: 0.99 is YCSB's default.
        theta: f64,
    },
    /// A hot set of `frac · keys` keys drawn with probability `prob`.
    HotSet {
        /// The hot set's share of the keyspace, in (0, 1].
        frac: f64,
        /// The probability of drawing from the hot set, in [0, 1].
        prob: f64,
    },
    /// An endless stream of new keys.
    Churn,
    /// A bounded order cache with a steady population (see the module docs).
    OrderCache {
        /// Share of reads that ask for an order never stored, in [0, 1].
        miss: f64,
    },
}

/// The `order-cache` miss ratio when none is given.
pub const DEFAULT_MISS: f64 = 0.05;

/// Distribution names and their syntax, for `mapknee list`.
pub const DISTRIBUTIONS: [(&str, &str); 5] = [
    (
        "order-cache[:<miss>]",
        "the default: a bounded order cache, new orders at the write share evict the oldest, reads miss with probability miss (default 0.05)",
    ),
    ("uniform", "every key equally likely"),
    (
        "zipf:<theta>",
        "key k with probability ∝ 1/(k+1)^theta (e.g. zipf:0.99)",
    ),
    (
        "hotset:<frac>:<prob>",
        "a hot set of frac·keys keys drawn with probability prob (e.g. hotset:0.01:0.9)",
    ),
    (
        "churn",
        "every write a never-seen key, reads/removes among recent ones (sync.Map's worst case)",
    ),
];

impl fmt::Display for Dist {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Dist::Uniform => f.write_str("uniform"),
            Dist::Zipf { theta } => write!(f, "zipf:{theta}"),
            Dist::HotSet { frac, prob } => write!(f, "hotset:{frac}:{prob}"),
            Dist::Churn => f.write_str("churn"),
            Dist::OrderCache { miss } => write!(f, "order-cache:{miss}"),
        }
    }
}

impl FromStr for Dist {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let parts: Vec<&str> = s.split(':').collect();
        let num = |p: &str, what: &str| -> Result<f64, ParseError> {
            p.parse::<f64>()
                .ok()
                .filter(|x| x.is_finite())
                .ok_or_else(|| ParseError(format!("bad {what} '{p}' in distribution '{s}'")))
        };
        match parts.as_slice() {
            ["uniform"] => Ok(Dist::Uniform),
            ["churn"] => Ok(Dist::Churn),
            ["order-cache"] => Ok(Dist::OrderCache { miss: DEFAULT_MISS }),
            ["order-cache", miss] => {
                let miss = num(miss, "order-cache miss ratio")?;
                if !(0.0..=1.0).contains(&miss) {
                    return Err(ParseError(format!(
                        "order-cache miss ratio must be in [0, 1], got {miss}"
                    )));
                }
                Ok(Dist::OrderCache { miss })
            }
            ["zipf", theta] => {
                let theta = num(theta, "zipf theta")?;
                if theta <= 0.0 || theta > 10.0 {
                    return Err(ParseError(format!(
                        "zipf theta must be in (0, 10], got {theta}"
                    )));
                }
                Ok(Dist::Zipf { theta })
            }
            ["hotset", frac, prob] => {
                let frac = num(frac, "hot-set fraction")?;
                let prob = num(prob, "hot-set probability")?;
                if !(frac > 0.0 && frac <= 1.0 && (0.0..=1.0).contains(&prob)) {
                    return Err(ParseError(format!(
                        "hotset:<frac>:<prob> needs 0 < frac <= 1 and 0 <= prob <= 1, got '{s}'"
                    )));
                }
                Ok(Dist::HotSet { frac, prob })
            }
            _ => Err(ParseError(format!(
                "unknown distribution '{s}' (expected order-cache[:<miss>], uniform, zipf:<theta>, hotset:<frac>:<prob> or churn)"
            ))),
        }
    }
}

/// Rejection-inversion sampling of Zipf ranks `1..=n` with exponent `s`
/// (Hörmann & Derflinger, "Rejection-inversion to generate variates from
/// monotone discrete distributions", 1996; the formulation of Apache
/// Commons RNG's `RejectionInversionZipfSampler`). Expected draws per
/// sample are close to 1.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Zipf {
    n: f64,
    s: f64,
    h_integral_x1: f64,
    h_integral_n: f64,
    s_cut: f64,
}

impl Zipf {
    pub(crate) fn new(n: u64, s: f64) -> Self {
        let mut z = Zipf {
            n: n as f64,
            s,
            h_integral_x1: 0.0,
            h_integral_n: 0.0,
            s_cut: 0.0,
        };
        z.h_integral_x1 = z.h_integral(1.5) - 1.0;
        z.h_integral_n = z.h_integral(z.n + 0.5);
        z.s_cut = 2.0 - z.h_integral_inv(z.h_integral(2.5) - z.h(2.0));
        z
    }

    /// A rank in `1..=n`.
    #[inline]
    pub(crate) fn sample(&self, rng: &mut FastRng) -> u64 {
        loop {
            let u = self.h_integral_n + rng.next_f64() * (self.h_integral_x1 - self.h_integral_n);
            let x = self.h_integral_inv(u);
            let k = (x + 0.5).floor().clamp(1.0, self.n);
            if k - x <= self.s_cut || u >= self.h_integral(k + 0.5) - self.h(k) {
                return k as u64;
            }
        }
    }

    fn h(&self, x: f64) -> f64 {
        (-self.s * x.ln()).exp()
    }

    fn h_integral(&self, x: f64) -> f64 {
        let log_x = x.ln();
        helper2((1.0 - self.s) * log_x) * log_x
    }

    fn h_integral_inv(&self, x: f64) -> f64 {
        let t = (x * (1.0 - self.s)).max(-1.0);
        (helper1(t) * x).exp()
    }
}

/// `ln(1 + x) / x`, accurate near 0.
fn helper1(x: f64) -> f64 {
    if x.abs() > 1e-8 {
        x.ln_1p() / x
    } else {
        1.0 - x * (0.5 - x * (1.0 / 3.0 - 0.25 * x))
    }
}

/// `(e^x − 1) / x`, accurate near 0.
fn helper2(x: f64) -> f64 {
    if x.abs() > 1e-8 {
        x.exp_m1() / x
    } else {
        1.0 + x * 0.5 * (1.0 + x * (1.0 / 3.0) * (1.0 + 0.25 * x))
    }
}

/// Per-thread key source for one distribution.
#[derive(Debug, Clone)]
pub(crate) struct KeySampler {
    keys: u64,
    kind: SamplerKind,
}

#[derive(Debug, Clone)]
enum SamplerKind {
    Uniform,
    Zipf(Zipf),
    HotSet {
        hot: u64,
        /// `prob` on a 2^32 scale.
        cut: u64,
    },
    Churn {
        /// The first key of this thread's stream (beyond the keyspace).
        first: u64,
        /// Distance between this thread's consecutive new keys (= threads).
        stride: u64,
        /// New keys written so far.
        written: u64,
        /// How many recent new keys reads and removes pick among.
        window: u64,
    },
    OrderCache {
        /// This thread's index and the thread count: order `s` of thread
        /// `t` is key `s · threads + t`.
        thread: u64,
        threads: u64,
        /// The thread's live orders are its sequence numbers `lo..hi`.
        lo: u64,
        hi: u64,
        /// Live orders per thread.
        live: u64,
        /// The miss ratio on a 2^32 scale.
        miss: u64,
    },
}

/// Keys with this bit set are never stored by `order-cache`: its misses.
const NEVER_STORED: u64 = 1 << 63;

/// Live orders per thread under `order-cache`: the prefill split evenly,
/// at least one each.
pub(crate) fn orders_per_thread(prefill_keys: u64, threads: usize) -> u64 {
    (prefill_keys / threads.max(1) as u64).max(1)
}

impl KeySampler {
    /// `prefill_keys` matters only to `order-cache` (its live population).
    pub(crate) fn new(
        dist: Dist,
        keys: u64,
        prefill_keys: u64,
        thread: usize,
        threads: usize,
    ) -> Self {
        let kind = match dist {
            Dist::Uniform => SamplerKind::Uniform,
            Dist::Zipf { theta } => SamplerKind::Zipf(Zipf::new(keys, theta)),
            Dist::HotSet { frac, prob } => SamplerKind::HotSet {
                hot: ((keys as f64 * frac).round() as u64).clamp(1, keys),
                cut: (prob * (1u64 << 32) as f64) as u64,
            },
            Dist::Churn => SamplerKind::Churn {
                first: keys + thread as u64,
                stride: threads.max(1) as u64,
                written: 0,
                window: (keys / threads.max(1) as u64).max(1),
            },
            Dist::OrderCache { miss } => {
                let live = orders_per_thread(prefill_keys, threads);
                SamplerKind::OrderCache {
                    thread: thread as u64,
                    threads: threads.max(1) as u64,
                    lo: 0,
                    hi: live,
                    live,
                    miss: (miss * (1u64 << 32) as f64) as u64,
                }
            }
        };
        KeySampler { keys, kind }
    }

    /// Plans `op` as map operations appended to `out`: one `(op, key)`
    /// for every distribution but `order-cache`, whose store of a new order
    /// also evicts the thread's oldest one (a second operation).
    #[inline]
    pub(crate) fn plan(&mut self, rng: &mut FastRng, op: Op, out: &mut Vec<(Op, u64)>) {
        let SamplerKind::OrderCache {
            thread,
            threads,
            lo,
            hi,
            live,
            miss,
        } = &mut self.kind
        else {
            let write = matches!(op, Op::Insert | Op::GetOrInsert);
            out.push((op, self.key(rng, write)));
            return;
        };
        let (t, n) = (*thread, *threads);
        let missed = rng.next_u64() >> 32 < *miss;
        match op {
            Op::Get | Op::GetOrInsert if !missed => {
                // A hit: one of this thread's own live orders. Only this
                // thread stores and evicts them, so it is certainly present
                // and the hit ratio is exactly 1 − miss. (Other threads'
                // windows drift from this one as a random walk of their
                // store counts, so reading them would add misses that grow
                // with the step's length, and a `get_or_insert` of an
                // order already evicted would store a key no window evicts.)
                let s = *lo + rng.below(*hi - *lo);
                out.push((op, s * n + t));
            }
            Op::Get => out.push((op, NEVER_STORED | rng.next_u64())),
            Op::Insert | Op::GetOrInsert => {
                out.push((op, *hi * n + t));
                *hi += 1;
                if *hi - *lo > *live {
                    out.push((Op::Remove, *lo * n + t));
                    *lo += 1;
                }
            }
            Op::Remove => {
                if *hi > *lo + 1 {
                    out.push((op, *lo * n + t));
                    *lo += 1;
                } else {
                    // Keep one live order so reads always have a target.
                    out.push((op, NEVER_STORED | rng.next_u64()));
                }
            }
        }
    }

    /// The key for an operation; `write` says whether it stores (insert,
    /// get_or_insert), which only `churn` distinguishes.
    #[inline]
    pub(crate) fn key(&mut self, rng: &mut FastRng, write: bool) -> u64 {
        match &mut self.kind {
            SamplerKind::Uniform => rng.below(self.keys),
            SamplerKind::Zipf(z) => z.sample(rng) - 1,
            SamplerKind::HotSet { hot, cut } => {
                if rng.next_u64() >> 32 < *cut || *hot == self.keys {
                    rng.below(*hot)
                } else {
                    *hot + rng.below(self.keys - *hot)
                }
            }
            SamplerKind::Churn {
                first,
                stride,
                written,
                window,
            } => {
                if write {
                    let key = *first + *written * *stride;
                    *written += 1;
                    key
                } else if *written == 0 {
                    rng.below(self.keys)
                } else {
                    let back = 1 + rng.below((*written).min(*window));
                    *first + (*written - back) * *stride
                }
            }
            // Only reached through `plan`'s read path's shape: a live key.
            SamplerKind::OrderCache {
                thread,
                threads,
                lo,
                hi,
                ..
            } => (*lo + rng.below(*hi - *lo)) * *threads + *thread,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distributions_parse_and_print_back() {
        for s in [
            "uniform",
            "churn",
            "order-cache:0.05",
            "order-cache:0",
            "zipf:0.99",
            "zipf:1.2",
            "hotset:0.1:0.9",
        ] {
            assert_eq!(s.parse::<Dist>().unwrap().to_string(), s);
        }
        for bad in [
            "zipf",
            "zipf:0",
            "zipf:abc",
            "zipf:nan",
            "hotset:0:0.5",
            "hotset:0.1:1.5",
            "hotset:0.1",
            "order-cache:1.5",
            "order-cache:x",
            "gauss",
        ] {
            assert!(bad.parse::<Dist>().is_err(), "{bad} parsed");
        }
    }

    #[test]
    fn uniform_covers_the_keyspace_evenly() {
        let mut s = KeySampler::new(Dist::Uniform, 4, 0, 0, 1);
        let mut rng = FastRng::new(1);
        let mut counts = [0u32; 4];
        for _ in 0..40_000 {
            counts[s.key(&mut rng, false) as usize] += 1;
        }
        assert!(
            counts.iter().all(|&c| (9_500..10_500).contains(&c)),
            "{counts:?}"
        );
    }

    #[test]
    fn zipf_matches_its_probabilities_coarsely() {
        // n = 100, theta = 1: P(rank 1) = 1 / H_100 ≈ 0.1928, P(rank 2) ≈ 0.0964.
        let mut s = KeySampler::new(Dist::Zipf { theta: 1.0 }, 100, 0, 0, 1);
        let mut rng = FastRng::new(9);
        let n = 200_000;
        let mut counts = [0u32; 100];
        for _ in 0..n {
            counts[s.key(&mut rng, false) as usize] += 1;
        }
        let p0 = f64::from(counts[0]) / n as f64;
        let p1 = f64::from(counts[1]) / n as f64;
        assert!((p0 - 0.1928).abs() < 0.01, "{p0}");
        assert!((p1 - 0.0964).abs() < 0.01, "{p1}");
        assert!(counts[99] > 0);
    }

    #[test]
    fn zipf_stays_in_range_for_steep_and_flat_skews() {
        let mut rng = FastRng::new(4);
        for theta in [0.01, 0.5, 0.99, 2.0, 5.0] {
            let mut s = KeySampler::new(Dist::Zipf { theta }, 1000, 0, 0, 1);
            for _ in 0..10_000 {
                assert!(s.key(&mut rng, false) < 1000);
            }
        }
    }

    #[test]
    fn hotset_draws_the_hot_share() {
        let mut s = KeySampler::new(
            Dist::HotSet {
                frac: 0.1,
                prob: 0.9,
            },
            1000,
            0,
            0,
            1,
        );
        let mut rng = FastRng::new(5);
        let n = 100_000;
        let hot = (0..n).filter(|_| s.key(&mut rng, false) < 100).count();
        let share = hot as f64 / n as f64;
        assert!((share - 0.9).abs() < 0.01, "{share}");
    }

    #[test]
    fn churn_writes_fresh_disjoint_keys_and_reads_recent_ones() {
        let mut rng = FastRng::new(6);
        let mut a = KeySampler::new(Dist::Churn, 100, 0, 0, 2);
        let mut b = KeySampler::new(Dist::Churn, 100, 0, 1, 2);
        let wa: Vec<u64> = (0..5).map(|_| a.key(&mut rng, true)).collect();
        let wb: Vec<u64> = (0..5).map(|_| b.key(&mut rng, true)).collect();
        assert_eq!(wa, [100, 102, 104, 106, 108]);
        assert_eq!(wb, [101, 103, 105, 107, 109]);
        for _ in 0..100 {
            assert!(wa.contains(&a.key(&mut rng, false)));
        }
    }

    /// Two threads in lockstep, 10 live orders each: the population never
    /// changes, every store evicts the oldest, reads miss at the set ratio.
    #[test]
    fn order_cache_keeps_a_steady_population_and_its_miss_ratio() {
        use std::collections::HashSet;
        let d = Dist::OrderCache { miss: 0.1 };
        let mut rng = FastRng::new(8);
        let mut samplers: Vec<KeySampler> =
            (0..2).map(|t| KeySampler::new(d, 100, 20, t, 2)).collect();
        let mut live: HashSet<u64> = (0..20).collect();
        let (mut reads, mut hits) = (0u32, 0u32);
        let mut out = Vec::new();
        for i in 0..40_000 {
            let op = [Op::Get, Op::Insert, Op::GetOrInsert, Op::Remove][i % 3];
            out.clear();
            samplers[i % 2].plan(&mut rng, op, &mut out);
            for &(op, key) in &out {
                match op {
                    Op::Get => {
                        reads += 1;
                        hits += u32::from(live.contains(&key));
                    }
                    Op::Insert => assert!(live.insert(key), "a new order is new"),
                    Op::GetOrInsert if !live.contains(&key) => {
                        live.insert(key);
                    }
                    Op::GetOrInsert => {}
                    Op::Remove => assert!(live.remove(&key), "the oldest order was live"),
                }
            }
            assert_eq!(live.len(), 20, "population after op {i}");
        }
        let hit = f64::from(hits) / f64::from(reads);
        assert!((hit - 0.9).abs() < 0.02, "hit ratio {hit}");
    }
}
