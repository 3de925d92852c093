//! Two result files side by side: per run and step, what changed, and a
//! verdict — improved, regressed, or within noise.
//!
//! Runs are paired by map and mix; when the files hold different maps (say
//! `synthetic:2us` against `synthetic:3us`) and the same number of runs,
//! by position.
//!
//! **With `--repeat N` on both sides** every run carries each repetition's
//! own knee and peak achieved rate ([`mapknee_load::Repetition`]): the
//! noise measured, not guessed. Both figures are judged, each with a
//! bootstrap interval of the ratio of the two sides' medians. A figure
//! counts as changed only when its change passes `threshold` *and* its
//! interval excludes "no change". The intervals are family-wise: at
//! 1 − 0.05 / m for m judged figures (Bonferroni), so that comparing 15 runs
//! does not raise 15 chances of a false alarm.
//!
//! **With single runs** no noise is measured. The verdict then rests on the
//! threshold alone, on the run's most robust figure: the knee rate when
//! both runs have one, else the closed-loop capacity, else the median p99
//! change over the steps offered the same rate before either knee.
//!
//! Step-level changes are reported too, as information.

use mapknee_load::{open_loop_steps, Repetition, Results, Run};
use serde::Serialize;

use crate::stats::{bootstrap_ratio_ci, median};

/// The default noise threshold, percent: a change smaller than this is
/// never called a change, however tight its interval.
pub const DEFAULT_THRESHOLD_PCT: f64 = 15.0;

/// The family-wise error rate the intervals are set for.
pub const FAMILY_ERROR: f64 = 0.05;

/// A verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// Better beyond noise.
    Improved,
    /// Worse beyond noise.
    Regressed,
    /// Not shown to differ.
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

/// A figure a run's verdict can rest on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Figure {
    /// The knee rate, txn/s (higher is better).
    Knee,
    /// The capacity, txn/s (higher is better): the repetitions' peak
    /// achieved rate, or for single runs the closed-loop probe.
    Capacity,
    /// The median p99 change over the steps before either knee (lower is
    /// better; single runs only).
    PreKneeP99,
}

impl Figure {
    /// The name printed.
    pub fn label(self) -> &'static str {
        match self {
            Figure::Knee => "knee",
            Figure::Capacity => "capacity",
            Figure::PreKneeP99 => "pre-knee p99",
        }
    }
}

/// One figure of a run, before and after.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FigureChange {
    /// Which figure.
    pub figure: Figure,
    /// Its base value (the repetitions' median); `None` for the pre-knee p99.
    pub base: Option<f64>,
    /// Its new value.
    pub new: Option<f64>,
    /// (new − base) / base, percent.
    pub change_pct: f64,
    /// The interval of `change_pct` at [`Comparison::confidence`], when both
    /// sides have repetitions.
    pub interval_pct: Option<[f64; 2]>,
    /// Repetitions behind the base and the new value.
    pub repetitions: [usize; 2],
    /// Of those, how many give only a lower bound: no knee found, or a
    /// ladder that never saturated the map. A drop is claimed only when the
    /// new side has none, a rise only when the base side has none.
    pub lower_bounds: [usize; 2],
    /// This figure's verdict.
    pub verdict: Verdict,
}

/// One step offered the same rate in both files.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepChange {
    /// Offered rate, txn/s (the base file's).
    pub target_ops_per_sec: f64,
    /// p99 before, ns.
    pub base_p99_ns: u64,
    /// p99 after, ns.
    pub new_p99_ns: u64,
    /// (new − base) / base, percent; positive is slower.
    pub p99_change_pct: f64,
    /// With repeats on both sides: the widest change the two p99 intervals
    /// allow, percent.
    pub p99_interval_pct: Option<[f64; 2]>,
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
    /// The figures judged (empty when the runs share none).
    pub figures: Vec<FigureChange>,
    /// Regressed if any figure regressed, else improved if any improved.
    pub verdict: Verdict,
    /// Steps offered the same rate.
    pub steps: Vec<StepChange>,
}

/// The whole comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// The threshold used, percent.
    pub threshold_pct: f64,
    /// The confidence of each figure's interval: 1 − 0.05 / (figures with
    /// intervals).
    pub confidence: f64,
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

