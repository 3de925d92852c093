//! End-to-end tests of the `mapknee` binary: the results contract, bad
//! input handling, `list`, and the calibration against `synthetic:2us`.

use serde_json::Value;

mod common;

use common::{json, mapknee};

mod contract {
    use super::*;

    const TINY: &[&str] = &[
        "run",
        "--maps",
        "rwlock,mutex",
        "--mix",
        "mixed",
        "--rates",
        "2000,4000",
        "--step",
        "50ms",
        "--threads",
        "1",
        "--keys",
        "1024",
        "--format",
        "json",
    ];

    #[test]
    fn tiny_staircase_emits_the_v1_contract() {
        let v = json(&mapknee(TINY));
        assert_eq!(v["schema"], "mapknee/v1");
        assert_eq!(v["kind"], "run");
        let m = &v["machine"];
        for field in [
            "cpus",
            "cpu_model",
            "os",
            "rustc",
            "mapknee_version",
            "hasher",
            "clock_overhead_ns",
        ] {
            assert!(!m[field].is_null(), "machine.{field} missing");
        }
        assert!(m["rustc"].as_str().unwrap().starts_with("rustc "));
        assert_eq!(m["hasher"], "foldhash");
        let runs = v["runs"].as_array().unwrap();
        assert_eq!(runs.len(), 2);
        assert_eq!(runs[0]["map"], "rwlock");
        assert_eq!(runs[1]["map"], "mutex");
        for run in runs {
            let mix = &run["mix"];
            assert_eq!(mix["name"], "mixed");
            assert_eq!(
                (
                    &mix["get"],
                    &mix["insert"],
                    &mix["get_or_insert"],
                    &mix["remove"]
                ),
                (
                    &Value::from(90),
                    &Value::from(5),
                    &Value::from(5),
                    &Value::from(0)
                )
            );
            assert_eq!(run["threads"], 1);
            assert_eq!(run["keys"], 1024);
            assert_eq!(run["prefill"], 0.5);
            assert_eq!(run["dist"], "order-cache:0.05");
            assert_eq!(run["ops_per_txn"], 1);
            assert!(
                run.get("knee").is_some(),
                "knee is present (object or null)"
            );
            let steps = run["steps"].as_array().unwrap();
            assert_eq!(steps.len(), 2);
            assert_eq!(steps[0]["target_ops_per_sec"], 2000.0);
            assert_eq!(steps[1]["target_ops_per_sec"], 4000.0);
            for s in steps {
                assert!(s["achieved_ops_per_sec"].as_f64().unwrap() > 0.0);
                assert!(s["ops"].as_u64().unwrap() > 0);
                for h in ["latency_ns", "service_ns"] {
                    for p in ["p50", "p90", "p99", "p999", "max", "mean"] {
                        assert!(s[h][p].is_number(), "{h}.{p}");
                    }
                }
                assert!(s["counters"]["lock_acquisitions"].as_u64().unwrap() > 0);
                let timeline = s["timeline"].as_array().unwrap();
                assert!(!timeline.is_empty());
                assert!(timeline[0]["p99_ns"].is_number() && timeline[0]["ops"].is_number());
            }
        }
    }

    #[test]
    fn out_dir_gets_json_and_csv_and_csv_has_a_row_per_step() {
        let dir = std::env::temp_dir().join(format!("mapknee-test-{}", std::process::id()));
        let dir_s = dir.to_str().unwrap();
        let mut args = TINY.to_vec();
        args.extend(["--out", dir_s]);
        let out = mapknee(&args);
        let v = json(&out);
        let file: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap())
                .unwrap();
        assert_eq!(file["runs"], v["runs"]);
        let csv = std::fs::read_to_string(dir.join("results.csv")).unwrap();
        let lines: Vec<&str> = csv.lines().collect();
        assert!(lines[0].starts_with("map,mix,threads,"));
        assert_eq!(lines.len(), 1 + 2 * 2, "header + 2 maps × 2 steps");
        let header: Vec<&str> = lines[0].split(',').collect();
        for row in &lines[1..] {
            assert_eq!(row.split(',').count(), header.len(), "{row}");
        }
        // The columns the knee and SLO are judged from are there, equal to
        // the JSON's (first run, first step).
        let col = |name: &str| {
            let i = header
                .iter()
                .position(|h| *h == name)
                .unwrap_or_else(|| panic!("no {name}"));
            lines[1].split(',').nth(i).unwrap().to_string()
        };
        let step = &v["runs"][0]["steps"][0];
        assert_eq!(col("typical_p99_ns"), step["typical_p99_ns"].to_string());
        assert_eq!(
            col("capacity_ops_per_sec"),
            v["runs"][0]["capacity_ops_per_sec"]
                .as_f64()
                .map_or(String::new(), |c| format!("{c:.1}"))
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn table_is_the_default_and_names_maps_and_knee_lines() {
        let args: Vec<&str> = TINY
            .iter()
            .copied()
            .filter(|a| *a != "json" && *a != "--format")
            .collect();
        let out = mapknee(&args);
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            text.contains("offered/s")
                && text.contains("rwlock p99")
                && text.contains("bottleneck")
        );
        assert!(text.contains("elapsed "));
        // The objective in the header, and each map's base and SLO capacity
        // beside its knee line.
        assert!(
            text.contains("latency objective p99 ≤ 1 ms (change with --slo)"),
            "{text}"
        );
        assert!(text.contains("base p99 "), "{text}");
    }

