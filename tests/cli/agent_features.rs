//! Issue 5's features beyond MCP: ports, sd_notify readiness, `start --ready`, `up --json`.

use std::time::Instant;

use serde_json::Value;

use crate::procs;
use crate::support::{ORCH_TIMEOUT, Project, free_port, port_open, python, wait_until};

const LISTEN_ON_PORT: &str = r#"import os, socket, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(os.environ["PORT"])))
s.listen(16)
print("listening on", os.environ["PORT"], flush=True)
while True:
    c, _ = s.accept()
    c.close()
"#;

fn port_of(project: &Project, service: &str) -> u16 {
    let port = project.service(service)["port"].as_u64().expect("a port in ps --json");
    u16::try_from(port).expect("a port number")
}

#[test]
fn an_auto_port_is_listened_on_given_to_dependents_and_kept_across_restart() {
    let manifest = format!(
        r#"
[services.web]
cmd = ["{py}", "listen.py"]
port = "auto"
ready = {{ tcp = "127.0.0.1:${{PORT}}" }}

[services.client]
cmd = "echo API=$API_URL; exec sleep 1000"
env = {{ API_URL = "http://127.0.0.1:${{web.port}}/" }}
depends_on = ["web"]
"#,
        py = python()
    );
    let project = Project::toml(&manifest).file("listen.py", LISTEN_ON_PORT);
    project.up().expect_code(0);
    let port = port_of(&project, "web");
    assert!(port_open(port), "web listens on the port it was given");
    let ps = project.run(&["ps"]).expect_code(0).stdout();
    assert!(ps.contains("PORT") && ps.contains(&port.to_string()), "{ps}");
    assert!(wait_until(ORCH_TIMEOUT, || project.log_file("client").windows(4).any(|w| w == b"API=")));
    let log = String::from_utf8_lossy(&project.log_file("client")).into_owned();
    assert!(log.contains(&format!("API=http://127.0.0.1:{port}/")), "{log}");

    let before = project.pid("web");
    project.run(&["restart", "web"]).expect_code(0);
    assert_ne!(project.pid("web"), before);
    assert_eq!(port_of(&project, "web"), port, "the port survives a restart");
    project.run(&["down"]).expect_code(0);
    project.up().expect_code(0);
    assert_eq!(port_of(&project, "web"), port, "and a down then up");
}

#[test]
fn two_projects_never_share_an_auto_port() {
    let manifest = format!("[services.web]\ncmd = [\"{}\", \"listen.py\"]\nport = \"auto\"\n", python());
    let a = Project::toml(&manifest).file("listen.py", LISTEN_ON_PORT);
    let b = Project::toml(&manifest).file("listen.py", LISTEN_ON_PORT);
    a.up().expect_code(0);
    b.up().expect_code(0);
    assert_ne!(port_of(&a, "web"), port_of(&b, "web"));
}

#[test]
fn a_port_reference_to_a_service_without_a_port_is_a_manifest_error() {
    let run = Project::toml("[services.a]\ncmd = \"x\"\n[services.b]\ncmd = \"y\"\nenv = { U = \"${a.port}\" }\n")
        .orch(&["check"])
        .expect_code(2);
    assert!(run.stderr().contains("service `a` has no port"), "{}", run.stderr());
}

#[test]
fn a_pinned_port_in_use_fails_naming_its_holder() {
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = holder.local_addr().unwrap().port();
    let project = Project::toml(&format!("[services.web]\ncmd = \"sleep 1000\"\nport = {port}\nrestart = \"no\"\n"));
    let run = project.up().expect_code(1);
    let out = run.stdout();
    assert!(out.contains(&format!("port {port} is already in use by pid {}", std::process::id())), "{out}");
}

#[test]
fn notify_readiness_waits_for_ready_1_and_shows_status() {
    let notifier = r#"import os, socket, time
time.sleep(0.4)
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.sendto(b"STATUS=warming up", os.environ["NOTIFY_SOCKET"])
time.sleep(0.2)
s.sendto(b"READY=1\nSTATUS=serving", os.environ["NOTIFY_SOCKET"])
time.sleep(1000)
"#;
    let project = Project::toml(&format!(
        "[services.n]\ncmd = [\"{}\", \"notify.py\"]\nready = {{ notify = true }}\nready_timeout = \"10s\"\n",
        python()
    ))
    .file("notify.py", notifier);
    let start = Instant::now();
    project.up().expect_code(0);
    assert!(start.elapsed().as_millis() >= 600, "up returned before READY=1");
    let n = project.service("n");
    assert_eq!(n["state"], "ready");
    assert_eq!(n["status"], "serving");
    let socket = procs::env_var(project.pid("n"), "NOTIFY_SOCKET").expect("NOTIFY_SOCKET is set");
    let mode = std::fs::metadata(&socket).map(|m| std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o777);
    assert_eq!(mode.ok(), Some(0o600), "{socket}");
}

#[test]
fn notify_that_never_comes_times_out() {
    let project = Project::toml(
        "[services.n]\ncmd = \"sleep 1000\"\nready = { notify = true }\nready_timeout = \"300ms\"\nrestart = \"no\"\n",
    );
    let run = project.up().expect_code(1);
    assert!(run.stdout().contains("ready check notify did not pass within 300ms"), "{}", run.stdout());
}

#[test]
fn start_with_ready_env_and_cwd() {
    let project = Project::new().file("sub/.keep", "").file("listen.py", LISTEN_ON_PORT);
    let port = free_port();
    let ready = format!("tcp:127.0.0.1:{port}");
    let script = project.path().join("listen.py");
    let run = project
        .orch(&[
            "start",
            "srv",
            "--ready",
            &ready,
            "--cwd",
            "sub",
            "-e",
            &format!("PORT={port}"),
            "--",
            python(),
            script.to_str().unwrap(),
        ])
        .expect_code(0);
    assert!(run.stdout().contains("✓ srv"), "{}", run.stdout());
    assert!(port_open(port));
    let pid = project.pid("srv");
    assert_eq!(procs::cwd_of(pid), Some(project.path().join("sub")));

    let run = project.orch(&["start", "bad", "--ready", "tcp:127.0.0.1:1", "--", "sh", "-c", "echo oops; exit 4"]);
    let run = run.expect_code(1);
    assert!(run.stdout().contains("exited with 4") && run.stdout().contains("| oops"), "{}", run.stdout());
    project.orch(&["start", "x", "--ready", "nonsense", "--", "true"]).expect_code(2);
    project.orch(&["start", "x", "--ready", "notify"]).expect_code(2);
}

#[test]
fn up_json_prints_one_object_per_line() {
    let project =
        Project::toml("[services.a]\ncmd = \"sleep 1000\"\n[services.b]\ncmd = \"sleep 1000\"\ndepends_on = [\"a\"]\n");
    let run = project.orch(&["up", "--json"]).expect_code(0);
    let lines: Vec<Value> = run.stdout().lines().map(|l| serde_json::from_str(l).expect("each line is JSON")).collect();
    let last = lines.last().expect("a line at least");
    assert_eq!(last["event"], "done");
    assert_eq!(last["ok"], true);
    assert!(lines.iter().any(|l| l["service"] == "b" && l["event"] == "running"), "{lines:?}");
}
