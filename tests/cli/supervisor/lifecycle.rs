//! The whole round: up → ps → logs → down, and nothing left; a rejected manifest starts nothing.

use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use super::{NO_PIDS, NO_PROCS, SECOND, assert_outcome, log_lines};
use crate::procs::{self, is_alive, marked_pids, pids_of};
use crate::support::{Project, free_port, listener_cmd, wait_until};

#[test]
fn up_ps_logs_down_leaves_no_process() {
    let port = free_port();
    let project = Project::toml(&format!(
        r#"
[services.db]
cmd = {listener}
ready = {{ tcp = "127.0.0.1:{port}" }}

[services.web]
cmd = "echo web started; exec sleep 1000"
depends_on = ["db"]

[services.setup]
cmd = "echo setup done"
oneshot = true
"#,
        listener = listener_cmd(port, 0.1)
    ))
    .with_listener();
    let root = project.path();

    // up: one line per service, exit 0.
    let up = project.up().expect_code(0);
    let out = up.stdout();
    assert_outcome(&out, "db", true, &["ready in"]);
    assert_outcome(&out, "web", true, &["running"]);
    assert_outcome(&out, "setup", true, &["completed"]);

    // The supervisor: alive, marked with the project, listening on its socket.
    let supervisor = project.supervisor_pid().expect("a supervisor pid in the lock");
    assert!(is_alive(supervisor), "supervisor {supervisor} is not running");
    assert_eq!(procs::env_var(supervisor, procs::SUPERVISOR_VAR).as_deref(), root.to_str());
    let socket = project.socket().expect("a socket in the lock");
    assert!(socket.exists(), "no socket at {}", socket.display());

    // .orch/: private, ignored by git.
    let dot = root.join(".orch");
    let mode = std::fs::metadata(&dot).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o700, ".orch mode {mode:o}");
    assert_eq!(project.read(".orch/.gitignore").as_deref(), Some("*\n"));

    // ps --json agrees with /proc.
    let db = project.service("db");
    let web = project.service("web");
    let setup = project.service("setup");
    assert_eq!(db["state"], "ready", "{db:#}");
    assert_eq!(web["state"], "running", "{web:#}");
    assert_eq!(setup["state"], "completed", "{setup:#}");
    assert!(setup["pid"].is_null(), "{setup:#}");
    let (db_pid, web_pid) = (project.pid("db"), project.pid("web"));
    assert!(pids_of(&root, "db").contains(&db_pid), "{:?}", marked_pids(&root));
    assert!(pids_of(&root, "web").contains(&web_pid), "{:?}", marked_pids(&root));
    assert!(pids_of(&root, "setup").is_empty(), "the oneshot is done");
    // Each service leads its own process group, which is not the test's.
    assert_eq!(procs::pgid_of(db_pid), Some(db_pid));
    assert_eq!(procs::pgid_of(web_pid), Some(web_pid));
    assert_eq!(procs::env_var(web_pid, procs::SERVICE_VAR).as_deref(), Some("web"));

    // The table.
    let table = project.run(&["ps"]).expect_code(0).stdout();
    let header: Vec<&str> = table.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(header, ["NAME", "STATE", "PID", "PORT", "UPTIME", "RESTARTS", "READY", "CPU", "MEM"]);
    let db_row = table.lines().find(|l| l.starts_with("db ")).expect("a db row");
    assert!(db_row.contains("ready") && db_row.contains(&db_pid.to_string()), "{table}");

    // Logs of every service, prefixed.
    let logs = log_lines(&project.run(&["logs"]).expect_code(0).stdout());
    for (service, line) in
        [("web", "web started".to_owned()), ("setup", "setup done".to_owned()), ("db", format!("listening on {port}"))]
    {
        assert!(logs.contains(&(service.to_owned(), line.clone())), "no `{service} | {line}` in {logs:?}");
    }

    // down: every service stopped, then nothing of the project is left.
    let started = Instant::now();
    let down = project.run(&["down"]).expect_code(0);
    let out = down.stdout();
    for service in ["db", "web", "setup"] {
        assert_outcome(&out, service, true, &["stopped"]);
    }
    assert!(started.elapsed() < 5 * SECOND, "down took {:?}", started.elapsed());
    assert_eq!(marked_pids(&root), [], "processes left after down returned");
    assert!(!is_alive(db_pid) && !is_alive(web_pid));
    assert!(wait_until(5 * SECOND, || !is_alive(supervisor)), "the supervisor {supervisor} did not exit after down");
    assert!(wait_until(SECOND, || !socket.exists()), "the socket {} is still there", socket.display());
    assert_eq!(procs::supervisor_pids(&root), NO_PIDS);

    // With no supervisor, ps says so and shows what was recorded.
    let ps = project.run(&["ps", "--json"]).expect_code(0);
    assert!(ps.stderr().contains("no supervisor"), "{}", ps.stderr());
    let rows: serde_json::Value = serde_json::from_str(&ps.stdout()).unwrap();
    let states: Vec<&str> = rows.as_array().unwrap().iter().map(|r| r["state"].as_str().unwrap()).collect();
    assert_eq!(states, ["stopped", "stopped", "stopped"], "{rows:#}");
}

