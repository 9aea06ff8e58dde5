//! `orch completions SHELL`: the script that makes a shell complete orch's commands, options
//! and — for bash, zsh, fish, elvish and powershell alike — the project's service names. The
//! script calls back into `orch` as you type (clap_complete's `COMPLETE=<shell> orch`), so it
//! always matches the installed orch and the manifest as it is now.

use clap::{Args, ValueEnum};
use clap_complete::env::Shells;

use super::{ClientError, Global};
use crate::exit::Exit;

#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum Shell {
    Bash,
    Zsh,
    Fish,
    Elvish,
    Powershell,
}

#[derive(Debug, Args)]
pub(crate) struct CompletionsArgs {
    pub(crate) shell: Shell,
}

pub(super) fn run(_global: &Global, args: CompletionsArgs) -> Result<Exit, ClientError> {
    let name = match args.shell {
        Shell::Bash => "bash",
        Shell::Zsh => "zsh",
        Shell::Fish => "fish",
        Shell::Elvish => "elvish",
        Shell::Powershell => "powershell",
    };
    let shells = Shells::builtins();
    let shell = shells.completer(name).ok_or_else(|| ClientError::Usage(format!("no completions for {name}")))?;
    let mut out = std::io::stdout().lock();
    shell
        .write_registration("COMPLETE", "orch", "orch", "orch", &mut out)
        .map_err(|e| ClientError::Failed(format!("cannot write the completions: {e}")))?;
    Ok(Exit::Success)
}

/// The services a command line may name here: the manifest's and those the supervisor
/// records (ad-hoc ones, until they are stopped), in the project that the `-f` and `-C` already
/// on the line choose. Quiet and best-effort: completion must never print an error.
pub(super) fn service_names() -> Vec<clap_complete::CompletionCandidate> {
    let options = crate::manifest::LoadOptions::from_process();
    let place = place_on_the_line();
    let Ok(found) = crate::project::discover(&options.display_base, place.directory.as_deref(), place.file.as_deref())
    else {
        return Vec::new();
    };
    let mut names: Vec<String> = match crate::manifest::load(&found.path, &options) {
        Ok(loaded) => loaded.spec.services.keys().cloned().collect(),
        Err(_) => Vec::new(),
    };
    if let Some(root) = found.path.parent()
        && let Ok(Some(state)) = crate::state::State::load(&crate::paths::ProjectPaths::new(root).state())
    {
        names.extend(state.services.into_keys().filter(|n| !names.contains(n)).collect::<Vec<_>>());
    }
    names.into_iter().map(clap_complete::CompletionCandidate::new).collect()
}

/// `-f` and `-C` of the line being completed (`orch -- orch -C web logs ""`, as the shell
/// passes it), before or after the command, read by orch's own parser.
fn place_on_the_line() -> Global {
    use clap::CommandFactory;
    let words: Vec<std::ffi::OsString> = std::env::args_os().skip_while(|a| a != "--").skip(1).collect();
    let Ok(matches) = super::Cli::command().ignore_errors(true).try_get_matches_from(words) else {
        return Global::default();
    };
    let read = |m: &clap::ArgMatches| Global {
        file: m.try_get_one::<std::path::PathBuf>("file").ok().flatten().cloned(),
        directory: m.try_get_one::<std::path::PathBuf>("directory").ok().flatten().cloned(),
    };
    let before = read(&matches);
    match matches.subcommand() {
        Some((_, after)) => before.with(read(after)),
        None => before,
    }
}
