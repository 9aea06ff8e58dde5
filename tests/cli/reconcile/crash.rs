//! After the supervisor was SIGKILLed: its services keep running; the next `orch ps` or
//! `orch up` starts a new supervisor that adopts what still runs (and says so), restarts what
//! ended meanwhile per its policy, never signals a pid that is no longer the recorded process,
//! and runs nothing twice; `orch down` then leaves nothing.

use super::{
    QUIET, TIMEOUT, down_leaves_nothing, kill_supervisor, only_pid, project, sleeper, snapshot, starts, wait_ps_pid,
    wait_replaced,
};
use crate::procs::{Foreign, boot_id, is_alive, pids_of, sigkill, start_time_of, state_of, supervisor_pids};
use crate::support::{Project, wait_until};

/// db, web (depends on db) and a process tree (a shell with two sleeps in its group).
fn three() -> String {
    format!(
        "{}{}[services.tree]\ncmd = \"echo $$ >> starts/tree; sleep 1000 & sleep 1000 & wait\"\n",
        sleeper("db", ""),
        sleeper("web", "env = { PORT = \"8001\" }\ndepends_on = [\"db\"]"),
    )
}

/// Starts `three()` and waits until the tree has its two children.
fn up_three(project: &Project) -> Vec<(i32, String)> {
    project.up().expect_code(0);
    assert!(wait_until(TIMEOUT, || pids_of(&project.path(), "tree").len() == 3), "{:?}", snapshot(project));
    snapshot(project)
}

/// Every process of `before` still runs, and nothing else of the project does.
fn assert_same_processes(project: &Project, before: &[(i32, String)]) {
    assert_eq!(snapshot(project), before, "the project's processes changed");
    for (pid, name) in before {
        assert!(is_alive(*pid), "{name} ({pid}) is gone");
    }
}

/// The new supervisor: alive, not the old one, the only one.
fn assert_new_supervisor(project: &Project, old: i32) -> i32 {
    let pid = project.supervisor_pid().expect("a supervisor in the lock");
    assert_ne!(pid, old, "the lock still names the killed supervisor");
    assert!(is_alive(pid));
    assert_eq!(supervisor_pids(&project.path()), [pid]);
    pid
}

#[test]
fn a_killed_supervisor_leaves_its_services_running_and_the_next_ps_adopts_them() {
    let project = project(&three());
    let before = up_three(&project);
    let old = kill_supervisor(&project, &["db", "web", "tree"]);
    assert!(!wait_until(QUIET, || snapshot(&project) != before), "services changed when the supervisor died");

    // A dry run plans against the record (what still runs counts as running) and starts nothing.
    let dry = project.run(&["up", "--dry-run"]).expect_code(0);
    assert_eq!(dry.stdout(), "= db    unchanged\n= tree  unchanged\n= web   unchanged\n");
    assert_eq!(supervisor_pids(&project.path()), Vec::<i32>::new(), "--dry-run started a supervisor");

    let rows = project.ps_json();
    assert_new_supervisor(&project, old);
    for row in rows.as_array().unwrap() {
        let name = row["name"].as_str().unwrap();
        assert_eq!(row["adopted"], true, "{row:#}");
        assert_eq!(row["state"], "running", "{row:#}");
        assert_eq!(row["pid"], only_leader(&project, name), "{row:#}");
    }
    let table = project.run(&["ps"]).expect_code(0).stdout();
    for name in ["db", "web", "tree"] {
        let mut lines = table.lines().skip_while(|l| !l.starts_with(&format!("{name} ")));
        let row = lines.next().unwrap_or_else(|| panic!("{table}"));
        assert!(row.contains("running"), "{table}");
        let detail = lines.next().unwrap_or_default();
        assert!(detail.contains("↳ adopted"), "{table}");
    }
    assert!(!wait_until(QUIET, || snapshot(&project) != before), "adoption started or stopped something");
    assert_same_processes(&project, &before);
    for name in ["db", "web", "tree"] {
        assert_eq!(starts(&project, name).len(), 1, "{name} started again");
    }
    // The adopted tree goes with its whole group.
    down_leaves_nothing(&project);
}

