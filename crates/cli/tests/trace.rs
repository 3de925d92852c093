//! `mapknee trace` and `mapknee profile` against the real tools: bpftrace
//! attached to a short staircase must count exactly what the built-in
//! counters count, step by step; perf must yield a flame graph. Both need
//! root (and the tools): without them each test prints why it skipped.

use std::process::Command;

use serde_json::Value;

fn mapknee() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mapknee"))
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(2) == Some("0"))
        })
        .unwrap_or(false)
}

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Why the test cannot run here, if it cannot.
fn skip(tool: &str) -> Option<String> {
    if !is_root() {
        return Some("not root".into());
    }
    if !have(tool) {
        return Some(format!("{tool} not installed"));
    }
    None
}

#[test]
fn trace_probe_counts_equal_the_counters_in_every_step() {
    if let Some(why) = skip("bpftrace") {
        eprintln!("SKIPPED trace_probe_counts_equal_the_counters_in_every_step: {why}");
        return;
    }
    let out = mapknee()
        .args([
            "trace",
            "--maps",
            "syncmap,rwlock,sharded",
            "--mix",
            "write-heavy",
            "--rates",
            "20k,80k",
            "--step",
            "300ms",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "trace failed: {stderr}");
    let results: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut traced = 0;
    let mut misses = 0;
    for run in results["runs"].as_array().unwrap() {
        for step in run["steps"].as_array().unwrap() {
            if step["target_ops_per_sec"].is_null() {
                continue;
            }
            let e = &step["ebpf"];
            assert!(e.is_object(), "{} step without ebpf: {step}", run["map"]);
            traced += 1;
            assert_eq!(
                e["counters_equal"], true,
                "{}: {}",
                run["map"], e["unequal"]
            );
            for (name, count) in e["probes"].as_object().unwrap() {
                assert_eq!(
                    &step["counters"][name], count,
                    "{}: probe count {name}",
                    run["map"]
                );
            }
            for name in ["lock_contended", "lock_wait_ns", "misses", "promotions"] {
                if let Some(c) = step["counters"][name].as_u64() {
                    assert_eq!(e["probes"][name].as_u64().unwrap_or(0), c, "{name}");
                }
            }
            if run["map"] == "syncmap" {
                misses += e["probes"]["misses"].as_u64().unwrap_or(0);
            }
        }
    }
    assert_eq!(traced, 6, "three maps × two rates");
    // The order-cache workload keeps storing new keys: sync.Map misses.
    assert!(misses > 0, "no syncmap_miss probe fired");
}

/// GoMap's growth probes against its own counters: bpftrace attached to one
/// growth from empty (`growth --child`, the process `growth` starts per
/// map) counts `gomap_grow_start` and `gomap_grow_end` hits and sums
/// `gomap_evacuate`'s argument; the growth's JSON says how many growths
/// and evacuated buckets the map counted. (A staircase never grows a map:
/// the engine presizes it, so `trace` cannot check these probes.)
#[test]
fn growth_probes_equal_gomaps_growth_counters() {
    if let Some(why) = skip("bpftrace") {
        eprintln!("SKIPPED growth_probes_equal_gomaps_growth_counters: {why}");
        return;
    }
    let bin = env!("CARGO_BIN_EXE_mapknee");
    for map in ["gomap", "gomap-rwlock"] {
        let script = format!(
            "usdt:{bin}:mapknee:gomap_grow_start {{ @starts = count(); @doubling_from[arg0] = count(); }} \
             usdt:{bin}:mapknee:gomap_evacuate {{ @evacuated = sum(arg0); }} \
             usdt:{bin}:mapknee:gomap_grow_end {{ @ends = count(); }}"
        );
        let out = Command::new("bpftrace")
            .args(["-e", &script, "-c"])
            .arg(format!(
                "{bin} growth --child --maps {map} --inserts 100000"
            ))
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "bpftrace failed: {}\n{text}",
            String::from_utf8_lossy(&out.stderr)
        );
        let run: Value = text
            .lines()
            .find_map(|l| serde_json::from_str(l.trim()).ok().filter(Value::is_object))
            .unwrap_or_else(|| panic!("no growth JSON in:\n{text}"));
        let probe = |name: &str| -> u64 {
            text.lines()
                .find_map(|l| l.strip_prefix(&format!("@{name}: "))?.trim().parse().ok())
                .unwrap_or(0)
        };
        let doublings_from: Vec<u64> = text
            .lines()
            .filter_map(|l| {
                l.strip_prefix("@doubling_from[")?
                    .split_once(']')?
                    .0
                    .parse()
                    .ok()
            })
            .collect();
        let (starts, ends, evacuated) = (probe("starts"), probe("ends"), probe("evacuated"));
        println!(
            "{map}: probes grow_start {starts}, grow_end {ends}, evacuated {evacuated}; counters growths {}, buckets_evacuated {}",
            run["growths"], run["buckets_evacuated"]
        );
        assert!(starts > 0, "no growth probe fired:\n{text}");
        assert_eq!(Some(starts), run["growths"].as_u64(), "{run}");
        assert_eq!(Some(evacuated), run["buckets_evacuated"].as_u64(), "{run}");
        // A growth still in progress at the end has started, not ended.
        assert!(
            ends == starts || ends + 1 == starts,
            "{starts} starts, {ends} ends"
        );
        // From empty, every growth doubles: old B runs 0, 1, 2, … once each.
        let mut from = doublings_from.clone();
        from.sort_unstable();
        assert_eq!(from, (0..starts).collect::<Vec<_>>(), "{text}");
    }
}

#[test]
fn profile_writes_a_flame_graph_into_the_report() {
    if let Some(why) = skip("perf") {
        eprintln!("SKIPPED profile_writes_a_flame_graph_into_the_report: {why}");
        return;
    }
    let dir = std::env::temp_dir().join(format!("mapknee-profile-test-{}", std::process::id()));
    let out = mapknee()
        .args([
            "profile", "--maps", "rwlock", "--mix", "mixed", "--at", "50k", "--step", "300ms",
            "--out",
        ])
        .arg(&dir)
        .output()
        .unwrap();
    let svg = std::fs::read_to_string(dir.join("flamegraph.svg"));
    let report = std::fs::read_to_string(dir.join("report.html"));
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        out.status.success(),
        "profile failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let svg = svg.unwrap();
    assert!(svg.contains("<svg"), "not an SVG");
    // The workers' frames are in it: the map's lock and the runner.
    assert!(
        svg.contains("mapknee"),
        "no mapknee frame in the flame graph"
    );
    assert!(report.unwrap().contains("data:image/svg+xml;base64,"));
}

#[test]
fn trace_without_bpftrace_is_one_line_and_exit_2_and_fallback_runs() {
    let empty = std::env::temp_dir().join(format!("mapknee-empty-path-{}", std::process::id()));
    std::fs::create_dir_all(&empty).unwrap();
    let args = [
        "trace", "--maps", "rwlock", "--mix", "mixed", "--rates", "10k", "--step", "100ms",
        "--format", "csv",
    ];
    let out = mapknee().args(args).env("PATH", &empty).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 1, "{err}");
    assert!(
        lines[0].contains("bpftrace") && lines[0].contains("--fallback"),
        "{err}"
    );
    let out = mapknee()
        .args(args)
        .arg("--fallback")
        .env("PATH", &empty)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir(&empty);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("without eBPF"));
    assert!(String::from_utf8_lossy(&out.stdout).contains("rwlock"));
}
