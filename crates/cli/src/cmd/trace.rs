//! `mapknee trace`: the `run` staircase with bpftrace attached to
//! mapknee's own USDT probes; each step's eBPF figures (probe counts, the
//! lock-wait histogram and mean, the top waiting stacks) go into the
//! results under `ebpf`, into a table and into report.html.
//!
//! The probe counts cover exactly the window the step's built-in counters
//! cover: bpftrace keys every event by the load engine's counter reading it
//! followed, and counts those between the readings marked as the step's
//! opening and closing ([`mapknee_maps::probes::Reading`],
//! `scripts/bpftrace/steps.bt`); while bpftrace is attached every reading
//! holds the map's locks (see `mapknee_maps::probes`), so no event
//! straddles one. The table says, per step, whether the two agree to the
//! event.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use mapknee_load::{Phase, Progress, Run, Step};
use serde_json::{json, Value};

use super::observe::{self, Tracer};
use crate::render::{fmt_ns, fmt_rate};
use crate::settings::RunSettings;
use crate::{CliError, Outcome};

/// The bpftrace program (its header says how it works).
const SCRIPT: &str = include_str!("../../../../scripts/bpftrace/steps.bt");

/// The counters the probes mirror, by their `MapStats::counters` names.
const MIRRORED: [&str; 10] = [
    "misses",
    "promotions",
    "dirty_rebuilds",
    "entries_copied",
    "expunges",
    "growths_doubling",
    "growths_same_size",
    "buckets_evacuated",
    "lock_contended",
    "lock_wait_ns",
];

/// Why eBPF cannot run here, in one line, if it cannot.
fn missing() -> Option<String> {
    if !mapknee_maps::probes::COMPILED_IN {
        return Some(
            "this mapknee was built without the `probes` feature (rebuild with default features)"
                .into(),
        );
    }
    if !observe::is_root() {
        return Some(
            "bpftrace needs root: run `sudo mapknee trace ...` (or with CAP_BPF and CAP_PERFMON)"
                .into(),
        );
    }
    if observe::find_tool("bpftrace").is_none() {
        return Some("bpftrace is not installed (Debian/Ubuntu: apt-get install bpftrace)".into());
    }
    observe::ensure_tracefs().err()
}

pub(crate) fn run(mut s: RunSettings, fallback: bool) -> Result<Outcome, CliError> {
    if let Some(why) = missing() {
        if fallback {
            eprintln!(
                "mapknee: trace: {why}; --fallback: running without eBPF (no `ebpf` figures)"
            );
            return super::run::run(s);
        }
        return Err(CliError::usage(format!(
            "trace: {why}; or add --fallback to run without eBPF"
        )));
    }
    if s.staircase.repeat > 1 {
        eprintln!(
            "mapknee: trace: climbing once (not {}): the eBPF figures are per measured step, not per median",
            s.staircase.repeat
        );
        s.staircase.repeat = 1;
    }
    // The probes are attached to this process: every step is measured here.
    s.processes = 0;
    let (format, out) = (s.common.format, s.common.out.clone());
    let mut tracer = Bpftrace::attach()?;
    let steps = StepLog::default();
    let mut traced: Vec<Run> = Vec::new();
    let outcome = super::run::run_with(s, &steps, &mut |runs| {
        let last = steps.seq.load(Ordering::SeqCst);
        let mut seen = tracer.wait_for(last, Duration::from_secs(20));
        symbolize(&mut seen);
        attach(runs, &steps, &seen);
        traced = runs.to_vec();
    });
    let lost = tracer.lost();
    tracer.stop();
    let outcome = outcome?;
    if lost > 0 {
        eprintln!("mapknee: trace: warning: bpftrace lost {lost} events (its output buffer overflowed): some steps' eBPF figures are missing");
    }
    if format == crate::args::Format::Table {
        print!("{}", table(&traced));
    }
    if let Some(dir) = &out {
        observe::add_to_report(dir, &report_section(&traced))?;
    }
    Ok(outcome)
}

/// One step as `trace` saw it go by.
#[derive(Debug)]
struct Logged {
    seq: u64,
    map: String,
    mix: String,
    target: Option<f64>,
    ops: u64,
    counters: BTreeMap<String, u64>,
}

