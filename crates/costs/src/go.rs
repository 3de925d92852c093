//! Go's reference figures: runs `benchsuite/go/memory.go` (compiled into
//! this crate, so it works from any directory) with the Go toolchain, when
//! one is installed.

use std::path::PathBuf;
use std::process::Command;

use crate::memory::GoFigures;

/// The Go program, as shipped in `benchsuite/go/`.
pub const MEMORY_GO: &str = include_str!("../../../benchsuite/go/memory.go");

/// Where Go is: `$MAPKNEE_GO`, else `go` on `PATH`, else Debian's
/// `golang-1.19-go` location.
pub fn find_go() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("MAPKNEE_GO") {
        return Some(PathBuf::from(p));
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let go = dir.join("go");
            if go.is_file() {
                return Some(go);
            }
        }
    }
    ["/usr/lib/go-1.19/bin/go", "/usr/local/go/bin/go"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
}

/// Runs the Go program for `sizes` with `ops` operations per measurement.
/// `Err` says why there are no Go figures, in one line.
pub fn run(go: &std::path::Path, sizes: &[u64], ops: u64) -> Result<Vec<GoFigures>, String> {
    let dir = std::env::temp_dir().join(format!("mapknee-go-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let _cleanup = RemoveOnDrop(dir.clone());
    let src = dir.join("memory.go");
    std::fs::write(&src, MEMORY_GO).map_err(|e| format!("cannot write {}: {e}", src.display()))?;
    let sizes: Vec<String> = sizes.iter().map(u64::to_string).collect();
    let mut cmd = Command::new(go);
    cmd.current_dir(&dir)
        .arg("run")
        .arg("memory.go")
        .arg("-sizes")
        .arg(sizes.join(","))
        .arg("-ops")
        .arg(ops.to_string());
    if std::env::var_os("GOCACHE").is_none() {
        // Go needs a build cache; without $HOME it has none by default.
        cmd.env("GOCACHE", std::env::temp_dir().join("mapknee-gocache"));
    }
    let out = cmd
        .output()
        .map_err(|e| format!("cannot run {}: {e}", go.display()))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(format!(
            "{} run memory.go failed: {}",
            go.display(),
            err.lines().next().unwrap_or("no output")
        ));
    }
    parse(&String::from_utf8_lossy(&out.stdout))
}

/// Parses the program's JSON lines.
///
/// ```
/// let figs = mapknee_costs::go::parse(
///     r#"{"map":"go map","entries":8,"bytes_per_entry":40.5,"allocs_per_op":{"get":0}}"#,
/// ).unwrap();
/// assert_eq!(figs[0].bytes_per_entry, 40.5);
/// assert!(mapknee_costs::go::parse("not json").is_err());
/// ```
pub fn parse(stdout: &str) -> Result<Vec<GoFigures>, String> {
    stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).map_err(|e| format!("bad line from memory.go: {e}")))
        .collect()
}

struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
