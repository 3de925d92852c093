//! `GoMap` integration tests, one module per topic: growth in progress,
//! same-size growth, evacuation finishing, a model test against std
//! `HashMap`, and `Locked<GoMap>` through `ConcurrentMap`.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, Hasher};

use mapknee_maps::GoMap;

/// Hashes a `u64` key to itself: tests choose keys to choose buckets
/// (bucket = key & (2^B − 1); tophash = key >> 56, bumped past the markers).
#[derive(Debug, Clone, Copy, Default)]
struct Identity;

#[derive(Debug, Default)]
struct IdentityHasher(u64);

impl Hasher for IdentityHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

impl BuildHasher for Identity {
    type Hasher = IdentityHasher;
    fn build_hasher(&self) -> IdentityHasher {
        IdentityHasher(0)
    }
}

/// Every key hashes alike: one ever-longer chain, the worst case.
#[derive(Debug, Clone, Copy, Default)]
struct Constant;

impl BuildHasher for Constant {
    type Hasher = ConstantHasher;
    fn build_hasher(&self) -> ConstantHasher {
        ConstantHasher
    }
}

#[derive(Debug)]
struct ConstantHasher;

impl Hasher for ConstantHasher {
    fn write(&mut self, _: &[u8]) {}
    fn finish(&self) -> u64 {
        0x5a5a_0000_0000_0000
    }
}

/// The keys iteration yields, as a set, failing on a key yielded twice.
/// (Counting would prove nothing: the iterator stops after `len` entries,
/// so a duplicate hides a miss and the count still matches.)
fn iterated_keys<S>(m: &GoMap<u64, u64, S>) -> HashSet<u64> {
    let mut seen = HashSet::new();
    for (k, _) in m.iter() {
        assert!(seen.insert(*k), "iteration yielded key {k} twice");
    }
    seen
}

/// Checks that iteration yields exactly `expected`, each key once.
fn assert_iterates<S>(m: &GoMap<u64, u64, S>, expected: impl IntoIterator<Item = u64>) {
    let expected: HashSet<u64> = expected.into_iter().collect();
    let got = iterated_keys(m);
    let mut missed: Vec<_> = expected.difference(&got).collect();
    let mut extra: Vec<_> = got.difference(&expected).collect();
    missed.sort_unstable();
    extra.sort_unstable();
    assert!(
        missed.is_empty() && extra.is_empty(),
        "iteration missed {missed:?}, yielded unexpected {extra:?}"
    );
}

/// Inserts `0..` into `m` until a doubling is in progress with at least
/// `remaining` old buckets left; returns the next unused key.
fn insert_until_mid_growth<S: BuildHasher>(m: &mut GoMap<u64, u64, S>, remaining: usize) -> u64 {
    let mut k = m.len() as u64;
    while !(m.is_growing() && m.old_buckets_remaining() >= remaining) {
        m.insert(k, k * 10);
        k += 1;
    }
    k
}

mod mid_growth {
    use super::*;

    #[test]
    fn lookups_see_old_and_new_buckets() {
        let mut m = GoMap::new();
        let n = insert_until_mid_growth(&mut m, 16);
        assert!(m.is_growing() && !m.is_same_size_growing());
        let evacuated = m.growth_stats().buckets_evacuated;
        for k in 0..n {
            assert_eq!(m.get(&k), Some(&(k * 10)), "key {k}");
        }
        assert_eq!(m.get(&n), None);
        assert_eq!(
            m.growth_stats().buckets_evacuated,
            evacuated,
            "reads do no evacuation work"
        );
        assert!(m.is_growing());
    }

    #[test]
    fn deletes_mid_growth() {
        let mut m = GoMap::new();
        let n = insert_until_mid_growth(&mut m, 16);
        let mut deleted = 0;
        // Every key after every delete, until the growth is over.
        for k in (0..n).step_by(3) {
            assert_eq!(m.remove(&k), Some(k * 10));
            assert_eq!(m.remove(&k), None);
            deleted += 1;
            for j in 0..n {
                let gone = j % 3 == 0 && j / 3 < deleted;
                let want = (!gone).then_some(j * 10);
                assert_eq!(m.get(&j).copied(), want, "key {j} after {deleted} deletes");
            }
            assert_eq!(m.len(), (n - deleted) as usize);
            if !m.is_growing() {
                break;
            }
        }
        assert!(deleted > 1);
        assert!(!m.is_growing(), "the deletes did not finish the growth");
        assert_iterates(&m, (0..n).filter(|j| !(j % 3 == 0 && j / 3 < deleted)));
    }

