//! The command line: argument parsing and one file per command (the client side only).

mod check;
mod completions;
mod config;
mod down;
mod follow;
mod logs;
mod man;
mod mcp;
pub(crate) mod progress;
pub(crate) mod ps;
mod restart;
mod schema;
pub(crate) mod session;
mod start;
mod stop;
mod supervise;
mod up;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

use crate::exit::Exit;
use crate::ipc::{ProblemReport, Refusal};
use crate::manifest::{self, LoadOptions, Loaded, Problem, Problems};
use crate::project::{self, DiscoverError};
use crate::render;

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

fn conclude(outcome: Result<Exit, CliError>) -> ExitCode {
    match outcome {
        Ok(exit) => exit.into(),
        Err(error) => {
            error.report();
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

/// Why a command failed; each kind maps to one exit code.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CliError {
    #[error(transparent)]
    Discover(#[from] DiscoverError),
    #[error("the manifest is invalid")]
    Manifest(Problems),
    /// Bad usage: an unknown service, a wrong combination of arguments.
    #[error("{0}")]
    Usage(String),
    /// Something did not work: a service, the supervisor, the system.
    #[error("{0}")]
    Failed(String),
    /// The supervisor refused the request; its kind decides the exit code.
    #[error(transparent)]
    Refused(Refusal),
}

impl CliError {
    pub(crate) fn exit(&self) -> Exit {
        match self {
            CliError::Discover(_)
            | CliError::Manifest(_)
            | CliError::Usage(_)
            | CliError::Refused(
                Refusal::UnknownService { .. }
                | Refusal::BadManifest { .. }
                | Refusal::Invalid { .. }
                | Refusal::Conflict { .. },
            ) => Exit::Usage,
            CliError::Failed(_) | CliError::Refused(Refusal::Internal { .. }) => Exit::ServiceFailed,
        }
    }

    /// Prints the error to stderr.
    pub(crate) fn report(&self) {
        match self {
            CliError::Manifest(problems) => render::problems(&problems.0),
            CliError::Refused(Refusal::BadManifest { problems }) => {
                render::problems(&problems.iter().map(ProblemReport::to_problem).collect::<Vec<_>>());
            }
            other => eprintln!("orch: {other}"),
        }
    }
}

pub(crate) fn run(cli: Cli) -> Result<Exit, CliError> {
    let global = cli.global;
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
        Verb::Mcp(s) => mcp::run(&global.with(s.place), s.args),
        Verb::Completions(args) => completions::run(&global, args),
        Verb::Man(args) => man::run(&global, args),
        Verb::Schema(args) => schema::run(&global, args),
        Verb::Supervise(args) => supervise::run(args),
    }
}

/// Finds and loads the project's manifest; its warnings (and a note on which manifest, when
/// there was a choice) are in `warnings`, for the command to show.
pub(crate) fn load_manifest(global: &Global) -> Result<Loaded, CliError> {
    let options = LoadOptions::from_process();
    let found = project::discover(&options.display_base, global.directory.as_deref(), global.file.as_deref())?;
    let mut loaded = manifest::load(&found.path, &options).map_err(CliError::Manifest)?;
    loaded.warnings.splice(0..0, found.note.map(Problem::note));
    Ok(loaded)
}

/// A path as the user would write it from where they stand.
pub(crate) fn display_path(path: &Path) -> String {
    let cwd = std::env::current_dir().unwrap_or_default();
    path.strip_prefix(&cwd).unwrap_or(path).display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_is_exit_2_unless_the_supervisor_failed() {
        let exit = |refusal| CliError::Refused(refusal).exit();
        assert_eq!(exit(Refusal::unknown_service("x", &["web"])), Exit::Usage);
        assert_eq!(exit(Refusal::BadManifest { problems: Vec::new() }), Exit::Usage);
        assert_eq!(exit(Refusal::invalid("no manifest to bring up")), Exit::Usage);
        assert_eq!(exit(Refusal::conflict("`web` is already running; stop it first")), Exit::Usage);
        assert_eq!(exit(Refusal::Internal { message: "it broke".into() }), Exit::ServiceFailed);
    }
}
