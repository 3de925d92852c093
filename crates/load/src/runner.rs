//! The runners: one step of load against one map, closed loop (as fast as
//! possible) or open loop (paced at a target rate), with per-thread HDR
//! histograms and a 10 ms timeline.
//!
//! # How a step runs
//!
//! 1. Worker threads (one per `threads`, pinned round-robin to the cores
//!    when `pin`) wait for a common start `t0`, then run `warmup` unrecorded
//!    and `duration` recorded. The pacer never resets between the two, so a
//!    backlog built during warm-up still counts against the measured window.
//! 2. Open loop: each thread follows its own [`Schedule`]. Latency is
//!    completion − *intended* start (coordinated-omission corrected, as wrk2
//!    does); service time is completion − actual start. A thread that falls
//!    behind issues back to back until it catches up; it never skips
//!    arrivals. Closed loop: latency = service time.
//! 3. A transaction is recorded when it completes inside the measured window;
//!    `achieved` is recorded transactions / window length.
//! 4. The calling thread is the coordinator: it sleeps to each 10 ms window
//!    boundary and samples `map.stats()`; consecutive samples give each
//!    window's counter deltas. Workers record latency into a per-window
//!    histogram only; at each window's end they fold it into the step's
//!    latency histogram and into a shared 2-digit slot for the timeline (one
//!    uncontended lock per thread per 10 ms).
//!
//! One clock reading per transaction: a transaction's start is the previous
//! one's completion (or the pacer's last reading when it waited), so the
//! harness reads the clock once, generates key and op, and records one
//! histogram (closed loop) or two (open loop: latency and service time).
//! Its cost per transaction is measured by [`harness_cost`].

use std::collections::BTreeMap;
use std::hint::spin_loop;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use hdrhistogram::Histogram;
use mapknee_maps::{ConcurrentMap, HasherKind, MapKind, MapStats, MapVisitor};

use crate::hist::{merge, new_histogram, new_window_histogram, record};
use crate::{prefill, Arrivals, Clock, Percentiles, Schedule, Step, TxnGen, Window, Workload};

/// Timeline window length: 10 ms.
pub const WINDOW: Duration = Duration::from_millis(10);

/// Time the workers get to start before `t0`.
const START_DELAY_NS: u64 = 2_000_000;
/// The pacer sleeps only for gaps longer than this, and wakes this much
/// early to spin the rest (Linux timer slack is 50 µs by default).
const SLEEP_ABOVE_NS: u64 = 200_000;
const WAKE_EARLY_NS: u64 = 100_000;

/// One step's settings.
#[derive(Debug, Clone)]
pub struct StepSpec {
    /// Worker threads (at least 1).
    pub threads: usize,
    /// Offered rate in txn/s (positive), or `None` for the closed loop.
    pub target: Option<f64>,
    /// Spacing of intended starts (open loop).
    pub arrivals: Arrivals,
    /// Unrecorded time before the measured window.
    pub warmup: Duration,
    /// Length of the measured window.
    pub duration: Duration,
    /// Pin worker `i` to core `i mod cores`.
    pub pin: bool,
    /// Seed of every thread's generators.
    pub seed: u64,
}

impl StepSpec {
    /// A closed-loop step.
    pub fn closed(threads: usize, warmup: Duration, duration: Duration) -> Self {
        StepSpec {
            threads,
            target: None,
            arrivals: Arrivals::Even,
            warmup,
            duration,
            pin: true,
            seed: 0x006d_6170_6b6e_6565,
        }
    }

    /// An open-loop step at `rate` txn/s.
    pub fn open(threads: usize, rate: f64, warmup: Duration, duration: Duration) -> Self {
        StepSpec {
            target: Some(rate),
            ..StepSpec::closed(threads, warmup, duration)
        }
    }
}

#[derive(Debug, Default)]
struct WindowSlot {
    ops: u64,
    hist: Option<Histogram<u64>>,
}

struct WorkerOut {
    latency: Histogram<u64>,
    service: Histogram<u64>,
    ops: u64,
    /// When this worker stopped issuing (ns on the step clock).
    stopped_at: u64,
}

