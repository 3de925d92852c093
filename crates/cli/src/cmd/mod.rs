//! One module per subcommand.

pub(crate) mod advise;
pub(crate) mod compare;
pub(crate) mod growth;
pub(crate) mod list;
pub(crate) mod report;
pub(crate) mod run;
pub(crate) mod scale;

use std::time::Duration;

use mapknee_load::{harness_cost, Clock, Machine};

use crate::settings::Common;
use crate::{CliError, RUSTC};

/// What `run` and `scale` do first: print the settings' warnings, create
/// `--out`, and measure the clock and the harness (printed with
/// `--verbose`).
pub(crate) fn prepare(common: &Common) -> Result<(Clock, Machine), CliError> {
    for w in &common.warnings {
        eprintln!("mapknee: warning: {w}");
    }
    if let Some(dir) = &common.out {
        std::fs::create_dir_all(dir).map_err(|e| {
            CliError::usage(format!(
                "cannot create --out directory '{}': {e}",
                dir.display()
            ))
        })?;
    }
    let (clock, machine) = machine(common);
    if common.verbose {
        eprintln!(
            "mapknee: clock {:.1} ns/read; harness {:.1} ns per recorded txn (no-op map, open loop)",
            machine.clock_overhead_ns, machine.harness_ns_per_op
        );
    }
    Ok((clock, machine))
}

/// The clock and the machine record, with the clock's and the harness's
/// own costs measured now (≈ 0.1 s).
pub(crate) fn machine(common: &Common) -> (Clock, Machine) {
    let clock = Clock::new();
    let overhead = clock.overhead_ns();
    let harness = harness_cost(&clock, Duration::from_millis(100));
    let machine = Machine::detect(
        RUSTC,
        env!("CARGO_PKG_VERSION"),
        common.hasher.name(),
        overhead,
        harness.open_loop_ns,
    );
    (clock, machine)
}

/// Writes `results.json` and `results.csv` into `dir`.
pub(crate) fn write_out(
    dir: &std::path::Path,
    results: &mapknee_load::Results,
) -> Result<(), CliError> {
    let fail = |what: &str, e: std::io::Error| {
        CliError::runtime(format!("cannot write {what} in '{}': {e}", dir.display()))
    };
    std::fs::create_dir_all(dir).map_err(|e| fail("the directory", e))?;
    std::fs::write(
        dir.join("results.json"),
        crate::render::json::render(results),
    )
    .map_err(|e| fail("results.json", e))?;
    std::fs::write(dir.join("results.csv"), crate::render::csv::render(results))
        .map_err(|e| fail("results.csv", e))?;
    std::fs::write(dir.join("report.html"), mapknee_report::html(results))
        .map_err(|e| fail("report.html", e))?;
    Ok(())
}

/// Reads a results file: one clear line for an unreadable file, malformed
/// JSON (with line:col) or another schema.
pub(crate) fn read_results(path: &std::path::Path) -> Result<mapknee_load::Results, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::usage(format!("cannot read '{}': {e}", path.display())))?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        CliError::usage(format!(
            "{}:{}:{}: not valid JSON: {e}",
            path.display(),
            e.line(),
            e.column()
        ))
    })?;
    match value.get("schema").and_then(|s| s.as_str()) {
        Some(mapknee_load::SCHEMA) => {}
        Some(other) => {
            return Err(CliError::usage(format!(
                "'{}' has schema '{other}', expected '{}'",
                path.display(),
                mapknee_load::SCHEMA
            )))
        }
        None => {
            return Err(CliError::usage(format!(
                "'{}' is not a mapknee results file (no \"schema\" field)",
                path.display()
            )))
        }
    }
    serde_json::from_value(value).map_err(|e| {
        CliError::usage(format!(
            "'{}' does not match {}: {e}",
            path.display(),
            mapknee_load::SCHEMA
        ))
    })
}
