//! A bottleneck label per step, decided from what the step measured: its
//! mean latency and service time, its counters and its 10 ms timeline.
//! Every label carries the figures it was decided from (the step's
//! `bottleneck_figures` in the JSON, named as below).
//!
//! # Figures
//!
//! Per step, with txns the transactions completed and map operations =
//! txns × operations per transaction:
//! - `utilisation` = Σ service / (threads × window) = service mean × txns /
//!   (threads × duration): the share of the workers' time spent inside
//!   transactions;
//! - `latency_mean_ns`, `service_mean_ns`, and `queueing_ns` = latency mean
//!   − service mean: per transaction, the wait between its intended and its
//!   actual start; `expected_queueing_ns`: the wait an M/M/c queue (c =
//!   threads) predicts at this utilisation and service time;
//! - lock: `lock_wait_ns_per_txn`, and that wait as a share of the service
//!   time (`lock_wait_share_of_service`) and of the latency
//!   (`lock_wait_share_of_latency`);
//! - sync.Map: `slow_path_per_op`, map operations that took the mutex (its
//!   misses are among them), `misses_per_op`, `rebuilds_per_txn`
//!   (promotions + dirty rebuilds) and `entries_copied_per_txn`;
//! - growth: `buckets_evacuated_per_txn`, and `growth_op_share` =
//!   evacuated / (2 × map operations): a write during a growth evacuates at
//!   most two old buckets, so at least that share of operations carried
//!   growth work;
//! - timeline: `windows` (those with completions) and `spike_windows`,
//!   whose p99 is above the knee rule's factor (3×) times the median window
//!   p99. For each mechanism m, `spike_share_m` is the share of spike
//!   windows in which its events moved (lock: contended acquisitions;
//!   syncmap: promotions or dirty rebuilds; growth: growths or
//!   evacuations), `calm_share_m` the same over the other windows.
//!
//! - stalls (open loop): `typical_stall_ns`, the step's typical window's
//!   longest stall, and `stall_share` = stalled time / (threads × window),
//!   the share of the workers' time the machine took while they waited
//!   ([`mapknee_load::Stalls`]); reported beside the label, not decided on.
//!
//! Figures of a counter group the map does not report are left out.
//!
//! # Explained shares
//!
//! Each mechanism's `explained_m` is the share of the step's latency it
//! accounts for: the larger of its steady share and its spike share.
//! - Steady shares are lower bounds of a share of the map's time. Lock
//!   wait is spent *inside* service time (the operation's clock runs while
//!   it waits for the lock), so the lock's is lock wait / service: the part
//!   of the workers' busy time it costs; and since the queue grows with
//!   service time, removing the wait would shorten the queue by at least as
//!   large a share, making it a lower bound of the latency it explains
//!   too. Lock wait / (latency − service) is no share: it divides a part of
//!   service by the queue, exceeds 1 whenever the queue is shorter than the
//!   wait, and diverges at low load where the queue is near zero. Lock wait
//!   / latency counts only the direct part; it is reported, not decided on.
//!   sync.Map's is `slow_path_per_op`, growth's `growth_op_share`: both
//!   count operations that did the fast path's work and then more, so their
//!   share of operations is at most their share of the time. sync.Map's
//!   mutex is its slow path's, so there the lock's and the slow path's
//!   shares overlap; they are compared, never added.
//! - The spike share is `spike_share_m − calm_share_m` (at least 0): how
//!   much more often the mechanism moved in spike windows than in calm
//!   ones, i.e. the share of the tail it accompanies beyond its background
//!   rate. A lock contended in every window explains no spike.
//!
//! # Decision
//!
//! 1. the mechanism with the largest explained share, if it is at least
//!    [`Thresholds::min_share`] (0.1): `lock-contention`, `syncmap-misses`
//!    or `growth`;
//! 2. `cpu` if utilisation ≥ [`Thresholds::busy_utilisation`] (0.9): the
//!    workers were busy with the map's own work and the queue needs no
//!    other cause;
//! 3. `saturation` if achieved < 95 % of offered: it fell behind, with no
//!    mechanism and idle time left;
//! 4. `cpu` if queueing ≤ max(service, expected queueing): no notable wait
//!    beyond the map's own work and what its utilisation predicts;
//! 5. `unexplained`: the latency is neither the map's work, nor its queue,
//!    nor a mechanism it counts: the harness or the OS (preemption, other
//!    load on the machine).

