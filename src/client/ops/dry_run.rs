//! `up --dry-run`: what `up` would start, stop and restart, and why; nothing changes. From the
//! supervisor when one runs, else against what state.json recorded.

use super::Up;
use crate::client::session::request;
use crate::client::{ClientError, Session, names};
use crate::ipc::Reply;
use crate::plan::{self, Force, Observed, Plan};
use crate::state::State;

pub(crate) fn dry_run(session: &Session, up: &Up) -> Result<Plan, ClientError> {
    names::check_manifest_names(session, &up.services)?;
    let Some(mut conn) = session.connect()? else { return offline_plan(session) };
    match request(&mut conn, up.request(session, true))?.into_iter().next() {
        Some(Reply::Plan(plan)) => Ok(plan),
        Some(Reply::Error(refusal)) => Err(ClientError::Refused(refusal)),
        _ => Err(ClientError::Failed("the supervisor sent no plan".into())),
    }
}

/// The plan against state.json: a recorded service counts as running only if its process
/// still does (it would be adopted).
fn offline_plan(session: &Session) -> Result<Plan, ClientError> {
    let Some(loaded) = &session.loaded else { return Ok(Plan::default()) };
    let state =
        State::load(&session.paths.state()).map_err(|e| ClientError::Failed(e.to_string()))?.unwrap_or_default();
    let observed = state
        .services
        .into_iter()
        .filter(|(_, r)| r.adhoc.is_none())
        .map(|(name, r)| {
            let up = r.process.as_ref().is_some_and(crate::sys::linux::is_alive);
            (name, Observed { config: r.config, up })
        })
        .collect();
    Ok(plan::plan(&loaded.spec.services, &loaded.graph, &observed, &Force::Nothing))
}
