//! The command line: argument parsing and one file per command (the client side only).

mod check;
mod completions;
mod config;
mod down;
mod follow;
mod logs;
mod man;
mod mcp;
pub mod progress;
pub mod ps;
mod restart;
mod schema;
pub mod session;
mod start;
mod stop;
pub mod supervise;
mod up;

use std::path::{Path, PathBuf};

use clap::{Args, Parser, Subcommand};

use crate::exit::Exit;
use crate::manifest::{self, LoadOptions, Loaded, Problems};
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
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct Global {
    // Not `global`: like docker compose, `-f FILE` goes before the command, so that
    // `orch logs -f` can mean follow.
    /// Use this manifest (procs.toml or a Procfile) instead of searching for one
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Run as if orch was started in DIR
    #[arg(short = 'C', long = "directory", value_name = "DIR")]
    pub directory: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Validate the manifest and print the start order
    Check(check::CheckArgs),
    /// Print the resolved manifest (env merged, defaults filled)
    Config(config::ConfigArgs),
    /// Start the services (all if none named) and what they depend on; wait until ready
    Up(up::UpArgs),
    /// Stop the services (all if none named) and their dependents, dependents first
    Down(down::DownArgs),
    /// Show the services: state, pid, uptime, restarts, readiness, cpu, memory
    Ps(ps::PsArgs),
    /// Show the services' logs, merged and prefixed
    Logs(logs::LogsArgs),
    /// Start services, or an ad-hoc one: orch start NAME -- CMD…
    Start(start::StartArgs),
    /// Stop services and what depends on them
    Stop(stop::StopArgs),
    /// Stop services and start them again
    Restart(restart::RestartArgs),
    /// Print the shell script that completes orch's commands and service names
    Completions(completions::CompletionsArgs),
    /// Print the man page (roff)
    Man(man::ManArgs),
    /// Print the JSON Schema of procs.toml
    Schema(schema::SchemaArgs),
    /// Serve the commands as Model Context Protocol tools on stdin/stdout (for coding agents)
    Mcp(mcp::McpArgs),
    /// Run the project's supervisor (started by orch itself)
    #[command(name = "__supervise", hide = true)]
    Supervise(supervise::SuperviseArgs),
}

/// Why a command failed; each kind maps to one exit code.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
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
}

impl CliError {
    pub fn exit(&self) -> Exit {
        match self {
            CliError::Discover(_) | CliError::Manifest(_) | CliError::Usage(_) => Exit::Usage,
            CliError::Failed(_) => Exit::ServiceFailed,
        }
    }

    /// Prints the error to stderr.
    pub fn report(&self) {
        match self {
            CliError::Manifest(problems) => render::problems(&problems.0),
            other => eprintln!("orch: {other}"),
        }
    }
}

pub fn run(cli: Cli) -> Result<Exit, CliError> {
    match cli.command {
        Command::Check(args) => check::run(&cli.global, args),
        Command::Config(args) => config::run(&cli.global, args),
        Command::Up(args) => up::run(&cli.global, args),
        Command::Down(args) => down::run(&cli.global, args),
        Command::Ps(args) => ps::run(&cli.global, args),
        Command::Logs(args) => logs::run(&cli.global, args),
        Command::Start(args) => start::run(&cli.global, args),
        Command::Stop(args) => stop::run(&cli.global, args),
        Command::Restart(args) => restart::run(&cli.global, args),
        Command::Mcp(args) => mcp::run(&cli.global, args),
        Command::Completions(args) => completions::run(&cli.global, args),
        Command::Man(args) => man::run(&cli.global, args),
        Command::Schema(args) => schema::run(&cli.global, args),
        Command::Supervise(args) => supervise::run(args),
    }
}

/// Finds and loads the project's manifest; warnings are printed to stderr.
pub fn load_manifest(global: &Global) -> Result<Loaded, CliError> {
    let options = LoadOptions::from_process();
    let path = project::discover(&options.display_base, global.directory.as_deref(), global.file.as_deref())?;
    let loaded = manifest::load(&path, &options).map_err(CliError::Manifest)?;
    render::problems(&loaded.warnings);
    Ok(loaded)
}

/// A path as the user would write it from where they stand.
pub fn display_path(path: &Path) -> String {
    let cwd = std::env::current_dir().unwrap_or_default();
    path.strip_prefix(&cwd).unwrap_or(path).display().to_string()
}
