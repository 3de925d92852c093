//! Maps by name: parse a CLI name into a [`MapKind`], then build that map and
//! hand it, as its concrete type, to a [`MapVisitor`] — so runners stay
//! generic (monomorphized) with no dynamic dispatch per operation.

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasher, Hash};
use std::str::FromStr;
use std::time::Duration;

use crate::{
    default_shards, ConcurrentMap, DefaultHashBuilder, GoMap, Locked, Noop, ShardedMap, SyncMap,
    Synthetic,
};
#[cfg(feature = "peers")]
use crate::{DashMapAdapter, PapayaAdapter, SccAdapter};

/// A map the registry can build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum MapKind {
    /// `syncmap`: the port of Go's `sync.Map`.
    SyncMap,
    /// `rwlock`: std `HashMap` behind an `RwLock`.
    RwLock,
    /// `mutex`: std `HashMap` behind a `Mutex`.
    Mutex,
    /// `sharded[:N]`: [`ShardedMap`], cache-padded shards; `None` means
    /// [`default_shards`]. A given count is rounded up to a power of two.
    Sharded {
        /// Shard count (a power of two), or the default.
        shards: Option<usize>,
    },
    /// `sharded-unpadded[:N]`: [`ShardedMap`] with shards packed side by side
    /// (the false-sharing demo).
    ShardedUnpadded {
        /// Shard count (a power of two), or the default.
        shards: Option<usize>,
    },
    /// `dashmap`: [`DashMapAdapter`].
    #[cfg(feature = "peers")]
    DashMap,
    /// `papaya`: [`PapayaAdapter`].
    #[cfg(feature = "peers")]
    Papaya,
    /// `scc`: [`SccAdapter`].
    #[cfg(feature = "peers")]
    Scc,
    /// `synthetic:<dur>`: [`Synthetic`], one global lock held for the
    /// duration by every operation.
    Synthetic(Duration),
    /// `gomap-rwlock`: [`GoMap`] (Go's runtime map) behind an `RwLock`.
    GoMapRwLock,
    /// `noop`: [`Noop`], does nothing: the harness and machine alone.
    Noop,
}

/// The hasher every map in one comparison uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum HasherKind {
    /// `foldhash` (fast, seeded per map) — the default.
    #[default]
    Foldhash,
    /// std's SipHash-1-3 (`RandomState`), DoS-resistant and slower.
    SipHash,
}

impl HasherKind {
    /// The name recorded in results.
    pub fn name(self) -> &'static str {
        match self {
            HasherKind::Foldhash => "foldhash",
            HasherKind::SipHash => "siphash",
        }
    }
}

impl FromStr for HasherKind {
    type Err = ParseMapError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "foldhash" => Ok(HasherKind::Foldhash),
            "siphash" | "std" => Ok(HasherKind::SipHash),
            _ => Err(ParseMapError(format!(
                "unknown hasher '{s}' (expected foldhash or siphash)"
            ))),
        }
    }
}

/// Why a map name did not parse. Its message is one line, fit for a CLI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseMapError(pub String);

impl fmt::Display for ParseMapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ParseMapError {}

/// Receives a freshly built map as its concrete type.
pub trait MapVisitor<K, V> {
    /// What the visit produces.
    type Output;
    /// Called once with the built map.
    fn visit<M: ConcurrentMap<K, V> + 'static>(self, map: M) -> Self::Output;
}

/// Keys the registry's maps accept.
pub trait MapKey: Hash + Eq + Clone + Send + Sync + 'static {}
impl<T: Hash + Eq + Clone + Send + Sync + 'static> MapKey for T {}
/// Values the registry's maps accept.
pub trait MapValue: Clone + PartialEq + Send + Sync + 'static {}
impl<T: Clone + PartialEq + Send + Sync + 'static> MapValue for T {}

