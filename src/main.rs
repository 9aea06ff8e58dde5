//! The `orch` binary: parse the arguments, dispatch, turn the outcome into an exit code.

use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use orch::cli;

fn main() -> ExitCode {
    // Answers the shell when it asks for completions (`COMPLETE=bash orch …`), and exits.
    clap_complete::CompleteEnv::with_factory(cli::Cli::command).complete();
    let cli = cli::Cli::parse();
    match cli::run(cli) {
        Ok(exit) => exit.into(),
        Err(error) => {
            error.report();
            error.exit().into()
        }
    }
}
