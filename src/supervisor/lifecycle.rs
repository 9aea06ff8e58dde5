//! The service lifecycle as pure functions over an explicit table of allowed transitions:
//!
//! `pending → starting → ready` (or `running` without a readiness check) `→ stopping →
//! stopped`; a oneshot goes `starting → completed` or `failed`. A crash under a restart policy
//! goes `backoff → starting`, and `fatal` after the limit. A service whose dependency failed is
//! `blocked`. The supervisor executes these decisions; it never invents one.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::manifest::{Condition, RestartPolicy};
use crate::supervisor::process::Exit;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
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

use Phase::*;

/// Every transition the supervisor may make; anything else is a bug.
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
    const ALL: [Phase; 11] =
        [Pending, Starting, Ready, Running, Stopping, Stopped, Completed, Failed, Backoff, Fatal, Blocked];

    /// The phase of its name, as `as_str` writes it.
    pub fn parse(text: &str) -> Option<Phase> {
        Self::ALL.into_iter().find(|p| p.as_str() == text)
    }

    pub fn can_become(self, next: Phase) -> bool {
        self == next || ALLOWED.iter().any(|(from, to)| *from == self && to.contains(&next))
    }

    /// A process of the service may exist.
    pub fn has_process(self) -> bool {
        matches!(self, Starting | Ready | Running | Stopping)
    }

    /// Not done yet: something will still happen without anyone asking.
    pub fn is_transient(self) -> bool {
        matches!(self, Pending | Starting | Stopping | Backoff)
    }

    /// A start that did not work out.
    pub fn is_failure(self) -> bool {
        matches!(self, Failed | Fatal | Blocked)
    }

    /// The state a dependent waits for, by the condition on its edge.
    pub fn satisfies(self, condition: Condition) -> bool {
        match condition {
            Condition::Started => matches!(self, Starting | Ready | Running | Completed),
            Condition::Ready => matches!(self, Ready | Running | Completed),
            Condition::Completed => self == Completed,
        }
    }

    pub fn as_str(self) -> &'static str {
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

/// Restarts wait 100 ms, doubling up to 30 s.
pub fn backoff_delay(attempt: u32) -> Duration {
    let ms = 100u64.saturating_mul(1u64 << attempt.saturating_sub(1).min(20));
    Duration::from_millis(ms.min(30_000))
}

/// Uptime after which a crash no longer counts as "in a row".
pub const STABLE_UPTIME: Duration = Duration::from_secs(60);

/// What the restart policy says about a service whose start failed or whose process ended
/// without being asked to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Verdict {
    pub phase: Phase,
    /// The restarts in a row, counting the one this verdict schedules.
    pub restarts: u32,
    /// For `backoff`: how long to wait before the next start.
    pub delay: Option<Duration>,
    pub reason: Option<String>,
}

/// The policy facts of one service.
#[derive(Clone, Copy, Debug)]
pub struct Policy {
    pub oneshot: bool,
    pub restart: RestartPolicy,
    pub max_restarts: u32,
}

