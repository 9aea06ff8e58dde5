//! Where a running project keeps its files: `.orch/` beside the manifest (state, lock, logs,
//! supervisor.log) and the socket under the user's runtime folder, named by a hash of the
//! project root so that a deep project path never exceeds the 108-byte socket path limit.
//!
//! The socket's folder is chosen from the environment of whoever starts the supervisor
//! (`$XDG_RUNTIME_DIR/orch`, else `/tmp/orch-<uid>`), and the supervisor records it in its
//! lock file: every other client reads it there, so clients with other environments (an MCP
//! client's is stripped, a desktop terminal's has `XDG_RUNTIME_DIR`) reach the same supervisor.

use std::fs::DirBuilder;
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, MetadataExt};
use std::path::{Path, PathBuf};

use crate::safe_fs::{Access, PrivateDir};

/// The files of one project.
#[derive(Clone, Debug)]
pub(crate) struct ProjectPaths {
    /// The project root (the manifest's folder), canonical.
    pub(crate) root: PathBuf,
    /// `<root>/.orch`
    pub(crate) dir: PathBuf,
    /// The socket's folder, private to this user (for a supervisor started from here).
    pub(crate) runtime_dir: PathBuf,
    /// Why `runtime_dir` is not under `$XDG_RUNTIME_DIR` although it is set, if so.
    pub(crate) runtime_note: Option<String>,
}

impl ProjectPaths {
    pub(crate) fn new(root: &Path) -> Self {
        let root = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
        let hash = project_hash(&root);
        let mut runtime_dir = runtime_base().join(&hash);
        let mut runtime_note = None;
        if runtime_dir.join(SOCKET_NAME).as_os_str().len() > MAX_SOCKET_PATH {
            runtime_note = Some(format!(
                "$XDG_RUNTIME_DIR is too long for a socket path ({} bytes at most); using {}",
                MAX_SOCKET_PATH,
                fallback_base().display()
            ));
            runtime_dir = fallback_base().join(&hash);
        }
        Self { dir: root.join(".orch"), root, runtime_dir, runtime_note }
    }

    pub(crate) fn state(&self) -> PathBuf {
        self.dir.join("state.json")
    }

    pub(crate) fn lock(&self) -> PathBuf {
        self.dir.join("supervisor.lock")
    }

    pub(crate) fn supervisor_log(&self) -> PathBuf {
        self.dir.join("supervisor.log")
    }

    pub(crate) fn logs(&self) -> PathBuf {
        self.dir.join("logs")
    }

    pub(crate) fn socket(&self) -> PathBuf {
        self.runtime_dir.join(SOCKET_NAME)
    }

    /// Creates `.orch/` (0700, with a `.gitignore` holding `*`) and its `logs/`, and returns
    /// `.orch/`, checked (see [`PrivateDir`]).
    pub(crate) fn create_dirs(&self) -> io::Result<PrivateDir> {
        let dir = PrivateDir::create(&self.dir)?;
        dir.subdir("logs")?;
        // Whatever is there already (even a link) is left alone, never written through; and
        // two commands at once may both find it missing: the second finds it made.
        if !dir.contains(".gitignore") {
            match dir.open(".gitignore", Access::CreateNew) {
                Ok(mut file) => file.write_all(b"*\n")?,
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e),
            }
        }
        Ok(dir)
    }

    /// `.orch/logs/`, created and checked.
    pub(crate) fn logs_dir(&self) -> io::Result<PrivateDir> {
        self.create_dirs()?.subdir("logs")
    }

    /// Creates the socket's folder (and its parent) 0700, refusing one that is not a folder of
    /// this user's that only this user can enter; the error names the folder and what is wrong.
    pub(crate) fn create_runtime_dir(&self) -> io::Result<()> {
        if let Some(parent) = self.runtime_dir.parent() {
            runtime_folder(parent)?;
        }
        runtime_folder(&self.runtime_dir)
    }
}

const SOCKET_NAME: &str = "orch.sock";

/// The longest path a Unix socket can be bound at (`sun_path` is 108 bytes with its NUL).
const MAX_SOCKET_PATH: usize = 107;

/// A socket folder of ours: created 0700, or found to be a real folder (not a link) owned by
/// this user that nobody else can write to or enter.
fn runtime_folder(path: &Path) -> io::Result<()> {
    match DirBuilder::new().mode(0o700).create(path) {
        Ok(()) => return Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(io::Error::new(e.kind(), format!("cannot create {}: {e}", path.display()))),
    }
    check_private_folder(path)
}

/// Refuses a socket folder that someone else could have prepared: not a folder, owned by
/// another user, or open to others (as OpenSSH refuses a key file others can read).
pub(crate) fn check_private_folder(path: &Path) -> io::Result<()> {
    let refuse =
        |why: String| Err(io::Error::new(io::ErrorKind::PermissionDenied, format!("{}: {why}", path.display())));
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) => return Err(io::Error::new(e.kind(), format!("{}: {e}", path.display()))),
    };
    let me = nix::unistd::getuid().as_raw();
    if !meta.is_dir() {
        return refuse("it is not a folder (a link or a file is not trusted)".into());
    }
    if meta.uid() != me {
        return refuse(format!("it belongs to uid {}, not to you (uid {me}); orch will not use it", meta.uid()));
    }
    if meta.mode() & 0o077 != 0 {
        return refuse(format!(
            "others can enter it (mode {:o}); orch wants it private: `chmod 700 {}`",
            meta.mode() & 0o777,
            path.display()
        ));
    }
    Ok(())
}

/// `$XDG_RUNTIME_DIR/orch`, else `/tmp/orch-<uid>`.
pub(crate) fn runtime_base() -> PathBuf {
    match std::env::var_os("XDG_RUNTIME_DIR") {
        Some(dir) if !dir.is_empty() && Path::new(&dir).is_absolute() => PathBuf::from(dir).join("orch"),
        _ => fallback_base(),
    }
}

/// `/tmp/orch-<uid>`: derived from the user alone, and short.
fn fallback_base() -> PathBuf {
    PathBuf::from("/tmp").join(format!("orch-{}", nix::unistd::getuid()))
}

/// The name of a project's socket folder: a hash of its root path.
pub(crate) fn project_hash(root: &Path) -> String {
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
