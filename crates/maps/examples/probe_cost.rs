//! A fixed amount of map work, for counting what the unattached USDT probes
//! cost in instructions (`benchsuite/probe-cost/callgrind.sh` runs it under
//! valgrind's callgrind in a build with the cargo feature `probes` and one
//! without, and compares the instructions spent inside [`workload`]).
//!
//! Wall-clock throughput on a shared 2-vCPU VM moves 2x between runs of one
//! binary, so it cannot show a 1 % difference; an instruction count of the
//! same operations is exact and repeats to the instruction with one thread.
//!
//! The work: `threads` threads run `ops` operations each on one map (any
//! name `mapknee list` shows) of `u64` keys drawn uniformly from
//! `0..65,536` by a per-thread splitmix64 stream, half of them stored
//! first; each operation a get, insert, get-or-insert or remove picked by
//! the mix (`read-mostly` 99/1/0/0, `mixed` 90/5/5/0, `write-heavy`
//! 50/25/25/0, as `mapknee run`'s mixes; `churn` 50/20/10/20 adds removes,
//! so SyncMap expunges and rebuilds). Gets of absent keys take SyncMap's
//! miss path, so its miss, promotion and rebuild probes all fire.
//!
//! ```text
//! cargo run --release -p mapknee-maps --example probe_cost -- syncmap mixed [ops] [threads]
//! ```

use std::hint::black_box;
use std::process::ExitCode;

use mapknee_maps::{ConcurrentMap, HasherKind, MapKind, MapVisitor};

const KEYS: u64 = 65_536;

fn splitmix(s: &mut u64) -> u64 {
    *s = s.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *s;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Percentages of get, insert, get-or-insert (the rest: remove).
#[derive(Clone, Copy)]
struct Mix {
    get: u64,
    insert: u64,
    get_or_insert: u64,
}

struct Work {
    mix: Mix,
    ops: u64,
    threads: u64,
}

impl MapVisitor<u64, u64> for Work {
    type Output = u64;
    fn visit<M: ConcurrentMap<u64, u64> + 'static>(self, map: M) -> u64 {
        for k in (0..KEYS).step_by(2) {
            map.insert(k, k);
        }
        let hits = std::thread::scope(|s| {
            let workers: Vec<_> = (0..self.threads)
                .map(|t| {
                    let map = &map;
                    s.spawn(move || workload(map, self.mix, self.ops, t))
                })
                .collect();
            workers
                .into_iter()
                .map(|w| w.join().expect("worker panicked"))
                .sum()
        });
        black_box(map.stats());
        hits
    }
}

/// The counted region: `ops` operations of `mix` on `map` from stream
/// `seed`; returns how many found their key (so nothing is optimised away).
#[inline(never)]
fn workload<M: ConcurrentMap<u64, u64>>(map: &M, mix: Mix, ops: u64, seed: u64) -> u64 {
    let mut rng = seed;
    let mut found = 0;
    for _ in 0..ops {
        let r = splitmix(&mut rng);
        let key = (r >> 8) % KEYS;
        let pick = r & 0xff;
        let pick = pick * 100 / 256;
        let hit = if pick < mix.get {
            map.get(&key).is_some()
        } else if pick < mix.get + mix.insert {
            map.insert(key, r).is_some()
        } else if pick < mix.get + mix.insert + mix.get_or_insert {
            map.get_or_insert(key, r).is_some()
        } else {
            map.remove(&key).is_some()
        };
        found += u64::from(hit);
    }
    found
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage =
        "usage: probe_cost MAP MIX [OPS] [THREADS]   (MIX: read-mostly, mixed, write-heavy, churn)";
    let (Some(map), Some(mix)) = (args.first(), args.get(1)) else {
        eprintln!("{usage}");
        return ExitCode::from(2);
    };
    let kind: MapKind = match map.parse() {
        Ok(k) => k,
        Err(e) => {
            eprintln!("probe_cost: {e}");
            return ExitCode::from(2);
        }
    };
    let (get, insert, get_or_insert) = match mix.as_str() {
        "read-mostly" => (99, 1, 0),
        "mixed" => (90, 5, 5),
        "write-heavy" => (50, 25, 25),
        "churn" => (50, 20, 10),
        other => {
            eprintln!("probe_cost: unknown mix {other:?}\n{usage}");
            return ExitCode::from(2);
        }
    };
    let number = |i: usize, default: u64| match args.get(i) {
        None => Ok(default),
        Some(s) => s.parse::<u64>().ok().filter(|&n| n > 0).ok_or(s.clone()),
    };
    let (ops, threads) = match (number(2, 200_000), number(3, 1)) {
        (Ok(o), Ok(t)) => (o, t),
        (Err(bad), _) | (_, Err(bad)) => {
            eprintln!("probe_cost: {bad:?} is not a positive whole number\n{usage}");
            return ExitCode::from(2);
        }
    };
    let work = Work {
        mix: Mix {
            get,
            insert,
            get_or_insert,
        },
        ops,
        threads,
    };
    let found = kind.build(HasherKind::Foldhash, KEYS as usize, work);
    println!(
        "{map} {mix}: {ops} ops x {threads} threads, {found} found their key (probes compiled in: {})",
        mapknee_maps::probes::COMPILED_IN
    );
    ExitCode::SUCCESS
}
