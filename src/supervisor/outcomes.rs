//! The executor's side of the lifecycle: every event about a service becomes an input to
//! [`machine::step`], and the effects it returns become OS calls, timers, probes and lines
//! (`drive`). The machine decides what follows a readiness check, a confirmation, a failed
//! start, an exit and a stop; this file only carries it out, and learns what the machine cannot
//! (what a shell said about a command it could not run: that is in the service's log).

use std::time::{Duration, Instant, SystemTime};

use tokio::time::sleep;

use super::core::{Msg, Supervisor};
use super::machine::{self, Ctx, Dep, Effect, Input, Timer};
use crate::logs::reader;
use crate::model::ProcessExit;
use crate::state::Desired;

/// How soon after its start a shell's exit 127 or 126 counts as "could not run the command".
const EXEC_FAILURE_WINDOW: Duration = Duration::from_secs(1);

impl Supervisor {
    /// Feeds one input to the service's machine and carries out what it says. True when
    /// something happened: a new phase, or an effect.
    pub(super) fn drive(&mut self, name: &str, input: Input) -> bool {
        self.drive_at(name, input, Instant::now())
    }

    /// [`Self::drive`] with the input as of `at`, for one whose moment was before now.
    pub(super) fn drive_at(&mut self, name: &str, input: Input, at: Instant) -> bool {
        let Some(svc) = self.services.get(name) else { return false };
        let deps = self.dep_views(name);
        let ctx = Ctx { config: &svc.config, wanted_up: svc.desired == Desired::Up, deps: &deps };
        let (unit, effects) = machine::step(svc.unit(), input, at, &ctx);
        let moved = unit.phase() != svc.phase() || !effects.is_empty();
        if let Some(svc) = self.services.get_mut(name) {
            svc.enter(unit);
        }
        for effect in effects {
            self.carry_out(name, effect);
        }
        moved
    }

    /// The service's dependencies as the machine sees them.
    fn dep_views(&self, name: &str) -> Vec<Dep> {
        let Some(svc) = self.services.get(name) else { return Vec::new() };
        svc.config
            .depends_on
            .iter()
            .filter_map(|(dep, edge)| {
                let d = self.services.get(dep)?;
                Some(Dep {
                    name: dep.clone(),
                    condition: edge.condition,
                    phase: d.phase(),
                    wanted_up: d.desired == Desired::Up,
                    restart_edge: edge.restart,
                    runs: d.runs,
                    seen_runs: svc.seen_runs.get(dep).copied(),
                })
            })
            .collect()
    }

    fn carry_out(&mut self, name: &str, effect: Effect) {
        match effect {
            Effect::Spawn => self.spawn(name),
            Effect::Signal { group, signal } => {
                let _ = self.os.signal_group(group, signal);
            }
            Effect::StartTimer { kind, after } => self.start_timer(name, kind, after),
            Effect::CancelTimers => {
                if let Some(svc) = self.services.get_mut(name) {
                    svc.cancel_tasks();
                }
            }
            Effect::Forget => {
                if let Some(svc) = self.services.get_mut(name) {
                    svc.generation += 1;
                    svc.cancel_tasks();
                }
            }
            Effect::StartProbe => self.start_probe(name),
            Effect::Say(line) => self.output.notice(name, &line),
            Effect::Confirmed => self.confirmed(name),
            Effect::Save => self.urgent = true,
        }
    }

    /// A timer of the current process: its event carries the generation, so a late one is
    /// known for what it is.
    fn start_timer(&mut self, name: &str, kind: Timer, after: Duration) {
        let tx = self.tx.clone();
        let Some(svc) = self.services.get_mut(name) else { return };
        let (service, generation) = (name.to_owned(), svc.generation);
        let timer = tokio::spawn(async move {
            sleep(after).await;
            let msg = match kind {
                Timer::MinUptime => Msg::Confirmed { service, generation },
                Timer::StopTimeout => Msg::StopTimeout { service, generation },
                Timer::Backoff => Msg::BackoffDone { service, generation },
            };
            let _ = tx.send(msg);
        });
        svc.tasks.push(timer.abort_handle());
    }

    /// An event about the current process (or its timers) goes to its machine; one about an
    /// earlier one is dropped.
    pub(super) fn drive_current(&mut self, name: &str, generation: u64, input: Input) {
        if self.current(name, generation).is_some() {
            self.drive(name, input);
        }
    }

    /// The current process has shown it started: its dependents' machines decide whether
    /// they restart (a `restart = true` edge, a process that started against an earlier run).
    fn confirmed(&mut self, name: &str) {
        self.start_health_checks(name);
        let dependents = self.graph.as_ref().map(|g| g.dependents(name)).unwrap_or_default();
        for dependent in dependents {
            self.drive(&dependent, Input::DependencyConfirmed { name: name.to_owned() });
        }
    }

    pub(super) fn on_exit(&mut self, name: &str, generation: u64, exit: ProcessExit, killed: bool) {
        let Some(svc) = self.current_mut(name, generation) else {
            return;
        };
        svc.process = None;
        let uptime = svc.uptime();
        let cannot_run = self.shell_exec_failure(name, exit, uptime);
        self.drive(name, Input::Exited { exit, killed, cannot_run });
        self.rerun_completed(name);
    }

    /// A start that did not happen: the machine says whether it is final.
    pub(super) fn spawn_failed(&mut self, name: &str, reason: String, kind: machine::SpawnFailure) {
        if let Some(svc) = self.services.get_mut(name)
            && svc.started.is_none()
        {
            svc.started = Some((Instant::now(), SystemTime::now()));
        }
        self.drive(name, Input::SpawnFailed { reason, kind });
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
}
