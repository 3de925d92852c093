//! `mapknee growth`: grow maps from empty and time every insert (study part
//! 4.4, pauses vs migration). The measuring lives in
//! `mapknee_load::growth`; this validates the flags, reports progress on
//! stderr and renders the result.
//!
//! `gomap` and `std` are single-threaded: with `--threads N > 1` they still
//! run on one thread (their rows say `threads 1`) and a note says so on
//! stderr; only the concurrent maps split the keys among N threads.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use mapknee_load::growth::{study, GrowthMap, GrowthResults, GrowthRun, DEFAULT_INSERTS};

use crate::args::{Format, GrowthArgs};
use crate::render::fmt_ns;
use crate::{CliError, Outcome};

/// Validated `growth` flags.
#[derive(Debug)]
pub(crate) struct GrowthSettings {
    pub(crate) maps: Vec<GrowthMap>,
    pub(crate) inserts: u64,
    pub(crate) threads: usize,
    pub(crate) repeat: usize,
    pub(crate) format: Format,
    pub(crate) out: Option<PathBuf>,
}

impl GrowthSettings {
    pub(crate) fn from_args(args: GrowthArgs) -> Result<Self, CliError> {
        let names = args
            .maps
            .unwrap_or_else(|| vec!["gomap".into(), "std".into()]);
        let mut maps: Vec<GrowthMap> = Vec::new();
        for name in names.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
            let map: GrowthMap = name
                .parse()
                .map_err(|e: mapknee_load::ParseError| CliError::usage(format!("--maps: {e}")))?;
            if maps.contains(&map) {
                return Err(CliError::usage(format!("--maps: '{name}' given twice")));
            }
            maps.push(map);
        }
        if maps.is_empty() {
            return Err(CliError::usage("--maps: no map given"));
        }
        let inserts = args.inserts.unwrap_or(DEFAULT_INSERTS);
        if inserts == 0 {
            return Err(CliError::usage("--inserts must be at least 1"));
        }
        let threads = args.threads.unwrap_or(1);
        if threads == 0 {
            return Err(CliError::usage("--threads must be at least 1"));
        }
        if threads as u64 > inserts {
            return Err(CliError::usage(format!(
                "--threads {threads} is more than --inserts {inserts}"
            )));
        }
        let repeat = args.repeat.unwrap_or(1);
        if repeat == 0 {
            return Err(CliError::usage("--repeat must be at least 1"));
        }
        Ok(GrowthSettings {
            maps,
            inserts,
            threads,
            repeat,
            format: args.format,
            out: args.out,
        })
    }
}

pub(crate) fn run(args: GrowthArgs) -> Result<Outcome, CliError> {
    let s = GrowthSettings::from_args(args)?;
    let began = Instant::now();
    if s.threads > 1 {
        let single: Vec<String> = s
            .maps
            .iter()
            .filter(|m| m.single_threaded())
            .map(|m| m.name())
            .collect();
        if !single.is_empty() {
            eprintln!(
                "note: {} single-threaded: grown by 1 thread, not {}",
                single.join(", "),
                s.threads
            );
        }
    }
    // The same machine record as `run`'s (clock and harness costs included).
    let (_, machine) = super::machine("foldhash");
    let runs = study(
        &s.maps,
        s.inserts,
        s.threads,
        s.repeat,
        |map, round, run| {
            eprintln!(
                "growth: {map} round {round}/{}: {} inserts in {}, worst {}",
                s.repeat,
                run.inserts,
                fmt_ns(run.total_ns),
                fmt_ns(run.max_insert_ns)
            );
        },
    );
    let results = GrowthResults::new(machine, runs, s.repeat, began.elapsed().as_secs_f64());
    let json = serde_json::to_string_pretty(&results).expect("growth results serialize");
    if let Some(dir) = &s.out {
        write_out(dir, &json)?;
    }
    match s.format {
        Format::Table => {
            print!("{}", table(&results));
            if let Some(dir) = &s.out {
                println!("wrote {}/growth.json", dir.display());
            }
        }
        Format::Json => println!("{json}"),
        Format::Csv => print!("{}", csv(&results.runs)),
    }
    Ok(Outcome::Done)
}

fn write_out(dir: &Path, json: &str) -> Result<(), CliError> {
    let fail = |what: &str, e: std::io::Error| {
        CliError::runtime(format!("cannot write {what} in '{}': {e}", dir.display()))
    };
    std::fs::create_dir_all(dir).map_err(|e| fail("the directory", e))?;
    std::fs::write(dir.join("growth.json"), format!("{json}\n")).map_err(|e| fail("growth.json", e))
}

