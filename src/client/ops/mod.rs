//! The operations every front end offers, typed: each opens nothing itself (it is handed a
//! [`Session`]), prints nothing, and returns data; progress goes to the caller's `on`.

mod down;
mod dry_run;
pub(crate) mod logs;
pub(crate) mod ps;
mod scale;
mod start;
pub(crate) mod wait;

pub(crate) use down::{Down, down};
pub(crate) use dry_run::dry_run;
pub(crate) use ps::ps;
pub(crate) use scale::{parse_count, scale};
pub(crate) use start::{AdhocStart, start_adhoc};

use indexmap::IndexMap;

use super::error::lost;
use super::follow::{Ending, Expect, Wait, follow, unanswered};
use super::{ClientError, Notice, Session, names};
use crate::ipc::Request;

/// What `up` is asked for.
#[derive(Clone, Debug, Default)]
pub(crate) struct Up {
    /// The services (all when none), with what they depend on.
    pub(crate) services: Vec<String>,
    /// Return once the request is accepted.
    pub(crate) no_wait: bool,
    /// Restart the services even if nothing changed.
    pub(crate) force_recreate: bool,
    /// Do not reload when the manifest or an env file changes.
    pub(crate) no_watch: bool,
    /// The profiles to make active.
    pub(crate) profiles: Vec<String>,
    /// Replicas for this up, over the manifest's `scale`.
    pub(crate) scale: IndexMap<String, u32>,
}

impl Up {
    /// The request it is, or with `dry_run`, the request for its plan.
    pub(crate) fn request(&self, session: &Session, dry_run: bool) -> Request {
        Request::Up {
            origin: session.origin(),
            services: self.services.clone(),
            wait: !self.no_wait,
            force: self.force_recreate.then(|| self.services.clone()),
            watch: !self.no_watch,
            dry_run,
            profiles: self.profiles.clone(),
            scale: self.scale.clone(),
        }
    }
}

/// Starts the services and what they depend on, and follows them until they are up (or,
/// with `no_wait`, taken).
pub(crate) fn up(session: &Session, up: &Up, wait: Wait, on: &mut dyn FnMut(Notice)) -> Result<Ending, ClientError> {
    names::check_manifest_names(session, &up.services)?;
    let expect = if up.no_wait { Expect::Accepted } else { Expect::Up };
    // A supervisor that served a `down` first may leave between its hello and this request:
    // the up then goes to the next one (an up sent twice is the same up).
    let mut tries = 3;
    loop {
        let mut conn = session.connect_or_launch(on)?;
        let result =
            conn.send(up.request(session, false)).map_err(lost).and_then(|()| follow(&mut conn, expect, wait, on));
        match result {
            Err(e) if tries > 1 && unanswered(&e) => tries -= 1,
            other => return other,
        }
    }
}

/// Stops the services (all when none) and starts them again, with what they depend on.
pub(crate) fn restart(
    session: &Session,
    services: &[String],
    wait: Wait,
    on: &mut dyn FnMut(Notice),
) -> Result<Ending, ClientError> {
    names::check_known(session, services, &[])?;
    let mut conn = match session.connect()? {
        Some(conn) => conn,
        None if session.loaded.is_none() && services.is_empty() => {
            return Err(ClientError::Usage(format!(
                "nothing to restart: no procs.toml or Procfile in {} and nothing running",
                session.paths.root.display()
            )));
        }
        None => session.connect_or_launch(on)?,
    };
    conn.send(Request::Restart { origin: session.origin(), services: services.to_vec() }).map_err(lost)?;
    follow(&mut conn, Expect::Up, wait, on)
}
