//! The staircase: offered rates rising step by step, per map, with the
//! `auto` ladder and knee refinement by bisection; and the closed-loop
//! thread-scaling sweep.
//!
//! `auto`:
//! 1. probe each map's closed-loop capacity for `probe` (with `threads`);
//! 2. build one ladder shared by all maps of the mix: `ladder_steps` rates
//!    spaced geometrically from `ladder_lo` × the *smallest* capacity to
//!    `ladder_hi` × the *largest* (with one map: 0.2 → 1.2 × its capacity),
//!    so every map is seen both below and past its own capacity;
//! 3. run every map over the whole ladder (the table needs every cell);
//! 4. refine each map's knee: bisect between the first bad ladder step
//!    (confirmed by the next one being bad too, or being the last) and the
//!    step below it, at most `refine_steps` extra steps. "Bad" is the
//!    caller's judgement (the analysis crate's knee rules); the load engine
//!    does not decide what a knee is.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use mapknee_maps::{HasherKind, MapKind};

use crate::coherence::{core_shared, line_transfer_ns, PlacementGate};
use crate::measure::{Measurer, StepOrder};
use crate::runner::{placement_before, run_map_step, StepSpec};
use crate::{
    Arrivals, Clock, ParseError, Placement, Point, Preempted, Run, Step, Workload, PREEMPTED_MIN,
    PREEMPTED_P99_FACTOR, PREEMPTED_REMEASURE_SHARE, PREEMPTED_SHARE,
};

/// Which offered rates a staircase runs.
#[derive(Debug, Clone, PartialEq)]
pub enum Rates {
    /// Probe capacities, build a shared ladder, refine knees by bisection.
    Auto,
    /// Exactly these rates (txn/s), ascending; no refinement.
    Explicit(Vec<f64>),
}

impl fmt::Display for Rates {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rates::Auto => f.write_str("auto"),
            Rates::Explicit(r) => {
                let parts: Vec<String> = r.iter().map(|x| format!("{x}")).collect();
                f.write_str(&parts.join(","))
            }
        }
    }
}

/// Parses a rate: a positive number with an optional `k` (10³) or `M`
/// (10⁶) suffix.
///
/// ```
/// assert_eq!(mapknee_load::parse_rate("12.5k").unwrap(), 12_500.0);
/// assert!(mapknee_load::parse_rate("0").is_err());
/// ```
pub fn parse_rate(s: &str) -> Result<f64, ParseError> {
    let t = s.trim();
    let (num, scale) = match t.as_bytes().last() {
        Some(b'k' | b'K') => (&t[..t.len() - 1], 1e3),
        Some(b'M' | b'm') => (&t[..t.len() - 1], 1e6),
        _ => (t, 1.0),
    };
    let v = num.parse::<f64>().ok().map(|v| v * scale);
    match v {
        Some(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(ParseError(format!(
            "bad rate '{t}' (expected a positive number of txn/s, e.g. 5000, 12.5k, 1M)"
        ))),
    }
}

/// The most rates `A..B/STEPS` spans. The list is built before anything
/// else is checked, so an absurd count must not allocate; at the shortest
/// step (10 ms) this many rates already take minutes per map.
pub const MAX_RANGE_STEPS: usize = 10_000;

impl FromStr for Rates {
    type Err = ParseError;

    /// `auto`, `R1,R2,...`, or `A..B/STEPS` (STEPS rates evenly spaced from
    /// A to B inclusive).
    ///
    /// ```
    /// use mapknee_load::Rates;
    /// assert_eq!("10k..30k/3".parse::<Rates>().unwrap(), Rates::Explicit(vec![10e3, 20e3, 30e3]));
    /// assert_eq!("2000,1000".parse::<Rates>().unwrap(), Rates::Explicit(vec![1000.0, 2000.0]));
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s == "auto" {
            return Ok(Rates::Auto);
        }
        let mut rates = if let Some((range, steps)) = s.split_once('/') {
            let (a, b) = range
                .split_once("..")
                .ok_or_else(|| ParseError(format!("bad rate range '{s}' (expected A..B/STEPS)")))?;
            let (a, b) = (parse_rate(a)?, parse_rate(b)?);
            let steps: usize = steps
                .trim()
                .parse()
                .ok()
                .filter(|&n| (1..=MAX_RANGE_STEPS).contains(&n))
                .ok_or_else(|| {
                    ParseError(format!(
                        "bad step count in '{s}' (expected 1 to {MAX_RANGE_STEPS})"
                    ))
                })?;
            if b < a {
                return Err(ParseError(format!("bad rate range '{s}': B is below A")));
            }
            if steps == 1 {
                vec![a]
            } else {
                (0..steps)
                    .map(|i| a + (b - a) * i as f64 / (steps - 1) as f64)
                    .collect()
            }
        } else {
            s.split(',')
                .map(parse_rate)
                .collect::<Result<Vec<_>, _>>()?
        };
        rates.sort_by(f64::total_cmp);
        rates.dedup();
        Ok(Rates::Explicit(rates))
    }
}

/// How a staircase runs.
#[derive(Debug, Clone)]
pub struct StaircaseConfig {
    /// The offered rates.
    pub rates: Rates,
    /// Worker threads.
    pub threads: usize,
    /// Measured time per step.
    pub step: Duration,
    /// Warm-up per step.
    pub warmup: Duration,
    /// Closed-loop capacity probe per map (`auto`).
    pub probe: Duration,
    /// Ladder size (`auto`), at least 2.
    pub ladder_steps: usize,
    /// Lowest ladder rate as a fraction of the smallest capacity.
    pub ladder_lo: f64,
    /// Highest ladder rate as a fraction of the largest capacity.
    pub ladder_hi: f64,
    /// Bisection steps per map after the ladder (`auto`).
    pub refine_steps: usize,
    /// Repetitions of every step (≥ 1): the ladder is climbed `repeat`
    /// times, each pass running every rate for every map in turn. The runs
    /// keep every repetition; `mapknee-analyze`'s `repeat::merge` folds
    /// them into a median with a confidence interval.
    pub repeat: usize,
    /// Arrival spacing.
    pub arrivals: Arrivals,
    /// The hasher every map uses.
    pub hasher: HasherKind,
    /// Pin workers to cores.
    pub pin: bool,
    /// Measure the noise floor: the `noop` map at every ladder rate, its
    /// p99 recorded in every step as `floor_p99_ns`.
    pub floor: bool,
}

/// What the staircase is doing, for a progress display.
#[derive(Debug, Clone)]
pub enum Phase {
    /// Probing closed-loop capacity.
    Probe,
    /// A ladder step at this offered rate.
    Ladder(f64),
    /// A bisection step at this offered rate.
    Refine(f64),
    /// The noise floor (the no-op map) at this offered rate.
    Floor(f64),
    /// A closed-loop scaling point at this many threads.
    Scale(usize),
}

/// Receives progress events; the library never prints.
pub trait Progress: Sync {
    /// A step is about to run on `map` under `mix`.
    fn step_started(&self, map: &str, mix: &str, phase: &Phase);
    /// That step finished.
    fn step_finished(&self, map: &str, mix: &str, phase: &Phase, step: &Step) {
        let _ = (map, mix, phase, step);
    }
}

/// A [`Progress`] that ignores everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn step_started(&self, _: &str, _: &str, _: &Phase) {}
}

/// Shared context of a staircase or a scale sweep.
#[derive(Clone, Copy)]
pub struct Ctx<'a> {
    /// The clock.
    pub clock: &'a Clock,
    /// Raised by Ctrl-C: ends the current step and skips the rest. The
    /// runner raises it too when a step cannot run (`Step::failed`).
    pub stop: &'a AtomicBool,
    /// Where the staircase's steps are measured: `None` in this process,
    /// else by the measurer, told each step's repetition (the scale sweep
    /// always measures in this process).
    pub measurer: Option<&'a dyn Measurer>,
}

impl fmt::Debug for Ctx<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ctx")
            .field("clock", self.clock)
            .field("stop", self.stop)
            .field("measurer", &self.measurer.map(|_| "…"))
            .finish()
    }
}

impl Ctx<'_> {
    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Runs `order` as repetition `rep`: in this process, or by the
    /// measurer.
    fn measure(&self, rep: usize, order: &StepOrder) -> Step {
        match self.measurer {
            Some(m) => m.measure(rep, order),
            None => order.run(self.clock, self.stop),
        }
    }
}

/// Closed-loop capacity probes per map (`auto`); see [`capacity_of`].
pub const PROBES: usize = 3;

