//! What a map costs beyond time (study parts 2.3, 3.2 and 4.2): bytes per
//! entry and allocations per operation ([`memory`], counted by the
//! [`alloc`] counting allocator the binary installs), the cost of the
//! atomics, fences, locks and epoch pins the maps are built from, alone,
//! contended, false-shared and padded ([`atomics`]), and SyncMap's load
//! broken into its parts ([`breakdown`]).
//!
//! The library never prints; results come back as `mapknee/v1` data with
//! `kind: "memory"` or `kind: "atomics"`.
//!
//! # Consistency
//!
//! The allocator's counters are relaxed atomics and thread-local cells:
//! exact for the calling thread, and exact for the process once the
//! threads that allocate are quiet (a snapshot taken while others allocate
//! may be mid-update).
#![warn(missing_docs)]

pub mod alloc;
pub mod atomics;
pub mod bench;
pub mod breakdown;
pub mod go;
pub mod hw;
pub mod memory;

#[cfg(test)]
mod testutil {
    use std::sync::Mutex;

    use serde_json::Value;

    /// Held by every test of this crate that allocates or measures:
    /// `memory` reads the process-wide live bytes (another test allocating
    /// meanwhile would count), and a
    /// thread pinned for seconds (the breakdown) holds crossbeam's epoch
    /// back for every other, so SyncMap's deferred frees would not come.
    pub(crate) static SERIAL: Mutex<()> = Mutex::new(());

    /// Takes [`SERIAL`], whatever a failed test left behind.
    pub(crate) fn serial() -> std::sync::MutexGuard<'static, ()> {
        SERIAL.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// JSON trees equal up to float round-off (serde_json's parser may
    /// return the last digit of a float one ulp off).
    pub(crate) fn same_json(a: &Value, b: &Value) -> bool {
        match (a, b) {
            (Value::Number(x), Value::Number(y)) => match (x.as_f64(), y.as_f64()) {
                (Some(x), Some(y)) => x == y || (x - y).abs() <= 1e-12 * x.abs().max(y.abs()),
                _ => x == y,
            },
            (Value::Array(x), Value::Array(y)) => {
                x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same_json(x, y))
            }
            (Value::Object(x), Value::Object(y)) => {
                x.len() == y.len()
                    && x.iter()
                        .all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w)))
            }
            _ => a == b,
        }
    }
}
