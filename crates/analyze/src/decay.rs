//! The study's decay model (its section 2.5): how a map's p99 grows with
//! load and with the share of writes, fitted across runs.
//!
//! For each measured step of a map that kept up (achieved ≥ 95 % of
//! offered, the knee's throughput rule):
//! - ρ = offered rate / the map's closed-loop capacity for that mix (the
//!   *load factor* in the queueing sense: utilization), clamped below 0.98;
//! - x = ln(1 + q) = −ln(1 − ρ), with q = ρ/(1−ρ);
//! - w = the mix's write share (insert + get_or_insert + remove);
//! - y = ln(p99 / base p99), the base being the lowest offered step of the
//!   map's run with the fewest writes, so that mixes are measured against
//!   one another.
//!
//! The model is y = a + b·x + c·w + d·w·x. The regressor is ln(1 + q), not
//! q, because that is the M/M/1 shape: an M/M/1 queue's p99 sojourn time is
//! ln(100) / (μ(1 − ρ)), so its ln p99 rises by exactly −ln(1 − ρ), and a
//! map that queues like one server has b = 1. On q itself (as the study
//! wrote it) the log p99 would grow linearly in q, which no queue does, and
//! the steps nearest capacity (q → 50) set the fit alone.
//!
//! Saturated steps are left out: past capacity the queue grows for as long
//! as the step lasts, so their p99 measures the step's length, not the map.
//!
//! `a` is ln(p99 at no load and no writes / base p99), near 0 since the base
//! step is nearly unloaded; `b` how steeply the tail grows with load; `c`
//! what writes cost at any load; `d` how much writes steepen the growth (the
//! sync.Map signature: a large `d`). Fitted by ordinary least squares; R²
//! says how much of the variation it explains. Each coefficient carries a
//! 95 % t-interval: ± Student's t with n − p degrees of freedom times its
//! standard error from the OLS covariance s²(XᵀX)⁻¹. It assumes independent
//! errors of equal spread; steps of one staircase share its drift, so read
//! the intervals as the least uncertainty there is. With one mix only (no
//! spread in w) the write terms cannot be told apart and are fixed at 0.

use mapknee_load::{Decay, Run, Step};

use crate::knee::KneeRules;
use crate::stats::t_quantile;

/// Highest utilization used, so x stays finite (x ≤ ln 50 ≈ 3.9).
const MAX_RHO: f64 = 0.98;

/// The coverage of the coefficients' intervals.
pub const CONFIDENCE: f64 = 0.95;

/// x = ln(1 + q) = −ln(1 − ρ) at utilization `rho`.
fn load_term(rho: f64) -> f64 {
    -(1.0 - rho.clamp(0.0, MAX_RHO)).ln()
}

/// Predicted p99 / base p99 at utilization `rho` and write share `w` (what
/// the coefficients mean, checked by the tests).
#[cfg(test)]
fn predict_ratio(fit: &Decay, rho: f64, w: f64) -> f64 {
    let x = load_term(rho);
    (fit.a + fit.b * x + fit.c * w + fit.d * w * x).exp()
}

/// Inverts a symmetric positive matrix by Gauss–Jordan elimination with
/// partial pivoting; `None` when singular.
fn invert(mut m: Vec<Vec<f64>>) -> Option<Vec<Vec<f64>>> {
    let p = m.len();
    let mut inv: Vec<Vec<f64>> = (0..p)
        .map(|i| (0..p).map(|j| f64::from(u8::from(i == j))).collect())
        .collect();
    for col in 0..p {
        let piv = (col..p).max_by(|&a, &b| m[a][col].abs().total_cmp(&m[b][col].abs()))?;
        if m[piv][col].abs() < 1e-12 {
            return None;
        }
        m.swap(col, piv);
        inv.swap(col, piv);
        let d = m[col][col];
        for j in 0..p {
            m[col][j] /= d;
            inv[col][j] /= d;
        }
        for r in (0..p).filter(|&r| r != col) {
            let f = m[r][col];
            for j in 0..p {
                m[r][j] -= f * m[col][j];
                inv[r][j] -= f * inv[col][j];
            }
        }
    }
    Some(inv)
}

