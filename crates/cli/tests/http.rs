//! End-to-end tests of `mapknee serve` and `mapknee http` as processes,
//! with real peers: SIGTERM under load, the `http` results contract, a real
//! Prometheus server scraping the service, wrk's request count against
//! the service's own, and oha beside `mapknee http` at one fixed rate.
//!
//! Every process a test starts is stopped by a guard's Drop, also when the
//! test fails.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;

/// A `mapknee serve` process on a free loopback port.
struct Serve {
    addr: SocketAddr,
    child: Option<Child>,
    /// Lines after the first, read once the process exits.
    rest: Option<std::thread::JoinHandle<Vec<String>>>,
}

impl Serve {
    fn start(args: &[&str]) -> Serve {
        let mut child = Command::new(env!("CARGO_BIN_EXE_mapknee"))
            .args(["serve", "--addr", "127.0.0.1:0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("mapknee serve starts");
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().and_then(Result::ok).unwrap_or_default();
        let rest = std::thread::spawn(move || lines.map_while(Result::ok).collect());
        let mut serve = Serve {
            addr: "127.0.0.1:1".parse().unwrap(),
            child: Some(child),
            rest: Some(rest),
        };
        serve.addr = first
            .strip_prefix("mapknee: serving on http://")
            .and_then(|l| l.split_whitespace().next())
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("no address in {first:?}"));
        serve
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// SIGTERM; the exit code and what it printed after the first line.
    fn terminate(&mut self) -> (Option<i32>, Vec<String>) {
        let mut child = self.child.take().unwrap();
        // SAFETY: kill(2) on our own child's pid with a valid signal.
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
        let status = child.wait().unwrap();
        let rest = self.rest.take().unwrap().join().unwrap();
        (status.code(), rest)
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Any other child process, killed when dropped.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// GET on a fresh connection: status and body.
fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    try_get(addr, path).unwrap_or_else(|e| panic!("GET {path} from {addr}: {e}"))
}

/// [`get`], or why it failed (a server not listening yet).
fn try_get(addr: SocketAddr, path: &str) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    let status = out
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = out
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_string();
    Ok((status, body))
}

/// The value of the metrics line that starts with `series` (exact series).
fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("mapknee-http-test-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A free loopback port (bound and released; good enough for a test).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Whether `tool` can be started; in CI (`CI` set) a missing tool fails
/// the test, elsewhere the test is skipped with the reason printed. Only
/// the start counts: `wrk --version` prints its version and exits 1.
fn tool_runs(tool: &str, version_flag: &str, install: &str) -> bool {
    let ok = Command::new(tool)
        .arg(version_flag)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok();
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "{tool} cannot be run in CI; .ci/run installs it ({install})"
        );
        eprintln!("SKIPPED: {tool} cannot be run here; install it with `{install}`");
    }
    ok
}

mod serve {
    use super::*;

    #[test]
    fn sigterm_under_load_finishes_the_requests_in_flight_and_exits_0() {
        // Every store call takes 2 s; the cache starts cold, so each GET
        // below is in the store when the signal comes (the eight clients
        // need only start within 2 s of each other, even on a busy machine).
        let mut svc = Serve::start(&["--map", "syncmap", "--store", "sim:2s", "--cold"]);
        let addr = svc.addr;
        let clients: Vec<_> = (1..=8)
            .map(|id| std::thread::spawn(move || get(addr, &format!("/orders/{id}"))))
            .collect();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let m = get(addr, "/metrics").1;
            // The eight GETs and this scrape.
            if metric(&m, "mapknee_http_requests_in_flight") == Some(9.0) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the GETs never were in flight together:\n{m}"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        let (code, said) = svc.terminate();
        assert_eq!(code, Some(0), "{said:?}");
        assert_eq!(said, vec!["mapknee: drained, stopped".to_string()]);
        for c in clients {
            let (status, body) = c.join().unwrap();
            assert_eq!(status, 200, "{body}");
        }
    }

    #[test]
    fn bad_flags_get_one_line_and_status_2() {
        for args in [
            &["serve", "--map", "nope"][..],
            &["serve", "--map", "rwlock", "--store", "redis"],
            &["serve", "--map", "rwlock", "--addr", "localhost"],
            &["serve", "--map", "rwlock", "--cores", "4096"],
            &["http"],
            &["http", "--url", "https://127.0.0.1:1"],
            &["http", "--spawn", "--mix", "50/50/50"],
            &["http", "--spawn", "--maps", "nope"],
        ] {
            let out = common::mapknee(args);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
            assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
        }
    }
}

mod staircase {
    use super::*;

