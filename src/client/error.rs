//! Why a client operation failed, for every front end: each kind knows its exit code (see
//! [`crate::exit`]); the words are the error's own, the rendering (colour, a manifest's carets)
//! the front end's.

use std::io;

use crate::exit::Exit;
use crate::ipc::Refusal;
use crate::manifest::Problems;
use crate::project::DiscoverError;

#[derive(Debug, thiserror::Error)]
pub(crate) enum ClientError {
    #[error(transparent)]
    Discover(#[from] DiscoverError),
    #[error("the manifest is invalid")]
    Manifest(Problems),
    /// Bad usage: a wrong combination of arguments, a value that is none.
    #[error("{0}")]
    Usage(String),
    /// Something did not work: a service, the supervisor, the system.
    #[error("{0}")]
    Failed(String),
    /// The connection to the supervisor broke mid-request.
    #[error("lost the supervisor: {0}")]
    Lost(io::Error),
    /// The supervisor refused the request, or the client did before asking it (an unknown
    /// service); its kind decides the exit code.
    #[error(transparent)]
    Refused(Refusal),
}

impl ClientError {
    pub(crate) fn exit(&self) -> Exit {
        match self {
            ClientError::Discover(_)
            | ClientError::Manifest(_)
            | ClientError::Usage(_)
            | ClientError::Refused(
                Refusal::UnknownService { .. }
                | Refusal::BadManifest { .. }
                | Refusal::Invalid { .. }
                | Refusal::Conflict { .. },
            ) => Exit::Usage,
            ClientError::Failed(_) | ClientError::Lost(_) | ClientError::Refused(Refusal::Internal { .. }) => {
                Exit::ServiceFailed
            }
        }
    }

    /// There is no service of this name; `known` are the names there are.
    pub(crate) fn unknown_service<S: AsRef<str>>(name: &str, known: &[S]) -> Self {
        let known: Vec<&str> = known.iter().map(AsRef::as_ref).collect();
        ClientError::Refused(Refusal::unknown_service(name, &known))
    }
}

/// For `map_err`: the supervisor went away while a request was under way.
pub(crate) fn lost(e: io::Error) -> ClientError {
    ClientError::Lost(e)
}

/// The supervisor's end of the connection is gone: it exited, or was killed.
pub(crate) fn peer_gone(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_is_exit_2_unless_the_supervisor_failed() {
        let exit = |refusal| ClientError::Refused(refusal).exit();
        assert_eq!(exit(Refusal::unknown_service("x", &["web"])), Exit::Usage);
        assert_eq!(exit(Refusal::BadManifest { problems: Vec::new() }), Exit::Usage);
        assert_eq!(exit(Refusal::invalid("no manifest to bring up")), Exit::Usage);
        assert_eq!(exit(Refusal::conflict("`web` is already running; stop it first")), Exit::Usage);
        assert_eq!(exit(Refusal::Internal { message: "it broke".into() }), Exit::ServiceFailed);
        assert_eq!(ClientError::Lost(io::ErrorKind::BrokenPipe.into()).exit(), Exit::ServiceFailed);
    }
}
