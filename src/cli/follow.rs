//! How a followed request ends on the command line: the outcome lines and the exit code, or
//! what a timeout or Ctrl-C left waiting. The following itself is the client's
//! ([`crate::client::follow`]); Ctrl-C only raises its flag here.

use std::sync::atomic::{AtomicBool, Ordering};

use super::progress::Progress;
use crate::client::ClientError;
use crate::client::follow::Ending;
use crate::exit::Exit;

/// Set by the SIGINT handler while a request is followed.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_sigint(_: nix::libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// From now on, Ctrl-C raises the returned flag instead of ending the process: a request that
/// may be left to run on (`up`) stops being waited for.
pub(super) fn catch_sigint() -> &'static AtomicBool {
    use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
    let action = SigAction::new(SigHandler::Handler(on_sigint), SaFlags::SA_RESTART, SigSet::empty());
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    let _ = unsafe { sigaction(Signal::SIGINT, &action) };
    &INTERRUPTED
}

/// Shows how the request ended; exit 1 unless every service met what was expected.
pub(super) fn conclude(ending: Ending, progress: &mut Progress) -> Result<Exit, ClientError> {
    match ending {
        Ending::Done(report) => {
            progress.done(&report);
            Ok(if report.ok() { Exit::Success } else { Exit::ServiceFailed })
        }
        Ending::TimedOut { waiting } => {
            progress.unsettled(&waiting);
            let names: Vec<&str> = waiting.iter().map(|e| e.service.as_str()).collect();
            let names = if names.is_empty() { String::new() } else { format!(" for {}", names.join(", ")) };
            Err(ClientError::Failed(format!(
                "timed out waiting{names}; the services keep starting (`orch ps` shows them, `orch down` stops them)"
            )))
        }
        Ending::Interrupted { waiting } => {
            progress.unsettled(&waiting);
            eprintln!(
                "orch: stopped waiting; the services keep starting in the background (`orch ps` shows them, `orch down` stops them)"
            );
            Ok(Exit::Interrupted)
        }
    }
}
