//! Hardware cache counters through `perf stat`: whether this machine has
//! them (virtual machines often do not: perf then prints `<not
//! supported>`), and the counts of a command run under them.

use std::process::Command;

use serde::{Deserialize, Serialize};

/// The events asked for.
pub const EVENTS: &str = "cache-misses,cache-references";

/// Whether hardware cache counters can be read here, and what perf said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HwStatus {
    /// `perf stat -e cache-misses` counted something.
    pub available: bool,
    /// One line: perf's answer, or why perf could not be asked.
    pub detail: String,
}

/// Asks `perf stat -x, -e cache-misses true`.
pub fn detect() -> HwStatus {
    match Command::new("perf")
        .args(["stat", "-x", ",", "-e", "cache-misses", "true"])
        .output()
    {
        Err(e) => HwStatus {
            available: false,
            detail: format!("perf not found ({e}); install linux-perf"),
        },
        Ok(out) => {
            let err = String::from_utf8_lossy(&out.stderr);
            match parse_counts(&err).get("cache-misses") {
                Some(Some(_)) => HwStatus {
                    available: true,
                    detail: "perf stat -e cache-misses counts".into(),
                },
                _ => HwStatus {
                    available: false,
                    detail: format!(
                        "perf stat -e cache-misses: {}",
                        err.lines()
                            .find(|l| !l.trim().is_empty())
                            .unwrap_or("no output")
                            .trim()
                    ),
                },
            }
        }
    }
}

/// Parses `perf stat -x,` output (on stderr): event → count, `None` for
/// `<not supported>` or `<not counted>`.
///
/// ```
/// let c = mapknee_costs::hw::parse_counts("<not supported>,,cache-misses,0,100.00,,\n1234,,cache-references,5,100.00,,\n");
/// assert_eq!(c.get("cache-misses"), Some(&None));
/// assert_eq!(c.get("cache-references"), Some(&Some(1234)));
/// ```
pub fn parse_counts(stderr: &str) -> std::collections::BTreeMap<String, Option<u64>> {
    stderr
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            if f.len() < 3 || f[2].is_empty() {
                return None;
            }
            // The event may carry a modifier, e.g. `cache-misses:u`.
            let event = f[2].split(':').next().unwrap_or(f[2]).to_string();
            Some((event, f[0].trim().parse::<u64>().ok()))
        })
        .collect()
}

/// Runs `program args` under `perf stat -x, -e` [`EVENTS`] and returns its
/// stdout and the counts.
pub fn run_counted(
    program: &std::path::Path,
    args: &[String],
) -> Result<(String, std::collections::BTreeMap<String, Option<u64>>), String> {
    let out = Command::new("perf")
        .args(["stat", "-x", ",", "-e", EVENTS, "--"])
        .arg(program)
        .args(args)
        .output()
        .map_err(|e| format!("cannot run perf: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "perf stat {} failed: {}",
            program.display(),
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .next()
                .unwrap_or("no output")
        ));
    }
    Ok((
        String::from_utf8_lossy(&out.stdout).into_owned(),
        parse_counts(&String::from_utf8_lossy(&out.stderr)),
    ))
}