    /// Every key, after every write, from the start of a doubling to its
    /// end: writes cycle through overwrites, new keys and removes, so
    /// entries move between arrays while the check runs.
    #[test]
    fn every_key_after_every_write_across_a_growth() {
        let mut m = GoMap::new();
        let remaining = if cfg!(miri) { 8 } else { 32 };
        let k = insert_until_mid_growth(&mut m, remaining);
        let mut model: HashMap<u64, u64> = (0..k).map(|j| (j, j * 10)).collect();
        let mut writes = 0u64;
        while m.is_growing() {
            match writes % 3 {
                0 => {
                    let key = writes % k;
                    assert_eq!(m.insert(key, writes), model.insert(key, writes));
                }
                1 => {
                    let key = k + writes;
                    assert_eq!(m.insert(key, writes), model.insert(key, writes));
                }
                _ => {
                    let key = (writes * 7) % k;
                    assert_eq!(m.remove(&key), model.remove(&key), "remove {key}");
                }
            }
            writes += 1;
            for (mk, mv) in &model {
                assert_eq!(m.get(mk), Some(mv), "key {mk} after write {writes}");
            }
            assert_eq!(m.len(), model.len());
        }
        assert!(
            writes as usize >= remaining / 2,
            "the growth ended after {writes} writes"
        );
        assert_iterates(&m, model.keys().copied());
    }

    /// `get_mut` is a write in Go (`mapassign`): it does growth work.
    #[test]
    fn get_mut_does_growth_work() {
        let mut m = GoMap::new();
        let n = insert_until_mid_growth(&mut m, 4);
        let before = m.growth_stats().buckets_evacuated;
        *m.get_mut(&0).expect("key 0") += 1;
        assert!(
            m.growth_stats().buckets_evacuated > before,
            "get_mut evacuated nothing"
        );
        let mut k = 0;
        while m.is_growing() {
            assert!(m.get_mut(&(k % n)).is_some());
            k += 1;
        }
        assert_eq!(m.get(&0), Some(&1));
        for j in 1..n {
            assert_eq!(m.get(&j), Some(&(j * 10)), "key {j}");
        }
    }

    #[test]
    fn iteration_yields_every_key_exactly_once() {
        for remaining in [2, 8, 64] {
            let mut m = GoMap::new();
            let n = insert_until_mid_growth(&mut m, remaining);
            assert!(m.is_growing());
            assert_iterates(&m, 0..n);
            for (k, v) in m.iter() {
                assert_eq!(*v, k * 10, "value of key {k}");
            }
        }
    }

    #[test]
    fn iteration_mid_same_size_growth() {
        let mut m = GoMap::with_capacity_and_hasher(52, Identity);
        let live = churn_until_same_size_growth(&mut m);
        assert!(m.is_same_size_growing());
        assert_iterates(&m, live.iter().copied());
        assert!(live.iter().all(|k| m.get(k) == Some(k)));
    }
}

/// With 8 buckets (B = 3) and identity hashing: keeps 16 live keys, then
/// for each bucket in turn inserts nine keys that all land in it (growing
/// its chain by an overflow bucket) and deletes them again. The count never
/// nears the load factor, but once 8 overflow buckets exist (the trigger
/// 2^B = 8) the next insert of a new key starts a same-size growth.
/// Stops right after that insert, mid-growth, and returns the keys present.
fn churn_until_same_size_growth(m: &mut GoMap<u64, u64, Identity>) -> Vec<u64> {
    assert_eq!(m.bucket_count(), 8);
    let mut model = std::collections::BTreeSet::new();
    for i in 0..16 {
        let k = i * 1_000_003;
        m.insert(k, k);
        model.insert(k);
    }
    let mut fresh = 1u64 << 40;
    for bucket in (0..8u64).cycle().take(64) {
        let keys: Vec<u64> = (0..9).map(|j| fresh + bucket + 8 * j).collect();
        fresh += 1 << 20;
        for &k in &keys {
            assert_eq!(m.growth_stats().same_size, 0);
            m.insert(k, k);
            model.insert(k);
            if m.growth_stats().same_size > 0 {
                assert_eq!(m.growth_stats().doublings, 0);
                return model.into_iter().collect();
            }
        }
        for &k in &keys {
            assert_eq!(m.remove(&k), Some(k));
            model.remove(&k);
        }
    }
    panic!("no same-size growth");
}

