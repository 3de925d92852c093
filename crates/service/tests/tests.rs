//! The service over real sockets: the routes, the bad-request suite, store
//! failures, the bound on the cache, and the drain on shutdown.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use mapknee_service::{Config, StoreSpec};

/// A service on a free loopback port, run on its own thread; stopped (and
/// joined) when dropped, also when a test fails.
struct Running {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<Result<(), mapknee_service::ServiceError>>>,
}

impl Running {
    fn start(map: &str, store: &str, capacity: usize) -> Running {
        let mut cfg = Config::new(map.parse().unwrap());
        cfg.store = store.parse::<StoreSpec>().unwrap();
        cfg.capacity = capacity;
        cfg.seed = 100;
        cfg.addr = "127.0.0.1:0".parse().unwrap();
        cfg.body_limit = 1024;
        // The tests count hits and misses from an empty cache.
        cfg.warm = false;
        let app = mapknee_service::build(&cfg).unwrap();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let l = tokio::net::TcpListener::bind(cfg.addr).await.unwrap();
                addr_tx.send(l.local_addr().unwrap()).unwrap();
                mapknee_service::serve(
                    l,
                    app,
                    async move {
                        let _ = stop_rx.await;
                    },
                    Duration::from_secs(10),
                )
                .await
            })
        });
        Running {
            addr: addr_rx.recv().unwrap(),
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    /// Signals shutdown and waits for `serve` to return.
    fn stop(mut self) -> Result<(), mapknee_service::ServiceError> {
        self.stop.take().map(|s| s.send(()));
        self.thread.take().unwrap().join().unwrap()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One HTTP/1.1 request on a fresh connection (`Connection: close`):
/// the status and the body.
fn send(addr: SocketAddr, raw: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.write_all(raw.as_bytes()).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let text = String::from_utf8_lossy(&out).to_string();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    (status, body.to_string())
}

fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    send(
        addr,
        &format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
    )
}

fn with_body(addr: SocketAddr, method: &str, path: &str, ctype: &str, body: &str) -> (u16, String) {
    send(
        addr,
        &format!(
            "{method} {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ),
    )
}

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body:?}"))
}

/// The value of an unlabelled metric line.
fn metric(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no {name} in\n{text}"))
}

mod routes {
    use super::*;

    #[test]
    fn cache_aside_over_sqlite_for_every_kind_of_map() {
        for map in ["rwlock", "syncmap", "sharded", "gomap-rwlock"] {
            let svc = Running::start(map, "sqlite", 1000);
            let a = svc.addr;
            // A seeded order: a miss, then a hit.
            let (s, b) = get(a, "/orders/7");
            assert_eq!(s, 200, "{map}: {b}");
            assert_eq!(
                serde_json::from_str::<mapknee_service::Order>(&b).unwrap(),
                mapknee_service::seeded_order(7)
            );
            assert_eq!(get(a, "/orders/7").0, 200);
            // Write-through, then read back.
            let (s, b) = with_body(
                a,
                "PUT",
                "/orders/5000",
                "application/json",
                r#"{"customer":"ada","items":2,"total_cents":999}"#,
            );
            assert_eq!(s, 200, "{map}: {b}");
            assert_eq!(json(&get(a, "/orders/5000").1)["customer"], "ada");
            // Delete from store and cache.
            assert_eq!(
                with_body(a, "DELETE", "/orders/5000", "text/plain", "").0,
                204
            );
            assert_eq!(get(a, "/orders/5000").0, 404);
            assert_eq!(
                with_body(a, "DELETE", "/orders/5000", "text/plain", "").0,
                404
            );
            let m = get(a, "/metrics").1;
            // Lookups: 7 (miss, hit), 5000 (hit after PUT), 5000 (miss after DELETE).
            assert_eq!(metric(&m, "mapknee_cache_hits_total"), 2.0, "{map}\n{m}");
            assert_eq!(metric(&m, "mapknee_cache_misses_total"), 2.0, "{map}\n{m}");
            assert_eq!(metric(&m, "mapknee_cache_hit_ratio"), 0.5, "{map}");
            assert!(
                m.contains("mapknee_http_request_duration_seconds_count{route=\"get_order\",status=\"200\"} 3"),
                "{map}\n{m}"
            );
            assert!(
                m.contains(&format!("mapknee_cache_entries{{map=\"{map}\"}} 1")),
                "{map}\n{m}"
            );
            assert_eq!(json(&get(a, "/healthz").1)["map"], map);
            svc.stop().unwrap();
        }
    }

