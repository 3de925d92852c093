//! End-to-end tests of the analysis commands: `--repeat`, `report`,
//! `compare`, `advise`, and USL fits on `scale`.

use std::path::{Path, PathBuf};
use std::process::Output;

use serde_json::Value;

mod common;

use common::mapknee;

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "status {:?}, stderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn usage_error(out: &Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(2),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    err
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mapknee-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A tiny repeated staircase of two maps, written to `dir`.
fn tiny_run(dir: &Path) -> Value {
    let out = mapknee(&[
        "run",
        "--maps",
        "rwlock,mutex",
        "--mix",
        "mixed",
        "--mix",
        "write-heavy",
        "--rates",
        "2000,4000,6000,8000",
        "--step",
        "40ms",
        "--threads",
        "1",
        "--keys",
        "1024",
        "--repeat",
        "3",
        "--format",
        "json",
        "--out",
        dir.to_str().unwrap(),
    ]);
    serde_json::from_str(&ok(&out)).expect("stdout is JSON")
}

#[test]
fn repeat_report_advise_compare_end_to_end() {
    let dir = scratch("e2e");
    let v = tiny_run(&dir);
    // --repeat 3: each offered rate appears once, as the median of 3, with
    // an interval around it.
    for run in v["runs"].as_array().unwrap() {
        let steps = run["steps"].as_array().unwrap();
        assert_eq!(steps.len(), 4, "{}: one step per rate", run["map"]);
        for s in steps {
            assert_eq!(s["repeats"], 3);
            let ci = s["p99_ci_ns"].as_array().expect("interval");
            let p99 = s["latency_ns"]["p99"].as_f64().unwrap();
            let (lo, hi) = (ci[0].as_f64().unwrap(), ci[1].as_f64().unwrap());
            assert!(lo <= p99 && p99 <= hi, "{lo} <= {p99} <= {hi}");
            // Three repetitions: [min, max], stated at its true 75 %.
            assert_eq!(s["p99_ci_coverage"], 0.75);
        }
    }
    // The latency objective (the default) and each run's SLO capacity
    // under it, per run and per repetition.
    assert_eq!(
        v["slo"],
        serde_json::json!({"percentile": "p99", "max_ns": 1_000_000})
    );
    for run in v["runs"].as_array().unwrap() {
        assert!(
            run["slo"]["base_ns"].as_u64().unwrap() > 0,
            "{}",
            run["slo"]
        );
        for rep in run["repetitions"].as_array().unwrap() {
            assert!(rep["slo_ops_per_sec"].is_number(), "{rep}");
        }
    }
    // Decay model across the two mixes, per map.
    let decay = v["decay"].as_array().expect("decay fits");
    assert_eq!(decay.len(), 2);
    for d in decay {
        // 4 rates × 2 mixes, less any step that could not keep up (a
        // 40 ms step on a busy machine can fall behind at any rate).
        let n = d["n"].as_u64().unwrap();
        let fitted = n + d["saturated_dropped"].as_u64().unwrap();
        assert!(d["writes_fitted"] == true && fitted == 8, "{d}");
        // Four coefficients: b's interval exists exactly when a step is
        // left over to estimate the residual variance from.
        if n > 4 {
            let [lo, hi] = [0, 1].map(|i| d["b_ci"][i].as_f64().expect("b has an interval"));
            let b = d["b"].as_f64().unwrap();
            assert!(lo <= b && b <= hi, "{d}");
        } else {
            assert!(d["b_ci"].is_null(), "no residual freedom, no interval: {d}");
        }
    }
    let html = std::fs::read_to_string(dir.join("report.html")).expect("report.html written");
    assert!(html.contains("<svg") && html.contains("rwlock") && !html.contains("NaN"));

    // report: re-render elsewhere.
    let again = dir.join("again");
    let text = ok(&mapknee(&[
        "report",
        dir.join("results.json").to_str().unwrap(),
        "--out",
        again.to_str().unwrap(),
    ]));
    assert!(text.contains("rwlock") && text.contains("wrote"));
    assert!(again.join("report.html").exists() && again.join("results.csv").exists());
    // Under the file's own objective the re-rendered figures are the run's
    // (a repeated run's SLO capacity is its repetitions' median, which the
    // merged steps stored cannot give again).
    let csv = |d: &std::path::Path| std::fs::read_to_string(d.join("results.csv")).unwrap();
    assert_eq!(csv(&again), csv(&dir), "report re-rendered other figures");

    // advise: one pick per mix, named from the maps measured. A measured
    // p99 follows the machine's load; a lenient objective keeps this about
    // the ranking (the objectives themselves are tested on fixtures below).
    let advice: Value = serde_json::from_str(&ok(&mapknee(&[
        "advise",
        dir.join("results.json").to_str().unwrap(),
        "--format",
        "json",
        "--slo",
        "p99<=10s",
    ])))
    .unwrap();
    let advice = advice.as_array().unwrap();
    assert_eq!(advice.len(), 2);
    for a in advice {
        assert!(
            ["rwlock", "mutex"].contains(&a["pick"].as_str().unwrap()),
            "{a}"
        );
        assert_eq!(a["ranking"].as_array().unwrap().len(), 2);
    }

    // compare: a file against itself is within noise (exit 0); against a
    // copy whose p99s doubled and whose repetitions fell to a quarter it is a
    // regression (exit 1).
    let base = dir.join("results.json");
    let same = ok(&mapknee(&[
        "compare",
        base.to_str().unwrap(),
        base.to_str().unwrap(),
    ]));
    assert!(same.contains("verdict: within noise"), "{same}");
    // The header names the machine; one machine against itself: no change
    // marked, nothing said to differ, no changed figure listed.
    assert!(same.starts_with("base: mapknee "), "{same}");
    assert!(same.contains("\nnew:  mapknee "), "{same}");
    assert!(!same.contains("harness's cost per transaction"), "{same}");
    assert!(!same.contains("the sides differ"), "{same}");
    assert!(!same.contains("\nchanged: "), "{same}");
    let mut worse = v.clone();
    // The new side's machine: a harness half again as dear, another hasher.
    let harness = worse["machine"]["harness_ns_per_op"].as_f64().unwrap();
    assert!(harness > 0.0);
    worse["machine"]["harness_ns_per_op"] = Value::from(harness * 1.5);
    worse["machine"]["hasher"] = Value::from("siphash");
    for run in worse["runs"].as_array_mut().unwrap() {
        for step in run["steps"].as_array_mut().unwrap() {
            let p99 = step["latency_ns"]["p99"].as_u64().unwrap();
            step["latency_ns"]["p99"] = Value::from(p99 * 2 + 1);
            step["p99_ci_ns"] = Value::Null;
        }
        // The knee the run itself reports (from its merged steps, when the
        // tiny ladder found one there) at a quarter: `compare` calls a knee
        // change only when that figure moved as the repetitions' did.
        if let Some(knee) = run["knee"].as_object_mut() {
            let at = knee["ops_per_sec"].as_f64().unwrap();
            knee["ops_per_sec"] = Value::from(at / 4.0);
        }
        // Each repetition's knee and peak at a quarter of the base's lowest:
        // well past the threshold and the spread the repetitions showed.
        let reps = run["repetitions"].as_array_mut().expect("repetitions");
        assert_eq!(reps.len(), 3);
        for field in ["knee_ops_per_sec", "peak_achieved_ops_per_sec"] {
            let low = reps
                .iter()
                .map(|r| r[field].as_f64().unwrap())
                .fold(f64::INFINITY, f64::min);
            for r in reps.iter_mut() {
                r[field] = Value::from(low / 4.0);
            }
        }
        // ... and measured, not lower bounds (the tiny ladder may not have
        // reached a knee or saturation).
        for r in reps.iter_mut() {
            r["knee_found"] = Value::from(true);
            r["saturated"] = Value::from(true);
        }
    }
    let worse_path = dir.join("worse.json");
    std::fs::write(&worse_path, serde_json::to_string(&worse).unwrap()).unwrap();
    let out = mapknee(&[
        "compare",
        base.to_str().unwrap(),
        worse_path.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // Three repetitions a side: regressed by the threshold, never called
    // significant.
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("verdict: regressed, threshold only"),
        "{text}"
    );
    assert!(
        text.contains("threshold only: fewer than 5 repetitions per side"),
        "{text}"
    );
    // The header marks the harness's change and names the hasher; the
    // summary line lists every knee that fell, and nothing else.
    assert!(text.contains("sides) moved +50.0 % ("), "{text}");
    assert!(text.contains("note: the sides differ in hasher:"), "{text}");
    let changed = text
        .lines()
        .find_map(|l| l.strip_prefix("changed: "))
        .expect("a changed line");
    let runs = worse["runs"].as_array().unwrap().len();
    let knees = changed.matches(" knee -").count();
    assert_eq!(knees, runs, "{changed}");
    assert!(
        changed.split("; ").all(|f| f.ends_with("(regressed)")),
        "{changed}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// An open-loop step offered `rate` that achieved `achieved`, with this p99
/// and bottleneck label.
fn fixture_step(rate: f64, achieved: f64, p99: u64, label: &str) -> mapknee_load::Step {
    mapknee_load::Step {
        target_ops_per_sec: Some(rate),
        achieved_ops_per_sec: achieved,
        ops: achieved as u64,
        latency_ns: mapknee_load::Percentiles {
            p99,
            ..Default::default()
        },
        duration_s: 1.0,
        bottleneck: Some(label.into()),
        ..Default::default()
    }
}

/// A `run` result file of one mix: syncmap slow from its lowest rate
/// (p99 `slow_ns`, labelled syncmap-misses) with a late knee, against
/// rwlock (p99 50 µs) with an early one. No objective recorded: files from
/// before objectives look like this.
fn slow_base_file(path: &Path, slow_ns: u64) {
    use mapknee_load::{Knee, Machine, Results, Run, SCHEMA};
    let run = |map: &str, steps, knee: f64, label: &str| Run {
        map: map.into(),
        mix: "mixed".parse().unwrap(),
        threads: 2,
        keys: 1024,
        prefill: 0.5,
        dist: "uniform".into(),
        ops_per_txn: 1,
        arrivals: "even".into(),
        capacity_ops_per_sec: Some(1e6),
        steps,
        points: vec![],
        knee: Some(Knee {
            ops_per_sec: knee,
            rule: "p99x3".into(),
            bottleneck: label.into(),
            ..Default::default()
        }),
        usl: None,
        repetitions: vec![],
        placement: None,
        slo: None,
        preempted: None,
    };
    let rates = [100e3, 200e3, 400e3, 800e3, 1.6e6];
    // syncmap: flat at `slow_ns` (its own base is slow, so it knees late:
    // only where it saturates, at 1.6M).
    let sync: Vec<_> = rates
        .iter()
        .map(|&r| {
            let achieved = if r > 1e6 { 0.7 * r } else { r };
            fixture_step(r, achieved, slow_ns, "syncmap-misses")
        })
        .collect();
    // rwlock: 50 µs until a lock convoy forms at 400k (its knee, 4x its
    // base), still inside 1 ms at 800k, saturated at 1.6M.
    let p99s = [50_000, 50_000, 200_000, 400_000, 30_000_000];
    let rw: Vec<_> = rates
        .iter()
        .zip(p99s)
        .map(|(&r, p)| {
            let achieved = if p > 1_000_000 { 0.6 * r } else { r };
            fixture_step(r, achieved, p, "lock-contention")
        })
        .collect();
    let results = Results {
        schema: SCHEMA.into(),
        kind: "run".into(),
        machine: Machine::detect("rustc", "0", "foldhash", 10.0, 20.0),
        runs: vec![
            run("syncmap", sync, 1.6e6, "saturation"),
            run("rwlock", rw, 400e3, "lock-contention"),
        ],
        elapsed_s: 1.0,
        interrupted: false,
        decay: vec![],
        slo: None,
    };
    std::fs::write(path, serde_json::to_string(&results).unwrap()).unwrap();
}

#[test]
fn advise_never_picks_a_map_whose_base_misses_the_objective() {
    let dir = scratch("slo-advise");
    let path = dir.join("results.json");
    // 2.5 ms is 50x rwlock's 50 µs.
    slow_base_file(&path, 2_500_000);
    let file = path.to_str().unwrap();
    let text = ok(&mapknee(&["advise", file]));
    assert!(
        text.starts_with("latency objective p99 ≤ 1 ms (default; --slo to change)"),
        "{text}"
    );
    // By knee alone syncmap held to 800k and rwlock to 200k; by the
    // objective rwlock meets 1 ms at 800k (400 µs there, a convoy
    // forming) and syncmap never does. rwlock's last step, 1.6M, fell
    // behind above its 1M closed-loop capacity: a confirmed break, so
    // the capacity is where its p99 crosses 1 ms between 800k (400 µs)
    // and 1.6M (30 ms), log-log: 800k * 2^(ln 2.5 / ln 75) = 927k.
    assert!(
        text.contains("mixed: pick rwlock (p99 ≤ 1 ms up to 927k/s)"),
        "{text}"
    );
    assert!(
        text.contains("never meets p99 ≤ 1 ms on this machine: base 2.50ms, cause syncmap-misses"),
        "{text}"
    );
    let v: Value =
        serde_json::from_str(&ok(&mapknee(&["advise", file, "--format", "json"]))).unwrap();
    let a = &v[0];
    assert_eq!(a["pick"], "rwlock");
    assert_eq!(a["never_meet"], serde_json::json!(["syncmap"]));
    assert_eq!(a["objective"]["max_ns"], 1_000_000);
    let sync = &a["ranking"][1];
    assert_eq!(
        (&sync["map"], &sync["slo"]["ops_per_sec"]),
        (&Value::from("syncmap"), &Value::Null)
    );
    assert!(sync["held_to_ops_per_sec"].as_f64() > a["ranking"][0]["held_to_ops_per_sec"].as_f64());

    let text = ok(&mapknee(&["advise", file, "--slo", "p99<=5ms"]));
    assert!(
        text.starts_with("latency objective p99 ≤ 5 ms (--slo)"),
        "{text}"
    );
    // A looser objective lets syncmap in, up to 800k: its 1.6M step fell
    // behind with its p99 still within 5 ms, no crossing to read, so the
    // met step's rate. rwlock's 5 ms crossing towards its 1.6M step (30
    // ms): 800k * 2^(ln 12.5 / ln 75) = 1.20M.
    assert!(
        text.contains("mixed: pick rwlock (p99 ≤ 5 ms up to 1.20M/s)"),
        "{text}"
    );
    assert!(text.contains("syncmap            to     800k/s"), "{text}");

    // The report shows the same, and draws the objective on the p99 chart.
    let text = ok(&mapknee(&["report", file]));
    assert!(text.contains("latency objective p99 ≤ 1 ms"), "{text}");
    assert!(
        text.contains("never meets p99 ≤ 1 ms (cause syncmap-misses)"),
        "{text}"
    );
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains(r#"<g class="hline slo">"#), "objective line");
    assert!(html.contains("objective p99 ≤ 1 ms"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn advise_says_when_no_map_meets_the_objective() {
    let dir = scratch("slo-none");
    let path = dir.join("results.json");
    slow_base_file(&path, 2_500_000);
    let file = path.to_str().unwrap();
    // rwlock's 50 µs base misses 20 µs too: nobody meets it, and that is a
    // verdict (exit 0), not an error.
    let out = mapknee(&["advise", file, "--slo", "p99<=20us"]);
    let text = ok(&out);
    assert!(
        text.contains("mixed: no map meets p99 ≤ 20 µs on this machine"),
        "{text}"
    );
    assert!(
        text.contains("every map's base p99 already exceeds it — rwlock (base 50.0µs, cause lock-contention), syncmap (base 2.50ms, cause syncmap-misses)"),
        "{text}"
    );
    assert!(!text.contains("pick"), "{text}");
    let v: Value = serde_json::from_str(&ok(&mapknee(&[
        "advise",
        file,
        "--slo",
        "p99<=20us",
        "--format",
        "json",
    ])))
    .unwrap();
    assert_eq!(v[0]["pick"], Value::Null);
    assert_eq!(v[0]["never_meet"], serde_json::json!(["rwlock", "syncmap"]));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn compare_judges_slo_capacity_too() {
    let dir = scratch("slo-compare");
    let (a, b) = (dir.join("a.json"), dir.join("b.json"));
    // Same knees, same ladder; the new side's syncmap fell from 2.5 ms to
    // 500 µs at its base: it meets the objective now, up to 800k.
    slow_base_file(&a, 2_500_000);
    slow_base_file(&b, 500_000);
    let out = mapknee(&["compare", a.to_str().unwrap(), b.to_str().unwrap()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("syncmap · mixed: improved"), "{text}");
    assert!(text.contains("SLO capacity  never → 800k/s"), "{text}");
    assert!(text.contains("latency objective p99 ≤ 1 ms"), "{text}");
    // The other way round it regresses (exit 1); under a 5 ms objective
    // both sides meet it alike.
    let out = mapknee(&["compare", b.to_str().unwrap(), a.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let out = mapknee(&[
        "compare",
        b.to_str().unwrap(),
        a.to_str().unwrap(),
        "--slo",
        "p99<=5ms",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A single-run result file: one rwlock/mixed run whose knee is at `knee`
/// txn/s and whose top step saturates at 1.2 × `knee`.
fn single_run_file(path: &Path, knee: f64) {
    placed_run_file(path, knee, None);
}

/// [`single_run_file`] held to `placement`.
fn placed_run_file(path: &Path, knee: f64, placement: Option<mapknee_load::Placement>) {
    use mapknee_load::{Knee, Machine, Percentiles, Results, Run, Step, SCHEMA};
    let step = |rate: f64, achieved: f64, p99: u64| Step {
        target_ops_per_sec: Some(rate),
        achieved_ops_per_sec: achieved,
        ops: achieved as u64,
        latency_ns: Percentiles {
            p99,
            ..Default::default()
        },
        duration_s: 1.0,
        ..Default::default()
    };
    let run = Run {
        map: "rwlock".into(),
        mix: "mixed".parse().unwrap(),
        threads: 2,
        keys: 1024,
        prefill: 0.5,
        dist: "uniform".into(),
        ops_per_txn: 1,
        arrivals: "even".into(),
        capacity_ops_per_sec: Some(1.2 * knee),
        steps: vec![
            step(50e3, 50e3, 2_000),
            step(knee, knee, 9_000),
            step(2.0 * knee, 1.2 * knee, 400_000),
        ],
        points: vec![],
        knee: Some(Knee {
            ops_per_sec: knee,
            rule: "p99x3".into(),
            bottleneck: "lock-contention".into(),
            ..Default::default()
        }),
        usl: None,
        repetitions: vec![],
        placement,
        slo: None,
        preempted: None,
    };
    let results = Results {
        schema: SCHEMA.into(),
        kind: "run".into(),
        machine: Machine::detect("rustc", "0", "foldhash", 10.0, 20.0),
        runs: vec![run],
        elapsed_s: 1.0,
        interrupted: false,
        decay: vec![],
        slo: None,
    };
    std::fs::write(path, serde_json::to_string(&results).unwrap()).unwrap();
}

#[test]
fn compare_pools_several_files_per_side() {
    let dir = scratch("pool");
    let files = |side: &str, knees: &[f64]| -> Vec<String> {
        knees
            .iter()
            .enumerate()
            .map(|(i, &k)| {
                let path = dir.join(format!("{side}{i}.json"));
                single_run_file(&path, k);
                path.to_str().unwrap().to_string()
            })
            .collect()
    };
    let base = files("base", &[200e3, 204e3, 196e3, 202e3, 198e3]);
    let new = files("new", &[140e3, 142e3, 138e3, 144e3, 136e3]);
    let args = |b: &[String], n: &[String]| -> Vec<String> {
        let mut a = vec!["compare".to_string(), "--base".into()];
        a.extend_from_slice(b);
        a.push("--new".into());
        a.extend_from_slice(n);
        a
    };
    let run = |a: Vec<String>| mapknee(&a.iter().map(String::as_str).collect::<Vec<_>>());

    // Five single runs a side pool into five repetitions: a significant
    // regression, its interval and coverage stated.
    let out = run(args(&base, &new));
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("rwlock · mixed (5 vs 5 files): regressed"),
        "{text}"
    );
    assert!(
        text.contains("5 vs 5 rep.") && text.contains("cov. "),
        "{text}"
    );
    assert!(
        text.contains("note: pooled 5 base and 5 new files"),
        "{text}"
    );
    assert!(
        text.contains("verdict: regressed (threshold 15 %"),
        "{text}"
    );
    assert!(!text.contains("threshold only"), "{text}");

    // Two a side: the same drop, by the threshold alone, and labelled so.
    let out = run(args(&base[..2], &new[..2]));
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(
        text.contains("regressed (threshold only: fewer than 5 repetitions per side)"),
        "{text}"
    );

    // The JSON says the same, with the pooled counts.
    let mut a = args(&base, &new);
    a.extend(["--format".into(), "json".into()]);
    let out = run(a);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["files"], serde_json::json!([5, 5]));
    let knee = &v["runs"][0]["figures"][0];
    assert_eq!(
        (&knee["figure"], &knee["basis"]),
        (&Value::from("knee"), &Value::from("interval"))
    );
    assert!(
        knee["interval_coverage"].as_f64().unwrap() >= 0.975,
        "{knee}"
    );

    // Both forms at once, or one side missing, is a usage error.
    let err = usage_error(&mapknee(&[
        "compare", &base[0], &new[0], "--base", &base[1],
    ]));
    assert!(err.contains("--base FILE"), "{err}");
    usage_error(&mapknee(&["compare", "--base", &base[0]]));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn scale_fits_usl_and_says_when_not_to_trust_it() {
    let out = mapknee(&[
        "scale",
        "--maps",
        "mutex",
        "--threads",
        "1,2,3",
        "--duration",
        "50ms",
        "--keys",
        "1024",
        "--format",
        "json",
    ]);
    let v: Value = serde_json::from_str(&ok(&out)).unwrap();
    let usl = &v["runs"][0]["usl"];
    assert_eq!(usl["points"], 3);
    assert_eq!(usl["trusted"], false, "3 thread counts are too few");
    assert!(usl["lambda"].as_f64().unwrap() > 0.0);
    let table = ok(&mapknee(&[
        "scale",
        "--maps",
        "mutex",
        "--threads",
        "1,2,3",
        "--duration",
        "50ms",
        "--keys",
        "1024",
    ]));
    assert!(table.contains("not trusted"), "{table}");
}

#[test]
fn bad_results_files_are_one_line_errors() {
    let dir = scratch("bad");
    let missing = dir.join("missing.json");
    let err = usage_error(&mapknee(&["advise", missing.to_str().unwrap()]));
    assert!(err.contains("cannot read"), "{err}");
    let malformed = dir.join("malformed.json");
    std::fs::write(&malformed, "{\n  \"schema\": \"mapknee/v1\",\n  oops\n}").unwrap();
    let err = usage_error(&mapknee(&["report", malformed.to_str().unwrap()]));
    assert!(err.contains("malformed.json:3:"), "line:col in {err}");
    let other = dir.join("other.json");
    std::fs::write(&other, r#"{"schema": "other/v9"}"#).unwrap();
    let err = usage_error(&mapknee(&[
        "compare",
        other.to_str().unwrap(),
        other.to_str().unwrap(),
    ]));
    assert!(err.contains("other/v9"), "{err}");
    let err = usage_error(&mapknee(&[
        "compare",
        "a.json",
        "b.json",
        "--threshold",
        "-5",
    ]));
    assert!(
        err.contains("threshold") || err.contains("cannot read"),
        "{err}"
    );
    usage_error(&mapknee(&["run", "--repeat", "0"]));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn compare_withholds_its_verdict_when_the_machine_changed() {
    use mapknee_load::Placement;
    let dir = scratch("placement-compare");
    let held = |reference_ns: f64, steps_outside: u32| {
        Some(Placement {
            reference_ns,
            band_ns: [0.7 * reference_ns, 1.4 * reference_ns],
            steps_outside,
            ..Default::default()
        })
    };
    let path = |name: &str| dir.join(name).to_str().unwrap().to_string();
    // The same 30 % knee drop each time; only the placements differ.
    placed_run_file(&dir.join("near.json"), 200e3, held(36.0, 0));
    placed_run_file(&dir.join("near-slower.json"), 140e3, held(38.0, 0));
    placed_run_file(&dir.join("far-slower.json"), 140e3, held(205.0, 0));
    // One measurement outside of the 3 steps' 3 + 1: 25 % outside.
    placed_run_file(&dir.join("moved-slower.json"), 140e3, held(36.0, 1));
    let compare = |new: &str, extra: &[&str]| {
        let (base, new) = (path("near.json"), path(new));
        let mut args = vec!["compare", base.as_str(), new.as_str()];
        args.extend_from_slice(extra);
        let out = mapknee(&args);
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        (out.status.code(), text)
    };

    // Same placement, held throughout: judged, a regression.
    let (code, text) = compare("near-slower.json", &[]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("rwlock · mixed: regressed"), "{text}");
    assert!(!text.contains("placement "), "{text}");

    // 36 vs 205 ns: not judged, exit 3, and the reason stated.
    let (code, text) = compare("far-slower.json", &[]);
    assert_eq!(code, Some(3), "{text}");
    assert!(text.contains("rwlock · mixed: not comparable"), "{text}");
    assert!(
        text.contains("placement     base 36 ns (0 % outside) · new 205 ns (0 % outside)"),
        "{text}"
    );
    assert!(text.contains("note: 1 of 1 runs not judged"), "{text}");
    // Nothing in the withheld run is called a change, step lines included.
    assert!(!text.contains("regressed"), "{text}");
    assert!(
        text.contains("verdict: not comparable (threshold"),
        "{text}"
    );

    // Same placement, but a quarter of one side's measurements outside it.
    let (code, text) = compare("moved-slower.json", &[]);
    assert_eq!(code, Some(3), "{text}");
    assert!(text.contains("(25 % outside)"), "{text}");

    // Asked to, it judges anyway and says so.
    let (code, text) = compare("far-slower.json", &["--across-placements"]);
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("rwlock · mixed: regressed"), "{text}");
    assert!(
        text.contains("judged anyway (--across-placements)"),
        "{text}"
    );

    // Same placement, held throughout, but the noise floor (the no-op
    // map's p99, interleaved with the steps) 4x the base's: the host's
    // noise changed, not judged; at 1.2x it is judged.
    let floored = |name: &str, knee: f64, floor_ns: u64| {
        let path = dir.join(name);
        placed_run_file(&path, knee, held(36.0, 0));
        let mut v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        for s in v["runs"][0]["steps"].as_array_mut().unwrap() {
            s["floor_p99_ns"] = floor_ns.into();
        }
        std::fs::write(&path, v.to_string()).unwrap();
        path.to_str().unwrap().to_string()
    };
    let quiet = floored("quiet.json", 200e3, 5_000);
    for (new, floor_ns, code, said) in [
        ("noisy-slower.json", 20_000, 3, "not comparable"),
        ("steady-slower.json", 6_000, 1, "regressed"),
    ] {
        let new = floored(new, 140e3, floor_ns);
        let out = mapknee(&["compare", quiet.as_str(), new.as_str()]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(code), "{text}");
        assert!(text.contains(&format!("rwlock · mixed: {said}")), "{text}");
        assert_eq!(
            text.contains("noise floor p99 base 5.0µs · new 20.0µs (more than 1.5× apart)"),
            floor_ns == 20_000,
            "{text}"
        );
    }
    // Withheld for its floors alone, it is judged when asked to be.
    let noisy = dir.join("noisy-slower.json");
    let out = mapknee(&[
        "compare",
        quiet.as_str(),
        noisy.to_str().unwrap(),
        "--across-placements",
    ]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("rwlock · mixed: regressed"), "{text}");

    // Runs that kept no placement record (a synthetic map's, see
    // `synthetic_runs_are_not_held_to_a_placement`) are judged.
    let synthetic = |name: &str, knee: f64| {
        let path = dir.join(name);
        placed_run_file(&path, knee, None);
        let mut v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        v["runs"][0]["map"] = "synthetic:2us".into();
        std::fs::write(&path, v.to_string()).unwrap();
        path.to_str().unwrap().to_string()
    };
    let (s_near, s_far) = (
        synthetic("s-2us.json", 200e3),
        synthetic("s-3us.json", 140e3),
    );
    let out = mapknee(&["compare", s_near.as_str(), s_far.as_str()]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("synthetic:2us · mixed: regressed"), "{text}");

    // The JSON carries the check.
    let (_, json) = compare("far-slower.json", &["--format", "json"]);
    let v: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["verdict"], "not-comparable");
    assert_eq!(v["runs"][0]["placement"]["comparable"], false);
    assert_eq!(
        v["runs"][0]["placement"]["reference_ns"],
        serde_json::json!([36.0, 205.0])
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The synthetic map hands its lock over inside its fixed hold, so the
/// host's core placement cannot move it: a run of it alone neither surveys
/// the placement nor waits for one, and keeps no placement record (which
/// is what lets `compare` judge two such runs made on different placements).
/// On a machine with one core nothing is held to a placement anyway.
#[test]
fn synthetic_runs_are_not_held_to_a_placement() {
    let dir = scratch("synthetic-unplaced");
    let out = mapknee(&[
        "run",
        "--maps",
        "synthetic:20us",
        "--mix",
        "read-mostly",
        "--rates",
        "5000,10000",
        "--step",
        "50ms",
        "--repeat",
        "1",
        "--keys",
        "1024",
        "--format",
        "json",
        "--out",
        dir.to_str().unwrap(),
    ]);
    let v: Value = serde_json::from_str(&ok(&out)).expect("stdout is JSON");
    assert!(v["runs"][0]["placement"].is_null(), "{}", v["runs"][0]);
    assert!(v["machine"]["placement"].is_null(), "{}", v["machine"]);
    let _ = std::fs::remove_dir_all(&dir);
}
