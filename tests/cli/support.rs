//! A temp project with files in it, and the real `orch` binary run inside it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus, Output, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

use assert_cmd::Command;
use tempfile::TempDir;

pub struct Project {
    dir: TempDir,
}

impl Project {
    pub fn new() -> Self {
        Self { dir: tempfile::tempdir().expect("a temp dir") }
    }

    /// A project in a temp folder under `parent` (on a small file system of its own, say).
    pub fn new_in(parent: &Path) -> Self {
        Self { dir: tempfile::tempdir_in(parent).expect("a temp dir") }
    }

    /// A project whose procs.toml is `text`.
    pub fn toml(text: &str) -> Self {
        Self::new().file("procs.toml", text)
    }

    pub fn file(self, name: &str, text: &str) -> Self {
        let path = self.dir.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create parent folders");
        }
        std::fs::write(path, text).expect("write a project file");
        self
    }

    pub fn path(&self) -> PathBuf {
        self.dir.path().canonicalize().expect("canonical temp dir")
    }

    /// `orch ARGS…` run in the project's root.
    pub fn orch(&self, args: &[&str]) -> Run {
        self.orch_in(&self.path(), args)
    }

    /// `orch ARGS…` run in a folder of the project (created if needed).
    pub fn orch_in(&self, dir: &Path, args: &[&str]) -> Run {
        std::fs::create_dir_all(dir).expect("create the working folder");
        let output = orch().current_dir(dir).args(args).output().expect("run orch");
        Run { output }
    }
}

/// The binary under test, with an environment that does not leak the developer's own.
pub fn orch() -> Command {
    let mut cmd = Command::cargo_bin("orch").expect("the orch binary");
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", std::env::temp_dir())
        .env("NO_COLOR", "1");
    cmd
}

pub struct Run {
    pub output: Output,
}

impl Run {
    pub fn code(&self) -> i32 {
        self.output.status.code().unwrap_or(-1)
    }

    pub fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    /// Asserts the exit code, showing both streams when it is not the one expected.
    pub fn expect_code(self, code: i32) -> Self {
        assert_eq!(self.code(), code, "exit code\n--- stdout:\n{}\n--- stderr:\n{}", self.stdout(), self.stderr());
        self
    }
}

// ----- running projects: helpers for the supervisor tests ---------------------------------------

/// The longest any single `orch` command of the supervisor tests may take before it is killed.
pub const ORCH_TIMEOUT: Duration = Duration::from_secs(20);

impl Project {
    /// `orch ARGS…` run in `dir`, killed if it takes longer than `timeout`.
    pub fn orch_within(&self, dir: &Path, timeout: Duration, args: &[&str]) -> Run {
        std::fs::create_dir_all(dir).expect("create the working folder");
        let output = orch().current_dir(dir).args(args).timeout(timeout).output().expect("run orch");
        Run { output }
    }

    /// `orch ARGS…` in the root, bounded by ORCH_TIMEOUT.
    pub fn run(&self, args: &[&str]) -> Run {
        self.orch_within(&self.path(), ORCH_TIMEOUT, args)
    }

    /// `orch up`, bounded.
    pub fn up(&self) -> Run {
        self.run(&["up"])
    }

    /// `orch ps --json`, parsed; panics unless it exits 0 with an array.
    pub fn ps_json(&self) -> serde_json::Value {
        let run = self.run(&["ps", "--json"]).expect_code(0);
        let value: serde_json::Value = serde_json::from_str(&run.stdout())
            .unwrap_or_else(|e| panic!("ps --json is not JSON ({e}):\n{}", run.stdout()));
        assert!(value.is_array(), "ps --json is not an array: {value}");
        value
    }

    /// One service's object of `ps --json`.
    pub fn service(&self, name: &str) -> serde_json::Value {
        let all = self.ps_json();
        all.as_array()
            .and_then(|rows| rows.iter().find(|r| r["name"] == name))
            .cloned()
            .unwrap_or_else(|| panic!("no `{name}` in ps --json: {all:#}"))
    }

    /// The pid `ps --json` gives for a service.
    pub fn pid(&self, name: &str) -> i32 {
        let svc = self.service(name);
        svc["pid"].as_i64().unwrap_or_else(|| panic!("no pid for `{name}`: {svc:#}")) as i32
    }

