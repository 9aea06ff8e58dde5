//! Where one service is in its lifecycle, with the data that belongs to that state and to no
//! other: the process of a start lives in `Starting`, `Running`, `Ready` and `Stopping`; the
//! time of the next try in `Backoff`; why it failed in `Failed`. Each state shows as one
//! [`Phase`] (`UnitState::phase`), the name clients and the state file know. Only
//! [`super::machine::step`] moves a unit from one state to another.

use std::time::{Duration, Instant};

use crate::model::{Phase, Pid, ProcessExit};

/// One run of the service's process: its group, since when, and who asked for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Run {
    /// The group leader's pid, which is also the group's id; None only for a run a state file
    /// recorded without one.
    pub(crate) pid: Option<Pid>,
    pub(crate) since: Instant,
    /// The restart policy (or a `restart = true` edge) made this start, not a user: a failed
    /// start goes back to the policy instead of ending in `failed`.
    pub(crate) by_policy: bool,
}

/// What follows once a stopping process's group is gone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum AfterStop {
    /// Stopped, or pending again if the service is still wanted up (a restart, whose start is
    /// the policy's if its run's was).
    Settle,
    /// The start failed (its readiness check timed out): `failed`, or the policy's call.
    FailStart { reason: String },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum UnitState {
    Pending {
        /// The dependency it waits for, in words: `db to be ready`.
        waiting_on: Option<String>,
        by_policy: bool,
    },
    Starting {
        run: Run,
        /// What its readiness check last saw (`connection refused`).
        probe_saw: Option<String>,
    },
    /// Passed its readiness check (which confirms the start).
    Ready {
        run: Run,
    },
    /// Up with no readiness check; `confirmed` once it stayed up `min_uptime`. Until then an
    /// exit is a failed start.
    Running {
        run: Run,
        confirmed: bool,
    },
    Stopping {
        run: Run,
        then: AfterStop,
        /// SIGKILL was needed.
        killed: bool,
    },
    Stopped {
        reason: Option<String>,
    },
    Completed,
    Failed {
        reason: String,
        /// It failed to start (rather than ending after it had started): an ad-hoc service's
        /// failed start is forgotten once its client was told.
        at_start: bool,
    },
    Backoff {
        until: Instant,
        reason: Option<String>,
    },
    Fatal {
        reason: String,
    },
    Blocked {
        reason: String,
    },
}

impl UnitState {
    pub(crate) fn phase(&self) -> Phase {
        match self {
            UnitState::Pending { .. } => Phase::Pending,
            UnitState::Starting { .. } => Phase::Starting,
            UnitState::Ready { .. } => Phase::Ready,
            UnitState::Running { .. } => Phase::Running,
            UnitState::Stopping { .. } => Phase::Stopping,
            UnitState::Stopped { .. } => Phase::Stopped,
            UnitState::Completed => Phase::Completed,
            UnitState::Failed { .. } => Phase::Failed,
            UnitState::Backoff { .. } => Phase::Backoff,
            UnitState::Fatal { .. } => Phase::Fatal,
            UnitState::Blocked { .. } => Phase::Blocked,
        }
    }

    /// Why it is in this state, as `ps` and the clients show it.
    pub(crate) fn reason(&self) -> Option<&str> {
        match self {
            UnitState::Stopped { reason } | UnitState::Backoff { reason, .. } => reason.as_deref(),
            UnitState::Stopping { then: AfterStop::FailStart { reason }, .. }
            | UnitState::Failed { reason, .. }
            | UnitState::Fatal { reason }
            | UnitState::Blocked { reason } => Some(reason),
            _ => None,
        }
    }

    /// The process of the current start, while there is one.
    pub(crate) fn run(&self) -> Option<&Run> {
        match self {
            UnitState::Starting { run, .. }
            | UnitState::Ready { run }
            | UnitState::Running { run, .. }
            | UnitState::Stopping { run, .. } => Some(run),
            _ => None,
        }
    }

    /// The same state with its run replaced (a run's `by_policy` changes when a user asks).
    pub(crate) fn with_run(&self, run: Run) -> UnitState {
        match self {
            UnitState::Starting { probe_saw, .. } => UnitState::Starting { run, probe_saw: probe_saw.clone() },
            UnitState::Ready { .. } => UnitState::Ready { run },
            UnitState::Running { confirmed, .. } => UnitState::Running { run, confirmed: *confirmed },
            UnitState::Stopping { then, killed, .. } => {
                UnitState::Stopping { run, then: then.clone(), killed: *killed }
            }
            other => other.clone(),
        }
    }

    /// The current process has shown it started: it passed its readiness check, or stayed up
    /// `min_uptime`.
    pub(crate) fn is_confirmed(&self) -> bool {
        matches!(self, UnitState::Ready { .. } | UnitState::Running { confirmed: true, .. })
    }

    /// A state as a state file recorded it: where a recovered unit begins, not a transition.
    /// `run` is the recorded process, for a phase that has one (it is then adopted, or found
    /// gone, through the machine).
    pub(crate) fn restored(phase: Phase, reason: Option<String>, run: Option<Run>) -> UnitState {
        let text = || reason.clone().unwrap_or_default();
        match (phase, run) {
            (Phase::Starting, Some(run)) => UnitState::Starting { run, probe_saw: None },
            (Phase::Ready, Some(run)) => UnitState::Ready { run },
            // It has been up for a while already.
            (Phase::Running, Some(run)) => UnitState::Running { run, confirmed: true },
            (Phase::Stopping, Some(run)) => UnitState::Stopping { run, then: AfterStop::Settle, killed: false },
            (Phase::Completed, _) => UnitState::Completed,
            (Phase::Failed, _) => UnitState::Failed { reason: text(), at_start: false },
            (Phase::Fatal, _) => UnitState::Fatal { reason: text() },
            (Phase::Blocked, _) => UnitState::Blocked { reason: text() },
            // A wait that was under way starts again: its timer went with the old supervisor.
            (Phase::Pending | Phase::Backoff, _) => {
                UnitState::Pending { waiting_on: None, by_policy: phase == Phase::Backoff }
            }
            (Phase::Stopped | Phase::Starting | Phase::Ready | Phase::Running | Phase::Stopping, _) => {
                UnitState::Stopped { reason }
            }
        }
    }
}

/// A service's lifecycle: its state, and what the machine keeps across states.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Unit {
    pub(crate) state: UnitState,
    /// Restarts in a row that the policy made (reset by a stable uptime and by a user's start).
    pub(crate) restarts: u32,
    pub(crate) last_exit: Option<ProcessExit>,
    /// How long its last start took to be ready (zero with no readiness check).
    pub(crate) ready_after: Option<Duration>,
}

impl Unit {
    pub(crate) fn new() -> Self {
        Unit { state: UnitState::Stopped { reason: None }, restarts: 0, last_exit: None, ready_after: None }
    }

    pub(crate) fn phase(&self) -> Phase {
        self.state.phase()
    }
}

impl Default for Unit {
    fn default() -> Self {
        Unit::new()
    }
}
