//! Renderers, one per output format (ripgrep's printer layout): `table`
//! for people, `json` for the v1 results contract, `csv` for spreadsheets.
//! The renderers live in `mapknee-report`; this module decides which
//! ones a command prints and writes.

pub(crate) use mapknee_report::short::{fmt_ns, fmt_rate};
pub(crate) use mapknee_report::{csv, json, table};

use std::path::Path;

use mapknee_load::Results;

use crate::args::Format;
use crate::CliError;

/// Writes `--out` files, then prints `results` on stdout in `format`.
pub(crate) fn emit(results: &Results, format: Format, out: Option<&Path>) -> Result<(), CliError> {
    if let Some(dir) = out {
        crate::cmd::write_files(dir, results, crate::cmd::OUT_FILES)?;
    }
    match format {
        Format::Table => {
            print!("{}", table::render(results));
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
                println!(
                    "wrote {0}/results.json, {0}/results.csv and {0}/report.html",
                    dir.display()
                );
            }
        }
        Format::Json => println!("{}", json::render(results)),
        Format::Csv => print!("{}", csv::render(results)),
    }
    Ok(())
}
