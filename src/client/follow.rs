//! Following a request through: its replies (targets, events, the outcome) are handed to the
//! front end as [`Notice`]s until the supervisor says it is done, the deadline passes, or the
//! front end's interrupt flag is raised. The success test of a request lives here, once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use indexmap::IndexMap;

use super::error::lost;
use super::{ClientError, Notice};
use crate::ipc::client::{Connection, is_timeout};
use crate::ipc::{Event, Outcome, Reply};
use crate::model::Phase;

/// How often a wait that can be interrupted looks at its flag.
const TICK: Duration = Duration::from_millis(100);

/// What a request's outcome is measured against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Expect {
    /// Every service ready, running or completed.
    Up,
    /// Every service taken (`--no-wait`): anything but a failure.
    Accepted,
    /// Every service stopped.
    Stopped,
}

impl Expect {
    pub(crate) fn met_by(self, outcome: &Outcome) -> bool {
        match self {
            Expect::Up => outcome.succeeded(),
            Expect::Accepted => outcome.removed || !outcome.phase.is_failure(),
            Expect::Stopped => outcome.phase == Phase::Stopped,
        }
    }
}

/// How long to wait, and what may stop the wait early.
#[derive(Clone, Copy, Default)]
pub(crate) struct Wait<'a> {
    pub(crate) deadline: Option<Instant>,
    /// Set (by a signal handler, say) to stop waiting; the request goes on without the client.
    pub(crate) interrupted: Option<&'a AtomicBool>,
}

impl Wait<'_> {
    /// How long one read may block: until the deadline, and no longer than a tick while an
    /// interrupt flag is to be looked at (a signal does not end a read); for ever otherwise.
    fn read_timeout(&self) -> Option<Duration> {
        let left = self.deadline.map(|d| d.saturating_duration_since(Instant::now()).max(Duration::from_millis(1)));
        match (left, self.interrupted) {
            (Some(left), Some(_)) => Some(left.min(TICK)),
            (None, Some(_)) => Some(TICK),
            (left, None) => left,
        }
    }
}

/// The outcome of every service a request waited on, and what it was measured against.
#[derive(Clone, Debug)]
pub(crate) struct Report {
    pub(crate) outcomes: Vec<Outcome>,
    pub(crate) expect: Expect,
    /// The supervisor exits now (a full `down`).
    pub(crate) exiting: bool,
}

impl Report {
    /// Whether every service ended as expected.
    pub(crate) fn ok(&self) -> bool {
        self.outcomes.iter().all(|o| self.expect.met_by(o))
    }

    pub(crate) fn met(&self, outcome: &Outcome) -> bool {
        self.expect.met_by(outcome)
    }
}

/// How following a request ended.
#[derive(Debug)]
pub(crate) enum Ending {
    Done(Report),
    /// The deadline passed; the services that had not settled, with their last event.
    TimedOut {
        waiting: Vec<Event>,
    },
    /// The interrupt flag was raised; likewise.
    Interrupted {
        waiting: Vec<Event>,
    },
}

/// Reads a request's replies until it is done, handing each to `on`.
pub(crate) fn follow(
    conn: &mut Connection,
    expect: Expect,
    wait: Wait,
    on: &mut dyn FnMut(Notice),
) -> Result<Ending, ClientError> {
    let mut last: IndexMap<String, Event> = IndexMap::new();
    let mut replied = false;
    loop {
        if wait.interrupted.is_some_and(|flag| flag.load(Ordering::SeqCst)) {
            return Ok(Ending::Interrupted { waiting: unsettled(&last) });
        }
        if wait.deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok(Ending::TimedOut { waiting: unsettled(&last) });
        }
        conn.set_timeout(wait.read_timeout()).map_err(lost)?;
        let reply = match conn.next_reply() {
            Ok(Some(reply)) => reply,
            // Before any reply, the request may not have been read at all (see `unanswered`).
            Ok(None) if !replied => return Err(lost(std::io::ErrorKind::ConnectionAborted.into())),
            Ok(None) => return Err(ClientError::Failed("the supervisor closed the connection early".into())),
            Err(e) if is_timeout(&e) => continue,
            Err(e) => return Err(lost(e)),
        };
        replied = true;
        match reply {
            Reply::Targets { services } => on(Notice::Targets(&services)),
            Reply::Event(event) => {
                on(Notice::Event(&event));
                last.insert(event.service.clone(), event);
            }
            Reply::Done { outcomes, exiting } => return Ok(Ending::Done(Report { outcomes, expect, exiting })),
            Reply::Error(refusal) => return Err(ClientError::Refused(refusal)),
            other => return Err(unexpected(&other)),
        }
    }
}

/// The services whose last event says they have not settled.
fn unsettled(last: &IndexMap<String, Event>) -> Vec<Event> {
    last.values().filter(|e| e.phase.is_transient() || e.waiting.is_some()).cloned().collect()
}

pub(crate) fn unexpected(reply: &Reply) -> ClientError {
    ClientError::Failed(format!("unexpected reply from the supervisor: {reply:?}"))
}

/// The connection ended before the supervisor answered the request: it was on its way out
/// (a `down` came first) and may never have read it.
pub(crate) fn unanswered(error: &ClientError) -> bool {
    matches!(error, ClientError::Lost(e) if super::error::peer_gone(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_request_is_measured_against_what_it_asked() {
        let met =
            |expect: Expect, phase| Report { outcomes: vec![Outcome::bare("web", phase)], expect, exiting: false }.ok();
        assert!(met(Expect::Up, Phase::Ready) && met(Expect::Up, Phase::Completed) && met(Expect::Up, Phase::Running));
        assert!(!met(Expect::Up, Phase::Starting) && !met(Expect::Up, Phase::Failed));
        assert!(met(Expect::Accepted, Phase::Starting) && !met(Expect::Accepted, Phase::Fatal));
        assert!(met(Expect::Stopped, Phase::Stopped) && !met(Expect::Stopped, Phase::Running));
        assert!(Report { outcomes: Vec::new(), expect: Expect::Up, exiting: false }.ok(), "nothing to do is success");
    }

    #[test]
    fn a_wait_blocks_on_the_socket_unless_a_flag_must_be_looked_at() {
        let flag = AtomicBool::new(false);
        assert_eq!(Wait::default().read_timeout(), None);
        assert_eq!(Wait { deadline: None, interrupted: Some(&flag) }.read_timeout(), Some(TICK));
        let far = Some(Instant::now() + Duration::from_mins(1));
        assert!(Wait { deadline: far, interrupted: None }.read_timeout().is_some_and(|t| t > TICK));
        assert_eq!(Wait { deadline: far, interrupted: Some(&flag) }.read_timeout(), Some(TICK));
        let past = Some(Instant::now().checked_sub(Duration::from_secs(1)).unwrap_or_else(Instant::now));
        assert_eq!(Wait { deadline: past, interrupted: None }.read_timeout(), Some(Duration::from_millis(1)));
    }
}
