//! `mapknee profile --at RATE|knee`: `perf record -g` on the software
//! clock during one step of one map, folded and drawn as a flame graph
//! (inferno) next to the results and in report.html.
//!
//! `--at knee` first climbs the staircase unprofiled to find the knee,
//! then measures one fresh step at the knee's rate under perf, so the
//! profiler's own cost does not move the knee it is asked about.

use std::io::BufReader;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use mapknee_load::{NoProgress, Phase, Progress, Rates, Step};

use super::observe::{self, Tracer};
use crate::render::fmt_rate;
use crate::settings::RunSettings;
use crate::{CliError, Outcome};

/// Samples per second: a prime, so the sampler does not beat with the
/// 10 ms windows or the scheduler tick.
const FREQ: &str = "997";

pub(crate) fn run(mut s: RunSettings, at: &str) -> Result<Outcome, CliError> {
    if s.common.maps.len() != 1 {
        return Err(CliError::usage(
            "profile takes exactly one map (e.g. --maps syncmap)",
        ));
    }
    let Some(perf) = observe::find_tool("perf") else {
        return Err(CliError::usage(
            "profile: perf is not installed (Debian: apt-get install linux-perf; Ubuntu: linux-tools-generic)",
        ));
    };
    if !observe::is_root() && paranoid().is_some_and(|p| p > 2) {
        return Err(CliError::usage(
            "profile: perf may not sample here: run as root or lower /proc/sys/kernel/perf_event_paranoid to 2",
        ));
    }
    if s.mixes.len() > 1 {
        eprintln!(
            "mapknee: profile: one mix: {} (of {})",
            s.mixes[0].name,
            s.mixes.len()
        );
        s.mixes.truncate(1);
    }
    s.staircase.repeat = 1;
    // perf records this process: every step is measured here.
    s.processes = 0;
    let map = s.common.maps[0].name();
    let out = s
        .common
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("mapknee-profile"));
    let rate = match at {
        "knee" => find_knee(&s)?,
        r => {
            mapknee_load::parse_rate(r).map_err(|e| CliError::usage(format!("--at '{r}': {e}")))?
        }
    };
    eprintln!(
        "mapknee: profile: {map} at {}/s under perf record -g (cpu-clock, {FREQ} Hz)",
        fmt_rate(rate)
    );
    s.staircase.rates = Rates::Explicit(vec![rate]);
    s.common.out = Some(out.clone());
    std::fs::create_dir_all(&out)
        .map_err(|e| CliError::usage(format!("cannot create '{}': {e}", out.display())))?;
    let data = out.join("perf.data");
    let recorder = Recorder {
        perf: perf.clone(),
        map: map.clone(),
        data: data.clone(),
        running: Mutex::new(None),
        error: Mutex::new(None),
    };
    let outcome = super::run::run_with(s, &recorder, &mut |_| {})?;
    if let Some(e) = recorder
        .error
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take()
    {
        return Err(CliError::usage(format!("profile: {e}")));
    }
    let svg = out.join("flamegraph.svg");
    let title = format!("mapknee profile: {map} at {}/s", fmt_rate(rate));
    flame_graph(&perf, &data, &svg, &title)?;
    let bytes = std::fs::read(&svg)
        .map_err(|e| CliError::runtime(format!("cannot read '{}': {e}", svg.display())))?;
    observe::add_to_report(
        &out,
        &format!(
            "<section id=\"profile\"><h2>Flame graph: {}</h2>\
             <p>perf record -g on the software clock ({FREQ} Hz) during the step; every thread of the process. \
             Width is the share of samples. The interactive SVG is <code>flamegraph.svg</code> next to this report.</p>\
             <img style=\"max-width:100%\" alt=\"flame graph\" src=\"data:image/svg+xml;base64,{}\"/></section>",
            observe::escape(&title),
            observe::base64(&bytes)
        ),
    )?;
    println!(
        "wrote {} (flame graph) and {}",
        svg.display(),
        out.join("report.html").display()
    );
    Ok(outcome)
}

