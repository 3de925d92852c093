//! Two maps' closed-loop throughput interleaved in time slices of a
//! fraction of a millisecond: every worker runs map A in one slice of each
//! pair and map B in the other (A first in even pairs, B first in odd
//! ones), the slices cut from one shared clock so all workers switch
//! together and contend on the same map, as in a step of one map. Each
//! slice's throughput is compared with its pair's, so whatever the host
//! does on a scale of milliseconds or more — a neighbour's load, the vCPUs
//! moved between dies, frequency changes — falls on both maps alike.
//! `pair` alternates whole 150 ms steps and, on a busy host, its per-pair
//! ratios spread from 0.1 to 4; here the two slices of a pair are half a
//! millisecond apart.
//!
//! Both maps are built, presized and prefilled as the load engine's steps
//! do; each worker sends both maps the same transactions (one order-cache
//! key generator per map, same seed) and is pinned to its own core.
//! Printed per mix: the median over slice pairs of A's throughput over
//! B's, with the range of the middle 50 %, the ratio of the two maps'
//! total throughputs, and each map's throughput.
//!
//! One process is not a verdict: a map run against itself (`dashmap
//! dashmap`) reads 0.93–1.10 in one process, with the same sign in all
//! three mixes and whichever copy sits first (measured on a 2-vCPU AMD
//! EPYC VM, `benchsuite/runs/2026-12-03-vm23/`) — something fixed per
//! process, such as where the maps' memory landed, favours one map.
//! `benchsuite/repro/interleave.sh` runs several processes with the order
//! swapped between them and an A/A control beside them.
//!
//! ```text
//! cargo run --release -p mapknee-load --example interleave -- sharded dashmap [seconds] [threads] [slice µs] [rounds]
//! ```

use std::sync::Barrier;
use std::time::Duration;

use mapknee_load::{prefill, Clock, TxnGen, Workload, DEFAULT_MIXES};
use mapknee_maps::{ConcurrentMap, HasherKind, MapKind, MapVisitor};

/// Which map slice `index` runs: 0 = A, 1 = B. Slices go in pairs, A
/// first in even pairs and B first in odd ones, so neither map always
/// follows the other (an A/A run shows what position alone does).
fn side(index: u64) -> usize {
    ((index ^ (index >> 1)) & 1) as usize
}

/// One worker's record of one slice: its index (see [`side`]), the
/// transactions it ran and the ns it ran them in.
#[derive(Clone, Copy)]
struct Slice {
    index: u64,
    txns: u64,
    ns: u64,
}

/// What one mix's interleaved run measured.
struct Outcome {
    /// A's throughput over B's for each adjacent pair of slices.
    pair_ratios: Vec<f64>,
    /// Transactions per second of A and of B over all their slices.
    a_per_sec: f64,
    b_per_sec: f64,
}

struct Spec<'a> {
    workload: &'a Workload,
    threads: usize,
    run: Duration,
    slice_ns: u64,
    clock: &'a Clock,
}

/// Builds B (A already built) and runs the interleaved slices.
struct WithA<'a, MA> {
    a: &'a MA,
    spec: &'a Spec<'a>,
}

impl<MA: ConcurrentMap<u64, u64>> MapVisitor<u64, u64> for WithA<'_, MA> {
    type Output = Outcome;
    fn visit<MB: ConcurrentMap<u64, u64> + 'static>(self, b: MB) -> Outcome {
        prefill(&b, self.spec.workload, self.spec.threads);
        interleave(self.a, &b, self.spec)
    }
}

/// Builds A, then B inside it.
struct First<'a> {
    b: &'a MapKind,
    spec: &'a Spec<'a>,
}

impl MapVisitor<u64, u64> for First<'_> {
    type Output = Outcome;
    fn visit<MA: ConcurrentMap<u64, u64> + 'static>(self, a: MA) -> Outcome {
        prefill(&a, self.spec.workload, self.spec.threads);
        self.b.build(
            HasherKind::default(),
            self.spec.workload.keys as usize,
            WithA {
                a: &a,
                spec: self.spec,
            },
        )
    }
}

/// The key generators' seed (both maps').
const SEED: u64 = 0x5EED;

/// Transactions between two clock reads: few enough that a slice overruns
/// its end by well under 1 % (16 transactions are ~1 µs at 2 threads).
const BATCH: u64 = 16;

