//! Helpers shared by the binary's end-to-end tests.
#![allow(dead_code)] // each test binary uses its own subset

use std::process::{Command, Output};
use std::sync::{Mutex, MutexGuard};

use serde_json::Value;

/// One `mapknee` at a time: the tests measure, and two runs sharing the
/// cores would measure each other (the calibration above all).
static SERIAL: Mutex<()> = Mutex::new(());

/// Holds the other tests of this binary off while a test runs `mapknee`
/// its own way.
pub(crate) fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs the built binary with `args`.
pub(crate) fn mapknee(args: &[&str]) -> Output {
    let _one_at_a_time = serial();
    Command::new(env!("CARGO_BIN_EXE_mapknee"))
        .args(args)
        .output()
        .expect("the binary runs")
}

/// Stdout parsed as JSON, after checking the run succeeded.
pub(crate) fn json(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "status {:?}, stderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("stdout is JSON")
}

/// The run's one error line: it failed with status 1, without a panic,
/// and said `mapknee: error:` exactly once, mentioning `says`.
pub(crate) fn one_error_line(out: &Output, says: &str) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("mapknee: error:"))
        .collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(errors[0].contains(says), "{stderr}");
    errors[0].to_string()
}