/// Ordinary least squares: β = (XᵀX)⁻¹Xᵀy, with (XᵀX)⁻¹ for the
/// covariance. `None` when the design is singular.
fn least_squares(rows: &[Vec<f64>], y: &[f64]) -> Option<(Vec<f64>, Vec<Vec<f64>>)> {
    let p = rows.first()?.len();
    let mut xtx = vec![vec![0.0; p]; p];
    let mut xty = vec![0.0; p];
    for (r, &yi) in rows.iter().zip(y) {
        for i in 0..p {
            for j in 0..p {
                xtx[i][j] += r[i] * r[j];
            }
            xty[i] += r[i] * yi;
        }
    }
    let inv = invert(xtx)?;
    let beta = inv
        .iter()
        .map(|row| row.iter().zip(&xty).map(|(a, b)| a * b).sum())
        .collect();
    Some((beta, inv))
}

/// A map's run, ready to fit: its write share, capacity and the steps that
/// kept up.
struct Usable<'a> {
    w: f64,
    capacity: f64,
    steps: Vec<&'a Step>,
}

/// Fits the decay model to every run of `map` among `runs`. `None` when
/// fewer than 4 usable steps (or a singular design).
///
/// ```
/// use mapknee_analyze::decay::fit_decay;
/// # use mapknee_load::{Percentiles, Run, Step};
/// # let run = |mix: &str, d: f64| Run { map: "m".into(), mix: mix.parse().unwrap(), threads: 2,
/// #   keys: 1, prefill: 0.5, dist: "uniform".into(), ops_per_txn: 1, arrivals: "even".into(),
/// #   capacity_ops_per_sec: Some(1e6), points: vec![], knee: None, usl: None,
/// #   repetitions: vec![], placement: None, slo: None, preempted: None, steps: (1..=9).map(|i| {
/// #       let rho = f64::from(i) / 10.0;
/// #       let w = if mix == "mixed" { 0.1 } else { 0.5 };
/// #       // an M/M/1 tail, steepened by writes (b = 1, d = `d`)
/// #       let p99 = 1e4 * ((1.0 + d * w) * -(1.0 - rho).ln()).exp();
/// #       Step { target_ops_per_sec: Some(rho * 1e6), achieved_ops_per_sec: rho * 1e6,
/// #              ops: 1, latency_ns: Percentiles { p99: p99 as u64, ..Default::default() },
/// #              ..Default::default() } }).collect() };
/// let fit = fit_decay("m", &[run("mixed", 2.0), run("write-heavy", 2.0)]).unwrap();
/// assert!((fit.b - 1.0).abs() < 0.01 && (fit.d - 2.0).abs() < 0.02);
/// let [lo, hi] = fit.d_ci.unwrap();
/// assert!(lo <= fit.d && fit.d <= hi && lo > 1.0, "writes steepen the growth");
/// ```
pub fn fit_decay(map: &str, runs: &[Run]) -> Option<Decay> {
    let rules = KneeRules::default();
    let mut dropped = 0;
    let usable: Vec<Usable> = runs
        .iter()
        .filter(|r| r.map == map)
        .filter_map(|run| {
            let open: Vec<&Step> = run
                .steps
                .iter()
                .filter(|s| {
                    !s.interrupted && s.target_ops_per_sec.is_some() && s.latency_ns.p99 > 0
                })
                .collect();
            let capacity = run.capacity_ops_per_sec.unwrap_or_else(|| {
                open.iter()
                    .map(|s| s.achieved_ops_per_sec)
                    .fold(0.0, f64::max)
            });
            let (saturated, steps): (Vec<&Step>, Vec<&Step>) =
                open.into_iter().partition(|s| rules.saturated(s));
            dropped += saturated.len();
            let w = f64::from(run.mix.insert + run.mix.get_or_insert + run.mix.remove) / 100.0;
            (capacity > 0.0 && !steps.is_empty()).then_some(Usable { w, capacity, steps })
        })
        .collect();
    let rate = |s: &Step| s.target_ops_per_sec.unwrap_or(0.0);
    let base = usable
        .iter()
        .min_by(|a, b| a.w.total_cmp(&b.w))?
        .steps
        .iter()
        .min_by(|a, b| rate(a).total_cmp(&rate(b)))?
        .latency_ns
        .p99;
    let obs: Vec<(f64, f64, f64)> = usable
        .iter()
        .flat_map(|u| {
            u.steps.iter().map(move |s| {
                let y = (s.latency_ns.p99 as f64 / base as f64).ln();
                (load_term(rate(s) / u.capacity), u.w, y)
            })
        })
        .collect();
    if obs.len() < 4 {
        return None;
    }
    let w0 = obs[0].1;
    let writes_fitted = obs.iter().any(|o| (o.1 - w0).abs() > 1e-9);
    let rows: Vec<Vec<f64>> = obs
        .iter()
        .map(|&(x, w, _)| {
            if writes_fitted {
                vec![1.0, x, w, w * x]
            } else {
                vec![1.0, x]
            }
        })
        .collect();
    let y: Vec<f64> = obs.iter().map(|o| o.2).collect();
    let (beta, inv) = least_squares(&rows, &y)?;
    let coef = |i: usize| beta.get(i).copied().unwrap_or(0.0);
    let predict = |x: f64, w: f64| coef(0) + coef(1) * x + coef(2) * w + coef(3) * w * x;
    let mean = y.iter().sum::<f64>() / y.len() as f64;
    let ss_tot: f64 = y.iter().map(|v| (v - mean).powi(2)).sum();
    let ss_res: f64 = obs
        .iter()
        .map(|&(x, w, yi)| (yi - predict(x, w)).powi(2))
        .sum();
    let r2 = if ss_tot > 0.0 {
        1.0 - ss_res / ss_tot
    } else {
        1.0
    };
    // The t-interval needs residual degrees of freedom to estimate s².
    let df = obs.len() - beta.len();
    let ci = |i: usize| -> Option<[f64; 2]> {
        if df == 0 || i >= beta.len() {
            return None;
        }
        let se = (ss_res / df as f64 * inv[i][i]).max(0.0).sqrt();
        let half = t_quantile(CONFIDENCE, df as u32) * se;
        Some([beta[i] - half, beta[i] + half])
    };
    Some(Decay {
        map: map.to_string(),
        a: coef(0),
        b: coef(1),
        c: coef(2),
        d: coef(3),
        r2,
        n: obs.len(),
        writes_fitted,
        a_ci: ci(0),
        b_ci: ci(1),
        c_ci: ci(2),
        d_ci: ci(3),
        saturated_dropped: dropped,
        base_p99_ns: base,
    })
}

