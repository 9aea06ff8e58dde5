//! Finding the project: like git finds `.git`, walk up from the working folder to the nearest
//! one holding a manifest. In each folder, the manifest the project was last brought up from
//! (recorded in `.orch/state.json`, so `orch up -f Procfile.dev` is remembered by every later
//! command), else `procs.toml`, then `Procfile`, then `Procfile.dev` (the Rails 7 default).

use std::path::{Path, PathBuf};

use crate::paths::ProjectPaths;
use crate::state::State;

pub(crate) const MANIFEST_NAMES: [&str; 3] = ["procs.toml", "Procfile", "Procfile.dev"];

#[derive(Debug, thiserror::Error)]
pub(crate) enum DiscoverError {
    #[error("no procs.toml, Procfile or Procfile.dev in {} or any folder above it", .0.display())]
    NotFound(PathBuf),
    #[error("{} does not exist", .0.display())]
    NoSuchFile(PathBuf),
    #[error("{} is a folder; -f names a manifest file (procs.toml or a Procfile), -C a folder to run in", .0.display())]
    IsFolder(PathBuf),
    #[error("cannot use folder {}: {source}", .path.display())]
    BadDirectory { path: PathBuf, source: std::io::Error },
}

/// The manifest to use, and what the user should know about the choice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Discovered {
    pub(crate) path: PathBuf,
    /// Set when another manifest was there to choose: which one is used and how to pick it.
    pub(crate) note: Option<String>,
}

/// The manifest to use: `-f FILE` if given (relative to `-C DIR` if given), else the nearest
/// manifest at or above `-C DIR` (or the working folder).
pub(crate) fn discover(cwd: &Path, dir: Option<&Path>, file: Option<&Path>) -> Result<Discovered, DiscoverError> {
    let start = match dir {
        Some(dir) => {
            let dir = cwd.join(dir);
            dir.canonicalize().map_err(|source| DiscoverError::BadDirectory { path: dir, source })?
        }
        None => cwd.to_path_buf(),
    };
    if let Some(file) = file {
        let path = start.join(file);
        return match path.canonicalize() {
            Ok(path) if path.is_file() => Ok(Discovered { path, note: None }),
            Ok(_) if path.is_dir() => Err(DiscoverError::IsFolder(path)),
            _ => Err(DiscoverError::NoSuchFile(path)),
        };
    }
    for folder in start.ancestors() {
        let by_name = MANIFEST_NAMES.iter().map(|name| folder.join(name)).find(|p| p.is_file());
        if let Some(recorded) = recorded_manifest(folder) {
            let note = match &by_name {
                Some(other) if *other != recorded => Some(format!(
                    "using {}, which this project was last brought up from; `-f {}` uses {} instead",
                    file_name(&recorded),
                    file_name(other),
                    file_name(other)
                )),
                _ => None,
            };
            return Ok(Discovered { path: recorded, note });
        }
        if let Some(path) = by_name {
            let note = other_procfiles(folder, &path);
            return Ok(Discovered { path, note });
        }
    }
    Err(DiscoverError::NotFound(start))
}

/// The manifest `.orch/state.json` of `folder` says the project was brought up from, if it is
/// a file of that folder still. What the file says is checked, not trusted: a path elsewhere
/// is ignored.
fn recorded_manifest(folder: &Path) -> Option<PathBuf> {
    let paths = ProjectPaths::new(folder);
    if !paths.state().is_file() {
        return None;
    }
    let recorded = State::recorded_manifest(&paths.state())?;
    (recorded.parent() == Some(folder) && recorded.is_file()).then_some(recorded)
}

/// When `chosen` is one of several Procfiles of `folder`: which is used, how to use another.
fn other_procfiles(folder: &Path, chosen: &Path) -> Option<String> {
    if crate::manifest::format_of(chosen) != crate::manifest::Format::Procfile {
        return None;
    }
    let others: Vec<String> = MANIFEST_NAMES
        .iter()
        .map(|name| folder.join(name))
        .filter(|p| p != chosen && p.is_file() && crate::manifest::format_of(p) == crate::manifest::Format::Procfile)
        .map(|p| file_name(&p))
        .collect();
    let other = others.first()?;
    Some(format!("using {}; {} is here too: `-f {other}` uses it", file_name(chosen), others.join(" and ")))
}

fn file_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(cwd: &Path, dir: Option<&str>, file: Option<&str>) -> PathBuf {
        discover(cwd, dir.map(Path::new), file.map(Path::new)).unwrap().path
    }

    #[test]
    fn walks_up_and_prefers_procs_toml() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::write(root.join("Procfile"), "web: x\n").unwrap();
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        assert_eq!(found(&root.join("a/b"), None, None), root.join("Procfile"));
        std::fs::write(root.join("procs.toml"), "").unwrap();
        assert_eq!(found(&root.join("a/b"), None, None), root.join("procs.toml"));
        assert_eq!(found(&root, Some("a"), None), root.join("procs.toml"));
        assert_eq!(found(&root, None, Some("Procfile")), root.join("Procfile"));
        assert!(matches!(discover(&root, None, Some(Path::new("nope"))), Err(DiscoverError::NoSuchFile(_))));
        assert!(matches!(discover(&root, None, Some(Path::new("a"))), Err(DiscoverError::IsFolder(_))));
    }

    #[test]
    fn procfile_dev_is_found_last_and_a_second_procfile_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::write(root.join("Procfile.dev"), "web: x\n").unwrap();
        let only = discover(&root, None, None).unwrap();
        assert_eq!(only, Discovered { path: root.join("Procfile.dev"), note: None });
        std::fs::write(root.join("Procfile"), "web: x\n").unwrap();
        let both = discover(&root, None, None).unwrap();
        assert_eq!(both.path, root.join("Procfile"));
        assert_eq!(both.note.as_deref(), Some("using Procfile; Procfile.dev is here too: `-f Procfile.dev` uses it"));
        assert_eq!(discover(&root, None, Some(Path::new("Procfile.dev"))).unwrap().note, None);
    }

    #[test]
    fn the_manifest_a_project_was_brought_up_from_is_used_again() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::write(root.join("Procfile"), "web: x\n").unwrap();
        std::fs::write(root.join("Procfile.dev"), "web: y\n").unwrap();
        std::fs::create_dir_all(root.join(".orch")).unwrap();
        let record = |manifest: &Path| {
            let state = State { manifest: Some(manifest.to_path_buf()), ..State::default() };
            std::fs::write(root.join(".orch/state.json"), serde_json::to_string(&state).unwrap()).unwrap();
        };
        record(&root.join("Procfile.dev"));
        std::fs::create_dir_all(root.join("sub")).unwrap();
        let again = discover(&root.join("sub"), None, None).unwrap();
        assert_eq!(again.path, root.join("Procfile.dev"));
        assert!(again.note.unwrap().contains("last brought up from; `-f Procfile` uses Procfile instead"));
        // A record that points out of the folder, or at a file that is gone, is not followed.
        let elsewhere = tempfile::tempdir().unwrap();
        std::fs::write(elsewhere.path().join("Procfile"), "evil: x\n").unwrap();
        record(&elsewhere.path().canonicalize().unwrap().join("Procfile"));
        assert_eq!(found(&root, None, None), root.join("Procfile"));
        record(&root.join("gone.toml"));
        assert_eq!(found(&root, None, None), root.join("Procfile"));
        std::fs::write(root.join(".orch/state.json"), "garbage").unwrap();
        assert_eq!(found(&root, None, None), root.join("Procfile"));
    }
}
