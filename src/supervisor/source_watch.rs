//! Restart on source change: the files each service's `watch` globs name (relative to its
//! `cwd`), less its `watch_ignore` globs, what `.gitignore` files ignore (in a git repository
//! or not), `.git/` and orch's own `.orch/`. Each folder that can hold such a file is watched on its own (inotify,
//! not recursive), found with the `ignore` crate's walker, so an ignored `node_modules/` or
//! `target/` costs nothing; a folder made later is added when it appears. Each change is told
//! to the supervisor as it happens ([`Msg::SourceChanged`]); the supervisor restarts a service
//! once its files have been quiet for [`QUIET`], so a burst of saves gives one restart.

use std::collections::HashSet;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use globset::{Glob, GlobSet, GlobSetBuilder};
use ignore::gitignore::Gitignore;
use indexmap::IndexMap;
use notify::event::CreateKind;
use notify::{Event, EventKind, RecommendedWatcher, RecursiveMode, Watcher};
use tokio::sync::mpsc::UnboundedSender;

use super::core::Msg;
use crate::manifest::Service;

/// How long a service's watched files must be quiet before it restarts.
pub(super) const QUIET: Duration = Duration::from_millis(100);

/// Folders whose files never count: git's, and orch's own (its logs would restart a service
/// that watches `**/*` for ever).
const SKIPPED: [&str; 2] = [".git", ".orch"];

/// What one service watches.
struct Rule {
    service: String,
    /// Its `cwd`: what the globs are relative to.
    root: PathBuf,
    watch: GlobSet,
    ignore: GlobSet,
    /// Every `.gitignore` from the project root down to (and under) `root`, each matching
    /// relative to its own folder.
    gitignores: Vec<Gitignore>,
    /// The folders the globs can reach: `src` for `src/**/*.py`, `root` for `*.toml`.
    bases: Vec<PathBuf>,
}

impl Rule {
    /// The path relative to the service's folder, when a change to it counts.
    fn counts(&self, path: &Path) -> Option<PathBuf> {
        let relative = path.strip_prefix(&self.root).ok()?;
        if relative.components().any(|c| SKIPPED.iter().any(|skip| c == Component::Normal(skip.as_ref()))) {
            return None;
        }
        if !self.watch.is_match(relative) || self.ignore.is_match(relative) || self.gitignored(path) {
            return None;
        }
        Some(relative.to_path_buf())
    }

    fn gitignored(&self, path: &Path) -> bool {
        self.gitignores
            .iter()
            .filter(|g| path.starts_with(g.path()))
            .any(|g| g.matched_path_or_any_parents(path, path.is_dir()).is_ignore())
    }
}

pub(super) struct SourceWatch {
    watcher: RecommendedWatcher,
    rules: Arc<RwLock<Vec<Rule>>>,
    folders: HashSet<PathBuf>,
    tx: UnboundedSender<Msg>,
}

impl SourceWatch {
    pub(super) fn start(tx: UnboundedSender<Msg>) -> notify::Result<Self> {
        let rules: Arc<RwLock<Vec<Rule>>> = Arc::default();
        let read = rules.clone();
        let to_supervisor = tx.clone();
        let handler = move |result: notify::Result<Event>| {
            let Ok(event) = result else { return };
            if matches!(event.kind, EventKind::Access(_)) {
                return;
            }
            let rules = read.read().unwrap_or_else(PoisonError::into_inner);
            for path in &event.paths {
                if matches!(event.kind, EventKind::Create(CreateKind::Folder | CreateKind::Any)) && path.is_dir() {
                    let _ = tx.send(Msg::SourceFolder(path.clone()));
                }
                for rule in rules.iter() {
                    if let Some(relative) = rule.counts(path) {
                        let _ = tx.send(Msg::SourceChanged { service: rule.service.clone(), path: relative });
                    }
                }
            }
        };
        let watcher = notify::recommended_watcher(handler)?;
        Ok(Self { watcher, rules, folders: HashSet::new(), tx: to_supervisor })
    }

