//! mapknee's analysis: pure functions over measured steps.
//!
//! - [`knee`]: where a map stops keeping up, and which rule said so;
//!   [`kneedle`] confirms it on the p99 curve; the queueing reference knee
//!   ([`queue`]: D/M/1 or M/M/1)
//!   stands beside it;
//! - [`bottleneck`]: what limited each step, decided from its utilisation,
//!   queueing, counters and timeline, with the figures behind the label;
//! - [`usl`]: the Universal Scalability Law fitted to `scale` results;
//! - [`decay`]: the study's model of p99 vs load and write share;
//! - [`stats`]: medians and exact intervals; [`repeat`] folds repeated
//!   steps into medians with intervals;
//! - [`compare`]: two sides of one or more result files each, step by step,
//!   with a verdict on each run's knee, capacity and SLO capacity;
//! - [`slo`]: each map's capacity under a latency objective (`--slo
//!   p99<=1ms`): the highest rate it kept up with inside the objective;
//! - [`padding`]: `sharded` beside `sharded-unpadded` — what false sharing
//!   between shard locks costs in the knee and the p99;
//! - [`advise`]: which map to pick for each measured mix — by SLO capacity
//!   first, the knee saying where and why latency turns up — and why.
//!
//! [`analyze_run`] fills each step's `bottleneck` (and its figures) and the
//! run's `knee` (rules, Kneedle confirmation, queueing reference).
#![warn(missing_docs)]

pub mod advise;
pub mod bottleneck;
pub mod compare;
pub mod decay;
#[cfg(test)]
mod fixtures;
pub mod knee;
pub mod kneedle;
pub mod padding;
pub mod queue;
pub mod repeat;
pub mod slo;
pub mod stats;
pub mod usl;

pub use bottleneck::{attribute, Attribution, Bottleneck, Thresholds};
pub use knee::{find_knee, step_rules, KneeAt, KneeRules, Rule};
pub use mapknee_load::first_confirmed;

use mapknee_load::{Knee, Run};

/// Labels every step of `run` with its bottleneck and the figures behind
/// it, and sets `run.knee`.
///
/// ```
/// use mapknee_analyze::{analyze_run, KneeRules, Thresholds};
/// # use mapknee_load::{Run, Step, Percentiles};
/// # fn step(rate: f64, achieved: f64, p99: u64) -> Step { Step {
/// #   target_ops_per_sec: Some(rate), achieved_ops_per_sec: achieved, ops: achieved as u64,
/// #   latency_ns: Percentiles { p99, ..Default::default() }, service_ns: Default::default(),
/// #   counters: Default::default(), timeline: vec![], duration_s: 1.0, refine: false,
/// #   ..Default::default() } }
/// # let mut run = Run { map: "rwlock".into(), mix: "mixed".parse().unwrap(), threads: 2,
/// #   keys: 1, prefill: 0.5, dist: "uniform".into(), ops_per_txn: 1, arrivals: "even".into(),
/// #   capacity_ops_per_sec: None, steps: vec![], points: vec![], knee: None, usl: None,
/// #   repetitions: vec![], placement: None, slo: None, preempted: None };
/// run.steps = vec![step(1e3, 1e3, 1_000), step(2e3, 2e3, 1_200), step(3e3, 3e3, 1_100),
///                  step(4e3, 3e3, 50_000), step(5e3, 3e3, 90_000)];
/// analyze_run(&mut run, &KneeRules::default(), &Thresholds::default());
/// let knee = run.knee.unwrap();
/// assert_eq!((knee.rule.as_str(), knee.bottleneck.as_str()), ("p99x3+throughput", "saturation"));
/// // Where the p99 crossed 3 × 1,200 ns, between 3k (1,100) and 4k (50,000).
/// assert!(knee.ops_per_sec > 3e3 && knee.ops_per_sec < 4e3);
/// let figures = run.steps[2].bottleneck_figures.as_ref().unwrap();
/// assert_eq!(figures["utilisation"], 0.0); // no service time recorded
/// ```
pub fn analyze_run(run: &mut Run, rules: &KneeRules, thresholds: &Thresholds) {
    let (threads, ops_per_txn) = (run.threads, run.ops_per_txn);
    for step in &mut run.steps {
        let a = attribute(step, threads, ops_per_txn, rules, thresholds);
        step.bottleneck = Some(a.bottleneck.label().to_string());
        step.bottleneck_figures = Some(a.figures);
    }
    let Some(at) = find_knee(&run.steps, run.capacity_ops_per_sec, rules) else {
        run.knee = None;
        return;
    };
    let step = &run.steps[at.index];
    let reference = reference_knee(run, rules);
    // Kneedle confirms (or not) the rules' knee on the p99 curve.
    let kneedle_at = kneedle::knee_of_steps(&run.steps, kneedle::DEFAULT_SENSITIVITY);
    let kneedle = match kneedle_at {
        Some(k) if kneedle::agrees(&run.steps, at.index, k) => "agree",
        Some(_) => "disagree",
        None => "no-knee",
    };
    run.knee = Some(Knee {
        ops_per_sec: at.ops_per_sec,
        bottleneck: step
            .bottleneck
            .clone()
            .unwrap_or_else(|| Bottleneck::Cpu.label().into()),
        rule: at.rule,
        kneedle_ops_per_sec: kneedle_at.and_then(|k| run.steps[k].target_ops_per_sec),
        kneedle: Some(kneedle.into()),
        ops_per_sec_range: None,
        mm1_ops_per_sec: reference.map(|(rate, _)| rate),
        reference_model: reference.map(|(_, m)| m.name().to_string()),
    });
}

/// The queueing reference knee (see [`queue`]): the model of the run's
/// arrivals, from the base step's measured utilisation and the run's
/// closed-loop capacity (else the capacity its service time implies).
fn reference_knee(run: &Run, rules: &KneeRules) -> Option<(f64, queue::Model)> {
    let base = mapknee_load::run_baseline(&run.steps)?;
    let threads = run.threads.max(1) as f64;
    let thread_ns = threads * base.duration_s * 1e9;
    let busy_ns = base.service_ns.mean * base.ops as f64;
    let rho0 = if thread_ns > 0.0 {
        busy_ns / thread_ns
    } else {
        0.0
    };
    let capacity = run
        .capacity_ops_per_sec
        .or_else(|| (base.service_ns.mean > 0.0).then(|| threads * 1e9 / base.service_ns.mean))?;
    let model = queue::Model::for_arrivals(&run.arrivals);
    let rho = model.knee_utilisation(rho0, rules.p99_factor)?;
    Some((rho * capacity, model))
}
