//! What runs, read straight from /proc — never from orch's own answers — and the last-resort
//! cleanup of a test project: every process that carries the project's marker is SIGKILLed by
//! pid (never by name).

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// Set by orch on every child of a service: the canonical project root.
pub const PROJECT_VAR: &str = "ORCH_PROJECT";
/// Set by orch on every child of a service: the service's name.
pub const SERVICE_VAR: &str = "ORCH_SERVICE";
/// Set by orch on its background supervisor: the project root it serves.
pub const SUPERVISOR_VAR: &str = "ORCH_SUPERVISOR";

/// Every pid in /proc right now.
pub fn all_pids() -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(Result::ok).filter_map(|e| e.file_name().to_str()?.parse().ok()).collect()
}

/// The environment a process was started with; None when it is gone (or a zombie, whose
/// environ reads empty).
pub fn environ(pid: i32) -> Option<Vec<(Vec<u8>, Vec<u8>)>> {
    let bytes = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
    if bytes.is_empty() {
        return None;
    }
    Some(
        bytes
            .split(|b| *b == 0)
            .filter_map(|kv| {
                let eq = kv.iter().position(|b| *b == b'=')?;
                Some((kv[..eq].to_vec(), kv[eq + 1..].to_vec()))
            })
            .collect(),
    )
}

/// One variable of a process's start environment.
pub fn env_var(pid: i32, key: &str) -> Option<String> {
    environ(pid)?.into_iter().find(|(k, _)| k == key.as_bytes()).map(|(_, v)| String::from_utf8_lossy(&v).into_owned())
}

fn var_is(env: &[(Vec<u8>, Vec<u8>)], key: &str, value: &Path) -> bool {
    env.iter().any(|(k, v)| k == key.as_bytes() && OsStr::from_bytes(v) == value.as_os_str())
}

/// Live processes of the project's services: (pid, service), found by the ORCH_PROJECT marker.
pub fn marked_pids(root: &Path) -> Vec<(i32, String)> {
    let mut found: Vec<(i32, String)> = all_pids()
        .into_iter()
        .filter(|pid| is_alive(*pid))
        .filter_map(|pid| {
            let env = environ(pid)?;
            if !var_is(&env, PROJECT_VAR, root) {
                return None;
            }
            let service = env
                .iter()
                .find(|(k, _)| k == SERVICE_VAR.as_bytes())
                .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
                .unwrap_or_default();
            Some((pid, service))
        })
        .collect();
    found.sort();
    found
}

/// Live pids of one service of the project.
pub fn pids_of(root: &Path, service: &str) -> Vec<i32> {
    marked_pids(root).into_iter().filter(|(_, s)| s == service).map(|(pid, _)| pid).collect()
}

/// Live supervisors of the project, found by the ORCH_SUPERVISOR marker.
pub fn supervisor_pids(root: &Path) -> Vec<i32> {
    all_pids()
        .into_iter()
        .filter(|pid| is_alive(*pid))
        .filter(|pid| environ(*pid).is_some_and(|env| var_is(&env, SUPERVISOR_VAR, root)))
        .collect()
}

/// The fields of /proc/<pid>/stat after the command name: state is [0], ppid [1], pgrp [2].
fn stat_fields(pid: i32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 2..];
    Some(after_name.split(' ').map(str::to_owned).collect())
}

/// The process's state letter (R, S, Z, …); None when it is gone.
pub fn state_of(pid: i32) -> Option<char> {
    stat_fields(pid)?.first()?.chars().next()
}

pub fn ppid_of(pid: i32) -> Option<i32> {
    stat_fields(pid)?.get(1)?.parse().ok()
}

pub fn pgid_of(pid: i32) -> Option<i32> {
    stat_fields(pid)?.get(2)?.parse().ok()
}

/// User + system CPU time of a process, in clock ticks.
pub fn cpu_ticks(pid: i32) -> u64 {
    let fields = stat_fields(pid).unwrap_or_default();
    let tick = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
    tick(11) + tick(12)
}

/// The process exists and is not a zombie (a zombie is dead, only not reaped yet).
pub fn is_alive(pid: i32) -> bool {
    matches!(state_of(pid), Some(s) if s != 'Z' && s != 'X')
}

/// The children of every thread of a process.
pub fn children_of(pid: i32) -> Vec<i32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    tasks
        .filter_map(Result::ok)
        .filter_map(|t| std::fs::read_to_string(t.path().join("children")).ok())
        .flat_map(|text| text.split_whitespace().filter_map(|p| p.parse().ok()).collect::<Vec<i32>>())
        .collect()
}

/// The children of a process that died and were not reaped.
pub fn zombies_of(pid: i32) -> Vec<i32> {
    children_of(pid).into_iter().filter(|child| state_of(*child) == Some('Z')).collect()
}

/// The arguments a process runs with (/proc/<pid>/cmdline).
pub fn cmdline_of(pid: i32) -> Vec<String> {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .unwrap_or_default()
        .split(|b| *b == 0)
        .filter(|arg| !arg.is_empty())
        .map(|arg| String::from_utf8_lossy(arg).into_owned())
        .collect()
}

/// The working folder of a process.
pub fn cwd_of(pid: i32) -> Option<std::path::PathBuf> {
    std::fs::read_link(format!("/proc/{pid}/cwd")).ok()
}

pub fn sigkill(pid: i32) {
    let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
}

/// SIGKILLs, by pid, the project's supervisors first (so nothing is respawned), then every
/// process marked with the project, until none is left (bounded).
pub fn kill_project(root: &Path) {
    let deadline = Instant::now() + Duration::from_secs(5);
    // Everything killed is waited for too: a process on its way out (its threads still being
    // torn down) may no longer show its environment, and so its marker, while it still runs.
    let mut killed: Vec<i32> = Vec::new();
    loop {
        let supervisors = supervisor_pids(root);
        let services: Vec<i32> = marked_pids(root).into_iter().map(|(pid, _)| pid).collect();
        killed.retain(|pid| is_alive(*pid));
        if supervisors.is_empty() && services.is_empty() && killed.is_empty() {
            return;
        }
        if Instant::now() >= deadline {
            eprintln!("cleanup: still alive after SIGKILL: {supervisors:?} {services:?} {killed:?}");
            return;
        }
        for pid in supervisors.iter().chain(&services) {
            sigkill(*pid);
            if !killed.contains(pid) {
                killed.push(*pid);
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// When a process started, in clock ticks after boot (field 22 of /proc/<pid>/stat).
pub fn start_time_of(pid: i32) -> Option<u64> {
    stat_fields(pid)?.get(19)?.parse().ok()
}

/// This boot's id, as orch records it beside a pid.
pub fn boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id").expect("the boot id").trim().to_owned()
}

/// A process the test starts itself, not orch: `sleep 1000` leading its own process group (so
/// a signal sent to "its group" by mistake reaches it and nothing of the test). SIGKILLed and
/// reaped, by pid, when dropped, even when the test failed.
pub struct Foreign(std::process::Child);

impl Foreign {
    pub fn sleep() -> Self {
        use std::os::unix::process::CommandExt;
        let child = std::process::Command::new("sleep")
            .arg("1000")
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .process_group(0)
            .stdin(std::process::Stdio::null())
            .spawn()
            .expect("spawn sleep");
        Self(child)
    }

    pub fn pid(&self) -> i32 {
        self.0.id() as i32
    }
}

impl Drop for Foreign {
    fn drop(&mut self) {
        sigkill(self.pid());
        let _ = self.0.wait();
    }
}
