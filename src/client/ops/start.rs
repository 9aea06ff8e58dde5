//! `start`: an ad-hoc service the manifest does not know, kept until `stop` or `down`. (The
//! manifest's services are started with [`super::up`].)

use std::path::{Path, PathBuf};

use crate::client::error::lost;
use crate::client::follow::{Ending, Expect, Wait, follow};
use crate::client::{ClientError, Notice, Session};
use crate::ipc::Request;
use crate::manifest::{Adhoc, CommandLine, HumanDuration, Ready, RestartPolicy};

/// An ad-hoc service as a front end was given it.
#[derive(Clone, Debug)]
pub(crate) struct AdhocStart {
    pub(crate) name: String,
    pub(crate) cmd: CommandLine,
    /// Its working folder, relative to the front end's base folder; the base itself when None.
    pub(crate) cwd: Option<PathBuf>,
    pub(crate) env: Vec<(String, String)>,
    pub(crate) ready: Option<Ready>,
    pub(crate) ready_timeout: Option<HumanDuration>,
    pub(crate) restart: Option<RestartPolicy>,
    /// Stop a service of that name that runs something else, and start this one.
    pub(crate) replace: bool,
}

/// Starts it and follows it until it is up. `base`: what a relative `cwd` is relative to
/// (where the user stands, for the CLI; the project root, for an agent).
pub(crate) fn start_adhoc(
    session: &Session,
    start: AdhocStart,
    base: &Path,
    wait: Wait,
    on: &mut dyn FnMut(Notice),
) -> Result<Ending, ClientError> {
    if is_empty(&start.cmd) {
        return Err(ClientError::Usage("the command is empty; give the command line that runs the service".into()));
    }
    let cwd = start.cwd.as_ref().map_or_else(|| base.to_path_buf(), |dir| base.join(dir));
    if !cwd.is_dir() {
        return Err(ClientError::Usage(format!("the working folder {} is not a folder", cwd.display())));
    }
    let adhoc = Adhoc {
        name: start.name,
        cmd: start.cmd,
        cwd,
        env: start.env,
        ready: start.ready,
        ready_timeout: start.ready_timeout,
        restart: start.restart,
    };
    let mut conn = session.connect_or_launch(on)?;
    conn.send(Request::StartAdhoc { origin: session.origin(), adhoc, replace: start.replace }).map_err(lost)?;
    follow(&mut conn, Expect::Up, wait, on)
}

/// A command with nothing to run: a blank script, or no program.
fn is_empty(cmd: &CommandLine) -> bool {
    match cmd {
        CommandLine::Shell(script) => script.trim().is_empty(),
        CommandLine::Argv(argv) => argv.first().is_none_or(|program| program.trim().is_empty()),
    }
}
