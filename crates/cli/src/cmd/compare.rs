//! `mapknee compare BASE.json NEW.json`: what changed, run by run and step
//! by step, with a verdict; exit status 1 on a regression.

use std::fmt::Write;

use mapknee_analyze::compare::{compare, Comparison, Verdict, DEFAULT_THRESHOLD_PCT};

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

/// A signed percentage, to 0.1 % below ±100 % and to 1 % above.
fn pct(x: f64) -> String {
    if x.abs() < 100.0 {
        format!("{x:+.1} %")
    } else {
        format!("{x:+.0} %")
    }
}

fn table(c: &Comparison) -> String {
    let mut out = String::new();
    let interval = |i: Option<[f64; 2]>| {
        i.map_or(String::new(), |[lo, hi]| {
            format!("[{lo:+.1} %, {hi:+.1} %]")
        })
    };
    for r in &c.runs {
        let name = if r.base_map == r.new_map {
            r.base_map.clone()
        } else {
            format!("{} → {}", r.base_map, r.new_map)
        };
        let _ = writeln!(out, "{name} · {}: {}", r.mix, r.verdict.label());
        if r.figures.is_empty() {
            let _ = writeln!(out, "    no common figure to judge by");
        }
        for f in &r.figures {
            let values = match (f.base, f.new) {
                (Some(b), Some(n)) => format!("{}/s → {}/s", fmt_rate(b), fmt_rate(n)),
                _ => "median change over the steps".into(),
            };
            let [nb, nn] = f.repetitions;
            let bounds = match f.lower_bounds {
                [0, 0] => String::new(),
                [b, n] => format!(" ({b} + {n} lower bounds)"),
            };
            let _ = writeln!(
                out,
                "    {:<13} {values:<24} {:>8}  {:<20} {nb} vs {nn} rep.{bounds}  {}",
                f.figure.label(),
                pct(f.change_pct),
                interval(f.interval_pct),
                f.verdict.label()
            );
        }
        for s in &r.steps {
            let _ = writeln!(
                out,
                "      {:>8}/s  p99 {:>9} → {:>9} {:>8} {:<20} achieved {:>8}  {}",
                fmt_rate(s.target_ops_per_sec),
                fmt_ns(s.base_p99_ns),
                fmt_ns(s.new_p99_ns),
                pct(s.p99_change_pct),
                interval(s.p99_interval_pct),
                pct(s.achieved_change_pct),
                s.verdict.label()
            );
        }
    }
    for u in &c.unpaired {
        let _ = writeln!(out, "unpaired: {u}");
    }
    let judged = c.runs.iter().flat_map(|r| &r.figures);
    if judged.clone().any(|f| f.interval_pct.is_none()) {
        out.push_str(
            "note: figures marked 1 vs 1 rep. come from single runs: no noise was measured, so \
             their verdicts rest on the threshold alone (on a small or busy machine, run both \
             sides with --repeat 5)\n",
        );
    }
    if judged.clone().any(|f| f.lower_bounds != [0, 0]) {
        out.push_str(
            "note: a lower bound is a repetition that found no knee, or whose ladder never \
             saturated the map; a drop counts only when the new side has none, a rise only when \
             the base side has none\n",
        );
    }
    let m = judged.filter(|f| f.interval_pct.is_some()).count();
    let rule = if m > 0 {
        format!(
            "a figure changed when its change passes the threshold and its {:.2} % interval \
             (95 % over all {m}) excludes no change",
            c.confidence * 100.0
        )
    } else {
        "a figure changed when its change passes the threshold".into()
    };
    let _ = writeln!(
        out,
        "verdict: {} (threshold {:.0} %; {rule})",
        c.verdict.label(),
        c.threshold_pct
    );
    out
}
