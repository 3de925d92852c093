//! mapknee's order-cache service: the study's "core order-cache module in
//! a high-concurrency microservice", over any map of the registry.
//!
//! - `GET /orders/{id}`: cache-aside — a hit is answered from the map; a
//!   miss reads the store, then caches the order with `get_or_insert`
//!   (Go's `LoadOrStore`, the call the study traced);
//! - `PUT /orders/{id}` (JSON order): writes through to the store, then
//!   caches it with `insert`;
//! - `DELETE /orders/{id}`: deletes from the store, then from the cache;
//! - `GET /healthz`: the service's settings as JSON;
//! - `GET /metrics`: Prometheus text format (see [`metrics`]).
//!
//! Every error is a JSON body `{"error": "...", "status": N}`: 400 for a
//! bad id or malformed JSON, 404 for an unknown order or route, 405 for a
//! wrong method, 413 for a body over the limit, 415 for a body that is not
//! JSON, 422 for an order with invalid fields, 503 when the store fails
//! (hits are still served from the cache). SIGTERM or Ctrl-C stops
//! accepting connections, lets the requests in flight finish, and returns.
//!
//! The library never prints; the CLI (`mapknee serve`) does.
#![warn(missing_docs)]

pub mod cache;
pub mod metrics;
mod routes;
pub mod store;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use cache::Cache;
pub use metrics::Metrics;
pub use routes::router;
pub use store::{seeded_order, Store, StoreError, StoreSpec};

use mapknee_maps::{HasherKind, MapKind};

/// One order, as stored and as served.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    /// The order id (1 ..= 2^63 − 1).
    pub id: u64,
    /// Who placed it (1 to 64 bytes).
    pub customer: String,
    /// Line items (1 to 1000).
    pub items: u32,
    /// Total, in cents.
    pub total_cents: u64,
}

/// How `serve` runs.
#[derive(Debug, Clone)]
pub struct Config {
    /// The map the cache uses.
    pub map: MapKind,
    /// The map's hasher.
    pub hasher: HasherKind,
    /// Where to listen (loopback by default).
    pub addr: SocketAddr,
    /// The backing store.
    pub store: StoreSpec,
    /// Orders the cache holds at most (oldest insertions evicted).
    pub capacity: usize,
    /// Orders `1..=seed` the store holds at start.
    pub seed: u64,
    /// Largest request body accepted, bytes.
    pub body_limit: usize,
    /// Worker threads of the async runtime.
    pub workers: usize,
    /// Cores the workers are pinned to, round-robin; empty: not pinned.
    pub cores: Vec<usize>,
    /// Fill the cache with the seeded orders at start (up to its
    /// capacity), as a service that has been running a while has it; only
    /// for a fresh store (`sqlite` or `sim`), whose seeded orders are known
    /// without reading them. `false`: start cold.
    pub warm: bool,
    /// The longest the drain after SIGTERM may take before `run` gives up
    /// on the requests still in flight.
    pub drain_timeout: Duration,
}

/// The address `serve` listens on by default: loopback only.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8080";
/// Default `--capacity`.
pub const DEFAULT_CAPACITY: usize = 100_000;
/// Default number of seeded orders.
pub const DEFAULT_SEED: u64 = 50_000;
/// Default request body limit: an order is ~100 bytes of JSON.
pub const DEFAULT_BODY_LIMIT: usize = 16 * 1024;

impl Config {
    /// The defaults for `map`.
    pub fn new(map: MapKind) -> Self {
        Config {
            map,
            hasher: HasherKind::default(),
            addr: DEFAULT_ADDR.parse().expect("a valid literal address"),
            store: StoreSpec::SqliteTemp,
            capacity: DEFAULT_CAPACITY,
            seed: DEFAULT_SEED,
            body_limit: DEFAULT_BODY_LIMIT,
            workers: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cores: Vec::new(),
            warm: true,
            drain_timeout: Duration::from_secs(10),
        }
    }
}

