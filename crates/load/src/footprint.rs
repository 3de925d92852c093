//! What a step or a growth holds in memory, estimated before it starts.
//!
//! The CLI checks these estimates against the memory the machine has left
//! before any work starts, so a size it cannot hold gets one line and exit
//! status 2 instead of an abort on a failed allocation; [`can_allocate`]
//! checks again at run time, just before a map is built, for what the CLI
//! could not know (no `/proc/meminfo`, or memory taken meanwhile).
//!
//! The per-key figures are measured peaks, rounded up to the worst case of
//! each map's table sizing: peak resident memory of one step with
//! `--keys 4194304 --prefill 1 --dist uniform --mix read-mostly --threads 1`,
//! less the `noop` map's, per key; and of `growth --child --inserts 4000000`
//! per insert (release build, glibc malloc, the 2-vCPU development VM).

use std::time::Duration;

use hdrhistogram::Histogram;
use mapknee_maps::MapKind;

use crate::growth::GrowthMap;
use crate::hist::{SIG_DIGITS, WINDOW_SIG_DIGITS};
use crate::runner::{RING, START_DELAY_NS, WINDOW};

/// Bytes per key of a map built for `keys` keys (the runner presizes every
/// map to the keyspace) and filled.
///
/// ```
/// use mapknee_maps::MapKind;
/// assert_eq!(mapknee_load::footprint::map_bytes_per_key(&MapKind::RwLock), 40);
/// assert_eq!(mapknee_load::footprint::map_bytes_per_key(&MapKind::Noop), 0);
/// ```
pub fn map_bytes_per_key(kind: &MapKind) -> u64 {
    // By name, so the peers' arms need no cargo feature here.
    let name = kind.name();
    match name.split(':').next().unwrap_or_default() {
        // std's hashbrown: a 16 B slot and a control byte per bucket, at
        // most 7/8 full, power-of-two bucket counts: 19–39 B per key
        // (measured 34). dashmap shards the same tables (measured 33).
        "rwlock" | "mutex" | "synthetic" | "dashmap" => 40,
        // The same, with 1/8 slack per shard (measured 34).
        "sharded" | "sharded-unpadded" => 45,
        // Go's buckets: 144 B for 8 slots, at most 6.5 used: 22–44 B
        // (measured 36).
        "gomap-rwlock" => 45,
        // Measured 35.
        "scc" => 45,
        // A boxed entry per key beside the table (measured 50).
        "papaya" => 80,
        // A boxed entry per key, referenced from the read snapshot and the
        // dirty map; a dirty rebuild copies every key (measured 105).
        "syncmap" => 150,
        "noop" => 0,
        // A map added later: the most any map above takes.
        _ => 150,
    }
}

/// Bytes per insert of growing `map` from empty: the key (the keys are
/// generated up front, 8 B each) and the map's peak, when the old and the
/// new table live side by side during a resize.
///
/// ```
/// let std: mapknee_load::growth::GrowthMap = "std".parse().unwrap();
/// assert_eq!(mapknee_load::footprint::growth_bytes_per_insert(&std), 70);
/// ```
pub fn growth_bytes_per_insert(map: &GrowthMap) -> u64 {
    match map {
        // hashbrown right after doubling: 17 B × (2^k + 2^(k+1)) buckets
        // for 7/8 · 2^k keys = 58 B, plus the key (measured 61).
        GrowthMap::Std => 70,
        // Old and new bucket arrays while evacuating, and old arrays
        // waiting for the reclaimer thread (measured 68).
        GrowthMap::GoMap => 80,
        GrowthMap::Concurrent(kind) => match map_bytes_per_key(kind) {
            // Measured 46–61 (sharded, dashmap, rwlock).
            0..=40 => 70,
            // Measured 66 (scc), 61 (papaya).
            41..=80 => 80,
            // Measured 118 (syncmap).
            _ => 150,
        },
    }
}

