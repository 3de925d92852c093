//! `mapknee memory`: bytes per entry and allocations per operation, per map
//! and size, counted by the [`alloc`] counting allocator.
//!
//! For each map and size: the map is built empty (no capacity hint, so it
//! grows as Go's `make(map)` and `sync.Map` do), filled with keys
//! `0..n` → `u64`, and every key is read once (which promotes a SyncMap's
//! dirty map to its read snapshot, as the Go reference does). Bytes per
//! entry = live bytes the allocator counted for the map ÷ n, and the
//! resident-memory (RSS) delta ÷ n beside it. Then four phases of `ops`
//! operations each on the measuring thread, in this order:
//! `get` (present keys), `overwrite` (present keys, new values),
//! `insert_new` (keys `n..n+ops`) and `remove` (those same keys again, so the
//! map ends at n). Every operation's allocations and frees are counted
//! around its own call, so a free that epoch reclamation deferred shows up
//! in whichever later call ran the collection (a burst), and the frees of
//! other threads are told apart from the measuring thread's.

use std::collections::BTreeMap;
use std::time::Instant;

use mapknee_load::Machine;
use mapknee_maps::{ConcurrentMap, HasherKind, MapKind, MapVisitor};
use serde::{Deserialize, Serialize};

use crate::alloc::{self, Snapshot};

/// The operations measured, in the order they run.
pub const OPS: [&str; 4] = ["get", "overwrite", "insert_new", "remove"];

/// Operations per phase when not told: enough for the amortized cost of a
/// table growth to show at the sizes measured, few enough to keep `memory`
/// quick.
pub const DEFAULT_OPS: u64 = 16_384;

/// A whole `memory` result file (`kind: "memory"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemoryResults {
    /// Always [`mapknee_load::SCHEMA`].
    pub schema: String,
    /// Always `"memory"`.
    pub kind: String,
    /// The machine the numbers came from.
    pub machine: Machine,
    /// Operations per phase.
    pub ops: u64,
    /// What counting costs (see [`alloc::overhead`]).
    pub allocator: AllocatorCost,
    /// One per map × size.
    pub rows: Vec<MemoryRow>,
    /// Go's own maps measured by `benchsuite/go/memory.go` (empty when Go
    /// is not installed; `go_note` says why).
    #[serde(default)]
    pub go: Vec<GoFigures>,
    /// Why `go` is empty, or which Go measured it.
    #[serde(default)]
    pub go_note: String,
    /// Wall time of the whole command, in seconds.
    #[serde(default)]
    pub elapsed_s: f64,
}

/// The counting allocator's own cost, ns per allocation + free pair over
/// calling the system allocator directly.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AllocatorCost {
    /// Counting off: what every other command pays.
    pub off_ns: f64,
    /// Counting on: what the measured operations here pay.
    pub on_ns: f64,
}

/// One map at one size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemoryRow {
    /// The map's CLI name.
    pub map: String,
    /// Entries stored.
    pub entries: u64,
    /// Live bytes counted by the allocator for the filled map, per entry.
    pub bytes_per_entry: f64,
    /// Resident-memory growth while filling, per entry (`null` where
    /// `/proc/self/status` is unreadable). Coarser: the allocator keeps
    /// freed pages, and pages are 4 KiB.
    pub rss_bytes_per_entry: Option<f64>,
    /// Allocations made while filling, per entry (table growths included).
    pub fill_allocs_per_entry: f64,
    /// Per operation, in [`OPS`] order.
    pub ops: Vec<OpCost>,
}