/// Both maps are called through `&dyn ConcurrentMap`, as the load engine's
/// workers call every map: one compiled loop for both.
fn interleave(
    a: &dyn ConcurrentMap<u64, u64>,
    b: &dyn ConcurrentMap<u64, u64>,
    spec: &Spec<'_>,
) -> Outcome {
    let cores = core_affinity::get_core_ids().unwrap_or_default();
    let barrier = Barrier::new(spec.threads);
    let per_thread: Vec<Vec<Slice>> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..spec.threads)
            .map(|t| {
                let core = (!cores.is_empty()).then(|| cores[t % cores.len()]);
                let barrier = &barrier;
                s.spawn(move || {
                    if let Some(core) = core {
                        core_affinity::set_for_current(core);
                    }
                    let w = spec.workload;
                    // One seed for both: each map is sent the same operations
                    // on the same keys.
                    let mut gen_a = TxnGen::new(w, t, spec.threads, SEED);
                    let mut gen_b = TxnGen::new(w, t, spec.threads, SEED);
                    let mut slices = Vec::with_capacity(
                        (spec.run.as_nanos() as u64 / spec.slice_ns + 2) as usize,
                    );
                    barrier.wait();
                    // Start on a slice boundary a little ahead, the same for
                    // every worker.
                    let first = spec.clock.ns() / spec.slice_ns + 2;
                    let last = first + spec.run.as_nanos() as u64 / spec.slice_ns;
                    while spec.clock.ns() < first * spec.slice_ns {
                        std::hint::spin_loop();
                    }
                    let mut now = spec.clock.ns();
                    while now < last * spec.slice_ns {
                        let index = now / spec.slice_ns;
                        let end = (index + 1) * spec.slice_ns;
                        let start = now;
                        let mut txns = 0;
                        while now < end {
                            for _ in 0..BATCH {
                                if side(index) == 0 {
                                    gen_a.run_txn(a);
                                } else {
                                    gen_b.run_txn(b);
                                }
                            }
                            txns += BATCH;
                            now = spec.clock.ns();
                        }
                        slices.push(Slice {
                            index,
                            txns,
                            ns: now - start,
                        });
                    }
                    slices
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().expect("worker"))
            .collect()
    });
    summarize(&per_thread)
}

/// Sums the workers' throughput per slice and compares the two slices of
/// each pair.
fn summarize(per_thread: &[Vec<Slice>]) -> Outcome {
    use std::collections::BTreeMap;
    // Slice index → (transactions per ns summed over workers).
    let mut rate: BTreeMap<u64, f64> = BTreeMap::new();
    let (mut txns, mut ns) = ([0u64; 2], [0u64; 2]);
    for slices in per_thread {
        for s in slices {
            // A worker that started a slice late (preempted across the
            // boundary) ran it for less time: its rate still counts.
            *rate.entry(s.index).or_default() += s.txns as f64 / s.ns.max(1) as f64;
            txns[side(s.index)] += s.txns;
            ns[side(s.index)] += s.ns;
        }
    }
    let pair_ratios = rate
        .iter()
        .filter(|(i, _)| side(**i) == 0)
        .filter_map(|(i, ra)| rate.get(&(i ^ 1)).map(|rb| ra / rb))
        .collect();
    let threads = per_thread.len().max(1) as f64;
    let per_sec = |side: usize| txns[side] as f64 / ns[side].max(1) as f64 * 1e9 * threads;
    Outcome {
        pair_ratios,
        a_per_sec: per_sec(0),
        b_per_sec: per_sec(1),
    }
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let map = |i: usize, default: &str| -> MapKind {
        let name = args.get(i).map_or(default, String::as_str);
        name.parse().unwrap_or_else(|e| {
            eprintln!("interleave: {e}");
            std::process::exit(2)
        })
    };
    // A positive number (`T = f64`) or count (`T = usize`) at position `i`.
    fn positive<T: std::str::FromStr + PartialOrd + Default>(
        args: &[String],
        i: usize,
        default: T,
    ) -> T {
        args.get(i).map_or(default, |n| match n.parse::<T>() {
            Ok(x) if x > T::default() => x,
            _ => {
                eprintln!(
                    "interleave: argument {} must be a positive number, got {n:?}",
                    i + 1
                );
                std::process::exit(2)
            }
        })
    }
    let (a, b) = (map(0, "sharded"), map(1, "dashmap"));
    let seconds: f64 = positive(&args, 2, 3.0);
    let threads: usize = positive(&args, 3, 2);
    let slice_us: f64 = positive(&args, 4, 500.0);
    let rounds: usize = positive(&args, 5, 1);
    let clock = Clock::new();
    println!(
        "{a} vs {b}: {threads} threads, {slice_us} µs slices, {seconds} s per mix and round, {rounds} round(s); ratio = {a}/{b}"
    );
    for round in 0..rounds {
        for mix in DEFAULT_MIXES {
            let workload = Workload::default_for(mix.parse().expect("mix"));
            let spec = Spec {
                workload: &workload,
                threads,
                run: Duration::from_secs_f64(seconds),
                slice_ns: (slice_us * 1e3) as u64,
                clock: &clock,
            };
            let mut out = a.build(
                HasherKind::default(),
                workload.keys as usize,
                First { b: &b, spec: &spec },
            );
            out.pair_ratios.sort_by(f64::total_cmp);
            let r = &out.pair_ratios;
            println!(
                "round {round} {mix:<12} median pair ratio {:.3} (middle half {:.3}–{:.3}, {} pairs)  total ratio {:.3}  {a} {:.2}M/s  {b} {:.2}M/s",
                quantile(r, 0.5),
                quantile(r, 0.25),
                quantile(r, 0.75),
                r.len(),
                out.a_per_sec / out.b_per_sec,
                out.a_per_sec / 1e6,
                out.b_per_sec / 1e6,
            );
        }
    }
}
