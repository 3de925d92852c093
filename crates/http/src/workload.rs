//! What the generator asks for: the order-cache request mix and its key
//! stream.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};

use mapknee_load::FastRng;

/// Percentages of GET, PUT and DELETE, and the share of GETs that ask for
/// an order never stored.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RequestMix {
    /// Percent GET /orders/{id}.
    pub get: u32,
    /// Percent PUT /orders/{id} of a new order.
    pub put: u32,
    /// Percent DELETE /orders/{id} of the oldest order.
    pub delete: u32,
    /// Fraction (0..1) of GETs for ids never stored (cache and store misses).
    pub miss: f64,
}

impl Default for RequestMix {
    /// The study's order cache, read-mostly: 90 % reads, 5 % new orders,
    /// 5 % old orders removed (so the live population stays constant), 5 %
    /// of reads for orders that do not exist.
    fn default() -> Self {
        RequestMix {
            get: 90,
            put: 5,
            delete: 5,
            miss: 0.05,
        }
    }
}

impl fmt::Display for RequestMix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "get={},put={},delete={},miss={}",
            self.get, self.put, self.delete, self.miss
        )
    }
}

impl FromStr for RequestMix {
    type Err = String;

    /// `GET/PUT/DELETE` percentages, optionally `:MISS`, e.g. `90/5/5:0.05`.
    ///
    /// ```
    /// use mapknee_http::RequestMix;
    /// let m: RequestMix = "80/10/10:0.1".parse().unwrap();
    /// assert_eq!((m.get, m.put, m.delete, m.miss), (80, 10, 10, 0.1));
    /// assert!("80/10/5".parse::<RequestMix>().is_err());
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            format!("bad request mix '{s}' (expected GET/PUT/DELETE[:MISS] percentages summing to 100, e.g. 90/5/5:0.05)")
        };
        let (pcts, miss) = match s.split_once(':') {
            Some((p, m)) => (p, Some(m)),
            None => (s, None),
        };
        let v: Vec<u32> = pcts
            .split('/')
            .map(|x| x.trim().parse::<u32>())
            .collect::<Result<_, _>>()
            .map_err(|_| bad())?;
        let [get, put, delete] = v[..] else {
            return Err(bad());
        };
        if get + put + delete != 100 {
            return Err(bad());
        }
        let miss = match miss {
            None => RequestMix::default().miss,
            Some(m) => m
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|m| (0.0..=1.0).contains(m))
                .ok_or_else(bad)?,
        };
        Ok(RequestMix {
            get,
            put,
            delete,
            miss,
        })
    }
}

/// First id used for orders that are never stored: far above any id the
/// stream will create, and within SQLite's signed 64-bit range.
pub const MISS_BASE: u64 = 1 << 62;

/// The live order ids of one service: `oldest..next_new`. PUTs take
/// `next_new`, DELETEs take `oldest`, GETs pick uniformly between them; with
/// equal PUT and DELETE shares the population is constant at any rate.
/// Shared by every connection driving that service, across steps.
#[derive(Debug)]
pub struct KeyStream {
    oldest: AtomicU64,
    next_new: AtomicU64,
}

/// One request to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// GET /orders/{id}.
    Get(u64),
    /// PUT /orders/{id} with a new order.
    Put(u64),
    /// DELETE /orders/{id}.
    Delete(u64),
}

impl KeyStream {
    /// The stream over a service seeded with orders `1..=seeded`.
    pub fn new(seeded: u64) -> Self {
        KeyStream {
            oldest: AtomicU64::new(1),
            next_new: AtomicU64::new(seeded.max(1) + 1),
        }
    }

    /// Live orders now.
    pub fn live(&self) -> u64 {
        self.next_new
            .load(Ordering::Relaxed)
            .saturating_sub(self.oldest.load(Ordering::Relaxed))
    }

    /// The next request under `mix`.
    pub fn next(&self, mix: &RequestMix, rng: &mut FastRng) -> Request {
        let r = rng.below(100) as u32;
        if r < mix.get {
            if rng.next_f64() < mix.miss {
                return Request::Get(MISS_BASE + rng.below(1 << 40));
            }
            let lo = self.oldest.load(Ordering::Relaxed);
            let hi = self.next_new.load(Ordering::Relaxed);
            return Request::Get(lo + rng.below(hi.saturating_sub(lo).max(1)));
        }
        if r < mix.get + mix.put {
            return Request::Put(self.next_new.fetch_add(1, Ordering::Relaxed));
        }
        // Keep at least one live order: a DELETE past the newest would
        // delete orders not yet created.
        let next_new = self.next_new.load(Ordering::Relaxed);
        match self
            .oldest
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |o| {
                (o + 1 < next_new).then_some(o + 1)
            }) {
            Ok(id) => Request::Delete(id),
            Err(_) => Request::Get(next_new.saturating_sub(1).max(1)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_put_and_delete_shares_keep_the_population_constant() {
        let ks = KeyStream::new(1000);
        let mix = RequestMix::default();
        let mut rng = FastRng::new(7);
        let (mut puts, mut deletes, mut misses) = (0, 0, 0);
        for _ in 0..100_000 {
            match ks.next(&mix, &mut rng) {
                Request::Put(_) => puts += 1,
                Request::Delete(_) => deletes += 1,
                Request::Get(id) if id >= MISS_BASE => misses += 1,
                Request::Get(id) => assert!(id < MISS_BASE),
            }
        }
        assert_eq!(ks.live(), 1000 + puts - deletes);
        assert!((ks.live() as i64 - 1000).abs() < 500, "{}", ks.live());
        // 90 % × 5 % of 100k ≈ 4,500 misses.
        assert!((3_500..5_500).contains(&misses), "{misses}");
    }

    #[test]
    fn deletes_never_overtake_puts() {
        let ks = KeyStream::new(3);
        let mix: RequestMix = "0/0/100".parse().unwrap();
        let mut rng = FastRng::new(1);
        let ids: Vec<_> = (0..5).map(|_| ks.next(&mix, &mut rng)).collect();
        assert_eq!(&ids[..2], &[Request::Delete(1), Request::Delete(2)]);
        assert!(
            ids[2..].iter().all(|r| matches!(r, Request::Get(3))),
            "{ids:?}"
        );
    }
}
