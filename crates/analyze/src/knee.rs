//! Knee detection by rules.
//!
//! The knee is where the p99 curve turns upward: where the tail stops
//! growing with the load the way it did below and starts to climb. A step
//! is past the knee when either rule fires:
//! - `p99x3` — its corrected p99 is at least J × the *reference* p99 (J = 3
//!   by default; the rule's name carries J, e.g. `p99x4` for J = 4) and at
//!   least J × the noise floor at its rate (the `noop` map's p99, when the
//!   run measured it: a knee is where the map departs from what the harness
//!   and the machine do with no map at all) and at least J × the step's own
//!   typical stall (the longest gap the machine took from a waiting worker
//!   in the step's typical 10 ms window: [`mapknee_load::Stalls`]). A stall
//!   of L delays the transactions due during it by up to L, so a tail of
//!   the order of L can be the machine's alone; like the reference and the
//!   floor, the stall is the machine's noise at this step, and the tail must
//!   reach J times it. Why the stall and not only the noise floor: the floor
//!   is measured at another moment, and on the development VM the `noop`
//!   map's typical p99 at neighbouring rates of one run read 18.6, 2.5 and
//!   9.0 µs while the workers' typical stall in the same steps stayed at
//!   44–60 µs (the timer tick there cost 20–50 µs). Why J × and not 1 ×,
//!   measured on the same VM (`benchsuite/runs/2026-12-01-vm9`): in pairs
//!   of default runs on a steady machine, J × put 51 of 60 knees within
//!   20 % of the other run's with no order flip, 1 × 31 of 45 with one; the
//!   median knee / closed-loop capacity stayed at 0.74–0.76 (as before the
//!   stall, 0.75–0.76) while its 10th percentile rose from 0.33–0.49 to
//!   0.54–0.58: J × removes early knees the machine made, it does not push
//!   knees toward saturation. The reference is the larger of
//!   - the *base*: of the three lowest-rate steps, the one with the median
//!     p99 (one spike at the lowest rate cannot move every knee), and
//!   - the p99 at *half* the step's rate, read off the curve below it
//!     (log-log interpolation between the two steps around it).
//!
//!   So the tail must triple while the load merely doubles. A tail that
//!   drifts up with the rate — on a shared machine, interrupts and the
//!   host's noise delay a growing number of transactions as the rate rises,
//!   slowly, long before the map queues — crosses "3 × the lowest step" at
//!   a rate that depends on how quiet the lowest step happened to be; it
//!   never triples in one doubling. A queue does: M/M/1's p99 does at 80 %
//!   utilisation, whatever its base.
//! - `throughput` — it completed less than 95 % of the arrivals actually
//!   generated in its window (with Poisson arrivals these differ from the
//!   nominal rate by chance).
//!
//! With `--repeat`, each repetition's knee is found on its own steps, base
//! included (the staircase bisects each repetition's knee on its own), and
//! the run's knee is the median of theirs
//! ([`crate::repeat::attach_medians`]). On the folded curve, where the
//! rule and the cause are read, steps and base are both the median-p99
//! repetition of their rate: the same statistic on both sides.
//!
//! The knee step is the first step, by offered rate, past its line *and
//! confirmed*: the next higher step — a fresh measurement — is past the
//! same line too ([`mapknee_load::first_knee`]). The knee *rate* is where
//! the p99 crosses the line between the step below and the knee step
//! ([`crossing_rate`]), not the knee step's own rate, which would round
//! every knee up to the next rate measured. One isolated p99 spike (a
//! preemption on a shared machine) is not a knee, and neither is a bad last
//! step: nothing confirmed it — unless it fell behind at an offered rate
//! above the map's closed-loop capacity ([`find_knee`]). When both rules fire on the knee step the
//! rule reads `p99x3+throughput`. Steps cut short by Ctrl-C and closed-loop
//! steps are ignored.
//!
//! The rules decide; Kneedle (see [`crate::kneedle`]) then says whether the
//! p99 curve's own knee agrees, and `analyze_run` records its answer.

