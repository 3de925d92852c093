//! A realistic result fixture, shared by the integration tests and
//! `examples/sample.rs`: two maps × two mixes on a six-step ladder, knees
//! with Kneedle and M/M/1 references, timelines with promotions and growths,
//! and a scale result with USL fits. Deterministic (no RNG).

use std::collections::BTreeMap;

use mapknee_load::{Knee, Machine, Percentiles, Point, Results, Run, Step, Usl, Window, SCHEMA};

/// Offered rates of the ladder, txn/s.
pub(crate) const LADDER: [f64; 6] = [250e3, 500e3, 1e6, 2e6, 4e6, 8e6];

fn machine() -> Machine {
    Machine {
        cpus: 8,
        cpu_model: "AMD EPYC 7B13 <virtual> & friends".into(),
        os: "linux 6.1.0-18-cloud-amd64".into(),
        rustc: "rustc 1.85.0 (4d91de4e4 2025-02-17)".into(),
        mapknee_version: "0.1.0".into(),
        hasher: "foldhash".into(),
        clock_overhead_ns: 18.5,
        clock_source: "tsc (kernel clocksource: tsc)".into(),
        line_transfer_ns: Some([35.0, 36.0, 205.0]),
        placement: None,
        harness_ns_per_op: 42.0,
        http: None,
    }
}

/// A small deterministic wobble in [-1, 1] from `i`.
fn wobble(i: u64) -> f64 {
    // splitmix64's finalizer: well mixed, so no visible period.
    let mut z = i.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z % 2001) as f64 / 1000.0 - 1.0
}

