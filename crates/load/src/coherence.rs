//! What a cache line costs to move between the workers' cores, measured
//! now: two threads pinned to two cores pass a token back and forth through
//! one atomic.
//!
//! Why it is measured: on a cloud VM the host places the virtual CPUs on
//! physical cores as it sees fit and moves them while a run goes on. On the
//! 2-vCPU AMD EPYC development VM two placements alternated within seconds:
//! one where a line moved in ~50 ns and sharded/dashmap reached ~25M txn/s
//! on two threads, one where it took ~2–3× longer (the vCPUs on different
//! core complexes, no shared L3) and the same maps reached ~15M — less than
//! one thread. The `noop` map, which shares no line, did not move. A map's
//! capacity and knee follow the placement, so every step records the
//! transfer time measured just before it (`Step::coherence_ns`), and a
//! spread across a run says the machine changed under it.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::Clock;

/// Round trips per round: 4,000 × 2 transfers × 35–210 ns ≈ 0.3–1.7 ms,
/// cheap enough to take before every step.
const ROUND_TRIPS: u64 = 4_000;

/// One-way cache-line transfer time between the first two cores of this
/// thread's affinity, in ns:
/// the best of two rounds of [`ROUND_TRIPS`] ping-pongs, halved. `None`
/// when there are not two distinct cores to pin to.
pub fn line_transfer_ns(clock: &Clock) -> Option<f64> {
    let cores = core_affinity::get_core_ids()?;
    let (&a, &b) = (cores.first()?, cores.get(1)?);
    let mut best = f64::INFINITY;
    for _ in 0..2 {
        let token = AtomicU64::new(0);
        let ns = std::thread::scope(|s| {
            let t = &token;
            s.spawn(move || {
                let _ = core_affinity::set_for_current(b);
                for i in 0..ROUND_TRIPS {
                    while t.load(Ordering::Acquire) != 2 * i + 1 {
                        std::hint::spin_loop();
                    }
                    t.store(2 * i + 2, Ordering::Release);
                }
            });
            // The caller keeps its own affinity: the serving side runs on
            // a thread of its own too.
            s.spawn(move || {
                let _ = core_affinity::set_for_current(a);
                let start = clock.ns();
                for i in 0..ROUND_TRIPS {
                    t.store(2 * i + 1, Ordering::Release);
                    while t.load(Ordering::Acquire) != 2 * i + 2 {
                        std::hint::spin_loop();
                    }
                }
                clock.ns() - start
            })
            .join()
            .expect("the ping thread does not panic")
        });
        best = best.min(ns as f64 / (2 * ROUND_TRIPS) as f64);
    }
    Some(best)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_transfer_takes_positive_finite_time() {
        // On one core there is nothing to measure.
        if core_affinity::get_core_ids().is_none_or(|c| c.len() < 2) {
            assert_eq!(line_transfer_ns(&Clock::new()), None);
            return;
        }
        let ns = line_transfer_ns(&Clock::new()).unwrap();
        assert!(ns.is_finite() && ns > 0.0, "{ns}");
    }
}