    /// What `.orch/supervisor.lock` says about the supervisor (`{"pid":…,"socket":…}`).
    pub fn lock_holder(&self) -> Option<serde_json::Value> {
        let text = std::fs::read(self.path().join(".orch/supervisor.lock")).ok()?;
        serde_json::from_slice(&text).ok()
    }

    /// The supervisor's pid as recorded in its lock file.
    pub fn supervisor_pid(&self) -> Option<i32> {
        Some(self.lock_holder()?["pid"].as_i64()? as i32)
    }

    /// The supervisor's socket as recorded in its lock file.
    pub fn socket(&self) -> Option<PathBuf> {
        Some(PathBuf::from(self.lock_holder()?["socket"].as_str()?))
    }

    /// A file of the project, as text (None when missing).
    pub fn read(&self, name: &str) -> Option<String> {
        std::fs::read_to_string(self.path().join(name)).ok()
    }

    pub fn exists(&self, name: &str) -> bool {
        self.path().join(name).exists()
    }

    /// The raw bytes of a service's log file, `.orch/logs/<svc>.log`.
    pub fn log_file(&self, service: &str) -> Vec<u8> {
        std::fs::read(self.path().join(format!(".orch/logs/{service}.log"))).unwrap_or_default()
    }

    /// Adds `listen.py`: `python3 listen.py PORT DELAY` listens on 127.0.0.1:PORT after DELAY
    /// seconds, prints `listening on PORT`, and accepts connections until killed.
    pub fn with_listener(self) -> Self {
        self.file("listen.py", LISTENER)
    }
}

const LISTENER: &str = r#"import socket, sys, time
time.sleep(float(sys.argv[2]))
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(16)
print("listening on", sys.argv[1], flush=True)
while True:
    c, _ = s.accept()
    c.close()
"#;

/// A TOML `cmd` array that runs the project's `listen.py` on `port` after `delay_secs`.
pub fn listener_cmd(port: u16, delay_secs: f64) -> String {
    format!(r#"["{}", "listen.py", "{port}", "{delay_secs}"]"#, python())
}

/// The real python3 executable (not a pyenv shim, whose start costs ~60 ms and whose pid is
/// a bash script's for a while).
pub fn python() -> &'static str {
    static PYTHON: OnceLock<String> = OnceLock::new();
    PYTHON.get_or_init(|| {
        let out = std::process::Command::new("python3")
            .args(["-c", "import sys; print(sys.executable)"])
            .output()
            .expect("python3 is needed by the supervisor tests");
        let path = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        assert!(!path.is_empty(), "python3 did not say where it is");
        path
    })
}

/// A TCP port that was free a moment ago (bound on 127.0.0.1:0, then closed).
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("its address").port()
}

/// Whether something accepts connections on 127.0.0.1:port.
pub fn port_open(port: u16) -> bool {
    std::net::TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_millis(200),
    )
    .is_ok()
}

/// Polls `cond` every 10 ms until it holds (true) or `timeout` passed (false).
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Nanosecond timestamps written by services with `date +%s%N >> FILE`, one per line.
pub fn stamps(text: &str) -> Vec<u128> {
    text.lines().filter_map(|l| l.trim().parse().ok()).collect()
}

/// Whatever a test started in this project goes when the project does, even when the test
/// failed: `orch down` (killed after 10 s), then SIGKILL by pid to every process that still
/// carries the project's marker, and the supervisor's socket folder is removed. The temp
/// folder itself is removed after this runs (fields drop after `drop`).
impl Drop for Project {
    fn drop(&mut self) {
        let Ok(root) = self.dir.path().canonicalize() else {
            return;
        };
        // A supervisor creates `.orch/` before anything else: without it, nothing ran here.
        if !root.join(".orch").exists() {
            return;
        }
        let socket = self.socket();
        if !crate::procs::supervisor_pids(&root).is_empty() {
            let _ = orch().current_dir(&root).arg("down").timeout(Duration::from_secs(10)).output();
        }
        crate::procs::kill_project(&root);
        if let Some(socket) = socket {
            let _ = std::fs::remove_file(&socket);
            if let Some(dir) = socket.parent() {
                let _ = std::fs::remove_dir(dir);
            }
        }
    }
}

