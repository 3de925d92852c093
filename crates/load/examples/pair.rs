//! Two maps' closed-loop capacity side by side, through the load engine's
//! own step (`run_map_step`, 2 threads by default, order-cache keys): short steps,
//! the two maps alternated (order swapped every pair), so the host moving
//! the vCPUs between placements (README, "The machine moves under you")
//! hits both maps alike. Prints each pair's line-transfer time and the
//! ratio A/B, then per mix the median ratio of every round (a round is
//! `pairs` pairs) and the median over all pairs.
//!
//! ```text
//! cargo run --release -p mapknee-load --example pair -- sharded dashmap [rounds] [pairs] [threads]
//! ```
//!
//! The same map twice (`pair dashmap dashmap`; each step builds its own
//! map) is the A/A control: the ratios two identical maps get on this
//! machine, against which an A/B ratio near 1 can be read. Alternate the
//! two in one script (`benchsuite/runs/2026-12-04-vm23f/`).

use std::sync::atomic::AtomicBool;
use std::time::Duration;

use mapknee_load::coherence::line_transfer_ns;
use mapknee_load::{run_map_step, Clock, StepSpec, Workload, DEFAULT_MIXES};
use mapknee_maps::{HasherKind, MapKind};

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let map = |i: usize, default: &str| -> MapKind {
        args.get(i)
            .map_or(default, String::as_str)
            .parse()
            .expect("a map name")
    };
    let count = |i: usize, default: usize| -> usize {
        args.get(i).map_or(default, |n| n.parse().expect("a count"))
    };
    let (a, b) = (map(0, "sharded"), map(1, "dashmap"));
    let (rounds, pairs, threads) = (count(2, 4), count(3, 5), count(4, 2));
    let clock = Clock::new();
    let stop = AtomicBool::new(false);
    let spec = StepSpec::closed(
        threads,
        Duration::from_millis(30),
        Duration::from_millis(150),
    );
    let mut summary = Vec::new();
    for mix in DEFAULT_MIXES {
        let w = Workload::default_for(mix.parse().expect("mix"));
        let mut all = Vec::new();
        let mut per_round = Vec::new();
        for r in 0..rounds {
            let mut ratios = Vec::new();
            for p in 0..pairs {
                let ns = line_transfer_ns(&clock).unwrap_or(f64::NAN);
                let contended = std::cell::Cell::new(f64::NAN);
                let step = |m: &MapKind| {
                    let s = run_map_step(m, HasherKind::default(), &w, &spec, &clock, &stop);
                    // The share of lock acquisitions that found the lock
                    // held (maps that count their locks, i.e. A = sharded).
                    if m == &a {
                        if let (Some(&c), Some(&n)) = (
                            s.counters.get("lock_contended"),
                            s.counters.get("lock_acquisitions"),
                        ) {
                            contended.set(c as f64 / n.max(1) as f64);
                        }
                    }
                    s.achieved_ops_per_sec
                };
                let (ra, rb) = if (r * pairs + p) % 2 == 0 {
                    let ra = step(&a);
                    (ra, step(&b))
                } else {
                    let rb = step(&b);
                    (step(&a), rb)
                };
                println!(
                    "{mix:<12} round {r} pair {p}  line {ns:6.1} ns  {a} {:6.2}M  {b} {:6.2}M  ratio {:.3}  {a} contended {:.2} %",
                    ra / 1e6,
                    rb / 1e6,
                    ra / rb,
                    100.0 * contended.get()
                );
                ratios.push(ra / rb);
            }
            all.extend_from_slice(&ratios);
            per_round.push(median(&mut ratios));
        }
        let rounds_txt: Vec<String> = per_round.iter().map(|x| format!("{x:.3}")).collect();
        summary.push(format!(
            "{mix:<12} {a}/{b}: median of round medians {:.3} (rounds {}), median of all pairs {:.3}",
            median(&mut per_round.clone()),
            rounds_txt.join(" "),
            median(&mut all)
        ));
    }
    for s in summary {
        println!("{s}");
    }
}
