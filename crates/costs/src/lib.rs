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
