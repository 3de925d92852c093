//! Human-readable numbers: rates (`12k`), durations (`1.2 ms`, `350 µs`).

/// `v` rounded to `sig` significant digits, as a short decimal with no
/// trailing zeros (`1.50` → `1.5`, `2.0` → `2`). Non-finite → `–`.
pub(crate) fn sig(v: f64, sig: u32) -> String {
    if !v.is_finite() {
        return "–".into();
    }
    if v == 0.0 {
        return "0".into();
    }
    let sig = sig.clamp(1, 15) as i32;
    let mag = v.abs().log10().floor() as i32;
    let decimals = (sig - 1 - mag).max(0) as usize;
    let s = format!("{v:.decimals$}");
    let s = if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else if decimals == 0 && mag >= sig {
        // Round away digits beyond `sig` in the integer part too.
        let p = 10f64.powi(mag - sig + 1);
        format!("{:.0}", (v / p).round() * p)
    } else {
        s
    };
    if s == "-0" {
        "0".into()
    } else {
        s
    }
}

/// Rounds `v` to 3 significant digits (so unit choice sees `999.7` as `1000`).
fn round3(v: f64) -> f64 {
    if v == 0.0 || !v.is_finite() {
        return v;
    }
    let p = 10f64.powi(v.abs().log10().floor() as i32 - 2);
    (v / p).round() * p
}

/// A rate or count with an SI suffix: `950`, `1.25k`, `12k`, `3.2M`.
pub(crate) fn rate(v: f64) -> String {
    if !v.is_finite() {
        return "–".into();
    }
    let r = round3(v);
    let a = r.abs();
    let (div, suffix) = if a >= 1e12 {
        (1e12, "T")
    } else if a >= 1e9 {
        (1e9, "G")
    } else if a >= 1e6 {
        (1e6, "M")
    } else if a >= 1e3 {
        (1e3, "k")
    } else {
        (1.0, "")
    };
    format!("{}{suffix}", sig(r / div, 3))
}

/// A duration given in nanoseconds: `80 ns`, `350 µs`, `1.2 ms`, `2.5 s`.
pub(crate) fn ns(v: f64) -> String {
    if !v.is_finite() {
        return "–".into();
    }
    let r = round3(v);
    let a = r.abs();
    let (div, unit) = if a >= 1e9 {
        (1e9, "s")
    } else if a >= 1e6 {
        (1e6, "ms")
    } else if a >= 1e3 {
        (1e3, "µs")
    } else {
        (1.0, "ns")
    };
    format!("{} {unit}", sig(r / div, 3))
}

/// A duration in milliseconds (timeline axes): `0 ms`, `250 ms`, `1.5 s`.
pub(crate) fn ms(v: f64) -> String {
    if v == 0.0 {
        // "0 ns" on a millisecond axis reads oddly.
        return "0 ms".into();
    }
    ns(v * 1e6)
}

/// Seconds of wall time: `42.1 s`, `3 min 5 s`.
pub(crate) fn elapsed(s: f64) -> String {
    if !s.is_finite() || s < 0.0 {
        return "–".into();
    }
    if s < 60.0 {
        return format!("{} s", sig(s, 3));
    }
    let total = s.round() as u64;
    let (h, m, sec) = (total / 3600, total / 60 % 60, total % 60);
    if h > 0 {
        format!("{h} h {m} min")
    } else {
        format!("{m} min {sec} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn significant_digits() {
        assert_eq!(sig(1.5, 3), "1.5");
        assert_eq!(sig(2.0, 3), "2");
        assert_eq!(sig(0.30000000000000004, 3), "0.3");
        assert_eq!(sig(123456.0, 3), "123000");
        assert_eq!(sig(-0.0001, 2), "-0.0001");
        assert_eq!(sig(0.0, 3), "0");
        assert_eq!(sig(f64::NAN, 3), "–");
        assert_eq!(sig(f64::INFINITY, 3), "–");
    }

    #[test]
    fn rates_use_si_suffixes() {
        assert_eq!(rate(0.0), "0");
        assert_eq!(rate(950.0), "950");
        assert_eq!(rate(1250.0), "1.25k");
        assert_eq!(rate(12_000.0), "12k");
        assert_eq!(rate(999_700.0), "1M");
        assert_eq!(rate(3_200_000.0), "3.2M");
        assert_eq!(rate(2.5e9), "2.5G");
        assert_eq!(rate(0.5), "0.5");
        assert_eq!(rate(f64::NAN), "–");
    }

    #[test]
    fn durations_pick_a_unit() {
        assert_eq!(ns(0.0), "0 ns");
        assert_eq!(ns(80.0), "80 ns");
        assert_eq!(ns(350_000.0), "350 µs");
        assert_eq!(ns(1_234_567.0), "1.23 ms");
        assert_eq!(ns(1_200_000.0), "1.2 ms");
        assert_eq!(ns(999_999.0), "1 ms");
        assert_eq!(ns(2.5e9), "2.5 s");
        assert_eq!(ms(250.0), "250 ms");
        assert_eq!(ms(0.0), "0 ms");
        assert_eq!(ns(f64::NEG_INFINITY), "–");
    }

    #[test]
    fn elapsed_wall_time() {
        assert_eq!(elapsed(42.13), "42.1 s");
        assert_eq!(elapsed(185.0), "3 min 5 s");
        assert_eq!(elapsed(7300.0), "2 h 1 min");
        assert_eq!(elapsed(f64::NAN), "–");
    }
}
