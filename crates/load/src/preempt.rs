//! How long a thread was kept off its core while it could run: Linux's
//! per-thread `run_delay` (`/proc/thread-self/schedstat`, the second field:
//! ns spent runnable on a run queue, waiting for a CPU).
//!
//! Why a step needs it: on the 2-vCPU development VMs the kernel's DAMON
//! reclaim thread (`kdamond`, `paddr` + `pageout`) takes a core for ~2 ms
//! about 1–3 times a second (`/proc/<kdamond>/schedstat`: 67 s of CPU in
//! 35,373 slices, 1.9 ms each). One such pause delays a fraction of about
//! `pause / (threads × step × (1 − utilisation))` of a step's
//! transactions by up to the pause: past 1 % of a ~100 ms step at any load
//! above half, so it alone sets the step's p99 — the machine's, not the
//! map's. Of the default runs' steps below 80 % of capacity on that VM
//! (`benchsuite/runs/2026-12-02-vm20`), 61 % of those whose workers lost the
//! core for over 1 ms between two transactions had a p99 over 300 µs,
//! against 17 % of the others. The worker gaps (`Stalls`) see only pauses
//! that fall while a worker waits for its next arrival; `run_delay` also
//! sees those inside a transaction.

/// The CPU time of every thread of this process so far, ns.
///
/// Why: with threads ≥ cores, the measuring process's own other threads
/// run on the workers' cores — the step's coordinator, and a map's own
/// background thread (SyncMap's snapshot reclaimer, GoMap's freeing
/// thread). Their CPU time during a step is an upper bound on what they
/// took from the workers, and comes off the workers' run delay before the
/// step is judged preempted: the coordinator's cost is the harness's, paid
/// by every step and the noise floor alike, and a map's thread's cost is
/// the map's, which must stay in its p99.
pub(crate) fn process_cpu_ns() -> Option<u64> {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `clock_gettime` writes one `timespec` through the pointer,
    // which points to a live local of that type; it reads nothing else.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut t) };
    (rc == 0).then(|| t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64)
}

/// A thread's CPU time and run delay (time runnable but not running), ns,
/// read together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SchedTimes {
    pub cpu_ns: u64,
    pub delay_ns: u64,
}

impl SchedTimes {
    /// The calling thread's running totals; `None` where the kernel does
    /// not say (not Linux, or schedstat compiled out).
    pub(crate) fn now() -> Option<Self> {
        let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
        let mut f = text.split_whitespace().map(str::parse::<u64>);
        Some(SchedTimes {
            cpu_ns: f.next()?.ok()?,
            delay_ns: f.next()?.ok()?,
        })
    }

    /// What passed from `self` to `later`.
    pub(crate) fn until(self, later: Self) -> Self {
        SchedTimes {
            cpu_ns: later.cpu_ns.saturating_sub(self.cpu_ns),
            delay_ns: later.delay_ns.saturating_sub(self.delay_ns),
        }
    }
}

/// What the machine took from a step's workers (each worker's
/// [`SchedTimes`] over the step): the longest run delay of any worker less
/// the CPU time the process's other threads used meanwhile (`process_ns`,
/// the process's CPU time over the step, less the workers' own). `None`
/// when a figure is missing.
pub(crate) fn preempted_by_machine(workers: &[SchedTimes], process_ns: Option<u64>) -> Option<u64> {
    let longest = workers.iter().map(|t| t.delay_ns).max()?;
    let own: u64 = workers.iter().map(|t| t.cpu_ns).sum();
    let others = process_ns?.saturating_sub(own);
    Some(longest.saturating_sub(others))
}

/// A step whose worker was kept off its core for more than this share of
/// the step's measured length (and over [`PREEMPTED_MIN`]) is measured
/// again (once): a pause that long can alone put 1 % of the step's
/// transactions behind it.
pub const PREEMPTED_SHARE: f64 = 0.01;

/// Pauses shorter than this never count as too long, whatever the step's
/// length: they are the machine's routine (on the development VMs the
/// timer tick took 20–50 µs 250 times a second, the step's coordinator
/// waking on a worker's core 30–80 µs), in every step and in the noise
/// floor alike, not a rare event that one step meets and the next does not.
pub const PREEMPTED_MIN: std::time::Duration = std::time::Duration::from_micros(500);

/// The share of a run's planned map steps it may measure a second time
/// because a worker was preempted for too long ([`PREEMPTED_SHARE`]); the
/// CLI plans the step length with it, so the run keeps its time budget.
/// On the AMD development VM 7–16 % of default steps had a worker lose its
/// core for over 1 ms.
pub const PREEMPTED_REMEASURE_SHARE: f64 = 0.10;

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::{Duration, Instant};

    /// Spins for `d` of wall time.
    fn spin(d: Duration) {
        let t = Instant::now();
        while t.elapsed() < d {
            std::hint::spin_loop();
        }
    }

    #[test]
    fn what_the_processs_other_threads_used_is_not_the_machines() {
        let t = |cpu_ns, delay_ns| SchedTimes { cpu_ns, delay_ns };
        // Worker delays 2.3 and 0.3 ms; the process used 2 × 100 ms on the
        // workers plus 0.3 ms elsewhere (its coordinator): 2 ms is the
        // machine's.
        let w = [t(100_000_000, 2_300_000), t(100_000_000, 300_000)];
        assert_eq!(preempted_by_machine(&w, Some(200_300_000)), Some(2_000_000));
        // Others used more than the longest delay: nothing is the machine's.
        assert_eq!(preempted_by_machine(&w, Some(203_000_000)), Some(0));
        assert_eq!(preempted_by_machine(&w, None), None);
        assert_eq!(preempted_by_machine(&[], Some(1)), None);
    }

    #[test]
    fn a_thread_sharing_its_core_with_a_spinner_waits_for_it() {
        let delay = || SchedTimes::now().map(|t| t.delay_ns);
        let (Some(_), Some(core)) = (
            delay(),
            core_affinity::get_core_ids().and_then(|c| c.first().copied()),
        ) else {
            return; // no schedstat, or no core list: nothing to read
        };
        let done = AtomicBool::new(false);
        std::thread::scope(|s| {
            // Pinning is refused in a restricted cpuset: then the two
            // threads need not share a core, and there is nothing to see.
            if !core_affinity::set_for_current(core) {
                return;
            }
            let spinner = s.spawn(|| {
                if core_affinity::set_for_current(core) {
                    while !done.load(Ordering::Relaxed) {
                        std::hint::spin_loop();
                    }
                }
            });
            let before = delay().unwrap();
            // Two runnable threads on one core for 300 ms: the scheduler
            // hands the core over every few ms, and this one waits.
            spin(Duration::from_millis(300));
            let after = delay().unwrap();
            done.store(true, Ordering::Relaxed);
            spinner.join().unwrap();
            assert!(after > before, "run delay {before} -> {after}");
        });
    }
}
