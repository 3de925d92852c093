//! The service's own measurements, exported in Prometheus's text format
//! (version 0.0.4) at `/metrics`: request latency by route and status,
//! cache hits and misses, time in the map and in the store per request,
//! store errors, and the map's mechanism counters.
//!
//! Everything is a relaxed atomic updated on the request path: no lock, so
//! the metrics add no serialisation of their own to what is measured.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

/// Histogram bucket upper bounds, in ns (Prometheus `le`, in seconds):
/// 1 µs to 1 s, about 2.5× apart, fine enough at the low end for the map's
/// own time per request.
pub const BUCKETS_NS: [u64; 19] = [
    1_000,
    2_500,
    5_000,
    10_000,
    25_000,
    50_000,
    100_000,
    250_000,
    500_000,
    1_000_000,
    2_500_000,
    5_000_000,
    10_000_000,
    25_000_000,
    50_000_000,
    100_000_000,
    250_000_000,
    500_000_000,
    1_000_000_000,
];

/// A Prometheus histogram: cumulative buckets are computed at export, each
/// observation increments exactly one bucket (or the overflow slot).
#[derive(Debug)]
pub struct Histogram {
    buckets: [AtomicU64; BUCKETS_NS.len() + 1],
    sum_ns: AtomicU64,
    count: AtomicU64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram {
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            sum_ns: AtomicU64::new(0),
            count: AtomicU64::new(0),
        }
    }
}

impl Histogram {
    /// Records one observation of `ns` nanoseconds.
    pub fn observe(&self, ns: u64) {
        let i = BUCKETS_NS.partition_point(|&b| b < ns);
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
        self.sum_ns.fetch_add(ns, Ordering::Relaxed);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    /// Observations so far.
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// Sum of the observations so far, ns.
    pub fn sum_ns(&self) -> u64 {
        self.sum_ns.load(Ordering::Relaxed)
    }

    /// Appends the `_bucket`, `_sum` and `_count` lines of `name` with the
    /// extra `labels` (already formatted, e.g. `route="get",`).
    fn export(&self, out: &mut String, name: &str, labels: &str) {
        let mut cumulative = 0;
        for (i, b) in self.buckets.iter().enumerate() {
            cumulative += b.load(Ordering::Relaxed);
            let le = match BUCKETS_NS.get(i) {
                Some(ns) => format!("{}", *ns as f64 / 1e9),
                None => "+Inf".into(),
            };
            let _ = writeln!(out, "{name}_bucket{{{labels}le=\"{le}\"}} {cumulative}");
        }
        let trimmed = labels.trim_end_matches(',');
        let braces = if trimmed.is_empty() {
            String::new()
        } else {
            format!("{{{trimmed}}}")
        };
        let _ = writeln!(out, "{name}_sum{braces} {}", self.sum_ns() as f64 / 1e9);
        // The count from the buckets, so `_count` equals the `+Inf` bucket
        // even while observations land during the export.
        let _ = writeln!(out, "{name}_count{braces} {cumulative}");
    }
}

/// The routes requests are labelled with.
pub const ROUTES: [&str; 6] = [
    "get_order",
    "put_order",
    "delete_order",
    "healthz",
    "metrics",
    "other",
];

/// The statuses the service answers with; anything else counts as `other`.
pub const STATUSES: [u16; 11] = [200, 204, 400, 404, 405, 413, 415, 422, 500, 503, 0];

/// Store operations.
pub const STORE_OPS: [&str; 3] = ["get", "put", "delete"];

/// The service's metrics.
#[derive(Debug)]
pub struct Metrics {
    requests: Vec<Histogram>,
    /// Cache lookups answered by the map.
    pub hits: AtomicU64,
    /// Cache lookups that went to the store.
    pub misses: AtomicU64,
    /// Time spent in map calls per request that called the map.
    pub map_time: Histogram,
    /// Store call latency, per operation.
    pub store: [Histogram; 3],
    /// Store calls that failed, per operation.
    pub store_errors: [AtomicU64; 3],
    /// Orders evicted from the cache to keep it within its capacity.
    pub evictions: AtomicU64,
    /// Requests being handled now.
    pub in_flight: AtomicU64,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            requests: (0..ROUTES.len() * STATUSES.len())
                .map(|_| Histogram::default())
                .collect(),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            map_time: Histogram::default(),
            store: Default::default(),
            store_errors: Default::default(),
            evictions: AtomicU64::new(0),
            in_flight: AtomicU64::new(0),
        }
    }
}

impl Metrics {
    /// The histogram of requests to `route` (an index into [`ROUTES`])
    /// answered with `status`.
    pub fn request(&self, route: usize, status: u16) -> &Histogram {
        let s = STATUSES
            .iter()
            .position(|&x| x == status)
            .unwrap_or(STATUSES.len() - 1);
        &self.requests[route.min(ROUTES.len() - 1) * STATUSES.len() + s]
    }

