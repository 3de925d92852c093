//! False sharing in the knee: a padded map beside its unpadded twin.
//!
//! `sharded-unpadded` is `sharded` with its shard locks packed side by side
//! instead of one per cache line, so two threads working on *different*
//! shards still take turns owning one line (false sharing). When a run
//! holds both with the same shard count, in the same mix, the difference
//! between them is what that costs on this machine: the knee, the
//! closed-loop capacity and the p99 at the offered rates both kept up
//! with, each as unpadded ÷ padded.

use mapknee_load::{Run, Step};

use crate::stats::median;

/// How far two default runs agree on a knee or capacity on the 2-core
/// development machine (README, "How far two runs agree"): a difference
/// inside it is not told apart from the noise by a single run.
pub const NOISE: f64 = 0.20;

/// One padded / unpadded pair of runs in one mix, compared.
#[derive(Debug, Clone, PartialEq)]
pub struct PaddingPair {
    /// The mix both ran.
    pub mix: String,
    /// The padded map's name (`sharded`, `sharded:16`).
    pub padded: String,
    /// The unpadded twin's name (`sharded-unpadded`, `sharded-unpadded:16`).
    pub unpadded: String,
    /// Knee rates, padded and unpadded (`None`: no knee on the ladder).
    pub knees: [Option<f64>; 2],
    /// Unpadded ÷ padded closed-loop capacity, when both were measured.
    pub capacity_ratio: Option<f64>,
    /// Unpadded ÷ padded p99 (the rule's typical p99) at each offered rate
    /// of the ladder below both knees: `(rate, ratio)`.
    pub p99_ratios: Vec<(f64, f64)>,
    /// Whether the knees' repetition ranges overlap (with `--repeat`).
    pub ranges_overlap: Option<bool>,
}

impl PaddingPair {
    /// The median of [`p99_ratios`](Self::p99_ratios).
    pub fn p99_ratio_median(&self) -> Option<f64> {
        let r: Vec<f64> = self.p99_ratios.iter().map(|&(_, r)| r).collect();
        (!r.is_empty()).then(|| median(&r))
    }

    /// The largest p99 ratio and the rate it was seen at.
    pub fn p99_ratio_max(&self) -> Option<(f64, f64)> {
        self.p99_ratios
            .iter()
            .copied()
            .max_by(|a, b| a.1.total_cmp(&b.1))
    }

    /// Unpadded ÷ padded knee, when both have one.
    pub fn knee_ratio(&self) -> Option<f64> {
        match self.knees {
            [Some(a), Some(b)] if a > 0.0 => Some(b / a),
            _ => None,
        }
    }

    /// What the pair shows, by [`NOISE`]: the unpadded twin's knee (or,
    /// with no knees, its capacity) below or above the padded map's by
    /// more than `NOISE` with, under `--repeat`, the knees' ranges apart;
    /// or its median p99 below the knees above the padded map's by more.
    pub fn reading(&self) -> Reading {
        let rate = self.knee_ratio().or(self.capacity_ratio);
        let apart = self.ranges_overlap != Some(true);
        let worse_rate = rate.is_some_and(|r| r < 1.0 - NOISE) && apart;
        let better_rate = rate.is_some_and(|r| r > 1.0 / (1.0 - NOISE)) && apart;
        let worse_p99 = self.p99_ratio_median().is_some_and(|r| r > 1.0 + NOISE);
        if better_rate {
            Reading::Faster
        } else if worse_rate || worse_p99 {
            Reading::Visible
        } else if self.ranges_overlap == Some(true) {
            Reading::Overlapping
        } else {
            Reading::InsideNoise
        }
    }
}

/// What a padded / unpadded pair shows ([`PaddingPair::reading`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    /// The unpadded twin is measurably worse: false sharing is visible.
    Visible,
    /// The unpadded twin came out measurably *faster*: noise (packing the
    /// locks cannot help), so the run cannot tell.
    Faster,
    /// Apart by more than [`NOISE`], but the knees' repetition ranges
    /// overlap.
    Overlapping,
    /// Inside [`NOISE`].
    InsideNoise,
}

/// The unpadded twin's name for a padded map, if it has one.
fn twin(padded: &str) -> Option<String> {
    let rest = padded.strip_prefix("sharded")?;
    (rest.is_empty() || rest.starts_with(':')).then(|| format!("sharded-unpadded{rest}"))
}

/// The ladder steps a pair comparison reads: offered, not refinement,
/// not cut short.
fn ladder(run: &Run) -> impl Iterator<Item = (&Step, f64)> {
    run.steps
        .iter()
        .filter(|s| !s.refine && !s.interrupted)
        .filter_map(|s| s.target_ops_per_sec.map(|t| (s, t)))
}

