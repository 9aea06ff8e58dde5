//! Point 2: a refusal crosses the socket as a kind with its data (unknown service with the
//! names there are, bad manifest with its problems and their places, conflict, invalid,
//! internal), and an orch of another protocol version — older or newer — is told both versions
//! and what to do, in a shape it reads.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::json;

use super::{RawClient, sleeper};
use crate::procs::{is_alive, supervisor_pids};
use crate::support::Project;

fn running(manifest: &str) -> (Project, RawClient) {
    let project = Project::toml(manifest);
    project.up().expect_code(0);
    let mut client = RawClient::connect(&project.socket().expect("the socket in the lock"));
    assert_eq!(client.ask(&json!({"v": 3, "request": "hello"}))["reply"], "hello");
    (project, client)
}

#[test]
fn an_unknown_service_comes_with_the_names_there_are() {
    let (project, mut client) = running(&format!("{}{}", sleeper("web"), sleeper("db")));
    let reply = client.ask(&json!({"v": 3, "request": "ps", "services": ["wbe"]}));
    assert_eq!(
        reply,
        json!({"v": 3, "reply": "error", "kind": "unknown_service", "name": "wbe", "known": ["web", "db"]})
    );
    let run = project.run(&["stop", "wbe"]).expect_code(2);
    assert_eq!(run.stderr(), "orch: no service named `wbe` (services: `web`, `db`)\n");
}

#[test]
fn a_request_line_past_the_bound_is_refused_and_the_supervisor_goes_on() {
    let (project, mut client) = running(&sleeper("web"));
    // 64 MiB with no newline: the supervisor stops reading there, it does not grow for ever.
    let reply = client.ask_bytes(&vec![b' '; 64 << 20]);
    assert_eq!(reply["kind"], "invalid", "{reply}");
    assert!(reply["message"].as_str().unwrap_or_default().contains("longer than 64 MiB"), "{reply}");
    let ps = project.run(&["ps", "--json"]).expect_code(0);
    assert!(ps.stdout().contains("\"web\""), "{}", ps.stdout());
}

#[test]
fn an_ad_hoc_name_that_the_manifest_uses_is_a_conflict() {
    let (project, mut client) = running(&sleeper("web"));
    let cwd = project.path().display().to_string();
    let start = |name: &str| {
        json!({
            "v": 3, "request": "start_adhoc",
            "origin": { "manifest": null, "env": {} },
            "adhoc": { "name": name, "cmd": "sleep 1000", "cwd": cwd },
        })
    };
    let reply = client.ask(&start("web"));
    assert_eq!(reply["kind"], "conflict", "{reply}");
    assert!(reply["message"].as_str().unwrap_or_default().contains("`web` is a service of the manifest"), "{reply}");
    let reply = client.ask(&start("orch"));
    assert_eq!(reply["kind"], "invalid", "{reply}");
    let run = project.run(&["start", "web", "--", "sleep", "1"]).expect_code(2);
    assert!(run.stderr().contains("`web` is a service of the manifest"), "{}", run.stderr());
}

/// The supervisor loads the manifest a request names itself: when it does not load there, the
/// problems come back with their places and the lines around them, and nothing running changes.
#[test]
fn a_bad_manifest_comes_with_its_problems_and_their_places() {
    let (project, mut client) = running(&sleeper("web"));
    let web = project.pid("web");
    let broken = project.path().join("broken.toml");
    std::fs::write(&broken, "[services.web]\ncmd = \"x\"\nstop_signal = \"SIGTREM\"\n").unwrap();
    let reply = client.ask(&json!({
        "v": 3, "request": "up",
        "origin": { "manifest": broken, "env": {} },
        "services": [], "wait": true,
    }));
    assert_eq!((&reply["reply"], &reply["kind"]), (&json!("error"), &json!("bad_manifest")), "{reply}");
    let problem = &reply["problems"][0];
    assert_eq!(problem["severity"], "error", "{reply}");
    assert!(problem["message"].as_str().unwrap_or_default().contains("unknown signal `SIGTREM`"), "{reply}");
    let at = &problem["at"];
    assert_eq!((&at["file"], &at["line"], &at["column"]), (&json!("broken.toml"), &json!(3), &json!(15)), "{reply}");
    assert_eq!(at["excerpt"], "cmd = \"x\"\nstop_signal = \"SIGTREM\"\n", "{reply}");
    assert_eq!(at["excerpt_line"], 2, "{reply}");
    assert_eq!(project.pid("web"), web, "web was restarted");
    assert!(is_alive(web));
}

