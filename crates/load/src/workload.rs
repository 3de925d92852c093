//! A workload: keyspace, prefill, key distribution, operation mix and
//! operations per transaction; and the per-thread generator that turns it
//! into map calls.

use std::hint::black_box;

use mapknee_maps::ConcurrentMap;

use crate::dist::KeySampler;
use crate::mix::{Op, OpPicker};
use crate::{Dist, FastRng, Mix, ParseError};

/// What every thread does to the map.
///
/// ```
/// use mapknee_load::Workload;
/// let w = Workload::new(1024, 0.5, "uniform".parse().unwrap(), "mixed".parse().unwrap(), 1).unwrap();
/// assert_eq!(w.prefill_keys(), 512);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Workload {
    /// Keys in the keyspace (`0..keys`); at least 1.
    pub keys: u64,
    /// Share of the keyspace stored before each step, in [0, 1].
    pub prefill: f64,
    /// How keys are drawn.
    pub dist: Dist,
    /// How operations are drawn.
    pub mix: Mix,
    /// Map operations per transaction (rates and latencies are per
    /// transaction); at least 1.
    pub ops_per_txn: u32,
}

/// The default keyspace (`--keys`).
pub const DEFAULT_KEYS: u64 = 65_536;
/// The default prefill fraction (`--prefill`).
pub const DEFAULT_PREFILL: f64 = 0.5;

impl Workload {
    /// A validated workload.
    pub fn new(
        keys: u64,
        prefill: f64,
        dist: Dist,
        mix: Mix,
        ops_per_txn: u32,
    ) -> Result<Self, ParseError> {
        if keys == 0 {
            return Err(ParseError("--keys must be at least 1".into()));
        }
        if !(0.0..=1.0).contains(&prefill) {
            return Err(ParseError(format!(
                "--prefill must be between 0 and 1, got {prefill}"
            )));
        }
        if ops_per_txn == 0 {
            return Err(ParseError("--ops-per-txn must be at least 1".into()));
        }
        Ok(Workload {
            keys,
            prefill,
            dist,
            mix,
            ops_per_txn,
        })
    }

    /// How many keys [`prefill`] stores: the first `prefill · keys` keys
    /// (with `zipf` and `hotset` those are the hottest ones, as in a warm cache).
    pub fn prefill_keys(&self) -> u64 {
        (self.keys as f64 * self.prefill).round() as u64
    }
}

/// Stores the workload's prefill keys (value = key) into `map`.
pub fn prefill<M: ConcurrentMap<u64, u64>>(map: &M, workload: &Workload) {
    for k in 0..workload.prefill_keys() {
        map.insert(k, k);
    }
}

/// One thread's transaction generator: its own RNG, key sampler and op
/// picker — no shared state per operation.
#[derive(Debug, Clone)]
pub struct TxnGen {
    rng: FastRng,
    keys: KeySampler,
    picker: OpPicker,
    ops_per_txn: u32,
}

impl TxnGen {
    /// The generator for thread `thread` of `threads`, seeded from `seed`.
    pub fn new(workload: &Workload, thread: usize, threads: usize, seed: u64) -> Self {
        TxnGen {
            rng: FastRng::new(seed ^ (thread as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)),
            keys: KeySampler::new(workload.dist, workload.keys, thread, threads),
            picker: OpPicker::new(&workload.mix),
            ops_per_txn: workload.ops_per_txn,
        }
    }

    /// The next operation and key, without running it.
    #[inline]
    pub fn next_op(&mut self) -> (Op, u64) {
        let bits = self.rng.next_u64();
        let op = self.picker.pick(bits >> 32);
        let write = matches!(op, Op::Insert | Op::GetOrInsert);
        (op, self.keys.key(&mut self.rng, write))
    }

    /// Runs one transaction (`ops_per_txn` operations) against `map`.
    #[inline]
    pub fn run_txn<M: ConcurrentMap<u64, u64>>(&mut self, map: &M) {
        for _ in 0..self.ops_per_txn {
            let (op, key) = self.next_op();
            // The value only has to differ between writes; the key's bits
            // rotated are free and keep value == f(key) for debugging.
            let value = key.rotate_left(17);
            match op {
                Op::Get => {
                    black_box(map.get(&key));
                }
                Op::Insert => {
                    black_box(map.insert(key, value));
                }
                Op::GetOrInsert => {
                    black_box(map.get_or_insert(key, value));
                }
                Op::Remove => {
                    black_box(map.remove(&key));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workload_validation_rejects_nonsense() {
        let d = Dist::Uniform;
        let m: Mix = "mixed".parse().unwrap();
        assert!(Workload::new(0, 0.5, d, m.clone(), 1).is_err());
        assert!(Workload::new(10, 1.5, d, m.clone(), 1).is_err());
        assert!(Workload::new(10, 0.5, d, m.clone(), 0).is_err());
        assert!(Workload::new(10, 0.5, d, m, 2).is_ok());
    }

    #[test]
    fn generator_follows_the_mix_and_keyspace() {
        let w = Workload::new(100, 0.0, Dist::Uniform, "churn".parse().unwrap(), 1).unwrap();
        let mut g = TxnGen::new(&w, 0, 1, 42);
        let n = 40_000;
        let mut removes = 0;
        for _ in 0..n {
            let (op, _) = g.next_op();
            if op == Op::Remove {
                removes += 1;
            }
        }
        let share = f64::from(removes) / f64::from(n);
        assert!((share - 0.25).abs() < 0.02, "{share}");
    }
}
