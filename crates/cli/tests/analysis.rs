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
        "2000,4000,8000",
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
        assert_eq!(steps.len(), 3, "{}: one step per rate", run["map"]);
        for s in steps {
            assert_eq!(s["repeats"], 3);
            let ci = s["p99_ci_ns"].as_array().expect("interval");
            let p99 = s["latency_ns"]["p99"].as_f64().unwrap();
            let (lo, hi) = (ci[0].as_f64().unwrap(), ci[1].as_f64().unwrap());
            assert!(lo <= p99 && p99 <= hi, "{lo} <= {p99} <= {hi}");
        }
    }
    // Decay model across the two mixes, per map.
    let decay = v["decay"].as_array().expect("decay fits");
    assert_eq!(decay.len(), 2);
    assert!(
        decay
            .iter()
            .all(|d| d["writes_fitted"] == true && d["n"] == 6),
        "{decay:?}"
    );
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

    // advise: one pick per mix, named from the maps measured.
    let advice: Value = serde_json::from_str(&ok(&mapknee(&[
        "advise",
        dir.join("results.json").to_str().unwrap(),
        "--format",
        "json",
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
    let mut worse = v.clone();
    for run in worse["runs"].as_array_mut().unwrap() {
        for step in run["steps"].as_array_mut().unwrap() {
            let p99 = step["latency_ns"]["p99"].as_u64().unwrap();
            step["latency_ns"]["p99"] = Value::from(p99 * 2 + 1);
            step["p99_ci_ns"] = Value::Null;
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
    assert!(String::from_utf8_lossy(&out.stdout).contains("verdict: regressed"));
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
