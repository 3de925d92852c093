//! `--repeat N`: every step was run N times, interleaved with the other
//! maps; fold the repetitions of each offered rate into one step — the
//! median-p99 repetition — with an exact confidence interval of the
//! median p99 (and the coverage it actually has) and the median achieved
//! rate.

use mapknee_load::{median_step, Objective, Placement, Repetition, Run, Step};

use crate::knee::{find_knee, KneeRules};
use crate::slo::slo_capacity;

use crate::stats::{median, median_ci};

/// The coverage asked of the p99 intervals. With fewer than 6 repetitions
/// no interval of a median reaches it; the widest is stored with the
/// coverage it has (`Step::p99_ci_coverage`).
pub const CONFIDENCE: f64 = 0.95;

/// Folds repeated steps (same offered rate) of `run` into one each.
/// Steps seen once are left as they are. When the run was held to a
/// reference placement, only a rate's repetitions measured in it are
/// folded, if any was ([`Placement::placed`]); `repeats` counts those.
///
/// ```
/// # use mapknee_load::{Percentiles, Step};
/// # fn step(rate: f64, p99: u64) -> Step { Step {
/// #   target_ops_per_sec: Some(rate), achieved_ops_per_sec: rate, ops: 1,
/// #   latency_ns: Percentiles { p99, ..Default::default() }, service_ns: Default::default(),
/// #   counters: Default::default(), timeline: vec![], duration_s: 1.0, refine: false,
/// #   ..Default::default() } }
/// let steps = vec![step(1e3, 900), step(1e3, 1200), step(1e3, 1000), step(2e3, 5000)];
/// let merged = mapknee_analyze::repeat::merge_steps(&steps, None);
/// assert_eq!(merged.len(), 2);
/// assert_eq!((merged[0].latency_ns.p99, merged[0].repeats), (1000, 3));
/// let [lo, hi] = merged[0].p99_ci_ns.unwrap();
/// assert!(lo <= 1000.0 && 1000.0 <= hi);
/// // Three repetitions: [min, max], which holds the median 75 % of the time.
/// assert_eq!(merged[0].p99_ci_coverage, Some(0.75));
/// assert_eq!(merged[1].repeats, 1);
///
/// // The 1,200 ns repetition ran with the cores on two dies (210 ns per
/// // cache line, outside the band): the other two decide.
/// use mapknee_load::Placement;
/// let mut steps = steps;
/// for (s, ns) in steps.iter_mut().zip([36.0, 210.0, 34.0, 35.0]) {
///     s.coherence_ns = Some(ns);
/// }
/// let held = Placement { band_ns: [25.0, 50.0], ..Default::default() };
/// let merged = mapknee_analyze::repeat::merge_steps(&steps, Some(&held));
/// assert_eq!((merged[0].latency_ns.p99, merged[0].repeats), (900, 2));
/// ```
pub fn merge_steps(steps: &[Step], placement: Option<&Placement>) -> Vec<Step> {
    let mut groups: Vec<Vec<&Step>> = Vec::new();
    for s in steps {
        // Closed-loop and interrupted steps stay alone.
        let key = s.target_ops_per_sec.filter(|_| !s.interrupted);
        match groups
            .iter_mut()
            .find(|g| key.is_some() && g[0].target_ops_per_sec == key && !g[0].interrupted)
        {
            Some(g) => g.push(s),
            None => groups.push(vec![s]),
        }
    }
    groups
        .into_iter()
        .map(|g| {
            let owned: Vec<Step> = g.into_iter().cloned().collect();
            fold(&Placement::placed(&owned, placement))
        })
        .collect()
}

