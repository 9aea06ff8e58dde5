//! Finding the project: like git finds `.git`, walk up from the working folder to the nearest
//! one holding `procs.toml` or a `Procfile` (procs.toml wins when both are there).

use std::path::{Path, PathBuf};

pub const MANIFEST_NAMES: [&str; 2] = ["procs.toml", "Procfile"];

#[derive(Debug, thiserror::Error)]
pub enum DiscoverError {
    #[error("no procs.toml or Procfile in {} or any folder above it", .0.display())]
    NotFound(PathBuf),
    #[error("{} does not exist", .0.display())]
    NoSuchFile(PathBuf),
    #[error("cannot use folder {}: {source}", .path.display())]
    BadDirectory { path: PathBuf, source: std::io::Error },
}

/// The manifest to use: `-f FILE` if given (relative to `-C DIR` if given), else the nearest
/// manifest at or above `-C DIR` (or the working folder).
pub fn discover(cwd: &Path, dir: Option<&Path>, file: Option<&Path>) -> Result<PathBuf, DiscoverError> {
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
            Ok(path) if path.is_file() => Ok(path),
            _ => Err(DiscoverError::NoSuchFile(path)),
        };
    }
    for folder in start.ancestors() {
        for name in MANIFEST_NAMES {
            let candidate = folder.join(name);
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    Err(DiscoverError::NotFound(start))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_up_and_prefers_procs_toml() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().canonicalize().unwrap();
        std::fs::write(root.join("Procfile"), "web: x\n").unwrap();
        std::fs::create_dir_all(root.join("a/b")).unwrap();
        assert_eq!(discover(&root.join("a/b"), None, None).unwrap(), root.join("Procfile"));
        std::fs::write(root.join("procs.toml"), "").unwrap();
        assert_eq!(discover(&root.join("a/b"), None, None).unwrap(), root.join("procs.toml"));
        assert_eq!(discover(&root, Some(Path::new("a")), None).unwrap(), root.join("procs.toml"));
        assert_eq!(discover(&root, None, Some(Path::new("Procfile"))).unwrap(), root.join("Procfile"));
        assert!(matches!(discover(&root, None, Some(Path::new("nope"))), Err(DiscoverError::NoSuchFile(_))));
    }
}
