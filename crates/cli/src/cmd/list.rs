//! `mapknee list`: maps, mixes, distributions, scenarios.

use mapknee_load::{DISTRIBUTIONS, NAMED_MIXES};
use mapknee_maps::MapKind;

use crate::args::ListArgs;
use crate::scenario::{Scenario, BUILTIN};
use crate::{CliError, Outcome};

const SECTIONS: [&str; 4] = ["maps", "mixes", "distributions", "scenarios"];

pub(crate) fn run(args: ListArgs) -> Result<Outcome, CliError> {
    let only = match args.what.as_deref() {
        None => None,
        Some(w) => Some(
            SECTIONS
                .iter()
                .find(|s| s.starts_with(w) && !w.is_empty())
                .ok_or_else(|| {
                    CliError::usage(format!(
                        "unknown list section '{w}' (expected {})",
                        SECTIONS.join(", ")
                    ))
                })?,
        ),
    };
    let show = |s: &str| only.is_none_or(|o| *o == s);
    let mut out = String::new();
    let mut section = |title: &str, rows: Vec<(String, String)>| {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(title);
        out.push_str(":\n");
        let width = rows
            .iter()
            .map(|(n, _)| n.chars().count())
            .max()
            .unwrap_or(0);
        for (name, what) in rows {
            let pad = width - name.chars().count();
            out.push_str(&format!("  {name}{}  {what}\n", " ".repeat(pad)));
        }
    };
    if show("maps") {
        section(
            "maps",
            MapKind::catalogue()
                .into_iter()
                .map(|(n, d)| (n.to_string(), d.to_string()))
                .collect(),
        );
    }
    if show("mixes") {
        let mut rows: Vec<(String, String)> = NAMED_MIXES
            .iter()
            .map(|(n, [g, i, gi, r])| {
                (
                    n.to_string(),
                    format!("get {g}% / insert {i}% / get_or_insert {gi}% / remove {r}%"),
                )
            })
            .collect();
        rows.push((
            "G/I/O/R".into(),
            "custom percentages summing to 100, e.g. 80/10/5/5".into(),
        ));
        section("mixes", rows);
    }
    if show("distributions") {
        section(
            "distributions",
            DISTRIBUTIONS
                .iter()
                .map(|(n, d)| (n.to_string(), d.to_string()))
                .collect(),
        );
    }
    if show("scenarios") {
        let mut rows = Vec::new();
        for (name, _) in BUILTIN {
            let sc = Scenario::load(name)?;
            rows.push((
                name.to_string(),
                sc.file.description.clone().unwrap_or_default() + " (built in)",
            ));
        }
        // Scenario files next to the working directory, if any.
        if let Ok(dir) = std::fs::read_dir("scenarios") {
            let mut files: Vec<_> = dir
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .collect();
            files.sort();
            for p in files {
                let desc = std::fs::read_to_string(&p)
                    .ok()
                    .and_then(|t| Scenario::parse("", &t, false).ok())
                    .and_then(|s| s.file.description)
                    .unwrap_or_default();
                rows.push((p.display().to_string(), desc));
            }
        }
        section("scenarios", rows);
    }
    print!("{out}");
    Ok(Outcome::Done)
}
