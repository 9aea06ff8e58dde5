//! Showing a request through: its replies (targets, events, the outcome) go to a [`Progress`]
//! until the supervisor says it is done, the deadline passes, or — for a request that may be
//! left to run on, like `up` — the user presses Ctrl-C.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::CliError;
use super::progress::{Expect, Progress};
use super::session::lost;
use crate::exit::Exit;
use crate::ipc::Reply;
use crate::ipc::client::{Connection, is_timeout};

/// How often a wait looks up from the socket (for Ctrl-C and the deadline).
const TICK: Duration = Duration::from_millis(100);

/// Set by the SIGINT handler while a request is followed.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_sigint(_: nix::libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// One request being followed.
pub(super) struct Follow<'a> {
    pub(crate) requested: &'a [String],
    pub(crate) expect: Expect,
    pub(crate) deadline: Option<Instant>,
    /// Ctrl-C stops waiting and leaves the services to start in the background.
    pub(crate) interruptible: bool,
}

impl Follow<'_> {
    /// Shows the replies until the request is done; exit 1 unless every service met `expect`.
    pub(super) fn run(&self, conn: &mut Connection, progress: Progress) -> Result<Exit, CliError> {
        self.run_until_done(conn, progress).map(|(exit, _)| exit)
    }

    /// As `run`, and whether the supervisor said it exits now.
    pub(super) fn run_until_done(
        &self,
        conn: &mut Connection,
        mut progress: Progress,
    ) -> Result<(Exit, bool), CliError> {
        if self.interruptible {
            catch_sigint();
        }
        conn.set_timeout(Some(TICK)).map_err(lost)?;
        loop {
            if self.interruptible && INTERRUPTED.load(Ordering::SeqCst) {
                progress.unsettled();
                eprintln!(
                    "orch: stopped waiting; the services keep starting in the background (`orch ps` shows them, `orch down` stops them)"
                );
                return Ok((Exit::Interrupted, false));
            }
            if self.deadline.is_some_and(|d| Instant::now() >= d) {
                let waiting = progress.unsettled();
                let names = if waiting.is_empty() { String::new() } else { format!(" for {}", waiting.join(", ")) };
                return Err(CliError::Failed(format!(
                    "timed out waiting{names}; the services keep starting (`orch ps` shows them, `orch down` stops them)"
                )));
            }
            let reply = match conn.next_reply() {
                Ok(Some(reply)) => reply,
                Ok(None) => return Err(CliError::Failed("the supervisor closed the connection early".into())),
                Err(e) if is_timeout(&e) => continue,
                Err(e) => return Err(lost(e)),
            };
            match reply {
                Reply::Targets { services } => progress.targets(self.requested, &services, self.expect),
                Reply::Event(event) => progress.event(&event),
                Reply::Done { outcomes, exiting } => {
                    let ok = progress.done(&outcomes, self.expect);
                    return Ok((if ok { Exit::Success } else { Exit::ServiceFailed }, exiting));
                }
                Reply::Error(refusal) => return Err(CliError::Refused(refusal)),
                other => {
                    return Err(CliError::Failed(format!("unexpected reply from the supervisor: {other:?}")));
                }
            }
        }
    }
}

/// From now on, Ctrl-C sets INTERRUPTED instead of ending the process.
fn catch_sigint() {
    use nix::sys::signal::{SaFlags, SigAction, SigHandler, SigSet, Signal, sigaction};
    let action = SigAction::new(SigHandler::Handler(on_sigint), SaFlags::SA_RESTART, SigSet::empty());
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    let _ = unsafe { sigaction(Signal::SIGINT, &action) };
}
