//! 9.3: service names that come from outside the manifest — a process's `ORCH_SERVICE` marker,
//! the state file, a socket request — are held to the manifest's name rules before any use, so
//! none of them ever becomes a path outside `.orch/logs/`.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;

use super::{Marked, TIMEOUT, sleeper};
use crate::procs::is_alive;
use crate::support::{Project, wait_until};

/// A folder outside the project, and a name that climbs from `.orch/logs/` into it.
fn target() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let climb = format!("{}{}/x", "../".repeat(40), dir.path().display().to_string().trim_start_matches('/'));
    (dir, climb)
}

fn assert_empty(dir: &tempfile::TempDir) {
    let planted: Vec<_> = std::fs::read_dir(dir.path()).unwrap().filter_map(Result::ok).map(|e| e.path()).collect();
    assert!(planted.is_empty(), "orch created files outside the project: {planted:?}");
}

#[test]
fn a_marker_that_climbs_out_of_the_logs_folder_is_left_alone() {
    let project = Project::toml(&sleeper("web"));
    let (outside, climb) = target();
    let marked = Marked::spawn(&project.path(), &climb, None);
    // With no readable record, the next supervisor takes over what carries the markers.
    project.up().expect_code(0);
    project.run(&["down"]).expect_code(0);
    std::fs::write(project.path().join(".orch/state.json"), "garbage").unwrap();
    project.up().expect_code(0);
    assert_empty(&outside);
    let names: Vec<String> =
        project.ps_json().as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap().to_owned()).collect();
    assert_eq!(names, ["web"]);
    let log = project.read(".orch/supervisor.log").unwrap_or_default();
    assert!(log.contains(&format!("pid {}", marked.pid())) && log.contains("no service name"), "{log}");
    project.run(&["down"]).expect_code(0);
    assert!(is_alive(marked.pid()), "a process that is no service was signalled");
}

#[test]
fn a_state_file_name_that_climbs_out_is_ignored() {
    let project = Project::toml(&sleeper("web"));
    let (outside, climb) = target();
    std::fs::create_dir_all(project.path().join(".orch")).unwrap();
    let state = serde_json::json!({
        "version": 1,
        "services": {
            climb.clone(): { "desired": "up", "state": "pending", "config_hash": "", "restarts": 0 },
        }
    });
    std::fs::write(project.path().join(".orch/state.json"), state.to_string()).unwrap();
    project.up().expect_code(0);
    assert_empty(&outside);
    let names: Vec<String> =
        project.ps_json().as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap().to_owned()).collect();
    assert!(!names.contains(&climb), "{names:?}");
    let log = project.read(".orch/supervisor.log").unwrap_or_default();
    assert!(log.contains("which is no service name; ignored"), "{log}");
}

#[test]
fn a_socket_request_with_a_bad_name_is_refused() {
    let project = Project::toml(&sleeper("web"));
    project.up().expect_code(0);
    let web = project.pid("web");
    let socket = project.socket().expect("the socket in the lock");
    let stream = UnixStream::connect(&socket).unwrap();
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut ask = |request: serde_json::Value| {
        let mut line = request.to_string();
        line.push('\n');
        (&stream).write_all(line.as_bytes()).unwrap();
        let mut reply = String::new();
        reader.read_line(&mut reply).unwrap();
        serde_json::from_str::<serde_json::Value>(&reply).unwrap()
    };
    assert_eq!(ask(serde_json::json!({"v": 3, "request": "hello"}))["reply"], "hello");
    for request in ["down", "ps"] {
        let reply = ask(serde_json::json!({"v": 3, "request": request, "services": ["../../x"]}));
        assert_eq!((&reply["reply"], &reply["kind"]), (&"error".into(), &"invalid".into()), "{reply}");
        assert!(reply["message"].as_str().unwrap().contains("\"../../x\" is not a valid service name"), "{reply}");
    }
    assert!(!wait_until(std::time::Duration::from_millis(300), || !is_alive(web)), "web was stopped");
    project.run(&["down"]).expect_code(0);
}

#[test]
fn a_socket_start_with_a_key_that_is_no_variable_name_is_refused() {
    let project = Project::toml(&sleeper("web"));
    project.up().expect_code(0);
    let socket = project.socket().expect("the socket in the lock");
    let stream = UnixStream::connect(&socket).unwrap();
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut ask = |request: serde_json::Value| {
        let mut line = request.to_string();
        line.push('\n');
        (&stream).write_all(line.as_bytes()).unwrap();
        let mut reply = String::new();
        reader.read_line(&mut reply).unwrap();
        serde_json::from_str::<serde_json::Value>(&reply).unwrap()
    };
    assert_eq!(ask(serde_json::json!({"v": 3, "request": "hello"}))["reply"], "hello");
    let cwd = project.path().display().to_string();
    for (env, words) in [
        (serde_json::json!([["SNEAK=HOME", "x"]]), "is not a variable name"),
        (serde_json::json!([["OK", "a\u{0}b"]]), "NUL"),
    ] {
        let request = serde_json::json!({
            "v": 3, "request": "start_adhoc",
            "origin": { "manifest": null, "env": {} },
            "adhoc": { "name": "sneaky", "cmd": "sleep 1000", "cwd": cwd, "env": env },
        });
        let reply = ask(request);
        assert_eq!(reply["reply"], "error", "{reply}");
        assert!(reply["message"].as_str().unwrap_or_default().contains(words), "{reply}");
    }
    let names: Vec<String> =
        project.ps_json().as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap().to_owned()).collect();
    assert_eq!(names, ["web"], "nothing was started");
}
