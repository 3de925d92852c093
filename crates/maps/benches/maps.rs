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

criterion_group!(benches, single_thread::bench, counters::bench);
criterion_main!(benches);
