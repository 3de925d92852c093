//! Renderers, one per output format (ripgrep's printer layout): `table`
//! for people, `json` for the v1 results contract, `csv` for spreadsheets.
//! The renderers live in `mapknee-report`; this module decides which
//! ones a command prints and writes. It sits below `cmd`: commands call
//! into it, never the other way.

pub(crate) use mapknee_report::short::{fmt_ns, fmt_rate};
pub(crate) use mapknee_report::{csv, json, table};

use std::path::Path;

use mapknee_load::Results;

use crate::args::Format;
use crate::CliError;

/// Writes `--out` files, then prints `results` on stdout in `format`.
pub(crate) fn emit(results: &Results, format: Format, out: Option<&Path>) -> Result<(), CliError> {
    if let Some(dir) = out {
        write_files(dir, results, OUT_FILES)?;
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

/// The files `--out` gets: the results contract, the CSV and the report.
pub(crate) const OUT_FILES: &[&str] = &["results.json", "results.csv", "report.html"];

/// Writes each named file of [`OUT_FILES`] in `names` into `dir`.
pub(crate) fn write_files(
    dir: &std::path::Path,
    results: &mapknee_load::Results,
    names: &[&str],
) -> Result<(), CliError> {
    let fail = |what: &str, e: std::io::Error| {
        CliError::runtime(format!("cannot write {what} in '{}': {e}", dir.display()))
    };
    std::fs::create_dir_all(dir).map_err(|e| fail("the directory", e))?;
    for &name in names {
        let text = match name {
            "results.json" => mapknee_report::json::render(results),
            "results.csv" => mapknee_report::csv::render(results),
            _ => mapknee_report::html(results),
        };
        std::fs::write(dir.join(name), text).map_err(|e| fail(name, e))?;
    }
    Ok(())
}