    /// The whole exposition: these metrics plus the map's mechanism
    /// counters and its `len`.
    pub fn export(&self, map: &str, map_len: usize, map_counters: &[(&str, u64)]) -> String {
        let mut out = String::with_capacity(16 * 1024);
        out.push_str("# HELP mapknee_http_request_duration_seconds Time from the request's arrival at the router to its response, by route and status.\n");
        out.push_str("# TYPE mapknee_http_request_duration_seconds histogram\n");
        for (r, route) in ROUTES.iter().enumerate() {
            for (s, status) in STATUSES.iter().enumerate() {
                let h = &self.requests[r * STATUSES.len() + s];
                if h.count() == 0 {
                    continue;
                }
                let status = if *status == 0 {
                    "other".to_string()
                } else {
                    status.to_string()
                };
                h.export(
                    &mut out,
                    "mapknee_http_request_duration_seconds",
                    &format!("route=\"{route}\",status=\"{status}\","),
                );
            }
        }
        let hits = self.hits.load(Ordering::Relaxed);
        let misses = self.misses.load(Ordering::Relaxed);
        let _ = writeln!(out, "# HELP mapknee_cache_hits_total Order lookups answered by the map.\n# TYPE mapknee_cache_hits_total counter\nmapknee_cache_hits_total {hits}");
        let _ = writeln!(out, "# HELP mapknee_cache_misses_total Order lookups that read the store.\n# TYPE mapknee_cache_misses_total counter\nmapknee_cache_misses_total {misses}");
        let ratio = if hits + misses == 0 {
            0.0
        } else {
            hits as f64 / (hits + misses) as f64
        };
        let _ = writeln!(out, "# HELP mapknee_cache_hit_ratio Hits over lookups since start.\n# TYPE mapknee_cache_hit_ratio gauge\nmapknee_cache_hit_ratio {ratio}");
        let _ = writeln!(out, "# HELP mapknee_cache_evictions_total Orders evicted to keep the cache within --capacity.\n# TYPE mapknee_cache_evictions_total counter\nmapknee_cache_evictions_total {}", self.evictions.load(Ordering::Relaxed));
        let _ = writeln!(out, "# HELP mapknee_cache_entries Orders in the map.\n# TYPE mapknee_cache_entries gauge\nmapknee_cache_entries{{map=\"{map}\"}} {map_len}");
        out.push_str("# HELP mapknee_map_time_seconds Time spent in map calls, per request that called the map.\n# TYPE mapknee_map_time_seconds histogram\n");
        self.map_time.export(
            &mut out,
            "mapknee_map_time_seconds",
            &format!("map=\"{map}\","),
        );
        out.push_str("# HELP mapknee_store_duration_seconds Store call latency by operation.\n# TYPE mapknee_store_duration_seconds histogram\n");
        for (i, op) in STORE_OPS.iter().enumerate() {
            self.store[i].export(
                &mut out,
                "mapknee_store_duration_seconds",
                &format!("op=\"{op}\","),
            );
        }
        out.push_str("# HELP mapknee_store_errors_total Store calls that failed, by operation.\n# TYPE mapknee_store_errors_total counter\n");
        for (i, op) in STORE_OPS.iter().enumerate() {
            let _ = writeln!(
                out,
                "mapknee_store_errors_total{{op=\"{op}\"}} {}",
                self.store_errors[i].load(Ordering::Relaxed)
            );
        }
        let _ = writeln!(out, "# HELP mapknee_http_requests_in_flight Requests being handled.\n# TYPE mapknee_http_requests_in_flight gauge\nmapknee_http_requests_in_flight {}", self.in_flight.load(Ordering::Relaxed));
        out.push_str("# HELP mapknee_map_counter_total The map's mechanism counters (mapknee-maps MapStats names).\n# TYPE mapknee_map_counter_total counter\n");
        for (name, v) in map_counters {
            let _ = writeln!(
                out,
                "mapknee_map_counter_total{{map=\"{map}\",counter=\"{name}\"}} {v}"
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative_and_count_equals_inf() {
        let h = Histogram::default();
        for ns in [500, 1_000, 3_000, 2_000_000_000] {
            h.observe(ns);
        }
        let mut out = String::new();
        h.export(&mut out, "x", "");
        assert!(out.contains("x_bucket{le=\"0.000001\"} 2\n"), "{out}");
        assert!(out.contains("x_bucket{le=\"0.000005\"} 3\n"), "{out}");
        assert!(out.contains("x_bucket{le=\"1\"} 3\n"), "{out}");
        assert!(out.contains("x_bucket{le=\"+Inf\"} 4\n"), "{out}");
        assert!(out.contains("x_count 4\n"), "{out}");
        assert!(out.contains("x_sum 2.0000045\n"), "{out}");
    }

    #[test]
    fn unknown_status_and_route_fall_into_other() {
        let m = Metrics::default();
        m.request(99, 418).observe(10);
        let text = m.export("rwlock", 0, &[]);
        assert!(
            text.contains("route=\"other\",status=\"other\",le=\"+Inf\"} 1"),
            "{text}"
        );
    }
}