/// Classifies a change where positive is better. With an interval (same
/// sign convention) the change must also exclude zero.
fn classify(better_pct: f64, interval: Option<[f64; 2]>, threshold: f64) -> Verdict {
    let [lo, hi] = interval.unwrap_or([better_pct, better_pct]);
    if better_pct > threshold && lo > 0.0 {
        Verdict::Improved
    } else if better_pct < -threshold && hi < 0.0 {
        Verdict::Regressed
    } else {
        Verdict::WithinNoise
    }
}

/// Regressed if any regressed, else improved if any improved.
fn overall(verdicts: impl Iterator<Item = Verdict> + Clone) -> Verdict {
    if verdicts.clone().any(|v| v == Verdict::Regressed) {
        Verdict::Regressed
    } else if verdicts.into_iter().any(|v| v == Verdict::Improved) {
        Verdict::Improved
    } else {
        Verdict::WithinNoise
    }
}

fn compare_steps(base: &Run, new: &Run, threshold: f64) -> Vec<StepChange> {
    let new_steps = open_loop_steps(&new.steps);
    open_loop_steps(&base.steps)
        .into_iter()
        .filter_map(|b| {
            let t = b.target_ops_per_sec?;
            let n = new_steps.iter().find(|n| {
                n.target_ops_per_sec
                    .is_some_and(|nt| (nt - t).abs() <= 0.02 * t)
            })?;
            let p99_change = pct(b.latency_ns.p99 as f64, n.latency_ns.p99 as f64);
            let interval = b
                .p99_ci_ns
                .zip(n.p99_ci_ns)
                .and_then(|(bi, ni)| (bi[0] > 0.0).then(|| [pct(bi[1], ni[0]), pct(bi[0], ni[1])]));
            // Slower is worse: negate into "positive is better".
            let verdict = classify(-p99_change, interval.map(|[lo, hi]| [-hi, -lo]), threshold);
            Some(StepChange {
                target_ops_per_sec: t,
                base_p99_ns: b.latency_ns.p99,
                new_p99_ns: n.latency_ns.p99,
                p99_change_pct: p99_change,
                p99_interval_pct: interval,
                achieved_change_pct: pct(b.achieved_ops_per_sec, n.achieved_ops_per_sec),
                verdict,
            })
        })
        .collect()
}

/// A figure measured once on each side, not judged yet.
fn single_figure(figure: Figure, base: Option<f64>, new: Option<f64>, change: f64) -> FigureChange {
    FigureChange {
        figure,
        base,
        new,
        change_pct: change,
        interval_pct: None,
        repetitions: [1, 1],
        lower_bounds: [0, 0],
        verdict: Verdict::WithinNoise,
    }
}

/// A figure measured once per repetition on both sides, not judged yet:
/// the medians, with how many samples (and lower bounds) stand behind them.
fn repeated_figure(
    figure: Figure,
    base: &[f64],
    new: &[f64],
    lower_bounds: [usize; 2],
) -> FigureChange {
    let (b, n) = (median(base), median(new));
    FigureChange {
        repetitions: [base.len(), new.len()],
        lower_bounds,
        ..single_figure(figure, Some(b), Some(n), pct(b, n))
    }
}

/// A repetition's value of a figure, and whether it is only a lower bound.
type Sampler = fn(&Repetition) -> (f64, bool);

