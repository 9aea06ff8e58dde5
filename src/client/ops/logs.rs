//! `logs`: which services have logs, and their last lines, read straight from `.orch/logs/`
//! (the files are the record, with or without a supervisor).

use std::time::SystemTime;

use crate::client::{ClientError, Session, names};
use crate::logs::{self, History};
use crate::model::names::RESERVED_NAME as ORCH;

/// The services whose logs can be asked for: the manifest's, and every one with a log file
/// (orch's own lines, `orch`, not among them).
pub(crate) fn services(session: &Session) -> Vec<String> {
    let mut known = session.manifest_names();
    for service in logs::services_in(&session.paths.logs()) {
        if !known.contains(&service) && service != ORCH {
            known.push(service);
        }
    }
    known
}

/// Every name must be a service whose logs can be asked for, or orch itself (its lines can
/// be asked for before there are any). Returns the names with each group (`web`) made its
/// replicas (`web.1`, `web.2`: every one with a log).
pub(crate) fn check(session: &Session, names: &[String]) -> Result<Vec<String>, ClientError> {
    let mut also = services(session);
    also.push(ORCH.to_owned());
    names::check_known(session, names, &also)?;
    Ok(crate::model::names::expand_groups(names, also.iter().map(String::as_str)))
}

/// The last `tail` lines of these services (all when none), from `since` on, merged in time
/// order, and where each file was read to (to follow on from there).
pub(crate) fn history(
    session: &Session,
    services: &[String],
    since: Option<SystemTime>,
    tail: Option<usize>,
) -> Result<History, ClientError> {
    let dir = session.paths.logs();
    logs::read_history(&dir, services, since, tail).map_err(|e| unreadable(&dir, &e))
}

/// [`history`] of only the lines `shown` keeps (a search): the last `tail` of those.
pub(crate) fn history_matching(
    session: &Session,
    services: &[String],
    since: Option<SystemTime>,
    tail: Option<usize>,
    shown: &dyn Fn(&logs::Record) -> bool,
) -> Result<History, ClientError> {
    let dir = session.paths.logs();
    logs::reader::read_history_shown(&dir, services, since, tail, shown).map_err(|e| unreadable(&dir, &e))
}

/// The logs folder could not be read: the one wording for every front end.
pub(crate) fn unreadable(dir: &std::path::Path, error: &std::io::Error) -> ClientError {
    ClientError::Failed(format!("cannot read the logs in {}: {error}", dir.display()))
}
