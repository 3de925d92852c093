//! `mapknee http`: the study's experiment end to end — an open-loop HTTP
//! staircase (`mapknee-http`) against a running order-cache service
//! (`--url`) or against `mapknee serve` started once per map (`--spawn`),
//! analysed with the same knee rules as `run`, rendered as the study's
//! table with a bottleneck column from the service's own metrics.
//!
//! With `--spawn` every service runs at once (idle ones cost nothing) so
//! that each rate is measured for every map in turn; each has a fresh
//! store, and is stopped with SIGTERM at the end (its exit status is
//! checked: a service that does not drain cleanly is an error).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mapknee_analyze::{analyze_run, KneeRules, Thresholds};
use mapknee_http::{
    bottleneck::label_run, scrape::fetch_blocking, KeyStream, LoadShape, Phase, RequestMix,
    Service, StaircaseConfig, Target,
};
use mapknee_load::{Arrivals, HttpSetup, Mix, Objective, Rates, Run, Step};
use mapknee_maps::MapKind;

use super::serve::online_cpus;
use crate::args::HttpArgs;
use crate::render::{fmt_ns, fmt_rate};
use crate::{CliError, Outcome, STOP};

/// The maps `--spawn` compares by default: the study's two and the
/// sharded map it recommended.
const DEFAULT_MAPS: &str = "syncmap,rwlock,sharded";

/// Generator threads per generator core (or in all, when not pinned),
/// unless `--gen-threads` says otherwise.
const GEN_THREADS_PER_CORE: usize = 4;

/// A `mapknee serve` child: SIGTERM and reaped when dropped, also when
/// the run fails.
struct Spawned {
    map: String,
    child: Option<Child>,
}

impl Spawned {
    fn start(map: &str, args: &HttpArgs, cores: &[usize]) -> Result<(Spawned, Target), CliError> {
        let exe = std::env::current_exe()
            .map_err(|e| CliError::runtime(format!("cannot find my own binary: {e}")))?;
        let mut cmd = Command::new(exe);
        cmd.args([
            "serve",
            "--map",
            map,
            "--addr",
            "127.0.0.1:0",
            "--store",
            &args.store,
        ]);
        if let Some(n) = args.seed {
            cmd.args(["--seed", &n.to_string()]);
        }
        if let Some(n) = args.capacity {
            cmd.args(["--capacity", &n.to_string()]);
        }
        if !cores.is_empty() {
            let list: Vec<String> = cores.iter().map(|c| c.to_string()).collect();
            cmd.args(["--cores", &list.join(",")]);
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| CliError::runtime(format!("cannot start `mapknee serve`: {e}")))?;
        let stdout = child.stdout.take();
        let mut spawned = Spawned {
            map: map.to_string(),
            child: Some(child),
        };
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let Some(out) = stdout else { return };
            let mut lines = BufReader::new(out).lines();
            let first = lines.next().and_then(Result::ok);
            let _ = tx.send(first);
            // Keep draining so the child never blocks on a full pipe.
            for _ in lines {}
        });
        // Seeding SQLite with 50k orders takes well under a second; a
        // minute is for a machine under heavy load.
        let line = rx.recv_timeout(Duration::from_secs(60)).ok().flatten();
        let addr = line
            .as_deref()
            .and_then(|l| l.strip_prefix(super::serve::LISTENING))
            .and_then(|l| l.split_whitespace().next())
            .map(str::to_string);
        let Some(addr) = addr else {
            let status = spawned.stop();
            return Err(CliError::runtime(format!(
                "`mapknee serve --map {map}` did not start ({})",
                status.unwrap_or_else(|e| e)
            )));
        };
        let target = Target::parse(&format!("http://{addr}"))
            .map_err(|e| CliError::runtime(e.to_string()))?;
        Ok((spawned, target))
    }

    /// SIGTERM, then wait (10 s for the drain, then SIGKILL): how it ended.
    fn stop(&mut self) -> Result<String, String> {
        let Some(mut child) = self.child.take() else {
            return Ok("already stopped".into());
        };
        // SAFETY: kill(2) with our own child's pid and a valid signal.
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
        let started = Instant::now();
        loop {
            match child.try_wait() {
                Ok(Some(s)) if s.success() => return Ok("drained, exit 0".into()),
                Ok(Some(s)) => return Err(format!("exited with {s}")),
                Ok(None) if started.elapsed() < Duration::from_secs(10) => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err("did not drain within 10 s after SIGTERM; killed".into());
                }
            }
        }
    }
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

