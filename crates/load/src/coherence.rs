//! What a cache line costs to move between the workers' cores, measured
//! now: two threads pinned to two cores pass a token back and forth through
//! one atomic.
//!
//! Why it is measured: on a cloud VM the host places the virtual CPUs on
//! physical cores as it sees fit and moves them while a run goes on. On the
//! 2-vCPU AMD EPYC development VM two placements alternated within seconds:
//! one where a line moved in ~50 ns and sharded/dashmap reached ~25M txn/s
//! on two threads, one where it took ~2–3× longer (the vCPUs on different
//! core complexes, no shared L3) and the same maps reached ~15M — less than
//! one thread. The `noop` map, which shares no line, did not move. A map's
//! capacity and knee follow the placement, so every step records the
//! transfer time measured just before it (`Step::coherence_ns`), and a
//! spread across a run says the machine changed under it.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::Clock;

/// Round trips per round: 4,000 × 2 transfers × 35–210 ns ≈ 0.3–1.7 ms,
/// cheap enough to take before every step.
const ROUND_TRIPS: u64 = 4_000;

/// Written into the token when the ping thread could not be spawned, so
/// the pong thread, already waiting, ends instead of spinning forever.
const ABANDONED: u64 = u64::MAX;

/// One-way cache-line transfer time between the first two cores of this
/// thread's affinity, in ns:
/// the best of two rounds of `ROUND_TRIPS` ping-pongs, halved. `None`
/// when there are not two distinct cores to pin to, or when the OS refuses
/// a thread (the step that follows then says so itself).
pub fn line_transfer_ns(clock: &Clock) -> Option<f64> {
    let cores = core_affinity::get_core_ids()?;
    let (&a, &b) = (cores.first()?, cores.get(1)?);
    let mut best = f64::INFINITY;
    for _ in 0..2 {
        let token = AtomicU64::new(0);
        let ns = std::thread::scope(|s| {
            let t = &token;
            std::thread::Builder::new()
                .spawn_scoped(s, move || {
                    let _ = core_affinity::set_for_current(b);
                    for i in 0..ROUND_TRIPS {
                        loop {
                            match t.load(Ordering::Acquire) {
                                ABANDONED => return,
                                v if v == 2 * i + 1 => break,
                                _ => std::hint::spin_loop(),
                            }
                        }
                        t.store(2 * i + 2, Ordering::Release);
                    }
                })
                .ok()?;
            // The caller keeps its own affinity: the serving side runs on
            // a thread of its own too.
            let ping = std::thread::Builder::new().spawn_scoped(s, move || {
                let _ = core_affinity::set_for_current(a);
                let start = clock.ns();
                for i in 0..ROUND_TRIPS {
                    t.store(2 * i + 1, Ordering::Release);
                    while t.load(Ordering::Acquire) != 2 * i + 2 {
                        std::hint::spin_loop();
                    }
                }
                clock.ns() - start
            });
            match ping {
                Ok(h) => Some(h.join().expect("the ping thread does not panic")),
                Err(_) => {
                    t.store(ABANDONED, Ordering::Release);
                    None
                }
            }
        })?;
        best = best.min(ns as f64 / (2 * ROUND_TRIPS) as f64);
    }
    Some(best)
}

/// A step counts as measured in the reference placement when its transfer
/// time is within this factor of the reference. The development VM's three
/// placements (~16, ~36 and ~210 ns) are 2.3× and 5.8× apart; a steady
/// machine's rounds agree within ~10 %.
pub const PLACEMENT_BAND: f64 = 1.4;

/// A placement must make up at least this share of the survey to be the
/// reference: one the run meets this rarely is not worth waiting for.
pub const MIN_SHARE: f64 = 0.15;

/// Two busy threads on the two worker cores each run at most 1/this of
/// their speed alone when the cores are one: on the development VM the
/// shared-core spells measured 2.07× and the others 0.8–1.35×.
const SHARED_CORE_SLOWDOWN: f64 = 1.6;

/// Multiply steps per thread in [`core_shared`]: ~0.2 ms of work.
const SPIN_STEPS: u64 = 100_000;

