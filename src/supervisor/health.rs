//! What the supervisor cannot do for want of resources, and says: a state file it cannot save
//! and log lines it drops (a full disk), services it cannot start (no file descriptor left).
//! Each is said once in supervisor.log when it begins (and when it ends), and shown by `ps`
//! or in the service's state for as long as it lasts.

use std::io;
use std::time::{Duration, Instant, SystemTime};

use super::core::Supervisor;
use super::machine::SpawnFailure;

/// The troubles that last.
#[derive(Debug, Default)]
pub(super) struct Health {
    /// Why the last save of the state file failed, until one works.
    pub(crate) state_error: Option<String>,
    /// When a start last failed for want of file descriptors: a run of such failures is one
    /// episode, said once; one after a quiet minute is a new one.
    pub(crate) out_of_fds: Option<Instant>,
}

/// How long without running out of file descriptors ends an episode of it.
const FDS_EPISODE: Duration = Duration::from_mins(1);

impl Supervisor {
    /// A service that cannot start because orch is out of file descriptors: it fails at once,
    /// with a reason that says so (a retry would not help while the others run), and
    /// supervisor.log says it once per episode, not once a service.
    pub(super) fn out_of_fds(&mut self, name: &str) {
        let limit = self.os.fd_limit();
        let quiet = self.health.out_of_fds.is_none_or(|at| at.elapsed() > FDS_EPISODE);
        self.health.out_of_fds = Some(Instant::now());
        if quiet {
            say!(
                "orch: out of file descriptors (this supervisor may open {limit}): services cannot start until some \
                 are closed; raise the limit (`ulimit -n`; `ulimit -Hn` is its ceiling), then `orch down` and `orch up`"
            );
        }
        let Some(svc) = self.services.get_mut(name) else { return };
        let reason = format!("not started: orch is out of file descriptors (its limit is {limit}; raise `ulimit -n`)");
        svc.started = Some((Instant::now(), SystemTime::now()));
        self.spawn_failed(name, reason, SpawnFailure::OutOfFds);
    }

    /// Takes note of a save of the state file: a failure is said once, and the save is tried
    /// again after every later event until it works.
    pub(super) fn saved(&mut self, result: io::Result<()>) {
        let path = self.paths.state();
        match result {
            Ok(()) => {
                if self.health.state_error.take().is_some() {
                    say!("orch: {} is saved again", path.display());
                }
            }
            Err(e) => {
                if self.health.state_error.is_none() {
                    say!("orch: cannot save {}: {e}; trying again at every change", path.display());
                }
                self.health.state_error = Some(e.to_string());
                self.dirty = true;
            }
        }
    }

    /// What `ps` says above its table: an edit not applied, a state file not saved, logs that
    /// drop lines.
    pub(super) fn notes(&self) -> Vec<String> {
        let mut notes: Vec<String> =
            self.reload_error.iter().map(|e| format!("the manifest was edited but not applied: {e}")).collect();
        if let Some(error) = &self.health.state_error {
            notes.push(format!(
                "cannot save {} ({error}): what runs now is not recorded until it can be",
                self.paths.state().display()
            ));
        }
        for svc in self.services.values() {
            if let (dropped, Some(error)) = svc.log_health() {
                notes.push(format!("{}: log lines are being dropped ({dropped} bytes so far): {error}", svc.name));
            }
        }
        notes
    }
}
