//! Where a running project keeps its files: `.orch/` beside the manifest (state, lock, logs,
//! supervisor.log) and the socket under the user's runtime folder, named by a hash of the
//! project root so that a deep project path never exceeds the 108-byte socket path limit.

use std::fs::{DirBuilder, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::safe_fs::{Access, PrivateDir};

/// The files of one project.
#[derive(Clone, Debug)]
pub struct ProjectPaths {
    /// The project root (the manifest's folder), canonical.
    pub root: PathBuf,
    /// `<root>/.orch`
    pub dir: PathBuf,
    /// The socket's folder, private to this user.
    pub runtime_dir: PathBuf,
}

impl ProjectPaths {
    pub fn new(root: &Path) -> Self {
        let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
        let runtime_dir = runtime_base().join(project_hash(&root));
        Self { dir: root.join(".orch"), root, runtime_dir }
    }

    pub fn state(&self) -> PathBuf {
        self.dir.join("state.json")
    }

    pub fn lock(&self) -> PathBuf {
        self.dir.join("supervisor.lock")
    }

    pub fn supervisor_log(&self) -> PathBuf {
        self.dir.join("supervisor.log")
    }

    pub fn logs(&self) -> PathBuf {
        self.dir.join("logs")
    }

    pub fn socket(&self) -> PathBuf {
        self.runtime_dir.join("orch.sock")
    }

    /// Creates `.orch/` (0700, with a `.gitignore` holding `*`) and its `logs/`, and returns
    /// `.orch/`, checked (see [`PrivateDir`]).
    pub fn create_dirs(&self) -> io::Result<PrivateDir> {
        let dir = PrivateDir::create(&self.dir)?;
        dir.subdir("logs")?;
        // Whatever is there already (even a link) is left alone, never written through.
        if !dir.contains(".gitignore") {
            dir.open(".gitignore", Access::CreateNew)?.write_all(b"*\n")?;
        }
        Ok(dir)
    }

    /// `.orch/logs/`, created and checked.
    pub fn logs_dir(&self) -> io::Result<PrivateDir> {
        self.create_dirs()?.subdir("logs")
    }

    /// Creates the socket's folder (and its parent) 0700, refusing one that another user owns.
    pub fn create_runtime_dir(&self) -> io::Result<()> {
        if let Some(parent) = self.runtime_dir.parent() {
            private_dir(parent)?;
        }
        private_dir(&self.runtime_dir)
    }
}

/// A folder only this user can enter: created 0700, or checked to be ours and made 0700.
fn private_dir(path: &Path) -> io::Result<()> {
    match DirBuilder::new().recursive(true).mode(0o700).create(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    let meta = std::fs::symlink_metadata(path)?;
    if !meta.is_dir() || meta.uid() != nix::unistd::getuid().as_raw() {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!("{} is not a folder owned by you", path.display()),
        ));
    }
    if meta.mode() & 0o077 != 0 {
        std::fs::set_permissions(path, Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// `$XDG_RUNTIME_DIR/orch`, else `/tmp/orch-<uid>`.
pub fn runtime_base() -> PathBuf {
    match std::env::var_os("XDG_RUNTIME_DIR") {
        Some(dir) if !dir.is_empty() && Path::new(&dir).is_absolute() => PathBuf::from(dir).join("orch"),
        _ => std::env::temp_dir().join(format!("orch-{}", nix::unistd::getuid())),
    }
}

/// The name of a project's socket folder: a hash of its root path.
pub fn project_hash(root: &Path) -> String {
    crate::hash::fnv1a_hex(root.as_os_str().as_encoded_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_stable_and_short() {
        assert_eq!(project_hash(Path::new("/home/me/project")), project_hash(Path::new("/home/me/project")));
        assert_ne!(project_hash(Path::new("/a")), project_hash(Path::new("/b")));
        let deep = "/x".repeat(200);
        let paths = ProjectPaths::new(Path::new(&deep));
        assert!(paths.socket().as_os_str().len() < 108 || std::env::var_os("XDG_RUNTIME_DIR").is_some());
    }
}