/// `kernel.perf_event_paranoid`, if readable.
fn paranoid() -> Option<i32> {
    std::fs::read_to_string("/proc/sys/kernel/perf_event_paranoid")
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Climbs the staircase unprofiled (printed, not written) and returns
/// the map's knee rate.
fn find_knee(s: &RunSettings) -> Result<f64, CliError> {
    eprintln!("mapknee: profile: finding the knee first (an unprofiled staircase)");
    let mut first = s.clone();
    first.common.out = None;
    first.common.format = crate::args::Format::Table;
    let mut knee = None;
    let mut top = 0.0f64;
    super::run::run_with(first, &NoProgress, &mut |runs| {
        for r in runs.iter() {
            if let Some(k) = &r.knee {
                knee = Some(k.ops_per_sec);
            }
            for st in &r.steps {
                top = top.max(st.target_ops_per_sec.unwrap_or(0.0));
            }
        }
    })?;
    if crate::STOP.load(std::sync::atomic::Ordering::Relaxed) {
        return Err(CliError::runtime(
            "profile: interrupted before the knee was found",
        ));
    }
    knee.ok_or_else(|| {
        CliError::runtime(format!(
            "profile: no knee up to {}/s; give a rate with --at RATE",
            fmt_rate(top)
        ))
    })
}

/// Runs `perf record` over the profiled map's measured steps.
#[derive(Debug)]
struct Recorder {
    perf: PathBuf,
    map: String,
    data: PathBuf,
    running: Mutex<Option<Tracer>>,
    error: Mutex<Option<String>>,
}

impl Progress for Recorder {
    fn step_started(&self, map: &str, _: &str, phase: &Phase) {
        if map != self.map || !matches!(phase, Phase::Ladder(_) | Phase::Refine(_)) {
            return;
        }
        let (ctl, ack) = (
            self.data.with_extension("ctl"),
            self.data.with_extension("ack"),
        );
        for f in [&ctl, &ack] {
            let _ = std::fs::remove_file(f);
            if let Err(e) = mkfifo(f) {
                *self.error.lock().unwrap_or_else(|p| p.into_inner()) =
                    Some(format!("cannot make the fifo '{}': {e}", f.display()));
                return;
            }
        }
        // Started with its events disabled (-D -1) and enabled through its
        // control fifo, whose acknowledgement says perf is recording: only
        // then does the step go on (perf takes ~1 s to start on a busy VM).
        let child = Command::new(&self.perf)
            .args([
                "record",
                "-g",
                "-e",
                "cpu-clock",
                "-F",
                FREQ,
                "-q",
                "-D",
                "-1",
            ])
            .arg(format!(
                "--control=fifo:{},{}",
                ctl.display(),
                ack.display()
            ))
            .arg("-o")
            .arg(&self.data)
            .args(["-p", &std::process::id().to_string()])
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn();
        match child {
            Ok(c) => {
                let mut t = Tracer::new(c, Duration::from_secs(10));
                if let Err(e) = enable(&mut t, &ctl, &ack) {
                    *self.error.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                }
                *self.running.lock().unwrap_or_else(|p| p.into_inner()) = Some(t);
            }
            Err(e) => {
                *self.error.lock().unwrap_or_else(|p| p.into_inner()) =
                    Some(format!("cannot start perf: {e}"));
            }
        }
    }

    fn step_finished(&self, map: &str, _: &str, phase: &Phase, _: &Step) {
        if map != self.map || !matches!(phase, Phase::Ladder(_) | Phase::Refine(_)) {
            return;
        }
        if let Some(mut t) = self
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            if let Some(status) = t.exited() {
                *self.error.lock().unwrap_or_else(|p| p.into_inner()) = Some(format!(
                    "perf record exited early ({status}): run as root, or check perf_event_paranoid"
                ));
            }
            t.stop();
        }
        for f in ["ctl", "ack"] {
            let _ = std::fs::remove_file(self.data.with_extension(f));
        }
    }
}

fn mkfifo(path: &Path) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    // SAFETY: `c` is a valid NUL-terminated path that outlives the call.
    if unsafe { libc::mkfifo(c.as_ptr(), 0o600) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Tells the perf started with `--control=fifo:ctl,ack -D -1` to enable
/// its events and waits for its acknowledgement (30 s at most).
fn enable(perf: &mut Tracer, ctl: &Path, ack: &Path) -> Result<(), String> {
    use std::io::{Read, Write};
    use std::os::unix::fs::OpenOptionsExt;
    let until = std::time::Instant::now() + Duration::from_secs(30);
    // The write end opens (non-blocking) once perf has opened the read end.
    let mut w = loop {
        match std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(ctl)
        {
            Ok(f) => break f,
            Err(_) if perf.exited().is_none() && std::time::Instant::now() < until => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => {
                return Err(match perf.exited() {
                    Some(st) => format!(
                    "perf record exited at start ({st}): run as root, or check perf_event_paranoid"
                ),
                    None => format!("perf did not open its control fifo: {e}"),
                })
            }
        }
    };
    let mut r = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(ack)
        .map_err(|e| format!("cannot open perf's ack fifo: {e}"))?;
    w.write_all(b"enable\n")
        .map_err(|e| format!("cannot write to perf's control fifo: {e}"))?;
    let mut got = Vec::new();
    let mut buf = [0u8; 64];
    while std::time::Instant::now() < until {
        match r.read(&mut buf) {
            Ok(n) if n > 0 => {
                got.extend_from_slice(&buf[..n]);
                if got.starts_with(b"ack") {
                    return Ok(());
                }
            }
            _ => std::thread::sleep(Duration::from_millis(10)),
        }
        if let Some(st) = perf.exited() {
            return Err(format!("perf record exited ({st})"));
        }
    }
    Err("perf did not acknowledge `enable` within 30 s".into())
}

/// `perf script` → inferno's perf folder → inferno's flame graph.
fn flame_graph(perf: &Path, data: &Path, svg: &Path, title: &str) -> Result<(), CliError> {
    let script = Command::new(perf)
        .args(["script", "-i"])
        .arg(data)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .map_err(|e| CliError::runtime(format!("cannot run perf script: {e}")))?;
    if !script.status.success() || script.stdout.is_empty() {
        return Err(CliError::runtime(format!(
            "perf script -i {} gave no samples ({})",
            data.display(),
            script.status
        )));
    }
    let mut folded = Vec::new();
    {
        use inferno::collapse::Collapse;
        let mut folder = inferno::collapse::perf::Folder::default();
        folder
            .collapse(BufReader::new(&script.stdout[..]), &mut folded)
            .map_err(|e| CliError::runtime(format!("folding perf's stacks: {e}")))?;
    }
    let folded = String::from_utf8_lossy(&folded);
    let mut opts = inferno::flamegraph::Options::default();
    opts.title = title.to_string();
    opts.count_name = "samples".into();
    let file = std::fs::File::create(svg)
        .map_err(|e| CliError::runtime(format!("cannot write '{}': {e}", svg.display())))?;
    inferno::flamegraph::from_lines(&mut opts, folded.lines(), std::io::BufWriter::new(file))
        .map_err(|e| CliError::runtime(format!("drawing the flame graph: {e}")))
}
