//! The results contract, `mapknee/v1`: what `run` and `scale` produce and
//! what other parts and users' scripts read. Fields may be added, never
//! renamed. Fields beyond DESIGN.md's list are marked *extension*.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::{Mix, Objective, Percentiles, SloCapacity};

/// The schema tag every result file carries.
pub const SCHEMA: &str = "mapknee/v1";

/// A whole result file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Results {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// `"run"` (staircases) or `"scale"` (closed-loop thread scaling).
    pub kind: String,
    /// The machine the numbers came from.
    pub machine: Machine,
    /// One per map × mix.
    pub runs: Vec<Run>,
    /// Wall time of the whole command, in seconds (*extension*).
    #[serde(default)]
    pub elapsed_s: f64,
    /// Whether Ctrl-C ended the command early (*extension*).
    #[serde(default)]
    pub interrupted: bool,
    /// The decay model fitted per map across this file's runs (*extension*;
    /// `run` only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub decay: Vec<Decay>,
    /// The latency objective each run's `slo` was judged against
    /// (*extension*; `run` only; files from before it have none, and
    /// readers then judge against the default objective).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slo: Option<Objective>,
}

/// The study's decay model for one map: ln(p99 / base p99) =
/// a + b·x + c·w + d·w·x, with x = ln(1 + q) = −ln(1 − ρ), q = ρ/(1−ρ) for
/// utilization ρ (offered rate over capacity), and w the mix's write share,
/// fitted over the steps that kept up. See `mapknee-analyze`'s `decay`
/// module. Files written before `saturated_dropped` existed regressed on q
/// itself, kept every step and took each run's own lowest step as its base.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decay {
    /// The map.
    pub map: String,
    /// a: log p99 ratio at no load and no writes.
    pub a: f64,
    /// b: growth with x = ln(1 + q); 1 is a single M/M/1 queue's.
    pub b: f64,
    /// c: cost of the write share.
    pub c: f64,
    /// d: extra growth with load per unit of write share.
    pub d: f64,
    /// Coefficient of determination.
    pub r2: f64,
    /// Steps fitted.
    pub n: usize,
    /// Whether the write terms were fitted (needs ≥ 2 write shares).
    pub writes_fitted: bool,
    /// 95 % interval of `a`: ± Student's t (n − p degrees of freedom) × its
    /// standard error from the OLS covariance (*extension*; `null` when
    /// there are no residual degrees of freedom).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub a_ci: Option<[f64; 2]>,
    /// 95 % interval of `b`, as `a_ci` (*extension*).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub b_ci: Option<[f64; 2]>,
    /// 95 % interval of `c`, as `a_ci` (*extension*; `null` when the write
    /// terms were not fitted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub c_ci: Option<[f64; 2]>,
    /// 95 % interval of `d`, as `c_ci` (*extension*).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub d_ci: Option<[f64; 2]>,
    /// Steps left out because they were saturated (achieved < 95 % of
    /// offered): past capacity the queue grows without bound and p99 holds
    /// the step's length, not the map (*extension*).
    #[serde(default)]
    pub saturated_dropped: usize,
    /// The p99 the ratios are taken against, ns: the lowest offered step of
    /// the map's run with the fewest writes (*extension*). The model's p99
    /// at no load and no writes is e^a × this.
    #[serde(default)]
    pub base_p99_ns: u64,
}

/// The machine and build a result came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Machine {
    /// Logical CPUs available to the process.
    pub cpus: usize,
    /// `/proc/cpuinfo`'s model name (or `"unknown"`).
    pub cpu_model: String,
    /// OS and kernel release, e.g. `linux 6.1.0`.
    pub os: String,
    /// `rustc --version` of the compiler that built mapknee.
    pub rustc: String,
    /// mapknee's version.
    pub mapknee_version: String,
    /// The hasher every map used (`foldhash` or `siphash`).
    pub hasher: String,
    /// Cost of one clock reading, in ns.
    pub clock_overhead_ns: f64,
    /// What the clock reads: `tsc` (the CPU's invariant timestamp counter,
    /// through quanta) or the OS clock quanta fell back to, with the
    /// kernel's clocksource (*extension*).
    #[serde(default)]
    pub clock_source: String,
    /// The cache-line transfer time between the first two worker cores over
    /// the run's steps (`Step::coherence_ns`): `[min, median, max]`, ns
    /// (*extension*). A spread says the host moved the cores during the
    /// run, and capacities and knees moved with them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line_transfer_ns: Option<[f64; 3]>,
    /// The placement every run's steps were held to, and its cost over the
    /// whole command (*extension*).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placement: Option<Placement>,
    /// The harness's own cost per recorded transaction, in ns, measured on
    /// a no-op map in the open loop (clock read, key and op generation, and
    /// two histogram records) (*extension*).
    #[serde(default)]
    pub harness_ns_per_op: f64,
    /// `http` results: how the generator and the service shared the
    /// machine (*extension*).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpSetup>,
}

