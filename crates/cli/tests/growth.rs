//! End-to-end tests of `mapknee growth`: the `kind: "growth"` contract,
//! `--out`, and bad input.

use serde_json::Value;

mod common;

use common::{json, mapknee};

fn u(v: &Value, field: &str) -> u64 {
    v[field]
        .as_u64()
        .unwrap_or_else(|| panic!("{field} is a number in {v}"))
}

fn check_run(r: &Value, map: &str, inserts: u64, threads: u64) {
    assert_eq!(r["map"], map);
    assert_eq!(u(r, "inserts"), inserts);
    assert_eq!(u(r, "threads"), threads);
    let (max, p9999, p99) = (
        u(r, "max_insert_ns"),
        u(r, "p9999_insert_ns"),
        u(r, "p99_insert_ns"),
    );
    assert!(max >= p9999 && p9999 >= p99 && p99 > 0, "{r}");
    assert!(u(r, "total_ns") >= max, "{r}");
    assert!(r.get("growths").is_some(), "{r}");
}

#[test]
fn gomap_and_std_emit_the_growth_contract() {
    let v = json(&mapknee(&[
        "growth",
        "--maps",
        "gomap,std",
        "--inserts",
        "20000",
        "--format",
        "json",
    ]));
    assert_eq!(v["schema"], "mapknee/v1");
    assert_eq!(v["kind"], "growth");
    for field in [
        "cpus",
        "cpu_model",
        "os",
        "rustc",
        "mapknee_version",
        "hasher",
        "clock_overhead_ns",
    ] {
        assert!(v["machine"].get(field).is_some(), "machine.{field}");
    }
    assert_eq!(v["machine"]["hasher"], "foldhash");
    let runs = v["runs"].as_array().expect("runs");
    assert_eq!(runs.len(), 2);
    check_run(&runs[0], "gomap", 20_000, 1);
    check_run(&runs[1], "std", 20_000, 1);
    assert!(u(&runs[0], "growths") > 0, "gomap counts its growths");
    assert!(runs[1]["growths"].is_null(), "std does not count them");
}

#[test]
fn concurrent_maps_threads_and_out() {
    let dir = std::env::temp_dir().join(format!("mapknee-growth-{}", std::process::id()));
    let out = mapknee(&[
        "growth",
        "--maps",
        "std,sharded,gomap-rwlock",
        "--inserts",
        "5000",
        "--threads",
        "2",
        "--repeat",
        "2",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("worst/std") && stdout.contains("sharded"),
        "{stdout}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("note: std single-threaded"), "{stderr}");
    assert!(stderr.contains("round 2/2"), "progress per map: {stderr}");
    let file = std::fs::read(dir.join("growth.json")).expect("growth.json written");
    let v: Value = serde_json::from_slice(&file).expect("growth.json is JSON");
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(v["kind"], "growth");
    let runs = v["runs"].as_array().unwrap();
    check_run(&runs[0], "std", 5000, 1);
    check_run(&runs[1], "sharded", 5000, 2);
    check_run(&runs[2], "gomap-rwlock", 5000, 2);
    assert!(u(&runs[2], "growths") > 0);
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    for (args, needle) in [
        (&["growth", "--maps", "btree"][..], "unknown map 'btree'"),
        (&["growth", "--inserts", "0"][..], "--inserts"),
        (&["growth", "--threads", "0"][..], "--threads"),
        (&["growth", "--inserts", "many"][..], "many"),
    ] {
        let out = mapknee(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn help_states_the_default() {
    let out = mapknee(&["growth", "--help"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("[default: 1000000]"));
}
