//! Generated input, in-process: argument combinations and scenario files
//! through clap and the settings (with their limits), many more cases than
//! the binary's end-to-end generated test can afford, since nothing here
//! starts a run. Asserted: never a panic; every refusal is one line; every
//! accepted setting lies within the limits.

use std::time::Duration;

use clap::Parser;
use proptest::prelude::*;
use proptest::sample::select;

use crate::args::{Cli, Command};
use crate::cmd::growth::GrowthSettings;
use crate::limits::{Host, MAX_RUN, MIN_STEP, WORKERS_PER_CORE};
use crate::settings::{RunSettings, ScaleSettings};
use crate::CliError;

fn value(
    valid: &'static [&'static str],
    invalid: &'static [&'static str],
) -> BoxedStrategy<String> {
    prop_oneof![
        4 => select(valid).prop_map(String::from),
        4 => select(invalid).prop_map(String::from),
        1 => "[ -~]{0,12}",
    ]
    .boxed()
}

/// `--flag=value`, or nothing.
fn flag(name: &'static str, v: BoxedStrategy<String>) -> BoxedStrategy<Vec<String>> {
    prop::option::of(v)
        .prop_map(move |v| v.map(|v| format!("{name}={v}")).into_iter().collect())
        .boxed()
}

fn sizes() -> BoxedStrategy<String> {
    value(
        &["1", "2", "16", "1024", "65536"],
        &[
            "0",
            "-1",
            "513",
            "100000",
            "99999999999",
            "99999999999999",
            "4294967295",
            "4294967296",
            "18446744073709551615",
            "18446744073709551616",
        ],
    )
}

fn durations() -> BoxedStrategy<String> {
    value(
        &["10ms", "50ms", "1s", "2min"],
        &[
            "0",
            "1ns",
            "9ms",
            "-1s",
            "1e9s",
            "999999999s",
            "1000000000s",
            "100000000s",
            "24h",
            "1.5.5ms",
            "nan s",
        ],
    )
}

fn rates() -> BoxedStrategy<String> {
    value(
        &["auto", "1000", "2k,4k", "1k..1M/8", "500k"],
        &[
            "0",
            "1e30",
            "1e9",
            "1e-30",
            "1k..2k/10000",
            "1k..2k/10001",
            "1k..2k/99999999999",
            "1..1e300/3",
            "inf",
            "5k..1k/3",
        ],
    )
}

fn maps() -> BoxedStrategy<String> {
    value(
        &[
            "rwlock",
            "noop",
            "syncmap,rwlock",
            "sharded:65536",
            "synthetic:2us",
            "synthetic:100us",
        ],
        &[
            "synthetic:1s",
            "synthetic:999999999s",
            "sharded:65537",
            "btree",
            "",
        ],
    )
}

fn run_args() -> impl Strategy<Value = Vec<String>> {
    (
        (
            flag("--maps", maps()),
            flag(
                "--mix",
                value(&["mixed", "90/5/5/0"], &["4294967295/1/0/0", "1/2/3"]),
            ),
            flag("--rates", rates()),
            flag("--step", durations()),
            flag("--repeat", sizes()),
            flag("--keys", sizes()),
            flag("--threads", sizes()),
        ),
        (
            flag("--ops-per-txn", sizes()),
            flag(
                "--prefill",
                value(&["0", "0.5", "1"], &["1.5", "nan", "-0"]),
            ),
            flag(
                "--scenario",
                value(&["default", "churn", "calibration"], &["nope"]),
            ),
            flag("--dist", value(&["uniform", "zipf:0.9"], &["zipf:0"])),
            prop::option::of(Just("--quick".to_string())),
            flag(
                "--slo",
                value(&["p99<=1ms", "max<=1s"], &["p99<=0ns", "p99<=2h", "x"]),
            ),
        ),
    )
        .prop_map(|((a, b, c, d, e, f, g), (h, i, j, k, quick, o))| {
            let mut v = vec!["mapknee".to_string(), "run".to_string()];
            for part in [a, b, c, d, e, f, g, h, i, j, k, o] {
                v.extend(part);
            }
            v.extend(quick);
            v
        })
}

