//! 9.12–9.14: a full disk and too few file descriptors. The supervisor survives them and says
//! so — once per episode in supervisor.log, for as long as it lasts in `ps` — and a stopped
//! service's log is closed, so deleting it frees the disk.

use std::path::{Path, PathBuf};

use super::{TIMEOUT, is_root};
use crate::procs::{is_alive, pids_of};
use crate::support::{Project, python, wait_until};

/// A small tmpfs of its own, unmounted when dropped. Needs root.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(test: &str, size: &str) -> Option<Self> {
        if !is_root() {
            eprintln!("{test}: skipped, it needs root to mount a small tmpfs (CI runs as root)");
            return None;
        }
        let dir = tempfile::tempdir().expect("a mount point");
        let options = format!("size={size},mode=0700");
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &options, "tmpfs"])
            .arg(dir.path())
            .status()
            .expect("run mount");
        assert!(mounted.success(), "mount -t tmpfs failed");
        Some(Self { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Fills it up with one file; returns the file.
    fn fill(&self) -> PathBuf {
        use std::io::Write;
        let path = self.path().join("filler");
        let mut file = std::fs::File::create(&path).expect("create the filler");
        let chunk = vec![0u8; 4096];
        while file.write_all(&chunk).is_ok() {}
        path
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg("-l").arg(self.dir.path()).status();
    }
}

const NOISY: &str = "import time\ni = 0\nwhile True:\n    print(f'line {i} ' + 'x' * 80, flush=True)\n    i += 1\n    time.sleep(0.002)\n";

fn notes(project: &Project) -> String {
    project.run(&["ps"]).expect_code(0).stderr()
}

#[test]
fn a_full_disk_is_survived_and_said_once_per_episode() {
    let Some(disk) = Tmpfs::mount("a_full_disk_is_survived_and_said_once_per_episode", "2m") else { return };
    let manifest = format!(
        "[services.noisy]\ncmd = [\"{}\", \"noisy.py\"]\n[services.quiet]\ncmd = \"exec sleep 1000\"\n",
        python()
    );
    let project = Project::new_in(disk.path()).file("procs.toml", &manifest).file("noisy.py", NOISY);
    project.up().expect_code(0);
    let supervisor = project.supervisor_pid().expect("a supervisor");
    assert!(wait_until(TIMEOUT, || !project.log_file("noisy").is_empty()));

    let filler = disk.fill();
    let mut row = serde_json::Value::Null;
    let dropping = wait_until(TIMEOUT, || {
        row = project.service("noisy");
        row["log_error"].is_string() && row["log_dropped_bytes"].as_u64() > Some(0)
    });
    assert!(dropping, "ps --json does not say noisy's lines are dropped: {row:#}");
    assert!(row["log_error"].as_str().unwrap().contains("No space left on device"), "{row:#}");
    let said = notes(&project);
    assert!(said.contains("orch: noisy: log lines are being dropped (") && said.contains("bytes so far"), "{said}");
    // A change that must be recorded: the state file cannot be saved either.
    project.run(&["restart", "quiet"]).expect_code(0);
    let unsaved = wait_until(TIMEOUT, || notes(&project).contains("cannot save"));
    assert!(unsaved, "ps does not say the state cannot be saved: {}", notes(&project));
    let quiet = project.pid("quiet");
    let dropped_so_far = project.service("noisy")["log_dropped_bytes"].as_u64().unwrap();
    assert!(wait_until(TIMEOUT, || project.service("noisy")["log_dropped_bytes"].as_u64() > Some(dropped_so_far)));
    assert!(is_alive(supervisor), "the supervisor died of the full disk");

    std::fs::remove_file(filler).unwrap();
    let recovered =
        wait_until(TIMEOUT, || project.service("noisy")["log_error"].is_null() && !notes(&project).contains("orch: "));
    assert!(recovered, "still troubled after the disk has room: {}", notes(&project));
    let log = project.read(".orch/supervisor.log").unwrap_or_default();
    for (line, times) in [
        ("noisy: cannot write its log", 1),
        ("noisy: its log is written again; ", 1),
        ("cannot save", 1),
        ("state.json is saved again", 1),
    ] {
        assert_eq!(log.matches(line).count(), times, "`{line}` in supervisor.log:\n{log}");
    }
    // Nothing half-written: every line of the log is a whole record.
    let text = String::from_utf8_lossy(&project.log_file("noisy")).into_owned();
    for line in text.lines() {
        assert!(line.starts_with("20") && line.contains("Z out line "), "a broken record: {line:?}");
    }
    assert_eq!(project.pid("quiet"), quiet);
    assert_eq!(pids_of(&project.path(), "quiet"), [quiet]);
    project.run(&["down"]).expect_code(0);
}

/// The files a process holds open.
fn open_files(pid: i32) -> Vec<PathBuf> {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else { return Vec::new() };
    fds.filter_map(Result::ok).filter_map(|fd| std::fs::read_link(fd.path()).ok()).collect()
}

#[test]
fn a_stopped_services_log_file_is_closed() {
    let project = Project::toml(
        "[services.web]\ncmd = \"echo hello; exec sleep 1000\"\n[services.db]\ncmd = \"exec sleep 1000\"\n",
    );
    project.up().expect_code(0);
    let supervisor = project.supervisor_pid().expect("a supervisor");
    let log = project.path().join(".orch/logs/web.log");
    assert!(open_files(supervisor).contains(&log), "web.log is not open while web runs");
    project.run(&["stop", "web"]).expect_code(0);
    let closed = wait_until(TIMEOUT, || !open_files(supervisor).contains(&log));
    assert!(closed, "web.log is still open after `orch stop web`: {:?}", open_files(supervisor));
    project.run(&["down"]).expect_code(0);
}

/// `orch ARGS…` in the project, run by `sh` after `ulimit LIMIT` (so the supervisor it starts
/// has that limit too), bounded.
fn under_ulimit(project: &Project, limit: &str, args: &[&str]) -> crate::support::Run {
    let mut cmd = assert_cmd::Command::new("sh");
    cmd.arg("-c")
        .arg(format!("ulimit {limit} && exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_orch"))
        .args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", std::env::temp_dir())
        .env("NO_COLOR", "1")
        .current_dir(project.path())
        .timeout(2 * TIMEOUT);
    crate::support::Run { output: cmd.output().expect("run sh") }
}

/// `n` sleepers, `s1` … `sN`.
fn sleepers(n: usize) -> String {
    (1..=n).map(|i| format!("[services.s{i}]\ncmd = \"exec sleep 1000\"\n")).collect()
}

/// The soft and hard "Max open files" of a process.
fn fd_limits(pid: i32) -> (String, String) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap_or_default();
    let line = limits.lines().find(|l| l.starts_with("Max open files")).unwrap_or_default().to_owned();
    let fields: Vec<&str> = line.split_whitespace().collect();
    (fields.get(3).unwrap_or(&"").to_string(), fields.get(4).unwrap_or(&"").to_string())
}

