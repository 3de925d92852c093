//! Advice from the data: for each mix measured, the map to pick and up to
//! which rate, and why — never a fixed rule.
//!
//! Maps are ranked by their **SLO capacity** (see [`crate::slo`]): the
//! rate at which they reach the latency objective (p99 ≤ 1 ms unless told
//! otherwise), read between the highest offered rate they kept up with
//! inside it and the step that broke it. A map whose base already
//! exceeds the objective never meets it: it is named as such, with its
//! base's bottleneck as the cause, ranked last and never picked; when no
//! map meets the objective the advice says so and picks none. The pick is
//! the top of the ranking; a runner-up within 10 % is named as a tie,
//! since on a small machine that difference is noise. The knee stays the
//! explanation of where and why each map's latency turns up, and the
//! reason names what stopped the others.

use mapknee_load::short::{fmt_ns, fmt_rate as rate};
use mapknee_load::{Objective, Results, Run, SloCapacity};
use serde::Serialize;

use crate::slo::run_slo_under;

/// Maps within this fraction of the best are called a tie.
pub const TIE_FRACTION: f64 = 0.10;

/// How far one map kept up under one mix.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Standing {
    /// The map.
    pub map: String,
    /// The highest offered rate it kept up with before its knee, txn/s.
    pub held_to_ops_per_sec: f64,
    /// Its knee, txn/s, if it had one.
    pub knee_ops_per_sec: Option<f64>,
    /// The knee's bottleneck label, if any.
    pub bottleneck: Option<String>,
    /// p99 at the highest rate it kept up with before its knee, ns.
    pub p99_ns_at_hold: u64,
    /// Its capacity under the objective: `slo.ops_per_sec` is `null` when
    /// it never met it.
    pub slo: SloCapacity,
}

impl Standing {
    /// Its SLO capacity, txn/s; `None` when it never met the objective.
    pub fn slo_ops_per_sec(&self) -> Option<f64> {
        self.slo.ops_per_sec
    }
}

/// Advice for one mix.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Advice {
    /// The mix.
    pub mix: String,
    /// The objective the maps were ranked by.
    pub objective: Objective,
    /// The map to pick; `null` when no map meets the objective.
    pub pick: Option<String>,
    /// Up to this rate, txn/s: the pick's SLO capacity (0 with no pick).
    pub up_to_ops_per_sec: f64,
    /// Whether the pick met the objective through the highest rate offered
    /// (the real limit is higher than measured).
    pub open_ended: bool,
    /// Maps within [`TIE_FRACTION`] of the pick.
    pub ties: Vec<String>,
    /// Maps that never meet the objective: their base already exceeds it.
    pub never_meet: Vec<String>,
    /// One sentence, from the figures.
    pub why: String,
    /// Every map, best first; those that never meet the objective last,
    /// lowest base first.
    pub ranking: Vec<Standing>,
}

fn standing(run: &Run, judged_under: Option<Objective>, objective: &Objective) -> Option<Standing> {
    let steps = mapknee_load::open_loop_steps(&run.steps);
    let knee = run.knee.as_ref().map(|k| k.ops_per_sec);
    // A map past its knee from the lowest rate offered held nothing: it
    // still ranks, with the p99 of that first step.
    let first = steps.first()?;
    let held = steps
        .iter()
        .rfind(|s| knee.is_none_or(|k| s.target_ops_per_sec.unwrap_or(0.0) < k));
    Some(Standing {
        map: run.map.clone(),
        held_to_ops_per_sec: held.and_then(|s| s.target_ops_per_sec).unwrap_or(0.0),
        knee_ops_per_sec: knee,
        bottleneck: run.knee.as_ref().map(|k| k.bottleneck.clone()),
        p99_ns_at_hold: held.unwrap_or(first).latency_ns.p99,
        slo: run_slo_under(run, judged_under, objective)?,
    })
}

