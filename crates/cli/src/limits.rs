//! Limits on every size and rate, checked against this machine after the
//! settings are resolved and before any work starts. A size the machine
//! cannot hold or a rate no step can serve gets one line saying what was
//! asked, the limit and why (exit status 2), instead of an abort on a
//! failed allocation, a panic in thread spawn, or a run that never ends.
//!
//! Each limit is derived from the machine where the machine decides it
//! (cores, memory available, the OS's thread limits) and from what a step
//! can measure where the harness decides it; the README's "Limits" section
//! lists them.

use std::fmt::Write as _;
use std::time::Duration;

use mapknee_load::footprint::{self, fmt_bytes};
use mapknee_load::growth::GrowthMap;
use mapknee_load::{Rates, WINDOW};
use mapknee_maps::MapKind;

use crate::render::fmt_ns;

/// No map operation completes faster than this, ns: the `noop` map, which
/// does nothing, takes ~5 ns per operation (key generation and the call)
/// on the 2-vCPU development VM; a few cycles of a faster core is ~2 ns.
/// (The clock reads whole ns too.)
pub(crate) const MIN_OP_NS: u64 = 2;

/// Transactions a step must have room for per worker even at
/// [`MIN_OP_NS`] per operation: fewer, and the step's p99 is not a
/// percentile of anything (of 1,000 the 10th largest), and one transaction
/// is a visible share of the step, which it overruns (a worker finishes
/// the transaction it started).
pub(crate) const MIN_TXNS_PER_STEP: u64 = 1_000;

/// Transactions a closed-loop capacity probe must have room for: it
/// measures throughput only, which 100 transactions give to 1 %.
pub(crate) const MIN_PROBE_TXNS: u64 = 100;

/// Worker threads per core beyond which a step measures the scheduler:
/// with every worker runnable each waits ~256 × a 4 ms scheduler tick
/// ≈ 1 s for a turn on a core, as long as the longest step mapknee derives.
pub(crate) const WORKERS_PER_CORE: usize = 256;

/// The shortest step or `--duration`: one 10 ms timeline window. The knee
/// rule reads the median of a step's window p99s; a shorter step has no
/// full window.
pub(crate) const MIN_STEP: Duration = WINDOW;

/// The longest run accepted. Results are written only when a run ends, so
/// a longer run risks all of it on one crash or reboot; several shorter
/// runs pool with `compare --base … --new …`.
pub(crate) const MAX_RUN: Duration = Duration::from_secs(24 * 3600);

/// What `--quick` promises (README: "`--quick` within 20 s").
pub(crate) const QUICK_PROMISE: Duration = Duration::from_secs(20);

/// Share of the memory available that one step or growth may take: the
/// rest is headroom for the OS, its page cache and other processes, and
/// the estimates are one allocator's measurements.
const MEMORY_SHARE: (u64, u64) = (3, 4);

/// The longest a step's map may take to build and prefill: every step
/// starts from a fresh map, so past this a run spends its time filling
/// maps, not measuring them.
pub(crate) const MAX_SETUP: Duration = Duration::from_secs(5 * 60);

/// Time to prefill one key, at the slowest: syncmap took 1.0 µs per key
/// at 4M keys (rwlock 0.2, papaya 0.7), release build, development VM.
const PREFILL_NS_PER_KEY: u64 = 1_000;

/// Seconds per insert the growth experiment is allowed when estimating its
/// length: measured 0.25 µs (std) to 0.75 µs (syncmap), child process and
/// key generation included, at 4M inserts on the development VM.
const GROWTH_NS_PER_INSERT: u64 = 1_000;

/// The machine the limits are derived from.
#[derive(Debug, Clone)]
pub(crate) struct Host {
    pub(crate) cores: usize,
    /// Bytes that may still be allocated, and where that figure came from.
    pub(crate) memory: Option<(u64, String)>,
    /// The fewest threads any OS limit leaves this process, and which.
    pub(crate) os_threads: Option<(u64, String)>,
}