    #[test]
    fn spawn_writes_http_results_for_each_map_and_stops_its_services() {
        let dir = scratch("spawn");
        let out = common::mapknee(&[
            "http",
            "--spawn",
            "--maps",
            "syncmap,rwlock",
            "--store",
            "sim:0",
            "--seed",
            "2000",
            "--rates",
            "200,400",
            "--step",
            "300ms",
            "--warmup",
            "100ms",
            "--connections",
            "4",
            "--format",
            "json",
            "--out",
            dir.to_str().unwrap(),
        ]);
        let v: Value = common::json(&out);
        assert_eq!(v["schema"], "mapknee/v1");
        assert_eq!(v["kind"], "http");
        let http = &v["machine"]["http"];
        assert_eq!(http["spawned"], true);
        assert_eq!(http["connections"], 4);
        let cpus = v["machine"]["cpus"].as_u64().unwrap();
        if cpus >= 2 {
            assert_eq!(http["placement"], "split", "{http}");
        }
        let runs = v["runs"].as_array().unwrap();
        let maps: Vec<&str> = runs.iter().map(|r| r["map"].as_str().unwrap()).collect();
        assert_eq!(maps, ["syncmap", "rwlock"]);
        for r in runs {
            let steps = r["steps"].as_array().unwrap();
            assert_eq!(steps.len(), 2, "{r}");
            for s in steps {
                let c = &s["counters"];
                let ops = s["ops"].as_u64().unwrap();
                // Every measured request was answered (2xx or an expected
                // 404): the ones completed in the window (`ops`) and those
                // in flight at its end; the service saw at least as many.
                assert!(ops > 0, "{s}");
                assert_eq!(c["errors"], 0, "{s}");
                let answered =
                    c["status_2xx"].as_u64().unwrap_or(0) + c["status_4xx"].as_u64().unwrap_or(0);
                assert!(ops <= answered, "{s}");
                assert!(answered <= s["arrivals"].as_u64().unwrap(), "{s}");
                assert!(c["server_requests"].as_u64().unwrap() >= ops, "{s}");
                assert!(s["arrivals"].as_u64().unwrap() >= ops, "{s}");
                let label = s["bottleneck"].as_str().unwrap();
                assert!(
                    ["map", "store", "handler", "queueing"].contains(&label),
                    "{label}"
                );
                let f = &s["bottleneck_figures"];
                let sum: f64 = [
                    "map_share",
                    "store_share",
                    "handler_share",
                    "queueing_share",
                ]
                .iter()
                .map(|k| f[k].as_f64().unwrap())
                .sum();
                assert!((sum - 1.0).abs() < 1e-6, "{f}");
            }
        }
        assert!(dir.join("results.json").exists() && dir.join("report.html").exists());
        // The services are gone: `http` stopped them (and checked they
        // exited 0, else its own status would not be 0).
        let _ = std::fs::remove_dir_all(&dir);
    }
}

mod peers {
    use super::*;

    /// wrk (closed loop, keep-alive) against /healthz: the service counts
    /// every request wrk completed, plus at most one in flight per
    /// connection when wrk stopped.
    #[test]
    fn wrk_requests_are_all_counted_by_the_service() {
        if !tool_runs("wrk", "--version", "apt-get install wrk") {
            return;
        }
        let svc = Serve::start(&["--map", "rwlock", "--store", "sim:0"]);
        let series =
            "mapknee_http_request_duration_seconds_count{route=\"healthz\",status=\"200\"}";
        let out = Command::new("wrk")
            .args(["-t1", "-c4", "-d1s", &format!("{}/healthz", svc.url())])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let wrk: f64 = text
            .lines()
            .find_map(|l| l.trim().split_once(" requests in ")?.0.parse().ok())
            .unwrap_or_else(|| panic!("no request count in wrk's output:\n{text}"));
        assert!(!text.contains("Non-2xx"), "{text}");
        let served = metric(&get(svc.addr, "/metrics").1, series).unwrap();
        println!("wrk completed {wrk} requests to /healthz; the service counted {served}");
        assert!(wrk > 0.0, "{text}");
        assert!(
            served >= wrk && served <= wrk + 4.0,
            "wrk completed {wrk}, the service counted {served}"
        );
    }