use std::collections::BTreeMap;

use mapknee_load::{Step, Window};

use crate::stats::median;
use crate::KneeRules;

/// What limited a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bottleneck {
    /// The map's own work: workers busy, or no notable waiting.
    Cpu,
    /// Threads waited for a lock.
    LockContention,
    /// sync.Map's slow path: misses, promotions and dirty rebuilds.
    SyncMapMisses,
    /// The map grew during the step.
    Growth,
    /// Achieved fell short of offered, with no mechanism to blame.
    Saturation,
    /// Latency beyond the map's work and its queue, with no mechanism to
    /// blame and the workers mostly idle: the harness or the OS.
    Unexplained,
}

impl Bottleneck {
    /// The label results and tables carry.
    ///
    /// ```
    /// assert_eq!(mapknee_analyze::Bottleneck::LockContention.label(), "lock-contention");
    /// ```
    pub fn label(self) -> &'static str {
        match self {
            Bottleneck::Cpu => "cpu",
            Bottleneck::LockContention => "lock-contention",
            Bottleneck::SyncMapMisses => "syncmap-misses",
            Bottleneck::Growth => "growth",
            Bottleneck::Saturation => "saturation",
            Bottleneck::Unexplained => "unexplained",
        }
    }
}

/// The two cut-offs of the decision (see the module docs).
///
/// ```
/// let t = mapknee_analyze::Thresholds::default();
/// assert_eq!((t.busy_utilisation, t.min_share), (0.9, 0.1));
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// Utilisation from which the queue is put down to busy workers
    /// (`cpu`); must be at most 1, so the M/M/c prediction used below it
    /// is finite. 0.9: there an M/M/1 queue already waits 9 service times,
    /// and the open loop's backlog barely drains between bursts.
    pub busy_utilisation: f64,
    /// The smallest explained share of the latency that names a mechanism.
    /// 0.1 is a choice, not a measurement: a mechanism costing less than a
    /// tenth of the latency cannot by itself cause the knee rule's
    /// threefold p99 rise.
    pub min_share: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            busy_utilisation: 0.9,
            min_share: 0.1,
        }
    }
}

/// A step's label and the figures it was decided from.
#[derive(Debug, Clone, PartialEq)]
pub struct Attribution {
    /// What limited the step.
    pub bottleneck: Bottleneck,
    /// The figures, by the names in the module docs; all finite.
    pub figures: BTreeMap<String, f64>,
}

/// Counter groups, by the `MapStats::counters` names a map reports when it
/// has the group.
const LOCK: &[&str] = &["lock_acquisitions", "lock_contended", "lock_wait_ns"];
const SYNCMAP: &[&str] = &[
    "snapshot_hits",
    "misses",
    "promotions",
    "dirty_rebuilds",
    "entries_copied",
    "expunges",
    "slow_path",
];
const GROWTH: &[&str] = &[
    "growths_doubling",
    "growths_same_size",
    "buckets_evacuated",
    "overflow_buckets",
    "max_evacuation_ns",
];

