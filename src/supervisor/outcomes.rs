//! What follows when a service's process passes its readiness check, is confirmed (stayed up
//! `min_uptime`), fails to become ready, or ends — and the words orch says about each.
//!
//! A start that does not work out (the process ends before it was confirmed, its readiness
//! check times out, its command cannot be run) is a failed start: final (`failed`) for a start
//! a user asked for, so `up` reports it at once; back to the restart policy for a restart the
//! policy made. A command that cannot be run at all is `failed` either way: retrying cannot
//! make it appear. The restart policy is for a service that did start and then ended.

use std::time::{Duration, Instant, SystemTime};

use tokio::sync::mpsc::UnboundedSender;
use tokio::time::sleep;

use super::core::{Msg, Supervisor};
use super::lifecycle::{Verdict, after_exit};
use super::probe;
use super::service::Svc;
use crate::logs::reader;
use crate::model::{Phase, ProcessExit};
use crate::state::Desired;

/// How soon after its start a shell's exit 127 or 126 counts as "could not run the command".
const EXEC_FAILURE_WINDOW: Duration = Duration::from_secs(1);

impl Supervisor {
    pub(super) fn on_ready(&mut self, name: &str, generation: u64) {
        let Some(svc) = self.current_mut(name, generation) else {
            return;
        };
        if matches!(svc.phase, Phase::Starting | Phase::Running) {
            svc.cancel_tasks();
            let took = svc.uptime();
            svc.ready_after = Some(took);
            svc.set_phase(Phase::Ready, None);
            self.output.notice(name, &format!("ready in {}", human_duration(took)));
            self.confirm(name);
        }
    }

    /// A process with no readiness check stayed up `min_uptime`.
    pub(super) fn on_min_uptime(&mut self, name: &str, generation: u64) {
        if self.current(name, generation).is_some_and(|s| s.phase == Phase::Running) {
            self.confirm(name);
        }
    }

    /// The current process has shown it started; the dependents whose `restart = true` edge
    /// points at it, and which started against an earlier run of it, restart now.
    pub(super) fn confirm(&mut self, name: &str) {
        let Some(svc) = self.services.get_mut(name) else { return };
        if svc.confirmed {
            return;
        }
        svc.confirmed = true;
        let runs = svc.runs;
        let dependents = self.graph.as_ref().map(|g| g.dependents(name)).unwrap_or_default();
        for dependent in dependents {
            let Some(other) = self.services.get_mut(&dependent) else { continue };
            let edge = other.config.depends_on.get(name).is_some_and(|e| e.restart);
            let behind = other.seen_runs.get(name).is_some_and(|seen| *seen < runs);
            if edge && behind && other.desired == Desired::Up && other.phase.has_process() {
                other.policy_start = true;
                self.output.notice(&dependent, &format!("restarting ({name} restarted)"));
                self.begin_stop(&dependent);
            }
        }
    }

    /// What the readiness check saw on its last failed attempt.
    pub(super) fn on_probe_saw(&mut self, name: &str, generation: u64, saw: String) {
        if let Some(svc) = self.current_mut(name, generation) {
            svc.probe_saw = (!saw.is_empty()).then_some(saw);
        }
    }

    pub(super) fn on_ready_timeout(&mut self, name: &str, generation: u64) {
        let Some(svc) = self.current_mut(name, generation) else {
            return;
        };
        if svc.phase != Phase::Starting {
            return;
        }
        let check = svc.config.ready.as_ref().map(probe::describe).unwrap_or_default();
        let last = svc.probe_saw.as_ref().map(|saw| format!(" (last: {saw})")).unwrap_or_default();
        let reason = format!("ready check {check} did not pass within {}{last}", svc.config.ready_timeout);
        svc.failed_start = Some(reason.clone());
        self.output.notice(name, &format!("{reason}; stopping it"));
        self.begin_stop(name);
    }