/// How an `http` run was set up: which cores the load generator and the
/// service had, and the load's shape (*extension*).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HttpSetup {
    /// Cores the generator's threads were pinned to (empty: not pinned).
    pub generator_cores: Vec<usize>,
    /// Cores the service's workers were pinned to (empty: not pinned or
    /// not known: a service started by someone else that does not say).
    pub service_cores: Vec<usize>,
    /// `split` (disjoint cores), `shared` (one machine, no pinning) or
    /// `unknown` (a service at `--url` that does not report its cores).
    pub placement: String,
    /// Keep-alive connections.
    pub connections: usize,
    /// Generator threads.
    pub generator_threads: usize,
    /// The services' backing store, as given to `serve --store`.
    pub store: String,
    /// GET/PUT/DELETE percentages and the GET miss share.
    pub request_mix: String,
    /// Whether `http --spawn` started the services.
    pub spawned: bool,
    /// Requests that failed (connection errors, timeouts, 5xx) over the
    /// whole run.
    pub errors: u64,
}

impl Machine {
    /// Detects the CPU count, CPU model and OS; the caller supplies what
    /// only it knows.
    pub fn detect(
        rustc: &str,
        mapknee_version: &str,
        hasher: &str,
        clock_overhead_ns: f64,
        harness_ns_per_op: f64,
    ) -> Self {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("model name"))
                    .and_then(|l| l.split_once(':'))
                    .map(|(_, v)| v.trim().to_string())
            })
            .unwrap_or_else(|| "unknown".into());
        let release = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| format!(" {}", s.trim()))
            .unwrap_or_default();
        Machine {
            cpus,
            cpu_model,
            os: format!("{}{release}", std::env::consts::OS),
            rustc: rustc.into(),
            mapknee_version: mapknee_version.into(),
            hasher: hasher.into(),
            clock_overhead_ns,
            clock_source: crate::Clock::source(),
            line_transfer_ns: None,
            placement: None,
            harness_ns_per_op,
            http: None,
        }
    }
}

/// One map under one mix: a staircase (`steps`) or a scaling curve (`points`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    /// The map's CLI name.
    pub map: String,
    /// The operation mix.
    pub mix: Mix,
    /// Worker threads (for `scale`, the largest count).
    pub threads: usize,
    /// Keyspace size.
    pub keys: u64,
    /// Prefill fraction.
    pub prefill: f64,
    /// Key distribution, as given on the command line.
    pub dist: String,
    /// Map operations per transaction.
    pub ops_per_txn: u32,
    /// `even` or `poisson` (*extension*).
    #[serde(default)]
    pub arrivals: String,
    /// Closed-loop capacity found by the `auto` probe, txn/s (*extension*).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity_ops_per_sec: Option<f64>,
    /// Open-loop steps, sorted by target rate.
    pub steps: Vec<Step>,
    /// Closed-loop scaling points (`scale` only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub points: Vec<Point>,
    /// The knee, or `null` when no step crossed a rule.
    pub knee: Option<Knee>,
    /// The Universal Scalability Law fitted to `points` (`scale` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usl: Option<Usl>,
    /// With `--repeat N`: each repetition's own figures, in the order they
    /// ran (*extension*). Their spread is the run's measured noise, which
    /// `compare` weighs.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub repetitions: Vec<Repetition>,
    /// The placement the run's steps were held to (see
    /// `coherence::PlacementGate`) (*extension*).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placement: Option<Placement>,
    /// The run's capacity under the file's objective (`Results::slo`)
    /// (*extension*; `run` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slo: Option<SloCapacity>,
    /// Map steps judged preempted (see [`Step::preempted_ns`]): measured
    /// again, or kept so (*extension*; `None` when none was).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preempted: Option<Preempted>,
}