#[test]
fn an_invalid_manifest_starts_nothing() {
    let project = Project::toml("[services.web]\ncmd = \"touch ran; exec sleep 1000\"\ndepends_on = [\"bd\"]\n");
    let root = project.path();
    let up = project.up().expect_code(2);
    assert!(up.stderr().contains("bd"), "{}", up.stderr());
    assert!(!project.exists(".orch/state.json"), "state.json was written");
    assert!(project.lock_holder().is_none(), "a supervisor took the lock");
    assert_eq!(procs::supervisor_pids(&root), NO_PIDS, "a supervisor was started");
    assert_eq!(marked_pids(&root), NO_PROCS);
    assert!(!project.exists("ran"));

    // A syntax error, the same.
    let project = Project::toml("[services.web\ncmd = \"touch ran\"\n");
    project.up().expect_code(2);
    assert!(!project.exists(".orch/state.json"));
    assert_eq!(procs::supervisor_pids(&project.path()), NO_PIDS);
}

#[test]
fn up_of_an_unknown_service_is_a_usage_error_and_starts_nothing() {
    let project = Project::toml("[services.web]\ncmd = \"touch ran; exec sleep 1000\"\n");
    let up = project.run(&["up", "wbe"]).expect_code(2);
    assert!(up.stderr().contains("wbe"), "{}", up.stderr());
    assert_eq!(procs::supervisor_pids(&project.path()), NO_PIDS);
    assert!(!project.exists(".orch/state.json"));
    assert!(!project.exists("ran"));
}

#[test]
fn no_wait_returns_at_once_and_the_service_still_comes_up() {
    let project = Project::toml("[services.slow]\ncmd = \"sleep 1000\"\nready = { delay = \"1s\" }\n");
    let started = Instant::now();
    project.run(&["up", "--no-wait"]);
    let took = started.elapsed();
    assert!(took < Duration::from_millis(900), "up --no-wait took {took:?}");
    assert!(wait_until(3 * SECOND, || project.service("slow")["state"] == "ready"), "{:#}", project.service("slow"));
}

#[test]

fn no_wait_succeeds_once_the_request_is_accepted() {
    let project = Project::toml("[services.slow]\ncmd = \"sleep 1000\"\nready = { delay = \"1s\" }\n");
    let up = project.run(&["up", "--no-wait"]).expect_code(0);
    assert!(!up.stdout().contains('✗'), "{}", up.stdout());
    assert!(!pids_of(&project.path(), "slow").is_empty(), "returned before the service was spawned");
}

#[test]
fn a_simple_command_is_execed_not_wrapped_in_a_shell() {
    let project = Project::toml("[services.web]\ncmd = \"sleep 1000\"\n");
    project.up().expect_code(0);
    let pid = project.pid("web");
    assert_eq!(procs::cmdline_of(pid), ["sleep", "1000"]);
}

#[test]
fn a_command_that_already_starts_with_exec_runs() {
    let project =
        Project::toml("[services.web]\ncmd = \"exec sleep 1000\"\nready = { delay = \"100ms\" }\nrestart = \"no\"\n");
    project.up().expect_code(0);
    let pid = project.pid("web");
    assert_eq!(procs::cmdline_of(pid), ["sleep", "1000"]);
}