/// Folds the repetitions of one offered rate into one step: the
/// median-p99 repetition, carrying an exact interval of the median p99
/// ([`median_ci`]) with its coverage, and the median achieved rate. One
/// step is returned as it is. The staircase's bisection folds with this
/// too (`load::run_mix`), so it refines around the knee the analysis
/// reports. `group` must not be empty.
pub fn fold(group: &[Step]) -> Step {
    if group.len() == 1 {
        return group[0].clone();
    }
    let mut rep = median_step(group);
    let p99s: Vec<f64> = group.iter().map(|s| s.latency_ns.p99 as f64).collect();
    let achieved: Vec<f64> = group.iter().map(|s| s.achieved_ops_per_sec).collect();
    let ci = median_ci(&p99s, CONFIDENCE);
    rep.repeats = group.len() as u32;
    rep.p99_ci_ns = ci.map(|ci| [ci.lo, ci.hi]);
    rep.p99_ci_coverage = ci.map(|ci| ci.coverage);
    rep.achieved_ops_per_sec = median(&achieved);
    rep.refine = group.iter().any(|s| s.refine);
    rep
}

/// Splits repeated steps into repetitions, by [`Step::repetition`]; in
/// files from before it, the k-th step at each offered rate (in the order
/// they ran) belongs to repetition k. `None` when there is only one.
pub fn repetitions(steps: &[Step]) -> Option<Vec<Vec<Step>>> {
    let mut reps: Vec<Vec<Step>> = Vec::new();
    let mut put = |k: usize, s: &Step| {
        if reps.len() <= k {
            reps.resize_with(k + 1, Vec::new);
        }
        reps[k].push(s.clone());
    };
    let open = steps
        .iter()
        .filter(|s| !s.interrupted && s.target_ops_per_sec.is_some());
    if steps.iter().any(|s| s.repetition.is_some()) {
        for s in open {
            put(s.repetition.unwrap_or(0) as usize, s);
        }
    } else {
        let mut seen: Vec<(f64, usize)> = Vec::new();
        for s in open {
            let rate = s.target_ops_per_sec.unwrap_or(0.0);
            let k = match seen.iter_mut().find(|(r, _)| *r == rate) {
                Some((_, n)) => {
                    *n += 1;
                    *n - 1
                }
                None => {
                    seen.push((rate, 1));
                    0
                }
            };
            put(k, s);
        }
    }
    (reps.len() > 1).then_some(reps)
}

/// Each repetition analysed alone (see [`repetition_of`]), with its SLO
/// capacity under `objective` (`capacity`, the map's closed-loop capacity,
/// confirms a last step that fell behind past it: see
/// [`slo_capacity`]). Their spread is the noise a single run carries.
pub fn repetition_figures(
    steps: &[Step],
    capacity: Option<f64>,
    placement: Option<&Placement>,
    rules: &KneeRules,
    objective: &Objective,
) -> Vec<Repetition> {
    let Some(reps) = repetitions(steps) else {
        return Vec::new();
    };
    reps.iter()
        // One step per rate, as the staircase judged it while bisecting
        // (a midpoint measured again after the host moved the cores).
        .map(|r| merge_steps(r, placement))
        .filter(|r| r.len() >= 2)
        .map(|r| {
            let r = r.as_slice();
            let knee = find_knee(r, capacity, rules).map(|k| k.ops_per_sec);
            let mut figures = repetition_of(r, knee, rules);
            if let Some(slo) = slo_capacity(r, capacity, objective, rules) {
                // Never met counts as 0: compare reads it as the worst.
                figures.slo_ops_per_sec = Some(slo.ops_per_sec.unwrap_or(0.0));
                figures.slo_open_ended = slo.open_ended;
            }
            figures
        })
        .collect()
}

