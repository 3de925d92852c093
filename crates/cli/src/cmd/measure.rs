//! Measuring processes for `run` (`--processes`): the binary started again
//! as `mapknee measure-child`, which measures the steps it is sent.
//!
//! Why: a process draws its address layout and heap history once, and on
//! the 2-core VMs of this project that alone moved some knees by a third
//! between two runs of one build while the repetitions inside each run
//! agreed (benchsuite/runs/2026-12-01-vm11/process: rwlock read-mostly
//! knees spread between processes with ASLR on and not with it off). With
//! repetition k of every step in process k, a step's repetitions span as
//! many processes as there are repetitions: one odd process moves one
//! repetition, not the median, and the interval `compare` reads holds the
//! spread between processes.
//!
//! The protocol is one line of JSON each way: a [`StepOrder`] in, its
//! [`Step`] out (with the child's pid). A child first says `ready`, once its
//! clock is calibrated: that calibration spins a core for up to 200 ms, and
//! the parent starts the children one by one and measures nothing before
//! all are ready, so no child's start-up lands in a measured step. A line `stop` raises the child's
//! stop flag, ending its step as Ctrl-C would; the parent sends it when its
//! own flag rises (Ctrl-C, the watchdog, a failed step). The child ends when
//! its stdin closes: the parent is done, or gone, so a step under way is no
//! one's and is abandoned with the process. A child that ends early fails
//! the step it owed, which stops the run as a step that cannot run does
//! (what was measured is written; one error line, with the child's own, and
//! exit status 1): the child's stderr is read once it has ended. One that
//! ends before it is ready stops the run the same way, with nothing
//! measured yet.
//!
//! Only one process measures at a time: the parent waits for each step.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStderr, ChildStdin, Command, Stdio};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use mapknee_load::{Clock, Measurer, Step, StepOrder};

use crate::{CliError, Outcome, STOP};

/// How often a parent waiting for a step looks at its stop flag: a stop
/// reaches the child within this. Long next to the 10 ms windows, so the
/// waiting parent wakes a handful of times per step.
const STOP_POLL: Duration = Duration::from_millis(50);

/// How long a child that was told to end (its stdin closed) may take
/// before it is killed.
const END_GRACE: Duration = Duration::from_secs(2);

/// How long a starting child may take to say `ready` (its clock
/// calibration is bounded at 200 ms; the rest is slack for a loaded
/// machine).
const READY_WAIT: Duration = Duration::from_secs(30);

/// A child's first line, once it can measure.
const READY: &str = "ready";

/// The `measure-child` command: measures every order read from stdin, in
/// order, and writes each step as one line on stdout.
pub(crate) fn child() -> Result<Outcome, CliError> {
    let clock = Clock::new();
    let (orders, inbox) = mpsc::channel::<StepOrder>();
    std::thread::Builder::new()
        .name("orders".into())
        .spawn(move || {
            for line in io::stdin().lock().lines() {
                let Ok(line) = line else { break };
                if line == "stop" {
                    STOP.store(true, Ordering::SeqCst);
                    continue;
                }
                match serde_json::from_str::<StepOrder>(&line) {
                    Ok(order) => {
                        if orders.send(order).is_err() {
                            break;
                        }
                    }
                    Err(e) => {
                        eprintln!("mapknee: error: measure-child: not a step order: {e}");
                        std::process::exit(2);
                    }
                }
            }
            // The parent closed its end: it is done, or gone.
            std::process::exit(0);
        })
        .map_err(|e| CliError::runtime(format!("measure-child: cannot start a thread: {e}")))?;
    let mut out = io::stdout().lock();
    let mut say = |line: &[u8]| {
        out.write_all(line)
            .and_then(|()| out.write_all(b"\n"))
            .and_then(|()| out.flush())
            .map_err(|e| CliError::runtime(format!("measure-child: cannot answer: {e}")))
    };
    say(READY.as_bytes())?;
    for order in inbox {
        let mut step = order.run(&clock, &STOP);
        step.pid = Some(std::process::id());
        let line = serde_json::to_vec(&step)
            .map_err(|e| CliError::runtime(format!("measure-child: {e}")))?;
        say(&line)?;
    }
    Ok(Outcome::Done)
}

/// One measuring process, as the parent holds it.
struct Proc {
    child: Child,
    /// `None` once closed (the child then ends).
    stdin: Option<ChildStdin>,
    /// The child's stdout, line by line, read by a thread of its own so
    /// that a waiting parent can still pass a stop on.
    lines: Receiver<io::Result<String>>,
    /// The child's stderr, read once it has ended: a child prints only
    /// when it fails, and its one line becomes part of the run's.
    stderr: Option<ChildStderr>,
}

impl Proc {
    /// Sends the child one line.
    fn send(&mut self, line: &[u8]) -> io::Result<()> {
        let stdin = self
            .stdin
            .as_mut()
            .ok_or_else(|| io::Error::other("closed"))?;
        stdin
            .write_all(line)
            .and_then(|()| stdin.write_all(b"\n"))
            .and_then(|()| stdin.flush())
    }

