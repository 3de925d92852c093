//! One module per subcommand.

pub(crate) mod advise;
pub(crate) mod atomics;
pub(crate) mod compare;
pub(crate) mod growth;
pub(crate) mod http;
pub(crate) mod list;
pub(crate) mod measure;
pub(crate) mod memory;
mod observe;
pub(crate) mod profile;
pub(crate) mod report;
pub(crate) mod run;
pub(crate) mod scale;
pub(crate) mod serve;
pub(crate) mod trace;

use std::time::{Duration, Instant};

use mapknee_load::{harness_open_loop_ns, Clock, Machine, Objective, Phase, Results, Run, SCHEMA};

use crate::progress::Bar;
use crate::settings::Common;
use crate::watchdog::{allowance, runs_so_far, Actions, Watchdog};
use crate::{CliError, RUSTC};

/// One empty run per mix and map, in the order `run` and `scale` report
/// them: what the watchdog fills when a step is stuck.
pub(crate) fn skeleton(
    common: &Common,
    workloads: &[mapknee_load::Workload],
    threads: usize,
    arrivals: &str,
) -> Vec<Run> {
    workloads
        .iter()
        .flat_map(|w| {
            common
                .maps
                .iter()
                .map(move |map| Run::empty(map, w, threads, arrivals))
        })
        .collect()
}

/// The watchdog over `run`'s or `scale`'s steps (see `watchdog`): a step
/// past its time stops the run as Ctrl-C does; one that still has not
/// ended after a grace period gets the steps that finished printed and
/// written, one error line, and exit status 1. `work` is a phase's
/// warm-up and measured time.
pub(crate) fn watchdog<'a>(
    bar: &'a Bar,
    kind: &'static str,
    machine: &Machine,
    common: &Common,
    skeleton: Vec<Run>,
    work: impl Fn(&Phase) -> Duration + Sync + 'a,
    started: Instant,
) -> Watchdog<'a> {
    // The map is presized to the keyspace: building and dropping it scale
    // with every key, not only the prefilled ones.
    let setup = crate::limits::prefill_time(common.keys, 1.0, &common.maps);
    let (machine, format, out) = (machine.clone(), common.format, common.out.clone());
    Watchdog::new(
        bar,
        move |phase| allowance(work(phase), setup),
        Actions {
            stop: Box::new(crate::fail),
            stuck: Box::new(move |why, finished| {
                let results = Results {
                    schema: SCHEMA.into(),
                    kind: kind.into(),
                    machine,
                    runs: runs_so_far(skeleton, finished),
                    elapsed_s: started.elapsed().as_secs_f64(),
                    interrupted: true,
                    decay: Vec::new(),
                    // Not analysed: no objective was judged.
                    slo: None,
                };
                let _ = crate::render::emit(&results, format, out.as_deref());
                eprintln!(
                    "mapknee: error: {why} (exiting; the steps that finished before it are above)"
                );
                std::process::exit(1);
            }),
            // Dropping the stopped step's map takes as long as building it.
            grace: allowance(Duration::ZERO, setup),
        },
    )
}

/// What `run` and `scale` do first: print the settings' warnings, create
/// `--out`, and measure the clock and the harness (printed with
/// `--verbose`).
pub(crate) fn prepare(common: &Common) -> Result<(Clock, Machine), CliError> {
    for w in &common.warnings {
        eprintln!("mapknee: warning: {w}");
    }
    if let Some(dir) = &common.out {
        std::fs::create_dir_all(dir).map_err(|e| {
            CliError::usage(format!(
                "cannot create --out directory '{}': {e}",
                dir.display()
            ))
        })?;
    }
    let (clock, machine) = machine(common.hasher.name());
    if common.verbose {
        eprintln!("mapknee: clock {}", machine.clock_source);
    }
    if common.verbose {
        eprintln!(
            "mapknee: clock {:.1} ns/read; harness {:.1} ns per recorded txn (no-op map, open loop)",
            machine.clock_overhead_ns, machine.harness_ns_per_op
        );
    }
    Ok((clock, machine))
}

/// The clock and the machine record, with the clock's and the harness's
/// own costs measured now (≈ 0.1 s). `hasher` is the one every map uses.
pub(crate) fn machine(hasher: &str) -> (Clock, Machine) {
    let clock = Clock::new();
    let machine = Machine::detect(
        RUSTC,
        env!("CARGO_PKG_VERSION"),
        hasher,
        clock.overhead_ns(),
        harness_open_loop_ns(&clock, Duration::from_millis(100)),
    );
    (clock, machine)
}

