//! Issue 12, points 2 and 7: a start costs one exec. A command with no shell syntax is exec'd
//! as its own words (no `sh` in between, and no exec that fails along PATH), and a shell is
//! `/bin/sh` by its path. Watched with strace on the supervisor; skipped where
//! strace is absent or may not attach.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::support::{Project, wait_until};

/// strace following the supervisor's execs into a file, ended by pid when dropped.
struct Execs {
    strace: Child,
    file: tempfile::NamedTempFile,
}

impl Execs {
    /// None when strace is absent or may not attach here.
    fn watch(pid: i32) -> Option<Self> {
        let file = tempfile::NamedTempFile::new().expect("a temp file");
        let mut strace = Command::new("strace")
            .args(["-f", "-qq", "-e", "trace=execve", "-o"])
            .arg(file.path())
            .args(["-p", &pid.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .ok()?;
        let stderr = strace.stderr.take()?;
        let execs = Self { strace, file };
        // strace says nothing once attached (-qq); it is attached once the tracee shows a tracer.
        let traced = wait_until(Duration::from_secs(10), || tracer_of(pid).is_some_and(|t| t != 0));
        if !traced {
            let said: Vec<String> = BufReader::new(stderr).lines().take(3).map_while(Result::ok).collect();
            eprintln!("skipped: strace did not attach: {said:?}");
            return None;
        }
        Some(execs)
    }

    /// The execve lines so far, once what strace holds has reached its file.
    fn lines(mut self) -> Vec<String> {
        let pid = nix::unistd::Pid::from_raw(self.strace.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT);
        let _ = self.strace.wait();
        let text = std::fs::read_to_string(self.file.path()).unwrap_or_default();
        text.lines().filter(|l| l.contains("execve(")).map(str::to_owned).collect()
    }
}

impl Drop for Execs {
    fn drop(&mut self) {
        let _ = self.strace.kill();
        let _ = self.strace.wait();
    }
}

/// The TracerPid of a process.
fn tracer_of(pid: i32) -> Option<i32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|l| l.strip_prefix("TracerPid:")).and_then(|v| v.trim().parse().ok())
}

/// The execs a restart of `web` makes, with the project's supervisor traced.
fn execs_of_a_restart(project: &Project) -> Option<Vec<String>> {
    if Command::new("strace").arg("-V").output().is_err() {
        eprintln!("skipped: no strace");
        return None;
    }
    project.up().expect_code(0);
    let execs = Execs::watch(project.supervisor_pid().expect("a supervisor"))?;
    project.orch(&["restart", "web"]).expect_code(0);
    Some(execs.lines())
}

#[test]
fn a_plain_command_is_execed_without_a_shell() {
    let project = Project::toml("[services.web]\ncmd = \"sleep 1000\"\nmin_uptime = \"0s\"\n");
    let Some(execs) = execs_of_a_restart(&project) else { return };
    assert_eq!(execs.len(), 1, "one exec, of sleep itself: {execs:#?}");
    assert!(execs[0].contains("/sleep\", [\"sleep\", \"1000\"]") && execs[0].ends_with("= 0"), "{execs:#?}");
}

#[test]
fn a_shell_command_runs_bin_sh_by_its_path() {
    let project = Project::toml("[services.web]\ncmd = \"echo hi && exec sleep 1000\"\nmin_uptime = \"0s\"\n");
    let Some(execs) = execs_of_a_restart(&project) else { return };
    // The first exec is the shell's, and it works: no `sh` tried along PATH before it. (What
    // the shell then looks for along PATH is its own business.)
    assert!(execs[0].contains("execve(\"/bin/sh\", [\"sh\", \"-c\"") && execs[0].ends_with("= 0"), "{execs:#?}");
}
