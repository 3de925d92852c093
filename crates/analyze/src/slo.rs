//! A map's capacity under a latency objective (`--slo p99<=1ms`): the
//! highest offered rate at which it kept up *and* held the objective.
//!
//! The knee compares each map with its own lowest step, so a map that is
//! slow from the start never "knees": on the development VM sync.Map held
//! a p99 of 2.5 ms from its lowest rate while the maps it out-ranked by
//! knee held 24–56 µs at the same rates. A user choosing a map has a
//! latency budget; the SLO capacity is what the map delivers within it,
//! and `advise` ranks by it. The knee stays the explanation of where and
//! why a map's latency turns up.
//!
//! A step *meets* the objective when it kept up (completed ≥ 95 % of its
//! arrivals: [`KneeRules::saturated`], the knee's throughput rule) and the
//! objective's percentile of its corrected latency is within the bound.
//! The SLO capacity is found as the knee is, with the same guards against
//! one unlucky or lucky step:
//! - the **base** is, of the three lowest offered rates, the step with the
//!   median value: a map whose base already exceeds the objective *never
//!   meets it* (reported with the base's bottleneck as the cause), and no
//!   step above the base makes up for that;
//! - the objective is **broken** at the first step that fails and whose
//!   next step — a fresh measurement — fails too ([`first_confirmed`]); one
//!   isolated failure (a preemption) does not end the capacity, and a
//!   failing last step with nothing past it confirms nothing — unless it
//!   fell behind at an offered rate above the map's closed-loop capacity:
//!   the capacity probes, measured apart from it, already showed that the
//!   map cannot carry that rate (see [`slo_capacity`] for why this matters);
//! - the highest step below the break that meets the objective is where it
//!   was last *met*; a good step past the break, among failures, is a lucky
//!   measurement and counts for nothing;
//! - the capacity is where the objective's percentile reaches the bound
//!   between that step and the break, read on log-log axes as the knee rate
//!   is (see `crossing`): the met step's own rate would round every
//!   capacity down by a whole rate interval; when only the throughput broke
//!   it, there is no crossing to read and the met step's rate is the
//!   capacity;
//! - when it is the highest rate offered, it is only a lower bound
//!   (`open_ended`).
//!
//! A good step between an isolated failure and the break is capacity, as
//! it is for the knee: read the other way (the failure real, the good step
//! lucky), one preemption spike just below the break would decide the
//! capacity. On the two default runs `a1`, `a2` of
//! `benchsuite/runs/2026-11-30-vm` that reading moved gomap-rwlock's
//! read-mostly capacity from 9.15M/10.7M txn/s (this rule) to 9.15M/3.85M, and
//! rwlock's from 11.6M/10.7M to 5.93M/9.15M.
//!
//! **Which number is judged.** The objective is judged on the step's
//! overall percentile (`latency_ns`: every transaction of the step, as the
//! table's p99 column and the report's p99 chart show it), not on the
//! knee's *typical* p99 (the median of the step's 10 ms windows' p99). The
//! typical p99 keeps rare OS preemptions from deciding a map's departure
//! from its own base, but it hides just as well a map's own rare stalls —
//! sync.Map's O(n) dirty-map rebuilds under its mutex — which a user's p99
//! does hold: over the six default runs of `benchsuite/runs/2026-11-30-vm`
//! (three mixes each), sync.Map's base typical p99 was 16–144 µs while its
//! base overall p99 was 0.55–7.0 ms, and every other map's 6–446 µs. An
//! objective is a promise about all requests, so it reads them all; the
//! confirmation and the median base keep one preemption spike from
//! deciding it. With `--repeat`, the step judged is the one the table
//! shows (the median repetition).

use mapknee_load::{
    first_confirmed, open_loop_steps, run_baseline_by, Objective, Percentile, Results, Run,
    SloCapacity, Step,
};

use crate::knee::{log_log_crossing, KneeRules};

