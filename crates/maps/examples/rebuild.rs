//! What SyncMap's dirty rebuild costs, and what its per-entry `Arc` bumps
//! cost the readers. At 65,536 `u64` keys:
//!
//! - **rebuild ns/entry**: one thread times the `store` of a new key right
//!   after a promotion, which rebuilds dirty by copying the snapshot (a
//!   key clone and an `Arc` clone per entry), divided by the entries
//!   copied; median of 21 rebuilds.
//! - **reader get-hit ns/op** on a second thread, loading every key of the
//!   map in a scrambled order, while the first thread (a) idles, (b)
//!   rebuilds *another* map of the same size in a loop (the same work and
//!   memory traffic, none of it on the reader's lines), (c) rebuilds the
//!   reader's own map in a loop: each rebuild then writes the reference
//!   count beside the value pointer of every entry the reader loads.
//!   (b) does the same work with twice the cache footprint; (c) slower
//!   than (b) would mean the bumps on the readers' lines cost them more
//!   than the footprint does.
//!   Median of 5 passes of 8 sweeps each.
//!
//! ```text
//! cargo run --release -p mapknee-maps --example rebuild
//! ```

mod common;

use std::hint::black_box;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::Instant;

use mapknee_maps::SyncMap;

use common::{median, scramble};

const KEYS: u64 = 65_536;
const REBUILDS: usize = 21;
const PASSES: usize = 5;
/// Sweeps over the keys per reader pass: a pass (~20 ms) spans several
/// rebuilds (~2.5 ms each).
const SWEEPS: usize = 8;

/// A map of `KEYS` keys, promoted (loads hit the snapshot; the next new
/// key rebuilds dirty).
fn filled() -> SyncMap<u64, u64> {
    let m = SyncMap::new();
    for k in 0..KEYS {
        m.store(scramble(k), k);
    }
    m.range(|_, _| true);
    m
}

/// One rebuild of `m`: a new key after a promotion. Returns its ns.
fn rebuild(m: &SyncMap<u64, u64>, fresh: &AtomicU64) -> f64 {
    let k = scramble(fresh.fetch_add(1, Relaxed));
    let t = Instant::now();
    m.store(k, k);
    let ns = t.elapsed().as_nanos() as f64;
    m.range(|_, _| true); // promote again (O(1))
    ns
}

/// The reader's median ns per hit over `PASSES` passes while `busy` runs
/// on another thread.
fn reader_ns(m: &SyncMap<u64, u64>, busy: impl FnOnce(&AtomicBool) + Send) -> f64 {
    let stop = AtomicBool::new(false);
    let started = AtomicBool::new(false);
    let keys: Vec<u64> = (0..KEYS).map(scramble).collect();
    std::thread::scope(|s| {
        let other = s.spawn(|| {
            started.store(true, Relaxed);
            busy(&stop);
        });
        while !started.load(Relaxed) {
            std::hint::spin_loop();
        }
        let ns = (0..PASSES)
            .map(|_| {
                let t = Instant::now();
                for _ in 0..SWEEPS {
                    let sum = keys
                        .iter()
                        .fold(0u64, |a, k| a.wrapping_add(m.load(k).unwrap_or(1)));
                    black_box(sum);
                }
                t.elapsed().as_nanos() as f64 / (SWEEPS as u64 * KEYS) as f64
            })
            .collect();
        stop.store(true, Relaxed);
        other.join().unwrap();
        median(ns)
    })
}

fn main() {
    let fresh = AtomicU64::new(KEYS);
    let m = filled();
    let other = filled();
    let per_entry = median(
        (0..REBUILDS)
            .map(|_| rebuild(&m, &fresh) / KEYS as f64)
            .collect(),
    );
    let idle = reader_ns(&m, |_| {});
    let rebuild_loop = |map: &SyncMap<u64, u64>, stop: &AtomicBool| {
        while !stop.load(Relaxed) {
            black_box(rebuild(map, &fresh));
        }
    };
    let beside = reader_ns(&m, |stop| rebuild_loop(&other, stop));
    let same = reader_ns(&m, |stop| rebuild_loop(&m, stop));
    println!("rebuild {per_entry:6.1} ns/entry copied ({KEYS} keys)");
    println!(
        "reader get-hit {idle:6.1} ns/op idle beside, {beside:6.1} beside another map's rebuilds, {same:6.1} beside its own map's rebuilds"
    );
}