/// The leader of a service's group (for the tree: the shell, whose pid is in starts/tree).
fn only_leader(project: &Project, name: &str) -> i32 {
    let recorded = starts(project, name);
    assert_eq!(recorded.len(), 1, "{name}: {recorded:?}");
    recorded[0]
}

#[test]
fn up_after_a_killed_supervisor_adopts_and_runs_nothing_twice() {
    let project = project(&three());
    let before = up_three(&project);
    let old = kill_supervisor(&project, &["db", "web", "tree"]);

    let up = project.up().expect_code(0);
    assert_new_supervisor(&project, old);
    assert!(!wait_until(QUIET, || snapshot(&project) != before), "{}", up.stdout());
    assert_same_processes(&project, &before);
    for name in ["db", "web", "tree"] {
        assert_eq!(starts(&project, name).len(), 1, "{name} started again");
        assert_eq!(project.service(name)["adopted"], true);
    }

    // The new supervisor watches the manifest (`up` told it which), and a restarted service
    // is no longer marked adopted.
    let web = only_pid(&project, "web");
    project.edit("procs.toml", "8001", "8002");
    let web2 = wait_replaced(&project, "web", web);
    let row = wait_ps_pid(&project, "web", web2);
    assert_eq!(row["adopted"], false, "{row:#}");
    assert_eq!(project.service("db")["adopted"], true);
    down_leaves_nothing(&project);
}

#[test]
fn hot_reload_goes_on_after_ps_replaced_the_supervisor() {
    let project = project(&three());
    up_three(&project);
    let old = kill_supervisor(&project, &["db", "web", "tree"]);
    project.ps_json();
    assert_new_supervisor(&project, old);
    let web = only_pid(&project, "web");
    project.edit("procs.toml", "8001", "8002");
    let web2 = wait_replaced(&project, "web", web);
    assert_eq!(super::env_of(web2, "PORT").as_deref(), Some("8002"));
    down_leaves_nothing(&project);
}

#[test]
fn a_service_that_ended_while_no_supervisor_ran_is_restarted_per_policy() {
    let project = project(&format!(
        "{}{}{}{}",
        sleeper("keep", ""),
        sleeper("always", "restart = \"always\""),
        sleeper("onfail", "restart = \"on-failure\""),
        sleeper("never", "restart = \"no\""),
    ));
    project.up().expect_code(0);
    let names = ["keep", "always", "onfail", "never"];
    let [keep, always, onfail, never] = names.map(|n| only_pid(&project, n));
    kill_supervisor(&project, &names);
    for pid in [always, onfail, never] {
        sigkill(pid);
    }
    assert!(wait_until(TIMEOUT, || ![always, onfail, never].iter().any(|p| is_alive(*p))));

    // `keep` still runs, so `ps` starts a supervisor, which takes over.
    project.ps_json();
    let always2 = wait_replaced(&project, "always", always);
    let onfail2 = wait_replaced(&project, "onfail", onfail);
    for (name, pid) in [("always", always2), ("onfail", onfail2)] {
        let row = wait_ps_pid(&project, name, pid);
        assert_eq!(row["adopted"], false, "{row:#}");
        assert_eq!(row["restarts"], 1, "{row:#}");
    }
    let row = project.service("never");
    assert_eq!(row["state"], "failed", "restart = \"no\": {row:#}");
    assert!(row["pid"].is_null(), "{row:#}");
    let row = project.service("keep");
    assert_eq!((row["pid"].as_i64(), row["adopted"].as_bool()), (Some(keep as i64), Some(true)), "{row:#}");

    let twice = || starts(&project, "always").len() > 2 || starts(&project, "onfail").len() > 2;
    assert!(!wait_until(QUIET, twice), "{:?} {:?}", starts(&project, "always"), starts(&project, "onfail"));
    assert_eq!(starts(&project, "always"), [always, always2]);
    assert_eq!(starts(&project, "onfail"), [onfail, onfail2]);
    assert_eq!(starts(&project, "never"), [never]);
    assert_eq!(starts(&project, "keep"), [keep]);
    assert_eq!(pids_of(&project.path(), "never"), Vec::<i32>::new());
    down_leaves_nothing(&project);
}