/// Numbers the steps and fires the `step_begin` / `step_end` probes that
/// tell bpftrace where each ends.
#[derive(Debug, Default)]
struct StepLog {
    seq: AtomicU64,
    log: Mutex<Vec<Logged>>,
}

impl Progress for StepLog {
    fn step_started(&self, _: &str, _: &str, _: &Phase) {
        let seq = self.seq.fetch_add(1, Ordering::SeqCst) + 1;
        mapknee_maps::probes::step_begin(seq);
    }
    fn step_finished(&self, map: &str, mix: &str, _: &Phase, step: &Step) {
        let seq = self.seq.load(Ordering::SeqCst);
        mapknee_maps::probes::step_end(seq);
        self.log
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(Logged {
                seq,
                map: map.into(),
                mix: mix.into(),
                target: step.target_ops_per_sec,
                ops: step.ops,
                counters: step.counters.clone(),
            });
    }
}

/// What bpftrace printed for one step.
#[derive(Debug, Default, Clone)]
struct Seen {
    first: u64,
    last: u64,
    /// (counter name, sample) → count or sum.
    n: Vec<(String, u64, u64)>,
    hist: Vec<[u64; 3]>,
    stacks: Vec<(Vec<String>, u64)>,
}

impl Seen {
    /// Probe totals between the step's opening and closing counter
    /// readings, [first, last): the events its counters count. (The
    /// script takes the last opening it saw, so a step the engine measured
    /// twice — the host moved the cores during the first, see the README —
    /// counts its second measurement, as the counters do.) A step whose
    /// readings bpftrace missed (`last` 0) counts nothing.
    fn window(&self) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        for (name, sample, v) in &self.n {
            if (self.first..self.last).contains(sample) {
                *out.entry(name.clone()).or_insert(0) += v;
            }
        }
        out
    }
}

#[derive(Debug, Default)]
struct Collected {
    attached: bool,
    current: Option<(u64, Seen)>,
    steps: HashMap<u64, Seen>,
    ended: u64,
    lost: u64,
    errors: Vec<String>,
    closed: bool,
}

/// The bpftrace process and what its output threads collected.
struct Bpftrace {
    tracer: Tracer,
    state: Arc<(Mutex<Collected>, Condvar)>,
}

impl Bpftrace {
    /// Starts bpftrace on this process and waits until its probes are
    /// attached.
    fn attach() -> Result<Self, CliError> {
        let exe = std::env::current_exe().map_err(|e| {
            CliError::usage(format!("trace: cannot find mapknee's own binary: {e}"))
        })?;
        let mut child = Command::new("bpftrace")
            .args(["-f", "json", "-e", SCRIPT, "-p"])
            .arg(std::process::id().to_string())
            .arg(&exe)
            // One key per counter and 10 ms sample: room for steps of minutes.
            .env("BPFTRACE_MAP_KEYS_MAX", "1000000")
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| CliError::usage(format!("trace: cannot start bpftrace: {e}")))?;
        let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) else {
            return Err(CliError::usage("trace: cannot read bpftrace's output"));
        };
        let mut tracer = Tracer::new(child, Duration::from_secs(5));
        let state = Arc::new((Mutex::new(Collected::default()), Condvar::new()));
        let st = Arc::clone(&state);
        std::thread::spawn(move || {
            let dump = std::env::var_os("MAPKNEE_TRACE_DUMP").is_some();
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if dump {
                    eprintln!("bpftrace: {line}");
                }
                let (lock, cv) = &*st;
                let mut c = lock.lock().unwrap_or_else(|p| p.into_inner());
                take_line(&mut c, &line);
                cv.notify_all();
            }
            let (lock, cv) = &*st;
            lock.lock().unwrap_or_else(|p| p.into_inner()).closed = true;
            cv.notify_all();
        });
        let st = Arc::clone(&state);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                // bpftrace's RLIMIT_MEMLOCK notice is harmless on kernels
                // that account BPF memory by cgroup; the step probes of a
                // build that never calls them have no address.
                if line.contains("RLIMIT_MEMLOCK") || line.contains("invalid address 0x0") {
                    continue;
                }
                let (lock, _) = &*st;
                lock.lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .errors
                    .push(line);
            }
        });
        let until = Instant::now() + Duration::from_secs(60);
        loop {
            let (lock, cv) = &*state;
            let c = lock.lock().unwrap_or_else(|p| p.into_inner());
            if c.attached {
                break;
            }
            let why = c
                .errors
                .iter()
                .find(|l| l.contains("ERROR"))
                .cloned()
                .unwrap_or_else(|| "bpftrace exited before attaching".into());
            if c.closed || Instant::now() >= until {
                drop(c);
                tracer.stop();
                return Err(CliError::usage(format!(
                    "trace: bpftrace could not attach to mapknee's probes: {why}"
                )));
            }
            let _ = cv.wait_timeout(c, Duration::from_millis(200));
            if tracer.exited().is_some() {
                // Let the reader thread drain what it printed.
                std::thread::sleep(Duration::from_millis(200));
            }
        }
        Ok(Bpftrace { tracer, state })
    }

    /// Waits until bpftrace has printed step `last` (or `timeout`), then
    /// returns every step it printed.
    fn wait_for(&mut self, last: u64, timeout: Duration) -> HashMap<u64, Seen> {
        let until = Instant::now() + timeout;
        let (lock, cv) = &*self.state;
        let mut c = lock.lock().unwrap_or_else(|p| p.into_inner());
        while c.ended < last && !c.closed && Instant::now() < until {
            c = cv
                .wait_timeout(c, Duration::from_millis(100))
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
        std::mem::take(&mut c.steps)
    }

    fn lost(&self) -> u64 {
        self.state.0.lock().unwrap_or_else(|p| p.into_inner()).lost
    }

    fn stop(&mut self) {
        self.tracer.stop();
    }
}

