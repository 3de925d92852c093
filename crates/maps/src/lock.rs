//! Locks that count what they cost: acquisitions, contended acquisitions and
//! the time spent waiting for contended ones.
//!
//! An acquisition first tries the lock; only when that fails is it counted as
//! contended and its wait timed, so the uncontended path pays one relaxed
//! counter increment and no clock read. Poisoning is ignored: a benchmark map
//! whose writer panicked is reported by the panic itself.

use std::time::Instant;

use crate::counters::Counters;
use crate::primitive::{Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
use crate::probes;
use crate::LockStats;

const ACQUIRED: usize = 0;
const CONTENDED: usize = 1;
const WAIT_NS: usize = 2;

/// The counters one lock keeps.
#[derive(Debug, Default)]
pub(crate) struct LockCounters(Counters<3>);

/// Where a counting lock records its acquisitions: its own
/// [`LockCounters`], or its row of counters shared with sibling locks
/// (`ShardedMap`'s shards).
pub(crate) trait LockTally {
    /// One acquisition began.
    fn acquired(&self);
    /// One contended acquisition ended after waiting `wait_ns`; called with
    /// the lock held (see `probes`: a sampler holding the lock sees the
    /// counters and the probe agree).
    fn contended(&self, wait_ns: u64);
}

impl LockTally for LockCounters {
    #[inline]
    fn acquired(&self) {
        self.0.incr(ACQUIRED);
    }

    fn contended(&self, wait_ns: u64) {
        self.0.incr(CONTENDED);
        self.0.add(WAIT_NS, wait_ns);
    }
}

/// The lock at `lock` was held: wait for it with `wait`, timed, then count
/// the contended acquisition and fire the probes.
///
/// Out of line and cold so that [`counted`]'s uncontended path, inlined
/// into every map operation, is the acquisition and one increment: with
/// this path inlined too, the compiler kept a shard's write acquisition
/// out of line (a call, and the tally spilled to the stack before the
/// lock's compare-exchange, on every write).
#[cold]
#[inline(never)]
fn wait_counted<G>(lock: usize, tally: &impl LockTally, wait: impl FnOnce() -> G) -> G {
    probes::lock_wait_start(lock);
    let since = Instant::now();
    let g = wait();
    let wait_ns = since.elapsed().as_nanos() as u64;
    tally.contended(wait_ns);
    probes::lock_wait_end(lock, wait_ns);
    g
}

/// One acquisition of any lock, counted in `tally`: `try_now` takes the lock
/// if it is free (`None` if not); only then is the acquisition contended,
/// and `wait` (which blocks until the lock is taken) is timed. `lock` names
/// the lock to the probes.
#[inline]
pub(crate) fn counted<G>(
    lock: usize,
    tally: &impl LockTally,
    try_now: impl FnOnce() -> Option<G>,
    wait: impl FnOnce() -> G,
) -> G {
    tally.acquired();
    match try_now() {
        Some(g) => g,
        None => wait_counted(lock, tally, wait),
    }
}

/// A std `try_lock`/`try_read`/`try_write` result as `counted` takes it:
/// the guard when the lock was free, poisoned or not (the counting locks
/// ignore poisoning, as Go's have none); `None` when it is held.
fn free<G>(r: std::sync::TryLockResult<G>) -> Option<G> {
    match r {
        Ok(g) => Some(g),
        Err(std::sync::TryLockError::Poisoned(p)) => Some(p.into_inner()),
        Err(std::sync::TryLockError::WouldBlock) => None,
    }
}

/// Shared access to `inner`, counted in `tally`; `lock` names the lock to
/// the probes.
#[inline]
pub(crate) fn read_counted<'a, T>(
    inner: &'a RwLock<T>,
    lock: usize,
    tally: &impl LockTally,
) -> RwLockReadGuard<'a, T> {
    counted(
        lock,
        tally,
        || free(inner.try_read()),
        || inner.read().unwrap_or_else(|p| p.into_inner()),
    )
}

/// Exclusive access to `inner`, counted in `tally`; `lock` names the lock
/// to the probes.
#[inline]
pub(crate) fn write_counted<'a, T>(
    inner: &'a RwLock<T>,
    lock: usize,
    tally: &impl LockTally,
) -> RwLockWriteGuard<'a, T> {
    counted(
        lock,
        tally,
        || free(inner.try_write()),
        || inner.write().unwrap_or_else(|p| p.into_inner()),
    )
}

/// `inner` exclusively, waiting for it, uncounted and unprobed: for a
/// sampler that holds it so no counted event is in flight (see `probes`).
pub(crate) fn hold<T>(inner: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    inner.write().unwrap_or_else(|p| p.into_inner())
}