/// What the handlers share.
#[derive(Debug)]
pub struct AppState {
    /// The cache.
    pub cache: Cache,
    /// The store behind it.
    pub store: Store,
    /// The measurements.
    pub metrics: Metrics,
    /// The map's CLI name.
    pub map_name: String,
    /// The store, as given.
    pub store_spec: String,
    /// Orders seeded at start.
    pub seed: u64,
    /// `--capacity`.
    pub capacity: usize,
    /// Largest request body accepted.
    pub body_limit: usize,
    /// Cores the workers were pinned to.
    pub cores: Vec<usize>,
}

/// Shared state handed to the router.
pub type App = Arc<AppState>;

/// Builds the cache and opens (and seeds) the store.
pub fn build(cfg: &Config) -> Result<App, ServiceError> {
    let store = Store::open(&cfg.store, cfg.seed).map_err(|e| ServiceError(e.0))?;
    let map = cache::build_map(&cfg.map, cfg.hasher, cfg.capacity);
    let cache = Cache::new(map, cfg.capacity);
    if cfg.warm && !matches!(cfg.store, StoreSpec::Sqlite(_)) {
        for id in 1..=cfg.seed.min(cfg.capacity as u64) {
            cache.insert(Arc::new(seeded_order(id)));
        }
    }
    Ok(Arc::new(AppState {
        cache,
        store,
        metrics: Metrics::default(),
        map_name: cfg.map.name(),
        store_spec: cfg.store.to_string(),
        seed: cfg.seed,
        capacity: cfg.capacity,
        body_limit: cfg.body_limit,
        cores: cfg.cores.clone(),
    }))
}

/// Why the service could not start or stop cleanly; one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceError(pub String);

impl std::fmt::Display for ServiceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ServiceError {}

/// Serves `app` on `listener` until `shutdown` completes, then drains:
/// no new connections, requests in flight finish (idle keep-alive
/// connections are closed), at most `drain_timeout`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    app: App,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    drain_timeout: Duration,
) -> Result<(), ServiceError> {
    let (signalled_tx, signalled_rx) = tokio::sync::oneshot::channel::<()>();
    use axum::serve::ListenerExt;
    // Nagle's algorithm would hold a response segment until the client
    // ACKs the previous one, and clients delay ACKs: small responses on a
    // keep-alive connection would wait for timers, not for the service.
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let server = axum::serve(listener, router(app)).with_graceful_shutdown(async move {
        shutdown.await;
        let _ = signalled_tx.send(());
    });
    let mut server = std::pin::pin!(std::future::IntoFuture::into_future(server));
    tokio::select! {
        r = &mut server => return r.map_err(|e| ServiceError(format!("server failed: {e}"))),
        _ = signalled_rx => {}
    }
    match tokio::time::timeout(drain_timeout, server).await {
        Ok(r) => r.map_err(|e| ServiceError(format!("server failed: {e}"))),
        Err(_) => Err(ServiceError(format!(
            "requests still in flight {drain_timeout:?} after the shutdown signal; stopped without them"
        ))),
    }
}

/// Resolves on SIGTERM or Ctrl-C (SIGINT).
async fn termination() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Runs the service until SIGTERM or Ctrl-C, then drains and returns.
/// `listening` is called with the bound address once connections are
/// accepted (port 0 in `cfg.addr` picks a free port).
pub fn run(cfg: Config, listening: impl FnOnce(SocketAddr)) -> Result<(), ServiceError> {
    let app = build(&cfg)?;
    let cores = cfg.cores.clone();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let ids = core_affinity::get_core_ids().unwrap_or_default();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cfg.workers.max(1))
        .enable_all()
        .on_thread_start(move || {
            if cores.is_empty() {
                return;
            }
            let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let want = cores[i % cores.len()];
            if let Some(id) = ids.iter().find(|c| c.id == want) {
                // Best effort: a core the process may not use stays unpinned.
                let _ = core_affinity::set_for_current(*id);
            }
        })
        .build()
        .map_err(|e| ServiceError(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(cfg.addr)
            .await
            .map_err(|e| ServiceError(format!("cannot listen on {}: {e}", cfg.addr)))?;
        let addr = listener
            .local_addr()
            .map_err(|e| ServiceError(format!("cannot read the bound address: {e}")))?;
        listening(addr);
        serve(listener, app, termination(), cfg.drain_timeout).await
    })
}
