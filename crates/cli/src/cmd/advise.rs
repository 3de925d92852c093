//! `mapknee advise RESULTS.json [--slo p99<=1ms]`: for each mix measured,
//! the map to pick and up to which rate inside the latency objective, and
//! why — from the data.

use std::fmt::Write;

use mapknee_analyze::advise::{advise, never_meets};
use mapknee_analyze::slo::objective_for;

use crate::args::{AdviseArgs, Format};
use crate::render::{fmt_ns, fmt_rate};
use crate::{CliError, Outcome};

pub(crate) fn run(args: AdviseArgs) -> Result<Outcome, CliError> {
    let given = super::objective(args.slo.as_deref())?;
    let results = super::read_measured(&args.results)?;
    if results.kind != "run" {
        return Err(CliError::usage(format!(
            "advise needs a 'run' result (knees per mix); '{}' is a '{}' result",
            args.results.display(),
            results.kind
        )));
    }
    if args.format == Format::Csv {
        return Err(CliError::usage(
            "--format csv is not available here: use table or json",
        ));
    }
    let objective = objective_for(given, &results);
    let advice = advise(&results, &objective);
    match args.format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&advice).map_err(|e| CliError::runtime(e.to_string()))?
        ),
        _ => {
            let mut out = String::new();
            let _ = writeln!(
                out,
                "latency objective {objective} ({})",
                super::objective_source(args.slo.as_deref(), &results)
            );
            if advice.is_empty() {
                out.push_str("no measured steps: nothing to advise\n");
            }
            let pct = objective.percentile.name();
            for a in &advice {
                // No pick is a verdict, not a failure: the objective is
                // out of reach on this machine, and the advice says so.
                match &a.pick {
                    Some(pick) => {
                        let limit = if a.open_ended {
                            format!(
                                "{objective} at least to {}/s",
                                fmt_rate(a.up_to_ops_per_sec)
                            )
                        } else {
                            format!("{objective} up to {}/s", fmt_rate(a.up_to_ops_per_sec))
                        };
                        let _ = writeln!(out, "{}: pick {pick} ({limit})", a.mix);
                    }
                    None => {
                        let _ =
                            writeln!(out, "{}: no map meets {objective} on this machine", a.mix);
                    }
                }
                let _ = writeln!(out, "  why: {}", a.why);
                for s in &a.ranking {
                    let knee = s
                        .knee_ops_per_sec
                        .map_or("no knee".to_string(), |k| format!("knee {}/s", fmt_rate(k)));
                    let cause = s
                        .bottleneck
                        .as_deref()
                        .map(|b| format!(" ({b})"))
                        .unwrap_or_default();
                    let slo = match s.slo.ops_per_sec {
                        // The capacity, then what was measured at the
                        // highest rate that met the objective.
                        Some(c) => format!(
                            "{} {:>8}/s  {pct} {:>9} at {:>8}/s  base {:>9}",
                            if s.slo.open_ended { "≥ " } else { "to" },
                            fmt_rate(c),
                            fmt_ns(s.slo.at_ns.unwrap_or(0)),
                            fmt_rate(s.slo.met().unwrap_or(c)),
                            fmt_ns(s.slo.base_ns)
                        ),
                        None => never_meets(s, &objective),
                    };
                    let _ = writeln!(out, "    {:<18} {slo}  {knee}{cause}", s.map);
                }
            }
            print!("{out}");
        }
    }
    Ok(Outcome::Done)
}