    #[test]
    fn scale_emits_points() {
        let v = json(&mapknee(&[
            "scale",
            "--maps",
            "rwlock",
            "--threads",
            "1,2",
            "--duration",
            "30ms",
            "--keys",
            "1024",
            "--format",
            "json",
        ]));
        assert_eq!(v["kind"], "scale");
        let points = v["runs"][0]["points"].as_array().unwrap();
        assert_eq!(points.len(), 2);
        assert_eq!(points[1]["threads"], 2);
        assert!(points[0]["ops_per_sec"].as_f64().unwrap() > 0.0);
    }
}

mod bad_input {
    use super::*;

    /// Exit 2, nothing on stdout, exactly one line on stderr containing `needle`.
    fn rejects(args: &[&str], needle: &str) {
        let out = mapknee(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}: stdout not empty");
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err:?} lacks {needle:?}");
        assert!(!err.contains("panicked"));
    }

    #[test]
    fn unknown_map() {
        rejects(&["run", "--maps", "rwlock,btree"], "unknown map 'btree'");
        rejects(&["scale", "--maps", "btree"], "unknown map");
    }

    #[test]
    fn mix_not_summing_to_100() {
        rejects(&["run", "--mix", "50/25/25/1"], "sums to 101");
        rejects(&["run", "--mix", "read-heavy"], "unknown mix");
    }

    #[test]
    fn zero_threads() {
        rejects(&["run", "--threads", "0"], "threads must be at least 1");
        rejects(&["scale", "--threads", "1,0"], "at least 1");
    }

    #[test]
    fn non_positive_rates() {
        rejects(&["run", "--rates", "0,1000"], "bad rate '0'");
        rejects(&["run", "--rates", "-5"], "bad rate");
        rejects(&["run", "--rates", "5k..1k/3"], "below A");
    }

    #[test]
    fn bad_durations_and_values() {
        rejects(&["run", "--step", "fast"], "bad duration");
        rejects(&["run", "--step", "-1s"], "bad duration");
        rejects(
            &["scale", "--duration", "0s"],
            "'0s' must be greater than zero",
        );
        // A zero warm-up is a request, not a misspelling: `http` takes it
        // and goes on to the next check; a bad unit is still refused.
        rejects(
            &["http", "--spawn", "--warmup", "0s", "--step", "10ms"],
            "--step and --probe must be at least 100ms",
        );
        rejects(&["http", "--spawn", "--warmup", "0parsecs"], "bad duration");
        rejects(&["run", "--prefill", "2"], "prefill");
        rejects(&["run", "--dist", "zipf:-1"], "zipf");
        rejects(&["run", "--keys", "0"], "keys");
        rejects(&["run", "--keys", "many"], "invalid value");
        rejects(&["run", "--no-such-flag"], "unexpected argument");
        rejects(&["list", "bogus"], "unknown list section");
    }

    #[test]
    fn bad_latency_objectives() {
        // Parsed before any file is read or step measured, on every command
        // that takes one.
        rejects(&["run", "--slo", "p98<=1ms"], "unknown percentile 'p98'");
        rejects(&["run", "--slo", "p99<1ms"], "no '<='");
        rejects(&["advise", "x.json", "--slo", "p99<=1"], "needs a unit");
        rejects(
            &["report", "x.json", "--slo", "p99<=0us"],
            "between 1 ns and 1 hour",
        );
        rejects(
            &["compare", "a.json", "b.json", "--slo", "max<=1h"],
            "unknown unit 'h'",
        );
    }

    #[test]
    fn malformed_scenario_reports_file_line_col() {
        let dir = std::env::temp_dir();
        let path = dir.join(format!("mapknee-bad-{}.toml", std::process::id()));
        let p = path.to_str().unwrap();
        std::fs::write(&path, "name = \"x\"\nmaps = [\"rwlock\"\nkeys = 5\n").unwrap();
        rejects(&["run", "--scenario", p], &format!("{p}:3:"));
        std::fs::write(&path, "maps = [\"rwlock\",\n        \"btree\"]\n").unwrap();
        rejects(
            &["run", "--scenario", p],
            &format!("{p}:2:9: unknown map 'btree'"),
        );
        std::fs::write(
            &path,
            "maps = [\"rwlock\"]\nmixes = [\"mixed\", \"1/2/3/4\"]\n",
        )
        .unwrap();
        rejects(&["run", "--scenario", p], &format!("{p}:2:19: mix"));
        std::fs::write(
            &path,
            "maps = [\"rwlock\"]\nrates = \"auto\"\nstep = \"soon\"\n",
        )
        .unwrap();
        rejects(&["run", "--scenario", p], &format!("{p}:3:8: bad duration"));
        std::fs::remove_file(&path).unwrap();
    }

    #[test]
    fn unreadable_scenario() {
        rejects(
            &["run", "--scenario", "/nonexistent/x.toml"],
            "cannot read scenario",
        );
    }
}