fn scale_args() -> impl Strategy<Value = Vec<String>> {
    (
        flag("--maps", maps()),
        flag(
            "--threads",
            value(&["1,2", "1,2,4"], &["0", "1,100000", "513"]),
        ),
        flag("--duration", durations()),
        flag("--keys", sizes()),
        flag("--ops-per-txn", sizes()),
    )
        .prop_map(|(a, b, c, d, e)| {
            let mut v = vec!["mapknee".to_string(), "scale".to_string()];
            for part in [a, b, c, d, e] {
                v.extend(part);
            }
            v
        })
}

fn growth_args() -> impl Strategy<Value = Vec<String>> {
    (
        flag(
            "--maps",
            value(&["gomap,std", "syncmap"], &["std,std", "btree"]),
        ),
        flag("--inserts", sizes()),
        flag("--threads", sizes()),
        flag("--repeat", sizes()),
    )
        .prop_map(|(a, b, c, d)| {
            let mut v = vec!["mapknee".to_string(), "growth".to_string()];
            for part in [a, b, c, d] {
                v.extend(part);
            }
            v
        })
}

/// A refusal is a usage error of one line.
fn refused(e: &CliError) -> Result<(), TestCaseError> {
    let line = e.to_string();
    prop_assert!(!line.is_empty() && !line.contains('\n'), "{line:?}");
    Ok(())
}

fn check_run(s: &RunSettings) -> Result<(), TestCaseError> {
    let host = Host::detect();
    let c = &s.staircase;
    prop_assert!(c.threads >= 1 && c.threads <= host.cores * WORKERS_PER_CORE);
    prop_assert!(c.step >= MIN_STEP, "{:?}", c.step);
    prop_assert!(s.estimate() <= MAX_RUN, "{:?}", s.estimate());
    // What the progress bar and the warm-up derive must not overflow.
    let _ = s.planned_steps();
    Ok(())
}

/// Settings of one argument vector: `Ok(())` whether refused (one line)
/// or accepted (within the limits); the panic, if any, fails the case.
fn settle(argv: &[String]) -> Result<(), TestCaseError> {
    let Ok(cli) = Cli::try_parse_from(argv) else {
        return Ok(()); // clap's own refusals: the binary prints their first line
    };
    match cli.command {
        Command::Run(a) => match RunSettings::from_args(a) {
            Ok(s) => check_run(&s),
            Err(e) => refused(&e),
        },
        Command::Scale(a) => match ScaleSettings::from_args(a) {
            Ok(s) => {
                prop_assert!(s.duration >= MIN_STEP);
                Ok(())
            }
            Err(e) => refused(&e),
        },
        Command::Growth(a) => match GrowthSettings::from_args(a) {
            Ok(s) => {
                prop_assert!(s.inserts >= 1 && s.threads >= 1 && s.repeat >= 1);
                Ok(())
            }
            Err(e) => refused(&e),
        },
        _ => Ok(()),
    }
}

