//! The `orch` binary: parse the arguments, dispatch, turn the outcome into an exit code.

use std::process::ExitCode;

use clap::Parser;
use orch::cli;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    match cli::run(cli) {
        Ok(exit) => exit.into(),
        Err(error) => {
            error.report();
            error.exit().into()
        }
    }
}
