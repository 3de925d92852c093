//! Small statistics: medians and bootstrap confidence intervals for
//! repeated measurements.

/// The median of `xs` (mean of the middle two for even counts); NaN when empty.
///
/// ```
/// assert_eq!(mapknee_analyze::stats::median(&[3.0, 1.0, 2.0]), 2.0);
/// assert_eq!(mapknee_analyze::stats::median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
/// ```
pub fn median(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

/// splitmix64: a tiny deterministic generator, so intervals are
/// reproducible from the data alone.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Resamples drawn for a bootstrap interval: enough that the tail
/// quantiles of a family-wise interval (99.9 % and beyond) still rest on a
/// few resamples each.
pub const BOOTSTRAP_RESAMPLES: usize = 10_000;

/// A generator seeded from the data, so intervals are reproducible from
/// the data alone.
fn seeded(xs: &[f64]) -> u64 {
    xs.iter()
        .fold(0x5EED_u64, |h, x| h.rotate_left(7) ^ x.to_bits())
}

/// The median of a resample (with replacement) of `xs`, drawn into `buf`.
fn resampled_median(xs: &[f64], buf: &mut Vec<f64>, state: &mut u64) -> f64 {
    buf.clear();
    buf.extend((0..xs.len()).map(|_| xs[(splitmix(state) % xs.len() as u64) as usize]));
    median(buf)
}

/// The central `confidence` interval of `draws` (sorted in place).
fn percentile_interval(draws: &mut [f64], confidence: f64) -> (f64, f64) {
    draws.sort_by(f64::total_cmp);
    let tail = (1.0 - confidence.clamp(0.0, 1.0)) / 2.0;
    let last = draws.len() - 1;
    let at = |q: f64| draws[((q * last as f64).round() as usize).min(last)];
    (at(tail), at(1.0 - tail))
}

/// A percentile-bootstrap confidence interval for the median of `xs`:
/// `(lo, hi)` at `confidence` (e.g. 0.95), from `BOOTSTRAP_RESAMPLES`
/// resamples with a fixed seed. With one sample the interval is that sample.
///
/// ```
/// use mapknee_analyze::stats::bootstrap_median_ci;
/// let (lo, hi) = bootstrap_median_ci(&[10.0, 11.0, 9.0, 10.5, 9.5], 0.95);
/// assert!(lo <= 10.0 && 10.0 <= hi && lo >= 9.0 && hi <= 11.0);
/// ```
pub fn bootstrap_median_ci(xs: &[f64], confidence: f64) -> (f64, f64) {
    match xs.len() {
        0 => return (f64::NAN, f64::NAN),
        1 => return (xs[0], xs[0]),
        _ => {}
    }
    let mut state = seeded(xs);
    let mut buf = Vec::with_capacity(xs.len());
    let mut medians: Vec<f64> = (0..BOOTSTRAP_RESAMPLES)
        .map(|_| resampled_median(xs, &mut buf, &mut state))
        .collect();
    percentile_interval(&mut medians, confidence)
}

/// A percentile-bootstrap confidence interval for the ratio of medians
/// `median(new) / median(base)`, resampling each side on its own: how far
/// two sets of repetitions can be said to differ. `None` unless both sides
/// have at least two samples and a positive base.
///
/// ```
/// use mapknee_analyze::stats::bootstrap_ratio_ci;
/// let base = [100.0, 104.0, 98.0, 101.0, 99.0];
/// let (lo, hi) = bootstrap_ratio_ci(&base, &[70.0, 69.0, 72.0, 68.0, 71.0], 0.95).unwrap();
/// assert!(0.66 < lo && hi < 0.74);
/// assert!(bootstrap_ratio_ci(&base, &[70.0], 0.95).is_none());
/// ```
pub fn bootstrap_ratio_ci(base: &[f64], new: &[f64], confidence: f64) -> Option<(f64, f64)> {
    if base.len() < 2 || new.len() < 2 || base.iter().any(|&b| b <= 0.0) {
        return None;
    }
    let mut state = seeded(base) ^ seeded(new).rotate_left(32);
    let (mut bb, mut nb) = (Vec::new(), Vec::new());
    let mut ratios: Vec<f64> = (0..BOOTSTRAP_RESAMPLES)
        .map(|_| {
            let b = resampled_median(base, &mut bb, &mut state);
            resampled_median(new, &mut nb, &mut state) / b
        })
        .collect();
    Some(percentile_interval(&mut ratios, confidence))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_narrows_with_more_data_and_covers_the_median() {
        let mut state = 42;
        let draw = |n: usize, state: &mut u64| -> Vec<f64> {
            (0..n)
                .map(|_| 100.0 + (splitmix(state) % 1000) as f64 / 100.0)
                .collect()
        };
        let small = draw(5, &mut state);
        let big = draw(200, &mut state);
        let (a, b) = bootstrap_median_ci(&small, 0.95);
        let (c, d) = bootstrap_median_ci(&big, 0.95);
        assert!(a <= median(&small) && median(&small) <= b);
        assert!(c <= median(&big) && median(&big) <= d);
        assert!(
            d - c < b - a,
            "200 samples [{c},{d}] vs 5 samples [{a},{b}]"
        );
        // Uniform on [100, 110): the true median 105 is inside the big interval.
        assert!(c <= 105.0 && 105.0 <= d, "[{c},{d}]");
    }

    #[test]
    fn ratio_interval_separates_shifted_samples_but_not_one_distribution() {
        let mut state = 7;
        let mut draw = |n: usize, centre: f64| -> Vec<f64> {
            (0..n)
                .map(|_| centre * (0.8 + (splitmix(&mut state) % 400) as f64 / 1000.0))
                .collect()
        };
        // Two draws of one distribution: the interval holds 1.
        let (a, b) = (draw(7, 100.0), draw(7, 100.0));
        let (lo, hi) = bootstrap_ratio_ci(&a, &b, 0.95).unwrap();
        assert!(lo < 1.0 && 1.0 < hi, "[{lo},{hi}]");
        // A 40 % drop, well beyond the ±20 % spread: the interval excludes 1
        // and holds the true ratio.
        let c = draw(7, 60.0);
        let (lo, hi) = bootstrap_ratio_ci(&a, &c, 0.95).unwrap();
        assert!(hi < 1.0 && lo < 0.6 && 0.6 < hi, "[{lo},{hi}]");
        // A wider confidence gives a wider interval.
        let (lo2, hi2) = bootstrap_ratio_ci(&a, &c, 0.999).unwrap();
        assert!(lo2 <= lo && hi <= hi2);
    }

    #[test]
    fn degenerate_inputs() {
        assert!(median(&[]).is_nan());
        assert_eq!(bootstrap_median_ci(&[7.0], 0.95), (7.0, 7.0));
        assert_eq!(bootstrap_median_ci(&[7.0, 7.0, 7.0], 0.95), (7.0, 7.0));
    }
}
