//! The lifecycle of one service as a pure function: [`step`] takes a unit, what happened (an
//! [`Input`]), the time it happened and what the machine may know of the world (a [`Ctx`]: the
//! service's configuration, whether it is wanted up, its dependencies' phases), and returns the
//! unit's next state and the [`Effect`]s the executor must carry out (spawn, signal, timers,
//! probes, lines to say). No I/O, no clock, no tokio: it is tested in microseconds
//! (`machine/tests.rs`).
//!
//! The table of allowed transitions of [`Phase`] rules: a move it does not allow leaves the
//! unit as it was, with no effect.

mod words;

#[cfg(test)]
mod tests;

use std::time::{Duration, Instant};

use crate::sys::Signal;

use super::lifecycle::{Verdict, after_exit};
use super::unit::{AfterStop, Run, Unit, UnitState};
use crate::manifest::{Condition, Service};
use crate::model::{Phase, Pid, ProcessExit};

pub(crate) use words::human_duration;

/// What happened to a service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Input {
    /// Wanted up, from a settled state (`up`, `restart` of what has no process): pending.
    /// `by_policy` false: a user asked, so a failed start is final and the restarts count anew.
    StartWanted {
        by_policy: bool,
    },
    /// Its process is to be replaced (a `restart`, a new configuration, a `restart = true` edge):
    /// stopped, and started again while it is wanted up.
    RestartWanted {
        by_policy: bool,
    },
    /// Wanted down, and nothing that depends on it runs any more.
    StopWanted,
    /// It is pending and something about its dependencies may have changed.
    DepsChanged,
    /// A dependency's new run was confirmed: through a `restart = true` edge, a process that
    /// started against an earlier run of it restarts.
    DependencyConfirmed {
        name: String,
    },
    Spawned {
        pid: Pid,
    },
    SpawnFailed {
        reason: String,
        kind: SpawnFailure,
    },
    /// Its process group is empty. `cannot_run`: the shell said it could not run the command.
    Exited {
        exit: ProcessExit,
        killed: bool,
        cannot_run: Option<String>,
    },
    Ready,
    /// What a failing readiness check saw, when that changed.
    ProbeSaw(String),
    ReadyTimeout,
    MinUptimePassed,
    StopTimeout,
    BackoffElapsed,
    /// A process an earlier supervisor started is watched now.
    Adopted,
    /// The process a state file recorded ended while no supervisor watched.
    Vanished,
}

/// Why a spawn did not happen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SpawnFailure {
    /// Something a later try may not meet (a port taken, a folder missing): a failed start.
    Retry,
    /// The command cannot be run: no retry can make it appear.
    Never,
    /// orch itself is out of file descriptors: final, and said once elsewhere, not per service.
    OutOfFds,
}

/// What the executor must do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Effect {
    /// Start the service's process; its pid comes back as `Input::Spawned`.
    Spawn,
    Signal {
        group: Pid,
        signal: Signal,
    },
    StartTimer {
        kind: Timer,
        after: Duration,
    },
    /// Drop the current process's probes and timers.
    CancelTimers,
    /// Drop them, and take any later event about the earlier process or its timers as stale.
    Forget,
    /// Start the readiness check (bounded by its ready_timeout).
    StartProbe,
    /// A line about the service, for its log and the foreground.
    Say(String),
    /// The current start is confirmed: dependents with a `restart = true` edge may restart.
    Confirmed,
    /// Record the state now rather than with the next batch: a new pid, which a supervisor
    /// taking over after a crash must know so that nothing runs twice.
    Save,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Timer {
    MinUptime,
    StopTimeout,
    Backoff,
}

/// One dependency as the machine sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Dep {
    pub(crate) name: String,
    pub(crate) condition: Condition,
    pub(crate) phase: Phase,
    pub(crate) wanted_up: bool,
    /// `restart = true`: the service restarts whenever this dependency does.
    pub(crate) restart_edge: bool,
    /// The dependency's spawns so far, and how many it had when the service's process started.
    pub(crate) runs: u64,
    pub(crate) seen_runs: Option<u64>,
}

/// What the machine knows besides the unit.
pub(crate) struct Ctx<'a> {
    pub(crate) config: &'a Service,
    pub(crate) wanted_up: bool,
    pub(crate) deps: &'a [Dep],
}

