//! Taking over after a supervisor that died (SIGKILL, OOM): what `state.json` recorded is
//! checked against the process table. A recorded process that still runs — same pid, same start
//! time, same boot — is adopted: its exit is watched through a pidfd, its output pipes are
//! opened again, and it can be stopped with its whole group. One that is gone is treated as
//! having exited, and the restart policy applies. A pid that now belongs to another process is
//! never signalled. Nothing runs twice.

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use indexmap::IndexMap;

use super::core::Supervisor;
use super::machine::Input;
use super::reconcile::watched_files;
use super::running::ExitWait;
use super::service::Svc;
use super::unit::{Run, Unit, UnitState};
use crate::ipc::Origin;
use crate::logs::record::Stream;
use crate::manifest::{CommandLine, RestartPolicy, Service};
use crate::model::{Identity, Phase, Pid};
use crate::state::{Desired, ServiceRecord, State};

impl Supervisor {
    /// Reads what an earlier supervisor recorded and takes it over. Called once, before the
    /// first request.
    pub(super) fn recover(&mut self) {
        let path = self.paths.state();
        match State::load(&path) {
            // Nothing recorded, yet what carries the project's marker is the project's. A project
            // that never ran a service (no log file) has nothing to look for: skip the /proc scan.
            Ok(None) if crate::logs::services_in(&self.paths.logs()).is_empty() => {}
            Ok(None) => self.take_over_process_table(),
            Ok(Some(state)) => {
                for (name, record) in state.services {
                    if !is_service_name(&name) {
                        say!(
                            "orch: {} records a service named {name:?}, which is no service name; ignored",
                            path.display()
                        );
                        continue;
                    }
                    self.take_over(&name, record);
                }
                // What was adopted started against the runs of its dependencies adopted with it.
                let names: Vec<String> = self.services.keys().cloned().collect();
                for name in names {
                    let seen = self.restart_edge_runs(&name);
                    if let Some(svc) = self.services.get_mut(&name) {
                        svc.seen_runs = seen;
                    }
                }
                self.watch_again(state.manifest, state.watch.unwrap_or(true));
            }
            Err(e) => {
                let secs = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default();
                let aside = path.with_file_name(format!("state.json.bad-{secs}"));
                let kept = std::fs::rename(&path, &aside).map(|()| format!("kept aside as {}", aside.display()));
                say!("orch: {e}; {}", kept.unwrap_or_else(|e| format!("could not keep it aside: {e}")));
                self.take_over_process_table();
            }
        }
        self.dirty = true;
    }

    /// Loads the manifest the earlier supervisor served (with this one's environment) and
    /// watches it again, so edits are applied as before. The services keep running as they
    /// are: what changed meanwhile is applied by the next edit or `up`.
    fn watch_again(&mut self, manifest: Option<std::path::PathBuf>, requested: bool) {
        let Some(manifest) = manifest else { return };
        let origin = Origin { manifest: Some(manifest), env: self.base_env.clone() };
        self.watch_requested = requested;
        match self.load_spec(&origin) {
            Ok(Some(loaded)) => {
                self.watch_enabled = requested && loaded.spec.watch;
                let files = watched_files(&loaded);
                self.spec = Some(loaded.spec);
                self.graph = Some(loaded.graph);
                self.watch_files(files);
            }
            Ok(None) => {}
            Err(refusal) => {
                // Watch it anyway, so the save that fixes it is seen.
                self.reload_error = Some(refusal.to_string());
                self.watch_enabled = requested;
                let files = origin.manifest.iter().flat_map(|m| [m.clone(), self.paths.root.join(".env")]).collect();
                self.watch_files(files);
            }
        }
        self.origin = Some(origin);
    }

