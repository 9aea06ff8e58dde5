//! The command line: argument parsing and one file per command (the client side only).

mod boot;
mod check;
mod completions;
mod config;
mod dashboard;
mod down;
mod export;
mod follow;
mod logs;
mod man;
mod mcp;
mod probe;
mod progress;
mod ps;
mod restart;
mod scale;
mod schema;
mod start;
mod stop;
mod supervise;
mod tui;
mod up;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::client::{ClientError, Place};
use crate::exit::Exit;
use crate::ipc::{ProblemReport, Refusal};
use crate::manifest::{self, LoadOptions, Loaded, Problem};
use crate::project;
use crate::terminal;

#[derive(Debug, Parser)]
#[command(
    name = "orch",
    version,
    about = "Start a project's services in dependency order, keep them running, stop them cleanly."
)]
pub struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    verb: Verb,
}

pub use supervise::SuperviseArgs;

/// Runs the command the user typed, and says how it went: problems on stderr, the exit code.
#[must_use]
pub fn main(cli: Cli) -> ExitCode {
    conclude(run(cli))
}

/// Runs the background supervisor (`orch __supervise ROOT`, as orch launches it).
#[must_use]
pub fn supervise(args: SuperviseArgs) -> ExitCode {
    conclude(supervise::run(args))
}

fn conclude(outcome: Result<Exit, ClientError>) -> ExitCode {
    match outcome {
        Ok(exit) => exit.into(),
        Err(error) => {
            report(&error);
            error.exit().into()
        }
    }
}

/// Where the project is: `-f FILE` and `-C DIR`, before the command (`orch -f Procfile.dev up`)
/// or after it (`orch up -f Procfile.dev`); after it wins.
#[derive(Clone, Debug, Default, Args)]
pub(crate) struct Global {
    /// Use this manifest (procs.toml or a Procfile) instead of searching for one
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub(crate) file: Option<PathBuf>,
    /// Run as if orch was started in DIR
    #[arg(short = 'C', long = "directory", value_name = "DIR")]
    pub(crate) directory: Option<PathBuf>,
}

impl Global {
    /// Where the project is, for the client.
    pub(crate) fn place(&self) -> Place {
        Place { file: self.file.clone(), directory: self.directory.clone() }
    }

    /// These, with what was given after the command over them.
    pub(crate) fn with(&self, after: Global) -> Global {
        Global {
            file: after.file.or_else(|| self.file.clone()),
            directory: after.directory.or_else(|| self.directory.clone()),
        }
    }
}

/// A command's arguments with `-f FILE` and `-C DIR` after the command.
#[derive(Debug, Args)]
pub(crate) struct Scoped<A: Args> {
    #[command(flatten)]
    place: Global,
    #[command(flatten)]
    args: A,
}

/// `orch logs` takes `-C DIR` and `--file FILE` after the command; its `-f` is `--follow`, as
/// in docker compose (`orch -f FILE logs -f` names the manifest and follows).
#[derive(Debug, Args)]
pub(crate) struct LogsScoped {
    /// Use this manifest (procs.toml or a Procfile) instead of searching for one
    #[arg(long = "file", value_name = "FILE")]
    file: Option<PathBuf>,
    /// Run as if orch was started in DIR
    #[arg(short = 'C', long = "directory", value_name = "DIR")]
    directory: Option<PathBuf>,
    #[command(flatten)]
    args: logs::LogsArgs,
}

/// What orch is asked to do: one variant per command (named so, not `Command`, to be told from
/// std's and from a service's command line).
#[derive(Debug, Subcommand)]
pub(crate) enum Verb {
    /// Validate the manifest and print the start order
    Check(Scoped<check::CheckArgs>),
    /// Print the resolved manifest (env merged, defaults filled)
    Config(Scoped<config::ConfigArgs>),
    /// Start the services (all if none named) and what they depend on; wait until ready
    Up(Scoped<up::UpArgs>),
    /// Stop the services (all if none named) and their dependents, dependents first
    Down(Scoped<down::DownArgs>),
    /// Show the services: state, pid, uptime, restarts, readiness, cpu, memory
    Ps(Scoped<ps::PsArgs>),
    /// Show the services' logs, merged and prefixed
    Logs(LogsScoped),
    /// Start services, or an ad-hoc one: orch start NAME -- CMD…
    Start(Scoped<start::StartArgs>),
    /// Stop services and what depends on them
    Stop(Scoped<stop::StopArgs>),
    /// Stop services and start them again
    Restart(Scoped<restart::RestartArgs>),
    /// Run this many replicas of services: orch scale web=3
    Scale(Scoped<scale::ScaleArgs>),
    /// Write the project as systemd units, a Nomad job or Kubernetes manifests
    Export(Scoped<export::ExportArgs>),
    /// Wait until a check passes: orch probe tcp HOST:PORT | http URL | exec CMD…
    Probe(probe::ProbeArgs),
    /// Start this project's services at login: orch boot enable|disable|status
    Boot(Scoped<boot::BootArgs>),
    /// The project at a glance: services, logs, and keys to restart, stop, start and scale
    Tui(Scoped<tui::TuiArgs>),
    /// The project in a local web page (and a JSON API): services, logs, graph, actions
    Dashboard(Scoped<dashboard::DashboardArgs>),
    /// Print the shell script that completes orch's commands and service names
    Completions(completions::CompletionsArgs),
    /// Print the man page (roff)
    Man(man::ManArgs),
    /// Print the JSON Schema of procs.toml
    Schema(schema::SchemaArgs),
    /// Serve the commands as Model Context Protocol tools on stdin/stdout (for coding agents)
    Mcp(Scoped<mcp::McpArgs>),
    /// Run the project's supervisor (started by orch itself)
    #[command(name = "__supervise", hide = true)]
    Supervise(supervise::SuperviseArgs),
}

