//! One step against one service: a pool of keep-alive connections, each
//! with its own arrival schedule (open loop) or sending back to back
//! (closed loop), on a few pinned generator threads.
//!
//! Latency is measured from each request's *intended* start (wrk2's
//! correction): a connection still waiting for its previous response when
//! the next request is due sends it late, and the wait counts. Requests
//! still due when the step ends are recorded as end − intended start
//! (`backlog`), as the load engine does.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use mapknee_load::hist::{self, new_histogram};
use mapknee_load::{Arrivals, FastRng, Percentiles, Schedule, Step, Window};

use crate::clock::{fine_timer_slack, now_ns, Sleeper};
use crate::workload::{KeyStream, Request, RequestMix};
use crate::HttpError;

/// Where a service listens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The socket address.
    pub addr: SocketAddr,
    /// The `Host` header (`host:port` as given).
    pub authority: String,
}

impl Target {
    /// Parses `http://HOST:PORT[/]` (no TLS, no path).
    ///
    /// ```
    /// let t = mapknee_http::Target::parse("http://127.0.0.1:8080").unwrap();
    /// assert_eq!(t.addr.port(), 8080);
    /// assert!(mapknee_http::Target::parse("https://x:1").is_err());
    /// ```
    pub fn parse(url: &str) -> Result<Target, HttpError> {
        use std::net::ToSocketAddrs;
        let rest = url.strip_prefix("http://").ok_or_else(|| {
            HttpError(format!(
                "bad --url '{url}' (expected http://HOST:PORT; https is not supported)"
            ))
        })?;
        let authority = rest.trim_end_matches('/');
        if authority.is_empty() || authority.contains('/') {
            return Err(HttpError(format!(
                "bad --url '{url}' (expected http://HOST:PORT with no path)"
            )));
        }
        let with_port = if authority
            .rsplit_once(':')
            .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
        {
            authority.to_string()
        } else {
            format!("{authority}:80")
        };
        let addr = with_port
            .to_socket_addrs()
            .ok()
            .and_then(|mut a| a.next())
            .ok_or_else(|| HttpError(format!("bad --url '{url}': cannot resolve '{with_port}'")))?;
        Ok(Target {
            addr,
            authority: authority.to_string(),
        })
    }
}

/// How the load is shaped.
#[derive(Debug, Clone)]
pub struct LoadShape {
    /// Keep-alive connections in the pool (each has its own schedule).
    pub connections: usize,
    /// Generator threads the connections are spread over.
    pub threads: usize,
    /// Cores the generator threads are pinned to (round-robin); empty:
    /// not pinned.
    pub cores: Vec<usize>,
    /// Arrival spacing.
    pub arrivals: Arrivals,
    /// The request mix.
    pub mix: RequestMix,
    /// GET this path for every request instead of the order mix (e.g.
    /// `/healthz`, to measure the generator against a trivial endpoint).
    pub path: Option<String>,
}

/// One step: an offered rate (`None`: closed loop, as fast as the
/// connections go) for a warm-up and a measured window.
#[derive(Debug, Clone, Copy)]
pub struct StepPlan {
    /// Offered rate, req/s; `None` for closed loop.
    pub rate: Option<f64>,
    /// Not measured.
    pub warmup: Duration,
    /// Measured.
    pub duration: Duration,
    /// Seeds the schedules and the key choices.
    pub seed: u64,
}

/// The timeline's window, ns (as the load engine's).
const WINDOW_NS: u64 = 10_000_000;

/// The longest a request in flight at the end of a step is waited for.
const END_GRACE: Duration = Duration::from_secs(5);

/// What one connection measured.
#[derive(Default)]
struct Tally {
    latency: Option<hdrhistogram::Histogram<u64>>,
    service: Option<hdrhistogram::Histogram<u64>>,
    /// (window index, corrected latency) of every completion in the window.
    samples: Vec<(u32, u64)>,
    ops: u64,
    arrivals: u64,
    backlog: u64,
    errors: u64,
    status: BTreeMap<String, u64>,
    first_error: Option<String>,
}

