//! `.orch/state.json`: what it records, and a damaged one (garbage, truncated, empty, from a
//! newer orch): `ps` reports it and leaves it be; the next supervisor reports it, keeps it aside
//! as `state.json.bad-<secs>`, and recovers what runs from the process table; nothing crashes,
//! nothing runs twice.

use super::{QUIET, TIMEOUT, down_leaves_nothing, kill_supervisor, only_pid, project, sleeper, snapshot, starts};
use crate::procs::{boot_id, is_alive, pids_of, start_time_of, supervisor_pids};
use crate::support::{Project, wait_until};

/// The damaged state files, with the words `ps` should say about each.
const DAMAGED: [(&str, &str, &str); 4] = [
    ("garbage", "this is not JSON at all\n", "not a state file orch can read"),
    (
        "truncated",
        "{\"version\":1,\"supervisor\":null,\"services\":{\"web\":{\"desired\":\"up\",\"sta",
        "not a state file orch can read",
    ),
    ("empty", "", "not a state file orch can read"),
    ("newer", "{\"version\":99,\"services\":{}}\n", "written by a newer orch"),
];

/// The files `.orch/state.json.bad-*`, with their contents.
fn set_aside(project: &Project) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = std::fs::read_dir(project.path().join(".orch"))
        .unwrap()
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|name| name.starts_with("state.json.bad-"))
        .map(|name| {
            let text = project.read(&format!(".orch/{name}")).unwrap_or_default();
            (name, text)
        })
        .collect();
    found.sort();
    found
}

/// `ps` (table and JSON) with this state file and no supervisor: a clear message, exit 0, no
/// supervisor started, the file as it was.
fn ps_only_reports(project: &Project, kind: &str, text: &str, words: &str) {
    for args in [&["ps"][..], &["ps", "--json"][..]] {
        let ps = project.run(args).expect_code(0);
        let stderr = ps.stderr();
        assert!(stderr.contains("state.json") && stderr.contains(words), "{kind}: `orch {args:?}` said: {stderr}");
        assert!(!stderr.contains("panicked"), "{kind}: {stderr}");
        if args.len() == 2 {
            let rows: serde_json::Value = serde_json::from_str(&ps.stdout())
                .unwrap_or_else(|e| panic!("{kind}: ps --json is not JSON ({e}): {}", ps.stdout()));
            assert!(rows.is_array(), "{kind}: {rows}");
        } else {
            assert!(ps.stdout().starts_with("NAME"), "{kind}: {}", ps.stdout());
        }
        assert_eq!(project.read(".orch/state.json").as_deref(), Some(text), "{kind}: ps changed the state file");
        assert!(set_aside(project).is_empty(), "{kind}: ps set the file aside");
        assert_eq!(supervisor_pids(&project.path()), Vec::<i32>::new(), "{kind}: ps started a supervisor");
    }
}

#[test]
fn a_damaged_state_file_is_reported_by_ps_and_set_aside_by_the_next_supervisor() {
    for (kind, text, words) in DAMAGED {
        let project = project(&sleeper("web", ""));
        let root = project.path();
        project.up().expect_code(0);
        project.run(&["down"]).expect_code(0);
        assert!(wait_until(TIMEOUT, || supervisor_pids(&root).is_empty()));
        project.write(".orch/state.json", text);

        ps_only_reports(&project, kind, text, words);

        let up = project.up().expect_code(0);
        assert!(!up.stderr().contains("panicked"), "{kind}: {}", up.stderr());
        let web = only_pid(&project, "web");
        assert_eq!(starts(&project, "web").len(), 2, "{kind}");
        let aside = set_aside(&project);
        assert_eq!(aside.len(), 1, "{kind}: {aside:?}");
        assert_eq!(aside[0].1, text, "{kind}: the file kept aside is not the damaged one");
        assert!(aside[0].0["state.json.bad-".len()..].parse::<u64>().is_ok(), "{kind}: {}", aside[0].0);
        let log = project.read(".orch/supervisor.log").unwrap_or_default();
        assert!(log.contains(words) && log.contains(&aside[0].0), "{kind}: supervisor.log says:\n{log}");
        let recorded = wait_until(TIMEOUT, || {
            project.state_json().is_some_and(|s| s["version"] == 1 && s["services"]["web"]["process"]["pid"] == web)
        });
        assert!(recorded, "{kind}: a new state file was not written: {:?}", project.read(".orch/state.json"));
        down_leaves_nothing(&project);
    }
}