/// A run's steps during which the machine kept a worker off its core for
/// too long (see [`Step::preempted_ns`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Preempted {
    /// Steps measured again because of it.
    pub remeasured: u32,
    /// Steps kept although it happened to them: the second measurement
    /// was preempted too, or its map × mix's allowance for measuring again
    /// ([`crate::PREEMPTED_REMEASURE_SHARE`]) was spent.
    pub kept: u32,
}

impl Preempted {
    /// The runs' records added up; `None` when no run has one.
    ///
    /// ```
    /// use mapknee_load::Preempted;
    /// let p = |r, k| Preempted { remeasured: r, kept: k };
    /// let t = Preempted::total([Some(p(2, 1)), None, Some(p(3, 0))].iter().flatten());
    /// assert_eq!(t, Some(p(5, 1)));
    /// ```
    pub fn total<'a>(runs: impl Iterator<Item = &'a Preempted>) -> Option<Preempted> {
        runs.copied().reduce(|a, b| Preempted {
            remeasured: a.remeasured + b.remeasured,
            kept: a.kept + b.kept,
        })
    }
}

impl Run {
    /// A run of `kind` under `workload` with nothing measured yet;
    /// `arrivals` is `even`, `poisson` or `closed` (`scale`).
    pub fn empty(
        kind: &mapknee_maps::MapKind,
        workload: &crate::Workload,
        threads: usize,
        arrivals: &str,
    ) -> Run {
        Run {
            map: kind.name(),
            mix: workload.mix.clone(),
            threads,
            keys: workload.keys,
            prefill: workload.prefill,
            dist: workload.dist.to_string(),
            ops_per_txn: workload.ops_per_txn,
            arrivals: arrivals.into(),
            capacity_ops_per_sec: None,
            steps: Vec::new(),
            points: Vec::new(),
            knee: None,
            usl: None,
            repetitions: Vec::new(),
            placement: None,
            slo: None,
            preempted: None,
        }
    }
}

/// The worker cores' placement a run was held to, and what holding it cost.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Placement {
    /// The reference placement's cache-line transfer time, ns: the fastest
    /// placement on two separate cores the run met often before its steps.
    pub reference_ns: f64,
    /// Steps count as in the reference placement within `[low, high]` ns.
    pub band_ns: [f64; 2],
    /// Map steps measured outside the band (the waiting allowance ran out).
    pub steps_outside: u32,
    /// Map steps measured again because the host moved the cores while
    /// they ran.
    pub remeasured: u32,
    /// Time spent waiting for the reference placement before steps, s.
    pub waited_s: f64,
}

impl Placement {
    /// A record of a run held by `gate`, nothing counted yet.
    pub fn held_by(gate: &crate::coherence::PlacementGate) -> Self {
        Placement {
            reference_ns: gate.reference_ns(),
            band_ns: gate.band_ns(),
            ..Placement::default()
        }
    }

    /// The runs' placement records added up (the reference and band are
    /// the run's, shared by all); `None` when no run was held to one.
    ///
    /// ```
    /// use mapknee_load::Placement;
    /// let p = |n| Placement { reference_ns: 36.0, steps_outside: n, waited_s: 0.5, ..Default::default() };
    /// let t = Placement::total([Some(p(1)), None, Some(p(2))].iter().flatten()).unwrap();
    /// assert_eq!((t.steps_outside, t.waited_s), (3, 1.0));
    /// ```
    pub fn total<'a>(runs: impl Iterator<Item = &'a Placement>) -> Option<Placement> {
        runs.copied().reduce(|a, b| Placement {
            steps_outside: a.steps_outside + b.steps_outside,
            remeasured: a.remeasured + b.remeasured,
            waited_s: a.waited_s + b.waited_s,
            ..a
        })
    }

    /// Whether `step` ran in the band; a step with no reading counts as in.
    pub fn admits(&self, step: &Step) -> bool {
        step.coherence_ns
            .is_none_or(|ns| self.band_ns[0] <= ns && ns <= self.band_ns[1])
    }

    /// The repetitions of one offered rate that the knee and the SLO are
    /// judged from: those measured in the reference placement, when any
    /// was and the run was held to one; otherwise all of them. A
    /// repetition the host ran on a slower placement (its cores on two
    /// dies, a cache line 6× further away) measures another machine: on
    /// the development VM one such bisection midpoint, behind by 20 %, set
    /// a knee below three later steps that kept up.
    ///
    /// ```
    /// use mapknee_load::{Placement, Step};
    /// let at = |ns: f64| Step { coherence_ns: Some(ns), ..Default::default() };
    /// let p = Placement { band_ns: [25.0, 50.0], ..Default::default() };
    /// let group = [at(36.0), at(210.0), at(34.0)];
    /// assert_eq!(Placement::placed(&group, Some(&p)).len(), 2);
    /// // None in the band: all kept (nothing better was measured).
    /// assert_eq!(Placement::placed(&[at(210.0)], Some(&p)).len(), 1);
    /// assert_eq!(Placement::placed(&group, None).len(), 3);
    /// ```
    pub fn placed(group: &[Step], placement: Option<&Placement>) -> Vec<Step> {
        let inside: Vec<Step> = match placement {
            Some(p) => group.iter().filter(|s| p.admits(s)).cloned().collect(),
            None => Vec::new(),
        };
        if inside.is_empty() {
            group.to_vec()
        } else {
            inside
        }
    }
}

