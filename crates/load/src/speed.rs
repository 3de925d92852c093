//! How fast this core runs fixed work now: a probe taken before every step.
//!
//! Why: on a shared host the virtual CPUs' speed changes with what the
//! host's other tenants do (a busy hyperthread sibling, a lower clock). On
//! the 2-vCPU development VM one of two back-to-back default runs measured
//! the harness's own cost per transaction at 51.9 ns instead of 43.7 at
//! start-up, and every map's closed-loop capacity in it came out 7–25 %
//! lower, its knees with them; eight `noop` runs started one after the
//! other an hour later read 45.7–58.6 ns. A knee measured on a slower
//! machine is not a regression of the map, so every step records the
//! probe (`Step::speed_ns`) and `compare` withholds its verdict when two
//! runs' typical speeds differ.
//!
//! The work is the harness's kind, on one thread: a random-number step, a
//! dependent read of a 16 KiB table (L1) and a histogram record, 20,000
//! times; the best of three rounds (~0.5 ms in all), so one interrupt does
//! not make the machine look slow.

use std::hint::black_box;

use crate::hist::{record, sized};
use crate::Clock;

/// Iterations of one round.
const ITERATIONS: u64 = 20_000;
/// Table entries (16 KiB of `u64`): fits the L1 of every core in view.
const TABLE: usize = 2048;

/// ns per iteration of the probe's fixed work on the calling thread, the
/// best of three rounds.
///
/// ```
/// let clock = mapknee_load::Clock::new();
/// let ns = mapknee_load::speed::speed_ns(&clock);
/// assert!(ns > 0.0 && ns.is_finite());
/// ```
pub fn speed_ns(clock: &Clock) -> f64 {
    let mut rng = crate::FastRng::new(0x5eed);
    let table: Vec<u64> = (0..TABLE).map(|_| rng.next_u64()).collect();
    let mut hist = sized(1 << 20);
    let mut best = f64::INFINITY;
    let mut x = 0x9E37_79B9_7F4A_7C15_u64;
    for _ in 0..3 {
        let start = clock.ns();
        for _ in 0..ITERATIONS {
            // Each read depends on the last: the loop runs at the core's
            // latency, not at whatever parallelism it finds.
            x = (x ^ table[x as usize % TABLE]).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            x ^= x >> 29;
            record(&mut hist, (x & 0xFFFF) + 1);
        }
        let ns = clock.ns().saturating_sub(start) as f64 / ITERATIONS as f64;
        best = best.min(ns);
    }
    black_box(x);
    best
}