/// One staircase's figures, given its knee rate (`None`: none found): the
/// knee (its highest offered rate when it has none), its peak achieved
/// rate, and whether it saturated. `compare` also reads a whole single run
/// this way, so that several single-run files pool into repetitions.
///
/// ```
/// # use mapknee_load::Step;
/// use mapknee_analyze::{repeat::repetition_of, KneeRules};
/// let step = |rate: f64, achieved: f64| Step {
///     target_ops_per_sec: Some(rate), achieved_ops_per_sec: achieved, ..Default::default() };
/// let r = repetition_of(&[step(1e3, 1e3), step(2e3, 1.5e3)], None, &KneeRules::default());
/// assert_eq!((r.knee_ops_per_sec, r.knee_found), (2e3, false));
/// assert_eq!((r.peak_achieved_ops_per_sec, r.saturated), (1.5e3, true));
/// ```
pub fn repetition_of(steps: &[Step], knee: Option<f64>, rules: &KneeRules) -> Repetition {
    let top = steps
        .iter()
        .filter_map(|s| s.target_ops_per_sec)
        .fold(0.0, f64::max);
    Repetition {
        knee_ops_per_sec: knee.unwrap_or(top),
        knee_found: knee.is_some(),
        peak_achieved_ops_per_sec: steps
            .iter()
            .map(|s| s.achieved_ops_per_sec)
            .fold(0.0, f64::max),
        saturated: steps.iter().any(|s| rules.saturated(s)),
        slo_ops_per_sec: None,
        slo_open_ended: false,
    }
}

/// Folds a run's repetitions: records each repetition's figures (see
/// [`repetition_figures`]; its SLO capacity under `objective`) in
/// `run.repetitions`, then merges its steps ([`merge_steps`]). Call
/// [`attach_medians`] after [`crate::analyze_run`].
pub fn merge(run: &mut Run, rules: &KneeRules, objective: &Objective) {
    run.repetitions = repetition_figures(
        &run.steps,
        run.capacity_ops_per_sec,
        run.placement.as_ref(),
        rules,
        objective,
    );
    run.steps = merge_steps(&run.steps, run.placement.as_ref());
}

