//! Kneedle (Satopää, Albrecht, Irwin, Raghavan, 2011): the point of maximum
//! curvature of a sampled curve, used to confirm the rule-based knee on the
//! p99-vs-offered-rate curve.
//!
//! Latency curves rise slowly, then sharply: convex and increasing. Kneedle
//! normalizes both axes to [0, 1] and takes the point where the curve lies
//! furthest *below* the diagonal (x − y is largest). A knee counts only if
//! the difference curve later falls below a threshold `max − S·mean(Δx)`,
//! i.e. the curve really bends upward after it; `S` is the sensitivity
//! (the paper's default 1).
//!
//! p99 is taken on a log scale: tails grow by orders of magnitude past a
//! knee, and on a linear scale one huge last point would flatten everything
//! before it onto the x axis and move the knee to the end.

/// Kneedle's sensitivity: higher is more conservative.
pub const DEFAULT_SENSITIVITY: f64 = 1.0;

/// The index of the knee of the convex increasing curve `(x, y)` (x sorted
/// ascending), or `None` when there is none (fewer than 3 points, a flat or
/// straight curve, or no drop after the candidate).
///
/// ```
/// use mapknee_analyze::kneedle::knee_index;
/// let x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
/// let y = [1.0, 1.05, 1.1, 1.2, 5.0, 40.0]; // p99, flat then exploding
/// assert_eq!(knee_index(&x, &y, 1.0, true), Some(3));
/// assert_eq!(knee_index(&x, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 1.0, false), None);
/// ```
pub fn knee_index(x: &[f64], y: &[f64], sensitivity: f64, log_y: bool) -> Option<usize> {
    let n = x.len().min(y.len());
    if n < 3 {
        return None;
    }
    let y: Vec<f64> = y[..n]
        .iter()
        .map(|&v| if log_y { v.max(1e-12).ln() } else { v })
        .collect();
    let (x0, x1) = (x[0], x[n - 1]);
    let (ymin, ymax) = y
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
            (a.min(v), b.max(v))
        });
    if x1 <= x0
        || ymax <= ymin
        || !ymin.is_finite()
        || !ymax.is_finite()
        || x0.is_nan()
        || x1.is_nan()
    {
        return None;
    }
    let xn: Vec<f64> = x[..n].iter().map(|v| (v - x0) / (x1 - x0)).collect();
    let yn: Vec<f64> = y.iter().map(|v| (v - ymin) / (ymax - ymin)).collect();
    // Convex increasing: distance below the diagonal.
    let diff: Vec<f64> = xn.iter().zip(&yn).map(|(a, b)| a - b).collect();
    let mean_dx = (xn[n - 1] - xn[0]) / (n - 1) as f64;
    // Local maxima of the difference curve, each confirmed when the curve
    // later drops below its threshold before the next local maximum.
    for i in 1..n - 1 {
        if !(diff[i] >= diff[i - 1] && diff[i] > diff[i + 1]) || diff[i] <= 0.0 {
            continue;
        }
        let threshold = diff[i] - sensitivity * mean_dx;
        for j in i + 1..n {
            if j + 1 < n && diff[j] > diff[j - 1] && diff[j] > diff[j + 1] {
                break; // a later, different candidate takes over
            }
            if diff[j] < threshold {
                return Some(i);
            }
        }
    }
    None
}

/// Kneedle on a run's p99-vs-offered curve: the index (into `steps`) of
/// the knee, over the open-loop steps not cut short, sorted by offered rate.
pub fn knee_of_steps(steps: &[mapknee_load::Step], sensitivity: f64) -> Option<usize> {
    let order = crate::knee::open_loop_order(steps);
    let x: Vec<f64> = order
        .iter()
        .map(|&i| steps[i].target_ops_per_sec.unwrap_or(0.0))
        .collect();
    let y: Vec<f64> = order
        .iter()
        .map(|&i| steps[i].latency_ns.p99 as f64)
        .collect();
    knee_index(&x, &y, sensitivity, true).map(|k| order[k])
}

/// Whether Kneedle's knee confirms the rules' knee: the same step or the
/// one just before it on the ladder (Kneedle marks where the curve bends,
/// the rules the first step past it).
pub fn agrees(steps: &[mapknee_load::Step], rule_index: usize, kneedle_index: usize) -> bool {
    let order = crate::knee::open_loop_order(steps);
    let pos = |i| order.iter().position(|&j| j == i);
    match (pos(rule_index), pos(kneedle_index)) {
        (Some(r), Some(k)) => k == r || k + 1 == r,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hockey_stick_knee_is_at_the_bend() {
        // p99 = base / (1 - rho): the M/M/1 shape; the bend is near rho ≈ 0.7–0.85.
        let x: Vec<f64> = (1..=19).map(|i| i as f64 * 0.05).collect();
        let y: Vec<f64> = x.iter().map(|r| 1.0 / (1.0 - r)).collect();
        let k = knee_index(&x, &y, 1.0, true).expect("knee");
        assert!((0.6..=0.9).contains(&x[k]), "knee at rho {}", x[k]);
    }

    #[test]
    fn no_knee_on_flat_straight_or_short_curves() {
        assert_eq!(knee_index(&[1.0, 2.0], &[1.0, 9.0], 1.0, true), None);
        assert_eq!(
            knee_index(&[1.0, 2.0, 3.0], &[5.0, 5.0, 5.0], 1.0, true),
            None
        );
        let x: Vec<f64> = (0..8).map(f64::from).collect();
        assert_eq!(knee_index(&x, &x, 1.0, false), None);
    }

    #[test]
    fn knee_is_insensitive_to_units() {
        let x = [1e3, 2e3, 3e3, 4e3, 5e3, 6e3];
        let y = [1e3, 1.1e3, 1.2e3, 1.3e3, 9e3, 90e3];
        let a = knee_index(&x, &y, 1.0, true);
        let y2: Vec<f64> = y.iter().map(|v| v * 1e-6).collect();
        assert_eq!(a, knee_index(&x, &y2, 1.0, true));
        assert_eq!(a, Some(3));
    }
}