impl Tally {
    fn new() -> Tally {
        Tally {
            latency: Some(new_histogram()),
            service: Some(new_histogram()),
            ..Default::default()
        }
    }

    fn error(&mut self, why: String) {
        self.errors += 1;
        self.first_error.get_or_insert(why);
    }

    fn absorb(&mut self, o: Tally) {
        if let (Some(a), Some(b)) = (self.latency.as_mut(), o.latency.as_ref()) {
            hist::merge(a, b);
        }
        if let (Some(a), Some(b)) = (self.service.as_mut(), o.service.as_ref()) {
            hist::merge(a, b);
        }
        self.samples.extend(o.samples);
        self.ops += o.ops;
        self.arrivals += o.arrivals;
        self.backlog += o.backlog;
        self.errors += o.errors;
        for (k, v) in o.status {
            *self.status.entry(k).or_default() += v;
        }
        if self.first_error.is_none() {
            self.first_error = o.first_error;
        }
    }
}

/// What a step measured beyond [`Step`]: client-side errors.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StepErrors {
    /// Connection failures, timeouts and 5xx responses.
    pub errors: u64,
    /// The first of them, for a one-line message.
    pub first: Option<String>,
}

/// Runs one step against `target`. Counters in the returned step: client
/// `status_2xx` … `status_5xx`, `errors` (connection failures, timeouts,
/// 5xx); the caller adds the service's own.
pub fn run_step(
    target: &Target,
    shape: &LoadShape,
    keys: &Arc<KeyStream>,
    plan: StepPlan,
    stop: &'static AtomicBool,
) -> Result<(Step, StepErrors), HttpError> {
    let threads = shape.threads.clamp(1, shape.connections.max(1));
    let connections = shape.connections.max(1);
    // Every connection's schedule starts at the same instant, a little
    // ahead so that every thread is ready.
    let t0 = now_ns() + 50_000_000;
    let measure_from = t0 + plan.warmup.as_nanos() as u64;
    let end = measure_from + plan.duration.as_nanos() as u64;
    let ids = core_affinity::get_core_ids().unwrap_or_default();
    let tallies: Vec<Result<Tally, HttpError>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let core = (!shape.cores.is_empty())
                    .then(|| shape.cores[t % shape.cores.len()])
                    .and_then(|want| ids.iter().find(|c| c.id == want).copied());
                let conns: Vec<usize> = (t..connections).step_by(threads).collect();
                let keys = keys.clone();
                s.spawn(move || {
                    if let Some(c) = core {
                        core_affinity::set_for_current(c);
                    }
                    fine_timer_slack();
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .map_err(|e| HttpError(format!("cannot start a generator runtime: {e}")))?;
                    let local = tokio::task::LocalSet::new();
                    local.block_on(&rt, async move {
                        let tasks: Vec<_> = conns
                            .into_iter()
                            .map(|c| {
                                let conn = Conn {
                                    target: target.clone(),
                                    keys: keys.clone(),
                                    mix: shape.mix,
                                    path: shape.path.clone(),
                                    index: c,
                                    of: connections,
                                    arrivals: shape.arrivals,
                                    plan,
                                    t0,
                                    measure_from,
                                    end,
                                };
                                tokio::task::spawn_local(conn.drive(stop))
                            })
                            .collect();
                        let mut tally = Tally::new();
                        for t in tasks {
                            match t.await {
                                Ok(Ok(c)) => tally.absorb(c),
                                Ok(Err(e)) => return Err(e),
                                Err(e) => {
                                    return Err(HttpError(format!("connection task failed: {e}")))
                                }
                            }
                        }
                        Ok(tally)
                    })
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(HttpError("a generator thread panicked".into())))
            })
            .collect()
    });
    let mut total = Tally::new();
    for t in tallies {
        total.absorb(t?);
    }
    let interrupted = stop.load(Ordering::Relaxed);
    let duration_s = plan.duration.as_secs_f64();
    let timeline = timeline(&mut total.samples, plan.duration.as_nanos() as u64);
    let typical_p99_ns = mapknee_load::typical_over_windows(&timeline, |w| w.p99_ns);
    let mut counters = total.status.clone();
    counters.insert("errors".into(), total.errors);
    let latency = total.latency.take().unwrap_or_else(new_histogram);
    let service = total.service.take().unwrap_or_else(new_histogram);
    let step = Step {
        target_ops_per_sec: plan.rate,
        achieved_ops_per_sec: total.ops as f64 / duration_s,
        ops: total.ops,
        latency_ns: Percentiles::of(&latency),
        service_ns: Percentiles::of(&service),
        counters,
        timeline,
        duration_s,
        interrupted,
        arrivals: total.arrivals,
        backlog: total.backlog,
        typical_p99_ns,
        ..Step::default()
    };
    Ok((
        step,
        StepErrors {
            errors: total.errors,
            first: total.first_error,
        },
    ))
}

