//! Raw command-line arguments, as clap parses them (ripgrep's `LowArgs`).
//! Nothing here is validated beyond its type; see `settings` for that.
//!
//! The doc comments here are `--help` text, written for a terminal
//! (`order-cache[:<miss>]`, `sim:LATENCY[:ERROR_RATE]`), not Markdown, so
//! rustdoc's HTML and link checks do not apply to them.
#![allow(rustdoc::invalid_html_tags, rustdoc::broken_intra_doc_links)]

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Find the load at which a concurrent map stops keeping up (its knee), and why.
#[derive(Debug, Parser)]
#[command(name = "mapknee", version, about, propagate_version = true)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Open-loop staircase: offered rate rising step by step, per map and
    /// mix; finds each map's knee and its cause.
    Run(RunArgs),
    /// Closed-loop throughput at each thread count, per map.
    Scale(ScaleArgs),
    /// List maps, mixes, distributions and scenarios.
    List(ListArgs),
    /// Re-render a results file: report.html, results.csv and the table.
    Report(ReportArgs),
    /// Compare results files (BASE.json NEW.json, or several per side with
    /// --base and --new) step by step; exit status 1 on a regression.
    Compare(CompareArgs),
    /// Which map to pick for each measured mix, and up to which rate, from a results file.
    Advise(AdviseArgs),
    /// Grow maps from empty, timing every insert: growth pauses (worst
    /// insert, p99.99) against total cost.
    Growth(GrowthArgs),
    /// Bytes per entry and allocations per operation, per map and size
    /// (a counting allocator), with Go's map and sync.Map beside them.
    Memory(MemoryArgs),
    /// What atomics, fences, locks and epoch pins cost on this machine:
    /// alone, contended, false-shared and padded; and SyncMap's load in parts.
    Atomics(AtomicsArgs),
    /// `run` with bpftrace attached to mapknee's USDT probes: per step,
    /// lock-wait histogram and mean, probe counts (equal to the counters)
    /// and top waiting stacks, in the results, a table and report.html.
    Trace(TraceArgs),
    /// `perf record -g` during one step of one map, rendered as a flame
    /// graph (SVG) next to the results and in report.html.
    Profile(ProfileArgs),
    /// Internal: measure the steps `run` sends on stdin (one JSON order a
    /// line) and answer each with its step as one line of JSON.
    #[command(hide = true)]
    MeasureChild,
    /// The order-cache HTTP service over one map: cache-aside over SQLite
    /// (or a simulated store), Prometheus /metrics; SIGTERM drains.
    Serve(ServeArgs),
    /// Open-loop HTTP staircase against a running service (--url) or
    /// against `serve` started per map (--spawn --maps): the study's table.
    Http(HttpArgs),
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub(crate) enum Format {
    /// Study-shaped tables.
    #[default]
    Table,
    /// The `mapknee/v1` results contract.
    Json,
    /// One row per run × step (scale: per run × thread count).
    Csv,
}

/// Workload flags shared by `run` and `scale`.
#[derive(Debug, Args)]
pub(crate) struct WorkloadArgs {
    /// Maps to measure, comma-separated (see `mapknee list maps`).
    #[arg(long, value_delimiter = ',', value_name = "a,b")]
    pub(crate) maps: Option<Vec<String>>,
    /// Keys in the keyspace [default: 65536].
    #[arg(long, value_name = "N")]
    pub(crate) keys: Option<u64>,
    /// Share of the keyspace stored before each step, 0..1 [default: 0.5].
    #[arg(long, value_name = "F")]
    pub(crate) prefill: Option<f64>,
    /// Key distribution: order-cache[:<miss>], uniform, zipf:<theta>, hotset:<frac>:<prob>, churn [default: order-cache:0.05].
    #[arg(long, value_name = "D")]
    pub(crate) dist: Option<String>,
    /// Map operations per transaction [default: 1].
    #[arg(long, value_name = "N")]
    pub(crate) ops_per_txn: Option<u32>,
    /// Hasher for every map: foldhash or siphash [default: foldhash].
    #[arg(long, value_name = "H")]
    pub(crate) hasher: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub(crate) format: Format,
    /// Also write results.json and results.csv into this directory.
    #[arg(long, value_name = "DIR")]
    pub(crate) out: Option<PathBuf>,
    /// Do not pin worker threads to cores.
    #[arg(long)]
    pub(crate) no_pin: bool,
    /// Print the settings and the harness's own cost before running.
    #[arg(long, short)]
    pub(crate) verbose: bool,
}

