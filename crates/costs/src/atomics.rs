//! `mapknee atomics`: what the primitives the maps are built from cost on
//! this machine (the study's 3.2), each alone, with two threads on the same
//! word, with two threads on adjacent words of one cache line (false
//! sharing), and with two threads on lines of their own (padded).

use std::hint::black_box;
use std::sync::atomic::{fence, AtomicU64, Ordering, Ordering::*};
use std::sync::{Mutex, RwLock};
use std::time::Instant;

use crossbeam_utils::CachePadded;
use mapknee_load::Machine;
use serde::{Deserialize, Serialize};

use crate::bench::{self, BenchConfig, Estimate, Samples};
use crate::breakdown::Breakdown;
use crate::hw::HwStatus;

/// Where the two threads' data lies.
pub const LAYOUTS: [&str; 4] = ["alone", "shared", "false-shared", "padded"];

/// A whole `atomics` result file (`kind: "atomics"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AtomicsResults {
    /// Always [`mapknee_load::SCHEMA`].
    pub schema: String,
    /// Always `"atomics"`.
    pub kind: String,
    /// The machine the numbers came from.
    pub machine: Machine,
    /// Samples per benchmark.
    pub samples: usize,
    /// Target length of one sample, ms.
    pub sample_ms: f64,
    /// One per primitive × layout measured.
    pub rows: Vec<AtomicsRow>,
    /// SyncMap's load in parts, against the whole, one per map size
    /// (empty with `--no-breakdown`).
    #[serde(default)]
    pub breakdowns: Vec<Breakdown>,
    /// Whether hardware cache counters exist here.
    pub hw_counters: HwStatus,
    /// Wall time of the whole command, in seconds.
    #[serde(default)]
    pub elapsed_s: f64,
}

/// One primitive in one layout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AtomicsRow {
    /// E.g. `fetch_add`, `mutex lock+unlock`.
    pub primitive: String,
    /// The memory ordering (`-` for locks and baselines).
    pub ordering: String,
    /// One of [`LAYOUTS`].
    pub layout: String,
    /// ns per operation (per thread, with two threads).
    pub estimate: Estimate,
}

/// Two words in one 64-byte cache line (the false-sharing layout).
#[repr(C, align(64))]
struct OneLine<T> {
    a: T,
    b: T,
}

/// Every benchmark: `(primitive, ordering, layout)` in the order measured.
pub fn catalogue() -> Vec<(&'static str, &'static str, &'static str)> {
    let mut v = Vec::new();
    let mut sweep = |p: &'static str, o: &'static str, layouts: &[&'static str]| {
        for l in layouts {
            v.push((p, o, *l));
        }
    };
    sweep("empty loop", "-", &["alone"]);
    sweep("plain load", "-", &["alone"]);
    sweep("plain add", "-", &["alone"]);
    for (p, ords) in ATOMIC_OPS {
        for o in *ords {
            sweep(p, o, &LAYOUTS);
        }
    }
    sweep("store+fence", "SeqCst", &["alone"]);
    for p in LOCKS {
        sweep(p, "-", &LAYOUTS);
    }
    sweep("epoch pin+unpin", "-", &["alone", "shared"]);
    v
}

const ATOMIC_OPS: &[(&str, &[&str])] = &[
    ("load", &["Relaxed", "Acquire", "SeqCst"]),
    ("store", &["Relaxed", "Release", "SeqCst"]),
    ("swap", &["Relaxed", "AcqRel", "SeqCst"]),
    ("cas", &["Relaxed", "AcqRel", "SeqCst"]),
    ("fetch_add", &["Relaxed", "AcqRel", "SeqCst"]),
];

const LOCKS: [&str; 3] = [
    "mutex lock+unlock",
    "rwlock read+unlock",
    "rwlock write+unlock",
];

fn ordering(name: &str) -> Ordering {
    match name {
        "Acquire" => Acquire,
        "Release" => Release,
        "AcqRel" => AcqRel,
        "SeqCst" => SeqCst,
        _ => Relaxed,
    }
}

