//! mapknee's report: one self-contained HTML page (inline SVG, no
//! JavaScript, no network) that shows where each map stops keeping up and
//! why.
//!
//! For a `run` result: the machine, a table per mix of each map's base
//! p99, SLO capacity under the latency objective and knee, then per mix
//! p99 (corrected) vs offered rate with knees marked and the objective
//! drawn as a horizontal line, achieved vs offered, percentile spectra
//! (with the objective's line), and timelines with growth and promotion
//! events. For a `scale` result: throughput vs threads per map with the
//! fitted Universal Scalability Law curve and its parameters.
//!
//! Rendering is total: any [`Results`] (empty runs, single steps, zero
//! latencies, missing knees, interrupted runs) gives a well-formed page with
//! no `NaN` in it.
#![warn(missing_docs)]

pub mod costs;
pub mod csv;
mod escape;
mod format;
mod html;
pub mod json;
mod style;
mod svg;
pub mod table;

pub use mapknee_load::short;
use mapknee_load::Results;

/// Renders `results` as a self-contained `report.html`.
///
/// The page is well-formed XML (XHTML syntax, every tag closed) so tools can
/// parse it; all text from the data is escaped.
///
/// ```
/// use mapknee_load::{Machine, Results, SCHEMA};
///
/// let results = Results {
///     schema: SCHEMA.into(),
///     kind: "run".into(),
///     machine: Machine::detect("rustc 1.85.0", "0.1.0", "foldhash", 20.0, 45.0),
///     runs: vec![],
///     elapsed_s: 0.0,
///     interrupted: false,
///     decay: vec![],
///     slo: None,
/// };
/// let page = mapknee_report::html(&results);
/// assert!(page.starts_with("<!DOCTYPE html>"));
/// assert!(page.contains("Machine"));
/// ```
pub fn html(results: &Results) -> String {
    html::page(results)
}