/// `never meets p99 ≤ 1 ms on this machine: base 2.30ms, cause
/// syncmap-misses` — what the ranking and the reason say of a map whose
/// base already exceeds the objective.
pub fn never_meets(s: &Standing, objective: &Objective) -> String {
    format!(
        "never meets {objective} on this machine: base {}",
        base_words(s, objective)
    )
}

/// `2.30ms, cause syncmap-misses`, and when the noise floor there already
/// misses the objective, `; the harness alone, no map: 3.98ms`: then the
/// machine was too busy to judge the map by it.
fn base_words(s: &Standing, objective: &Objective) -> String {
    format!(
        "{}{}{}",
        fmt_ns(s.slo.base_ns),
        s.slo
            .base_bottleneck
            .as_deref()
            .map(|b| format!(", cause {b}"))
            .unwrap_or_default(),
        s.slo
            .floor_over(objective)
            .map(|f| format!("; the harness alone, no map: {}", fmt_ns(f)))
            .unwrap_or_default()
    )
}

/// What ended a map's SLO capacity: `at 400k/s: p99 2.10ms,
/// lock-contention`, or `at 400k/s: fell behind, saturation`.
fn broken(s: &Standing, objective: &Objective) -> Option<String> {
    let at = s.slo.broken_at_ops_per_sec?;
    let what = match s.slo.broken_ns.filter(|&ns| !objective.within(ns)) {
        Some(ns) => format!("{} {}", objective.percentile.name(), fmt_ns(ns)),
        None => "fell behind".to_string(),
    };
    Some(format!(
        "at {}/s: {what}{}",
        rate(at),
        s.slo
            .broken_bottleneck
            .as_deref()
            .map(|b| format!(", {b}"))
            .unwrap_or_default()
    ))
}

/// The knee as the explanation: `knee at 16.02M/s, cpu` or `no knee`.
fn knee_words(s: &Standing) -> String {
    match s.knee_ops_per_sec {
        Some(k) => format!(
            "knee at {}/s, {}",
            rate(k),
            s.bottleneck.as_deref().unwrap_or("?")
        ),
        None => "no knee".into(),
    }
}