impl Host {
    /// Reads the machine: cores, `MemAvailable` and the cgroup's memory
    /// limit, and the kernel's, the user's and the cgroup's thread limits.
    /// Whatever cannot be read sets no limit (the run-time checks remain).
    pub(crate) fn detect() -> Self {
        Host {
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            memory: detect_memory(),
            os_threads: detect_os_threads(),
        }
    }
}

fn read(path: &str) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

fn number(text: &str) -> Option<u64> {
    text.trim().parse().ok()
}

/// `(controller list, path)` of each line of `/proc/self/cgroup`.
fn cgroups() -> Vec<(String, String)> {
    read("/proc/self/cgroup")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let mut parts = l.splitn(3, ':');
            let (_, ctrls, path) = (parts.next()?, parts.next()?, parts.next()?);
            Some((ctrls.to_string(), path.to_string()))
        })
        .collect()
}

/// The cgroup directory of `controller` (v1), or of the unified hierarchy
/// (v2, `controller` empty).
fn cgroup_dir(controller: &str) -> Option<String> {
    cgroups().into_iter().find_map(|(ctrls, path)| {
        if controller.is_empty() {
            ctrls.is_empty().then(|| format!("/sys/fs/cgroup{path}"))
        } else {
            ctrls
                .split(',')
                .any(|c| c == controller)
                .then(|| format!("/sys/fs/cgroup/{controller}{path}"))
        }
    })
}

/// A cgroup limit: v1 writes "no limit" as a number near 2^63, v2 as `max`.
fn cgroup_limit(text: &str) -> Option<u64> {
    number(text).filter(|&n| n < 1 << 60)
}

fn detect_memory() -> Option<(u64, String)> {
    let mut best: Option<(u64, String)> = None;
    let mut consider = |bytes: u64, source: String| {
        if best.as_ref().is_none_or(|(b, _)| bytes < *b) {
            best = Some((bytes, source));
        }
    };
    if let Some(kb) = read("/proc/meminfo").and_then(|t| {
        t.lines()
            .find_map(|l| l.strip_prefix("MemAvailable:"))
            .and_then(|v| number(v.trim().trim_end_matches("kB")))
    }) {
        let bytes = kb.saturating_mul(1024);
        consider(bytes, format!("MemAvailable {}", fmt_bytes(bytes)));
    }
    for (dir, limit, usage) in [
        (cgroup_dir(""), "memory.max", "memory.current"),
        (
            cgroup_dir("memory"),
            "memory.limit_in_bytes",
            "memory.usage_in_bytes",
        ),
    ] {
        let Some(dir) = dir else { continue };
        let Some(max) = read(&format!("{dir}/{limit}")).and_then(|t| cgroup_limit(&t)) else {
            continue;
        };
        let used = read(&format!("{dir}/{usage}"))
            .and_then(|t| number(&t))
            .unwrap_or(0);
        consider(
            max.saturating_sub(used),
            format!(
                "the cgroup's {limit} {} less {} in use",
                fmt_bytes(max),
                fmt_bytes(used)
            ),
        );
    }
    best
}

fn detect_os_threads() -> Option<(u64, String)> {
    let mut limits: Vec<(u64, String)> = Vec::new();
    if let Some(n) = read("/proc/sys/kernel/threads-max").and_then(|t| number(&t)) {
        limits.push((n, format!("kernel.threads-max {n}")));
    }
    if let Some(n) = read("/proc/self/limits").and_then(|t| {
        t.lines()
            .find(|l| l.starts_with("Max processes"))
            .and_then(|l| l.split_whitespace().nth(2).and_then(number))
    }) {
        limits.push((n, format!("the user's process limit (ulimit -u) {n}")));
    }
    for dir in [cgroup_dir(""), cgroup_dir("pids")].into_iter().flatten() {
        if let Some(n) = read(&format!("{dir}/pids.max")).and_then(|t| cgroup_limit(&t)) {
            limits.push((n, format!("the cgroup's pids.max {n}")));
        }
    }
    // Each thread maps its stack and a guard page.
    if let Some(n) = read("/proc/sys/vm/max_map_count").and_then(|t| number(&t)) {
        limits.push((n / 2, format!("vm.max_map_count {n}, 2 per thread stack")));
    }
    limits.into_iter().min_by_key(|(n, _)| *n)
}

