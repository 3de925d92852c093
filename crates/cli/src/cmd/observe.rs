//! What `trace` and `profile` share: checking that the tracing tools can
//! run here, a guard that never leaves a tracer process behind, and adding
//! a section to report.html.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use crate::CliError;

/// Whether this process runs as root (bpftrace and perf on other
/// processes need it, or CAP_BPF / CAP_PERFMON and a permissive
/// `perf_event_paranoid`).
pub(crate) fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// `name` on `PATH`, if there.
pub(crate) fn find_tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Makes sure tracefs is mounted (bpftrace's tracepoints and uprobes go
/// through it): mounts it, and debugfs, when missing and root, and says
/// so. `Err` is the one line saying what is missing.
pub(crate) fn ensure_tracefs() -> Result<(), String> {
    let mounted = || {
        Path::new("/sys/kernel/tracing/uprobe_events").exists()
            || Path::new("/sys/kernel/debug/tracing/uprobe_events").exists()
    };
    if mounted() {
        return Ok(());
    }
    if !is_root() {
        return Err("tracefs is not mounted at /sys/kernel/tracing (as root: mount -t tracefs nodev /sys/kernel/tracing)".into());
    }
    for (fs, at) in [
        ("tracefs", "/sys/kernel/tracing"),
        ("debugfs", "/sys/kernel/debug"),
    ] {
        let _ = Command::new("mount").args(["-t", fs, "nodev", at]).status();
    }
    if mounted() {
        eprintln!("mapknee: mounted tracefs at /sys/kernel/tracing and debugfs at /sys/kernel/debug (they were not mounted)");
        Ok(())
    } else {
        Err("tracefs is not mounted and `mount -t tracefs nodev /sys/kernel/tracing` failed (a kernel without CONFIG_FTRACE?)".into())
    }
}

/// A tracer child process (bpftrace, perf record) that is stopped when
/// this is dropped — on every path out of `trace` and `profile`, Ctrl-C
/// and errors included: SIGINT first (so it detaches its probes and
/// flushes), SIGKILL if it has not exited `grace` later. Tracers are also
/// started in their own process group, so the terminal's Ctrl-C reaches
/// mapknee alone and mapknee ends them in order; if mapknee itself is
/// killed, `bpftrace -p` and `perf record -p` exit when their target does.
#[derive(Debug)]
pub(crate) struct Tracer {
    child: Option<Child>,
    grace: Duration,
}

impl Tracer {
    pub(crate) fn new(child: Child, grace: Duration) -> Self {
        Tracer {
            child: Some(child),
            grace,
        }
    }

    /// Whether the process has exited (its status then).
    pub(crate) fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten())
    }

    /// Stops the process (SIGINT, then SIGKILL after the grace period) and
    /// reaps it; whether it exited by itself after SIGINT.
    pub(crate) fn stop(&mut self) -> bool {
        let Some(mut child) = self.child.take() else {
            return true;
        };
        if let Ok(Some(_)) = child.try_wait() {
            return true;
        }
        if let Ok(pid) = libc::pid_t::try_from(child.id()) {
            // SAFETY: kill has no memory-safety preconditions; `pid` is our
            // own child, not yet reaped (try_wait above), so the id cannot
            // have been reused by another process.
            unsafe { libc::kill(pid, libc::SIGINT) };
        }
        let until = Instant::now() + self.grace;
        while Instant::now() < until {
            if let Ok(Some(_)) = child.try_wait() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        false
    }
}

impl Drop for Tracer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Adds `section` (HTML) at the end of `<dir>/report.html`'s body.
pub(crate) fn add_to_report(dir: &Path, section: &str) -> Result<(), CliError> {
    let path = dir.join("report.html");
    let html = std::fs::read_to_string(&path)
        .map_err(|e| CliError::runtime(format!("cannot read '{}': {e}", path.display())))?;
    let at = html.rfind("</body>").unwrap_or(html.len());
    let mut out = String::with_capacity(html.len() + section.len());
    out.push_str(&html[..at]);
    out.push_str(section);
    out.push_str(&html[at..]);
    std::fs::write(&path, out)
        .map_err(|e| CliError::runtime(format!("cannot write '{}': {e}", path.display())))
}

/// HTML-escapes text.
pub(crate) fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Standard base64 with padding (RFC 4648), for a `data:` URL.
pub(crate) fn base64(bytes: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (plain, coded) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(plain.as_bytes()), coded);
        }
    }
}
