//! The service's own figures, read from its `/metrics` before and after a
//! step: how much of each request's time went to the map, to the store and
//! to the rest of the handler.

use std::collections::BTreeMap;

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;

use crate::engine::Target;

/// GETs `path` from `target` on a fresh connection: status and body.
pub async fn fetch(target: &Target, path: &str) -> Result<(u16, String), String> {
    let stream = tokio::net::TcpStream::connect(target.addr)
        .await
        .map_err(|e| format!("cannot connect to {}: {e}", target.addr))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("HTTP handshake failed: {e}"))?;
    let driver = tokio::spawn(async move {
        let _ = conn.await;
    });
    let req = hyper::Request::builder()
        .uri(path)
        .header(hyper::header::HOST, &target.authority)
        .body(Empty::<Bytes>::new())
        .map_err(|e| format!("bad request: {e}"))?;
    let res = sender
        .send_request(req)
        .await
        .map_err(|e| format!("GET {path} failed: {e}"))?;
    let status = res.status().as_u16();
    let body = res
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("GET {path}: body failed: {e}"))?
        .to_bytes();
    driver.abort();
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

/// [`fetch`] from a plain thread, on a small runtime of its own.
pub fn fetch_blocking(target: &Target, path: &str) -> Result<(u16, String), String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a runtime: {e}"))?;
    rt.block_on(async {
        match tokio::time::timeout(std::time::Duration::from_secs(10), fetch(target, path)).await {
            Ok(r) => r,
            Err(_) => Err(format!("GET {path}: no answer within 10 s")),
        }
    })
}

/// The figures a step reads from the service, cumulative: ns and counts.
/// Names are the keys the step's `counters` get (as deltas) with a
/// `server_` prefix.
pub fn parse(text: &str) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    let mut add = |k: &str, v: f64| *out.entry(k.to_string()).or_insert(0.0) += v;
    for line in text.lines() {
        if line.starts_with('#') {
            continue;
        }
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let Ok(v) = value.parse::<f64>() else {
            continue;
        };
        let (name, labels) = match series.split_once('{') {
            Some((n, l)) => (n, l.trim_end_matches('}')),
            None => (series, ""),
        };
        let label = |k: &str| {
            labels.split(',').find_map(|kv| {
                let (lk, lv) = kv.split_once('=')?;
                (lk == k).then(|| lv.trim_matches('"').to_string())
            })
        };
        let order_route = || label("route").is_some_and(|r| r.ends_with("_order"));
        match name {
            "mapknee_http_request_duration_seconds_sum" if order_route() => {
                add("handler_ns", v * 1e9)
            }
            "mapknee_http_request_duration_seconds_count" if order_route() => add("requests", v),
            "mapknee_map_time_seconds_sum" => add("map_ns", v * 1e9),
            "mapknee_store_duration_seconds_sum" => add("store_ns", v * 1e9),
            "mapknee_store_duration_seconds_count" => add("store_calls", v),
            "mapknee_store_errors_total" => add("store_errors", v),
            "mapknee_cache_hits_total" => add("cache_hits", v),
            "mapknee_cache_misses_total" => add("cache_misses", v),
            "mapknee_cache_evictions_total" => add("cache_evictions", v),
            "mapknee_map_counter_total" => {
                if let Some(c) = label("counter") {
                    add(&format!("map_{c}"), v);
                }
            }
            _ => {}
        }
    }
    out
}

/// `after − before`, as the step's `server_*` counters (ns and counts,
/// rounded; a counter that went down — a restarted service — reads 0).
pub fn delta(
    before: &BTreeMap<String, f64>,
    after: &BTreeMap<String, f64>,
) -> BTreeMap<String, u64> {
    after
        .iter()
        .map(|(k, a)| {
            let b = before.get(k).copied().unwrap_or(0.0);
            (format!("server_{k}"), (a - b).max(0.0).round() as u64)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_routes_are_summed_and_others_left_out() {
        let text = "\
# HELP x y
mapknee_http_request_duration_seconds_sum{route=\"get_order\",status=\"200\"} 0.5
mapknee_http_request_duration_seconds_count{route=\"get_order\",status=\"200\"} 10
mapknee_http_request_duration_seconds_sum{route=\"put_order\",status=\"503\"} 0.25
mapknee_http_request_duration_seconds_count{route=\"put_order\",status=\"503\"} 2
mapknee_http_request_duration_seconds_sum{route=\"metrics\",status=\"200\"} 9
mapknee_map_time_seconds_sum{map=\"rwlock\"} 0.001
mapknee_map_counter_total{map=\"rwlock\",counter=\"lock_wait_ns\"} 42
mapknee_cache_hits_total 7
";
        let m = parse(text);
        assert_eq!(m["handler_ns"], 0.75e9);
        assert_eq!(m["requests"], 12.0);
        assert_eq!(m["map_ns"], 1e6);
        assert_eq!(m["map_lock_wait_ns"], 42.0);
        assert_eq!(m["cache_hits"], 7.0);
        let mut before = m.clone();
        before.insert("cache_hits".into(), 3.0);
        assert_eq!(delta(&before, &m)["server_cache_hits"], 4);
    }
}
