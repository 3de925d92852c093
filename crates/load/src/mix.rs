//! Operation mixes: the share of `get`, `insert`, `get_or_insert` and
//! `remove`, in whole percentages summing to 100.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ParseError;

/// One map operation the load engine issues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `get`: a lookup.
    Get,
    /// `insert`: a store (Go's `Store`).
    Insert,
    /// `get_or_insert`: Go's `LoadOrStore`.
    GetOrInsert,
    /// `remove`: a delete.
    Remove,
}

/// A named operation mix. Serialized as the results contract's `mix`
/// object: `{name, get, insert, get_or_insert, remove}`.
///
/// ```
/// use mapknee_load::Mix;
/// let m: Mix = "mixed".parse().unwrap();
/// assert_eq!((m.get, m.insert, m.get_or_insert, m.remove), (90, 5, 5, 0));
/// let c: Mix = "80/10/5/5".parse().unwrap();
/// assert_eq!(c.name, "80/10/5/5");
/// assert!("80/10/5/6".parse::<Mix>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mix {
    /// `read-mostly`, `mixed`, `write-heavy`, `churn`, or the percentages as given.
    pub name: String,
    /// Percent of `get`.
    pub get: u32,
    /// Percent of `insert`.
    pub insert: u32,
    /// Percent of `get_or_insert`.
    pub get_or_insert: u32,
    /// Percent of `remove`.
    pub remove: u32,
}

/// The mixes a run covers when none is named (`--mix`), in order.
pub const DEFAULT_MIXES: [&str; 3] = ["read-mostly", "mixed", "write-heavy"];

/// The named mixes, as `(name, get, insert, get_or_insert, remove)`.
pub const NAMED_MIXES: [(&str, [u32; 4]); 4] = [
    ("read-mostly", [99, 1, 0, 0]),
    ("mixed", [90, 5, 5, 0]),
    ("write-heavy", [50, 25, 25, 0]),
    ("churn", [50, 25, 0, 25]),
];

impl Mix {
    /// A mix from percentages; they must sum to 100.
    pub fn new(name: impl Into<String>, pct: [u32; 4]) -> Result<Self, ParseError> {
        let name = name.into();
        // In u64: four u32 percentages can overflow a u32 sum.
        let sum: u64 = pct.iter().map(|&p| u64::from(p)).sum();
        if sum != 100 {
            return Err(ParseError(format!(
                "mix '{name}' sums to {sum}, not 100 (get/insert/get_or_insert/remove percentages)"
            )));
        }
        let [get, insert, get_or_insert, remove] = pct;
        Ok(Mix {
            name,
            get,
            insert,
            get_or_insert,
            remove,
        })
    }

    /// The percentages in `Op` order.
    pub fn percentages(&self) -> [u32; 4] {
        [self.get, self.insert, self.get_or_insert, self.remove]
    }
}

impl fmt::Display for Mix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl FromStr for Mix {
    type Err = ParseError;

    /// A named mix, or `get/insert/get_or_insert/remove` percentages
    /// (`90/5/5/0`, also with commas or colons).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if let Some(&(name, pct)) = NAMED_MIXES.iter().find(|(n, _)| *n == s) {
            return Mix::new(name, pct);
        }
        let parts: Vec<&str> = s.split(['/', ',', ':']).collect();
        let names: Vec<&str> = NAMED_MIXES.iter().map(|(n, _)| *n).collect();
        let bad = || {
            ParseError(format!(
                "unknown mix '{s}' (expected {} or get/insert/get_or_insert/remove percentages like 90/5/5/0)",
                names.join(", ")
            ))
        };
        if parts.len() != 4 {
            return Err(bad());
        }
        let mut pct = [0u32; 4];
        for (slot, part) in pct.iter_mut().zip(&parts) {
            *slot = part.trim().parse().map_err(|_| bad())?;
        }
        Mix::new(s, pct)
    }
}

/// Draws operations in a mix's proportions from 32 random bits, with one
/// comparison per operation kind (no division).
#[derive(Debug, Clone, Copy)]
pub(crate) struct OpPicker {
    /// Cumulative thresholds on a 2^32 scale: `Get` below `cut[0]`, and so on.
    cut: [u64; 3],
}

impl OpPicker {
    pub(crate) fn new(mix: &Mix) -> Self {
        let p = mix.percentages();
        let scale = |pct: u32| (u64::from(pct) << 32) / 100;
        let c0 = scale(p[0]);
        let c1 = scale(p[0] + p[1]);
        let c2 = scale(p[0] + p[1] + p[2]);
        OpPicker { cut: [c0, c1, c2] }
    }

    /// The operation for `bits` (uniform in `0..2^32`).
    #[inline]
    pub(crate) fn pick(&self, bits: u64) -> Op {
        if bits < self.cut[0] {
            Op::Get
        } else if bits < self.cut[1] {
            Op::Insert
        } else if bits < self.cut[2] {
            Op::GetOrInsert
        } else {
            Op::Remove
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FastRng;

    #[test]
    fn default_mixes_are_named_mixes_in_order_of_write_share() {
        let mixes: Vec<Mix> = DEFAULT_MIXES.iter().map(|m| m.parse().unwrap()).collect();
        for (m, name) in mixes.iter().zip(DEFAULT_MIXES) {
            assert_eq!(m.name, name);
            assert!(NAMED_MIXES.iter().any(|(n, _)| *n == name), "{name}");
        }
        assert!(mixes.windows(2).all(|w| w[0].get > w[1].get), "{mixes:?}");
    }

    #[test]
    fn named_mixes_parse_with_their_percentages() {
        for (name, pct) in NAMED_MIXES {
            let m: Mix = name.parse().unwrap();
            assert_eq!(m.percentages(), pct);
            assert_eq!(m.name, name);
        }
    }

    #[test]
    fn custom_mixes_parse_and_bad_ones_do_not() {
        assert_eq!(
            "70,10,10,10".parse::<Mix>().unwrap().percentages(),
            [70, 10, 10, 10]
        );
        let err = "50/25/25/1".parse::<Mix>().unwrap_err().to_string();
        assert!(err.contains("sums to 101"), "{err}");
        assert!("read-heavy".parse::<Mix>().is_err());
        assert!("50/50".parse::<Mix>().is_err());
        assert!("50/x/25/25".parse::<Mix>().is_err());
        assert!("-1/51/25/25".parse::<Mix>().is_err());
    }

    #[test]
    fn picker_draws_in_proportion() {
        let mix: Mix = "write-heavy".parse().unwrap();
        let picker = OpPicker::new(&mix);
        let mut rng = FastRng::new(3);
        let mut counts = [0u32; 4];
        let n = 100_000;
        for _ in 0..n {
            let i = match picker.pick(rng.next_u64() >> 32) {
                Op::Get => 0,
                Op::Insert => 1,
                Op::GetOrInsert => 2,
                Op::Remove => 3,
            };
            counts[i] += 1;
        }
        // Expected 50,000 / 25,000 / 25,000 / 0; coarse bounds (±2 %).
        assert!((48_000..52_000).contains(&counts[0]), "{counts:?}");
        assert!((23_000..27_000).contains(&counts[1]), "{counts:?}");
        assert!((23_000..27_000).contains(&counts[2]), "{counts:?}");
        assert_eq!(counts[3], 0);
    }

    #[test]
    fn picker_edges_never_pick_a_zero_share_op() {
        let picker = OpPicker::new(&"read-mostly".parse().unwrap());
        assert_eq!(picker.pick(0), Op::Get);
        assert_eq!(picker.pick((1 << 32) - 1), Op::Insert);
    }
}
