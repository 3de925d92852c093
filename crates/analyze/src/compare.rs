//! Two result files side by side: per run and step, what changed, and a
//! verdict — improved, regressed, or within noise.
//!
//! Runs are paired by map and mix; when the files hold different maps (say
//! `synthetic:2us` against `synthetic:3us`) and the same number of runs,
//! by position. The run's verdict rests on its most robust figure:
//! 1. the knee rate, when both runs have a knee (a lower knee is worse);
//! 2. else the closed-loop capacity, when both have one;
//! 3. else the median p99 change over the steps offered the same rate
//!    (within 2 %), before either knee.
//!
//! A change counts only beyond `threshold` percent *and* outside both
//! runs' measured spread when steps carry repeat intervals. Step-level
//! changes are reported too, as information.

use mapknee_load::{Results, Run, Step};
use serde::Serialize;

use crate::stats::median;

/// The default noise threshold, percent. On a 2-core machine two runs of
/// one build differ in knee rate by up to ~10 % (ladder placement and
/// scheduling noise), so anything tighter cries wolf.
pub const DEFAULT_THRESHOLD_PCT: f64 = 15.0;

/// A verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Better beyond noise.
    Improved,
    /// Worse beyond noise.
    Regressed,
    /// Within the threshold.
    WithinNoise,
}

impl Verdict {
    /// The word printed.
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Improved => "improved",
            Verdict::Regressed => "regressed",
            Verdict::WithinNoise => "within noise",
        }
    }
}

/// One step offered the same rate in both files.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepChange {
    /// Offered rate, txn/s (the base file's).
    pub target_ops_per_sec: f64,
    /// p99 before and after, ns.
    pub base_p99_ns: u64,
    /// p99 after, ns.
    pub new_p99_ns: u64,
    /// (new − base) / base, percent; positive is slower.
    pub p99_change_pct: f64,
    /// Achieved rate change, percent; negative is worse.
    pub achieved_change_pct: f64,
    /// This step's verdict.
    pub verdict: Verdict,
}

/// One run paired across the files.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunChange {
    /// `map` of the base run.
    pub base_map: String,
    /// `map` of the new run.
    pub new_map: String,
    /// The mix.
    pub mix: String,
    /// What the verdict rests on: `knee`, `capacity`, `p99` or `nothing`.
    pub basis: String,
    /// Base and new value of that figure.
    pub base_value: Option<f64>,
    /// New value of that figure.
    pub new_value: Option<f64>,
    /// Its change, percent (positive = better for knee/capacity).
    pub change_pct: Option<f64>,
    /// The run's verdict.
    pub verdict: Verdict,
    /// Whether both knees carried `--repeat` ranges (and so the verdict
    /// weighed their spread).
    pub knee_ranges: bool,
    /// Steps offered the same rate.
    pub steps: Vec<StepChange>,
}

/// The whole comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// The threshold used, percent.
    pub threshold_pct: f64,
    /// One per paired run.
    pub runs: Vec<RunChange>,
    /// Runs present in only one file, as `map/mix`.
    pub unpaired: Vec<String>,
    /// Regressed if any run regressed, else improved if any improved.
    pub verdict: Verdict,
}

fn pct(base: f64, new: f64) -> f64 {
    if base == 0.0 {
        0.0
    } else {
        (new - base) / base * 100.0
    }
}

/// Classifies a change where positive is better.
fn classify(better_pct: f64, threshold: f64) -> Verdict {
    if better_pct > threshold {
        Verdict::Improved
    } else if better_pct < -threshold {
        Verdict::Regressed
    } else {
        Verdict::WithinNoise
    }
}

fn open_loop(run: &Run) -> Vec<&Step> {
    let mut s: Vec<&Step> = run
        .steps
        .iter()
        .filter(|s| !s.interrupted && s.target_ops_per_sec.is_some())
        .collect();
    s.sort_by(|a, b| {
        a.target_ops_per_sec
            .unwrap_or(0.0)
            .total_cmp(&b.target_ops_per_sec.unwrap_or(0.0))
    });
    s
}

fn compare_steps(base: &Run, new: &Run, threshold: f64) -> Vec<StepChange> {
    let new_steps = open_loop(new);
    open_loop(base)
        .into_iter()
        .filter_map(|b| {
            let t = b.target_ops_per_sec?;
            let n = new_steps.iter().find(|n| {
                n.target_ops_per_sec
                    .is_some_and(|nt| (nt - t).abs() <= 0.02 * t)
            })?;
            let p99_change = pct(b.latency_ns.p99 as f64, n.latency_ns.p99 as f64);
            let mut verdict = classify(-p99_change, threshold);
            // With repeat intervals, overlapping intervals are noise.
            if let (Some(bi), Some(ni)) = (b.p99_ci_ns, n.p99_ci_ns) {
                if bi[0] <= ni[1] && ni[0] <= bi[1] {
                    verdict = Verdict::WithinNoise;
                }
            }
            Some(StepChange {
                target_ops_per_sec: t,
                base_p99_ns: b.latency_ns.p99,
                new_p99_ns: n.latency_ns.p99,
                p99_change_pct: p99_change,
                achieved_change_pct: pct(b.achieved_ops_per_sec, n.achieved_ops_per_sec),
                verdict,
            })
        })
        .collect()
}