mod same_size {
    use super::*;

    #[test]
    fn churn_triggers_same_size_growth_and_sheds_overflow() {
        let mut m = GoMap::with_capacity_and_hasher(52, Identity);
        assert_eq!(m.bucket_count(), 8);
        let live = churn_until_same_size_growth(&mut m);
        let g = m.growth_stats();
        assert_eq!(g.same_size, 1);
        assert_eq!(g.doublings, 0);
        assert_eq!(m.bucket_count(), 8);
        // Writes finish the growth; the repacked chains need no overflow.
        let mut k = 1u64 << 50;
        while m.is_growing() {
            m.insert(k, 0);
            m.remove(&k);
            k += 1;
        }
        assert_eq!(m.growth_stats().same_size, 1);
        assert!(m.growth_stats().overflow_buckets <= 1);
        assert_iterates(&m, live.iter().copied());
        for key in live {
            assert_eq!(m.get(&key), Some(&key));
        }
    }

    /// A bijective scramble of `0..`: windows of consecutive integers hash
    /// unevenly into 64 buckets under foldhash (some buckets then never
    /// overflow), so the churn below uses scrambled keys.
    fn scramble(mut x: u64) -> u64 {
        x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        x ^ (x >> 31)
    }

    #[test]
    fn random_churn_triggers_same_size_growth() {
        // 384 live keys in 64 buckets (6 per bucket, under 6.5): churn
        // grows chains where a bucket's count drifts past 8, and deletes
        // never free them, until overflow buckets reach 64.
        let live = 384u64;
        let steps = if cfg!(miri) { 0 } else { 2_000_000 };
        if steps == 0 {
            return;
        }
        let mut m = GoMap::new();
        let mut model = HashMap::new();
        for k in (0..live).map(scramble) {
            m.insert(k, k);
            model.insert(k, k);
        }
        let buckets = m.bucket_count();
        let mut oldest = 0u64;
        let mut next = live;
        let mut churn = |m: &mut GoMap<u64, u64>| {
            let (old, new) = (scramble(oldest), scramble(next));
            assert_eq!(m.remove(&old), model.remove(&old));
            assert_eq!(m.insert(new, new), model.insert(new, new));
            oldest += 1;
            next += 1;
        };
        let mut i = 0;
        while m.growth_stats().same_size == 0 && i < steps {
            churn(&mut m);
            i += 1;
        }
        let g = m.growth_stats();
        assert!(
            g.same_size >= 1,
            "no same-size growth after {i} steps: {g:?}"
        );
        assert_eq!(g.doublings, 6, "1 → 64 buckets, and no more");
        assert_eq!(m.bucket_count(), buckets);
        // Correct during and after the growth.
        for _ in 0..buckets {
            churn(&mut m);
        }
        assert!(!m.is_growing());
        assert_eq!(m.len(), model.len());
        for (k, v) in &model {
            assert_eq!(m.get(k), Some(v));
        }
        assert_iterates(&m, model.keys().copied());
    }
}

mod evacuation {
    use super::*;

    /// A hint no machine could allocate is ignored, as Go's `makemap` does:
    /// no overflow, no endless loop, and the map works.
    #[test]
    fn unallocatable_capacity_hint_is_ignored() {
        for hint in [usize::MAX, usize::MAX / 2, 1 << 60, 1 << 50] {
            let mut m: GoMap<u64, u64> = GoMap::with_capacity(hint);
            assert_eq!(m.bucket_count(), 0, "hint {hint}");
            for k in 0..100 {
                m.insert(k, k);
            }
            assert_iterates(&m, 0..100);
        }
        // A hint that fits is honoured.
        let m: GoMap<u64, u64> = GoMap::with_capacity(1_000);
        assert!(m.bucket_count() >= 1_000 / 8);
    }

