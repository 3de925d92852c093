//! The queueing reference knee: where a textbook queue with the measured
//! capacity would cross the same p99 rule, for the arrival process the run
//! actually used.
//!
//! Each worker thread is its own queue (its own arrival schedule, one
//! transaction at a time) sharing the map's capacity, so every thread sees
//! utilisation ρ = offered / capacity. In both models the sojourn time
//! (wait + service) is exponential, so every percentile scales with the
//! same factor, the tail T(ρ) = 1/(1 − σ(ρ)), and the p99 rule (see
//! [`crate::knee`]: p99 ≥ J × the larger of the base p99 and the p99 at
//! half the rate) becomes a condition on tail rates. The knee is the
//! larger of
//! - the base condition T(ρ) = J × T(ρ₀), and
//! - the half-rate condition T(ρ) = J × T(ρ/2),
//!
//! for
//! - **M/M/1** (Poisson arrivals): σ = ρ; the base condition gives
//!   ρ = 1 − (1 − ρ₀)/J, the half-rate one ρ = (J − 1)/(J − ½): 0.8 for
//!   J = 3;
//! - **D/M/1** (evenly spaced arrivals, as `even` runs them): σ the root in
//!   (0, 1) of σ = exp(−(1 − σ)/ρ). Even arrivals queue later than Poisson
//!   ones: with ρ₀ → 0 and J = 3 the knee is at 0.85 of capacity.
//!
//! ρ₀ is the base step's *measured* utilisation (Σ service time over
//! threads × window), not zero: a map already busy at the lowest rate has
//! less room before its tail triples.

/// A reference queue model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Model {
    /// Poisson arrivals, exponential service.
    Mm1,
    /// Evenly spaced arrivals, exponential service.
    Dm1,
}

impl Model {
    /// The model for a run's `arrivals` (`even` → D/M/1, else M/M/1).
    pub fn for_arrivals(arrivals: &str) -> Self {
        if arrivals == "even" {
            Model::Dm1
        } else {
            Model::Mm1
        }
    }

    /// The model's name as results and tables show it.
    pub fn name(self) -> &'static str {
        match self {
            Model::Mm1 => "M/M/1",
            Model::Dm1 => "D/M/1",
        }
    }

    /// The utilisation at which the p99 rule fires on this model: the p99
    /// reaches `j` × its value at utilisation `rho0` (clamped to
    /// [0, 0.99]) and `j` × its value at half the utilisation; `None` for
    /// `j` ≤ 1.
    ///
    /// ```
    /// use mapknee_analyze::queue::Model;
    /// assert!((Model::Mm1.knee_utilisation(0.0, 3.0).unwrap() - 0.8).abs() < 1e-9);
    /// let d = Model::Dm1.knee_utilisation(0.0, 3.0).unwrap();
    /// assert!((d - 0.846).abs() < 1e-3, "{d}");
    /// ```
    pub fn knee_utilisation(self, rho0: f64, j: f64) -> Option<f64> {
        if j.is_nan() || j <= 1.0 {
            return None;
        }
        let rho0 = rho0.clamp(0.0, 0.99);
        let tail = |rho: f64| 1.0 / (1.0 - self.sigma(rho));
        let base = bisect(|rho| tail(rho) - j * tail(rho0));
        let half = bisect(|rho| tail(rho) - j * tail(rho / 2.0));
        Some(base.max(half))
    }

    /// σ(ρ): the sojourn tail's decay is μ(1 − σ).
    fn sigma(self, rho: f64) -> f64 {
        match self {
            Model::Mm1 => rho,
            Model::Dm1 => dm1_sigma(rho),
        }
    }
}

/// The root in (0, 1) of `g`, negative below it and positive above (the
/// tail grows without bound as ρ → 1), by bisection.
fn bisect(g: impl Fn(f64) -> f64) -> f64 {
    let (mut lo, mut hi) = (0.0, 1.0 - 1e-12);
    for _ in 0..100 {
        let mid = (lo + hi) / 2.0;
        if g(mid) < 0.0 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    (lo + hi) / 2.0
}

/// D/M/1's σ for utilisation `rho` in [0, 1): the root in (0, 1) of
/// σ = exp(−(1 − σ)/ρ), by bisection (f < 0 below the root, > 0 above).
fn dm1_sigma(rho: f64) -> f64 {
    if rho <= 0.0 {
        return 0.0;
    }
    bisect(|s| s - (-(1.0 - s) / rho).exp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dm1_sigma_solves_its_equation() {
        for rho in [0.1, 0.5, 0.8, 0.95] {
            let s = dm1_sigma(rho);
            assert!(s > 0.0 && s < 1.0);
            assert!((s - (-(1.0 - s) / rho).exp()).abs() < 1e-9, "rho {rho}");
        }
        // Known value: ρ = 0.5 gives σ ≈ 0.2032.
        assert!((dm1_sigma(0.5) - 0.2032).abs() < 1e-4);
    }

    #[test]
    fn a_busier_base_moves_the_knee_closer_to_capacity_and_multiplies_the_tail_by_j() {
        for m in [Model::Mm1, Model::Dm1] {
            let idle = m.knee_utilisation(0.0, 3.0).unwrap();
            let busy = m.knee_utilisation(0.7, 3.0).unwrap();
            assert!(busy > idle && busy < 1.0, "{m:?}");
        }
        // M/M/1 at ρ₀ = 0.7: the tail rate μ(1 − ρ) falls to a third.
        let k = Model::Mm1.knee_utilisation(0.7, 3.0).unwrap();
        assert!(((1.0 - 0.7) / (1.0 - k) - 3.0).abs() < 1e-9);
        // D/M/1: the same for 1 − σ.
        let k = Model::Dm1.knee_utilisation(0.7, 3.0).unwrap();
        let ratio = (1.0 - dm1_sigma(0.7)) / (1.0 - dm1_sigma(k));
        assert!((ratio - 3.0).abs() < 1e-6, "{ratio}");
        assert_eq!(Model::Dm1.knee_utilisation(0.0, 1.0), None);
    }

    #[test]
    fn an_idle_base_leaves_the_half_rate_condition_to_decide() {
        // The tail at the knee is J times the tail at half its utilisation.
        for m in [Model::Mm1, Model::Dm1] {
            let k = m.knee_utilisation(0.0, 3.0).unwrap();
            let ratio = (1.0 - m.sigma(k / 2.0)) / (1.0 - m.sigma(k));
            assert!((ratio - 3.0).abs() < 1e-6, "{m:?}: {ratio}");
        }
    }
}