use mapknee_load::{baseline, first_knee, open_loop_curve, Step};

/// The reference for a step at rate r is the p99 at r × HALF.
const HALF: f64 = 0.5;

/// The knee rules' parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KneeRules {
    /// J: p99 at least this multiple of the reference p99 is past the knee.
    pub p99_factor: f64,
    /// Achieved below this share of offered is past the knee.
    pub min_achieved_ratio: f64,
}

impl Default for KneeRules {
    fn default() -> Self {
        KneeRules {
            p99_factor: 3.0,
            min_achieved_ratio: 0.95,
        }
    }
}

/// A knee rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// p99 ≥ J × the reference p99.
    P99,
    /// achieved < 95 % of offered.
    Throughput,
}

impl KneeRules {
    /// The name results carry for `rule`: `p99x3` (with this J) or `throughput`.
    pub fn name(&self, rule: Rule) -> String {
        match rule {
            Rule::P99 => format!("p99x{}", self.p99_factor),
            Rule::Throughput => "throughput".into(),
        }
    }

    /// Whether `step` falls short of its offered rate: of the arrivals
    /// generated in its window when it counted them, else of the nominal
    /// rate (results from before `arrivals` was recorded).
    pub fn saturated(&self, step: &Step) -> bool {
        if step.target_ops_per_sec.is_none() {
            return false;
        }
        if step.arrivals > 0 {
            return (step.ops as f64) < self.min_achieved_ratio * step.arrivals as f64;
        }
        step.target_ops_per_sec
            .is_some_and(|t| step.achieved_ops_per_sec < self.min_achieved_ratio * t)
    }

    /// Whether `step` fell behind (the throughput rule) at an offered rate
    /// above `capacity`, the map's closed-loop capacity from the run's
    /// probes: a break that needs no fresher measurement to confirm it,
    /// since the probes, measured apart from it, showed the map cannot
    /// carry that rate. The knee and the SLO capacity both take such a
    /// last step as confirmed.
    pub fn behind_past_capacity(&self, step: &Step, capacity: Option<f64>) -> bool {
        capacity.is_some_and(|c| c > 0.0 && step.target_ops_per_sec.is_some_and(|r| r > c))
            && self.saturated(step)
    }

    /// Whether `step` is past the knee line drawn at `at` on `curve` (see
    /// [`mapknee_load::Past`]): the shape the staircase's bisection takes.
    pub fn past(&self, curve: &[Step], at: &Step, step: &Step) -> bool {
        !step_rules(curve, at, step, self).is_empty()
    }
}

/// The reference p99 (ns) of a step at `at`'s rate on `curve` (one step
/// per rate, by rate): the larger of the base and the p99 at half that
/// rate. `None` when the curve is empty.
///
/// ```
/// # use mapknee_load::{Percentiles, Step};
/// # let step = |rate: f64, p99| Step { target_ops_per_sec: Some(rate),
/// #     latency_ns: Percentiles { p99, ..Default::default() }, ..Default::default() };
/// use mapknee_analyze::knee::reference_p99_ns;
/// let curve = [step(1e3, 1_000), step(2e3, 1_000), step(4e3, 1_000),
///              step(8e3, 4_000), step(16e3, 40_000)];
/// // At 16k: the p99 at 8k. At 12k: the p99 at 6k, between 4k and 8k on
/// // log-log axes: 1,000 × 4^(ln 1.5 / ln 2) = 2,250.
/// assert_eq!(reference_p99_ns(&curve, &curve[4]), Some(4_000.0));
/// assert_eq!(reference_p99_ns(&curve, &step(12e3, 0)).map(f64::round), Some(2_250.0));
/// // Below the base's rates the base (1,000) holds.
/// assert_eq!(reference_p99_ns(&curve, &curve[1]), Some(1_000.0));
/// ```
pub fn reference_p99_ns(curve: &[Step], at: &Step) -> Option<f64> {
    if curve.is_empty() {
        return None;
    }
    let base = baseline(curve).rule_p99_ns() as f64;
    let rate = at.target_ops_per_sec.unwrap_or(0.0);
    Some(base.max(p99_at(curve, rate * HALF, rate).unwrap_or(0.0)))
}