impl LockCounters {
    pub(crate) fn stats(&self) -> LockStats {
        let [acquisitions, contended, wait_ns] = self.0.sum();
        LockStats {
            acquisitions,
            contended,
            wait_ns,
        }
    }
}

/// A mutex that counts acquisitions, contention and wait time.
#[derive(Debug)]
pub struct CountingMutex<T> {
    inner: Mutex<T>,
    counters: LockCounters,
}

impl<T> CountingMutex<T> {
    /// Wraps `value`.
    pub fn new(value: T) -> Self {
        Self {
            inner: Mutex::new(value),
            counters: LockCounters::default(),
        }
    }

    /// Locks, counting the acquisition and, when another thread held the lock,
    /// the wait.
    #[inline]
    pub fn lock(&self) -> MutexGuard<'_, T> {
        counted(
            self.addr(),
            &self.counters,
            || free(self.inner.try_lock()),
            || self.inner.lock().unwrap_or_else(|p| p.into_inner()),
        )
    }

    /// Locks like [`lock`](Self::lock), but a waiter spins instead of
    /// sleeping, so the hand-over costs a cache-line transfer rather than a
    /// thread wake-up (several µs on a VM). For the calibration map, whose
    /// point is a known service rate; it burns its core while it waits.
    pub fn lock_spinning(&self) -> MutexGuard<'_, T> {
        counted(
            self.addr(),
            &self.counters,
            || free(self.inner.try_lock()),
            || loop {
                std::hint::spin_loop();
                if let Some(g) = free(self.inner.try_lock()) {
                    return g;
                }
            },
        )
    }

    /// What this lock has cost so far.
    pub fn stats(&self) -> LockStats {
        self.counters.stats()
    }

    /// This lock's address, as the lock probes report it.
    fn addr(&self) -> usize {
        self as *const Self as usize
    }

    /// The lock, waiting for it, uncounted and unprobed: for a sampler
    /// that holds it so no counted event is in flight (see `probes`).
    pub(crate) fn hold(&self) -> MutexGuard<'_, T> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The lock if it is free right now, uncounted: for an observer that
    /// must neither wait nor show up in the counters it reads.
    pub fn try_peek(&self) -> Option<MutexGuard<'_, T>> {
        match self.inner.try_lock() {
            Ok(g) => Some(g),
            Err(std::sync::TryLockError::Poisoned(p)) => Some(p.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => None,
        }
    }
}

/// A reader-writer lock that counts acquisitions (read and write),
/// contention and wait time.
#[derive(Debug)]
pub struct CountingRwLock<T> {
    inner: RwLock<T>,
    counters: LockCounters,
}

impl<T> CountingRwLock<T> {
    /// Wraps `value`.
    pub fn new(value: T) -> Self {
        Self {
            inner: RwLock::new(value),
            counters: LockCounters::default(),
        }
    }

    /// Shared access.
    #[inline]
    pub fn read(&self) -> RwLockReadGuard<'_, T> {
        read_counted(&self.inner, self.addr(), &self.counters)
    }

    /// Exclusive access.
    #[inline]
    pub fn write(&self) -> RwLockWriteGuard<'_, T> {
        write_counted(&self.inner, self.addr(), &self.counters)
    }

    /// What this lock has cost so far.
    pub fn stats(&self) -> LockStats {
        self.counters.stats()
    }

    /// This lock's address, as the lock probes report it.
    fn addr(&self) -> usize {
        self as *const Self as usize
    }

    /// Exclusive access, waiting for it, uncounted and unprobed: for a
    /// sampler that holds it so no counted event is in flight (see
    /// `probes`).
    pub(crate) fn hold(&self) -> RwLockWriteGuard<'_, T> {
        hold(&self.inner)
    }

    /// Shared access if no writer holds the lock right now, uncounted: for
    /// an observer that must neither wait nor show up in the counters it
    /// reads.
    pub fn try_peek(&self) -> Option<RwLockReadGuard<'_, T>> {
        match self.inner.try_read() {
            Ok(g) => Some(g),
            Err(std::sync::TryLockError::Poisoned(p)) => Some(p.into_inner()),
            Err(std::sync::TryLockError::WouldBlock) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spinning_waiter_excludes_and_is_counted() {
        // Miri runs this too, ~1000× slower.
        let per_thread = if cfg!(miri) { 50 } else { 10_000 };
        let m = CountingMutex::new(0u64);
        std::thread::scope(|s| {
            for _ in 0..2 {
                s.spawn(|| {
                    for _ in 0..per_thread {
                        *m.lock_spinning() += 1;
                    }
                });
            }
        });
        assert_eq!(*m.lock_spinning(), 2 * per_thread);
        let st = m.stats();
        assert_eq!(st.acquisitions, 2 * per_thread + 1);
        assert!(st.contended <= st.acquisitions);
        assert!(st.contended == 0 || st.wait_ns > 0);
    }
}