#[test]
fn a_damaged_state_file_while_services_run_is_recovered_from_the_process_table() {
    let project = project(&format!("{}{}", sleeper("db", ""), sleeper("web", "depends_on = [\"db\"]")));
    let root = project.path();
    project.up().expect_code(0);
    let (db, web) = (only_pid(&project, "db"), only_pid(&project, "web"));
    kill_supervisor(&project, &["db", "web"]);
    let text = "{\"version\":1,\"services\":{\"db\":{\"desi";
    project.write(".orch/state.json", text);

    // `ps` only reports: it neither trusts the file nor takes it for "nothing runs".
    let before = snapshot(&project);
    ps_only_reports(&project, "truncated", text, "not a state file orch can read");
    assert_eq!(snapshot(&project), before);

    // `up`: the new supervisor finds the services by their marker, and nothing runs twice
    // (what it could not know the configuration of may be restarted, but the old one goes).
    project.up().expect_code(0);
    for (name, old) in [("db", db), ("web", web)] {
        assert!(
            wait_until(TIMEOUT, || pids_of(&root, name).len() == 1
                && (pids_of(&root, name) == [old] || !is_alive(old))),
            "{name}: {:?}",
            snapshot(&project)
        );
    }
    let off = || pids_of(&root, "db").len() != 1 || pids_of(&root, "web").len() != 1;
    assert!(!wait_until(QUIET, off), "{:?}", snapshot(&project));
    let aside = set_aside(&project);
    assert_eq!(aside.iter().map(|(_, t)| t.as_str()).collect::<Vec<_>>(), [text], "{aside:?}");
    assert_eq!(supervisor_pids(&root).len(), 1);
    for name in ["db", "web"] {
        let pid = only_pid(&project, name);
        assert_eq!(project.service(name)["pid"], pid);
        assert!(starts(&project, name).len() <= 2, "{name}: {:?}", starts(&project, name));
    }
    down_leaves_nothing(&project);
}

#[test]
fn the_state_file_records_each_process_by_pid_start_time_and_boot() {
    let project = project(&format!("{}{}", sleeper("db", ""), sleeper("web", "depends_on = [\"db\"]")));
    project.up().expect_code(0);
    let (db, web) = (only_pid(&project, "db"), only_pid(&project, "web"));
    let recorded = wait_until(TIMEOUT, || {
        project.state_json().is_some_and(|s| {
            s["services"]["db"]["process"]["pid"] == db && s["services"]["web"]["process"]["pid"] == web
        })
    });
    assert!(recorded, "{:?}", project.read(".orch/state.json"));
    let state = project.state_json().unwrap();
    assert_eq!(state["version"], 1);
    assert_eq!(state["supervisor"]["pid"], project.supervisor_pid().unwrap(), "{state:#}");
    for (name, pid) in [("db", db), ("web", web)] {
        let record = &state["services"][name];
        assert_eq!(record["desired"], "up", "{record:#}");
        assert_eq!(record["state"], "running", "{record:#}");
        assert_eq!(record["pgid"], pid, "{record:#}");
        assert_eq!(record["process"]["start_time"], start_time_of(pid).unwrap(), "{record:#}");
        assert_eq!(record["process"]["boot_id"], boot_id(), "{record:#}");
        assert!(record["config_hash"].as_str().is_some_and(|h| !h.is_empty()), "{record:#}");
        assert_eq!(record["restarts"], 0, "{record:#}");
    }
    // Written through a temp file and a rename: nothing half-written is left beside it.
    let leftovers: Vec<String> = std::fs::read_dir(project.path().join(".orch"))
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert_eq!(leftovers, Vec::<String>::new());

    // After down, the record says so.
    project.run(&["down"]).expect_code(0);
    let state = project.state_json().expect("state.json after down");
    for name in ["db", "web"] {
        assert_eq!(state["services"][name]["state"], "stopped", "{state:#}");
        assert_eq!(state["services"][name]["desired"], "down", "{state:#}");
    }
}
