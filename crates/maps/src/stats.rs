//! Mechanism counters: what a map did, not just how fast it was.

/// What a lock cost: acquisitions, how many found it held, and how long
/// those waited in total.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LockStats {
    /// Every acquisition, shared or exclusive.
    pub acquisitions: u64,
    /// Acquisitions that found the lock held and had to wait.
    pub contended: u64,
    /// Total nanoseconds spent waiting in contended acquisitions.
    pub wait_ns: u64,
}

/// `SyncMap`'s read/dirty mechanism, as in Go's `sync.Map`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncMapStats {
    /// Lookups answered by the read snapshot without the lock.
    pub snapshot_hits: u64,
    /// Lookups that missed the snapshot while it was amended and fell back
    /// to the dirty map under the lock (Go's `missLocked` calls).
    pub misses: u64,
    /// Times the dirty map was promoted to be the new snapshot.
    pub promotions: u64,
    /// Times the dirty map was rebuilt by copying the snapshot (Go's `dirtyLocked`).
    pub dirty_rebuilds: u64,
    /// Entries copied by those rebuilds (O(n) each).
    pub entries_copied: u64,
    /// Deleted entries turned into expunged ones during rebuilds.
    pub expunges: u64,
    /// Operations that took the mutex (the locked slow path).
    pub slow_path: u64,
}

/// Growth of a bucketed map (Go's runtime map).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GrowthStats {
    /// Growths that doubled the bucket array.
    pub doublings: u64,
    /// Same-size growths (rebuilds to shed overflow buckets).
    pub same_size: u64,
    /// Old buckets evacuated into the new array.
    pub buckets_evacuated: u64,
    /// Overflow buckets currently allocated.
    pub overflow_buckets: u64,
    /// The longest growth work (starting a growth and evacuating) done by
    /// a single write, in ns. Measured only when mapknee-maps is built with
    /// the `evacuation-timing` feature; without it no clock is read, this
    /// reads 0 and [`MapStats::counters`] leaves it out.
    pub max_evacuation_ns: u64,
}

/// A snapshot of one map's counters. Groups a map does not have are `None`.
///
/// ```
/// use mapknee_maps::{LockStats, MapStats};
/// let before = MapStats { len: 1, lock: Some(LockStats { acquisitions: 5, ..Default::default() }), ..Default::default() };
/// let after = MapStats { len: 3, lock: Some(LockStats { acquisitions: 9, ..Default::default() }), ..Default::default() };
/// let d = after.delta(&before);
/// assert_eq!(d.lock.unwrap().acquisitions, 4);
/// assert!(d.counters().contains(&("lock_acquisitions", 4)));
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MapStats {
    /// Keys present.
    pub len: usize,
    /// The map's lock(s), summed over shards.
    pub lock: Option<LockStats>,
    /// The sync.Map mechanism.
    pub syncmap: Option<SyncMapStats>,
    /// Bucket growth.
    pub growth: Option<GrowthStats>,
}

impl MapStats {
    /// Flat `(name, value)` pairs for reports and JSON (`len` excluded).
    /// Names are stable: result files and scripts key on them.
    /// `max_evacuation_ns` is present only with the `evacuation-timing`
    /// feature: without it the map does not measure it, and a 0 would read
    /// as a measurement.
    pub fn counters(&self) -> Vec<(&'static str, u64)> {
        let mut out = Vec::new();
        if let Some(l) = self.lock {
            out.extend([
                ("lock_acquisitions", l.acquisitions),
                ("lock_contended", l.contended),
                ("lock_wait_ns", l.wait_ns),
            ]);
        }
        if let Some(s) = self.syncmap {
            out.extend([
                ("snapshot_hits", s.snapshot_hits),
                ("misses", s.misses),
                ("promotions", s.promotions),
                ("dirty_rebuilds", s.dirty_rebuilds),
                ("entries_copied", s.entries_copied),
                ("expunges", s.expunges),
                ("slow_path", s.slow_path),
            ]);
        }
        if let Some(g) = self.growth {
            out.extend([
                ("growths_doubling", g.doublings),
                ("growths_same_size", g.same_size),
                ("buckets_evacuated", g.buckets_evacuated),
                ("overflow_buckets", g.overflow_buckets),
            ]);
            if cfg!(feature = "evacuation-timing") {
                out.push(("max_evacuation_ns", g.max_evacuation_ns));
            }
        }
        out
    }

    /// `self` with every counter group it lacks taken from `previous`: a
    /// sampler's reading when [`ConcurrentMap::counters`](crate::ConcurrentMap::counters)
    /// could not read a group without waiting (a held lock), so that the
    /// group's delta over that window is 0 and the next window gets it all.
    ///
    /// ```
    /// use mapknee_maps::{GrowthStats, MapStats};
    /// let before = MapStats { growth: Some(GrowthStats { doublings: 2, ..Default::default() }), ..Default::default() };
    /// let now = MapStats::default().or_previous(&before);
    /// assert_eq!(now.growth.unwrap().doublings, 2);
    /// ```
    pub fn or_previous(self, previous: &MapStats) -> MapStats {
        MapStats {
            len: self.len,
            lock: self.lock.or(previous.lock),
            syncmap: self.syncmap.or(previous.syncmap),
            growth: self.growth.or(previous.growth),
        }
    }

    /// What happened between `earlier` and `self`: cumulative counters are
    /// subtracted; gauges (`len`, `overflow_buckets`, and the running
    /// maximum `max_evacuation_ns`) keep `self`'s value.
    pub fn delta(&self, earlier: &MapStats) -> MapStats {
        let lock = self.lock.map(|l| {
            let e = earlier.lock.unwrap_or_default();
            LockStats {
                acquisitions: l.acquisitions.saturating_sub(e.acquisitions),
                contended: l.contended.saturating_sub(e.contended),
                wait_ns: l.wait_ns.saturating_sub(e.wait_ns),
            }
        });
        let syncmap = self.syncmap.map(|s| {
            let e = earlier.syncmap.unwrap_or_default();
            SyncMapStats {
                snapshot_hits: s.snapshot_hits.saturating_sub(e.snapshot_hits),
                misses: s.misses.saturating_sub(e.misses),
                promotions: s.promotions.saturating_sub(e.promotions),
                dirty_rebuilds: s.dirty_rebuilds.saturating_sub(e.dirty_rebuilds),
                entries_copied: s.entries_copied.saturating_sub(e.entries_copied),
                expunges: s.expunges.saturating_sub(e.expunges),
                slow_path: s.slow_path.saturating_sub(e.slow_path),
            }
        });
        let growth = self.growth.map(|g| {
            let e = earlier.growth.unwrap_or_default();
            GrowthStats {
                doublings: g.doublings.saturating_sub(e.doublings),
                same_size: g.same_size.saturating_sub(e.same_size),
                buckets_evacuated: g.buckets_evacuated.saturating_sub(e.buckets_evacuated),
                overflow_buckets: g.overflow_buckets,
                max_evacuation_ns: g.max_evacuation_ns,
            }
        });
        MapStats {
            len: self.len,
            lock,
            syncmap,
            growth,
        }
    }
}
