//! Whose files orch takes instructions from. A manifest, a `.env` or an `env_file` says what
//! runs, as the user who runs orch; one that another user can write would let that user run
//! commands as this one (as root, on a shared machine). So, like git's `safe.directory`, orch
//! reads such a file only when it belongs to the user or to root, or when the user said they
//! trust its folder:
//!
//! - `ORCH_TRUSTED`: folders separated by `:` (or `*` for all), for one command or a session;
//! - `~/.config/orch/trusted` (`$XDG_CONFIG_HOME/orch/trusted`): one folder a line (or `*`),
//!   `#` comments; honoured only when it is the user's own file (or root's).
//!
//! A trusted folder covers every file under it. The environment looked at is the one the
//! manifest is loaded with, so a supervisor's hot reload honours what the client that started
//! it had.

use std::io::{self, Read};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use super::BaseEnv;

/// The variable that names trusted folders.
pub(crate) const TRUSTED_VAR: &str = "ORCH_TRUSTED";

/// Reads a file that decides what runs, if its owner may decide that (see the module's text).
/// The owner is the one of the file actually opened (fstat), so no swap in between can fool it.
pub(crate) fn read_trusted(path: &Path, env: &BaseEnv) -> io::Result<String> {
    // Not blocking on a FIFO planted as an env_file.
    let mut file = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "it is not a regular file"));
    }
    let owner = meta.uid();
    if !owner_is_trusted(owner) && !folder_is_trusted(path, env) {
        return Err(untrusted(path, owner, env));
    }
    let mut text = String::new();
    file.read_to_string(&mut text)?;
    Ok(text)
}

/// This user, or root.
fn owner_is_trusted(owner: u32) -> bool {
    owner == 0 || owner == nix::unistd::geteuid().as_raw()
}

fn folder_is_trusted(path: &Path, env: &BaseEnv) -> bool {
    let file = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    let listed: Vec<String> =
        env.get(TRUSTED_VAR).map(|v| v.split(':').map(str::to_owned).collect()).unwrap_or_default();
    let configured = config_file(env).map(|f| trusted_in(&f)).unwrap_or_default();
    listed.into_iter().chain(configured).any(|folder| covers(&folder, &file))
}

/// Whether a trusted entry covers a file: `*`, or a folder above it.
fn covers(entry: &str, file: &Path) -> bool {
    let entry = entry.trim();
    if entry == "*" {
        return true;
    }
    if entry.is_empty() || !Path::new(entry).is_absolute() {
        return false;
    }
    let folder = Path::new(entry).canonicalize().unwrap_or_else(|_| PathBuf::from(entry));
    file.starts_with(folder)
}

/// `$XDG_CONFIG_HOME/orch/trusted`, else `$HOME/.config/orch/trusted`.
fn config_file(env: &BaseEnv) -> Option<PathBuf> {
    let base = match env.get("XDG_CONFIG_HOME").filter(|d| Path::new(d).is_absolute()) {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env.get("HOME").filter(|d| Path::new(d).is_absolute())?).join(".config"),
    };
    Some(base.join("orch").join("trusted"))
}

/// The entries of a trust file the user (or root) owns; none from anyone else's.
fn trusted_in(file: &Path) -> Vec<String> {
    let Ok(mut opened) = std::fs::File::open(file) else { return Vec::new() };
    let mut text = String::new();
    let owned = opened.metadata().is_ok_and(|m| owner_is_trusted(m.uid()));
    if !owned || opened.read_to_string(&mut text).is_err() {
        return Vec::new();
    }
    text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).map(str::to_owned).collect()
}

fn untrusted(path: &Path, owner: u32, env: &BaseEnv) -> io::Error {
    let parent = path.parent().unwrap_or(Path::new("/"));
    let folder = parent.canonicalize().unwrap_or_else(|_| parent.to_path_buf());
    let config = config_file(env).map_or("~/.config/orch/trusted".to_owned(), |f| f.display().to_string());
    io::Error::new(
        io::ErrorKind::PermissionDenied,
        format!(
            "it belongs to {}, not to you, and orch would run what it says as you; if you trust the files \
             in {folder}, add that folder to {config} (one folder a line, or `*`), or set \
             {TRUSTED_VAR}={folder}",
            crate::safe_fs::owner_name(owner),
            folder = folder.display(),
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BaseEnv {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let tmp = tempfile::tempdir().unwrap();
        let fifo = tmp.path().join(".env.db");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        let error = read_trusted(&fifo, &BaseEnv::new()).unwrap_err();
        assert_eq!(error.to_string(), "it is not a regular file");
    }

    #[test]
    fn own_and_root_files_are_read() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join(".env");
        std::fs::write(&file, "A=1\n").unwrap();
        assert_eq!(read_trusted(&file, &BaseEnv::new()).unwrap(), "A=1\n");
        assert!(
            read_trusted(Path::new("/etc/hostname"), &BaseEnv::new()).is_ok() || !Path::new("/etc/hostname").exists()
        );
        assert!(owner_is_trusted(0) && owner_is_trusted(nix::unistd::geteuid().as_raw()));
    }

    #[test]
    fn a_folder_is_trusted_by_the_variable_or_the_config_file() {
        let tmp = tempfile::tempdir().unwrap();
        let project = tmp.path().canonicalize().unwrap().join("project");
        std::fs::create_dir_all(project.join("sub")).unwrap();
        let file = project.join("sub/.env");
        std::fs::write(&file, "").unwrap();
        let shown = project.display().to_string();
        assert!(!folder_is_trusted(&file, &BaseEnv::new()));
        assert!(folder_is_trusted(&file, &env(&[(TRUSTED_VAR, &format!("/nowhere:{shown}"))])));
        assert!(folder_is_trusted(&file, &env(&[(TRUSTED_VAR, "*")])));
        assert!(!folder_is_trusted(&file, &env(&[(TRUSTED_VAR, "relative:/nowhere")])));
        let home = tmp.path().join("home");
        std::fs::create_dir_all(home.join(".config/orch")).unwrap();
        std::fs::write(home.join(".config/orch/trusted"), format!("# mine\n\n  {shown}  \n")).unwrap();
        let home_env = env(&[("HOME", home.to_str().unwrap())]);
        assert!(folder_is_trusted(&file, &home_env));
        let xdg = env(&[("HOME", home.to_str().unwrap()), ("XDG_CONFIG_HOME", "/nowhere")]);
        assert!(!folder_is_trusted(&file, &xdg), "XDG_CONFIG_HOME comes first");
    }

    #[test]
    fn the_refusal_names_the_owner_and_both_ways_to_opt_in() {
        let error = untrusted(Path::new("/srv/shared/app/.env"), 4242, &env(&[("HOME", "/home/me")]));
        // As `orch check` shows it (the manifest loader says which file it could not read).
        let problem = crate::manifest::Problem::error(format!("cannot read .env: {error}"));
        insta::assert_snapshot!(crate::terminal::problem(&problem, false));
    }
}
