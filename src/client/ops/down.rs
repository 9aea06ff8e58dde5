//! `down` and `stop`: stop the services and their dependents (all, ad-hoc ones included, when
//! none are named), dependents first. After a supervisor died, a new one is started to adopt
//! what still runs and stop it: "nothing is running" is said only when nothing of the project
//! is. After a full `down` the supervisor exits, and this waits for that: the socket's end.

use std::time::Duration;

use crate::client::error::lost;
use crate::client::follow::{Ending, Expect, Wait, follow, unexpected};
use crate::client::{ClientError, Notice, Session, names};
use crate::ipc::Request;
use crate::ipc::client::{Connection, is_timeout};

/// How long `down` waits for the supervisor to exit once it said it would.
const EXIT_WAIT: Duration = Duration::from_secs(3);

/// How a `down` went.
#[derive(Debug)]
pub(crate) enum Down {
    /// No supervisor runs, and nothing of the project does.
    NotRunning,
    /// The supervisor stopped them; with a full `down`, it has exited too.
    Followed(Ending),
}

pub(crate) fn down(
    session: &Session,
    services: &[String],
    wait: Wait,
    on: &mut dyn FnMut(Notice),
) -> Result<Down, ClientError> {
    names::check_known(session, services, &[])?;
    let Some(mut conn) = session.connect_or_adopt(true, on)? else { return Ok(Down::NotRunning) };
    conn.send(Request::Down { services: services.to_vec() }).map_err(lost)?;
    let ending = follow(&mut conn, Expect::Stopped, wait, on)?;
    if let Ending::Done(report) = &ending
        && report.exiting
    {
        wait_for_exit(&mut conn)?;
    }
    Ok(Down::Followed(ending))
}

/// The supervisor said it exits: the socket ends when it has (it releases its lock before), so
/// nothing of the project runs once `down` returns.
fn wait_for_exit(conn: &mut Connection) -> Result<(), ClientError> {
    conn.set_timeout(Some(EXIT_WAIT)).map_err(lost)?;
    match conn.next_reply() {
        Ok(Some(reply)) => Err(unexpected(&reply)),
        Err(e) if is_timeout(&e) => Err(ClientError::Failed(format!(
            "the supervisor said it exits, but it is still there after {}s; `orch ps` shows what it still runs",
            EXIT_WAIT.as_secs()
        ))),
        // The socket's end, or a reset: either way the supervisor is gone.
        Ok(None) | Err(_) => Ok(()),
    }
}
