//! The restart policy as pure functions: what follows an exit or a failed start (a restart
//! after a backoff, `fatal` after the limit, `failed`, `completed`), over the phases and the
//! table of allowed transitions in [`crate::model::Phase`]. The lifecycle machine
//! (`supervisor::machine::step`) asks it after every exit and failed start; the supervisor only
//! carries out what the machine decided.

use std::time::Duration;

use crate::manifest::RestartPolicy;
use crate::model::{Phase, ProcessExit};

/// Restarts wait 100 ms, doubling up to 30 s.
pub(crate) fn backoff_delay(attempt: u32) -> Duration {
    let ms = 100u64.saturating_mul(1u64 << attempt.saturating_sub(1).min(20));
    Duration::from_millis(ms.min(30_000))
}

/// Uptime after which a crash no longer counts as "in a row".
pub(crate) const STABLE_UPTIME: Duration = Duration::from_mins(1);

/// What the restart policy says about a service whose start failed or whose process ended
/// without being asked to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Verdict {
    pub(crate) phase: Phase,
    /// The restarts in a row, counting the one this verdict schedules.
    pub(crate) restarts: u32,
    /// For `backoff`: how long to wait before the next start.
    pub(crate) delay: Option<Duration>,
    pub(crate) reason: Option<String>,
}

/// The policy facts of one service.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Policy {
    pub(crate) oneshot: bool,
    pub(crate) restart: RestartPolicy,
    pub(crate) max_restarts: u32,
}

/// Decides what follows an exit (`failure` = None) or a failed start (`failure` = its reason,
/// e.g. a readiness timeout).
pub(crate) fn after_exit(
    policy: Policy,
    restarts: u32,
    uptime: Duration,
    exit: Option<ProcessExit>,
    failure: Option<String>,
) -> Verdict {
    let restarts = if uptime >= STABLE_UPTIME { 0 } else { restarts };
    let succeeded = failure.is_none() && exit.is_some_and(ProcessExit::success);
    let what = failure.unwrap_or_else(|| exit.map_or_else(|| "ended".to_owned(), |e| e.to_string()));
    let wants_restart = match policy.restart {
        RestartPolicy::No => false,
        RestartPolicy::OnFailure => !succeeded,
        RestartPolicy::Always => true,
    };
    if succeeded && (policy.oneshot || !wants_restart) {
        let phase = if policy.oneshot { Phase::Completed } else { Phase::Stopped };
        let reason = (!policy.oneshot).then(|| what.clone());
        return Verdict { phase, restarts: 0, delay: None, reason };
    }
    if !wants_restart {
        return Verdict { phase: Phase::Failed, restarts, delay: None, reason: Some(what) };
    }
    if restarts >= policy.max_restarts {
        let reason = format!("{what} after {restarts} restart{}", if restarts == 1 { "" } else { "s" });
        return Verdict { phase: Phase::Fatal, restarts, delay: None, reason: Some(reason) };
    }
    let attempt = restarts + 1;
    Verdict { phase: Phase::Backoff, restarts: attempt, delay: Some(backoff_delay(attempt)), reason: Some(what) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Phase::{Backoff, Completed, Failed, Fatal, Stopped};

    const SHORT: Duration = Duration::from_millis(10);

    fn policy(restart: RestartPolicy, oneshot: bool) -> Policy {
        Policy { oneshot, restart, max_restarts: 3 }
    }

    #[test]
    fn backoff_doubles_from_100ms_to_30s() {
        let delays: Vec<u128> = (1..=12).map(|a| backoff_delay(a).as_millis()).collect();
        assert_eq!(delays[..5], [100, 200, 400, 800, 1600]);
        assert_eq!(delays[11], 30_000);
    }

    #[test]
    fn on_failure_restarts_then_goes_fatal() {
        let p = policy(RestartPolicy::OnFailure, false);
        let mut restarts = 0;
        for attempt in 1..=3 {
            let v = after_exit(p, restarts, SHORT, Some(ProcessExit::Code(1)), None);
            assert_eq!((v.phase, v.restarts), (Backoff, attempt));
            restarts = v.restarts;
        }
        let v = after_exit(p, restarts, SHORT, Some(ProcessExit::Code(1)), None);
        assert_eq!(v.phase, Fatal);
        assert_eq!(v.reason.as_deref(), Some("exited with 1 after 3 restarts"));
        let one = Policy { max_restarts: 1, ..p };
        let v = after_exit(one, 1, SHORT, Some(ProcessExit::Code(1)), None);
        assert_eq!(v.reason.as_deref(), Some("exited with 1 after 1 restart"));
    }

    #[test]
    fn a_long_uptime_resets_the_count() {
        let v = after_exit(policy(RestartPolicy::OnFailure, false), 3, STABLE_UPTIME, Some(ProcessExit::Code(1)), None);
        assert_eq!((v.phase, v.restarts), (Backoff, 1));
    }

    #[test]
    fn clean_exits() {
        let v = after_exit(policy(RestartPolicy::OnFailure, false), 0, SHORT, Some(ProcessExit::Code(0)), None);
        assert_eq!(v.phase, Stopped);
        let v = after_exit(policy(RestartPolicy::No, true), 0, SHORT, Some(ProcessExit::Code(0)), None);
        assert_eq!(v.phase, Completed);
        let v = after_exit(policy(RestartPolicy::Always, false), 0, SHORT, Some(ProcessExit::Code(0)), None);
        assert_eq!(v.phase, Backoff);
        let v = after_exit(policy(RestartPolicy::Always, true), 0, SHORT, Some(ProcessExit::Code(0)), None);
        assert_eq!(v.phase, Completed, "a oneshot that succeeded is done, whatever the policy");
    }

    #[test]
    fn no_policy_fails_with_the_reason() {
        let v = after_exit(policy(RestartPolicy::No, false), 0, SHORT, Some(ProcessExit::Signal(9)), None);
        assert_eq!((v.phase, v.reason.as_deref()), (Failed, Some("killed by SIGKILL")));
        let timeout = Some("ready check tcp 127.0.0.1:1 did not pass within 1s".to_owned());
        let v = after_exit(policy(RestartPolicy::No, false), 0, SHORT, None, timeout.clone());
        assert_eq!((v.phase, v.reason), (Failed, timeout));
    }
}