    #[test]
    fn a_warm_start_serves_seeded_orders_as_hits() {
        let mut cfg = Config::new("syncmap".parse().unwrap());
        cfg.store = "sim:0".parse().unwrap();
        cfg.seed = 50;
        cfg.capacity = 20;
        let app = mapknee_service::build(&cfg).unwrap();
        assert_eq!(app.cache.map().len(), 20);
        assert_eq!(
            *app.cache.get(20).unwrap(),
            mapknee_service::seeded_order(20)
        );
        assert_eq!(app.cache.get(21), None);
    }

    #[test]
    fn the_cache_stays_bounded_while_the_store_grows() {
        let svc = Running::start("syncmap", "sim:0", 128);
        for id in 1..=600 {
            let (s, _) = with_body(
                svc.addr,
                "PUT",
                &format!("/orders/{id}"),
                "application/json",
                r#"{"customer":"c","items":1,"total_cents":1}"#,
            );
            assert_eq!(s, 200);
        }
        let m = get(svc.addr, "/metrics").1;
        let entries: f64 = m
            .lines()
            .find_map(|l| {
                l.strip_prefix("mapknee_cache_entries{map=\"syncmap\"} ")?
                    .parse()
                    .ok()
            })
            .unwrap();
        assert!(entries <= 128.0, "{entries}");
        assert_eq!(metric(&m, "mapknee_cache_evictions_total") + entries, 600.0);
        // Evicted orders are still in the store: a miss, then served.
        assert_eq!(get(svc.addr, "/orders/1").0, 200);
    }
}

mod bad_requests {
    use super::*;

    /// Every case: the status, and a JSON body `{error, status}` that
    /// names the status. The table the README shows.
    #[test]
    fn each_bad_request_gets_a_4xx_with_a_json_error() {
        let svc = Running::start("rwlock", "sim:0", 100);
        let a = svc.addr;
        let big = format!(
            r#"{{"customer":"{}","items":1,"total_cents":1}}"#,
            "x".repeat(2000)
        );
        let cases: Vec<(&str, (u16, String), u16)> = vec![
            ("non-numeric id", get(a, "/orders/abc"), 400),
            ("id zero", get(a, "/orders/0"), 400),
            ("id past 2^63-1", get(a, "/orders/9223372036854775808"), 400),
            ("negative id", get(a, "/orders/-4"), 400),
            ("unknown order", get(a, "/orders/999999"), 404),
            ("unknown route", get(a, "/nope"), 404),
            ("nested order path", get(a, "/orders/1/items"), 404),
            (
                "wrong method",
                with_body(a, "POST", "/orders/1", "application/json", "{}"),
                405,
            ),
            (
                "wrong method on /healthz",
                with_body(a, "DELETE", "/healthz", "text/plain", ""),
                405,
            ),
            (
                "malformed JSON",
                with_body(a, "PUT", "/orders/1", "application/json", "{\"customer\":"),
                400,
            ),
            (
                "not an object",
                with_body(a, "PUT", "/orders/1", "application/json", "[1,2]"),
                422,
            ),
            (
                "missing field",
                with_body(
                    a,
                    "PUT",
                    "/orders/1",
                    "application/json",
                    r#"{"customer":"a","items":1}"#,
                ),
                422,
            ),
            (
                "unknown field",
                with_body(
                    a,
                    "PUT",
                    "/orders/1",
                    "application/json",
                    r#"{"customer":"a","items":1,"total_cents":1,"x":1}"#,
                ),
                422,
            ),
            (
                "negative total",
                with_body(
                    a,
                    "PUT",
                    "/orders/1",
                    "application/json",
                    r#"{"customer":"a","items":1,"total_cents":-1}"#,
                ),
                422,
            ),
            (
                "zero items",
                with_body(
                    a,
                    "PUT",
                    "/orders/1",
                    "application/json",
                    r#"{"customer":"a","items":0,"total_cents":1}"#,
                ),
                422,
            ),
            (
                "empty customer",
                with_body(
                    a,
                    "PUT",
                    "/orders/1",
                    "application/json",
                    r#"{"customer":"","items":1,"total_cents":1}"#,
                ),
                422,
            ),
            (
                "body id differs",
                with_body(
                    a,
                    "PUT",
                    "/orders/1",
                    "application/json",
                    r#"{"id":2,"customer":"a","items":1,"total_cents":1}"#,
                ),
                422,
            ),
            (
                "not JSON content type",
                with_body(a, "PUT", "/orders/1", "text/plain", "hi"),
                415,
            ),
            (
                "body over the limit",
                with_body(a, "PUT", "/orders/1", "application/json", &big),
                413,
            ),
        ];
        for (what, (status, body), want) in cases {
            assert_eq!(status, want, "{what}: {body}");
            let v = json(&body);
            assert_eq!(v["status"], want, "{what}: {body}");
            assert!(
                v["error"].as_str().is_some_and(|e| !e.is_empty()),
                "{what}: {body}"
            );
        }
        // The service still works after all of that.
        assert_eq!(get(a, "/orders/3").0, 200);
        svc.stop().unwrap();
    }

