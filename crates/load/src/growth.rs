//! The growth experiment (study part 4.4, "pauses vs migration"): grow a
//! map from empty, timing every insert, to see what each map's growth costs
//! — one long pause (std `HashMap`'s all-at-once rehash) or many small
//! steps (`GoMap`'s incremental evacuation) — and what it costs in total.
//!
//! Every insert's latency goes into an HDR histogram (ns, 3 significant
//! digits) read with the TSC clock (`quanta`), and the exact maximum is kept
//! beside it. Keys are distinct scrambled `u64`s, the same sequence for
//! every map. [`study`] grows every map once per round, rotating which map
//! goes first, with a grower the caller supplies ([`grow`] in this process;
//! `mapknee growth` runs each growth in a child process of its own), and
//! keeps every round; [`summarize`] picks each map's median round, whole.
//!
//! ```
//! use mapknee_load::growth::{grow, keys, study, summarize, GrowthMap};
//! let maps: Vec<GrowthMap> = vec!["gomap".parse()?, "std".parse()?, "rwlock".parse()?];
//! let keys = keys(5_000);
//! let rounds = study(&maps, 2, |m| grow(m, &keys, 1), |_| {}).unwrap();
//! assert_eq!(rounds.len(), 2);
//! assert_eq!(rounds[1].runs[0].map, "std", "round 2 starts with the second map");
//! let runs = summarize(&rounds);
//! assert_eq!(runs.len(), 3);
//! assert!(runs[0].growths.unwrap() > 0);
//! assert!(runs.iter().all(|r| r.max_insert_ns >= r.p9999_insert_ns));
//! # Ok::<(), mapknee_load::ParseError>(())
//! ```

use std::collections::HashMap;
use std::fmt;
use std::hash::BuildHasher;
use std::str::FromStr;
use std::sync::{Condvar, Mutex};

use foldhash::fast::FixedState;
use hdrhistogram::Histogram;
use mapknee_maps::{ConcurrentMap, GoMap, HasherKind, MapKind, MapVisitor};
use serde::{Deserialize, Serialize};

use crate::{hist, Machine, ParseError, SCHEMA};

/// Inserts per map when not told otherwise.
pub const DEFAULT_INSERTS: u64 = 1_000_000;

/// The foldhash seed of the single-threaded maps (`gomap`, `std`): fixed,
/// so both hash every key alike in every run.
pub const SEED: u64 = 0x006d_6170_6b6e_6565;

/// A map the growth experiment can grow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrowthMap {
    /// `gomap`: [`GoMap`] itself, single thread, `&mut` inserts.
    GoMap,
    /// `std`: std `HashMap`, single thread.
    Std,
    /// Any map the registry builds, grown through [`ConcurrentMap::insert`].
    Concurrent(MapKind),
}

impl GrowthMap {
    /// The name as the CLI spells it.
    pub fn name(&self) -> String {
        match self {
            GrowthMap::GoMap => "gomap".into(),
            GrowthMap::Std => "std".into(),
            GrowthMap::Concurrent(kind) => kind.name(),
        }
    }

    /// Whether the map is grown by one thread only, whatever `threads` says.
    pub fn single_threaded(&self) -> bool {
        !matches!(self, GrowthMap::Concurrent(_))
    }
}

impl fmt::Display for GrowthMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

impl FromStr for GrowthMap {
    type Err = ParseError;

    /// ```
    /// use mapknee_load::growth::GrowthMap;
    /// assert_eq!("std".parse::<GrowthMap>().unwrap(), GrowthMap::Std);
    /// assert_eq!("dashmap".parse::<GrowthMap>().unwrap().name(), "dashmap");
    /// assert!("btree".parse::<GrowthMap>().unwrap_err().0.contains("gomap, std"));
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "gomap" => Ok(GrowthMap::GoMap),
            "std" => Ok(GrowthMap::Std),
            _ => s
                .parse::<MapKind>()
                .map(GrowthMap::Concurrent)
                .map_err(|e| {
                    let msg = e.0.replacen("(known: ", "(known: gomap, std, ", 1);
                    ParseError(msg)
                }),
        }
    }
}