/// A decided move: the next unit, the phase it passes on the way (a restart passes `stopped`),
/// and the effects.
struct Move {
    via: Option<Phase>,
    unit: Unit,
    effects: Vec<Effect>,
}

impl Move {
    fn to(unit: Unit, effects: Vec<Effect>) -> Self {
        Move { via: None, unit, effects }
    }
}

/// The next state of `unit` after `input` (at `at`), and what to do about it. An input that
/// means nothing in the unit's state, and a move the lifecycle table does not allow, leave the
/// unit as it is with no effects.
pub(crate) fn step(unit: &Unit, input: Input, at: Instant, ctx: &Ctx) -> (Unit, Vec<Effect>) {
    enforce(unit, decide(unit, input, at, ctx))
}

/// The table rules: a decided move it does not allow is no move.
fn enforce(unit: &Unit, decided: Option<Move>) -> (Unit, Vec<Effect>) {
    match decided {
        Some(m) if allowed(unit.phase(), m.via, m.unit.phase()) => (m.unit, m.effects),
        _ => (unit.clone(), Vec::new()),
    }
}

/// Every hop of a move, through `via`, is in the table.
fn allowed(from: Phase, via: Option<Phase>, to: Phase) -> bool {
    match via {
        Some(via) => from.can_become(via) && via.can_become(to),
        None => from.can_become(to),
    }
}

