//! One supervised service as the supervisor holds it: its config, what it wants, where it is
//! in its lifecycle, and its running process.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::task::AbortHandle;

use super::unit::{Unit, UnitState};
use crate::ipc::ServiceStatus;
use crate::logs::writer::LogWriter;
use crate::manifest::{Adhoc, Service};
use crate::model::{Identity, Phase, Pid};
use crate::state::{Desired, ServiceRecord};

#[expect(
    clippy::struct_excessive_bools,
    reason = "removed, adopted, unrecorded and awaiting a rollout are independent facts, not states of one thing"
)]
pub(crate) struct Svc {
    pub(crate) name: String,
    pub(crate) config: Service,
    pub(crate) config_hash: String,
    /// Set for a service that is not in the manifest.
    pub(crate) adhoc: Option<Adhoc>,
    /// No longer in the manifest: stopping, then forgotten.
    pub(crate) removed: bool,
    /// A replica waiting its turn in a rolling restart: a request waiting on it is not done.
    pub(crate) awaits_rollout: bool,
    /// The configuration such a replica restarts with when its turn comes (None: the one it has).
    pub(crate) config_in_turn: Option<Service>,
    /// How its health checks go (None: it has none, or its process is not up yet).
    pub(crate) health: Option<HealthState>,
    /// Its process was started by an earlier supervisor (until it is restarted).
    pub(crate) adopted: bool,
    /// Found in the process table with no record of its configuration.
    pub(crate) unrecorded: bool,
    pub(crate) desired: Desired,
    /// Where it is in its lifecycle: only the machine moves it (`Supervisor::drive` calls
    /// `enter` with what `machine::step` returned); recovery begins it (`restore`).
    unit: Unit,
    /// Bumped at every spawn and every cancelled wait, so that a late event about an earlier
    /// process or timer is recognised and ignored.
    pub(crate) generation: u64,
    /// The current process as the state file records it (with its start time and boot id).
    pub(crate) process: Option<Identity>,
    /// When its last start was, for `ps`, the record and the last lines of a failure.
    pub(crate) started: Option<(Instant, SystemTime)>,
    /// Spawns so far; a dependent records the count of each `restart = true` dependency when it
    /// starts (`seen_runs`), and restarts when that dependency is confirmed in a later run.
    pub(crate) runs: u64,
    pub(crate) seen_runs: HashMap<String, u64>,
    /// The notify socket, for `ready = { notify = true }`: its path and its reader.
    pub(crate) notify: Option<(std::path::PathBuf, AbortHandle)>,
    /// The last `STATUS=` the service sent on it.
    pub(crate) status: Option<String>,
    /// Probes and timers of the current process, aborted when it goes.
    pub(crate) tasks: Vec<AbortHandle>,
    pub(crate) log: Option<Arc<Mutex<LogWriter>>>,
    /// The last cpu sample, for `ps`'s cpu%: when, and the group's cpu seconds then.
    pub(crate) cpu_sample: Option<(Instant, f64)>,
}

impl Svc {
    pub(crate) fn new(name: &str, config: Service, config_hash: String, adhoc: Option<Adhoc>) -> Self {
        Self {
            name: name.to_owned(),
            config,
            config_hash,
            adhoc,
            removed: false,
            awaits_rollout: false,
            config_in_turn: None,
            adopted: false,
            health: None,
            unrecorded: false,
            desired: Desired::Down,
            unit: Unit::new(),
            generation: 0,
            process: None,
            started: None,
            runs: 0,
            seen_runs: HashMap::new(),
            notify: None,
            status: None,
            tasks: Vec::new(),
            log: None,
            cpu_sample: None,
        }
    }

    /// A new configuration for the restart asked for: taken now, or, for a running replica of
    /// a rolling group, kept for its turn in the rollout.
    pub(crate) fn restart_with(&mut self, config: Service) {
        if config.rolling && config.replica.is_some() && self.phase().has_process() {
            self.config_in_turn = Some(config);
        } else {
            self.set_config(config);
        }
    }