    fn take_over(&mut self, name: &str, record: ServiceRecord) {
        let unrecorded = record.config.is_none() && record.adhoc.is_none();
        let config = match (&record.config, &record.adhoc) {
            (Some(config), _) => config.clone(),
            (None, Some(adhoc)) => adhoc.to_service(&IndexMap::new()),
            (None, None) => unknown_config(&self.paths.root),
        };
        let mut svc = Svc::new(name, config, record.config_hash.clone(), record.adhoc.clone());
        svc.unrecorded = unrecorded;
        svc.desired = record.desired;
        let live = record.process.clone().filter(|p| record.state.has_process() && self.os.is_alive(p));
        if let Some(owner) =
            record.process.as_ref().filter(|_| live.is_none()).and_then(|p| self.os.foreign_owner(p.pid))
        {
            say!("orch: {name}: the recorded pid now runs as {owner}, not as you: not adopted, never signalled");
        }
        svc.started = record.started_at_ms.map(since_epoch);
        // The recorded run, still running (adopted) or gone (its machine learns it ended).
        let run = record.state.has_process().then(|| Run {
            pid: record.process.as_ref().map(|p| p.pid),
            since: svc.started.map_or_else(Instant::now, |(at, _)| at),
            by_policy: false,
        });
        svc.restore(Unit {
            state: UnitState::restored(record.state, record.reason.clone(), run),
            restarts: record.restarts,
            last_exit: record.last_exit,
            ready_after: record.ready_after_ms.map(Duration::from_millis),
        });
        self.services.insert(name.to_owned(), svc);
        match live {
            Some(identity) => self.adopt(name, identity),
            None if record.state.has_process() => self.gone_unseen(name),
            None => {}
        }
    }

    /// Watches a process an earlier supervisor started, and carries on where that one was.
    fn adopt(&mut self, name: &str, identity: Identity) {
        let pid = identity.pid;
        let Some(svc) = self.services.get_mut(name) else { return };
        svc.generation += 1;
        svc.process = Some(identity);
        svc.adopted = true;
        svc.runs = 1;
        let writer = match self.log_writer(name) {
            Ok(writer) => Some(writer),
            Err(e) => {
                say!("orch: {name}: cannot open its log file: {e}");
                None
            }
        };
        let pipes = self
            .os
            .reopen_output(pid)
            .into_iter()
            .map(|(fd, pipe)| (if fd == 2 { Stream::Err } else { Stream::Out }, pipe))
            .collect();
        self.watch_process(name, writer, pipes, ExitWait::Adopted);
        self.drive(name, Input::Adopted);
        // Up already: its health checks go on under this supervisor (a starting one's begin
        // when it is confirmed, as for any start).
        if self.services.get(name).is_some_and(|s| matches!(s.phase(), Phase::Ready | Phase::Running)) {
            self.start_health_checks(name);
        }
    }

    /// A service whose process ended while no supervisor watched: as if it exited just now.
    fn gone_unseen(&mut self, name: &str) {
        let Some(svc) = self.services.get_mut(name) else { return };
        svc.process = None;
        self.drive(name, Input::Vanished);
    }

    /// With no readable record, the processes that carry the project's marker are what runs:
    /// each service's group leader is adopted, its configuration unknown (the next `up`
    /// restarts it with the manifest's).
    fn take_over_process_table(&mut self) {
        let mut leaders: HashMap<String, Pid> = HashMap::new();
        for (pid, service) in self.os.marked(&self.project_id) {
            if !is_service_name(&service) {
                say!(
                    "orch: pid {pid} says it belongs to a service named {service:?}, which is no service name; left alone"
                );
                continue;
            }
            if self.os.group_of(pid) == Some(pid) {
                leaders.insert(service, pid);
            }
        }
        for (name, pid) in leaders {
            let Some(identity) = self.os.identity_of(pid) else { continue };
            let mut svc = Svc::new(&name, unknown_config(&self.paths.root), String::new(), None);
            svc.unrecorded = true;
            svc.desired = Desired::Up;
            svc.started = Some((Instant::now(), SystemTime::now()));
            let run = Run { pid: Some(pid), since: Instant::now(), by_policy: false };
            svc.restore(Unit { state: UnitState::restored(Phase::Running, None, Some(run)), ..Unit::new() });
            self.services.insert(name.clone(), svc);
            self.adopt(&name, identity);
        }
    }
}

/// A name from outside the manifest (the state file, a process's marker) that may name a
/// service: by the manifest's rules, and not orch's own. Anything else never reaches a path.
fn is_service_name(name: &str) -> bool {
    crate::model::names::is_service_name(name) && name != crate::model::names::RESERVED_NAME
}

/// An Instant for a wall-clock time in the past (Instants cannot be made from one directly).
fn since_epoch(ms: u64) -> (Instant, SystemTime) {
    let at = UNIX_EPOCH + Duration::from_millis(ms);
    let ago = SystemTime::now().duration_since(at).unwrap_or_default();
    (Instant::now().checked_sub(ago).unwrap_or_else(Instant::now), at)
}

/// What orch knows of a process found without a record: enough to stop it.
fn unknown_config(root: &std::path::Path) -> Service {
    let cmd = CommandLine::Shell("(adopted: not recorded)".into());
    Service { restart: RestartPolicy::No, ..Service::new(cmd, root.to_path_buf()) }
}