fn growths(r: &GrowthRun) -> String {
    r.growths.map_or_else(|| "-".into(), |g| g.to_string())
}

/// The table: one row per map, with worst-insert and total-time ratios to
/// `std` when `std` was grown.
fn table(res: &GrowthResults) -> String {
    let m = &res.machine;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "growth from empty, u64 → u64, foldhash; median of {} round(s) · {} cpus · {} · clock {:.0} ns/read",
        res.repeat, m.cpus, m.cpu_model, m.clock_overhead_ns
    );
    let std = res.runs.iter().find(|r| r.map == "std");
    let mut header = format!(
        "{:<14} {:>9} {:>7} {:>10} {:>10} {:>9} {:>9} {:>7}",
        "map", "inserts", "threads", "total", "max insert", "p99", "p99.99", "growths"
    );
    if std.is_some() {
        let _ = write!(header, " {:>9} {:>9}", "worst/std", "total/std");
    }
    let _ = writeln!(out, "{header}");
    for r in &res.runs {
        let _ = write!(
            out,
            "{:<14} {:>9} {:>7} {:>10} {:>10} {:>9} {:>9} {:>7}",
            r.map,
            r.inserts,
            r.threads,
            fmt_ns(r.total_ns),
            fmt_ns(r.max_insert_ns),
            fmt_ns(r.p99_insert_ns),
            fmt_ns(r.p9999_insert_ns),
            growths(r)
        );
        if let Some(s) = std {
            let ratio = |a: u64, b: u64| format!("{:.3}", a as f64 / b.max(1) as f64);
            let _ = write!(
                out,
                " {:>9} {:>9}",
                ratio(r.max_insert_ns, s.max_insert_ns),
                ratio(r.total_ns, s.total_ns)
            );
        }
        out.push('\n');
    }
    let _ = writeln!(out, "elapsed {:.1} s", res.elapsed_s);
    out
}

fn csv(runs: &[GrowthRun]) -> String {
    let mut out = String::from(
        "map,inserts,threads,total_ns,max_insert_ns,p99_insert_ns,p9999_insert_ns,growths\n",
    );
    for r in runs {
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{}",
            r.map,
            r.inserts,
            r.threads,
            r.total_ns,
            r.max_insert_ns,
            r.p99_insert_ns,
            r.p9999_insert_ns,
            r.growths.map_or_else(String::new, |g| g.to_string())
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(maps: &str, inserts: u64, threads: usize) -> GrowthArgs {
        GrowthArgs {
            maps: Some(maps.split(',').map(String::from).collect()),
            inserts: Some(inserts),
            threads: Some(threads),
            repeat: None,
            format: Format::Table,
            out: None,
        }
    }

    #[test]
    fn settings_validate() {
        let s = GrowthSettings::from_args(args("gomap,std,sharded:8", 10, 2)).unwrap();
        assert_eq!(s.maps.len(), 3);
        assert_eq!((s.threads, s.repeat), (2, 1));
        let err = |a| GrowthSettings::from_args(a).unwrap_err().to_string();
        assert!(err(args("btree", 10, 1)).contains("unknown map 'btree'"));
        assert!(err(args("std", 0, 1)).contains("--inserts"));
        assert!(err(args("std", 10, 0)).contains("--threads"));
        assert!(err(args("std,std", 10, 1)).contains("twice"));
    }

    #[test]
    fn table_has_ratios_to_std() {
        let run = |map: &str, total, max| GrowthRun {
            map: map.into(),
            inserts: 100,
            threads: 1,
            total_ns: total,
            max_insert_ns: max,
            p99_insert_ns: 50,
            p9999_insert_ns: 60,
            growths: None,
        };
        let machine = mapknee_load::Machine::detect("rustc", "0", "foldhash", 10.0, 0.0);
        let res = GrowthResults::new(
            machine,
            vec![run("gomap", 3000, 100), run("std", 2000, 10_000)],
            1,
            0.1,
        );
        let t = table(&res);
        assert!(t.contains("worst/std"), "{t}");
        assert!(t.contains("0.010") && t.contains("1.500"), "{t}");
        assert!(csv(&res.runs).lines().nth(1).unwrap().ends_with(",60,"));
    }
}
