//! Knee detection by rules.
//!
//! A step is past the knee when either rule fires against the *base* step
//! (of the three lowest-rate steps, the one with the median p99: one spike
//! at the lowest rate cannot move every knee):
//! - `p99x3` — its corrected p99 latency is at least J × the base p99
//!   (J = 3 by default; the rule's name carries J, e.g. `p99x4` for J = 4)
//!   *and* at least J × the noise floor at that rate (the `noop` map's p99,
//!   when the run measured it): a knee is where the map departs from what
//!   the harness and the machine do with no map at all;
//! - `throughput` — it completed less than 95 % of the arrivals actually
//!   generated in its window (with Poisson arrivals these differ from the
//!   nominal rate by chance).
//!
//! With `--repeat`, steps and base are both the median-p99 repetition of
//! their rate: the same statistic on both sides of the comparison.
//!
//! The knee is the first step, by offered rate, past the knee *and
//! confirmed*: the next higher step — a fresh measurement — is past it
//! too. One isolated p99 spike (a preemption on a shared machine) is not a
//! knee, and neither is a bad last step: nothing confirmed it.
//! When both rules fire on the knee step the rule reads `p99x3+throughput`.
//! Steps cut short by Ctrl-C and closed-loop steps are ignored.
//!
//! The rules decide; Kneedle (see [`crate::kneedle`]) then says whether the
//! p99 curve's own knee agrees, and `analyze_run` records its answer.

use mapknee_load::{first_confirmed, run_baseline, Step};

/// The knee rules' parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KneeRules {
    /// J: p99 at least this multiple of the base p99 is past the knee.
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
    /// p99 ≥ J × base p99.
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
}

/// The rules `step` breaks against `base`, in the order p99, throughput.
///
/// ```
/// use mapknee_analyze::{step_rules, KneeRules, Rule};
/// # use mapknee_load::{Step, Percentiles};
/// # fn step(rate: f64, achieved: f64, p99: u64) -> Step { Step {
/// #   target_ops_per_sec: Some(rate), achieved_ops_per_sec: achieved, ops: 1,
/// #   latency_ns: Percentiles { p99, ..Default::default() }, service_ns: Default::default(),
/// #   counters: Default::default(), timeline: vec![], duration_s: 1.0, refine: false,
/// #   ..Default::default() } }
/// let r = KneeRules::default();
/// let base = step(1e3, 1e3, 1000);
/// assert!(step_rules(&base, &step(2e3, 2e3, 2999), &r).is_empty());
/// assert_eq!(step_rules(&base, &step(2e3, 2e3, 3000), &r), [Rule::P99]);
/// assert_eq!(step_rules(&base, &step(2e3, 1.8e3, 10), &r), [Rule::Throughput]);
/// ```
pub fn step_rules(base: &Step, step: &Step, rules: &KneeRules) -> Vec<Rule> {
    let mut fired = Vec::new();
    if step.interrupted || step.target_ops_per_sec.is_none() {
        return fired;
    }
    let line = base.rule_p99_ns().max(step.floor_p99_ns.unwrap_or(0)) as f64;
    let step_p99 = step.rule_p99_ns() as f64;
    if base.ops > 0 && step.ops > 0 && step_p99 >= rules.p99_factor * line {
        fired.push(Rule::P99);
    }
    if rules.saturated(step) {
        fired.push(Rule::Throughput);
    }
    fired
}

/// Where the knee is in a run's steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KneeAt {
    /// Index of the knee step in the slice given to [`find_knee`].
    pub index: usize,
    /// The rule(s) that fired, e.g. `p99x3`, `throughput`, `p99x3+throughput`.
    pub rule: String,
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

/// The first step past the knee, by offered rate (the slice need not be
/// sorted), or `None` when every step keeps up.
pub fn find_knee(steps: &[Step], rules: &KneeRules) -> Option<KneeAt> {
    let order = open_loop_order(steps);
    let base = &run_baseline(steps)?;
    let fired: Vec<Vec<Rule>> = order
        .iter()
        .map(|&i| step_rules(base, &steps[i], rules))
        .collect();
    let bad: Vec<bool> = fired.iter().map(|f| !f.is_empty()).collect();
    let at = first_confirmed(&bad)?;
    Some(KneeAt {
        index: order[at],
        rule: fired[at]
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
        assert_eq!(find_knee(&steps, &KneeRules::default()), None);
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
        let k = find_knee(&steps, &KneeRules::default()).unwrap();
        assert_eq!((k.index, k.rule.as_str()), (3, "p99x3"));
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
                step(5e4, 5e4, 3_400),
                step(6e4, 6e4, 9_000),
            ];
            let k = find_knee(&steps, &KneeRules::default()).unwrap();
            assert_eq!(k.index, 4, "lowest step p99 {first}");
        }
    }

    #[test]
    fn the_noise_floor_raises_the_line() {
        let r = KneeRules::default();
        let base = step(1e3, 1e3, 1_000);
        let mut s = step(2e3, 2e3, 4_000);
        assert_eq!(step_rules(&base, &s, &r), [Rule::P99]);
        // The no-op map itself showed 2,000 ns at this rate: 4,000 is only
        // twice what the machine does with no map.
        s.floor_p99_ns = Some(2_000);
        assert!(step_rules(&base, &s, &r).is_empty());
        s.latency_ns.p99 = 6_000;
        assert_eq!(step_rules(&base, &s, &r), [Rule::P99]);
    }

    #[test]
    fn throughput_rule_judges_the_arrivals_generated() {
        let steps = vec![
            step(1e4, 1e4, 1_000),
            step(2e4, 1.91e4, 1_100), // 95.5 %: keeps up
            step(3e4, 2.8e4, 1_200),  // 93 %: past the knee
            step(4e4, 3e4, 1_200),
        ];
        let k = find_knee(&steps, &KneeRules::default()).unwrap();
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
        let k = find_knee(&steps, &KneeRules::default()).unwrap();
        assert_eq!((k.index, k.rule.as_str()), (3, "p99x3+throughput"));
        let strict = KneeRules {
            p99_factor: 6.0,
            ..Default::default()
        };
        assert_eq!(find_knee(&steps, &strict).unwrap().rule, "throughput");
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
        let k = find_knee(&steps, &KneeRules::default()).unwrap();
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
        let k = find_knee(&steps, &KneeRules::default()).unwrap();
        assert_eq!((k.index, k.rule.as_str()), (4, "p99x3"));
    }

    #[test]
    fn a_bad_last_step_is_not_a_confirmed_knee() {
        let steps = vec![
            step(1e4, 1e4, 1_000),
            step(2e4, 2e4, 1_000),
            step(3e4, 3e4, 9_000),
        ];
        assert_eq!(find_knee(&steps, &KneeRules::default()), None);
    }

    #[test]
    fn the_first_step_can_be_the_knee_by_throughput_only() {
        let steps = vec![step(1e4, 5e3, 1_000), step(2e4, 5e3, 1_000)];
        let k = find_knee(&steps, &KneeRules::default()).unwrap();
        assert_eq!((k.index, k.rule.as_str()), (0, "throughput"));
        assert_eq!(find_knee(&[], &KneeRules::default()), None);
    }
}