/// One repetition of a run's staircase, analysed as if it had run alone.
/// `Default` (all zero) lets fixtures name only the fields they set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Repetition {
    /// The repetition's knee, txn/s; its highest offered rate when it has
    /// none (the knee is at least that).
    pub knee_ops_per_sec: f64,
    /// Whether a rule fired (`false`: `knee_ops_per_sec` is a lower bound).
    pub knee_found: bool,
    /// The highest rate it achieved at any step, txn/s: its measured
    /// capacity when the ladder went past saturation.
    pub peak_achieved_ops_per_sec: f64,
    /// Whether some step fell short of its offered rate (`false`: the
    /// ladder never saturated the map, and `peak_achieved_ops_per_sec` is a
    /// lower bound).
    pub saturated: bool,
    /// The repetition's SLO capacity under the file's objective, txn/s: 0
    /// when it never met it (*extension*; `null` in files from before it,
    /// and `compare` then reads the merged steps instead).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slo_ops_per_sec: Option<f64>,
    /// Whether `slo_ops_per_sec` is the repetition's highest offered rate,
    /// so only a lower bound (*extension*).
    #[serde(default)]
    pub slo_open_ended: bool,
}

/// The Universal Scalability Law, X(N) = λN / (1 + σ(N−1) + κN(N−1)),
/// fitted to closed-loop scaling points.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Usl {
    /// σ: contention (serialized fraction).
    pub sigma: f64,
    /// κ: coherency (crosstalk) cost.
    pub kappa: f64,
    /// λ: throughput of one thread, txn/s.
    pub lambda: f64,
    /// N* = √((1−σ)/κ), the thread count of peak throughput; `null` when
    /// κ = 0 (no peak).
    pub peak_threads: Option<f64>,
    /// Coefficient of determination of the fit (*extension*).
    #[serde(default)]
    pub r2: f64,
    /// Distinct thread counts fitted (*extension*).
    #[serde(default)]
    pub points: usize,
    /// Whether there were enough points (≥ 6) to trust σ and κ (*extension*).
    #[serde(default)]
    pub trusted: bool,
}

