//! Opening orch's own files under `.orch/` so that nothing planted there can redirect them: a
//! repository may commit `.orch/logs/web.log` as a link to `~/.bashrc`, or `state.json` as a
//! FIFO. Every file is opened without following a link (`O_NOFOLLOW`) and without blocking
//! (`O_NONBLOCK`), and is used only if it then turns out to be a regular file. Writers go
//! through a [`PrivateDir`]: a folder opened once, checked to be a real folder of this user
//! with mode 0700, and then used by descriptor (`openat`, `renameat`, `unlinkat`), so that
//! swapping the folder itself for a link after the check changes nothing either.

use std::ffi::OsStr;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag, openat, renameat};
use nix::sys::stat::{FileStat, Mode, SFlag, fchmod, fstat, mkdirat};
use nix::unistd::{UnlinkatFlags, unlinkat};

/// How a file is opened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Access {
    Read,
    /// Appended to, created 0600 if missing.
    Append,
    /// Read and written, created 0600 if missing, not truncated (a lock file).
    ReadWrite,
    /// Created 0600; an existing file of that name is an error.
    CreateNew,
}

impl Access {
    fn flags(self) -> OFlag {
        match self {
            Access::Read => OFlag::O_RDONLY,
            Access::Append => OFlag::O_WRONLY | OFlag::O_APPEND | OFlag::O_CREAT,
            Access::ReadWrite => OFlag::O_RDWR | OFlag::O_CREAT,
            Access::CreateNew => OFlag::O_WRONLY | OFlag::O_CREAT | OFlag::O_EXCL,
        }
    }
}

/// Opens a file for reading by path, refusing a link and anything but a regular file (a FIFO
/// would block `ps` and `logs` for ever). For readers of `.orch/` (`state.json`, logs).
pub(crate) fn open_read(path: &Path) -> io::Result<File> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let dir_fd = open_dir_fd(dir).map_err(|e| described(e, dir))?;
    let name = path.file_name().ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no file name"))?;
    open_in(dir_fd.as_fd(), name, Access::Read).map_err(|e| described(e, path))
}

/// [`open_read`], then the whole file.
pub(crate) fn read(path: &Path) -> io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    io::Read::read_to_end(&mut open_read(path)?, &mut bytes)?;
    Ok(bytes)
}

/// Removes what a process that is gone left at `path` (a socket) before binding there anew;
/// nothing there is no error.
pub(crate) fn remove_stale(path: &Path) -> io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// A folder of orch's own (`.orch/`, `.orch/logs/`), held open: a real folder (no link), owned
/// by this user, mode 0700. Files in it are opened and renamed relative to it.
#[derive(Debug)]
pub(crate) struct PrivateDir {
    fd: OwnedFd,
    path: PathBuf,
}

impl PrivateDir {
    /// Creates the folder (0700) if it is missing, and opens and checks it. Its parent must
    /// exist.
    pub(crate) fn create(path: &Path) -> io::Result<Self> {
        let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let name = path.file_name().ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no folder name"))?;
        let parent_fd = open_dir_fd(parent).map_err(|e| described(e, parent))?;
        Self::create_at(parent_fd.as_fd(), name, path.to_path_buf())
    }

    /// A folder inside this one, created 0700 if missing, and checked like this one.
    pub(crate) fn subdir(&self, name: &str) -> io::Result<Self> {
        check_name(name)?;
        Self::create_at(self.fd.as_fd(), OsStr::new(name), self.path.join(name))
    }