/// One map's growth from empty: an entry of a growth result file's
/// `rounds[].runs[]` (every growth) and `runs[]` (each map's summary).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrowthRun {
    /// The map's CLI name.
    pub map: String,
    /// Keys inserted, from empty.
    pub inserts: u64,
    /// Threads that inserted (1 for the single-threaded maps).
    pub threads: usize,
    /// Wall time of the whole growth, first insert to last, harness included
    /// (two clock reads and a histogram record per insert, the same for all).
    pub total_ns: u64,
    /// The slowest single insert, exact.
    pub max_insert_ns: u64,
    /// 99th percentile of the insert latencies (HDR, 3 significant digits).
    pub p99_insert_ns: u64,
    /// 99.99th percentile of the insert latencies.
    pub p9999_insert_ns: u64,
    /// Growths the map counted (doublings + same-size), or `null` when the
    /// map does not count them.
    pub growths: Option<u64>,
    /// Old buckets the map moved into a new array while it grew (GoMap's
    /// incremental evacuation), or `null` when the map does not count them
    /// (*extension*). `mapknee trace`'s tracers see the same amount as the
    /// sum of the `gomap_evacuate` probe's argument.
    #[serde(default)]
    pub buckets_evacuated: Option<u64>,
    /// The round this growth ran in, counted from 1; `null` for a growth
    /// made outside [`study`] (*extension*).
    #[serde(default)]
    pub round: Option<usize>,
}

/// One round of a study: every map grown once (*extension*).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrowthRound {
    /// The round, counted from 1.
    pub round: usize,
    /// One growth per map, in the order they ran (see [`round_order`]).
    pub runs: Vec<GrowthRun>,
}

/// A whole growth result file (`kind: "growth"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GrowthResults {
    /// Always [`SCHEMA`].
    pub schema: String,
    /// Always `"growth"`.
    pub kind: String,
    /// Where it ran.
    pub machine: Machine,
    /// One per map, in the order of the maps as given: the map's median
    /// round by total time, every field from that one round (see
    /// [`summarize`]); its `round` says which.
    pub runs: Vec<GrowthRun>,
    /// Rounds each map ran (*extension*).
    #[serde(default)]
    pub repeat: usize,
    /// Every round, in the order they ran (*extension*).
    #[serde(default)]
    pub rounds: Vec<GrowthRound>,
    /// Wall time of the whole command, in seconds (*extension*).
    #[serde(default)]
    pub elapsed_s: f64,
}

impl GrowthResults {
    /// Wraps `rounds` (from [`study`]) with the schema tag and each map's
    /// summary.
    pub fn new(machine: Machine, rounds: Vec<GrowthRound>, elapsed_s: f64) -> Self {
        GrowthResults {
            schema: SCHEMA.into(),
            kind: "growth".into(),
            machine,
            runs: summarize(&rounds),
            repeat: rounds.len(),
            rounds,
            elapsed_s,
        }
    }
}

/// `n` distinct keys in a scrambled order: the splitmix64 finalizer of
/// `0..n`, a bijection on `u64`, so no two collide.
pub fn keys(n: u64) -> Vec<u64> {
    (0..n).map(scramble).collect()
}

/// [`keys`], reserving their memory first: an error, not an abort, when
/// `n` keys do not fit.
///
/// ```
/// assert_eq!(mapknee_load::growth::try_keys(3).unwrap().len(), 3);
/// assert!(mapknee_load::growth::try_keys(u64::MAX).is_err());
/// ```
pub fn try_keys(n: u64) -> Result<Vec<u64>, String> {
    let bytes = n.saturating_mul(8);
    let fail = |why: String| {
        format!(
            "cannot hold {n} keys ({}): {why}",
            crate::footprint::fmt_bytes(bytes)
        )
    };
    let len = usize::try_from(n).map_err(|e| fail(e.to_string()))?;
    let mut v = Vec::new();
    v.try_reserve_exact(len).map_err(|e| fail(e.to_string()))?;
    v.extend((0..n).map(scramble));
    Ok(v)
}

