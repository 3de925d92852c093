//! Maps by name: parse a CLI name into a [`MapKind`], then build that map and
//! hand it, as its concrete type, to a [`MapVisitor`] — so runners stay
//! generic (monomorphized) with no dynamic dispatch per operation.

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasher, Hash};
use std::str::FromStr;
use std::time::Duration;

use crate::{ConcurrentMap, DefaultHashBuilder, GoMap, Locked};

/// A map the registry can build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapKind {
    /// `rwlock`: std `HashMap` behind an `RwLock`.
    RwLock,
    /// `mutex`: std `HashMap` behind a `Mutex`.
    Mutex,
    /// `gomap-rwlock`: [`GoMap`] (Go's runtime map) behind an `RwLock`.
    GoMapRwLock,
}

/// The hasher every map in one comparison uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
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
    /// Every map with a one-line description, for `mapknee list`.
    pub fn catalogue() -> Vec<(&'static str, &'static str)> {
        vec![
            (
                "rwlock",
                "std HashMap behind an RwLock (Rust's usual baseline)",
            ),
            ("mutex", "std HashMap behind a Mutex"),
            (
                "gomap-rwlock",
                "Go's runtime map behind an RwLock — Go's own map + sync.RWMutex pairing",
            ),
        ]
    }

    /// The map's name as the CLI spells it (parameters included).
    pub fn name(&self) -> String {
        match self {
            MapKind::RwLock => "rwlock".into(),
            MapKind::Mutex => "mutex".into(),
            MapKind::GoMapRwLock => "gomap-rwlock".into(),
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
            MapKind::RwLock => visitor.visit(Locked::rwlock(HashMap::with_capacity_and_hasher(
                capacity, hasher,
            ))),
            MapKind::Mutex => visitor.visit(Locked::mutex(HashMap::with_capacity_and_hasher(
                capacity, hasher,
            ))),
            MapKind::GoMapRwLock => visitor.visit(Locked::rwlock(GoMap::with_capacity_and_hasher(
                capacity, hasher,
            ))),
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
            "rwlock" => no_param(MapKind::RwLock),
            "mutex" => no_param(MapKind::Mutex),
            "gomap-rwlock" => no_param(MapKind::GoMapRwLock),
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

/// Parses a duration such as `2us`, `500ns`, `1.5ms`, `2s` (µs also accepted).
///
/// ```
/// use std::time::Duration;
/// assert_eq!(mapknee_maps::parse_duration("2us").unwrap(), Duration::from_micros(2));
/// assert!(mapknee_maps::parse_duration("fast").is_err());
/// ```
pub fn parse_duration(s: &str) -> Result<Duration, ParseMapError> {
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
    if !secs.is_finite() || secs <= 0.0 || secs > 1e9 {
        return Err(bad());
    }
    Ok(Duration::from_secs_f64(secs))
}
