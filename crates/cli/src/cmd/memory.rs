//! `mapknee memory`: bytes per entry and allocations per operation per map
//! and size (study part 2.3). The measuring lives in
//! `mapknee_costs::memory`, counted by the allocator `main.rs` installs;
//! this validates the flags, runs Go's reference program when Go is
//! installed, and renders.

use std::path::Path;

use mapknee_costs::memory::{self, MemoryConfig, MemoryResults, DEFAULT_OPS};
use mapknee_maps::{HasherKind, MapKind};

use crate::args::{Format, MemoryArgs};
use crate::{CliError, Outcome};

/// Sizes when `--sizes` is not given.
const DEFAULT_SIZES: [u64; 3] = [1 << 10, 1 << 16, 1 << 20];
/// The largest size accepted: 64M u64 → u64 entries is a few GiB for the
/// hungriest map.
const MAX_SIZE: u64 = 1 << 26;

/// Validated `memory` flags.
#[derive(Debug)]
pub(crate) struct MemorySettings {
    pub(crate) config: MemoryConfig,
    pub(crate) go: bool,
    pub(crate) format: Format,
    pub(crate) out: Option<std::path::PathBuf>,
}

impl MemorySettings {
    pub(crate) fn from_args(args: MemoryArgs) -> Result<Self, CliError> {
        let maps: Vec<MapKind> = match args.maps {
            None => MapKind::catalogue()
                .into_iter()
                .map(|(name, _)| name)
                .filter(|n| !n.starts_with("synthetic") && *n != "noop")
                .map(|n| n.split('[').next().unwrap_or(n).parse())
                .collect::<Result<_, _>>()
                .map_err(|e| CliError::usage(format!("--maps: {e}")))?,
            Some(names) => {
                let mut v: Vec<MapKind> = Vec::new();
                for name in names.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
                    let kind: MapKind = name
                        .parse()
                        .map_err(|e| CliError::usage(format!("--maps: {e}")))?;
                    if v.contains(&kind) {
                        return Err(CliError::usage(format!("--maps: '{name}' given twice")));
                    }
                    v.push(kind);
                }
                v
            }
        };
        if maps.is_empty() {
            return Err(CliError::usage("--maps: no map given"));
        }
        let sizes = match args.sizes {
            None => DEFAULT_SIZES.to_vec(),
            Some(list) => list
                .iter()
                .map(|s| parse_size(s))
                .collect::<Result<Vec<_>, _>>()?,
        };
        if sizes.is_empty() {
            return Err(CliError::usage("--sizes: no size given"));
        }
        // The largest map must fit, with both tables of its last resize.
        let largest = sizes.iter().copied().max().unwrap_or(1);
        let per_key = maps
            .iter()
            .map(mapknee_load::footprint::map_bytes_per_key)
            .max()
            .unwrap_or(150)
            * 2;
        crate::limits::memory(
            "the largest map",
            &[crate::limits::Part {
                flag: "--sizes".into(),
                bytes: largest.saturating_mul(per_key),
                how: format!(
                    "for {largest} entries at {per_key} B (the hungriest map's bytes per key, twice: a resize holds both tables)"
                ),
            }],
            &crate::limits::Host::detect(),
        )
        .map_err(CliError::usage)?;
        let ops = args.ops.unwrap_or(DEFAULT_OPS);
        if ops == 0 {
            return Err(CliError::usage("--ops must be at least 1"));
        }
        let hasher: HasherKind = match args.hasher.as_deref() {
            None => HasherKind::default(),
            Some(h) => h
                .parse()
                .map_err(|e| CliError::usage(format!("--hasher: {e}")))?,
        };
        Ok(MemorySettings {
            config: MemoryConfig {
                maps,
                sizes,
                ops,
                hasher,
            },
            go: !args.no_go,
            format: args.format,
            out: args.out,
        })
    }
}

