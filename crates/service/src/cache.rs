//! The order cache: any registry map behind the trait object, bounded by
//! evicting the oldest insertions.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use mapknee_maps::{ConcurrentMap, HasherKind, MapKind, MapVisitor};

use crate::Order;

/// The map type the cache holds.
// NOTE: the load engine is generic over the map (no dynamic dispatch per
// operation, ~1 ns); here every request already costs tens of µs of HTTP,
// so one virtual call per map operation is not measurable, and a trait
// object keeps the service one type for every map.
pub type OrderMap = dyn ConcurrentMap<u64, Arc<Order>>;

struct Boxed;

impl MapVisitor<u64, Arc<Order>> for Boxed {
    type Output = Box<OrderMap>;
    fn visit<M: ConcurrentMap<u64, Arc<Order>> + 'static>(self, map: M) -> Box<OrderMap> {
        Box::new(map)
    }
}

/// Builds `kind` for orders, presized for `capacity` entries.
pub fn build_map(kind: &MapKind, hasher: HasherKind, capacity: usize) -> Box<OrderMap> {
    kind.build(hasher, capacity, Boxed)
}

/// Shards of the insertion-order ring (a power of two): an insert locks one
/// shard's ring, chosen by id, so the eviction bookkeeping does not become
/// one global lock beside the map under test.
const RING_SHARDS: usize = 64;

/// The cache: a map, and per shard a ring of ids in insertion order.
///
/// Bounded: every time an id becomes present in the map, it is pushed on
/// its shard's ring; when a ring holds more than its share of the capacity,
/// its oldest id is removed from the map. Each present key therefore has a
/// ring entry pushed at or after its latest insertion, so the map never
/// holds more than `capacity` (rounded up to a multiple of the shards)
/// orders plus those being inserted right now, whatever the key stream.
/// A deleted id stays in its ring until it ages out (evicting a key that is
/// gone is a no-op), which may make a re-inserted id age out early: the
/// cache is FIFO by insertion, not LRU.
pub struct Cache {
    map: Box<OrderMap>,
    rings: Vec<Mutex<VecDeque<u64>>>,
    per_ring: usize,
}

impl std::fmt::Debug for Cache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cache")
            .field("per_ring", &self.per_ring)
            .finish()
    }
}

impl Cache {
    /// A cache over `map` holding at most about `capacity` orders.
    pub fn new(map: Box<OrderMap>, capacity: usize) -> Self {
        let per_ring = capacity.div_ceil(RING_SHARDS).max(1);
        Cache {
            map,
            rings: (0..RING_SHARDS)
                .map(|_| Mutex::new(VecDeque::with_capacity(per_ring + 1)))
                .collect(),
            per_ring,
        }
    }

    /// The map.
    pub fn map(&self) -> &OrderMap {
        &*self.map
    }

    /// The cached order `id`.
    pub fn get(&self, id: u64) -> Option<Arc<Order>> {
        self.map.get(&id)
    }

    /// Caches `order` unless `id` is cached already (Go's LoadOrStore);
    /// returns the order now cached and how many were evicted.
    pub fn get_or_insert(&self, order: Arc<Order>) -> (Arc<Order>, u64) {
        let id = order.id;
        match self.map.get_or_insert(id, order.clone()) {
            Some(existing) => (existing, 0),
            None => (order, self.admitted(id)),
        }
    }

    /// Caches `order`, replacing any cached one; returns how many were
    /// evicted.
    pub fn insert(&self, order: Arc<Order>) -> u64 {
        let id = order.id;
        match self.map.insert(id, order) {
            Some(_) => 0,
            None => self.admitted(id),
        }
    }

    /// Drops `id` from the cache.
    pub fn remove(&self, id: u64) {
        self.map.remove(&id);
    }

    /// `id` just became present: remember it, evict the shard's oldest
    /// beyond its share.
    fn admitted(&self, id: u64) -> u64 {
        let ring = &self.rings[(mix(id) as usize) & (RING_SHARDS - 1)];
        let evict = {
            let mut q = ring.lock().unwrap_or_else(|e| e.into_inner());
            q.push_back(id);
            if q.len() > self.per_ring {
                q.pop_front()
            } else {
                None
            }
        };
        // Outside the ring's lock: the map call may wait for the map's own.
        match evict {
            Some(old) => {
                self.map.remove(&old);
                1
            }
            None => 0,
        }
    }
}

/// Spreads consecutive ids over the ring shards.
fn mix(id: u64) -> u64 {
    id.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(id: u64) -> Arc<Order> {
        Arc::new(crate::store::seeded_order(id))
    }

    #[test]
    fn the_cache_stays_within_capacity_under_an_endless_key_stream() {
        for kind in ["rwlock", "syncmap", "sharded"] {
            let kind: MapKind = kind.parse().unwrap();
            let cache = Cache::new(build_map(&kind, HasherKind::default(), 256), 256);
            let mut evicted = 0;
            for id in 0..10_000 {
                evicted += if id % 2 == 0 {
                    cache.insert(order(id))
                } else {
                    cache.get_or_insert(order(id)).1
                };
            }
            assert!(cache.map().len() <= 256, "{kind:?}: {}", cache.map().len());
            assert_eq!(evicted as usize + cache.map().len(), 10_000, "{kind:?}");
        }
    }

    #[test]
    fn get_or_insert_keeps_the_first_order() {
        let cache = Cache::new(build_map(&MapKind::RwLock, HasherKind::default(), 8), 8);
        let first = Arc::new(Order {
            customer: "a".into(),
            ..crate::store::seeded_order(1)
        });
        assert_eq!(cache.get_or_insert(first.clone()).0, first);
        assert_eq!(cache.get_or_insert(order(1)).0, first);
        cache.remove(1);
        assert_eq!(cache.get(1), None);
    }
}
