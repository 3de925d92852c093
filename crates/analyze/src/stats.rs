//! Small statistics for repeated measurements: medians, distribution-free
//! confidence intervals that state the coverage they actually have, and
//! Student's t quantile for regression intervals.
//!
//! With a handful of repetitions a resampling interval (the percentile
//! bootstrap) claims a confidence it does not have: for the median of 3 it
//! is [min, max], whose true coverage is 75 %, not 95 %. The intervals here
//! are exact instead: each is a pair of order statistics whose coverage
//! follows from counting, and when the samples are too few for the level
//! asked they return the widest pair with the (lower) coverage it has.

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

/// A confidence interval and the coverage it actually has: the chance,
/// before the data were drawn, that the interval holds the true value.
/// `coverage` may be below the level asked when the samples are too few.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    /// Lower end.
    pub lo: f64,
    /// Upper end.
    pub hi: f64,
    /// Actual coverage, 0..1.
    pub coverage: f64,
}

/// The narrowest symmetric pair of order statistics, `[d_(k), d_(len+1−k)]`
/// (1-based, `d` sorted), whose coverage `1 − 2·lower_tail[k−1]` reaches
/// `level`; the widest pair `k = 1` when none does. `lower_tail[j]` is the
/// null chance that fewer than `j + 1` of the `len` values fall below the
/// true value.
fn symmetric_pair(d: &[f64], lower_tail: impl Fn(usize) -> f64, level: f64) -> Interval {
    let coverage = |k: usize| (1.0 - 2.0 * lower_tail(k - 1)).max(0.0);
    let k = (1..=d.len().div_ceil(2))
        .take_while(|&k| coverage(k) >= level)
        .last()
        .unwrap_or(1);
    Interval {
        lo: d[k - 1],
        hi: d[d.len() - k],
        coverage: coverage(k),
    }
}

/// P(B ≤ j) for each j in 0..=n, B ~ Binomial(n, 1/2): how many of n
/// samples fall below the true median. Summed in log space so large `n`
/// does not underflow 2⁻ⁿ.
fn binomial_half_cdf(n: usize) -> Vec<f64> {
    let mut ln_term = -(n as f64) * std::f64::consts::LN_2;
    let mut cdf = Vec::with_capacity(n + 1);
    let mut sum = 0.0;
    for j in 0..=n {
        sum += ln_term.exp();
        cdf.push(sum.min(1.0));
        ln_term += ((n - j) as f64 / (j + 1) as f64).ln();
    }
    cdf
}

/// An exact, distribution-free confidence interval for the median of
/// `xs`: the order statistics `[x_(k), x_(n+1−k)]` with the largest `k`
/// whose coverage, 1 − 2·P(B ≤ k−1) for B ~ Binomial(n, 1/2), is at least
/// `level`; with too few samples for `level`, `[min, max]` and its coverage
/// 1 − 2⁻⁽ⁿ⁻¹⁾ (75 % for n = 3, 93.75 % for n = 5). The coverage holds for
/// any continuous distribution; ties only raise it. `None` when empty.
///
/// ```
/// use mapknee_analyze::stats::median_ci;
/// let ci = median_ci(&[10.0, 11.0, 9.0], 0.95).unwrap();
/// assert_eq!((ci.lo, ci.hi, ci.coverage), (9.0, 11.0, 0.75));
/// let xs: Vec<f64> = (1..=10).map(f64::from).collect();
/// let ci = median_ci(&xs, 0.95).unwrap();
/// assert_eq!((ci.lo, ci.hi), (2.0, 9.0));
/// assert!((ci.coverage - 0.978_515_625).abs() < 1e-12);
/// ```
pub fn median_ci(xs: &[f64], level: f64) -> Option<Interval> {
    if xs.is_empty() {
        return None;
    }
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let cdf = binomial_half_cdf(v.len());
    Some(symmetric_pair(&v, |j| cdf[j], level))
}

