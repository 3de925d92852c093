//! The calibration map: every operation holds the one lock for at least its
//! hold. Lower bounds only — speed is for the benchmarks.

use std::time::{Duration, Instant};

use mapknee_maps::{ConcurrentMap, Synthetic};

const HOLD: Duration = Duration::from_micros(200);

#[test]
fn every_operation_holds_at_least_the_hold() {
    let m: Synthetic<u64, u64> = Synthetic::new(HOLD);
    let n = 20u32;
    let start = Instant::now();
    for k in 0..u64::from(n) / 4 {
        m.insert(k, k);
        m.get(&k);
        m.get_or_insert(k, 0);
        m.remove(&k);
    }
    let elapsed = start.elapsed();
    assert!(
        elapsed >= HOLD * n,
        "{n} ops took {elapsed:?} < {n} x {HOLD:?}"
    );
    assert_eq!(m.stats().lock.unwrap().acquisitions, u64::from(n));
}

#[test]
fn concurrent_operations_are_serialized_by_the_hold() {
    // One global lock: 4 threads x 10 ops cannot finish in less than 40 holds.
    let m: Synthetic<u64, u64> = Synthetic::new(HOLD);
    let (threads, per_thread) = (4u32, 10u32);
    let start = Instant::now();
    std::thread::scope(|s| {
        for t in 0..threads {
            let m = &m;
            s.spawn(move || {
                for i in 0..per_thread {
                    m.insert(u64::from(t * per_thread + i), 0);
                }
            });
        }
    });
    let elapsed = start.elapsed();
    let ops = threads * per_thread;
    assert!(
        elapsed >= HOLD * ops,
        "{ops} ops took {elapsed:?} < {ops} x {HOLD:?}"
    );
    assert_eq!(m.len(), ops as usize);
}