/// A map's capacity from its probes' achieved rates: their median when
/// there are at least three, else the highest (`None` for no probe).
///
/// Why not the highest of three, as until 2026-12-02: interference does
/// not only lower a probe. When the host deschedules one worker's vCPU for
/// part of a probe, the other runs alone, and a map whose two threads
/// contend for one cache line (a single lock) runs *faster* alone: on the
/// development VM one probe of `rwlock` read-mostly reached 18.9M txn/s
/// where its open-loop steps never passed 7.8M
/// (`benchsuite/runs/2026-12-02-vm14/pairs/b3`). That capacity was
/// reported, fed the D/M/1 reference knee (16.0M/s), and stretched the
/// mix's shared ladder to 23.7M/s, two rungs past every map, coarsening
/// the rungs where the knees are. The median of three ignores one outlier
/// either way, so one low probe still does not move the ladder. Over the
/// stored runs of 2026-12-01/02, 15 of 1,344 map × mix capacities stood
/// over 1.5× their run's highest open-loop rate.
pub fn capacity_of(rates: &[f64]) -> Option<f64> {
    let mut r: Vec<f64> = rates.iter().copied().filter(|x| x.is_finite()).collect();
    r.sort_by(f64::total_cmp);
    match r.len() {
        0 => None,
        1 | 2 => r.last().copied(),
        n => Some(if n % 2 == 1 {
            r[n / 2]
        } else {
            (r[n / 2 - 1] + r[n / 2]) / 2.0
        }),
    }
}

/// Ladder rates lie on this geometric grid, 2^(k/8) txn/s for whole k
/// (9 % apart), so two runs whose probes differ a little climb the same
/// rates and their steps can be compared one to one.
const GRID_PER_OCTAVE: f64 = 8.0;

/// The `auto` ladder for these capacities (txn/s): `n` rates, geometric,
/// from at most `lo` × the smallest capacity to at least `hi` × the
/// largest, on the grid 2^(k/8): the ends are snapped outwards and the
/// spacing is a whole number of grid steps.
///
/// ```
/// let l = mapknee_load::ladder(&[1000.0], 3, 0.25, 1.0);
/// assert_eq!(l.len(), 3);
/// assert!(l[0] <= 250.0 && l[2] >= 1000.0, "{l:?}");
/// // A probe 5 % lower climbs the same rates.
/// assert_eq!(l, mapknee_load::ladder(&[950.0], 3, 0.25, 1.0));
/// ```
pub fn ladder(capacities: &[f64], n: usize, lo: f64, hi: f64) -> Vec<f64> {
    let positive = capacities.iter().copied().filter(|c| *c > 0.0);
    let min = positive.clone().fold(f64::INFINITY, f64::min);
    let max = positive.fold(0.0, f64::max);
    if max <= 0.0 || n == 0 {
        return Vec::new();
    }
    let grid = |k: f64| 2f64.powf(k / GRID_PER_OCTAVE).round().max(1.0);
    let k_hi = ((hi * max).log2() * GRID_PER_OCTAVE).ceil();
    if n == 1 {
        return vec![grid(k_hi)];
    }
    let k_lo = ((lo * min).log2() * GRID_PER_OCTAVE).floor();
    // Whole grid steps between rungs, at least one; the ladder ends at or
    // above the top and starts at or below the bottom.
    let stride = ((k_hi - k_lo) / (n - 1) as f64).ceil().max(1.0);
    let start = k_hi - stride * (n - 1) as f64;
    (0..n).map(|i| grid(start + stride * i as f64)).collect()
}

/// The steps an `auto` staircase plans per map and repetition: its
/// `ladder_steps` rungs, the top measured one rung higher, the knee step
/// confirmed just past it, and per bisection round (`refine_steps`) a
/// midpoint and its confirmation. The run's step length (from its time
/// budget) and its placement-waiting allowance both count on it.
pub fn auto_steps_per_map(ladder_steps: usize, refine_steps: usize) -> usize {
    ladder_steps
        .saturating_add(2)
        .saturating_add(refine_steps.saturating_mul(2))
}

/// Runs the staircase for every map under one workload: [`run_mixes`]
/// with one mix.
pub fn run_mix(
    maps: &[MapKind],
    workload: &Workload,
    cfg: &StaircaseConfig,
    past: &Past<'_>,
    fold: &dyn Fn(&[Step]) -> Step,
    progress: &dyn Progress,
    ctx: Ctx<'_>,
) -> Vec<Run> {
    run_mixes(
        maps,
        std::slice::from_ref(workload),
        cfg,
        past,
        fold,
        progress,
        ctx,
    )
    .pop()
    .unwrap_or_default()
}

/// A step to run in a refinement round: (mix, map, repetition, rate).
type Todo = (usize, usize, usize, f64);

/// One mix's staircase while it is being climbed.
struct Climb<'w> {
    workload: &'w Workload,
    runs: Vec<Run>,
    rates: Vec<f64>,
    /// The noise floor's p99 at each ladder rate, one per repetition.
    floor_p99: Vec<Vec<u64>>,
    /// (rate, floor) at the ladder rates that have one.
    floors: Vec<(f64, u64)>,
    /// Per map, per repetition: (last good, first confirmed bad) rate,
    /// while bisecting.
    brackets: Vec<Vec<Option<(f64, f64)>>>,
}

impl Climb<'_> {
    fn floor_at(&self, rate: f64) -> Option<u64> {
        floor_between(&self.floors, rate)
    }
}

