//! Replicas: `scale = N` runs `web.1` … `web.N`, each with its own `$PORT` and `$PS`; `orch
//! scale` changes the number while the project is up, `up --scale` for one up; `ps`, `logs` and
//! `restart web` see the group, one replica at a time with `rolling = true`.

use serde_json::Value;

use crate::procs::{env_var, is_alive, pids_of};
use crate::support::{ORCH_TIMEOUT, Project, port_open, python, wait_until};

/// `web` listens on its `$PORT` at once, with three replicas; `api` depends on all of them.
fn manifest(extra: &str) -> String {
    format!(
        r#"
[services.web]
cmd = "exec {python} listen.py $PORT 0"
port = "auto"
scale = 3
ready = {{ tcp = "127.0.0.1:${{PORT}}" }}
{extra}

[services.api]
cmd = "sleep 1000"
min_uptime = "0s"
depends_on = ["web"]
env = {{ FIRST = "${{web.1.port}}" }}
"#,
        python = python()
    )
}

/// The rows of `ps --json` whose name starts with `prefix`, as (name, pid, port).
fn rows(project: &Project, prefix: &str) -> Vec<(String, i32, u16)> {
    let all = project.ps_json();
    all.as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["name"].as_str().is_some_and(|n| n.starts_with(prefix)))
        .map(|r| {
            let name = r["name"].as_str().unwrap_or_default().to_owned();
            (name, r["pid"].as_i64().unwrap_or(0) as i32, r["port"].as_u64().unwrap_or(0) as u16)
        })
        .collect()
}

#[test]
fn scale_3_gives_three_pids_with_three_ports_and_scale_web_1_stops_two() {
    let project = Project::toml(&manifest("")).with_listener();
    let up = project.up().expect_code(0).stdout();
    assert!(up.contains("web.1") && up.contains("web.3"), "{up}");
    let web = rows(&project, "web.");
    let names: Vec<&str> = web.iter().map(|(n, _, _)| n.as_str()).collect();
    assert_eq!(names, ["web.1", "web.2", "web.3"]);
    let mut ports: Vec<u16> = web.iter().map(|(_, _, p)| *p).collect();
    ports.sort_unstable();
    ports.dedup();
    assert_eq!(ports.len(), 3, "three ports: {web:?}");
    for (name, pid, port) in &web {
        assert!(port_open(*port), "{name} does not listen on {port}");
        assert_eq!(env_var(*pid, "PS").as_deref(), Some(name.as_str()));
        assert_eq!(env_var(*pid, "PORT"), Some(port.to_string()));
        assert_eq!(pids_of(&project.path(), name), [*pid]);
    }
    // `${web.1.port}` is the first replica's.
    assert_eq!(env_var(project.pid("api"), "FIRST"), Some(web[0].2.to_string()));

    let scaled = project.run(&["scale", "web=1"]).expect_code(0).stdout();
    assert!(scaled.contains("web.2  stopped (removed)") && scaled.contains("web.3  stopped (removed)"), "{scaled}");
    for (name, pid, _) in &web[1..] {
        assert!(!is_alive(*pid), "{name} ({pid}) still runs after scale web=1");
    }
    assert_eq!(rows(&project, "web."), web[..1], "web.1 is left as it ran");

    // Up again, to five: web.1 is untouched, four more start, each on a port of its own.
    let scaled = project.run(&["scale", "web=5"]).expect_code(0).stdout();
    assert!(scaled.contains("= web.1") && scaled.contains("✓ web.5"), "{scaled}");
    let five = rows(&project, "web.");
    assert_eq!(five.len(), 5, "{five:?}");
    assert_eq!(five[0], web[0]);
    assert!(five.iter().all(|(_, _, port)| port_open(*port)), "{five:?}");

    project.run(&["down"]).expect_code(0);
}

#[test]
fn up_scale_lasts_one_up_and_a_scale_that_breaks_a_reference_changes_nothing() {
    let project = Project::toml(&manifest("")).with_listener();
    project.run(&["up", "--scale", "web=2"]).expect_code(0);
    assert_eq!(rows(&project, "web.").len(), 2);
    // A plain `up` goes back to the manifest's 3, as docker compose's does.
    project.up().expect_code(0);
    let three = rows(&project, "web.");
    assert_eq!(three.len(), 3, "{three:?}");

    // api's `${web.1.port}` needs a web.1: scaling to 0 is refused, naming the reference.
    let refused = project.run(&["scale", "web=0"]);
    assert_ne!(refused.code(), 0);
    assert!(refused.stderr().contains("`${web.1.port}`: there is no service `web.1`"), "{}", refused.stderr());
    assert_eq!(rows(&project, "web."), three, "a refused scale changed what runs");

    let unknown = project.run(&["scale", "wbe=2"]).expect_code(2).stderr();
    assert!(unknown.contains("no service named `wbe`") && unknown.contains("`web`"), "{unknown}");
    let replica = project.run(&["scale", "web.1=2"]).expect_code(2).stderr();
    assert!(replica.contains("`web.1` is not a service name"), "{replica}");
    project.run(&["down"]).expect_code(0);
}