/// Advice for one mix's standings (any order).
fn advise_mix(mix: String, mut ranking: Vec<Standing>, objective: &Objective) -> Option<Advice> {
    // Meeting the objective first, by SLO capacity (between equals, the
    // lower tail there wins); then the maps that never meet it, lowest
    // base first.
    ranking.sort_by(|a, b| match (a.slo_ops_per_sec(), b.slo_ops_per_sec()) {
        (Some(x), Some(y)) => y
            .total_cmp(&x)
            .then(a.slo.at_ns.cmp(&b.slo.at_ns))
            .then(a.map.cmp(&b.map)),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.slo.base_ns.cmp(&b.slo.base_ns).then(a.map.cmp(&b.map)),
    });
    let never: Vec<&Standing> = ranking
        .iter()
        .filter(|s| s.slo_ops_per_sec().is_none())
        .collect();
    let never_meet: Vec<String> = never.iter().map(|s| s.map.clone()).collect();
    let never_words = never
        .iter()
        .map(|s| format!("{} (base {})", s.map, base_words(s, objective)))
        .collect::<Vec<_>>()
        .join(", ");
    let first = ranking.first()?;
    let Some(best_cap) = first.slo_ops_per_sec() else {
        // Nobody meets it: say so, and what each map's base is instead.
        let mut why = format!(
            "no map meets {objective} on this machine: every map's base {} already exceeds it — {never_words}",
            objective.percentile.name()
        );
        if never.iter().all(|s| s.slo.floor_over(objective).is_some()) {
            // The no-op map missed it too: the verdict is about the machine
            // (or what else ran on it), and a quieter run may differ.
            why.push_str(
                "; the harness alone, with no map, already missed it at those rates: \
                 the machine, not the maps, decides this verdict (run again on a quiet machine)",
            );
        }
        return Some(Advice {
            mix,
            objective: *objective,
            pick: None,
            up_to_ops_per_sec: 0.0,
            open_ended: false,
            ties: Vec::new(),
            never_meet,
            why,
            ranking,
        });
    };
    let best = first.clone();
    let ties: Vec<String> = ranking[1..]
        .iter()
        .filter(|s| {
            s.slo_ops_per_sec()
                .is_some_and(|c| c >= best_cap * (1.0 - TIE_FRACTION))
        })
        .map(|s| s.map.clone())
        .collect();
    let pct = objective.percentile.name();
    let there = fmt_ns(best.slo.at_ns.unwrap_or(0));
    let mut why = if best.slo.open_ended {
        format!(
            "{} met {objective} through the highest rate offered ({} txn/s, {pct} {there}; {})",
            best.map,
            rate(best_cap),
            knee_words(&best)
        )
    } else {
        // The capacity is read between two steps; say what was measured at
        // the one that met the objective.
        let met = best.slo.met().unwrap_or(best_cap);
        format!(
            "{} met {objective} up to {} txn/s ({pct} {there} at {}/s; {})",
            best.map,
            rate(best_cap),
            rate(met),
            knee_words(&best)
        )
    };
    if let Some(next) = ranking
        .iter()
        .find(|s| s.slo_ops_per_sec().is_some() && !ties.contains(&s.map) && s.map != best.map)
    {
        let cap = next.slo_ops_per_sec().unwrap_or(0.0);
        let ratio = best_cap / cap.max(1.0);
        let what = if next.slo.open_ended {
            format!("was measured only to {} txn/s", rate(cap))
        } else {
            format!(
                "met it up to {} txn/s{}",
                rate(cap),
                broken(next, objective)
                    .map(|b| format!(" ({b})"))
                    .unwrap_or_default()
            )
        };
        why.push_str(&format!(
            "; {ratio:.1}x the next, {}, which {what}; its {}",
            next.map,
            knee_words(next)
        ));
    }
    if !ties.is_empty() {
        why.push_str(&format!(
            "; within {:.0} %: {}",
            TIE_FRACTION * 100.0,
            ties.join(", ")
        ));
    }
    if !never.is_empty() {
        why.push_str(&format!(
            "; never meets {objective} on this machine: {never_words}"
        ));
    }
    Some(Advice {
        mix,
        objective: *objective,
        pick: Some(best.map.clone()),
        up_to_ops_per_sec: best_cap,
        open_ended: best.slo.open_ended,
        ties,
        never_meet,
        why,
        ranking,
    })
}

