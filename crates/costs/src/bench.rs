//! A small sampling harness in criterion's manner, for a CLI report: a
//! warm-up that also sizes the batches, many timed samples of one batch
//! each, the median with a distribution-free interval, and the outliers
//! counted by Tukey's fences.
//!
//! Two-thread benchmarks run the two operations on two pinned threads in
//! lock-step batches: both start a batch after a spin barrier, each times
//! its own, and a sample is the mean of the two per-operation times.

use std::hint::spin_loop;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::*};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// How long and how often to sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BenchConfig {
    /// Timed samples per benchmark (≥ 5).
    pub samples: usize,
    /// Target length of one sample's batch.
    pub sample_time: Duration,
    /// Warm-up before the first sample (the batch size is found during it).
    pub warmup: Duration,
}

impl Default for BenchConfig {
    fn default() -> Self {
        // 40 × 2 ms + 30 ms ≈ 0.11 s per benchmark: the ~90 of `atomics`
        // take ~10 s. The clock is read twice per 2 ms sample (~40 ns
        // against 2,000,000): its cost vanishes.
        BenchConfig {
            samples: 40,
            sample_time: Duration::from_millis(2),
            warmup: Duration::from_millis(30),
        }
    }
}

/// A benchmark's figure: ns per operation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// Median over the samples.
    pub median_ns: f64,
    /// Lower end of the median's interval.
    pub lo_ns: f64,
    /// Upper end.
    pub hi_ns: f64,
    /// The interval's actual coverage (≥ 0.95 with ≥ 8 samples).
    pub coverage: f64,
    /// Samples taken.
    pub samples: usize,
    /// Operations per sample (per thread).
    pub iters: u64,
    /// Samples outside Tukey's inner fences (1.5 IQR) but inside the outer.
    pub outliers_mild: usize,
    /// Samples outside the outer fences (3 IQR).
    pub outliers_severe: usize,
}

impl Estimate {
    /// The estimate of a set of per-operation samples.
    ///
    /// ```
    /// use mapknee_costs::bench::Estimate;
    /// let mut xs = vec![10.0; 19];
    /// xs.push(100.0);
    /// let e = Estimate::of(&xs, 1000);
    /// assert_eq!(e.median_ns, 10.0);
    /// assert_eq!((e.outliers_mild, e.outliers_severe), (0, 1));
    /// ```
    pub fn of(ns: &[f64], iters: u64) -> Estimate {
        let mut v = ns.to_vec();
        v.sort_by(f64::total_cmp);
        let ci = mapknee_analyze::stats::median_ci(&v, 0.95);
        let q = |p: f64| {
            if v.is_empty() {
                return f64::NAN;
            }
            let i = p * (v.len() - 1) as f64;
            let (lo, hi) = (i.floor() as usize, i.ceil() as usize);
            v[lo] + (v[hi] - v[lo]) * (i - lo as f64)
        };
        let (q1, q3) = (q(0.25), q(0.75));
        let iqr = q3 - q1;
        let severe = |x: f64| x < q1 - 3.0 * iqr || x > q3 + 3.0 * iqr;
        let mild = |x: f64| !severe(x) && (x < q1 - 1.5 * iqr || x > q3 + 1.5 * iqr);
        Estimate {
            median_ns: mapknee_analyze::stats::median(&v),
            lo_ns: ci.map_or(f64::NAN, |c| c.lo),
            hi_ns: ci.map_or(f64::NAN, |c| c.hi),
            coverage: ci.map_or(0.0, |c| c.coverage),
            samples: v.len(),
            iters,
            outliers_mild: v.iter().filter(|&&x| mild(x)).count(),
            outliers_severe: v.iter().filter(|&&x| severe(x)).count(),
        }
    }

    /// This estimate less a constant cost (e.g. the loop's own), floored
    /// at zero.
    pub fn minus(&self, ns: f64) -> Estimate {
        let f = |x: f64| (x - ns).max(0.0);
        Estimate {
            median_ns: f(self.median_ns),
            lo_ns: f(self.lo_ns),
            hi_ns: f(self.hi_ns),
            ..*self
        }
    }
}

/// Runs `op(i)` for `i in 0..iters` and returns the time it took.
#[inline(never)]
fn batch(op: &mut impl FnMut(u64), iters: u64) -> Duration {
    let t = Instant::now();
    for i in 0..iters {
        op(i);
    }
    t.elapsed()
}

/// A benchmark's raw samples: ns per operation, one per batch.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Samples {
    /// ns per operation of each batch.
    pub ns: Vec<f64>,
    /// Operations per batch (per thread), the last used.
    pub iters: u64,
}

impl Samples {
    /// The median and its interval.
    pub fn estimate(&self) -> Estimate {
        Estimate::of(&self.ns, self.iters)
    }

    /// Adds another round's samples.
    pub fn pool(&mut self, more: Samples) {
        self.ns.extend(more.ns);
        self.iters = more.iters;
    }
}

/// Most operations in one batch: a loop the compiler emptied would
/// otherwise double forever.
const MAX_ITERS: u64 = 1 << 36;

/// One thread: warm up (doubling the batch until it lasts
/// `sample_time`), then time `samples` batches.
pub fn one(cfg: &BenchConfig, op: impl FnMut(u64)) -> Estimate {
    one_samples(cfg, op).estimate()
}

