//! `orch down [SVC…]`: stop the services and their dependents (all, ad-hoc ones included,
//! when none are named), dependents first; the supervisor exits when nothing is left. After a
//! supervisor died, a new one is started to adopt what still runs and stop it: `down` says
//! "nothing is running" only when nothing of the project is.

use std::time::{Duration, Instant};

use clap::Args;

use super::follow::Follow;
use super::progress::{Expect, Progress};
use super::session::{Session, lost};
use super::{CliError, Global};
use crate::exit::Exit;
use crate::ipc::Request;
use crate::supervisor::lock;

/// How long `down` waits for the supervisor to exit once it said it would.
const EXIT_WAIT: Duration = Duration::from_secs(3);

#[derive(Debug, Args)]
pub(crate) struct DownArgs {
    /// Services to stop (with their dependents); all when none are named
    #[arg(add = clap_complete::ArgValueCandidates::new(super::completions::service_names))]
    pub(crate) services: Vec<String>,
}

pub(super) fn run(global: &Global, args: DownArgs) -> Result<Exit, CliError> {
    let session = Session::open_lenient(global)?;
    stop(&session, args.services)
}

/// Sends a Down for these services (all when empty) and shows it through.
pub(super) fn stop(session: &Session, services: Vec<String>) -> Result<Exit, CliError> {
    let Some(mut conn) = session.connect_or_adopt(true)? else {
        session.check_known(&services)?;
        match services.as_slice() {
            [] => eprintln!("orch: nothing is running here ({})", session.paths.root.display()),
            names => eprintln!("orch: not running: {}", names.join(", ")),
        }
        return Ok(Exit::Success);
    };
    conn.send(Request::Down { services: services.clone() }).map_err(lost)?;
    let follow = Follow { requested: &services, expect: Expect::Stopped, deadline: None, interruptible: false };
    let (exit, exiting) = follow.run_until_done(&mut conn, Progress::new(&services))?;
    // Once the supervisor said it exits, wait for that too: nothing of the project runs once
    // `down` returns.
    if exiting {
        let deadline = Instant::now() + EXIT_WAIT;
        while lock::holder_pid(&session.paths).is_some() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(2));
        }
    }
    Ok(exit)
}
