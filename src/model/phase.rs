//! Where a service is in its lifecycle, and the moves between phases that are allowed:
//!
//! `pending → starting → ready` (or `running` without a readiness check) `→ stopping →
//! stopped`; a oneshot goes `starting → completed` or `failed`. A crash under a restart policy
//! goes `backoff → starting`, and `fatal` after the limit. A service whose dependency failed is
//! `blocked`.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Phase {
    Pending,
    Starting,
    Ready,
    Running,
    Stopping,
    Stopped,
    Completed,
    Failed,
    Backoff,
    Fatal,
    Blocked,
}

use Phase::{Backoff, Blocked, Completed, Failed, Fatal, Pending, Ready, Running, Starting, Stopped, Stopping};

/// Every transition a service may make. The lifecycle machine (`supervisor::machine::step`)
/// enforces it: a move not listed here leaves the service as it was.
const ALLOWED: &[(Phase, &[Phase])] = &[
    (Pending, &[Starting, Blocked, Stopped, Failed, Backoff, Fatal]),
    (Starting, &[Ready, Running, Completed, Failed, Backoff, Fatal, Stopping, Stopped]),
    (Ready, &[Stopping, Failed, Backoff, Fatal, Stopped, Completed]),
    (Running, &[Ready, Stopping, Failed, Backoff, Fatal, Stopped, Completed]),
    (Stopping, &[Stopped, Failed, Backoff, Fatal]),
    (Stopped, &[Pending]),
    (Completed, &[Pending, Stopped]),
    (Failed, &[Pending, Stopped]),
    (Backoff, &[Starting, Stopped, Pending]),
    (Fatal, &[Pending, Stopped]),
    (Blocked, &[Pending, Stopped]),
];

impl Phase {
    /// Every phase, for tests that go through the table.
    pub(crate) const ALL: [Phase; 11] =
        [Pending, Starting, Ready, Running, Stopping, Stopped, Completed, Failed, Backoff, Fatal, Blocked];

    /// The phase of its name, as `as_str` writes it.
    pub(crate) fn parse(text: &str) -> Option<Phase> {
        Self::ALL.into_iter().find(|p| p.as_str() == text)
    }

    pub(crate) fn can_become(self, next: Phase) -> bool {
        self == next || ALLOWED.iter().any(|(from, to)| *from == self && to.contains(&next))
    }

    /// A process of the service may exist.
    pub(crate) fn has_process(self) -> bool {
        matches!(self, Starting | Ready | Running | Stopping)
    }

    /// Not done yet: something will still happen without anyone asking.
    pub(crate) fn is_transient(self) -> bool {
        matches!(self, Pending | Starting | Stopping | Backoff)
    }

    /// A start that did not work out.
    pub(crate) fn is_failure(self) -> bool {
        matches!(self, Failed | Fatal | Blocked)
    }

    /// Spawned: what a dependency on `started` waits for.
    pub(crate) fn is_started(self) -> bool {
        matches!(self, Starting | Ready | Running | Completed)
    }

    /// Ready, or running without a check, or done: what a dependency on `ready` waits for.
    pub(crate) fn is_ready(self) -> bool {
        matches!(self, Ready | Running | Completed)
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Pending => "pending",
            Starting => "starting",
            Ready => "ready",
            Running => "running",
            Stopping => "stopping",
            Stopped => "stopped",
            Completed => "completed",
            Failed => "failed",
            Backoff => "backoff",
            Fatal => "fatal",
            Blocked => "blocked",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transitions_follow_the_table() {
        assert!(Pending.can_become(Starting));
        assert!(Starting.can_become(Ready));
        assert!(Backoff.can_become(Starting));
        assert!(!Stopped.can_become(Ready));
        assert!(!Stopping.can_become(Running));
        assert!(!Completed.can_become(Running));
    }

    #[test]
    fn names_read_back() {
        for phase in Phase::ALL {
            assert_eq!(Phase::parse(phase.as_str()), Some(phase));
            assert_eq!(serde_json::to_value(phase).unwrap(), phase.as_str());
        }
        assert_eq!(Phase::parse("Ready"), None);
    }
}