/// What one kind of operation cost, per operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpCost {
    /// One of [`OPS`].
    pub op: String,
    /// Operations measured.
    pub count: u64,
    /// Allocations per operation (the measuring thread's).
    pub allocs_per_op: f64,
    /// Bytes allocated per operation.
    pub alloc_bytes_per_op: f64,
    /// Frees per operation, on the measuring thread, inside the calls.
    pub frees_per_op: f64,
    /// The most frees inside a single call: well above 1 means frees
    /// arrive in bursts, when epoch reclamation collects garbage that
    /// earlier calls retired (or a table growth frees the old table).
    pub max_frees_in_one_op: u64,
    /// Calls that freed anything, as a share of `count`.
    pub calls_freeing: f64,
    /// Frees by other threads while the phase ran, per operation.
    pub frees_elsewhere_per_op: f64,
    /// Frees after the phase, per operation: retired garbage collected
    /// when the measuring thread, then another thread, pinned and flushed
    /// the global epoch until nothing more was freed (crossbeam-epoch
    /// only; a map on its own collector, as papaya's, keeps its garbage
    /// until it collects or is dropped). Net of the blocks the flushing
    /// itself allocates (crossbeam's queue nodes). The epoch is drained
    /// the same way before each phase, so maps without epoch garbage read
    /// 0.
    pub deferred_frees_per_op: f64,
    /// Live bytes the phase left behind, per operation, before that flush
    /// (new entries, a grown table, or garbage not yet reclaimed).
    pub retained_bytes_per_op: f64,
}

/// Go's figures for one map at one size (one JSON line of
/// `benchsuite/go/memory.go`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GoFigures {
    /// `go map` or `go sync.Map`.
    pub map: String,
    /// Entries stored.
    pub entries: u64,
    /// `runtime.MemStats.HeapAlloc` growth per entry, after two GCs.
    pub bytes_per_entry: f64,
    /// Mallocs per operation, exact (from `runtime.MemStats`).
    pub allocs_per_op: BTreeMap<String, f64>,
    /// `testing.AllocsPerRun`'s figure (Go truncates it to a whole number).
    #[serde(default)]
    pub allocs_per_run: BTreeMap<String, f64>,
    /// `runtime.Version()`.
    #[serde(default)]
    pub go_version: String,
}

/// What to measure.
#[derive(Debug, Clone)]
pub struct MemoryConfig {
    /// Maps, in order.
    pub maps: Vec<MapKind>,
    /// Entries per map.
    pub sizes: Vec<u64>,
    /// Operations per phase (capped at each size, so `get` and `overwrite`
    /// touch each key at most once).
    pub ops: u64,
    /// The hasher every map uses.
    pub hasher: HasherKind,
}

/// Measures one map at one size. Needs the counting allocator installed
/// (see [`alloc::installed`]); turns counting on.
pub fn measure(kind: &MapKind, entries: u64, ops: u64, hasher: HasherKind) -> MemoryRow {
    alloc::enable();
    Flusher::get();
    trim();
    let ops = ops.min(entries).max(1);
    // Counted from before the build, so a map's empty shell (shard arrays,
    // a first snapshot) is part of its bytes.
    let rss0 = rss_bytes();
    let a0 = alloc::snapshot();
    kind.build::<u64, u64, _>(
        hasher,
        0,
        Measure {
            name: kind.name(),
            entries: entries.max(1),
            ops,
            a0,
            rss0,
        },
    )
}

struct Measure {
    name: String,
    entries: u64,
    ops: u64,
    a0: Snapshot,
    rss0: Option<u64>,
}

impl MapVisitor<u64, u64> for Measure {
    type Output = MemoryRow;

    fn visit<M: ConcurrentMap<u64, u64> + 'static>(self, map: M) -> MemoryRow {
        let n = self.entries;
        let (a0, rss0) = (self.a0, self.rss0);
        for k in 0..n {
            map.insert(k, k);
        }
        for k in 0..n {
            std::hint::black_box(map.get(&k));
        }
        let a1 = alloc::snapshot();
        let rss1 = rss_bytes();
        let filled = a1.since(&a0);
        let bytes_per_entry = (a1.live_bytes() - a0.live_bytes()) as f64 / n as f64;
        let rss_bytes_per_entry = match (rss0, rss1) {
            (Some(a), Some(b)) => Some((b as f64 - a as f64) / n as f64),
            _ => None,
        };
        let fill_allocs_per_entry = filled.thread_allocs as f64 / n as f64;