/// Runs the staircase for every map under each workload (one per mix).
///
/// Every phase interleaves everything it can, so that no map and no mix
/// meets the machine in a state the others did not: the capacity probes,
/// then `repeat` whole passes over the ladders — each pass climbs every
/// mix's ladder in turn, every map (and the `noop` floor) at every rate —
/// then the bisection, one round at a time across all mixes and maps. A
/// repetition of a step is thus minutes from the others, and its spread
/// holds the drift a run made minutes later would see: a slow spell of the
/// host lands in one pass, not in all of a mix's steps.
///
/// `past(curve, at, step)` says whether `step` is past the knee line drawn
/// at `at`'s rate on the map's curve so far (see [`Past`]); `fold` folds
/// the repetitions of a rate into one step. Both come from the caller's
/// analysis, so bisection judges steps exactly as the reported knee does. Returns one `Vec<Run>`
/// per workload, runs in `maps` order with steps sorted by target and
/// `knee` left `None` for the caller to fill.
pub fn run_mixes(
    maps: &[MapKind],
    workloads: &[Workload],
    cfg: &StaircaseConfig,
    past: &Past<'_>,
    fold: &dyn Fn(&[Step]) -> Step,
    progress: &dyn Progress,
    ctx: Ctx<'_>,
) -> Vec<Vec<Run>> {
    let names: Vec<String> = maps.iter().map(MapKind::name).collect();
    // Only maps whose threads share cache lines are held to a placement:
    // a run of `noop` / `synthetic:<dur>` alone neither surveys nor waits.
    let placed = cfg.threads > 1 && cfg.pin && maps.iter().any(MapKind::placement_sensitive);
    let mut climbs: Vec<Climb<'_>> = workloads
        .iter()
        .map(|w| Climb {
            workload: w,
            runs: maps
                .iter()
                .map(|k| Run::empty(k, w, cfg.threads, &cfg.arrivals.to_string()))
                .collect(),
            rates: Vec::new(),
            floor_p99: Vec::new(),
            floors: Vec::new(),
            brackets: vec![Vec::new(); maps.len()],
        })
        .collect();
    let finish = |climbs: Vec<Climb<'_>>| -> Vec<Vec<Run>> {
        climbs
            .into_iter()
            .map(|c| {
                let mut runs = c.runs;
                for run in &mut runs {
                    run.steps.sort_by(|a, b| rate_of(a).total_cmp(&rate_of(b)));
                }
                runs
            })
            .collect()
    };

    // The placements the run meets before its steps: one sample after each
    // capacity probe, which spread over the first seconds of the run.
    let mut survey = Vec::new();

    // 1. Capacities. Each map's capacity is the median of PROBES closed-loop
    // probes ([`capacity_of`]), interleaved across maps: one low probe moved
    // a whole ladder when there was one probe, and one high one (a worker
    // descheduled, the other running alone) stretched it. Each probe keeps
    // the placement it ran in (`coherence_ns`).
    let probe_spec = || {
        let mut spec = StepSpec::closed(cfg.threads, cfg.warmup / 2, cfg.probe);
        spec.pin = cfg.pin;
        spec
    };
    // An order for `kind` under `w`, run in the placement `before`.
    let order = |kind: &MapKind, w: &Workload, spec: StepSpec, before: Option<f64>| StepOrder {
        map: *kind,
        hasher: cfg.hasher,
        workload: w.clone(),
        spec,
        placement_ns: before,
    };
    // One probe of `kind`, recorded as run in the placement `before`, as
    // repetition `rep`: the i-th map's p-th probe is repetition i + p, so
    // a map's probes go to as many of a measurer's processes as there are
    // probes (its capacity, and the ladder drawn from it, then rest on no
    // one process), and the maps start at different ones.
    let probe = |rep: usize, name: &str, mix: &str, kind: &MapKind, w: &Workload, before| {
        progress.step_started(name, mix, &Phase::Probe);
        let step = ctx.measure(rep, &order(kind, w, probe_spec(), before));
        progress.step_finished(name, mix, &Phase::Probe, &step);
        step
    };
    let mut probes: Vec<Vec<Vec<Step>>> = vec![vec![Vec::new(); maps.len()]; climbs.len()];
    if cfg.rates == Rates::Auto {
        for (c, taken) in climbs.iter().zip(&mut probes) {
            let mix = c.workload.mix.name.as_str();
            for p in 0..PROBES {
                for (i, kind) in maps.iter().enumerate() {
                    if ctx.stopped() {
                        return finish(climbs);
                    }
                    let before = if placed {
                        line_transfer_ns(ctx.clock)
                    } else {
                        None
                    };
                    let step = probe(i + p, &names[i], mix, kind, c.workload, before);
                    // The probe measured the transfer time just before it
                    // ran; only whether the cores are one is asked now.
                    if let (true, Some(ns)) = (placed, step.coherence_ns) {
                        survey.extend(core_shared(ctx.clock).map(|shared| (ns, shared)));
                    }
                    taken[i].push(step);
                }
            }
        }
    }

    // The reference placement: the fastest on separate cores met often
    // while probing (with explicit rates, a survey of its own over a couple
    // of seconds), and a waiting allowance of PLACEMENT_WAIT_SHARE of the
    // steps' planned time.
    let repeat = cfg.repeat.max(1);
    // The steps each map × mix plans (its ladder, with `auto` its
    // confirmations and bisection, every repetition) and the run's map
    // steps: the waiting and re-measuring allowances are shares of them.
    let steps_per_run = repeat
        * match &cfg.rates {
            Rates::Explicit(r) => r.len(),
            Rates::Auto => auto_steps_per_map(cfg.ladder_steps, cfg.refine_steps),
        };
    let planned_steps = steps_per_run * climbs.len() * maps.len();
    let mut gate = None;
    if placed {
        if survey.is_empty() {
            for _ in 0..SURVEY_SAMPLES {
                if ctx.stopped() {
                    return finish(climbs);
                }
                survey.extend(placement_now(ctx.clock));
                std::thread::sleep(SURVEY_GAP);
            }
        }
        let planned = (cfg.warmup + cfg.step) * planned_steps as u32;
        gate = PlacementGate::from_survey(
            &survey,
            MAX_PLACEMENT_WAIT,
            planned.mul_f64(PLACEMENT_WAIT_SHARE),
        );
    }
    let gate = gate;
    // Steps each map × mix may measure again because a worker was kept off
    // its core for too long (see `PREEMPTED_SHARE`): a share of its own
    // planned steps, so that how its steps are treated does not depend on
    // the other maps' luck with the machine, or on which maps share the
    // run (with one allowance for the run, the AMD VM's default runs gave
    // one map × mix 1 and another 12).
    let preempted_allowance = (steps_per_run as f64 * PREEMPTED_REMEASURE_SHARE).ceil() as u32;
    let preempted_limit_ns =
        (cfg.step.as_nanos() as f64 * PREEMPTED_SHARE).max(PREEMPTED_MIN.as_nanos() as f64);
    // One open-loop step. A map step waits for the reference placement and
    // is measured once more if the host moved the cores while it ran (see
    // `PlacementGate`); the noise floor and the synthetic map share no line
    // (`MapKind::placement_sensitive`), so they never wait and their runs
    // keep no placement record.
    // Repetition `rep` of the step at `rate`, held to the placement.
    let placed_step =
        |rep: usize, w: &Workload, kind: &MapKind, rate: f64, tally: &mut Option<Placement>| {
            let mut spec = StepSpec::open(cfg.threads, rate, cfg.warmup, cfg.step);
            spec.arrivals = cfg.arrivals;
            spec.pin = cfg.pin;
            let Some(g) = gate.as_ref().filter(|_| kind.placement_sensitive()) else {
                let before = placement_before(&spec, ctx.clock);
                return ctx.measure(rep, &order(kind, w, spec, before));
            };
            let mut remeasured = false;
            loop {
                let before = wait_tallied(g, tally, ctx.clock, ctx.stop);
                let step = ctx.measure(rep, &order(kind, w, spec.clone(), before));
                let admitted = before.is_some_and(|ns| g.admits(ns));
                let moved = admitted && line_transfer_ns(ctx.clock).is_some_and(|ns| !g.admits(ns));
                let t = tally.get_or_insert_with(|| Placement::held_by(g));
                if moved && !remeasured && g.can_wait() && !ctx.stopped() {
                    remeasured = true;
                    t.remeasured += 1;
                    continue;
                }
                if !admitted {
                    t.steps_outside += 1;
                }
                return step;
            }
        };
    // `placed_step`, marked as repetition `rep`'s when the run repeats, and
    // measured once more when a worker of a map step was kept off its core
    // for over `PREEMPTED_SHARE` of the step (the noise floor's typical p99
    // is the machine's by design) and the step's p99 is within
    // `PREEMPTED_P99_FACTOR` of that pause: the pause, not the map, may
    // have set it. The second measurement is kept either way, so that the
    // figures are not picked by their own p99.
    let step_at = |rep: usize,
                   w: &Workload,
                   kind: &MapKind,
                   rate: f64,
                   tally: &mut Option<Placement>,
                   preempted: &mut Option<Preempted>| {
        let too_long = |s: &Step| {
            *kind != MapKind::Noop
                && s.preempted_ns.is_some_and(|ns| {
                    ns as f64 > preempted_limit_ns
                        && s.latency_ns.p99 <= ns.saturating_mul(PREEMPTED_P99_FACTOR)
                })
        };
        let mut step = placed_step(rep, w, kind, rate, tally);
        if too_long(&step) {
            let p = preempted.get_or_insert_with(Preempted::default);
            if p.remeasured < preempted_allowance && !ctx.stopped() {
                p.remeasured += 1;
                step = placed_step(rep, w, kind, rate, tally);
            }
            p.kept += u32::from(too_long(&step));
        }
        step.repetition = (repeat > 1).then_some(rep as u32);
        step
    };

    // The ladders, from the probes run in the reference placement: a map
    // none of whose probes did is probed again, each probe waiting for the
    // placement as a step does, so that the ladder spans the capacities the
    // steps will meet.
    for (c, taken) in climbs.iter_mut().zip(&mut probes) {
        let mix = c.workload.mix.name.as_str();
        c.rates = match &cfg.rates {
            Rates::Explicit(r) => r.clone(),
            Rates::Auto => {
                let mut caps = vec![0.0f64; maps.len()];
                for (i, kind) in maps.iter().enumerate() {
                    let admitted = |steps: &[Step]| {
                        let rates: Vec<f64> = steps
                            .iter()
                            .filter(|s| match (&gate, s.coherence_ns) {
                                (Some(g), Some(ns)) => g.admits(ns),
                                _ => true,
                            })
                            .map(|s| s.achieved_ops_per_sec)
                            .collect();
                        capacity_of(&rates)
                    };
                    let mut cap = admitted(&taken[i]);
                    let retry = gate.as_ref().is_some_and(|g| g.can_wait());
                    if cap.is_none() && retry && kind.placement_sensitive() {
                        for p in PROBES..2 * PROBES {
                            if ctx.stopped() {
                                return finish(climbs);
                            }
                            let before = gate.as_ref().and_then(|g| {
                                wait_tallied(g, &mut c.runs[i].placement, ctx.clock, ctx.stop)
                            });
                            taken[i].push(probe(i + p, &names[i], mix, kind, c.workload, before));
                        }
                        cap = admitted(&taken[i]);
                    }
                    caps[i] = cap.unwrap_or_else(|| {
                        let all: Vec<f64> =
                            taken[i].iter().map(|s| s.achieved_ops_per_sec).collect();
                        capacity_of(&all).unwrap_or(0.0)
                    });
                    c.runs[i].capacity_ops_per_sec = Some(caps[i]);
                }
                ladder(&caps, cfg.ladder_steps, cfg.ladder_lo, cfg.ladder_hi)
            }
        };
        c.floor_p99 = vec![Vec::new(); c.rates.len()];
    }

    // 2. The ladder passes, with the noise floor: the no-op map at every
    // ladder rate, unless it is one of the maps measured.
    let floor = cfg.floor && !maps.contains(&MapKind::Noop);
    for rep in 0..repeat {
        for c in &mut climbs {
            let mix = c.workload.mix.name.as_str();
            for r in 0..c.rates.len() {
                let rate = c.rates[r];
                if floor {
                    if ctx.stopped() {
                        return finish(climbs);
                    }
                    let phase = Phase::Floor(rate);
                    progress.step_started("noop", mix, &phase);
                    let step = step_at(rep, c.workload, &MapKind::Noop, rate, &mut None, &mut None);
                    progress.step_finished("noop", mix, &phase, &step);
                    if !step.interrupted {
                        c.floor_p99[r].push(step.rule_p99_ns());
                    }
                }
                for (i, kind) in maps.iter().enumerate() {
                    if ctx.stopped() {
                        return finish(climbs);
                    }
                    let phase = Phase::Ladder(rate);
                    progress.step_started(&names[i], mix, &phase);
                    let run = &mut c.runs[i];
                    let step = step_at(
                        rep,
                        c.workload,
                        kind,
                        rate,
                        &mut run.placement,
                        &mut run.preempted,
                    );
                    progress.step_finished(&names[i], mix, &phase, &step);
                    c.runs[i].steps.push(step);
                }
            }
        }
    }
    // The floor at each ladder rate is the median of its repetitions; steps
    // between two ladder rates (bisection) get it interpolated.
    for c in &mut climbs {
        c.floors = c
            .rates
            .iter()
            .zip(&c.floor_p99)
            .filter(|(_, v)| !v.is_empty())
            .map(|(&r, v)| {
                let mut v = v.clone();
                v.sort_unstable();
                (r, v[(v.len() - 1) / 2])
            })
            .collect();
        let floors = c.floors.clone();
        for run in &mut c.runs {
            for step in &mut run.steps {
                step.floor_p99_ns = step
                    .target_ops_per_sec
                    .and_then(|r| floor_between(&floors, r));
            }
        }
    }
    if cfg.rates != Rates::Auto || cfg.refine_steps == 0 || ctx.stopped() {
        return finish(climbs);
    }

    // Runs each `todo` entry (mix, map, repetition, rate) once, as that
    // repetition's step, the entries of one repetition together (a pass);
    // returns each entry's step (`None` once stopped).
    let run_round = |climbs: &mut [Climb<'_>], todo: &[Todo]| -> Vec<Option<Step>> {
        let mut taken = vec![None; todo.len()];
        for rep in 0..repeat {
            for (t, &(m, i, _, rate)) in todo.iter().enumerate().filter(|(_, e)| e.2 == rep) {
                if ctx.stopped() {
                    return taken;
                }
                let c = &mut climbs[m];
                let mix = c.workload.mix.name.as_str();
                let phase = Phase::Refine(rate);
                progress.step_started(&names[i], mix, &phase);
                let run = &mut c.runs[i];
                let mut step = step_at(
                    rep,
                    c.workload,
                    &maps[i],
                    rate,
                    &mut run.placement,
                    &mut run.preempted,
                );
                step.refine = true;
                step.floor_p99_ns = c.floor_at(rate);
                progress.step_finished(&names[i], mix, &phase, &step);
                c.runs[i].steps.push(step.clone());
                taken[t] = Some(step);
            }
        }
        taken
    };
    // Repetition `rep`'s own curve (one step per rate: see
    // [`repetition_curve`]) and its first confirmed knee on it.
    let curve_of =
        |run: &Run, rep: usize| repetition_curve(&run.steps, rep, run.placement.as_ref(), fold);
    let verdicts = |run: &Run, rep: usize| -> (Vec<Step>, Option<usize>) {
        let curve = curve_of(run, rep);
        let knee = first_knee(&curve, past);
        (curve, knee)
    };
    // Whether `step`, repetition `rep`'s, is past the line drawn at `at` on
    // that repetition's curve so far.
    let judge = |run: &Run, rep: usize, at: &Step, step: &Step| -> bool {
        let curve = curve_of(run, rep);
        !curve.is_empty() && past(&curve, at, step)
    };
    // Whether `step` ran outside the run's reference placement.
    let unplaced = |run: &Run, step: &Step| run.placement.as_ref().is_some_and(|p| !p.admits(step));

    // Each repetition finds its own knee: its own ladder pass, its own
    // confirmation of the top and its own bisection, judged on its own
    // steps alone. Until 2026-12-02 the repetitions shared one bisection,
    // steered by their folded curve, so every repetition's knee was read
    // between the same two rates: on the development VM `syncmap` mixed's
    // five repetitions read 5.06–6.63M/s in one run and 7.48–7.72M/s in
    // the next (`benchsuite/runs/2026-12-02-vm18/pairs`, a3 and b3), as the
    // folded step at 5.44M/s fell on one side of its line or the other.
    // The run's knee is the median of its repetitions' (the analysis), so
    // each repetition's path is one independent draw, not the run's only
    // one.

    // 3. Confirm each repetition's knee step close by, as a bisection
    // midpoint is confirmed. A repetition whose first bad step is its last
    // has no confirmation: measure one rung higher. One whose knee step was
    // confirmed only by a step further than CONFIRM_PAST above it — the
    // next rung, ~1.5× higher and often past the map's real knee — is
    // measured again just past that step: a spike there is then no knee,
    // and the search moves up. On the development VM `sharded` read-mostly
    // read 428 µs at 21.76M/s (56 % of its capacity) in three of one run's
    // five repetitions, each "confirmed" by 33.55M/s, and its knee came
    // out at 20.9M/s against 30.7–33.6M/s in the five runs around it
    // (`benchsuite/runs/2026-12-02-vm19/pairs`, a1). Up to CONFIRM_ROUNDS
    // rounds: a spike found moves the knee to a step that needs its own.
    for _ in 0..CONFIRM_ROUNDS {
        let mut todo: Vec<Todo> = Vec::new();
        for (m, c) in climbs.iter().enumerate() {
            let ratio = match c.rates.as_slice() {
                [a, b, ..] => b / a,
                _ => 1.2,
            };
            for (i, run) in c.runs.iter().enumerate() {
                for rep in 0..repeat {
                    let (curve, knee) = verdicts(run, rep);
                    let Some(last) = curve.last() else {
                        continue;
                    };
                    let rate = match knee {
                        Some(k) => {
                            let close = (rate_of(&curve[k]) * CONFIRM_PAST).round();
                            curve
                                .get(k + 1)
                                .filter(|next| rate_of(next) > close)
                                .map(|_| close)
                        }
                        None if past(&curve, last, last) => Some((rate_of(last) * ratio).round()),
                        None => None,
                    };
                    todo.extend(rate.map(|r| (m, i, rep, r)));
                }
            }
        }
        if todo.is_empty() || ctx.stopped() {
            break;
        }
        run_round(&mut climbs, &todo);
    }

    // 4. Bisect each map's repetitions, each between its last good and
    // first confirmed bad rate. A midpoint judged bad is confirmed by a
    // fresh measurement just past it; unconfirmed, it was a spike and
    // counts as good.
    for c in &mut climbs {
        for (i, run) in c.runs.iter().enumerate() {
            c.brackets[i] = (0..repeat)
                .map(|rep| {
                    let (curve, knee) = verdicts(run, rep);
                    knee.filter(|&k| k > 0)
                        .map(|k| (rate_of(&curve[k - 1]), rate_of(&curve[k])))
                })
                .collect();
        }
    }
    for _ in 0..cfg.refine_steps {
        let mids: Vec<Todo> = climbs
            .iter()
            .enumerate()
            .flat_map(|(m, c)| {
                c.brackets.iter().enumerate().flat_map(move |(i, reps)| {
                    reps.iter().enumerate().filter_map(move |(rep, b)| {
                        b.map(|(good, bad)| (m, i, rep, ((good + bad) / 2.0).round()))
                    })
                })
            })
            .collect();
        let taken = run_round(&mut climbs, &mids);
        let bad_mids: Vec<usize> = (0..mids.len())
            .filter(|&t| {
                let (m, i, rep, _) = mids[t];
                taken[t]
                    .as_ref()
                    .is_some_and(|s| judge(&climbs[m].runs[i], rep, s, s))
            })
            .collect();
        let confirms: Vec<Todo> = bad_mids
            .iter()
            .filter_map(|&t| {
                let (m, i, rep, mid) = mids[t];
                let (_, bad) = climbs[m].brackets[i][rep]?;
                let past = (mid * CONFIRM_PAST).round();
                (past < bad).then_some((m, i, rep, past))
            })
            .collect();
        let again = run_round(&mut climbs, &confirms);
        for (t, &(m, i, rep, mid)) in mids.iter().enumerate() {
            let (Some((good, bad)), Some(at)) = (climbs[m].brackets[i][rep], taken[t].as_ref())
            else {
                continue;
            };
            let run = &climbs[m].runs[i];
            let confirm = confirms
                .iter()
                .position(|&(cm, ci, cr, _)| (cm, ci, cr) == (m, i, rep))
                .map(|k| again[k].as_ref());
            if unplaced(run, at) || confirm.flatten().is_some_and(|s| unplaced(run, s)) {
                // Measured on another placement: that says nothing about
                // this one. The bracket stays, and the next round
                // measures the same midpoint again.
                continue;
            }
            let confirmed = bad_mids.contains(&t)
                && match confirm {
                    Some(Some(s)) => judge(run, rep, at, s),
                    // Stopped before the confirmation ran.
                    Some(None) => false,
                    // Nothing between the midpoint and the bracket's top:
                    // the top, already confirmed, is the fresh measurement.
                    None => true,
                };
            climbs[m].brackets[i][rep] = Some(if confirmed { (good, mid) } else { (mid, bad) });
        }
        if ctx.stopped() {
            break;
        }
    }
    finish(climbs)
}