#[test]
fn an_old_client_is_told_both_versions_in_a_shape_it_reads() {
    let (project, mut client) = running(&sleeper("web"));
    let web = project.pid("web");
    // What orch 0.1 with protocol 2 sends first, and a request of its that protocol 3 may not read.
    let mut said = Vec::new();
    for message in [json!({"v": 2, "request": "hello"}), json!({"v": 2, "request": "up", "origin": 7})] {
        let reply = client.ask(&message);
        // Protocol 2 reads `reply: error` with a `message` (and a `kind` of its own, or none).
        let mut keys: Vec<&String> = reply.as_object().unwrap().keys().collect();
        keys.sort();
        assert_eq!(keys, ["message", "reply", "v"], "{reply}");
        assert_eq!((&reply["v"], &reply["reply"]), (&json!(3), &json!("error")), "{reply}");
        said.push(reply["message"].as_str().unwrap().replace(env!("CARGO_PKG_VERSION"), "VERSION"));
    }
    assert_eq!(said[0], said[1]);
    insta::assert_snapshot!(said[0], @"this supervisor speaks protocol 3 and the client 2: they are different versions of orch; use the orch that started the supervisor (orch VERSION), or stop it with that one (`orch down`) first");
    assert_eq!(client.ask(&json!({"v": 3, "request": "hello"}))["reply"], "hello", "the connection still serves");
    assert_eq!(project.pid("web"), web);
}

/// A supervisor started by an older orch (protocol 2): it holds the project's lock, records its
/// socket, and answers every line as protocol 2 answers a message of another version.
struct OldSupervisor {
    _lock: nix::fcntl::Flock<File>,
    _folder: tempfile::TempDir,
    socket: PathBuf,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl OldSupervisor {
    fn start(project: &Project) -> Self {
        let dir = crate::safety::orch_dirs(project);
        let file =
            std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(dir.join("supervisor.lock"));
        let mut lock = nix::fcntl::Flock::lock(file.unwrap(), nix::fcntl::FlockArg::LockExclusiveNonblock)
            .unwrap_or_else(|(_, e)| panic!("lock: {e}"));
        let folder = tempfile::tempdir().unwrap();
        std::fs::set_permissions(folder.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        let socket = folder.path().join("orch.sock");
        let holder = json!({"pid": std::process::id(), "socket": socket, "version": "0.0.9", "started_at": "2026-11-01T00:00:00Z"});
        lock.write_all(holder.to_string().as_bytes()).unwrap();
        let listener = UnixListener::bind(&socket).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    return;
                }
                if let Ok(stream) = stream {
                    answer_as_protocol_2(stream);
                }
            }
        });
        Self { _lock: lock, _folder: folder, socket, stop, thread: Some(thread) }
    }
}

fn answer_as_protocol_2(stream: UnixStream) {
    let mut writer = stream.try_clone().unwrap();
    for line in BufReader::new(stream).lines() {
        let Ok(line) = line else { return };
        let v = serde_json::from_str::<serde_json::Value>(&line).map(|m| m["v"].clone()).unwrap_or_default();
        let reply = json!({"v": 2, "reply": "error", "message": format!("this supervisor speaks protocol 2, the client {v}"), "kind": "usage"});
        if writeln!(writer, "{reply}").is_err() {
            return;
        }
    }
}

impl Drop for OldSupervisor {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = UnixStream::connect(&self.socket);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[test]
fn a_new_client_is_told_both_versions_by_an_old_supervisor() {
    let project = Project::toml(&sleeper("web"));
    let old = OldSupervisor::start(&project);
    let me = std::process::id().to_string();
    let said: Vec<String> = [&["ps"][..], &["up"], &["down"]]
        .map(|args| project.run(args).expect_code(1).stderr().replace(&me, "PID"))
        .into();
    assert!(said.iter().all(|s| *s == said[0]), "{said:#?}");
    insta::assert_snapshot!(said[0], @"orch: the supervisor (pid PID) speaks protocol 2 and this orch 3: another version of orch started it; run `orch down` with the orch that started it, then this command again");
    assert!(supervisor_pids(&project.path()).is_empty(), "a supervisor was started beside the old one");
    drop(old);
}
