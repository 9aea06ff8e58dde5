//! Watching the manifest and the env files it reads. Folders are watched, not files, so an
//! editor that saves by writing a new file and renaming it over the old one is seen too; the
//! debouncer folds a burst of saves (or a truncate-then-write) into one reload.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use notify_debouncer_full::notify::{EventKind, RecommendedWatcher, RecursiveMode};
use notify_debouncer_full::{DebounceEventResult, Debouncer, RecommendedCache, new_debouncer};
use tokio::sync::mpsc::UnboundedSender;

use super::core::Msg;

/// The debouncer's window: it gathers an editor's write-and-rename into one batch. The
/// debouncer lets each event go this long after it happened, not after the last one, so the
/// supervisor waits for the files to be quiet as well (`QUIET`).
const DEBOUNCE: Duration = Duration::from_millis(50);

/// How long after the last batch of changes a reload happens: a burst of saves gives one.
pub(super) const QUIET: Duration = Duration::from_millis(60);

pub(super) struct Watch {
    debouncer: Debouncer<RecommendedWatcher, RecommendedCache>,
    files: Arc<Mutex<HashSet<PathBuf>>>,
    folders: HashSet<PathBuf>,
}

impl Watch {
    pub(super) fn start(tx: UnboundedSender<Msg>) -> notify_debouncer_full::notify::Result<Self> {
        let files: Arc<Mutex<HashSet<PathBuf>>> = Arc::default();
        let watched = files.clone();
        let handler = move |result: DebounceEventResult| {
            let Ok(events) = result else { return };
            let files = watched.lock().unwrap_or_else(PoisonError::into_inner);
            // Opening and reading a file (as the supervisor itself does to reload) is no edit.
            let edited = events
                .iter()
                .filter(|e| !matches!(e.kind, EventKind::Access(_)))
                .flat_map(|e| e.paths.iter())
                .any(|p| files.contains(p));
            if edited {
                let _ = tx.send(Msg::FilesChanged);
            }
        };
        let debouncer = new_debouncer(DEBOUNCE, Some(DEBOUNCE / 4), handler)?;
        Ok(Self { debouncer, files, folders: HashSet::new() })
    }

    /// Watches exactly these files (from now on), through their folders.
    pub(super) fn set_files(&mut self, files: impl IntoIterator<Item = PathBuf>) {
        let files: HashSet<PathBuf> = files.into_iter().collect();
        let folders: HashSet<PathBuf> = files.iter().filter_map(|f| f.parent().map(Path::to_path_buf)).collect();
        for gone in self.folders.difference(&folders) {
            let _ = self.debouncer.unwatch(gone);
        }
        for new in folders.difference(&self.folders) {
            if let Err(e) = self.debouncer.watch(new, RecursiveMode::NonRecursive) {
                say!("orch: cannot watch {}: {e}", new.display());
            }
        }
        self.folders = folders;
        *self.files.lock().unwrap_or_else(PoisonError::into_inner) = files;
    }
}