/// `flag`'s worker threads against the cores and the OS.
pub(crate) fn threads(flag: &str, n: usize, host: &Host) -> Result<(), String> {
    let sense = host.cores.saturating_mul(WORKERS_PER_CORE);
    if n > sense {
        return Err(format!(
            "{flag} {n}: more than {sense} worker threads on {} core(s) ({WORKERS_PER_CORE} per core): \
             with every worker runnable each would wait ~1 s ({WORKERS_PER_CORE} turns of a 4 ms \
             scheduler tick) for a core, so a step would measure the scheduler, not the map",
            host.cores
        ));
    }
    if let Some((max, source)) = &host.os_threads {
        if n as u64 > *max {
            return Err(format!(
                "{flag} {n}: more threads than the OS allows this process: {max} ({source})"
            ));
        }
    }
    Ok(())
}

/// How long prefilling `keys × prefill` keys into the slowest of `maps`
/// takes, about: [`PREFILL_NS_PER_KEY`] per key, or a synthetic map's
/// hold, which every insert waits for.
pub(crate) fn prefill_time(keys: u64, prefill: f64, maps: &[MapKind]) -> Duration {
    let n = (keys as f64 * prefill.clamp(0.0, 1.0)).round() as u64;
    Duration::from_nanos(n.saturating_mul(prefill_ns_per_key(maps).0))
}

/// ns per prefilled key, and the synthetic map that decides it, if one does.
fn prefill_ns_per_key(maps: &[MapKind]) -> (u64, Option<String>) {
    match op_floor(maps) {
        (ns, Some(map)) if ns > PREFILL_NS_PER_KEY => (ns, Some(map)),
        _ => (PREFILL_NS_PER_KEY, None),
    }
}

/// The prefill before every step against [`MAX_SETUP`].
pub(crate) fn setup(keys: u64, prefill: f64, maps: &[MapKind]) -> Result<(), String> {
    let t = prefill_time(keys, prefill, maps);
    if t > MAX_SETUP {
        let (ns, map) = prefill_ns_per_key(maps);
        let per_key = match map {
            Some(map) => format!(
                "{map} holds its lock {} per insert",
                dur(Duration::from_nanos(ns))
            ),
            None => format!("{ns} ns per key, the slowest map's"),
        };
        return Err(format!(
            "--keys {keys}: prefilling {} of them before every step would take about {} \
             ({per_key}), more than the {} a step's fresh map may take: lower --keys or --prefill",
            (keys as f64 * prefill.clamp(0.0, 1.0)).round() as u64,
            fmt_duration(t),
            fmt_duration(MAX_SETUP)
        ));
    }
    Ok(())
}

/// A step's or a sweep point's measured time.
pub(crate) fn step(flag: &str, d: Duration) -> Result<(), String> {
    if d < MIN_STEP {
        return Err(format!(
            "{flag} {}: shorter than one {} timeline window, the least a step is measured by \
             (the knee rule reads the median of its windows' p99)",
            dur(d),
            dur(WINDOW)
        ));
    }
    Ok(())
}

