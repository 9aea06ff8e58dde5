//! The words the machine says about a service: why a start failed, what the policy decided,
//! how long something took.

use std::time::Duration;

use crate::manifest::Service;
use crate::model::{Phase, ProcessExit};
use crate::supervisor::lifecycle::Verdict;

/// Why a process that ended before it was confirmed failed to start.
pub(super) fn early_exit(config: &Service, exit: ProcessExit, uptime: Duration) -> String {
    if config.ready.is_some() {
        return format!("{exit} before its ready check passed");
    }
    let hint = if exit.success() { "; a task that is meant to end wants `oneshot = true`" } else { "" };
    format!("{exit} after {}, before min_uptime ({}){hint}", human_duration(uptime), config.min_uptime)
}

/// `ready check tcp 127.0.0.1:1 did not pass within 1s (last: connection refused)`.
pub(super) fn ready_timeout(config: &Service, saw: Option<&str>) -> String {
    let check = config.ready.as_ref().map(ToString::to_string).unwrap_or_default();
    let last = saw.map(|saw| format!(" (last: {saw})")).unwrap_or_default();
    format!("ready check {check} did not pass within {}{last}", config.ready_timeout)
}

/// Why a stop needed SIGKILL.
pub(super) fn killed(config: &Service) -> String {
    format!("killed with SIGKILL: it did not stop within {} of {}", config.stop_timeout, config.stop_signal.0.as_str())
}

/// The line orch says for a policy's verdict: `exited with 1; restarting in 100ms`.
pub(super) fn verdict_line(verdict: &Verdict, exit: ProcessExit) -> String {
    match &verdict.reason {
        Some(reason) if verdict.phase == Phase::Backoff => {
            format!("{reason}; restarting in {}", human_duration(verdict.delay.unwrap_or_default()))
        }
        Some(reason) => reason.clone(),
        None if verdict.phase == Phase::Completed => "completed".to_owned(),
        None => exit.to_string(),
    }
}

/// `640ms`, `1.5s`, `2m`.
pub(crate) fn human_duration(d: Duration) -> String {
    let ms = d.as_millis();
    match ms {
        0..1000 => format!("{ms}ms"),
        1000..60_000 => {
            let secs = d.as_secs_f64();
            if ms.is_multiple_of(1000) { format!("{}s", ms / 1000) } else { format!("{secs:.1}s") }
        }
        _ => format!("{}m{}s", ms / 60_000, (ms % 60_000) / 1000),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(human_duration(Duration::from_millis(640)), "640ms");
        assert_eq!(human_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(human_duration(Duration::from_secs(2)), "2s");
        assert_eq!(human_duration(Duration::from_secs(125)), "2m5s");
    }
}
