//! `mapknee memory` and `mapknee atomics` end to end: the results contract
//! (`kind: "memory"` / `"atomics"`), the files `--out` writes, and bad
//! input answered with one line and exit status 2.

mod common;

use common::{json, mapknee};

fn usage_error(args: &[&str], says: &str) {
    let out = mapknee(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(stderr.contains(says), "{args:?}: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn memory_counts_allocations_per_map_and_size() {
    let out = mapknee(&[
        "memory",
        "--maps",
        "syncmap,rwlock",
        "--sizes",
        "1k,4k",
        "--ops",
        "512",
        "--no-go",
        "--format",
        "json",
    ]);
    let v = json(&out);
    assert_eq!(v["schema"], "mapknee/v1");
    assert_eq!(v["kind"], "memory");
    let rows = v["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 4, "2 maps x 2 sizes");
    let row = |map: &str, n: u64| {
        rows.iter()
            .find(|r| r["map"] == map && r["entries"] == n)
            .unwrap_or_else(|| panic!("{map} {n}"))
    };
    let op = |r: &serde_json::Value, name: &str| {
        r["ops"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["op"] == name)
            .unwrap()
            .clone()
    };
    // A std map behind a lock allocates nothing to read or overwrite.
    let rw = row("rwlock", 4096);
    assert_eq!(op(rw, "get")["allocs_per_op"], 0.0);
    assert_eq!(op(rw, "overwrite")["allocs_per_op"], 0.0);
    assert!(
        rw["bytes_per_entry"].as_f64().unwrap() > 16.0,
        "at least a key and a value"
    );
    // SyncMap boxes every new value: a store to a present key allocates.
    let sm = row("syncmap", 4096);
    assert!(op(sm, "overwrite")["allocs_per_op"].as_f64().unwrap() >= 1.0);
    assert!(
        op(sm, "insert_new")["allocs_per_op"].as_f64().unwrap() >= 2.0,
        "entry and value"
    );
    assert_eq!(v["go"].as_array().unwrap().len(), 0);
    assert!(v["go_note"].as_str().unwrap().contains("--no-go"));
}

#[test]
fn memory_says_when_go_cannot_be_run() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mapknee"))
        .args([
            "memory", "--maps", "mutex", "--sizes", "64", "--format", "json",
        ])
        .env("MAPKNEE_GO", "/nonexistent/go")
        .output()
        .unwrap();
    let v = json(&out);
    assert_eq!(v["go"].as_array().unwrap().len(), 0);
    assert!(
        v["go_note"].as_str().unwrap().contains("failed"),
        "{}",
        v["go_note"]
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("no Go figures"));
}

#[test]
fn memory_writes_json_csv_and_a_report_with_its_chart() {
    let dir = std::env::temp_dir().join(format!("mapknee-memory-{}", std::process::id()));
    let out = mapknee(&[
        "memory",
        "--maps",
        "sharded",
        "--sizes",
        "256,1k",
        "--ops",
        "64",
        "--no-go",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("sharded") && table.contains("B/entry"),
        "{table}"
    );
    let csv = std::fs::read_to_string(dir.join("memory.csv")).unwrap();
    assert_eq!(
        csv.lines().count(),
        1 + 2 * 4,
        "header, then 2 sizes x 4 ops:\n{csv}"
    );
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains("<svg") && html.contains("Bytes per entry"));
    let back: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("memory.json")).unwrap()).unwrap();
    assert_eq!(back["kind"], "memory");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn memory_rejects_bad_input_in_one_line() {
    usage_error(&["memory", "--sizes", "0"], "--sizes");
    usage_error(&["memory", "--sizes", "1G"], "--sizes");
    usage_error(&["memory", "--maps", "btree"], "unknown map");
    usage_error(&["memory", "--maps", "rwlock,rwlock"], "twice");
    usage_error(&["memory", "--ops", "0"], "--ops");
    usage_error(&["memory", "--hasher", "md5"], "--hasher");
}

#[test]
fn atomics_reports_the_benchmarks_asked_for() {
    let dir = std::env::temp_dir().join(format!("mapknee-atomics-{}", std::process::id()));
    let out = mapknee(&[
        "atomics",
        "--only",
        "fetch_add Relaxed",
        "--samples",
        "6",
        "--rounds",
        "2",
        "--sample-time",
        "100us",
        "--no-breakdown",
        "--format",
        "json",
        "--out",
        dir.to_str().unwrap(),
    ]);
    let v = json(&out);
    assert_eq!(v["schema"], "mapknee/v1");
    assert_eq!(v["kind"], "atomics");
    let rows = v["rows"].as_array().unwrap();
    assert!(rows
        .iter()
        .all(|r| r["primitive"] == "fetch_add" && r["ordering"] == "Relaxed"));
    assert!(rows.iter().any(|r| r["layout"] == "alone"));
    assert!(rows.iter().all(|r| r["estimate"]["samples"] == 6));
    assert_eq!(v["breakdowns"].as_array().unwrap().len(), 0);
    assert!(v["hw_counters"]["detail"].is_string());
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains("mapknee atomics"));
    let csv = std::fs::read_to_string(dir.join("atomics.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + rows.len());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn atomics_breaks_syncmap_load_into_its_parts() {
    let out = mapknee(&[
        "atomics",
        "--only",
        "empty loop",
        "--samples",
        "6",
        "--sample-time",
        "100us",
        "--keys",
        "1024",
        "--format",
        "json",
    ]);
    let v = json(&out);
    let b = &v["breakdowns"][0];
    let parts: Vec<&str> = b["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["part"].as_str().unwrap())
        .collect();
    assert_eq!(
        parts,
        [
            "pin+unpin",
            "snapshot load",
            "hash",
            "probe",
            "counter",
            "entry load",
            "clone"
        ]
    );
    assert_eq!(b["keys"], 1024);
    assert!(b["whole"]["median_ns"].as_f64().unwrap() > 0.0);
}

#[test]
fn atomics_rejects_bad_input_in_one_line() {
    usage_error(&["atomics", "--samples", "2"], "--samples");
    usage_error(&["atomics", "--only", "teleport"], "--only");
    usage_error(&["atomics", "--sample-time", "fast"], "--sample-time");
    usage_error(&["atomics", "--rounds", "0"], "--rounds");
    usage_error(&["atomics", "--keys", "0"], "--keys");
}

#[test]
fn hw_counters_are_used_where_they_exist_and_refused_where_not() {
    let probe = std::process::Command::new("perf")
        .args(["stat", "-x", ",", "-e", "cache-misses", "true"])
        .output();
    let available = probe.is_ok_and(|o| {
        String::from_utf8_lossy(&o.stderr).lines().any(|l| {
            l.contains("cache-misses")
                && l.split(',')
                    .next()
                    .is_some_and(|c| c.parse::<u64>().is_ok())
        })
    });
    let args = [
        "atomics",
        "--hw-counters",
        "--only",
        "fetch_add Relaxed",
        "--samples",
        "5",
        "--sample-time",
        "100us",
        "--no-breakdown",
        "--format",
        "json",
    ];
    if available {
        let v = json(&mapknee(&args));
        assert!(v["hw_counters"]["available"].as_bool().unwrap());
        assert!(v["hw_counters"]["detail"]
            .as_str()
            .unwrap()
            .contains("false-shared"));
    } else {
        usage_error(&args, "no hardware cache counters");
    }
}