        let ops = self.ops;
        let keys = spread_keys(n, ops);
        let mut costs = Vec::with_capacity(OPS.len());
        costs.push(phase(&map, "get", ops, |m, i| {
            std::hint::black_box(m.get(&keys[i as usize]));
        }));
        costs.push(phase(&map, "overwrite", ops, |m, i| {
            let k = keys[i as usize];
            std::hint::black_box(m.insert(k, k + 1));
        }));
        costs.push(phase(&map, "insert_new", ops, |m, i| {
            std::hint::black_box(m.insert(n + i, i));
        }));
        costs.push(phase(&map, "remove", ops, |m, i| {
            std::hint::black_box(m.remove(&(n + i)));
        }));
        drop(map);
        drain_epoch();
        MemoryRow {
            map: self.name,
            entries: n,
            bytes_per_entry,
            rss_bytes_per_entry,
            fill_allocs_per_entry,
            ops: costs,
        }
    }
}

/// `count` distinct keys spread over `0..n` (a stride coprime with n, so
/// consecutive operations land in unrelated buckets).
fn spread_keys(n: u64, count: u64) -> Vec<u64> {
    // The golden-ratio stride, made odd; stepping by it mod n visits
    // distinct keys while count ≤ n whenever gcd(stride, n) = 1, and n is
    // stepped past its factors of 2 by the odd stride. For other n the
    // keys may repeat, which only makes `get` and `overwrite` touch fewer
    // distinct keys.
    let stride = ((n as f64 * 0.618_033_988_7) as u64) | 1;
    (0..count).map(|i| (i * stride) % n.max(1)).collect()
}

/// Runs `op(map, i)` for `i in 0..count`, counting around every call.
fn phase<M: ConcurrentMap<u64, u64>>(
    map: &M,
    name: &str,
    count: u64,
    mut op: impl FnMut(&M, u64),
) -> OpCost {
    // Garbage earlier phases (or maps) left in the global epoch is
    // collected first, so what comes out after this phase is its own.
    drain_epoch();
    let start = alloc::snapshot();
    let mut max_frees = 0;
    let mut calls_freeing = 0u64;
    let mut before = start;
    for i in 0..count {
        op(map, i);
        let after = alloc::snapshot();
        let frees = after.thread_frees - before.thread_frees;
        max_frees = max_frees.max(frees);
        calls_freeing += u64::from(frees > 0);
        before = after;
    }
    let during = before.since(&start);
    drain_epoch();
    let settled = alloc::snapshot();
    let after_phase = settled.since(&before);
    let c = count as f64;
    OpCost {
        op: name.into(),
        count,
        allocs_per_op: during.thread_allocs as f64 / c,
        alloc_bytes_per_op: during.thread_alloc_bytes as f64 / c,
        frees_per_op: during.thread_frees as f64 / c,
        max_frees_in_one_op: max_frees,
        calls_freeing: calls_freeing as f64 / c,
        frees_elsewhere_per_op: (during.frees - during.thread_frees) as f64 / c,
        deferred_frees_per_op: after_phase.frees.saturating_sub(after_phase.allocs) as f64 / c,
        retained_bytes_per_op: (before.live_bytes() - start.live_bytes()) as f64 / c,
    }
}

/// Pushes crossbeam-epoch's garbage through: this thread's bag is flushed
/// to the global queue and collected, then the helper thread does the same
/// (the epoch advances only when every pinned thread has moved on, so a
/// few rounds are needed).
fn flush_epoch() {
    for _ in 0..4 {
        crossbeam_epoch::pin().flush();
    }
    if let Some(f) = Flusher::get() {
        f.flush();
    }
}

/// Flushes until a round frees no more blocks than it allocates (at most
/// 64 rounds: crossbeam collects a few sealed bags per call). Each flush
/// does some bookkeeping of its own (crossbeam allocates a queue node per
/// sealed bag and frees an older one), so "nothing freed" never comes.
fn drain_epoch() {
    for _ in 0..64 {
        let before = alloc::snapshot();
        flush_epoch();
        let d = alloc::snapshot().since(&before);
        if d.frees <= d.allocs {
            break;
        }
    }
}