/// The objective used when none is given and the results record none:
/// p99 ≤ 1 ms.
///
/// Why that value: mapknee's users pick a map that sits inside a service's
/// request path, where a request's whole budget is a few milliseconds (the
/// study's order service ran at p99s of 1.8–12 ms). One map operation per
/// request may take a slice of that, not all of it: 1 ms at p99 is the
/// most a cache lookup can cost before it alone decides whether the
/// service meets its own objective. It is also far from the machine's own
/// noise: on the 2-vCPU development VM the harness with no map (`noop`)
/// held a p99 of 20–120 µs from 1M to 24M txn/s, and the maps other than
/// sync.Map 6–446 µs at their bases, so a map fails 1 ms because of what
/// it does (lock convoys, sync.Map's rebuilds, saturation), not because of
/// the VM. A tighter objective
/// (`--slo p99<=100us`) is for callers that make many map calls per
/// request; on a small shared VM it starts to measure the OS.
pub const DEFAULT_OBJECTIVE: Objective = Objective {
    percentile: Percentile::P99,
    max_ns: 1_000_000,
};

/// Why a step fails the objective: its percentile's name when it exceeds
/// the bound, `throughput` when it fell behind; empty when it meets it.
/// Interrupted and closed-loop steps never fail (they are not judged).
///
/// ```
/// use mapknee_analyze::{slo::{failures, DEFAULT_OBJECTIVE}, KneeRules};
/// # use mapknee_load::{Percentiles, Step};
/// let step = |achieved: f64, p99: u64| Step { target_ops_per_sec: Some(1e3),
///     achieved_ops_per_sec: achieved, ops: achieved as u64,
///     latency_ns: Percentiles { p99, ..Default::default() }, ..Default::default() };
/// let r = KneeRules::default();
/// assert!(failures(&step(1e3, 1_000_000), &DEFAULT_OBJECTIVE, &r).is_empty());
/// assert_eq!(failures(&step(1e3, 1_000_001), &DEFAULT_OBJECTIVE, &r), ["p99"]);
/// assert_eq!(failures(&step(900.0, 2_000_000), &DEFAULT_OBJECTIVE, &r), ["p99", "throughput"]);
/// ```
pub fn failures(step: &Step, objective: &Objective, rules: &KneeRules) -> Vec<&'static str> {
    let mut why = Vec::new();
    if step.interrupted || step.target_ops_per_sec.is_none() {
        return why;
    }
    if !objective.within(objective.value_ns(&step.latency_ns)) {
        why.push(objective.percentile.name());
    }
    if rules.saturated(step) {
        why.push("throughput");
    }
    why
}

