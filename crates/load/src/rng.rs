//! A per-thread fast random number generator: wyrand.
//!
//! Each worker owns one, so drawing a key or an operation touches no shared
//! state. wyrand passes BigCrush and PractRand, costs one add and one
//! 64×64→128 multiply per draw, and its state is one `u64`.

/// wyrand: a tiny, fast, non-cryptographic generator.
///
/// ```
/// use mapknee_load::FastRng;
/// let mut a = FastRng::new(7);
/// let mut b = FastRng::new(7);
/// assert_eq!(a.next_u64(), b.next_u64());
/// assert!(a.below(10) < 10);
/// ```
#[derive(Debug, Clone)]
pub struct FastRng {
    state: u64,
}

impl FastRng {
    /// A generator seeded with `seed` (any value, zero included).
    pub fn new(seed: u64) -> Self {
        // Mix the seed once so seeds 0, 1, 2 ... start far apart.
        let mut rng = FastRng {
            state: seed ^ 0x2d35_8dcc_aa6c_78a5,
        };
        rng.next_u64();
        rng
    }

    /// The next 64 random bits.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0xa076_1d64_78bd_642f);
        let t = u128::from(self.state) * u128::from(self.state ^ 0xe703_7ed1_a0b4_28db);
        ((t >> 64) as u64) ^ (t as u64)
    }

    /// A number in `0..n` (Lemire's multiply-shift; the bias is below
    /// `n / 2^64`, negligible for keyspaces). `n` must be non-zero.
    #[inline]
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// A number in `[0, 1)` with 53 random bits.
    #[inline]
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn below_stays_in_range_and_covers_it() {
        let mut rng = FastRng::new(1);
        let mut seen = [0u32; 10];
        for _ in 0..10_000 {
            seen[rng.below(10) as usize] += 1;
        }
        // Each bucket expects 1,000; coarse bounds.
        assert!(seen.iter().all(|&c| (800..1200).contains(&c)), "{seen:?}");
    }

    #[test]
    fn next_f64_is_in_unit_interval_with_mean_one_half() {
        let mut rng = FastRng::new(2);
        let n = 100_000;
        let mut sum = 0.0;
        for _ in 0..n {
            let x = rng.next_f64();
            assert!((0.0..1.0).contains(&x));
            sum += x;
        }
        let mean = sum / n as f64;
        assert!((mean - 0.5).abs() < 0.01, "{mean}");
    }
}