fn scramble(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// Insert latencies of one thread: the HDR histogram and the exact max.
#[derive(Debug)]
pub struct Latencies {
    hist: Histogram<u64>,
    max: u64,
}

impl Default for Latencies {
    fn default() -> Self {
        Latencies {
            hist: hist::new_histogram(),
            max: 0,
        }
    }
}

impl Latencies {
    /// Records one latency in ns.
    #[inline]
    pub fn record(&mut self, ns: u64) {
        crate::hist::record(&mut self.hist, ns);
        self.max = self.max.max(ns);
    }

    /// Adds another thread's latencies.
    pub fn merge(&mut self, other: &Latencies) {
        hist::merge(&mut self.hist, &other.hist);
        self.max = self.max.max(other.max);
    }

    /// Latencies recorded.
    pub fn len(&self) -> u64 {
        self.hist.len()
    }

    /// Whether none was recorded.
    pub fn is_empty(&self) -> bool {
        self.hist.is_empty()
    }

    /// `(max, p99, p99.99)`: the exact max, and percentiles clamped to it
    /// (an HDR quantile is its bucket's top, which can pass the true max).
    pub fn summary(&self) -> (u64, u64, u64) {
        if self.is_empty() {
            return (0, 0, 0);
        }
        let at = |q: f64| self.hist.value_at_quantile(q).min(self.max);
        (self.max, at(0.99), at(0.9999))
    }
}

/// Times `insert` on each key with the TSC clock.
#[inline]
fn timed(clock: &quanta::Clock, keys: &[u64], lat: &mut Latencies, mut insert: impl FnMut(u64)) {
    for &k in keys {
        let start = clock.raw();
        insert(k);
        let end = clock.raw();
        lat.record(clock.delta_as_nanos(start, end));
    }
}

fn run_of(
    map: &GrowthMap,
    inserts: usize,
    threads: usize,
    total_ns: u64,
    lat: &Latencies,
) -> GrowthRun {
    let (max, p99, p9999) = lat.summary();
    GrowthRun {
        map: map.name(),
        inserts: inserts as u64,
        threads,
        total_ns,
        max_insert_ns: max,
        p99_insert_ns: p99,
        p9999_insert_ns: p9999,
        growths: None,
        buckets_evacuated: None,
        round: None,
    }
}

/// Grows `map` from empty with `keys` (in order), timing every insert.
/// Concurrent maps are built with capacity hint 0 and the registry's
/// foldhash, and `threads` threads each insert a contiguous slice of `keys`;
/// `gomap` and `std` always use one thread.
///
/// GoMap's reclaimer thread is started first, whatever the map, so no
/// timed insert pays for its spawn and every map runs beside the same idle
/// thread.
///
/// Fails, with one line, when the OS refuses an inserting thread.
///
/// # Panics
/// If `threads` is 0, or a map ends with a length other than `keys.len()`.
pub fn grow(map: &GrowthMap, keys: &[u64], threads: usize) -> Result<GrowthRun, String> {
    assert!(threads > 0, "at least one thread");
    mapknee_maps::gomap::start_reclaimer();
    let clock = quanta::Clock::new();
    let hasher = FixedState::with_seed(SEED);
    match map {
        GrowthMap::GoMap => {
            let mut m = GoMap::with_hasher(hasher);
            let mut lat = Latencies::default();
            let start = clock.raw();
            timed(&clock, keys, &mut lat, |k| {
                m.insert(k, k);
            });
            let total = clock.delta_as_nanos(start, clock.raw());
            assert_eq!(m.len(), keys.len(), "gomap lost keys");
            let g = m.growth_stats();
            Ok(GrowthRun {
                growths: Some(g.doublings + g.same_size),
                buckets_evacuated: Some(g.buckets_evacuated),
                ..run_of(map, keys.len(), 1, total, &lat)
            })
        }
        GrowthMap::Std => Ok(grow_std(&clock, map, keys, hasher)),
        GrowthMap::Concurrent(kind) => kind.build(
            HasherKind::Foldhash,
            0,
            Visit {
                map,
                keys,
                threads,
                clock: &clock,
            },
        ),
    }
}

fn grow_std<S: BuildHasher>(
    clock: &quanta::Clock,
    map: &GrowthMap,
    keys: &[u64],
    hasher: S,
) -> GrowthRun {
    let mut m = HashMap::with_hasher(hasher);
    let mut lat = Latencies::default();
    let start = clock.raw();
    timed(clock, keys, &mut lat, |k| {
        m.insert(k, k);
    });
    let total = clock.delta_as_nanos(start, clock.raw());
    assert_eq!(m.len(), keys.len(), "std lost keys");
    run_of(map, keys.len(), 1, total, &lat)
}

struct Visit<'a> {
    map: &'a GrowthMap,
    keys: &'a [u64],
    threads: usize,
    clock: &'a quanta::Clock,
}

