//! `scale`: how many replicas services run, while the project is up.

use indexmap::IndexMap;

use super::super::error::lost;
use super::super::follow::{Ending, Expect, Wait, follow};
use super::super::{ClientError, Notice, Session};
use crate::ipc::Request;
use crate::model::names::MAX_SCALE;

/// Runs this many replicas of each service (0 stops them all): what is new starts, with what
/// it depends on; what is left over stops. Followed until all of it settled.
pub(crate) fn scale(
    session: &Session,
    scale: &IndexMap<String, u32>,
    wait: Wait,
    on: &mut dyn FnMut(Notice),
) -> Result<Ending, ClientError> {
    if scale.is_empty() {
        return Err(ClientError::Usage("name a service and its replicas: orch scale web=3".into()));
    }
    let mut conn = session.connect_or_launch(on)?;
    conn.send(Request::Scale { origin: session.origin(), scale: scale.clone() }).map_err(lost)?;
    follow(&mut conn, Expect::Up, wait, on)
}

/// `web=3` as a service and its number of replicas.
pub(crate) fn parse_count(text: &str) -> Result<(String, u32), String> {
    let bad = || format!("`{text}` is not NAME=N (e.g. web=3)");
    let (name, count) = text.split_once('=').ok_or_else(bad)?;
    let (name, count) = (name.trim(), count.trim());
    if !crate::model::names::is_valid_name(name) {
        return Err(format!("`{name}` is not a service name; write NAME=N (e.g. web=3)"));
    }
    let count: u32 = count.parse().map_err(|_| bad())?;
    if count > MAX_SCALE {
        return Err(format!("{name}={count}: at most {MAX_SCALE} replicas"));
    }
    Ok((name.to_owned(), count))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts() {
        assert_eq!(parse_count("web=3"), Ok(("web".into(), 3)));
        assert_eq!(parse_count("web=0"), Ok(("web".into(), 0)));
        for bad in ["web", "web=", "=3", "web=-1", "web=x", "web.1=2", "web=1001"] {
            assert!(parse_count(bad).is_err(), "{bad}");
        }
    }
}