#[test]
fn the_groups_port_is_refused_naming_a_replicas() {
    let project = Project::toml(
        "[services.web]\ncmd = \"sleep 1\"\nport = \"auto\"\nscale = 2\n\n[services.api]\ncmd = \"sleep 1\"\n\
         env = { WEB = \"${web.port}\" }\n",
    );
    let check = project.run(&["check"]).expect_code(2).stderr();
    assert!(check.contains("service `web` is scaled (scale = 2)"), "{check}");
    assert!(check.contains("${web.1.port}"), "{check}");
}

#[test]
fn restart_of_the_group_restarts_every_replica_one_at_a_time_when_rolling() {
    let project = Project::toml(&manifest("rolling = true")).with_listener();
    project.up().expect_code(0);
    let before = rows(&project, "web.");
    let restarted = project.run(&["restart", "web"]).expect_code(0).stdout();
    assert!(restarted.contains("✓ web.1") && restarted.contains("✓ web.3"), "{restarted}");
    let after = rows(&project, "web.");
    for ((name, old, port), (_, new, new_port)) in before.iter().zip(&after) {
        assert_ne!(old, new, "{name} was not restarted");
        assert_eq!(port, new_port, "{name} kept its port");
        assert!(!is_alive(*old));
    }
    // One at a time: each replica is ready before the next is asked to restart.
    let lines = project.orch_lines();
    let at = |line: &str| lines.iter().rposition(|l| l == line).unwrap_or_else(|| panic!("no `{line}` in {lines:#?}"));
    assert!(at("web.1: restarting") < at("web.2: restarting"), "{lines:#?}");
    let ready_1 = lines.iter().rposition(|l| l.starts_with("web.1: ready in")).unwrap();
    assert!(ready_1 < at("web.2: restarting"), "web.2 restarted before web.1 was ready: {lines:#?}");
    let ready_2 = lines.iter().rposition(|l| l.starts_with("web.2: ready in")).unwrap();
    assert!(ready_2 < at("web.3: restarting"), "{lines:#?}");

    // The logs of the group are every replica's, each line under its own name.
    let logs = project.run(&["logs", "web"]).expect_code(0).stdout();
    for name in ["web.1", "web.2", "web.3"] {
        assert!(logs.lines().any(|l| l.starts_with(&format!("{name} | listening on"))), "{logs}");
    }
    assert!(!logs.contains("api |"), "{logs}");
    // Stopping the group stops its dependents too, and names only them as the others.
    let stop = project.run(&["stop", "web"]).expect_code(0).stdout();
    assert!(stop.contains("also stopping: api (they depend on web)"), "{stop}");
    assert!(rows(&project, "web.").iter().all(|(_, pid, _)| *pid == 0), "{}", project.run(&["ps"]).stdout());
    project.run(&["down"]).expect_code(0);
}

#[test]
fn a_procfile_scaled_by_up_gives_foremans_ports_and_ps() {
    let project = Project::new().file("Procfile", "web: sleep 1000\nworker: sleep 1000\n");
    project.run(&["up", "--scale", "web=2"]).expect_code(0);
    let env = |name: &str| {
        let pid = project.pid(name);
        (env_var(pid, "PORT").unwrap_or_default(), env_var(pid, "PS").unwrap_or_default())
    };
    assert_eq!(env("web.1"), ("5000".to_owned(), "web.1".to_owned()));
    assert_eq!(env("web.2"), ("5001".to_owned(), "web.2".to_owned()));
    assert_eq!(env("worker"), ("5100".to_owned(), "worker.1".to_owned()));
    let ps = project.run(&["ps", "web"]).expect_code(0).stdout();
    assert!(ps.contains("web.1") && ps.contains("web.2") && !ps.contains("worker"), "{ps}");
    // `stop web` stops the group.
    project.run(&["stop", "web"]).expect_code(0);
    assert!(wait_until(ORCH_TIMEOUT, || pids_of(&project.path(), "web.1").is_empty()
        && pids_of(&project.path(), "web.2").is_empty()));
    assert_eq!(pids_of(&project.path(), "worker").len(), 1);
    project.run(&["down"]).expect_code(0);
}

