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
//! that fall while a worker waits for its next arrival; `run_delay` tells
//! which long transactions were pauses too ([`machine_pause`]).
//!
//! Only the overall p99 (the SLO capacity's, the table's) is at stake: the
//! knee reads each step's typical p99, the median of its 10 ms windows',
//! which one pause does not move (default run on the AMD VM,
//! `benchsuite/runs/2026-12-02-vm21`: median typical p99 25.7 µs in the
//! steps below 60 % of capacity with a > 1 ms gap, 27.3 µs in the others,
//! whose overall p99 medians were 541 and 59 µs).

/// The names of the kernel's running DAMON threads (`kdamond.N`), read
/// from `/proc/*/comm` (readable by any user, unlike DAMON's sysfs `state`
/// files, and covering threads the `damon_reclaim` module starts too);
/// empty where there are none.
///
/// Why `run` looks: on the development VMs a `kdamond` doing reclaim
/// (`paddr` + `pageout`) takes a core for ~2 ms one to three times a second
/// (see the module's comment), and on a 2-core machine a worker waits it
/// out; stopping it removed most of the steps' > 1 ms pauses there, though
/// not the knees' spread (README: preempted steps). Whoever can may stop
/// it while measuring; a user who cannot should know its pauses are the
/// machine's.
pub fn damon_threads() -> Vec<String> {
    damon_threads_in(std::path::Path::new("/proc"))
}

/// [`damon_threads`] over a procfs tree rooted at `proc`.
fn damon_threads_in(proc: &std::path::Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(proc) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_str()
                .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
        })
        .filter_map(|e| std::fs::read_to_string(e.path().join("comm")).ok())
        .map(|comm| comm.trim_end().to_string())
        .filter(|comm| comm.starts_with("kdamond"))
        .collect();
    names.sort();
    names
}

/// The CPU time of every thread of this process so far, ns.
///
/// Why: a map's own background thread (SyncMap's snapshot reclaimer,
/// GoMap's freeing thread) runs on the workers' cores, and a worker it
/// kept waiting was kept waiting by the map, not by the machine. The
/// process's CPU time over a step, less the workers' and the coordinator's
/// own, is what such threads used (see [`machine_pause`]).
pub(crate) fn process_cpu_ns() -> Option<u64> {
    cpu_clock_ns(libc::CLOCK_PROCESS_CPUTIME_ID)
}

