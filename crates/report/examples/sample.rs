//! Renders the test fixture to `/tmp/report-sample/report.html` (run) and
//! `/tmp/report-sample/scale.html` (scale), to look at the page as a reader.
//!
//! `cargo run -p mapknee-report --example sample [DIR]`

#[path = "../tests/common/mod.rs"]
mod common;

fn main() -> std::io::Result<()> {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "/tmp/report-sample".into());
    std::fs::create_dir_all(&dir)?;
    let run = format!("{dir}/report.html");
    std::fs::write(&run, mapknee_report::html(&common::run_results()))?;
    let scale = format!("{dir}/scale.html");
    std::fs::write(&scale, mapknee_report::html(&common::scale_results()))?;
    println!("wrote {run} and {scale}");
    Ok(())
}
