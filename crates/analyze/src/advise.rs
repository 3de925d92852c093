//! Advice from the data: for each mix measured, the map to pick and up to
//! which rate, and why — never a fixed rule.
//!
//! Maps are ranked by how far they kept up: a map with no knee held through
//! its highest offered rate (ranked by that rate); a map with a knee held
//! up to the last step before it. The pick is the top of that ranking; a
//! runner-up within 10 % is named as a tie, since on a small machine that
//! difference is noise. The reason names what stopped the others.

use mapknee_load::short::fmt_rate as rate;
use mapknee_load::{Results, Run};
use serde::Serialize;

/// Maps within this fraction of the best are called a tie.
pub const TIE_FRACTION: f64 = 0.10;

/// How far one map kept up under one mix.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Standing {
    /// The map.
    pub map: String,
    /// The highest offered rate it kept up with, txn/s.
    pub held_to_ops_per_sec: f64,
    /// Its knee, txn/s, if it had one.
    pub knee_ops_per_sec: Option<f64>,
    /// The knee's bottleneck label, if any.
    pub bottleneck: Option<String>,
    /// p99 at the highest rate it kept up with, ns.
    pub p99_ns_at_hold: u64,
}

/// Advice for one mix.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Advice {
    /// The mix.
    pub mix: String,
    /// The map to pick.
    pub pick: String,
    /// Up to this rate, txn/s (what it was measured to hold).
    pub up_to_ops_per_sec: f64,
    /// Whether it held through the highest rate offered (the real limit
    /// is higher than measured).
    pub open_ended: bool,
    /// Maps within [`TIE_FRACTION`] of the pick.
    pub ties: Vec<String>,
    /// One sentence, from the figures.
    pub why: String,
    /// Every map, best first.
    pub ranking: Vec<Standing>,
}

fn standing(run: &Run) -> Option<Standing> {
    let steps = mapknee_load::open_loop_steps(&run.steps);
    let knee = run.knee.as_ref().map(|k| k.ops_per_sec);
    // A map past its knee from the lowest rate offered held nothing: it
    // still ranks (last), with the p99 of that first step.
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
    })
}

/// Advice for every mix in a `run` result, in the order mixes first appear.
pub fn advise(results: &Results) -> Vec<Advice> {
    let mut mixes: Vec<String> = Vec::new();
    for r in &results.runs {
        if !mixes.contains(&r.mix.name) {
            mixes.push(r.mix.name.clone());
        }
    }
    mixes
        .into_iter()
        .filter_map(|mix| {
            let mut ranking: Vec<Standing> = results
                .runs
                .iter()
                .filter(|r| r.mix.name == mix)
                .filter_map(standing)
                .collect();
            // Farther is better; between equals, the lower tail wins.
            ranking.sort_by(|a, b| {
                b.held_to_ops_per_sec
                    .total_cmp(&a.held_to_ops_per_sec)
                    .then(a.p99_ns_at_hold.cmp(&b.p99_ns_at_hold))
            });
            let best = ranking.first()?.clone();
            let ties: Vec<String> = ranking[1..]
                .iter()
                .filter(|s| {
                    s.held_to_ops_per_sec >= best.held_to_ops_per_sec * (1.0 - TIE_FRACTION)
                })
                .map(|s| s.map.clone())
                .collect();
            let open_ended = best.knee_ops_per_sec.is_none();
            let mut why = if open_ended {
                format!(
                    "{} kept up through the highest rate offered ({} txn/s, p99 {:.1} µs)",
                    best.map,
                    rate(best.held_to_ops_per_sec),
                    best.p99_ns_at_hold as f64 / 1e3
                )
            } else {
                format!(
                    "{} kept up to {} txn/s (knee at {}, {})",
                    best.map,
                    rate(best.held_to_ops_per_sec),
                    rate(best.knee_ops_per_sec.unwrap_or(0.0)),
                    best.bottleneck.as_deref().unwrap_or("?")
                )
            };
            if let Some(next) = ranking
                .iter()
                .find(|s| !ties.contains(&s.map) && s.map != best.map)
            {
                let ratio = best.held_to_ops_per_sec / next.held_to_ops_per_sec.max(1.0);
                why.push_str(&format!(
                    "; {:.1}x the next, {}, which {}",
                    ratio,
                    next.map,
                    match (&next.knee_ops_per_sec, &next.bottleneck) {
                        (Some(k), Some(b)) => format!("hit its knee at {} txn/s ({b})", rate(*k)),
                        _ => format!(
                            "was measured only to {} txn/s",
                            rate(next.held_to_ops_per_sec)
                        ),
                    }
                ));
            }
            if !ties.is_empty() {
                why.push_str(&format!(
                    "; within {:.0} %: {}",
                    TIE_FRACTION * 100.0,
                    ties.join(", ")
                ));
            }
            Some(Advice {
                mix,
                pick: best.map.clone(),
                up_to_ops_per_sec: best.held_to_ops_per_sec,
                open_ended,
                ties,
                why,
                ranking,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use mapknee_load::Knee;

    use super::*;
    use crate::fixtures::{run, step};

    fn knee(at: f64, b: &str) -> Option<Knee> {
        Some(Knee {
            ops_per_sec: at,
            rule: "p99x3".into(),
            bottleneck: b.into(),
            ..Default::default()
        })
    }

    #[test]
    fn picks_the_map_that_held_longest_and_says_why() {
        let ladder = |p: [u64; 4]| {
            vec![
                step(1e5, 1e5, p[0]),
                step(2e5, 2e5, p[1]),
                step(4e5, 4e5, p[2]),
                step(8e5, 6e5, p[3]),
            ]
        };
        let mut sync = run(
            "syncmap",
            "write-heavy",
            9e5,
            ladder([1000, 1200, 9000, 50_000]),
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
        rw.knee = None;
        let results = Results {
            schema: mapknee_load::SCHEMA.into(),
            kind: "run".into(),
            machine: mapknee_load::Machine::detect("r", "0", "foldhash", 1.0, 1.0),
            runs: vec![sync, sharded, rw],
            elapsed_s: 1.0,
            interrupted: false,
            decay: vec![],
        };
        let a = advise(&results);
        assert_eq!(a.len(), 2);
        assert_eq!(
            (
                a[0].mix.as_str(),
                a[0].pick.as_str(),
                a[0].up_to_ops_per_sec
            ),
            ("write-heavy", "sharded", 4e5)
        );
        assert!(
            a[0].why.contains("syncmap") && a[0].why.contains("syncmap-misses"),
            "{}",
            a[0].why
        );
        assert!(a[0].why.contains("2.0x"), "{}", a[0].why);
        assert!(a[1].open_ended && a[1].pick == "rwlock");
    }
}
