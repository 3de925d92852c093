//! End-to-end tests of `mapknee growth`: the `kind: "growth"` contract,
//! rounds in rotated order, `--out`, and bad input.

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
    assert!(
        stdout.contains("round 1 (std → sharded → gomap-rwlock)")
            && stdout.contains("round 2 (sharded → gomap-rwlock → std)")
            && stdout.contains("summary: each map's median round"),
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
    assert_eq!(v["rounds"].as_array().map(Vec::len), Some(2));
}

/// Round r starts with the r-th map and every growth of every round is in
/// the results; each map's summary is one of its rounds, whole.
#[test]
fn rounds_rotate_and_every_round_is_reported() {
    let maps = ["gomap", "std", "rwlock"];
    let v = json(&mapknee(&[
        "growth",
        "--maps",
        "gomap,std,rwlock",
        "--inserts",
        "3000",
        "--repeat",
        "4",
        "--format",
        "json",
    ]));
    assert_eq!(u(&v, "repeat"), 4);
    let rounds = v["rounds"].as_array().expect("rounds");
    assert_eq!(rounds.len(), 4);
    for (i, round) in rounds.iter().enumerate() {
        assert_eq!(u(round, "round"), i as u64 + 1);
        let runs = round["runs"].as_array().expect("runs of a round");
        let want: Vec<&str> = (0..3).map(|j| maps[(i + j) % 3]).collect();
        let got: Vec<&str> = runs.iter().map(|r| r["map"].as_str().unwrap()).collect();
        assert_eq!(got, want, "round {}", i + 1);
        for r in runs {
            check_run(r, r["map"].as_str().unwrap(), 3000, 1);
            assert_eq!(u(r, "round"), i as u64 + 1, "{r}");
        }
    }
    let summary = v["runs"].as_array().expect("runs");
    assert_eq!(summary.len(), 3);
    for (s, map) in summary.iter().zip(maps) {
        assert_eq!(s["map"], map);
        let round = &rounds[u(s, "round") as usize - 1];
        let same = round["runs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["map"] == map)
            .unwrap();
        assert_eq!(s, same, "the summary is a whole round's run");
    }
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    for (args, needle) in [
        (&["growth", "--maps", "btree"][..], "unknown map 'btree'"),
        (&["growth", "--inserts", "0"][..], "--inserts"),
        (&["growth", "--threads", "0"][..], "--threads"),
        (&["growth", "--inserts", "many"][..], "many"),
        // The internal child flag, typed: the limits hold for it too.
        (
            &[
                "growth",
                "--maps",
                "rwlock",
                "--child",
                "--inserts",
                "99999999999999",
            ][..],
            "at most",
        ),
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
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("[default: 1000000]"), "{help}");
    assert!(help.contains("[default: 3]"), "--repeat: {help}");
    assert!(
        !help.contains("--child"),
        "the child flag is internal: {help}"
    );
}

/// Ctrl-C as a terminal sends it — SIGINT to the whole process group, the
/// growth child included — after the first round: exit status 130, one
/// line that says so, and the whole rounds measured written, not lost.
#[test]
fn ctrl_c_keeps_the_whole_rounds_measured() {
    use std::io::{BufRead, BufReader};
    use std::os::unix::process::CommandExt;
    use std::process::{Child, Command, Stdio};

    /// Kills the whole group and reaps it when dropped, on failure too.
    struct Group(Child);
    impl Drop for Group {
        fn drop(&mut self) {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", self.0.id())])
                .stderr(Stdio::null())
                .status();
            let _ = self.0.wait();
        }
    }

    let dir = std::env::temp_dir().join(format!("mapknee-growth-ctrlc-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut group = Group(
        Command::new(env!("CARGO_BIN_EXE_mapknee"))
            .args(["growth", "--maps", "gomap,std", "--inserts", "100000"])
            .args(["--repeat", "200", "--format", "json", "--out"])
            .arg(&dir)
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("mapknee starts"),
    );
    let mut stderr = BufReader::new(group.0.stderr.take().expect("stderr"));
    let mut said = String::new();
    // Round 1 is whole once both maps have reported it.
    let mut growths = 0;
    while growths < 2 {
        let mut line = String::new();
        assert!(
            stderr.read_line(&mut line).expect("stderr reads") > 0,
            "ended before a round was whole: {said}"
        );
        growths += usize::from(line.starts_with("growth: "));
        said.push_str(&line);
    }
    let pgid = group.0.id().to_string();
    let sent = Command::new("kill")
        .args(["-INT", "--", &format!("-{pgid}")])
        .status()
        .expect("kill runs");
    assert!(sent.success());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).expect("stderr reads");
    let status = group.0.wait().expect("mapknee ends");
    assert_eq!(status.code(), Some(130), "stderr: {said}{rest}");
    assert!(rest.contains("growth interrupted"), "stderr: {rest}");
    let written: Value = serde_json::from_slice(
        &std::fs::read(dir.join("growth.json")).expect("growth.json written"),
    )
    .expect("growth.json is JSON");
    let rounds = written["rounds"].as_array().expect("rounds");
    assert!(
        !rounds.is_empty() && rounds.len() < 200,
        "{} rounds",
        rounds.len()
    );
    for round in rounds {
        assert_eq!(round["runs"].as_array().map(Vec::len), Some(2), "{round}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