/// One line of `bpftrace -f json` output.
fn take_line(c: &mut Collected, line: &str) {
    let Ok(v) = serde_json::from_str::<Value>(line) else {
        return;
    };
    let data = &v["data"];
    match v["type"].as_str() {
        Some("lost_events") => c.lost += data["events"].as_u64().unwrap_or(0),
        Some("printf") => {
            let text = data.as_str().unwrap_or("");
            let words: Vec<u64> = text
                .split_whitespace()
                .skip(1)
                .filter_map(|w| w.parse().ok())
                .collect();
            if text == "ready\n" {
                c.attached = true;
            } else if text.starts_with("step ") && words.len() == 3 {
                c.current = Some((
                    words[0],
                    Seen {
                        first: words[1],
                        last: words[2],
                        ..Seen::default()
                    },
                ));
            } else if text.starts_with("end ") && words.len() == 1 {
                if let Some((seq, seen)) = c.current.take() {
                    c.steps.insert(seq, seen);
                }
                c.ended = c.ended.max(words[0]);
            }
        }
        Some("map") => {
            let Some((_, seen)) = c.current.as_mut() else {
                return;
            };
            if let Some(n) = data["@n"].as_object() {
                for (k, v) in n {
                    if let Some((name, sample)) = k.rsplit_once(',') {
                        if let (Ok(sample), Some(v)) = (sample.parse(), v.as_u64()) {
                            seen.n.push((name.to_string(), sample, v));
                        }
                    }
                }
            }
            if let Some(st) = data["@stacks"].as_object() {
                for (k, v) in st {
                    seen.stacks.push((frames(k), v.as_u64().unwrap_or(0)));
                }
                seen.stacks.sort_by_key(|s| std::cmp::Reverse(s.1));
            }
        }
        Some("hist") => {
            if let (Some((_, seen)), Some(h)) = (c.current.as_mut(), data["@wait_ns"].as_array()) {
                seen.hist = h
                    .iter()
                    .map(|b| {
                        [
                            b["min"].as_u64().unwrap_or(0),
                            b["max"].as_u64().unwrap_or(0),
                            b["count"].as_u64().unwrap_or(0),
                        ]
                    })
                    .collect();
            }
        }
        _ => {}
    }
}

/// A `ustack(perf)` key as function names, innermost first: the address
/// and module dropped, Rust's `::h<hash>` suffix and `+offset` too.
fn frames(stack: &str) -> Vec<String> {
    stack
        .lines()
        .filter_map(|l| {
            let l = l.trim();
            let (_, rest) = l.split_once(' ')?;
            let sym = rest.rsplit_once(" (").map_or(rest, |(s, _)| s);
            let sym = sym.rsplit_once('+').map_or(sym, |(s, _)| s);
            let sym = match sym.rsplit_once("::h") {
                Some((s, h)) if h.len() == 16 && h.bytes().all(|b| b.is_ascii_hexdigit()) => s,
                _ => sym,
            };
            Some(sym.to_string())
        })
        .collect()
}