/// The 10 ms windows of a step from its completions.
fn timeline(samples: &mut [(u32, u64)], duration_ns: u64) -> Vec<Window> {
    samples.sort_unstable_by_key(|s| s.0);
    let windows = duration_ns.div_ceil(WINDOW_NS) as usize;
    let mut out = Vec::with_capacity(windows);
    let mut i = 0;
    for w in 0..windows {
        let mut h = hist::new_window_histogram();
        let mut ops = 0;
        while i < samples.len() && samples[i].0 as usize == w {
            hist::record(&mut h, samples[i].1);
            ops += 1;
            i += 1;
        }
        out.push(Window {
            t_ms: w as u64 * WINDOW_NS / 1_000_000,
            ops,
            p99_ns: if ops > 0 {
                h.value_at_quantile(0.99)
            } else {
                0
            },
            counters: BTreeMap::new(),
            // The HTTP generator's connections await responses, not a
            // spinning clock: no stall is seen.
            longest_stall_ns: 0,
        });
    }
    out
}

/// One connection of the pool.
struct Conn {
    target: Target,
    keys: Arc<KeyStream>,
    mix: RequestMix,
    path: Option<String>,
    index: usize,
    of: usize,
    arrivals: Arrivals,
    plan: StepPlan,
    t0: u64,
    measure_from: u64,
    end: u64,
}