/// Every padded / unpadded pair among `runs`, per mix, in file order.
pub fn padding_pairs(runs: &[Run]) -> Vec<PaddingPair> {
    let mut pairs = Vec::new();
    for p in runs {
        let Some(name) = twin(&p.map) else { continue };
        let Some(u) = runs
            .iter()
            .find(|u| u.map == name && u.mix.name == p.mix.name)
        else {
            continue;
        };
        let knees = [
            p.knee.as_ref().map(|k| k.ops_per_sec),
            u.knee.as_ref().map(|k| k.ops_per_sec),
        ];
        let capacity_ratio = match (p.capacity_ops_per_sec, u.capacity_ops_per_sec) {
            (Some(a), Some(b)) if a > 0.0 => Some(b / a),
            _ => None,
        };
        let below = knees
            .iter()
            .flatten()
            .copied()
            .fold(f64::INFINITY, f64::min);
        let p99_ratios = ladder(p)
            .filter(|&(_, t)| t < below)
            .filter_map(|(sp, t)| {
                let su = ladder(u)
                    .find(|&(_, tu)| (tu - t).abs() <= 1e-6 * t.max(1.0))?
                    .0;
                let (a, b) = (sp.rule_p99_ns(), su.rule_p99_ns());
                (a > 0).then(|| (t, b as f64 / a as f64))
            })
            .collect();
        let ranges_overlap = match (
            p.knee.as_ref().and_then(|k| k.ops_per_sec_range),
            u.knee.as_ref().and_then(|k| k.ops_per_sec_range),
        ) {
            (Some([a0, a1]), Some([b0, b1])) => Some(a0 <= b1 && b0 <= a1),
            _ => None,
        };
        pairs.push(PaddingPair {
            mix: p.mix.name.clone(),
            padded: p.map.clone(),
            unpadded: u.map.clone(),
            knees,
            capacity_ratio,
            p99_ratios,
            ranges_overlap,
        });
    }
    pairs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{run, step};
    use mapknee_load::Knee;

    fn knee(at: f64, range: Option<[f64; 2]>) -> Option<Knee> {
        Some(Knee {
            ops_per_sec: at,
            rule: "p99x3".into(),
            bottleneck: "cpu".into(),
            ops_per_sec_range: range,
            ..Default::default()
        })
    }

    fn ladder_run(map: &str, cap: f64, p99s: &[u64]) -> Run {
        let steps = p99s
            .iter()
            .enumerate()
            .map(|(i, &p)| {
                let rate = 1e6 * (i + 1) as f64;
                step(rate, rate, p)
            })
            .collect();
        run(map, "mixed", cap, steps)
    }

    #[test]
    fn pairs_only_twins_of_one_mix_and_shard_count() {
        let runs = vec![
            ladder_run("sharded:16", 1e7, &[100]),
            ladder_run("sharded-unpadded:8", 1e7, &[100]),
            ladder_run("sharded", 1e7, &[100]),
            ladder_run("rwlock", 1e7, &[100]),
            ladder_run("sharded-unpadded", 1e7, &[100]),
        ];
        let pairs = padding_pairs(&runs);
        assert_eq!(pairs.len(), 1);
        assert_eq!(
            (pairs[0].padded.as_str(), pairs[0].unpadded.as_str()),
            ("sharded", "sharded-unpadded")
        );
    }

    #[test]
    fn ratios_are_unpadded_over_padded_below_both_knees() {
        let mut p = ladder_run("sharded", 8e6, &[100, 100, 120, 900]);
        let mut u = ladder_run("sharded-unpadded", 6e6, &[150, 200, 900, 2000]);
        p.knee = knee(4e6, None);
        u.knee = knee(3e6, None);
        let pair = &padding_pairs(&[p, u])[0];
        assert_eq!(pair.knees, [Some(4e6), Some(3e6)]);
        assert_eq!(pair.knee_ratio(), Some(0.75));
        assert_eq!(pair.capacity_ratio, Some(0.75));
        // Below 3M/s: the 1M and 2M steps only.
        assert_eq!(pair.p99_ratios, vec![(1e6, 1.5), (2e6, 2.0)]);
        assert_eq!(pair.p99_ratio_median(), Some(1.75));
        assert_eq!(pair.p99_ratio_max(), Some((2e6, 2.0)));
        assert_eq!(pair.reading(), Reading::Visible);
    }

    #[test]
    fn a_difference_inside_the_noise_or_overlapping_repeats_is_not_visible() {
        let mut p = ladder_run("sharded", 8e6, &[100, 100]);
        let mut u = ladder_run("sharded-unpadded", 7.6e6, &[105, 98]);
        p.knee = knee(4e6, None);
        u.knee = knee(3.7e6, None);
        assert_eq!(
            padding_pairs(&[p.clone(), u.clone()])[0].reading(),
            Reading::InsideNoise
        );
        // 0.7x, but the repetitions' knees overlap: not told apart.
        p.knee = knee(4e6, Some([2.9e6, 4.4e6]));
        u.knee = knee(2.8e6, Some([2.5e6, 3.0e6]));
        let pair = &padding_pairs(&[p.clone(), u.clone()])[0];
        assert_eq!(pair.ranges_overlap, Some(true));
        assert_eq!(pair.reading(), Reading::Overlapping);
        // Apart: visible.
        u.knee = knee(2.8e6, Some([2.5e6, 2.85e6]));
        assert_eq!(
            padding_pairs(&[p.clone(), u.clone()])[0].reading(),
            Reading::Visible
        );
        // A worse p99 beside a knee measurably *higher* contradicts
        // itself: not visible.
        p.knee = knee(4e6, None);
        u.knee = knee(6e6, None);
        u.steps[0].latency_ns.p99 = 200;
        let pair = &padding_pairs(&[p, u])[0];
        assert_eq!(pair.p99_ratios, vec![(1e6, 2.0), (2e6, 0.98)]);
        assert_eq!(pair.reading(), Reading::Faster);
    }
}
