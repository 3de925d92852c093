//! `mapknee compare BASE.json NEW.json`: what changed, run by run and step
//! by step, with a verdict; exit status 1 on a regression.

use std::fmt::Write;

use mapknee_analyze::compare::{compare, Verdict, DEFAULT_THRESHOLD_PCT};

use crate::args::{CompareArgs, Format};
use crate::render::{fmt_ns, fmt_rate};
use crate::{CliError, Outcome};

pub(crate) fn run(args: CompareArgs) -> Result<Outcome, CliError> {
    let threshold = args.threshold.unwrap_or(DEFAULT_THRESHOLD_PCT);
    if !(threshold.is_finite() && threshold >= 0.0) {
        return Err(CliError::usage(format!(
            "--threshold must be a non-negative percentage, got {threshold}"
        )));
    }
    let base = super::read_results(&args.base)?;
    let new = super::read_results(&args.new)?;
    if base.kind != new.kind {
        return Err(CliError::usage(format!(
            "cannot compare a '{}' result with a '{}' result",
            base.kind, new.kind
        )));
    }
    let c = compare(&base, &new, threshold);
    if args.format == Format::Csv {
        return Err(CliError::usage(
            "--format csv is not available here: use table or json",
        ));
    }
    match args.format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&c).map_err(|e| CliError::runtime(e.to_string()))?
        ),
        _ => print!("{}", table(&c)),
    }
    Ok(if c.verdict == Verdict::Regressed {
        Outcome::Regressed
    } else {
        Outcome::Done
    })
}

fn table(c: &mapknee_analyze::compare::Comparison) -> String {
    let mut out = String::new();
    for r in &c.runs {
        let name = if r.base_map == r.new_map {
            r.base_map.clone()
        } else {
            format!("{} → {}", r.base_map, r.new_map)
        };
        let figure = match (r.basis.as_str(), r.base_value, r.new_value, r.change_pct) {
            ("p99", _, _, Some(ch)) => format!("median pre-knee p99 change {ch:+.1} %"),
            (basis, Some(b), Some(n), Some(ch)) => {
                format!("{basis} {}/s → {}/s ({ch:+.1} %)", fmt_rate(b), fmt_rate(n))
            }
            _ => "no common figure to judge by".into(),
        };
        let _ = writeln!(out, "{name} · {}: {} — {figure}", r.mix, r.verdict.label());
        for s in &r.steps {
            let _ = writeln!(
                out,
                "    {:>8}/s  p99 {:>9} → {:>9} ({:+6.1} %)  achieved {:+6.1} %  {}",
                fmt_rate(s.target_ops_per_sec),
                fmt_ns(s.base_p99_ns),
                fmt_ns(s.new_p99_ns),
                s.p99_change_pct,
                s.achieved_change_pct,
                s.verdict.label()
            );
        }
    }
    if c.runs.iter().any(|r| r.basis == "knee" && !r.knee_ranges) {
        out.push_str(
            "note: knees without --repeat ranges: their verdicts rest on single measurements \
             (on a small or busy machine, run both sides with --repeat 3)\n",
        );
    }
    for u in &c.unpaired {
        let _ = writeln!(out, "unpaired: {u}");
    }
    let _ = writeln!(
        out,
        "verdict: {} (threshold {:.0} %; the run verdict rests on the knee, else capacity, else pre-knee p99)",
        c.verdict.label(),
        c.threshold_pct
    );
    out
}
