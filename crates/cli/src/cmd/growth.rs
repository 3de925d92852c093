//! `mapknee growth`: grow maps from empty and time every insert (study part
//! 4.4, pauses vs migration). The measuring lives in
//! `mapknee_load::growth`; this validates the flags, reports progress on
//! stderr and renders the result.
//!
//! `gomap` and `std` are single-threaded: with `--threads N > 1` they still
//! run on one thread (their rows say `threads 1`) and a note says so on
//! stderr; only the concurrent maps split the keys among N threads.
//!
//! Each growth runs in a child process of its own: the binary started again
//! as `mapknee growth --child --maps <one map> …`, which grows that map once
//! and prints its run as JSON. Round r starts with the r-th map (wrapping),
//! every round is reported, and each map's summary is its median round,
//! whole.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use mapknee_load::growth::{
    grow, study, try_keys, GrowthMap, GrowthResults, GrowthRound, GrowthRun, DEFAULT_INSERTS,
};

use crate::args::{Format, GrowthArgs};
use crate::render::fmt_ns;
use crate::{CliError, Outcome, STOP};

/// Validated `growth` flags.
#[derive(Debug)]
pub(crate) struct GrowthSettings {
    pub(crate) maps: Vec<GrowthMap>,
    pub(crate) inserts: u64,
    pub(crate) threads: usize,
    pub(crate) repeat: usize,
    pub(crate) format: Format,
    pub(crate) out: Option<PathBuf>,
    /// Grow the one map once, in this process, and print its run as JSON.
    pub(crate) child: bool,
}

/// Rounds when `--repeat` is not given: enough for a median, and with two
/// maps each runs first at least once.
const DEFAULT_REPEAT: usize = 3;

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
        let repeat = args.repeat.unwrap_or(DEFAULT_REPEAT);
        if repeat == 0 {
            return Err(CliError::usage("--repeat must be at least 1"));
        }
        if args.child && maps.len() != 1 {
            return Err(CliError::usage("--child grows exactly one map"));
        }
        // A child is checked too, for its one growth: the parent checked
        // the whole study before starting any, but `--child` can be typed,
        // and a figure the limits refuse must be one line and exit status
        // 2 there as well, not a failed allocation.
        crate::limits::check_growth(
            &maps,
            inserts,
            threads,
            if args.child { 1 } else { repeat },
            &crate::limits::Host::detect(),
        )
        .map_err(CliError::usage)?;
        Ok(GrowthSettings {
            maps,
            inserts,
            threads,
            repeat,
            format: args.format,
            out: args.out,
            child: args.child,
        })
    }
}

pub(crate) fn run(args: GrowthArgs) -> Result<Outcome, CliError> {
    let s = GrowthSettings::from_args(args)?;
    if s.child {
        return child(&s);
    }
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
    let exe = std::env::current_exe()
        .map_err(|e| CliError::runtime(format!("cannot find mapknee's own binary: {e}")))?;
    // Every growth that finished, so that a failed one still leaves the
    // rounds before it reported and written.
    let mut done: Vec<GrowthRun> = Vec::new();
    let studied = study(
        &s.maps,
        s.repeat,
        |map| grow_in_child(&exe, map, &s),
        |run| {
            eprintln!(
                "growth: {} round {}/{}: {} inserts in {}, worst {}",
                run.map,
                run.round.unwrap_or(0),
                s.repeat,
                run.inserts,
                fmt_ns(run.total_ns),
                fmt_ns(run.max_insert_ns)
            );
            done.push(run.clone());
        },
    );
    let (rounds, failed) = match studied {
        Ok(rounds) => (rounds, None),
        Err(e) => (complete_rounds(done, s.maps.len()), Some(e)),
    };
    let interrupted = failed.is_some() && STOP.load(Ordering::SeqCst);
    let whole = rounds.len();
    match failed {
        Some(_) if whole == 0 && interrupted => {
            eprintln!("mapknee: growth interrupted; no round was whole, nothing to report");
            return Ok(Outcome::Interrupted);
        }
        Some(e) if whole == 0 => return Err(e),
        _ => emit(
            &s,
            GrowthResults::new(machine, rounds, began.elapsed().as_secs_f64()),
        )?,
    }
    match failed {
        // Ctrl-C, as for `run`: the whole rounds measured are out, then one
        // line and exit status 130.
        Some(_) if interrupted => {
            eprintln!(
                "mapknee: growth interrupted; the {whole} whole round(s) before it are reported"
            );
            Ok(Outcome::Interrupted)
        }
        // Any other failure: what was measured is out, then the one line
        // and a non-zero exit.
        Some(e) => Err(CliError::runtime(format!(
            "{e} (stopped; the whole rounds before it are reported above)"
        ))),
        None => Ok(Outcome::Done),
    }
}