#[cfg(test)]
mod tests {
    use mapknee_load::{Mix, Run};

    use crate::fixtures::{run, step};

    use super::*;

    /// The write share of a named mix.
    fn writes(mix: &str) -> f64 {
        let m: Mix = mix.parse().unwrap();
        f64::from(m.insert + m.get_or_insert + m.remove) / 100.0
    }

    /// Runs whose p99 follows the model, times `noise(i)` at step i, over a
    /// ladder at ρ = 0.1 … 0.9 of a 1M txn/s capacity; the base p99 is 10 µs.
    fn synthetic(map: &str, [a, b, c, d]: [f64; 4], noise: impl Fn(usize) -> f64) -> Vec<Run> {
        ["read-mostly", "mixed", "write-heavy"]
            .iter()
            .enumerate()
            .map(|(m, mix)| {
                let w = writes(mix);
                let cap = 1e6;
                let steps = (1..=9)
                    .map(|i| {
                        let rho = i as f64 / 10.0;
                        let x = load_term(rho);
                        let ln_ratio = a + b * x + c * w + d * w * x;
                        let p99 = 10_000.0 * ln_ratio.exp() * noise(m * 9 + i);
                        step(rho * cap, rho * cap, p99 as u64)
                    })
                    .collect();
                run(map, mix, cap, steps)
            })
            .collect()
    }

