//! `mapknee serve`: the order-cache service (`mapknee-service`) over one
//! map, until SIGTERM or Ctrl-C. Prints one line when it listens (`http
//! --spawn` reads it to learn the port), one when it has drained.

use std::io::Write as _;

use mapknee_maps::{HasherKind, MapKind};
use mapknee_service::{Config, StoreSpec};

use crate::args::ServeArgs;
use crate::{CliError, Outcome};

/// The line `serve` prints once it accepts connections; `http --spawn`
/// reads the address after it.
pub(crate) const LISTENING: &str = "mapknee: serving on http://";

pub(crate) fn run(args: ServeArgs) -> Result<Outcome, CliError> {
    let map: MapKind = args
        .map
        .parse()
        .map_err(|e: mapknee_maps::ParseMapError| CliError::usage(format!("--map: {e}")))?;
    let mut cfg = Config::new(map);
    cfg.addr = args.addr.parse().map_err(|_| {
        CliError::usage(format!(
            "--addr: bad address '{}' (expected HOST:PORT, e.g. 127.0.0.1:8080)",
            args.addr
        ))
    })?;
    cfg.store = args
        .store
        .parse::<StoreSpec>()
        .map_err(|e| CliError::usage(format!("--store: {e}")))?;
    cfg.hasher = args
        .hasher
        .parse::<HasherKind>()
        .map_err(|e| CliError::usage(format!("--hasher: {e}")))?;
    if let Some(c) = args.capacity {
        if c == 0 {
            return Err(CliError::usage("--capacity must be at least 1"));
        }
        cfg.capacity = c;
    }
    if let Some(n) = args.seed {
        if n > 100_000_000 {
            return Err(CliError::usage("--seed: at most 100000000 orders"));
        }
        cfg.seed = n;
    }
    if let Some(b) = args.body_limit {
        if b == 0 {
            return Err(CliError::usage("--body-limit must be at least 1 byte"));
        }
        cfg.body_limit = b;
    }
    cfg.warm = !args.cold;
    let cpus = online_cpus();
    if let Some(cores) = args.cores {
        if let Some(bad) = cores.iter().find(|&&c| c >= cpus) {
            return Err(CliError::usage(format!(
                "--cores: core {bad} does not exist (this machine has 0..{})",
                cpus - 1
            )));
        }
        cfg.workers = cores.len().max(1);
        cfg.cores = cores;
    }
    if let Some(w) = args.workers {
        if w == 0 || w > 1024 {
            return Err(CliError::usage("--workers must be from 1 to 1024"));
        }
        cfg.workers = w;
    }
    let (map_name, store) = (map.name(), cfg.store.to_string());
    mapknee_service::run(cfg, |addr| {
        println!("{LISTENING}{addr} (map {map_name}, store {store})");
        let _ = std::io::stdout().flush();
    })
    .map_err(|e| CliError::runtime(e.to_string()))?;
    println!("mapknee: drained, stopped");
    Ok(Outcome::Done)
}

/// The machine's online CPUs, whatever this process's own affinity (a
/// process started under `taskset` may still pin its threads elsewhere).
pub(crate) fn online_cpus() -> usize {
    // SAFETY: sysconf has no preconditions.
    let n = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    if n > 0 {
        n as usize
    } else {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    }
}