/// The figures a pair of runs can be judged by, without verdicts yet.
/// Their samples come back alongside for the intervals.
fn figures(base: &Run, new: &Run, steps: &[StepChange]) -> Vec<(FigureChange, Vec<f64>, Vec<f64>)> {
    if base.repetitions.len() >= 2 && new.repetitions.len() >= 2 {
        // Each repetition's value, and whether it is only a lower bound.
        let knee: Sampler = |x| (x.knee_ops_per_sec, !x.knee_found);
        let peak: Sampler = |x| (x.peak_achieved_ops_per_sec, !x.saturated);
        let samples = |r: &Run, of: Sampler| -> (Vec<f64>, usize) {
            let v: Vec<(f64, bool)> = r.repetitions.iter().map(of).collect();
            (
                v.iter().map(|x| x.0).collect(),
                v.iter().filter(|x| x.1).count(),
            )
        };
        return [(Figure::Knee, knee), (Figure::Capacity, peak)]
            .into_iter()
            .map(|(f, of)| {
                let ((b, bb), (n, nb)) = (samples(base, of), samples(new, of));
                (repeated_figure(f, &b, &n, [bb, nb]), b, n)
            })
            .collect();
    }
    let single = match (
        &base.knee,
        &new.knee,
        base.capacity_ops_per_sec,
        new.capacity_ops_per_sec,
    ) {
        (Some(bk), Some(nk), _, _) => Some(single_figure(
            Figure::Knee,
            Some(bk.ops_per_sec),
            Some(nk.ops_per_sec),
            pct(bk.ops_per_sec, nk.ops_per_sec),
        )),
        (_, _, Some(bc), Some(nc)) => Some(single_figure(
            Figure::Capacity,
            Some(bc),
            Some(nc),
            pct(bc, nc),
        )),
        _ => {
            let before = |k: &Option<mapknee_load::Knee>, rate: f64| {
                k.as_ref().is_none_or(|k| rate < k.ops_per_sec)
            };
            let changes: Vec<f64> = steps
                .iter()
                .filter(|s| {
                    before(&base.knee, s.target_ops_per_sec)
                        && before(&new.knee, s.target_ops_per_sec)
                })
                .map(|s| s.p99_change_pct)
                .collect();
            (!changes.is_empty())
                .then(|| single_figure(Figure::PreKneeP99, None, None, median(&changes)))
        }
    };
    single
        .into_iter()
        .map(|f| (f, Vec::new(), Vec::new()))
        .collect()
}

