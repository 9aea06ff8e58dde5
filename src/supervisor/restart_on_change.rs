//! What a change to a service's watched files does (see `source_watch.rs` for which count):
//! once they have been quiet for [`QUIET`], the service restarts, saying why in orch's log
//! (`web: restarting (src/app.py changed)`); its `restart = true` dependents follow through
//! the machine's restart edges. A oneshot runs again (a build step), and once that run
//! succeeds, what waits for its completion restarts. A service nobody wants up stays down.

use std::collections::HashSet;
use std::path::PathBuf;

use tokio::time::sleep;

use super::core::{Msg, Supervisor};
use super::machine::Input;
use super::source_watch::{QUIET, SourceWatch};
use crate::manifest::Condition;
use crate::model::Phase;
use crate::state::Desired;

/// A service's changes since it last restarted for them.
#[derive(Debug)]
pub(crate) struct Burst {
    generation: u64,
    first: PathBuf,
    /// The files changed (a save is often several events: one file, counted once).
    files: HashSet<PathBuf>,
}

impl Supervisor {
    /// Aims the source watch at what the manifest's `watch` keys name (called when the
    /// manifest was loaded); started when a first service watches, dropped when none does (or
    /// `--no-watch`).
    pub(super) fn aim_source_watch(&mut self) {
        let wanted = self.watch_requested
            && self.spec.as_ref().is_some_and(|s| s.services.values().any(|s| !s.watch.is_empty()));
        let Some(spec) = self.spec.as_ref().filter(|_| wanted) else {
            self.source_watch = None;
            return;
        };
        if self.source_watch.is_none() {
            match SourceWatch::start(self.tx.clone()) {
                Ok(watch) => self.source_watch = Some(watch),
                Err(e) => {
                    say!("orch: cannot watch the services' files: {e}");
                    return;
                }
            }
        }
        if let Some(watch) = &mut self.source_watch {
            watch.set(&spec.root, &spec.services);
        }
    }

    /// A watched file changed: the service restarts once its files are quiet.
    pub(super) fn source_changed(&mut self, name: &str, path: PathBuf) {
        let first = path.clone();
        let burst =
            self.source_bursts.entry(name.to_owned()).or_insert(Burst { generation: 0, first, files: HashSet::new() });
        burst.generation += 1;
        burst.files.insert(path);
        let (tx, service, generation) = (self.tx.clone(), name.to_owned(), burst.generation);
        tokio::spawn(async move {
            sleep(QUIET).await;
            let _ = tx.send(Msg::SourceQuiet { service, generation });
        });
    }

    /// The service's files have been quiet since change `generation`; a later change waits on.
    pub(super) fn source_quiet(&mut self, name: &str, generation: u64) {
        if self.source_bursts.get(name).is_none_or(|b| b.generation != generation) {
            return;
        }
        let Some(burst) = self.source_bursts.remove(name) else { return };
        let Some(svc) = self.services.get_mut(name) else { return };
        if svc.desired != Desired::Up {
            return;
        }
        let what = match burst.files.len() {
            1 => format!("{} changed", burst.first.display()),
            n => format!("{} and {} more changed", burst.first.display(), n - 1),
        };
        if svc.phase().has_process() {
            self.output.notice(name, &format!("restarting ({what})"));
            self.drive(name, Input::RestartWanted { by_policy: false });
        } else if matches!(svc.phase(), Phase::Completed | Phase::Failed | Phase::Fatal | Phase::Backoff) {
            // A oneshot runs again; a service that crashed gets another go with the new code.
            if svc.config.oneshot {
                self.source_reruns.insert(name.to_owned());
            }
            let verb = if svc.config.oneshot { "running again" } else { "starting again" };
            self.output.notice(name, &format!("{verb} ({what})"));
            self.drive(name, Input::StartWanted { by_policy: false });
        }
    }

    /// A oneshot that ran again for a change has completed: what waits for its completion
    /// restarts, to take what it built.
    pub(super) fn rerun_completed(&mut self, name: &str) {
        let Some(svc) = self.services.get(name) else { return };
        if svc.phase().has_process() || !self.source_reruns.remove(name) || svc.phase() != Phase::Completed {
            return;
        }
        let dependents = self.graph.as_ref().map(|g| g.dependents(name)).unwrap_or_default();
        for dependent in dependents {
            let Some(d) = self.services.get(&dependent) else { continue };
            let waits_for_it = d.config.depends_on.get(name).is_some_and(|e| e.condition == Condition::Completed);
            if waits_for_it && d.desired == Desired::Up && d.phase().has_process() {
                self.output.notice(&dependent, &format!("restarting ({name} ran again)"));
                self.drive(&dependent, Input::RestartWanted { by_policy: true });
            }
        }
    }
}
