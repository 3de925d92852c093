//! The backing store behind the cache: SQLite (a real embedded database,
//! the default) or a simulated store with a set latency and error rate for
//! controlled experiments.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{params, Connection, OptionalExtension};

use crate::Order;

/// Which store `serve` uses, as given by `--store`.
#[derive(Debug, Clone, PartialEq)]
pub enum StoreSpec {
    /// `sqlite`: a fresh SQLite file in a temporary directory, removed on exit.
    SqliteTemp,
    /// `sqlite:PATH`: this SQLite file (created when absent, kept on exit).
    Sqlite(PathBuf),
    /// `sim:LATENCY[:ERROR_RATE]`: in memory, every call waits `latency`
    /// and fails with probability `error_rate`.
    Sim {
        /// Added to every call.
        latency: Duration,
        /// Probability, 0..=1, that a call fails.
        error_rate: f64,
    },
}

impl fmt::Display for StoreSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StoreSpec::SqliteTemp => f.write_str("sqlite"),
            StoreSpec::Sqlite(p) => write!(f, "sqlite:{}", p.display()),
            StoreSpec::Sim {
                latency,
                error_rate,
            } => write!(f, "sim:{latency:?}:{error_rate}"),
        }
    }
}

impl FromStr for StoreSpec {
    type Err = String;

    /// ```
    /// use mapknee_service::StoreSpec;
    /// use std::time::Duration;
    /// assert_eq!("sqlite".parse::<StoreSpec>().unwrap(), StoreSpec::SqliteTemp);
    /// assert_eq!(
    ///     "sim:2ms:0.1".parse::<StoreSpec>().unwrap(),
    ///     StoreSpec::Sim { latency: Duration::from_millis(2), error_rate: 0.1 }
    /// );
    /// assert!("sim:2ms:1.5".parse::<StoreSpec>().is_err());
    /// assert!("redis".parse::<StoreSpec>().is_err());
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if s == "sqlite" {
            return Ok(StoreSpec::SqliteTemp);
        }
        if let Some(path) = s.strip_prefix("sqlite:") {
            if path.is_empty() {
                return Err("bad store 'sqlite:' (expected sqlite:PATH)".into());
            }
            return Ok(StoreSpec::Sqlite(PathBuf::from(path)));
        }
        if let Some(rest) = s.strip_prefix("sim:") {
            let (lat, err) = match rest.split_once(':') {
                Some((l, e)) => (l, Some(e)),
                None => (rest, None),
            };
            let latency = if lat == "0" {
                Duration::ZERO
            } else {
                mapknee_maps::parse_duration(lat).map_err(|e| format!("bad store '{s}': {e}"))?
            };
            let error_rate = match err {
                None => 0.0,
                Some(e) => e
                    .parse::<f64>()
                    .ok()
                    .filter(|r| (0.0..=1.0).contains(r))
                    .ok_or_else(|| {
                        format!("bad store '{s}': error rate must be a number from 0 to 1")
                    })?,
            };
            return Ok(StoreSpec::Sim {
                latency,
                error_rate,
            });
        }
        Err(format!(
            "unknown store '{s}' (expected sqlite, sqlite:PATH or sim:LATENCY[:ERROR_RATE])"
        ))
    }
}

/// A store call that failed; the service answers 503.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError(pub String);

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StoreError {}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError(format!("sqlite: {e}"))
    }
}

/// The store the cache reads through and writes through.
#[derive(Debug)]
pub enum Store {
    /// SQLite.
    Sqlite(SqliteStore),
    /// Simulated.
    Sim(SimStore),
}

impl Store {
    /// Opens the store `spec` names and seeds it with orders `1..=seed`
    /// (SQLite: only the ones not already there).
    pub fn open(spec: &StoreSpec, seed: u64) -> Result<Store, StoreError> {
        match spec {
            StoreSpec::SqliteTemp => {
                let dir = TempDir::new()?;
                let path = dir.path().join("orders.db");
                SqliteStore::open(&path, seed, Some(dir)).map(Store::Sqlite)
            }
            StoreSpec::Sqlite(path) => SqliteStore::open(path, seed, None).map(Store::Sqlite),
            StoreSpec::Sim {
                latency,
                error_rate,
            } => Ok(Store::Sim(SimStore::new(*latency, *error_rate, seed))),
        }
    }

