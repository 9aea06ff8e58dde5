//! `wait`: until every service asked about is ready (or stopped, or completed), one of them
//! can no longer get there, or the deadline passes; then each one's row as `ps` has it. It
//! looks again when the supervisor tells of a change of phase (a subscription), not on a
//! timer, so a front end (an agent) need not poll.

use std::time::{Duration, Instant};

use schemars::JsonSchema;
use serde::Deserialize;

use super::ps::status_within;
use crate::client::subscribe::{Next, subscribe};
use crate::client::{ClientError, Session, names};
use crate::ipc::ServiceStatus;
use crate::model::Phase;

/// The longest one look waits for news before it looks again anyway: for what no phase change
/// tells (a supervisor that was started by someone else meanwhile).
const RELOOK: Duration = Duration::from_secs(1);

/// What to wait for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Until {
    // (Plain comments: a doc comment on a variant would make its schema a `oneOf`.)
    // Ready, running (past `min_uptime`) or completed.
    #[default]
    Ready,
    // No process left: stopped, completed or failed.
    Stopped,
    // A oneshot that exited 0.
    Completed,
}

/// Where a service stands against what is waited for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    Met,
    /// It may still get there.
    Pending,
    /// It will not without being asked again (it failed, or nothing wants it up).
    Never,
}

impl Until {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Until::Ready => "ready",
            Until::Stopped => "stopped",
            Until::Completed => "completed",
        }
    }

    pub(crate) fn verdict(self, row: &ServiceStatus) -> Verdict {
        let Some(phase) = Phase::parse(&row.state) else { return Verdict::Pending };
        let ended = matches!(phase, Phase::Stopped | Phase::Failed | Phase::Fatal | Phase::Blocked);
        match self {
            Until::Ready => match phase {
                Phase::Ready | Phase::Completed => Verdict::Met,
                Phase::Running if row.waiting.is_none() => Verdict::Met,
                _ if ended => Verdict::Never,
                _ => Verdict::Pending,
            },
            Until::Stopped if ended || phase == Phase::Completed => Verdict::Met,
            Until::Completed if phase == Phase::Completed => Verdict::Met,
            Until::Completed if ended => Verdict::Never,
            Until::Stopped | Until::Completed => Verdict::Pending,
        }
    }
}

/// How a wait ended: each service's row, and whether all got there.
#[derive(Debug)]
pub(crate) struct Waited {
    pub(crate) rows: Vec<ServiceStatus>,
    pub(crate) met: bool,
    pub(crate) timed_out: bool,
    pub(crate) notes: Vec<String>,
}

/// Waits for these services (all when none) until they are as `until` says, or `deadline`.
pub(crate) fn wait(
    session: &Session,
    services: &[String],
    until: Until,
    deadline: Instant,
) -> Result<Waited, ClientError> {
    names::check_known(session, services, &[])?;
    // Subscribed before the first look, so a change between the look and the wait is told.
    let mut news = subscribe(session, false)?;
    loop {
        // The look itself is bounded too (a supervisor that stopped answering).
        let left = deadline.saturating_duration_since(Instant::now());
        let listing = status_within(session, None, left.max(Duration::from_secs(1)))?;
        let rows = asked_rows(listing.rows, services, session);
        let verdicts: Vec<Verdict> = rows.iter().map(|r| until.verdict(r)).collect();
        let timed_out = Instant::now() >= deadline;
        if timed_out || !verdicts.contains(&Verdict::Pending) {
            let met = verdicts.iter().all(|v| *v == Verdict::Met);
            return Ok(Waited { rows, met, timed_out: timed_out && !met, notes: listing.notes });
        }
        let pause = deadline.saturating_duration_since(Instant::now()).min(RELOOK);
        match news.as_mut().map(|s| s.next(Some(pause))).transpose()? {
            Some(Next::Ended) => news = None,
            Some(_) => {}
            None => std::thread::sleep(pause),
        }
    }
}

/// The rows of the services asked about, in the order asked; one the supervisor has no row
/// for (a service of the manifest never started) as stopped, saying so.
fn asked_rows(rows: Vec<ServiceStatus>, services: &[String], session: &Session) -> Vec<ServiceStatus> {
    let wanted: Vec<String> = if services.is_empty() {
        let mut all: Vec<String> = rows.iter().map(|r| r.name.clone()).collect();
        all.extend(session.manifest_names().into_iter().filter(|n| !rows.iter().any(|r| &r.name == n)));
        all
    } else {
        services.to_vec()
    };
    wanted
        .iter()
        .map(|name| {
            rows.iter().find(|r| &r.name == name).cloned().unwrap_or_else(|| ServiceStatus {
                name: name.clone(),
                state: Phase::Stopped.as_str().to_owned(),
                reason: Some("not started".to_owned()),
                ..ServiceStatus::default()
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(state: &str, waiting: Option<&str>) -> ServiceStatus {
        ServiceStatus { state: state.into(), waiting: waiting.map(Into::into), ..ServiceStatus::default() }
    }

    #[test]
    fn each_state_is_met_pending_or_never_for_each_wait() {
        use Verdict::{Met, Never, Pending};
        let cases = [
            ("ready", None, [Met, Pending, Pending]),
            ("running", None, [Met, Pending, Pending]),
            ("running", Some("it to stay up 1s (min_uptime)"), [Pending, Pending, Pending]),
            ("starting", Some("tcp 127.0.0.1:1: connection refused"), [Pending, Pending, Pending]),
            ("pending", Some("db to be ready"), [Pending, Pending, Pending]),
            ("backoff", None, [Pending, Pending, Pending]),
            ("stopping", None, [Pending, Pending, Pending]),
            ("completed", None, [Met, Met, Met]),
            ("stopped", None, [Never, Met, Never]),
            ("failed", None, [Never, Met, Never]),
            ("fatal", None, [Never, Met, Never]),
            ("blocked", None, [Never, Met, Never]),
        ];
        for (state, waiting, expected) in cases {
            let got = [Until::Ready, Until::Stopped, Until::Completed].map(|u| u.verdict(&row(state, waiting)));
            assert_eq!(got, expected, "{state} {waiting:?}");
        }
    }
}
