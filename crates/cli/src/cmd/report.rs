//! `mapknee report RESULTS.json`: re-renders a results file (report.html,
//! results.csv, and the table on stdout) without measuring again.

use crate::args::ReportArgs;
use crate::{CliError, Outcome};

pub(crate) fn run(args: ReportArgs) -> Result<Outcome, CliError> {
    let results = super::read_results(&args.results)?;
    let dir = match args.out {
        Some(d) => d,
        None => args
            .results
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| ".".into(), |p| p.to_path_buf()),
    };
    let fail = |what: &str, e: std::io::Error| {
        CliError::runtime(format!("cannot write {what} in '{}': {e}", dir.display()))
    };
    std::fs::create_dir_all(&dir).map_err(|e| fail("the directory", e))?;
    std::fs::write(dir.join("report.html"), mapknee_report::html(&results))
        .map_err(|e| fail("report.html", e))?;
    std::fs::write(
        dir.join("results.csv"),
        mapknee_report::csv::render(&results),
    )
    .map_err(|e| fail("results.csv", e))?;
    let table = if results.kind == "scale" {
        mapknee_report::table::scale(&results)
    } else {
        mapknee_report::table::run(&results)
    };
    print!("{table}");
    println!("wrote {0}/report.html and {0}/results.csv", dir.display());
    Ok(Outcome::Done)
}