    fn create_at(parent: BorrowedFd, name: &OsStr, path: PathBuf) -> io::Result<Self> {
        match mkdirat(parent, name, Mode::S_IRWXU) {
            Ok(()) | Err(Errno::EEXIST) => {}
            Err(e) => return Err(described(e.into(), &path)),
        }
        let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
        let fd = openat(parent, name, flags, Mode::empty()).map_err(|e| described(e.into(), &path))?;
        let stat = fstat(&fd)?;
        if stat.st_uid != nix::unistd::geteuid().as_raw() {
            return Err(refused(&path, &format!("is owned by {}, not by you", owner_name(stat.st_uid))));
        }
        if stat.st_mode & 0o077 != 0 {
            fchmod(&fd, Mode::S_IRWXU)?;
        }
        Ok(Self { fd, path })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Opens a file of this folder, refusing a link or anything but a regular file.
    pub(crate) fn open(&self, name: &str, access: Access) -> io::Result<File> {
        check_name(name)?;
        open_in(self.fd.as_fd(), OsStr::new(name), access).map_err(|e| described(e, &self.path.join(name)))
    }

    /// Renames a file of this folder (a link is renamed as itself, never followed).
    pub(crate) fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        check_name(from)?;
        check_name(to)?;
        Ok(renameat(self.fd.as_fd(), from, self.fd.as_fd(), to)?)
    }

    /// Removes a file of this folder.
    pub(crate) fn remove(&self, name: &str) -> io::Result<()> {
        check_name(name)?;
        Ok(unlinkat(self.fd.as_fd(), name, UnlinkatFlags::NoRemoveDir)?)
    }

    /// Whether the folder holds an entry of that name, of whatever kind (a link is not followed).
    pub(crate) fn contains(&self, name: &str) -> bool {
        nix::sys::stat::fstatat(self.fd.as_fd(), name, AtFlags::AT_SYMLINK_NOFOLLOW).is_ok()
    }

    /// Flushes the folder's entries (after a rename) to disk.
    pub(crate) fn sync(&self) -> io::Result<()> {
        Ok(nix::unistd::fsync(&self.fd)?)
    }
}

/// One name inside a folder: never a path, never `.` or `..`.
fn check_name(name: &str) -> io::Result<()> {
    if name.is_empty() || name == "." || name == ".." || name.contains('/') || name.contains('\0') {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("`{name}` is not a file name")));
    }
    Ok(())
}

fn open_dir_fd(dir: &Path) -> io::Result<OwnedFd> {
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
    Ok(nix::fcntl::open(dir, flags, Mode::empty())?)
}

/// The one place files are opened: no link followed, no blocking on a FIFO, close-on-exec;
/// then it must be a regular file.
fn open_in(dir: BorrowedFd, name: &OsStr, access: Access) -> io::Result<File> {
    let flags = access.flags() | OFlag::O_NOFOLLOW | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC;
    let fd = openat(dir, name, flags, Mode::S_IRUSR | Mode::S_IWUSR)?;
    let stat = fstat(&fd)?;
    if !is_regular(&stat) {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, NOT_REGULAR));
    }
    let file = File::from(fd);
    // Regular files ignore O_NONBLOCK, but whoever gets the file need not know it was set.
    nix::fcntl::fcntl(&file, nix::fcntl::FcntlArg::F_SETFL(access.flags() & OFlag::O_APPEND))?;
    Ok(file)
}

const NOT_REGULAR: &str = "not a regular file";

fn is_regular(stat: &FileStat) -> bool {
    SFlag::from_bits_truncate(stat.st_mode & SFlag::S_IFMT.bits()) == SFlag::S_IFREG
}

/// An error that says which file and what to do about it.
fn described(error: io::Error, path: &Path) -> io::Error {
    match error.raw_os_error().map(Errno::from_raw) {
        // O_NOFOLLOW on a link gives ELOOP; with O_DIRECTORY, ENOTDIR.
        Some(Errno::ELOOP) => refused(path, "is a symbolic link, and orch does not follow links in .orch/"),
        Some(Errno::ENOTDIR) if is_link(path) => {
            refused(path, "is a symbolic link, and orch does not follow links in .orch/")
        }
        // A FIFO opened for writing with no reader.
        Some(Errno::ENXIO) => refused(path, "is not a regular file (a FIFO or a socket)"),
        _ if error.to_string() == NOT_REGULAR => refused(path, "is not a regular file (a FIFO, a device or a folder)"),
        _ => io::Error::new(error.kind(), format!("{}: {error}", path.display())),
    }
}

fn is_link(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
}

fn refused(path: &Path, why: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::PermissionDenied,
        format!("{} {why}; remove it and orch makes its own", path.display()),
    )
}