fn compare_run(base: &Run, new: &Run, threshold: f64) -> RunChange {
    let steps = compare_steps(base, new, threshold);
    let (basis, b, n) = match (
        &base.knee,
        &new.knee,
        base.capacity_ops_per_sec,
        new.capacity_ops_per_sec,
    ) {
        (Some(bk), Some(nk), _, _) => ("knee", Some(bk.ops_per_sec), Some(nk.ops_per_sec)),
        (_, _, Some(bc), Some(nc)) => ("capacity", Some(bc), Some(nc)),
        _ if !steps.is_empty() => {
            let before_knee = |s: &&StepChange| {
                base.knee
                    .as_ref()
                    .is_none_or(|k| s.target_ops_per_sec < k.ops_per_sec)
                    && new
                        .knee
                        .as_ref()
                        .is_none_or(|k| s.target_ops_per_sec < k.ops_per_sec)
            };
            let changes: Vec<f64> = steps
                .iter()
                .filter(before_knee)
                .map(|s| s.p99_change_pct)
                .collect();
            if changes.is_empty() {
                ("nothing", None, None)
            } else {
                ("p99", Some(0.0), Some(median(&changes)))
            }
        }
        _ => ("nothing", None, None),
    };
    let (change, mut verdict) = match (basis, b, n) {
        ("p99", _, Some(m)) => (Some(m), classify(-m, threshold)),
        (_, Some(b), Some(n)) => {
            let c = pct(b, n);
            (Some(c), classify(c, threshold))
        }
        _ => (None, Verdict::WithinNoise),
    };
    // With repeats, each knee carries the range its repetitions spanned:
    // knees whose ranges overlap are indistinguishable, whatever the
    // medians did.
    let mut knee_ranges = false;
    if basis == "knee" {
        let ranges = base
            .knee
            .as_ref()
            .and_then(|k| k.ops_per_sec_range)
            .zip(new.knee.as_ref().and_then(|k| k.ops_per_sec_range));
        if let Some((br, nr)) = ranges {
            knee_ranges = true;
            if br[0] <= nr[1] && nr[0] <= br[1] {
                verdict = Verdict::WithinNoise;
            }
        }
    }
    RunChange {
        base_map: base.map.clone(),
        new_map: new.map.clone(),
        mix: base.mix.name.clone(),
        basis: basis.into(),
        base_value: if basis == "p99" { None } else { b },
        new_value: if basis == "p99" { None } else { n },
        change_pct: change,
        verdict,
        knee_ranges,
        steps,
    }
}

/// Compares `new` against `base`.
pub fn compare(base: &Results, new: &Results, threshold_pct: f64) -> Comparison {
    let key = |r: &Run| (r.map.clone(), r.mix.name.clone());
    let mut pairs: Vec<(&Run, &Run)> = Vec::new();
    let mut unpaired = Vec::new();
    let by_name = base
        .runs
        .iter()
        .all(|b| new.runs.iter().any(|n| key(n) == key(b)));
    if by_name || base.runs.len() != new.runs.len() {
        for b in &base.runs {
            match new.runs.iter().find(|n| key(n) == key(b)) {
                Some(n) => pairs.push((b, n)),
                None => unpaired.push(format!("{}/{} (base only)", b.map, b.mix.name)),
            }
        }
        for n in &new.runs {
            if !base.runs.iter().any(|b| key(b) == key(n)) {
                unpaired.push(format!("{}/{} (new only)", n.map, n.mix.name));
            }
        }
    } else {
        pairs = base.runs.iter().zip(&new.runs).collect();
    }
    let runs: Vec<RunChange> = pairs
        .into_iter()
        .map(|(b, n)| compare_run(b, n, threshold_pct))
        .collect();
    let verdict = if runs.iter().any(|r| r.verdict == Verdict::Regressed) {
        Verdict::Regressed
    } else if runs.iter().any(|r| r.verdict == Verdict::Improved) {
        Verdict::Improved
    } else {
        Verdict::WithinNoise
    };
    Comparison {
        threshold_pct,
        runs,
        unpaired,
        verdict,
    }
}

#[cfg(test)]
mod tests {
    use mapknee_load::Knee;

    use super::*;
    use crate::fixtures::{run, step};

    fn results(runs: Vec<Run>) -> Results {
        Results {
            schema: mapknee_load::SCHEMA.into(),
            kind: "run".into(),
            machine: mapknee_load::Machine::detect("rustc", "0", "foldhash", 10.0, 20.0),
            runs,
            elapsed_s: 1.0,
            interrupted: false,
            decay: vec![],
        }
    }