struct Times {
    t0: u64,
    measure_start: u64,
    end: u64,
    window_ns: u64,
}

/// Waits until the clock reads `target` (or `end`, or stop), sleeping for
/// long gaps and spinning for short ones. Returns the last reading.
#[inline]
fn pace(clock: &Clock, target: u64, end: u64, stop: &AtomicBool) -> u64 {
    loop {
        let now = clock.ns();
        if now >= target || now >= end {
            return now;
        }
        let gap = target - now;
        if gap > SLEEP_ABOVE_NS {
            if stop.load(Ordering::Relaxed) {
                return now;
            }
            std::thread::sleep(Duration::from_nanos(gap - WAKE_EARLY_NS));
        } else {
            spin_loop();
        }
    }
}

/// Sleeps until the clock reads `target` (or stop), never spinning: the
/// coordinator must not take CPU from the workers, and a sample taken
/// ~60 µs late (timer slack) is fine for 10 ms windows.
fn sleep_until(clock: &Clock, target: u64, stop: &AtomicBool) -> u64 {
    loop {
        let now = clock.ns();
        if now >= target || stop.load(Ordering::Relaxed) {
            return now;
        }
        std::thread::sleep(Duration::from_nanos(target - now));
    }
}

#[allow(clippy::too_many_arguments)] // one call site; a struct would only rename them
fn worker<M: ConcurrentMap<u64, u64>>(
    map: &M,
    workload: &Workload,
    spec: &StepSpec,
    thread: usize,
    clock: &Clock,
    stop: &AtomicBool,
    times: &Times,
    slots: &[Mutex<WindowSlot>],
) -> WorkerOut {
    let threads = spec.threads;
    let mut gen = TxnGen::new(workload, thread, threads, spec.seed);
    let mut schedule = spec
        .target
        .map(|rate| Schedule::new(spec.arrivals, rate, thread, threads, spec.seed));
    let mut latency = new_histogram();
    let mut service = new_histogram();
    // Latency goes only into `win` (3 digits); each flush folds it into
    // `latency` and into the timeline slot, saving a record per transaction.
    let mut win = new_histogram();
    let (mut ops, mut win_ops) = (0u64, 0u64);
    let mut win_idx = 0usize;
    let mut win_end = times.measure_start + times.window_ns;
    let mut flush = |idx: usize, hist: &mut Histogram<u64>, n: &mut u64| {
        if *n == 0 {
            return;
        }
        merge(&mut latency, hist);
        let mut slot = slots[idx.min(slots.len() - 1)]
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        slot.ops += *n;
        slot.hist
            .get_or_insert_with(new_window_histogram)
            .add(&*hist)
            .expect("auto-resizing histograms accept any range");
        drop(slot);
        hist.reset();
        *n = 0;
    };

    let mut now = pace(clock, times.t0, times.end, stop);
    let mut next_intended = schedule.as_mut().map_or(0, |s| times.t0 + s.next_offset());
    while now < times.end && !stop.load(Ordering::Relaxed) {
        let intended = if schedule.is_some() {
            if now < next_intended {
                now = pace(clock, next_intended, times.end, stop);
                if now >= times.end {
                    break;
                }
            }
            next_intended
        } else {
            now
        };
        let start = now;
        gen.run_txn(map);
        let done = clock.ns();
        if done >= times.measure_start {
            let lat = done - intended;
            if schedule.is_some() {
                record(&mut service, done - start);
            }
            if done >= win_end {
                flush(win_idx, &mut win, &mut win_ops);
                win_idx = ((done - times.measure_start) / times.window_ns) as usize;
                win_end = times.measure_start + (win_idx as u64 + 1) * times.window_ns;
            }
            record(&mut win, lat);
            win_ops += 1;
            ops += 1;
        }
        if let Some(s) = schedule.as_mut() {
            next_intended = times.t0 + s.next_offset();
        }
        now = done;
    }
    flush(win_idx, &mut win, &mut win_ops);
    if schedule.is_none() {
        // Closed loop: the service time is the latency.
        service = latency.clone();
    }
    WorkerOut {
        latency,
        service,
        ops,
        stopped_at: now.min(times.end),
    }
}