/// A CPU-time clock's reading, ns.
fn cpu_clock_ns(clock: libc::clockid_t) -> Option<u64> {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `clock_gettime` writes one `timespec` through the pointer,
    // which points to a live local of that type; it reads nothing else.
    let rc = unsafe { libc::clock_gettime(clock, &mut t) };
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
    ///
    /// The CPU time is the thread's CPU clock, not schedstat's first
    /// field: that one is brought up to date only at a scheduler tick or a
    /// switch, so a spinning thread's reading lags by up to a tick (4 ms
    /// at 250 Hz), and the workers' CPU taken off the process's came out
    /// 2.8 ms short per default step (the median on the AMD VM) — time no
    /// thread used. The run delay is current: the reading thread is
    /// running, so every wait it had has been added.
    pub(crate) fn now() -> Option<Self> {
        let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
        let delay_ns = text.split_whitespace().nth(1)?.parse().ok()?;
        Some(SchedTimes {
            cpu_ns: cpu_clock_ns(libc::CLOCK_THREAD_CPUTIME_ID)?,
            delay_ns,
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

/// What one worker saw of the step's pauses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WorkerPauses {
    /// Its longest gap between two clock reads while it waited for an
    /// arrival ([`Stalls`](crate::Stalls)), ns.
    pub gap_ns: u64,
    /// Its longest transaction, ns.
    pub service_max_ns: u64,
    /// Its run delay and CPU time over the step.
    pub sched: SchedTimes,
}

/// The longest single pause the machine dealt any worker of a step, ns:
/// what a step is judged preempted on ([`PREEMPTED_SHARE`]).
///
/// A worker's pause is either
/// - a gap while it waited for an arrival: it was spinning on the clock,
///   and nothing in the process stops a spinning thread for a millisecond
///   but the OS or the hypervisor (whose steal the guest's run delay does
///   not even see); or
/// - its longest transaction, when its run delay over the step covers at
///   least half of it: a map's own waits (a parked lock waiter, a rebuild
///   the worker ran itself) are not run delay, a worker kept off its core
///   mid-transaction is.
///
/// Either counts only when it is longer than the CPU time the process's
/// other threads, which are the map's own (`background_ns`), used during
/// the step: those may have been what kept the worker waiting, and a
/// map's cost must stay in its p99.
///
/// Why not the longest worker's *total* run delay less all the process's
/// other CPU, as this was first measured: that CPU came out at a median of
/// 3.4 ms per 100 ms default step on the AMD VM
/// (`benchsuite/runs/2026-12-02-vm21`), most of it the lag of schedstat's
/// CPU field ([`SchedTimes::now`]; with the CPU clocks: 0.23 ms for the
/// coordinator, 0.29 ms for the rest), and it swamped the ~2 ms pauses the
/// figure was meant to find: of 110 steps with a > 1 ms worker gap, 20
/// were marked. A total also adds up the coordinator's and the OS's many
/// short slices, which are in every step alike; one long pause is not.
pub(crate) fn machine_pause(workers: &[WorkerPauses], background_ns: u64) -> u64 {
    workers
        .iter()
        .map(|w| {
            let gap = w.gap_ns;
            let delayed = w.sched.delay_ns.saturating_sub(background_ns);
            let in_txn = if delayed.saturating_mul(2) >= w.service_max_ns {
                w.service_max_ns
            } else {
                0
            };
            gap.max(in_txn)
        })
        .filter(|&pause| pause > background_ns)
        .max()
        .unwrap_or(0)
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

/// A preempted step is measured again only when its p99 is at most this
/// many times the pause (`machine_pause`): a worker kept off its core
/// for `P` delays the transactions due meanwhile by at most `P` (each
/// later one waits less, as the worker catches up), so a p99 more than
/// twice the pause was set by more than the pause — a saturated step's
/// queue, a map's own stall — and measuring it again would spend the
/// map × mix's allowance ([`PREEMPTED_REMEASURE_SHARE`]) on a figure the pause
/// did not decide.
pub const PREEMPTED_P99_FACTOR: u64 = 2;

/// The share of each map × mix's planned steps the run may measure a
/// second time because a worker was preempted for too long
/// ([`PREEMPTED_SHARE`]); the CLI plans the step length with it, so the
/// run keeps its time budget. On the AMD development VM 7–16 % of default
/// steps had a worker lose its core for over 1 ms while waiting; with the
/// pauses inside transactions counted too, 15–17 % of the map steps
/// qualified (`benchsuite/runs/2026-12-02-vm21`), so the allowance covers
/// about two in three of them, and the run warns about the rest.
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
    fn damon_threads_are_found_by_their_names() {
        let root = std::env::temp_dir().join(format!("mapknee-proc-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        assert!(damon_threads_in(&root).is_empty(), "no procfs");
        for (dir, comm) in [
            ("79", "kdamond.0\n"),
            ("80", "kswapd0\n"),
            ("1200", "kdamond.1\n"),
            // Not a process: a name in a non-numeric folder is not read.
            ("self", "kdamond.9\n"),
        ] {
            std::fs::create_dir_all(root.join(dir)).unwrap();
            std::fs::write(root.join(dir).join("comm"), comm).unwrap();
        }
        // A process that exited between the listing and the read.
        std::fs::create_dir_all(root.join("81")).unwrap();
        assert_eq!(damon_threads_in(&root), ["kdamond.0", "kdamond.1"]);
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn a_pause_is_a_waiting_gap_or_a_transaction_the_run_delay_covers() {
        let w = |gap_ns, service_max_ns, delay_ns| WorkerPauses {
            gap_ns,
            service_max_ns,
            sched: SchedTimes {
                cpu_ns: 100_000_000,
                delay_ns,
            },
        };
        // A 2 ms gap while waiting: the machine's, whatever the run delay
        // (a hypervisor's steal shows in none).
        assert_eq!(machine_pause(&[w(2_000_000, 500, 0)], 0), 2_000_000);
        // A 3 ms transaction with 2 ms of run delay: preempted inside it.
        assert_eq!(
            machine_pause(&[w(40_000, 3_000_000, 2_000_000)], 0),
            3_000_000
        );
        // A 3 ms transaction with 0.3 ms of run delay: the map's own wait
        // (a parked lock waiter), not a pause; the gap is what is left.
        assert_eq!(machine_pause(&[w(40_000, 3_000_000, 300_000)], 0), 40_000);
        // Many short slices add up to 3.4 ms of run delay but no long gap
        // and no long transaction: no long pause.
        assert_eq!(machine_pause(&[w(60_000, 9_000, 3_400_000)], 0), 60_000);
        // The longest of the workers'.
        assert_eq!(
            machine_pause(&[w(1_000_000, 0, 0), w(0, 4_000_000, 4_000_000)], 0),
            4_000_000
        );
        // The map's own thread used 2.5 ms: a 2 ms gap may be its doing,
        // and a 3 ms transaction's run delay less it no longer covers it.
        assert_eq!(
            machine_pause(&[w(2_000_000, 3_000_000, 3_000_000)], 2_500_000),
            0
        );
        assert_eq!(machine_pause(&[], 0), 0);
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
        // The spinner shares core 0 for 300 ms: no timing test beside it.
        let _cores = crate::test_cores::exclusive();
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
