//! The HTTP routes and their error bodies.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;

use crate::{App, Order};

/// The router over `app`: every route, the JSON fallbacks for unknown
/// routes and wrong methods, and the per-request measurement.
pub fn router(app: App) -> Router {
    Router::new()
        .route(
            "/orders/{id}",
            get(get_order).put(put_order).delete(delete_order),
        )
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
        .fallback(unknown_route)
        .method_not_allowed_fallback(wrong_method)
        .layer(middleware::from_fn_with_state(app.clone(), measure))
        .with_state(app)
}

/// An error response: the status and a JSON body saying why.
fn error(status: StatusCode, why: impl Into<String>) -> Response {
    ApiError(status, why.into()).into_response()
}

/// An error on its way to becoming a response (small, unlike `Response`).
struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": self.1, "status": self.0.as_u16() });
        (self.0, Json(body)).into_response()
    }
}

/// Records each request's time from the router to its response, by route
/// and status, and how many are in flight.
async fn measure(State(app): State<App>, req: Request, next: Next) -> Response {
    let route = route_of(req.method(), req.uri().path());
    let started = Instant::now();
    app.metrics.in_flight.fetch_add(1, Ordering::Relaxed);
    let response = next.run(req).await;
    app.metrics.in_flight.fetch_sub(1, Ordering::Relaxed);
    app.metrics
        .request(route, response.status().as_u16())
        .observe(started.elapsed().as_nanos() as u64);
    response
}

/// The index into [`crate::metrics::ROUTES`] of a request.
fn route_of(method: &Method, path: &str) -> usize {
    let order = path.starts_with("/orders/") && !path[8..].contains('/');
    match (method, path) {
        (&Method::GET, _) if order => 0,
        (&Method::PUT, _) if order => 1,
        (&Method::DELETE, _) if order => 2,
        (&Method::GET, "/healthz") => 3,
        (&Method::GET, "/metrics") => 4,
        _ => 5,
    }
}

/// Largest order id: SQLite stores ids as signed 64-bit integers.
const MAX_ID: u64 = i64::MAX as u64;

fn parse_id(path: Result<Path<String>, PathRejection>) -> Result<u64, ApiError> {
    let Path(raw) =
        path.map_err(|e| ApiError(StatusCode::BAD_REQUEST, format!("bad path: {e}")))?;
    match raw.parse::<u64>() {
        Ok(id) if (1..=MAX_ID).contains(&id) => Ok(id),
        _ => Err(ApiError(
            StatusCode::BAD_REQUEST,
            format!("bad order id '{raw}' (expected an integer from 1 to {MAX_ID})"),
        )),
    }
}

/// Time spent in map calls for one request.
fn map_timed<T>(app: &App, f: impl FnOnce() -> T) -> T {
    let t = Instant::now();
    let r = f();
    app.metrics.map_time.observe(t.elapsed().as_nanos() as u64);
    r
}

/// Times a store call and counts its failure.
async fn store_timed<T>(
    app: &App,
    op: usize,
    call: impl std::future::Future<Output = Result<T, crate::StoreError>>,
) -> Result<T, ApiError> {
    let t = Instant::now();
    let r = call.await;
    app.metrics.store[op].observe(t.elapsed().as_nanos() as u64);
    r.map_err(|e| {
        app.metrics.store_errors[op].fetch_add(1, Ordering::Relaxed);
        ApiError(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("store unavailable: {e}"),
        )
    })
}

async fn get_order(State(app): State<App>, path: Result<Path<String>, PathRejection>) -> Response {
    let id = match parse_id(path) {
        Ok(id) => id,
        Err(r) => return r.into_response(),
    };
    let t = Instant::now();
    let cached = app.cache.get(id);
    let mut map_ns = t.elapsed().as_nanos() as u64;
    if let Some(order) = cached {
        app.metrics.hits.fetch_add(1, Ordering::Relaxed);
        app.metrics.map_time.observe(map_ns);
        return Json(&*order).into_response();
    }
    app.metrics.misses.fetch_add(1, Ordering::Relaxed);
    let stored = match store_timed(&app, 0, app.store.get(id)).await {
        Ok(s) => s,
        Err(r) => {
            app.metrics.map_time.observe(map_ns);
            return r.into_response();
        }
    };
    let Some(order) = stored else {
        app.metrics.map_time.observe(map_ns);
        return error(StatusCode::NOT_FOUND, format!("no order {id}"));
    };
    // NOTE: cache-aside's known race: a DELETE between the store read above
    // and this insert leaves the deleted order cached until it ages out.
    let t = Instant::now();
    let (order, evicted) = app.cache.get_or_insert(Arc::new(order));
    map_ns += t.elapsed().as_nanos() as u64;
    app.metrics.map_time.observe(map_ns);
    app.metrics.evictions.fetch_add(evicted, Ordering::Relaxed);
    Json(&*order).into_response()
}