    pub(super) fn on_exit(&mut self, name: &str, generation: u64, exit: ProcessExit, killed: bool) {
        let Some(svc) = self.current_mut(name, generation) else {
            return;
        };
        svc.cancel_tasks();
        svc.process = None;
        svc.last_exit = Some(exit);
        svc.killed |= killed;
        let uptime = svc.uptime();
        if svc.phase == Phase::Stopping {
            return self.stopped(name, uptime);
        }
        if svc.desired == Desired::Down {
            svc.set_phase(Phase::Stopped, None);
            return;
        }
        if let Some(reason) = self.shell_exec_failure(name, exit, uptime) {
            return self.fail_for_good(name, reason);
        }
        let Some(svc) = self.services.get(name) else { return };
        if !svc.config.oneshot && !svc.confirmed {
            let reason = early_exit(svc, exit, uptime);
            return self.start_failed(name, reason, uptime);
        }
        let Some(svc) = self.services.get_mut(name) else { return };
        let verdict = after_exit(svc.policy(), svc.restarts, uptime, Some(exit), None);
        if verdict.phase == Phase::Completed {
            svc.ready_after = Some(uptime);
        }
        self.output.notice(name, &verdict_line(&verdict, exit));
        let tx = self.tx.clone();
        if let Some(svc) = self.services.get_mut(name) {
            apply_verdict(svc, verdict, &tx);
        }
    }

    /// A stop is done (its whole group is gone): the service is stopped, or starts again (a
    /// restart), or — if it was stopped because its readiness check timed out — failed.
    fn stopped(&mut self, name: &str, uptime: Duration) {
        let Some(svc) = self.services.get_mut(name) else { return };
        if let Some(reason) = svc.failed_start.take() {
            return self.start_failed(name, reason, uptime);
        }
        let killed = svc.killed.then(|| {
            format!(
                "killed with SIGKILL: it did not stop within {} of {}",
                svc.config.stop_timeout,
                svc.config.stop_signal.0.as_str()
            )
        });
        if svc.desired == Desired::Up {
            // A restart: stopped, and wanted again.
            svc.set_phase(Phase::Stopped, None);
            svc.set_phase(Phase::Pending, None);
        } else {
            svc.set_phase(Phase::Stopped, killed.clone());
        }
        let line = killed.map_or_else(|| "stopped".to_owned(), |k| format!("stopped ({k})"));
        self.output.notice(name, &line);
    }

    /// A start that did not work out: `failed` if a user asked for it, so `up` says so now; the
    /// restart policy's call if the policy made it.
    pub(super) fn start_failed(&mut self, name: &str, reason: String, uptime: Duration) {
        let tx = self.tx.clone();
        let Some(svc) = self.services.get_mut(name) else { return };
        if svc.started.is_none() {
            svc.started = Some((Instant::now(), SystemTime::now()));
        }
        if !svc.policy_start {
            return self.fail_for_good(name, reason);
        }
        let verdict = after_exit(svc.policy(), svc.restarts, uptime, None, Some(reason));
        let line = verdict_line(&verdict, ProcessExit::Unknown);
        apply_verdict(svc, verdict, &tx);
        self.output.notice(name, &line);
    }

    /// A start that no retry can mend (the command cannot be run), or one a user asked for.
    pub(super) fn fail_for_good(&mut self, name: &str, reason: String) {
        self.output.notice(name, &reason);
        let Some(svc) = self.services.get_mut(name) else { return };
        svc.cancel_tasks();
        svc.backoff_until = None;
        if svc.started.is_none() {
            svc.started = Some((Instant::now(), SystemTime::now()));
        }
        svc.set_phase(Phase::Failed, Some(reason));
    }

    /// `sh` saying it could not run the command: exit 127 (not found) or 126 (not executable)
    /// soon after the start, with its message as the last line of this attempt's output.
    fn shell_exec_failure(&self, name: &str, exit: ProcessExit, uptime: Duration) -> Option<String> {
        let svc = self.services.get(name)?;
        let (ProcessExit::Code(127 | 126), true) = (exit, svc.config.cmd.is_shell()) else { return None };
        if uptime >= EXEC_FAILURE_WINDOW.max(svc.config.min_uptime.0) {
            return None;
        }
        let since = svc.started.map(|(_, at)| at);
        let lines = reader::history(&self.paths.logs(), &[name.to_owned()], since, Some(3)).ok()?;
        lines.iter().rev().find_map(|record| shell_complaint(&record.text()))
    }
}