/// The growths that finished, as the whole rounds they make up (a summary
/// needs every map in every round).
fn complete_rounds(done: Vec<GrowthRun>, maps: usize) -> Vec<GrowthRound> {
    let mut rounds: Vec<GrowthRound> = Vec::new();
    for run in done {
        let round = run.round.unwrap_or(0);
        match rounds.last_mut() {
            Some(r) if r.round == round => r.runs.push(run),
            _ => rounds.push(GrowthRound {
                round,
                runs: vec![run],
            }),
        }
    }
    rounds.retain(|r| r.runs.len() == maps);
    rounds
}

/// Prints (and with `--out` writes) growth results.
fn emit(s: &GrowthSettings, results: GrowthResults) -> Result<(), CliError> {
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
        Format::Csv => print!("{}", csv(&results)),
    }
    Ok(())
}

/// How long a growth child may take before it is stopped: a minute more
/// than ten times the estimate (itself above any growth measured), so only
/// a child that cannot finish — a blocked insert, a machine swapping —
/// reaches it.
fn child_deadline(map: &GrowthMap, inserts: u64) -> Duration {
    Duration::from_secs(60)
        .saturating_add(crate::limits::growth_time(map, inserts).saturating_mul(10))
}

/// Runs one growth in a fresh process and reads its run back.
///
/// A process per growth, so no map inherits another's allocator history:
/// glibc's free lists and fragmentation, its dynamic mmap threshold (raised
/// to the size of each mmapped block freed, up to 32 MB on 64-bit, so after
/// a map freed a large array the next map's large arrays come from the
/// already-touched heap instead of fresh zeroed pages), its trim state, and
/// GoMap's reclaimer thread with any memory it has yet to free. Pinning
/// glibc with `mallopt(M_MMAP_THRESHOLD / M_TRIM_THRESHOLD)` and calling
/// `malloc_trim(0)` between maps was the other way; it resets only those
/// knobs, only under glibc, and needs FFI in the binary. A child costs a
/// process start and the key generation, both outside the timed region.
///
/// The child's stderr is read, not inherited: when it fails, its one line
/// becomes this one's, so a failure reads as one line. A child still
/// running at [`child_deadline`] is killed.
fn grow_in_child(exe: &Path, map: &GrowthMap, s: &GrowthSettings) -> Result<GrowthRun, CliError> {
    let failed = |why: String| CliError::runtime(format!("growth of {map}: {why}"));
    let mut child = Command::new(exe)
        .args(["growth", "--child", "--maps", &map.name()])
        .args(["--inserts", &s.inserts.to_string()])
        .args(["--threads", &s.threads.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| failed(format!("cannot start a child process: {e}")))?;
    // Read after the child ends: it prints one line of JSON or one error
    // line, far below a pipe's 64 KiB, so it cannot block on a full pipe
    // (and one that did would be killed at the deadline). No reader
    // threads: the OS may refuse threads, which is one of the failures
    // this must report.
    // `None`: a deadline past what an Instant holds, never reached.
    let deadline = Instant::now().checked_add(child_deadline(map, s.inserts));
    let status = loop {
        match child.try_wait() {
            // A terminal's Ctrl-C reaches the child and this process
            // together, but this process learns of it only when ctrlc's
            // handler thread runs, which can be after the child is gone:
            // wait for it, so that the interruption is reported as one
            // (exit 130, the whole rounds written), not as a failed child.
            // A SIGINT sent to the child alone stays a failure.
            Ok(Some(status)) if died_of_sigint(&status) && stop_within(Duration::from_secs(2)) => {
                break Err("interrupted by Ctrl-C".to_string());
            }
            Ok(Some(status)) => break Ok(status),
            // Ctrl-C: the terminal interrupted the child too; one started
            // some other way is stopped here.
            Ok(None) if STOP.load(Ordering::SeqCst) => {
                let _ = child.kill();
                let _ = child.wait();
                break Err("interrupted by Ctrl-C".to_string());
            }
            Ok(None) if deadline.is_none_or(|d| Instant::now() < d) => {
                std::thread::sleep(Duration::from_millis(20))
            }
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                break Err(format!(
                    "did not finish within {:.0} s (an insert may be blocked); stopped it",
                    child_deadline(map, s.inserts).as_secs_f64()
                ));
            }
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                break Err(format!("cannot wait for its child process: {e}"));
            }
        }
    };
    let read = |pipe: Option<&mut dyn std::io::Read>| {
        let mut buf = Vec::new();
        if let Some(p) = pipe {
            let _ = p.read_to_end(&mut buf);
        }
        buf
    };
    let out = read(child.stdout.as_mut().map(|p| p as _));
    let err = read(child.stderr.as_mut().map(|p| p as _));
    let status = status.map_err(failed)?;
    if !status.success() {
        let err = String::from_utf8_lossy(&err);
        let why = err
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .map(|l| l.trim_start_matches("mapknee: error: ").to_string())
            .unwrap_or_else(|| format!("its child process ended with {status}"));
        return Err(failed(why));
    }
    serde_json::from_slice(&out)
        .map_err(|e| failed(format!("its child process printed no run: {e}")))
}