/// Labels `step`, run with `threads` workers and `ops_per_txn` map
/// operations per transaction, and returns the figures behind the label.
///
/// ```
/// use mapknee_analyze::{attribute, KneeRules, Thresholds};
/// # use mapknee_load::{Percentiles, Step};
/// // 2 threads × 1 s; 100,000 txns of 10 µs service keep them 50 % busy,
/// // and 4 µs of each is lock wait: 40 % of the service time.
/// let step = Step {
///     target_ops_per_sec: Some(1e5), achieved_ops_per_sec: 1e5, ops: 100_000,
///     duration_s: 1.0,
///     latency_ns: Percentiles { mean: 30_000.0, ..Default::default() },
///     service_ns: Percentiles { mean: 10_000.0, ..Default::default() },
///     counters: [("lock_acquisitions", 100_000), ("lock_wait_ns", 400_000_000)]
///         .map(|(k, v)| (k.to_string(), v)).into(),
///     ..Default::default()
/// };
/// let a = attribute(&step, 2, 1, &KneeRules::default(), &Thresholds::default());
/// assert_eq!(a.bottleneck.label(), "lock-contention");
/// assert_eq!(a.figures["utilisation"], 0.5);
/// assert_eq!(a.figures["lock_wait_share_of_service"], 0.4);
/// ```
pub fn attribute(
    step: &Step,
    threads: usize,
    ops_per_txn: u32,
    rules: &KneeRules,
    t: &Thresholds,
) -> Attribution {
    let c = |name: &str| step.counters.get(name).copied().unwrap_or(0) as f64;
    let has = |group: &[&str]| group.iter().any(|k| step.counters.contains_key(*k));
    let mut f = Figures::new();

    let txns = step.ops as f64;
    let map_ops = txns * f64::from(ops_per_txn.max(1));
    let threads = threads.max(1);
    let latency = put(&mut f, "latency_mean_ns", step.latency_ns.mean);
    let service = put(&mut f, "service_mean_ns", step.service_ns.mean);
    let queueing = put(&mut f, "queueing_ns", (latency - service).max(0.0));
    let busy = ratio(service * txns, threads as f64 * step.duration_s * 1e9);
    let utilisation = put(&mut f, "utilisation", busy);

    if let Some(st) = step.stalls {
        // Reported, not decided on: the knee rules already hold a step's
        // p99 to its stalls.
        put(&mut f, "typical_stall_ns", st.typical_longest_ns as f64);
        put(&mut f, "stall_share", st.share(threads, step.duration_s));
    }

    let spikes = Spikes::of(&step.timeline, rules.p99_factor);
    put(
        &mut f,
        "windows",
        (spikes.spike.len() + spikes.calm.len()) as f64,
    );
    put(&mut f, "spike_windows", spikes.spike.len() as f64);

    let mut explained: Vec<(Bottleneck, &str, f64)> = Vec::new();
    if has(LOCK) {
        let spike = spikes.excess(&mut f, "lock", &["lock_contended"]);
        let wait = put(
            &mut f,
            "lock_wait_ns_per_txn",
            ratio(c("lock_wait_ns"), txns),
        );
        put(&mut f, "lock_wait_share_of_latency", ratio(wait, latency));
        let steady = put(&mut f, "lock_wait_share_of_service", ratio(wait, service));
        explained.push((Bottleneck::LockContention, "lock", steady.max(spike)));
    }
    if has(SYNCMAP) {
        let spike = spikes.excess(&mut f, "syncmap", &["promotions", "dirty_rebuilds"]);
        put(&mut f, "misses_per_op", ratio(c("misses"), map_ops));
        let rebuilds = c("promotions") + c("dirty_rebuilds");
        put(&mut f, "rebuilds_per_txn", ratio(rebuilds, txns));
        put(
            &mut f,
            "entries_copied_per_txn",
            ratio(c("entries_copied"), txns),
        );
        let steady = put(&mut f, "slow_path_per_op", ratio(c("slow_path"), map_ops));
        explained.push((Bottleneck::SyncMapMisses, "syncmap", steady.max(spike)));
    }
    if has(GROWTH) {
        let events = ["growths_doubling", "growths_same_size", "buckets_evacuated"];
        let spike = spikes.excess(&mut f, "growth", &events);
        let evacuated = c("buckets_evacuated");
        put(&mut f, "buckets_evacuated_per_txn", ratio(evacuated, txns));
        let steady = put(&mut f, "growth_op_share", ratio(evacuated, 2.0 * map_ops));
        explained.push((Bottleneck::Growth, "growth", steady.max(spike)));
    }
    for &(_, name, share) in &explained {
        put(&mut f, &format!("explained_{name}"), share);
    }

    let mechanism = explained
        .iter()
        .filter(|&&(_, _, share)| share >= t.min_share)
        .max_by(|a, b| a.2.total_cmp(&b.2))
        .map(|&(b, _, _)| b);
    let bottleneck = if let Some(b) = mechanism {
        b
    } else if utilisation >= t.busy_utilisation {
        Bottleneck::Cpu
    } else if rules.saturated(step) {
        Bottleneck::Saturation
    } else {
        // Below `busy_utilisation` ≤ 1, so the prediction is finite.
        let predicted = mmc_queueing(threads, utilisation, service);
        let expected = put(&mut f, "expected_queueing_ns", predicted);
        if queueing <= service.max(expected) {
            Bottleneck::Cpu
        } else {
            Bottleneck::Unexplained
        }
    };
    Attribution {
        bottleneck,
        figures: f,
    }
}