/// `--cores`: (generator cores, service cores).
fn split_cores(flag: &str, cpus: usize) -> Result<(Vec<usize>, Vec<usize>), CliError> {
    match flag {
        "off" => Ok((Vec::new(), Vec::new())),
        "auto" if cpus >= 2 => {
            let g = cpus / 2;
            Ok(((0..g).collect(), (g..cpus).collect()))
        }
        "auto" => Ok((Vec::new(), Vec::new())),
        _ => {
            let bad = || {
                CliError::usage(format!(
                    "--cores: bad value '{flag}' (expected auto, off, or GEN/SERVICE core lists such as 0/1)"
                ))
            };
            let (g, s) = flag.split_once('/').ok_or_else(bad)?;
            let list = |x: &str| -> Result<Vec<usize>, CliError> {
                x.split(',')
                    .map(|c| {
                        c.trim()
                            .parse::<usize>()
                            .ok()
                            .filter(|&c| c < cpus)
                            .ok_or_else(bad)
                    })
                    .collect()
            };
            Ok((list(g)?, list(s)?))
        }
    }
}

fn duration(flag: &str, v: &str) -> Result<Duration, CliError> {
    mapknee_maps::parse_duration(v).map_err(|e| CliError::usage(format!("{flag}: {e}")))
}

/// A duration that may be zero (`--warmup 0s`: no warm-up at all).
fn duration_or_zero(flag: &str, v: &str) -> Result<Duration, CliError> {
    mapknee_maps::parse_duration_or_zero(v).map_err(|e| CliError::usage(format!("{flag}: {e}")))
}