/// Waits for `gate`'s placement (see [`PlacementGate::wait`]) and adds the
/// time waited to the run's placement record.
fn wait_tallied(
    gate: &PlacementGate,
    tally: &mut Option<Placement>,
    clock: &Clock,
    stop: &AtomicBool,
) -> Option<f64> {
    let waited = gate.waited();
    let ns = gate.wait(clock, stop);
    tally
        .get_or_insert_with(|| Placement::held_by(gate))
        .waited_s += (gate.waited() - waited).as_secs_f64();
    ns
}

/// The cores' placement now: the line transfer time and whether they are
/// one core.
fn placement_now(clock: &Clock) -> Option<(f64, bool)> {
    Some((line_transfer_ns(clock)?, core_shared(clock)?))
}

/// Samples of the placement survey when no probe ran
/// (explicit rates), [`SURVEY_GAP`] apart: ~2.5 s, longer than most of the
/// development VM's placement spells.
const SURVEY_SAMPLES: usize = 25;
const SURVEY_GAP: Duration = Duration::from_millis(100);

/// The longest a step waits for the reference placement: most of the
/// development VM's other spells end within it.
const MAX_PLACEMENT_WAIT: Duration = Duration::from_millis(1500);

/// The run's whole waiting allowance, as a share of its steps' planned
/// time: bounded, so the scenario's time budget holds (the default run is
/// ~145 s of its 165 s budget without waits).
const PLACEMENT_WAIT_SHARE: f64 = 0.12;

