//! One clock for the schedule and the measurement: CLOCK_MONOTONIC in ns,
//! and a sleep to an instant of it with ns resolution.
//!
//! tokio's timer ticks in whole milliseconds: a request due 150 µs from
//! now would wait up to 1 ms for the tick, and, measured from its intended
//! start, that wait would read as service latency — more than a loopback
//! request takes. On Linux the generator sleeps on a `timerfd` armed at
//! the absolute instant instead (hrtimer resolution, tens of µs of wake-up
//! latency under load), registered with tokio's reactor.

use std::io;

/// Now, ns on CLOCK_MONOTONIC.
pub fn now_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; CLOCK_MONOTONIC always
    // exists on Linux, so the call cannot fail and fills `ts`.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// Sleeps until an instant of [`now_ns`], with ns resolution.
#[derive(Debug)]
pub struct Sleeper {
    fd: tokio::io::unix::AsyncFd<std::os::fd::OwnedFd>,
}

impl Sleeper {
    /// A sleeper on a fresh non-blocking timerfd; must be created inside a
    /// tokio runtime with IO enabled.
    pub fn new() -> io::Result<Self> {
        use std::os::fd::FromRawFd;
        // SAFETY: plain syscall with constant flags; the result is checked.
        let fd = unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            )
        };
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `fd` was just returned by timerfd_create, is open and is
        // owned by nothing else.
        let owned = unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) };
        // SAFETY: an `OwnedFd` returns the same open descriptor from
        // `as_raw_fd` until it is dropped, which happens only with the
        // `AsyncFd` that owns it.
        let fd = unsafe {
            tokio::io::unix::AsyncFd::register_with_interest(owned, tokio::io::Interest::READABLE)
        }
        .map_err(|e| io::Error::other(e.to_string()))?;
        Ok(Sleeper { fd })
    }

    /// Returns at or after `deadline_ns` (a [`now_ns`] instant); at once
    /// when it has passed.
    pub async fn until(&mut self, deadline_ns: u64) -> io::Result<()> {
        use std::os::fd::AsRawFd;
        if now_ns() >= deadline_ns {
            return Ok(());
        }
        let spec = libc::itimerspec {
            it_interval: libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: libc::timespec {
                tv_sec: (deadline_ns / 1_000_000_000) as libc::time_t,
                tv_nsec: (deadline_ns % 1_000_000_000) as libc::c_long,
            },
        };
        let raw = self.fd.get_ref().as_raw_fd();
        // SAFETY: `raw` is our open timerfd; `spec` is a valid itimerspec;
        // a null old-value pointer is allowed.
        let r = unsafe {
            libc::timerfd_settime(raw, libc::TFD_TIMER_ABSTIME, &spec, std::ptr::null_mut())
        };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        loop {
            let mut guard = self.fd.readable().await?;
            let mut expirations = [0u8; 8];
            // SAFETY: reading 8 bytes into an 8-byte buffer from our fd.
            let n = unsafe { libc::read(raw, expirations.as_mut_ptr().cast(), 8) };
            if n == 8 {
                return Ok(());
            }
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::WouldBlock {
                guard.clear_ready();
                continue;
            }
            return Err(e);
        }
    }
}

/// Asks the kernel for the finest timer slack on this thread (default
/// 50 µs), so the timerfd wakes at its instant rather than up to 50 µs
/// late.
pub fn fine_timer_slack() {
    // SAFETY: PR_SET_TIMERSLACK takes one integer argument; the result is
    // ignored (best effort).
    unsafe {
        libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong, 0, 0, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sleeper_never_returns_early() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let mut s = Sleeper::new().unwrap();
            for gap in [0, 50_000, 300_000, 2_000_000] {
                let deadline = now_ns() + gap;
                s.until(deadline).await.unwrap();
                assert!(now_ns() >= deadline);
            }
        });
    }
}
