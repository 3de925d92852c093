//! The Universal Scalability Law (Gunther):
//! X(N) = λN / (1 + σ(N−1) + κN(N−1)), fitted to closed-loop throughput at
//! several thread counts.
//!
//! σ is contention (the serialized share), κ coherency (the cost of
//! keeping shared data consistent across threads, which makes throughput
//! *fall* past N* = √((1−σ)/κ)).
//!
//! Fit: for a given λ the model is linear in σ and κ once rearranged,
//! λN/X − 1 = σ(N−1) + κN(N−1), so σ and κ come from a two-variable least
//! squares (constrained ≥ 0); λ itself is chosen by golden-section search to
//! minimize the squared relative error of X. Three parameters need at least
//! three distinct thread counts; below six the fit is reported but marked
//! untrusted (σ and κ trade off against each other on few points).

use mapknee_load::{Point, Usl};

/// Thread counts needed before σ and κ are trusted.
pub const MIN_TRUSTED_POINTS: usize = 6;

/// σ, κ ≥ 0 minimizing Σ (σ·a + κ·b − c)² (a = N−1, b = N(N−1)).
fn sigma_kappa(pts: &[(f64, f64)], lambda: f64) -> (f64, f64) {
    let rows: Vec<(f64, f64, f64)> = pts
        .iter()
        .map(|&(n, x)| (n - 1.0, n * (n - 1.0), lambda * n / x - 1.0))
        .collect();
    let (mut saa, mut sab, mut sbb, mut sac, mut sbc) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for &(a, b, c) in &rows {
        saa += a * a;
        sab += a * b;
        sbb += b * b;
        sac += a * c;
        sbc += b * c;
    }
    let det = saa * sbb - sab * sab;
    let (s, k) = if det.abs() > 1e-12 * saa.max(1.0) * sbb.max(1.0) {
        ((sac * sbb - sbc * sab) / det, (saa * sbc - sab * sac) / det)
    } else {
        (-1.0, -1.0) // singular: fall through to the one-variable fits
    };
    if (0.0..=1.0).contains(&s) && k >= 0.0 {
        return (s, k);
    }
    // Constrained: best of κ = 0, σ = 0, or both 0.
    let only_s = if saa > 0.0 { (sac / saa).max(0.0) } else { 0.0 };
    let only_k = if sbb > 0.0 { (sbc / sbb).max(0.0) } else { 0.0 };
    let sse = |s: f64, k: f64| {
        rows.iter()
            .map(|&(a, b, c)| (s * a + k * b - c).powi(2))
            .sum::<f64>()
    };
    // σ is a fraction (the serialized share): at most 1. With σ = 1 fixed,
    // κ fits Σ b·(c − a) / Σ b².
    let k_at_s1 = if sbb > 0.0 {
        ((sbc - sab) / sbb).max(0.0)
    } else {
        0.0
    };
    [
        (only_s.min(1.0), 0.0),
        (0.0, only_k),
        (1.0, k_at_s1),
        (0.0, 0.0),
    ]
    .into_iter()
    .min_by(|p, q| sse(p.0, p.1).total_cmp(&sse(q.0, q.1)))
    .unwrap_or((0.0, 0.0))
}

