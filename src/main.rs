//! The `orch` binary: parse the arguments and dispatch (the library says how it went).

use std::process::ExitCode;

use clap::{CommandFactory, Parser};
use orch::cli;

fn main() -> ExitCode {
    match supervise_args() {
        // The background supervisor skips clap: it is started by orch itself, and a process
        // that lives for hours should not keep the pages and heap of a full argument parser.
        Some(args) => cli::supervise(args),
        None => {
            // Answers the shell when it asks for completions (`COMPLETE=bash orch …`), and exits.
            clap_complete::CompleteEnv::with_factory(cli::Cli::command).complete();
            cli::main(cli::Cli::parse())
        }
    }
}

/// `orch __supervise ROOT`, exactly as `client::launch` launches it.
fn supervise_args() -> Option<cli::SuperviseArgs> {
    let mut args = std::env::args_os().skip(1);
    let (command, root, rest) = (args.next()?, args.next()?, args.next());
    (command == "__supervise" && rest.is_none()).then(|| cli::SuperviseArgs { root: root.into() })
}