/// The binary under test as a plain `std::process::Command`, for what must run alongside the
/// test (`orch logs -f`), with the same clean environment as `orch()`.
pub fn orch_std() -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_orch"));
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", std::env::temp_dir())
        .env("NO_COLOR", "1");
    cmd
}

// ----- editing the files of a running project (the reconcile tests) -----------------------------

impl Project {
    /// Replaces a file of the project in place (a plain save: truncate, then write).
    pub fn write(&self, name: &str, text: &str) {
        std::fs::write(self.path().join(name), text).expect("write a project file");
    }

    /// Replaces `from` by `to` in a file of the project; panics unless `from` is in it.
    pub fn edit(&self, name: &str, from: &str, to: &str) {
        let text = self.read(name).unwrap_or_else(|| panic!("no {name} to edit"));
        assert!(text.contains(from), "`{from}` is not in {name}:\n{text}");
        self.write(name, &text.replacen(from, to, 1));
    }

    /// `.orch/state.json`, parsed; None when missing or not JSON.
    pub fn state_json(&self) -> Option<serde_json::Value> {
        serde_json::from_str(&self.read(".orch/state.json")?).ok()
    }

    /// orch's own lines (`reload: …`), read straight from `.orch/logs/orch.log`: the text of
    /// each record `2026-11-25T07:42:09.123456Z out TEXT`.
    pub fn orch_lines(&self) -> Vec<String> {
        self.read(".orch/logs/orch.log")
            .unwrap_or_default()
            .lines()
            .filter_map(|record| Some(record.splitn(3, ' ').nth(2)?.to_owned()))
            .collect()
    }
}

// ----- commands that run beside a test ---------------------------------------------------------

/// An orch command running beside the test (`orch logs -f`, an `orch up` to interrupt), its
/// stdout read line by line as it comes; SIGKILLed by pid and reaped when dropped.
pub struct Beside {
    child: Child,
    lines: Receiver<String>,
    /// Every line read so far.
    pub seen: Vec<String>,
    /// How many of them `next_match` has looked at.
    matched: usize,
    stderr: Option<std::thread::JoinHandle<String>>,
}

impl Beside {
    pub fn start(project: &Project, args: &[&str]) -> Self {
        Self::start_with(project, args, &[])
    }

    /// [`Beside::start`] with these variables set over the clean environment.
    pub fn start_with(project: &Project, args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut child = orch_std()
            .envs(env.iter().copied())
            .current_dir(project.path())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn orch beside the test");
        let stdout = child.stdout.take().expect("its stdout");
        let mut stderr = child.stderr.take().expect("its stderr");
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = std::io::Read::read_to_string(&mut stderr, &mut text);
            text
        });
        Self { child, lines, seen: Vec::new(), matched: 0, stderr: Some(stderr) }
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// The next line that matches, among those after the last one looked at by an earlier
    /// call (so each call waits for something new); None when `within` passed or the output
    /// ended first.
    pub fn next_match(&mut self, within: Duration, mut matches: impl FnMut(&str) -> bool) -> Option<String> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(at) = self.seen[self.matched..].iter().position(|l| matches(l)) {
                self.matched += at + 1;
                return Some(self.seen[self.matched - 1].clone());
            }
            self.matched = self.seen.len();
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => self.seen.push(line),
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => return None,
            }
        }
    }

    /// Waits until the process exits; then reads the rest of its output. None if it is still
    /// running after `within`.
    pub fn wait_exit(&mut self, within: Duration) -> Option<ExitStatus> {
        let mut status = None;
        wait_until(within, || {
            status = self.child.try_wait().ok().flatten();
            status.is_some()
        });
        let status = status?;
        // Its stdout is closed now: what is left in the pipe comes at once.
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(2)) {
            self.seen.push(line);
        }
        Some(status)
    }

    /// Its stderr, once it has exited.
    pub fn stderr(&mut self) -> String {
        self.stderr.take().and_then(|t| t.join().ok()).unwrap_or_default()
    }
}

impl Drop for Beside {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