/// Names the frames bpftrace left as bare addresses. bpftrace 0.17 here
/// resolves none of this binary's symbols (`[unknown]`, though `.symtab`
/// is there), so mapknee maps each address in its own executable to a file
/// address (via /proc/self/maps) and asks binutils' `addr2line` for the
/// function; without `addr2line` the addresses stay.
fn symbolize(seen: &mut HashMap<u64, Seen>) {
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    let Ok(maps) = std::fs::read_to_string("/proc/self/maps") else {
        return;
    };
    // (start, end, file offset) of the executable's mappings.
    let segments: Vec<(u64, u64, u64)> = maps
        .lines()
        .filter(|l| l.ends_with(&*exe.to_string_lossy()))
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (range, _, off) = (f.next()?, f.next()?, f.next()?);
            let (a, b) = range.split_once('-')?;
            Some((
                u64::from_str_radix(a, 16).ok()?,
                u64::from_str_radix(b, 16).ok()?,
                u64::from_str_radix(off, 16).ok()?,
            ))
        })
        .collect();
    let Some(base) = segments.iter().find(|s| s.2 == 0).map(|s| s.0) else {
        return;
    };
    let mut wanted: Vec<(String, u64)> = Vec::new();
    for s in seen.values() {
        for (frames, _) in &s.stacks {
            for f in frames {
                let Some(addr) = f
                    .strip_prefix("0x")
                    .and_then(|h| u64::from_str_radix(h, 16).ok())
                else {
                    continue;
                };
                if segments.iter().any(|s| (s.0..s.1).contains(&addr))
                    && !wanted.iter().any(|w| w.0 == *f)
                {
                    // A return address points past its call: step back
                    // one byte so the line is the call's.
                    wanted.push((f.clone(), addr - base - 1));
                }
            }
        }
    }
    if wanted.is_empty() {
        return;
    }
    let Ok(out) = Command::new("addr2line")
        .args(["-f", "-C", "-e"])
        .arg(&exe)
        .args(wanted.iter().map(|w| format!("{:#x}", w.1)))
        .stderr(Stdio::null())
        .output()
    else {
        return;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    let names: HashMap<&str, String> = wanted
        .iter()
        .zip(text.lines().step_by(2))
        .filter(|(_, name)| *name != "??")
        .map(|(w, name)| {
            let name = match name.rsplit_once("::h") {
                Some((n, h)) if h.len() == 16 && h.bytes().all(|b| b.is_ascii_hexdigit()) => n,
                _ => name,
            };
            (w.0.as_str(), name.to_string())
        })
        .collect();
    for s in seen.values_mut() {
        for (frames, _) in &mut s.stacks {
            for f in frames.iter_mut() {
                if let Some(n) = names.get(f.as_str()) {
                    *f = n.clone();
                }
            }
        }
    }
}

/// Puts each step's eBPF figures into its `ebpf`.
fn attach(runs: &mut [Run], steps: &StepLog, seen: &HashMap<u64, Seen>) {
    let log = steps.log.lock().unwrap_or_else(|p| p.into_inner());
    let mut used = vec![false; log.len()];
    for run in runs.iter_mut() {
        for step in &mut run.steps {
            let found = log.iter().enumerate().find(|(i, l)| {
                !used[*i]
                    && l.map == run.map
                    && l.mix == run.mix.name
                    && l.target == step.target_ops_per_sec
                    && l.ops == step.ops
                    && l.counters == step.counters
            });
            let Some((i, l)) = found else { continue };
            used[i] = true;
            if let Some(s) = seen.get(&l.seq) {
                step.ebpf = Some(figures(step, s));
            }
        }
    }
}