/// Figures by name, as `Step::bottleneck_figures` carries them.
type Figures = BTreeMap<String, f64>;

/// Records figure `name` and returns it, so a figure is computed once and
/// the decision reads the value the JSON shows.
fn put(f: &mut Figures, name: &str, v: f64) -> f64 {
    f.insert(name.to_string(), v);
    v
}

/// `x / n`, or 0 when there is nothing to divide by (an empty step), so
/// every figure stays finite and serialisable.
fn ratio(x: f64, n: f64) -> f64 {
    if n > 0.0 {
        x / n
    } else {
        0.0
    }
}

/// The mean wait in queue of M/M/c with `c` servers each busy `u` of the
/// time (u < 1) and mean service `s`: Erlang C's probability of waiting ×
/// s / (c − a), with offered load a = c·u.
fn mmc_queueing(c: usize, u: f64, s: f64) -> f64 {
    let (c, a) = (c as f64, c as f64 * u);
    // Erlang B by its recurrence B(k) = a·B(k−1) / (k + a·B(k−1)), which
    // stays in [0, 1] where the closed form's factorials would overflow.
    let mut b = 1.0;
    let mut k = 1.0;
    while k <= c {
        b = a * b / (k + a * b);
        k += 1.0;
    }
    let waits = c * b / (c - a * (1.0 - b));
    waits * s / (c - a)
}

/// A step's timeline split into spike and calm windows. Windows without
/// completions have no p99 and are left out.
struct Spikes<'a> {
    spike: Vec<&'a Window>,
    calm: Vec<&'a Window>,
}

impl<'a> Spikes<'a> {
    /// Spike windows have p99 > `factor` × the median window p99.
    fn of(timeline: &'a [Window], factor: f64) -> Self {
        let measured: Vec<&Window> = timeline.iter().filter(|w| w.ops > 0).collect();
        let p99s: Vec<f64> = measured.iter().map(|w| w.p99_ns as f64).collect();
        let bar = factor * median(&p99s);
        // An empty timeline has a NaN median: no window is a spike.
        let (spike, calm) = measured.into_iter().partition(|w| w.p99_ns as f64 > bar);
        Spikes { spike, calm }
    }

    /// The shares of spike and of calm windows in which any of `events`
    /// moved (0 when there are no such windows).
    fn shares(&self, events: &[&str]) -> (f64, f64) {
        let share = |ws: &[&Window]| {
            let moved = ws
                .iter()
                .filter(|w| {
                    events
                        .iter()
                        .any(|e| w.counters.get(*e).is_some_and(|&v| v > 0))
                })
                .count();
            ratio(moved as f64, ws.len() as f64)
        };
        (share(&self.spike), share(&self.calm))
    }