/// The p99 at rate `x` on `curve`, read only from steps below `limit`:
/// interpolated (log-log) between the steps around `x`, the nearest step
/// below `x` when none lies above it, `None` when none lies below. The
/// curve is first made non-decreasing from above (each step's p99 is at
/// most any higher rate's): a spike, which the next step does not repeat,
/// would otherwise raise the line of every step at twice its rate and hide
/// the knee behind it.
fn p99_at(curve: &[Step], x: f64, limit: f64) -> Option<f64> {
    let mut points: Vec<(f64, f64)> = curve
        .iter()
        .filter_map(|s| Some((s.target_ops_per_sec?, s.rule_p99_ns().max(1) as f64)))
        .filter(|&(r, _)| r > 0.0 && r < limit)
        .collect();
    let mut floor = f64::INFINITY;
    for p in points.iter_mut().rev() {
        floor = floor.min(p.1);
        p.1 = floor;
    }
    let below = points.iter().rev().find(|&&(r, _)| r <= x)?;
    let Some(above) = points.iter().find(|&&(r, _)| r > x) else {
        return Some(below.1);
    };
    let t = (x / below.0).ln() / (above.0 / below.0).ln();
    Some((below.1.ln() + t * (above.1 / below.1).ln()).exp())
}

/// The rules `step` breaks against the line drawn at `at` on `curve` (one
/// step per rate, by rate; `at` = `step` for a step's own verdict), in the
/// order p99, throughput.
///
/// ```
/// use mapknee_analyze::{step_rules, KneeRules, Rule};
/// # use mapknee_load::{Step, Percentiles};
/// # fn step(rate: f64, achieved: f64, p99: u64) -> Step { Step {
/// #   target_ops_per_sec: Some(rate), achieved_ops_per_sec: achieved, ops: 1,
/// #   latency_ns: Percentiles { p99, ..Default::default() }, duration_s: 1.0,
/// #   ..Default::default() } }
/// let r = KneeRules::default();
/// let curve = [step(1e3, 1e3, 1000)];
/// let at = |s: &Step| step_rules(&curve, s, s, &r);
/// assert!(at(&step(2e3, 2e3, 2999)).is_empty());
/// assert_eq!(at(&step(2e3, 2e3, 3000)), [Rule::P99]);
/// assert_eq!(at(&step(2e3, 1.8e3, 10)), [Rule::Throughput]);
/// ```
pub fn step_rules(curve: &[Step], at: &Step, step: &Step, rules: &KneeRules) -> Vec<Rule> {
    let mut fired = Vec::new();
    if step.interrupted || step.target_ops_per_sec.is_none() {
        return fired;
    }
    if let Some(line) = line_ns(curve, at, step) {
        if step.ops > 0 && step.rule_p99_ns() as f64 >= rules.p99_factor * line {
            fired.push(Rule::P99);
        }
    }
    if rules.saturated(step) {
        fired.push(Rule::Throughput);
    }
    fired
}

/// The p99 (ns) that J times marks the knee for `step`, drawn at `at`:
/// the reference there, or, if higher, the noise floor at `step`'s rate or
/// the machine's stalls during `step` itself (its typical window's longest
/// stall).
fn line_ns(curve: &[Step], at: &Step, step: &Step) -> Option<f64> {
    let floor = step.floor_p99_ns.unwrap_or(0);
    let stall = step.stalls.map_or(0, |s| s.typical_longest_ns);
    Some(reference_p99_ns(curve, at)?.max(floor.max(stall) as f64))
}