fn decide(unit: &Unit, input: Input, at: Instant, ctx: &Ctx) -> Option<Move> {
    use UnitState as S;
    let with = |state: UnitState| Unit { state, ..unit.clone() };
    match (&unit.state, input) {
        (S::Pending { waiting_on, .. }, Input::StartWanted { by_policy }) => {
            let pending = S::Pending { waiting_on: waiting_on.clone(), by_policy };
            Some(Move::to(wanted(with(pending), by_policy), Vec::new()))
        }
        (state, Input::StartWanted { by_policy }) if !state.phase().has_process() => {
            let pending = S::Pending { waiting_on: None, by_policy };
            Some(Move::to(wanted(with(pending), by_policy), vec![Effect::Forget]))
        }
        // A user asks again while a failed start is being stopped: it starts anew once stopped,
        // rather than ending in `failed`.
        (
            S::Stopping { run, then: AfterStop::FailStart { .. }, killed },
            Input::StartWanted { by_policy: false } | Input::RestartWanted { by_policy: false },
        ) => {
            let run = Run { by_policy: false, ..run.clone() };
            let stopping = S::Stopping { run, then: AfterStop::Settle, killed: *killed };
            Some(Move::to(wanted(with(stopping), false), Vec::new()))
        }
        // A process is there already: only who asked for it changes.
        (state @ S::Stopping { .. }, Input::StartWanted { by_policy } | Input::RestartWanted { by_policy })
        | (state @ (S::Starting { .. } | S::Ready { .. } | S::Running { .. }), Input::StartWanted { by_policy }) => {
            let run = Run { by_policy, ..state.run()?.clone() };
            Some(Move::to(wanted(with(state.with_run(run)), by_policy), Vec::new()))
        }
        (state, Input::RestartWanted { by_policy }) => {
            let run = Run { by_policy, ..state.run()?.clone() };
            Some(begin_stop(wanted(unit.clone(), by_policy), run, AfterStop::Settle, Vec::new(), ctx))
        }
        (state, Input::DependencyConfirmed { name })
            if ctx.wanted_up && state.run().is_some() && restart_edge_due(ctx.deps, &name) =>
        {
            let mut restart = decide(unit, Input::RestartWanted { by_policy: true }, at, ctx)?;
            restart.effects.insert(0, Effect::Say(format!("restarting ({name} restarted)")));
            Some(restart)
        }
        (S::Stopping { .. } | S::Stopped { .. }, Input::StopWanted) => None,
        (state, Input::StopWanted) => match state.run() {
            Some(run) => Some(begin_stop(unit.clone(), run.clone(), AfterStop::Settle, Vec::new(), ctx)),
            None => Some(Move::to(with(S::Stopped { reason: None }), vec![Effect::Forget])),
        },
        (S::Pending { by_policy, .. }, Input::DepsChanged) if ctx.wanted_up => Some(match dependencies(ctx.deps) {
            DepCheck::Go => Move::to(with(S::Pending { waiting_on: None, by_policy: *by_policy }), vec![Effect::Spawn]),
            DepCheck::Wait(on) => {
                Move::to(with(S::Pending { waiting_on: Some(on), by_policy: *by_policy }), Vec::new())
            }
            DepCheck::Blocked(reason) => Move::to(with(S::Blocked { reason }), Vec::new()),
        }),
        (S::Pending { by_policy, .. }, Input::Spawned { pid }) => {
            let run = Run { pid: Some(pid), since: at, by_policy: *by_policy };
            let unit = Unit { ready_after: None, ..with(S::Starting { run: run.clone(), probe_saw: None }) };
            let effects = vec![Effect::Save, Effect::Say(format!("started (pid {pid})"))];
            Some(arm_readiness(unit, run, effects, at, ctx))
        }
        (S::Pending { by_policy, .. }, Input::SpawnFailed { reason, kind }) => Some(match kind {
            SpawnFailure::Retry => start_failed(unit, reason, Duration::ZERO, *by_policy, at, ctx),
            SpawnFailure::Never => fail_for_good(unit, reason),
            SpawnFailure::OutOfFds => Move::to(with(S::Failed { reason, at_start: true }), vec![Effect::CancelTimers]),
        }),
        (state, Input::Exited { exit, killed, cannot_run }) => {
            let run = state.run()?;
            let unit = Unit { last_exit: Some(exit), ..unit.clone() };
            Some(exited(&unit, run, exit, killed, cannot_run, at, ctx))
        }
        (S::Starting { run, .. } | S::Running { run, .. }, Input::Ready) => {
            let took = at.saturating_duration_since(run.since);
            let mut effects = vec![Effect::CancelTimers, Effect::Say(format!("ready in {}", human_duration(took)))];
            if !unit.state.is_confirmed() {
                effects.push(Effect::Confirmed);
            }
            Some(Move::to(Unit { ready_after: Some(took), ..with(S::Ready { run: run.clone() }) }, effects))
        }
        (S::Starting { run, .. }, Input::ProbeSaw(saw)) => {
            let probe_saw = (!saw.is_empty()).then_some(saw);
            Some(Move::to(with(S::Starting { run: run.clone(), probe_saw }), Vec::new()))
        }
        (S::Starting { run, probe_saw }, Input::ReadyTimeout) => {
            let reason = words::ready_timeout(ctx.config, probe_saw.as_deref());
            let say = vec![Effect::Say(format!("{reason}; stopping it"))];
            Some(begin_stop(unit.clone(), run.clone(), AfterStop::FailStart { reason }, say, ctx))
        }
        (S::Running { run, confirmed: false }, Input::MinUptimePassed) => {
            Some(Move::to(with(S::Running { run: run.clone(), confirmed: true }), vec![Effect::Confirmed]))
        }
        (S::Stopping { run, then, .. }, Input::StopTimeout) => {
            let group = run.pid?;
            let stopping = S::Stopping { run: run.clone(), then: then.clone(), killed: true };
            Some(Move::to(with(stopping), vec![Effect::Signal { group, signal: Signal::SIGKILL }]))
        }
        (S::Backoff { .. }, Input::BackoffElapsed) => {
            Some(Move::to(with(S::Pending { waiting_on: None, by_policy: true }), Vec::new()))
        }
        (state, Input::Adopted) => adopted(unit, state.run()?.clone(), at, ctx),
        (state, Input::Vanished) => Some(vanished(unit, state.run()?, at, ctx)),
        _ => None,
    }
}

/// A start a user asked for counts its restarts anew.
fn wanted(unit: Unit, by_policy: bool) -> Unit {
    if by_policy { unit } else { Unit { restarts: 0, ..unit } }
}

/// Signals the group with the service's stop signal, SIGKILL after its stop_timeout.
fn begin_stop(unit: Unit, run: Run, then: AfterStop, mut effects: Vec<Effect>, ctx: &Ctx) -> Move {
    effects.push(Effect::CancelTimers);
    if let Some(group) = run.pid {
        effects.push(Effect::Signal { group, signal: ctx.config.stop_signal.0 });
        effects.push(Effect::StartTimer { kind: Timer::StopTimeout, after: ctx.config.stop_timeout.0 });
    }
    Move::to(Unit { state: UnitState::Stopping { run, then, killed: false }, ..unit }, effects)
}