#[test]
fn with_ulimit_n_64_services_start_and_keep_their_spare_pipe_ends() {
    let project = Project::toml(&sleepers(4));
    under_ulimit(&project, "-n 64", &["up"]).expect_code(0);
    for i in 1..=4 {
        let pid = project.pid(&format!("s{i}"));
        assert_eq!(fd_limits(pid).0, "64", "s{i}");
        // Besides 0, 1 and 2, it holds a spare end of its stdout and of its stderr pipe.
        let files = open_files(pid);
        let spare = |fd: i32| {
            let pipe = std::fs::read_link(format!("/proc/{pid}/fd/{fd}")).ok();
            files.iter().filter(|f| Some(*f) == pipe.as_ref()).count() == 2
        };
        assert!(spare(1) && spare(2), "s{i}: {files:?}");
    }
    project.run(&["down"]).expect_code(0);
}

#[test]
fn the_supervisor_raises_its_soft_fd_limit_and_gives_services_the_users() {
    let project = Project::toml(&sleepers(20));
    under_ulimit(&project, "-Sn 64", &["up"]).expect_code(0);
    let supervisor = project.supervisor_pid().expect("a supervisor");
    let (soft, hard) = fd_limits(supervisor);
    assert_eq!(soft, hard, "the supervisor's soft limit was not raised");
    let rows = project.ps_json();
    assert_eq!(rows.as_array().unwrap().iter().filter(|r| r["state"] == "running").count(), 20, "{rows:#}");
    assert_eq!(fd_limits(project.pid("s20")).0, "64");
    project.run(&["down"]).expect_code(0);
}

#[test]
fn running_out_of_fds_is_said_once_and_clearly() {
    let project = Project::toml(&sleepers(20));
    let up = under_ulimit(&project, "-n 64", &["up"]).expect_code(1);
    let out = up.stdout();
    assert!(out.contains("not started: orch is out of file descriptors (its limit is 64; raise `ulimit -n`)"), "{out}");
    assert!(!out.contains("restarts") && !out.contains("Too many open files"), "{out}");
    let log = project.read(".orch/supervisor.log").unwrap_or_default();
    assert_eq!(log.matches("out of file descriptors (this supervisor may open 64)").count(), 1, "{log}");
    let running = project.ps_json().as_array().unwrap().iter().filter(|r| r["state"] == "running").count();
    assert!(running > 0, "not a single service could start");
    project.run(&["down"]).expect_code(0);
}

#[test]
fn the_accept_loop_backs_off_when_out_of_fds() {
    let project = Project::toml(&sleepers(2));
    under_ulimit(&project, "-n 40", &["up"]).expect_code(0);
    let supervisor = project.supervisor_pid().expect("a supervisor");
    let socket = project.socket().expect("its socket");
    // Connections that say nothing hold a descriptor each, until none is left to accept with.
    let held: Vec<_> = (0..60).filter_map(|_| std::os::unix::net::UnixStream::connect(&socket).ok()).collect();
    let said = wait_until(TIMEOUT, || {
        project.read(".orch/supervisor.log").is_some_and(|l| l.contains("cannot accept connections"))
    });
    assert!(said, "{:?}", project.read(".orch/supervisor.log"));
    let before = crate::procs::cpu_ticks(supervisor);
    std::thread::sleep(std::time::Duration::from_secs(1));
    let spent = crate::procs::cpu_ticks(supervisor) - before;
    assert!(spent < 20, "the supervisor spun: {spent} ticks of cpu in a second");
    drop(held);
    project.run(&["ps"]).expect_code(0);
    let log = project.read(".orch/supervisor.log").unwrap_or_default();
    assert_eq!(log.matches("cannot accept connections").count(), 1, "{log}");
    project.run(&["down"]).expect_code(0);
}
