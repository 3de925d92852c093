//! What can still fail at run time ends with one error line, exit status 1
//! and what was measured — never an abort, a panic or a hang.
//!
//! A thread the OS refuses: `RUST_MIN_STACK` set to 128 TiB, the whole
//! user address space of a 4-level-paging x86-64 or arm64 machine, makes
//! every thread std spawns in the child fail, as a process or memory limit
//! would.

mod common;

use std::process::{Command, Output};

/// More stack than a 47-bit user address space holds: no thread can be
/// created with it.
const NO_THREADS: &str = "140737488355328";

fn without_threads(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mapknee"))
        .args(args)
        .env("RUST_MIN_STACK", NO_THREADS)
        .output()
        .expect("the binary runs")
}

/// A `run` of `rwlock` on one thread and 64 keys at `rates`, steps of
/// 10 ms, one repetition; `more` flags after them.
fn small_run<'a>(rates: &'a str, more: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "run",
        "--maps",
        "rwlock",
        "--mix",
        "mixed",
        "--rates",
        rates,
        "--step",
        "10ms",
        "--keys",
        "64",
        "--threads",
        "1",
        "--repeat",
        "1",
    ];
    args.extend_from_slice(more);
    args
}

/// The contract, or `false` when this machine gave the threads anyway
/// (a larger address space): then there is nothing to check here.
fn refused_in_one_line(out: &Output, says: &str) -> bool {
    if out.status.success() {
        eprintln!("threads of 128 TiB stack were granted here; nothing to check");
        return false;
    }
    common::one_error_line(out, says);
    true
}

#[test]
fn a_refused_worker_thread_stops_the_run_and_keeps_the_results() {
    // Measured in this process: with a measuring process the run's own
    // thread that reads it is refused first (next test).
    let out = without_threads(&small_run(
        "1000,2000",
        &["--processes", "0", "--format", "json"],
    ));
    if refused_in_one_line(&out, "cannot start worker thread 1 of 1") {
        // Written as Ctrl-C writes it: the results contract, interrupted.
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
        assert_eq!(v["schema"], "mapknee/v1");
        assert_eq!(v["interrupted"], true);
    }
}

#[test]
fn a_refused_reading_thread_ends_run_before_it_measures() {
    let out = without_threads(&small_run("1000", &[]));
    if refused_in_one_line(&out, "cannot start a thread to read measuring process 0") {
        // Nothing was measured: nothing is printed but the line.
        assert!(
            out.stdout.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

#[test]
fn a_refused_inserting_thread_ends_growth_with_its_own_line() {
    let out = without_threads(&[
        "growth",
        "--maps",
        "rwlock",
        "--inserts",
        "100",
        "--threads",
        "2",
        "--repeat",
        "1",
    ]);
    refused_in_one_line(
        &out,
        "growth of rwlock: cannot start inserting thread 1 of 2",
    );
}

#[test]
fn a_refused_scale_point_keeps_the_table() {
    let out = without_threads(&[
        "scale",
        "--maps",
        "rwlock",
        "--threads",
        "1",
        "--duration",
        "10ms",
        "--keys",
        "64",
    ]);
    if refused_in_one_line(&out, "cannot start worker thread") {
        let table = String::from_utf8_lossy(&out.stdout);
        assert!(table.contains("interrupted: partial results"), "{table}");
    }
}
