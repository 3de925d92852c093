//! mapknee's load engine: workload (keyspace, key distributions, operation
//! mixes), a TSC clock, the pacer, closed- and open-loop runners with HDR
//! histograms and 10 ms timelines, and the staircase that drives them.
//!
//! The library never prints: progress goes through [`Progress`], results
//! come back as the `mapknee/v1` data model ([`Results`], [`Run`], [`Step`]).
//!
//! ```no_run
//! use std::sync::atomic::AtomicBool;
//! use std::time::Duration;
//! use mapknee_load::{run_map_step, Clock, StepSpec, Workload};
//! use mapknee_maps::{HasherKind, MapKind};
//!
//! let clock = Clock::new();
//! let stop = AtomicBool::new(false);
//! let w = Workload::new(65_536, 0.5, "uniform".parse()?, "mixed".parse()?, 1)?;
//! let spec = StepSpec::open(2, 100_000.0, Duration::from_millis(100), Duration::from_secs(1));
//! let step = run_map_step(&MapKind::RwLock, HasherKind::default(), &w, &spec, &clock, &stop);
//! println!("{} txn/s, p99 {} ns", step.achieved_ops_per_sec, step.latency_ns.p99);
//! # Ok::<(), mapknee_load::ParseError>(())
//! ```
#![warn(missing_docs)]

mod arrivals;
mod clock;
pub mod coherence;
mod dist;
pub mod footprint;
pub mod growth;
pub mod hist;
mod measure;
mod mix;
mod preempt;
mod results;
mod rng;
mod runner;
pub mod short;
mod slo;
mod staircase;
mod workload;

/// Which of this crate's unit tests may run together (cargo runs a test
/// binary's tests on parallel threads, on CI's 2 cores): a test that pins
/// spinners to a core takes the machine exclusively, and a test that
/// judges a measured step's timing takes it shared, so no step is judged
/// while a core is being spun on on purpose.
#[cfg(test)]
pub(crate) mod test_cores {
    use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

    static CORES: RwLock<()> = RwLock::new(());

    /// For a test that judges a step's timing; others like it run beside.
    pub(crate) fn shared() -> RwLockReadGuard<'static, ()> {
        CORES.read().unwrap_or_else(|p| p.into_inner())
    }

    /// For a test that keeps a core busy on purpose; runs alone among the
    /// timing tests.
    pub(crate) fn exclusive() -> RwLockWriteGuard<'static, ()> {
        CORES.write().unwrap_or_else(|p| p.into_inner())
    }
}

use std::fmt;

pub use arrivals::{Arrivals, Schedule};
pub use clock::Clock;
pub use dist::{Dist, DEFAULT_MISS, DISTRIBUTIONS};
pub use hist::Percentiles;
pub use measure::{Measurer, StepOrder};
pub use mix::{Mix, Op, DEFAULT_MIXES, NAMED_MIXES};
pub use preempt::{
    damon_threads, PREEMPTED_MIN, PREEMPTED_P99_FACTOR, PREEMPTED_REMEASURE_SHARE, PREEMPTED_SHARE,
};
pub use results::{
    line_transfer_summary, open_loop_curve, open_loop_steps, typical_over_windows, Decay,
    HttpSetup, Knee, Machine, Placement, Point, Preempted, Repetition, Results, Run, Stalls, Step,
    Usl, Window, SCHEMA,
};
pub use rng::FastRng;
pub use runner::{
    harness_cost, harness_open_loop_ns, run_map_step, run_map_step_placed, run_step, HarnessCost,
    StepSpec, STALL_NS, WINDOW,
};
pub use slo::{Objective, Percentile, SloCapacity};
pub use staircase::{
    auto_steps_per_map, baseline, capacity_of, first_confirmed, first_knee, ladder, median_step,
    parse_rate, repetition_curve, representatives, run_baseline, run_baseline_by, run_mix,
    run_mixes, run_scale, Ctx, NoProgress, Past, Phase, Progress, Rates, ScaleConfig,
    StaircaseConfig, MAX_RANGE_STEPS, PROBES,
};
pub use workload::{prefill, TxnGen, Workload, DEFAULT_KEYS, DEFAULT_PREFILL};

/// Why a workload setting did not parse or validate. One line, fit for a CLI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError(pub String);

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ParseError {}
