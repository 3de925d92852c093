//! `mapknee report RESULTS.json`: re-renders a results file (report.html,
//! results.csv, and the table on stdout) without measuring again.

use crate::args::ReportArgs;
use crate::{CliError, Outcome};

pub(crate) fn run(args: ReportArgs) -> Result<Outcome, CliError> {
    let given = super::objective(args.slo.as_deref())?;
    let mut results = super::read_measured(&args.results)?;
    // Judge every run against the objective asked for (else the file's,
    // else the default, so files from before objectives show one too).
    let objective = mapknee_analyze::slo::objective_for(given, &results);
    mapknee_analyze::slo::attach(&mut results, &objective);
    let dir = match args.out {
        Some(d) => d,
        None => args
            .results
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .map_or_else(|| ".".into(), |p| p.to_path_buf()),
    };
    crate::render::write_files(&dir, &results, &["report.html", "results.csv"])?;
    let table = mapknee_report::table::render(&results);
    print!("{table}");
    println!("wrote {0}/report.html and {0}/results.csv", dir.display());
    Ok(Outcome::Done)
}
