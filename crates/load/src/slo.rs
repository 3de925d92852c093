//! Latency objectives (`--slo p99<=1ms`) and the data results carry about
//! them (*extension* of `mapknee/v1`). What a map's capacity under an
//! objective is, and how it is found, lives in `mapknee-analyze`'s `slo`
//! module; this is the contract's side: the objective's syntax and the
//! fields written.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{ParseError, Percentiles};

/// A percentile of the corrected latency that results carry per step
/// (`latency_ns`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Percentile {
    /// The median.
    #[serde(rename = "p50")]
    P50,
    /// The 90th percentile.
    #[serde(rename = "p90")]
    P90,
    /// The 99th percentile.
    #[serde(rename = "p99")]
    P99,
    /// The 99.9th percentile.
    #[serde(rename = "p99.9")]
    P999,
    /// The largest latency recorded.
    #[serde(rename = "max")]
    Max,
}

impl Percentile {
    /// Every percentile, in the order `--slo` lists them.
    pub const ALL: [Percentile; 5] = [
        Percentile::P50,
        Percentile::P90,
        Percentile::P99,
        Percentile::P999,
        Percentile::Max,
    ];

    /// Its name: `p50`, `p90`, `p99`, `p99.9`, `max`.
    pub fn name(self) -> &'static str {
        match self {
            Percentile::P50 => "p50",
            Percentile::P90 => "p90",
            Percentile::P99 => "p99",
            Percentile::P999 => "p99.9",
            Percentile::Max => "max",
        }
    }

    /// Its value in `p`, ns.
    pub fn of(self, p: &Percentiles) -> u64 {
        match self {
            Percentile::P50 => p.p50,
            Percentile::P90 => p.p90,
            Percentile::P99 => p.p99,
            Percentile::P999 => p.p999,
            Percentile::Max => p.max,
        }
    }
}

/// A latency objective: a percentile of the corrected latency (from each
/// transaction's intended start) at most `max_ns`.
///
/// ```
/// use mapknee_load::{Objective, Percentile};
/// let o: Objective = "p99<=1ms".parse().unwrap();
/// assert_eq!((o.percentile, o.max_ns), (Percentile::P99, 1_000_000));
/// assert_eq!(o.to_string(), "p99 ≤ 1 ms");
/// assert_eq!("p99.9 <= 250us".parse::<Objective>().unwrap().to_string(), "p99.9 ≤ 250 µs");
/// assert!("p98<=1ms".parse::<Objective>().is_err());
/// assert!("p99<=0ms".parse::<Objective>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Objective {
    /// Which percentile.
    pub percentile: Percentile,
    /// The most it may be, ns.
    pub max_ns: u64,
}

impl Objective {
    /// The objective's bound, short: `1 ms`, `250 µs`, `1.5 s`.
    pub fn bound(&self) -> String {
        fmt_bound(self.max_ns)
    }

    /// The objective's percentile in `p`, ns.
    pub fn value_ns(&self, p: &Percentiles) -> u64 {
        self.percentile.of(p)
    }

    /// Whether `ns` is within the objective.
    pub fn within(&self, ns: u64) -> bool {
        ns <= self.max_ns
    }
}

/// A duration in ns with the largest unit it reaches and no trailing
/// zeros: `1 ms`, `250 µs`, `1.5 s`, `800 ns`. Objectives are round
/// numbers people type; `1.00ms` would read as a measurement.
fn fmt_bound(ns: u64) -> String {
    let (v, unit) = match ns {
        n if n >= 1_000_000_000 => (n as f64 / 1e9, "s"),
        n if n >= 1_000_000 => (n as f64 / 1e6, "ms"),
        n if n >= 1_000 => (n as f64 / 1e3, "µs"),
        n => (n as f64, "ns"),
    };
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    format!("{s} {unit}")
}

impl fmt::Display for Objective {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ≤ {}", self.percentile.name(), self.bound())
    }
}

impl FromStr for Objective {
    type Err = ParseError;

    /// `<percentile><=<duration>`: `p50`, `p90`, `p99`, `p99.9` (or `p999`)
    /// or `max`; `<=` or `≤`; a duration with `ns`, `us`/`µs`, `ms` or `s`,
    /// at least 1 ns. Spaces around the parts are allowed.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = |why: &str| {
            ParseError(format!(
                "bad latency objective '{s}': {why} (expected e.g. p99<=1ms; percentiles p50, p90, p99, p99.9, max)"
            ))
        };
        let (pct, bound) = s
            .split_once("<=")
            .or_else(|| s.split_once('≤'))
            .ok_or_else(|| bad("no '<='"))?;
        let percentile = match pct.trim().to_ascii_lowercase().as_str() {
            "p50" => Percentile::P50,
            "p90" => Percentile::P90,
            "p99" => Percentile::P99,
            "p99.9" | "p999" => Percentile::P999,
            "max" | "p100" => Percentile::Max,
            other => return Err(bad(&format!("unknown percentile '{other}'"))),
        };
        let bound = bound.trim();
        let split = bound
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(bound.len());
        let (num, unit) = bound.split_at(split);
        let value: f64 = num
            .parse()
            .map_err(|_| bad(&format!("'{bound}' is not a duration")))?;
        let scale = match unit.trim() {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "" => return Err(bad("the duration needs a unit: ns, us, ms or s")),
            u => return Err(bad(&format!("unknown unit '{u}'"))),
        };
        let ns = (value * scale).round();
        // An hour bounds any objective a map could be held to, and keeps
        // the nanoseconds well inside u64.
        if !(1.0..=3.6e12).contains(&ns) {
            return Err(bad("the bound must be between 1 ns and 1 hour"));
        }
        Ok(Objective {
            percentile,
            max_ns: ns as u64,
        })
    }
}