/// The largest latency a step's histograms must hold (see the runner):
/// every intended start lies in the step's span, so no latency exceeds the
/// span plus one transaction; 10 s covers a transaction that blocks far
/// longer than any map should.
pub(crate) fn step_max_ns(warmup: Duration, duration: Duration) -> u64 {
    let span = START_DELAY_NS
        .saturating_add(nanos(warmup))
        .saturating_add(nanos(duration));
    span.saturating_mul(2).saturating_add(10_000_000_000)
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// Bytes of one pre-sized histogram of `1..=max_ns` with `sig` significant
/// digits and `counter` bytes per count (its counts array; the rest is a
/// few words).
fn histogram_bytes(max_ns: u64, sig: u8, counter: u64) -> u64 {
    // A histogram of u8 counts has the same number of counts and costs the
    // least to build; `vec![0; n]` is calloc'd, so this touches no pages.
    Histogram::<u8>::new_with_bounds(1, max_ns.max(2), sig).map_or(u64::MAX, |h| {
        (h.distinct_values() as u64).saturating_mul(counter)
    })
}

/// A worker thread's stack pages actually touched (the 2 MiB a thread
/// reserves are virtual; the runner's workers touch a few pages).
const STACK_TOUCHED: u64 = 64 * 1024;

/// Bytes each worker thread of a step holds: its latency and service
/// histograms, its ring of timeline slots, and the stack it touches.
///
/// ```
/// use std::time::Duration;
/// let b = mapknee_load::footprint::worker_bytes(Duration::from_millis(100), Duration::from_secs(1));
/// assert!((100_000..2_000_000).contains(&b), "{b}");
/// ```
pub fn worker_bytes(warmup: Duration, duration: Duration) -> u64 {
    let max_ns = step_max_ns(warmup, duration);
    let step = histogram_bytes(max_ns, SIG_DIGITS, 8);
    let window = histogram_bytes(max_ns, WINDOW_SIG_DIGITS, 4);
    step.saturating_mul(2)
        .saturating_add(window.saturating_mul(RING as u64))
        .saturating_add(STACK_TOUCHED)
}

/// Bytes a step's coordinator holds whatever the threads: one merged
/// histogram per 10 ms window of the measured time (allocated as the
/// window arrives), and the merged latency and service histograms.
///
/// ```
/// use std::time::Duration;
/// let one = mapknee_load::footprint::timeline_bytes(Duration::ZERO, Duration::from_secs(1));
/// let ten = mapknee_load::footprint::timeline_bytes(Duration::ZERO, Duration::from_secs(10));
/// assert!(ten > 8 * one, "{one} {ten}");
/// ```
pub fn timeline_bytes(warmup: Duration, duration: Duration) -> u64 {
    let max_ns = step_max_ns(warmup, duration);
    let windows = nanos(duration).div_ceil(nanos(WINDOW)).max(1);
    windows
        .saturating_mul(histogram_bytes(max_ns, WINDOW_SIG_DIGITS, 4))
        .saturating_add(histogram_bytes(max_ns, SIG_DIGITS, 8).saturating_mul(2))
}

/// Bytes one step of `kind` holds at its peak: the map presized to `keys`
/// and filled, `threads` workers, and the timeline.
pub fn step_bytes(
    kind: &MapKind,
    keys: u64,
    threads: usize,
    warmup: Duration,
    duration: Duration,
) -> u64 {
    keys.saturating_mul(map_bytes_per_key(kind))
        .saturating_add((threads as u64).saturating_mul(worker_bytes(warmup, duration)))
        .saturating_add(timeline_bytes(warmup, duration))
}

/// Whether `bytes` can be allocated now: reserves them (touching no page)
/// and gives them back. Under Linux's default overcommit heuristic an
/// allocation larger than RAM + swap is refused, so this turns what would
/// abort the process later into an error now. It cannot promise that
/// memory taken by others meanwhile leaves room (the CLI's check is
/// against the memory available, with headroom).
///
/// ```
/// assert!(mapknee_load::footprint::can_allocate(1 << 20).is_ok());
/// assert!(mapknee_load::footprint::can_allocate(u64::MAX).is_err());
/// ```
pub fn can_allocate(bytes: u64) -> Result<(), String> {
    let n = usize::try_from(bytes)
        .map_err(|_| format!("{} is more than this machine can address", fmt_bytes(bytes)))?;
    let mut probe: Vec<u8> = Vec::new();
    probe
        .try_reserve_exact(n)
        .map_err(|e| format!("cannot reserve {}: {e}", fmt_bytes(bytes)))
}

/// `bytes` in binary units with three significant figures: `512 B`,
/// `1.50 KiB`, `3.73 TiB`.
///
/// ```
/// use mapknee_load::footprint::fmt_bytes;
/// assert_eq!(fmt_bytes(512), "512 B");
/// assert_eq!(fmt_bytes(1536), "1.50 KiB");
/// assert_eq!(fmt_bytes(40 << 30), "40.0 GiB");
/// ```
pub fn fmt_bytes(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut v = bytes as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    let digits = if v < 10.0 {
        2
    } else if v < 100.0 {
        1
    } else {
        0
    };
    format!("{v:.digits$} {}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_registry_map_has_a_figure_and_only_noop_is_free() {
        for (name, _) in MapKind::catalogue() {
            let spelled = name.replace("[:N]", "").replace("<dur>", "2us");
            let kind: MapKind = spelled.parse().unwrap();
            let b = map_bytes_per_key(&kind);
            assert_eq!(b == 0, kind == MapKind::Noop, "{name}: {b}");
            let g = growth_bytes_per_insert(&GrowthMap::Concurrent(kind));
            assert!(g >= 8 + b.min(58), "{name}: {g}");
        }
    }

    #[test]
    fn longer_steps_hold_more_and_sizes_saturate() {
        let w = |s| worker_bytes(Duration::ZERO, Duration::from_secs(s));
        assert!(w(100) >= w(1));
        let huge = Duration::from_secs(u64::MAX);
        assert!(timeline_bytes(huge, huge) > 1 << 40);
        assert_eq!(
            step_bytes(&MapKind::SyncMap, u64::MAX, usize::MAX, huge, huge),
            u64::MAX
        );
    }
}
