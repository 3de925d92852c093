//! Micro-benchmarks for mapknee's maps (criterion), one module per theme.
//!
//! Dimensions:
//! - `single_thread/{get_hit, get_miss, insert_overwrite}/<map>` — one
//!   thread, `u64` keys and values, [`single_thread::PREFILL`] keys present,
//!   foldhash (one hasher kind for every map), for every map in
//!   [`single_thread::BENCH_MAPS`] built through the registry: hit-path cost
//!   without contention, the floor under every latency curve.
//! - `counters/{incr, atomic_fetch_add}` — one striped
//!   [`Counters::incr`](mapknee_maps::counters::Counters::incr) against one
//!   uncontended relaxed `fetch_add`, so counter overhead can be stated as a
//!   fraction of the hit path.
//!
//! - `syncmap_hit/{load, load_plus_incr}` — SyncMap's snapshot-hit load
//!   alone and with one more counter increment per load, side by side: the
//!   difference is what one counter costs on the hit path (the hit path
//!   counts exactly one event).
//! - `syncmap_scaling/threads/<T>` — snapshot-hit loads spread over T = 1
//!   and 2 threads (up to the core count): criterion reports time per op
//!   of the whole group, so throughput = ops / time; it must rise with T.
//!
//! Times are kept short (300 ms warm-up, 1 s measurement, 20 samples) so the
//! whole hub runs in a couple of minutes; pass `-- <filter>` to run one theme.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkGroup};

fn configure<M: criterion::measurement::Measurement>(g: &mut BenchmarkGroup<'_, M>) {
    g.warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .sample_size(20);
}

mod single_thread {
    use std::hint::black_box;

    use criterion::Criterion;
    use mapknee_maps::{ConcurrentMap, HasherKind, MapKind, MapVisitor};

    use super::configure;

    /// Maps benchmarked, by CLI name: a new map joins by adding one line.
    /// `synthetic:50ns` shows the calibration map's spin accuracy
    /// (its ns/op should sit just above 50).
    pub(crate) const BENCH_MAPS: &[&str] = &[
        "syncmap",
        "rwlock",
        "mutex",
        "sharded",
        "sharded-unpadded",
        #[cfg(feature = "peers")]
        "dashmap",
        #[cfg(feature = "peers")]
        "papaya",
        #[cfg(feature = "peers")]
        "scc",
        "synthetic:50ns",
    ];

    /// Keys present before measuring; a power of two (keys are masked).
    pub(crate) const PREFILL: u64 = 1 << 16;

    struct Bench<'a> {
        c: &'a mut Criterion,
        name: &'a str,
    }

    impl MapVisitor<u64, u64> for Bench<'_> {
        type Output = ();

        fn visit<M: ConcurrentMap<u64, u64> + 'static>(self, map: M) {
            for k in 0..PREFILL {
                map.insert(k, k);
            }
            let mask = PREFILL - 1;

            let mut g = self.c.benchmark_group("single_thread/get_hit");
            configure(&mut g);
            let mut i = 0u64;
            g.bench_function(self.name, |b| {
                b.iter(|| {
                    i = (i + 1) & mask;
                    black_box(map.get(black_box(&i)))
                })
            });
            g.finish();

            let mut g = self.c.benchmark_group("single_thread/get_miss");
            configure(&mut g);
            g.bench_function(self.name, |b| {
                b.iter(|| {
                    i = (i + 1) & mask;
                    black_box(map.get(black_box(&(PREFILL + i))))
                })
            });
            g.finish();

            let mut g = self.c.benchmark_group("single_thread/insert_overwrite");
            configure(&mut g);
            g.bench_function(self.name, |b| {
                b.iter(|| {
                    i = (i + 1) & mask;
                    black_box(map.insert(black_box(i), i))
                })
            });
            g.finish();
            assert_eq!(
                map.len(),
                PREFILL as usize,
                "{}: overwrite grew the map",
                self.name
            );
        }
    }

    pub(crate) fn bench(c: &mut Criterion) {
        for name in BENCH_MAPS {
            let kind: MapKind = name.parse().expect("bench map list");
            kind.build(HasherKind::Foldhash, PREFILL as usize, Bench { c, name });
        }
    }
}