    /// Watches what these services' `watch` keys name, from now on (none: nothing).
    pub(super) fn set(&mut self, project_root: &Path, services: &IndexMap<String, Service>) {
        let rules: Vec<Rule> = services
            .iter()
            .filter(|(_, s)| !s.watch.is_empty())
            .filter_map(|(name, s)| rule(name, s, project_root))
            .collect();
        let folders: HashSet<PathBuf> =
            rules.iter().flat_map(|r| r.bases.iter().flat_map(|b| folders_under(b))).collect();
        for gone in self.folders.difference(&folders) {
            let _ = self.watcher.unwatch(gone);
        }
        let new: Vec<PathBuf> = folders.difference(&self.folders).cloned().collect();
        for folder in &new {
            self.watch_folder(folder);
        }
        self.folders = folders;
        *self.rules.write().unwrap_or_else(PoisonError::into_inner) = rules;
    }

    /// A folder made since: watched (with what is under it) when a rule's base holds it. What
    /// was written into it before its watch began (`mkdir -p a/b && touch a/b/c.py`, a `git
    /// checkout`) counts as changed.
    pub(super) fn add_folder(&mut self, folder: &Path) {
        let reaches = {
            let rules = self.rules.read().unwrap_or_else(PoisonError::into_inner);
            rules.iter().any(|r| r.bases.iter().any(|b| folder.starts_with(b)) && !r.gitignored(folder))
        };
        if !reaches {
            return;
        }
        for new in folders_under(folder) {
            if self.folders.insert(new.clone()) {
                self.watch_folder(&new);
            }
        }
        let rules = self.rules.read().unwrap_or_else(PoisonError::into_inner);
        for file in walker(folder).filter_map(Result::ok).filter(|e| e.file_type().is_some_and(|t| t.is_file())) {
            for rule in rules.iter() {
                if let Some(path) = rule.counts(file.path()) {
                    let _ = self.tx.send(Msg::SourceChanged { service: rule.service.clone(), path });
                }
            }
        }
    }

    fn watch_folder(&mut self, folder: &Path) {
        if let Err(e) = self.watcher.watch(folder, RecursiveMode::NonRecursive) {
            say!("orch: cannot watch {}: {e}", folder.display());
        }
    }
}

/// The rule of one service; None (said in the supervisor's log) when a glob does not compile,
/// which the manifest's loader has already refused.
fn rule(name: &str, service: &Service, project_root: &Path) -> Option<Rule> {
    let root = service.cwd.clone();
    let watch = glob_set(&service.watch)?;
    let ignore = glob_set(&service.watch_ignore)?;
    let bases = service.watch.iter().map(|g| root.join(literal_base(g))).collect();
    let mut gitignores = Vec::new();
    for folder in root.ancestors().take_while(|f| f.starts_with(project_root)) {
        push_gitignore(&mut gitignores, &folder.join(".gitignore"));
    }
    for entry in walker(&root).filter_map(Result::ok) {
        if entry.file_name() == ".gitignore" && entry.path().parent() != Some(root.as_path()) {
            push_gitignore(&mut gitignores, entry.path());
        }
    }
    Some(Rule { service: name.to_owned(), root, watch, ignore, gitignores, bases })
}

fn push_gitignore(gitignores: &mut Vec<Gitignore>, file: &Path) {
    if file.is_file() {
        let (gitignore, _) = Gitignore::new(file);
        gitignores.push(gitignore);
    }
}

fn glob_set(globs: &[String]) -> Option<GlobSet> {
    let mut set = GlobSetBuilder::new();
    for glob in globs {
        set.add(Glob::new(glob).ok()?);
    }
    set.build().ok()
}

/// The folders of a glob before its first wildcard: `src` of `src/**/*.py`, `` of `*.py`.
fn literal_base(glob: &str) -> PathBuf {
    let parts: Vec<&str> = glob.split('/').collect();
    let literal = parts.iter().take(parts.len().saturating_sub(1)).take_while(|p| !p.contains(['*', '?', '[', '{']));
    literal.collect()
}

