//! Issue 9's hostile inputs against a running project: a `.env` whose lines each double the
//! one before, saved while the supervisor watches it, changes nothing and takes no memory.

use std::time::Duration;

use crate::procs::is_alive;
use crate::support::{Project, wait_until};

const TIMEOUT: Duration = Duration::from_secs(10);

/// `A0` of 30 bytes, then 39 lines each twice the one before: 16 GB if expanded in full.
fn doubling_dotenv() -> String {
    let mut text = String::from("A0=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n");
    for i in 1..40 {
        text.push_str(&format!("A{i}=${{A{p}}}${{A{p}}}\n", p = i - 1));
    }
    text
}

/// The most memory a process has used, from /proc (kB).
fn peak_kb(pid: i32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap_or_default();
    line.split_whitespace().nth(1).and_then(|kb| kb.parse().ok()).unwrap_or(0)
}

#[test]
fn a_doubling_dotenv_saved_into_a_running_project_changes_nothing() {
    let project = Project::toml("[services.web]\ncmd = \"exec sleep 1000\"\nenv = { GREETING = \"${A0:-none}\" }\n")
        .file(".env", "A0=small\n");
    project.up().expect_code(0);
    let supervisor = project.supervisor_pid().expect("a supervisor");
    let web = project.pid("web");

    project.write(".env", &doubling_dotenv());
    let mut stderr = String::new();
    let told = wait_until(TIMEOUT, || {
        stderr = project.run(&["ps"]).expect_code(0).stderr();
        stderr.contains("the manifest was edited but not applied")
    });
    assert!(told, "ps never told of the refused edit: {stderr}");
    assert!(stderr.contains(".env:14:1: this value is longer than 128 KiB"), "{stderr}");
    assert!(is_alive(supervisor), "the supervisor died of the edit");
    assert_eq!(project.supervisor_pid(), Some(supervisor));
    assert!(is_alive(web) && project.pid("web") == web, "web was touched by an edit that was refused");
    let peak = peak_kb(supervisor);
    assert!(peak < 100_000, "the supervisor's peak memory was {peak} kB");

    // A good save after it is applied as usual.
    project.write(".env", "A0=fixed\n");
    assert!(wait_until(TIMEOUT, || project.pid("web") != web), "the fixed .env was not applied");
    assert!(!project.run(&["ps"]).expect_code(0).stderr().contains("not applied"));
}