/// The failure ordering a compare-exchange may use with `success`.
fn failure(success: Ordering) -> Ordering {
    match success {
        AcqRel | Acquire => Acquire,
        SeqCst => SeqCst,
        _ => Relaxed,
    }
}

// The orderings are passed as constants through `#[inline(always)]`
// functions, so each benchmark's loop is compiled with its ordering fixed
// (no match per operation).
#[inline(always)]
fn atomic_op(p: &str, o: Ordering, x: &AtomicU64, i: u64) {
    match p {
        "load" => {
            black_box(x.load(o));
        }
        "store" => x.store(i, o),
        "swap" => {
            black_box(x.swap(i, o));
        }
        "cas" => {
            // One attempt: load, then compare-exchange to the next value
            // (it fails when the other thread got in between).
            let cur = x.load(Relaxed);
            black_box(
                x.compare_exchange(cur, cur.wrapping_add(1), o, failure(o))
                    .is_ok(),
            );
        }
        _ => {
            black_box(x.fetch_add(1, o));
        }
    }
}

/// Runs one atomic benchmark in `layout`.
fn atomic(cfg: &BenchConfig, p: &'static str, o: Ordering, layout: &str) -> Option<Samples> {
    macro_rules! with {
        ($p:literal, $o:expr) => {
            run_atomic(cfg, layout, |x: &AtomicU64, i| atomic_op($p, $o, x, i))
        };
    }
    macro_rules! orderings {
        ($p:literal) => {
            match o {
                Relaxed => with!($p, Relaxed),
                Acquire => with!($p, Acquire),
                Release => with!($p, Release),
                AcqRel => with!($p, AcqRel),
                _ => with!($p, SeqCst),
            }
        };
    }
    match p {
        "load" => orderings!("load"),
        "store" => orderings!("store"),
        "swap" => orderings!("swap"),
        "cas" => orderings!("cas"),
        _ => orderings!("fetch_add"),
    }
}

fn run_atomic(
    cfg: &BenchConfig,
    layout: &str,
    op: impl Fn(&AtomicU64, u64) + Sync,
) -> Option<Samples> {
    match layout {
        "alone" => {
            let x = CachePadded::new(AtomicU64::new(0));
            Some(bench::one_samples(cfg, |i| op(&x, i)))
        }
        "shared" => {
            let x = CachePadded::new(AtomicU64::new(0));
            bench::two_samples(cfg, |i| op(&x, i), |i| op(&x, i))
        }
        "false-shared" => {
            let line = OneLine {
                a: AtomicU64::new(0),
                b: AtomicU64::new(0),
            };
            bench::two_samples(cfg, |i| op(&line.a, i), |i| op(&line.b, i))
        }
        _ => {
            let (a, b) = (
                CachePadded::new(AtomicU64::new(0)),
                CachePadded::new(AtomicU64::new(0)),
            );
            bench::two_samples(cfg, |i| op(&a, i), |i| op(&b, i))
        }
    }
}

/// Runs one lock benchmark in `layout`.
fn lock<L: Sync>(
    cfg: &BenchConfig,
    layout: &str,
    make: impl Fn() -> L,
    op: impl Fn(&L) + Sync,
) -> Option<Samples> {
    match layout {
        "alone" => {
            let l = CachePadded::new(make());
            Some(bench::one_samples(cfg, |_| op(&l)))
        }
        "shared" => {
            let l = CachePadded::new(make());
            bench::two_samples(cfg, |_| op(&l), |_| op(&l))
        }
        "false-shared" => {
            // Only a true false-sharing layout when both locks fit one line.
            if 2 * std::mem::size_of::<L>() > 64 {
                return None;
            }
            let line = OneLine {
                a: make(),
                b: make(),
            };
            bench::two_samples(cfg, |_| op(&line.a), |_| op(&line.b))
        }
        _ => {
            let (a, b) = (CachePadded::new(make()), CachePadded::new(make()));
            bench::two_samples(cfg, |_| op(&a), |_| op(&b))
        }
    }
}