#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// A short run (about 15 s with the default scenario).
    #[arg(long)]
    pub(crate) quick: bool,
    /// A scenario TOML file, or the name of a built-in scenario [default: default].
    #[arg(long, value_name = "FILE")]
    pub(crate) scenario: Option<String>,
    /// An operation mix (repeatable): read-mostly, mixed, write-heavy, churn,
    /// or get/insert/get_or_insert/remove percentages like 80/10/5/5.
    #[arg(long = "mix", value_name = "M")]
    pub(crate) mixes: Vec<String>,
    /// Worker threads [default: available cores].
    #[arg(long, value_name = "N")]
    pub(crate) threads: Option<usize>,
    /// Offered rates in txn/s: auto, R1,R2,..., or A..B/STEPS (k and M suffixes allowed).
    #[arg(long, value_name = "auto|R1,R2|A..B/STEPS", allow_hyphen_values = true)]
    pub(crate) rates: Option<String>,
    /// Measured time per step, e.g. 500ms [default: derived from the scenario's time budget].
    #[arg(long, value_name = "DUR", allow_hyphen_values = true)]
    pub(crate) step: Option<String>,
    /// Arrival spacing: even or poisson [default: even].
    #[arg(long, value_name = "A")]
    pub(crate) arrivals: Option<String>,
    /// Climb the ladder N times, interleaved across maps, and report each
    /// step's median with an exact interval; each repetition's own knee and
    /// peak rate are kept for `compare` [default: the scenario's, 5 for the
    /// default scenario; 1 with --quick].
    #[arg(long, value_name = "N")]
    pub(crate) repeat: Option<usize>,
    /// Measuring processes: repetition k of every step runs in process
    /// k mod N, each a fresh `mapknee` with its own address layout and heap,
    /// so a step's repetitions hold the spread between processes as well as
    /// within one; 0 measures in this process [default: one per repetition].
    #[arg(long, value_name = "N")]
    pub(crate) processes: Option<usize>,
    /// Latency objective, e.g. p99<=1ms: a percentile (p50, p90, p99,
    /// p99.9, max) and a bound (ns, us, ms, s); each map's SLO capacity is
    /// the highest rate it kept up with inside it [default: p99<=1ms].
    #[arg(long, value_name = "OBJECTIVE")]
    pub(crate) slo: Option<String>,
    #[command(flatten)]
    pub(crate) common: WorkloadArgs,
}

#[derive(Debug, Args)]
pub(crate) struct TraceArgs {
    /// Without root, bpftrace or tracefs, run without eBPF (and say so)
    /// instead of stopping.
    #[arg(long)]
    pub(crate) fallback: bool,
    #[command(flatten)]
    pub(crate) run: RunArgs,
}

#[derive(Debug, Args)]
pub(crate) struct ProfileArgs {
    /// The offered rate of the profiled step (txn/s, k and M suffixes), or
    /// `knee`: run the staircase first and profile one step at the knee.
    #[arg(long, value_name = "RATE|knee")]
    pub(crate) at: String,
    #[command(flatten)]
    pub(crate) run: RunArgs,
}

#[derive(Debug, Args)]
pub(crate) struct ScaleArgs {
    /// The operation mix [default: mixed].
    #[arg(long = "mix", value_name = "M")]
    pub(crate) mix: Option<String>,
    /// Thread counts, comma-separated [default: 1,2,...,available cores].
    #[arg(long, value_delimiter = ',', value_name = "1,2,4")]
    pub(crate) threads: Option<Vec<usize>>,
    /// Measured time per thread count [default: 1s].
    #[arg(long, value_name = "DUR", allow_hyphen_values = true)]
    pub(crate) duration: Option<String>,
    #[command(flatten)]
    pub(crate) common: WorkloadArgs,
}

