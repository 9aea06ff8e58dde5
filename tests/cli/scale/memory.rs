//! Memory that does not grow with services: a supervisor of 300 services that have each
//! written a line stays small. What is counted is its anonymous memory (RssAnon): the binary's
//! own pages are shared with every orch, and twice as many in a debug build. The bound is
//! generous (the release build holds about 2.5 MB); it catches a cost per service of tens of
//! KB, as the two 64 KiB read buffers each service had before issue 12 (10 MB at 300).

use std::time::Duration;

use crate::support::{Project, wait_until};

/// The anonymous resident memory of `pid`, in bytes, from /proc.
fn anonymous_rss(pid: i32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("the supervisor's status");
    let line = status.lines().find(|l| l.starts_with("RssAnon:")).expect("an RssAnon line");
    let kib: u64 = line.split_whitespace().nth(1).and_then(|n| n.parse().ok()).expect("RssAnon in kB");
    kib * 1024
}

#[test]
fn a_supervisor_of_300_services_holds_under_8_mib_of_its_own() {
    let manifest: String = (0..300)
        .map(|i| format!("[services.s{i}]\ncmd = \"echo started {i}; exec sleep 1000\"\nmin_uptime = \"0s\"\n"))
        .collect();
    let project = Project::toml(&manifest);
    project.up().expect_code(0);
    // Every service has written a line, so each pipe has been read once.
    let logged =
        wait_until(Duration::from_secs(30), || (0..300).all(|i| !project.log_file(&format!("s{i}")).is_empty()));
    assert!(logged, "every service logs its first line");
    let supervisor = project.supervisor_pid().expect("a supervisor");
    let anonymous = anonymous_rss(supervisor);
    assert!(anonymous < 8 << 20, "the supervisor of 300 services holds {} KiB of its own", anonymous >> 10);
}
