//! `mapknee advise RESULTS.json`: for each mix measured, the map to pick
//! and up to which rate, and why — from the data.

use std::fmt::Write;

use mapknee_analyze::advise::advise;

use crate::args::{AdviseArgs, Format};
use crate::render::{fmt_ns, fmt_rate};
use crate::{CliError, Outcome};

pub(crate) fn run(args: AdviseArgs) -> Result<Outcome, CliError> {
    let results = super::read_results(&args.results)?;
    if results.kind != "run" {
        return Err(CliError::usage(format!(
            "advise needs a 'run' result (knees per mix); '{}' is a '{}' result",
            args.results.display(),
            results.kind
        )));
    }
    let advice = advise(&results);
    if args.format == Format::Csv {
        return Err(CliError::usage(
            "--format csv is not available here: use table or json",
        ));
    }
    match args.format {
        Format::Json => println!(
            "{}",
            serde_json::to_string_pretty(&advice).map_err(|e| CliError::runtime(e.to_string()))?
        ),
        _ => {
            let mut out = String::new();
            if advice.is_empty() {
                out.push_str("no measured steps: nothing to advise\n");
            }
            for a in &advice {
                let limit = if a.open_ended {
                    format!("at least {}/s", fmt_rate(a.up_to_ops_per_sec))
                } else {
                    format!("up to {}/s", fmt_rate(a.up_to_ops_per_sec))
                };
                let _ = writeln!(out, "{}: pick {} ({limit})", a.mix, a.pick);
                let _ = writeln!(out, "  why: {}", a.why);
                for s in &a.ranking {
                    let knee = s
                        .knee_ops_per_sec
                        .map_or("no knee".to_string(), |k| format!("knee {}/s", fmt_rate(k)));
                    let _ = writeln!(
                        out,
                        "    {:<18} held {:>8}/s  p99 there {:>9}  {knee}{}",
                        s.map,
                        fmt_rate(s.held_to_ops_per_sec),
                        fmt_ns(s.p99_ns_at_hold),
                        s.bottleneck
                            .as_deref()
                            .map(|b| format!(" ({b})"))
                            .unwrap_or_default()
                    );
                }
            }
            print!("{out}");
        }
    }
    Ok(Outcome::Done)
}