    /// oha (open loop, `--latency-correction`, the same intended-start
    /// rule as `mapknee http`) and `mapknee http` offer the same fixed rate
    /// of PUTs to one service whose store takes 20 ms per write. Nothing
    /// here is timed: the assertions are counts and causal bounds. Each
    /// generator sent exactly what the service counted, got only 200s,
    /// and reported a p50 no lower than the store's 20 ms; oha's mean is
    /// no lower than the service's own mean handler time for the very same
    /// requests (a request cannot finish before the handler does). The
    /// two generators' p50/p99 are printed side by side.
    #[test]
    fn oha_and_mapknee_http_agree_at_a_fixed_rate() {
        if !tool_runs(
            "oha",
            "--version",
            "cargo install oha --version 1.16.0 --locked --no-default-features --features native-tls",
        ) {
            return;
        }
        const STORE_NS: f64 = 20e6;
        let svc = Serve::start(&[
            "--map",
            "rwlock",
            "--store",
            "sim:20ms",
            "--seed",
            "100",
            "--workers",
            "2",
        ]);
        let count =
            "mapknee_http_request_duration_seconds_count{route=\"put_order\",status=\"200\"}";
        let sum = "mapknee_http_request_duration_seconds_sum{route=\"put_order\",status=\"200\"}";
        let puts = || {
            let m = get(svc.addr, "/metrics").1;
            (
                metric(&m, count).unwrap_or(0.0),
                metric(&m, sum).unwrap_or(0.0),
            )
        };

        // oha: 40 PUTs at 20/s from intended start, JSON out.
        let (count0, sum0) = puts();
        let out = Command::new("oha")
            .args(["-n", "40", "-q", "20", "-c", "2", "--latency-correction"])
            .args(["--no-tui", "--output-format", "json", "-m", "PUT"])
            .args(["-H", "content-type: application/json"])
            .args(["-d", r#"{"customer":"c1","items":2,"total_cents":500}"#])
            .arg(format!("{}/orders/7", svc.url()))
            .output()
            .expect("oha runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let oha: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!("oha's JSON: {e}\n{}", String::from_utf8_lossy(&out.stdout))
        });
        let (count1, sum1) = puts();
        assert_eq!(
            oha["statusCodeDistribution"]["200"].as_u64(),
            Some(40),
            "{oha}"
        );
        assert_eq!(count1 - count0, 40.0, "the service counted oha's PUTs");
        let seconds = |v: &Value| v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"));
        let oha_p50 = seconds(&oha["latencyPercentiles"]["p50"]) * 1e9;
        let oha_p99 = seconds(&oha["latencyPercentiles"]["p99"]) * 1e9;
        let oha_mean = seconds(&oha["summary"]["average"]) * 1e9;
        let handler_mean = (sum1 - sum0) / 40.0 * 1e9;
        assert!(
            handler_mean >= STORE_NS,
            "the store's delay: {handler_mean} ns"
        );
        assert!(oha_p50 >= STORE_NS, "oha's p50 {oha_p50} ns");
        assert!(
            oha_mean >= handler_mean,
            "oha's mean {oha_mean} ns below the handler's {handler_mean} ns"
        );

        // mapknee http: the same rate, PUTs only, one 2 s step.
        let dir = scratch("oha-agreement");
        let status = Command::new(env!("CARGO_BIN_EXE_mapknee"))
            .args([
                "http",
                "--url",
                &svc.url(),
                "--rates",
                "20",
                "--mix",
                "0/100/0",
            ])
            .args(["--step", "2s", "--warmup", "100ms", "--connections", "2"])
            .args(["--cores", "off", "--out"])
            .arg(&dir)
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
        let (count2, _) = puts();
        let results: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap())
                .unwrap();
        let step = &results["runs"][0]["steps"][0];
        // The schedule is exact: 20/s for 2 s is 40 intended starts, each
        // answered (2xx, whenever it came back) or never issued because
        // the connection was still behind at the end (backlog).
        let count = |k: &str| step[k].as_f64().unwrap_or_else(|| panic!("{k}: {step}"));
        assert_eq!(count("arrivals"), 40.0, "20/s for 2 s: {step}");
        let answered = step["counters"]["status_2xx"].as_f64().unwrap();
        assert_eq!(answered + count("backlog"), 40.0, "{step}");
        assert_eq!(step["counters"]["errors"].as_f64(), Some(0.0), "{step}");
        // `ops` counts the answers that came back before the step ended:
        // the last request is due 50 ms before it, so a busy machine may
        // push one or two past the end, never more than were answered.
        let ops = count("ops");
        assert!(ops >= 1.0 && ops <= answered, "{step}");
        // The service counted the step's requests and the warm-up's.
        assert_eq!(
            step["counters"]["server_requests"].as_f64(),
            Some(count2 - count1),
            "{step}"
        );
        let ours_p50 = step["latency_ns"]["p50"].as_f64().unwrap();
        let ours_p99 = step["latency_ns"]["p99"].as_f64().unwrap();
        assert!(ours_p50 >= STORE_NS, "mapknee http's p50 {ours_p50} ns");
        println!(
            "PUT at 20/s against a 20 ms store: oha p50 {:.2} ms p99 {:.2} ms; mapknee http p50 {:.2} ms p99 {:.2} ms; ratio (mapknee/oha) p50 {:.3} p99 {:.3}; service handler mean {:.2} ms",
            oha_p50 / 1e6,
            oha_p99 / 1e6,
            ours_p50 / 1e6,
            ours_p99 / 1e6,
            ours_p50 / oha_p50,
            ours_p99 / oha_p99,
            handler_mean / 1e6
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A real Prometheus server scrapes `mapknee serve`; its HTTP query API
    /// returns the values the service reports.
    #[test]
    fn prometheus_scrapes_the_values_the_service_reports() {
        if !tool_runs("prometheus", "--version", "apt-get install prometheus") {
            return;
        }
        let svc = Serve::start(&["--map", "syncmap", "--store", "sqlite", "--seed", "1000"]);
        // Known traffic: 40 hits (seeded, cached at start), 5 misses.
        for id in 1..=40 {
            assert_eq!(get(svc.addr, &format!("/orders/{id}")).0, 200);
        }
        for id in 0..5 {
            assert_eq!(get(svc.addr, &format!("/orders/{}", 500_000 + id)).0, 404);
        }
        let m = get(svc.addr, "/metrics").1;
        let hits = metric(&m, "mapknee_cache_hits_total").unwrap();
        let latency_series =
            "mapknee_http_request_duration_seconds_count{route=\"get_order\",status=\"200\"}";
        let served = metric(&m, latency_series).unwrap();
        assert_eq!((hits, served), (40.0, 40.0), "{m}");

        let dir = scratch("prometheus");
        let port = free_port();
        std::fs::write(
            dir.join("prometheus.yml"),
            format!(
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - job_name: mapknee\n    static_configs:\n      - targets: ['{}']\n",
                svc.addr
            ),
        )
        .unwrap();
        let prom = Guard(
            Command::new("prometheus")
                .arg(format!(
                    "--config.file={}",
                    dir.join("prometheus.yml").display()
                ))
                .arg(format!(
                    "--storage.tsdb.path={}",
                    dir.join("data").display()
                ))
                .arg(format!("--web.listen-address=127.0.0.1:{port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("prometheus starts"),
        );
        let api: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let query = |q: &str| -> Option<f64> {
            let (status, body) =
                try_get(api, &format!("/api/v1/query?query={}", encode(q))).ok()?;
            if status != 200 {
                return None;
            }
            let v: Value = serde_json::from_str(&body).ok()?;
            v["data"]["result"][0]["value"][1].as_str()?.parse().ok()
        };
        // Prometheus starts, scrapes every second: wait (at most a minute
        // on a busy machine) until its view has the service's values.
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut seen = (None, None, None);
        while Instant::now() < deadline {
            seen = (
                query("up{job=\"mapknee\"}"),
                query("mapknee_cache_hits_total"),
                query(latency_series),
            );
            if seen == (Some(1.0), Some(hits), Some(served)) {
                break;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        println!("prometheus sees up={:?} mapknee_cache_hits_total={:?} {latency_series}={:?}; the service reports hits={hits} count={served}", seen.0, seen.1, seen.2);
        assert_eq!(seen, (Some(1.0), Some(hits), Some(served)));
        // A histogram arrives whole: the +Inf bucket equals the count, and
        // Prometheus computes a quantile from the buckets.
        let inf = query(
            "mapknee_http_request_duration_seconds_bucket{route=\"get_order\",status=\"200\",le=\"+Inf\"}",
        );
        assert_eq!(inf, Some(served));
        let p99 = query(
            "histogram_quantile(0.99, mapknee_http_request_duration_seconds_bucket{route=\"get_order\",status=\"200\"})",
        )
        .unwrap();
        println!("prometheus histogram_quantile(0.99, get_order 200) = {p99} s");
        assert!(p99 > 0.0 && p99 <= 1.0, "{p99}");
        drop(prom);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Percent-encodes a query for a URL.
    fn encode(q: &str) -> String {
        q.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    }
}