#[test]
fn timeout_bounds_the_wait() {
    let project = Project::toml("[services.slow]\ncmd = \"sleep 1000\"\nready = { delay = \"5s\" }\n");
    let started = Instant::now();
    let up = project.run(&["up", "--timeout", "300ms"]).expect_code(1);
    let took = started.elapsed();
    assert!(took >= Duration::from_millis(300) && took < 2 * SECOND, "up --timeout 300ms took {took:?}");
    assert!(up.stderr().contains("timed out"), "{}", up.stderr());
    // The service keeps starting.
    assert_eq!(project.service("slow")["state"], "starting");
}

#[test]
fn a_failed_start_shows_its_last_ten_log_lines() {
    let project = Project::toml(
        r#"
[services.db]
cmd = "for i in $(seq 1 15); do echo line $i; done; exit 1"
ready = { log = "never printed" }
restart = "no"
"#,
    );
    let up = project.up().expect_code(1);
    let out = up.stdout();
    assert_outcome(&out, "db", false, &["exited with 1"]);
    let tail: Vec<&str> = out.lines().filter_map(|l| l.strip_prefix("    | ")).collect();
    let expected: Vec<String> = (6..=15).map(|i| format!("line {i}")).collect();
    assert_eq!(tail, expected, "{out}");
}

#[test]
fn up_again_after_down_starts_a_new_supervisor() {
    let project = Project::toml("[services.web]\ncmd = \"sleep 1000\"\n");
    let root = project.path();
    project.up().expect_code(0);
    let (supervisor, web) = (project.supervisor_pid().unwrap(), project.pid("web"));
    project.run(&["down"]).expect_code(0);
    assert!(wait_until(5 * SECOND, || !is_alive(supervisor)));
    project.up().expect_code(0);
    let (supervisor2, web2) = (project.supervisor_pid().unwrap(), project.pid("web"));
    assert_ne!(supervisor, supervisor2);
    assert!(is_alive(supervisor2));
    assert_ne!(web, web2);
    assert_eq!(pids_of(&root, "web"), [web2]);
    assert_eq!(project.service("web")["state"], "running");
}

/// The descriptors (as `/proc/<pid>/fd` link targets) a process holds.
fn fd_targets(pid: i32) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(format!("/proc/{pid}/fd")) else { return Vec::new() };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| std::fs::read_link(e.path()).ok())
        .map(|t| t.display().to_string())
        .collect()
}

#[test]
fn what_the_client_inherited_reaches_neither_the_supervisor_nor_the_services() {
    let project = Project::toml("[services.web]\ncmd = \"sleep 1000\"\nmin_uptime = \"0s\"\n");
    // A pipe without close-on-exec, as a terminal or a test harness may leave to its children.
    let (read, write) = nix::unistd::pipe().expect("a pipe");
    let fd = std::os::fd::AsRawFd::as_raw_fd(&read);
    let leaked = std::fs::read_link(format!("/proc/self/fd/{fd}")).expect("the pipe").display().to_string();
    project.up().expect_code(0);
    drop((read, write));
    let supervisor = project.supervisor_pid().expect("a supervisor");
    let web = project.pid("web");
    for (who, pid) in [("the supervisor", supervisor), ("web", web)] {
        assert!(!fd_targets(pid).contains(&leaked), "{who} holds the client's {leaked}: {:?}", fd_targets(pid));
    }
}

/// Issue 12, point 5: `down` leaves no empty socket folder behind (a runtime folder held 192).
#[test]
fn down_removes_the_socket_folder_it_made() {
    let project = Project::toml("[services.web]\ncmd = \"sleep 1000\"\nmin_uptime = \"0s\"\n");
    project.up().expect_code(0);
    let socket = project.socket().expect("the socket in the lock");
    let folder = socket.parent().expect("the socket's folder").to_path_buf();
    assert!(folder.is_dir(), "{}", folder.display());
    project.run(&["down"]).expect_code(0);
    assert!(wait_until(5 * SECOND, || !folder.exists()), "{} is still there", folder.display());
    // The next up makes it again.
    project.up().expect_code(0);
    assert!(project.socket().is_some_and(|s| s.exists()));
}
