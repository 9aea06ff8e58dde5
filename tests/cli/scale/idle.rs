//! Issue 12, point 5: idle is idle. A supervisor with nothing to do makes no system call at
//! all (the file watcher's debouncer used to tick 80 times a second), counted by strace over
//! every thread. Skipped where strace is absent or may not attach.

use std::process::Command;
use std::time::Duration;

use crate::support::Project;

/// The system calls every thread of `pid` makes over `window`, as strace counts them; None when
/// strace may not attach here.
fn syscalls_over(pid: i32, window: Duration) -> Option<u64> {
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    let mut strace = Command::new("timeout");
    strace.args(["-s", "INT", &window.as_secs_f64().to_string(), "strace", "-c", "-f"]);
    for task in tasks.flatten() {
        strace.arg("-p").arg(task.file_name());
    }
    let out = strace.output().ok()?;
    let report = String::from_utf8_lossy(&out.stderr);
    if report.contains("Operation not permitted") && !report.contains("attached") {
        return None;
    }
    // The summary's last line: `100.00  0.000123  5  42  1 total`; no table when nothing ran.
    match report.lines().find(|l| l.trim_end().ends_with(" total")) {
        Some(total) => total.split_whitespace().nth(3).and_then(|n| n.parse().ok()),
        None if report.contains("attached") => Some(0),
        None => panic!("strace said nothing this test understands: {report}"),
    }
}

#[test]
fn an_idle_supervisor_makes_no_system_call() {
    if Command::new("strace").arg("-V").output().is_err() {
        eprintln!("skipped: no strace");
        return;
    }
    let manifest: String =
        (0..20).map(|i| format!("[services.s{i}]\ncmd = \"sleep 1000\"\nmin_uptime = \"0s\"\n")).collect();
    let project = Project::toml(&manifest);
    project.up().expect_code(0);
    let supervisor = project.supervisor_pid().expect("a supervisor");
    // What `up` set going (a save of the state file) may still land in the first window.
    let mut counts = Vec::new();
    for _ in 0..5 {
        match syscalls_over(supervisor, Duration::from_secs(1)) {
            None => return eprintln!("skipped: strace may not attach here"),
            Some(0) => return,
            Some(n) => counts.push(n),
        }
    }
    panic!("the idle supervisor made system calls in every second: {counts:?}");
}