pub(crate) fn run(args: HttpArgs) -> Result<Outcome, CliError> {
    let started = Instant::now();
    if args.url.is_none() && !args.spawn {
        return Err(CliError::usage(
            "http needs --url http://HOST:PORT (a running service) or --spawn (start one per map)",
        ));
    }
    if args.url.is_some() && args.maps.is_some() {
        return Err(CliError::usage(
            "--maps goes with --spawn; with --url the service's own map is measured",
        ));
    }
    let rates: Rates = args
        .rates
        .parse()
        .map_err(|e: mapknee_load::ParseError| CliError::usage(format!("--rates: {e}")))?;
    let mix: RequestMix = args
        .mix
        .parse()
        .map_err(|e: String| CliError::usage(format!("--mix: {e}")))?;
    let arrivals: Arrivals = args
        .arrivals
        .parse()
        .map_err(|e: mapknee_load::ParseError| CliError::usage(format!("--arrivals: {e}")))?;
    if let Some(p) = &args.path {
        if !p.starts_with('/') || !p.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(CliError::usage(format!(
                "--path: bad path '{p}' (expected an absolute path such as /healthz)"
            )));
        }
    }
    if !(1..=4096).contains(&args.connections) {
        return Err(CliError::usage("--connections must be from 1 to 4096"));
    }
    if args.ladder_steps < 2 {
        return Err(CliError::usage("--ladder-steps must be at least 2"));
    }
    let (step, warmup, probe) = (
        duration("--step", &args.step)?,
        duration_or_zero("--warmup", &args.warmup)?,
        duration("--probe", &args.probe)?,
    );
    if step < Duration::from_millis(100) || probe < Duration::from_millis(100) {
        return Err(CliError::usage("--step and --probe must be at least 100ms"));
    }
    let cpus = online_cpus();
    let (mut gen_cores, mut svc_cores) = split_cores(&args.cores, cpus)?;
    let maps: Vec<MapKind> = if args.spawn {
        let names = args
            .maps
            .clone()
            .unwrap_or_else(|| DEFAULT_MAPS.split(',').map(String::from).collect());
        names
            .iter()
            .map(|m| {
                m.parse::<MapKind>()
                    .map_err(|e| CliError::usage(format!("--maps: {e}")))
            })
            .collect::<Result<_, _>>()?
    } else {
        Vec::new()
    };
    // Start the services (spawn) or ask the one at --url what it is.
    let mut children: Vec<Spawned> = Vec::new();
    let mut services: Vec<Service> = Vec::new();
    let mut store = args.store.clone();
    if args.spawn {
        args.store
            .parse::<mapknee_service::StoreSpec>()
            .map_err(|e| CliError::usage(format!("--store: {e}")))?;
        let seeded = args.seed.unwrap_or(mapknee_service::DEFAULT_SEED);
        for m in &maps {
            let (child, target) = Spawned::start(&m.name(), &args, &svc_cores)?;
            children.push(child);
            services.push(Service {
                name: m.name(),
                target,
                keys: Arc::new(KeyStream::new(seeded)),
            });
        }
    } else if let Some(url) = &args.url {
        let target = Target::parse(url).map_err(|e| CliError::usage(e.to_string()))?;
        let (status, body) = fetch_blocking(&target, "/healthz")
            .map_err(|e| CliError::usage(format!("--url {url}: {e}")))?;
        let health: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        if status != 200 {
            return Err(CliError::usage(format!(
                "--url {url}: /healthz answered {status}"
            )));
        }
        let name = health["map"].as_str().unwrap_or("service").to_string();
        store = health["store"].as_str().unwrap_or("unknown").to_string();
        // A service that says which cores it has: the generator takes the
        // others. One that does not: the generator is not pinned.
        let told: Vec<usize> = health["cores"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|c| c.as_u64().map(|c| c as usize))
                    .collect()
            })
            .unwrap_or_default();
        if args.cores == "auto" {
            gen_cores = (0..cpus).filter(|c| !told.contains(c)).collect();
            if told.is_empty() || gen_cores.is_empty() {
                gen_cores.clear();
            }
        }
        svc_cores = told;
        let seeded = health["seeded"].as_u64().unwrap_or(1);
        services.push(Service {
            name,
            target,
            keys: Arc::new(KeyStream::new(seeded)),
        });
    }
    let placement = if !gen_cores.is_empty()
        && !svc_cores.is_empty()
        && gen_cores.iter().all(|c| !svc_cores.contains(c))
    {
        "split"
    } else if args.url.is_some() && svc_cores.is_empty() {
        "unknown"
    } else {
        "shared"
    };
    // Several generator threads per core: one thread serving 32
    // connections answers each response only after the others' work, and
    // on a shared core gets one thread's share of it. Measured on the
    // 2-vCPU development VM (service pinned to core 1, 5,000 req/s, 32
    // connections): p50 1.5–1.7 ms with one thread on core 0, 0.17–0.30 ms
    // with four.
    let threads = args
        .gen_threads
        .unwrap_or(GEN_THREADS_PER_CORE * gen_cores.len().max(1))
        .clamp(1, args.connections);
    let cfg = StaircaseConfig {
        rates,
        step,
        warmup,
        probe,
        ladder_steps: args.ladder_steps,
        ladder_lo: 0.2,
        ladder_hi: 1.2,
        refine_steps: args.refine,
        shape: LoadShape {
            connections: args.connections,
            threads,
            cores: gen_cores.clone(),
            arrivals,
            mix,
            path: args.path.clone(),
        },
    };
    eprintln!(
        "mapknee: http staircase over {} · {} connections on {} generator thread(s) · cores: generator {:?}, service {:?} ({placement}) · mix {mix} · store {store}",
        services.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(","),
        args.connections,
        threads,
        gen_cores,
        svc_cores,
    );
    let rules = KneeRules::default();
    let thresholds = Thresholds::default();
    let judge = |curve: &[Step], at: &Step, s: &Step| rules.past(curve, at, s);
    let mut progress = |map: &str, phase: Phase, step: Option<&Step>| {
        if let Some(s) = step {
            let what = match phase {
                Phase::Probe => "probe (closed loop)".to_string(),
                Phase::Ladder(r) => format!("{}/s", fmt_rate(r)),
                Phase::Refine(r) => format!("{}/s (bisect)", fmt_rate(r)),
            };
            eprintln!(
                "mapknee: {map:>10} {what:>20}: achieved {}/s, p50 {}, p99 {}{}",
                fmt_rate(s.achieved_ops_per_sec),
                fmt_ns(s.latency_ns.p50),
                fmt_ns(s.latency_ns.p99),
                match s.counters.get("errors") {
                    Some(&e) if e > 0 => format!(", {e} errors"),
                    _ => String::new(),
                }
            );
        }
    };
    let climbed = mapknee_http::climb(&services, &cfg, &judge, &mut progress, &STOP);
    // Stop every service now, before anything can fail on the way out.
    let mut stop_problems = Vec::new();
    for c in &mut children {
        if let Err(e) = c.stop() {
            stop_problems.push(format!("serve --map {}: {e}", c.map));
        }
    }
    let climbed = climbed.map_err(|e| CliError::runtime(e.to_string()))?;
    let objective: Objective = mapknee_analyze::slo::DEFAULT_OBJECTIVE;
    let request_mix = Mix::new("order-cache", [mix.get, mix.put, 0, mix.delete])
        .map_err(|e| CliError::usage(e.0))?;
    let mut runs = Vec::new();
    let mut errors = 0;
    for (svc, c) in services.iter().zip(climbed) {
        errors += c.errors;
        if let Some(first) = &c.first_error {
            eprintln!(
                "mapknee: warning: {}: {} request(s) failed; first: {first}",
                svc.name, c.errors
            );
        }
        let mut run = Run {
            map: svc.name.clone(),
            mix: request_mix.clone(),
            threads: args.connections,
            keys: args.seed.unwrap_or(mapknee_service::DEFAULT_SEED),
            prefill: 1.0,
            dist: format!("order-cache:{}", mix.miss),
            ops_per_txn: 1,
            arrivals: arrivals.to_string(),
            capacity_ops_per_sec: c.capacity,
            steps: c.steps,
            points: Vec::new(),
            knee: None,
            usl: None,
            repetitions: Vec::new(),
            placement: None,
            slo: None,
            preempted: None,
        };
        if run.steps.is_empty() {
            continue;
        }
        analyze_run(&mut run, &rules, &thresholds);
        label_run(&mut run);
        mapknee_analyze::slo::attach_run(&mut run, &objective);
        runs.push(run);
    }
    let (_, mut machine) = super::machine("foldhash");
    machine.http = Some(HttpSetup {
        generator_cores: gen_cores,
        service_cores: svc_cores,
        placement: placement.into(),
        connections: args.connections,
        generator_threads: threads,
        store,
        request_mix: mix.to_string(),
        spawned: args.spawn,
        errors,
    });
    let interrupted = STOP.load(std::sync::atomic::Ordering::Relaxed);
    let results = mapknee_load::Results {
        schema: mapknee_load::SCHEMA.into(),
        kind: "http".into(),
        machine,
        runs,
        elapsed_s: started.elapsed().as_secs_f64(),
        interrupted,
        decay: Vec::new(),
        slo: Some(objective),
    };
    if let Some(dir) = &args.out {
        std::fs::create_dir_all(dir).map_err(|e| {
            CliError::usage(format!(
                "cannot create --out directory '{}': {e}",
                dir.display()
            ))
        })?;
    }
    crate::render::emit(&results, args.format, args.out.as_deref())?;
    if args.format == crate::args::Format::Table {
        print!("{}", verdicts(&results.runs));
    }
    if !stop_problems.is_empty() {
        return Err(CliError::runtime(stop_problems.join("; ")));
    }
    Ok(if interrupted {
        Outcome::Interrupted
    } else {
        Outcome::Done
    })
}