/// One step of a staircase: a fixed offered rate for a fixed time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// Offered rate, txn/s (`null` for a closed-loop step).
    pub target_ops_per_sec: Option<f64>,
    /// Completed transactions per second in the measured window.
    pub achieved_ops_per_sec: f64,
    /// Transactions completed in the measured window.
    pub ops: u64,
    /// Completion − intended start (coordinated-omission corrected), ns.
    pub latency_ns: Percentiles,
    /// Completion − actual start, ns.
    pub service_ns: Percentiles,
    /// Counter deltas over the measured window (`MapStats::counters` names).
    pub counters: BTreeMap<String, u64>,
    /// Per-10 ms windows.
    pub timeline: Vec<Window>,
    /// Length of the measured window, s (*extension*).
    #[serde(default)]
    pub duration_s: f64,
    /// Whether this step came from knee refinement (bisection) rather than
    /// the ladder (*extension*).
    #[serde(default)]
    pub refine: bool,
    /// Whether Ctrl-C cut this step short (*extension*; such steps are
    /// left out of knee detection).
    #[serde(default)]
    pub interrupted: bool,
    /// The bottleneck label analysis gave this step (*extension*).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bottleneck: Option<String>,
    /// The figures that label was decided from, by name (*extension*; their
    /// meaning is in `mapknee-analyze`'s `bottleneck` module docs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bottleneck_figures: Option<BTreeMap<String, f64>>,
    /// With `--repeat N`: how many repetitions this step's figures are the
    /// median of (*extension*; 1 otherwise).
    #[serde(default = "one")]
    pub repeats: u32,
    /// With `--repeat N`: a confidence interval of the median p99, ns
    /// (*extension*): a pair of order statistics of the repetitions' p99s,
    /// the narrowest reaching 95 % coverage, else [min, max]. Files written
    /// before `p99_ci_coverage` existed hold a bootstrap interval here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p99_ci_ns: Option<[f64; 2]>,
    /// Open loop: intended starts that fell inside the measured window,
    /// issued or not — the offered load actually generated (*extension*).
    /// The throughput rule judges `ops` against it, not the nominal rate.
    #[serde(default)]
    pub arrivals: u64,
    /// Open loop: transactions due before the step ended but never issued
    /// because the thread was behind; each is recorded in `latency_ns` as
    /// step end − intended start (*extension*), so a saturated step's tail
    /// does not depend on the step's length.
    #[serde(default)]
    pub backlog: u64,
    /// The typical p99: the median, over the step's 10 ms windows that
    /// completed anything, of each window's p99, ns (*extension*). The knee
    /// rule reads this: the step's overall p99 also holds the rare
    /// multi-millisecond preemptions the OS deals a thread when every core
    /// is busy, whose number per step is chance (see the README).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub typical_p99_ns: Option<u64>,
    /// One-way cache-line transfer time between the first two worker cores,
    /// measured just before the step, ns (*extension*; multi-threaded
    /// pinned steps only). The host's placement of the cores shows here:
    /// on the development VM ~35 ns (one core complex) or ~205 ns (two),
    /// and two-thread capacities followed, ~1.7× apart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coherence_ns: Option<f64>,
    /// The noise floor: the typical p99 of the `noop` map (the harness and
    /// the machine alone) at this offered rate in the same run, ns
    /// (*extension*; `null` when no floor was measured).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub floor_p99_ns: Option<u64>,
    /// What the machine took from the workers during this very step
    /// (*extension*; open-loop steps): the gaps between two clock reads of
    /// a worker waiting for its next arrival. See [`Stalls`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stalls: Option<Stalls>,
    /// The longest single pause the machine dealt any worker of this step,
    /// ns (*extension*; `null` where the kernel does not say a thread's
    /// run delay): a worker's longest gap while it waited for an arrival,
    /// or its longest transaction when its Linux `run_delay` over the step
    /// covers half of it (a pause inside a transaction, which `stalls`
    /// does not see); neither counts when the map's own background threads
    /// used more CPU meanwhile. A map step preempted for over 1 % of its
    /// length whose p99 is at most twice the pause is measured once more
    /// ([`crate::PREEMPTED_SHARE`], [`crate::PREEMPTED_P99_FACTOR`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preempted_ns: Option<u64>,
    /// The actual coverage of `p99_ci_ns`, 0..1 (*extension*): exact for
    /// any distribution, 1 − 2·P(B < k) for B ~ Binomial(repeats, 1/2)
    /// when the interval is the k-th order statistics from each end; 0.75
    /// for 3 repetitions, 0.9375 for 5, 0.979 for 10.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p99_ci_coverage: Option<f64>,
    /// Why this step could not run or finish, when it could not
    /// (*extension*): a worker thread that could not be spawned, memory
    /// that could not be reserved. Such a step is also `interrupted`, and
    /// the runner raised the stop flag, so the run ends as Ctrl-C ends it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed: Option<String>,
    /// What bpftrace saw during this step, when `mapknee trace` ran it
    /// (*extension*): probe counts over the same window as `counters`, the
    /// lock-wait histogram and mean, the top waiting stacks. Its shape is
    /// documented in the README (`mapknee trace`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ebpf: Option<serde_json::Value>,
    /// The process id of the measuring process that ran this step, when
    /// `run` measured it in one (*extension*; see `mapknee run
    /// --processes`): repetition k of every step runs in process k, so a
    /// step's repetitions span as many address layouts and heap histories
    /// as there are processes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// Which of the run's repetitions (0-based) this step belongs to, when
    /// the run repeated its staircase (*extension*). Each repetition
    /// bisects its own knee, so its bisection steps sit at rates no other
    /// repetition measured and the rate alone no longer tells the
    /// repetitions apart. Absent in files from before 2026-12-02, whose
    /// k-th step at each rate is repetition k.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repetition: Option<u32>,
}