/// A process in `starting` gets its readiness check. With none it is `running` at once, and
/// confirmed once it has stayed up `min_uptime`; a oneshot with none waits for its exit.
fn arm_readiness(unit: Unit, run: Run, mut effects: Vec<Effect>, at: Instant, ctx: &Ctx) -> Move {
    if ctx.config.ready.is_some() {
        effects.push(Effect::StartProbe);
        return Move::to(unit, effects);
    }
    if ctx.config.oneshot {
        return Move::to(unit, effects);
    }
    let left = ctx.config.min_uptime.0.saturating_sub(at.saturating_duration_since(run.since));
    let confirmed = left.is_zero();
    effects.push(if confirmed {
        Effect::Confirmed
    } else {
        Effect::StartTimer { kind: Timer::MinUptime, after: left }
    });
    let running = Unit { state: UnitState::Running { run, confirmed }, ready_after: Some(Duration::ZERO), ..unit };
    Move { via: Some(Phase::Starting), unit: running, effects }
}

/// A process of an earlier supervisor carries on where that one was: a start still checks its
/// readiness, a stop goes on.
fn adopted(unit: &Unit, run: Run, at: Instant, ctx: &Ctx) -> Option<Move> {
    let say = vec![Effect::Say(format!("adopted (pid {})", run.pid?))];
    Some(match &unit.state {
        UnitState::Starting { .. } => arm_readiness(unit.clone(), run, say, at, ctx),
        UnitState::Stopping { then, .. } => begin_stop(unit.clone(), run, then.clone(), say, ctx),
        _ => Move::to(unit.clone(), say),
    })
}

/// The process ended: a stop done, a failed start, or the restart policy's call.
fn exited(
    unit: &Unit,
    run: &Run,
    exit: ProcessExit,
    killed: bool,
    cannot_run: Option<String>,
    at: Instant,
    ctx: &Ctx,
) -> Move {
    let uptime = at.saturating_duration_since(run.since);
    let with = |state: UnitState| Unit { state, ..unit.clone() };
    if let UnitState::Stopping { then, killed: was_killed, .. } = &unit.state {
        return stopped(unit, run, then, killed || *was_killed, uptime, at, ctx);
    }
    if !ctx.wanted_up {
        return Move::to(with(UnitState::Stopped { reason: None }), vec![Effect::CancelTimers]);
    }
    if let Some(reason) = cannot_run {
        return fail_for_good(unit, reason);
    }
    if !ctx.config.oneshot && !unit.state.is_confirmed() {
        let reason = words::early_exit(ctx.config, exit, uptime);
        return start_failed(unit, reason, uptime, run.by_policy, at, ctx);
    }
    let verdict = after_exit(policy(ctx), unit.restarts, uptime, Some(exit), None);
    let unit = if verdict.phase == Phase::Completed {
        Unit { ready_after: Some(uptime), ..unit.clone() }
    } else {
        unit.clone()
    };
    let say = Effect::Say(words::verdict_line(&verdict, exit));
    let at_start = !unit.state.is_confirmed();
    apply_verdict(&unit, verdict, at_start, vec![Effect::CancelTimers, say], at)
}

/// A stop is done (its whole group is gone): stopped, or pending again (a restart), or — if it
/// was stopped because its readiness check timed out — a failed start.
fn stopped(unit: &Unit, run: &Run, then: &AfterStop, killed: bool, uptime: Duration, at: Instant, ctx: &Ctx) -> Move {
    if let AfterStop::FailStart { reason } = then {
        return start_failed(unit, reason.clone(), uptime, run.by_policy, at, ctx);
    }
    let killed = killed.then(|| words::killed(ctx.config));
    let line = killed.as_ref().map_or_else(|| "stopped".to_owned(), |k| format!("stopped ({k})"));
    let effects = vec![Effect::CancelTimers, Effect::Say(line)];
    if ctx.wanted_up {
        let pending = UnitState::Pending { waiting_on: None, by_policy: run.by_policy };
        return Move { via: Some(Phase::Stopped), unit: Unit { state: pending, ..unit.clone() }, effects };
    }
    Move::to(Unit { state: UnitState::Stopped { reason: killed }, ..unit.clone() }, effects)
}