/// The body of a PUT: the order without its id (or with the path's id).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OrderBody {
    id: Option<u64>,
    customer: String,
    items: u32,
    total_cents: u64,
}

async fn put_order(
    State(app): State<App>,
    path: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let id = match parse_id(path) {
        Ok(id) => id,
        Err(r) => return r.into_response(),
    };
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
        });
    if !json {
        return error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "expected Content-Type: application/json",
        );
    }
    let limit = app.body_limit;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return error(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("body larger than {limit} bytes"),
        );
    }
    let bytes = match axum::body::to_bytes(body, limit).await {
        Ok(b) => b,
        Err(_) => {
            return error(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("body larger than {limit} bytes, or cut off"),
            )
        }
    };
    let parsed: OrderBody = match serde_json::from_slice(&bytes) {
        Ok(b) => b,
        Err(e) if e.classify() == serde_json::error::Category::Data => {
            return error(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("not an order: {e}"),
            )
        }
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("malformed JSON: {e}")),
    };
    if let Some(body_id) = parsed.id.filter(|&b| b != id) {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("body id {body_id} differs from the path's {id}"),
        );
    }
    if parsed.customer.is_empty() || parsed.customer.len() > 64 {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "customer must be 1 to 64 bytes",
        );
    }
    if !(1..=1000).contains(&parsed.items) {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "items must be from 1 to 1000",
        );
    }
    let order = Order {
        id,
        customer: parsed.customer,
        items: parsed.items,
        total_cents: parsed.total_cents,
    };
    if let Err(r) = store_timed(&app, 1, app.store.put(&order)).await {
        return r.into_response();
    }
    let order = Arc::new(order);
    let evicted = map_timed(&app, || app.cache.insert(order.clone()));
    app.metrics.evictions.fetch_add(evicted, Ordering::Relaxed);
    Json(&*order).into_response()
}

async fn delete_order(
    State(app): State<App>,
    path: Result<Path<String>, PathRejection>,
) -> Response {
    let id = match parse_id(path) {
        Ok(id) => id,
        Err(r) => return r.into_response(),
    };
    let existed = match store_timed(&app, 2, app.store.delete(id)).await {
        Ok(e) => e,
        Err(r) => return r.into_response(),
    };
    map_timed(&app, || app.cache.remove(id));
    if existed {
        StatusCode::NO_CONTENT.into_response()
    } else {
        error(StatusCode::NOT_FOUND, format!("no order {id}"))
    }
}

async fn healthz(State(app): State<App>) -> Response {
    Json(serde_json::json!({
        "status": "ok",
        "map": app.map_name,
        "store": app.store_spec,
        "capacity": app.capacity,
        "seeded": app.seed,
        "cores": app.cores,
        "body_limit": app.body_limit,
    }))
    .into_response()
}

async fn metrics(State(app): State<App>) -> Response {
    let map = app.cache.map();
    // `counters` reads no lock of the map; `len` may (a scrape every few
    // seconds is not map traffic that matters).
    let stats = map.counters();
    let text = app
        .metrics
        .export(&app.map_name, map.len(), &stats.counters());
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
        .into_response()
}

async fn unknown_route(req: Request) -> Response {
    error(
        StatusCode::NOT_FOUND,
        format!("no route {} {}", req.method(), req.uri().path()),
    )
}

async fn wrong_method(req: Request) -> Response {
    error(
        StatusCode::METHOD_NOT_ALLOWED,
        format!(
            "method {} not allowed on {}",
            req.method(),
            req.uri().path()
        ),
    )
}
