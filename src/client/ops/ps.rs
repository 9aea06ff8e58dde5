//! `ps`: the services' rows, from the supervisor (one is started to adopt what a dead
//! supervisor left running, when asked), or, when nothing runs, from what `.orch/state.json`
//! last recorded.

use crate::client::error::lost;
use std::time::Duration;

use crate::client::session::{ANSWER_WAIT, request_within};
use crate::client::{ClientError, Notice, Session, names};
use crate::ipc::{Reply, Request, ServiceStatus};
use crate::model::Phase;
use crate::state::{ServiceRecord, State};

/// The rows, and what the user should know first.
#[derive(Debug, Default)]
pub(crate) struct Listing {
    pub(crate) rows: Vec<ServiceStatus>,
    pub(crate) notes: Vec<String>,
}

/// The rows of these services (all when none); a name that is no service is refused.
pub(crate) fn ps(session: &Session, services: &[String], on: &mut dyn FnMut(Notice)) -> Result<Listing, ClientError> {
    ps_within(session, services, on, ANSWER_WAIT)
}

/// [`ps`], waiting at most `wait` for the supervisor's answer.
pub(crate) fn ps_within(
    session: &Session,
    services: &[String],
    on: &mut dyn FnMut(Notice),
    wait: Duration,
) -> Result<Listing, ClientError> {
    names::check_known(session, services, &[])?;
    let mut listing = status_within(session, Some(on), wait)?;
    // A group's name (`web`) shows its replicas.
    let shown = crate::model::names::expand_groups(services, listing.rows.iter().map(|r| r.name.as_str()));
    listing.rows.retain(|r| services.is_empty() || shown.contains(&r.name));
    Ok(listing)
}

/// Every row. With `launch`, a supervisor is started when state.json records processes that
/// still run (it adopts them); without, what runs is only asked of one that is there.
pub(crate) fn status(session: &Session, launch: Option<&mut dyn FnMut(Notice)>) -> Result<Listing, ClientError> {
    status_within(session, launch, ANSWER_WAIT)
}

/// [`status`], waiting at most `wait` for the supervisor's answer.
pub(crate) fn status_within(
    session: &Session,
    launch: Option<&mut dyn FnMut(Notice)>,
    wait: Duration,
) -> Result<Listing, ClientError> {
    let connection = match launch {
        Some(on) => session.connect_or_adopt(false, on)?,
        None => session.connect()?,
    };
    if let Some(mut conn) = connection {
        return match request_within(&mut conn, Request::Ps { services: Vec::new() }, wait)?.into_iter().next() {
            Some(Reply::Ps { services, notes }) => Ok(Listing { rows: services, notes }),
            Some(Reply::Error(refusal)) => Err(ClientError::Refused(refusal)),
            _ => Err(lost(std::io::Error::other("no answer to ps"))),
        };
    }
    Ok(recorded(session))
}

/// What state.json last recorded, and a note that says it is only that.
fn recorded(session: &Session) -> Listing {
    let note = |text: &str| vec![text.to_owned()];
    match State::load(&session.paths.state()) {
        Err(e) => Listing { rows: Vec::new(), notes: vec![format!("no supervisor is running here, and {e}")] },
        Ok(None) => {
            Listing { rows: Vec::new(), notes: note("no supervisor is running here, and nothing was recorded") }
        }
        Ok(Some(state)) => Listing {
            rows: state.services.iter().map(|(name, record)| from_record(name, record)).collect(),
            notes: note("no supervisor is running here; this is what .orch/state.json last recorded"),
        },
    }
}

/// A recorded service as `ps` shows it with no supervisor. Nothing recorded runs (else a
/// supervisor would have been started to adopt it), so a recorded live state is told as ended.
fn from_record(name: &str, r: &ServiceRecord) -> ServiceStatus {
    let (state, reason) = if r.state.has_process() {
        (Phase::Stopped, Some("ended while no supervisor was running".to_owned()))
    } else {
        (r.state, r.reason.clone())
    };
    ServiceStatus {
        name: name.to_owned(),
        state: state.as_str().to_owned(),
        restarts: r.restarts,
        ready_after_ms: r.ready_after_ms,
        reason,
        last_exit: r.last_exit.map(|e| e.to_string()),
        adhoc: r.adhoc.is_some(),
        port: r.config.as_ref().and_then(crate::manifest::Service::port_shown),
        command: r.adhoc.as_ref().map(|a| a.cmd.to_string()),
        ready_check: r.config.as_ref().and_then(|c| c.ready.as_ref()).map(ToString::to_string),
        url: r.config.as_ref().and_then(crate::manifest::Service::http_url),
        ..ServiceStatus::default()
    }
}
