//! The JSON API: the rows of `ps --json`, the actions, the log files, the graph, the notes.

use super::{Dashboard, project};
use crate::support::{ORCH_TIMEOUT, wait_until};

#[test]
fn services_are_the_rows_of_ps_json() {
    let project = project();
    let dashboard = Dashboard::start(&project);
    let answer = dashboard.get("/api/services");
    assert_eq!(answer.status, 200, "{answer:?}");
    assert!(answer.header("content-type").is_some_and(|t| t.starts_with("application/json")));
    let rows = answer.json();
    let names: Vec<&str> = rows.as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["api", "worker"]);
    let ps = project.ps_json();
    for (ours, theirs) in rows.as_array().unwrap().iter().zip(ps.as_array().unwrap()) {
        assert_eq!(ours["pid"], theirs["pid"]);
        assert_eq!(ours["state"], theirs["state"]);
        assert_eq!(ours["port"], theirs["port"]);
        assert_eq!(ours["url"], theirs["url"]);
    }
}

#[test]
fn a_restart_through_the_api_changes_the_pid() {
    let project = project();
    let dashboard = Dashboard::start(&project);
    let before = dashboard.pid("worker").expect("worker runs");
    let answer = dashboard.post("/api/services/worker/restart", "");
    assert_eq!(answer.status, 200, "{answer:?}");
    let done = answer.json();
    assert_eq!(done["ok"], true, "{done}");
    assert!(done["said"].as_str().unwrap().contains("worker"), "{done}");
    let after = dashboard.pid("worker").expect("worker runs again");
    assert_ne!(after, before);
    assert_eq!(done["services"][0]["name"], "worker", "the answer holds its row: {done}");
    assert_eq!(done["services"][0]["pid"].as_i64(), Some(after), "{done}");
    assert_eq!(i64::from(project.pid("worker")), after, "ps sees the same pid");
}