    /// The ratio to the base step, which the fit measures y against: the
    /// read-mostly run's lowest step.
    fn base_ratio(runs: &[Run]) -> f64 {
        runs[0].steps[0].latency_ns.p99 as f64 / 10_000.0
    }

    #[test]
    fn recovers_growth_write_cost_and_interaction() {
        let truth = [0.0, 1.0, 0.8, 2.0];
        let runs = synthetic("syncmap", truth, |_| 1.0);
        let f = fit_decay("syncmap", &runs).unwrap();
        assert!(f.writes_fitted && f.n == 27 && f.saturated_dropped == 0);
        // a absorbs the base step's own offset; b, c, d are the truth.
        assert!((f.a + base_ratio(&runs).ln()).abs() < 0.01, "{f:?}");
        assert!((f.b - 1.0).abs() < 0.01, "{f:?}");
        assert!((f.c - 0.8).abs() < 0.02, "{f:?}");
        assert!((f.d - 2.0).abs() < 0.02, "{f:?}");
        assert!(f.r2 > 0.999, "{f:?}");
        assert!(predict_ratio(&f, 0.9, 0.5) > predict_ratio(&f, 0.9, 0.01));
    }

    #[test]
    fn intervals_hold_the_truth_and_widen_with_noise() {
        let truth = [0.0, 1.0, 0.5, 2.0];
        // ±10 % multiplicative noise, deterministic per step.
        let wobble = |amp: f64| move |i: usize| 1.0 + amp * ((i * 7919 % 13) as f64 / 6.0 - 1.0);
        let quiet = fit_decay("m", &synthetic("m", truth, wobble(0.02))).unwrap();
        let noisy = fit_decay("m", &synthetic("m", truth, wobble(0.1))).unwrap();
        for f in [&quiet, &noisy] {
            let checks = [(f.b_ci, truth[1]), (f.c_ci, truth[2]), (f.d_ci, truth[3])];
            for (ci, t) in checks {
                let [lo, hi] = ci.unwrap();
                assert!(lo < t && t < hi, "{t} outside [{lo}, {hi}]: {f:?}");
            }
        }
        let width = |ci: Option<[f64; 2]>| ci.map_or(f64::NAN, |[lo, hi]| hi - lo);
        assert!(
            width(noisy.d_ci) > 2.0 * width(quiet.d_ci),
            "{quiet:?} {noisy:?}"
        );
        // Writes clearly steepen the growth: d's interval excludes 0.
        assert!(noisy.d_ci.unwrap()[0] > 0.0);
    }

    #[test]
    fn saturated_steps_are_left_out() {
        let mut runs = synthetic("m", [0.0, 1.0, 0.0, 0.0], |_| 1.0);
        // The read-mostly run's top two steps fell short of their offered
        // rate, their p99 blown up by the backlog: out of the fit.
        for s in &mut runs[0].steps[7..] {
            s.achieved_ops_per_sec = 0.8 * s.target_ops_per_sec.unwrap();
            s.latency_ns.p99 *= 1000;
        }
        let f = fit_decay("m", &runs).unwrap();
        assert_eq!((f.n, f.saturated_dropped), (25, 2));
        assert!((f.b - 1.0).abs() < 0.01 && f.r2 > 0.999, "{f:?}");
    }

    #[test]
    fn one_mix_fits_load_only_and_too_few_steps_fit_nothing() {
        let runs = synthetic("rwlock", [0.0, 0.5, 0.0, 0.0], |_| 1.0);
        let f = fit_decay("rwlock", &runs[..1]).unwrap();
        assert!(!f.writes_fitted && f.c == 0.0 && f.d == 0.0);
        assert!(f.c_ci.is_none() && f.d_ci.is_none() && f.b_ci.is_some());
        assert!((f.b - 0.5).abs() < 0.01, "{f:?}");
        let short = vec![run(
            "x",
            "mixed",
            1e6,
            vec![step(1.0, 1.0, 5), step(2.0, 2.0, 6)],
        )];
        assert!(fit_decay("x", &short).is_none());
        assert!(fit_decay("absent", &runs).is_none());
    }
}
