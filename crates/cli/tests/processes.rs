//! `run --processes`: the measuring processes, end to end.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{json, mapknee};
use mapknee_load::{Step, StepOrder, StepSpec, Workload};
use mapknee_maps::{HasherKind, MapKind};

/// A child process killed when the test ends, also on failure.
struct Killed(Option<Child>);

impl Killed {
    fn child(&mut self) -> &mut Child {
        self.0.as_mut().expect("still held")
    }

    /// Waits for the child to end on its own and takes its output.
    fn output(mut self) -> std::process::Output {
        let child = self.0.take().expect("still held");
        child.wait_with_output().expect("its output")
    }
}

impl Drop for Killed {
    fn drop(&mut self) {
        if let Some(child) = self.0.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn order(rate: f64) -> StepOrder {
    StepOrder {
        map: MapKind::RwLock,
        hasher: HasherKind::Foldhash,
        workload: Workload::new(
            1024,
            0.5,
            "uniform".parse().unwrap(),
            "mixed".parse().unwrap(),
            1,
        )
        .unwrap(),
        spec: StepSpec::open(1, rate, Duration::from_millis(2), Duration::from_millis(20)),
        placement_ns: Some(42.0),
    }
}

#[test]
fn a_measuring_process_answers_each_order_and_ends_with_its_input() {
    let _serial = common::serial();
    let mut child = Killed(Some(
        Command::new(env!("CARGO_BIN_EXE_mapknee"))
            .arg("measure-child")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("the binary starts"),
    ));
    let pid = child.child().id();
    let mut stdin = child.child().stdin.take().unwrap();
    let mut answers = BufReader::new(child.child().stdout.take().unwrap()).lines();
    // Owns the pipes: dropping it closes the child's input.
    // Calibrated and ready before it is sent anything.
    assert_eq!(answers.next().expect("a first line").unwrap(), "ready");
    let mut ask = move |lines: &[String]| -> Step {
        for line in lines {
            writeln!(stdin, "{line}").unwrap();
        }
        stdin.flush().unwrap();
        let answer = answers.next().expect("an answer").unwrap();
        serde_json::from_str(&answer).expect("a step")
    };
    let line = serde_json::to_string(&order(20_000.0)).unwrap();

    let step = ask(std::slice::from_ref(&line));
    assert_eq!(
        step.pid,
        Some(pid),
        "the step names the process that measured it"
    );
    assert_eq!(step.target_ops_per_sec, Some(20_000.0));
    assert_eq!(
        step.coherence_ns,
        Some(42.0),
        "the placement travels with the order"
    );
    assert!(step.ops > 0 && !step.interrupted && step.failed.is_none());
    assert!(step.counters["lock_acquisitions"] > 0);

    // `stop` raises the child's stop flag: the next step ends at once.
    let step = ask(&["stop".to_string(), line]);
    assert!(step.interrupted, "a stopped process's step is interrupted");
    drop(ask);

    // Its input closed, the process ends, and cleanly.
    let status = child.child().wait().unwrap();
    assert!(status.success(), "{status:?}");
}

#[test]
fn a_bad_order_is_one_error_line_and_status_2() {
    let _serial = common::serial();
    // Its input closes at once, so the process ends whatever it makes of
    // the line: nothing to kill.
    let mut child = Command::new(env!("CARGO_BIN_EXE_mapknee"))
        .arg("measure-child")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{{\"map\": \"no-such-map\"}}").unwrap();
    drop(stdin);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("mapknee: error: measure-child: not a step order"),
        "{err}"
    );
}

/// The run's own pid and its JSON output.
fn run_with_pid(args: &[&str]) -> (u32, serde_json::Value) {
    let child = Command::new(env!("CARGO_BIN_EXE_mapknee"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let pid = child.id();
    let out = child.wait_with_output().unwrap();
    (pid, json(&out))
}

/// A small `run`: two maps, one thread, `rates`, steps of `step`,
/// `repeat` repetitions, JSON on stdout; `more` flags after them.
fn run_args<'a>(rates: &'a str, step: &'a str, repeat: &'a str, more: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "run",
        "--maps",
        "rwlock,mutex",
        "--mix",
        "mixed",
        "--threads",
        "1",
        "--rates",
        rates,
        "--step",
        step,
        "--keys",
        "1024",
        "--repeat",
        repeat,
        "--format",
        "json",
    ];
    args.extend_from_slice(more);
    args
}

#[test]
fn run_measures_in_one_process_per_repetition_by_default() {
    let _serial = common::serial();
    let args = run_args("2k,4k,8k", "20ms", "2", &[]);
    let (parent, v) = run_with_pid(&args);
    let mut pids = Vec::new();
    for run in v["runs"].as_array().unwrap() {
        let steps = run["steps"].as_array().unwrap();
        assert_eq!(steps.len(), 3);
        for s in steps {
            assert_eq!(s["repeats"], 2);
            let pid = s["pid"].as_u64().expect("a measuring process's pid") as u32;
            assert_ne!(pid, parent, "measured in a child, not in the run itself");
            if !pids.contains(&pid) {
                pids.push(pid);
            }
        }
    }
    assert!(pids.len() <= 2, "two repetitions, two processes: {pids:?}");
}

#[test]
fn processes_0_measures_in_the_run_itself() {
    let args = run_args("2k,4k,8k", "20ms", "2", &["--processes", "0"]);
    let v = json(&mapknee(&args));
    for run in v["runs"].as_array().unwrap() {
        for s in run["steps"].as_array().unwrap() {
            assert!(s.get("pid").is_none(), "{s}");
        }
    }
}

#[test]
fn more_processes_than_repetitions_is_refused_in_one_line() {
    let args = run_args("2k,4k,8k", "20ms", "2", &["--processes", "3"]);
    let out = mapknee(&args);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("--processes 3"), "{err}");
}

#[test]
fn a_measuring_process_that_dies_ends_the_run_with_one_line_and_the_results() {
    let _serial = common::serial();
    let args = run_args("2k,4k,8k,16k", "300ms", "2", &[]);
    let mut run = Killed(Some(
        Command::new(env!("CARGO_BIN_EXE_mapknee"))
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary starts"),
    ));
    let parent = run.child().id().to_string();
    // Both measuring processes, once started (pgrep lists a parent's children).
    let mut kids = Vec::new();
    for _ in 0..500 {
        let out = Command::new("pgrep")
            .args(["-P", &parent])
            .output()
            .expect("pgrep runs");
        kids = String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .map(str::to_string)
            .collect();
        if kids.len() == 2 {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(kids.len(), 2, "two measuring processes: {kids:?}");
    // Well before the run ends (8 steps of 300 ms a pass): both die.
    let killed = Command::new("kill")
        .arg("-9")
        .args(&kids)
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let out = run.output();
    let line = common::one_error_line(&out, "measuring process");
    assert!(line.contains("SIGKILL"), "{line}");
    // Written as Ctrl-C writes it: the results contract, interrupted.
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_eq!(v["schema"], "mapknee/v1");
    assert_eq!(v["interrupted"], true);
}
