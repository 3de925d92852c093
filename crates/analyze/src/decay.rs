//! The study's decay model (its section 2.5): how a map's p99 grows with
//! load and with the share of writes, fitted across runs.
//!
//! For each measured step of a map:
//! - ρ = offered rate / the map's closed-loop capacity for that mix (the
//!   *load factor* in the queueing sense: utilization), clamped below 0.98;
//! - w = the mix's write share (insert + get_or_insert + remove);
//! - y = ln(p99 / the run's base p99).
//!
//! The model is y = a + b·q + c·w + d·w·q with q = ρ/(1−ρ), the M/M/1
//! growth term: `b` is how steeply the tail grows with load, `c` what
//! writes cost at any load, `d` how much writes steepen the growth (the
//! sync.Map signature: a large `d`). Fitted by ordinary least squares; R²
//! says how much of the variation it explains. With one mix only (no spread
//! in w) the write terms cannot be told apart and are fixed at 0.

use mapknee_load::{Decay, Run};

/// Highest utilization used, so q stays finite.
const MAX_RHO: f64 = 0.98;

/// Predicted p99 / base p99 at utilization `rho` and write share `w` (what
/// the coefficients mean, checked by the tests).
#[cfg(test)]
fn predict_ratio(fit: &Decay, rho: f64, w: f64) -> f64 {
    let rho = rho.clamp(0.0, MAX_RHO);
    let q = rho / (1.0 - rho);
    (fit.a + fit.b * q + fit.c * w + fit.d * w * q).exp()
}

/// Solves the normal equations XᵀX β = Xᵀy by Gaussian elimination with
/// partial pivoting; `None` when singular.
fn least_squares(rows: &[Vec<f64>], y: &[f64]) -> Option<Vec<f64>> {
    let p = rows.first()?.len();
    let mut m = vec![vec![0.0; p + 1]; p];
    for (r, &yi) in rows.iter().zip(y) {
        for i in 0..p {
            for j in 0..p {
                m[i][j] += r[i] * r[j];
            }
            m[i][p] += r[i] * yi;
        }
    }
    for col in 0..p {
        let piv = (col..p).max_by(|&a, &b| m[a][col].abs().total_cmp(&m[b][col].abs()))?;
        if m[piv][col].abs() < 1e-12 {
            return None;
        }
        m.swap(col, piv);
        for r in 0..p {
            if r != col {
                let f = m[r][col] / m[col][col];
                let pivot_row = m[col].clone();
                for (dst, src) in m[r][col..].iter_mut().zip(&pivot_row[col..]) {
                    *dst -= f * src;
                }
            }
        }
    }
    Some((0..p).map(|i| m[i][p] / m[i][i]).collect())
}

/// Fits the decay model to every run of `map` among `runs`. `None` when
/// fewer than 4 usable steps (or a singular design).
pub fn fit_decay(map: &str, runs: &[Run]) -> Option<Decay> {
    let mut obs: Vec<(f64, f64, f64)> = Vec::new(); // (q, w, y)
    for run in runs.iter().filter(|r| r.map == map) {
        let steps: Vec<_> = run
            .steps
            .iter()
            .filter(|s| !s.interrupted && s.target_ops_per_sec.is_some() && s.latency_ns.p99 > 0)
            .collect();
        let capacity = run.capacity_ops_per_sec.unwrap_or_else(|| {
            steps
                .iter()
                .map(|s| s.achieved_ops_per_sec)
                .fold(0.0, f64::max)
        });
        let Some(base) = steps.iter().min_by(|a, b| {
            a.target_ops_per_sec
                .unwrap_or(0.0)
                .total_cmp(&b.target_ops_per_sec.unwrap_or(0.0))
        }) else {
            continue;
        };
        if capacity <= 0.0 {
            continue;
        }
        let w = f64::from(run.mix.insert + run.mix.get_or_insert + run.mix.remove) / 100.0;
        for s in &steps {
            let rho = (s.target_ops_per_sec.unwrap_or(0.0) / capacity).clamp(0.0, MAX_RHO);
            let y = (s.latency_ns.p99 as f64 / base.latency_ns.p99 as f64).ln();
            obs.push((rho / (1.0 - rho), w, y));
        }
    }
    if obs.len() < 4 {
        return None;
    }
    let w0 = obs[0].1;
    let writes_fitted = obs.iter().any(|o| (o.1 - w0).abs() > 1e-9);
    let rows: Vec<Vec<f64>> = obs
        .iter()
        .map(|&(q, w, _)| {
            if writes_fitted {
                vec![1.0, q, w, w * q]
            } else {
                vec![1.0, q]
            }
        })
        .collect();
    let y: Vec<f64> = obs.iter().map(|o| o.2).collect();
    let beta = least_squares(&rows, &y)?;
    let (a, b) = (beta[0], beta[1]);
    let (c, d) = if writes_fitted {
        (beta[2], beta[3])
    } else {
        (0.0, 0.0)
    };
    let mean = y.iter().sum::<f64>() / y.len() as f64;
    let ss_tot: f64 = y.iter().map(|v| (v - mean).powi(2)).sum();
    let ss_res: f64 = obs
        .iter()
        .map(|&(q, w, yi)| (yi - (a + b * q + c * w + d * w * q)).powi(2))
        .sum();
    let r2 = if ss_tot > 0.0 {
        1.0 - ss_res / ss_tot
    } else {
        1.0
    };
    Some(Decay {
        map: map.to_string(),
        a,
        b,
        c,
        d,
        r2,
        n: obs.len(),
        writes_fitted,
    })
}

#[cfg(test)]
mod tests {
    use mapknee_load::{Mix, Run};

    use crate::fixtures::{run, step};

    use super::*;

    /// Runs whose p99 follows the model exactly.
    fn synthetic(map: &str, a: f64, b: f64, c: f64, d: f64) -> Vec<Run> {
        ["read-mostly", "mixed", "write-heavy"]
            .iter()
            .map(|mix| {
                let m: Mix = mix.parse().unwrap();
                let w = f64::from(m.insert + m.get_or_insert + m.remove) / 100.0;
                let cap = 1e6;
                let steps = (1..=9)
                    .map(|i| {
                        let rho = i as f64 / 10.0;
                        let q = rho / (1.0 - rho);
                        // base step (rho = 0.1) sets the ratio's denominator
                        let q0 = 0.1 / 0.9;
                        let ratio = (b * (q - q0) + d * w * (q - q0)).exp();
                        let _ = (a, c); // constant terms cancel against the base step
                        step(rho * cap, rho * cap, (10_000.0 * ratio) as u64)
                    })
                    .collect();
                run(map, mix, cap, steps)
            })
            .collect()
    }

    #[test]
    fn recovers_growth_and_write_interaction() {
        let runs = synthetic("syncmap", 0.0, 0.3, 0.0, 2.0);
        let f = fit_decay("syncmap", &runs).unwrap();
        assert!(f.writes_fitted && f.n == 27);
        assert!((f.b - 0.3).abs() < 0.01, "{f:?}");
        assert!((f.d - 2.0).abs() < 0.02, "{f:?}");
        assert!(f.r2 > 0.999, "{f:?}");
        assert!(predict_ratio(&f, 0.9, 0.5) > predict_ratio(&f, 0.9, 0.01));
    }

    #[test]
    fn one_mix_fits_load_only_and_too_few_steps_fit_nothing() {
        let runs = synthetic("rwlock", 0.0, 0.5, 0.0, 0.0);
        let f = fit_decay("rwlock", &runs[..1]).unwrap();
        assert!(!f.writes_fitted && f.c == 0.0 && f.d == 0.0);
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