/// The SLO capacity of one staircase (see the module docs), or `None`
/// when it has no open-loop step. `capacity` is the map's closed-loop
/// capacity (the run's probes), if known: a last step that fell behind
/// above it is a confirmed break.
///
/// Why the capacity confirms a last step: the bisection refines the knee,
/// not the SLO capacity, so when a fast map's knee lies below a ladder
/// rung, its only step past that rung is the ladder's top (1.2 × the
/// largest capacity), which it cannot keep up with and which has nothing
/// past it. Unconfirmed, that break was ignored and the capacity read as
/// the rung itself, a whole rung (~1.5× on the default run) below where
/// the run that happened to bisect above the rung read it: in 165 of 2,071
/// stored SLO capacities (every one a top step offered above the map's
/// closed-loop capacity that completed 53–80 % of its arrivals), and in
/// three of the six same-build default pairs of 2026-12-02 this made
/// `compare` call `sharded`'s or `dashmap`'s write-heavy SLO capacity
/// regressed or improved by 19–36 % (4.57M/s against 5.7–6.2M/s).
pub fn slo_capacity(
    steps: &[Step],
    capacity: Option<f64>,
    objective: &Objective,
    rules: &KneeRules,
) -> Option<SloCapacity> {
    let open = open_loop_steps(steps);
    let value = |s: &Step| objective.value_ns(&s.latency_ns);
    // The base as the knee takes it: of the three lowest rates, the median.
    let base = run_baseline_by(steps, value)?;
    let mut cap = SloCapacity {
        base_ns: value(&base),
        base_bottleneck: base.bottleneck.clone(),
        base_floor_ns: base.floor_p99_ns,
        ..Default::default()
    };
    if !objective.within(cap.base_ns) {
        return Some(cap);
    }
    let why: Vec<Vec<&str>> = open.iter().map(|s| failures(s, objective, rules)).collect();
    let bad: Vec<bool> = why.iter().map(|w| !w.is_empty()).collect();
    // A step behind past the capacity is saturated, so `bad` already.
    let broken = first_confirmed(&bad).or_else(|| {
        let last = open.len().checked_sub(1)?;
        rules
            .behind_past_capacity(open[last], capacity)
            .then_some(last)
    });
    if let Some(b) = broken {
        cap.broken_at_ops_per_sec = open[b].target_ops_per_sec;
        cap.broken_by = Some(why[b].join("+"));
        cap.broken_ns = Some(value(open[b]));
        cap.broken_bottleneck = open[b].bottleneck.clone();
    }
    // No good step below the break: the map fell behind (the throughput
    // rule) from its lowest rates, its latency within the objective or not;
    // it never met the objective, and the break says why.
    let below = broken.unwrap_or(open.len());
    let Some(at) = (0..below).rev().find(|&k| !bad[k]) else {
        return Some(cap);
    };
    let met = open[at].target_ops_per_sec;
    cap.met_ops_per_sec = met;
    cap.open_ended = at + 1 == open.len();
    cap.at_ns = Some(value(open[at]));
    cap.ops_per_sec = match (broken, met) {
        (Some(b), Some(lo)) if b == at + 1 && why[b].contains(&objective.percentile.name()) => {
            Some(crossing(open[at], open[b], objective, lo).unwrap_or(lo))
        }
        _ => met,
    };
    Some(cap)
}

/// Where the objective's percentile reaches its bound between `met` (within
/// it, at offered rate `lo`) and `broke` (above it, at a higher rate): the
/// two steps' values interpolated on log-log axes, as the knee rate is
/// ([`log_log_crossing`]). `None` when the two do not straddle the bound.
///
/// Why not `met`'s own rate, as the capacity was read until 2026-12: the
/// capacity lies somewhere between the two steps, and the step's rate rounds
/// it down by a whole rate interval whenever one step lands on the other side
/// of the bound, so two runs with all but equal curves report capacities a
/// rung apart. On the development VM a same-build pair of default runs
/// (`benchsuite/runs/2026-12-01-vm12/pairs`, pair 2) read `gomap-rwlock`
/// write-heavy's p99 at 2.36M/s as 104 µs in one run and 2.63 ms in the
/// other: capacities 2.44 and 2.06M/s (−15 %, past `compare`'s threshold)
/// while the crossings lie at 2.62 and 2.30M/s (−12 %).
fn crossing(met: &Step, broke: &Step, objective: &Objective, lo: f64) -> Option<f64> {
    let hi = broke.target_ops_per_sec?;
    let bound = objective.max_ns as f64;
    let v0 = objective.value_ns(&met.latency_ns).max(1) as f64;
    let v1 = objective.value_ns(&broke.latency_ns) as f64;
    if !(v0 <= bound && bound < v1 && lo > 0.0 && hi > lo) {
        return None;
    }
    Some(log_log_crossing(lo, v0 / bound, hi, v1 / bound))
}

/// Judges every run of a `run` result against `objective`: records it as
/// the file's objective and each run's SLO capacity ([`run_slo_under`]:
/// kept when the file was judged against the same objective already;
/// closed-loop `scale` results are left alone). Steps must carry their
/// bottleneck labels already ([`crate::analyze_run`]) for the causes to be
/// named.
pub fn attach(results: &mut Results, objective: &Objective) {
    if results.kind != "run" {
        return;
    }
    let judged_under = results.slo;
    for run in &mut results.runs {
        run.slo = run_slo_under(run, judged_under, objective);
    }
    results.slo = Some(*objective);
}

