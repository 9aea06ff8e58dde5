//! Point 3, the subscription: a client that subscribes is told every phase a service goes
//! through and every line it writes, until it hangs up; a subscriber never holds the
//! supervisor up, and it reads the socket's end when the supervisor exits.

use std::time::Duration;

use serde_json::{Value, json};

use super::RawClient;
use crate::support::{Project, wait_until};

fn subscribed(project: &Project) -> RawClient {
    let mut client = RawClient::connect(&project.socket().expect("the socket in the lock"));
    assert_eq!(client.ask(&json!({"v": 3, "request": "subscribe"})), json!({"v": 3, "reply": "subscribed"}));
    client
}

/// Updates until one matches, with everything read on the way.
fn until(client: &mut RawClient, mut done: impl FnMut(&Value) -> bool) -> Vec<Value> {
    let mut seen = Vec::new();
    while let Some(reply) = client.next() {
        assert_eq!((&reply["v"], &reply["reply"]), (&json!(3), &json!("update")), "{reply}");
        let last = done(&reply);
        seen.push(reply);
        if last {
            return seen;
        }
    }
    panic!("the subscription ended first; it had: {seen:#?}");
}

#[test]
fn a_subscriber_sees_a_restart_phase_by_phase_and_the_new_process_lines() {
    let project = Project::toml("[services.web]\ncmd = \"echo hello from $$; exec sleep 1000\"\nmin_uptime = \"0s\"\n");
    project.up().expect_code(0);
    let old = project.pid("web");
    let mut client = subscribed(&project);
    project.run(&["restart", "web"]).expect_code(0);
    let seen = until(&mut client, |u| u["update"] == "line" && u["text"].as_str().is_some_and(|t| t.contains("hello")));
    let phases: Vec<&str> = seen
        .iter()
        .filter(|u| u["update"] == "phase" && u["service"] == "web")
        .filter_map(|u| u["phase"].as_str())
        .collect();
    assert_eq!(phases.first(), Some(&"stopping"), "{seen:#?}");
    assert!(phases.contains(&"starting") || phases.contains(&"running"), "{seen:#?}");
    let line = seen.last().expect("the line");
    assert_eq!((&line["service"], &line["stream"]), (&json!("web"), &json!("out")), "{line}");
    let new = project.pid("web");
    assert_ne!(new, old, "web was not restarted");
    assert_eq!(line["text"], format!("hello from {new}"), "{line}");
    assert!(
        seen.iter().any(|u| u["update"] == "phase" && u["pid"] == json!(new)),
        "no phase with pid {new}: {seen:#?}"
    );
}

#[test]
fn a_subscriber_does_not_hold_the_supervisor_up_and_reads_its_end() {
    let project = Project::toml("[services.web]\ncmd = \"exec sleep 1000\"\nmin_uptime = \"0s\"\n");
    project.up().expect_code(0);
    let mut client = subscribed(&project);
    let supervisor = project.supervisor_pid().expect("a supervisor");
    project.run(&["down"]).expect_code(0);
    let gone = wait_until(Duration::from_secs(2), || !crate::procs::is_alive(supervisor));
    assert!(gone, "the supervisor {supervisor} is still there after down");
    let seen = {
        let mut seen = Vec::new();
        while let Some(update) = client.next() {
            seen.push(update);
        }
        seen
    };
    assert!(seen.iter().any(|u| u["phase"] == "stopped" && u["service"] == "web"), "{seen:#?}");
}