/// A thread kept for [`flush_epoch`], started once (before anything is
/// measured, from [`measure`]) so that flushing on "another thread" does
/// not count a thread spawn's own allocations and frees. Woken with
/// `unpark`, which does not allocate. `None` when the OS refused the
/// thread: the flushes then run on the measuring thread alone.
struct Flusher {
    thread: std::thread::Thread,
    requested: std::sync::atomic::AtomicU64,
    done: std::sync::atomic::AtomicU64,
}

impl Flusher {
    fn get() -> Option<&'static Flusher> {
        use std::sync::atomic::Ordering::{Acquire, Release};
        static FLUSHER: std::sync::OnceLock<Option<&'static Flusher>> = std::sync::OnceLock::new();
        *FLUSHER.get_or_init(|| {
            let (tx, rx) = std::sync::mpsc::channel::<&'static Flusher>();
            let handle = std::thread::Builder::new()
                .name("mapknee-flush".into())
                .spawn(move || {
                    let Ok(me) = rx.recv() else { return };
                    loop {
                        while me.done.load(Acquire) < me.requested.load(Acquire) {
                            for _ in 0..4 {
                                crossbeam_epoch::pin().flush();
                            }
                            me.done.fetch_add(1, Release);
                        }
                        std::thread::park();
                    }
                })
                .ok()?;
            // Leaked on purpose: one per process, alive as long as it.
            let f: &'static Flusher = Box::leak(Box::new(Flusher {
                thread: handle.thread().clone(),
                requested: std::sync::atomic::AtomicU64::new(0),
                done: std::sync::atomic::AtomicU64::new(0),
            }));
            let _ = tx.send(f);
            Some(f)
        })
    }

    fn flush(&self) {
        use std::sync::atomic::Ordering::{Acquire, Release};
        let target = self.requested.fetch_add(1, Release) + 1;
        self.thread.unpark();
        while self.done.load(Acquire) < target {
            std::thread::yield_now();
        }
    }
}

/// The process's resident memory, from `/proc/self/status`.
pub fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    parse_vm_rss(&status)
}

/// `VmRSS:   1234 kB` → bytes.
///
/// ```
/// assert_eq!(mapknee_costs::memory::parse_vm_rss("Name: x\nVmRSS:\t  12 kB\n"), Some(12 * 1024));
/// assert_eq!(mapknee_costs::memory::parse_vm_rss("Name: x\n"), None);
/// ```
pub fn parse_vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: u64 = line
        .trim_start_matches("VmRSS:")
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some(kb * 1024)
}

/// Hands freed heap pages back to the OS (glibc's `malloc_trim`), so the
/// next map's RSS delta is not absorbed by pages the previous one freed.
fn trim() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        extern "C" {
            fn malloc_trim(pad: usize) -> i32;
        }
        // SAFETY: glibc's malloc_trim takes a byte count, has no
        // preconditions and is thread-safe; Rust's System allocator is
        // glibc malloc on this target.
        unsafe {
            malloc_trim(0);
        }
    }
}

