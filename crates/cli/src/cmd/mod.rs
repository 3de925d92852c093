//! One module per subcommand.

pub(crate) mod growth;
pub(crate) mod list;
pub(crate) mod run;
pub(crate) mod scale;

use std::time::Duration;

use mapknee_load::{harness_cost, Clock, Machine};

use crate::settings::Common;
use crate::{CliError, RUSTC};

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
    Ok(())
}
