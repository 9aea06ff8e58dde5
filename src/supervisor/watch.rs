//! Watching the manifest and the env files it reads. Folders are watched, not files, so an
//! editor that saves by writing a new file and renaming it over the old one is seen too. Each
//! edit is told as it happens; the supervisor reloads once the files have been quiet for
//! [`QUIET`], which folds a burst of saves (or a truncate-then-write) into one reload. No
//! debouncer: its tick woke an idle supervisor 80 times a second for nothing.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::mpsc::UnboundedSender;

use super::core::Msg;

/// How long after the last change a reload happens: a burst of saves gives one.
pub(super) const QUIET: Duration = Duration::from_millis(60);

/// How much longer a reload waits when it finds the manifest empty (the middle of a
/// truncate-then-write save) before it takes the empty file as meant.
pub(super) const EMPTY_GRACE: Duration = Duration::from_secs(1);

pub(super) struct Watch {
    watcher: RecommendedWatcher,
    files: Arc<Mutex<HashSet<PathBuf>>>,
    folders: HashSet<PathBuf>,
}

impl Watch {
    pub(super) fn start(tx: UnboundedSender<Msg>) -> notify::Result<Self> {
        let files: Arc<Mutex<HashSet<PathBuf>>> = Arc::default();
        let watched = files.clone();
        let handler = move |result: notify::Result<Event>| {
            let Ok(event) = result else { return };
            // Opening and reading a file (as the supervisor itself does to reload) is no edit.
            if matches!(event.kind, EventKind::Access(_)) {
                return;
            }
            let files = watched.lock().unwrap_or_else(PoisonError::into_inner);
            if event.paths.iter().any(|p| files.contains(p)) {
                let _ = tx.send(Msg::FilesChanged);
            }
        };
        let watcher = notify::recommended_watcher(handler)?;
        Ok(Self { watcher, files, folders: HashSet::new() })
    }

    /// Watches exactly these files (from now on), through their folders.
    pub(super) fn set_files(&mut self, files: impl IntoIterator<Item = PathBuf>) {
        let files: HashSet<PathBuf> = files.into_iter().collect();
        let folders: HashSet<PathBuf> = files.iter().filter_map(|f| f.parent().map(Path::to_path_buf)).collect();
        for gone in self.folders.difference(&folders) {
            let _ = self.watcher.unwatch(gone);
        }
        for new in folders.difference(&self.folders) {
            if let Err(e) = self.watcher.watch(new, RecursiveMode::NonRecursive) {
                say!("orch: cannot watch {}: {e}", new.display());
            }
        }
        self.folders = folders;
        *self.files.lock().unwrap_or_else(PoisonError::into_inner) = files;
    }
}