#[test]
fn stop_start_and_scale_are_the_page_buttons() {
    let project = project();
    let dashboard = Dashboard::start(&project);
    assert_eq!(dashboard.post("/api/services/worker/stop", "").json()["ok"], true);
    assert_eq!(project.service("worker")["state"], "stopped");
    assert_eq!(dashboard.post("/api/services/worker/start", "").json()["ok"], true);
    assert_eq!(project.service("worker")["state"], "running");
    let scaled = dashboard.post("/api/services/worker/scale", r#"{"count": 2}"#);
    assert_eq!(scaled.status, 200, "{scaled:?}");
    assert!(wait_until(ORCH_TIMEOUT, || project.ps_json().as_array().unwrap().iter().any(|r| r["name"] == "worker.2")));
    // The graph draws the replicas that run, not the manifest's one worker.
    let graph = dashboard.get("/api/graph.svg").body;
    for part in ["data-service=\"worker.1\"", "data-service=\"worker.2\"", "data-from=\"worker.2\" data-to=\"api\""] {
        assert!(graph.contains(part), "{part} in {graph}");
    }
    assert!(!graph.contains("data-service=\"worker\""), "{graph}");
    let bad = dashboard.post("/api/services/worker/scale", r#"{"count": "many"}"#);
    assert_eq!(bad.status, 400, "{bad:?}");
    assert!(bad.json()["error"].as_str().unwrap().contains("count"), "{bad:?}");
}

#[test]
fn an_unknown_service_or_action_is_404_with_the_reason() {
    let project = project();
    let dashboard = Dashboard::start(&project);
    let unknown = dashboard.post("/api/services/nope/restart", "");
    assert_eq!(unknown.status, 404, "{unknown:?}");
    assert!(unknown.json()["error"].as_str().unwrap().contains("nope"), "{unknown:?}");
    assert_eq!(dashboard.post("/api/services/worker/explode", "").status, 404);
    assert_eq!(dashboard.get("/nothing/here").status, 404);
}

#[test]
fn the_logs_are_read_back_from_the_files_and_searched() {
    let project = project();
    let dashboard = Dashboard::start(&project);
    let lines = |query: &str| dashboard.get(&format!("/api/logs?{query}")).json()["lines"].as_array().unwrap().clone();
    assert!(wait_until(ORCH_TIMEOUT, || lines("service=worker&tail=50").len() >= 3));
    let worker = lines("service=worker&tail=50");
    let own = |l: &serde_json::Value| l["service"] == "worker" && l["stream"] == "out";
    let about = |l: &serde_json::Value| l["service"] == "orch" && l["text"].as_str().unwrap().starts_with("worker: ");
    assert!(worker.iter().all(|l| own(l) || about(l)), "its lines and orch's about it: {worker:?}");
    assert!(worker.iter().any(about), "{worker:?}");
    assert!(worker.iter().all(|l| l["time"].as_str().is_some_and(|t| t.ends_with('Z'))), "{worker:?}");
    let found = lines("service=worker&q=STARTED%20AS");
    assert_eq!(found.len(), 1, "the search ignores case: {found:?}");
    assert!(found[0]["text"].as_str().unwrap().starts_with("worker started as"));
    // Every service's lines, orch's own among them, when none is named.
    let all = lines("tail=500");
    assert!(
        all.iter().any(|l| l["service"] == "orch" && l["text"].as_str().unwrap().starts_with("worker:")),
        "{all:?}"
    );
    assert_eq!(lines("tail=2").len(), 2);
    let orch = lines("service=orch&tail=500");
    assert!(!orch.is_empty() && orch.iter().all(|l| l["service"] == "orch"), "{orch:?}");
    let bad = dashboard.get("/api/logs?tail=many");
    assert_eq!(bad.status, 400);
    assert!(bad.json()["error"].is_string(), "{bad:?}");
}

#[test]
fn the_graph_is_an_svg_of_the_dependencies() {
    let project = project();
    let dashboard = Dashboard::start(&project);
    let answer = dashboard.get("/api/graph.svg");
    assert_eq!(answer.status, 200);
    assert!(answer.header("content-type").is_some_and(|t| t.starts_with("image/svg+xml")), "{answer:?}");
    for part in ["<svg", "data-service=\"api\"", "data-service=\"worker\"", "data-from=\"worker\" data-to=\"api\""] {
        assert!(answer.body.contains(part), "{part} in {}", answer.body);
    }
}

#[test]
fn the_project_says_what_ps_says_above_its_table() {
    let project = project();
    let dashboard = Dashboard::start(&project);
    let first = dashboard.get("/api/project").json();
    assert_eq!(first["notes"], serde_json::json!([]));
    assert_eq!(first["manifest_services"], serde_json::json!(["api", "worker"]));
    let text = project.read("procs.toml").unwrap();
    project.write("procs.toml", &format!("{text}\n[services.broken]\ncmd = 5\n"));
    let noted = wait_until(ORCH_TIMEOUT, || {
        let notes = dashboard.get("/api/project").json()["notes"].clone();
        notes.as_array().is_some_and(|n| n.iter().any(|n| n.as_str().unwrap().contains("not applied")))
    });
    assert!(noted, "{}", dashboard.get("/api/project").body);
    let ps = project.run(&["ps"]);
    assert!(ps.stderr().contains("not applied") || ps.stdout().contains("not applied"), "ps says so too");
    // What runs goes on.
    assert_eq!(project.service("worker")["state"], "running");
}

#[test]
fn it_ends_on_ctrl_c_and_the_services_keep_running() {
    let project = project();
    let mut dashboard = Dashboard::start(&project);
    let worker = project.pid("worker");
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(dashboard.beside.pid()), nix::sys::signal::Signal::SIGINT)
        .unwrap();
    let status = dashboard.beside.wait_exit(ORCH_TIMEOUT).expect("the dashboard ends");
    assert!(status.success(), "{status:?}: {}", dashboard.beside.stderr());
    assert_eq!(project.pid("worker"), worker);
    assert!(std::net::TcpStream::connect(("127.0.0.1", dashboard.port)).is_err(), "nothing listens any more");
}