/// Operations per transaction against a timed phase of `len`: at
/// [`MIN_OP_NS`] per operation (or a synthetic map's hold), the phase must
/// have room for `min_txns` transactions.
pub(crate) fn ops_per_txn(
    ops: u32,
    len: Duration,
    phase: &str,
    min_txns: u64,
    maps: &[MapKind],
) -> Result<(), String> {
    let (op_ns, slowest) = op_floor(maps);
    let len_ns = u64::try_from(len.as_nanos()).unwrap_or(u64::MAX);
    let fits = len_ns / op_ns.saturating_mul(u64::from(ops)).max(1);
    if fits >= min_txns {
        return Ok(());
    }
    let why = "fewer, and one transaction is a visible share of it and outlasts it";
    Err(match slowest {
        // The map's own hold decides: the transaction is as short as it gets.
        Some(map) if ops == 1 || op_ns.saturating_mul(u64::from(ops)) > len_ns => format!(
            "--maps {map}: a {} {phase} fits {fits} of its {} operations × {ops} per \
             transaction, less than the {min_txns} transactions it must hold ({why}): \
             lengthen it, or use a shorter hold",
            dur(len),
            dur(Duration::from_nanos(op_ns))
        ),
        _ => format!(
            "--ops-per-txn {ops}: a {} {phase} has room for at most {} operations per \
             transaction: it must hold {min_txns} transactions per worker at {op_ns} ns per \
             operation ({}; {why})",
            dur(len),
            len_ns / min_txns / op_ns,
            slowest.map_or_else(
                || "the fastest any map operation completes".to_string(),
                |m| format!("{m} holds its lock that long")
            )
        ),
    })
}

/// The fastest an operation of any of `maps` can be, ns, and the synthetic
/// map that decides it, if one does (it holds its lock that long).
fn op_floor(maps: &[MapKind]) -> (u64, Option<String>) {
    maps.iter()
        .filter_map(|m| match m {
            MapKind::Synthetic(hold) => Some((
                u64::try_from(hold.as_nanos()).unwrap_or(u64::MAX).max(1),
                Some(m.name()),
            )),
            _ => None,
        })
        .max_by_key(|(ns, _)| *ns)
        .filter(|(ns, _)| *ns > MIN_OP_NS)
        .unwrap_or((MIN_OP_NS, None))
}

/// Explicit offered rates: below the ceiling where a thread's arrivals come
/// faster than the fastest possible operation, and high enough that a step
/// offers at least one transaction.
pub(crate) fn rates(rates: &Rates, threads: usize, ops: u32, step: Duration) -> Result<(), String> {
    let Rates::Explicit(list) = rates else {
        return Ok(());
    };
    let ceiling = threads as f64 * 1e9 / (f64::from(ops) * MIN_OP_NS as f64);
    if let Some(&top) = list.iter().find(|&&r| r > ceiling) {
        return Err(format!(
            "--rates: {} txn/s is above the ceiling of {} txn/s: {threads} thread(s), each \
             completing at best one {ops}-operation transaction per {} ns ({MIN_OP_NS} ns per \
             operation, the fastest any map operation completes); past it a step measures only \
             its backlog",
            fmt_big(top),
            fmt_big(ceiling),
            u64::from(ops).saturating_mul(MIN_OP_NS)
        ));
    }
    if let Some(&low) = list.iter().find(|&&r| r * step.as_secs_f64() < 1.0) {
        return Err(format!(
            "--rates: {} txn/s offers less than one transaction in a {} step: nothing to \
             measure (lengthen --step or raise the rate)",
            fmt_big(low),
            dur(step)
        ));
    }
    Ok(())
}