/// Sets a figure's interval (from its samples, at `confidence`) and verdict.
fn judge(f: &mut FigureChange, base: &[f64], new: &[f64], confidence: f64, threshold: f64) {
    f.interval_pct = bootstrap_ratio_ci(base, new, confidence)
        .map(|(lo, hi)| [(lo - 1.0) * 100.0, (hi - 1.0) * 100.0]);
    f.verdict = match f.figure {
        Figure::Knee | Figure::Capacity => classify(f.change_pct, f.interval_pct, threshold),
        Figure::PreKneeP99 => classify(-f.change_pct, None, threshold),
    };
    // A lower bound on the side that came out lower proves nothing: the
    // true value may lie above the other side's.
    let [base_bounds, new_bounds] = f.lower_bounds;
    if (f.verdict == Verdict::Regressed && new_bounds > 0)
        || (f.verdict == Verdict::Improved && base_bounds > 0)
    {
        f.verdict = Verdict::WithinNoise;
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
    let prepared: Vec<_> = pairs
        .into_iter()
        .map(|(b, n)| {
            let steps = compare_steps(b, n, threshold_pct);
            let figures = figures(b, n, &steps);
            (b, n, steps, figures)
        })
        .collect();
    // Bonferroni: each interval at 1 − α/m keeps the chance of any false
    // alarm among the m figures at most α.
    let m = prepared
        .iter()
        .flat_map(|p| &p.3)
        .filter(|(_, b, _)| !b.is_empty())
        .count()
        .max(1);
    let confidence = 1.0 - FAMILY_ERROR / m as f64;
    let runs: Vec<RunChange> = prepared
        .into_iter()
        .map(|(b, n, steps, figures)| {
            let figures: Vec<FigureChange> = figures
                .into_iter()
                .map(|(mut f, bs, ns)| {
                    judge(&mut f, &bs, &ns, confidence, threshold_pct);
                    f
                })
                .collect();
            RunChange {
                base_map: b.map.clone(),
                new_map: n.map.clone(),
                mix: b.mix.name.clone(),
                verdict: overall(figures.iter().map(|f| f.verdict)),
                figures,
                steps,
            }
        })
        .collect();
    Comparison {
        threshold_pct,
        confidence,
        verdict: overall(runs.iter().map(|r| r.verdict)),
        runs,
        unpaired,
    }
}

#[cfg(test)]
mod tests {
    use mapknee_load::{Knee, Step};

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

    fn steps() -> Vec<Step> {
        vec![
            step(1e5, 1e5, 1000),
            step(2e5, 2e5, 1100),
            step(4e5, 3e5, 90_000),
        ]
    }

    fn with_knee(mut r: Run, at: f64) -> Run {
        r.knee = Some(Knee {
            ops_per_sec: at,
            rule: "p99x3".into(),
            bottleneck: "lock-contention".into(),
            kneedle_ops_per_sec: None,
            kneedle: None,
            mm1_ops_per_sec: None,
            reference_model: None,
            ops_per_sec_range: None,
        });
        r
    }

    /// A run whose repetitions found these knees and peak achieved rates.
    fn repeated(map: &str, knees: &[f64], peaks: &[f64]) -> Run {
        let mut r = with_knee(run(map, "mixed", 5e5, steps()), median(knees));
        r.repetitions = knees
            .iter()
            .zip(peaks)
            .map(|(&k, &p)| Repetition {
                knee_ops_per_sec: k,
                knee_found: true,
                peak_achieved_ops_per_sec: p,
                saturated: true,
            })
            .collect();
        r
    }

    fn figure(c: &Comparison, f: Figure) -> &FigureChange {
        c.runs[0].figures.iter().find(|x| x.figure == f).unwrap()
    }

    #[test]
    fn single_runs_judge_the_knee_by_the_threshold() {
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
        assert_eq!(c.verdict, Verdict::Regressed, "{c:?}");
        assert_eq!(c.runs[0].figures.len(), 1);
        let knee = figure(&c, Figure::Knee);
        assert_eq!((knee.repetitions, knee.interval_pct), ([1, 1], None));
        assert!(c.unpaired.is_empty(), "paired by position");
        let c = compare(&slower, &base, DEFAULT_THRESHOLD_PCT);
        assert_eq!(c.verdict, Verdict::Improved);
        assert_eq!(c.runs[0].steps.len(), 3);
    }

    #[test]
    fn single_runs_without_knees_fall_back_to_capacity_then_p99() {
        let steps = || vec![step(1e5, 1e5, 1000), step(2e5, 2e5, 1000)];
        let mut a = run("rwlock", "mixed", 1e6, steps());
        let mut b = run("rwlock", "mixed", 0.5e6, steps());
        let c = compare(&results(vec![a.clone()]), &results(vec![b.clone()]), 15.0);
        assert_eq!(c.verdict, Verdict::Regressed);
        assert_eq!(c.runs[0].figures[0].figure, Figure::Capacity);
        a.capacity_ops_per_sec = None;
        b.capacity_ops_per_sec = None;
        b.steps[0].latency_ns.p99 = 1500;
        b.steps[1].latency_ns.p99 = 1600;
        let c = compare(&results(vec![a]), &results(vec![b]), 15.0);
        assert_eq!(c.verdict, Verdict::Regressed, "{c:?}");
        assert_eq!(c.runs[0].figures[0].figure, Figure::PreKneeP99);
    }

    #[test]
    fn repetitions_tell_noise_from_a_regression() {
        // One noisy distribution twice: the medians differ by 30 %, beyond
        // the threshold, but the repetitions interleave: noise.
        let base = repeated(
            "m",
            &[5e5, 3e5, 6e5, 4e5, 5.5e5],
            &[9e5, 7e5, 8e5, 9.5e5, 7.5e5],
        );
        let new = repeated(
            "m",
            &[3.5e5, 6e5, 3e5, 3.8e5, 5e5],
            &[7e5, 9e5, 8.2e5, 6.8e5, 9.4e5],
        );
        let c = compare(&results(vec![base.clone()]), &results(vec![new]), 15.0);
        let knee = figure(&c, Figure::Knee);
        assert!(knee.change_pct < -15.0, "{knee:?}");
        let [lo, hi] = knee.interval_pct.unwrap();
        assert!(lo < 0.0 && 0.0 < hi, "{knee:?}");
        assert_eq!(c.verdict, Verdict::WithinNoise, "{c:?}");
        assert_eq!(knee.repetitions, [5, 5]);

        // Tight repetitions a third lower on both figures: a regression,
        // with the true change inside the interval.
        let base = repeated(
            "m",
            &[5e5, 5.1e5, 4.9e5, 5.05e5, 4.95e5],
            &[6e5, 6.1e5, 5.9e5, 6e5, 6.05e5],
        );
        let new = repeated(
            "m",
            &[3.3e5, 3.4e5, 3.2e5, 3.35e5, 3.3e5],
            &[4e5, 4.1e5, 3.9e5, 4e5, 4.02e5],
        );
        let c = compare(
            &results(vec![base.clone()]),
            &results(vec![new.clone()]),
            15.0,
        );
        assert_eq!(c.verdict, Verdict::Regressed, "{c:?}");
        for f in &c.runs[0].figures {
            let [lo, hi] = f.interval_pct.unwrap();
            assert!(
                lo <= f.change_pct && f.change_pct <= hi && hi < -15.0,
                "{f:?}"
            );
            assert_eq!(f.verdict, Verdict::Regressed);
        }
        // The same change, the other way round, is an improvement.
        let c = compare(
            &results(vec![new.clone()]),
            &results(vec![base.clone()]),
            15.0,
        );
        assert_eq!(c.verdict, Verdict::Improved, "{c:?}");

        // Lower bounds on the lower side prove nothing: a new side whose
        // ladder never saturated it, and found no knee, may be as good.
        let mut unsaturated = new.clone();
        for r in &mut unsaturated.repetitions {
            r.saturated = false;
            r.knee_found = false;
        }
        let c = compare(
            &results(vec![base.clone()]),
            &results(vec![unsaturated.clone()]),
            15.0,
        );
        assert_eq!(c.verdict, Verdict::WithinNoise, "{c:?}");
        assert_eq!(figure(&c, Figure::Capacity).lower_bounds, [0, 5]);
        // As the base, its true values may lie above the new side's: no
        // improvement either.
        let c = compare(
            &results(vec![unsaturated]),
            &results(vec![base.clone()]),
            15.0,
        );
        assert_eq!(c.verdict, Verdict::WithinNoise, "{c:?}");

        // A tight but small change stays under the threshold.
        let near = repeated(
            "m",
            &[4.6e5, 4.65e5, 4.55e5, 4.6e5, 4.62e5],
            &[5.6e5, 5.65e5, 5.55e5, 5.6e5, 5.62e5],
        );
        let c = compare(&results(vec![base]), &results(vec![near]), 15.0);
        assert_eq!(c.verdict, Verdict::WithinNoise, "{c:?}");
    }

    #[test]
    fn intervals_widen_with_the_number_of_figures_judged() {
        let r = |map: &str| repeated(map, &[5e5, 5.1e5, 4.9e5], &[6e5, 6.1e5, 5.9e5]);
        let one = compare(&results(vec![r("a")]), &results(vec![r("a")]), 15.0);
        assert!((one.confidence - (1.0 - 0.05 / 2.0)).abs() < 1e-12);
        let many: Vec<Run> = (0..15).map(|i| r(&format!("m{i}"))).collect();
        let c = compare(&results(many.clone()), &results(many), 15.0);
        assert!((c.confidence - (1.0 - 0.05 / 30.0)).abs() < 1e-12);
        // One side without repetitions: judged as single runs, no interval.
        let c = compare(
            &results(vec![with_knee(run("a", "mixed", 5e5, steps()), 5e5)]),
            &results(vec![r("a")]),
            15.0,
        );
        assert_eq!(c.runs[0].figures.len(), 1);
        assert_eq!(c.runs[0].figures[0].interval_pct, None);
    }

    #[test]
    fn overlapping_step_intervals_are_noise() {
        let mut a = run("rwlock", "mixed", 1e6, vec![step(1e5, 1e5, 1000)]);
        let mut b = run("rwlock", "mixed", 1e6, vec![step(1e5, 1e5, 1500)]);
        a.steps[0].p99_ci_ns = Some([800.0, 1600.0]);
        b.steps[0].p99_ci_ns = Some([900.0, 1700.0]);
        let c = compare(&results(vec![a.clone()]), &results(vec![b.clone()]), 15.0);
        let s = &c.runs[0].steps[0];
        assert_eq!(s.verdict, Verdict::WithinNoise);
        let [lo, hi] = s.p99_interval_pct.unwrap();
        assert!(lo < 0.0 && s.p99_change_pct < hi, "{s:?}");
        b.steps[0].p99_ci_ns = Some([1700.0, 2000.0]);
        let c = compare(&results(vec![a]), &results(vec![b]), 15.0);
        assert_eq!(c.runs[0].steps[0].verdict, Verdict::Regressed);
    }
}