/// The inserting threads' start: all of them at once when every one was
/// spawned (`Some(true)`), none when one could not be (`Some(false)`). A
/// `Barrier` cannot be called off, and would leave the spawned threads
/// waiting forever for one that never came.
#[derive(Default)]
struct Gate {
    open: Mutex<Option<bool>>,
    changed: Condvar,
}

impl Gate {
    fn set(&self, go: bool) {
        *self.open.lock().unwrap_or_else(|e| e.into_inner()) = Some(go);
        self.changed.notify_all();
    }

    fn wait(&self) -> bool {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            match *open {
                Some(go) => return go,
                None => open = self.changed.wait(open).unwrap_or_else(|e| e.into_inner()),
            }
        }
    }
}

impl MapVisitor<u64, u64> for Visit<'_> {
    type Output = Result<GrowthRun, String>;

    fn visit<M: ConcurrentMap<u64, u64> + 'static>(self, m: M) -> Self::Output {
        let Visit {
            map,
            keys,
            threads,
            clock,
        } = self;
        let chunk = keys.len().div_ceil(threads).max(1);
        let gate = Gate::default();
        let (start, end, lat) = std::thread::scope(|s| {
            let mut workers = Vec::with_capacity(threads);
            for t in 0..threads {
                let lo = (t * chunk).min(keys.len());
                let hi = ((t + 1) * chunk).min(keys.len());
                let part = &keys[lo..hi];
                let (m, gate) = (&m, &gate);
                let spawned = std::thread::Builder::new().spawn_scoped(s, move || {
                    let mut lat = Latencies::default();
                    if !gate.wait() {
                        return None;
                    }
                    timed(clock, part, &mut lat, |k| {
                        m.insert(k, k);
                    });
                    Some((lat, clock.raw()))
                });
                match spawned {
                    Ok(w) => workers.push(w),
                    Err(e) => {
                        gate.set(false);
                        return Err(format!(
                            "cannot start inserting thread {} of {threads}: {e}",
                            t + 1
                        ));
                    }
                }
            }
            let start = clock.raw();
            gate.set(true);
            let mut all = Latencies::default();
            let mut end = start;
            for w in workers {
                let (lat, done) = w
                    .join()
                    .expect("a growth thread panicked")
                    .expect("the gate opened");
                all.merge(&lat);
                end = end.max(done);
            }
            Ok((start, end, all))
        })?;
        let total = clock.delta_as_nanos(start, end);
        assert_eq!(m.len(), keys.len(), "{} lost keys", map.name());
        let growth = m.stats().growth;
        Ok(GrowthRun {
            growths: growth.map(|g| g.doublings + g.same_size),
            buckets_evacuated: growth.map(|g| g.buckets_evacuated),
            ..run_of(map, keys.len(), threads, total, &lat)
        })
    }
}

/// The order of the maps in round `round` (counted from 1), as indices
/// into `n` maps: round r starts with map (r − 1) mod n and goes on in the
/// given order, wrapping, so over any n rounds each map runs once in each
/// position.
///
/// ```
/// use mapknee_load::growth::round_order;
/// assert_eq!(round_order(3, 1).collect::<Vec<_>>(), [0, 1, 2]);
/// assert_eq!(round_order(3, 2).collect::<Vec<_>>(), [1, 2, 0]);
/// assert_eq!(round_order(3, 4).collect::<Vec<_>>(), [0, 1, 2]);
/// ```
pub fn round_order(n: usize, round: usize) -> impl Iterator<Item = usize> {
    let first = round.saturating_sub(1);
    (0..n).map(move |i| (first + i) % n)
}

