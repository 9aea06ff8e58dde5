//! `orch ps` without a supervisor, and with one for a subset of the services.

use super::SECOND;
use crate::procs::{self, pids_of};
use crate::support::{Project, wait_until};

#[test]
fn without_a_supervisor_ps_says_so_and_json_is_empty() {
    let project = Project::toml("[services.web]\ncmd = \"sleep 1000\"\n");
    let ps = project.run(&["ps", "--json"]).expect_code(0);
    assert!(ps.stderr().contains("no supervisor"), "{}", ps.stderr());
    let rows: serde_json::Value =
        serde_json::from_str(&ps.stdout()).unwrap_or_else(|e| panic!("not JSON ({e}): {}", ps.stdout()));
    assert_eq!(rows, serde_json::json!([]));

    let table = project.run(&["ps"]).expect_code(0);
    assert!(table.stderr().contains("no supervisor"), "{}", table.stderr());
    assert!(table.stdout().starts_with("NAME"), "{}", table.stdout());
    // Asking did not start anything.
    assert!(project.lock_holder().is_none());
    assert!(!project.exists(".orch/state.json"));
}

#[test]
fn without_a_manifest_ps_reports_an_empty_folder() {
    let project = Project::new();
    let ps = project.run(&["ps", "--json"]).expect_code(0);
    assert!(ps.stderr().contains("no supervisor"), "{}", ps.stderr());
    assert_eq!(ps.stdout().trim(), "[]");
}

#[test]
fn ps_of_named_services() {
    let project = Project::toml("[services.a]\ncmd = \"sleep 1000\"\n[services.b]\ncmd = \"sleep 1000\"\n");
    project.up().expect_code(0);
    let ps = project.run(&["ps", "--json", "b"]).expect_code(0);
    let rows: serde_json::Value = serde_json::from_str(&ps.stdout()).unwrap();
    let names: Vec<&str> = rows.as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["b"]);
    let row = &rows[0];
    for field in [
        "name",
        "state",
        "pid",
        "uptime_secs",
        "restarts",
        "ready_check",
        "ready_after_ms",
        "cpu_percent",
        "mem_bytes",
        "reason",
        "last_exit",
        "adhoc",
    ] {
        assert!(row.get(field).is_some(), "no `{field}` in {row:#}");
    }
    assert!(row["mem_bytes"].as_u64().is_some_and(|m| m > 0), "{row:#}");
    assert_eq!(row["adhoc"], false);
}

#[test]
fn cpu_and_memory_are_summed_over_the_process_group() {
    // The leader sleeps in `wait`; its child burns CPU.
    let project = Project::toml("[services.busy]\ncmd = \"sh -c 'while :; do :; done' & wait\"\n");
    let root = project.path();
    project.up().expect_code(0);
    // That `ps` (through `pid`) is where the next one's cpu% counts from: the child must burn
    // 20 ticks after it, not only in total (it may have done so while `up` waited).
    let leader = project.pid("busy");
    let mut child = None;
    let mut from = None;
    assert!(
        wait_until(3 * SECOND, || {
            child = pids_of(&root, "busy").into_iter().find(|p| *p != leader);
            let Some(c) = child else { return false };
            let ticks = procs::cpu_ticks(c);
            ticks >= *from.get_or_insert(ticks) + 20
        }),
        "the busy child did not run"
    );
    let svc = project.service("busy");
    let cpu = svc["cpu_percent"].as_f64().unwrap_or_else(|| panic!("{svc:#}"));
    assert!(cpu >= 10.0, "cpu {cpu}% for a group with a busy process: {svc:#}");
    let mem = svc["mem_bytes"].as_u64().unwrap_or_else(|| panic!("{svc:#}"));
    let rss = |pid: i32| -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let kb = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
            .unwrap_or(0);
        kb * 1024
    };
    let leader_rss = rss(leader);
    assert!(mem > leader_rss, "mem {mem} is only the leader's ({leader_rss})");
}