fn one_bench(cfg: &BenchConfig, p: &'static str, o: &str, layout: &str) -> Option<Samples> {
    match p {
        "empty loop" => Some(bench::one_samples(cfg, |i| {
            black_box(i);
        })),
        "plain load" => {
            let x = 7u64;
            Some(bench::one_samples(cfg, |_| {
                black_box(*black_box(&x));
            }))
        }
        "plain add" => {
            let mut x = 0u64;
            Some(bench::one_samples(cfg, |i| {
                let r = black_box(&mut x);
                *r = r.wrapping_add(i);
            }))
        }
        "store+fence" => {
            // A fence with no memory access around it is removed by the
            // compiler; a Relaxed store before it is the usual pattern
            // (store, then fence, as a Dekker-style handshake does).
            let x = CachePadded::new(AtomicU64::new(0));
            Some(bench::one_samples(cfg, |i| {
                x.store(i, Relaxed);
                fence(SeqCst);
            }))
        }
        "mutex lock+unlock" => lock(
            cfg,
            layout,
            || Mutex::new(0u64),
            |m| {
                let mut g = m.lock().unwrap_or_else(|e| e.into_inner());
                *g = g.wrapping_add(1);
            },
        ),
        "rwlock read+unlock" => lock(
            cfg,
            layout,
            || RwLock::new(0u64),
            |m| {
                black_box(*m.read().unwrap_or_else(|e| e.into_inner()));
            },
        ),
        "rwlock write+unlock" => lock(
            cfg,
            layout,
            || RwLock::new(0u64),
            |m| {
                let mut g = m.write().unwrap_or_else(|e| e.into_inner());
                *g = g.wrapping_add(1);
            },
        ),
        "epoch pin+unpin" => {
            let op = |_| drop(black_box(crossbeam_epoch::pin()));
            if layout == "alone" {
                Some(bench::one_samples(cfg, op))
            } else {
                bench::two_samples(cfg, op, op)
            }
        }
        _ => atomic(cfg, p, ordering(o), layout),
    }
}

/// The catalogue entries `measure` runs for `only` (all when `None`).
fn selected(only: Option<&str>) -> Vec<(&'static str, &'static str, &'static str)> {
    catalogue()
        .into_iter()
        .filter(|(p, o, l)| only.is_none_or(|f| format!("{p} {o} {l}").contains(f)))
        .collect()
}

/// The rounds `measure` runs: at least one, at most one per sample.
fn rounds_of(cfg: &BenchConfig, rounds: usize) -> usize {
    rounds.clamp(1, cfg.samples.max(1))
}

/// How many benchmarks `measure` runs (its progress callback's `total`),
/// so a progress bar can show its length before the first one starts.
///
/// ```
/// use mapknee_costs::{atomics, bench::BenchConfig};
/// let cfg = BenchConfig::default();
/// assert_eq!(atomics::planned(&cfg, 2, None), 2 * atomics::catalogue().len());
/// assert_eq!(atomics::planned(&cfg, 1, Some("no such benchmark")), 0);
/// ```
pub fn planned(cfg: &BenchConfig, rounds: usize, only: Option<&str>) -> usize {
    selected(only).len() * rounds_of(cfg, rounds)
}

/// Measures every benchmark of [`catalogue`] whose label, `"primitive
/// ordering layout"`, contains `only` (all when `None`), calling
/// `progress(done, total, label)`. The catalogue is run `rounds` times,
/// each benchmark taking its share of `cfg.samples` per round, and each
/// benchmark's samples are pooled: a burst of load from elsewhere on the
/// machine then lands in one round of many benchmarks instead of in all of
/// one benchmark's samples.
pub fn measure(
    cfg: &BenchConfig,
    rounds: usize,
    only: Option<&str>,
    mut progress: impl FnMut(usize, usize, &str),
) -> Vec<AtomicsRow> {
    let all = selected(only);
    let rounds = rounds_of(cfg, rounds);
    let per_round = BenchConfig {
        samples: cfg.samples.div_ceil(rounds),
        ..*cfg
    };
    let mut pooled: Vec<Option<Samples>> = vec![Some(Samples::default()); all.len()];
    let total = all.len() * rounds;
    for round in 0..rounds {
        for (i, (p, o, l)) in all.iter().enumerate() {
            progress(round * all.len() + i, total, &format!("{p} {o} {l}"));
            match one_bench(&per_round, p, o, l) {
                Some(s) => {
                    if let Some(acc) = &mut pooled[i] {
                        acc.pool(s);
                    }
                }
                None => pooled[i] = None,
            }
        }
    }
    all.iter()
        .zip(pooled)
        .filter_map(|((p, o, l), s)| {
            let s = s.filter(|s| !s.ns.is_empty())?;
            Some(AtomicsRow {
                primitive: (*p).into(),
                ordering: (*o).into(),
                layout: (*l).into(),
                estimate: s.estimate(),
            })
        })
        .collect()
}