impl MapKind {
    /// Whether the map's figures depend on where the host put the worker
    /// cores: every map whose threads share cache lines. Not `noop` (shares
    /// nothing) and not `synthetic:<dur>`, whose lock hand-over happens
    /// inside the fixed hold, so its capacity is `1 / hold` on any placement
    /// whose hand-over is shorter than the hold.
    ///
    /// ```
    /// use mapknee_maps::MapKind;
    /// let kind = |name: &str| name.parse::<MapKind>().unwrap();
    /// assert!(kind("rwlock").placement_sensitive());
    /// assert!(!kind("synthetic:2us").placement_sensitive());
    /// assert!(!kind("noop").placement_sensitive());
    /// ```
    pub fn placement_sensitive(&self) -> bool {
        !matches!(self, MapKind::Noop | MapKind::Synthetic(_))
    }

    /// Every map with a one-line description, for `mapknee list`.
    pub fn catalogue() -> Vec<(&'static str, &'static str)> {
        vec![
            (
                "syncmap",
                "port of Go's sync.Map: lock-free read snapshot, dirty map under a mutex, promotion after misses",
            ),
            (
                "rwlock",
                "std HashMap behind an RwLock (Rust's usual baseline)",
            ),
            ("mutex", "std HashMap behind a Mutex"),
            (
                "sharded[:N]",
                "N RwLock<hashbrown HashTable> shards hashing each key once, cache-line padded (N rounded up to a power of two; default: next power of two >= 4 x cores)",
            ),
            (
                "sharded-unpadded[:N]",
                "as sharded, shards packed side by side (false-sharing demo)",
            ),
            #[cfg(feature = "peers")]
            ("dashmap", "dashmap 6: RwLock-sharded hashbrown tables"),
            #[cfg(feature = "peers")]
            ("papaya", "papaya 0.2: lock-free table, incremental resize"),
            #[cfg(feature = "peers")]
            ("scc", "scc 3: bucket-locked table, lock-free resize"),
            (
                "synthetic:<dur>",
                "calibration: one global lock held for <dur> per operation (capacity 1/dur), e.g. synthetic:2us",
            ),
            (
                "gomap-rwlock",
                "Go's runtime map behind an RwLock — Go's own map + sync.RWMutex pairing",
            ),
            (
                "noop",
                "does nothing: the harness and the machine alone (the noise floor)",
            ),
        ]
    }

    /// The map's name as the CLI spells it (parameters included).
    pub fn name(&self) -> String {
        match *self {
            MapKind::SyncMap => "syncmap".into(),
            MapKind::RwLock => "rwlock".into(),
            MapKind::Mutex => "mutex".into(),
            MapKind::Sharded { shards } => with_shards("sharded", shards),
            MapKind::ShardedUnpadded { shards } => with_shards("sharded-unpadded", shards),
            #[cfg(feature = "peers")]
            MapKind::DashMap => "dashmap".into(),
            #[cfg(feature = "peers")]
            MapKind::Papaya => "papaya".into(),
            #[cfg(feature = "peers")]
            MapKind::Scc => "scc".into(),
            MapKind::Synthetic(hold) => format!("synthetic:{}", format_duration(hold)),
            MapKind::GoMapRwLock => "gomap-rwlock".into(),
            MapKind::Noop => "noop".into(),
        }
    }

    /// Builds the map with `hasher` and room for about `capacity` keys, and
    /// gives it to `visitor`.
    pub fn build<K: MapKey, V: MapValue, Vis: MapVisitor<K, V>>(
        &self,
        hasher: HasherKind,
        capacity: usize,
        visitor: Vis,
    ) -> Vis::Output {
        match hasher {
            HasherKind::Foldhash => {
                self.build_with(DefaultHashBuilder::default(), capacity, visitor)
            }
            HasherKind::SipHash => self.build_with(
                std::collections::hash_map::RandomState::new(),
                capacity,
                visitor,
            ),
        }
    }