impl Default for Step {
    /// An empty open-loop step: no rate, nothing measured, one repetition.
    /// Lets fixtures and tests name only the fields they care about.
    fn default() -> Self {
        Step {
            target_ops_per_sec: None,
            achieved_ops_per_sec: 0.0,
            ops: 0,
            latency_ns: Percentiles::default(),
            service_ns: Percentiles::default(),
            counters: BTreeMap::new(),
            timeline: Vec::new(),
            duration_s: 0.0,
            refine: false,
            interrupted: false,
            bottleneck: None,
            bottleneck_figures: None,
            repeats: 1,
            p99_ci_ns: None,
            arrivals: 0,
            backlog: 0,
            typical_p99_ns: None,
            coherence_ns: None,
            floor_p99_ns: None,
            stalls: None,
            preempted_ns: None,
            p99_ci_coverage: None,
            failed: None,
            ebpf: None,
            pid: None,
            repetition: None,
        }
    }
}

impl Step {
    /// The p99 the knee rules read: the typical p99 when the step has a
    /// timeline, else the overall p99 (closed-loop steps, older files).
    pub fn rule_p99_ns(&self) -> u64 {
        self.typical_p99_ns.unwrap_or(self.latency_ns.p99)
    }
}

impl Usl {
    /// The model's throughput at `n` threads: λN / (1 + σ(N−1) + κN(N−1)).
    pub fn throughput(&self, n: f64) -> f64 {
        self.lambda * n / (1.0 + self.sigma * (n - 1.0) + self.kappa * n * (n - 1.0))
    }
}

/// The open-loop steps not cut short by Ctrl-C, by offered rate: the curve
/// every knee method, model and comparison reads.
pub fn open_loop_steps(steps: &[Step]) -> Vec<&Step> {
    let rate = |s: &Step| s.target_ops_per_sec.unwrap_or(0.0);
    let mut open: Vec<&Step> = steps
        .iter()
        .filter(|s| !s.interrupted && s.target_ops_per_sec.is_some())
        .collect();
    open.sort_by(|a, b| rate(a).total_cmp(&rate(b)));
    open
}

/// [`open_loop_steps`], owned: the curve the knee rule ([`crate::Past`])
/// judges.
pub fn open_loop_curve(steps: &[Step]) -> Vec<Step> {
    open_loop_steps(steps).into_iter().cloned().collect()
}

fn one() -> u32 {
    1
}

/// One timeline window.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Window {
    /// Window start, ms since the measured window began.
    pub t_ms: u64,
    /// Transactions completed in the window.
    pub ops: u64,
    /// p99 latency (corrected) of those transactions, ns (2 significant digits).
    pub p99_ns: u64,
    /// Counter deltas sampled by the coordinator thread over the window;
    /// zero deltas are left out.
    pub counters: BTreeMap<String, u64>,
    /// The longest stall any worker saw in the window while waiting for
    /// its next arrival, ns (*extension*; 0: none over
    /// [`STALL_NS`](crate::STALL_NS)). See [`Stalls`].
    #[serde(default, skip_serializing_if = "is_zero")]
    pub longest_stall_ns: u64,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

/// Stalls: time the machine took from the workers inside a step, seen from
/// the workers themselves (*extension*).
///
/// A worker waiting for its next intended start spins on the clock, a read
/// every ~10–50 ns; a gap of more than [`STALL_NS`](crate::STALL_NS)
/// between two reads is time the thread was not running: an interrupt, the
/// OS running something else on its core, or the hypervisor descheduling the
/// virtual CPU. Every transaction due in that gap waits up to its length, so
/// a tail of the order of the stalls may be the machine's alone. Gaps
/// inside a transaction are not seen (they are service time), nor gaps
/// across the worker's sleeps at rates too low to spin.
///
/// On the 2-vCPU development VM the timer tick alone took 20–50 µs, 250
/// times a second per core (a spinning C program saw the same), and the
/// no-op map's typical p99 followed it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Stalls {
    /// Stalls seen, over all workers.
    pub count: u64,
    /// Their total length, over all workers, ns.
    pub total_ns: u64,
    /// The longest, ns.
    pub longest_ns: u64,
    /// The typical window's longest stall: the median, over the windows
    /// the typical p99 is taken from, of each window's longest stall, ns.
    /// The knee rules read it as the machine's floor during the step.
    pub typical_longest_ns: u64,
}

