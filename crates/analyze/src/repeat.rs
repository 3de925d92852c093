//! `--repeat N`: every step was run N times, interleaved with the other
//! maps; fold the repetitions of each offered rate into one step — the
//! median-p99 repetition — with a bootstrap confidence interval of the
//! median p99 and the median achieved rate.

use mapknee_load::{median_step, Run, Step};

use crate::stats::{bootstrap_median_ci, median};

/// Confidence of the intervals reported.
pub const CONFIDENCE: f64 = 0.95;

/// Folds repeated steps (same offered rate) of `run` into one each.
/// Steps seen once are left as they are.
///
/// ```
/// # use mapknee_load::{Percentiles, Step};
/// # fn step(rate: f64, p99: u64) -> Step { Step {
/// #   target_ops_per_sec: Some(rate), achieved_ops_per_sec: rate, ops: 1,
/// #   latency_ns: Percentiles { p99, ..Default::default() }, service_ns: Default::default(),
/// #   counters: Default::default(), timeline: vec![], duration_s: 1.0, refine: false,
/// #   interrupted: false, bottleneck: None, repeats: 1, p99_ci_ns: None } }
/// let steps = vec![step(1e3, 900), step(1e3, 1200), step(1e3, 1000), step(2e3, 5000)];
/// let merged = mapknee_analyze::repeat::merge_steps(&steps);
/// assert_eq!(merged.len(), 2);
/// assert_eq!((merged[0].latency_ns.p99, merged[0].repeats), (1000, 3));
/// let [lo, hi] = merged[0].p99_ci_ns.unwrap();
/// assert!(lo <= 1000.0 && 1000.0 <= hi);
/// assert_eq!(merged[1].repeats, 1);
/// ```
pub fn merge_steps(steps: &[Step]) -> Vec<Step> {
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
            if g.len() == 1 {
                return g[0].clone();
            }
            let owned: Vec<Step> = g.iter().map(|s| (*s).clone()).collect();
            let mut rep = median_step(&owned);
            let p99s: Vec<f64> = g.iter().map(|s| s.latency_ns.p99 as f64).collect();
            let achieved: Vec<f64> = g.iter().map(|s| s.achieved_ops_per_sec).collect();
            let (lo, hi) = bootstrap_median_ci(&p99s, CONFIDENCE);
            rep.repeats = g.len() as u32;
            rep.p99_ci_ns = Some([lo, hi]);
            rep.achieved_ops_per_sec = median(&achieved);
            rep.refine = g.iter().any(|s| s.refine);
            rep
        })
        .collect()
}

/// [`merge_steps`] on a run, in place.
pub fn merge(run: &mut Run) {
    run.steps = merge_steps(&run.steps);
}