    /// Takes the configuration that waited for this replica's turn in a rolling restart.
    pub(crate) fn take_turn(&mut self) {
        if let Some(config) = self.config_in_turn.take() {
            self.set_config(config);
        }
    }

    /// Restarts one replica at a time when asked to (`rolling`, in the configuration it
    /// restarts with).
    pub(crate) fn rolls(&self) -> bool {
        self.config_in_turn.as_ref().unwrap_or(&self.config).rolling
    }

    /// A new configuration, recorded as known.
    pub(crate) fn set_config(&mut self, config: Service) {
        self.config_hash = crate::plan::config_hash(&config);
        self.config = config;
        self.unrecorded = false;
    }

    pub(crate) fn pgid(&self) -> Option<Pid> {
        self.process.as_ref().map(|p| p.pid)
    }

    pub(crate) fn uptime(&self) -> Duration {
        self.started.map(|(at, _)| at.elapsed()).unwrap_or_default()
    }

    pub(crate) fn unit(&self) -> &Unit {
        &self.unit
    }

    /// Where a service taken over from a state file (or the process table) begins: not a
    /// transition, so it does not go through the machine.
    pub(crate) fn restore(&mut self, unit: Unit) {
        self.unit = unit;
    }

    pub(crate) fn phase(&self) -> Phase {
        self.unit.phase()
    }

    pub(crate) fn reason(&self) -> Option<&str> {
        self.unit.state.reason()
    }

    /// Takes the machine's next unit. Settled with no process, its log is closed (a deleted log
    /// then frees its space); the next start opens it again.
    pub(crate) fn enter(&mut self, unit: Unit) {
        let moved = self.unit.state != unit.state;
        self.unit = unit;
        if moved {
            let pid = self.unit.state.run().and_then(|run| run.pid);
            super::subscribers::phase(&self.name, self.phase(), pid, self.reason());
        }
        if matches!(self.phase(), Phase::Stopped | Phase::Completed | Phase::Failed | Phase::Fatal | Phase::Blocked) {
            self.log = None;
        }
    }

    /// Forgets the current process's probes and timers.
    pub(crate) fn cancel_tasks(&mut self) {
        for task in self.tasks.drain(..) {
            task.abort();
        }
    }

    /// Bytes of its output its log could not take since it was opened, and why it cannot now,
    /// while it cannot (a full disk).
    pub(crate) fn log_health(&self) -> (u64, Option<String>) {
        let Some(log) = &self.log else { return (0, None) };
        let log = log.lock().unwrap_or_else(PoisonError::into_inner);
        let (dropped, error) = log.health();
        (dropped, error.map(str::to_owned))
    }

    pub(crate) fn record(&self) -> ServiceRecord {
        ServiceRecord {
            desired: self.desired,
            state: self.phase(),
            reason: self.reason().map(str::to_owned),
            process: self.process.clone(),
            pgid: self.pgid(),
            started_at_ms: self.started.map(|(_, at)| millis_since_epoch(at)),
            ready_after_ms: self.unit.ready_after.map(millis),
            config_hash: self.config_hash.clone(),
            restarts: self.unit.restarts,
            last_exit: self.unit.last_exit,
            adhoc: self.adhoc.clone(),
            config: (!self.unrecorded).then(|| self.config.clone()),
        }
    }