/// One line per map: its knee, and at the knee (or the highest step)
/// where the mean request's time went — the study's question, whether the
/// map or the rest of the service broke.
fn verdicts(runs: &[Run]) -> String {
    let mut out = String::new();
    for r in runs {
        let at = match &r.knee {
            Some(k) => r
                .steps
                .iter()
                .find(|s| s.target_ops_per_sec == Some(k.ops_per_sec)),
            None => r.steps.last(),
        };
        let head = match &r.knee {
            Some(k) => format!("knee at {}/s ({})", fmt_rate(k.ops_per_sec), k.rule),
            None => format!(
                "no knee up to {}/s",
                fmt_rate(
                    r.steps
                        .last()
                        .and_then(|s| s.target_ops_per_sec)
                        .unwrap_or(0.0)
                )
            ),
        };
        let split = at
            .and_then(|s| s.bottleneck_figures.as_ref().map(|f| (s, f)))
            .map(|(s, f)| {
                let pct = |k: &str| f.get(k).copied().unwrap_or(0.0) * 100.0;
                let ns = |k: &str| fmt_ns(f.get(k).copied().unwrap_or(0.0) as u64);
                format!(
                    "; there the mean request's {} went {:.2}% to the map ({} per request), {:.2}% to the store, {:.2}% to the rest of the handler ({} in the handler in all), {:.2}% to queueing and HTTP outside the handler → bottleneck: {}",
                    fmt_ns(s.latency_ns.mean as u64),
                    pct("map_share"),
                    ns("map_mean_ns"),
                    pct("store_share"),
                    pct("handler_share"),
                    ns("handler_mean_ns"),
                    pct("queueing_share"),
                    s.bottleneck.as_deref().unwrap_or("unknown"),
                )
            })
            .unwrap_or_else(|| "; the service reported no metrics".into());
        out.push_str(&format!("{}: {head}{split}\n", r.map));
    }
    out
}