/// `--slo`, parsed: one line and exit status 2 when it is malformed.
pub(crate) fn objective(flag: Option<&str>) -> Result<Option<Objective>, CliError> {
    flag.map(|s| {
        s.parse::<Objective>()
            .map_err(|e| CliError::usage(format!("--slo: {e}")))
    })
    .transpose()
}

/// Where the objective a command judges by came from, for its output.
pub(crate) fn objective_source(
    flag: Option<&str>,
    results: &mapknee_load::Results,
) -> &'static str {
    match (flag, results.slo) {
        (Some(_), _) => "--slo",
        (None, Some(_)) => "recorded in the results file; --slo to change",
        (None, None) => "default; --slo to change",
    }
}

/// What `run` and `scale` do last: assemble the results (with the latency
/// objective `run` judged by), write `--out`, print in the chosen format,
/// and say how the command ended.
pub(crate) fn finish(
    kind: &str,
    machine: Machine,
    runs: Vec<mapknee_load::Run>,
    decay: Vec<mapknee_load::Decay>,
    slo: Option<Objective>,
    started: std::time::Instant,
    common: &Common,
) -> Result<crate::Outcome, CliError> {
    let interrupted = crate::STOP.load(std::sync::atomic::Ordering::Relaxed);
    let mut machine = machine;
    machine.line_transfer_ns =
        mapknee_load::line_transfer_summary(runs.iter().flat_map(|r| &r.steps));
    machine.placement =
        mapknee_load::Placement::total(runs.iter().filter_map(|r| r.placement.as_ref()));
    if let Some(w) = placement_warning(&machine) {
        eprintln!("mapknee: warning: {w}");
    }
    if let Some(n) = preempted_note(&runs) {
        eprintln!("mapknee: {n}");
    }
    let results = mapknee_load::Results {
        schema: mapknee_load::SCHEMA.into(),
        kind: kind.into(),
        machine,
        runs,
        elapsed_s: started.elapsed().as_secs_f64(),
        interrupted,
        decay,
        slo,
    };
    crate::render::emit(&results, common.format, common.out.as_deref())?;
    if common.format != crate::args::Format::Table {
        eprintln!("mapknee: elapsed {:.1} s", results.elapsed_s);
    }
    if let Some(why) = crate::failure() {
        return Err(CliError::runtime(format!(
            "{why} (stopped; what was measured before it is above{})",
            if common.out.is_some() {
                " and written"
            } else {
                ""
            }
        )));
    }
    Ok(if interrupted {
        crate::Outcome::Interrupted
    } else {
        crate::Outcome::Done
    })
}

/// Reads a results file: one clear line for an unreadable file, malformed
/// JSON (with line:col) or another schema.
pub(crate) fn read_results(path: &std::path::Path) -> Result<mapknee_load::Results, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::usage(format!("cannot read '{}': {e}", path.display())))?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        CliError::usage(format!(
            "{}:{}:{}: not valid JSON: {e}",
            path.display(),
            e.line(),
            e.column()
        ))
    })?;
    match value.get("schema").and_then(|s| s.as_str()) {
        Some(mapknee_load::SCHEMA) => {}
        Some(other) => {
            return Err(CliError::usage(format!(
                "'{}' has schema '{other}', expected '{}'",
                path.display(),
                mapknee_load::SCHEMA
            )))
        }
        None => {
            return Err(CliError::usage(format!(
                "'{}' is not a mapknee results file (no \"schema\" field)",
                path.display()
            )))
        }
    }
    serde_json::from_value(value).map_err(|e| {
        CliError::usage(format!(
            "'{}' does not match {}: {e}",
            path.display(),
            mapknee_load::SCHEMA
        ))
    })
}

/// [`read_results`], refusing a file that measured nothing: no runs, or
/// runs without a single step or scaling point (an interrupted run, a
/// hand-edited file). `report`, `compare` and `advise` would otherwise
/// exit 0 having said nothing.
pub(crate) fn read_measured(path: &std::path::Path) -> Result<mapknee_load::Results, CliError> {
    let results = read_results(path)?;
    if results.runs.is_empty() {
        return Err(CliError::usage(format!(
            "'{}' has no runs: nothing was measured",
            path.display()
        )));
    }
    if results
        .runs
        .iter()
        .all(|r| r.steps.is_empty() && r.points.is_empty())
    {
        return Err(CliError::usage(format!(
            "'{}' has {} run(s) but not one measured step or point",
            path.display(),
            results.runs.len()
        )));
    }
    Ok(results)
}

/// The host moved the worker cores when a cache line's transfer time
/// between them spans more than this factor over a run.
pub(crate) use mapknee_analyze::compare::PLACEMENT_SPREAD;