#[test]
fn up_after_every_service_ended_with_no_supervisor_starts_each_once() {
    let project = project(&format!("{}{}", sleeper("db", ""), sleeper("web", "depends_on = [\"db\"]")));
    let root = project.path();
    project.up().expect_code(0);
    let (db, web) = (only_pid(&project, "db"), only_pid(&project, "web"));
    kill_supervisor(&project, &["db", "web"]);
    sigkill(web);
    sigkill(db);
    assert!(wait_until(TIMEOUT, || !is_alive(db) && !is_alive(web)));

    // Nothing recorded runs: `ps` reports the record and starts nothing.
    let ps = project.run(&["ps", "--json"]).expect_code(0);
    assert!(ps.stderr().contains("no supervisor"), "{}", ps.stderr());
    assert_eq!(supervisor_pids(&root), Vec::<i32>::new(), "ps started a supervisor with nothing to adopt");

    // `up`: the restart the policy asks for and the start `up` asks for are one start.
    project.up().expect_code(0);
    let (db2, web2) = (only_pid(&project, "db"), only_pid(&project, "web"));
    let twice = || starts(&project, "db").len() > 2 || starts(&project, "web").len() > 2;
    assert!(!wait_until(QUIET, twice), "{:?} {:?}", starts(&project, "db"), starts(&project, "web"));
    assert_eq!(starts(&project, "db"), [db, db2]);
    assert_eq!(starts(&project, "web"), [web, web2]);
    assert_eq!((only_pid(&project, "db"), only_pid(&project, "web")), (db2, web2));
    down_leaves_nothing(&project);
}

#[test]
fn a_recorded_pid_that_is_now_another_process_is_never_signalled() {
    let project = project(&format!("{}{}{}", sleeper("db", ""), sleeper("web", ""), sleeper("api", "")));
    project.up().expect_code(0);
    let (db, web, api) = (only_pid(&project, "db"), only_pid(&project, "web"), only_pid(&project, "api"));
    kill_supervisor(&project, &["db", "web", "api"]);
    // web and api end; their pids are "reused" by processes that are not the project's.
    sigkill(web);
    sigkill(api);
    assert!(wait_until(TIMEOUT, || !is_alive(web) && !is_alive(api)));
    let stranger = Foreign::sleep();
    let other_boot = Foreign::sleep();
    let mut state = project.state_json().expect("a state file");
    // web's record: the stranger's pid, with web's own start time (a pid reused after a crash).
    state["services"]["web"]["process"]["pid"] = stranger.pid().into();
    state["services"]["web"]["pgid"] = stranger.pid().into();
    // api's record: the other process's pid and start time, but another boot (after a reboot).
    let start_time = start_time_of(other_boot.pid()).expect("a start time");
    state["services"]["api"]["process"] =
        serde_json::json!({ "pid": other_boot.pid(), "start_time": start_time, "boot_id": "not-this-boot" });
    state["services"]["api"]["pgid"] = other_boot.pid().into();
    assert_ne!(boot_id(), "not-this-boot");
    project.write(".orch/state.json", &serde_json::to_string_pretty(&state).unwrap());

    let untouched = |what: &str| {
        for (name, pid) in [("stranger", stranger.pid()), ("other boot", other_boot.pid())] {
            assert!(is_alive(pid), "{what}: the {name} process {pid} was killed");
            assert_eq!(state_of(pid), Some('S'), "{what}: the {name} process {pid} was stopped or signalled");
        }
    };
    // db still runs, so `ps` starts a supervisor: web and api ended as far as it can tell.
    project.ps_json();
    let web2 = wait_replaced(&project, "web", web);
    let api2 = wait_replaced(&project, "api", api);
    assert!(![web2, api2].contains(&stranger.pid()) && ![web2, api2].contains(&other_boot.pid()));
    assert_eq!(project.service("db")["adopted"], true);
    assert_eq!(only_pid(&project, "db"), db);
    untouched("after ps");
    project.up().expect_code(0);
    untouched("after up");
    down_leaves_nothing(&project);
    untouched("after down");
}

