//! No step may hang mapknee. A step's workers check the clock and the stop
//! flag only between transactions, so a map call that never returns (a
//! deadlock, a machine swapping to a halt) would keep the step, and the
//! run, waiting forever. The watchdog sits between the load engine and the
//! progress bar: each step's start arms it with the time the step may
//! take, each finish disarms it. A step past its time is stopped as Ctrl-C
//! stops it — the run ends, and what was measured is printed and written,
//! with one error line and exit status 1. A step still running a grace
//! period later has a worker blocked inside the map, which nothing can
//! interrupt: the watchdog then prints and writes the steps that finished,
//! and exits the process.
//!
//! It also turns a step that could not run (`Step::failed`: a thread the
//! OS refused, memory that could not be reserved) into the same stop.

use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use mapknee_load::{Phase, Point, Progress, Run, Step};

/// Slack every step gets on top of its estimates: thread starts, the
/// cache-line measurements, the placement gate's waits (at most 1.5 s
/// before a step and once more before a re-measured one), a preempted
/// machine.
const SLACK: Duration = Duration::from_secs(10);

/// How long a step may run, start to finish, when its warm-up and
/// measurement take `work` and building, prefilling and dropping its map
/// about `setup`: twice the one (a step the host moved is measured again)
/// and ten times the other (an estimate from the slowest map measured),
/// plus [`SLACK`].
pub(crate) fn allowance(work: Duration, setup: Duration) -> Duration {
    SLACK
        .saturating_add(work.saturating_mul(2))
        .saturating_add(setup.saturating_mul(10))
}

/// A finished step: map, mix, phase, and the step.
pub(crate) type Finished = (String, String, Phase, Step);

/// What the watchdog does.
pub(crate) struct Actions {
    /// Stop the run with this reason (a step past its time, or one that
    /// could not run): `crate::fail` in the binary.
    pub(crate) stop: Box<dyn Fn(String) + Send + Sync>,
    /// A stopped step still running `grace` later: report the steps that
    /// finished and end the process.
    pub(crate) stuck: Box<dyn FnOnce(String, Vec<Finished>) + Send>,
    /// How long a stopped step gets to end before it counts as stuck.
    pub(crate) grace: Duration,
}

struct Armed {
    what: String,
    allowed: Duration,
    /// `None`: an allowance too long to represent, never reached.
    deadline: Option<Instant>,
    /// Past its allowance, stopped, and in its grace period.
    late: bool,
}

#[derive(Default)]
struct State {
    armed: Option<Armed>,
    finished: Vec<Finished>,
    done: bool,
}

struct Shared {
    state: Mutex<State>,
    changed: Condvar,
    stop: Box<dyn Fn(String) + Send + Sync>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A [`Progress`] that forwards to `inner` and watches every step.
pub(crate) struct Watchdog<'a> {
    inner: &'a dyn Progress,
    allowance: Box<dyn Fn(&Phase) -> Duration + Sync + 'a>,
    shared: Arc<Shared>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl<'a> Watchdog<'a> {
    /// Starts watching. Without a thread for it (the OS refused one) steps
    /// are not timed, but failed steps still stop the run.
    pub(crate) fn new(
        inner: &'a dyn Progress,
        allowance: impl Fn(&Phase) -> Duration + Sync + 'a,
        actions: Actions,
    ) -> Self {
        let Actions { stop, stuck, grace } = actions;
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
            stop,
        });
        let watched = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("mapknee-watchdog".into())
            .spawn(move || watch(&watched, stuck, grace))
            .ok();
        Watchdog {
            inner,
            allowance: Box::new(allowance),
            shared,
            thread,
        }
    }
}

