//! A workload: keyspace, prefill, key distribution, operation mix and
//! operations per transaction; and the per-thread generator that turns it
//! into map calls.

use std::hint::black_box;

use mapknee_maps::ConcurrentMap;

use crate::dist::{orders_per_thread, KeySampler};
use crate::mix::{Op, OpPicker};
use crate::{Dist, FastRng, Mix, ParseError, DEFAULT_MISS};

/// What every thread does to the map.
///
/// ```
/// use mapknee_load::Workload;
/// let w = Workload::new(1024, 0.5, "uniform".parse().unwrap(), "mixed".parse().unwrap(), 1).unwrap();
/// assert_eq!(w.prefill_keys(), 512);
/// ```
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
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
    /// The default scenario's workload for `mix`: [`DEFAULT_KEYS`] keys,
    /// [`DEFAULT_PREFILL`] prefilled, `order-cache` keys with the default
    /// miss ratio, one operation per transaction (what `mapknee run` runs
    /// when given no workload options).
    ///
    /// ```
    /// use mapknee_load::{Dist, Workload, DEFAULT_KEYS};
    /// let w = Workload::default_for("mixed".parse().unwrap());
    /// assert_eq!((w.keys, w.ops_per_txn), (DEFAULT_KEYS, 1));
    /// assert!(matches!(w.dist, Dist::OrderCache { .. }));
    /// ```
    pub fn default_for(mix: Mix) -> Self {
        Workload {
            keys: DEFAULT_KEYS,
            prefill: DEFAULT_PREFILL,
            dist: Dist::OrderCache { miss: DEFAULT_MISS },
            mix,
            ops_per_txn: 1,
        }
    }

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

/// Stores the workload's prefill keys (value = key) into `map`, for a step
/// run by `threads` threads: the first `prefill · keys` keys, or under
/// `order-cache` every thread's first live orders (keys `0..live · threads`).
pub fn prefill<M: ConcurrentMap<u64, u64>>(map: &M, workload: &Workload, threads: usize) {
    let n = match workload.dist {
        Dist::OrderCache { .. } => {
            orders_per_thread(workload.prefill_keys(), threads) * threads.max(1) as u64
        }
        _ => workload.prefill_keys(),
    };
    for k in 0..n {
        map.insert(k, k);
    }
}

/// Operations a transaction plans before it starts; longer transactions
/// draw the rest as they go (their generation is then a small share of
/// their time).
const PLAN_AHEAD: u32 = 64;

/// One thread's transaction generator: its own RNG, key sampler and op
/// picker — no shared state per operation.
///
/// [`prepare`](Self::prepare) draws the next transaction's operations and
/// keys (Zipf's logarithms included) *before* the runner waits for its
/// intended start, so generation stays out of the timed region whenever
/// the thread is on schedule; [`run_prepared`](Self::run_prepared) then
/// only calls the map.
#[derive(Debug, Clone)]
pub struct TxnGen {
    rng: FastRng,
    keys: KeySampler,
    picker: OpPicker,
    ops_per_txn: u32,
    planned: Vec<(Op, u64)>,
}

impl TxnGen {
    /// The generator for thread `thread` of `threads`, seeded from `seed`.
    pub fn new(workload: &Workload, thread: usize, threads: usize, seed: u64) -> Self {
        TxnGen {
            rng: FastRng::new(seed ^ (thread as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15)),
            keys: KeySampler::new(
                workload.dist,
                workload.keys,
                workload.prefill_keys(),
                thread,
                threads,
            ),
            picker: OpPicker::new(&workload.mix),
            ops_per_txn: workload.ops_per_txn,
            planned: Vec::with_capacity(2 * PLAN_AHEAD as usize),
        }
    }

    /// Draws one operation of the mix and appends the map operations it
    /// becomes (two under `order-cache` when a store evicts).
    #[inline]
    fn plan_one(&mut self) {
        let op = self.picker.pick(self.rng.next_u64() >> 32);
        self.keys.plan(&mut self.rng, op, &mut self.planned);
    }