/// Prints a failed command's error to stderr: a bad manifest as the compiler-style report.
fn report(error: &ClientError) {
    match error {
        ClientError::Manifest(problems) => terminal::problems(&problems.0),
        ClientError::Refused(Refusal::BadManifest { problems }) => {
            terminal::problems(&problems.iter().map(ProblemReport::to_problem).collect::<Vec<_>>());
        }
        other => eprintln!("orch: {other}"),
    }
}

pub(crate) fn run(cli: Cli) -> Result<Exit, ClientError> {
    let global = cli.global;
    if cli.verb.only_prints() {
        die_of_a_closed_pipe();
    }
    match cli.verb {
        Verb::Check(s) => check::run(&global.with(s.place), s.args),
        Verb::Config(s) => config::run(&global.with(s.place), s.args),
        Verb::Up(s) => up::run(&global.with(s.place), s.args),
        Verb::Down(s) => down::run(&global.with(s.place), s.args),
        Verb::Ps(s) => ps::run(&global.with(s.place), s.args),
        Verb::Logs(s) => logs::run(&global.with(Global { file: s.file, directory: s.directory }), s.args),
        Verb::Start(s) => start::run(&global.with(s.place), s.args),
        Verb::Stop(s) => stop::run(&global.with(s.place), s.args),
        Verb::Restart(s) => restart::run(&global.with(s.place), s.args),
        Verb::Scale(s) => scale::run(&global.with(s.place), s.args),
        Verb::Export(s) => export::run(&global.with(s.place), s.args),
        Verb::Probe(args) => probe::run(args),
        Verb::Boot(s) => boot::run(&global.with(s.place), s.args),
        Verb::Tui(s) => tui::run(&global.with(s.place), &s.args),
        Verb::Dashboard(s) => dashboard::run(&global.with(s.place), &s.args),
        Verb::Mcp(s) => mcp::run(&global.with(s.place), s.args),
        Verb::Completions(args) => completions::run(&global, args),
        Verb::Man(args) => man::run(&global, args),
        Verb::Schema(args) => schema::run(&global, args),
        Verb::Supervise(args) => supervise::run(args),
    }
}

impl Verb {
    /// A command whose work is to print: `orch ps | head -1` ends it when `head` is done.
    /// Not one that serves (`mcp`, `up --foreground`'s supervisor), nor one that changes what
    /// runs and must finish its work whoever reads what it says.
    fn only_prints(&self) -> bool {
        matches!(
            self,
            Verb::Check(_)
                | Verb::Config(_)
                | Verb::Ps(_)
                | Verb::Logs(_)
                | Verb::Completions(_)
                | Verb::Man(_)
                | Verb::Schema(_)
        )
    }
}

/// Puts back the default action of SIGPIPE, which Rust's runtime ignores: a write to a closed
/// pipe then ends the process quietly, as it ends `cat` or `grep`, instead of failing the
/// write (and panicking in `println!`). The socket to the supervisor is written with
/// MSG_NOSIGNAL, so a supervisor that goes away is an error, never this signal.
fn die_of_a_closed_pipe() {
    use nix::sys::signal::{SigHandler, Signal, signal};
    // SAFETY: SIG_DFL installs no handler, so nothing runs in signal context; this runs on
    // the main thread before any other thread exists.
    let _ = unsafe { signal(Signal::SIGPIPE, SigHandler::SigDfl) };
}

/// Finds and loads the project's manifest; its warnings (and a note on which manifest, when
/// there was a choice) are in `warnings`, for the command to show.
pub(crate) fn load_manifest(global: &Global) -> Result<Loaded, ClientError> {
    load_manifest_with(global, |_| LoadOptions::from_process())
}

/// [`load_manifest`] with the options `options` makes for the project's root (its ports, say).
pub(crate) fn load_manifest_with(
    global: &Global,
    options: impl FnOnce(&Path) -> LoadOptions,
) -> Result<Loaded, ClientError> {
    let cwd = std::env::current_dir().unwrap_or_default();
    let found = project::discover(&cwd, global.directory.as_deref(), global.file.as_deref())?;
    let options = options(found.path.parent().unwrap_or(Path::new("/")));
    let mut loaded = manifest::load(&found.path, &options).map_err(ClientError::Manifest)?;
    loaded.warnings.splice(0..0, found.note.map(Problem::note));
    Ok(loaded)
}

/// A path as the user would write it from where they stand.
pub(crate) fn display_path(path: &Path) -> String {
    let cwd = std::env::current_dir().unwrap_or_default();
    path.strip_prefix(&cwd).unwrap_or(path).display().to_string()
}