/// Runs one step against `map` (already prefilled) and measures it.
///
/// Returns a [`Step`] whose `refine` and `bottleneck` are left for the
/// caller; `interrupted` is set when `stop` ended it early.
pub fn run_step<M: ConcurrentMap<u64, u64>>(
    map: &M,
    workload: &Workload,
    spec: &StepSpec,
    clock: &Clock,
    stop: &AtomicBool,
) -> Step {
    let spec = StepSpec {
        threads: spec.threads.max(1),
        ..spec.clone()
    };
    let window_ns = WINDOW.as_nanos() as u64;
    let dur_ns = spec.duration.as_nanos() as u64;
    let n_windows = dur_ns.div_ceil(window_ns) as usize + 1;
    let slots: Vec<Mutex<WindowSlot>> = (0..n_windows).map(|_| Mutex::default()).collect();
    let t0 = clock.ns() + START_DELAY_NS;
    let measure_start = t0 + spec.warmup.as_nanos() as u64;
    let times = Times {
        t0,
        measure_start,
        end: measure_start + dur_ns,
        window_ns,
    };
    let cores = if spec.pin {
        core_affinity::get_core_ids().unwrap_or_default()
    } else {
        Vec::new()
    };

    let (outs, samples) = std::thread::scope(|s| {
        let handles: Vec<_> = (0..spec.threads)
            .map(|i| {
                let core = (!cores.is_empty()).then(|| cores[i % cores.len()]);
                let (spec, times, slots) = (&spec, &times, &slots);
                s.spawn(move || {
                    if let Some(core) = core {
                        // Pinning is best effort: a restricted cpuset refuses it.
                        let _ = core_affinity::set_for_current(core);
                    }
                    worker(map, workload, spec, i, clock, stop, times, slots)
                })
            })
            .collect();

        // Coordinator: counter samples at each window boundary.
        let mut samples: Vec<MapStats> = Vec::with_capacity(n_windows + 1);
        if sleep_until(clock, times.measure_start, stop) >= times.measure_start {
            samples.push(map.stats());
            let mut next = times.measure_start;
            while next < times.end {
                next = (next + window_ns).min(times.end);
                sleep_until(clock, next, stop);
                samples.push(map.stats());
                if stop.load(Ordering::Relaxed) {
                    break;
                }
            }
        }
        let outs: Vec<WorkerOut> = handles
            .into_iter()
            .map(|h| h.join().expect("a worker panicked"))
            .collect();
        (outs, samples)
    });

    let interrupted = stop.load(Ordering::Relaxed);
    let mut latency = new_histogram();
    let mut service = new_histogram();
    let mut ops = 0;
    let mut stopped_at = 0;
    for o in &outs {
        merge(&mut latency, &o.latency);
        merge(&mut service, &o.service);
        ops += o.ops;
        stopped_at = stopped_at.max(o.stopped_at);
    }
    let measured_ns = if interrupted {
        stopped_at.saturating_sub(measure_start)
    } else {
        dur_ns
    };
    let duration_s = measured_ns as f64 / 1e9;
    let achieved = if duration_s > 0.0 {
        ops as f64 / duration_s
    } else {
        0.0
    };

    let counters = match (samples.first(), samples.last()) {
        (Some(first), Some(last)) => to_map(&last.delta(first), false),
        _ => BTreeMap::new(),
    };
    let timeline = slots
        .into_iter()
        .enumerate()
        .map(|(i, slot)| {
            let slot = slot.into_inner().unwrap_or_else(|e| e.into_inner());
            let counters = match (samples.get(i), samples.get(i + 1)) {
                (Some(a), Some(b)) => to_map(&b.delta(a), true),
                _ => BTreeMap::new(),
            };
            Window {
                t_ms: i as u64 * window_ns / 1_000_000,
                ops: slot.ops,
                p99_ns: slot.hist.map_or(0, |h| h.value_at_quantile(0.99)),
                counters,
            }
        })
        .filter(|w| w.ops > 0 || !w.counters.is_empty())
        .collect();

    Step {
        target_ops_per_sec: spec.target,
        achieved_ops_per_sec: achieved,
        ops,
        latency_ns: Percentiles::of(&latency),
        service_ns: Percentiles::of(&service),
        counters,
        timeline,
        duration_s,
        refine: false,
        interrupted,
        bottleneck: None,
        repeats: 1,
        p99_ci_ns: None,
        p99_ci_coverage: None,
    }
}