/// Advice for every mix in a `run` result under `objective`, in the order
/// mixes first appear.
pub fn advise(results: &Results, objective: &Objective) -> Vec<Advice> {
    let mut mixes: Vec<String> = Vec::new();
    for r in &results.runs {
        if !mixes.contains(&r.mix.name) {
            mixes.push(r.mix.name.clone());
        }
    }
    mixes
        .into_iter()
        .filter_map(|mix| {
            let ranking: Vec<Standing> = results
                .runs
                .iter()
                .filter(|r| r.mix.name == mix)
                .filter_map(|r| standing(r, results.slo, objective))
                .collect();
            advise_mix(mix, ranking, objective)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use mapknee_load::{Knee, Step};

    use super::*;
    use crate::fixtures::{run, step};
    use crate::slo::DEFAULT_OBJECTIVE;

    fn knee(at: f64, b: &str) -> Option<Knee> {
        Some(Knee {
            ops_per_sec: at,
            rule: "p99x3".into(),
            bottleneck: b.into(),
            ..Default::default()
        })
    }

    fn results(runs: Vec<Run>) -> Results {
        Results {
            schema: mapknee_load::SCHEMA.into(),
            kind: "run".into(),
            machine: mapknee_load::Machine::detect("r", "0", "foldhash", 1.0, 1.0),
            runs,
            elapsed_s: 1.0,
            interrupted: false,
            decay: vec![],
            slo: None,
        }
    }

    /// Offered 1e5, 2e5, 4e5, 8e5 with these p99s; the top step achieves
    /// only 6e5 (saturated).
    fn ladder(p: [u64; 4]) -> Vec<Step> {
        vec![
            step(1e5, 1e5, p[0]),
            step(2e5, 2e5, p[1]),
            step(4e5, 4e5, p[2]),
            step(8e5, 6e5, p[3]),
        ]
    }

    /// Labels every step with `label`, as `analyze_run` would.
    fn labelled(mut steps: Vec<Step>, label: &str) -> Vec<Step> {
        for s in &mut steps {
            s.bottleneck = Some(label.into());
        }
        steps
    }

    #[test]
    fn picks_the_map_with_the_highest_slo_capacity_and_says_why() {
        let mut sync = run(
            "syncmap",
            "write-heavy",
            9e5,
            labelled(
                ladder([1000, 1200, 50_000_000, 90_000_000]),
                "syncmap-misses",
            ),
        );
        sync.knee = knee(4e5, "syncmap-misses");
        let mut sharded = run(
            "sharded",
            "write-heavy",
            9e5,
            ladder([900, 1000, 1100, 20_000]),
        );
        sharded.knee = knee(8e5, "saturation");
        let mut rw = run(
            "rwlock",
            "read-mostly",
            9e5,
            ladder([900, 1000, 1100, 1200]),
        );
        rw.steps[3].achieved_ops_per_sec = 8e5;
        rw.knee = None;
        let a = advise(&results(vec![sync, sharded, rw]), &DEFAULT_OBJECTIVE);
        assert_eq!(a.len(), 2);
        assert_eq!(
            (
                a[0].mix.as_str(),
                a[0].pick.as_deref(),
                a[0].up_to_ops_per_sec
            ),
            ("write-heavy", Some("sharded"), 4e5)
        );
        // syncmap met 1 ms at 2e5 (1.2 µs), broken at 4e5 (50 ms) and
        // confirmed at 8e5: its p99 crosses 1 ms at 2e5 × 2^(ln(1e6/1.2e3)
        // / ln(5e7/1.2e3)) ≈ 310k, 1.3x under sharded's 400k; its knee
        // explains where its latency turned up.
        let sync_cap = a[0].ranking[1].slo.ops_per_sec.unwrap();
        let t = (1e6f64 / 1.2e3).ln() / (5e7f64 / 1.2e3).ln();
        assert!((sync_cap - 2e5 * 2f64.powf(t)).abs() < 1.0, "{sync_cap}");
        let why = &a[0].why;
        assert!(why.contains("1.3x the next, syncmap"), "{why}");
        assert!(
            why.contains("at 400k/s: p99 50.00ms, syncmap-misses"),
            "{why}"
        );
        assert!(why.contains("knee at 400k/s, syncmap-misses"), "{why}");
        assert!(!a[0].open_ended && a[0].never_meet.is_empty());
        assert!(a[1].open_ended && a[1].pick.as_deref() == Some("rwlock"));
        assert!(
            a[1].why.contains("through the highest rate offered"),
            "{}",
            a[1].why
        );
    }

    #[test]
    fn a_late_knee_over_a_slow_base_is_never_picked() {
        // syncmap: 50x the others' p99 from its lowest rate (2.5 ms vs
        // 50 µs) and no knee at all — its own base is slow, so by its own
        // yardstick it never turns up. rwlock knees early but holds 1 ms.
        let slow = |r: f64| step(r, r, 2_500_000);
        let mut sync = run(
            "syncmap",
            "mixed",
            9e5,
            labelled(
                vec![slow(1e5), slow(2e5), slow(4e5), slow(8e5)],
                "syncmap-misses",
            ),
        );
        sync.knee = None;
        let mut rw = run(
            "rwlock",
            "mixed",
            9e5,
            ladder([50_000, 50_000, 200_000, 20_000_000]),
        );
        rw.knee = knee(4e5, "lock-contention");
        let a = &advise(&results(vec![sync, rw]), &DEFAULT_OBJECTIVE)[0];
        assert_eq!(a.pick.as_deref(), Some("rwlock"));
        assert_eq!(
            a.up_to_ops_per_sec, 4e5,
            "held to its top step that kept up"
        );
        assert_eq!(a.never_meet, ["syncmap"]);
        assert_eq!(a.ranking.last().unwrap().map, "syncmap");
        assert!(
            a.why.contains(
                "never meets p99 ≤ 1 ms on this machine: syncmap (base 2.50ms, cause syncmap-misses)"
            ),
            "{}",
            a.why
        );
        let s = a.ranking.iter().find(|s| s.map == "syncmap").unwrap();
        assert_eq!(
            never_meets(s, &DEFAULT_OBJECTIVE),
            "never meets p99 ≤ 1 ms on this machine: base 2.50ms, cause syncmap-misses"
        );
        // The knee alone ranked syncmap first: it "held" through 8e5.
        assert!(s.held_to_ops_per_sec > a.ranking[0].held_to_ops_per_sec);
    }

    #[test]
    fn when_no_map_meets_the_objective_none_is_picked() {
        let a = advise(
            &results(vec![
                run(
                    "rwlock",
                    "mixed",
                    9e5,
                    ladder([300_000, 310_000, 320_000, 9_000_000]),
                ),
                run(
                    "dashmap",
                    "mixed",
                    9e5,
                    ladder([150_000, 160_000, 170_000, 9_000_000]),
                ),
            ]),
            &"p99<=100us".parse().unwrap(),
        );
        let a = &a[0];
        assert_eq!((a.pick.as_deref(), a.up_to_ops_per_sec), (None, 0.0));
        assert_eq!(a.never_meet, ["dashmap", "rwlock"], "lowest base first");
        assert!(
            a.why
                .starts_with("no map meets p99 ≤ 100 µs on this machine"),
            "{}",
            a.why
        );
        assert!(a.why.contains("dashmap (base 160.0µs)"), "{}", a.why);
        assert!(
            !a.why.contains("harness alone"),
            "no floor measured: {}",
            a.why
        );
        // With a noise floor over the objective at every base, the verdict
        // says the machine decided it.
        let mut noisy = vec![
            run(
                "rwlock",
                "mixed",
                9e5,
                ladder([300_000, 310_000, 320_000, 9_000_000]),
            ),
            run(
                "dashmap",
                "mixed",
                9e5,
                ladder([150_000, 160_000, 170_000, 9_000_000]),
            ),
        ];
        for s in noisy.iter_mut().flat_map(|r| &mut r.steps) {
            s.floor_p99_ns = Some(120_000);
        }
        let a = &advise(&results(noisy), &"p99<=100us".parse().unwrap())[0];
        assert!(
            a.why
                .contains("dashmap (base 160.0µs; the harness alone, no map: 120.0µs)"),
            "{}",
            a.why
        );
        assert!(
            a.why
                .contains("the machine, not the maps, decides this verdict"),
            "{}",
            a.why
        );
        // Under the default objective both meet it, and dashmap's lower
        // tail breaks the tie in capacity.
        let b = &advise(
            &results(vec![
                run(
                    "rwlock",
                    "mixed",
                    9e5,
                    ladder([300_000, 310_000, 320_000, 9_000_000]),
                ),
                run(
                    "dashmap",
                    "mixed",
                    9e5,
                    ladder([150_000, 160_000, 170_000, 9_000_000]),
                ),
            ]),
            &DEFAULT_OBJECTIVE,
        )[0];
        assert_eq!(b.pick.as_deref(), Some("dashmap"));
        assert_eq!(b.ties, ["rwlock"]);
        assert!(b.why.contains("; within 10 %: rwlock"), "{}", b.why);
    }
}