/// Reads the run's knee and SLO capacity off its repetitions (call after
/// [`crate::analyze_run`] and [`crate::slo::attach_run`]); a run without
/// repetitions keeps those of its one curve.
///
/// - The knee: the median of the repetitions' knees (one without a knee
///   counts at its highest rate, a lower bound, as `compare` counts it),
///   with their range. Each repetition found its knee on its own steps,
///   bisection included (see `mapknee_load::run_mixes`), so the median is
///   of independent readings; the rule and the cause stay those read at
///   the knee of the run's folded curve.
/// - The SLO capacity, when every repetition recorded one: the median of
///   theirs (one that never met the objective counts as 0, as `compare`
///   counts it; a median of 0 is "never met"), open-ended when most of them
///   were; the base and the highest rate met stay the folded curve's.
pub fn attach_medians(run: &mut Run) {
    if run.repetitions.is_empty() {
        return;
    }
    let knees: Vec<f64> = run.repetitions.iter().map(|r| r.knee_ops_per_sec).collect();
    let lo = knees.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = knees.iter().copied().fold(0.0, f64::max);
    if let Some(knee) = run.knee.as_mut() {
        knee.ops_per_sec = median(&knees);
        knee.ops_per_sec_range = Some([lo, hi]);
    }
    let caps: Option<Vec<f64>> = run.repetitions.iter().map(|r| r.slo_ops_per_sec).collect();
    if let (Some(caps), Some(slo)) = (caps, run.slo.as_mut()) {
        let m = median(&caps);
        slo.ops_per_sec = (m > 0.0).then_some(m);
        let open = run.repetitions.iter().filter(|r| r.slo_open_ended).count();
        slo.open_ended = 2 * open > caps.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::step;

    #[test]
    fn each_repetition_gets_its_own_knee() {
        // Two repetitions of a 5-rate ladder, interleaved as the staircase
        // runs them: rep 0 breaks at 3k, rep 1 at 4k (each confirmed by the
        // next rate).
        let steps = vec![
            step(1e3, 1e3, 100),
            step(1e3, 1e3, 110),
            step(2e3, 2e3, 120),
            step(2e3, 2e3, 100),
            step(3e3, 3e3, 900),
            step(3e3, 3e3, 150),
            step(4e3, 4e3, 990),
            step(4e3, 4e3, 800),
            step(5e3, 5e3, 990),
            step(5e3, 5e3, 800),
        ];
        let reps = repetitions(&steps).unwrap();
        assert_eq!(reps.len(), 2);
        assert!(reps.iter().all(|r| r.len() == 5));
        let objective = crate::slo::DEFAULT_OBJECTIVE;
        let figures = repetition_figures(&steps, None, None, &KneeRules::default(), &objective);
        let mut knees: Vec<f64> = figures.iter().map(|r| r.knee_ops_per_sec).collect();
        knees.sort_by(f64::total_cmp);
        // Each where its p99 crosses the line, between the step below and
        // the knee step.
        assert!(knees[0] > 2e3 && knees[0] < 3e3, "{knees:?}");
        assert!(knees[1] > 3e3 && knees[1] < 4e3, "{knees:?}");
        assert!(figures.iter().all(|r| r.knee_found));
        assert!(figures.iter().all(|r| r.peak_achieved_ops_per_sec == 5e3));
        assert!(figures.iter().all(|r| !r.saturated), "every step kept up");
        // Every p99 is far inside 1 ms: each held it through its top rate.
        assert!(figures
            .iter()
            .all(|r| r.slo_ops_per_sec == Some(5e3) && r.slo_open_ended));
        // Under 500 ns, rep 0 (900 ns at 3e3, then 990, 990) broke it at
        // 3e3; rep 1 (150 ns at 3e3, then 800, 800) at 4e3: each capacity
        // lies where its p99 crosses 500 ns, between the met step and that.
        let tight: Objective = "p99<=500ns".parse().unwrap();
        let mut slo: Vec<f64> =
            repetition_figures(&steps, None, None, &KneeRules::default(), &tight)
                .iter()
                .map(|r| r.slo_ops_per_sec.unwrap())
                .collect();
        slo.sort_by(f64::total_cmp);
        assert!(slo[0] > 2e3 && slo[0] < 3e3, "{slo:?}");
        assert!(slo[1] > 3e3 && slo[1] < 4e3, "{slo:?}");
        assert!(repetitions(&steps[..1]).is_none());
    }

    #[test]
    fn repetitions_follow_their_marks_and_the_run_knee_is_their_median() {
        // Three repetitions over one ladder (1k–4k), each bisected on its
        // own: rep 0 breaks at 2k, rep 1 at 3k, rep 2 at 4k (confirmed at
        // 5k, a rung only it measured); their midpoints, 1.5k, 2.5k and
        // 3.5k, are rates no other repetition measured. Listed in an order
        // that pairing by rate would misread.
        let mark = |rep: u32, rate: f64, p99: u64| Step {
            repetition: Some(rep),
            ..step(rate, rate, p99)
        };
        let mut steps = Vec::new();
        for rate in [1e3, 2e3, 3e3, 4e3] {
            for (rep, breaks) in [(0, 2e3), (1, 3e3), (2, 4e3)] {
                steps.push(mark(rep, rate, if rate >= breaks { 900 } else { 100 }));
            }
        }
        steps.push(mark(2, 5e3, 900));
        steps.push(mark(2, 3.5e3, 100));
        steps.push(mark(1, 2.5e3, 100));
        steps.push(mark(0, 1.5e3, 100));
        let reps = repetitions(&steps).unwrap();
        let sizes: Vec<usize> = reps.iter().map(Vec::len).collect();
        assert_eq!(sizes, [5, 5, 6]);
        assert!(reps
            .iter()
            .enumerate()
            .all(|(k, r)| r.iter().all(|s| s.repetition == Some(k as u32))));
        let objective = crate::slo::DEFAULT_OBJECTIVE;
        let figures = repetition_figures(&steps, None, None, &KneeRules::default(), &objective);
        let knees: Vec<f64> = figures.iter().map(|r| r.knee_ops_per_sec).collect();
        // Each between its own midpoint and its break.
        for (k, (lo, hi)) in [(1.5e3, 2e3), (2.5e3, 3e3), (3.5e3, 4e3)]
            .into_iter()
            .enumerate()
        {
            assert!(knees[k] > lo && knees[k] < hi, "{knees:?}");
        }
        let mut run = crate::fixtures::run("rwlock", "mixed", 6e3, steps);
        run.repetitions = figures;
        run.knee = Some(mapknee_load::Knee {
            ops_per_sec: 1.0,
            rule: "p99x3".into(),
            bottleneck: "cpu".into(),
            kneedle_ops_per_sec: None,
            kneedle: None,
            ops_per_sec_range: None,
            mm1_ops_per_sec: None,
            reference_model: None,
        });
        attach_medians(&mut run);
        let knee = run.knee.unwrap();
        assert_eq!(knee.ops_per_sec, knees[1]);
        assert_eq!(knee.ops_per_sec_range, Some([knees[0], knees[2]]));
    }

    #[test]
    fn the_run_slo_capacity_is_the_repetitions_median() {
        let rep = |slo: f64, open: bool| Repetition {
            slo_ops_per_sec: Some(slo),
            slo_open_ended: open,
            ..repetition_of(&[], None, &KneeRules::default())
        };
        let mut run = crate::fixtures::run("rwlock", "mixed", 6e3, Vec::new());
        let folded = mapknee_load::SloCapacity {
            ops_per_sec: Some(1.0),
            ..Default::default()
        };
        run.slo = Some(folded.clone());
        run.repetitions = vec![
            rep(3e3, false),
            rep(0.0, false),
            rep(5e3, true),
            rep(4e3, true),
        ];
        attach_medians(&mut run);
        let slo = run.slo.clone().unwrap();
        assert_eq!((slo.ops_per_sec, slo.open_ended), (Some(3.5e3), false));
        // Most never met it: never met.
        run.repetitions = vec![rep(0.0, false), rep(0.0, false), rep(5e3, true)];
        attach_medians(&mut run);
        assert_eq!(run.slo.as_ref().unwrap().ops_per_sec, None);
        // A repetition without one: the folded curve's stays.
        run.slo = Some(folded.clone());
        run.repetitions[0].slo_ops_per_sec = None;
        attach_medians(&mut run);
        assert_eq!(run.slo, Some(folded));
    }

    #[test]
    fn a_repetition_behind_only_at_the_top_past_capacity_has_a_knee() {
        // Rep 0 breaks at 3e3, confirmed by 4e3 (the run's knee). Rep 1
        // kept under its line through 3e3 and fell behind only at the top,
        // 4e3, with nothing past it: no knee of its own (a lower bound at
        // 4e3) unless the capacity (3.5e3) says the map cannot carry 4e3.
        let steps = vec![
            step(1e3, 1e3, 100),
            step(1e3, 1e3, 100),
            step(2e3, 2e3, 100),
            step(2e3, 2e3, 100),
            step(3e3, 3e3, 900),
            step(3e3, 3e3, 150),
            step(4e3, 3.2e3, 9_000),
            step(4e3, 3.2e3, 9_000),
        ];
        let objective = crate::slo::DEFAULT_OBJECTIVE;
        let rules = KneeRules::default();
        let unconfirmed = repetition_figures(&steps, None, None, &rules, &objective);
        assert_eq!(
            unconfirmed.iter().map(|r| r.knee_found).collect::<Vec<_>>(),
            [true, false]
        );
        assert_eq!(unconfirmed[1].knee_ops_per_sec, 4e3);
        let confirmed = repetition_figures(&steps, Some(3.5e3), None, &rules, &objective);
        assert!(confirmed.iter().all(|r| r.knee_found), "{confirmed:?}");
        let k = confirmed[1].knee_ops_per_sec;
        assert!(k > 3e3 && k < 4e3, "{k}");
    }
}