    /// The order `id`, if stored.
    pub async fn get(&self, id: u64) -> Result<Option<Order>, StoreError> {
        match self {
            Store::Sqlite(s) => s.get(id),
            Store::Sim(s) => s.call(id, |m| m.get(&id).cloned()).await,
        }
    }

    /// Stores `order` (insert or replace).
    pub async fn put(&self, order: &Order) -> Result<(), StoreError> {
        match self {
            Store::Sqlite(s) => s.put(order),
            Store::Sim(s) => {
                s.call(order.id, |m| {
                    m.insert(order.id, order.clone());
                })
                .await
            }
        }
    }

    /// Removes the order `id`; whether it was stored.
    pub async fn delete(&self, id: u64) -> Result<bool, StoreError> {
        match self {
            Store::Sqlite(s) => s.delete(id),
            Store::Sim(s) => s.call(id, |m| m.remove(&id).is_some()).await,
        }
    }
}

/// The order every seeded id gets: a pure function of the id, so tests and
/// load generators know what a seeded order holds.
pub fn seeded_order(id: u64) -> Order {
    Order {
        id,
        customer: format!("customer-{}", id % 1000),
        items: (id % 7 + 1) as u32,
        total_cents: 199 * (id % 50 + 1),
    }
}

/// SQLite through rusqlite (SQLite compiled in, `bundled`): one table in
/// WAL mode, a small pool of connections.
pub struct SqliteStore {
    /// A connection per slot; a call takes the slot `id % len`, so calls on
    /// different ids rarely wait for each other's connection.
    pool: Vec<Mutex<Connection>>,
    path: PathBuf,
    /// Removes the temporary directory when the store is dropped.
    _dir: Option<TempDir>,
}

impl fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .field("connections", &self.pool.len())
            .finish()
    }
}

/// Connections in the pool: WAL lets readers run beside one writer; more
/// than a few buys nothing on a small machine.
const POOL: usize = 4;

impl SqliteStore {
    fn open(path: &Path, seed: u64, dir: Option<TempDir>) -> Result<Self, StoreError> {
        let mut pool = Vec::with_capacity(POOL);
        for _ in 0..POOL {
            let c = Connection::open(path)
                .map_err(|e| StoreError(format!("cannot open '{}': {e}", path.display())))?;
            // Every connection may meet another's write lock: wait, do not fail.
            c.busy_timeout(Duration::from_secs(5))?;
            // NORMAL in WAL mode: commits survive a crash of the process
            // (not of the machine) without an fsync per commit.
            c.pragma_update(None, "journal_mode", "WAL")?;
            c.pragma_update(None, "synchronous", "NORMAL")?;
            pool.push(Mutex::new(c));
        }
        let store = SqliteStore {
            pool,
            path: path.to_path_buf(),
            _dir: dir,
        };
        store.seed(seed)?;
        Ok(store)
    }

