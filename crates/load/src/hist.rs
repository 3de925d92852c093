//! Latency histograms: HDR histograms in ns with 3 significant digits, one
//! per thread, merged after each step.
//!
//! The runner's histograms are *pre-sized* ([`sized`], [`sized_window`]):
//! their range covers every latency a step can produce and their memory is
//! touched before the step, so recording inside a measured window never
//! resizes, allocates or page-faults. The auto-resizing ones
//! ([`new_histogram`]) serve code that records outside measured windows.

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// Significant digits of the per-step latency and service histograms:
/// 3 gives 0.1 % value resolution.
pub const SIG_DIGITS: u8 = 3;
/// Significant digits of the merged 10 ms timeline histograms: 2 (1 %)
/// keeps each window's histogram around 20 KB, plenty for a per-window p99.
pub const WINDOW_SIG_DIGITS: u8 = 2;

/// A per-step latency histogram (ns, 3 significant digits, auto-resizing).
pub fn new_histogram() -> Histogram<u64> {
    Histogram::new(SIG_DIGITS).expect("3 significant digits is valid")
}

/// A merged timeline window histogram (ns, 2 significant digits, auto-resizing).
pub fn new_window_histogram() -> Histogram<u64> {
    Histogram::new(WINDOW_SIG_DIGITS).expect("2 significant digits is valid")
}

/// A step histogram (ns, 3 significant digits) fixed to `1..=max_ns`, its
/// memory touched now. Values above `max_ns` are clamped to it by
/// [`record`]; the runner sizes it so that none can occur.
pub fn sized(max_ns: u64) -> Histogram<u64> {
    let mut h = Histogram::new_with_bounds(1, max_ns.max(2), SIG_DIGITS)
        .expect("1..max with 3 significant digits is valid");
    h.auto(false);
    // `reset` writes every counter: the pages are faulted in here, not on
    // the first record inside the measured window.
    h.reset();
    h
}

/// A timeline window histogram (ns, 2 significant digits, 32-bit counts:
/// a 10 ms window holds far fewer than 2^32 transactions per thread) fixed
/// to `1..=max_ns`, its memory touched now.
pub fn sized_window(max_ns: u64) -> Histogram<u32> {
    let mut h = Histogram::new_with_bounds(1, max_ns.max(2), WINDOW_SIG_DIGITS)
        .expect("1..max with 2 significant digits is valid");
    h.auto(false);
    h.reset();
    h
}

/// Records `v` (ns), growing the histogram as needed. An auto-resizing
/// histogram only refuses values beyond `i64::MAX`; those are clamped.
/// (`saturating_record` alone never resizes: on a fresh histogram it would
/// clamp every value above its initial range.)
#[inline]
pub fn record<T: hdrhistogram::Counter>(h: &mut Histogram<T>, v: u64) {
    if h.record(v).is_err() {
        h.saturating_record(v);
    }
}

/// Adds `from` into `into`. Both auto-resize, so the merge cannot fail for
/// lack of range.
pub fn merge<T: hdrhistogram::Counter>(into: &mut Histogram<T>, from: &Histogram<T>) {
    into.add(from)
        .expect("auto-resizing histograms accept any range");
}

/// The percentiles reported for a distribution of latencies (ns).
///
/// ```
/// let mut h = mapknee_load::hist::new_histogram();
/// for v in 1..=100u64 { h.record(v * 1000).unwrap(); }
/// let p = mapknee_load::Percentiles::of(&h);
/// assert!((99_000..=99_999).contains(&p.p99));
/// assert_eq!(p.max, 100_031); // 3 significant digits: the bucket's top
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// Largest value recorded.
    pub max: u64,
    /// Mean.
    pub mean: f64,
}

impl Percentiles {
    /// The percentiles of `h` (all zero when empty).
    pub fn of<T: hdrhistogram::Counter>(h: &Histogram<T>) -> Self {
        if h.is_empty() {
            return Percentiles::default();
        }
        Percentiles {
            p50: h.value_at_quantile(0.50),
            p90: h.value_at_quantile(0.90),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            max: h.max(),
            mean: h.mean(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merging_two_threads_equals_recording_into_one() {
        let mut a = new_histogram();
        let mut b = new_histogram();
        let mut both = new_histogram();
        for v in 1..=10_000u64 {
            let (h, x) = if v % 3 == 0 {
                (&mut a, v)
            } else {
                (&mut b, v * 7)
            };
            h.record(x).unwrap();
            both.record(x).unwrap();
        }
        // b has grown past a's range: the merge must resize a.
        b.record(5_000_000_000).unwrap();
        both.record(5_000_000_000).unwrap();
        merge(&mut a, &b);
        assert_eq!(a.len(), both.len());
        assert_eq!(Percentiles::of(&a), Percentiles::of(&both));
        assert_eq!(a.max(), both.max());
    }

    #[test]
    fn percentiles_of_empty_are_zero_and_ordered_otherwise() {
        assert_eq!(Percentiles::of(&new_histogram()), Percentiles::default());
        let mut h = new_histogram();
        for v in 0..100_000u64 {
            h.record(v).unwrap();
        }
        let p = Percentiles::of(&h);
        assert!(p.p50 <= p.p90 && p.p90 <= p.p99 && p.p99 <= p.p999 && p.p999 <= p.max);
        assert!((p.p99 as f64 - 99_000.0).abs() < 100.0, "{p:?}");
    }

    #[test]
    fn window_histograms_merge_too() {
        let mut a = new_window_histogram();
        let mut b = new_window_histogram();
        a.record(1_000).unwrap();
        b.record(1_000_000).unwrap();
        merge(&mut a, &b);
        assert_eq!(a.len(), 2);
        assert!(a.max() >= 990_000);
    }
}