/// One step's `ebpf` object.
fn figures(step: &Step, s: &Seen) -> Value {
    let probes = s.window();
    let mut unequal = BTreeMap::new();
    for name in MIRRORED {
        let p = probes.get(name).copied().unwrap_or(0);
        match step.counters.get(name) {
            Some(&c) if c != p => {
                unequal.insert(name, json!({"probes": p, "counters": c}));
            }
            None if p != 0 => {
                unequal.insert(name, json!({"probes": p, "counters": null}));
            }
            _ => {}
        }
    }
    let waits = probes.get("lock_contended").copied().unwrap_or(0);
    let wait_ns = probes.get("lock_wait_ns").copied().unwrap_or(0);
    let mean = (waits > 0).then(|| wait_ns as f64 / waits as f64);
    json!({
        // Counter readings from the step's opening to its closing one,
        // both included: the two ends and the first worker's per window.
        "samples": (s.last + 1).saturating_sub(s.first),
        "probes": probes,
        "counters_equal": unequal.is_empty(),
        "unequal": unequal,
        "lock_waits": waits,
        "lock_wait_mean_ns": mean,
        "lock_wait_hist_ns": s.hist.iter().filter(|b| b[2] > 0).collect::<Vec<_>>(),
        "top_stacks": s.stacks.iter().take(5).map(|(f, n)| json!({"count": n, "frames": f})).collect::<Vec<_>>(),
    })
}

fn mean_wait(step: &Step) -> Option<f64> {
    step.ebpf.as_ref()?["lock_wait_mean_ns"].as_f64()
}