mod counters {
    use std::hint::black_box;
    use std::sync::atomic::{AtomicU64, Ordering};

    use criterion::Criterion;
    use mapknee_maps::counters::Counters;

    use super::configure;

    pub(crate) fn bench(c: &mut Criterion) {
        let mut g = c.benchmark_group("counters");
        configure(&mut g);
        let counters: Counters<3> = Counters::new();
        g.bench_function("incr", |b| b.iter(|| counters.incr(black_box(0))));
        let atomic = AtomicU64::new(0);
        g.bench_function("atomic_fetch_add", |b| {
            b.iter(|| atomic.fetch_add(1, black_box(Ordering::Relaxed)))
        });
        g.finish();
        black_box(counters.sum());
    }
}

mod syncmap {
    use std::hint::black_box;
    use std::sync::Barrier;
    use std::time::{Duration, Instant};

    use criterion::{Criterion, Throughput};
    use mapknee_maps::counters::Counters;
    use mapknee_maps::SyncMap;

    use super::configure;

    const KEYS: u64 = 65_536; // power of two: `& (KEYS - 1)` walks every key

    fn promoted_map() -> SyncMap<u64, u64> {
        let m = SyncMap::new();
        for k in 0..KEYS {
            m.store(k, k);
        }
        m.range(|_, _| true); // promote dirty: every key is in the snapshot
        m
    }

    pub(crate) fn hit(c: &mut Criterion) {
        let m = promoted_map();
        let extra: Counters<1> = Counters::new();
        let mut g = c.benchmark_group("syncmap_hit");
        configure(&mut g);
        let mut i = 0u64;
        g.bench_function("load", |b| {
            b.iter(|| {
                i = (i + 1) & (KEYS - 1);
                black_box(m.load(black_box(&i)))
            })
        });
        g.bench_function("load_plus_incr", |b| {
            b.iter(|| {
                i = (i + 1) & (KEYS - 1);
                extra.incr(0);
                black_box(m.load(black_box(&i)))
            })
        });
        g.finish();
        assert_eq!(m.syncmap_stats().misses, 0, "every load hit the snapshot");
    }

    pub(crate) fn scaling(c: &mut Criterion) {
        let m = promoted_map();
        let max = std::thread::available_parallelism()
            .map_or(2, |n| n.get())
            .max(2);
        let mut g = c.benchmark_group("syncmap_scaling");
        configure(&mut g);
        // A group's "time per iteration" is wall time for `iters` loads in
        // total, split over the threads: ops/s rising with T means scaling.
        g.throughput(Throughput::Elements(1));
        for threads in [1, 2, max]
            .into_iter()
            .collect::<std::collections::BTreeSet<_>>()
        {
            g.bench_function(format!("threads/{threads}"), |b| {
                b.iter_custom(|iters| {
                    let per = iters / threads as u64 + 1;
                    let start = Barrier::new(threads);
                    let elapsed: Vec<Duration> = std::thread::scope(|s| {
                        let hs: Vec<_> = (0..threads)
                            .map(|t| {
                                let (m, start) = (&m, &start);
                                s.spawn(move || {
                                    start.wait();
                                    let t0 = Instant::now();
                                    let mut k = t as u64 * 7919;
                                    for _ in 0..per {
                                        k = (k + 1) & (KEYS - 1);
                                        black_box(m.load(&k));
                                    }
                                    t0.elapsed()
                                })
                            })
                            .collect();
                        hs.into_iter().map(|h| h.join().unwrap()).collect()
                    });
                    // Wall time of the slowest thread for all the loads.
                    elapsed.into_iter().max().unwrap_or_default()
                })
            });
        }
        g.finish();
    }
}

criterion_group!(
    benches,
    single_thread::bench,
    counters::bench,
    syncmap::hit,
    syncmap::scaling
);
criterion_main!(benches);