fn died_of_sigint(status: &std::process::ExitStatus) -> bool {
    std::os::unix::process::ExitStatusExt::signal(status) == Some(libc::SIGINT)
}

/// Whether this process's stop flag (Ctrl-C) is up, or rises within `wait`.
fn stop_within(wait: Duration) -> bool {
    let since = Instant::now();
    while !STOP.load(Ordering::SeqCst) && since.elapsed() < wait {
        std::thread::sleep(Duration::from_millis(5));
    }
    STOP.load(Ordering::SeqCst)
}

/// `--child`: one growth of the one map, printed as one line of JSON.
fn child(s: &GrowthSettings) -> Result<Outcome, CliError> {
    let keys = try_keys(s.inserts).map_err(CliError::runtime)?;
    let run = grow(&s.maps[0], &keys, s.threads).map_err(CliError::runtime)?;
    println!(
        "{}",
        serde_json::to_string(&run).expect("a growth run serializes")
    );
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

/// The columns every row of the table has.
fn columns(r: &GrowthRun) -> String {
    format!(
        "{:>9} {:>7} {:>10} {:>10} {:>9} {:>9} {:>7}",
        r.inserts,
        r.threads,
        fmt_ns(r.total_ns),
        fmt_ns(r.max_insert_ns),
        fmt_ns(r.p99_insert_ns),
        fmt_ns(r.p9999_insert_ns),
        growths(r)
    )
}

/// Worst-insert and total-time ratios of `r` to `std`'s run.
fn ratios(r: &GrowthRun, std: &GrowthRun) -> String {
    let ratio = |a: u64, b: u64| format!("{:.3}", a as f64 / b.max(1) as f64);
    format!(
        " {:>9} {:>9}",
        ratio(r.max_insert_ns, std.max_insert_ns),
        ratio(r.total_ns, std.total_ns)
    )
}

/// One table per round, rows in the order the maps ran, then the summary:
/// each map's median round, whole, and its slowest insert over all rounds.
/// Worst-insert and total-time ratios are to `std` when `std` was grown:
/// in a round, to `std`'s run of that round; in the summary, to `std`'s
/// summary.
fn table(res: &GrowthResults) -> String {
    let m = &res.machine;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "growth from empty, u64 → u64, foldhash; {} round(s), each growth in its own process · {} cpus · {} · clock {:.0} ns/read",
        res.repeat, m.cpus, m.cpu_model, m.clock_overhead_ns
    );
    let has_std = res.runs.iter().any(|r| r.map == "std");
    let ratio_header = if has_std {
        format!(" {:>9} {:>9}", "worst/std", "total/std")
    } else {
        String::new()
    };
    let header = format!(
        "{:>9} {:>7} {:>10} {:>10} {:>9} {:>9} {:>7}{ratio_header}",
        "inserts", "threads", "total", "max insert", "p99", "p99.99", "growths"
    );
    for round in &res.rounds {
        let order: Vec<&str> = round.runs.iter().map(|r| r.map.as_str()).collect();
        let _ = writeln!(out, "round {} ({})", round.round, order.join(" → "));
        let _ = writeln!(out, "{:<14} {header}", "map");
        let std = round.runs.iter().find(|r| r.map == "std");
        for r in &round.runs {
            let _ = write!(out, "{:<14} {}", r.map, columns(r));
            if let Some(s) = std {
                out.push_str(&ratios(r, s));
            }
            out.push('\n');
        }
    }
    let _ = writeln!(
        out,
        "summary: each map's median round by total time, shown whole (all of a row's figures \
         come from the round in `round`); worst of all = its slowest insert in any round"
    );
    let _ = writeln!(
        out,
        "{:<14} {:>5} {header} {:>14}",
        "map", "round", "worst of all"
    );
    let std = res.runs.iter().find(|r| r.map == "std");
    for r in &res.runs {
        let round = r.round.map_or_else(|| "-".into(), |n| n.to_string());
        let _ = write!(out, "{:<14} {:>5} {}", r.map, round, columns(r));
        if let Some(s) = std {
            out.push_str(&ratios(r, s));
        }
        let _ = write!(out, " {:>14}", worst_of_all(res, &r.map));
        out.push('\n');
    }
    let _ = writeln!(out, "elapsed {:.1} s", res.elapsed_s);
    out
}