/// The trace table: per run and step, the offered and achieved rates, the
/// p99, the eBPF lock waits and their mean, and whether the probe counts
/// equal the counters; then the lowest step's mean wait against the knee's.
fn table(runs: &[Run]) -> String {
    let mut out = String::new();
    let (mut equal, mut traced) = (0, 0);
    for run in runs {
        let _ = writeln!(out, "\neBPF · {} · {}", run.map, run.mix.name);
        let _ = writeln!(
            out,
            "{:>10} {:>10} {:>10} {:>12} {:>14}  probes = counters",
            "offered/s", "ach/s", "p99", "lock waits", "mean lock wait"
        );
        for st in mapknee_load::open_loop_steps(&run.steps) {
            let Some(e) = &st.ebpf else { continue };
            traced += 1;
            let eq = e["counters_equal"].as_bool().unwrap_or(false);
            equal += usize::from(eq);
            let counted = e["probes"]
                .as_object()
                .map(|m| {
                    m.iter()
                        .filter(|(k, _)| *k != "lock_wait_ns")
                        .map(|(k, v)| format!("{k} {v}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                })
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "{:>10} {:>10} {:>10} {:>12} {:>14}  {}{}",
                fmt_rate(st.target_ops_per_sec.unwrap_or(0.0)),
                fmt_rate(st.achieved_ops_per_sec),
                fmt_ns(st.latency_ns.p99),
                e["lock_waits"].as_u64().unwrap_or(0),
                mean_wait(st).map_or("-".into(), |m| fmt_ns(m as u64)),
                if eq { "yes" } else { "NO" },
                if counted.is_empty() {
                    String::new()
                } else {
                    format!(" ({counted})")
                },
            );
            if !eq {
                let _ = writeln!(out, "{:>60} {}", "differ:", e["unequal"]);
            }
        }
        if let Some(line) = lowest_vs_knee(run) {
            let _ = writeln!(out, "{line}");
        }
    }
    let _ = writeln!(
        out,
        "\nprobe counts equal the built-in counters in {equal} of {traced} traced steps"
    );
    out
}

/// "mean lock wait X at the lowest step (R/s) → Y at the knee (K/s), Z×".
fn lowest_vs_knee(run: &Run) -> Option<String> {
    let steps = mapknee_load::open_loop_steps(&run.steps);
    let low = steps.iter().find(|s| s.ebpf.is_some())?;
    let knee = run.knee.as_ref()?;
    let at = steps.iter().filter(|s| s.ebpf.is_some()).min_by(|a, b| {
        let d = |s: &&&Step| (s.target_ops_per_sec.unwrap_or(0.0) - knee.ops_per_sec).abs();
        d(a).total_cmp(&d(b))
    })?;
    let (lw, kw) = (mean_wait(low), mean_wait(at));
    Some(format!(
        "{} · {}: mean lock wait {} at the lowest step ({}/s) → {} at the knee ({}/s){}",
        run.map,
        run.mix.name,
        lw.map_or("-".into(), |m| fmt_ns(m as u64)),
        fmt_rate(low.target_ops_per_sec.unwrap_or(0.0)),
        kw.map_or("-".into(), |m| fmt_ns(m as u64)),
        fmt_rate(at.target_ops_per_sec.unwrap_or(0.0)),
        match (lw, kw) {
            (Some(l), Some(k)) if l > 0.0 => format!(", {:.1}×", k / l),
            _ => String::new(),
        }
    ))
}

/// report.html's eBPF section: mean lock wait vs offered rate per map (one
/// chart per mix, log-log) and the top waiting stacks at each knee step.
fn report_section(runs: &[Run]) -> String {
    let mut html = String::from(
        "<section id=\"ebpf\"><h2>eBPF (mapknee trace)</h2>\
         <p>Mean lock wait per contended acquisition, from the <code>lock_wait_end</code> USDT probe, vs offered rate; \
         probe counts over each step's window equal the built-in counters where the results say <code>counters_equal</code>.</p>",
    );
    let mut mixes: Vec<&str> = Vec::new();
    for r in runs {
        if !mixes.contains(&r.mix.name.as_str()) {
            mixes.push(&r.mix.name);
        }
    }
    const COLORS: [&str; 6] = [
        "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b",
    ];
    for mix in mixes {
        let series: Vec<(&str, Vec<(f64, f64)>)> = runs
            .iter()
            .filter(|r| r.mix.name == mix)
            .map(|r| {
                let pts = mapknee_load::open_loop_steps(&r.steps)
                    .into_iter()
                    .filter_map(|s| Some((s.target_ops_per_sec?, mean_wait(s)?)))
                    .filter(|&(x, y)| x > 0.0 && y > 0.0)
                    .collect();
                (r.map.as_str(), pts)
            })
            .collect();
        let all: Vec<(f64, f64)> = series.iter().flat_map(|s| s.1.clone()).collect();
        let _ = write!(
            html,
            "<h3>{} — mean lock wait vs offered rate</h3>",
            observe::escape(mix)
        );
        if all.is_empty() {
            html.push_str("<p>No contended lock acquisition was traced.</p>");
            continue;
        }
        let (w, h, pad) = (640.0, 300.0, 50.0);
        let lx = |v: f64| v.log10();
        let (x0, x1) = span(all.iter().map(|p| lx(p.0)));
        let (y0, y1) = span(all.iter().map(|p| lx(p.1)));
        let px = |x: f64| pad + (lx(x) - x0) / (x1 - x0) * (w - 2.0 * pad);
        let py = |y: f64| h - pad - (lx(y) - y0) / (y1 - y0) * (h - 2.0 * pad);
        let _ = write!(
            html,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-size=\"11\">\
             <rect x=\"{pad}\" y=\"{pad}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#999\"/>\
             <text x=\"{}\" y=\"{}\" text-anchor=\"middle\">offered txn/s (log)</text>\
             <text x=\"12\" y=\"{}\" transform=\"rotate(-90 12 {})\" text-anchor=\"middle\">mean lock wait (log)</text>",
            w - 2.0 * pad,
            h - 2.0 * pad,
            w / 2.0,
            h - 12.0,
            h / 2.0,
            h / 2.0
        );
        for (label, v, x, y) in [
            (fmt_rate(10f64.powf(x0)), 0, pad, h - pad + 14.0),
            (fmt_rate(10f64.powf(x1)), 0, w - pad, h - pad + 14.0),
            (fmt_ns(10f64.powf(y0) as u64), 1, pad - 4.0, h - pad),
            (fmt_ns(10f64.powf(y1) as u64), 1, pad - 4.0, pad + 4.0),
        ] {
            let anchor = if v == 1 { "end" } else { "middle" };
            let _ = write!(
                html,
                "<text x=\"{x}\" y=\"{y}\" text-anchor=\"{anchor}\">{label}</text>"
            );
        }
        for (i, (map, pts)) in series.iter().enumerate() {
            let c = COLORS[i % COLORS.len()];
            let line: Vec<String> = pts
                .iter()
                .map(|&(x, y)| format!("{:.1},{:.1}", px(x), py(y)))
                .collect();
            let _ = write!(
                html,
                "<polyline fill=\"none\" stroke=\"{c}\" stroke-width=\"2\" points=\"{}\"/>\
                 <text x=\"{}\" y=\"{}\" fill=\"{c}\">{}</text>",
                line.join(" "),
                w - pad - 4.0,
                pad + 14.0 * (i as f64 + 1.0),
                observe::escape(map)
            );
            for &(x, y) in pts {
                let _ = write!(
                    html,
                    "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"2.5\" fill=\"{c}\"><title>{}/s: {}</title></circle>",
                    px(x),
                    py(y),
                    fmt_rate(x),
                    fmt_ns(y as u64)
                );
            }
        }
        html.push_str("</svg>");
        for r in runs.iter().filter(|r| r.mix.name == mix) {
            let Some(k) = &r.knee else { continue };
            let at = mapknee_load::open_loop_steps(&r.steps)
                .into_iter()
                .filter(|s| s.ebpf.is_some())
                .min_by(|a, b| {
                    let d = |s: &&Step| (s.target_ops_per_sec.unwrap_or(0.0) - k.ops_per_sec).abs();
                    d(a).total_cmp(&d(b))
                });
            let Some(e) = at.and_then(|s| s.ebpf.as_ref()) else {
                continue;
            };
            let _ = write!(
                html,
                "<h4>{} — top lock-wait stacks at the knee step ({}/s)</h4>",
                observe::escape(&r.map),
                fmt_rate(at.and_then(|s| s.target_ops_per_sec).unwrap_or(0.0))
            );
            for st in e["top_stacks"].as_array().into_iter().flatten() {
                let frames: Vec<String> = st["frames"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|f| f.as_str().map(observe::escape))
                    .collect();
                let _ = write!(
                    html,
                    "<pre>{} waits\n  {}</pre>",
                    st["count"],
                    frames.join("\n  ")
                );
            }
        }
    }
    html.push_str("</section>");
    html
}

/// The range of `v`, widened when it is a single value.
fn span(v: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = v.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), x| {
        (lo.min(x), hi.max(x))
    });
    if hi - lo < 1e-9 {
        (lo - 0.5, hi + 0.5)
    } else {
        (lo, hi)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_counts_the_samples_from_first_up_to_last() {
        let seen = Seen {
            first: 3,
            last: 5,
            n: vec![
                ("misses".into(), 2, 100),
                ("misses".into(), 3, 7),
                ("misses".into(), 4, 5),
                ("misses".into(), 5, 1000),
                ("lock_wait_ns".into(), 4, 90),
            ],
            ..Seen::default()
        };
        let w = seen.window();
        assert_eq!(w["misses"], 12);
        assert_eq!(w["lock_wait_ns"], 90);
        // bpftrace saw the step open but never close: nothing counted.
        let unclosed = Seen { last: 0, ..seen };
        assert!(unclosed.window().is_empty());
    }

    #[test]
    fn bpftrace_json_lines_make_one_step() {
        let mut c = Collected::default();
        for line in [
            r#"{"type": "attached_probes", "data": {"probes": 14}}"#,
            r#"{"type": "printf", "data": "ready\n"}"#,
            r#"{"type": "printf", "data": "step 7 10 12\n"}"#,
            r#"{"type": "map", "data": {"@n": {"misses,10": 4, "misses,11": 6, "lock_contended,12": 9}}}"#,
            r#"{"type": "hist", "data": {"@wait_ns": [{"min": 128, "max": 255, "count": 3}]}}"#,
            r#"{"type": "map", "data": {"@stacks": {"\n\t55d0 mapknee_maps::lock::LockCounters::contended::h0123456789abcdef+0x1f (/bin/m)\n\t55d1 mapknee_maps::syncmap::SyncMap<K,V,S>::load_or_store+0x40 (/bin/m)\n": 3}}}"#,
            r#"{"type": "printf", "data": "end 7\n"}"#,
        ] {
            take_line(&mut c, line);
        }
        assert!(c.attached);
        assert_eq!(c.ended, 7);
        let s = &c.steps[&7];
        assert_eq!(s.window().get("misses"), Some(&10));
        assert_eq!(s.window().get("lock_contended"), None);
        assert_eq!(s.hist, vec![[128, 255, 3]]);
        assert_eq!(
            s.stacks[0].0,
            vec![
                "mapknee_maps::lock::LockCounters::contended".to_string(),
                "mapknee_maps::syncmap::SyncMap<K,V,S>::load_or_store".to_string()
            ]
        );
    }
}
