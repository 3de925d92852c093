//! A bottleneck label per step, from the map's counters over that step.
//!
//! Checked in this order; the first that holds names the step:
//! 1. `syncmap-misses` — sync.Map fell back to its dirty map: misses ≥ 1 %
//!    of map operations, or promotions + dirty rebuilds ≥ 0.1 % of them;
//! 2. `lock-contention` — contended acquisitions ≥ 5 % of acquisitions, or
//!    lock wait ≥ 5 % of the threads' time in the step;
//! 3. `growth` — the map grew (doubling or same-size) during the step;
//! 4. `saturation` — achieved < 95 % of offered with none of the above;
//! 5. `cpu` — none of the above: the map's own work, no notable waiting.
//!
//! Mechanisms come before `saturation` because they say *why* a map fell
//! behind; `saturation` alone says only that it did.

use mapknee_load::Step;

use crate::KneeRules;

/// What limited a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bottleneck {
    /// The map's own work; no notable waiting.
    Cpu,
    /// Threads waited for a lock.
    LockContention,
    /// sync.Map misses, promotions and dirty rebuilds.
    SyncMapMisses,
    /// The map grew during the step.
    Growth,
    /// Achieved fell short of offered, with no mechanism to blame.
    Saturation,
}

impl Bottleneck {
    /// The label results and tables carry.
    pub fn label(self) -> &'static str {
        match self {
            Bottleneck::Cpu => "cpu",
            Bottleneck::LockContention => "lock-contention",
            Bottleneck::SyncMapMisses => "syncmap-misses",
            Bottleneck::Growth => "growth",
            Bottleneck::Saturation => "saturation",
        }
    }
}

/// Thresholds of the bottleneck rules (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// sync.Map misses per map operation.
    pub misses_per_op: f64,
    /// sync.Map promotions + dirty rebuilds per map operation.
    pub rebuilds_per_op: f64,
    /// Contended share of lock acquisitions.
    pub contended_share: f64,
    /// Lock wait as a share of the threads' time.
    pub wait_share: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            misses_per_op: 0.01,
            rebuilds_per_op: 0.001,
            contended_share: 0.05,
            wait_share: 0.05,
        }
    }
}

/// The bottleneck of `step`, run with `threads` workers and `ops_per_txn`
/// map operations per transaction.
pub fn bottleneck(
    step: &Step,
    threads: usize,
    ops_per_txn: u32,
    rules: &KneeRules,
    t: &Thresholds,
) -> Bottleneck {
    let c = |name: &str| step.counters.get(name).copied().unwrap_or(0) as f64;
    let map_ops = (step.ops as f64 * f64::from(ops_per_txn.max(1))).max(1.0);
    if c("misses") / map_ops >= t.misses_per_op
        || (c("promotions") + c("dirty_rebuilds")) / map_ops >= t.rebuilds_per_op
    {
        return Bottleneck::SyncMapMisses;
    }
    let acquisitions = c("lock_acquisitions");
    let thread_ns = step.duration_s * 1e9 * threads.max(1) as f64;
    if (acquisitions > 0.0 && c("lock_contended") / acquisitions >= t.contended_share)
        || (thread_ns > 0.0 && c("lock_wait_ns") / thread_ns >= t.wait_share)
    {
        return Bottleneck::LockContention;
    }
    if c("growths_doubling") + c("growths_same_size") > 0.0 {
        return Bottleneck::Growth;
    }
    if rules.saturated(step) {
        return Bottleneck::Saturation;
    }
    Bottleneck::Cpu
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::step;

    fn with(counters: &[(&str, u64)], achieved: f64) -> Step {
        let mut s = step(1e5, achieved, 1_000);
        s.counters = counters.iter().map(|&(k, v)| (k.to_string(), v)).collect();
        s
    }

    fn label(s: &Step) -> &'static str {
        bottleneck(s, 2, 1, &KneeRules::default(), &Thresholds::default()).label()
    }

    #[test]
    fn quiet_counters_are_cpu_and_a_shortfall_is_saturation() {
        assert_eq!(label(&with(&[("lock_acquisitions", 100_000)], 1e5)), "cpu");
        assert_eq!(label(&with(&[], 5e4)), "saturation");
    }

    #[test]
    fn contention_by_share_or_by_wait_time() {
        let share = with(
            &[("lock_acquisitions", 100_000), ("lock_contended", 6_000)],
            1e5,
        );
        assert_eq!(label(&share), "lock-contention");
        // 2 threads × 1 s = 2e9 thread-ns; 0.2e9 ns waiting is 10 %.
        let wait = with(
            &[
                ("lock_acquisitions", 100_000),
                ("lock_contended", 10),
                ("lock_wait_ns", 200_000_000),
            ],
            1e5,
        );
        assert_eq!(label(&wait), "lock-contention");
        let little = with(
            &[
                ("lock_acquisitions", 100_000),
                ("lock_contended", 10),
                ("lock_wait_ns", 1_000_000),
            ],
            1e5,
        );
        assert_eq!(label(&little), "cpu");
    }

    #[test]
    fn syncmap_misses_win_over_contention_and_saturation() {
        let s = with(
            &[
                ("misses", 5_000),
                ("lock_acquisitions", 5_000),
                ("lock_contended", 2_000),
            ],
            5e4,
        );
        assert_eq!(label(&s), "syncmap-misses");
        let rebuilds = with(
            &[("misses", 10), ("promotions", 60), ("dirty_rebuilds", 60)],
            1e5,
        );
        assert_eq!(label(&rebuilds), "syncmap-misses");
    }

    #[test]
    fn growth_in_the_step_is_named() {
        assert_eq!(label(&with(&[("growths_doubling", 1)], 1e5)), "growth");
    }

    #[test]
    fn ops_per_txn_scales_the_per_op_thresholds() {
        // 100,000 txn × 10 ops: 5,000 misses is 0.5 % of map operations.
        let s = with(&[("misses", 5_000)], 1e5);
        assert_eq!(
            bottleneck(&s, 2, 10, &KneeRules::default(), &Thresholds::default()),
            Bottleneck::Cpu
        );
    }
}