/// One step: `p99` in ns; the other percentiles follow from it.
/// `events(window) -> counters` adds event counters to timeline windows.
fn step(
    rate: f64,
    achieved: f64,
    p99: f64,
    counters: &[(&str, u64)],
    events: &dyn Fn(u64) -> Vec<(&'static str, u64)>,
) -> Step {
    let lat = Percentiles {
        p50: (p99 * 0.25) as u64,
        p90: (p99 * 0.6) as u64,
        p99: p99 as u64,
        p999: (p99 * 2.5) as u64,
        max: (p99 * 9.0) as u64,
        mean: p99 * 0.3,
    };
    let service = Percentiles {
        p50: 180,
        p90: 320,
        p99: 900,
        p999: 4_000,
        max: 60_000,
        mean: 220.0,
    };
    let timeline = (0..100u64)
        .map(|i| {
            let ev = events(i);
            let spike = if ev.is_empty() { 1.0 } else { 4.0 };
            Window {
                t_ms: i * 10,
                ops: ((achieved / 100.0) * (1.0 + 0.04 * wobble(i))) as u64,
                p99_ns: (p99 * (1.0 + 0.3 * wobble(i + 7)) * spike) as u64,
                counters: ev.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
                longest_stall_ns: 0,
            }
        })
        .collect();
    Step {
        target_ops_per_sec: Some(rate),
        achieved_ops_per_sec: achieved,
        ops: achieved as u64,
        latency_ns: lat,
        service_ns: service,
        counters: counters
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect::<BTreeMap<_, _>>(),
        timeline,
        duration_s: 1.0,
        refine: false,
        interrupted: false,
        ..Default::default()
    }
}

fn run(map: &str, mix: &str, steps: Vec<Step>, knee: Option<Knee>) -> Run {
    Run {
        map: map.into(),
        mix: mix.parse().expect("named mix"),
        threads: 8,
        keys: 1_000_000,
        prefill: 0.5,
        dist: "zipf:0.99".into(),
        ops_per_txn: 1,
        arrivals: "poisson".into(),
        capacity_ops_per_sec: Some(9.1e6),
        steps,
        points: vec![],
        knee,
        usl: None,
        repetitions: Vec::new(),
        placement: None,
        slo: None,
        preempted: None,
    }
}

/// Builds a staircase from `(achieved fraction, p99 ns)` per ladder step.
fn staircase(
    shape: [(f64, f64); 6],
    events: &dyn Fn(usize, u64) -> Vec<(&'static str, u64)>,
) -> Vec<Step> {
    LADDER
        .iter()
        .zip(shape)
        .enumerate()
        .map(|(k, (&rate, (frac, p99)))| {
            step(
                rate,
                rate * frac,
                p99,
                &[
                    ("lock_acquisitions", (rate * frac) as u64),
                    ("misses", 1200),
                ],
                &|w| events(k, w),
            )
        })
        .collect()
}

/// A `run` result: syncmap and gomap under read-mostly and write-heavy.
pub(crate) fn run_results() -> Results {
    let none = |_: usize, _: u64| vec![];
    let promotions = |k: usize, w: u64| {
        if k >= 2 && w % 17 == 5 {
            vec![("promotions", 1), ("dirty_rebuilds", 1)]
        } else {
            vec![]
        }
    };
    let growth = |k: usize, w: u64| match (k, w) {
        (_, 12) => vec![("growths_doubling", 1)],
        (4.., 61) => vec![("growths_same_size", 1)],
        _ => vec![],
    };
    let runs = vec![
        run(
            "syncmap",
            "read-mostly",
            staircase(
                [
                    (1.0, 2_100.0),
                    (1.0, 2_300.0),
                    (1.0, 2_600.0),
                    (1.0, 3_400.0),
                    (0.999, 6_800.0),
                    (0.998, 21_000.0),
                ],
                &none,
            ),
            None,
        ),
        run(
            "gomap",
            "read-mostly",
            staircase(
                [
                    (1.0, 3_000.0),
                    (1.0, 3_400.0),
                    (1.0, 4_500.0),
                    (0.99, 9_800.0),
                    (0.78, 2_400_000.0),
                    (0.40, 85_000_000.0),
                ],
                &growth,
            ),
            Some(Knee {
                ops_per_sec: 4e6,
                rule: "p99x3+throughput".into(),
                bottleneck: "lock-contention".into(),
                kneedle_ops_per_sec: Some(2e6),
                kneedle: Some("agree".into()),
                mm1_ops_per_sec: Some(3.4e6),
                reference_model: Some("D/M/1".into()),
                ops_per_sec_range: None,
            }),
        ),
        run(
            "syncmap",
            "write-heavy",
            staircase(
                [
                    (1.0, 5_200.0),
                    (1.0, 7_900.0),
                    (0.97, 48_000.0),
                    (0.71, 3_100_000.0),
                    (0.36, 61_000_000.0),
                    (0.18, 240_000_000.0),
                ],
                &promotions,
            ),
            Some(Knee {
                ops_per_sec: 1e6,
                rule: "p99x3".into(),
                bottleneck: "syncmap-misses".into(),
                kneedle_ops_per_sec: Some(2e6),
                kneedle: Some("agree".into()),
                mm1_ops_per_sec: None,
                reference_model: None,
                ops_per_sec_range: None,
            }),
        ),
        run(
            "gomap",
            "write-heavy",
            staircase(
                [
                    (1.0, 4_100.0),
                    (1.0, 4_600.0),
                    (1.0, 6_000.0),
                    (0.94, 190_000.0),
                    (0.52, 30_000_000.0),
                    (0.26, 120_000_000.0),
                ],
                &growth,
            ),
            Some(Knee {
                ops_per_sec: 2e6,
                rule: "throughput".into(),
                bottleneck: "growth".into(),
                kneedle_ops_per_sec: Some(8e6),
                kneedle: Some("disagree".into()),
                mm1_ops_per_sec: Some(2.6e6),
                reference_model: Some("D/M/1".into()),
                ops_per_sec_range: None,
            }),
        ),
    ];
    Results {
        schema: SCHEMA.into(),
        kind: "run".into(),
        machine: machine(),
        runs,
        elapsed_s: 187.4,
        interrupted: false,
        decay: vec![],
        slo: None,
    }
}

/// A `scale` result: syncmap (8 thread counts, trusted fit) and gomap (4
/// thread counts, untrusted) under mixed.
pub(crate) fn scale_results() -> Results {
    let fits = [
        (
            "syncmap",
            &[1usize, 2, 3, 4, 5, 6, 7, 8][..],
            0.03,
            0.0008,
            2.1e6,
            true,
        ),
        ("gomap", &[1, 2, 4, 8][..], 0.22, 0.012, 1.6e6, false),
    ];
    let runs = fits
        .into_iter()
        .map(|(map, threads, sigma, kappa, lambda, trusted)| {
            let usl = Usl {
                sigma,
                kappa,
                lambda,
                peak_threads: Some(((1.0 - sigma) / kappa).sqrt()),
                r2: if trusted { 0.987 } else { 0.91 },
                points: threads.len(),
                trusted,
            };
            let points = threads
                .iter()
                .map(|&n| Point {
                    threads: n,
                    ops_per_sec: usl.throughput(n as f64) * (1.0 + 0.03 * wobble(n as u64)),
                    p99_ns: 800 + 350 * (n as u64) * (n as u64),
                })
                .collect();
            let mut r = run(map, "mixed", vec![], None);
            r.points = points;
            r.usl = Some(usl);
            r
        })
        .collect();
    Results {
        schema: SCHEMA.into(),
        kind: "scale".into(),
        machine: machine(),
        runs,
        elapsed_s: 64.0,
        interrupted: false,
        decay: vec![],
        slo: None,
    }
}