/// Every folder at or under `base` that is not ignored (`.gitignore`, `.git/`).
fn folders_under(base: &Path) -> Vec<PathBuf> {
    if !base.is_dir() {
        return Vec::new();
    }
    walker(base)
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_some_and(|t| t.is_dir()))
        .map(ignore::DirEntry::into_path)
        .collect()
}

/// A walk that skips what git would (any `.gitignore`, in a repository or not), `.git/` and
/// `.orch/`, and sees hidden files otherwise.
fn walker(base: &Path) -> ignore::Walk {
    ignore::WalkBuilder::new(base)
        .hidden(false)
        .git_ignore(true)
        .git_global(false)
        .git_exclude(false)
        .require_git(false)
        .parents(true)
        .filter_entry(|e| !SKIPPED.iter().any(|skip| e.file_name() == *skip))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::CommandLine;

    fn service(dir: &Path, watch: &[&str], ignore: &[&str]) -> Service {
        Service {
            watch: watch.iter().map(|s| (*s).to_owned()).collect(),
            watch_ignore: ignore.iter().map(|s| (*s).to_owned()).collect(),
            ..Service::new(CommandLine::Shell("true".into()), dir.to_path_buf())
        }
    }

    #[test]
    fn a_glob_is_watched_from_the_folders_before_its_first_wildcard() {
        assert_eq!(literal_base("src/**/*.py"), PathBuf::from("src"));
        assert_eq!(literal_base("config/app/*.toml"), PathBuf::from("config/app"));
        assert_eq!(literal_base("*.py"), PathBuf::new());
        assert_eq!(literal_base("app.py"), PathBuf::new());
        assert_eq!(literal_base("{a,b}/x.py"), PathBuf::new());
    }

    #[test]
    fn what_counts_is_matched_less_ignored_gitignored_and_git() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("src/gen")).unwrap();
        std::fs::create_dir_all(root.join(".git")).unwrap();
        std::fs::write(root.join(".gitignore"), "build/\n").unwrap();
        std::fs::write(root.join("src/.gitignore"), "gen/\n").unwrap();
        let rule = rule("web", &service(root, &["src/**/*.py", "**/*.toml"], &["**/test_*.py"]), root).unwrap();
        assert_eq!(rule.counts(&root.join("src/app.py")), Some(PathBuf::from("src/app.py")));
        assert_eq!(rule.counts(&root.join("src/a/b/c.py")), Some(PathBuf::from("src/a/b/c.py")));
        assert!(rule.counts(&root.join("src/app.js")).is_none());
        assert!(rule.counts(&root.join("src/test_app.py")).is_none(), "watch_ignore");
        assert!(rule.counts(&root.join("src/gen/x.py")).is_none(), "a nested .gitignore");
        assert!(rule.counts(&root.join("build/x.toml")).is_none(), "the root .gitignore");
        assert!(rule.counts(&root.join(".git/config.toml")).is_none(), ".git");
        assert!(rule.counts(&root.join(".orch/state.toml")).is_none(), ".orch");
        assert!(rule.counts(&root.join("config.toml")).is_some());
        assert!(rule.counts(Path::new("/elsewhere/src/app.py")).is_none());
    }

    #[test]
    fn ignored_folders_are_not_watched() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for folder in ["src/a", "node_modules/x", ".git/objects", ".orch/logs", ".hidden"] {
            std::fs::create_dir_all(root.join(folder)).unwrap();
        }
        std::fs::write(root.join(".gitignore"), "node_modules/\n").unwrap();
        let mut found: Vec<PathBuf> =
            folders_under(root).into_iter().map(|f| f.strip_prefix(root).unwrap().to_path_buf()).collect();
        found.sort();
        let expected: Vec<PathBuf> = ["", ".hidden", "src", "src/a"].iter().map(PathBuf::from).collect();
        assert_eq!(found, expected);
    }
}