/// `alice (uid 1000)`, or `uid 1000` when the user is unknown.
pub(crate) fn owner_name(uid: u32) -> String {
    match nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid)) {
        Ok(Some(user)) => format!("{} (uid {uid})", user.name),
        _ => format!("uid {uid}"),
    }
}

/// A private folder at `path`, its parents created as needed: for tests.
#[cfg(test)]
pub(crate) fn private(path: &Path) -> PrivateDir {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("create the parents");
    }
    PrivateDir::create(path).expect("a private folder")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::os::unix::fs::PermissionsExt;

    fn error_of<T: std::fmt::Debug>(result: io::Result<T>) -> String {
        result.expect_err("should be refused").to_string()
    }

    #[test]
    fn a_link_is_never_followed_and_its_target_is_untouched() {
        let tmp = tempfile::tempdir().unwrap();
        let target = tmp.path().join("victim");
        std::fs::write(&target, "precious").unwrap();
        let dir = PrivateDir::create(&tmp.path().join(".orch")).unwrap();
        std::os::unix::fs::symlink(&target, dir.path().join("web.log")).unwrap();
        for access in [Access::Append, Access::ReadWrite, Access::CreateNew, Access::Read] {
            let message = error_of(dir.open("web.log", access));
            assert!(message.contains("web.log is a symbolic link") || access == Access::CreateNew, "{message}");
        }
        assert!(error_of(open_read(&dir.path().join("web.log"))).contains("symbolic link"));
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "precious");
        // A dangling link is not followed to create its target either.
        std::os::unix::fs::symlink(tmp.path().join("created"), dir.path().join("dangling")).unwrap();
        assert!(dir.open("dangling", Access::Append).is_err());
        assert!(!tmp.path().join("created").exists());
    }

    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = PrivateDir::create(&tmp.path().join(".orch")).unwrap();
        nix::unistd::mkfifo(&dir.path().join("state.json"), Mode::S_IRWXU).unwrap();
        for access in [Access::Read, Access::Append, Access::ReadWrite] {
            let message = error_of(dir.open("state.json", access));
            assert!(message.contains("state.json is not a regular file"), "{access:?}: {message}");
        }
        assert!(error_of(read(&dir.path().join("state.json"))).contains("not a regular file"));
    }

    #[test]
    fn a_linked_or_foreign_folder_is_refused_and_a_loose_one_tightened() {
        let tmp = tempfile::tempdir().unwrap();
        let elsewhere = tmp.path().join("elsewhere");
        std::fs::create_dir(&elsewhere).unwrap();
        std::os::unix::fs::symlink(&elsewhere, tmp.path().join(".orch")).unwrap();
        assert!(error_of(PrivateDir::create(&tmp.path().join(".orch"))).contains(".orch is a symbolic link"));
        let loose = tmp.path().join("loose");
        std::fs::create_dir(&loose).unwrap();
        std::fs::set_permissions(&loose, std::fs::Permissions::from_mode(0o777)).unwrap();
        let dir = PrivateDir::create(&loose).unwrap();
        assert_eq!(std::fs::metadata(&loose).unwrap().permissions().mode() & 0o777, 0o700);
        let logs = dir.subdir("logs").unwrap();
        assert_eq!(std::fs::metadata(logs.path()).unwrap().permissions().mode() & 0o777, 0o700);
        assert!(dir.subdir("../x").is_err() && dir.open("a/b", Access::Append).is_err());
    }

    #[test]
    fn files_are_created_0600_and_renamed_in_place() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = PrivateDir::create(&tmp.path().join(".orch")).unwrap();
        dir.open("a", Access::CreateNew).unwrap().write_all(b"one").unwrap();
        assert!(dir.open("a", Access::CreateNew).is_err());
        assert_eq!(std::fs::metadata(dir.path().join("a")).unwrap().permissions().mode() & 0o777, 0o600);
        dir.rename("a", "b").unwrap();
        let mut text = String::new();
        dir.open("b", Access::Read).unwrap().read_to_string(&mut text).unwrap();
        assert_eq!(text, "one");
        assert!(dir.contains("b") && !dir.contains("a"));
        dir.remove("b").unwrap();
        dir.sync().unwrap();
    }
}