/// Whether the first two cores of this thread's affinity are one core in
/// fact (two SMT siblings, or two vCPUs the host runs on one hardware
/// thread): the same integer work takes `SHARED_CORE_SLOWDOWN`× as long
/// with the other core busy as alone. The best of two rounds of each.
/// `None` when there are not two cores, or when the OS refuses a thread.
pub fn core_shared(clock: &Clock) -> Option<bool> {
    let cores = core_affinity::get_core_ids()?;
    let (&a, &b) = (cores.first()?, cores.get(1)?);
    let (mut alone, mut together) = (u64::MAX, u64::MAX);
    for _ in 0..2 {
        let ns = std::thread::scope(|s| {
            std::thread::Builder::new()
                .spawn_scoped(s, move || {
                    let _ = core_affinity::set_for_current(a);
                    let start = clock.ns();
                    spin(SPIN_STEPS);
                    clock.ns() - start
                })
                .ok()
                .map(|h| h.join().expect("the spinning thread does not panic"))
        })?;
        alone = alone.min(ns);
        let ready = AtomicU64::new(0);
        let ns = std::thread::scope(|s| {
            let r = &ready;
            std::thread::Builder::new()
                .spawn_scoped(s, move || {
                    let _ = core_affinity::set_for_current(b);
                    r.fetch_add(1, Ordering::AcqRel);
                    while r.load(Ordering::Acquire) < 2 {
                        std::hint::spin_loop();
                    }
                    spin(SPIN_STEPS);
                })
                .ok()?;
            let timed = std::thread::Builder::new().spawn_scoped(s, move || {
                let _ = core_affinity::set_for_current(a);
                r.fetch_add(1, Ordering::AcqRel);
                while r.load(Ordering::Acquire) < 2 {
                    std::hint::spin_loop();
                }
                let start = clock.ns();
                spin(SPIN_STEPS);
                clock.ns() - start
            });
            match timed {
                Ok(h) => Some(h.join().expect("the spinning thread does not panic")),
                Err(_) => {
                    // Release the first thread, which waits for this one:
                    // it spins its ~0.2 ms and ends.
                    r.fetch_add(1, Ordering::AcqRel);
                    None
                }
            }
        })?;
        together = together.min(ns);
    }
    Some(together as f64 >= SHARED_CORE_SLOWDOWN * alone.max(1) as f64)
}

/// Integer work that fills a core's multipliers: four independent chains.
fn spin(steps: u64) -> u64 {
    let (mut a, mut b, mut c, mut d) = (1u64, 2u64, 3u64, 4u64);
    for i in 0..steps {
        a = a.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(i);
        b = b.wrapping_mul(0xBF58_476D_1CE4_E5B9).wrapping_add(i);
        c = c.wrapping_mul(0x94D0_49BB_1331_11EB).wrapping_add(i);
        d = d.wrapping_mul(0x2545_F491_4F6C_DD1D).wrapping_add(i);
    }
    std::hint::black_box(a ^ b ^ c ^ d)
}

/// How long to sleep between two placement measurements while waiting.
const POLL: Duration = Duration::from_millis(20);

/// Holds the steps of a run to one placement of the worker cores.
///
/// On the development VM the host keeps the two vCPUs in one of three
/// placements at a time, for 0.1 s to ~10 s each: sharing a core (SMT
/// siblings, ~16 ns a line), on two cores of one L3 (~36 ns, ~3/4 of the
/// time) or on two dies (~210 ns). Lock-sharing maps' capacities differ by
/// up to 1.8× between them, so a staircase whose steps fall in different
/// placements draws a knee where the host moved, and two runs disagree by
/// as much. The gate makes every map step wait (a bounded time) until the
/// placement is the run's reference one — the fastest placement on two
/// separate cores that the run met often while it probed capacities — and
/// re-measures a step the host moved during. On a machine whose placement does not move, every measurement
/// is admitted at once and the gate costs one transfer measurement per step.
#[derive(Debug)]
pub struct PlacementGate {
    reference_ns: f64,
    /// Waiting time still allowed for the whole run.
    wait_left: Cell<Duration>,
    /// Longest wait before one step.
    max_wait: Duration,
    waited: Cell<Duration>,
}

impl PlacementGate {
    /// A gate whose reference is the fastest placement of the `survey`
    /// (what the run met: transfer time in ns, and whether the two cores
    /// were one, see [`core_shared`]) that is not a shared core and was met
    /// at least [`MIN_SHARE`] of the time, allowed to wait at most
    /// `max_wait` before one step and `total_wait` over the run. `None`
    /// without a usable survey.
    ///
    /// Why the fastest: a cache line moves fastest between two cores of one
    /// L3, and the maps that share lines run fastest there; two vCPUs on
    /// one core move a line faster still but halve each other's work.
    /// Picking by rank rather than by the majority keeps the same reference
    /// in two runs when the host favours the slower placement in one of
    /// them.
    ///
    /// ```
    /// use std::time::Duration;
    /// use mapknee_load::coherence::PlacementGate;
    /// let survey = [(210.0, false), (36.0, false), (16.0, true), (38.0, false), (205.0, false)];
    /// let g = PlacementGate::from_survey(&survey, Duration::ZERO, Duration::ZERO).unwrap();
    /// assert_eq!(g.reference_ns(), 36.0);
    /// assert!(g.admits(40.0) && !g.admits(16.0) && !g.admits(210.0));
    /// ```
    pub fn from_survey(
        survey: &[(f64, bool)],
        max_wait: Duration,
        total_wait: Duration,
    ) -> Option<Self> {
        let mut v: Vec<f64> = survey
            .iter()
            .filter(|(ns, shared)| ns.is_finite() && !shared)
            .map(|&(ns, _)| ns)
            .collect();
        v.sort_by(f64::total_cmp);
        // Clusters of placements: runs of sorted transfer times whose
        // neighbours are within the band's factor.
        let mut clusters: Vec<&[f64]> = Vec::new();
        let mut start = 0;
        for i in 1..=v.len() {
            if i == v.len() || v[i] > v[i - 1] * PLACEMENT_BAND {
                clusters.push(&v[start..i]);
                start = i;
            }
        }
        let enough = ((v.len() as f64 * MIN_SHARE).ceil() as usize).max(1);
        let pick = clusters
            .iter()
            .find(|c| c.len() >= enough)
            .or(clusters.first())?;
        Some(PlacementGate {
            reference_ns: pick[(pick.len() - 1) / 2],
            wait_left: Cell::new(total_wait),
            max_wait,
            waited: Cell::new(Duration::ZERO),
        })
    }

