//! Watching the manifest and the env files it reads. Folders are watched, not files, so an
//! editor that saves by writing a new file and renaming it over the old one is seen too; the
//! debouncer folds a burst of saves (or a truncate-then-write) into one reload.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use notify_debouncer_full::notify::{RecommendedWatcher, RecursiveMode};
use notify_debouncer_full::{DebounceEventResult, Debouncer, RecommendedCache, new_debouncer};
use tokio::sync::mpsc::UnboundedSender;

use super::core::Msg;

/// How long the files must be quiet before a reload: within the 50–200 ms the issue allows,
/// long enough for an editor's write-and-rename, short enough to feel immediate.
const DEBOUNCE: Duration = Duration::from_millis(100);

pub struct Watch {
    debouncer: Debouncer<RecommendedWatcher, RecommendedCache>,
    files: Arc<Mutex<HashSet<PathBuf>>>,
    folders: HashSet<PathBuf>,
}

impl Watch {
    pub fn start(tx: UnboundedSender<Msg>) -> notify_debouncer_full::notify::Result<Self> {
        let files: Arc<Mutex<HashSet<PathBuf>>> = Arc::default();
        let watched = files.clone();
        let handler = move |result: DebounceEventResult| {
            let Ok(events) = result else { return };
            let files = watched.lock().unwrap_or_else(|e| e.into_inner());
            if events.iter().flat_map(|e| e.paths.iter()).any(|p| files.contains(p)) {
                let _ = tx.send(Msg::Reload);
            }
        };
        let debouncer = new_debouncer(DEBOUNCE, Some(DEBOUNCE / 4), handler)?;
        Ok(Self { debouncer, files, folders: HashSet::new() })
    }

    /// Watches exactly these files (from now on), through their folders.
    pub fn set_files(&mut self, files: impl IntoIterator<Item = PathBuf>) {
        let files: HashSet<PathBuf> = files.into_iter().collect();
        let folders: HashSet<PathBuf> = files.iter().filter_map(|f| f.parent().map(Path::to_path_buf)).collect();
        for gone in self.folders.difference(&folders) {
            let _ = self.debouncer.unwatch(gone);
        }
        for new in folders.difference(&self.folders) {
            if let Err(e) = self.debouncer.watch(new, RecursiveMode::NonRecursive) {
                eprintln!("orch: cannot watch {}: {e}", new.display());
            }
        }
        self.folders = folders;
        *self.files.lock().unwrap_or_else(|e| e.into_inner()) = files;
    }
}
