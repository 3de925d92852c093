//! Renderers, one per output format (ripgrep's printer layout): `table`
//! for people, `json` for the v1 results contract, `csv` for spreadsheets.
//! (They move to the `mapknee-report` crate when it lands.)

pub(crate) mod csv;
pub(crate) mod json;
pub(crate) mod table;

use std::path::Path;

use mapknee_load::Results;

use crate::args::Format;
use crate::CliError;

/// Writes `--out` files, then prints `results` on stdout in `format`.
pub(crate) fn emit(
    results: &Results,
    format: Format,
    out: Option<&Path>,
    table: fn(&Results) -> String,
) -> Result<(), CliError> {
    if let Some(dir) = out {
        crate::cmd::write_out(dir, results)?;
    }
    match format {
        Format::Table => {
            print!("{}", table(results));
            println!(
                "elapsed {:.1} s{}",
                results.elapsed_s,
                if results.interrupted {
                    " (interrupted: partial results)"
                } else {
                    ""
                }
            );
            if let Some(dir) = out {
                println!("wrote {0}/results.json and {0}/results.csv", dir.display());
            }
        }
        Format::Json => println!("{}", json::render(results)),
        Format::Csv => print!("{}", csv::render(results)),
    }
    Ok(())
}

/// A rate in txn/s, short: `950`, `12.8k`, `1.25M`.
pub(crate) fn fmt_rate(r: f64) -> String {
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
pub(crate) fn fmt_ns(ns: u64) -> String {
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