    /// Records `spike_share_{name}` and `calm_share_{name}` for `events`
    /// and returns how much the first exceeds the second (at least 0).
    fn excess(&self, f: &mut Figures, name: &str, events: &[&str]) -> f64 {
        let (in_spikes, in_calm) = self.shares(events);
        put(f, &format!("spike_share_{name}"), in_spikes);
        put(f, &format!("calm_share_{name}"), in_calm);
        (in_spikes - in_calm).max(0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::step;

    /// 100,000 txns of 1 op over 1 s, offered 1e5/s, with these means and
    /// counters; run with 2 threads, so utilisation = service / 20,000 ns.
    fn measured(latency: f64, service: f64, counters: &[(&str, u64)]) -> Step {
        let mut s = step(1e5, 1e5, 0);
        s.latency_ns.mean = latency;
        s.service_ns.mean = service;
        s.counters = counters.iter().map(|&(k, v)| (k.to_string(), v)).collect();
        s
    }

    fn attributed(s: &Step) -> Attribution {
        attribute(s, 2, 1, &KneeRules::default(), &Thresholds::default())
    }

    fn label(s: &Step) -> &'static str {
        attributed(s).bottleneck.label()
    }

    #[test]
    fn busy_workers_with_no_mechanism_are_cpu() {
        // 19 µs × 100,000 / 2 s = 95 % busy; 100 ns of lock wait per txn
        // is 0.5 % of service, below the minimum share.
        let counters = [("lock_acquisitions", 100_000), ("lock_wait_ns", 10_000_000)];
        let busy = measured(200_000.0, 19_000.0, &counters);
        let a = attributed(&busy);
        assert_eq!(a.bottleneck, Bottleneck::Cpu);
        assert!((a.figures["utilisation"] - 0.95).abs() < 1e-9);
        assert!((a.figures["lock_wait_share_of_service"] - 100.0 / 19_000.0).abs() < 1e-9);
        // The same queue with the workers half idle is not theirs.
        assert_eq!(
            label(&measured(200_000.0, 10_000.0, &counters)),
            "unexplained"
        );
    }

    #[test]
    fn idle_workers_with_a_long_queue_and_no_counters_are_unexplained() {
        let a = attributed(&measured(50_000.0, 100.0, &[]));
        assert_eq!(a.bottleneck, Bottleneck::Unexplained);
        assert_eq!(a.figures["queueing_ns"], 49_900.0);
        assert!(a.figures["utilisation"] < 0.01);
        // A queue shorter than the service time is no notable wait.
        assert_eq!(label(&measured(150.0, 100.0, &[])), "cpu");
    }

    #[test]
    fn a_queue_within_what_utilisation_predicts_is_cpu() {
        // 80 % busy on 2 threads: M/M/2 waits 0.711 / 0.4 ≈ 1.78 services.
        let s = 16_000.0;
        let within = attributed(&measured(s + 1.25 * s, s, &[]));
        assert_eq!(within.bottleneck, Bottleneck::Cpu);
        let expected = within.figures["expected_queueing_ns"] / s;
        assert!((expected - 1.778).abs() < 0.01, "{expected}");
        assert_eq!(label(&measured(s + 2.5 * s, s, &[])), "unexplained");
    }

    #[test]
    fn mmc_queueing_with_one_server_is_mm1() {
        for u in [0.1, 0.5, 0.8] {
            let q = mmc_queueing(1, u, 100.0);
            assert!((q - u / (1.0 - u) * 100.0).abs() < 1e-9, "{u}: {q}");
        }
    }

    #[test]
    fn lock_wait_dominating_is_lock_contention() {
        // 4 µs of lock wait per txn: 40 % of the 10 µs service; 1 % of
        // operations took sync.Map's slow path.
        let s = measured(
            30_000.0,
            10_000.0,
            &[("lock_wait_ns", 400_000_000), ("slow_path", 1_000)],
        );
        let a = attributed(&s);
        assert_eq!(a.bottleneck, Bottleneck::LockContention);
        assert_eq!(a.figures["lock_wait_ns_per_txn"], 4_000.0);
        assert_eq!(a.figures["explained_lock"], 0.4);
        assert!((a.figures["lock_wait_share_of_latency"] - 4_000.0 / 30_000.0).abs() < 1e-9);
        assert_eq!(a.figures["explained_syncmap"], 0.01);
        // 5 % of service waiting is below the minimum: nothing to blame.
        let little = measured(30_000.0, 10_000.0, &[("lock_wait_ns", 50_000_000)]);
        assert_eq!(label(&little), "unexplained");
    }

    #[test]
    fn slow_path_dominating_is_syncmap_misses() {
        // 60 % of operations took the mutex: more than the 40 % lock wait.
        let s = measured(
            30_000.0,
            10_000.0,
            &[
                ("lock_wait_ns", 400_000_000),
                ("slow_path", 60_000),
                ("misses", 50_000),
                ("promotions", 10),
                ("entries_copied", 500_000),
            ],
        );
        let a = attributed(&s);
        assert_eq!(a.bottleneck, Bottleneck::SyncMapMisses);
        assert_eq!(a.figures["slow_path_per_op"], 0.6);
        assert_eq!(a.figures["misses_per_op"], 0.5);
        assert_eq!(a.figures["entries_copied_per_txn"], 5.0);
    }

    #[test]
    fn ops_per_txn_dilutes_the_slow_path_share() {
        // 100,000 txns × 10 ops: 20,000 slow-path ops are 2 % of them.
        let s = measured(150.0, 100.0, &[("slow_path", 20_000)]);
        let a = attribute(&s, 2, 10, &KneeRules::default(), &Thresholds::default());
        assert_eq!(a.bottleneck, Bottleneck::Cpu);
        assert_eq!(a.figures["slow_path_per_op"], 0.02);
        assert_eq!(label(&s), "syncmap-misses");
    }

    /// 100 windows of p99 1 µs; the listed ones spike to 10 µs. Each window
    /// gets the counters `events` gives it.
    fn timeline(spikes: &[u64], events: impl Fn(u64) -> Vec<(&'static str, u64)>) -> Vec<Window> {
        (0..100)
            .map(|i| Window {
                t_ms: i * 10,
                ops: 1_000,
                p99_ns: if spikes.contains(&i) { 10_000 } else { 1_000 },
                counters: events(i)
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect(),
                longest_stall_ns: 0,
            })
            .collect()
    }

    #[test]
    fn spike_windows_matched_to_promotions_are_syncmap_misses() {
        let spikes = [10, 40, 70, 90];
        let mut s = measured(150.0, 100.0, &[("slow_path", 1_000), ("promotions", 4)]);
        s.timeline = timeline(&spikes, |i| {
            if spikes.contains(&i) {
                vec![("promotions", 1)]
            } else {
                vec![]
            }
        });
        let a = attributed(&s);
        assert_eq!(a.bottleneck, Bottleneck::SyncMapMisses);
        assert_eq!(
            (a.figures["spike_windows"], a.figures["windows"]),
            (4.0, 100.0)
        );
        assert_eq!(a.figures["spike_share_syncmap"], 1.0);
        assert_eq!(a.figures["calm_share_syncmap"], 0.0);
        // Promotions in every window accompany the spikes no more than the
        // calm windows: they explain nothing.
        s.timeline = timeline(&spikes, |_| vec![("promotions", 1)]);
        let a = attributed(&s);
        assert_eq!(a.bottleneck, Bottleneck::Cpu);
        assert_eq!(a.figures["explained_syncmap"], 0.01);
    }

    #[test]
    fn evacuating_writes_or_spikes_with_growth_are_growth() {
        // 40,000 buckets evacuated: at least 20 % of operations did so.
        let steady = measured(150.0, 100.0, &[("buckets_evacuated", 40_000)]);
        let a = attributed(&steady);
        assert_eq!(a.bottleneck, Bottleneck::Growth);
        assert_eq!(a.figures["growth_op_share"], 0.2);
        let mut spiky = measured(150.0, 100.0, &[("growths_doubling", 1)]);
        spiky.timeline = timeline(&[50], |i| {
            if i == 50 {
                vec![("growths_doubling", 1)]
            } else {
                vec![]
            }
        });
        assert_eq!(label(&spiky), "growth");
    }

    #[test]
    fn a_shortfall_is_saturation_unless_the_workers_were_busy() {
        // Half of the offered 1e5/s completed, each txn in 100 ns.
        let mut short = measured(1e6, 100.0, &[]);
        (short.achieved_ops_per_sec, short.ops) = (5e4, 50_000);
        assert_eq!(label(&short), "saturation");
        // 38 µs × 50,000 / 2 s: 95 % busy.
        short.service_ns.mean = 38_000.0;
        assert_eq!(label(&short), "cpu");
    }

    #[test]
    fn an_empty_step_has_finite_figures() {
        let a = attributed(&Step {
            counters: [
                ("lock_wait_ns", 0),
                ("slow_path", 0),
                ("buckets_evacuated", 0),
            ]
            .map(|(k, v)| (k.to_string(), v))
            .into(),
            ..Default::default()
        });
        assert_eq!(a.bottleneck, Bottleneck::Cpu);
        assert!(a.figures.values().all(|v| v.is_finite()), "{:?}", a.figures);
    }
}