fn to_map(stats: &MapStats, skip_zero: bool) -> BTreeMap<String, u64> {
    stats
        .counters()
        .into_iter()
        .filter(|&(_, v)| !(skip_zero && v == 0))
        .map(|(k, v)| (k.to_string(), v))
        .collect()
}

/// Builds a fresh map of `kind`, prefills it and runs one step on it.
///
/// Every step gets a fresh map so steps are independent (bisection relies on
/// it) and each starts from the same prefill.
pub fn run_map_step(
    kind: &MapKind,
    hasher: HasherKind,
    workload: &Workload,
    spec: &StepSpec,
    clock: &Clock,
    stop: &AtomicBool,
) -> Step {
    kind.build(
        hasher,
        workload.keys as usize,
        StepVisitor {
            workload,
            spec,
            clock,
            stop,
        },
    )
}

struct StepVisitor<'a> {
    workload: &'a Workload,
    spec: &'a StepSpec,
    clock: &'a Clock,
    stop: &'a AtomicBool,
}

impl MapVisitor<u64, u64> for StepVisitor<'_> {
    type Output = Step;
    fn visit<M: ConcurrentMap<u64, u64> + 'static>(self, map: M) -> Step {
        prefill(&map, self.workload);
        run_step(&map, self.workload, self.spec, self.clock, self.stop)
    }
}

/// A map whose operations do nothing: it measures the harness alone.
///
/// ```
/// use mapknee_load::NoopMap;
/// use mapknee_maps::ConcurrentMap;
/// assert_eq!(NoopMap.insert(1, 2), None);
/// assert_eq!(NoopMap.len(), 0);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct NoopMap;

impl ConcurrentMap<u64, u64> for NoopMap {
    #[inline]
    fn get(&self, _: &u64) -> Option<u64> {
        None
    }
    #[inline]
    fn insert(&self, _: u64, _: u64) -> Option<u64> {
        None
    }
    #[inline]
    fn get_or_insert(&self, _: u64, _: u64) -> Option<u64> {
        None
    }
    #[inline]
    fn compare_and_swap(&self, _: &u64, _: &u64, _: u64) -> bool {
        false
    }
    #[inline]
    fn remove(&self, _: &u64) -> Option<u64> {
        None
    }
    fn len(&self) -> usize {
        0
    }
    fn stats(&self) -> MapStats {
        MapStats::default()
    }
}

/// The harness's own cost per recorded transaction, in ns.
///
/// Each figure is taken from the step's busiest full 10 ms window (window
/// length / transactions in it): on a shared machine the step's average
/// also counts the time other processes held the core, which is not the
/// harness's cost. The averages are kept for comparison.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HarnessCost {
    /// Open loop, always behind schedule: clock read, pacer bookkeeping,
    /// key and op generation, two histogram records.
    pub open_loop_ns: f64,
    /// Closed loop: clock read, key and op generation, one histogram record.
    pub closed_loop_ns: f64,
    /// Open loop, whole-step average.
    pub open_loop_avg_ns: f64,
    /// Closed loop, whole-step average.
    pub closed_loop_avg_ns: f64,
}

/// Measures the harness on [`NoopMap`], one thread, `duration` per loop kind
/// (read-mostly mix, uniform keys, 65,536 keys). `duration` should span a
/// few 10 ms windows.
pub fn harness_cost(clock: &Clock, duration: Duration) -> HarnessCost {
    let (open_loop_ns, open_loop_avg_ns) = harness_per_op(clock, duration, true);
    let (closed_loop_ns, closed_loop_avg_ns) = harness_per_op(clock, duration, false);
    HarnessCost {
        open_loop_ns,
        closed_loop_ns,
        open_loop_avg_ns,
        closed_loop_avg_ns,
    }
}

