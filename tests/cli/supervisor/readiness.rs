//! Each readiness check: `up` returns when the check passes, not before; a check that never
//! passes is a failed start that names it and leaves nothing running.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use super::{NO_PIDS, SECOND, assert_outcome, ms};
use crate::procs::{is_alive, pids_of};
use crate::support::{Project, free_port, listener_cmd, port_open, python, wait_until};

const MS_300: Duration = Duration::from_millis(300);

/// `orch up`, expected to succeed; how long it took.
fn timed_up(project: &Project) -> (String, Duration) {
    let started = Instant::now();
    let up = project.up().expect_code(0);
    (up.stdout(), started.elapsed())
}

#[test]
fn tcp_waits_until_the_port_listens() {
    let port = free_port();
    let project = Project::toml(&format!(
        "[services.db]\ncmd = {}\nready = {{ tcp = \"127.0.0.1:{port}\" }}\n",
        listener_cmd(port, 0.3)
    ))
    .with_listener();
    let (out, took) = timed_up(&project);
    assert!(port_open(port), "up returned but nothing listens on {port}");
    assert!(took >= MS_300, "up returned after {took:?}, before the listener listened");
    assert_outcome(&out, "db", true, &["ready in"]);
    let db = project.service("db");
    assert_eq!(db["state"], "ready");
    assert_eq!(db["ready_check"], format!("tcp 127.0.0.1:{port}"));
    let after = ms(&db["ready_after_ms"]);
    assert!((300..3000).contains(&after), "ready after {after} ms");
}

/// `GET path` on 127.0.0.1:port; the status line.
fn http_status(port: u16, path: &str) -> String {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.set_read_timeout(Some(2 * SECOND)).unwrap();
    write!(stream, "GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").unwrap();
    let mut reply = String::new();
    let _ = stream.read_to_string(&mut reply);
    reply.lines().next().unwrap_or_default().to_owned()
}

#[test]
fn http_waits_for_a_2xx_and_a_404_is_not_ready() {
    let (good, bad) = (free_port(), free_port());
    let server = |port: u16| format!(r#"["{}", "-m", "http.server", "{port}", "--bind", "127.0.0.1"]"#, python());
    let project = Project::toml(&format!(
        r#"
[services.web]
cmd = {}
ready = {{ http = "http://127.0.0.1:{good}/" }}

[services.missing]
cmd = {}
ready = {{ http = "http://127.0.0.1:{bad}/nope" }}
ready_timeout = "1s"
restart = "no"
"#,
        server(good),
        server(bad)
    ));
    let up = project.up().expect_code(1);
    let out = up.stdout();
    assert_outcome(&out, "web", true, &["ready in"]);
    assert_outcome(&out, "missing", false, &[&format!("http://127.0.0.1:{bad}/nope"), "1s"]);
    assert!(http_status(good, "/").contains("200"), "web does not answer 200");
    // The probe really asked over HTTP: the server logged its requests.
    assert!(
        wait_until(2 * SECOND, || String::from_utf8_lossy(&project.log_file("web")).contains("\"GET / HTTP/1.1\" 200")),
        "{}",
        String::from_utf8_lossy(&project.log_file("web"))
    );
    assert!(
        String::from_utf8_lossy(&project.log_file("missing")).contains("\"GET /nope HTTP/1.1\" 404"),
        "the 404 server was never asked:\n{}",
        String::from_utf8_lossy(&project.log_file("missing"))
    );
    assert_eq!(project.service("web")["state"], "ready");
    assert_eq!(project.service("missing")["state"], "failed");
    assert!(!port_open(bad), "the failed server still listens");
}

#[test]
fn exec_waits_until_the_command_passes() {
    let project = Project::toml(
        r#"
[services.maker]
cmd = "sleep 0.3; touch marker; exec sleep 1000"
ready = { exec = "test -f marker" }
"#,
    );
    let (out, took) = timed_up(&project);
    assert!(project.exists("marker"), "ready before the marker existed");
    assert!(took >= MS_300, "up returned after {took:?}");
    assert_outcome(&out, "maker", true, &["ready in"]);
    let svc = project.service("maker");
    assert_eq!(svc["ready_check"], "exec test -f marker");
    assert!(ms(&svc["ready_after_ms"]) >= 300, "{svc:#}");
}

#[test]
fn log_waits_for_a_matching_line() {
    let project = Project::toml(
        r#"
[services.api]
cmd = "echo booting; sleep 0.3; echo 'listening on 8080'; exec sleep 1000"
ready = { log = 'listening on \d+' }
"#,
    );
    let (out, took) = timed_up(&project);
    assert!(took >= MS_300, "ready on `booting`? up returned after {took:?}");
    assert_outcome(&out, "api", true, &["ready in"]);
    let after = ms(&project.service("api")["ready_after_ms"]);
    // Not polled: the line is matched as it arrives.
    assert!((300..1000).contains(&after), "ready after {after} ms");
}

#[test]
fn delay_waits_that_long() {
    let project = Project::toml("[services.cache]\ncmd = \"sleep 1000\"\nready = { delay = \"300ms\" }\n");
    let (out, took) = timed_up(&project);
    assert!(took >= MS_300, "up returned after {took:?}");
    assert_outcome(&out, "cache", true, &["ready in"]);
    let svc = project.service("cache");
    assert_eq!(svc["state"], "ready");
    assert_eq!(svc["ready_check"], "delay 300ms");
    let after = ms(&svc["ready_after_ms"]);
    assert!((300..1000).contains(&after), "ready after {after} ms");
}

#[test]
fn ready_timeout_fails_names_the_check_and_stops_the_group() {
    let port = free_port();
    let project = Project::toml(&format!(
        r#"
[services.slow]
cmd = "sleep 1000 & echo $! > child.pid; echo $$ > leader.pid; wait"
ready = {{ tcp = "127.0.0.1:{port}" }}
ready_timeout = "300ms"
restart = "no"
"#
    ));
    let root = project.path();
    let started = Instant::now();
    let up = project.up().expect_code(1);
    let took = started.elapsed();
    assert!(took >= MS_300 && took < 5 * SECOND, "up took {took:?}");
    assert_outcome(&up.stdout(), "slow", false, &[&format!("tcp 127.0.0.1:{port}"), "300ms"]);
    let pid = |file: &str| -> i32 {
        let text = project.read(file).unwrap_or_else(|| panic!("{file} was not written"));
        text.trim().parse().unwrap()
    };
    let (leader, child) = (pid("leader.pid"), pid("child.pid"));
    assert!(!is_alive(leader), "the leader {leader} still runs");
    assert!(!is_alive(child), "the leader's child {child} still runs");
    assert_eq!(pids_of(&root, "slow"), NO_PIDS);
    let svc = project.service("slow");
    assert_eq!(svc["state"], "failed", "{svc:#}");
    assert_eq!(svc["restarts"], 0, "{svc:#}");
    assert!(svc["pid"].is_null(), "{svc:#}");
    let reason = svc["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("ready check") && reason.contains(&format!("tcp 127.0.0.1:{port}")), "{svc:#}");
}
