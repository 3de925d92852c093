//! The clock: the CPU timestamp counter through `quanta`, read as
//! nanoseconds since the clock was made, with its per-reading cost
//! calibrated so results can state it.

use std::hint::black_box;

/// A TSC-backed clock reading nanoseconds since its creation.
///
/// `quanta` falls back to the OS monotonic clock when the TSC is not usable
/// (not invariant, or not synchronized across cores); readings stay in ns.
///
/// ```
/// let clock = mapknee_load::Clock::new();
/// let a = clock.ns();
/// let b = clock.ns();
/// assert!(b >= a);
/// ```
#[derive(Debug, Clone)]
pub struct Clock {
    inner: quanta::Clock,
    base: u64,
}

impl Default for Clock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock {
    /// A clock whose zero is now. The first one made in a process pays for
    /// quanta's TSC calibration (a few milliseconds).
    pub fn new() -> Self {
        let inner = quanta::Clock::new();
        let base = inner.raw();
        Clock { inner, base }
    }

    /// Nanoseconds since this clock was made.
    #[inline]
    pub fn ns(&self) -> u64 {
        self.inner.delta_as_nanos(self.base, self.inner.raw())
    }

    /// What this clock reads, for the results' machine record: `tsc`
    /// (x86-64 with an invariant TSC and RDTSCP, quanta's condition for
    /// using it) or `cntvct` (AArch64's counter), else the OS monotonic
    /// clock quanta falls back to; followed by the kernel's clocksource,
    /// e.g. `tsc (kernel clocksource: kvm-clock)`.
    pub fn source() -> String {
        let flags = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let has = |flag: &str| {
            flags
                .lines()
                .find(|l| l.starts_with("flags"))
                .is_some_and(|l| l.split_whitespace().any(|f| f == flag))
        };
        let counter = if cfg!(target_arch = "x86_64") && has("nonstop_tsc") && has("rdtscp") {
            "tsc"
        } else if cfg!(target_arch = "aarch64") {
            "cntvct"
        } else {
            "os-monotonic"
        };
        match std::fs::read_to_string(
            "/sys/devices/system/clocksource/clocksource0/current_clocksource",
        ) {
            Ok(k) => format!("{counter} (kernel clocksource: {})", k.trim()),
            Err(_) => counter.to_string(),
        }
    }

    /// The cost of one [`Clock::ns`] reading in ns: the best of five rounds
    /// of 100,000 back-to-back readings (the minimum filters out rounds in
    /// which the thread was descheduled).
    pub fn overhead_ns(&self) -> f64 {
        const READS: u64 = 100_000;
        let mut best = f64::INFINITY;
        for _ in 0..5 {
            let start = self.ns();
            let mut last = 0;
            for _ in 0..READS {
                last = black_box(self.ns());
            }
            let per_read = last.saturating_sub(start) as f64 / READS as f64;
            best = best.min(per_read);
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readings_are_monotonic_and_overhead_is_finite() {
        let clock = Clock::new();
        let mut last = clock.ns();
        for _ in 0..10_000 {
            let now = clock.ns();
            assert!(now >= last);
            last = now;
        }
        let overhead = clock.overhead_ns();
        assert!(overhead.is_finite() && overhead >= 0.0);
        let source = Clock::source();
        assert!(
            ["tsc", "cntvct", "os-monotonic"]
                .iter()
                .any(|c| source.starts_with(c)),
            "{source}"
        );
    }
}