    fn conn(&self, id: u64) -> std::sync::MutexGuard<'_, Connection> {
        // A panic while a connection was held cannot leave it half-used:
        // rusqlite statements finish or roll back, so a poisoned slot is fine.
        self.pool[(id % self.pool.len() as u64) as usize]
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    fn seed(&self, n: u64) -> Result<(), StoreError> {
        let mut c = self.conn(0);
        c.execute_batch(
            "CREATE TABLE IF NOT EXISTS orders (
                 id INTEGER PRIMARY KEY,
                 customer TEXT NOT NULL,
                 items INTEGER NOT NULL,
                 total_cents INTEGER NOT NULL)",
        )?;
        let tx = c.transaction()?;
        {
            let mut st = tx.prepare(
                "INSERT OR IGNORE INTO orders (id, customer, items, total_cents) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for id in 1..=n {
                let o = seeded_order(id);
                st.execute(params![
                    o.id as i64,
                    o.customer,
                    o.items,
                    o.total_cents as i64
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    // NOTE: these calls block the async worker that runs the request for
    // the length of one indexed SQLite statement (tens of µs from the page
    // cache); handing each to a blocking thread would add a thread switch
    // per miss, more than the statement costs.
    fn get(&self, id: u64) -> Result<Option<Order>, StoreError> {
        let c = self.conn(id);
        let mut st =
            c.prepare_cached("SELECT customer, items, total_cents FROM orders WHERE id = ?1")?;
        Ok(st
            .query_row(params![id as i64], |r| {
                Ok(Order {
                    id,
                    customer: r.get(0)?,
                    items: r.get(1)?,
                    total_cents: r.get::<_, i64>(2)? as u64,
                })
            })
            .optional()?)
    }

    fn put(&self, o: &Order) -> Result<(), StoreError> {
        let c = self.conn(o.id);
        let mut st = c.prepare_cached(
            "INSERT INTO orders (id, customer, items, total_cents) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(id) DO UPDATE SET customer = excluded.customer,
                 items = excluded.items, total_cents = excluded.total_cents",
        )?;
        st.execute(params![
            o.id as i64,
            o.customer,
            o.items,
            o.total_cents as i64
        ])?;
        Ok(())
    }

    fn delete(&self, id: u64) -> Result<bool, StoreError> {
        let c = self.conn(id);
        let mut st = c.prepare_cached("DELETE FROM orders WHERE id = ?1")?;
        Ok(st.execute(params![id as i64])? > 0)
    }
}

/// Shards of the simulated store's table (a power of two).
const SIM_SHARDS: usize = 16;

/// An in-memory store whose calls take a set time and fail at a set rate.
#[derive(Debug)]
pub struct SimStore {
    shards: Vec<Mutex<HashMap<u64, Order>>>,
    latency: Duration,
    error_rate: f64,
    calls: AtomicU64,
}

impl SimStore {
    fn new(latency: Duration, error_rate: f64, seed: u64) -> Self {
        let shards: Vec<Mutex<HashMap<u64, Order>>> = (0..SIM_SHARDS)
            .map(|_| Mutex::new(HashMap::new()))
            .collect();
        for id in 1..=seed {
            shards[id as usize % SIM_SHARDS]
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(id, seeded_order(id));
        }
        SimStore {
            shards,
            latency,
            error_rate,
            calls: AtomicU64::new(0),
        }
    }

    /// Waits the latency, fails at the error rate, else runs `f` on the
    /// shard holding `id`.
    async fn call<T>(
        &self,
        id: u64,
        f: impl FnOnce(&mut HashMap<u64, Order>) -> T,
    ) -> Result<T, StoreError> {
        // NOTE: tokio's timer ticks in whole milliseconds, so a latency
        // below 1 ms waits until the next tick (up to 1 ms).
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
        // Failures are spread evenly by a hash of the call number, not a
        // shared random generator: no lock, same rate at any concurrency.
        let n = self.calls.fetch_add(1, Ordering::Relaxed);
        let u = (splitmix64(n) >> 11) as f64 / (1u64 << 53) as f64;
        if u < self.error_rate {
            return Err(StoreError("simulated store error".into()));
        }
        let mut shard = self.shards[id as usize % SIM_SHARDS]
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        Ok(f(&mut shard))
    }
}

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// A directory under the system temp dir, removed with everything in it
/// when dropped.
#[derive(Debug)]
pub struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Result<Self, StoreError> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let p = std::env::temp_dir().join(format!(
            "mapknee-serve-{}-{nanos}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&p)
            .map_err(|e| StoreError(format!("cannot create '{}': {e}", p.display())))?;
        Ok(TempDir(p))
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Shares a store between handlers.
pub type SharedStore = Arc<Store>;
