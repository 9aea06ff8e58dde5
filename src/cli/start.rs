//! `orch start SVC…`: start services of the manifest (and what they need), without the rest.
//! `orch start NAME -- CMD…`: an ad-hoc service the manifest does not know, kept until
//! `stop` or `down` — a server a script or an agent wants for a while.

use std::path::PathBuf;

use clap::Args;

use super::Global;
use super::follow::conclude;
use super::progress::Progress;
use crate::client::follow::{Expect, Wait};
use crate::client::ops::{self, AdhocStart};
use crate::client::{ClientError, Session};
use crate::exit::Exit;
use crate::manifest::{CommandLine, HumanDuration, Ready, RestartPolicy, is_valid_env_key};

#[derive(Debug, Args)]
pub(crate) struct StartArgs {
    /// Services to start; with `-- CMD…`, the name of the ad-hoc service
    #[arg(required = true)]
    #[arg(add = clap_complete::ArgValueCandidates::new(super::completions::service_names))]
    pub(crate) services: Vec<String>,
    /// The ad-hoc command: one argument runs under `sh -c`, several are exec'd as argv
    #[arg(last = true, value_name = "CMD")]
    pub(crate) command: Vec<String>,
    /// Ad-hoc: wait for this check: tcp:HOST:PORT, http:URL (or the URL), log:REGEX, exec:CMD, delay:DUR, notify
    #[arg(long, value_name = "CHECK", value_parser = Ready::parse_flag)]
    pub(crate) ready: Option<Ready>,
    /// Ad-hoc: how long the --ready check may take (default 60s), e.g. "10s"
    #[arg(long, value_name = "DUR", value_parser = HumanDuration::parse, requires = "ready")]
    pub(crate) ready_timeout: Option<HumanDuration>,
    /// Ad-hoc: the working folder (default: where orch is run)
    #[arg(long, value_name = "DIR")]
    pub(crate) cwd: Option<PathBuf>,
    /// Ad-hoc: a variable over the project's environment (repeatable)
    #[arg(short = 'e', long = "env", value_name = "KEY=VALUE", value_parser = parse_env)]
    pub(crate) env: Vec<(String, String)>,
    /// Ad-hoc: no (the default), on-failure or always
    #[arg(long, value_name = "POLICY", value_parser = parse_policy)]
    pub(crate) restart: Option<RestartPolicy>,
    /// Ad-hoc: if NAME already runs another command, stop it and start this one (the same
    /// command again is left running either way)
    #[arg(long)]
    pub(crate) replace: bool,
}

fn parse_env(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, _)) if !is_valid_env_key(key) => {
            Err(format!("`{key}` is not a variable name: letters, digits, `_` and `.`, not starting with a digit"))
        }
        Some((key, value)) => Ok((key.to_owned(), value.to_owned())),
        None => Err(format!("`{text}` is not KEY=VALUE")),
    }
}

fn parse_policy(text: &str) -> Result<RestartPolicy, String> {
    match text {
        "no" => Ok(RestartPolicy::No),
        "on-failure" => Ok(RestartPolicy::OnFailure),
        "always" => Ok(RestartPolicy::Always),
        _ => Err(format!("`{text}` is not a restart policy: no, on-failure or always")),
    }
}

pub(super) fn run(global: &Global, args: StartArgs) -> Result<Exit, ClientError> {
    let adhoc_only =
        args.ready.is_some() || args.cwd.is_some() || !args.env.is_empty() || args.restart.is_some() || args.replace;
    // (--ready-timeout needs --ready, so it is covered.)
    if args.command.is_empty() && adhoc_only {
        return Err(ClientError::Usage(
            "--ready, --ready-timeout, --cwd, -e, --restart and --replace are for an ad-hoc service: orch start NAME [OPTIONS] -- CMD…".into(),
        ));
    }
    let mut progress = Progress::new(&args.services, Expect::Up);
    if args.command.is_empty() {
        let session = Session::open(&global.place())?;
        let up = ops::Up { services: args.services.clone(), ..ops::Up::default() };
        let ending = ops::up(&session, &up, Wait::default(), &mut |n| progress.notice(n))?;
        return conclude(ending, &mut progress);
    }
    let [name] = args.services.as_slice() else {
        return Err(ClientError::Usage("an ad-hoc service takes one name: orch start NAME -- CMD…".into()));
    };
    let session = Session::open_any(&global.place())?;
    let cmd = match args.command.as_slice() {
        [script] => CommandLine::Shell(script.clone()),
        argv => CommandLine::Argv(argv.to_vec()),
    };
    let here =
        std::env::current_dir().map_err(|e| ClientError::Failed(format!("cannot read the current folder: {e}")))?;
    let start = AdhocStart {
        name: name.clone(),
        cmd,
        cwd: args.cwd,
        env: args.env,
        ready: args.ready,
        ready_timeout: args.ready_timeout,
        restart: args.restart,
        replace: args.replace,
    };
    let ending = ops::start_adhoc(&session, start, &here, Wait::default(), &mut |n| progress.notice(n))?;
    conclude(ending, &mut progress)
}