    #[test]
    fn finishes_within_one_write_per_old_bucket() {
        let mut m = GoMap::new();
        let n = insert_until_mid_growth(&mut m, if cfg!(miri) { 8 } else { 512 });
        let old = m.old_buckets_remaining();
        let mut writes = 0;
        while m.is_growing() {
            let before = m.growth_stats().buckets_evacuated;
            m.insert(writes % n, 0); // overwrites evacuate too
            let moved = m.growth_stats().buckets_evacuated - before;
            assert!(moved <= 2, "one write evacuated {moved} buckets");
            writes += 1;
        }
        assert!(
            writes as usize <= old,
            "{writes} writes for {old} old buckets"
        );
        assert_eq!(m.old_buckets_remaining(), 0);
        assert_eq!(m.len(), n as usize);
        assert_iterates(&m, 0..n);
    }

    #[test]
    fn every_old_bucket_is_evacuated_once() {
        let mut m = GoMap::new();
        let n = if cfg!(miri) { 500 } else { 200_000 };
        for k in 0..n {
            m.insert(k, k);
        }
        while m.is_growing() {
            m.insert(0, 0);
        }
        let g = m.growth_stats();
        // Doublings from 1 bucket: 1 + 2 + … + 2^(B−1) = 2^B − 1 old buckets.
        assert_eq!(g.buckets_evacuated, m.bucket_count() as u64 - 1);
        assert_eq!(g.doublings, m.bucket_count().trailing_zeros() as u64);
    }

    #[test]
    fn colliding_keys_survive_growth() {
        // Every key in one chain: doublings send everything to X, and the
        // chain is rebuilt bucket by bucket.
        let n = if cfg!(miri) { 40 } else { 2_000 };
        let mut m = GoMap::with_hasher(Constant);
        for k in 0..n {
            m.insert(k, k);
        }
        for k in (0..n).step_by(2) {
            assert_eq!(m.remove(&k), Some(k));
        }
        for k in 0..n {
            assert_eq!(m.get(&k), (k % 2 == 1).then_some(&k));
        }
        assert_iterates(&m, (1..n).step_by(2));
    }
}

mod model {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u64, u64),
        Remove(u64),
        Get(u64),
        GetMut(u64),
        Iter,
        Clear,
    }

    fn op(keys: u64) -> impl Strategy<Value = Op> {
        prop_oneof![
            200 => (0..keys, any::<u64>()).prop_map(|(k, v)| Op::Insert(k, v)),
            100 => (0..keys).prop_map(Op::Remove),
            80 => (0..keys).prop_map(Op::Get),
            12 => (0..keys).prop_map(Op::GetMut),
            7 => Just(Op::Iter),
            1 => Just(Op::Clear),
        ]
    }

    fn check<S: BuildHasher>(mut m: GoMap<u64, u64, S>, ops: &[Op]) {
        let mut model = HashMap::new();
        for op in ops {
            match *op {
                Op::Insert(k, v) => assert_eq!(m.insert(k, v), model.insert(k, v)),
                Op::Remove(k) => assert_eq!(m.remove(&k), model.remove(&k)),
                Op::Get(k) => assert_eq!(m.get(&k), model.get(&k)),
                Op::GetMut(k) => {
                    if let Some(v) = m.get_mut(&k) {
                        *v = v.wrapping_add(1);
                    }
                    if let Some(v) = model.get_mut(&k) {
                        *v = v.wrapping_add(1);
                    }
                }
                Op::Iter => {
                    let mut got: Vec<_> = m.iter().map(|(k, v)| (*k, *v)).collect();
                    got.sort_unstable();
                    let mut want: Vec<_> = model.iter().map(|(k, v)| (*k, *v)).collect();
                    want.sort_unstable();
                    assert_eq!(got, want);
                }
                Op::Clear => {
                    m.clear();
                    model.clear();
                }
            }
            assert_eq!(m.len(), model.len());
        }
        assert_iterates(&m, model.keys().copied());
        for (k, v) in &model {
            assert_eq!(m.get(k), Some(v));
        }
    }

    fn config() -> ProptestConfig {
        let mut config = ProptestConfig::with_cases(if cfg!(miri) { 3 } else { 256 });
        if cfg!(miri) {
            // Saving failures needs the file system, which Miri isolates.
            config.failure_persistence = None;
        }
        config
    }

    fn ops(keys: u64) -> impl Strategy<Value = Vec<Op>> {
        prop::collection::vec(op(keys), 0..if cfg!(miri) { 200 } else { 2_000 })
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn matches_std_hashmap(ops in ops(512)) {
            check(GoMap::new(), &ops);
        }

        #[test]
        fn matches_std_hashmap_small_key_space(ops in ops(24)) {
            check(GoMap::new(), &ops);
        }

        #[test]
        fn matches_std_hashmap_identity_hash(ops in ops(300)) {
            check(GoMap::with_hasher(Identity), &ops);
        }

        #[test]
        fn matches_std_hashmap_all_keys_collide(ops in ops(64)) {
            check(GoMap::with_hasher(Constant), &ops);
        }
    }
}