/// A duration, short: `10.00ms`, `1.20s`.
fn dur(d: Duration) -> String {
    fmt_ns(u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// A rate as typed-ish: plain below a million, else in scientific notation
/// (`fmt_rate` would print 1e30 as thirty digits of M).
fn fmt_big(r: f64) -> String {
    if r < 1e6 {
        format!("{r}")
    } else {
        format!("{r:e}")
    }
}

/// One part of a memory estimate: the flag that sizes it, its bytes and
/// how they were estimated.
pub(crate) struct Part {
    pub(crate) flag: String,
    pub(crate) bytes: u64,
    pub(crate) how: String,
}

/// The parts of an estimate against the memory that may be used; the
/// message names the largest part's flag first.
pub(crate) fn memory(what: &str, parts: &[Part], host: &Host) -> Result<(), String> {
    let Some((available, source)) = &host.memory else {
        return Ok(());
    };
    let allowed = available / MEMORY_SHARE.1 * MEMORY_SHARE.0;
    let total = parts.iter().fold(0u64, |t, p| t.saturating_add(p.bytes));
    if total <= allowed {
        return Ok(());
    }
    let largest = parts.iter().max_by_key(|p| p.bytes).expect("some part");
    let mut breakdown = String::new();
    for p in parts.iter().filter(|p| p.bytes > 0) {
        if !breakdown.is_empty() {
            breakdown.push_str(" + ");
        }
        let _ = write!(breakdown, "{} {}", fmt_bytes(p.bytes), p.how);
    }
    Err(format!(
        "{}: {what} needs about {} = {breakdown}, but at most {} may be used ({}/{} of {source})",
        largest.flag,
        fmt_bytes(total),
        fmt_bytes(allowed),
        MEMORY_SHARE.0,
        MEMORY_SHARE.1
    ))
}

/// The whole run's estimated length against [`MAX_RUN`].
pub(crate) fn run_time(what: &str, estimate: Duration) -> Result<(), String> {
    if estimate > MAX_RUN {
        return Err(format!(
            "{what}: this run would take about {}, longer than the {} mapknee accepts: results \
             are written only when a run ends, so split it and pool the files with \
             compare --base … --new …",
            fmt_duration(estimate),
            fmt_duration(MAX_RUN)
        ));
    }
    Ok(())
}

/// A long duration in the largest unit that fits: `36 h`, `12 d`.
fn fmt_duration(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 3.0 * 86_400.0 {
        format!("{:.0} days", s / 86_400.0)
    } else if s >= 3.0 * 3600.0 {
        format!("{:.0} h", s / 3600.0)
    } else if s >= 180.0 {
        format!("{:.0} min", s / 60.0)
    } else {
        format!("{s:.0} s")
    }
}

/// The map of `maps` whose step takes the most memory per key.
fn hungriest(maps: &[MapKind]) -> Option<&MapKind> {
    maps.iter().max_by_key(|m| footprint::map_bytes_per_key(m))
}

/// The memory parts of one step of the hungriest of `maps`.
pub(crate) fn step_parts(
    maps: &[MapKind],
    keys: u64,
    threads: usize,
    warmup: Duration,
    step: Duration,
    step_flag: &str,
) -> Vec<Part> {
    let mut parts = Vec::new();
    if let Some(map) = hungriest(maps) {
        let per_key = footprint::map_bytes_per_key(map);
        parts.push(Part {
            flag: format!("--keys {keys}"),
            bytes: keys.saturating_mul(per_key),
            how: format!(
                "for {keys} keys of {} at {per_key} B per key (presized and filled)",
                map.name()
            ),
        });
    }
    let per_worker = footprint::worker_bytes(warmup, step);
    parts.push(Part {
        flag: format!("--threads {threads}"),
        bytes: (threads as u64).saturating_mul(per_worker),
        how: format!(
            "for {threads} worker(s) at {} each (histograms, timeline slots, stack)",
            fmt_bytes(per_worker)
        ),
    });
    parts.push(Part {
        flag: format!("{step_flag} {}", dur(step)),
        bytes: footprint::timeline_bytes(warmup, step),
        how: format!("for the {} step's 10 ms timeline", dur(step)),
    });
    parts
}

/// The memory parts of growing the hungriest of `maps` by `inserts`.
pub(crate) fn growth_parts(maps: &[GrowthMap], inserts: u64) -> Vec<Part> {
    maps.iter()
        .max_by_key(|m| footprint::growth_bytes_per_insert(m))
        .map(|map| {
            let per = footprint::growth_bytes_per_insert(map);
            Part {
                flag: format!("--inserts {inserts}"),
                bytes: inserts.saturating_mul(per),
                how: format!(
                    "for {inserts} inserts into {map} at {per} B per insert (the key, and the \
                     map's peak while it resizes)"
                ),
            }
        })
        .into_iter()
        .collect()
}

/// How long one growth of `map` by `inserts` takes, about (a child
/// process's start included): [`GROWTH_NS_PER_INSERT`], or a synthetic
/// map's hold, which every insert waits for.
pub(crate) fn growth_time(map: &GrowthMap, inserts: u64) -> Duration {
    let per_insert = match map {
        GrowthMap::Concurrent(kind) => op_floor(std::slice::from_ref(kind))
            .0
            .max(GROWTH_NS_PER_INSERT),
        _ => GROWTH_NS_PER_INSERT,
    };
    Duration::from_nanos(inserts.saturating_mul(per_insert))
        .saturating_add(Duration::from_millis(100))
}

/// How long growing every one of `maps` `repeat` times by `inserts` takes.
pub(crate) fn growth_estimate(maps: &[GrowthMap], repeat: usize, inserts: u64) -> Duration {
    let round = maps.iter().fold(Duration::ZERO, |t, m| {
        t.saturating_add(growth_time(m, inserts))
    });
    round.saturating_mul(u32::try_from(repeat).unwrap_or(u32::MAX))
}

/// Which of `run`'s sizes the user gave (the rest are derived to fit).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Explicit {
    pub(crate) step: bool,
    pub(crate) repeat: bool,
    pub(crate) rates: bool,
    pub(crate) keys: bool,
}

/// Every limit of `run`, in the order a user would fix them.
pub(crate) fn check_run(
    s: &crate::settings::RunSettings,
    quick: bool,
    explicit: Explicit,
    host: &Host,
) -> Result<(), String> {
    let c = &s.staircase;
    let common = &s.common;
    threads("--threads", c.threads, host)?;
    step("--step", c.step)?;
    ops_per_txn(
        common.ops_per_txn,
        c.step,
        "step",
        MIN_TXNS_PER_STEP,
        &common.maps,
    )?;
    if c.rates == Rates::Auto {
        ops_per_txn(
            common.ops_per_txn,
            c.probe,
            "capacity probe (rates auto)",
            MIN_PROBE_TXNS,
            &common.maps,
        )?;
    }
    rates(&c.rates, c.threads, common.ops_per_txn, c.step)?;
    let parts = step_parts(
        &common.maps,
        common.keys,
        c.threads,
        c.warmup,
        c.step,
        "--step",
    );
    memory("one step", &parts, host)?;
    setup(common.keys, common.prefill, &common.maps)?;
    let estimate = s.estimate();
    run_time(&run_sizes(s, explicit), estimate)?;
    if quick && estimate > QUICK_PROMISE {
        return Err(format!(
            "--quick promises a run within {}; with {} this one would take up to {:.0} s: \
             drop --quick, or ask for less",
            dur(QUICK_PROMISE),
            run_sizes(s, explicit),
            estimate.as_secs_f64()
        ));
    }
    Ok(())
}

/// The sizes that make a run long, as flags: those the user gave.
fn run_sizes(s: &crate::settings::RunSettings, explicit: Explicit) -> String {
    let c = &s.staircase;
    let mut flags = Vec::new();
    if explicit.step {
        flags.push(format!("--step {}", dur(c.step)));
    }
    if explicit.repeat {
        flags.push(format!("--repeat {}", c.repeat));
    }
    if explicit.rates {
        if let Rates::Explicit(r) = &c.rates {
            flags.push(format!("--rates ({} rates)", r.len()));
        }
    }
    if explicit.keys {
        flags.push(format!("--keys {}", s.common.keys));
    }
    let slow_prefill = prefill_ns_per_key(&s.common.maps).1;
    if let Some(map) = slow_prefill {
        flags.push(format!("the prefill of {map} before every step"));
    }
    if flags.is_empty() {
        flags.push(format!(
            "{} map(s) × {} mix(es)",
            s.common.maps.len(),
            s.mixes.len()
        ));
    }
    flags.join(", ")
}

/// Every limit of `scale`.
pub(crate) fn check_scale(s: &crate::settings::ScaleSettings, host: &Host) -> Result<(), String> {
    let max_threads = s.threads.iter().copied().max().unwrap_or(1);
    threads("--threads", max_threads, host)?;
    step("--duration", s.duration)?;
    ops_per_txn(
        s.common.ops_per_txn,
        s.duration,
        "measurement",
        MIN_TXNS_PER_STEP,
        &s.common.maps,
    )?;
    let parts = step_parts(
        &s.common.maps,
        s.common.keys,
        max_threads,
        s.warmup,
        s.duration,
        "--duration",
    );
    memory("one thread count", &parts, host)?;
    setup(s.common.keys, s.common.prefill, &s.common.maps)?;
    // Each point: warm-up, measurement, and a second for building and
    // prefilling the map.
    let per_point = (s.warmup + s.duration).saturating_add(Duration::from_secs(1));
    let points = s.common.maps.len().saturating_mul(s.threads.len());
    run_time(
        &format!(
            "--threads ({} counts) --duration {}",
            s.threads.len(),
            dur(s.duration)
        ),
        per_point.saturating_mul(u32::try_from(points).unwrap_or(u32::MAX)),
    )
}

/// Every limit of `growth`.
pub(crate) fn check_growth(
    maps: &[GrowthMap],
    inserts: u64,
    n_threads: usize,
    repeat: usize,
    host: &Host,
) -> Result<(), String> {
    threads("--threads", n_threads, host)?;
    memory("one growth", &growth_parts(maps, inserts), host)?;
    run_time(
        &format!("--inserts {inserts} --repeat {repeat}"),
        growth_estimate(maps, repeat, inserts),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(cores: usize, memory: u64) -> Host {
        Host {
            cores,
            memory: Some((memory, "MemAvailable test".into())),
            os_threads: Some((10_000, "kernel.threads-max 10000".into())),
        }
    }

    #[test]
    fn threads_far_above_the_cores_or_the_os_limit_are_refused() {
        let h = host(2, 1 << 34);
        assert!(threads("--threads", 2, &h).is_ok());
        assert!(threads("--threads", 512, &h).is_ok(), "warned, not refused");
        let e = threads("--threads", 100_000, &h).unwrap_err();
        assert!(e.starts_with("--threads 100000: more than 512"), "{e}");
        let big = host(64, 1 << 34);
        let e = threads("--threads", 12_000, &big).unwrap_err();
        assert!(e.contains("kernel.threads-max 10000"), "{e}");
    }

    #[test]
    fn memory_names_the_largest_part_and_the_budget() {
        let maps = [MapKind::RwLock, MapKind::SyncMap];
        let d = Duration::from_millis(100);
        let parts = step_parts(&maps, 99_999_999_999, 2, d / 5, d, "--step");
        let e = memory("one step", &parts, &host(2, 16 << 30)).unwrap_err();
        assert!(
            e.starts_with("--keys 99999999999: one step needs about 13.6 TiB = "),
            "{e}"
        );
        assert!(e.contains("150 B per key") && e.contains("syncmap"), "{e}");
        assert!(
            e.contains("at most 12.0 GiB may be used (3/4 of MemAvailable test)"),
            "{e}"
        );
        let fits = step_parts(&maps, 65_536, 2, d / 5, d, "--step");
        assert!(memory("one step", &fits, &host(2, 16 << 30)).is_ok());
        let unknown = Host {
            memory: None,
            ..host(2, 0)
        };
        assert!(memory("one step", &parts, &unknown).is_ok());
    }

    #[test]
    fn long_transactions_need_long_steps() {
        let step = Duration::from_millis(40);
        let m = MIN_TXNS_PER_STEP;
        assert!(ops_per_txn(20_000, step, "step", m, &[MapKind::RwLock]).is_ok());
        let e = ops_per_txn(1_000_000_000, step, "step", m, &[MapKind::RwLock]).unwrap_err();
        assert!(e.contains("at most 20000 operations"), "{e}");
        // A synthetic map's hold is its floor: 1 ms × 1,000 > 40 ms.
        let slow = "synthetic:1ms".parse().unwrap();
        let e = ops_per_txn(1, step, "step", m, &[MapKind::RwLock, slow]).unwrap_err();
        assert!(
            e.starts_with("--maps synthetic:1ms: a 40.00ms step fits 40"),
            "{e}"
        );
        // A probe measures throughput only: 100 transactions do.
        let probe = Duration::from_millis(150);
        assert!(ops_per_txn(1, probe, "probe", MIN_PROBE_TXNS, &[slow]).is_ok());
    }

    #[test]
    fn rates_between_one_per_step_and_the_ceiling() {
        let step = Duration::from_millis(10);
        let r = |s: &str| s.parse::<Rates>().unwrap();
        assert!(rates(&r("auto"), 2, 1, step).is_ok());
        assert!(
            rates(&r("1k,1000M"), 2, 1, step).is_ok(),
            "1e9 is the ceiling"
        );
        let e = rates(&r("1e30"), 2, 1, step).unwrap_err();
        assert!(
            e.contains("1e30 txn/s is above the ceiling of 1e9 txn/s"),
            "{e}"
        );
        assert!(rates(&r("1e6"), 1, 1000, step).is_err(), "1000 ops per txn");
        let e = rates(&r("50"), 2, 1, step).unwrap_err();
        assert!(e.contains("less than one transaction"), "{e}");
    }

    #[test]
    fn prefills_longer_than_five_minutes_are_refused() {
        let rwlock = [MapKind::RwLock];
        assert!(setup(65_536, 0.5, &rwlock).is_ok());
        assert!(
            setup(99_999_999_999, 0.0, &rwlock).is_ok(),
            "nothing to prefill"
        );
        let e = setup(99_999_999_999, 0.5, &rwlock).unwrap_err();
        assert!(e.contains("prefilling 50000000000 of them"), "{e}");
        assert!(e.contains("about 14 h"), "{e}");
        // Every insert into a synthetic map waits its hold.
        let slow = ["synthetic:10ms".parse().unwrap()];
        let e = setup(65_536, 0.5, &slow).unwrap_err();
        assert!(
            e.contains("synthetic:10ms holds its lock 10.00ms per insert"),
            "{e}"
        );
    }

    #[test]
    fn steps_shorter_than_a_window_and_runs_longer_than_a_day_are_refused() {
        assert!(step("--step", Duration::from_millis(10)).is_ok());
        assert!(step("--step", Duration::from_millis(9)).is_err());
        assert!(run_time("--repeat 10", Duration::from_secs(3600)).is_ok());
        let e = run_time("--repeat 1000", Duration::from_secs(40 * 86_400)).unwrap_err();
        assert!(e.contains("about 40 days"), "{e}");
    }

    #[test]
    fn a_slow_synthetic_map_makes_growth_long() {
        let std: GrowthMap = "std".parse().unwrap();
        let slow: GrowthMap = "synthetic:1s".parse().unwrap();
        let quick = growth_estimate(std::slice::from_ref(&std), 3, 1_000_000);
        assert_eq!(quick, Duration::from_millis(3 * 1_100));
        let h = host(2, 1 << 34);
        assert!(
            check_growth(&[std, slow], 1_000, 1, 1, &h).is_ok(),
            "17 min"
        );
        let e = check_growth(&[std, slow], 1_000_000, 1, 1, &h).unwrap_err();
        assert!(e.contains("about 12 days"), "{e}");
    }

    #[test]
    fn the_host_is_read_without_failing() {
        let h = Host::detect();
        assert!(h.cores >= 1);
        // On Linux /proc is there; elsewhere nothing is limited.
        if std::path::Path::new("/proc/meminfo").exists() {
            assert!(h.memory.is_some_and(|(b, _)| b > 0));
        }
    }
}
