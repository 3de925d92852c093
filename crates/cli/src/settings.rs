//! Validated settings (ripgrep's `HiArgs`): raw flags and the scenario go in,
//! real objects come out, and every bad input becomes one `CliError` line
//! here — nowhere else. Flags override the scenario; the scenario overrides
//! the defaults.

use std::path::PathBuf;
use std::time::Duration;

use mapknee_load::{Arrivals, Dist, Mix, Objective, Rates, StaircaseConfig, Workload};
use mapknee_maps::{parse_duration, HasherKind, MapKind};
use toml::Spanned;

use crate::args::{Format, RunArgs, ScaleArgs, WorkloadArgs};
use crate::scenario::Scenario;
use crate::CliError;

/// Settings shared by `run` and `scale`.
#[derive(Debug, Clone)]
pub(crate) struct Common {
    pub(crate) maps: Vec<MapKind>,
    pub(crate) keys: u64,
    pub(crate) prefill: f64,
    pub(crate) dist: Dist,
    pub(crate) ops_per_txn: u32,
    pub(crate) hasher: HasherKind,
    pub(crate) format: Format,
    pub(crate) out: Option<PathBuf>,
    pub(crate) pin: bool,
    pub(crate) verbose: bool,
    /// Printed on stderr before running (maps skipped and the like).
    pub(crate) warnings: Vec<String>,
}

impl Common {
    pub(crate) fn workload(&self, mix: &Mix) -> Workload {
        Workload::new(
            self.keys,
            self.prefill,
            self.dist,
            mix.clone(),
            self.ops_per_txn,
        )
        .expect("validated in settings")
    }
}

/// Validated `run` settings.
#[derive(Debug, Clone)]
pub(crate) struct RunSettings {
    pub(crate) common: Common,
    pub(crate) scenario: String,
    pub(crate) mixes: Vec<Mix>,
    pub(crate) staircase: StaircaseConfig,
    /// The latency objective each map's SLO capacity is judged against.
    pub(crate) slo: Objective,
    /// Measuring processes (`--processes`): 0 measures in this process.
    pub(crate) processes: usize,
}