/// Puts a result file together.
pub fn results(
    cfg: &BenchConfig,
    machine: Machine,
    rows: Vec<AtomicsRow>,
    breakdowns: Vec<Breakdown>,
    hw_counters: HwStatus,
    started: Instant,
) -> AtomicsResults {
    AtomicsResults {
        schema: mapknee_load::SCHEMA.into(),
        kind: "atomics".into(),
        machine,
        samples: cfg.samples,
        sample_ms: cfg.sample_time.as_secs_f64() * 1e3,
        rows,
        breakdowns,
        hw_counters,
        elapsed_s: started.elapsed().as_secs_f64(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn quick() -> BenchConfig {
        BenchConfig {
            samples: 5,
            sample_time: Duration::from_micros(100),
            warmup: Duration::ZERO,
        }
    }

    #[test]
    fn catalogue_has_every_layout_for_the_atomics_and_locks() {
        let _serial = crate::testutil::serial();
        let c = catalogue();
        for l in LAYOUTS {
            assert!(c.contains(&("fetch_add", "Relaxed", l)));
            assert!(c.contains(&("mutex lock+unlock", "-", l)));
        }
        let mut seen = std::collections::HashSet::new();
        assert!(c.iter().all(|k| seen.insert(*k)), "no benchmark twice");
    }

    #[test]
    fn the_false_sharing_layout_is_one_line() {
        let _serial = crate::testutil::serial();
        let line = OneLine {
            a: AtomicU64::new(0),
            b: AtomicU64::new(0),
        };
        let (a, b) = (&line.a as *const _ as usize, &line.b as *const _ as usize);
        assert_eq!(a / 64, b / 64);
        assert_ne!(a, b);
        assert!(2 * std::mem::size_of::<Mutex<u64>>() <= 64);
    }

    #[test]
    fn measure_filters_and_labels_rows() {
        let _serial = crate::testutil::serial();
        let rows = measure(&quick(), 2, Some("fetch_add"), |_, _, _| {});
        assert!(rows.iter().all(|r| r.primitive == "fetch_add"));
        assert!(rows
            .iter()
            .any(|r| r.layout == "alone" && r.ordering == "SeqCst"));
        assert!(rows.iter().all(|r| r.estimate.median_ns.is_finite()));
        // Two rounds of ceil(5 / 2) = 3 samples, pooled.
        assert!(rows.iter().all(|r| r.estimate.samples == 6));
    }

    #[test]
    fn results_round_trip_through_json() {
        let _serial = crate::testutil::serial();
        let machine = Machine::detect("rustc test", "0.1.0", "foldhash", 20.0, 40.0);
        let cfg = quick();
        let rows = measure(&cfg, 1, Some("plain"), |_, _, _| {});
        let r = results(
            &cfg,
            machine,
            rows,
            Vec::new(),
            HwStatus {
                available: false,
                detail: "test".into(),
            },
            Instant::now(),
        );
        let json = serde_json::to_string(&r).unwrap();
        assert!(json.contains("\"kind\":\"atomics\""));
        let back: AtomicsResults = serde_json::from_str(&json).unwrap();
        // Floats may come back one ulp off; nothing else may change.
        let again = serde_json::to_value(&back).unwrap();
        let first: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert!(crate::testutil::same_json(&first, &again), "{json}");
        assert_eq!(back.kind, "atomics");
    }
}