/// `map`'s slowest insert over every round, and the round it was in.
fn worst_of_all(res: &GrowthResults, map: &str) -> String {
    res.rounds
        .iter()
        .flat_map(|round| &round.runs)
        .filter(|r| r.map == map)
        .max_by_key(|r| r.max_insert_ns)
        .map_or_else(
            || "-".into(),
            |r| {
                format!(
                    "{} (r{})",
                    fmt_ns(r.max_insert_ns),
                    r.round.unwrap_or_default()
                )
            },
        )
}

/// One row per growth, in the order they ran; `summary` is `true` on the
/// run that is its map's summary (`runs[]` of the JSON).
fn csv(res: &GrowthResults) -> String {
    let mut out = String::from(
        "map,inserts,threads,total_ns,max_insert_ns,p99_insert_ns,p9999_insert_ns,growths,round,summary\n",
    );
    for r in res.rounds.iter().flat_map(|round| &round.runs) {
        let summary = res
            .runs
            .iter()
            .any(|s| s.map == r.map && s.round == r.round);
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{}",
            r.map,
            r.inserts,
            r.threads,
            r.total_ns,
            r.max_insert_ns,
            r.p99_insert_ns,
            r.p9999_insert_ns,
            r.growths.map_or_else(String::new, |g| g.to_string()),
            r.round.map_or_else(String::new, |n| n.to_string()),
            summary
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use mapknee_load::growth::GrowthRound;

    use super::*;

    fn args(maps: &str, inserts: u64, threads: usize) -> GrowthArgs {
        GrowthArgs {
            maps: Some(maps.split(',').map(String::from).collect()),
            inserts: Some(inserts),
            threads: Some(threads),
            repeat: None,
            format: Format::Table,
            out: None,
            child: false,
        }
    }

    #[test]
    fn settings_validate() {
        let s = GrowthSettings::from_args(args("gomap,std,sharded:8", 10, 2)).unwrap();
        assert_eq!(s.maps.len(), 3);
        assert_eq!((s.threads, s.repeat, s.child), (2, 3, false));
        let err = |a| GrowthSettings::from_args(a).unwrap_err().to_string();
        assert!(err(args("btree", 10, 1)).contains("unknown map 'btree'"));
        assert!(err(args("std", 0, 1)).contains("--inserts"));
        assert!(err(args("std", 10, 0)).contains("--threads"));
        assert!(err(args("std,std", 10, 1)).contains("twice"));
        let child = |maps| GrowthArgs {
            child: true,
            ..args(maps, 10, 1)
        };
        assert!(GrowthSettings::from_args(child("gomap")).unwrap().child);
        assert!(err(child("gomap,std")).contains("exactly one map"));
    }

    fn run(map: &str, round: usize, total_ns: u64, max_insert_ns: u64) -> GrowthRun {
        GrowthRun {
            map: map.into(),
            inserts: 100,
            threads: 1,
            total_ns,
            max_insert_ns,
            p99_insert_ns: 50,
            p9999_insert_ns: 60,
            growths: None,
            buckets_evacuated: None,
            round: Some(round),
        }
    }

    fn results() -> GrowthResults {
        let machine = mapknee_load::Machine::detect("rustc", "0", "foldhash", 10.0, 0.0);
        let rounds = vec![
            GrowthRound {
                round: 1,
                runs: vec![run("gomap", 1, 3000, 100), run("std", 1, 2000, 10_000)],
            },
            GrowthRound {
                round: 2,
                runs: vec![run("std", 2, 4000, 20_000), run("gomap", 2, 3500, 900)],
            },
        ];
        GrowthResults::new(machine, rounds, 0.1)
    }

    #[test]
    fn table_reports_every_round_then_the_summary() {
        let t = table(&results());
        let r1 = t.find("round 1 (gomap → std)").expect(&t);
        let r2 = t.find("round 2 (std → gomap)").expect(&t);
        let summary = t.find("summary: each map's median round").expect(&t);
        assert!(r1 < r2 && r2 < summary, "{t}");
        // Round 2's own ratios: gomap's worst 900 against std's 20,000 there.
        assert!(t[r2..summary].contains("0.045"), "{t}");
        // Summary: gomap's round 1 (total 3000 < 3500) against std's round 1.
        let gomap = t[summary..]
            .lines()
            .find(|l| l.starts_with("gomap"))
            .expect(&t);
        assert!(
            gomap.contains("0.010") && gomap.contains("1.500"),
            "{gomap}"
        );
        assert!(gomap.contains("900ns (r2)"), "worst of all rounds: {gomap}");
    }

    #[test]
    fn csv_has_every_growth_and_marks_the_summaries() {
        let c = csv(&results());
        let lines: Vec<&str> = c.lines().collect();
        assert!(lines[0].ends_with(",growths,round,summary"));
        assert_eq!(lines.len(), 5);
        assert_eq!(lines[1], "gomap,100,1,3000,100,50,60,,1,true");
        assert!(lines[3].starts_with("std,") && lines[3].ends_with(",2,false"));
    }
}
