//! Test fixtures shared by the analysis modules' unit tests.

use mapknee_load::{Mix, Percentiles, Run, Step};

/// An open-loop step offered `rate`, achieving `achieved`, with this p99.
pub(crate) fn step(rate: f64, achieved: f64, p99: u64) -> Step {
    Step {
        target_ops_per_sec: Some(rate),
        achieved_ops_per_sec: achieved,
        ops: achieved as u64,
        latency_ns: Percentiles {
            p99,
            ..Default::default()
        },
        service_ns: Percentiles::default(),
        counters: Default::default(),
        timeline: vec![],
        duration_s: 1.0,
        refine: false,
        interrupted: false,
        ..Default::default()
    }
}

/// A run of `map` under the named `mix` with a measured capacity.
pub(crate) fn run(map: &str, mix: &str, capacity: f64, steps: Vec<Step>) -> Run {
    Run {
        map: map.into(),
        mix: mix.parse::<Mix>().unwrap(),
        threads: 2,
        keys: 1024,
        prefill: 0.5,
        dist: "uniform".into(),
        ops_per_txn: 1,
        arrivals: "even".into(),
        capacity_ops_per_sec: Some(capacity),
        steps,
        points: vec![],
        knee: None,
        usl: None,
        repetitions: Vec::new(),
        placement: None,
        slo: None,
        preempted: None,
    }
}
