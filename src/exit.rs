//! orch's exit codes, in one place: 0 success; 1 a service failed (start, readiness, stop);
//! 2 bad usage or a bad manifest.

use std::process::ExitCode;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    Success = 0,
    ServiceFailed = 1,
    Usage = 2,
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit as u8)
    }
}