/// A bisection midpoint judged past the knee is measured again this much
/// higher (3 %): a fresh measurement just past it, so one preemption spike
/// cannot move the knee down by a bracket.
const CONFIRM_PAST: f64 = 1.03;

/// Rounds of confirming each repetition's knee step close by, before the
/// bisection: one confirms the knee the ladder found; a spike found in it
/// moves the knee to a rung that may need the top measured past it and
/// then its own close confirmation.
const CONFIRM_ROUNDS: usize = 3;

fn rate_of(s: &Step) -> f64 {
    s.target_ops_per_sec.unwrap_or(0.0)
}

/// The noise floor at `rate`, from the floors measured at ladder rates:
/// the nearest one outside their range, else interpolated linearly in
/// log(rate) between the two around it.
fn floor_between(floors: &[(f64, u64)], rate: f64) -> Option<u64> {
    let (first, last) = (floors.first()?, floors.last()?);
    if rate <= first.0 {
        return Some(first.1);
    }
    if rate >= last.0 {
        return Some(last.1);
    }
    let k = floors.iter().position(|&(r, _)| r >= rate)?;
    let ((r0, f0), (r1, f1)) = (floors[k - 1], floors[k]);
    let t = (rate.ln() - r0.ln()) / (r1.ln() - r0.ln());
    Some((f0 as f64 + t * (f1 as f64 - f0 as f64)).round() as u64)
}

/// The base the knee's p99 rule never goes below: of the lowest three offered
/// rates (`by_rate` sorted by rate, one step per rate), the step with the
/// median p99. One spike at the lowest rate no longer moves every knee.
/// `by_rate` must not be empty.
///
/// ```
/// # use mapknee_load::{baseline, Percentiles, Step};
/// let step = |rate: f64, p99| Step { target_ops_per_sec: Some(rate),
///     latency_ns: Percentiles { p99, ..Default::default() }, ..Default::default() };
/// let steps = [step(1.0, 9_000), step(2.0, 1_000), step(3.0, 1_200), step(4.0, 50_000)];
/// assert_eq!(baseline(&steps).latency_ns.p99, 1_200);
/// ```
pub fn baseline(by_rate: &[Step]) -> Step {
    median_step(&by_rate[..by_rate.len().min(3)])
}

/// [`baseline`] of a run's steps in any order: its open-loop steps not
/// cut short, by rate; `None` when there are none. The knee rules, the
/// queueing reference and the CLI's messages all start from this one base.
pub fn run_baseline(steps: &[Step]) -> Option<Step> {
    run_baseline_by(steps, Step::rule_p99_ns)
}

/// [`run_baseline`] with the three lowest steps ranked by `key` (e.g. the
/// percentile a latency objective names) instead of the rules' p99.
pub fn run_baseline_by(steps: &[Step], key: impl Fn(&Step) -> u64) -> Option<Step> {
    let lowest: Vec<Step> = crate::open_loop_steps(steps)
        .into_iter()
        .take(3)
        .cloned()
        .collect();
    (!lowest.is_empty()).then(|| median_step_by(&lowest, key))
}

/// The index of the first *confirmed* bad step: bad, and followed by a
/// fresh measurement at a higher rate that is bad too. An isolated bad step
/// (a preemption spike) is not a break, and neither is a bad last step:
/// nothing confirmed it. A latency objective's break is found this way; the
/// knee, whose line moves with the rate, by [`first_knee`].
///
/// ```
/// assert_eq!(mapknee_load::first_confirmed(&[false, true, false, true, true]), Some(3));
/// assert_eq!(mapknee_load::first_confirmed(&[false, false, true]), None);
/// assert_eq!(mapknee_load::first_confirmed(&[true, false]), None);
/// ```
pub fn first_confirmed(bad: &[bool]) -> Option<usize> {
    (0..bad.len()).find(|&k| bad[k] && bad.get(k + 1) == Some(&true))
}

/// Whether a step is past the knee: `past(curve, at, step)` judges `step`
/// against the line drawn at `at`'s rate on `curve` (one step per rate,
/// by rate). A step is judged against its own line (`at` = `step`); its
/// confirmation, a fresh measurement at a higher rate, against the same
/// line as the step it confirms, not a line of its own.
pub type Past<'a> = dyn Fn(&[Step], &Step, &Step) -> bool + 'a;

/// The index in `curve` (one step per rate, by rate) of the first
/// *confirmed* knee: a step past its own line whose next step — a fresh
/// measurement at a higher rate — is past that same line. An isolated
/// spike is not the knee, and neither is a last step past its line:
/// nothing confirmed it. The staircase's bisection and the analysis's
/// knee share this.
///
/// ```
/// use mapknee_load::{first_knee, Step};
/// let step = |rate: f64, p99| Step { target_ops_per_sec: Some(rate),
///     latency_ns: mapknee_load::Percentiles { p99, ..Default::default() },
///     ..Default::default() };
/// // A fixed line at 3,000 ns: the spike at 2 is not confirmed, 4 is.
/// let past = |_: &[Step], _: &Step, s: &Step| s.latency_ns.p99 >= 3_000;
/// let curve = [step(1.0, 1_000), step(2.0, 9_000), step(3.0, 1_000),
///              step(4.0, 5_000), step(5.0, 6_000)];
/// assert_eq!(first_knee(&curve, &past), Some(3));
/// assert_eq!(first_knee(&curve[..4], &past), None);
/// ```
pub fn first_knee(curve: &[Step], past: &Past<'_>) -> Option<usize> {
    (0..curve.len()).find(|&k| {
        let at = &curve[k];
        past(curve, at, at) && curve.get(k + 1).is_some_and(|next| past(curve, at, next))
    })
}