    fn with_knee(mut r: Run, at: f64) -> Run {
        r.knee = Some(Knee {
            ops_per_sec: at,
            rule: "p99x3".into(),
            bottleneck: "lock-contention".into(),
            kneedle_ops_per_sec: None,
            kneedle: None,
            mm1_ops_per_sec: None,
            ops_per_sec_range: None,
        });
        r
    }

    #[test]
    fn lower_knee_regresses_similar_knee_is_noise() {
        let steps = || {
            vec![
                step(1e5, 1e5, 1000),
                step(2e5, 2e5, 1100),
                step(4e5, 3e5, 90_000),
            ]
        };
        let base = results(vec![with_knee(
            run("synthetic:2us", "mixed", 5e5, steps()),
            4.2e5,
        )]);
        let same = results(vec![with_knee(
            run("synthetic:2us", "mixed", 5e5, steps()),
            4.0e5,
        )]);
        let slower = results(vec![with_knee(
            run("synthetic:3us", "mixed", 3.3e5, steps()),
            2.9e5,
        )]);
        let c = compare(&base, &same, DEFAULT_THRESHOLD_PCT);
        assert_eq!(c.verdict, Verdict::WithinNoise, "{c:?}");
        let c = compare(&base, &slower, DEFAULT_THRESHOLD_PCT);
        assert_eq!(
            (c.verdict, c.runs[0].basis.as_str()),
            (Verdict::Regressed, "knee"),
            "{c:?}"
        );
        assert!(c.unpaired.is_empty(), "paired by position");
        let c = compare(&slower, &base, DEFAULT_THRESHOLD_PCT);
        assert_eq!(c.verdict, Verdict::Improved);
        assert_eq!(c.runs[0].steps.len(), 3);
    }

    #[test]
    fn without_knees_falls_back_to_capacity_then_p99() {
        let mut a = run(
            "rwlock",
            "mixed",
            1e6,
            vec![step(1e5, 1e5, 1000), step(2e5, 2e5, 1000)],
        );
        let mut b = run(
            "rwlock",
            "mixed",
            0.5e6,
            vec![step(1e5, 1e5, 1000), step(2e5, 2e5, 1000)],
        );
        let c = compare(&results(vec![a.clone()]), &results(vec![b.clone()]), 15.0);
        assert_eq!(
            (c.verdict, c.runs[0].basis.as_str()),
            (Verdict::Regressed, "capacity")
        );
        a.capacity_ops_per_sec = None;
        b.capacity_ops_per_sec = None;
        b.steps[0].latency_ns.p99 = 1500;
        b.steps[1].latency_ns.p99 = 1600;
        let c = compare(&results(vec![a]), &results(vec![b]), 15.0);
        assert_eq!(
            (c.verdict, c.runs[0].basis.as_str()),
            (Verdict::Regressed, "p99"),
            "{c:?}"
        );
    }

    #[test]
    fn knee_ranges_from_repeats_decide_between_noise_and_regression() {
        let steps = || {
            vec![
                step(1e5, 1e5, 1000),
                step(2e5, 2e5, 1100),
                step(4e5, 3e5, 90_000),
            ]
        };
        let ranged = |map: &str, at: f64, lo: f64, hi: f64| {
            let mut r = with_knee(run(map, "mixed", 5e5, steps()), at);
            r.knee.as_mut().unwrap().ops_per_sec_range = Some([lo, hi]);
            results(vec![r])
        };
        // Medians 40 % apart, but the repetitions overlap: noise.
        let c = compare(
            &ranged("m", 5e5, 3e5, 6e5),
            &ranged("m", 3e5, 2.5e5, 4e5),
            15.0,
        );
        assert_eq!(c.verdict, Verdict::WithinNoise, "{c:?}");
        // Disjoint ranges and beyond the threshold: a regression.
        let c = compare(
            &ranged("m", 5e5, 4.6e5, 5.2e5),
            &ranged("m", 3.3e5, 3.1e5, 3.5e5),
            15.0,
        );
        assert_eq!(c.verdict, Verdict::Regressed, "{c:?}");
    }

    #[test]
    fn overlapping_repeat_intervals_are_noise() {
        let mut a = run("rwlock", "mixed", 1e6, vec![step(1e5, 1e5, 1000)]);
        let mut b = run("rwlock", "mixed", 1e6, vec![step(1e5, 1e5, 1500)]);
        a.steps[0].p99_ci_ns = Some([800.0, 1600.0]);
        b.steps[0].p99_ci_ns = Some([900.0, 1700.0]);
        let c = compare(&results(vec![a]), &results(vec![b]), 15.0);
        assert_eq!(c.runs[0].steps[0].verdict, Verdict::WithinNoise);
    }
}