#[test]
fn an_agent_scales_and_sees_the_replicas_through_mcp() {
    use crate::mcp::{Mcp, assert_ok};
    let project = Project::toml("[services.worker]\ncmd = \"sleep 1000\"\nmin_uptime = \"0s\"\nscale = 2\n");
    let mut mcp = Mcp::spawn(&project.path(), &[]);
    mcp.initialize("2025-06-18");
    assert_ok(&mcp.call("up", serde_json::json!({})));
    let scaled = mcp.call("scale", serde_json::json!({ "name": "worker", "replicas": "3" }));
    assert_ok(&scaled);
    let outcomes = scaled["structuredContent"]["outcomes"].as_array().cloned().unwrap_or_default();
    assert!(outcomes.iter().any(|o| o["service"] == "worker.3" && o["phase"] == "running"), "{scaled:#}");
    let ps = mcp.call("ps", serde_json::json!({ "services": ["worker"] }));
    let names: Vec<&str> = ps["structuredContent"]["services"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert_eq!(names, ["worker.1", "worker.2", "worker.3"], "{ps:#}");
    let down = mcp.call("scale", serde_json::json!({ "name": "worker", "replicas": 1 }));
    assert_ok(&down);
    let removed: Vec<&Value> = down["structuredContent"]["outcomes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|o| o["removed"] == true)
        .collect();
    assert_eq!(removed.len(), 2, "{down:#}");
    assert!(pids_of(&project.path(), "worker.3").is_empty());
    let refused = mcp.call("scale", serde_json::json!({ "name": "worker.1", "replicas": 2 }));
    assert!(crate::mcp::is_error(&refused), "{refused:#}");
    let too_many = mcp.call("scale", serde_json::json!({ "name": "worker", "replicas": 5000 }));
    assert!(crate::mcp::is_error(&too_many) && too_many.to_string().contains("at most 1000"), "{too_many:#}");
    assert_eq!(rows(&project, "worker.").len(), 1, "a refused scale changed what runs");
    assert_ok(&mcp.call("down", serde_json::json!({})));
    assert_eq!(mcp.close().code(), Some(0), "stderr:\n{}", mcp.stderr());
}

/// Without a readiness check, each replica counts as up once it stayed up `min_uptime`: the
/// rollout waits that long for each, rather than stopping after the first.
#[test]
fn a_rolling_restart_without_a_ready_check_waits_out_min_uptime_for_each() {
    let project =
        Project::toml("[services.worker]\ncmd = \"sleep 1000\"\nmin_uptime = \"300ms\"\nscale = 3\nrolling = true\n");
    project.up().expect_code(0);
    let before = rows(&project, "worker.");
    project.run(&["restart", "worker"]).expect_code(0);
    let after = rows(&project, "worker.");
    assert_eq!(after.len(), 3, "{after:?}");
    for ((name, old, _), (_, new, _)) in before.iter().zip(&after) {
        assert_ne!(old, new, "{name} was not restarted: {:#?}", project.orch_lines());
    }
    let lines = project.orch_lines();
    assert!(!lines.iter().any(|l| l.contains("rolling restart stopped")), "{lines:#?}");
    project.run(&["down"]).expect_code(0);
}

/// After an edit, `restart` of a rolling group takes the new configuration to one replica at a
/// time, and restarts each once: not all at once for the edit, then again in turn.
#[test]
fn a_restart_after_an_edit_rolls_the_new_configuration_once_per_replica() {
    let worker = |version: u32| {
        format!(
            "[services.worker]\ncmd = \"sleep 1000\"\nmin_uptime = \"300ms\"\nscale = 3\nrolling = true\n\
             env = {{ VERSION = \"{version}\" }}\n"
        )
    };
    let project = Project::toml(&worker(1));
    project.run(&["up", "--no-watch"]).expect_code(0);
    project.write("procs.toml", &worker(2));
    project.run(&["restart", "worker"]).expect_code(0);
    let lines = project.orch_lines();
    for name in ["worker.1", "worker.2", "worker.3"] {
        assert_eq!(env_var(project.pid(name), "VERSION").as_deref(), Some("2"), "{name}: {lines:#?}");
        let spawns = lines.iter().filter(|l| l.starts_with(&format!("{name}: started"))).count();
        assert_eq!(spawns, 2, "{name} started once by up and once by the restart: {lines:#?}");
    }
    project.run(&["down"]).expect_code(0);
}

#[test]
fn up_of_a_service_with_a_scale_for_another_brings_that_one_up_too() {
    let project = Project::toml(
        "[services.db]\ncmd = \"sleep 1000\"\nmin_uptime = \"0s\"\n\n[services.web]\ncmd = \"sleep 1000\"\n\
         min_uptime = \"0s\"\n",
    );
    project.run(&["up", "db", "--scale", "web=2"]).expect_code(0);
    let web = rows(&project, "web.");
    assert_eq!(web.len(), 2, "{web:?}");
    assert!(web.iter().all(|(_, pid, _)| *pid > 0 && is_alive(*pid)), "{web:?}");
    // A group of none is nothing to show, not everything.
    project.run(&["scale", "web=0"]).expect_code(0);
    let ps = project.run(&["ps", "web", "--json"]).expect_code(0).stdout();
    assert_eq!(serde_json::from_str::<Value>(&ps).ok(), Some(serde_json::json!([])), "{ps}");
    let too_many = project.run(&["up", "--scale", "web=1001"]);
    assert_ne!(too_many.code(), 0);
    assert!(too_many.stderr().contains("at most 1000 replicas"), "{}", too_many.stderr());
    project.run(&["down"]).expect_code(0);
}
