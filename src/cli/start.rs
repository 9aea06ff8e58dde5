//! `orch start SVC…`: start services of the manifest (and what they need), without the rest.
//! `orch start NAME -- CMD…`: an ad-hoc service the manifest does not know, kept until
//! `stop` or `down` — a server a script or an agent wants for a while.

use clap::Args;

use super::progress::{Expect, Progress};
use super::session::{Session, lost};
use super::up::follow;
use super::{CliError, Global};
use crate::exit::Exit;
use crate::ipc::{Adhoc, Request};
use crate::manifest::Command;

#[derive(Debug, Args)]
pub struct StartArgs {
    /// Services to start; with `-- CMD…`, the name of the ad-hoc service
    #[arg(required = true)]
    pub services: Vec<String>,
    /// The ad-hoc command: one argument runs under `sh -c`, several are exec'd as argv
    #[arg(last = true, value_name = "CMD")]
    pub command: Vec<String>,
}

pub fn run(global: &Global, args: StartArgs) -> Result<Exit, CliError> {
    if args.command.is_empty() {
        let session = Session::open(global)?;
        session.check_names(&args.services)?;
        let mut conn = session.connect_or_launch()?;
        let request = Request::Up {
            origin: session.origin(),
            services: args.services.clone(),
            wait: true,
            force: None,
            watch: true,
            dry_run: false,
        };
        conn.send(request).map_err(lost)?;
        return follow(&mut conn, Progress::new(&args.services), Expect::Up, None);
    }
    let [name] = args.services.as_slice() else {
        return Err(CliError::Usage("an ad-hoc service takes one name: orch start NAME -- CMD…".into()));
    };
    let session = Session::open_any(global)?;
    let cmd = match args.command.as_slice() {
        [script] => Command::Shell(script.clone()),
        argv => Command::Argv(argv.to_vec()),
    };
    let cwd = std::env::current_dir().map_err(|e| CliError::Failed(format!("cannot read the current folder: {e}")))?;
    let adhoc = Adhoc { name: name.clone(), cmd, cwd, env: Vec::new(), ready: None, restart: None };
    let mut conn = session.connect_or_launch()?;
    conn.send(Request::StartAdhoc { origin: session.origin(), adhoc }).map_err(lost)?;
    follow(&mut conn, Progress::new(&args.services), Expect::Up, None)
}
