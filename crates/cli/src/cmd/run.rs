//! `mapknee run`: the open-loop staircase per mix, then knee and
//! bottleneck analysis, then output.

use std::time::Instant;

use mapknee_analyze::decay::fit_decay;
use mapknee_analyze::{analyze_run, KneeRules, Thresholds};
use mapknee_load::{run_mixes, Ctx, Measurer, NoProgress, Phase, Progress, Run, Step};

use super::measure::{Children, Started};

use crate::progress::Bar;
use crate::render::{fmt_ns, fmt_rate};
use crate::settings::RunSettings;
use crate::{CliError, Outcome, STOP};

pub(crate) fn run(s: RunSettings) -> Result<Outcome, CliError> {
    run_with(s, &NoProgress, &mut |_| {})
}

/// `run`, with `observer` told of every step as well (`trace` and
/// `profile` bracket steps with it) and `amend` given the analysed runs
/// before they are printed and written.
pub(crate) fn run_with(
    s: RunSettings,
    observer: &dyn Progress,
    amend: &mut dyn FnMut(&mut [Run]),
) -> Result<Outcome, CliError> {
    let started = Instant::now();
    let (clock, machine) = super::prepare(&s.common)?;
    if s.common.verbose {
        let c = &s.staircase;
        let maps: Vec<String> = s.common.maps.iter().map(|m| m.name()).collect();
        let mixes: Vec<&str> = s.mixes.iter().map(|m| m.name.as_str()).collect();
        eprintln!(
            "mapknee: scenario {}; maps {}; mixes {}; {} threads; rates {}; step {} + warm-up {}; estimate ≤ {:.0} s",
            s.scenario,
            maps.join(","),
            mixes.join(","),
            c.threads,
            c.rates,
            crate::render::fmt_ns(c.step.as_nanos() as u64),
            crate::render::fmt_ns(c.warmup.as_nanos() as u64),
            s.estimate().as_secs_f64()
        );
    }

    let rules = KneeRules::default();
    let thresholds = Thresholds::default();
    let past = |curve: &[Step], at: &Step, step: &Step| rules.past(curve, at, step);
    let bar = Bar::new(s.planned_steps());
    let c = &s.staircase;
    let workloads: Vec<_> = s.mixes.iter().map(|m| s.common.workload(m)).collect();
    let skeleton = super::skeleton(&s.common, &workloads, c.threads, &c.arrivals.to_string());
    let work = |phase: &Phase| match phase {
        Phase::Probe => c.probe + c.warmup / 2,
        _ => c.step + c.warmup,
    };
    let dog = super::watchdog(&bar, "run", &machine, &s.common, skeleton, work, started);
    let children = match s.processes {
        0 => None,
        n => {
            let exe = std::env::current_exe().map_err(|e| {
                CliError::runtime(format!(
                    "cannot find this program to start measuring processes: {e}"
                ))
            })?;
            match Children::start(&exe, n)? {
                Started::Ready(children) => Some(children),
                Started::Ended(why) => {
                    // A measuring process that ends before it is ready
                    // stops the run as one that ends mid-run does (as
                    // Ctrl-C does): one error line, exit status 1, and the
                    // results written, here with nothing measured in them.
                    crate::fail(why);
                    drop(dog);
                    bar.finish();
                    return super::finish(
                        "run",
                        machine,
                        Vec::new(),
                        Vec::new(),
                        Some(s.slo),
                        started,
                        &s.common,
                    );
                }
            }
        }
    };
    let ctx = Ctx {
        clock: &clock,
        stop: &STOP,
        measurer: children.as_ref().map(|c| c as &dyn Measurer),
    };
    let climbed = run_mixes(
        &s.common.maps,
        &workloads,
        &s.staircase,
        &past,
        &mapknee_analyze::repeat::fold,
        &Both(&dog, observer),
        ctx,
    );
    drop(dog);
    drop(children);
    let mut runs = Vec::new();
    for (mix, mut mix_runs) in s.mixes.iter().zip(climbed) {
        for run in &mut mix_runs {
            mapknee_analyze::repeat::merge(run, &rules, &s.slo);
            analyze_run(run, &rules, &thresholds);
            mapknee_analyze::slo::attach_run(run, &s.slo);
            mapknee_analyze::repeat::attach_medians(run);
            if let Some(k) = &run.knee {
                bar.println(&format!(
                    "mapknee: {} · {}: knee at {}/s ({}, {})",
                    run.map,
                    mix.name,
                    fmt_rate(k.ops_per_sec),
                    k.rule,
                    k.bottleneck
                ));
            } else {
                let curve = mapknee_load::open_loop_curve(&run.steps);
                if let Some(last) = curve.last() {
                    let unconfirmed = rules.past(&curve, last, last);
                    bar.println(&format!(
                        "mapknee: {} · {}: no {}knee up to {}/s (p99 {}){}",
                        run.map,
                        mix.name,
                        if unconfirmed { "confirmed " } else { "" },
                        fmt_rate(last.target_ops_per_sec.unwrap_or(0.0)),
                        fmt_ns(last.latency_ns.p99),
                        if unconfirmed {
                            ": the last step breaks a rule but nothing past it confirms it"
                        } else {
                            ""
                        }
                    ));
                }
            }
        }
        mix_runs.retain(|r| !r.steps.is_empty());
        runs.extend(mix_runs);
    }
    bar.finish();

    let mut maps: Vec<&str> = Vec::new();
    for r in &runs {
        if !maps.contains(&r.map.as_str()) {
            maps.push(&r.map);
        }
    }
    let decay = maps.iter().filter_map(|m| fit_decay(m, &runs)).collect();
    amend(&mut runs);
    super::finish("run", machine, runs, decay, Some(s.slo), started, &s.common)
}

/// Two progress observers, told in turn.
struct Both<'a>(&'a dyn Progress, &'a dyn Progress);

impl Progress for Both<'_> {
    fn step_started(&self, map: &str, mix: &str, phase: &Phase) {
        self.0.step_started(map, mix, phase);
        self.1.step_started(map, mix, phase);
    }
    fn step_finished(&self, map: &str, mix: &str, phase: &Phase, step: &Step) {
        self.1.step_finished(map, mix, phase, step);
        self.0.step_finished(map, mix, phase, step);
    }
}
