//! The concurrent maps that mapknee measures, behind one benchmark-facing
//! trait, [`ConcurrentMap`], with mechanism counters ([`MapStats`]) cheap
//! enough to stay on while measuring.
//!
//! | CLI name | type | what it is |
//! |---|---|---|
//! | `syncmap` | [`SyncMap`] | port of Go 1.19's `sync.Map` (read snapshot, dirty map, misses) |
//! | `gomap-rwlock` | [`Locked`] over [`GoMap`] | port of Go 1.19's runtime `map` behind an RwLock (Go's own pairing) |
//! | `rwlock` / `mutex` | [`Locked`] over std `HashMap` | Rust's usual baseline |
//! | `sharded` / `sharded-unpadded` | [`ShardedMap`] | `RwLock<HashTable>` shards (dashmap's lock), cache-padded or not |
//! | `dashmap`, `papaya`, `scc` | adapters in [`peers`] | the best Rust peers (feature `peers`) |
//! | `synthetic:<dur>` | [`Synthetic`] | one global lock held for `dur` per operation |
//!
//! Every map is generic over its [`BuildHasher`](std::hash::BuildHasher); the
//! registry ([`MapKind`]) builds all of them with the same [`HasherKind`] so a
//! comparison never mixes hashers.
//!
//! # Consistency
//!
//! Every map here is linearizable per key: an operation on a key takes effect
//! at one instant between its call and its return. `len` and `stats` are
//! snapshots taken without stopping writers, so under concurrent writes they
//! are approximate (each counter is exact once writers are quiet). `SyncMap`'s
//! memory orderings are documented on the type.
#![warn(missing_docs)]

pub mod counters;
pub mod gomap;
pub mod lock;
mod locked;
mod noop;
#[cfg(feature = "peers")]
pub mod peers;
mod primitive;
pub mod probes;
mod registry;
mod sharded;
mod stats;
pub mod syncmap;
mod synthetic;

pub use gomap::GoMap;
pub use locked::{Locked, SeqMap};
pub use noop::Noop;
#[cfg(feature = "peers")]
pub use peers::{DashMapAdapter, PapayaAdapter, SccAdapter};
pub use registry::{
    parse_duration, parse_duration_or_zero, HasherKind, MapKey, MapKind, MapValue, MapVisitor,
    ParseMapError,
};
pub use sharded::{default_shards, ShardedMap, MAX_SHARDS};
pub use stats::{GrowthStats, LockStats, MapStats, SyncMapStats};
pub use syncmap::SyncMap;
pub use synthetic::Synthetic;

/// The hasher every map uses unless told otherwise: foldhash, seeded per map
/// (each `RandomState` draws its own seed).
pub type DefaultHashBuilder = foldhash::fast::RandomState;

/// The benchmark-facing interface every measured map implements.
///
/// The load engine calls every map through `&dyn ConcurrentMap<u64, u64>`,
/// so that one compiled worker loop drives them all (see
/// `mapknee_load::run_step`); the trait is kept object safe for that.
/// Methods take `&self`: every implementation is safe to share across threads.
///
/// ```
/// use mapknee_maps::{ConcurrentMap, Locked};
/// let map: Locked<std::collections::HashMap<u64, u64, mapknee_maps::DefaultHashBuilder>> =
///     Locked::rwlock(Default::default());
/// assert_eq!(map.insert(1, 10), None);
/// assert_eq!(map.get_or_insert(1, 11), Some(10));
/// assert!(map.compare_and_swap(&1, &10, 12));
/// assert_eq!(map.get(&1), Some(12));
/// assert_eq!(map.remove(&1), Some(12));
/// assert_eq!(map.len(), 0);
/// ```
pub trait ConcurrentMap<K, V>: Send + Sync {
    /// A copy of the value stored for `key`.
    fn get(&self, key: &K) -> Option<V>;
    /// Stores `value` for `key` and returns the value it replaced.
    fn insert(&self, key: K, value: V) -> Option<V>;
    /// Go's `LoadOrStore`: when `key` is present returns `Some(existing)` and
    /// leaves the map unchanged; otherwise stores `value` and returns `None`.
    fn get_or_insert(&self, key: K, value: V) -> Option<V>;
    /// Go's `CompareAndSwap`: replaces the value for `key` with `new` only if
    /// it is present and equal to `current`; returns whether it did.
    ///
    /// Not among the operations the load engine offers, but it makes exact
    /// accounting possible in the stress tests (no lost update).
    fn compare_and_swap(&self, key: &K, current: &V, new: V) -> bool;
    /// Removes `key` and returns its value.
    fn remove(&self, key: &K) -> Option<V>;
    /// The number of keys present (a snapshot under concurrent writes).
    fn len(&self) -> usize;
    /// Whether no key is present.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The mechanism counters so far (cumulative since construction).
    fn stats(&self) -> MapStats;
    /// The same counters as [`stats`](Self::stats), read without taking or
    /// waiting for any of the map's locks and without walking its table;
    /// `len` is left 0. The load engine samples this every 10 ms while the
    /// map is under load, so it must not become map traffic itself.
    fn counters(&self) -> MapStats;
}

/// The README's examples run as doctests, so they cannot rot.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;