    #[test]
    fn a_failing_store_gets_503_while_hits_are_still_served() {
        // Every store call fails (error rate 1); the cache is empty, so the
        // only way to fill it is a PUT, which fails at the store too.
        let svc = Running::start("sharded", "sim:0:1", 100);
        let (s, b) = get(svc.addr, "/orders/3");
        assert_eq!((s, json(&b)["status"].as_u64()), (503, Some(503)), "{b}");
        let (s, _) = with_body(
            svc.addr,
            "PUT",
            "/orders/3",
            "application/json",
            r#"{"customer":"a","items":1,"total_cents":1}"#,
        );
        assert_eq!(s, 503);
        let m = get(svc.addr, "/metrics").1;
        assert!(
            m.contains("mapknee_store_errors_total{op=\"get\"} 1"),
            "{m}"
        );
        assert!(
            m.contains("mapknee_store_errors_total{op=\"put\"} 1"),
            "{m}"
        );
        svc.stop().unwrap();
    }

    #[test]
    fn hits_survive_a_store_that_fails_half_the_time() {
        let svc = Running::start("rwlock", "sim:0:0.5", 100);
        // Fill the cache: retry each id until its store read succeeds.
        for id in 1..=10 {
            let mut tries = 0;
            while get(svc.addr, &format!("/orders/{id}")).0 != 200 {
                tries += 1;
                assert!(tries < 200, "store never answered for {id}");
            }
        }
        // Now every read is a hit: no store call, no 503.
        for _ in 0..5 {
            for id in 1..=10 {
                assert_eq!(get(svc.addr, &format!("/orders/{id}")).0, 200);
            }
        }
        svc.stop().unwrap();
    }
}

mod shutdown {
    use super::*;

    #[test]
    fn shutdown_lets_requests_in_flight_finish() {
        // Every store call takes 2 s: the requests below are in flight
        // when the shutdown comes (their clients need only start within
        // 2 s of each other, even on a busy machine).
        let svc = Running::start("rwlock", "sim:2s", 100);
        let addr = svc.addr;
        let clients: Vec<_> = (1..=4)
            .map(|id| std::thread::spawn(move || get(addr, &format!("/orders/{id}"))))
            .collect();
        // Wait until all four are in the handler.
        let mut seen = 0.0;
        for _ in 0..1000 {
            let m = get(addr, "/metrics").1;
            seen = metric(&m, "mapknee_http_requests_in_flight");
            if seen >= 5.0 {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        assert_eq!(
            seen, 5.0,
            "the four requests (and this scrape) never were in flight together"
        );
        svc.stop().unwrap();
        for c in clients {
            let (s, b) = c.join().unwrap();
            assert_eq!(s, 200, "{b}");
        }
        // And the listener is gone.
        assert!(TcpStream::connect(addr).is_err());
    }
}