impl Stalls {
    /// The share of `threads` workers' time over `duration_s` that the
    /// stalls took (0 for an empty step).
    ///
    /// ```
    /// let s = mapknee_load::Stalls { total_ns: 20_000_000, ..Default::default() };
    /// assert_eq!(s.share(2, 1.0), 0.01);
    /// ```
    pub fn share(&self, threads: usize, duration_s: f64) -> f64 {
        let time_ns = threads.max(1) as f64 * duration_s * 1e9;
        if time_ns > 0.0 {
            self.total_ns as f64 / time_ns
        } else {
            0.0
        }
    }
}

/// The typical value of a per-window figure: the lower median of `figure`
/// over the windows that completed anything (`None` when none did). The
/// typical p99 and the typical stall are both taken this way, over the
/// same windows.
///
/// ```
/// use mapknee_load::{typical_over_windows, Window};
/// let w = |ops, p99_ns| Window { ops, p99_ns, ..Default::default() };
/// let timeline = [w(5, 30), w(0, 0), w(5, 10), w(5, 20), w(5, 40)];
/// assert_eq!(typical_over_windows(&timeline, |w| w.p99_ns), Some(20));
/// assert_eq!(typical_over_windows(&[w(0, 0)], |w| w.p99_ns), None);
/// ```
pub fn typical_over_windows(timeline: &[Window], figure: impl Fn(&Window) -> u64) -> Option<u64> {
    let mut v: Vec<u64> = timeline.iter().filter(|w| w.ops > 0).map(figure).collect();
    v.sort_unstable();
    (!v.is_empty()).then(|| v[(v.len() - 1) / 2])
}

/// One closed-loop scaling point.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Point {
    /// Worker threads.
    pub threads: usize,
    /// Transactions per second, closed loop.
    pub ops_per_sec: f64,
    /// p99 service time, ns (*extension*).
    #[serde(default)]
    pub p99_ns: u64,
}

/// Where a map stopped keeping up. `Default` (no rate, no rule) lets
/// fixtures name only the fields they set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Knee {
    /// The knee, txn/s: where the p99 crosses the knee step's line. With
    /// `--repeat N`, the median of the repetitions' knees, each found on
    /// its own steps (its own bisection included).
    pub ops_per_sec: f64,
    /// Which rule fired (`p99x3`, `throughput`).
    pub rule: String,
    /// The bottleneck label of that step.
    pub bottleneck: String,
    /// Where Kneedle puts the knee of the p99-vs-offered curve, txn/s
    /// (*extension*; `null` when the curve has no knee).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kneedle_ops_per_sec: Option<f64>,
    /// `agree` when Kneedle confirms the rule's knee (same or adjacent
    /// step), `disagree` when it puts it elsewhere, `no-knee` when the p99
    /// curve has none (*extension*).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kneedle: Option<String>,
    /// With `--repeat N`: the lowest and highest knee found when each
    /// repetition's steps are analysed on their own, txn/s (*extension*). A
    /// repetition with no knee counts as its highest offered rate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ops_per_sec_range: Option<[f64; 2]>,
    /// The queueing reference knee: the rate at which a queue with the
    /// measured capacity, fed by the run's arrival process, reaches J × its
    /// p99 at the base step's measured utilisation (*extension*). The name
    /// is kept from when the model was always M/M/1; `reference_model`
    /// says which it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mm1_ops_per_sec: Option<f64>,
    /// The model behind `mm1_ops_per_sec`: `D/M/1` for even arrivals,
    /// `M/M/1` for Poisson ones (*extension*).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_model: Option<String>,
}

/// `[min, median, max]` of the steps' cache-line transfer times, or `None`
/// when no step measured one.
///
/// ```
/// use mapknee_load::{line_transfer_summary, Step};
/// let s = |ns| Step { coherence_ns: Some(ns), ..Default::default() };
/// assert_eq!(line_transfer_summary([s(35.0), s(205.0), s(40.0)].iter()), Some([35.0, 40.0, 205.0]));
/// assert_eq!(line_transfer_summary([Step::default()].iter()), None);
/// ```
pub fn line_transfer_summary<'a>(steps: impl Iterator<Item = &'a Step>) -> Option<[f64; 3]> {
    let mut v: Vec<f64> = steps.filter_map(|s| s.coherence_ns).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    Some([v[0], v[(v.len() - 1) / 2], v[v.len() - 1]])
}