mod list {
    use super::*;

    #[test]
    fn lists_every_section() {
        let out = mapknee(&["list"]);
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).unwrap();
        for needle in [
            "maps:",
            "rwlock",
            "mixes:",
            "write-heavy",
            "distributions:",
            "zipf:<theta>",
            "scenarios:",
            "default",
        ] {
            assert!(text.contains(needle), "missing {needle}");
        }
    }

    #[test]
    fn lists_one_section() {
        let out = mapknee(&["list", "mixes"]);
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.starts_with("mixes:") && !text.contains("maps:"));
    }
}

mod calibration {
    use super::*;

    const CAPACITY: f64 = 500_000.0;

    /// One calibration staircase; `Err` says which bound it missed.
    fn attempt(threads: &str) -> Result<String, String> {
        let v = json(&mapknee(&[
            "run",
            "--maps",
            "synthetic:2us",
            "--mix",
            "read-mostly",
            "--step",
            "200ms",
            "--threads",
            threads,
            "--format",
            "json",
        ]));
        let run = &v["runs"][0];
        let knee = run["knee"]["ops_per_sec"].as_f64().unwrap_or(f64::NAN);
        let mut report = format!(
            "threads {threads}: knee {knee:.0}/s = {:.2} x capacity (rule {}, cause {}), probe {:.0}/s\n",
            knee / CAPACITY,
            run["knee"]["rule"],
            run["knee"]["bottleneck"],
            run["capacity_ops_per_sec"].as_f64().unwrap_or(0.0)
        );
        let mut below_half = 0;
        let mut missed = Vec::new();
        for s in run["steps"].as_array().unwrap() {
            let target = s["target_ops_per_sec"].as_f64().unwrap();
            let achieved = s["achieved_ops_per_sec"].as_f64().unwrap();
            report += &format!(
                "  offered {target:>8.0} achieved {achieved:>8.0} p99 {:>9} ns{}\n",
                s["latency_ns"]["p99"],
                if s["refine"] == true { " (refine)" } else { "" }
            );
            if target < CAPACITY / 2.0 {
                below_half += 1;
                if (achieved - target).abs() / target >= 0.02 {
                    missed.push(format!("offered {target:.0} achieved {achieved:.0}"));
                }
            }
        }
        if below_half < 2 {
            missed.push(format!("only {below_half} steps below half capacity"));
        }
        if !(0.6 * CAPACITY..=1.0 * CAPACITY).contains(&knee) {
            missed.push(format!("knee {knee:.0} outside [0.6, 1.0] x {CAPACITY}"));
        }
        if missed.is_empty() {
            Ok(report)
        } else {
            Err(format!("{report}  missed: {}", missed.join("; ")))
        }
    }

    /// `synthetic:2us` holds one global lock for 2 µs per operation, so its
    /// capacity is 500,000 ops/s whatever the thread count. The detected
    /// knee must lie in [0.6, 1.0] × that, and below half of it the map must
    /// achieve what it is offered within 2 %. Coarse bounds, not speed
    /// assertions: they check the pacer, the staircase and the knee rules
    /// against theory.
    ///
    /// One thread: with two, a lock holder preempted by another process
    /// stalls both (a convoy), which measures the machine's load rather
    /// than the harness. The machine is shared, so up to three attempts are
    /// made and one must meet every bound; all attempts are printed.
    ///
    /// Ignored by default: it measures, so it needs a release build and a
    /// machine not saturated by other work (`.ci/run` runs it with
    /// `cargo test --release -- --ignored`; by hand:
    /// `cargo test --release -p mapknee --test cli calibration -- --ignored --nocapture`).
    #[test]
    #[ignore = "measures: needs --release and a quiet machine (CI runs it with --ignored)"]
    fn synthetic_2us_knee_matches_theory() {
        let mut reports = Vec::new();
        for _ in 0..3 {
            match attempt("1") {
                Ok(report) => {
                    eprintln!("{}{report}", reports.join(""));
                    return;
                }
                Err(report) => reports.push(report + "\n"),
            }
        }
        panic!(
            "no attempt met the calibration bounds:\n{}",
            reports.join("")
        );
    }
}