#[test]
fn an_adopted_service_keeps_writing_its_log_and_what_it_wrote_meanwhile_is_kept() {
    let project = project(
        "[services.ticker]\ncmd = \"i=0; while true; do i=$((i+1)); echo line $i; echo $i > starts/last; sleep 0.01; done\"\n",
    );
    project.up().expect_code(0);
    assert!(wait_until(TIMEOUT, || project.read("starts/last").is_some()));
    let leader = project.pid("ticker");
    let supervisor = project.supervisor_pid().unwrap();
    let socket = project.socket().unwrap();
    sigkill(supervisor);
    assert!(wait_until(TIMEOUT, || !is_alive(supervisor) && std::os::unix::net::UnixStream::connect(&socket).is_err()));
    // Every line after this one was written while no supervisor ran (into the pipe the
    // ticker keeps open for itself): none may be lost.
    let mut last = 0u64;
    assert!(wait_until(TIMEOUT, || {
        last = project.read("starts/last").and_then(|t| t.trim().parse().ok()).unwrap_or(0);
        last > 0
    }));
    // It goes on writing while nobody reads.
    let read_last = || project.read("starts/last").and_then(|t| t.trim().parse::<u64>().ok());
    assert!(wait_until(TIMEOUT, || read_last().is_some_and(|n| n >= last + 5)), "the ticker stopped");
    let row = project.service("ticker");
    assert_eq!((row["adopted"].as_bool(), row["pid"].as_i64()), (Some(true), Some(leader as i64)), "{row:#}");
    let numbers = || -> Vec<u64> {
        String::from_utf8_lossy(&project.log_file("ticker"))
            .lines()
            .filter_map(|record| record.splitn(3, ' ').nth(2)?.strip_prefix("line ")?.parse().ok())
            .collect()
    };
    let grown = wait_until(TIMEOUT, || numbers().last().is_some_and(|n| *n >= last + 30));
    assert!(grown, "the log did not grow after adoption: last {last}, log ends with {:?}", numbers().last());
    let numbers = numbers();
    assert!(numbers.windows(2).all(|w| w[0] < w[1]), "lines repeated or out of order: {numbers:?}");
    let after: Vec<u64> = numbers.iter().copied().filter(|n| *n > last).collect();
    let expected: Vec<u64> = (last + 1..=*after.last().unwrap()).collect();
    assert_eq!(after, expected, "lines written while no supervisor ran were lost");
    down_leaves_nothing(&project);
}

#[test]
fn the_first_command_right_after_the_supervisor_was_killed_works() {
    let project = project(&format!("{}{}", sleeper("db", ""), sleeper("web", "")));
    project.up().expect_code(0);
    for round in 0..5 {
        let supervisor = project.supervisor_pid().expect("a supervisor");
        super::wait_recorded(&project, &["db", "web"]);
        sigkill(supervisor);
        // Dead as /proc says it (its main thread a zombie), nothing more.
        assert!(wait_until(TIMEOUT, || !is_alive(supervisor)));
        let ps = project.run(&["ps", "--json"]);
        assert_eq!(ps.code(), 0, "round {round}: {}", ps.stderr());
        assert_eq!(project.service("db")["adopted"], true, "round {round}");
    }
    down_leaves_nothing(&project);
}

/// An adopted service whose log cannot be opened (a folder stands where the file goes) is
/// still watched: when it ends, the new supervisor sees it and restarts it per its policy.
#[test]
fn an_adopted_service_without_a_log_is_still_seen_to_end() {
    let project = project(&sleeper("web", ""));
    project.up().expect_code(0);
    let web = only_pid(&project, "web");
    kill_supervisor(&project, &["web"]);
    let log = project.path().join(".orch/logs/web.log");
    std::fs::remove_file(&log).unwrap();
    std::fs::create_dir(&log).unwrap();
    wait_ps_pid(&project, "web", web);
    sigkill(web);
    // The restart cannot open the log either: it fails, and says why, instead of showing a
    // process that is gone as running.
    let mut row = serde_json::Value::Null;
    let seen = wait_until(TIMEOUT, || {
        row = project.service("web");
        row["pid"] != web
    });
    assert!(seen, "the end of the adopted web was not seen: {row:#}");
    std::fs::remove_dir(&log).unwrap();
    down_leaves_nothing(&project);
}