/// The recorded process is gone: as if it exited just now, with an exit status no one knows.
fn vanished(unit: &Unit, run: &Run, at: Instant, ctx: &Ctx) -> Move {
    if !ctx.wanted_up {
        return Move::to(Unit { state: UnitState::Stopped { reason: None }, ..unit.clone() }, Vec::new());
    }
    let uptime = at.saturating_duration_since(run.since);
    let verdict = after_exit(policy(ctx), unit.restarts, uptime, Some(ProcessExit::Unknown), None);
    let say = Effect::Say("ended while no supervisor was running".to_owned());
    apply_verdict(unit, verdict, false, vec![say], at)
}

/// A start that did not work out: `failed` if a user asked for it, so `up` says so now; the
/// restart policy's call if the policy made it.
fn start_failed(unit: &Unit, reason: String, uptime: Duration, by_policy: bool, at: Instant, ctx: &Ctx) -> Move {
    if !by_policy {
        return fail_for_good(unit, reason);
    }
    let verdict = after_exit(policy(ctx), unit.restarts, uptime, None, Some(reason));
    let say = Effect::Say(words::verdict_line(&verdict, ProcessExit::Unknown));
    apply_verdict(unit, verdict, true, vec![Effect::CancelTimers, say], at)
}

/// A start that no retry can mend (the command cannot be run), or one a user asked for.
fn fail_for_good(unit: &Unit, reason: String) -> Move {
    let effects = vec![Effect::Say(reason.clone()), Effect::CancelTimers];
    Move::to(Unit { state: UnitState::Failed { reason, at_start: true }, ..unit.clone() }, effects)
}

/// Moves to what the restart policy decided, arming the backoff timer.
fn apply_verdict(unit: &Unit, verdict: Verdict, at_start: bool, mut effects: Vec<Effect>, at: Instant) -> Move {
    let reason = verdict.reason;
    let state = match verdict.phase {
        Phase::Backoff => {
            let delay = verdict.delay.unwrap_or_default();
            effects.push(Effect::StartTimer { kind: Timer::Backoff, after: delay });
            UnitState::Backoff { until: at + delay, reason }
        }
        Phase::Completed => UnitState::Completed,
        Phase::Fatal => UnitState::Fatal { reason: reason.unwrap_or_default() },
        Phase::Failed => UnitState::Failed { reason: reason.unwrap_or_default(), at_start },
        _ => UnitState::Stopped { reason },
    };
    Move::to(Unit { state, restarts: verdict.restarts, ..unit.clone() }, effects)
}

fn policy(ctx: &Ctx) -> super::lifecycle::Policy {
    let config = ctx.config;
    super::lifecycle::Policy { oneshot: config.oneshot, restart: config.restart, max_restarts: config.max_restarts }
}

/// The dependency has run again since the service's process started, over a `restart = true`
/// edge.
fn restart_edge_due(deps: &[Dep], name: &str) -> bool {
    deps.iter().any(|d| d.name == name && d.restart_edge && d.seen_runs.is_some_and(|seen| seen < d.runs))
}

enum DepCheck {
    Go,
    /// Waiting for a dependency, in words: `db to be ready`.
    Wait(String),
    Blocked(String),
}

/// Whether a pending service may start: every dependency met, one still coming (wait), or one
/// that will not come (blocked).
fn dependencies(deps: &[Dep]) -> DepCheck {
    let mut check = DepCheck::Go;
    for dep in deps {
        if dep.condition.is_met_by(dep.phase) {
            continue;
        }
        let name = &dep.name;
        if dep.phase.is_failure() || (dep.phase == Phase::Stopped && dep.wanted_up) {
            let what = match dep.phase {
                Phase::Blocked => "is blocked",
                Phase::Stopped => "stopped",
                _ => "failed",
            };
            return DepCheck::Blocked(format!("{name} {what}"));
        }
        if !dep.wanted_up && !dep.phase.is_transient() {
            return DepCheck::Blocked(format!("{name} is stopped"));
        }
        if dep.condition == Condition::Completed && dep.phase == Phase::Stopped {
            return DepCheck::Blocked(format!("{name} did not complete"));
        }
        if matches!(check, DepCheck::Go) {
            let what = match dep.condition {
                Condition::Started => "to start",
                Condition::Ready => "to be ready",
                Condition::Completed => "to complete",
            };
            check = DepCheck::Wait(format!("{name} {what}"));
        }
    }
    check
}