    /// The map operations of the next transaction (its first
    /// `PLAN_AHEAD` mix operations), drawn now.
    pub fn prepare(&mut self) -> &[(Op, u64)] {
        self.planned.clear();
        for _ in 0..self.ops_per_txn.min(PLAN_AHEAD) {
            self.plan_one();
        }
        &self.planned
    }

    /// Runs the transaction [`prepare`](Self::prepare) drew, then draws and
    /// runs the rest of a transaction longer than `PLAN_AHEAD`.
    #[inline]
    pub fn run_prepared<M: ConcurrentMap<u64, u64> + ?Sized>(&mut self, map: &M) {
        for &(op, key) in &self.planned {
            apply(map, op, key);
        }
        let planned = self.planned.len();
        for _ in PLAN_AHEAD..self.ops_per_txn {
            self.plan_one();
            for &(op, key) in &self.planned[planned..] {
                apply(map, op, key);
            }
            self.planned.truncate(planned);
        }
    }

    /// Draws and runs one whole transaction.
    #[inline]
    pub fn run_txn<M: ConcurrentMap<u64, u64> + ?Sized>(&mut self, map: &M) {
        self.prepare();
        self.run_prepared(map);
    }
}

/// One map operation, the one call through which the harness reaches every
/// map.
///
/// The load engine's workers call it with `&dyn ConcurrentMap` (see
/// `runner::worker`), so one compiled worker loop drives every map and each
/// operation is one indirect call into the map's own code. Until
/// 2026-12-03 the loop was compiled once per map type, and the compiler's
/// choices differed per map: it inlined this function into dashmap's loop
/// (whose operations are out-of-line calls) but not into `ShardedMap`'s
/// (whose operations inline into it), and `pair` with one thread read
/// sharded over dashmap 0.93–0.94 / 0.89–0.94 / 0.91–0.93 (read-mostly /
/// mixed / write-heavy), against 0.97 / 0.99–1.01 / 1.01–1.02 with this
/// function kept out of line (2-vCPU AMD EPYC VM,
/// `benchsuite/runs/2026-12-03-vm23/`). One loop for every map removes
/// that class of difference, not only the one case found.
#[inline]
fn apply<M: ConcurrentMap<u64, u64> + ?Sized>(map: &M, op: Op, key: u64) {
    // The value only has to differ between writes; the key's bits rotated
    // are free and keep value == f(key) for debugging.
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
            let planned = g.prepare();
            assert_eq!(planned.len(), 1);
            if planned[0].0 == Op::Remove {
                removes += 1;
            }
        }
        let share = f64::from(removes) / f64::from(n);
        assert!((share - 0.25).abs() < 0.02, "{share}");
    }

    #[test]
    fn long_transactions_plan_ahead_and_run_every_operation() {
        let w = Workload::new(1000, 0.0, Dist::Uniform, "0/100/0/0".parse().unwrap(), 200).unwrap();
        let mut g = TxnGen::new(&w, 0, 1, 3);
        assert_eq!(g.prepare().len(), PLAN_AHEAD as usize);
        let map = mapknee_maps::Locked::mutex(std::collections::HashMap::<u64, u64>::new());
        g.run_prepared(&map);
        assert_eq!(map.stats().lock.unwrap().acquisitions, 200);
    }

    #[test]
    fn order_cache_prefill_fills_every_threads_window() {
        let w = Workload::new(
            100,
            0.5,
            Dist::OrderCache { miss: 0.0 },
            "mixed".parse().unwrap(),
            1,
        )
        .unwrap();
        let map = mapknee_maps::Locked::mutex(std::collections::HashMap::<u64, u64>::new());
        prefill(&map, &w, 3);
        assert_eq!(map.len(), 48, "16 live orders for each of 3 threads");
        // Every read of a fresh generator hits a prefilled order.
        let mut g = TxnGen::new(&w, 2, 3, 1);
        for _ in 0..1000 {
            let &(op, key) = &g.prepare()[0];
            if op == Op::Get {
                assert!(map.get(&key).is_some(), "{key}");
            }
            g.run_prepared(&map);
            assert_eq!(map.len(), 48, "stores evict: the population holds");
        }
    }
}