    pub(crate) fn status(&self, cpu_percent: Option<f64>, mem_bytes: Option<u64>) -> ServiceStatus {
        let live = self.phase().has_process();
        let reason = match &self.unit.state {
            UnitState::Backoff { until, reason } => {
                let next = format!("next try in {:.1}s", until.saturating_duration_since(Instant::now()).as_secs_f64());
                Some(reason.as_ref().map_or(next.clone(), |r| format!("{r}; {next}")))
            }
            state => state.reason().map(str::to_owned),
        };
        let (log_dropped_bytes, log_error) = self.log_health();
        let health = self.health.as_ref().filter(|_| live);
        let unhealthy = health.and_then(|h| h.unhealthy.clone());
        let reason = unhealthy.clone().or(reason);
        let state = if unhealthy.is_some() { "unhealthy" } else { self.phase().as_str() };
        ServiceStatus {
            log_dropped_bytes,
            log_error,
            name: self.name.clone(),
            state: state.to_owned(),
            pid: self.process.as_ref().map(|p| p.pid),
            uptime_secs: live.then(|| self.uptime().as_secs_f64()),
            restarts: self.unit.restarts,
            ready_check: self.config.ready.as_ref().map(ToString::to_string),
            ready_after_ms: self.unit.ready_after.map(millis),
            cpu_percent,
            mem_bytes,
            reason,
            last_exit: self.unit.last_exit.map(|e| e.to_string()),
            adhoc: self.adhoc.is_some(),
            adopted: self.adopted,
            status: self.status.clone(),
            port: self.config.port_shown(),
            command: self.adhoc.as_ref().map(|a| a.cmd.to_string()),
            waiting: self.waiting(),
            url: self.config.http_url(),
            next_run: None,
            health: health.map(|h| {
                let word = match (&h.unhealthy, h.checked) {
                    (Some(_), _) => "unhealthy",
                    (None, true) => "healthy",
                    (None, false) => "starting",
                };
                word.to_owned()
            }),
        }
    }

    /// Forgotten now: removed from the manifest and stopped; an ad-hoc service that was
    /// stopped, or whose start failed (the client that started it was told).
    pub(crate) fn is_gone(&self) -> bool {
        let stopped = self.phase() == Phase::Stopped;
        let failed_start = matches!(self.unit.state, UnitState::Failed { at_start: true, .. });
        let adhoc_done = self.adhoc.is_some() && ((stopped && self.desired == Desired::Down) || failed_start);
        (self.removed && stopped) || adhoc_done
    }

    /// What it waits for now, in words, for the clients' progress lines.
    pub(crate) fn waiting(&self) -> Option<String> {
        match &self.unit.state {
            UnitState::Pending { waiting_on, .. } => waiting_on.clone(),
            UnitState::Starting { probe_saw, .. } => self.config.ready.as_ref().map(|check| match probe_saw {
                Some(saw) => format!("{check}: {saw}"),
                None => check.to_string(),
            }),
            UnitState::Running { confirmed: false, .. } => {
                Some(format!("it to stay up {} (min_uptime)", self.config.min_uptime))
            }
            _ => None,
        }
    }

    /// Whether `advance` may move it: pending and wanted up, or wanted down and not (yet)
    /// stopping.
    pub(crate) fn may_move(&self) -> bool {
        match self.desired {
            Desired::Up => self.phase() == Phase::Pending,
            Desired::Down => !matches!(self.phase(), Phase::Stopped | Phase::Stopping),
        }
    }

    /// Up as a request waits for it: ready, completed, or running and confirmed.
    /// On its way up: starting, stopping to restart, or running but not yet confirmed (its
    /// readiness check, or `min_uptime`).
    pub(crate) fn is_coming_up(&self) -> bool {
        self.phase().is_transient() || (self.phase() == Phase::Running && !self.unit.state.is_confirmed())
    }

    pub(crate) fn is_settled_up(&self) -> bool {
        self.phase() == Phase::Completed || self.unit.state.is_confirmed()
    }
}

pub(crate) fn millis_since_epoch(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).map(millis).unwrap_or_default()
}

/// A duration in whole milliseconds (saturating: u64 milliseconds last 584 million years).
pub(crate) fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// How a running process's health checks have gone.
#[derive(Debug, Default)]
pub(crate) struct HealthState {
    /// Failures in a row.
    pub(crate) failures: u32,
    /// A check has been tried.
    pub(crate) checked: bool,
    /// Why it is unhealthy, while it is.
    pub(crate) unhealthy: Option<String>,
}