/// One line when the machine changed under the run: the workers' cores
/// moved between placements whose cache-line transfer times differ by more
/// than [`PLACEMENT_SPREAD`].
pub(crate) fn placement_warning(m: &Machine) -> Option<String> {
    // Held to one placement, the run is consistent unless the host kept
    // the cores elsewhere for longer than the run could wait.
    if let Some(p) = &m.placement {
        return (p.steps_outside > 0).then(|| {
            format!(
                "{} map step(s) ran outside the reference placement (a cache line in {:.0}–{:.0} ns \
                 between the worker cores): the host kept the cores elsewhere longer than the run \
                 could wait; those steps' figures follow the other placement (README: the machine \
                 moves under you)",
                p.steps_outside, p.band_ns[0], p.band_ns[1]
            )
        });
    }
    let [lo, mid, hi] = m.line_transfer_ns?;
    (hi > PLACEMENT_SPREAD * lo).then(|| {
        format!(
            "the host moved the worker cores during the run: a cache line took {lo:.0}–{hi:.0} ns \
             between them (median {mid:.0} ns); shared-line-heavy maps' capacities and knees follow \
             the placement (README: the machine moves under you)"
        )
    })
}

/// One line when the machine kept a worker off its core for over
/// [`mapknee_load::PREEMPTED_SHARE`] of a map step: how many steps were
/// measured again, and how many kept so.
pub(crate) fn preempted_note(runs: &[mapknee_load::Run]) -> Option<String> {
    let p = mapknee_load::Preempted::total(runs.iter().filter_map(|r| r.preempted.as_ref()))?;
    let share = mapknee_load::PREEMPTED_SHARE * 100.0;
    let min = mapknee_load::PREEMPTED_MIN.as_micros();
    let factor = mapknee_load::PREEMPTED_P99_FACTOR;
    let kept = if p.kept > 0 {
        format!(
            "; warning: {} step(s) kept although preempted so (measured again and preempted \
             again, or its map's allowance spent): their p99 may be the machine's pause",
            p.kept
        )
    } else {
        String::new()
    };
    Some(format!(
        "{} map step(s) measured again: the machine kept a worker off its core for over {share:.0} % \
         of the step (and {min} µs) at a time, and the step's p99 was within {factor}× that pause, \
         which alone may have set it (README: Preempted steps are measured again){kept}",
        p.remeasured
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preempted_steps_are_said_in_one_line() {
        let run = |p: Option<mapknee_load::Preempted>| {
            let w = mapknee_load::Workload::new(
                64,
                0.5,
                mapknee_load::Dist::Uniform,
                "mixed".parse().unwrap(),
                1,
            )
            .unwrap();
            let mut r = mapknee_load::Run::empty(&mapknee_maps::MapKind::RwLock, &w, 2, "even");
            r.preempted = p;
            r
        };
        assert_eq!(preempted_note(&[run(None), run(None)]), None);
        let p = |remeasured, kept| Some(mapknee_load::Preempted { remeasured, kept });
        let n = preempted_note(&[run(p(3, 0)), run(None), run(p(2, 0))]).unwrap();
        assert!(
            n.starts_with("5 map step(s) measured again") && !n.contains("warning"),
            "{n}"
        );
        let n = preempted_note(&[run(p(3, 1)), run(p(0, 1))]).unwrap();
        assert!(
            n.starts_with("3 map step(s)") && n.contains("warning: 2 step(s) kept"),
            "{n}"
        );
    }

    #[test]
    fn a_moved_placement_is_said_once_a_steady_one_not_at_all() {
        let (_, mut m) = machine("foldhash");
        m.line_transfer_ns = Some([34.0, 36.0, 206.0]);
        let w = placement_warning(&m).unwrap();
        assert!(w.contains("34–206 ns"), "{w}");
        m.line_transfer_ns = Some([34.0, 36.0, 40.0]);
        assert_eq!(placement_warning(&m), None);
        m.line_transfer_ns = None;
        assert_eq!(placement_warning(&m), None);
    }

    #[test]
    fn a_run_held_to_one_placement_warns_only_about_steps_outside_it() {
        let (_, mut m) = machine("foldhash");
        m.line_transfer_ns = Some([16.0, 36.0, 210.0]);
        let mut p = mapknee_load::Placement {
            reference_ns: 36.0,
            band_ns: [25.7, 50.4],
            ..Default::default()
        };
        m.placement = Some(p);
        assert_eq!(placement_warning(&m), None);
        p.steps_outside = 3;
        m.placement = Some(p);
        let w = placement_warning(&m).unwrap();
        assert!(
            w.starts_with("3 map step(s)") && w.contains("26–50 ns"),
            "{w}"
        );
    }
}