/// Grows every map in `maps` once per round, `repeat` rounds, in the order
/// of [`round_order`], so a map that gains (or loses) from running first, or
/// after another, does so in as many rounds as the others when `repeat` is
/// a multiple of the number of maps. `grow` does one growth; `progress` is
/// called after each with its run (`round` set). Stops at `grow`'s first
/// error.
///
/// # Panics
/// If `maps` is empty or `repeat` is 0.
pub fn study<E>(
    maps: &[GrowthMap],
    repeat: usize,
    mut grow: impl FnMut(&GrowthMap) -> Result<GrowthRun, E>,
    mut progress: impl FnMut(&GrowthRun),
) -> Result<Vec<GrowthRound>, E> {
    assert!(!maps.is_empty() && repeat > 0);
    (1..=repeat)
        .map(|round| {
            let runs = round_order(maps.len(), round)
                .map(|i| {
                    let run = GrowthRun {
                        round: Some(round),
                        ..grow(&maps[i])?
                    };
                    progress(&run);
                    Ok(run)
                })
                .collect::<Result<_, E>>()?;
            Ok(GrowthRound { round, runs })
        })
        .collect()
}

/// Each map's summary: its median round by total time (the lower middle
/// for an even count), whole. Every figure of a summary comes from that one
/// round; per-field medians would pair one round's worst insert with
/// another's total. Maps come in the order of the first round, which is the
/// order they were given.
///
/// # Panics
/// If a map of the first round is missing from a later one.
pub fn summarize(rounds: &[GrowthRound]) -> Vec<GrowthRun> {
    let Some(first) = rounds.first() else {
        return Vec::new();
    };
    first
        .runs
        .iter()
        .map(|r| {
            let mut runs: Vec<&GrowthRun> = rounds
                .iter()
                .map(|round| {
                    round
                        .runs
                        .iter()
                        .find(|x| x.map == r.map)
                        .expect("every map runs in every round")
                })
                .collect();
            runs.sort_by_key(|x| x.total_ns);
            runs[(runs.len() - 1) / 2].clone()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn keys_are_distinct_and_scrambled() {
        let k = keys(100_000);
        assert_eq!(k.len(), 100_000);
        assert_eq!(k.iter().collect::<HashSet<_>>().len(), 100_000);
        assert_eq!(k, keys(100_000), "the same sequence every time");
        assert!(
            k.windows(2).filter(|w| w[0] < w[1]).count() < 60_000,
            "not in order"
        );
    }

    #[test]
    fn summary_keeps_the_exact_max_and_clamps_quantiles() {
        let mut a = Latencies::default();
        let mut b = Latencies::default();
        for v in 1..=9_999u64 {
            a.record(100 + v % 7);
        }
        b.record(123_457);
        a.merge(&b);
        assert_eq!(a.len(), 10_000);
        let (max, p99, p9999) = a.summary();
        assert_eq!(max, 123_457, "exact, not the HDR bucket's top");
        assert!((100..=106).contains(&p99));
        assert!(p9999 <= max);
        assert_eq!(Latencies::default().summary(), (0, 0, 0));
    }

    /// Regression: `saturating_record` on a fresh histogram clamped every
    /// insert slower than its initial range (~2 µs) down to that range, so
    /// the tail quantiles came out far too low.
    #[test]
    fn slow_inserts_keep_their_tail() {
        let mut l = Latencies::default();
        for _ in 0..9_900 {
            l.record(100);
        }
        for _ in 0..100 {
            l.record(1_000_000);
        }
        let (max, _, p9999) = l.summary();
        assert_eq!(max, 1_000_000);
        assert!(p9999 >= 999_000, "p99.99 {p9999} lost the slow inserts");
    }

    fn run(map: &str, total_ns: u64, max_insert_ns: u64) -> GrowthRun {
        GrowthRun {
            map: map.into(),
            inserts: 1,
            threads: 1,
            total_ns,
            max_insert_ns,
            p99_insert_ns: 1,
            p9999_insert_ns: 2,
            growths: None,
            buckets_evacuated: None,
            round: None,
        }
    }

    #[test]
    fn study_rotates_the_first_map_and_keeps_every_round() {
        let maps: Vec<GrowthMap> = ["gomap", "std", "rwlock"]
            .iter()
            .map(|m| m.parse().unwrap())
            .collect();
        let mut seen = Vec::new();
        let rounds = study(
            &maps,
            4,
            |m| Ok::<_, ()>(run(&m.name(), 1, 1)),
            |r| seen.push((r.round.unwrap(), r.map.clone())),
        )
        .unwrap();
        let order: Vec<Vec<&str>> = rounds
            .iter()
            .map(|r| r.runs.iter().map(|x| x.map.as_str()).collect())
            .collect();
        assert_eq!(
            order,
            [
                ["gomap", "std", "rwlock"],
                ["std", "rwlock", "gomap"],
                ["rwlock", "gomap", "std"],
                ["gomap", "std", "rwlock"],
            ]
        );
        assert_eq!(
            rounds.iter().map(|r| r.round).collect::<Vec<_>>(),
            [1, 2, 3, 4]
        );
        assert!(rounds
            .iter()
            .all(|r| r.runs.iter().all(|x| x.round == Some(r.round))));
        assert_eq!(seen.len(), 12);
        assert_eq!(seen[3], (2, "std".to_string()), "progress in run order");
    }

    #[test]
    fn study_stops_at_the_first_error() {
        let mut calls = 0;
        let maps = [GrowthMap::GoMap, GrowthMap::Std];
        let out = study(
            &maps,
            3,
            |m| {
                calls += 1;
                match m {
                    GrowthMap::Std => Err("std failed"),
                    _ => Ok(run("gomap", 1, 1)),
                }
            },
            |_| {},
        );
        assert_eq!(out, Err("std failed"));
        assert_eq!(calls, 2);
    }

    /// Regression: the summary took each field's median on its own, so a
    /// map's worst insert and its total could come from different rounds.
    #[test]
    fn summary_is_the_median_round_whole() {
        let round = |n: usize, runs: Vec<GrowthRun>| GrowthRound {
            round: n,
            runs: runs
                .into_iter()
                .map(|r| GrowthRun {
                    round: Some(n),
                    ..r
                })
                .collect(),
        };
        let rounds = [
            round(1, vec![run("a", 3, 10), run("b", 7, 1)]),
            round(2, vec![run("b", 5, 2), run("a", 1, 30)]),
            round(3, vec![run("a", 2, 5), run("b", 6, 3)]),
        ];
        let s = summarize(&rounds);
        let got: Vec<_> = s
            .iter()
            .map(|r| (r.map.as_str(), r.round, r.total_ns, r.max_insert_ns))
            .collect();
        // a's totals 3, 1, 2: round 3 (total 2) whole, its max 5 — not the
        // per-field median max 10 of round 1.
        assert_eq!(got, [("a", Some(3), 2, 5), ("b", Some(3), 6, 3)]);
        let even = summarize(&rounds[..2]);
        assert_eq!((even[0].round, even[1].round), (Some(2), Some(2)));
        assert!(summarize(&[]).is_empty());
    }

    #[test]
    fn concurrent_threads_split_the_keys() {
        let k = keys(10_001);
        let run = grow(&"sharded".parse().unwrap(), &k, 3).unwrap();
        assert_eq!((run.inserts, run.threads), (10_001, 3));
        assert!(
            run.max_insert_ns >= run.p9999_insert_ns && run.p9999_insert_ns >= run.p99_insert_ns
        );
        assert!(run.total_ns > 0);
        let go = grow(&GrowthMap::GoMap, &k, 4).unwrap();
        assert_eq!(go.threads, 1, "gomap is single-threaded");
        assert!(go.growths.unwrap() > 0);
        let via_registry = grow(&"gomap-rwlock".parse().unwrap(), &k, 2).unwrap();
        assert!(via_registry.growths.unwrap() > 0);
    }
}