#[derive(Debug, Args)]
pub(crate) struct ReportArgs {
    /// A results.json written by `run` or `scale`.
    #[arg(value_name = "RESULTS.json")]
    pub(crate) results: PathBuf,
    /// Write report.html (and results.csv) here [default: beside RESULTS.json].
    #[arg(long, value_name = "DIR")]
    pub(crate) out: Option<PathBuf>,
    /// Latency objective, e.g. p99<=1ms: a percentile (p50, p90, p99,
    /// p99.9, max) and a bound (ns, us, ms, s); each map's SLO capacity is
    /// the highest rate it kept up with inside it [default: the file's, else p99<=1ms].
    #[arg(long, value_name = "OBJECTIVE")]
    pub(crate) slo: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct CompareArgs {
    /// BASE.json NEW.json: the baseline, then the file to judge against it.
    #[arg(value_name = "BASE.json NEW.json")]
    pub(crate) files: Vec<PathBuf>,
    /// Baseline files, instead of BASE.json: their runs of each map and mix
    /// pool into one set of repetitions (a single run counts as one).
    #[arg(long, value_name = "FILE", num_args = 1..)]
    pub(crate) base: Vec<PathBuf>,
    /// Files to judge, instead of NEW.json, pooled as --base.
    #[arg(long, value_name = "FILE", num_args = 1..)]
    pub(crate) new: Vec<PathBuf>,
    /// Changes within this many percent are noise [default: 15].
    #[arg(long, value_name = "PCT", allow_hyphen_values = true)]
    pub(crate) threshold: Option<f64>,
    /// Latency objective, e.g. p99<=1ms: a percentile (p50, p90, p99,
    /// p99.9, max) and a bound (ns, us, ms, s); SLO capacities are judged
    /// against it on both sides [default: the first base file's, else p99<=1ms].
    #[arg(long, value_name = "OBJECTIVE")]
    pub(crate) slo: Option<String>,
    /// Judge runs whose two sides ran on different core placements (or
    /// mostly outside their own, or with noise floors more than 1.5x
    /// apart) instead of calling them not comparable.
    #[arg(long)]
    pub(crate) across_placements: bool,
    /// Output format (table or json).
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub(crate) format: Format,
}

#[derive(Debug, Args)]
pub(crate) struct AdviseArgs {
    /// A results.json written by `run`.
    #[arg(value_name = "RESULTS.json")]
    pub(crate) results: PathBuf,
    /// Output format (table or json).
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub(crate) format: Format,
    /// Latency objective, e.g. p99<=1ms: a percentile (p50, p90, p99,
    /// p99.9, max) and a bound (ns, us, ms, s); maps are ranked by the
    /// highest rate they kept up with inside it [default: the file's, else p99<=1ms].
    #[arg(long, value_name = "OBJECTIVE")]
    pub(crate) slo: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct ListArgs {
    /// Only this section: maps, mixes, distributions or scenarios.
    #[arg(value_name = "WHAT")]
    pub(crate) what: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct GrowthArgs {
    /// Maps to grow, comma-separated: gomap and std (single-threaded: they
    /// always use one thread), or any map of `mapknee list maps` [default: gomap,std].
    #[arg(long, value_delimiter = ',', value_name = "a,b")]
    pub(crate) maps: Option<Vec<String>>,
    /// Keys inserted into each map, from empty [default: 1000000].
    #[arg(long, value_name = "N")]
    pub(crate) inserts: Option<u64>,
    /// Threads inserting into each concurrent map, splitting the keys [default: 1].
    #[arg(long, value_name = "N")]
    pub(crate) threads: Option<usize>,
    /// Rounds: each grows every map once, each growth in a fresh process;
    /// round r starts with the r-th map (wrapping). Every round is
    /// reported, then each map's median round [default: 3].
    #[arg(long, value_name = "R")]
    pub(crate) repeat: Option<usize>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub(crate) format: Format,
    /// Also write growth.json into this directory.
    #[arg(long, value_name = "DIR")]
    pub(crate) out: Option<PathBuf>,
    /// Internal: grow the one map of `--maps` once, in this process, and
    /// print its run as JSON; `growth` starts itself so for every growth.
    #[arg(long, hide = true)]
    pub(crate) child: bool,
}

#[derive(Debug, Args)]
pub(crate) struct MemoryArgs {
    /// Maps to measure, comma-separated [default: every map but synthetic and noop].
    #[arg(long, value_delimiter = ',', value_name = "a,b")]
    pub(crate) maps: Option<Vec<String>>,
    /// Entries per map, comma-separated (k and M suffixes allowed) [default: 1k,64k,1M].
    #[arg(long, value_delimiter = ',', value_name = "1k,64k,1M")]
    pub(crate) sizes: Option<Vec<String>>,
    /// Operations per measured phase (get, overwrite, insert_new, remove),
    /// at most the size [default: 16384].
    #[arg(long, value_name = "N")]
    pub(crate) ops: Option<u64>,
    /// Hasher for every map: foldhash or siphash [default: foldhash].
    #[arg(long, value_name = "H")]
    pub(crate) hasher: Option<String>,
    /// Do not run Go's reference program even when Go is installed.
    #[arg(long)]
    pub(crate) no_go: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub(crate) format: Format,
    /// Also write memory.json, memory.csv and report.html into this directory.
    #[arg(long, value_name = "DIR")]
    pub(crate) out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct AtomicsArgs {
    /// Timed samples per benchmark, at least 5 [default: 40].
    #[arg(long, value_name = "N")]
    pub(crate) samples: Option<usize>,
    /// Rounds over the whole list, each taking its share of the samples,
    /// pooled per benchmark, so a burst of load from elsewhere spreads over
    /// many benchmarks [default: 3].
    #[arg(long, value_name = "N")]
    pub(crate) rounds: Option<usize>,
    /// Length of one sample, e.g. 2ms [default: 2ms].
    #[arg(long, value_name = "DUR", allow_hyphen_values = true)]
    pub(crate) sample_time: Option<String>,
    /// Only the benchmarks whose "primitive ordering layout" label contains
    /// this, e.g. fetch_add or "fetch_add Relaxed padded".
    #[arg(long, value_name = "TEXT")]
    pub(crate) only: Option<String>,
    /// Map sizes for SyncMap's load breakdown, comma-separated: a small
    /// one shows the instructions, a large one the cache misses [default: 1024,65536].
    #[arg(long, value_delimiter = ',', value_name = "N,M")]
    pub(crate) keys: Option<Vec<u64>>,
    /// Leave out SyncMap's load breakdown.
    #[arg(long)]
    pub(crate) no_breakdown: bool,
    /// Count cache misses with perf for the two-thread fetch_add layouts
    /// (shared, false-shared, padded); exit status 2 where the machine has
    /// no hardware counters.
    #[arg(long)]
    pub(crate) hw_counters: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub(crate) format: Format,
    /// Also write atomics.json, atomics.csv and report.html into this directory.
    #[arg(long, value_name = "DIR")]
    pub(crate) out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// The map the cache uses (see `mapknee list maps`).
    #[arg(long, value_name = "NAME")]
    pub(crate) map: String,
    /// Where to listen; loopback unless told otherwise (port 0: any free port).
    #[arg(long, value_name = "HOST:PORT", default_value = mapknee_service::DEFAULT_ADDR)]
    pub(crate) addr: String,
    /// Backing store: sqlite (a temp file), sqlite:PATH, or sim:LATENCY[:ERROR_RATE].
    #[arg(long, value_name = "STORE", default_value = "sqlite")]
    pub(crate) store: String,
    /// Orders the cache holds at most (the oldest insertions are evicted) [default: 100000].
    #[arg(long, value_name = "N")]
    pub(crate) capacity: Option<usize>,
    /// Orders 1..=N seeded into the store at start [default: 50000].
    #[arg(long, value_name = "N")]
    pub(crate) seed: Option<u64>,
    /// Largest request body accepted, bytes [default: 16384].
    #[arg(long, value_name = "BYTES")]
    pub(crate) body_limit: Option<usize>,
    /// Worker threads [default: one per core of --cores, else per CPU].
    #[arg(long, value_name = "N")]
    pub(crate) workers: Option<usize>,
    /// Pin the workers to these cores, comma-separated.
    #[arg(long, value_delimiter = ',', value_name = "a,b")]
    pub(crate) cores: Option<Vec<usize>>,
    /// Hasher of the map: foldhash or siphash.
    #[arg(long, default_value = "foldhash")]
    pub(crate) hasher: String,
    /// Start with an empty cache (by default a fresh store's seeded orders
    /// are cached at start, up to --capacity).
    #[arg(long)]
    pub(crate) cold: bool,
}

#[derive(Debug, Args)]
pub(crate) struct HttpArgs {
    /// Drive the service at this URL (http://HOST:PORT).
    #[arg(long, value_name = "URL", conflicts_with = "spawn")]
    pub(crate) url: Option<String>,
    /// Start `mapknee serve` per map of --maps, fresh store each, and stop it after.
    #[arg(long)]
    pub(crate) spawn: bool,
    /// With --spawn: the maps, comma-separated [default: syncmap,rwlock,sharded].
    #[arg(long, value_delimiter = ',', value_name = "a,b")]
    pub(crate) maps: Option<Vec<String>>,
    /// With --spawn: each service's store (see `serve --store`).
    #[arg(long, value_name = "STORE", default_value = "sqlite")]
    pub(crate) store: String,
    /// With --spawn: orders seeded per service [default: 50000].
    #[arg(long, value_name = "N")]
    pub(crate) seed: Option<u64>,
    /// With --spawn: each cache's capacity [default: 100000].
    #[arg(long, value_name = "N")]
    pub(crate) capacity: Option<usize>,
    /// Offered rates: auto, R1,R2,... or A..B/STEPS (req/s).
    #[arg(long, default_value = "auto")]
    pub(crate) rates: String,
    /// Measured time per step.
    #[arg(long, value_name = "DUR", default_value = "2s")]
    pub(crate) step: String,
    /// Warm-up per step (0s: none).
    #[arg(long, value_name = "DUR", default_value = "500ms")]
    pub(crate) warmup: String,
    /// Closed-loop capacity probe per service (auto).
    #[arg(long, value_name = "DUR", default_value = "2s")]
    pub(crate) probe: String,
    /// Ladder rates (auto).
    #[arg(long, value_name = "N", default_value_t = 7)]
    pub(crate) ladder_steps: usize,
    /// Bisection steps per map after the ladder (auto).
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub(crate) refine: usize,
    /// Keep-alive connections, each with its own arrival schedule.
    #[arg(long, value_name = "N", default_value_t = 32)]
    pub(crate) connections: usize,
    /// Generator threads the connections are spread over [default: 4 per
    /// generator core, 4 when not pinned].
    #[arg(long, value_name = "N")]
    pub(crate) gen_threads: Option<usize>,
    /// Request mix: GET/PUT/DELETE percentages and the GET miss share.
    #[arg(long, value_name = "G/P/D[:MISS]", default_value = "90/5/5:0.05")]
    pub(crate) mix: String,
    /// Arrival spacing: even or poisson.
    #[arg(long, default_value = "even")]
    pub(crate) arrivals: String,
    /// GET this path for every request instead of the order mix (e.g.
    /// /healthz: the generator's own ceiling against a trivial endpoint).
    #[arg(long, value_name = "PATH")]
    pub(crate) path: Option<String>,
    /// Cores: auto (split: the generator on the first half, the services
    /// on the rest), off, or GEN/SERVICE lists such as 0/1.
    #[arg(long, value_name = "auto|off|G/S", default_value = "auto")]
    pub(crate) cores: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub(crate) format: Format,
    /// Also write results.json, results.csv and report.html into this directory.
    #[arg(long, value_name = "DIR")]
    pub(crate) out: Option<PathBuf>,
}