    /// The reference placement's transfer time, ns.
    pub fn reference_ns(&self) -> f64 {
        self.reference_ns
    }

    /// The transfer times admitted, `[low, high]` ns.
    pub fn band_ns(&self) -> [f64; 2] {
        [
            self.reference_ns / PLACEMENT_BAND,
            self.reference_ns * PLACEMENT_BAND,
        ]
    }

    /// Whether a measured transfer time is the reference placement.
    pub fn admits(&self, ns: f64) -> bool {
        let [lo, hi] = self.band_ns();
        (lo..=hi).contains(&ns)
    }

    /// Whether the run may still wait.
    pub fn can_wait(&self) -> bool {
        !self.wait_left.get().is_zero()
    }

    /// Total time spent waiting so far.
    pub fn waited(&self) -> Duration {
        self.waited.get()
    }

    /// Measures the placement until it is the reference one, the step's or
    /// the run's waiting allowance is spent, or `stop` is raised; returns
    /// the last measurement (the step runs either way: a step measured
    /// outside the band is recorded as such, never dropped).
    pub fn wait(&self, clock: &Clock, stop: &AtomicBool) -> Option<f64> {
        let start = Instant::now();
        let mut ns = line_transfer_ns(clock)?;
        while !self.admits(ns) && !stop.load(Ordering::Relaxed) {
            let spent = start.elapsed();
            if spent >= self.max_wait || spent >= self.wait_left.get() {
                break;
            }
            std::thread::sleep(POLL);
            ns = line_transfer_ns(clock)?;
        }
        let spent = start.elapsed();
        self.wait_left
            .set(self.wait_left.get().saturating_sub(spent));
        self.waited.set(self.waited.get() + spent);
        Some(ns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_transfer_takes_positive_finite_time() {
        // On one core there is nothing to measure.
        if core_affinity::get_core_ids().is_none_or(|c| c.len() < 2) {
            assert_eq!(line_transfer_ns(&Clock::new()), None);
            return;
        }
        let ns = line_transfer_ns(&Clock::new()).unwrap();
        assert!(ns.is_finite() && ns > 0.0, "{ns}");
    }

    #[test]
    fn the_reference_is_the_fastest_placement_met_often_on_separate_cores() {
        let z = Duration::ZERO;
        let ns = |g: Option<PlacementGate>| g.unwrap().reference_ns();
        // Mostly the slow placement: the fast one, met 3 times in 8, still
        // is the reference; the shared core is never.
        let survey = [
            (210.0, false),
            (36.0, false),
            (205.0, false),
            (16.0, true),
            (37.0, false),
            (212.0, false),
            (35.0, false),
            (208.0, false),
        ];
        assert_eq!(ns(PlacementGate::from_survey(&survey, z, z)), 36.0);
        // Met once in twelve: not worth waiting for.
        let mut rare = vec![(200.0, false); 11];
        rare.push((36.0, false));
        assert_eq!(ns(PlacementGate::from_survey(&rare, z, z)), 200.0);
        // A steady machine: its one placement.
        assert_eq!(
            ns(PlacementGate::from_survey(&[(80.0, false); 3], z, z)),
            80.0
        );
        let g = PlacementGate::from_survey(&survey, z, z).unwrap();
        let [lo, hi] = g.band_ns();
        assert!(lo > 16.0 && hi < 205.0, "{lo} {hi}");
        assert!(PlacementGate::from_survey(&[], z, z).is_none());
        assert!(PlacementGate::from_survey(&[(f64::NAN, false)], z, z).is_none());
        assert!(PlacementGate::from_survey(&[(16.0, true)], z, z).is_none());
    }

    #[test]
    fn two_cores_are_judged_shared_or_not() {
        // Whatever the placement, the answer exists when there are two
        // cores and does not when there is one.
        let two = core_affinity::get_core_ids().is_some_and(|c| c.len() >= 2);
        assert_eq!(core_shared(&Clock::new()).is_some(), two);
    }

    #[test]
    fn a_gate_with_no_allowance_measures_once_and_never_waits() {
        if core_affinity::get_core_ids().is_none_or(|c| c.len() < 2) {
            return;
        }
        // A reference no placement can match: the gate must give up at
        // once, having spent nothing of a zero allowance.
        let g =
            PlacementGate::from_survey(&[(1e-6, false)], Duration::from_secs(5), Duration::ZERO)
                .unwrap();
        assert!(!g.can_wait());
        let ns = g.wait(&Clock::new(), &AtomicBool::new(false)).unwrap();
        assert!(!g.admits(ns));
        assert!(!g.can_wait());
    }
}