/// The open-loop half of [`harness_cost`]: what the results record as
/// `machine.harness_ns_per_op`, without spending a closed-loop step on it
/// at every start.
pub fn harness_open_loop_ns(clock: &Clock, duration: Duration) -> f64 {
    harness_per_op(clock, duration, true).0
}

/// (busiest-window, whole-step) ns per transaction on the no-op map.
fn harness_per_op(clock: &Clock, duration: Duration, open: bool) -> (f64, f64) {
    let stop = AtomicBool::new(false);
    let workload = Workload::new(
        crate::DEFAULT_KEYS,
        0.0,
        crate::Dist::Uniform,
        "read-mostly".parse().expect("named mix"),
        1,
    )
    .expect("valid workload");
    let warm = Duration::from_millis(10);
    // An unreachable rate keeps the open loop behind schedule: it never waits.
    let mut spec = if open {
        StepSpec::open(1, 1e12, warm, duration)
    } else {
        StepSpec::closed(1, warm, duration)
    };
    spec.pin = false;
    let step = run_step(&NoopMap, &workload, &spec, clock, &stop);
    let avg = step.duration_s * 1e9 / step.ops.max(1) as f64;
    // Every window but the last is full.
    let window_ns = WINDOW.as_nanos() as f64;
    let full = step.timeline.len().saturating_sub(1);
    let best = step.timeline[..full]
        .iter()
        .map(|w| window_ns / w.ops.max(1) as f64)
        .fold(avg, f64::min);
    (best, avg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Dist;

    fn workload() -> Workload {
        Workload::new(1024, 0.5, Dist::Uniform, "mixed".parse().unwrap(), 1).unwrap()
    }

    #[test]
    fn open_loop_at_a_low_rate_achieves_the_offered_rate() {
        // 2,000 txn/s for 200 ms: 400 arrivals, a no-op map keeps up easily.
        let clock = Clock::new();
        let stop = AtomicBool::new(false);
        let spec = StepSpec::open(
            2,
            2000.0,
            Duration::from_millis(20),
            Duration::from_millis(200),
        );
        let step = run_step(&NoopMap, &workload(), &spec, &clock, &stop);
        assert!((390..=410).contains(&step.ops), "{}", step.ops);
        assert!(!step.interrupted);
        assert!(step.latency_ns.p50 >= step.service_ns.p50);
        assert_eq!(step.timeline.iter().map(|w| w.ops).sum::<u64>(), step.ops);
    }

    #[test]
    fn closed_loop_counts_and_records_every_transaction() {
        let clock = Clock::new();
        let stop = AtomicBool::new(false);
        let spec = StepSpec::closed(1, Duration::from_millis(5), Duration::from_millis(50));
        let step = run_step(&NoopMap, &workload(), &spec, &clock, &stop);
        assert!(step.ops > 0);
        assert_eq!(step.target_ops_per_sec, None);
        assert_eq!(step.latency_ns, step.service_ns);
        assert_eq!(step.timeline.iter().map(|w| w.ops).sum::<u64>(), step.ops);
    }

    #[test]
    fn a_raised_stop_flag_ends_the_step_as_interrupted() {
        let clock = Clock::new();
        let stop = AtomicBool::new(true);
        let spec = StepSpec::closed(1, Duration::ZERO, Duration::from_secs(60));
        let step = run_step(&NoopMap, &workload(), &spec, &clock, &stop);
        assert!(step.interrupted);
        assert_eq!(step.ops, 0);
    }

    #[test]
    fn counters_come_from_the_map_over_the_window() {
        let clock = Clock::new();
        let stop = AtomicBool::new(false);
        let spec = StepSpec::open(
            1,
            10_000.0,
            Duration::from_millis(5),
            Duration::from_millis(50),
        );
        let step = run_map_step(
            &MapKind::Mutex,
            HasherKind::default(),
            &workload(),
            &spec,
            &clock,
            &stop,
        );
        // One lock acquisition per map operation; the coordinator's samples
        // bracket the window, so the count is close to (not exactly) `ops`.
        let acq = step.counters["lock_acquisitions"];
        assert!(
            acq > 0 && acq.abs_diff(step.ops) < step.ops / 5 + 10,
            "{acq} vs {}",
            step.ops
        );
    }
}
