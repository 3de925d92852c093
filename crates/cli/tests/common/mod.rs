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
