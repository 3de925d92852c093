//! Where a step is measured: in this process, or in one of several
//! measuring processes.
//!
//! Two runs of the same build disagreed on some knees by more than their
//! repetitions disagreed among themselves: a process draws its address
//! layout (ASLR) and heap history once, and every repetition measured in it
//! shares them. A [`StepOrder`] carries everything a step needs, so a
//! caller can hand repetition k of every step to a process of its own
//! (`mapknee run --processes`): the repetitions of a step then span as many
//! layouts as there are processes, and their median and interval hold the
//! spread between processes as well as within one.

use std::sync::atomic::AtomicBool;

use mapknee_maps::{HasherKind, MapKind};
use serde::{Deserialize, Serialize};

use crate::runner::{run_map_step_placed, StepSpec};
use crate::{Clock, Step, Workload};

/// One step, complete: what a measuring process needs to run it.
///
/// ```
/// use mapknee_load::{StepOrder, StepSpec, Workload};
/// use mapknee_maps::{HasherKind, MapKind};
/// use std::time::Duration;
/// let order = StepOrder {
///     map: MapKind::RwLock,
///     hasher: HasherKind::Foldhash,
///     workload: Workload::new(1024, 0.5, "uniform".parse().unwrap(), "mixed".parse().unwrap(), 1).unwrap(),
///     spec: StepSpec::open(1, 10_000.0, Duration::ZERO, Duration::from_millis(5)),
///     placement_ns: None,
/// };
/// let line = serde_json::to_string(&order).unwrap();
/// assert_eq!(serde_json::from_str::<StepOrder>(&line).unwrap(), order);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepOrder {
    /// The map to build.
    pub map: MapKind,
    /// Its hasher.
    pub hasher: HasherKind,
    /// What the workers do.
    pub workload: Workload,
    /// Threads, rate, arrivals, warm-up and window.
    pub spec: StepSpec,
    /// The cache-line transfer time measured just before (the placement the
    /// step ran in), recorded as the step's `coherence_ns`.
    pub placement_ns: Option<f64>,
}

impl StepOrder {
    /// Runs the step in this process.
    pub fn run(&self, clock: &Clock, stop: &AtomicBool) -> Step {
        run_map_step_placed(
            &self.map,
            self.hasher,
            &self.workload,
            &self.spec,
            clock,
            stop,
            self.placement_ns,
        )
    }
}

/// Measures steps somewhere else than the calling thread: the staircase
/// hands every step to one, naming which repetition it is.
pub trait Measurer: Sync {
    /// Runs `order` as repetition `rep` (0-based) of its step, returns what
    /// it measured. A step that could not be measured comes back
    /// `interrupted` with `failed` saying why, and the measurer has raised
    /// the stop flag (as the runner does for a step that cannot run).
    fn measure(&self, rep: usize, order: &StepOrder) -> Step;
}