/// Fits the USL to scaling points (one per thread count; duplicates are
/// averaged). `None` with fewer than 3 distinct thread counts or
/// non-positive throughput.
///
/// ```
/// use mapknee_analyze::usl::fit_usl;
/// use mapknee_load::Point;
/// let pts: Vec<Point> = (1..=8)
///     .map(|n| {
///         let n_f = n as f64;
///         Point { threads: n, ops_per_sec: 1e6 * n_f / (1.0 + 0.1 * (n_f - 1.0) + 0.01 * n_f * (n_f - 1.0)), p99_ns: 0 }
///     })
///     .collect();
/// let u = fit_usl(&pts).unwrap();
/// assert!((u.sigma - 0.1).abs() < 0.005 && (u.kappa - 0.01).abs() < 0.0005);
/// assert!(u.trusted);
/// ```
pub fn fit_usl(points: &[Point]) -> Option<Usl> {
    let mut by_n: std::collections::BTreeMap<usize, (f64, usize)> = Default::default();
    for p in points {
        if p.threads == 0
            || p.ops_per_sec.is_nan()
            || p.ops_per_sec <= 0.0
            || !p.ops_per_sec.is_finite()
        {
            continue;
        }
        let e = by_n.entry(p.threads).or_insert((0.0, 0));
        e.0 += p.ops_per_sec;
        e.1 += 1;
    }
    let pts: Vec<(f64, f64)> = by_n
        .iter()
        .map(|(&n, &(s, c))| (n as f64, s / c as f64))
        .collect();
    if pts.len() < 3 {
        return None;
    }
    let rel_sse = |lambda: f64| {
        let (s, k) = sigma_kappa(&pts, lambda);
        let u = Usl {
            sigma: s,
            kappa: k,
            lambda,
            peak_threads: None,
            r2: 0.0,
            points: 0,
            trusted: false,
        };
        pts.iter()
            .map(|&(n, x)| ((u.throughput(n) - x) / x).powi(2))
            .sum::<f64>()
    };
    // λ is the single-thread rate: search around the best per-thread rate.
    let per_thread_max = pts.iter().map(|&(n, x)| x / n).fold(0.0, f64::max);
    let (mut lo, mut hi) = (per_thread_max * 0.5, per_thread_max * 2.0);
    let g = (5f64.sqrt() - 1.0) / 2.0;
    let (mut c, mut d) = (hi - g * (hi - lo), lo + g * (hi - lo));
    let (mut fc, mut fd) = (rel_sse(c), rel_sse(d));
    for _ in 0..200 {
        if fc < fd {
            hi = d;
            d = c;
            fd = fc;
            c = hi - g * (hi - lo);
            fc = rel_sse(c);
        } else {
            lo = c;
            c = d;
            fc = fd;
            d = lo + g * (hi - lo);
            fd = rel_sse(d);
        }
        if hi - lo < 1e-12 * per_thread_max {
            break;
        }
    }
    let lambda = (lo + hi) / 2.0;
    let (sigma, kappa) = sigma_kappa(&pts, lambda);
    let peak_threads = (kappa > 0.0 && sigma < 1.0).then(|| ((1.0 - sigma) / kappa).sqrt());
    let mut u = Usl {
        sigma,
        kappa,
        lambda,
        peak_threads,
        r2: 0.0,
        points: pts.len(),
        trusted: pts.len() >= MIN_TRUSTED_POINTS,
    };
    let mean = pts.iter().map(|p| p.1).sum::<f64>() / pts.len() as f64;
    let ss_tot: f64 = pts.iter().map(|p| (p.1 - mean).powi(2)).sum();
    let ss_res: f64 = pts
        .iter()
        .map(|&(n, x)| (u.throughput(n) - x).powi(2))
        .sum();
    u.r2 = if ss_tot > 0.0 {
        1.0 - ss_res / ss_tot
    } else {
        1.0
    };
    Some(u)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn points(sigma: f64, kappa: f64, lambda: f64, ns: &[usize], noise: &[f64]) -> Vec<Point> {
        ns.iter()
            .zip(noise.iter().cycle())
            .map(|(&n, e)| {
                let u = Usl {
                    sigma,
                    kappa,
                    lambda,
                    peak_threads: None,
                    r2: 0.0,
                    points: 0,
                    trusted: false,
                };
                Point {
                    threads: n,
                    ops_per_sec: u.throughput(n as f64) * (1.0 + e),
                    p99_ns: 0,
                }
            })
            .collect()
    }

    #[test]
    fn recovers_known_sigma_kappa_within_5_percent() {
        for &(s, k, l) in &[(0.05, 0.001, 1e6), (0.2, 0.0005, 3e5), (0.02, 0.01, 5e7)] {
            let pts = points(s, k, l, &[1, 2, 4, 8, 16, 32, 64], &[0.0]);
            let u = fit_usl(&pts).unwrap();
            assert!((u.sigma - s).abs() <= 0.05 * s, "sigma {} vs {s}", u.sigma);
            assert!((u.kappa - k).abs() <= 0.05 * k, "kappa {} vs {k}", u.kappa);
            assert!(
                (u.lambda - l).abs() <= 0.05 * l,
                "lambda {} vs {l}",
                u.lambda
            );
            let peak = ((1.0 - s) / k).sqrt();
            assert!((u.peak_threads.unwrap() - peak).abs() <= 0.05 * peak);
            assert!(u.r2 > 0.999 && u.trusted);
        }
    }

    #[test]
    fn tolerates_noise_and_marks_few_points_untrusted() {
        let pts = points(
            0.1,
            0.002,
            1e6,
            &[1, 2, 3, 4, 6, 8, 12, 16],
            &[0.01, -0.01, 0.005, -0.005],
        );
        let u = fit_usl(&pts).unwrap();
        assert!(
            (u.sigma - 0.1).abs() < 0.03 && (u.kappa - 0.002).abs() < 0.001,
            "{u:?}"
        );
        let few = fit_usl(&points(0.1, 0.002, 1e6, &[1, 2, 4], &[0.0])).unwrap();
        assert!(!few.trusted && few.points == 3);
        assert!(fit_usl(&points(0.1, 0.0, 1e6, &[1, 2], &[0.0])).is_none());
    }

    #[test]
    fn sigma_stays_a_fraction_when_throughput_falls() {
        // Throughput halving from 1 to 2 threads and flat after: an
        // unconstrained fit wants σ > 1.
        let pts: Vec<Point> = [
            (1, 30e6),
            (2, 15e6),
            (3, 15e6),
            (4, 14e6),
            (5, 14e6),
            (6, 13e6),
        ]
        .into_iter()
        .map(|(n, x)| Point {
            threads: n,
            ops_per_sec: x,
            p99_ns: 0,
        })
        .collect();
        let u = fit_usl(&pts).unwrap();
        assert!((0.0..=1.0).contains(&u.sigma) && u.kappa >= 0.0, "{u:?}");
    }

    #[test]
    fn linear_scaling_has_no_peak() {
        let pts = points(0.0, 0.0, 1e6, &[1, 2, 4, 8, 16, 32], &[0.0]);
        let u = fit_usl(&pts).unwrap();
        assert!(
            u.sigma < 1e-6 && u.kappa < 1e-9 && u.peak_threads.is_none(),
            "{u:?}"
        );
    }
}