    fn build_with<K, V, S, Vis>(&self, hasher: S, capacity: usize, visitor: Vis) -> Vis::Output
    where
        K: MapKey,
        V: MapValue,
        S: BuildHasher + Clone + Send + Sync + 'static,
        Vis: MapVisitor<K, V>,
    {
        match *self {
            // Go's sync.Map takes no capacity hint.
            MapKind::SyncMap => visitor.visit(SyncMap::<K, V, S>::with_hasher(hasher)),
            MapKind::RwLock => visitor.visit(Locked::rwlock(HashMap::with_capacity_and_hasher(
                capacity, hasher,
            ))),
            MapKind::Mutex => visitor.visit(Locked::mutex(HashMap::with_capacity_and_hasher(
                capacity, hasher,
            ))),
            MapKind::Sharded { shards } => visitor.visit(ShardedMap::with_capacity_and_hasher(
                shards.unwrap_or_else(default_shards),
                true,
                capacity,
                hasher,
            )),
            MapKind::ShardedUnpadded { shards } => {
                visitor.visit(ShardedMap::with_capacity_and_hasher(
                    shards.unwrap_or_else(default_shards),
                    false,
                    capacity,
                    hasher,
                ))
            }
            #[cfg(feature = "peers")]
            MapKind::DashMap => {
                visitor.visit(DashMapAdapter::with_capacity_and_hasher(capacity, hasher))
            }
            #[cfg(feature = "peers")]
            MapKind::Papaya => {
                visitor.visit(PapayaAdapter::with_capacity_and_hasher(capacity, hasher))
            }
            #[cfg(feature = "peers")]
            MapKind::Scc => visitor.visit(SccAdapter::with_capacity_and_hasher(capacity, hasher)),
            MapKind::Synthetic(hold) => {
                visitor.visit(Synthetic::with_capacity_and_hasher(hold, capacity, hasher))
            }
            MapKind::GoMapRwLock => visitor.visit(Locked::rwlock(GoMap::with_capacity_and_hasher(
                capacity, hasher,
            ))),
            MapKind::Noop => visitor.visit(Noop),
        }
    }
}

impl fmt::Display for MapKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

impl FromStr for MapKind {
    type Err = ParseMapError;

    /// ```
    /// use mapknee_maps::MapKind;
    /// assert_eq!("rwlock".parse::<MapKind>().unwrap(), MapKind::RwLock);
    /// assert!("btree".parse::<MapKind>().unwrap_err().to_string().contains("unknown map"));
    /// assert_eq!("sharded:16".parse::<MapKind>().unwrap(), MapKind::Sharded { shards: Some(16) });
    /// assert!("sharded:0".parse::<MapKind>().unwrap_err().to_string().contains("bad shard count"));
    /// assert_eq!("synthetic:2us".parse::<MapKind>().unwrap().name(), "synthetic:2us");
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (head, param) = match s.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        };
        let no_param = |kind: MapKind| match param {
            None => Ok(kind),
            Some(_) => Err(ParseMapError(format!(
                "map '{head}' takes no parameter (got '{s}')"
            ))),
        };
        match head {
            "syncmap" => no_param(MapKind::SyncMap),
            "rwlock" => no_param(MapKind::RwLock),
            "mutex" => no_param(MapKind::Mutex),
            "sharded" => Ok(MapKind::Sharded {
                shards: parse_shards(s, param)?,
            }),
            "sharded-unpadded" => Ok(MapKind::ShardedUnpadded {
                shards: parse_shards(s, param)?,
            }),
            #[cfg(feature = "peers")]
            "dashmap" => no_param(MapKind::DashMap),
            #[cfg(feature = "peers")]
            "papaya" => no_param(MapKind::Papaya),
            #[cfg(feature = "peers")]
            "scc" => no_param(MapKind::Scc),
            #[cfg(not(feature = "peers"))]
            "dashmap" | "papaya" | "scc" => Err(ParseMapError(format!(
                "map '{head}' needs mapknee-maps' feature `peers`, which this build left out"
            ))),
            "synthetic" => match param {
                Some(p) => parse_duration(p)
                    .map(MapKind::Synthetic)
                    .map_err(|e| ParseMapError(format!("map '{s}': {e}"))),
                None => Err(ParseMapError(
                    "map 'synthetic' needs a hold duration, e.g. synthetic:2us".into(),
                )),
            },
            "gomap-rwlock" => no_param(MapKind::GoMapRwLock),
            "noop" => no_param(MapKind::Noop),
            _ => {
                let names: Vec<_> = MapKind::catalogue().into_iter().map(|(n, _)| n).collect();
                Err(ParseMapError(format!(
                    "unknown map '{s}' (known: {})",
                    names.join(", ")
                )))
            }
        }
    }
}