/// Measures every map at every size, calling `progress(map, size)` before
/// each, and puts the results together (without Go's figures).
pub fn measure_all(
    config: &MemoryConfig,
    machine: Machine,
    mut progress: impl FnMut(&str, u64),
) -> MemoryResults {
    let started = Instant::now();
    let (off_ns, on_ns) = alloc::overhead();
    let mut rows = Vec::new();
    for &size in &config.sizes {
        for kind in &config.maps {
            progress(&kind.name(), size);
            rows.push(measure(kind, size, config.ops, config.hasher));
        }
    }
    MemoryResults {
        schema: mapknee_load::SCHEMA.into(),
        kind: "memory".into(),
        machine,
        ops: config.ops,
        allocator: AllocatorCost { off_ns, on_ns },
        rows,
        go: Vec::new(),
        go_note: String::new(),
        elapsed_s: started.elapsed().as_secs_f64(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The counting allocator, as the binary installs it (this is the lib's
    // test binary, which has no other global allocator).
    #[test]
    fn a_locked_hashmap_of_u64_costs_what_hashbrown_lays_out() {
        let _serial = crate::testutil::serial();
        let row = measure(&MapKind::RwLock, 1024, 256, HasherKind::Foldhash);
        // hashbrown: 1024 keys need 2048 buckets (7/8 load); 16 B per slot
        // and 1 control byte per bucket (+16 trailing): 34 KiB / 1024 ≈ 34
        // B per entry. Growth frees the smaller tables, so the live figure
        // is the last table, plus the lock's striped counters (about 1
        // KiB: ~1 B per entry here).
        let expect = (2048.0 * 17.0 + 16.0) / 1024.0;
        assert!(
            row.bytes_per_entry >= expect && row.bytes_per_entry < expect + 2.0,
            "{} vs {expect}",
            row.bytes_per_entry
        );
        let get = &row.ops[0];
        assert_eq!((get.op.as_str(), get.allocs_per_op), ("get", 0.0));
        let overwrite = &row.ops[1];
        assert_eq!(overwrite.allocs_per_op, 0.0);
        assert_eq!(overwrite.frees_per_op, 0.0);
    }

    #[test]
    fn syncmap_overwrites_allocate_a_value_box_each() {
        let _serial = crate::testutil::serial();
        let row = measure(&MapKind::SyncMap, 1024, 512, HasherKind::Foldhash);
        let overwrite = row.ops.iter().find(|o| o.op == "overwrite").unwrap();
        // Each store of a present key swaps in a freshly boxed value; and
        // every 64 retired values crossbeam-epoch seals its bag into a new
        // queue node (1/64 more).
        assert!(
            overwrite.allocs_per_op >= 1.0 && overwrite.allocs_per_op <= 1.0 + 2.0 / 64.0,
            "{overwrite:?}"
        );
        // ... and the replaced box is retired, not freed in place: frees
        // come in bursts when the epoch collects.
        assert!(overwrite.max_frees_in_one_op > 1, "{overwrite:?}");
        let get = &row.ops[0];
        assert_eq!(get.allocs_per_op, 0.0);
    }

    #[test]
    fn remove_undoes_insert_new_for_a_std_map() {
        let _serial = crate::testutil::serial();
        let row = measure(&MapKind::Mutex, 4096, 1000, HasherKind::Foldhash);
        let insert = &row.ops[2];
        let remove = &row.ops[3];
        assert_eq!(insert.op, "insert_new");
        assert_eq!(remove.op, "remove");
        // 4096 keys fit 8192 buckets up to 7168: 1000 more need no growth.
        assert_eq!(insert.allocs_per_op, 0.0);
        assert_eq!(remove.frees_per_op, 0.0);
    }

    #[test]
    fn results_round_trip_through_json() {
        let _serial = crate::testutil::serial();
        let machine = Machine::detect("rustc test", "0.1.0", "foldhash", 20.0, 40.0);
        let config = MemoryConfig {
            maps: vec![MapKind::Mutex],
            sizes: vec![64],
            ops: 16,
            hasher: HasherKind::Foldhash,
        };
        let mut r = measure_all(&config, machine, |_, _| {});
        r.go.push(GoFigures {
            map: "go map".into(),
            entries: 64,
            bytes_per_entry: 40.0,
            allocs_per_op: [("get".to_string(), 0.0)].into_iter().collect(),
            allocs_per_run: BTreeMap::new(),
            go_version: "go1.19".into(),
        });
        let json = serde_json::to_string(&r).unwrap();
        assert!(json.contains("\"kind\":\"memory\""));
        assert!(json.contains("\"schema\":\"mapknee/v1\""));
        let back: MemoryResults = serde_json::from_str(&json).unwrap();
        // Floats may come back one ulp off; nothing else may change.
        let again = serde_json::to_value(&back).unwrap();
        let first: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert!(crate::testutil::same_json(&first, &again), "{json}");
        assert_eq!(back.rows[0].map, "mutex");
        assert_eq!(back.rows[0].ops.len(), OPS.len());
    }

    #[test]
    fn spread_keys_are_distinct_for_a_power_of_two() {
        let _serial = crate::testutil::serial();
        let keys = spread_keys(1 << 16, 1 << 14);
        let set: std::collections::HashSet<_> = keys.iter().collect();
        assert_eq!(set.len(), keys.len());
        assert!(keys.iter().all(|&k| k < 1 << 16));
    }
}