    /// The child's next line, waited for up to `within` (without end when
    /// `None`), passing the stop flag on if it rises meanwhile (a child
    /// that cannot hear it ends its step on time anyway). `Err` says why
    /// there is none.
    fn next_line(&mut self, k: usize, within: Option<Duration>) -> Result<String, String> {
        let asked = Instant::now();
        let mut told = false;
        loop {
            match self.lines.recv_timeout(STOP_POLL) {
                Ok(Ok(line)) => return Ok(line),
                Ok(Err(_)) | Err(RecvTimeoutError::Disconnected) => return Err(self.ended(k)),
                Err(RecvTimeoutError::Timeout) => {
                    if let Some(w) = within.filter(|&w| asked.elapsed() >= w) {
                        return Err(format!(
                            "measuring process {k} did not answer within {} s",
                            w.as_secs()
                        ));
                    }
                    if !told && STOP.load(Ordering::Relaxed) {
                        told = true;
                        let _ = self.send(b"stop");
                    }
                }
            }
        }
    }

    /// Why the child is gone: its exit status and its last line.
    fn ended(&mut self, k: usize) -> String {
        let pid = self.child.id();
        let status = self
            .child
            .wait()
            .map_or_else(|e| format!("cannot wait for it: {e}"), |s| s.to_string());
        let mut said = String::new();
        if let Some(mut err) = self.stderr.take() {
            let _ = err.read_to_string(&mut said);
        }
        let last = said.lines().rev().find(|l| !l.trim().is_empty());
        match last {
            Some(l) => format!(
                "measuring process {k} (pid {pid}) ended, {status}: {}",
                l.trim_start_matches("mapknee: error: ")
            ),
            None => format!("measuring process {k} (pid {pid}) ended, {status}"),
        }
    }
}

/// The measuring processes of one `run`; repetition k goes to process
/// k mod their count. Dropping them ends them.
pub(crate) struct Children {
    procs: Vec<Mutex<Proc>>,
}

/// How starting the measuring processes ended, short of an error of this
/// process's own (a refused thread or spawn, a child that broke the
/// protocol), which is a `CliError`.
pub(crate) enum Started {
    /// Every process said `ready`.
    Ready(Children),
    /// A process ended (or fell silent) before it was ready: why, worded
    /// as for one that ends mid-run, which the run treats the same way.
    Ended(String),
}

impl Children {
    /// Starts `n` (≥ 1) measuring processes of `exe`. On an error, or a
    /// process that ends first, the ones already started are ended.
    pub(crate) fn start(exe: &Path, n: usize) -> Result<Started, CliError> {
        let mut started = Children {
            procs: Vec::with_capacity(n),
        };
        for k in 0..n {
            let mut child = Command::new(exe)
                .arg("measure-child")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .map_err(|e| {
                    CliError::runtime(format!("cannot start measuring process {k}: {e}"))
                })?;
            let stdin = child.stdin.take();
            let stderr = child.stderr.take();
            let stdout = child.stdout.take().expect("stdout was piped");
            let (tx, lines) = mpsc::channel();
            let reader = std::thread::Builder::new()
                .name(format!("process-{k}"))
                .spawn(move || {
                    for line in BufReader::new(stdout).lines() {
                        if tx.send(line).is_err() {
                            break;
                        }
                    }
                });
            // Held before the error is returned, so that dropping
            // `started` ends this child too.
            started.procs.push(Mutex::new(Proc {
                child,
                stdin,
                lines,
                stderr,
            }));
            reader.map_err(|e| {
                CliError::runtime(format!(
                    "cannot start a thread to read measuring process {k}: {e}"
                ))
            })?;
            let p = started.procs[k]
                .get_mut()
                .unwrap_or_else(|e| e.into_inner());
            match p.next_line(k, Some(READY_WAIT)) {
                Ok(line) if line == READY => {}
                Ok(line) => {
                    return Err(CliError::runtime(format!(
                        "measuring process {k} said {line:?} instead of {READY:?}"
                    )))
                }
                Err(why) => return Ok(Started::Ended(why)),
            }
        }
        Ok(Started::Ready(started))
    }

    /// The step that could not be measured, with why; raises the stop flag.
    fn failed(order: &StepOrder, why: String) -> Step {
        STOP.store(true, Ordering::SeqCst);
        Step {
            target_ops_per_sec: order.spec.target,
            interrupted: true,
            failed: Some(why),
            ..Step::default()
        }
    }
}

impl Measurer for Children {
    fn measure(&self, rep: usize, order: &StepOrder) -> Step {
        let k = rep % self.procs.len();
        let mut guard = self.procs[k].lock().unwrap_or_else(|e| e.into_inner());
        let p = &mut *guard;
        let line = match serde_json::to_vec(order) {
            Ok(l) => l,
            Err(e) => return Self::failed(order, format!("cannot encode a step order: {e}")),
        };
        if p.send(&line).is_err() {
            let why = p.ended(k);
            return Self::failed(order, why);
        }
        match p.next_line(k, None) {
            Ok(answer) => serde_json::from_str::<Step>(&answer).unwrap_or_else(|e| {
                let pid = p.child.id();
                Self::failed(order, format!("measuring process {k} (pid {pid}): {e}"))
            }),
            Err(why) => Self::failed(order, why),
        }
    }
}

impl Drop for Children {
    fn drop(&mut self) {
        for p in &mut self.procs {
            let p = p.get_mut().unwrap_or_else(|e| e.into_inner());
            p.stdin = None;
        }
        let deadline = Instant::now() + END_GRACE;
        for p in &mut self.procs {
            let p = p.get_mut().unwrap_or_else(|e| e.into_inner());
            loop {
                match p.child.try_wait() {
                    Ok(Some(_)) | Err(_) => break,
                    Ok(None) if Instant::now() >= deadline => {
                        let _ = p.child.kill();
                        let _ = p.child.wait();
                        break;
                    }
                    Ok(None) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        }
    }
}