/// The repetition whose p99 is the median (the lower one for an even
/// count), standing for all of them. `steps` must not be empty.
pub fn median_step(steps: &[Step]) -> Step {
    median_step_by(steps, Step::rule_p99_ns)
}

/// [`median_step`] ranked by `key`: the lower median.
fn median_step_by(steps: &[Step], key: impl Fn(&Step) -> u64) -> Step {
    let mut ranked: Vec<&Step> = steps.iter().collect();
    ranked.sort_by_key(|s| key(s));
    ranked[(ranked.len() - 1) / 2].clone()
}

/// One step per offered rate, its repetitions folded by `fold` (e.g.
/// [`median_step`]), sorted by rate (closed-loop and interrupted steps left
/// out). Of each rate's repetitions only those measured in `placement`'s
/// band are folded, when any was ([`Placement::placed`]).
pub fn representatives(
    steps: &[Step],
    placement: Option<&Placement>,
    fold: &dyn Fn(&[Step]) -> Step,
) -> Vec<Step> {
    let open = crate::open_loop_steps(steps);
    let mut out = Vec::new();
    let mut i = 0;
    while i < open.len() {
        let rate = open[i].target_ops_per_sec;
        let group: Vec<Step> = open[i..]
            .iter()
            .take_while(|s| s.target_ops_per_sec == rate)
            .map(|s| (*s).clone())
            .collect();
        i += group.len();
        out.push(fold(&Placement::placed(&group, placement)));
    }
    out
}

/// Repetition `rep`'s own curve: the steps of `steps` that belong to it
/// ([`Step::repetition`]; a step without one belongs to repetition 0, as
/// every step of an unrepeated run does) as [`representatives`] folds
/// them: one step per rate, by rate. A rate the repetition measured more
/// than once — a bisection midpoint measured again after the host moved
/// the cores — is folded from its measurements in `placement`'s band.
pub fn repetition_curve(
    steps: &[Step],
    rep: usize,
    placement: Option<&Placement>,
    fold: &dyn Fn(&[Step]) -> Step,
) -> Vec<Step> {
    let mine: Vec<Step> = steps
        .iter()
        .filter(|s| s.repetition.map_or(0, |r| r as usize) == rep)
        .cloned()
        .collect();
    representatives(&mine, placement, fold)
}

/// How a closed-loop scaling sweep runs.
#[derive(Debug, Clone)]
pub struct ScaleConfig {
    /// Thread counts, in the order to run them.
    pub threads: Vec<usize>,
    /// Measured time per thread count.
    pub duration: Duration,
    /// Warm-up per thread count.
    pub warmup: Duration,
    /// The hasher every map uses.
    pub hasher: HasherKind,
    /// Pin workers to cores.
    pub pin: bool,
}