/// The null distribution of the Mann–Whitney count U (pairs (b, n) with
/// n < b) for samples of `m` and `n` drawn from one distribution:
/// `pmf[u]` = P(U = u), u in 0..=m·n. Built by the recurrence on which
/// sample holds the largest value, in probabilities so nothing overflows.
/// O(m²n²) time: nothing for the tens of repetitions `compare` pools.
fn mann_whitney_pmf(m: usize, n: usize) -> Vec<f64> {
    // row[j]: the pmf for sizes (i − 1, j), then (i, j).
    let mut row: Vec<Vec<f64>> = vec![vec![1.0]; n + 1];
    for i in 1..=m {
        let mut next: Vec<Vec<f64>> = Vec::with_capacity(n + 1);
        next.push(vec![1.0]);
        for j in 1..=n {
            let mut p = vec![0.0; i * j + 1];
            let from_m = i as f64 / (i + j) as f64;
            // The largest value is the first sample's (chance i/(i+j)): it
            // is above all j of the second, adding j to U.
            for (u, &q) in row[j].iter().enumerate() {
                p[u + j] += from_m * q;
            }
            for (u, &q) in next[j - 1].iter().enumerate() {
                p[u] += (1.0 - from_m) * q;
            }
            next.push(p);
        }
        row = next;
    }
    row.pop().unwrap_or_default()
}

/// An exact, distribution-free confidence interval for the ratio
/// `new / base` of two sets of positive repetitions: the Hodges–Lehmann
/// interval, by inverting the Mann–Whitney test on the logarithms. Of the
/// m·n pairwise log ratios, sorted, it takes the symmetric pair of order
/// statistics whose coverage (from the exact null distribution of the
/// Mann–Whitney count) is the least at or above `level`; with too few
/// samples, the extreme pair and its coverage 1 − 2 / C(m+n, m) (90 % for
/// 3 vs 3, 99.2 % for 5 vs 5).
///
/// The coverage is exact when the two sides' distributions differ by a
/// factor (the ratio of their medians is then that factor). Above all,
/// when nothing changed (both sides drawn from one distribution, whatever
/// its shape) the interval excludes 1 with probability at most
/// 1 − coverage: the false-alarm rate is what it says. `None` unless both
/// sides have a sample and all are positive.
///
/// ```
/// use mapknee_analyze::stats::ratio_ci;
/// let base = [100.0, 104.0, 98.0, 101.0, 99.0];
/// let ci = ratio_ci(&base, &[70.0, 69.0, 72.0, 68.0, 71.0], 0.95).unwrap();
/// assert!(0.65 < ci.lo && ci.hi < 0.74 && ci.hi < 1.0);
/// assert!(ci.coverage >= 0.95);
/// let ci = ratio_ci(&base[..3], &[70.0, 69.0, 72.0], 0.95).unwrap();
/// assert!((ci.coverage - 0.9).abs() < 1e-12, "3 vs 3 cannot reach 95 %");
/// assert!(ratio_ci(&base, &[], 0.95).is_none());
/// ```
pub fn ratio_ci(base: &[f64], new: &[f64], level: f64) -> Option<Interval> {
    if base.is_empty() || new.is_empty() || base.iter().chain(new).any(|&x| x <= 0.0) {
        return None;
    }
    let mut d: Vec<f64> = base
        .iter()
        .flat_map(|b| new.iter().map(move |n| (n / b).ln()))
        .collect();
    d.sort_by(f64::total_cmp);
    let pmf = mann_whitney_pmf(base.len(), new.len());
    let cdf: Vec<f64> = pmf
        .iter()
        .scan(0.0, |s, p| {
            *s += p;
            Some(*s)
        })
        .collect();
    let ci = symmetric_pair(&d, |j| cdf[j], level);
    Some(Interval {
        lo: ci.lo.exp(),
        hi: ci.hi.exp(),
        ..ci
    })
}

