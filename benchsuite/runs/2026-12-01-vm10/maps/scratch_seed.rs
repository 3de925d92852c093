//! Scratch: does foldhash's process-wide shared seed change a map's speed?
//! Closed loop, 2 threads, 90 % get / 5 % insert / 5 % get_or_insert on
//! sequential u64 keys, one map per (seed, round), alternated.
use foldhash::fast::SeedableRandomState;
use foldhash::SharedSeed;
use mapknee_maps::{default_shards, ConcurrentMap, DashMapAdapter, ShardedMap};
use std::hint::black_box;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::{Duration, Instant};
fn drive(m: &(impl ConcurrentMap<u64, u64> + Sync)) -> f64 {
    for k in 0..32_768u64 {
        m.insert(k, k);
    }
    let stop = AtomicBool::new(false);
    let total: u64 = std::thread::scope(|s| {
        let hs: Vec<_> = (0..2u64)
            .map(|t| {
                let stop = &stop;
                s.spawn(move || {
                    let mut x = 0x9E37_79B9_7F4A_7C15u64 ^ (t + 1);
                    let mut n = 0u64;
                    while !stop.load(Relaxed) {
                        for _ in 0..256 {
                            x ^= x << 13;
                            x ^= x >> 7;
                            x ^= x << 17;
                            let k = x % 65_536;
                            match x >> 60 {
                                0 => {
                                    m.insert(k, n);
                                }
                                1 => {
                                    black_box(m.get_or_insert(k, n));
                                }
                                _ => {
                                    black_box(m.get(&k));
                                }
                            }
                            n += 1;
                        }
                    }
                    n
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(250));
        stop.store(true, Relaxed);
        hs.into_iter().map(|h| h.join().unwrap()).sum()
    });
    total as f64 / 0.25 / 1e6
}
fn main() {
    let seeds: Vec<&'static SharedSeed> = (0..6u64)
        .map(|s| &*Box::leak(Box::new(SharedSeed::from_u64(s * 0x1234_5678_9abc + 17))))
        .collect();
    let which = std::env::args().nth(1).unwrap_or("dashmap".into());
    let mut res = vec![Vec::new(); seeds.len()];
    let t = Instant::now();
    for _round in 0..4 {
        for (i, s) in seeds.iter().enumerate() {
            let h = SeedableRandomState::with_seed(i as u64 * 99 + 5, s);
            let v = if which == "sharded" {
                drive(&ShardedMap::with_capacity_and_hasher(
                    default_shards(),
                    true,
                    65_536,
                    h,
                ))
            } else {
                drive(&DashMapAdapter::with_capacity_and_hasher(65_536, h))
            };
            res[i].push(v);
        }
    }
    for (i, r) in res.iter_mut().enumerate() {
        r.sort_by(f64::total_cmp);
        println!(
            "{which} shared seed {i}: Mops/s {:?}  median {:.2}",
            r.iter()
                .map(|v| (v * 100.0).round() / 100.0)
                .collect::<Vec<_>>(),
            (r[1] + r[2]) / 2.0
        );
    }
    eprintln!("{:.1}s", t.elapsed().as_secs_f64());
}
