//! orch's exit codes, in one place: 0 success; 1 a service failed (start, readiness, stop) or
//! the supervisor could not be reached; 2 bad usage (an unknown service) or a bad manifest;
//! 130 when Ctrl-C stopped a wait (the services carry on).

use std::process::ExitCode;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Exit {
    Success = 0,
    ServiceFailed = 1,
    Usage = 2,
    Interrupted = 130,
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit as u8)
    }
}
