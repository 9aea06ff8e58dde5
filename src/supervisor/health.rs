//! What the supervisor cannot do for want of resources, and says: a state file it cannot save
//! (a full disk), log lines it drops. Each is said once in supervisor.log when it begins and
//! once when it ends, and shown by `ps` for as long as it lasts.

use std::io;

use super::core::Supervisor;

/// The troubles that last.
#[derive(Debug, Default)]
pub struct Health {
    /// Why the last save of the state file failed, until one works.
    pub state_error: Option<String>,
}

impl Supervisor {
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
            let Some(log) = &svc.log else { continue };
            let log = log.lock().unwrap_or_else(|e| e.into_inner());
            if let (dropped, Some(error)) = log.health() {
                notes.push(format!("{}: log lines are being dropped ({dropped} bytes so far): {error}", svc.name));
            }
        }
        notes
    }
}