mod locked {
    use std::sync::atomic::{AtomicU64, Ordering};

    use super::*;
    use mapknee_maps::{ConcurrentMap, HasherKind, Locked, MapKind, MapVisitor};

    #[test]
    fn through_concurrent_map() {
        let m = Locked::rwlock(GoMap::<u64, u64>::new());
        assert_eq!(m.insert(1, 10), None);
        assert_eq!(m.get_or_insert(1, 11), Some(10));
        assert_eq!(m.get_or_insert(2, 20), None);
        assert!(m.compare_and_swap(&1, &10, 12));
        assert!(!m.compare_and_swap(&1, &10, 13));
        assert_eq!(m.get(&1), Some(12));
        assert_eq!(m.remove(&1), Some(12));
        assert_eq!(m.len(), 1);
        let stats = m.stats();
        assert_eq!(stats.len, 1);
        assert!(stats.growth.is_some());
        assert!(stats.lock.is_some());
    }

    #[test]
    fn no_lost_update_across_threads() {
        let threads = 2u64;
        let keys = 64u64;
        let rounds = if cfg!(miri) { 5 } else { 2_000 };
        let m = Locked::rwlock(GoMap::<u64, u64>::new());
        let done = AtomicU64::new(0);
        std::thread::scope(|s| {
            for t in 0..threads {
                let (m, done) = (&m, &done);
                s.spawn(move || {
                    for r in 0..rounds {
                        let k = (r * 7 + t) % keys;
                        // Increment by CAS until it sticks; also grow the
                        // map with per-thread keys as we go.
                        loop {
                            let cur = m.get_or_insert(k, 0).unwrap_or(0);
                            if m.compare_and_swap(&k, &cur, cur + 1) {
                                break;
                            }
                        }
                        m.insert(1_000_000 * (t + 1) + r, r);
                        done.fetch_add(1, Ordering::Relaxed);
                    }
                });
            }
        });
        let total: u64 = (0..keys).filter_map(|k| m.get(&k)).sum();
        assert_eq!(total, done.load(Ordering::Relaxed));
        assert_eq!(total, threads * rounds);
        assert_eq!(
            m.len() as u64,
            keys.min(threads * rounds) + threads * rounds
        );
        assert!(m.stats().growth.unwrap().doublings > 0);
    }

    struct Name;
    impl MapVisitor<u64, u64> for Name {
        type Output = (Option<u64>, bool);
        fn visit<M: ConcurrentMap<u64, u64> + 'static>(self, map: M) -> Self::Output {
            map.insert(5, 50);
            (map.get(&5), map.stats().growth.is_some())
        }
    }

    #[test]
    fn registry_builds_gomap_rwlock() {
        let kind: MapKind = "gomap-rwlock".parse().unwrap();
        assert_eq!(kind, MapKind::GoMapRwLock);
        assert_eq!(kind.name(), "gomap-rwlock");
        assert!(MapKind::catalogue()
            .iter()
            .any(|(n, _)| *n == "gomap-rwlock"));
        for hasher in [HasherKind::Foldhash, HasherKind::SipHash] {
            assert_eq!(kind.build(hasher, 100, Name), (Some(50), true));
        }
    }
}
