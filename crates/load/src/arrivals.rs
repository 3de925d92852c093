//! Arrival schedules for the open loop: when each transaction is *meant*
//! to start, independent of when the previous one finished (that
//! independence is what makes coordinated-omission correction possible).

use std::fmt;
use std::str::FromStr;

use crate::{FastRng, ParseError};

/// How intended start times are spaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Arrivals {
    /// Evenly spaced at `threads / rate` per thread, threads staggered so
    /// the merged stream is evenly spaced too (wrk2's pacing).
    #[default]
    Even,
    /// A Poisson process per thread (exponential gaps, same mean).
    Poisson,
}

impl fmt::Display for Arrivals {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Arrivals::Even => "even",
            Arrivals::Poisson => "poisson",
        })
    }
}

impl FromStr for Arrivals {
    type Err = ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "even" => Ok(Arrivals::Even),
            "poisson" => Ok(Arrivals::Poisson),
            _ => Err(ParseError(format!(
                "unknown arrivals '{s}' (expected even or poisson)"
            ))),
        }
    }
}

/// 1.0 in the schedule's fixed point.
const FP_ONE: u128 = 1 << 32;

/// One thread's intended start times, as ns offsets from the step's start.
///
/// ```
/// use mapknee_load::{Arrivals, Schedule};
/// // 1,000 txn/s over 2 threads: each thread every 2 ms, thread 1 offset by 1 ms.
/// let mut s = Schedule::new(Arrivals::Even, 1000.0, 1, 2, 0);
/// assert_eq!(s.next_offset(), 1_000_000);
/// assert_eq!(s.next_offset(), 3_000_000);
/// ```
#[derive(Debug, Clone)]
pub struct Schedule {
    kind: Arrivals,
    /// Mean gap between this thread's arrivals, in ns.
    gap_ns: f64,
    /// Even spacing: the next arrival in ns as 96.32 fixed point (plus ½
    /// so the shift rounds). Adding the gap as an integer is exact up to
    /// 2^-33 ns per arrival — no drift in practice — and cheaper than a
    /// float multiply per transaction.
    next_fp: u128,
    /// The gap in 32.32 fixed point.
    gap_fp: u128,
    /// Poisson: the time of the last arrival.
    t_ns: f64,
    rng: FastRng,
}

impl Schedule {
    /// The schedule for thread `thread` of `threads` sharing `rate` txn/s.
    /// `rate` must be positive.
    pub fn new(kind: Arrivals, rate: f64, thread: usize, threads: usize, seed: u64) -> Self {
        let gap_ns = threads as f64 * 1e9 / rate;
        let phase_ns = match kind {
            Arrivals::Even => gap_ns * thread as f64 / threads as f64,
            Arrivals::Poisson => 0.0,
        };
        let fp = |ns: f64| (ns * FP_ONE as f64).round() as u128;
        Schedule {
            kind,
            gap_ns,
            next_fp: fp(phase_ns) + FP_ONE / 2,
            gap_fp: fp(gap_ns),
            t_ns: 0.0,
            rng: FastRng::new(seed ^ 0x5bd1_e995 ^ thread as u64),
        }
    }

    /// The mean gap between this thread's intended starts, in ns.
    pub fn mean_gap_ns(&self) -> f64 {
        self.gap_ns
    }

    /// The next intended start, in ns since the step began.
    #[inline]
    pub fn next_offset(&mut self) -> u64 {
        match self.kind {
            Arrivals::Even => {
                let t = (self.next_fp >> 32) as u64;
                self.next_fp += self.gap_fp;
                t
            }
            Arrivals::Poisson => {
                // Inverse transform: −ln(U) · mean, U in (0, 1].
                let u = 1.0 - self.rng.next_f64();
                self.t_ns += -u.ln() * self.gap_ns;
                self.t_ns as u64
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn even_spacing_is_exact_and_threads_interleave() {
        // 3 threads at 3,000,000 txn/s: each thread every 1 µs, phases 0, 333, 667 ns (rounded).
        let mut all = Vec::new();
        for t in 0..3 {
            let mut s = Schedule::new(Arrivals::Even, 3e6, t, 3, 1);
            let offs: Vec<u64> = (0..1000).map(|_| s.next_offset()).collect();
            for (k, w) in offs.windows(2).enumerate() {
                assert_eq!(w[1] - w[0], 1000, "thread {t} gap {k}");
            }
            assert_eq!(offs[999], offs[0] + 999_000, "no drift");
            all.extend(offs);
        }
        all.sort_unstable();
        assert_eq!(&all[..4], &[0, 333, 667, 1000]);
    }

    #[test]
    fn even_spacing_does_not_drift_with_fractional_gaps() {
        // 3 txn/µs on one thread: a 333.33 ns gap.
        let mut s = Schedule::new(Arrivals::Even, 3e6, 0, 1, 1);
        let last = (0..3_000_001).map(|_| s.next_offset()).last().unwrap();
        assert_eq!(last, 1_000_000_000);
    }

    #[test]
    fn poisson_mean_gap_and_variance_match() {
        // Mean gap 10 µs; 200,000 samples, fixed seed: the sample mean is
        // within 1 % (≈ 4.5 standard errors), the coefficient of variation ≈ 1.
        let mut s = Schedule::new(Arrivals::Poisson, 100_000.0, 0, 1, 7);
        let n = 200_000;
        let mut prev = 0u64;
        let (mut sum, mut sum_sq) = (0.0, 0.0);
        for _ in 0..n {
            let t = s.next_offset();
            let gap = (t - prev) as f64;
            prev = t;
            sum += gap;
            sum_sq += gap * gap;
        }
        let mean = sum / n as f64;
        let cv = (sum_sq / n as f64 - mean * mean).sqrt() / mean;
        assert!((mean - 10_000.0).abs() < 100.0, "mean {mean}");
        assert!((cv - 1.0).abs() < 0.02, "cv {cv}");
    }

    #[test]
    fn arrivals_parse() {
        assert_eq!("poisson".parse::<Arrivals>().unwrap(), Arrivals::Poisson);
        assert!("bursty".parse::<Arrivals>().is_err());
    }
}
