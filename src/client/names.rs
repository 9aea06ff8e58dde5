//! Which services there are, checked before a request is sent: a name that is none is told
//! with every name there is (the manifest's, and those the supervisor or state.json knows:
//! ad-hoc ones, and ones since removed from the manifest that may still run), in the one
//! wording of [`crate::ipc::Refusal::unknown_service`]. The names beyond the manifest's are looked up
//! only when a name is not the manifest's.

use super::ops::ps;
use super::{ClientError, Session};
use crate::model::names::group_of;

/// Every name must be a service of the manifest, one the supervisor (or state.json) knows, or
/// one of `also`.
pub(crate) fn check_known(session: &Session, names: &[String], also: &[String]) -> Result<(), ClientError> {
    let manifest = session.manifest_names();
    let groups = session.manifest_groups();
    let outside = |n: &&String| !manifest.contains(n) && !groups.contains(n) && !also.contains(n);
    if !names.iter().any(|n| outside(&n)) {
        return Ok(());
    }
    let recorded = recorded(session);
    // A group name stands for its replicas, those that run too.
    let is_recorded = |n: &String| recorded.iter().any(|(r, _)| r == n || group_of(r) == Some(n.as_str()));
    match names.iter().filter(outside).find(|n| !is_recorded(n)) {
        Some(name) => Err(unknown(name, &manifest, &recorded, also)),
        None => Ok(()),
    }
}

/// Every name must be a service of the manifest (`up`, `start` without a command); an ad-hoc
/// one is told how it is started.
pub(crate) fn check_manifest_names(session: &Session, names: &[String]) -> Result<(), ClientError> {
    let manifest = session.manifest_names();
    let groups = session.manifest_groups();
    let Some(name) = names.iter().find(|n| !manifest.contains(n) && !groups.contains(n)) else { return Ok(()) };
    let recorded = recorded(session);
    if recorded.iter().any(|(r, adhoc)| r == name && *adhoc) {
        return Err(ClientError::Usage(format!(
            "`{name}` is an ad-hoc service, not one of the manifest's: `restart` starts it again, and `start` with \
             a command starts it anew"
        )));
    }
    Err(unknown(name, &manifest, &recorded, &[]))
}

/// The names the supervisor reports (or, with none running, state.json records), and whether
/// each is an ad-hoc service.
fn recorded(session: &Session) -> Vec<(String, bool)> {
    let rows = ps::status(session, None).map(|listing| listing.rows).unwrap_or_default();
    rows.into_iter().map(|r| (r.name, r.adhoc)).collect()
}

fn unknown(name: &str, manifest: &[String], recorded: &[(String, bool)], also: &[String]) -> ClientError {
    let mut known: Vec<&str> = manifest.iter().map(String::as_str).collect();
    for other in recorded.iter().map(|(r, _)| r).chain(also) {
        if !known.contains(&other.as_str()) {
            known.push(other);
        }
    }
    ClientError::unknown_service(name, &known)
}