/// The words of a shell that could not run a command, as `command not found: pg_ctlx` —
/// from dash (`sh: 1: exec: pg_ctlx: not found`), bash (`bash: line 1: pg_ctlx: command not
/// found`) or busybox (`sh: pg_ctlx: not found`), and `Permission denied` alike.
pub(super) fn shell_complaint(line: &str) -> Option<String> {
    let parts: Vec<&str> = line.split(": ").collect();
    let [.., program, what] = parts.as_slice() else { return None };
    let what = what.trim();
    let kind = if what.ends_with("not found") {
        "command not found"
    } else if what == "Permission denied" {
        "permission denied"
    } else {
        return None;
    };
    Some(format!("{kind}: {program}"))
}

/// A spawn error that means the command cannot be run: `command not found: pg_ctlx`.
pub(super) fn exec_failure(argv: &[String], error: &std::io::Error) -> Option<String> {
    let program = argv.first()?;
    match error.raw_os_error()? {
        libc::ENOENT => Some(format!("command not found: {program}")),
        libc::EACCES => Some(format!("permission denied: {program}")),
        libc::ENOEXEC => Some(format!("not an executable: {program}")),
        _ => None,
    }
}

/// Why a process that ended before it was confirmed failed to start.
fn early_exit(svc: &Svc, exit: ProcessExit, uptime: Duration) -> String {
    if svc.config.ready.is_some() {
        return format!("{exit} before its ready check passed");
    }
    let hint = if exit.success() { "; a task that is meant to end wants `oneshot = true`" } else { "" };
    format!("{exit} after {}, before min_uptime ({}){hint}", human_duration(uptime), svc.config.min_uptime)
}

/// The line orch says for a policy's verdict: `exited with 1; restarting in 100ms`.
fn verdict_line(verdict: &Verdict, exit: ProcessExit) -> String {
    match &verdict.reason {
        Some(reason) if verdict.phase == Phase::Backoff => {
            format!("{reason}; restarting in {}", human_duration(verdict.delay.unwrap_or_default()))
        }
        Some(reason) => reason.clone(),
        None if verdict.phase == Phase::Completed => "completed".to_owned(),
        None => exit.to_string(),
    }
}

/// Moves a service to what the restart policy decided, arming the backoff timer. The restart it
/// schedules is the policy's, so a failed start then goes back to the policy.
pub(super) fn apply_verdict(svc: &mut Svc, verdict: Verdict, tx: &UnboundedSender<Msg>) {
    svc.restarts = verdict.restarts;
    svc.set_phase(verdict.phase, verdict.reason);
    svc.backoff_until = verdict.delay.map(|delay| Instant::now() + delay);
    if let Some(delay) = verdict.delay {
        svc.policy_start = true;
        let (service, generation, tx) = (svc.name.clone(), svc.generation, tx.clone());
        let timer = tokio::spawn(async move {
            sleep(delay).await;
            let _ = tx.send(Msg::BackoffDone { service, generation });
        });
        svc.tasks.push(timer.abort_handle());
    }
}

/// `640ms`, `1.5s`, `2m`.
pub(super) fn human_duration(d: Duration) -> String {
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
    fn shells_that_cannot_run_a_command_are_understood() {
        let cases = [
            ("sh: 1: exec: pg_ctlx: not found", Some("command not found: pg_ctlx")),
            ("bash: line 1: pg_ctlx: command not found", Some("command not found: pg_ctlx")),
            ("sh: pg_ctlx: not found", Some("command not found: pg_ctlx")),
            ("sh: 1: exec: ./bin/x: Permission denied", Some("permission denied: ./bin/x")),
            ("connecting to db: not found in cache, retrying", None),
            ("ready", None),
        ];
        for (line, expected) in cases {
            assert_eq!(shell_complaint(line).as_deref(), expected, "{line}");
        }
    }

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(human_duration(Duration::from_millis(640)), "640ms");
        assert_eq!(human_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(human_duration(Duration::from_secs(2)), "2s");
        assert_eq!(human_duration(Duration::from_secs(125)), "2m5s");
    }
}
