//! `mapknee atomics`: the cost of the primitives the maps are built from
//! on this machine (study parts 3.2 and 4.2), and SyncMap's load in parts.
//! The measuring lives in `mapknee_costs`; this validates the flags, runs
//! the hardware-counter pass when asked, and renders.

use std::path::Path;
use std::time::{Duration, Instant};

use mapknee_costs::atomics::{self, AtomicsResults};
use mapknee_costs::bench::BenchConfig;

use crate::args::{AtomicsArgs, Format};
use crate::{CliError, Outcome};

/// The two-thread layouts the hardware counters are read for.
const HW_LAYOUTS: [&str; 3] = ["shared", "false-shared", "padded"];

pub(crate) fn run(args: AtomicsArgs) -> Result<Outcome, CliError> {
    let mut cfg = BenchConfig::default();
    if let Some(n) = args.samples {
        if n < 5 {
            return Err(CliError::usage("--samples must be at least 5"));
        }
        cfg.samples = n;
    }
    if let Some(t) = &args.sample_time {
        let d = mapknee_maps::parse_duration(t)
            .map_err(|e| CliError::usage(format!("--sample-time: {e}")))?;
        if d < Duration::from_micros(10) || d > Duration::from_secs(1) {
            return Err(CliError::usage("--sample-time must be from 10us to 1s"));
        }
        cfg.sample_time = d;
    }
    let rounds = args.rounds.unwrap_or(3);
    if rounds == 0 || rounds > cfg.samples {
        return Err(CliError::usage(format!(
            "--rounds must be from 1 to --samples ({})",
            cfg.samples
        )));
    }
    let keys = args.keys.clone().unwrap_or_else(|| vec![1 << 10, 1 << 16]);
    if keys.is_empty() || keys.iter().any(|&k| k == 0 || k > 1 << 24) {
        return Err(CliError::usage(
            "--keys: each size must be from 1 to 16777216",
        ));
    }
    let hw = mapknee_costs::hw::detect();
    if args.hw_counters && !hw.available {
        return Err(CliError::usage(format!(
            "--hw-counters: this machine has no hardware cache counters ({})",
            hw.detail
        )));
    }
    if let Some(only) = &args.only {
        if !atomics::catalogue()
            .iter()
            .any(|(p, o, l)| format!("{p} {o} {l}").contains(only.as_str()))
        {
            return Err(CliError::usage(format!(
                "--only: no benchmark matches '{only}' (e.g. fetch_add, mutex, \"cas AcqRel padded\")"
            )));
        }
    }
    if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir).map_err(|e| {
            CliError::usage(format!(
                "cannot create --out directory '{}': {e}",
                dir.display()
            ))
        })?;
    }
    let started = Instant::now();
    let (_, machine) = crate::cmd::machine("foldhash");
    // The bar hides itself when stderr is not a terminal, so a log file
    // gets the section lines below rather than 234 carriage returns.
    let bar =
        crate::progress::Bar::new(atomics::planned(&cfg, rounds, args.only.as_deref()) as u64);
    let rows = atomics::measure(&cfg, rounds, args.only.as_deref(), |i, n, name| {
        bar.item(i, n, name);
    });
    bar.finish();
    eprintln!("mapknee: atomics: {} primitives measured", rows.len());
    let breakdowns = if args.no_breakdown {
        Vec::new()
    } else {
        keys.iter()
            .map(|&k| {
                eprintln!("mapknee: atomics: SyncMap load breakdown, {k} keys");
                mapknee_costs::breakdown::measure(&cfg, k)
            })
            .collect()
    };
    let mut results = atomics::results(&cfg, machine, rows, breakdowns, hw, started);
    if args.hw_counters {
        hw_pass(&mut results, &args)?;
    }
    if let Some(dir) = &args.out {
        write(dir, &results)?;
    }
    match args.format {
        Format::Table => {
            print!("{}", mapknee_report::costs::atomics_table(&results));
            if let Some(dir) = &args.out {
                println!(
                    "wrote {0}/atomics.json, {0}/atomics.csv and {0}/report.html",
                    dir.display()
                );
            }
        }
        Format::Json => println!("{}", json(&results)),
        Format::Csv => print!("{}", mapknee_report::costs::atomics_csv(&results)),
    }
    Ok(Outcome::Done)
}

/// Runs each two-thread fetch_add layout again in a child process under
/// `perf stat`, and records its cache misses and references in the
/// hardware-counter note (one child per layout, so the counts are that
/// layout's alone, plus the child's start-up).
fn hw_pass(results: &mut AtomicsResults, args: &AtomicsArgs) -> Result<(), CliError> {
    let exe = std::env::current_exe()
        .map_err(|e| CliError::runtime(format!("cannot find this binary: {e}")))?;
    let mut notes = Vec::new();
    for layout in HW_LAYOUTS {
        let mut child_args = vec![
            "atomics".to_string(),
            "--no-breakdown".into(),
            "--format".into(),
            "json".into(),
            "--only".into(),
            format!("fetch_add Relaxed {layout}"),
        ];
        if let Some(n) = args.samples {
            child_args.extend(["--samples".into(), n.to_string()]);
        }
        let (_, counts) =
            mapknee_costs::hw::run_counted(&exe, &child_args).map_err(CliError::runtime)?;
        let get = |e: &str| counts.get(e).copied().flatten();
        notes.push(format!(
            "fetch_add Relaxed {layout}: {} cache-misses / {} cache-references",
            get("cache-misses").map_or("-".into(), |v| v.to_string()),
            get("cache-references").map_or("-".into(), |v| v.to_string())
        ));
    }
    results.hw_counters.detail = format!("{}; {}", results.hw_counters.detail, notes.join("; "));
    Ok(())
}

fn json(r: &AtomicsResults) -> String {
    serde_json::to_string_pretty(r).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

fn write(dir: &Path, r: &AtomicsResults) -> Result<(), CliError> {
    let fail = |what: &str, e: std::io::Error| {
        CliError::runtime(format!("cannot write {what} in '{}': {e}", dir.display()))
    };
    for (name, text) in [
        ("atomics.json", json(r)),
        ("atomics.csv", mapknee_report::costs::atomics_csv(r)),
        ("report.html", mapknee_report::costs::atomics_html(r)),
    ] {
        std::fs::write(dir.join(name), text).map_err(|e| fail(name, e))?;
    }
    Ok(())
}