/// A map's capacity under a latency objective, for one run (map × mix),
/// as `mapknee-analyze`'s `slo` module finds it (*extension*).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SloCapacity {
    /// The SLO capacity, txn/s: where the objective's percentile reaches
    /// the bound between the highest step that met it (`met_ops_per_sec`)
    /// and the confirmed break above it (log-log interpolation, as the knee
    /// rate is read); that step's own rate when nothing broke or only the
    /// throughput did. `null` when the map never met the objective (its
    /// base already exceeds it).
    pub ops_per_sec: Option<f64>,
    /// The highest offered rate, txn/s, at which the map was measured to
    /// keep up (completed ≥ 95 % of the arrivals) with the objective's
    /// percentile within it, confirmed as a knee is (*extension*; absent in
    /// files from before 2026-12-02, whose `ops_per_sec` was this rate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub met_ops_per_sec: Option<f64>,
    /// Whether the map met the objective at the highest rate offered: the
    /// true SLO capacity is at least that (a lower bound).
    #[serde(default)]
    pub open_ended: bool,
    /// The objective's percentile at the base, ns: of the three lowest
    /// offered rates, the step with the median value (as the knee's base).
    pub base_ns: u64,
    /// The base step's bottleneck label: what already limits the map at
    /// low load.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_bottleneck: Option<String>,
    /// The noise floor at the base step's rate: the `noop` map's typical
    /// p99 there (`Step::floor_p99_ns`), ns. When it already exceeds the
    /// objective the machine, not the map, misses it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_floor_ns: Option<u64>,
    /// The objective's percentile at `met_ops_per_sec`, ns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at_ns: Option<u64>,
    /// The first offered rate that broke the objective or fell behind,
    /// confirmed by the next step (the last step: by falling behind above
    /// the map's closed-loop capacity), txn/s; `null` when none did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broken_at_ops_per_sec: Option<f64>,
    /// What broke there: the percentile's name (e.g. `p99`), `throughput`,
    /// or both joined by `+`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broken_by: Option<String>,
    /// The objective's percentile at that step, ns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broken_ns: Option<u64>,
    /// That step's bottleneck label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broken_bottleneck: Option<String>,
}

impl SloCapacity {
    /// The highest offered rate measured to meet the objective: files from
    /// before 2026-12-02 record none, and their `ops_per_sec` is that rate.
    pub fn met(&self) -> Option<f64> {
        self.met_ops_per_sec.or(self.ops_per_sec)
    }

    /// The noise floor at the base when it misses `objective` too: then the
    /// machine, not the map, decided the verdict.
    pub fn floor_over(&self, objective: &Objective) -> Option<u64> {
        self.base_floor_ns.filter(|&f| !objective.within(f))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn objectives_parse_in_every_unit_and_percentile() {
        let p = |s: &str| s.parse::<Objective>().map(|o| (o.percentile, o.max_ns));
        assert_eq!(p("p50<=800ns"), Ok((Percentile::P50, 800)));
        assert_eq!(p(" p90 <= 2.5us "), Ok((Percentile::P90, 2_500)));
        assert_eq!(p("p99≤100µs"), Ok((Percentile::P99, 100_000)));
        assert_eq!(p("p999<=1.5ms"), Ok((Percentile::P999, 1_500_000)));
        assert_eq!(p("max<=2s"), Ok((Percentile::Max, 2_000_000_000)));
        assert_eq!(p("P99<=1ms"), Ok((Percentile::P99, 1_000_000)));
        for bad in [
            "",
            "p99",
            "p99<1ms",
            "p98<=1ms",
            "p99<=",
            "p99<=1",
            "p99<=1h",
            "p99<=-1ms",
            "p99<=0.1ns",
            "p99<=1e9s",
            "p99<=nanms",
            "p99<=1ms<=2ms",
        ] {
            let e = bad.parse::<Objective>().unwrap_err().to_string();
            assert!(e.starts_with("bad latency objective"), "{bad:?}: {e}");
            assert!(!e.contains('\n'));
        }
    }

    #[test]
    fn objectives_print_as_people_write_them() {
        let o = |pct, max_ns| Objective {
            percentile: pct,
            max_ns,
        };
        assert_eq!(o(Percentile::P99, 1_000_000).to_string(), "p99 ≤ 1 ms");
        assert_eq!(o(Percentile::P999, 1_500_000).to_string(), "p99.9 ≤ 1.5 ms");
        assert_eq!(o(Percentile::Max, 800).to_string(), "max ≤ 800 ns");
        assert_eq!(o(Percentile::P50, 12_345).to_string(), "p50 ≤ 12.345 µs");
        // Display and parse agree, so a printed objective can be pasted back.
        for pct in Percentile::ALL {
            let x = o(pct, 250_000);
            let typed = format!("{}<={}", pct.name(), x.bound().replace(' ', ""));
            assert_eq!(typed.parse::<Objective>(), Ok(x), "{typed}");
        }
    }

    #[test]
    fn objectives_round_trip_through_json() {
        let o: Objective = "p99.9<=3ms".parse().unwrap();
        let j = serde_json::to_string(&o).unwrap();
        assert_eq!(j, r#"{"percentile":"p99.9","max_ns":3000000}"#);
        assert_eq!(serde_json::from_str::<Objective>(&j).unwrap(), o);
    }
}
