//! The one client library every front end (the command line, the MCP server, the TUI and the
//! web dashboard) stands on: finding the project and its supervisor ([`session`]), starting one
//! when needed ([`launch`]), the typed operations ([`ops`]), following a request to its outcome
//! ([`follow`]), a subscription to what happens ([`subscribe`]), the actions of a button or a
//! key ([`action`]), where services listen ([`ports`]), and errors that know their exit code
//! ([`error`]). It prints nothing: it returns data, and tells progress to the caller's `on` as
//! [`Notice`]s; how it looks is the front end's.

pub(crate) mod action;
pub(crate) mod error;
pub(crate) mod follow;
mod launch;
pub(crate) mod names;
pub(crate) mod ops;
pub(crate) mod ports;
pub(crate) mod session;
pub(crate) mod subscribe;

pub(crate) use error::ClientError;
pub(crate) use session::{Place, Session};

use crate::ipc::Event;

/// What a front end is told while an operation is under way.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Notice<'a> {
    /// Something the user should know, said once (`$XDG_RUNTIME_DIR is too long …`).
    Note(&'a str),
    /// Every service a request takes in, with the dependencies or dependents it pulled in.
    Targets(&'a [String]),
    /// A service changed phase while the request waits on it.
    Event(&'a Event),
}

/// For a front end that shows no progress.
pub(crate) fn quiet(_: Notice) {}