impl Conn {
    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>, String> {
        let stream = tokio::net::TcpStream::connect(self.target.addr)
            .await
            .map_err(|e| format!("cannot connect to {}: {e}", self.target.addr))?;
        let _ = stream.set_nodelay(true);
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("HTTP handshake with {} failed: {e}", self.target.addr))?;
        tokio::task::spawn_local(async move {
            let _ = conn.await;
        });
        Ok(sender)
    }

    fn request(&self, r: &Request) -> hyper::Request<Full<Bytes>> {
        if let Some(path) = &self.path {
            return hyper::Request::builder()
                .uri(path.as_str())
                .header(hyper::header::HOST, &self.target.authority)
                .body(Full::new(Bytes::new()))
                .expect("a request built from valid parts");
        }
        let (method, id, body) = match r {
            Request::Get(id) => (hyper::Method::GET, *id, None),
            Request::Put(id) => (
                hyper::Method::PUT,
                *id,
                Some(format!(
                    r#"{{"customer":"customer-{}","items":{},"total_cents":{}}}"#,
                    id % 1000,
                    id % 7 + 1,
                    199 * (id % 50 + 1)
                )),
            ),
            Request::Delete(id) => (hyper::Method::DELETE, *id, None),
        };
        let mut b = hyper::Request::builder()
            .method(method)
            .uri(format!("/orders/{id}"))
            .header(hyper::header::HOST, &self.target.authority);
        if body.is_some() {
            b = b.header(hyper::header::CONTENT_TYPE, "application/json");
        }
        b.body(Full::new(Bytes::from(body.unwrap_or_default())))
            .expect("a request built from valid parts")
    }

    /// Sends `r` and reads the whole response: its status class, or why it
    /// failed.
    async fn send(
        sender: &mut SendRequest<Full<Bytes>>,
        req: hyper::Request<Full<Bytes>>,
    ) -> Result<u16, String> {
        sender
            .ready()
            .await
            .map_err(|e| format!("connection closed: {e}"))?;
        let res = sender
            .send_request(req)
            .await
            .map_err(|e| format!("request failed: {e}"))?;
        let status = res.status().as_u16();
        res.into_body()
            .collect()
            .await
            .map_err(|e| format!("response body failed: {e}"))?;
        Ok(status)
    }

    async fn drive(self, stop: &'static AtomicBool) -> Result<Tally, HttpError> {
        let mut tally = Tally::new();
        let mut sleeper =
            Sleeper::new().map_err(|e| HttpError(format!("cannot create a timerfd: {e}")))?;
        let mut rng = FastRng::new(self.plan.seed ^ (self.index as u64).wrapping_mul(0x9E37_79B9));
        let mut sender = match self.connect().await {
            Ok(s) => Some(s),
            Err(e) => return Err(HttpError(e)),
        };
        let mut schedule = self
            .plan
            .rate
            .map(|r| Schedule::new(self.arrivals, r, self.index, self.of, self.plan.seed));
        let mut closed_next = self.t0;
        if schedule.is_none() {
            sleeper
                .until(self.t0)
                .await
                .map_err(|e| HttpError(format!("timerfd failed: {e}")))?;
        }
        loop {
            let intended = match schedule.as_mut() {
                Some(s) => self.t0 + s.next_offset(),
                None => closed_next.max(now_ns()),
            };
            if intended >= self.end || stop.load(Ordering::Relaxed) {
                break;
            }
            let now = now_ns();
            if now >= self.end {
                // Behind at the end: every arrival still due is recorded
                // as end − intended start, issued or not.
                if let Some(s) = schedule.as_mut() {
                    let mut due = intended;
                    while due < self.end {
                        if due >= self.measure_from {
                            tally.arrivals += 1;
                            tally.backlog += 1;
                            if let Some(h) = tally.latency.as_mut() {
                                hist::record(h, self.end - due);
                            }
                        }
                        due = self.t0 + s.next_offset();
                    }
                }
                break;
            }
            let req = self.request(&self.keys.next(&self.mix, &mut rng));
            if schedule.is_some() {
                sleeper
                    .until(intended)
                    .await
                    .map_err(|e| HttpError(format!("timerfd failed: {e}")))?;
            }
            let measured = intended >= self.measure_from;
            if measured {
                tally.arrivals += 1;
            }
            let sent = now_ns();
            let Some(s) = sender.as_mut() else { break };
            let deadline = Duration::from_nanos(self.end.saturating_sub(sent)) + END_GRACE;
            let outcome = match tokio::time::timeout(deadline, Self::send(s, req)).await {
                Ok(r) => r,
                Err(_) => Err(format!("no response within {deadline:?}")),
            };
            let done = now_ns();
            closed_next = done;
            match outcome {
                Ok(status) => {
                    if measured {
                        let class = format!("status_{}xx", status / 100);
                        *tally.status.entry(class).or_default() += 1;
                        if status >= 500 {
                            tally.error(format!("HTTP {status}"));
                        }
                    }
                }
                Err(e) => {
                    if measured {
                        tally.error(e);
                    }
                    // A broken connection is replaced; the time it took
                    // counts against the requests that wait for it.
                    sender = self.connect().await.ok();
                    if sender.is_none() {
                        tally.error(format!("cannot reconnect to {}", self.target.addr));
                        break;
                    }
                    continue;
                }
            }
            if measured {
                let lat = done - intended;
                if let Some(h) = tally.latency.as_mut() {
                    hist::record(h, lat);
                }
                if let Some(h) = tally.service.as_mut() {
                    hist::record(h, done - sent);
                }
                if done <= self.end {
                    tally.ops += 1;
                    let w = ((done - self.measure_from) / WINDOW_NS) as u32;
                    tally.samples.push((w, lat));
                }
            }
        }
        Ok(tally)
    }
}