impl Drop for Watchdog<'_> {
    fn drop(&mut self) {
        self.shared.lock().done = true;
        self.shared.changed.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn watch(shared: &Shared, stuck: Box<dyn FnOnce(String, Vec<Finished>) + Send>, grace: Duration) {
    let mut st = shared.lock();
    loop {
        if st.done {
            return;
        }
        let now = Instant::now();
        let Some(armed) = st.armed.as_mut() else {
            st = shared.changed.wait(st).unwrap_or_else(|e| e.into_inner());
            continue;
        };
        match armed.deadline {
            None => {
                st = shared.changed.wait(st).unwrap_or_else(|e| e.into_inner());
                continue;
            }
            Some(d) if now < d => {
                st = shared
                    .changed
                    .wait_timeout(st, d - now)
                    .unwrap_or_else(|e| e.into_inner())
                    .0;
                continue;
            }
            Some(_) => {}
        }
        if !armed.late {
            armed.late = true;
            armed.deadline = now.checked_add(grace);
            let why = format!(
                "{} did not finish within {:.0} s (a map operation may be blocked)",
                armed.what,
                armed.allowed.as_secs_f64()
            );
            drop(st);
            (shared.stop)(why);
            st = shared.lock();
            continue;
        }
        let why = format!(
            "{} is still running {:.0} s after it was stopped: a map operation is blocked",
            armed.what,
            grace.as_secs_f64()
        );
        let finished = std::mem::take(&mut st.finished);
        drop(st);
        stuck(why, finished);
        return;
    }
}

fn describe(phase: &Phase) -> String {
    match phase {
        Phase::Probe => "capacity probe".into(),
        Phase::Ladder(r) | Phase::Refine(r) => format!("{r:.0} txn/s"),
        Phase::Floor(r) => format!("{r:.0} txn/s (noise floor)"),
        Phase::Scale(n) => format!("{n} threads"),
    }
}

impl Progress for Watchdog<'_> {
    fn step_started(&self, map: &str, mix: &str, phase: &Phase) {
        let allowed = (self.allowance)(phase);
        self.shared.lock().armed = Some(Armed {
            what: format!("the step {map} · {mix} · {}", describe(phase)),
            allowed,
            deadline: Instant::now().checked_add(allowed),
            late: false,
        });
        self.shared.changed.notify_all();
        self.inner.step_started(map, mix, phase);
    }

    fn step_finished(&self, map: &str, mix: &str, phase: &Phase, step: &Step) {
        {
            let mut st = self.shared.lock();
            st.armed = None;
            st.finished
                .push((map.into(), mix.into(), phase.clone(), step.clone()));
        }
        self.shared.changed.notify_all();
        if let Some(why) = &step.failed {
            (self.shared.stop)(format!("{map} · {mix}: {why}"));
        }
        self.inner.step_finished(map, mix, phase, step);
    }
}