/// `run`'s SLO capacity under `objective`, for a run read back from a file
/// judged under `judged_under` (its [`Results::slo`]): the capacity the
/// run recorded when that is the same objective, else [`run_slo_capacity`]
/// of its steps.
///
/// Why keep the recorded one: a repeated run's capacity is the median of
/// its repetitions' ([`crate::repeat::attach_medians`]), and the file keeps
/// only the merged steps, which cannot give it again; reading them anew
/// made `report` and `advise` print another capacity than `run` had
/// (`gomap-rwlock` read-mostly 21.48M/s against the run's 22.37M/s in
/// `benchsuite/runs/2026-12-03-vm23b/pairs-final/a1`). Under another
/// objective the merged curve is all there is.
pub fn run_slo_under(
    run: &Run,
    judged_under: Option<Objective>,
    objective: &Objective,
) -> Option<SloCapacity> {
    match &run.slo {
        Some(recorded) if judged_under == Some(*objective) => Some(recorded.clone()),
        _ => run_slo_capacity(run, objective),
    }
}

/// Sets `run.slo` against `objective`.
pub fn attach_run(run: &mut Run, objective: &Objective) {
    run.slo = run_slo_capacity(run, objective);
}

/// [`slo_capacity`] of `run`'s steps, its closed-loop capacity confirming
/// a last step that fell behind past it, under the default knee rules.
pub fn run_slo_capacity(run: &Run, objective: &Objective) -> Option<SloCapacity> {
    slo_capacity(
        &run.steps,
        run.capacity_ops_per_sec,
        objective,
        &KneeRules::default(),
    )
}