/// Decides what follows an exit (`failure` = None) or a failed start (`failure` = its reason,
/// e.g. a readiness timeout).
pub fn after_exit(
    policy: Policy,
    restarts: u32,
    uptime: Duration,
    exit: Option<Exit>,
    failure: Option<String>,
) -> Verdict {
    let restarts = if uptime >= STABLE_UPTIME { 0 } else { restarts };
    let succeeded = failure.is_none() && exit.is_some_and(Exit::success);
    let what = failure.unwrap_or_else(|| exit.map_or_else(|| "ended".to_owned(), |e| e.to_string()));
    let wants_restart = match policy.restart {
        RestartPolicy::No => false,
        RestartPolicy::OnFailure => !succeeded,
        RestartPolicy::Always => true,
    };
    if succeeded && (policy.oneshot || !wants_restart) {
        let phase = if policy.oneshot { Completed } else { Stopped };
        let reason = (!policy.oneshot).then(|| what.clone());
        return Verdict { phase, restarts: 0, delay: None, reason };
    }
    if !wants_restart {
        return Verdict { phase: Failed, restarts, delay: None, reason: Some(what) };
    }
    if restarts >= policy.max_restarts {
        let reason = format!("{what} after {restarts} restart{}", if restarts == 1 { "" } else { "s" });
        return Verdict { phase: Fatal, restarts, delay: None, reason: Some(reason) };
    }
    let attempt = restarts + 1;
    Verdict { phase: Backoff, restarts: attempt, delay: Some(backoff_delay(attempt)), reason: Some(what) }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHORT: Duration = Duration::from_millis(10);

    fn policy(restart: RestartPolicy, oneshot: bool) -> Policy {
        Policy { oneshot, restart, max_restarts: 3 }
    }

    #[test]
    fn backoff_doubles_from_100ms_to_30s() {
        let delays: Vec<u64> = (1..=12).map(|a| backoff_delay(a).as_millis() as u64).collect();
        assert_eq!(delays[..5], [100, 200, 400, 800, 1600]);
        assert_eq!(delays[11], 30_000);
    }

    #[test]
    fn on_failure_restarts_then_goes_fatal() {
        let p = policy(RestartPolicy::OnFailure, false);
        let mut restarts = 0;
        for attempt in 1..=3 {
            let v = after_exit(p, restarts, SHORT, Some(Exit::Code(1)), None);
            assert_eq!((v.phase, v.restarts), (Backoff, attempt));
            restarts = v.restarts;
        }
        let v = after_exit(p, restarts, SHORT, Some(Exit::Code(1)), None);
        assert_eq!(v.phase, Fatal);
        assert_eq!(v.reason.as_deref(), Some("exited with 1 after 3 restarts"));
        let one = Policy { max_restarts: 1, ..p };
        let v = after_exit(one, 1, SHORT, Some(Exit::Code(1)), None);
        assert_eq!(v.reason.as_deref(), Some("exited with 1 after 1 restart"));
    }

    #[test]
    fn a_long_uptime_resets_the_count() {
        let v = after_exit(policy(RestartPolicy::OnFailure, false), 3, STABLE_UPTIME, Some(Exit::Code(1)), None);
        assert_eq!((v.phase, v.restarts), (Backoff, 1));
    }

    #[test]
    fn clean_exits() {
        let v = after_exit(policy(RestartPolicy::OnFailure, false), 0, SHORT, Some(Exit::Code(0)), None);
        assert_eq!(v.phase, Stopped);
        let v = after_exit(policy(RestartPolicy::No, true), 0, SHORT, Some(Exit::Code(0)), None);
        assert_eq!(v.phase, Completed);
        let v = after_exit(policy(RestartPolicy::Always, false), 0, SHORT, Some(Exit::Code(0)), None);
        assert_eq!(v.phase, Backoff);
        let v = after_exit(policy(RestartPolicy::Always, true), 0, SHORT, Some(Exit::Code(0)), None);
        assert_eq!(v.phase, Completed, "a oneshot that succeeded is done, whatever the policy");
    }

    #[test]
    fn no_policy_fails_with_the_reason() {
        let v = after_exit(policy(RestartPolicy::No, false), 0, SHORT, Some(Exit::Signal(9)), None);
        assert_eq!((v.phase, v.reason.as_deref()), (Failed, Some("killed by SIGKILL")));
        let timeout = Some("ready check tcp 127.0.0.1:1 did not pass within 1s".to_owned());
        let v = after_exit(policy(RestartPolicy::No, false), 0, SHORT, None, timeout.clone());
        assert_eq!((v.phase, v.reason), (Failed, timeout));
    }

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
    fn conditions() {
        assert!(Starting.satisfies(Condition::Started));
        assert!(!Starting.satisfies(Condition::Ready));
        assert!(Running.satisfies(Condition::Ready));
        assert!(Completed.satisfies(Condition::Completed));
        assert!(!Ready.satisfies(Condition::Completed));
    }
}
