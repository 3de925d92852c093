//! SyncMap under the closed-loop workload of `benchsuite/go/main.go`, for
//! the side-by-side with Go 1.19's own `sync.Map`
//! (`benchsuite/go/compare.sh`). The workload is the Go program's, line
//! for line: `threads` threads run `ops` operations each on one shared map
//! of `u64` keys and values; keys uniform over `0..keys` from a per-thread
//! splitmix64 stream seeded with the thread's index; `prefill · keys` keys
//! stored before the clock starts; each operation a `load`, `store` or
//! `load_or_store` picked by the mix's percentages from the same draw.
//!
//! ```text
//! cargo run --release -p mapknee-maps --example syncmap_mix -- mixed [threads] [ops]
//! ```
//!
//! With `LATENCY=1` in the environment each operation is also timed (two
//! clock reads, which lower the throughput) and the run prints the
//! per-operation p50 / p99 / p99.9 / max over all threads: where an O(n)
//! free on the operation path shows.

use std::hint::black_box;
use std::process::ExitCode;
use std::sync::Barrier;
use std::time::Instant;

use mapknee_maps::SyncMap;

const KEYS: u64 = 65_536;
const PREFILL: f64 = 0.5;

fn splitmix(s: &mut u64) -> u64 {
    *s = s.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *s;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let name = args.first().map_or("mixed", String::as_str);
    let (get, insert) = match name {
        "read-mostly" => (99, 1),
        "mixed" => (90, 5),
        "write-heavy" => (50, 25),
        other => {
            eprintln!("syncmap_mix: unknown mix {other:?} (read-mostly, mixed, write-heavy)");
            return ExitCode::from(2);
        }
    };
    let parse = |i: usize, default: u64| match args.get(i) {
        None => Ok(default),
        Some(s) => s
            .parse::<u64>()
            .map_err(|_| format!("syncmap_mix: argument {i} must be a count, got {s:?}")),
    };
    let (threads, ops) = match (parse(1, 2), parse(2, 4_000_000)) {
        (Ok(t), Ok(o)) if t > 0 => (t, o),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
        _ => {
            eprintln!("syncmap_mix: threads must be at least 1");
            return ExitCode::from(2);
        }
    };

    let m: SyncMap<u64, u64> = SyncMap::new();
    let pre = (KEYS as f64 * PREFILL).round() as u64;
    for k in 0..pre {
        m.store(k, k);
    }
    let timed = std::env::var_os("LATENCY").is_some_and(|v| v == "1");
    let barrier = Barrier::new(threads as usize + 1);
    let (t0, mut lat) = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let (m, barrier) = (&m, &barrier);
                s.spawn(move || {
                    let mut seed = t;
                    let mut acc = 0u64;
                    let mut lat = Vec::with_capacity(if timed { ops as usize } else { 0 });
                    barrier.wait();
                    for _ in 0..ops {
                        let r = splitmix(&mut seed);
                        let k = r % KEYS;
                        let p = (r >> 32) % 100;
                        let start = timed.then(Instant::now);
                        if p < get {
                            if let Some(v) = m.load(&k) {
                                acc = acc.wrapping_add(v);
                            }
                        } else if p < get + insert {
                            m.store(k, k);
                        } else {
                            acc = acc.wrapping_add(m.load_or_store(k, k).0);
                        }
                        if let Some(start) = start {
                            lat.push(start.elapsed().as_nanos() as u64);
                        }
                    }
                    black_box(acc);
                    lat
                })
            })
            .collect();
        barrier.wait();
        let t0 = Instant::now();
        let lat: Vec<u64> = workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect();
        (t0, lat)
    });
    let secs = t0.elapsed().as_secs_f64();
    let total = threads * ops;
    println!(
        "rust-SyncMap {name} ops={total} secs={secs:.4} ops_per_sec={:.0}",
        total as f64 / secs
    );
    if timed && !lat.is_empty() {
        lat.sort_unstable();
        let q = |f: f64| lat[((lat.len() - 1) as f64 * f) as usize];
        println!(
            "latency_ns p50={} p99={} p99.9={} max={}",
            q(0.5),
            q(0.99),
            q(0.999),
            lat[lat.len() - 1]
        );
    }
    ExitCode::SUCCESS
}