/// Closed-loop throughput of every map at each thread count: one
/// [`Point`] per count, `duration` each (after a warm-up).
pub fn run_scale(
    maps: &[MapKind],
    workload: &Workload,
    cfg: &ScaleConfig,
    progress: &dyn Progress,
    ctx: Ctx<'_>,
) -> Vec<Run> {
    let (threads, duration, warmup, hasher) = (&cfg.threads, cfg.duration, cfg.warmup, cfg.hasher);
    let max_threads = threads.iter().copied().max().unwrap_or(1);
    let mut runs = Vec::new();
    for kind in maps {
        let name = kind.name();
        let mut run = Run::empty(kind, workload, max_threads, "closed");
        for &n in threads {
            if ctx.stopped() {
                break;
            }
            let phase = Phase::Scale(n);
            progress.step_started(&name, &workload.mix.name, &phase);
            let mut spec = StepSpec::closed(n, warmup, duration);
            spec.pin = cfg.pin;
            let step = run_map_step(kind, hasher, workload, &spec, ctx.clock, ctx.stop);
            progress.step_finished(&name, &workload.mix.name, &phase, &step);
            if step.interrupted && step.ops == 0 {
                break;
            }
            run.points.push(Point {
                threads: n,
                ops_per_sec: step.achieved_ops_per_sec,
                p99_ns: step.latency_ns.p99,
            });
        }
        runs.push(run);
        if ctx.stopped() {
            break;
        }
    }
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacity_is_the_median_probe_from_three_on() {
        // One probe far above the others (a worker descheduled, the other
        // alone and uncontended) does not decide; nor does one far below.
        assert_eq!(capacity_of(&[6.6e6, 18.9e6, 7.1e6]), Some(7.1e6));
        assert_eq!(capacity_of(&[9e6, 2e6, 8e6]), Some(8e6));
        assert_eq!(capacity_of(&[1.0, 4.0, 2.0, 3.0]), Some(2.5));
        // Fewer than three: the highest, as before (no middle to take).
        assert_eq!(capacity_of(&[5e6, 7e6]), Some(7e6));
        assert_eq!(capacity_of(&[5e6]), Some(5e6));
        assert_eq!(capacity_of(&[]), None);
        assert_eq!(capacity_of(&[f64::NAN, 3.0]), Some(3.0));
    }

    #[test]
    fn rates_parse_lists_ranges_and_auto() {
        assert_eq!("auto".parse::<Rates>().unwrap(), Rates::Auto);
        assert_eq!(
            "1k,2.5k,1M".parse::<Rates>().unwrap(),
            Rates::Explicit(vec![1e3, 2.5e3, 1e6])
        );
        assert_eq!(
            "100..100/1".parse::<Rates>().unwrap(),
            Rates::Explicit(vec![100.0])
        );
        assert_eq!(
            "0..10/3".parse::<Rates>().unwrap_err().to_string(),
            "bad rate '0' (expected a positive number of txn/s, e.g. 5000, 12.5k, 1M)"
        );
        for bad in [
            "", "-5", "1,,2", "10..5/3", "1..5/0", "1..5", "1-5/3", "fast", "inf", "nan",
        ] {
            assert!(bad.parse::<Rates>().is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn ladder_spans_smallest_to_largest_capacity_geometrically() {
        let l = ladder(&[100_000.0, 400_000.0], 5, 0.2, 1.2);
        assert_eq!(l.len(), 5);
        // Whole grid steps between rungs: the bottom may sit lower.
        assert!(l[0] <= 20_000.0 && l[0] >= 10_000.0, "{l:?}");
        assert!(l[4] >= 480_000.0 && l[4] < 480_000.0 * 1.1, "{l:?}");
        let r1 = l[1] / l[0];
        let r4 = l[4] / l[3];
        assert!((r1 - r4).abs() < 0.01, "{l:?}");
        // Probes a few percent apart give the same rungs.
        assert_eq!(l, ladder(&[99_000.0, 400_000.0], 5, 0.2, 1.2));
        assert!(ladder(&[0.0], 5, 0.2, 1.2).is_empty());
    }

    /// 256 uniform keys, half prefilled, the mixed mix, one op per txn.
    fn small_workload() -> Workload {
        Workload::new(256, 0.5, crate::Dist::Uniform, "mixed".parse().unwrap(), 1).unwrap()
    }

    /// An automatic staircase of one thread, three rungs and two bisection
    /// steps, with steps and probes of `step` (warm-up a quarter of it).
    fn small_config(step: Duration, repeat: usize, floor: bool) -> StaircaseConfig {
        StaircaseConfig {
            rates: Rates::Auto,
            threads: 1,
            step,
            warmup: step / 4,
            probe: step,
            ladder_steps: 3,
            ladder_lo: 0.2,
            ladder_hi: 1.2,
            refine_steps: 2,
            repeat,
            arrivals: Arrivals::Even,
            hasher: HasherKind::default(),
            pin: false,
            floor,
        }
    }

    /// The mutex map climbed in this process under `cfg` (the small
    /// workload), its steps judged by `judge` alone: the run.
    fn climb_mutex(cfg: &StaircaseConfig, judge: &Past<'_>) -> Run {
        let (clock, stop) = (Clock::new(), AtomicBool::new(false));
        let ctx = Ctx {
            clock: &clock,
            stop: &stop,
            measurer: None,
        };
        let workload = small_workload();
        run_mix(
            &[MapKind::Mutex],
            &workload,
            cfg,
            judge,
            &median_step,
            &NoProgress,
            ctx,
        )
        .remove(0)
    }

    /// A measurer that measures here and records which repetition each
    /// order came as.
    struct Recorder {
        clock: Clock,
        stop: AtomicBool,
        seen: std::sync::Mutex<Vec<(usize, StepOrder)>>,
    }

    impl Measurer for Recorder {
        fn measure(&self, rep: usize, order: &StepOrder) -> Step {
            self.seen.lock().unwrap().push((rep, order.clone()));
            // Never preempted: a step measured again after this machine's
            // own pause would count twice here.
            Step {
                preempted_ns: None,
                ..order.run(&self.clock, &self.stop)
            }
        }
    }

    /// A measurer that measures here and reports every step whose order
    /// `preempt` picks as preempted for a whole second, every other as not
    /// preempted at all; a picked step's p99 is set to `p99_ns` when given.
    struct Preempting<F> {
        clock: Clock,
        stop: AtomicBool,
        preempt: F,
        p99_ns: Option<u64>,
        seen: std::sync::Mutex<Vec<StepOrder>>,
    }

    impl<F: Fn(&[StepOrder], &StepOrder) -> bool + Sync> Measurer for Preempting<F> {
        fn measure(&self, _: usize, order: &StepOrder) -> Step {
            let mut seen = self.seen.lock().unwrap();
            let mut step = order.run(&self.clock, &self.stop);
            // Only the picked ones: this machine's own pauses (other tests
            // run beside this one) must not count.
            let picked = (self.preempt)(&seen, order);
            step.preempted_ns = Some(if picked { 1_000_000_000 } else { 0 });
            if let (true, Some(p99)) = (picked, self.p99_ns) {
                step.latency_ns.p99 = p99;
            }
            seen.push(order.clone());
            step
        }
    }

    /// The mutex and rwlock maps climbed under `measurer`'s preemptions,
    /// every step judged good: the runs and every order measured.
    fn climb_preempted<F: Fn(&[StepOrder], &StepOrder) -> bool + Sync>(
        preempt: F,
    ) -> (Vec<Run>, Vec<StepOrder>) {
        climb_preempted_at(preempt, None)
    }

    /// `climb_preempted`, each preempted step's p99 set to `p99_ns` when
    /// given.
    fn climb_preempted_at<F: Fn(&[StepOrder], &StepOrder) -> bool + Sync>(
        preempt: F,
        p99_ns: Option<u64>,
    ) -> (Vec<Run>, Vec<StepOrder>) {
        let m = Preempting {
            clock: Clock::new(),
            stop: AtomicBool::new(false),
            preempt,
            p99_ns,
            seen: std::sync::Mutex::new(Vec::new()),
        };
        let cfg = small_config(Duration::from_millis(4), 2, true);
        let runs = run_mix(
            &[MapKind::Mutex, MapKind::RwLock],
            &small_workload(),
            &cfg,
            &|_: &[Step], _: &Step, _: &Step| false,
            &median_step,
            &NoProgress,
            Ctx {
                clock: &m.clock,
                stop: &m.stop,
                measurer: Some(&m),
            },
        );
        (runs, m.seen.into_inner().unwrap())
    }

    #[test]
    fn a_step_preempted_too_long_is_measured_once_more_and_the_second_kept() {
        // The mutex map's first measurement at each of its first rates (as
        // many as its allowance) is preempted, the second not; the rwlock
        // map and the noise floor never are.
        let allowance = (2.0 * auto_steps_per_map(3, 2) as f64 * PREEMPTED_REMEASURE_SHARE).ceil();
        let first_at = |seen: &[StepOrder], o: &StepOrder| {
            let mut rates: Vec<_> = seen
                .iter()
                .filter(|s| s.map == MapKind::Mutex)
                .filter_map(|s| s.spec.target)
                .collect();
            let before = rates.contains(&o.spec.target.unwrap_or(-1.0));
            rates.sort_by(f64::total_cmp);
            rates.dedup();
            o.map == MapKind::Mutex
                && o.spec.target.is_some()
                && !before
                && (rates.len() as f64) < allowance
        };
        let (runs, seen) = climb_preempted(first_at);
        let (mutex, rwlock) = (&runs[0], &runs[1]);
        let rates = |r: &Run| {
            let mut v: Vec<f64> = r.steps.iter().map(rate_of).collect();
            v.dedup();
            v.len() as u32
        };
        // One extra measurement per preempted rate, and none kept preempted.
        let preempted = rates(mutex).min(allowance as u32);
        assert!(preempted > 0);
        assert_eq!(
            mutex.preempted,
            Some(Preempted {
                remeasured: preempted,
                kept: 0
            })
        );
        assert!(mutex
            .steps
            .iter()
            .all(|s| s.preempted_ns != Some(1_000_000_000)));
        assert_eq!(rwlock.preempted, None);
        let open = |k: MapKind| {
            seen.iter()
                .filter(|o| o.map == k && o.spec.target.is_some())
                .count()
        };
        assert_eq!(open(MapKind::Mutex), mutex.steps.len() + preempted as usize);
        assert_eq!(open(MapKind::RwLock), rwlock.steps.len());
    }

    #[test]
    fn a_preempted_step_whose_p99_the_pause_cannot_explain_is_not_measured_again() {
        // Every open-loop mutex step preempted for 1 s, its p99 3 s: more
        // than twice the pause, so something besides it set the p99.
        let every =
            |_: &[StepOrder], o: &StepOrder| o.map == MapKind::Mutex && o.spec.target.is_some();
        let (runs, seen) = climb_preempted_at(every, Some(3_000_000_000));
        let mutex = &runs[0];
        assert_eq!(mutex.preempted, None);
        let open = seen
            .iter()
            .filter(|o| o.map == MapKind::Mutex && o.spec.target.is_some())
            .count();
        assert_eq!(open, mutex.steps.len());
        // At exactly twice the pause it is measured again.
        let (runs, _) = climb_preempted_at(every, Some(2_000_000_000));
        assert!(runs[0].preempted.is_some_and(|p| p.remeasured > 0));
    }

    #[test]
    fn remeasuring_preempted_steps_stops_at_each_runs_allowance() {
        // Every open-loop map step preempted: each measured once more while
        // its map's allowance lasts, and every kept step counted as kept.
        let (runs, _) = climb_preempted(|_: &[StepOrder], o: &StepOrder| {
            o.map != MapKind::Noop && o.spec.target.is_some()
        });
        let total = Preempted::total(runs.iter().filter_map(|r| r.preempted.as_ref())).unwrap();
        let steps: usize = runs.iter().map(|r| r.steps.len()).sum();
        assert_eq!(total.kept as usize, steps, "{total:?}");
        // Planned per map: 2 repetitions × the auto steps of each; the
        // second map gets as many as the first, which spent all of its.
        let planned = 2 * auto_steps_per_map(3, 2);
        let allowance = (planned as f64 * PREEMPTED_REMEASURE_SHARE).ceil() as u32;
        assert!(allowance > 0);
        for r in &runs {
            assert_eq!(r.preempted.map(|p| p.remeasured), Some(allowance), "{r:?}");
        }
    }

    #[test]
    fn every_step_goes_to_the_measurer_as_its_repetition() {
        let rec = Recorder {
            clock: Clock::new(),
            stop: AtomicBool::new(false),
            seen: std::sync::Mutex::new(Vec::new()),
        };
        let workload = small_workload();
        let repeat = 3;
        let cfg = small_config(Duration::from_millis(4), repeat, true);
        // Everything from the second rung up is bad: a knee, so the
        // bisection and its confirmations run too.
        let judge = |curve: &[Step], _: &Step, s: &Step| {
            curve.len() > 1 && rate_of(s) >= rate_of(&curve[1])
        };
        let maps = [MapKind::Mutex, MapKind::RwLock];
        let runs = run_mix(
            &maps,
            &workload,
            &cfg,
            &judge,
            &median_step,
            &NoProgress,
            Ctx {
                clock: &rec.clock,
                stop: &rec.stop,
                measurer: Some(&rec),
            },
        );
        let seen = rec.seen.into_inner().unwrap();
        // A map's probes are consecutive repetitions starting at its index:
        // in as many processes as there are probes, whatever their count.
        for (i, kind) in maps.iter().enumerate() {
            let probes: Vec<usize> = seen
                .iter()
                .filter(|(_, o)| o.spec.target.is_none() && o.map == *kind)
                .map(|(r, _)| *r)
                .collect();
            assert_eq!(probes, (i..i + PROBES).collect::<Vec<_>>(), "{kind:?}");
        }
        // Every open-loop step of every map (the noise floor included) came
        // through the measurer, each rate as repetitions 0..repeat, each
        // repetition as often as the others.
        for (i, kind) in maps.iter().chain([&MapKind::Noop]).enumerate() {
            let mut by_rate: Vec<(f64, Vec<usize>)> = Vec::new();
            for (rep, o) in seen.iter().filter(|(_, o)| o.map == *kind) {
                let Some(rate) = o.spec.target else { continue };
                match by_rate.iter_mut().find(|(r, _)| *r == rate) {
                    Some((_, reps)) => reps.push(*rep),
                    None => by_rate.push((rate, vec![*rep])),
                }
            }
            assert!(by_rate.len() >= 3, "{kind:?}: {by_rate:?}");
            for (rate, reps) in &by_rate {
                let times = reps.len() / repeat;
                assert!(
                    times >= 1 && reps.len() % repeat == 0,
                    "{kind:?} at {rate}: {reps:?}"
                );
                for r in 0..repeat {
                    let n = reps.iter().filter(|&&x| x == r).count();
                    assert_eq!(n, times, "{kind:?} at {rate}: {reps:?}");
                }
            }
            let measured: usize = by_rate.iter().map(|(_, reps)| reps.len()).sum();
            if let Some(run) = runs.get(i) {
                assert_eq!(
                    measured,
                    run.steps.len(),
                    "{kind:?}: a step bypassed the measurer"
                );
                assert!(run.steps.iter().any(|s| s.refine), "{kind:?}: no bisection");
            }
        }
    }

    #[test]
    fn each_repetition_bisects_its_own_knee() {
        // Repetition 0 turns bad at 1.5 × the lowest rung, repetition 1 at
        // 4 ×: with rungs ~2.45× apart, 0's knee is the second rung and 1's
        // the third (the last, so a rung past it is measured to confirm
        // it). Each must bisect its own bracket, not the other's.
        let cfg = small_config(Duration::from_millis(4), 2, false);
        // The repetition's own curve starts at the lowest rung.
        let judge = |curve: &[Step], _: &Step, s: &Step| {
            let lo = curve.first().map_or(f64::INFINITY, rate_of);
            let at = [1.5, 4.0][s.repetition.expect("a repeated run's step") as usize];
            rate_of(s) >= at * lo
        };
        let run = &climb_mutex(&cfg, &judge);
        let rungs: Vec<f64> = {
            let mut r: Vec<f64> = run
                .steps
                .iter()
                .filter(|s| !s.refine)
                .map(rate_of)
                .collect();
            r.dedup();
            r
        };
        assert_eq!(rungs.len(), 3, "{rungs:?}");
        let refined = |rep: u32| -> Vec<f64> {
            run.steps
                .iter()
                .filter(|s| s.refine && s.repetition == Some(rep))
                .map(rate_of)
                .collect()
        };
        let (zero, one) = (refined(0), refined(1));
        // Each knee rung is confirmed just past it; then two midpoints
        // each (a confirmation too when a midpoint is bad and room is left
        // below the bracket's top), all inside the repetition's own bracket.
        let close = |r: f64| (r * CONFIRM_PAST).round();
        let (past, mids): (Vec<f64>, Vec<f64>) = zero.iter().partition(|&&r| r >= rungs[1]);
        assert_eq!(past, [close(rungs[1])], "{zero:?} {rungs:?}");
        assert!(mids.len() >= 2, "{zero:?}");
        assert!(mids.iter().all(|&r| rungs[0] < r), "{zero:?} {rungs:?}");
        // Repetition 1's knee rung is the top: measured a rung higher first.
        let (past, mids): (Vec<f64>, Vec<f64>) = one.iter().partition(|&&r| r >= rungs[2]);
        assert_eq!(
            past.len(),
            2,
            "a rung past the top, and just past it: {one:?}"
        );
        assert!(past.contains(&close(rungs[2])), "{one:?}");
        assert!(mids.len() >= 2, "{one:?}");
        assert!(mids.iter().all(|&r| rungs[1] < r), "{mids:?} {rungs:?}");
        // Each repetition's curve is its own: its ladder and its steps.
        for rep in 0..2 {
            let curve = repetition_curve(&run.steps, rep, None, &median_step);
            assert_eq!(curve.len(), 3 + refined(rep as u32).len(), "{rep}");
        }
    }

    #[test]
    fn a_spike_confirmed_only_by_a_distant_rung_is_not_the_knee() {
        // The second rung (~2.45 × the lowest) is a spike: bad when the
        // ladder measures it, good just past it. From 4 × the lowest every
        // step is bad. The knee must be bisected above the spike, between
        // it and the third rung — not between the first two rungs, where
        // the next rung alone would have confirmed it.
        let cfg = small_config(Duration::from_millis(4), 1, false);
        let judge = |curve: &[Step], _: &Step, s: &Step| {
            let lo = curve.first().map_or(f64::INFINITY, rate_of);
            let x = rate_of(s) / lo;
            (!s.refine && (1.5..3.0).contains(&x)) || x >= 4.0
        };
        let run = &climb_mutex(&cfg, &judge);
        let rungs: Vec<f64> = run
            .steps
            .iter()
            .filter(|s| !s.refine)
            .map(rate_of)
            .collect();
        assert_eq!(rungs.len(), 3, "{rungs:?}");
        let refined: Vec<f64> = run.steps.iter().filter(|s| s.refine).map(rate_of).collect();
        let close = |r: f64| (r * CONFIRM_PAST).round();
        // The spike checked just past it; the top measured a rung higher
        // and then checked just past it too.
        assert!(refined.contains(&close(rungs[1])), "{refined:?}");
        assert!(refined.iter().any(|&r| r > close(rungs[2])), "{refined:?}");
        assert!(refined.contains(&close(rungs[2])), "{refined:?}");
        // Bisected between the spike's check and the third rung only.
        let mids: Vec<f64> = refined
            .iter()
            .copied()
            .filter(|&r| r < rungs[2] && r != close(rungs[1]))
            .collect();
        assert!(mids.len() >= 2, "{rungs:?} {refined:?}");
        assert!(
            mids.iter().all(|&r| r > close(rungs[1])),
            "{rungs:?} {mids:?}"
        );
        let curve = repetition_curve(&run.steps, 0, None, &median_step);
        let k = first_knee(&curve, &judge).expect("a knee");
        let x = rate_of(&curve[k]) / rungs[0];
        assert!(
            (4.0..6.5).contains(&x),
            "knee step at {x} × the lowest rung"
        );
    }

    #[test]
    fn bisection_narrows_the_knee_on_a_fake_judge() {
        // A judge that calls every rate >= 30,000 bad; a mutex map at low
        // rates keeps up, so only the judge matters here.
        let cfg = small_config(Duration::from_millis(10), 1, false);
        let judge = |_: &[Step], _: &Step, s: &Step| s.target_ops_per_sec.unwrap() >= 30_000.0;
        let run = &climb_mutex(&cfg, &judge);
        let cap = run.capacity_ops_per_sec.unwrap();
        assert!(cap > 0.0);
        let rates: Vec<f64> = run
            .steps
            .iter()
            .map(|s| s.target_ops_per_sec.unwrap())
            .collect();
        assert!(rates.windows(2).all(|w| w[0] <= w[1]), "sorted: {rates:?}");
        let rungs: Vec<f64> = run
            .steps
            .iter()
            .filter(|s| !s.refine)
            .map(rate_of)
            .collect();
        let refined: Vec<f64> = run.steps.iter().filter(|s| s.refine).map(rate_of).collect();
        let Some(k) = rungs.iter().position(|&r| r >= 30_000.0) else {
            assert!(refined.is_empty(), "no knee, nothing to refine: {rates:?}");
            return;
        };
        // The knee rung is confirmed just past it (after the top is
        // measured one rung higher when the knee rung is the last), ...
        let close = (rungs[k] * CONFIRM_PAST).round();
        assert!(refined.contains(&close), "{rungs:?} {refined:?}");
        // ... and bisected from the rung below it, when there is one: both
        // midpoints inside the bracket.
        if k == 0 {
            assert!(refined.iter().all(|&r| r > rungs[0]), "{refined:?}");
        } else {
            let mids = refined
                .iter()
                .filter(|&&r| rungs[k - 1] < r && r < rungs[k])
                .count();
            assert!(mids >= 2, "{rungs:?} {refined:?}");
        }
    }
}
