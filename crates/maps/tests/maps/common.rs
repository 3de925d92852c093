//! The one helper that runs a test against every map.

use std::panic::{catch_unwind, AssertUnwindSafe};

use mapknee_maps::{HasherKind, MapKind, MapVisitor};

/// Every map the map-generic tests cover, by CLI name. A new map joins every
/// model and stress test by adding one line here.
pub(crate) const TEST_MAPS: &[&str] = &[
    "syncmap",
    "rwlock",
    "mutex",
    "sharded",
    // One shard: every key in the same shard, the degenerate case.
    "sharded:1",
    "sharded-unpadded",
    #[cfg(feature = "peers")]
    "dashmap",
    #[cfg(feature = "peers")]
    "papaya",
    #[cfg(feature = "peers")]
    "scc",
    // A 1 ns hold: the calibration map's semantics without slowing tests.
    "synthetic:1ns",
];

/// Runs `test` once per map in [`TEST_MAPS`]. Every map runs even when one
/// fails; the test then fails with one line per failed map, naming it.
pub(crate) fn for_each_map(test: impl Fn(MapKind)) {
    let mut failures = Vec::new();
    for name in TEST_MAPS {
        let kind: MapKind = name
            .parse()
            .unwrap_or_else(|e| panic!("test map list: {e}"));
        if let Err(payload) = catch_unwind(AssertUnwindSafe(|| test(kind))) {
            let msg = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied())
                .unwrap_or("(non-string panic)");
            failures.push(format!("map `{name}`: {msg}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} maps failed:\n{}",
        failures.len(),
        TEST_MAPS.len(),
        failures.join("\n")
    );
}

/// Builds `kind` for `u64` keys and values with the default hasher and
/// hands it to `visitor`.
pub(crate) fn build<Vis: MapVisitor<u64, u64>>(
    kind: MapKind,
    capacity: usize,
    visitor: Vis,
) -> Vis::Output {
    kind.build(HasherKind::Foldhash, capacity, visitor)
}

/// Threads for the stress tests: one per core, but at least 4 so threads
/// interleave even on a small machine.
pub(crate) fn stress_threads() -> usize {
    std::thread::available_parallelism()
        .map_or(4, usize::from)
        .max(4)
}