/// The runs of `skeleton` (one per map and mix, no steps) filled with the
/// steps that finished: open-loop steps, capacities, scaling points. Not
/// analysed (no knees): what a stuck run can still report.
pub(crate) fn runs_so_far(mut skeleton: Vec<Run>, finished: Vec<Finished>) -> Vec<Run> {
    // Each run's probe rates, in skeleton order: its capacity is read from
    // them as a whole run reads it (`capacity_of`).
    let mut probes: Vec<Vec<f64>> = vec![Vec::new(); skeleton.len()];
    for (map, mix, phase, step) in finished {
        let Some(i) = skeleton
            .iter()
            .position(|r| r.map == map && r.mix.name == mix)
        else {
            continue;
        };
        let run = &mut skeleton[i];
        match phase {
            Phase::Probe => {
                probes[i].push(step.achieved_ops_per_sec);
                run.capacity_ops_per_sec = mapknee_load::capacity_of(&probes[i]);
            }
            Phase::Ladder(_) | Phase::Refine(_) => run.steps.push(step),
            Phase::Floor(_) => {}
            Phase::Scale(threads) => run.points.push(Point {
                threads,
                ops_per_sec: step.achieved_ops_per_sec,
                p99_ns: step.latency_ns.p99,
            }),
        }
    }
    let rate = |s: &Step| s.target_ops_per_sec.unwrap_or(0.0);
    for run in &mut skeleton {
        run.steps.sort_by(|a, b| rate(a).total_cmp(&rate(b)));
    }
    skeleton.retain(|r| !r.steps.is_empty() || !r.points.is_empty());
    skeleton
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use mapknee_load::NoProgress;

    use super::*;

    /// What the stuck action receives.
    type Stuck = mpsc::Receiver<(String, Vec<Finished>)>;

    /// A watchdog whose stop and stuck actions report on channels.
    fn dog(
        allowed: Duration,
        grace: Duration,
    ) -> (Watchdog<'static>, mpsc::Receiver<String>, Stuck) {
        let (stop_tx, stop_rx) = mpsc::channel();
        let (stuck_tx, stuck_rx) = mpsc::channel();
        let stop_tx = Mutex::new(stop_tx);
        let dog = Watchdog::new(
            &NoProgress,
            move |_: &Phase| allowed,
            Actions {
                stop: Box::new(move |why| {
                    let _ = stop_tx.lock().unwrap().send(why);
                }),
                stuck: Box::new(move |why, finished| {
                    let _ = stuck_tx.send((why, finished));
                }),
                grace,
            },
        );
        (dog, stop_rx, stuck_rx)
    }

    /// Far longer than any action takes; only a broken watchdog waits it out.
    const BOUND: Duration = Duration::from_secs(30);

    #[test]
    fn a_step_that_never_finishes_is_stopped_then_reported_as_stuck() {
        let (dog, stop, stuck) = dog(Duration::from_millis(20), Duration::from_millis(20));
        let done = Step {
            target_ops_per_sec: Some(1000.0),
            ops: 7,
            ..Step::default()
        };
        dog.step_started("rwlock", "mixed", &Phase::Ladder(1000.0));
        dog.step_finished("rwlock", "mixed", &Phase::Ladder(1000.0), &done);
        dog.step_started("rwlock", "mixed", &Phase::Ladder(2000.0));
        let why = stop.recv_timeout(BOUND).expect("stopped");
        assert!(
            why.starts_with("the step rwlock · mixed · 2000 txn/s did not finish within"),
            "{why}"
        );
        let (why, finished) = stuck.recv_timeout(BOUND).expect("reported stuck");
        assert!(why.contains("is still running"), "{why}");
        assert_eq!(finished.len(), 1);
        assert_eq!(finished[0].3.ops, 7);
    }

    #[test]
    fn steps_that_finish_in_time_are_left_alone_and_failures_stop_the_run() {
        let (dog, stop, stuck) = dog(BOUND, BOUND);
        for r in [1.0, 2.0] {
            dog.step_started("mutex", "churn", &Phase::Ladder(r));
            dog.step_finished("mutex", "churn", &Phase::Ladder(r), &Step::default());
        }
        assert!(stop.try_recv().is_err());
        let failed = Step {
            failed: Some("cannot start worker thread 3 of 4: out of luck".into()),
            ..Step::default()
        };
        dog.step_started("mutex", "churn", &Phase::Probe);
        dog.step_finished("mutex", "churn", &Phase::Probe, &failed);
        assert_eq!(
            stop.try_recv().unwrap(),
            "mutex · churn: cannot start worker thread 3 of 4: out of luck"
        );
        drop(dog);
        assert!(stuck.try_recv().is_err(), "nothing was stuck");
    }

    #[test]
    fn runs_so_far_keep_what_finished() {
        let run = |map: &str| Run {
            map: map.into(),
            mix: "mixed".parse().unwrap(),
            threads: 2,
            keys: 10,
            prefill: 0.5,
            dist: "uniform".into(),
            ops_per_txn: 1,
            arrivals: "even".into(),
            capacity_ops_per_sec: None,
            steps: Vec::new(),
            points: Vec::new(),
            knee: None,
            usl: None,
            repetitions: Vec::new(),
            placement: None,
            slo: None,
            preempted: None,
        };
        let at = |r: f64| Step {
            target_ops_per_sec: Some(r),
            achieved_ops_per_sec: r,
            ..Step::default()
        };
        let finished = vec![
            ("a".into(), "mixed".into(), Phase::Probe, at(9.0)),
            ("a".into(), "mixed".into(), Phase::Probe, at(3.0)),
            ("a".into(), "mixed".into(), Phase::Probe, at(8.0)),
            ("a".into(), "mixed".into(), Phase::Ladder(2.0), at(2.0)),
            ("a".into(), "mixed".into(), Phase::Ladder(1.0), at(1.0)),
            ("noop".into(), "mixed".into(), Phase::Floor(1.0), at(1.0)),
        ];
        let runs = runs_so_far(vec![run("a"), run("b")], finished);
        assert_eq!(runs.len(), 1, "b measured nothing");
        // Three probes: their median, as a finished run reads it.
        assert_eq!(runs[0].capacity_ops_per_sec, Some(8.0));
        let rates: Vec<_> = runs[0].steps.iter().map(|s| s.target_ops_per_sec).collect();
        assert_eq!(rates, [Some(1.0), Some(2.0)]);
    }

    #[test]
    fn allowances_grow_with_the_work_and_saturate() {
        let a = allowance(Duration::from_secs(1), Duration::from_millis(65));
        assert_eq!(a, Duration::from_millis(12_650));
        assert_eq!(allowance(Duration::MAX, Duration::MAX), Duration::MAX);
    }
}