/// The objective to judge `results` by: the one given, else the one the
/// file records, else [`DEFAULT_OBJECTIVE`].
pub fn objective_for(given: Option<Objective>, results: &Results) -> Objective {
    given.or(results.slo).unwrap_or(DEFAULT_OBJECTIVE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::step;

    const MS: u64 = 1_000_000;

    fn cap(steps: &[Step]) -> SloCapacity {
        slo_capacity(steps, None, &DEFAULT_OBJECTIVE, &KneeRules::default()).unwrap()
    }

    /// Offered rates 1e4, 2e4, ... with these p99s, every step kept up.
    fn ladder(p99s: &[u64]) -> Vec<Step> {
        p99s.iter()
            .enumerate()
            .map(|(i, &p)| {
                let r = (i + 1) as f64 * 1e4;
                step(r, r, p)
            })
            .collect()
    }

    #[test]
    fn a_run_read_back_keeps_the_capacity_it_recorded_under_the_same_objective() {
        let steps = ladder(&[20_000, 25_000, 30_000, 400_000, 2 * MS, 9 * MS]);
        let mut run = crate::fixtures::run("m", "read-mostly", 1e6, steps);
        let from_steps = run_slo_capacity(&run, &DEFAULT_OBJECTIVE).unwrap();
        // What `run` recorded for a repeated run: its repetitions' median,
        // which the merged steps do not give.
        let recorded = SloCapacity {
            ops_per_sec: Some(4.4e4),
            ..from_steps.clone()
        };
        run.slo = Some(recorded.clone());
        let same = Some(DEFAULT_OBJECTIVE);
        assert_eq!(
            run_slo_under(&run, same, &DEFAULT_OBJECTIVE),
            Some(recorded)
        );
        // A file judged under another objective, or none: from the steps.
        assert_eq!(
            run_slo_under(&run, None, &DEFAULT_OBJECTIVE),
            Some(from_steps)
        );
        let strict: Objective = "p99<=100us".parse().unwrap();
        assert_eq!(
            run_slo_under(&run, same, &strict),
            run_slo_capacity(&run, &strict)
        );
        assert_ne!(run_slo_under(&run, same, &strict), run.slo);
    }

    #[test]
    fn capacity_is_the_last_step_within_the_objective_before_a_confirmed_break() {
        let mut steps = ladder(&[20_000, 25_000, 30_000, 400_000, 2 * MS, 9 * MS]);
        steps[4].bottleneck = Some("lock-contention".into());
        let c = cap(&steps);
        assert_eq!(c.met_ops_per_sec, Some(4e4));
        assert!(!c.open_ended);
        assert_eq!((c.base_ns, c.at_ns), (25_000, Some(400_000)));
        assert_eq!(c.broken_at_ops_per_sec, Some(5e4));
        assert_eq!(c.broken_by.as_deref(), Some("p99"));
        assert_eq!(c.broken_ns, Some(2 * MS));
        assert_eq!(c.broken_bottleneck.as_deref(), Some("lock-contention"));
    }

    #[test]
    fn capacity_is_where_the_percentile_crosses_the_bound_between_met_and_broken() {
        // Met at 4e4 with 400 µs, broken at 5e4 with 2 ms: the crossing of
        // 1 ms is ln(2.5)/ln(5) of the way from 4e4 to 5e4 on log axes.
        let c = cap(&ladder(&[20_000, 25_000, 30_000, 400_000, 2 * MS, 9 * MS]));
        let t = 2.5f64.ln() / 5f64.ln();
        let expected = 4e4 * 1.25f64.powf(t);
        assert!((c.ops_per_sec.unwrap() - expected).abs() < 1.0, "{c:?}");
        assert!(c.ops_per_sec.unwrap() > 4e4 && c.ops_per_sec.unwrap() < 5e4);
        // The capacity moves with the two steps' values, continuously: a
        // met step nearer the bound, or a breaking step further past it,
        // puts the crossing nearer the met step.
        let nearer = cap(&ladder(&[20_000, 25_000, 30_000, 900_000, 2 * MS, 9 * MS]));
        let steeper = cap(&ladder(&[20_000, 25_000, 30_000, 400_000, 20 * MS, 9 * MS]));
        for moved in [&nearer, &steeper] {
            let v = moved.ops_per_sec.unwrap();
            assert!(v > 4e4 && v < c.ops_per_sec.unwrap(), "{moved:?}");
        }
        // The bound met exactly at 4e4: the capacity is 4e4 itself.
        let at_bound = cap(&ladder(&[20_000, 25_000, 30_000, MS, 2 * MS, 9 * MS]));
        assert_eq!(at_bound.ops_per_sec, Some(4e4));
        // The break one rung lower (4e4 at 2 ms, confirmed by 5e4): the
        // crossing lies a rung lower too, between 3e4 and 4e4.
        let lower = cap(&ladder(&[20_000, 20_000, 20_000, 2 * MS, 20 * MS, 9 * MS]));
        assert_eq!(lower.met_ops_per_sec, Some(3e4));
        assert!(lower.ops_per_sec.unwrap() > 3e4 && lower.ops_per_sec.unwrap() < 4e4);
        // Broken by the throughput alone: no percentile crossing to read,
        // the capacity is the met step's rate.
        let mut behind = ladder(&[20_000, 20_000, 20_000, 20_000]);
        for s in &mut behind[2..] {
            s.ops = s.ops * 4 / 5;
            s.achieved_ops_per_sec *= 0.8;
        }
        let c = cap(&behind);
        assert_eq!((c.ops_per_sec, c.met_ops_per_sec), (Some(2e4), Some(2e4)));
    }

    #[test]
    fn a_last_step_behind_past_the_closed_loop_capacity_confirms_the_break() {
        // Met at 5e4 with 400 µs; the last step, 6e4, fell behind (70 % of
        // its arrivals) with a p99 of 9 ms, and nothing was measured past it.
        let mut steps = ladder(&[20_000, 25_000, 30_000, 40_000, 400_000, 9 * MS]);
        let top = &mut steps[5];
        top.ops = top.ops * 7 / 10;
        top.achieved_ops_per_sec *= 0.7;
        let with = |capacity: Option<f64>| {
            slo_capacity(&steps, capacity, &DEFAULT_OBJECTIVE, &KneeRules::default()).unwrap()
        };
        // The probes measured 5.5e4 closed-loop: the map cannot carry 6e4,
        // so the break is confirmed and the crossing read towards it.
        let c = with(Some(5.5e4));
        assert_eq!(c.broken_at_ops_per_sec, Some(6e4));
        assert_eq!(c.broken_by.as_deref(), Some("p99+throughput"));
        let t = 2.5f64.ln() / 22.5f64.ln();
        let expected = 5e4 * 1.2f64.powf(t);
        assert!((c.ops_per_sec.unwrap() - expected).abs() < 1.0, "{c:?}");
        assert_eq!(c.met_ops_per_sec, Some(5e4));
        assert!(!c.open_ended);
        // No capacity known, or one above the step's rate: the last step
        // confirms nothing, and the capacity is the met step's rate.
        for capacity in [None, Some(7e4)] {
            let c = with(capacity);
            assert_eq!(c.broken_at_ops_per_sec, None, "{capacity:?}");
            assert_eq!(c.ops_per_sec, Some(5e4), "{capacity:?}");
        }
        // A last step past the capacity that kept up, its p99 over the
        // bound: a spike like any other, not confirmed by the capacity.
        let mut kept_up = ladder(&[20_000, 25_000, 30_000, 40_000, 400_000, 9 * MS]);
        let c = slo_capacity(
            &kept_up,
            Some(5.5e4),
            &DEFAULT_OBJECTIVE,
            &KneeRules::default(),
        );
        assert_eq!(c.unwrap().broken_at_ops_per_sec, None);
        kept_up.pop();
        let c = slo_capacity(
            &kept_up,
            Some(1e4),
            &DEFAULT_OBJECTIVE,
            &KneeRules::default(),
        );
        assert!(
            c.unwrap().open_ended,
            "every step met, whatever the capacity"
        );
    }

    #[test]
    fn a_map_within_the_objective_at_every_step_is_open_ended() {
        let c = cap(&ladder(&[20_000, 25_000, 30_000, 40_000]));
        assert_eq!((c.ops_per_sec, c.open_ended), (Some(4e4), true));
        assert_eq!(c.broken_at_ops_per_sec, None);
    }

    #[test]
    fn falling_behind_breaks_it_even_with_a_low_tail() {
        // Achieved 80 % of offered at 3e4 and 4e4: the throughput rule, as
        // the knee's, whatever the p99 of what did complete.
        let mut steps = ladder(&[20_000, 20_000, 20_000, 20_000]);
        steps[2].achieved_ops_per_sec = 2.4e4;
        steps[2].ops = 24_000;
        steps[3].achieved_ops_per_sec = 3.2e4;
        steps[3].ops = 32_000;
        let c = cap(&steps);
        assert_eq!(c.ops_per_sec, Some(2e4));
        assert_eq!(c.broken_by.as_deref(), Some("throughput"));
    }

    #[test]
    fn a_map_behind_from_its_lowest_rate_never_met_it_and_says_why() {
        // Every step completed 80 % of its arrivals with a p99 well inside
        // the objective: no capacity, and the break names the throughput.
        let mut steps = ladder(&[20_000, 20_000, 20_000]);
        for s in &mut steps {
            s.ops = s.ops * 4 / 5;
            s.achieved_ops_per_sec *= 0.8;
        }
        let c = cap(&steps);
        assert_eq!(c.base_ns, 20_000);
        assert_eq!(c.ops_per_sec, None);
        assert_eq!(c.broken_at_ops_per_sec, Some(1e4));
        assert_eq!(c.broken_by.as_deref(), Some("throughput"));
    }

    #[test]
    fn one_bad_step_is_a_spike_and_a_bad_last_step_confirms_nothing() {
        // 3e4 spiked alone (a preemption): the objective breaks at 6e4,
        // where 7e4 confirms it.
        let c = cap(&ladder(&[
            20_000,
            20_000,
            3 * MS,
            30_000,
            30_000,
            2 * MS,
            5 * MS,
        ]));
        assert_eq!(
            (c.met_ops_per_sec, c.broken_at_ops_per_sec),
            (Some(5e4), Some(6e4))
        );
        // Nothing past the failing top step: not broken, not open-ended.
        let c = cap(&ladder(&[20_000, 20_000, 30_000, 2 * MS]));
        assert_eq!(c.ops_per_sec, Some(3e4));
        assert!(!c.open_ended && c.broken_at_ops_per_sec.is_none());
    }

    #[test]
    fn good_steps_past_a_confirmed_break_count_for_nothing() {
        // 6e4 met it among failures, 7e4 too: lucky, past the break at 4e4.
        let c = cap(&ladder(&[
            20_000,
            20_000,
            30_000,
            2 * MS,
            2 * MS,
            40_000,
            3 * MS,
            3 * MS,
            50_000,
        ]));
        assert_eq!(
            (c.met_ops_per_sec, c.broken_at_ops_per_sec),
            (Some(3e4), Some(4e4))
        );
        assert!(!c.open_ended, "the good top step is past the break");
        // Below the break, a good step after an isolated failure counts, as
        // the step before a knee does: the failure is the spike.
        let c = cap(&ladder(&[20_000, 20_000, 2 * MS, 30_000, 2 * MS, 5 * MS]));
        assert_eq!(
            (c.met_ops_per_sec, c.broken_at_ops_per_sec),
            (Some(4e4), Some(5e4))
        );
    }

    #[test]
    fn a_base_over_the_objective_never_meets_it() {
        let mut steps = ladder(&[2_300_000, 2_100_000, 2_500_000, 500_000, 400_000]);
        for s in &mut steps {
            s.bottleneck = Some("syncmap-misses".into());
        }
        let c = cap(&steps);
        assert_eq!(
            c.ops_per_sec, None,
            "later good steps do not make up for the base"
        );
        assert_eq!(c.base_ns, 2_300_000);
        assert_eq!(c.base_bottleneck.as_deref(), Some("syncmap-misses"));
        assert_eq!(c.base_floor_ns, None, "no noise floor measured");
        // One spike among the three lowest does not: the base is their median.
        let c = cap(&ladder(&[5 * MS, 20_000, 30_000, 40_000]));
        assert_eq!((c.base_ns, c.ops_per_sec), (30_000, Some(4e4)));
    }

    #[test]
    fn the_objective_picks_the_percentile_and_the_bound() {
        let mut steps = ladder(&[20_000, 25_000, 30_000, 400_000, 600_000, 900_000]);
        for s in &mut steps {
            s.latency_ns.p999 = s.latency_ns.p99 * 3;
        }
        let tight: Objective = "p99<=100us".parse().unwrap();
        let r = KneeRules::default();
        let c = slo_capacity(&steps, None, &tight, &r).unwrap();
        assert_eq!(
            (c.met_ops_per_sec, c.broken_by.as_deref()),
            (Some(3e4), Some("p99"))
        );
        let deep: Objective = "p99.9<=1ms".parse().unwrap();
        let c = slo_capacity(&steps, None, &deep, &r).unwrap();
        assert_eq!((c.met_ops_per_sec, c.at_ns), (Some(3e4), Some(90_000)));
        assert_eq!(c.broken_by.as_deref(), Some("p99.9"));
        // The default lets all of them through.
        assert!(cap(&steps).open_ended);
    }

    #[test]
    fn interrupted_and_closed_loop_steps_are_not_judged() {
        let mut steps = ladder(&[20_000, 20_000, 20_000]);
        let mut cut = step(2.5e4, 10.0, 90 * MS);
        cut.interrupted = true;
        steps.push(cut);
        steps.push(Step {
            achieved_ops_per_sec: 1e6,
            ..Default::default()
        });
        let c = cap(&steps);
        assert_eq!((c.ops_per_sec, c.open_ended), (Some(3e4), true));
        assert!(slo_capacity(&[], None, &DEFAULT_OBJECTIVE, &KneeRules::default()).is_none());
    }
}