/// [`one`]'s raw samples.
pub fn one_samples(cfg: &BenchConfig, mut op: impl FnMut(u64)) -> Samples {
    let start = Instant::now();
    let mut iters = 16u64;
    loop {
        let t = batch(&mut op, iters);
        if (t >= cfg.sample_time || iters >= MAX_ITERS) && start.elapsed() >= cfg.warmup {
            break;
        }
        if t < cfg.sample_time && iters < MAX_ITERS {
            iters *= 2;
        }
    }
    let ns: Vec<f64> = (0..cfg.samples)
        .map(|_| batch(&mut op, iters).as_nanos() as f64 / iters as f64)
        .collect();
    Samples { ns, iters }
}

/// A barrier for two threads that spins (yielding now and then, as the
/// machine may be shared): a sleeping barrier's wake-up would take a large
/// share of a 2 ms batch.
#[derive(Debug, Default)]
struct SpinBarrier {
    arrived: AtomicUsize,
    generation: AtomicUsize,
}

impl SpinBarrier {
    fn wait(&self) {
        let generation = self.generation.load(Acquire);
        if self.arrived.fetch_add(1, AcqRel) == 1 {
            self.arrived.store(0, Relaxed);
            self.generation.fetch_add(1, Release);
        } else {
            let mut spins = 0u32;
            while self.generation.load(Acquire) == generation {
                spins += 1;
                if spins % 1024 == 0 {
                    std::thread::yield_now();
                } else {
                    spin_loop();
                }
            }
        }
    }
}

/// Two threads, pinned to the first two cores: `a` on one, `b` on the
/// other, in lock-step batches. `None` with fewer than two cores.
pub fn two(
    cfg: &BenchConfig,
    a: impl FnMut(u64) + Send,
    b: impl FnMut(u64) + Send,
) -> Option<Estimate> {
    two_samples(cfg, a, b).map(|s| s.estimate())
}

/// [`two`]'s raw samples.
pub fn two_samples(
    cfg: &BenchConfig,
    mut a: impl FnMut(u64) + Send,
    mut b: impl FnMut(u64) + Send,
) -> Option<Samples> {
    let cores = core_affinity::get_core_ids().unwrap_or_default();
    if cores.len() < 2 {
        return None;
    }
    let (core_a, core_b) = (cores[0], cores[1]);
    let barrier = SpinBarrier::default();
    // The batch size of the coming round; 0 ends the benchmark.
    let iters = AtomicU64::new(0);
    let elapsed_b = AtomicU64::new(0);
    let (ns, n) = std::thread::scope(|s| {
        s.spawn(|| {
            core_affinity::set_for_current(core_b);
            loop {
                barrier.wait();
                let n = iters.load(Acquire);
                if n == 0 {
                    break;
                }
                let t = batch(&mut b, n);
                elapsed_b.store(t.as_nanos() as u64, Release);
                barrier.wait();
            }
        });
        // The leader has a thread of its own, so the caller's affinity is
        // left alone. It decides each round's batch size before the
        // round's first barrier, which publishes it.
        let leader = s.spawn(|| {
            core_affinity::set_for_current(core_a);
            let start = Instant::now();
            let mut n = 16u64;
            let mut warming = true;
            let mut ns = Vec::with_capacity(cfg.samples);
            while ns.len() < cfg.samples {
                iters.store(n, Release);
                barrier.wait();
                let ea = batch(&mut a, n).as_nanos() as u64;
                barrier.wait();
                let eb = elapsed_b.load(Acquire);
                if warming {
                    let longest = Duration::from_nanos(ea.max(eb));
                    let long = longest >= cfg.sample_time || n >= MAX_ITERS;
                    if long && start.elapsed() >= cfg.warmup {
                        warming = false;
                    } else if !long {
                        n *= 2;
                    }
                } else {
                    ns.push((ea + eb) as f64 / 2.0 / n as f64);
                }
            }
            iters.store(0, Release);
            barrier.wait();
            (ns, n)
        });
        leader.join().unwrap_or_default()
    });
    Some(Samples { ns, iters: n })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outliers_are_counted_by_the_fences() {
        let _serial = crate::testutil::serial();
        // Quartiles 3.5 and 8.5 (IQR 5): upper fences 16 and 23.5.
        let xs = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 20.0, 40.0];
        let e = Estimate::of(&xs, 1);
        assert_eq!((e.outliers_mild, e.outliers_severe), (1, 1), "{e:?}");
        assert!(e.lo_ns <= e.median_ns && e.median_ns <= e.hi_ns);
    }

    #[test]
    fn one_runs_every_sample_with_the_same_batch() {
        let _serial = crate::testutil::serial();
        let cfg = BenchConfig {
            samples: 7,
            sample_time: Duration::from_micros(50),
            warmup: Duration::ZERO,
        };
        let mut calls = 0u64;
        let e = one(&cfg, |_| calls += 1);
        assert_eq!(e.samples, 7);
        // Warm-up batches doubled from 16, then 7 samples of `iters`.
        assert!(calls >= 7 * e.iters && e.iters >= 16);
        assert_eq!(e.iters.count_ones(), 1, "a doubling of 16");
    }

    #[test]
    fn two_gives_both_threads_the_same_batches() {
        let _serial = crate::testutil::serial();
        let cfg = BenchConfig {
            samples: 5,
            sample_time: Duration::from_micros(50),
            warmup: Duration::ZERO,
        };
        let (ca, cb) = (AtomicU64::new(0), AtomicU64::new(0));
        let e = two(
            &cfg,
            |_| {
                ca.fetch_add(1, Relaxed);
            },
            |_| {
                cb.fetch_add(1, Relaxed);
            },
        );
        match e {
            Some(e) => {
                assert_eq!(e.samples, 5);
                assert_eq!(ca.load(Relaxed), cb.load(Relaxed));
            }
            // One core: nothing to compare.
            None => assert!(core_affinity::get_core_ids().unwrap_or_default().len() < 2),
        }
    }
}
