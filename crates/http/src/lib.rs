//! mapknee's HTTP load generator: an open-loop staircase against an HTTP
//! service, with wrk2-style intended-start correction, that produces the
//! load engine's [`Step`](mapknee_load::Step)s — same HDR histograms, same
//! timeline, same ladder and bisection — so the analysis and the report
//! treat an HTTP run as any other (`kind: "http"`).
//!
//! - [`engine`]: one step — a keep-alive connection pool (hyper), one
//!   arrival schedule per connection, pinned generator threads;
//! - [`workload`]: the order-cache request mix and key stream;
//! - [`scrape`]: the service's own `/metrics` around each step;
//! - [`bottleneck`]: map, store, handler or queueing, from those figures;
//! - [`staircase`]: the ladder and bisection over one or more services.
//!
//! The library never prints; the CLI (`mapknee http`) does.
#![warn(missing_docs)]

pub mod bottleneck;
pub mod clock;
pub mod engine;
pub mod scrape;
pub mod staircase;
pub mod workload;

pub use engine::{run_step, LoadShape, StepErrors, StepPlan, Target};
pub use staircase::{climb, Climbed, Phase, Service, StaircaseConfig};
pub use workload::{KeyStream, Request, RequestMix};

/// Why the generator could not run; one line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpError(pub String);

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for HttpError {}