/// Where the knee is in a run's steps.
#[derive(Debug, Clone, PartialEq)]
pub struct KneeAt {
    /// Index of the knee step in the slice given to [`find_knee`].
    pub index: usize,
    /// The rule(s) that fired, e.g. `p99x3`, `throughput`, `p99x3+throughput`.
    pub rule: String,
    /// The knee rate, txn/s: where the p99 reaches the knee step's line,
    /// between the step below and the knee step ([`crossing_rate`]).
    pub ops_per_sec: f64,
}

/// The rate at which the p99 crosses J × its line, read between the step
/// below the knee (`curve[at − 1]`) and the knee step (`curve[at]`): the
/// ratio p99 / (J × line) of each, interpolated on log-log axes to 1.
///
/// Why not the knee step's rate: the knee lies somewhere between the two
/// steps, and reporting the upper one rounds it up by a whole rate
/// interval. Two runs whose p99 curves are all but equal then report knees
/// a whole interval apart (a ladder's rates are ~1.2–1.5× apart) as soon as
/// one step lands on the other side of its line. The crossing moves with
/// the curve, not in jumps.
///
/// The knee step's own rate when there is no step below, when the step
/// below is past its own line already (an unconfirmed spike), or when only
/// the throughput rule fired (no p99 crossing to read).
///
/// ```
/// # use mapknee_load::{Percentiles, Step};
/// # let step = |rate: f64, p99| Step { target_ops_per_sec: Some(rate), ops: 1,
/// #     achieved_ops_per_sec: rate, duration_s: 1.0,
/// #     latency_ns: Percentiles { p99, ..Default::default() }, ..Default::default() };
/// use mapknee_analyze::knee::{crossing_rate, KneeRules};
/// // Base 1,000 ns, line 3,000 ns. 4k: 1,500 (half of it); 8k: 6,000
/// // (twice it; its reference, the p99 at 4k, is 1,500): the crossing is
/// // halfway on log axes, at 4k × 2^0.5.
/// let curve = [step(1e3, 1_000), step(2e3, 1_000), step(4e3, 1_500), step(8e3, 9_000)];
/// let k = crossing_rate(&curve, 3, &KneeRules::default());
/// assert_eq!(k.round(), (4e3 * 2f64.sqrt()).round());
/// ```
pub fn crossing_rate(curve: &[Step], at: usize, rules: &KneeRules) -> f64 {
    let knee = &curve[at];
    let rate = knee.target_ops_per_sec.unwrap_or(knee.achieved_ops_per_sec);
    let Some(below) = at.checked_sub(1).map(|i| &curve[i]) else {
        return rate;
    };
    // p99 over J × its own line; `None` without a reference.
    let ratio = |s: &Step| -> Option<f64> {
        let line = line_ns(curve, s, s)?;
        (line > 0.0).then(|| s.rule_p99_ns().max(1) as f64 / (rules.p99_factor * line))
    };
    let (Some(r0), Some(r1), Some(lo)) = (ratio(below), ratio(knee), below.target_ops_per_sec)
    else {
        return rate;
    };
    if r0 >= 1.0 || r1 < 1.0 || lo <= 0.0 || rate <= lo {
        return rate;
    }
    log_log_crossing(lo, r0, rate, r1)
}

/// The rate between `lo` and `hi` at which a figure that stands at `r0` ×
/// its line at `lo` and `r1` × at `hi` (`r0 ≤ 1 ≤ r1`, `r0 < r1`, both
/// rates positive) reaches the line, read on log-log axes: the knee rate
/// ([`crossing_rate`]) and the SLO capacity ([`crate::slo::slo_capacity`])
/// are both read this way. `lo` itself when `r0` is exactly 1.
pub(crate) fn log_log_crossing(lo: f64, r0: f64, hi: f64, r1: f64) -> f64 {
    let t = (1.0 / r0).ln() / (r1 / r0).ln();
    lo * (hi / lo).powf(t)
}