/// A scenario line: each field with values of the right and the wrong
/// type and size, or a broken line.
fn scenario_line() -> BoxedStrategy<String> {
    let field = select(
        &[
            "keys",
            "prefill",
            "threads",
            "ops_per_txn",
            "dist",
            "arrivals",
            "hasher",
            "maps",
            "mixes",
            "rates",
            "step",
            "budget",
            "quick_budget",
            "ladder_steps",
            "refine_steps",
            "quick_ladder_steps",
            "quick_refine_steps",
            "repeat",
            "name",
            "description",
            "colour",
        ][..],
    );
    let val = select(
        &[
            "1",
            "0",
            "-1",
            "2",
            "99999999999",
            "18446744073709551615",
            "18446744073709551616",
            "0.5",
            "1.5",
            "nan",
            "inf",
            "\"\"",
            "\"rwlock\"",
            "\"10ms\"",
            "\"1e9s\"",
            "\"1000\"",
            "\"auto\"",
            "\"1e30\"",
            "\"uniform\"",
            "\"zipf:-1\"",
            "[\"rwlock\", \"noop\"]",
            "[\"btree\"]",
            "[\"mixed\"]",
            "[]",
            "[1]",
            "{}",
            "true",
        ][..],
    );
    prop_oneof![
        8 => (field, val).prop_map(|(f, v)| format!("{f} = {v}")),
        1 => "[ -~\\u{80}-\\u{10ffff}]{0,20}",
    ]
    .boxed()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1500, ..ProptestConfig::default() })]

    #[test]
    fn run_settings_refuse_in_one_line_or_stay_within_limits(argv in run_args()) {
        settle(&argv)?;
    }

    #[test]
    fn scale_and_growth_settings_refuse_in_one_line_or_stay_within_limits(
        scale in scale_args(),
        growth in growth_args(),
    ) {
        settle(&scale)?;
        settle(&growth)?;
    }

    /// Any text as a scenario: parsed, or refused with `file:line:col`.
    #[test]
    fn any_scenario_text_parses_or_points_at_the_error(text in "[ -~\\n\\t\\u{80}-\\u{10ffff}]{0,80}") {
        match crate::scenario::Scenario::parse("s.toml", &text, false) {
            Ok(_) => {}
            Err(e) => {
                let line = e.to_string();
                prop_assert!(line.starts_with("s.toml:"), "{line}");
                prop_assert!(!line.contains('\n'), "{line:?}");
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    /// Scenario files with fields of every type and size, through the
    /// settings as `run --scenario FILE` reads them.
    #[test]
    fn scenario_files_refuse_in_one_line_or_stay_within_limits(
        lines in prop::collection::vec(scenario_line(), 0..8),
        quick in any::<bool>(),
    ) {
        let path = std::env::temp_dir().join(format!(
            "mapknee-settings-props-{}-{:?}.toml",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::write(&path, lines.join("\n")).expect("scenario written");
        let mut argv = vec!["mapknee".to_string(), "run".into(), "--scenario".into()];
        argv.push(path.display().to_string());
        if quick {
            argv.push("--quick".into());
        }
        let result = settle(&argv);
        let _ = std::fs::remove_file(&path);
        result?;
    }
}

#[test]
fn the_default_runs_are_accepted() {
    // The README's own commands must pass their limits on any machine.
    for argv in [
        &["mapknee", "run"][..],
        &["mapknee", "run", "--quick"],
        &["mapknee", "run", "--scenario", "churn"],
        &["mapknee", "run", "--scenario", "calibration", "--quick"],
        &["mapknee", "scale"],
    ] {
        let cli = Cli::try_parse_from(argv).unwrap();
        match cli.command {
            Command::Run(a) => {
                let s = RunSettings::from_args(a).unwrap();
                assert!(s.estimate() < Duration::from_secs(180), "{argv:?}");
            }
            Command::Scale(a) => {
                ScaleSettings::from_args(a).unwrap();
            }
            _ => unreachable!(),
        }
    }
}

#[test]
fn the_default_run_is_the_default_workload_under_the_default_mixes() {
    // The timing examples (`pair`, `interleave`, `placement`) run
    // `Workload::default_for` under `DEFAULT_MIXES` as "what `mapknee run`
    // runs"; the default scenario file must say the same.
    let Command::Run(a) = Cli::try_parse_from(["mapknee", "run"]).unwrap().command else {
        unreachable!()
    };
    let s = RunSettings::from_args(a).unwrap();
    let names: Vec<&str> = s.mixes.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, mapknee_load::DEFAULT_MIXES);
    for mix in &s.mixes {
        assert_eq!(
            s.common.workload(mix),
            mapknee_load::Workload::default_for(mix.clone())
        );
    }
}
