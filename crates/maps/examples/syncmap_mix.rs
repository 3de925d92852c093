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
    let barrier = Barrier::new(threads as usize + 1);
    let t0 = std::thread::scope(|s| {
        for t in 0..threads {
            let (m, barrier) = (&m, &barrier);
            s.spawn(move || {
                let mut seed = t;
                let mut acc = 0u64;
                barrier.wait();
                for _ in 0..ops {
                    let r = splitmix(&mut seed);
                    let k = r % KEYS;
                    let p = (r >> 32) % 100;
                    if p < get {
                        if let Some(v) = m.load(&k) {
                            acc = acc.wrapping_add(v);
                        }
                    } else if p < get + insert {
                        m.store(k, k);
                    } else {
                        acc = acc.wrapping_add(m.load_or_store(k, k).0);
                    }
                }
                black_box(acc);
            });
        }
        barrier.wait();
        // The scope joins every worker before it returns.
        Instant::now()
    });
    let secs = t0.elapsed().as_secs_f64();
    let total = threads * ops;
    println!(
        "rust-SyncMap {name} ops={total} secs={secs:.4} ops_per_sec={:.0}",
        total as f64 / secs
    );
    ExitCode::SUCCESS
}
