//! orch under hostile files, other users and exhausted resources (issue 9): what a cloned
//! repository may plant in `.orch/`, names that come from outside the manifest, files and
//! processes of another user, control sequences in what services say, malformed input, a full
//! disk and too few file descriptors. The other-user tests need root (CI runs as root); without
//! it they say so and pass.

mod adoption;
mod files;
mod names;
mod ownership;
mod resources;
mod text;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use crate::support::Project;

/// The bound of every wait here.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// A sleeper service.
pub fn sleeper(name: &str) -> String {
    format!("[services.{name}]\ncmd = \"exec sleep 1000\"\n")
}

/// A file outside the project that a planted link points at: it must stay as it is.
pub struct Victim {
    _dir: tempfile::TempDir,
    pub path: PathBuf,
}

const PRECIOUS: &str = "precious\n";

impl Victim {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("a temp dir");
        let path = dir.path().join("victim");
        std::fs::write(&path, PRECIOUS).expect("write the victim");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod the victim");
        Self { _dir: dir, path }
    }

    /// A path beside the victim that does not exist (for dangling links).
    pub fn missing(&self) -> PathBuf {
        self.path.with_file_name("created-through-a-link")
    }

    pub fn assert_untouched(&self, what: &str) {
        let text = std::fs::read_to_string(&self.path).unwrap_or_default();
        assert_eq!(text, PRECIOUS, "{what}: the file behind the link was written");
        let mode = std::fs::metadata(&self.path).map(|m| m.permissions().mode() & 0o777).unwrap_or(0);
        assert_eq!(mode, 0o644, "{what}: the file behind the link was chmodded");
        assert!(!self.missing().exists(), "{what}: a file was created through a dangling link");
    }
}

/// `.orch/` and `.orch/logs/` as orch makes them, for planting things in.
pub fn orch_dirs(project: &Project) -> PathBuf {
    let dir = project.path().join(".orch");
    std::fs::create_dir_all(dir.join("logs")).expect("create .orch/logs");
    for d in [dir.clone(), dir.join("logs")] {
        std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o700)).expect("chmod .orch");
    }
    dir
}

pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// Another user, for the tests that need one: created with `useradd` when missing (and then
/// removed with `userdel` once the last test that uses it is done). None, with a message, when
/// not running as root.
pub struct OtherUser {
    pub name: &'static str,
    pub uid: u32,
    pub gid: u32,
}

const OTHER_USER: &str = "orch-test-other";

/// How many tests use the other user now, and whether these tests created it.
static OTHER_USERS: Mutex<(usize, bool)> = Mutex::new((0, false));

impl OtherUser {
    pub fn get(test: &str) -> Option<Self> {
        if !is_root() {
            eprintln!("{test}: skipped, it needs root to create another user (CI runs as root)");
            return None;
        }
        let mut users = OTHER_USERS.lock().unwrap_or_else(|e| e.into_inner());
        if users.0 == 0 && lookup(OTHER_USER).is_none() {
            let made = std::process::Command::new("useradd")
                .args(["--system", "--no-create-home", "--shell", "/usr/sbin/nologin", OTHER_USER])
                .status()
                .expect("run useradd");
            assert!(made.success() || lookup(OTHER_USER).is_some(), "useradd {OTHER_USER} failed");
            users.1 = true;
        }
        users.0 += 1;
        let (uid, gid) = lookup(OTHER_USER).expect("the user just made");
        Some(Self { name: OTHER_USER, uid, gid })
    }

    /// Gives a file to this user.
    pub fn chown(&self, path: &Path) {
        std::os::unix::fs::chown(path, Some(self.uid), Some(self.gid)).expect("chown");
    }
}

impl Drop for OtherUser {
    fn drop(&mut self) {
        let mut users = OTHER_USERS.lock().unwrap_or_else(|e| e.into_inner());
        users.0 -= 1;
        if users.0 == 0 && users.1 {
            let _ = std::process::Command::new("userdel").arg(OTHER_USER).status();
            users.1 = false;
        }
    }
}

fn lookup(name: &str) -> Option<(u32, u32)> {
    let user = nix::unistd::User::from_name(name).ok()??;
    Some((user.uid.as_raw(), user.gid.as_raw()))
}

/// A process the test starts itself, carrying a project's markers as orch's services do,
/// leading its own process group; as another user when given one. SIGKILLed and reaped by pid
/// when dropped, even when the test failed.
pub struct Marked(std::process::Child);

impl Marked {
    pub fn spawn(root: &Path, service: &str, user: Option<&OtherUser>) -> Self {
        use std::os::unix::process::CommandExt;
        let mut cmd = std::process::Command::new("sleep");
        cmd.arg("1000")
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("ORCH_PROJECT", root)
            .env("ORCH_SERVICE", service)
            .process_group(0)
            .stdin(std::process::Stdio::null());
        if let Some(user) = user {
            cmd.uid(user.uid).gid(user.gid).current_dir("/");
        }
        let marked = Self(cmd.spawn().expect("spawn sleep"));
        let pid = marked.pid();
        // Its environment shows once it runs `sleep` itself.
        let ready = crate::support::wait_until(TIMEOUT, || crate::procs::env_var(pid, "ORCH_SERVICE").is_some());
        assert!(ready, "the marked process {pid} never showed its marker");
        marked
    }

    pub fn pid(&self) -> i32 {
        self.0.id() as i32
    }
}

impl Drop for Marked {
    fn drop(&mut self) {
        crate::procs::sigkill(self.pid());
        let _ = self.0.wait();
    }
}
