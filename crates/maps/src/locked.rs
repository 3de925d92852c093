//! `Locked<M>`: a single-threaded map behind one lock — Rust's usual
//! `RwLock<HashMap>` / `Mutex<HashMap>` baseline, and Go's own `map` +
//! `sync.RWMutex` pairing once the map inside is a `GoMap`.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};

use crate::lock::{CountingMutex, CountingRwLock};
use crate::probes;
use crate::{ConcurrentMap, GrowthStats, MapStats};

/// A map usable from one thread at a time, which `Locked` makes concurrent.
pub trait SeqMap<K, V>: Send + Sync {
    /// The value for `key`.
    fn get(&self, key: &K) -> Option<&V>;
    /// The value for `key`, mutably.
    fn get_mut(&mut self, key: &K) -> Option<&mut V>;
    /// Stores `value`, returning the value it replaced.
    fn insert(&mut self, key: K, value: V) -> Option<V>;
    /// Removes `key`, returning its value.
    fn remove(&mut self, key: &K) -> Option<V>;
    /// Keys present.
    fn len(&self) -> usize;
    /// Whether no key is present.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Growth counters, for maps that have them.
    fn growth_stats(&self) -> Option<GrowthStats> {
        None
    }
}

impl<K, V, S> SeqMap<K, V> for HashMap<K, V, S>
where
    K: Hash + Eq + Send + Sync,
    V: Send + Sync,
    S: BuildHasher + Send + Sync,
{
    fn get(&self, key: &K) -> Option<&V> {
        HashMap::get(self, key)
    }
    fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        HashMap::get_mut(self, key)
    }
    fn insert(&mut self, key: K, value: V) -> Option<V> {
        HashMap::insert(self, key, value)
    }
    fn remove(&mut self, key: &K) -> Option<V> {
        HashMap::remove(self, key)
    }
    fn len(&self) -> usize {
        HashMap::len(self)
    }
}

#[derive(Debug)]
enum Lock<M> {
    RwLock(CountingRwLock<M>),
    Mutex(CountingMutex<M>),
}

/// A [`SeqMap`] behind one lock, reader-writer or mutex.
///
/// `get_or_insert` on the reader-writer flavour follows the usual Go idiom:
/// look under the read lock, and only on a miss take the write lock and
/// look again.
///
/// ```
/// use std::collections::HashMap;
/// use mapknee_maps::{ConcurrentMap, Locked};
/// let m = Locked::mutex(HashMap::<u32, &str>::new());
/// m.insert(7, "seven");
/// assert_eq!(m.get(&7), Some("seven"));
/// assert_eq!(m.stats().lock.unwrap().acquisitions, 2);
/// ```
#[derive(Debug)]
pub struct Locked<M> {
    lock: Lock<M>,
}

impl<M> Locked<M> {
    /// `map` behind a counting reader-writer lock.
    pub fn rwlock(map: M) -> Self {
        Self {
            lock: Lock::RwLock(CountingRwLock::new(map)),
        }
    }

    /// `map` behind a counting mutex.
    pub fn mutex(map: M) -> Self {
        Self {
            lock: Lock::Mutex(CountingMutex::new(map)),
        }
    }

    /// Runs `f` with shared access to the map.
    #[inline]
    pub fn with_read<R>(&self, f: impl FnOnce(&M) -> R) -> R {
        match &self.lock {
            Lock::RwLock(l) => f(&l.read()),
            Lock::Mutex(l) => f(&l.lock()),
        }
    }

    /// Runs `f` with exclusive access to the map.
    #[inline]
    pub fn with_write<R>(&self, f: impl FnOnce(&mut M) -> R) -> R {
        match &self.lock {
            Lock::RwLock(l) => f(&mut l.write()),
            Lock::Mutex(l) => f(&mut l.lock()),
        }
    }
}

impl<K, V, M> ConcurrentMap<K, V> for Locked<M>
where
    M: SeqMap<K, V>,
    V: Clone + PartialEq,
{
    #[inline]
    fn get(&self, key: &K) -> Option<V> {
        self.with_read(|m| m.get(key).cloned())
    }

    #[inline]
    fn insert(&self, key: K, value: V) -> Option<V> {
        self.with_write(|m| m.insert(key, value))
    }

    fn get_or_insert(&self, key: K, value: V) -> Option<V> {
        if let Lock::RwLock(_) = self.lock {
            if let Some(v) = self.with_read(|m| m.get(&key).cloned()) {
                return Some(v);
            }
        }
        self.with_write(|m| match m.get(&key) {
            Some(v) => Some(v.clone()),
            None => {
                m.insert(key, value);
                None
            }
        })
    }

    fn compare_and_swap(&self, key: &K, current: &V, new: V) -> bool {
        self.with_write(|m| match m.get_mut(key) {
            Some(v) if *v == *current => {
                *v = new;
                true
            }
            _ => false,
        })
    }

    #[inline]
    fn remove(&self, key: &K) -> Option<V> {
        self.with_write(|m| m.remove(key))
    }

    fn len(&self) -> usize {
        self.with_read(|m| m.len())
    }

    fn stats(&self) -> MapStats {
        // Read the lock's counters before locking to read `len`, so reading
        // stats never shows up as map traffic.
        let lock = match &self.lock {
            Lock::RwLock(l) => l.stats(),
            Lock::Mutex(l) => l.stats(),
        };
        let (len, growth) = self.with_read(|m| (m.len(), m.growth_stats()));
        MapStats {
            len,
            lock: Some(lock),
            syncmap: None,
            growth,
        }
    }

    /// The lock's counters are atomics. Growth counters live inside the
    /// map, so they are read only when the lock is free at this instant
    /// (uncounted, never waiting); otherwise `growth` is `None` and a
    /// sampler keeps its previous reading (see `MapStats::or_previous`).
    fn counters(&self) -> MapStats {
        let (lock, growth) = match &self.lock {
            Lock::RwLock(l) => probes::sample(
                self,
                || l.hold(),
                |held| match held {
                    Some(m) => (l.stats(), Some(m.growth_stats())),
                    None => (l.stats(), l.try_peek().map(|m| m.growth_stats())),
                },
            ),
            Lock::Mutex(l) => probes::sample(
                self,
                || l.hold(),
                |held| match held {
                    Some(m) => (l.stats(), Some(m.growth_stats())),
                    None => (l.stats(), l.try_peek().map(|m| m.growth_stats())),
                },
            ),
        };
        MapStats {
            len: 0,
            lock: Some(lock),
            syncmap: None,
            growth: growth.flatten(),
        }
    }
}