/// P(|T| ≤ t) for Student's t with `df` degrees of freedom, by the finite
/// series of Abramowitz & Stegun 26.7.3–4 (exact for integer `df`).
fn t_central_mass(t: f64, df: u32) -> f64 {
    let theta = (t / f64::from(df).sqrt()).atan();
    let (s, c) = theta.sin_cos();
    let c2 = c * c;
    if df % 2 == 1 {
        // θ + sinθ·(cosθ + 2/3·cos³θ + 2·4/(3·5)·cos⁵θ + … + cos^(df−2)θ)
        let mut term = c;
        let mut sum = 0.0;
        for j in 1..=(df - 1) / 2 {
            sum += term;
            term *= c2 * (2 * j) as f64 / (2 * j + 1) as f64;
        }
        (theta + s * sum) * std::f64::consts::FRAC_2_PI
    } else {
        // sinθ·(1 + 1/2·cos²θ + 1·3/(2·4)·cos⁴θ + … + cos^(df−2)θ)
        let mut term = 1.0;
        let mut sum = 0.0;
        for j in 1..=df / 2 {
            sum += term;
            term *= c2 * (2 * j - 1) as f64 / (2 * j) as f64;
        }
        s * sum
    }
}

/// The two-sided Student's t quantile: the `t` with P(|T| ≤ t) = `level`
/// for `df` degrees of freedom (12.71 for 95 % at df = 1, 2.228 at 10,
/// → 1.960 as df grows). Found by bisection on the exact distribution.
///
/// ```
/// use mapknee_analyze::stats::t_quantile;
/// assert!((t_quantile(0.95, 1) - 12.706).abs() < 1e-3);
/// assert!((t_quantile(0.95, 10) - 2.228).abs() < 1e-3);
/// assert!((t_quantile(0.95, 1000) - 1.962).abs() < 1e-3);
/// ```
pub fn t_quantile(level: f64, df: u32) -> f64 {
    let df = df.max(1);
    let mut hi = 2.0;
    while t_central_mass(hi, df) < level && hi < 1e12 {
        hi *= 2.0;
    }
    let mut lo = 0.0;
    for _ in 0..200 {
        let mid = (lo + hi) / 2.0;
        if t_central_mass(mid, df) < level {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    hi
}

#[cfg(test)]
mod tests {
    use super::*;

    /// splitmix64: a tiny deterministic generator for the tests' draws.
    fn splitmix(state: &mut u64) -> u64 {
        *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = *state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform draw in [0, 1).
    fn unit(state: &mut u64) -> f64 {
        (splitmix(state) >> 11) as f64 / (1u64 << 53) as f64
    }

    #[test]
    fn median_interval_coverage_is_the_binomial_count() {
        let cov = |n: usize| {
            let xs: Vec<f64> = (0..n).map(|i| i as f64).collect();
            median_ci(&xs, 0.95).unwrap()
        };
        // Too few for 95 %: [min, max] at 1 − 2^(1−n).
        assert_eq!((cov(3).lo, cov(3).hi, cov(3).coverage), (0.0, 2.0, 0.75));
        assert_eq!((cov(5).lo, cov(5).hi, cov(5).coverage), (0.0, 4.0, 0.9375));
        // 6 is the first n where [min, max] reaches 95 %.
        assert_eq!(cov(6).coverage, 1.0 - 2.0 / 64.0);
        // n = 10: [x_(2), x_(9)], 1 − 2·11/1024; x_(3) would be 89 %.
        assert_eq!((cov(10).lo, cov(10).hi), (1.0, 8.0));
        assert_eq!(cov(10).coverage, 1.0 - 22.0 / 1024.0);
        // One sample covers the median with probability 0.
        assert_eq!(median_ci(&[7.0], 0.95).unwrap().coverage, 0.0);
        assert!(median_ci(&[], 0.95).is_none());
        // Large n stays finite and near the level.
        let c = cov(2000).coverage;
        assert!((0.95..0.96).contains(&c), "{c}");
    }

    #[test]
    fn median_interval_covers_as_often_as_it_says() {
        // Exponential draws (skewed, like latencies), true median ln 2:
        // over 4000 trials the hit rate matches the stated coverage within
        // a few binomial standard errors (≤ 0.7 % here).
        let mut state = 42;
        for n in [3, 5, 10] {
            let trials = 4000;
            let mut hits = 0;
            let mut stated = 0.0;
            for _ in 0..trials {
                let xs: Vec<f64> = (0..n).map(|_| -(1.0 - unit(&mut state)).ln()).collect();
                let ci = median_ci(&xs, 0.95).unwrap();
                stated = ci.coverage;
                hits += usize::from(ci.lo <= 2f64.ln() && 2f64.ln() <= ci.hi);
            }
            let rate = hits as f64 / trials as f64;
            assert!((rate - stated).abs() < 0.025, "n {n}: {rate} vs {stated}");
        }
    }

    #[test]
    fn mann_whitney_null_distribution_is_exact() {
        // 3 vs 3: C(6, 3) = 20 equally likely orders; U = 0 in one of them.
        let p = mann_whitney_pmf(3, 3);
        assert_eq!(p.len(), 10);
        assert!((p[0] - 1.0 / 20.0).abs() < 1e-15 && (p[9] - 1.0 / 20.0).abs() < 1e-15);
        assert!((p[4] - 3.0 / 20.0).abs() < 1e-15);
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        // 5 vs 5: P(U ≤ 2) = 4 / 252, so the 97.5 % interval is the second
        // pair in from the ends, at 1 − 2·2/252.
        let base = [1.0, 2.0, 3.0, 4.0, 5.0];
        let ci = ratio_ci(&base, &base, 0.975).unwrap();
        assert!((ci.coverage - (1.0 - 4.0 / 252.0)).abs() < 1e-12);
        let ci = ratio_ci(&base, &base, 0.95).unwrap();
        assert!((ci.coverage - (1.0 - 8.0 / 252.0)).abs() < 1e-12);
        // 10 vs 10 reaches 95 %, not much above.
        let ten: Vec<f64> = (1..=10).map(f64::from).collect();
        let c = ratio_ci(&ten, &ten, 0.95).unwrap().coverage;
        assert!((0.95..0.96).contains(&c), "{c}");
    }

    #[test]
    fn ratio_interval_separates_shifted_samples_and_alarms_as_often_as_it_says() {
        let mut state = 7;
        let mut draw = |n: usize, centre: f64| -> Vec<f64> {
            (0..n)
                .map(|_| centre * (0.8 + 0.4 * unit(&mut state)))
                .collect()
        };
        // A 40 % drop, beyond the ±20 % spread: the interval excludes 1 and
        // holds the true ratio.
        let (a, c) = (draw(7, 100.0), draw(7, 60.0));
        let ci = ratio_ci(&a, &c, 0.95).unwrap();
        assert!(ci.hi < 1.0 && ci.lo < 0.6 && 0.6 < ci.hi, "{ci:?}");
        // A higher level gives a wider interval.
        let wide = ratio_ci(&a, &c, 0.999).unwrap();
        assert!(wide.lo <= ci.lo && ci.hi <= wide.hi && wide.coverage > ci.coverage);
        // Nothing changed: over 4000 pairs of 5 vs 5 draws from one
        // distribution, the interval excludes 1 about 1 − coverage of the
        // time (3.2 %), not more.
        let mut alarms = 0;
        let mut stated = 0.0;
        for _ in 0..4000 {
            let ci = ratio_ci(&draw(5, 100.0), &draw(5, 100.0), 0.95).unwrap();
            stated = ci.coverage;
            alarms += usize::from(!(ci.lo <= 1.0 && 1.0 <= ci.hi));
        }
        let rate = alarms as f64 / 4000.0;
        assert!((rate - (1.0 - stated)).abs() < 0.012, "{rate} vs {stated}");
    }

    #[test]
    fn t_quantiles_match_the_tables() {
        for (df, t) in [(1, 12.706), (2, 4.303), (3, 3.182), (5, 2.571), (30, 2.042)] {
            assert!((t_quantile(0.95, df) - t).abs() < 1e-3, "df {df}");
        }
        assert!((t_quantile(0.99, 4) - 4.604).abs() < 1e-3);
        assert!(t_quantile(0.95, 0) == t_quantile(0.95, 1));
    }
}
