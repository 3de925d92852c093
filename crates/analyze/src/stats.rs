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

/// Resamples drawn for a bootstrap interval.
pub const BOOTSTRAP_RESAMPLES: usize = 2_000;

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
    let mut state = xs
        .iter()
        .fold(0x5EED_u64, |h, x| h.rotate_left(7) ^ x.to_bits());
    let mut sample = vec![0.0; xs.len()];
    let mut medians: Vec<f64> = (0..BOOTSTRAP_RESAMPLES)
        .map(|_| {
            for s in sample.iter_mut() {
                *s = xs[(splitmix(&mut state) % xs.len() as u64) as usize];
            }
            median(&sample)
        })
        .collect();
    medians.sort_by(f64::total_cmp);
    let tail = (1.0 - confidence.clamp(0.0, 1.0)) / 2.0;
    let at = |q: f64| {
        medians[((q * (medians.len() - 1) as f64).round() as usize).min(medians.len() - 1)]
    };
    (at(tail), at(1.0 - tail))
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
    fn degenerate_inputs() {
        assert!(median(&[]).is_nan());
        assert_eq!(bootstrap_median_ci(&[7.0], 0.95), (7.0, 7.0));
        assert_eq!(bootstrap_median_ci(&[7.0, 7.0, 7.0], 0.95), (7.0, 7.0));
    }
}