/// One `--sizes` entry: a whole number of entries, k (×1024) and M
/// (×1024²) allowed, as Go's and the study's sizes are powers of two.
fn parse_size(s: &str) -> Result<u64, CliError> {
    let t = s.trim();
    let bad = || {
        CliError::usage(format!(
            "--sizes: bad size '{t}' (expected entries from 1 to {MAX_SIZE}, e.g. 1k, 64k, 1M)"
        ))
    };
    let (num, scale) = match t.as_bytes().last() {
        Some(b'k' | b'K') => (&t[..t.len() - 1], 1u64 << 10),
        Some(b'M' | b'm') => (&t[..t.len() - 1], 1u64 << 20),
        _ => (t, 1),
    };
    let n: u64 = num.parse().map_err(|_| bad())?;
    match n.checked_mul(scale) {
        Some(v) if (1..=MAX_SIZE).contains(&v) => Ok(v),
        _ => Err(bad()),
    }
}

pub(crate) fn run(args: MemoryArgs) -> Result<Outcome, CliError> {
    let s = MemorySettings::from_args(args)?;
    if !mapknee_costs::alloc::installed() {
        return Err(CliError::runtime(
            "the counting allocator is not this binary's global allocator",
        ));
    }
    if let Some(dir) = &s.out {
        std::fs::create_dir_all(dir).map_err(|e| {
            CliError::usage(format!(
                "cannot create --out directory '{}': {e}",
                dir.display()
            ))
        })?;
    }
    let (_, machine) = crate::cmd::machine(s.config.hasher.name());
    let mut results = memory::measure_all(&s.config, machine, |map, size| {
        eprintln!("mapknee: memory: {map} at {size} entries");
    });
    mapknee_costs::alloc::disable();
    if s.go {
        match mapknee_costs::go::find_go() {
            None => {
                results.go_note = "not installed (apt-get install golang-1.19-go, or set MAPKNEE_GO): no Go figures".into();
            }
            Some(go) => {
                eprintln!("mapknee: memory: Go's map and sync.Map ({})", go.display());
                match mapknee_costs::go::run(&go, &s.config.sizes, s.config.ops) {
                    Ok(figs) => {
                        results.go_note = format!(
                            "{} via {}",
                            figs.first().map_or("", |f| f.go_version.as_str()),
                            go.display()
                        );
                        results.go = figs;
                    }
                    Err(e) => {
                        eprintln!("mapknee: warning: no Go figures: {e}");
                        results.go_note = format!("failed: {e}");
                    }
                }
            }
        }
    } else {
        results.go_note = "left out (--no-go)".into();
    }
    if results.go.is_empty() {
        eprintln!("mapknee: Go: {}", results.go_note);
    }
    if let Some(dir) = &s.out {
        write(dir, &results)?;
    }
    match s.format {
        Format::Table => {
            print!("{}", mapknee_report::costs::memory_table(&results));
            if let Some(dir) = &s.out {
                println!(
                    "wrote {0}/memory.json, {0}/memory.csv and {0}/report.html",
                    dir.display()
                );
            }
        }
        Format::Json => println!("{}", json(&results)),
        Format::Csv => print!("{}", mapknee_report::costs::memory_csv(&results)),
    }
    Ok(Outcome::Done)
}

fn json(r: &MemoryResults) -> String {
    serde_json::to_string_pretty(r).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

fn write(dir: &Path, r: &MemoryResults) -> Result<(), CliError> {
    let fail = |what: &str, e: std::io::Error| {
        CliError::runtime(format!("cannot write {what} in '{}': {e}", dir.display()))
    };
    for (name, text) in [
        ("memory.json", json(r)),
        ("memory.csv", mapknee_report::costs::memory_csv(r)),
        ("report.html", mapknee_report::costs::memory_html(r)),
    ] {
        std::fs::write(dir.join(name), text).map_err(|e| fail(name, e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_take_binary_suffixes_and_reject_the_rest() {
        assert_eq!(parse_size("1k").unwrap(), 1024);
        assert_eq!(parse_size("64k").unwrap(), 65_536);
        assert_eq!(parse_size("1M").unwrap(), 1 << 20);
        assert_eq!(parse_size("500").unwrap(), 500);
        for bad in ["0", "-1", "1G", "k", "", "1e6", "65M"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }
}