/// Validated `scale` settings.
#[derive(Debug)]
pub(crate) struct ScaleSettings {
    pub(crate) common: Common,
    pub(crate) mix: Mix,
    pub(crate) threads: Vec<usize>,
    pub(crate) duration: Duration,
    pub(crate) warmup: Duration,
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// A value from a flag (no location) or from the scenario (its location).
struct Src<T> {
    value: T,
    at: Option<String>,
}

impl<T> Src<T> {
    fn err(&self, msg: impl std::fmt::Display) -> CliError {
        match &self.at {
            Some(at) => CliError::usage(format!("{at}: {msg}")),
            None => CliError::usage(msg.to_string()),
        }
    }
}

/// The flag's value, else the scenario's (with its location).
fn pick<T: Clone>(flag: Option<T>, file: &Option<Spanned<T>>, sc: &Scenario) -> Option<Src<T>> {
    match (flag, file) {
        (Some(value), _) => Some(Src { value, at: None }),
        (None, Some(s)) => Some(Src {
            value: s.get_ref().clone(),
            at: Some(sc.at(s.span())),
        }),
        (None, None) => None,
    }
}

fn parse_src<T, E: std::fmt::Display>(
    src: Option<Src<String>>,
    parse: impl Fn(&str) -> Result<T, E>,
) -> Result<Option<T>, CliError> {
    src.map(|s| parse(&s.value).map_err(|e| s.err(e)))
        .transpose()
}

fn parse_dur(s: &str) -> Result<Duration, String> {
    parse_duration(s).map_err(|e| e.to_string())
}

fn common(args: WorkloadArgs, sc: &Scenario) -> Result<Common, CliError> {
    let f = &sc.file;
    let mut warnings: Vec<String> = damon_warning().into_iter().collect();
    let maps = match args.maps {
        Some(names) => names
            .iter()
            .map(|n| {
                n.trim()
                    .parse::<MapKind>()
                    .map_err(|e| CliError::usage(e.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()?,
        None => {
            let mut maps = Vec::new();
            for name in f.maps.iter().flatten() {
                match name.get_ref().parse::<MapKind>() {
                    Ok(kind) => maps.push(kind),
                    Err(_) if sc.builtin => warnings.push(format!(
                        "map '{}' of scenario {} is not built yet; skipped",
                        name.get_ref(),
                        sc.origin
                    )),
                    Err(e) => return Err(CliError::usage(format!("{}: {e}", sc.at(name.span())))),
                }
            }
            maps
        }
    };
    if maps.is_empty() {
        return Err(CliError::usage("no maps to run (give --maps a,b)"));
    }

    let keys = pick(args.keys, &f.keys, sc);
    if let Some(k) = &keys {
        if k.value == 0 {
            return Err(k.err("keys must be at least 1"));
        }
    }
    let prefill = pick(args.prefill, &f.prefill, sc);
    if let Some(p) = &prefill {
        if !(0.0..=1.0).contains(&p.value) {
            return Err(p.err(format!("prefill must be between 0 and 1, got {}", p.value)));
        }
    }
    let ops_per_txn = pick(args.ops_per_txn, &f.ops_per_txn, sc);
    if let Some(o) = &ops_per_txn {
        if o.value == 0 {
            return Err(o.err("ops-per-txn must be at least 1"));
        }
    }
    let dist = parse_src(pick(args.dist, &f.dist, sc), str::parse::<Dist>)?;
    let hasher = parse_src(pick(args.hasher, &f.hasher, sc), str::parse::<HasherKind>)?;
    Ok(Common {
        maps,
        keys: keys.map_or(mapknee_load::DEFAULT_KEYS, |k| k.value),
        prefill: prefill.map_or(mapknee_load::DEFAULT_PREFILL, |p| p.value),
        dist: dist.unwrap_or(Dist::OrderCache {
            miss: mapknee_load::DEFAULT_MISS,
        }),
        ops_per_txn: ops_per_txn.map_or(1, |o| o.value),
        hasher: hasher.unwrap_or_default(),
        format: args.format,
        out: args.out,
        pin: !args.no_pin,
        verbose: args.verbose,
        warnings,
    })
}

/// A warning when one of the kernel's DAMON threads is running: a machine
/// condition of every measuring command (`run` and `scale` both build
/// their settings with [`common`]), like the worker threads on cores.
fn damon_warning() -> Option<String> {
    let damon = mapknee_load::damon_threads();
    (!damon.is_empty()).then(|| format!(
        "the kernel's DAMON thread(s) {} running: one doing reclaim takes a core for ~2 ms at a time and a worker waits it out (README: preempted steps); as root, stop kdamond.N while you measure with `echo off > /sys/kernel/mm/damon/admin/kdamonds/N/state`, or, if the damon_reclaim module started it, `echo N > /sys/module/damon_reclaim/parameters/enabled`",
        damon.join(", ")
    ))
}

/// Per-step cost beyond warm-up and measurement: thread start (2 ms),
/// prefill of a 65,536-key map and its drop (measured ≈ 5–15 ms on 2 cores).
const STEP_OVERHEAD: Duration = Duration::from_millis(20);
/// Derived step lengths stay within these bounds.
const MIN_STEP: Duration = Duration::from_millis(40);
const MAX_STEP: Duration = Duration::from_secs(1);

fn warmup_for(step: Duration) -> Duration {
    (step / 5).clamp(Duration::from_millis(10), Duration::from_millis(200))
}

impl RunSettings {
    pub(crate) fn from_args(args: RunArgs) -> Result<Self, CliError> {
        let sc = match &args.scenario {
            Some(s) => Scenario::load(s)?,
            None => Scenario::default_scenario(),
        };
        let f = &sc.file;
        let keys_given = args.common.keys.is_some();
        let mut common = common(args.common, &sc)?;

        let mixes: Vec<Mix> = if !args.mixes.is_empty() {
            args.mixes
                .iter()
                .map(|m| m.parse::<Mix>().map_err(|e| CliError::usage(e.to_string())))
                .collect::<Result<_, _>>()?
        } else if let Some(list) = &f.mixes {
            list.iter()
                .map(|m| {
                    m.get_ref()
                        .parse::<Mix>()
                        .map_err(|e| CliError::usage(format!("{}: {e}", sc.at(m.span()))))
                })
                .collect::<Result<_, _>>()?
        } else {
            mapknee_load::DEFAULT_MIXES
                .iter()
                .map(|m| m.parse().expect("named mix"))
                .collect()
        };
        if mixes.is_empty() {
            return Err(CliError::usage("no mixes to run (give --mix M)"));
        }

        let threads = pick(args.threads, &f.threads, &sc);
        if let Some(t) = &threads {
            if t.value == 0 {
                return Err(t.err("threads must be at least 1"));
            }
        }
        let threads = threads.map_or_else(cores, |t| t.value);
        if threads >= cores() {
            common.warnings.push(format!(
                "{threads} worker threads on {} cores: the coordinator, the OS and other processes take turns on the workers' cores, so OS scheduling is part of every p99",
                cores()
            ));
        }
        let rates_given = args.rates.is_some();
        let rates =
            parse_src(pick(args.rates, &f.rates, &sc), str::parse::<Rates>)?.unwrap_or(Rates::Auto);
        let arrivals = parse_src(
            pick(args.arrivals, &f.arrivals, &sc),
            str::parse::<Arrivals>,
        )?
        .unwrap_or_default();
        let step = parse_src(pick(args.step, &f.step, &sc), parse_dur)?;
        let explicit = crate::limits::Explicit {
            step: step.is_some(),
            repeat: args.repeat.is_some(),
            rates: rates_given,
            keys: keys_given,
        };

        let quick = args.quick;
        // --quick is one pass: it promises a short run, not a steady one.
        let repeat = match args.repeat {
            Some(r) => r,
            None if quick => 1,
            None => pick(None, &f.repeat, &sc).map_or(1, |r| r.value),
        };
        if repeat == 0 {
            return Err(CliError::usage("--repeat must be at least 1"));
        }
        // One process per repetition unless told otherwise (0: this one).
        let processes = args.processes.unwrap_or(repeat);
        if processes > repeat {
            return Err(CliError::usage(format!(
                "--processes {processes}: at most one measuring process per repetition (--repeat {repeat})"
            )));
        }
        let (budget, ladder, refine) = if quick {
            (
                parse_src(pick(None, &f.quick_budget, &sc), parse_dur)?,
                pick(None, &f.quick_ladder_steps, &sc),
                pick(None, &f.quick_refine_steps, &sc),
            )
        } else {
            (
                parse_src(pick(None, &f.budget, &sc), parse_dur)?,
                pick(None, &f.ladder_steps, &sc),
                pick(None, &f.refine_steps, &sc),
            )
        };
        let budget = budget.unwrap_or(if quick {
            Duration::from_secs(14)
        } else {
            Duration::from_secs(165)
        });
        if let Some(l) = &ladder {
            if l.value < 2 {
                return Err(l.err("ladder steps must be at least 2"));
            }
        }
        let ladder = ladder.map_or(if quick { 5 } else { 8 }, |l| l.value);
        let refine = refine.map_or(if quick { 1 } else { 3 }, |r| r.value);
        let probe = match &rates {
            Rates::Auto => Duration::from_millis(if quick { 50 } else { 150 }),
            Rates::Explicit(_) => Duration::ZERO,
        };
        let floor = !common.maps.contains(&MapKind::Noop);
        let per_mix = steps_per_mix(&rates, ladder, refine, common.maps.len(), floor);

        // Derive the step from the budget: every mix gets an equal share,
        // spent on the probes and `per_mix` steps (each repeated, and up to
        // `PREEMPTED_REMEASURE_SHARE` of them measured again) of
        // warm-up (1/6) + measurement (5/6) + fixed overhead. Saturating:
        // counts come from flags and files, and are bounded only later
        // (limits), against the machine.
        let step = step.unwrap_or_else(|| {
            let per_mix_time = budget / count(mixes.len().max(1));
            let probes = probe.saturating_mul(count(
                common.maps.len().saturating_mul(mapknee_load::PROBES),
            ));
            // The steps measured again after a long preemption come out
            // of the same budget.
            let per_step = (per_mix_time.saturating_sub(probes)
                / count(per_mix.saturating_mul(repeat).max(1)))
            .div_f64(1.0 + mapknee_load::PREEMPTED_REMEASURE_SHARE);
            let per_step = per_step.saturating_sub(STEP_OVERHEAD);
            (per_step * 5 / 6).clamp(MIN_STEP, MAX_STEP)
        });
        let warmup = warmup_for(step);
        let slo = crate::cmd::objective(args.slo.as_deref())?
            .unwrap_or(mapknee_analyze::slo::DEFAULT_OBJECTIVE);
        common.warnings.shrink_to_fit();
        let settings = RunSettings {
            scenario: sc.file.name.clone().unwrap_or_else(|| sc.origin.clone()),
            staircase: StaircaseConfig {
                rates,
                threads,
                step,
                warmup,
                probe,
                ladder_steps: ladder,
                ladder_lo: 0.2,
                ladder_hi: 1.2,
                refine_steps: refine,
                repeat,
                arrivals,
                hasher: common.hasher,
                pin: common.pin,
                floor,
            },
            common,
            mixes,
            slo,
            processes,
        };
        crate::limits::check_run(&settings, quick, explicit, &crate::limits::Host::detect())
            .map_err(CliError::usage)?;
        Ok(settings)
    }

    /// Steps the run will take (for the progress bar): probes, ladder and
    /// refinement per map × mix.
    pub(crate) fn planned_steps(&self) -> u64 {
        let c = &self.staircase;
        let maps = self.common.maps.len();
        let probes = if c.rates == Rates::Auto {
            maps.saturating_mul(mapknee_load::PROBES)
        } else {
            0
        };
        let per_mix = steps_per_mix(&c.rates, c.ladder_steps, c.refine_steps, maps, c.floor);
        let steps = probes
            .saturating_add(per_mix.saturating_mul(c.repeat))
            .saturating_mul(self.mixes.len());
        u64::try_from(steps).unwrap_or(u64::MAX)
    }

    /// An upper estimate of the wall time.
    /// In floating point: the counts come from flags and files, and the
    /// limits compare this estimate before anything bounds them.
    pub(crate) fn estimate(&self) -> Duration {
        let c = &self.staircase;
        let maps = self.common.maps.len();
        let per_mix = steps_per_mix(&c.rates, c.ladder_steps, c.refine_steps, maps, c.floor);
        let steps = per_mix as f64 * c.repeat as f64;
        let probes = (maps * mapknee_load::PROBES) as f64;
        // A keyspace larger than the default's takes longer to prefill
        // than STEP_OVERHEAD allows, before every step and probe.
        let setup =
            crate::limits::prefill_time(self.common.keys, self.common.prefill, &self.common.maps)
                .saturating_sub(STEP_OVERHEAD)
                .as_secs_f64();
        let secs = self.mixes.len() as f64
            * (probes * ((c.probe + c.warmup / 2).as_secs_f64() + setup)
                + steps * ((c.step + c.warmup + STEP_OVERHEAD).as_secs_f64() + setup));
        Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX)
    }
}

impl ScaleSettings {
    pub(crate) fn from_args(args: ScaleArgs) -> Result<Self, CliError> {
        let sc = Scenario::default_scenario();
        let common = common(args.common, &sc)?;
        let mix = args
            .mix
            .as_deref()
            .unwrap_or("mixed")
            .parse::<Mix>()
            .map_err(|e| CliError::usage(e.to_string()))?;
        let threads = args.threads.unwrap_or_else(|| (1..=cores()).collect());
        if threads.is_empty() || threads.contains(&0) {
            return Err(CliError::usage("thread counts must be at least 1"));
        }
        let duration = match &args.duration {
            Some(d) => parse_dur(d).map_err(CliError::usage)?,
            None => Duration::from_secs(1),
        };
        let settings = ScaleSettings {
            common,
            mix,
            threads,
            warmup: warmup_for(duration),
            duration,
        };
        crate::limits::check_scale(&settings, &crate::limits::Host::detect())
            .map_err(CliError::usage)?;
        Ok(settings)
    }
}

/// Steps one mix plans (each repeated `--repeat` times): every map climbs
/// the ladder, with `auto` its confirmations and bisection too
/// ([`mapknee_load::auto_steps_per_map`]); the noise floor adds one `noop`
/// step per ladder rate.
fn steps_per_mix(rates: &Rates, ladder: usize, refine: usize, maps: usize, floor: bool) -> usize {
    let rungs = match rates {
        Rates::Auto => ladder,
        Rates::Explicit(r) => r.len(),
    };
    let per_map = match rates {
        Rates::Auto => mapknee_load::auto_steps_per_map(ladder, refine),
        Rates::Explicit(_) => rungs,
    };
    maps.saturating_mul(per_map)
        .saturating_add(if floor { rungs } else { 0 })
}

/// A count as a `Duration` divisor or factor, saturating.
fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}