/// `name` or `name:N`.
fn with_shards(name: &str, shards: Option<usize>) -> String {
    match shards {
        None => name.into(),
        Some(n) => format!("{name}:{n}"),
    }
}

/// The `N` of `sharded:N`: a positive integer, rounded up to a power of two.
fn parse_shards(s: &str, param: Option<&str>) -> Result<Option<usize>, ParseMapError> {
    let Some(p) = param else { return Ok(None) };
    match p.parse::<usize>() {
        Ok(n) if (1..=crate::MAX_SHARDS).contains(&n) => Ok(Some(n.next_power_of_two())),
        _ => Err(ParseMapError(format!(
            "bad shard count '{p}' in '{s}' (expected an integer from 1 to {})",
            crate::MAX_SHARDS
        ))),
    }
}

/// The shortest exact spelling of `d` that [`parse_duration`] reads back.
fn format_duration(d: Duration) -> String {
    let ns = d.as_nanos();
    if ns % 1_000_000_000 == 0 {
        format!("{}s", ns / 1_000_000_000)
    } else if ns % 1_000_000 == 0 {
        format!("{}ms", ns / 1_000_000)
    } else if ns % 1_000 == 0 {
        format!("{}us", ns / 1_000)
    } else {
        format!("{ns}ns")
    }
}

/// Parses a duration such as `2us`, `500ns`, `1.5ms`, `2s` (µs also accepted).
///
/// ```
/// use std::time::Duration;
/// assert_eq!(mapknee_maps::parse_duration("2us").unwrap(), Duration::from_micros(2));
/// assert!(mapknee_maps::parse_duration("fast").is_err());
/// assert!(mapknee_maps::parse_duration("0s").is_err());
/// ```
pub fn parse_duration(s: &str) -> Result<Duration, ParseMapError> {
    let d = parse_duration_or_zero(s)?;
    if d.is_zero() {
        return Err(ParseMapError(format!(
            "duration '{}' must be greater than zero",
            s.trim()
        )));
    }
    Ok(d)
}

/// [`parse_duration`] that also takes zero (`0s`: e.g. no warm-up).
///
/// ```
/// use std::time::Duration;
/// assert_eq!(mapknee_maps::parse_duration_or_zero("0s").unwrap(), Duration::ZERO);
/// assert!(mapknee_maps::parse_duration_or_zero("0parsecs").is_err());
/// ```
pub fn parse_duration_or_zero(s: &str) -> Result<Duration, ParseMapError> {
    let s = s.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let bad = || {
        ParseMapError(format!(
            "bad duration '{s}' (expected e.g. 500ns, 2us, 10ms, 1.5s)"
        ))
    };
    let value: f64 = num.parse().map_err(|_| bad())?;
    let scale = match unit {
        "ns" => 1e-9,
        "us" | "µs" => 1e-6,
        "ms" => 1e-3,
        "s" => 1.0,
        "m" | "min" => 60.0,
        _ => return Err(bad()),
    };
    let secs = value * scale;
    if !secs.is_finite() || secs > 1e9 {
        return Err(bad());
    }
    Ok(Duration::from_secs_f64(secs))
}
