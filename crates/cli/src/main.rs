//! `mapknee`: the binary. Thin: parse → validate (`settings`) → call the
//! libraries → print (`render`). Exit status: 0 done, 1 failed while running
//! (e.g. cannot write `--out`, or a step could not run or finish: what was
//! measured before it is still printed and written), 2 bad input (one line
//! on stderr), 130 interrupted by Ctrl-C (what was measured is still
//! printed and written).

mod args;
mod cmd;
mod limits;
mod progress;
mod render;
mod scenario;
mod settings;
#[cfg(test)]
mod settings_props;
mod watchdog;

use std::fmt;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use clap::error::ErrorKind;
use clap::Parser;

use crate::args::{Cli, Command};

/// Counts allocations for `mapknee memory`; off (one relaxed load and a
/// branch per allocation and free) for every other command. `memory`
/// measures and prints what it costs.
#[global_allocator]
static ALLOC: mapknee_costs::alloc::CountingAlloc = mapknee_costs::alloc::CountingAlloc::SYSTEM;

/// `rustc --version` of the compiler that built this binary (build.rs).
pub(crate) const RUSTC: &str = env!("MAPKNEE_RUSTC");

/// Raised by Ctrl-C; the runners check it and stop early.
pub(crate) static STOP: AtomicBool = AtomicBool::new(false);

/// Why the run stopped early when it was not Ctrl-C: the first step that
/// could not run or finish. Set with [`fail`].
static FAILURE: Mutex<Option<String>> = Mutex::new(None);

/// Stops the run as Ctrl-C does, recording why (the first reason wins):
/// what was measured is still printed and written, then `why` is the one
/// error line and the exit status is 1.
pub(crate) fn fail(why: String) {
    FAILURE
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get_or_insert(why);
    STOP.store(true, Ordering::SeqCst);
}

/// The reason [`fail`] recorded, if any.
pub(crate) fn failure() -> Option<String> {
    FAILURE.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// An error for the user: one line, and the exit status it maps to.
#[derive(Debug)]
pub(crate) struct CliError {
    msg: String,
    code: u8,
}

impl CliError {
    /// Bad input: exit status 2.
    pub(crate) fn usage(msg: impl Into<String>) -> Self {
        CliError {
            msg: msg.into(),
            code: 2,
        }
    }

    /// A failure while running: exit status 1.
    pub(crate) fn runtime(msg: impl Into<String>) -> Self {
        CliError {
            msg: msg.into(),
            code: 1,
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Always one line.
        f.write_str(&self.msg.replace('\n', " "))
    }
}

/// How a command ended.
pub(crate) enum Outcome {
    Done,
    Interrupted,
    /// `compare` found a regression: exit status 1.
    Regressed,
    /// `compare` could judge no run: the machine changed between the
    /// sides (exit status 3).
    NotComparable,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            return match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
                    let _ = e.print();
                    ExitCode::SUCCESS
                }
                ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                    let _ = e.print();
                    ExitCode::from(2)
                }
                _ => {
                    // clap's first line says what is wrong; the usage and
                    // tips after it would break the one-line contract.
                    let rendered = e.render().to_string();
                    let line = rendered
                        .lines()
                        .find(|l| !l.trim().is_empty())
                        .unwrap_or("error: bad arguments");
                    eprintln!("mapknee: {line}");
                    ExitCode::from(2)
                }
            };
        }
    };
    let result = match cli.command {
        Command::Run(args) => settings::RunSettings::from_args(args).and_then(|s| {
            install_ctrlc();
            cmd::run::run(s)
        }),
        Command::Scale(args) => settings::ScaleSettings::from_args(args).and_then(|s| {
            install_ctrlc();
            cmd::scale::run(s)
        }),
        Command::List(args) => cmd::list::run(args),
        Command::Report(args) => cmd::report::run(args),
        Command::Compare(args) => cmd::compare::run(args),
        Command::Advise(args) => cmd::advise::run(args),
        Command::Growth(args) => {
            // The parent stops between growths and reports the whole
            // rounds; a child dies with the terminal's SIGINT as it should.
            if !args.child {
                install_ctrlc();
            }
            cmd::growth::run(args)
        }
        Command::Memory(args) => cmd::memory::run(args),
        Command::Atomics(args) => cmd::atomics::run(args),
        Command::Trace(args) => settings::RunSettings::from_args(args.run).and_then(|s| {
            install_ctrlc();
            cmd::trace::run(s, args.fallback)
        }),
        Command::Profile(args) => settings::RunSettings::from_args(args.run).and_then(|s| {
            install_ctrlc();
            cmd::profile::run(s, &args.at)
        }),
        Command::MeasureChild => {
            install_ctrlc();
            cmd::measure::child()
        }
        Command::Serve(args) => cmd::serve::run(args),
        Command::Http(args) => {
            install_ctrlc();
            cmd::http::run(args)
        }
    };
    match result {
        Ok(Outcome::Done) => ExitCode::SUCCESS,
        Ok(Outcome::Interrupted) => ExitCode::from(130),
        Ok(Outcome::Regressed) => ExitCode::from(1),
        Ok(Outcome::NotComparable) => ExitCode::from(3),
        Err(e) => {
            eprintln!("mapknee: error: {e}");
            ExitCode::from(e.code)
        }
    }
}

/// First Ctrl-C: stop measuring and report what was measured. Second:
/// exit at once.
fn install_ctrlc() {
    let _ = ctrlc::set_handler(|| {
        if STOP.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
    });
}