/// Indices of the open-loop steps not cut short, by offered rate: the
/// curve every knee method reads.
pub fn open_loop_order(steps: &[Step]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..steps.len())
        .filter(|&i| !steps[i].interrupted && steps[i].target_ops_per_sec.is_some())
        .collect();
    order.sort_by(|&a, &b| {
        let rate = |i: usize| steps[i].target_ops_per_sec.unwrap_or(0.0);
        rate(a).total_cmp(&rate(b))
    });
    order
}

/// The first confirmed step past the knee, by offered rate (the slice need
/// not be sorted), or `None` when every step keeps up. `capacity` is the
/// map's closed-loop capacity, if known: a last step that fell behind above
/// it is confirmed ([`KneeRules::behind_past_capacity`]).
///
/// Why the capacity confirms a last step: a run's knee is read on the
/// median of its repetitions, and the staircase measures past that curve's
/// knee, but each repetition is also read alone (its spread is the
/// interval `compare` judges by). When a repetition's own steps stayed
/// under their lines up to the ladder's top (1.2 × the largest capacity),
/// its only step past the line was that top, with nothing past it, and the
/// repetition counted as finding no knee: a lower bound at the top rate.
/// In 277 of 2,410 stored runs with repetitions some repetitions had no
/// knee while the run had one; in a same-build pair of default runs of
/// 2026-12-02 (`benchsuite/runs/2026-12-02-vm17/slo-pairs2`, pair 2) four
/// of `sharded` mixed's five repetitions read so, 9.15M/s against the
/// run's own knee of 5.87M/s, and `compare` called the other run's 5.07M/s
/// a 45 % regression.
pub fn find_knee(steps: &[Step], capacity: Option<f64>, rules: &KneeRules) -> Option<KneeAt> {
    let order = open_loop_order(steps);
    let curve = open_loop_curve(steps);
    let past = |c: &[Step], at: &Step, s: &Step| rules.past(c, at, s);
    let at = first_knee(&curve, &past).or_else(|| {
        let last = curve.len().checked_sub(1)?;
        rules
            .behind_past_capacity(&curve[last], capacity)
            .then_some(last)
    })?;
    let knee = &curve[at];
    Some(KneeAt {
        index: order[at],
        ops_per_sec: crossing_rate(&curve, at, rules),
        rule: step_rules(&curve, knee, knee, rules)
            .iter()
            .map(|&r| rules.name(r))
            .collect::<Vec<_>>()
            .join("+"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::step;

    #[test]
    fn flat_staircase_has_no_knee() {
        let steps: Vec<Step> = (1..=6)
            .map(|i| step(i as f64 * 1e4, i as f64 * 1e4 * 0.99, 2_000 + i * 100))
            .collect();
        assert_eq!(find_knee(&steps, None, &KneeRules::default()), None);
    }

    #[test]
    fn p99_rule_fires_at_three_times_base() {
        let steps = vec![
            step(1e4, 1e4, 1_000),
            step(2e4, 2e4, 1_100),
            step(3e4, 3e4, 1_200),
            step(4e4, 4e4, 3_300),
            step(5e4, 5e4, 9_000),
        ];
        let k = find_knee(&steps, None, &KneeRules::default()).unwrap();
        assert_eq!((k.index, k.rule.as_str()), (3, "p99x3"));
    }

    #[test]
    fn the_knee_rate_is_where_the_p99_crosses_its_line() {
        // Base 1,100, line 3,300 at 3e4 and 4e4 (their half-rate p99s are
        // lower). 3e4: 1,650 (half the line); 4e4: 6,600 (twice it): the
        // crossing is halfway between on log axes.
        let steps = vec![
            step(1e4, 1e4, 1_000),
            step(2e4, 2e4, 1_100),
            step(3e4, 3e4, 1_650),
            step(4e4, 4e4, 6_600),
            step(5e4, 5e4, 9_000),
        ];
        let k = find_knee(&steps, None, &KneeRules::default()).unwrap();
        assert_eq!(k.index, 3);
        assert!((k.ops_per_sec - (3e4f64 * 4e4).sqrt()).abs() < 1.0, "{k:?}");
        // Moving the step below closer to the line moves the knee with it,
        // continuously, towards the step below.
        let mut closer = steps.clone();
        closer[2] = step(3e4, 3e4, 3_000);
        let c = find_knee(&closer, None, &KneeRules::default()).unwrap();
        assert_eq!(c.index, 3);
        assert!(
            c.ops_per_sec > 3e4 && c.ops_per_sec < k.ops_per_sec,
            "{c:?}"
        );
    }

    #[test]
    fn a_knee_by_throughput_alone_is_its_steps_rate() {
        let steps = vec![
            step(1e4, 1e4, 1_000),
            step(2e4, 2e4, 1_000),
            step(3e4, 2.5e4, 1_000),
            step(4e4, 2.6e4, 1_000),
        ];
        let k = find_knee(&steps, None, &KneeRules::default()).unwrap();
        assert_eq!(
            (k.index, k.rule.as_str(), k.ops_per_sec),
            (2, "throughput", 3e4)
        );
    }

    #[test]
    fn the_base_is_the_median_of_the_three_lowest_steps() {
        // A spike at the lowest rate would make base 1,000 and the knee
        // 4e4; a low outlier would make it 100 and the knee 2e4. The
        // median of the three lowest (1,100) puts it at 5e4.
        for first in [1_000, 100] {
            let steps = vec![
                step(1e4, 1e4, first),
                step(2e4, 2e4, 1_100),
                step(3e4, 3e4, 1_200),
                step(4e4, 4e4, 3_200),
                step(5e4, 5e4, 3_600),
                step(6e4, 6e4, 9_000),
            ];
            let k = find_knee(&steps, None, &KneeRules::default()).unwrap();
            assert_eq!(k.index, 4, "lowest step p99 {first}");
        }
    }

    #[test]
    fn the_steps_own_stalls_raise_the_line() {
        let r = KneeRules::default();
        let base = step(1e3, 1e3, 1_000);
        let curve = [base.clone()];
        // 5 µs is 5x the base: past the line, unless the machine stalled
        // the workers for 2 µs in the step's typical window (the line is
        // then J × 2 µs = 6 µs).
        let mut s = step(2e3, 2e3, 5_000);
        assert_eq!(step_rules(&curve, &s, &s, &r), [Rule::P99]);
        s.stalls = Some(mapknee_load::Stalls {
            typical_longest_ns: 2_000,
            ..Default::default()
        });
        assert!(step_rules(&curve, &s, &s, &r).is_empty());
        s.latency_ns.p99 = 6_000;
        assert_eq!(step_rules(&curve, &s, &s, &r), [Rule::P99]);
    }

    #[test]
    fn the_noise_floor_raises_the_line() {
        let r = KneeRules::default();
        let curve = [step(1e3, 1e3, 1_000)];
        let judge = |s: &Step| step_rules(&curve, s, s, &r);
        let mut s = step(2e3, 2e3, 4_000);
        assert_eq!(judge(&s), [Rule::P99]);
        // The no-op map itself showed 2,000 ns at this rate: 4,000 is only
        // twice what the machine does with no map.
        s.floor_p99_ns = Some(2_000);
        assert!(judge(&s).is_empty());
        s.latency_ns.p99 = 6_000;
        assert_eq!(judge(&s), [Rule::P99]);
    }

    #[test]
    fn throughput_rule_judges_the_arrivals_generated() {
        let steps = vec![
            step(1e4, 1e4, 1_000),
            step(2e4, 1.91e4, 1_100), // 95.5 %: keeps up
            step(3e4, 2.8e4, 1_200),  // 93 %: past the knee
            step(4e4, 3e4, 1_200),
        ];
        let k = find_knee(&steps, None, &KneeRules::default()).unwrap();
        assert_eq!((k.index, k.rule.as_str()), (2, "throughput"));
        // Poisson arrivals generated only 29,000 in the 3e4 step's window:
        // 28,000 completed is 96.6 % of them, so it kept up.
        let r = KneeRules::default();
        let mut s = step(3e4, 2.8e4, 1_200);
        s.arrivals = 29_000;
        assert!(!r.saturated(&s));
        s.arrivals = 30_000;
        assert!(r.saturated(&s));
    }

    #[test]
    fn both_rules_are_named_and_the_factor_is_configurable() {
        let steps = vec![
            step(1e4, 1e4, 1_000),
            step(2e4, 2e4, 1_000),
            step(3e4, 3e4, 1_100),
            step(4e4, 1e4, 5_000),
            step(5e4, 1e4, 9_000),
        ];
        let k = find_knee(&steps, None, &KneeRules::default()).unwrap();
        assert_eq!((k.index, k.rule.as_str()), (3, "p99x3+throughput"));
        let strict = KneeRules {
            p99_factor: 6.0,
            ..Default::default()
        };
        assert_eq!(find_knee(&steps, None, &strict).unwrap().rule, "throughput");
    }

    #[test]
    fn unsorted_steps_are_read_by_rate_and_interrupted_ones_skipped() {
        let mut cut = step(1.5e4, 10.0, 900_000);
        cut.interrupted = true;
        let steps = vec![
            step(3e4, 3e4, 4_000),
            step(1e4, 1e4, 1_000),
            cut,
            step(2e4, 2e4, 1_100),
            step(4e4, 4e4, 5_000),
        ];
        let k = find_knee(&steps, None, &KneeRules::default()).unwrap();
        assert_eq!(k.index, 0);
    }

    #[test]
    fn an_isolated_spike_is_not_a_knee() {
        let steps = vec![
            step(1e4, 1e4, 1_000),
            step(2e4, 2e4, 1_000),
            step(3e4, 3e4, 9_000), // a preemption, say
            step(4e4, 4e4, 1_100),
            step(5e4, 5e4, 5_000),
            step(6e4, 5e4, 8_000),
        ];
        let k = find_knee(&steps, None, &KneeRules::default()).unwrap();
        assert_eq!((k.index, k.rule.as_str()), (4, "p99x3"));
    }

    #[test]
    fn a_tail_that_drifts_up_with_the_rate_is_not_a_knee() {
        // p99 ∝ rate^0.6 over a 16x range: 5.3x the lowest step at the
        // top, but never 3x within one doubling. A rule against the lowest
        // steps alone puts a knee at 1.6e5; only saturation is one here.
        let mut steps: Vec<Step> = (0..5)
            .map(|k| {
                let rate = 1e4 * 2f64.powi(k);
                step(rate, rate, (1_000.0 * 2f64.powf(0.6 * k as f64)) as u64)
            })
            .collect();
        assert_eq!(find_knee(&steps, None, &KneeRules::default()), None);
        steps.push(step(3.2e5, 2e5, 9_000));
        steps.push(step(6.4e5, 2e5, 90_000));
        let k = find_knee(&steps, None, &KneeRules::default()).unwrap();
        assert_eq!((k.index, k.rule.as_str()), (5, "throughput"));
    }

    #[test]
    fn a_last_step_behind_past_the_closed_loop_capacity_confirms_the_knee() {
        // The ladder's top (8e4) is the only step past its line: 20 µs is
        // past 3 × 1,000 ns, and it completed 60 % of its arrivals.
        let steps = vec![
            step(1e4, 1e4, 1_000),
            step(2e4, 2e4, 1_000),
            step(4e4, 4e4, 1_000),
            step(6e4, 6e4, 2_000),
            step(8e4, 4.8e4, 20_000),
        ];
        let r = KneeRules::default();
        // Nothing past it: unconfirmed, with no capacity or one above it.
        assert_eq!(find_knee(&steps, None, &r), None);
        assert_eq!(find_knee(&steps, Some(9e4), &r), None);
        // The probes carried 6.6e4 at most: the map cannot carry 8e4, and
        // the knee is read between 6e4 and 8e4 as any other.
        let k = find_knee(&steps, Some(6.6e4), &r).unwrap();
        assert_eq!((k.index, k.rule.as_str()), (4, "p99x3+throughput"));
        assert!(k.ops_per_sec > 6e4 && k.ops_per_sec < 8e4, "{k:?}");
        // A last step that kept up is not confirmed by the capacity: its
        // p99 alone may be a spike.
        let mut kept_up = steps.clone();
        kept_up[4] = step(8e4, 8e4, 20_000);
        assert_eq!(find_knee(&kept_up, Some(6.6e4), &r), None);
        // An earlier confirmed knee stays the knee.
        let mut earlier = steps.clone();
        earlier[3] = step(6e4, 6e4, 5_000);
        let e = find_knee(&earlier, Some(6.6e4), &r).unwrap();
        assert_eq!(e.index, 3);
    }

    #[test]
    fn an_mm1_queue_knees_at_four_fifths_of_capacity() {
        // M/M/1's p99 is ln(100)/(mu - lambda): it triples over one doubling
        // of the rate at rho = 0.8, whatever the base.
        let mu = 1e5;
        let steps: Vec<Step> = (1..=19)
            .map(|k| {
                let rate = mu * 0.05 * k as f64;
                let p99 = 100f64.ln() / (mu - rate) * 1e9;
                step(rate, rate, p99 as u64)
            })
            .collect();
        let k = find_knee(&steps, None, &KneeRules::default()).unwrap();
        let rho = steps[k.index].target_ops_per_sec.unwrap() / mu;
        assert!((0.8..=0.85).contains(&rho), "knee at rho {rho}");
    }

    #[test]
    fn a_confirmation_is_judged_against_the_knee_steps_line() {
        // 5e4 is past its line (3 x the p99 at 2.5e4 = 3,000). The next
        // step, 5,000, is past that line, though not past its own (3 x the
        // p99 at 3e4 = 7,500): the tail kept rising, the knee holds.
        let steps = vec![
            step(1e4, 1e4, 1_000),
            step(2e4, 2e4, 1_000),
            step(2.5e4, 2.5e4, 1_000),
            step(3e4, 3e4, 2_500),
            step(5e4, 5e4, 3_500),
            step(6e4, 6e4, 5_000),
        ];
        let r = KneeRules::default();
        assert!(!r.past(&steps, &steps[5], &steps[5]));
        let k = find_knee(&steps, None, &r).unwrap();
        assert_eq!((k.index, k.rule.as_str()), (4, "p99x3"));
    }

    #[test]
    fn a_spike_below_does_not_raise_the_line_above() {
        // The spike at 2e4 (not repeated at 3e4) would put the p99 at 2.5e4,
        // half of 5e4, near 4,000 and the line at 12,000.
        let steps = [
            step(1e4, 1e4, 1_000),
            step(2e4, 2e4, 20_000),
            step(3e4, 3e4, 1_100),
            step(5e4, 5e4, 4_000),
        ];
        let reference = reference_p99_ns(&steps, &steps[3]).unwrap();
        assert!((1_000.0..=1_100.0).contains(&reference), "{reference}");
    }

    #[test]
    fn a_bad_last_step_is_not_a_confirmed_knee() {
        let steps = vec![
            step(1e4, 1e4, 1_000),
            step(2e4, 2e4, 1_000),
            step(3e4, 3e4, 9_000),
        ];
        assert_eq!(find_knee(&steps, None, &KneeRules::default()), None);
    }

    #[test]
    fn the_first_step_can_be_the_knee_by_throughput_only() {
        let steps = vec![step(1e4, 5e3, 1_000), step(2e4, 5e3, 1_000)];
        let k = find_knee(&steps, None, &KneeRules::default()).unwrap();
        assert_eq!((k.index, k.rule.as_str()), (0, "throughput"));
        assert_eq!(find_knee(&[], None, &KneeRules::default()), None);
    }
}
