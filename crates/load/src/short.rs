//! Short numbers for terminal tables and one-line explanations: rates and
//! latencies in a few characters. (The HTML report spells units out in its
//! own `format` module.)

/// A rate in txn/s, short: `950`, `2.5k`, `13k`, `1.25M`.
pub fn fmt_rate(r: f64) -> String {
    if r >= 1e6 {
        format!("{:.2}M", r / 1e6)
    } else if r >= 1e4 {
        format!("{:.0}k", r / 1e3)
    } else if r >= 1e3 {
        format!("{:.1}k", r / 1e3)
    } else {
        format!("{r:.0}")
    }
}

/// A latency in ns, short: `850ns`, `12.3µs`, `4.30ms`, `1.20s`.
pub fn fmt_ns(ns: u64) -> String {
    let v = ns as f64;
    if v >= 1e9 {
        format!("{:.2}s", v / 1e9)
    } else if v >= 1e6 {
        format!("{:.2}ms", v / 1e6)
    } else if v >= 1e3 {
        format!("{:.1}µs", v / 1e3)
    } else {
        format!("{ns}ns")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_numbers() {
        assert_eq!(fmt_rate(950.0), "950");
        assert_eq!(fmt_rate(12_800.0), "13k");
        assert_eq!(fmt_rate(2_500.0), "2.5k");
        assert_eq!(fmt_rate(1_250_000.0), "1.25M");
        assert_eq!(fmt_ns(850), "850ns");
        assert_eq!(fmt_ns(12_345), "12.3µs");
        assert_eq!(fmt_ns(4_300_000), "4.30ms");
    }
}
