//! `orch mcp` end to end: the real binary as a subprocess, spoken to in JSON-RPC over its stdin
//! and stdout, as an agent's MCP client does. What runs is checked in /proc; the server is
//! killed by pid when a test ends, and the project's processes by the `Project` guard.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::procs::{self, is_alive, pids_of};
use crate::support::{Project, free_port, orch_std, port_open, python, wait_until};

pub const SECOND: Duration = Duration::from_secs(1);
/// The longest one request may take (an ad-hoc start waits for its ready check).
const REPLY_TIMEOUT: Duration = Duration::from_secs(30);

/// A running `orch mcp` and the client end of its stdio.
pub struct Mcp {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    stderr: Arc<Mutex<Vec<u8>>>,
    next_id: u64,
}

impl Mcp {
    /// `orch ARGS… mcp` started in `cwd`.
    pub fn spawn(cwd: &Path, args: &[&str]) -> Self {
        Self::spawn_with(cwd, args, &[])
    }

    /// `orch BEFORE… mcp AFTER…` started in `cwd`.
    pub fn spawn_with(cwd: &Path, before: &[&str], after: &[&str]) -> Self {
        let mut child = orch_std()
            .current_dir(cwd)
            .args(before)
            .arg("mcp")
            .args(after)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start orch mcp");
        let (tx, lines) = channel();
        let stdout = child.stdout.take().expect("its stdout");
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let sink = stderr.clone();
        let mut pipe = child.stderr.take().expect("its stderr");
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = std::io::Read::read(&mut pipe, &mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        let stdin = child.stdin.take();
        Self { child, stdin, lines, stderr, next_id: 1 }
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    pub fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.stderr.lock().unwrap()).into_owned()
    }

    pub fn send(&mut self, message: &Value) {
        let stdin = self.stdin.as_mut().expect("stdin still open");
        let mut line = serde_json::to_vec(message).unwrap();
        line.push(b'\n');
        stdin.write_all(&line).and_then(|_| stdin.flush()).expect("write to orch mcp");
    }

    /// Writes bytes to stdin as they are (a malformed line).
    pub fn send_raw(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().expect("stdin still open");
        stdin.write_all(bytes).and_then(|_| stdin.flush()).expect("write to orch mcp");
    }

    /// The next line on stdout, which must be a JSON-RPC 2.0 message.
    pub fn next_message(&self, deadline: Instant) -> Value {
        let left = deadline.saturating_duration_since(Instant::now());
        match self.lines.recv_timeout(left) {
            Ok(line) => {
                let message: Value = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("stdout has a line that is not JSON ({e}): {line}"));
                assert_eq!(message["jsonrpc"], "2.0", "{message}");
                message
            }
            Err(RecvTimeoutError::Timeout) => panic!("no answer from orch mcp in time; stderr:\n{}", self.stderr()),
            Err(RecvTimeoutError::Disconnected) => panic!("orch mcp closed its stdout; stderr:\n{}", self.stderr()),
        }
    }

    /// Sends a request and returns the whole response (`result` or `error`).
    pub fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(&json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }));
        let deadline = Instant::now() + REPLY_TIMEOUT;
        loop {
            let message = self.next_message(deadline);
            // Notifications (logging, progress) may come in between.
            if message["id"] == id {
                return message;
            }
        }
    }

    /// The `result` of a request that must succeed at the protocol level.
    pub fn result(&mut self, method: &str, params: Value) -> Value {
        let response = self.request(method, params);
        assert!(response.get("error").is_none(), "{method} failed: {response:#}");
        response["result"].clone()
    }

    pub fn notify(&mut self, method: &str) {
        self.send(&json!({ "jsonrpc": "2.0", "method": method }));
    }

    /// `initialize` with this protocol version, then `notifications/initialized`.
    pub fn initialize(&mut self, version: &str) -> Value {
        let result = self.result(
            "initialize",
            json!({
                "protocolVersion": version,
                "capabilities": {},
                "clientInfo": { "name": "orch-tests", "version": "1.0.0" },
            }),
        );
        self.notify("notifications/initialized");
        result
    }

    /// `tools/call`: the tool result (with `isError` set either way).
    pub fn call(&mut self, tool: &str, arguments: Value) -> Value {
        let result = self.result("tools/call", json!({ "name": tool, "arguments": arguments }));
        assert!(result["content"].is_array(), "a tool result has content: {result:#}");
        result
    }

    /// Closes stdin and waits (bounded) for the server to exit.
    pub fn close(&mut self) -> ExitStatus {
        drop(self.stdin.take());
        let deadline = Instant::now() + 10 * SECOND;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for orch mcp") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "orch mcp did not exit when its stdin closed; stderr:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// Whatever happens in the test, the server goes (by its pid).
impl Drop for Mcp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The text of a tool result's content blocks, joined.
pub fn text(result: &Value) -> String {
    let blocks = result["content"].as_array().cloned().unwrap_or_default();
    blocks.iter().filter_map(|b| b["text"].as_str()).collect::<Vec<_>>().join("\n")
}

pub fn is_error(result: &Value) -> bool {
    result["isError"] == true
}

/// Asserts a tool call succeeded, showing what it said when it did not.
pub fn assert_ok(result: &Value) {
    assert!(!is_error(result), "the call failed: {result:#}");
}

/// A python3 TCP server on 127.0.0.1:PORT that listens only after 300 ms (so a call that
/// returns with it listening has waited for the check), says so, and accepts until killed.
pub fn tcp_server_command(port: u16) -> String {
    let script = "import socket, sys, time\n\
                  time.sleep(0.3)\n\
                  s = socket.socket()\n\
                  s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n\
                  s.bind((\"127.0.0.1\", int(sys.argv[1])))\n\
                  s.listen(16)\n\
                  print(\"listening on\", sys.argv[1], flush=True)\n\
                  while True:\n    s.accept()[0].close()";
    format!("exec {} -c '{script}' {port}", python())
}

/// The inodes of the sockets a process holds open.
fn socket_inodes(pid: i32) -> BTreeSet<u64> {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else { return BTreeSet::new() };
    fds.filter_map(Result::ok)
        .filter_map(|fd| std::fs::read_link(fd.path()).ok())
        .filter_map(|target| {
            let target = target.to_string_lossy().into_owned();
            target.strip_prefix("socket:[")?.strip_suffix(']')?.parse().ok()
        })
        .collect()
}

/// (inode, state) of every socket in /proc/net/<table> (tcp, tcp6, udp, udp6); state 0A is
/// LISTEN.
fn inet_sockets(table: &str) -> Vec<(u64, String)> {
    let text = std::fs::read_to_string(format!("/proc/net/{table}")).unwrap_or_default();
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            Some((fields.get(9)?.parse().ok()?, fields.get(3)?.to_string()))
        })
        .collect()
}

/// The TCP and UDP sockets of a process: (table, state) of each.
fn inet_sockets_of(pid: i32) -> Vec<(String, String)> {
    let mine = socket_inodes(pid);
    let mut found = Vec::new();
    for table in ["tcp", "tcp6", "udp", "udp6"] {
        for (inode, state) in inet_sockets(table) {
            if mine.contains(&inode) {
                found.push((table.to_owned(), state));
            }
        }
    }
    found
}

const TOOLS: [&str; 9] = ["down", "logs", "ps", "restart", "scale", "start", "stop", "up", "wait"];

#[test]
fn initialize_names_the_clients_version_and_every_tool_has_a_schema() {
    let project = Project::toml("[services.web]\ncmd = \"sleep 1000\"\n");
    for version in ["2025-06-18", "2024-11-05"] {
        let mut mcp = Mcp::spawn(&project.path(), &[]);
        let init = mcp.initialize(version);
        assert_eq!(init["protocolVersion"], version, "{init:#}");
        assert_eq!(init["serverInfo"]["name"], "orch", "{init:#}");
        assert!(init["capabilities"]["tools"].is_object(), "{init:#}");
        assert!(init["instructions"].as_str().is_some_and(|i| i.contains(project.path().to_str().unwrap())));

        let list = mcp.result("tools/list", json!({}));
        let tools = list["tools"].as_array().expect("a list of tools");
        let names: BTreeSet<&str> = tools.iter().filter_map(|t| t["name"].as_str()).collect();
        assert_eq!(names, BTreeSet::from(TOOLS), "{list:#}");
        for tool in tools {
            assert_eq!(tool["inputSchema"]["type"], "object", "{tool:#}");
            assert!(tool["description"].as_str().is_some_and(|d| d.len() > 40), "{tool:#}");
        }
        let start = tools.iter().find(|t| t["name"] == "start").unwrap();
        assert_eq!(start["inputSchema"]["required"], json!(["name"]), "{start:#}");
        let stop = tools.iter().find(|t| t["name"] == "stop").unwrap();
        assert_eq!(stop["inputSchema"]["required"], json!(["name"]), "{stop:#}");

        assert_eq!(mcp.result("ping", json!({})), json!({}));
        assert!(mcp.close().success(), "exit code when stdin closes; stderr:\n{}", mcp.stderr());
    }
    // A version it does not know is answered with one it does.
    let mut mcp = Mcp::spawn(&project.path(), &[]);
    let init = mcp.initialize("2099-01-01");
    let answered = init["protocolVersion"].as_str().unwrap_or_default().to_owned();
    assert!(["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"].contains(&answered.as_str()), "{init:#}");
    assert_eq!(mcp.close().code(), Some(0));
    // Listing tools starts nothing.
    assert!(!project.exists(".orch"), "a supervisor was started for nothing");
}

#[test]
fn an_adhoc_server_started_seen_read_and_stopped_through_mcp() {
    let project = Project::toml("[services.web]\ncmd = \"sleep 1000\"\n");
    let root = project.path();
    // From elsewhere, with -C, as an MCP client's configuration would say.
    let mut mcp = Mcp::spawn(&std::env::temp_dir(), &["-C", root.to_str().unwrap()]);
    mcp.initialize("2025-06-18");

    // An ad-hoc TCP server with a ready check: the call returns once it listens.
    let port = free_port();
    let started = mcp.call(
        "start",
        json!({ "name": "srv", "command": tcp_server_command(port), "ready": { "tcp": format!("127.0.0.1:{port}") } }),
    );
    assert_ok(&started);
    assert!(port_open(port), "start returned before the server listened: {started:#}");
    assert!(text(&started).contains("srv") && text(&started).contains("ready"), "{started:#}");
    assert_eq!(started["structuredContent"]["ok"], true, "{started:#}");
    assert_eq!(started["structuredContent"]["outcomes"][0]["phase"], "ready", "{started:#}");

    // ps: the same objects as `orch ps --json`.
    let ps = mcp.call("ps", json!({}));
    assert_ok(&ps);
    let rows: Value = serde_json::from_str(ps["content"][0]["text"].as_str().unwrap()).expect("ps text is JSON");
    let srv = rows.as_array().unwrap().iter().find(|r| r["name"] == "srv").cloned().expect("srv in ps");
    assert_eq!(srv["adhoc"], true, "{srv:#}");
    assert_eq!(srv["state"], "ready", "{srv:#}");
    assert_eq!(srv["ready_check"], format!("tcp 127.0.0.1:{port}"), "{srv:#}");
    let pid = srv["pid"].as_i64().expect("a pid") as i32;
    assert_eq!(pids_of(&root, "srv"), [pid], "python itself, exec'd");
    assert_eq!(ps["structuredContent"]["services"], rows);
    assert_eq!(project.service("srv")["pid"], pid, "the CLI sees the same");
    let only = mcp.call("ps", json!({ "services": ["srv"] }));
    let only: Value = serde_json::from_str(only["content"][0]["text"].as_str().unwrap()).unwrap();
    assert_eq!(only.as_array().map(Vec::len), Some(1), "{only:#}");

    // logs: one service's lines, then all merged with a prefix.
    let wanted = format!("listening on {port}");
    assert!(
        wait_until(3 * SECOND, || text(&mcp.call("logs", json!({ "service": "srv" }))).lines().any(|l| l == wanted)),
        "{:#}",
        mcp.call("logs", json!({ "service": "srv" }))
    );
    let all = text(&mcp.call("logs", json!({ "lines": 10 })));
    assert!(all.lines().any(|l| l.starts_with("srv") && l.ends_with(&format!("| {wanted}"))), "{all}");

    // Neither orch mcp nor the supervisor has a TCP or UDP socket of its own: no listener,
    // no UDP binding (the ready probe's connections out come and go).
    let supervisor = project.supervisor_pid().expect("a supervisor was started");
    assert_eq!(inet_sockets_of(mcp.pid()), [], "orch mcp has a network socket");
    let listening: Vec<(String, String)> = inet_sockets_of(supervisor)
        .into_iter()
        .filter(|(table, state)| table.starts_with("udp") || state == "0A")
        .collect();
    assert_eq!(listening, [], "the supervisor listens or binds UDP");

    // stop: gone, in /proc.
    let stopped = mcp.call("stop", json!({ "name": "srv" }));
    assert_ok(&stopped);
    assert!(text(&stopped).contains("stopped"), "{stopped:#}");
    assert!(!is_alive(pid), "the ad-hoc server {pid} survived stop");
    assert_eq!(pids_of(&root, "srv"), Vec::<i32>::new());
    assert!(!port_open(port));

    assert_eq!(mcp.close().code(), Some(0), "stderr:\n{}", mcp.stderr());
}

#[test]
fn bad_calls_are_tool_errors_and_the_server_keeps_answering() {
    let project = Project::toml("[services.web]\ncmd = \"sleep 1000\"\n[services.api]\ncmd = \"sleep 1000\"\n");
    let root = project.path();
    let mut mcp = Mcp::spawn(&root, &[]);
    mcp.initialize("2025-06-18");
    let started = mcp.call("start", json!({ "name": "tmp", "command": "exec sleep 1000" }));
    assert_ok(&started);

    // An unknown service: isError, naming the services there are, the ad-hoc one too.
    for (tool, args) in [
        ("stop", json!({ "name": "wbe" })),
        ("restart", json!({ "name": "wbe" })),
        ("up", json!({ "services": ["wbe"] })),
        ("start", json!({ "name": "wbe" })),
        ("ps", json!({ "services": ["wbe"] })),
        ("logs", json!({ "service": "wbe" })),
        ("down", json!({ "services": ["wbe"] })),
    ] {
        let result = mcp.call(tool, args);
        assert!(is_error(&result), "{tool}: {result:#}");
        let said = text(&result);
        for name in ["wbe", "web", "api", "tmp"] {
            assert!(said.contains(&format!("`{name}`")), "{tool} does not name `{name}`: {said}");
        }
    }

    // A missing argument: isError or invalid-params, never a dead server.
    let response = mcp.request("tools/call", json!({ "name": "stop", "arguments": {} }));
    let result = &response["result"];
    assert!(is_error(result) || response["error"]["code"] == -32602, "{response:#}");
    assert!(text(result).contains("name") || response["error"].is_object(), "{response:#}");

    // Calls the schema allows but that cannot work.
    for (args, words) in [
        (json!({ "name": "x", "command": "true", "ready": { "tcp": 5 } }), &["ready"][..]),
        (json!({ "name": "x", "command": "true", "ready": { "port": "1" } }), &["ready", "tcp"][..]),
        (json!({ "name": "x", "command": "true", "cwd": "no/such/dir" }), &["no/such/dir"][..]),
        (json!({ "name": "x", "command": "  " }), &["empty"][..]),
        (json!({ "name": "orch", "command": "true" }), &["reserved"][..]),
        (json!({ "name": "web", "command": "true" }), &["manifest"][..]),
        (json!({ "name": "web", "env": { "A": "1" } }), &["command"][..]),
    ] {
        let result = mcp.call("start", args.clone());
        assert!(is_error(&result), "{args}: {result:#}");
        for word in words {
            assert!(text(&result).contains(word), "`{word}` not in the answer to {args}: {}", text(&result));
        }
    }
    let bad_timeout = mcp.call("up", json!({ "timeout": "soon" }));
    assert!(is_error(&bad_timeout) && text(&bad_timeout).contains("soon"), "{bad_timeout:#}");
    let unknown_tool = mcp.request("tools/call", json!({ "name": "explode", "arguments": {} }));
    assert!(unknown_tool["error"].is_object() || is_error(&unknown_tool["result"]), "{unknown_tool:#}");

    // An ad-hoc service that exits before its check passes: the reason and its last lines.
    let port = free_port();
    let failed = mcp.call(
        "start",
        json!({ "name": "bad", "command": "echo cannot open the database; exit 3", "ready": { "tcp": format!("127.0.0.1:{port}") } }),
    );
    assert!(is_error(&failed), "{failed:#}");
    assert!(text(&failed).contains("3") && text(&failed).contains("cannot open the database"), "{failed:#}");
    assert_eq!(failed["structuredContent"]["ok"], false, "{failed:#}");

    // Still answering.
    assert_eq!(mcp.result("ping", json!({})), json!({}));
    assert_eq!(mcp.result("tools/list", json!({}))["tools"].as_array().map(Vec::len), Some(TOOLS.len()));
    assert_ok(&mcp.call("ps", json!({})));
    assert_eq!(procs::pids_of(&root, "tmp").len(), 1, "the ad-hoc service still runs");
    assert_eq!(mcp.close().code(), Some(0), "stderr:\n{}", mcp.stderr());
}

#[test]
fn manifest_services_up_restart_and_down_through_mcp() {
    // `slow` never passes its check (nothing listens on its port).
    let project = Project::toml(&format!(
        "[services.db]\ncmd = \"sleep 1000\"\n[services.web]\ncmd = \"sleep 1000\"\ndepends_on = [\"db\"]\n\
         [services.broken]\ncmd = \"echo no config here; exit 2\"\noneshot = true\n\
         [services.slow]\ncmd = \"sleep 1000\"\nready = {{ tcp = \"127.0.0.1:{}\" }}\n",
        free_port()
    ));
    let root = project.path();
    let mut mcp = Mcp::spawn(&root, &[]);
    mcp.initialize("2024-11-05");

    // No supervisor yet: ps says what was recorded (nothing), and starts none.
    let ps = mcp.call("ps", json!({}));
    assert_ok(&ps);
    assert_eq!(ps["content"][0]["text"], "[]", "{ps:#}");
    assert!(procs::supervisor_pids(&root).is_empty());

    // up starts the supervisor, as the CLI does, and tells each outcome.
    let up = mcp.call("up", json!({ "services": ["web"] }));
    assert_ok(&up);
    assert!(text(&up).contains("db") && text(&up).contains("web"), "{up:#}");
    assert_eq!(procs::supervisor_pids(&root).len(), 1);
    let web = project.pid("web");

    // A failure names the reason and the last log lines.
    let broken = mcp.call("up", json!({ "services": ["broken"] }));
    assert!(is_error(&broken), "{broken:#}");
    assert!(text(&broken).contains("no config here"), "{broken:#}");

    // wait: false returns once started; a timeout gives up waiting (the service keeps starting).
    let began = Instant::now();
    let unwaited = mcp.call("up", json!({ "services": ["slow"], "wait": false }));
    assert_ok(&unwaited);
    assert_eq!(unwaited["structuredContent"]["outcomes"][0]["phase"], "starting", "{unwaited:#}");
    let waited = mcp.call("up", json!({ "services": ["slow"], "timeout": "300ms" }));
    assert!(is_error(&waited) && text(&waited).contains("timed out"), "{waited:#}");
    assert!(began.elapsed() < 5 * SECOND, "the timeout was not kept: {:?}", began.elapsed());
    assert_eq!(project.service("slow")["state"], "starting");

    // restart: a new process.
    let restarted = mcp.call("restart", json!({ "name": "web" }));
    assert_ok(&restarted);
    assert!(wait_until(2 * SECOND, || !is_alive(web)), "the old web {web} still runs");
    assert_ne!(project.pid("web"), web);

    // down: everything stops and the supervisor exits.
    let supervisor = project.supervisor_pid().unwrap();
    let down = mcp.call("down", json!({}));
    assert_ok(&down);
    assert!(text(&down).contains("stopped"), "{down:#}");
    assert_eq!(procs::marked_pids(&root), Vec::<(i32, String)>::new());
    assert!(wait_until(5 * SECOND, || !is_alive(supervisor)), "the supervisor outlived down");
    let again = mcp.call("down", json!({}));
    assert_ok(&again);
    assert_eq!(mcp.close().code(), Some(0), "stderr:\n{}", mcp.stderr());
}

#[test]
fn a_wrong_directory_is_a_usage_error() {
    let project = Project::new();
    let missing = project.path().join("no-such-folder");
    let mut mcp = Mcp::spawn(&project.path(), &["-C", missing.to_str().unwrap()]);
    let status = mcp.close();
    assert_eq!(status.code(), Some(2), "stderr:\n{}", mcp.stderr());
    // The reader thread may still be copying stderr when the process has exited.
    assert!(wait_until(5 * SECOND, || mcp.stderr().contains("no-such-folder")), "{}", mcp.stderr());
}

#[test]
fn every_malformed_line_gets_the_spec_error_and_the_server_keeps_serving() {
    let project = Project::toml("[services.web]\ncmd = \"sleep 1000\"\n");
    let mut mcp = Mcp::spawn(&project.path(), &[]);
    // Before `initialize` as well as after it.
    let huge = [vec![b'x'; 5 << 20], b"\n".to_vec()].concat();
    let lines: [(&[u8], i64, Value); 7] = [
        (b"not json at all\n", -32700, Value::Null),
        (b"\xff\xfe{}\n", -32700, Value::Null),
        (b"[{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\": \"ping\"}]\n", -32600, Value::Null),
        (b"{\"id\": 5, \"method\": \"ping\"}\n", -32600, json!(5)),
        (b"{\"jsonrpc\": \"2.0\", \"id\": 6, \"method\": \"tools/call\", \"params\": \"x\"}\n", -32602, json!(6)),
        (b"{\"jsonrpc\": \"2.0\", \"id\": {\"a\": 1}, \"method\": \"ping\"}\n", -32600, Value::Null),
        (&huge, -32600, Value::Null),
    ];
    for round in ["before initialize", "after initialize"] {
        for (line, code, id) in &lines {
            mcp.send_raw(line);
            let deadline = Instant::now() + REPLY_TIMEOUT;
            let answer = mcp.next_message(deadline);
            let shown: String = String::from_utf8_lossy(&line[..line.len().min(60)]).into_owned();
            assert_eq!(answer["error"]["code"], *code, "{round}: {shown}: {answer}");
            assert_eq!(answer["id"], *id, "{round}: {shown}: {answer}");
            assert!(answer.to_string().len() < 1000, "{round}: the answer echoes the line back");
        }
        if round == "before initialize" {
            mcp.initialize("2025-06-18");
        }
        assert!(mcp.request("ping", json!({}))["result"].is_object(), "{round}: the server stopped answering");
    }
    assert!(mcp.stderr().is_empty() || !mcp.stderr().contains("panicked"), "{}", mcp.stderr());

    // Arguments that do not fit: the argument named, in plain words.
    for (tool, args, words) in [
        ("logs", json!({ "lines": "ten" }), "lines: expected a whole number"),
        ("up", json!({ "wait": "yes" }), "wait: expected true or false"),
        ("stop", json!({ "name": "../../x" }), "name: \"../../x\" is not a service name"),
        ("logs", json!({ "service": "../../etc/passwd" }), "service: \"../../etc/passwd\" is not a service name"),
    ] {
        let result = mcp.call(tool, args.clone());
        assert!(is_error(&result), "{tool} {args}: {result:#}");
        let said = text(&result);
        assert!(said.contains(words) && !said.contains("usize"), "{tool} {args}: {said}");
    }
    assert!(mcp.close().success());
}

/// Point 4: the tools' answers as an agent reads them (pids, times and the folder redacted).
#[test]
fn answers_as_an_agent_reads_them() {
    let project = Project::toml(
        "[services.db]\ncmd = \"echo db up; exec sleep 1000\"\nmin_uptime = \"0s\"\n\
         [services.web]\ncmd = \"echo web up; exec sleep 1000\"\nmin_uptime = \"0s\"\ndepends_on = { db = \"started\" }\n",
    );
    let root = project.path();
    let mut mcp = Mcp::spawn(&root, &[]);
    mcp.initialize("2025-06-18");
    let shown = |result: &Value| {
        let verdict = if is_error(result) { "isError" } else { "ok" };
        crate::architecture::redact(&format!("{verdict}\n{}", text(result)), &root)
    };
    insta::assert_snapshot!("mcp_up", shown(&mcp.call("up", json!({}))));
    insta::assert_snapshot!("mcp_ps", shown(&mcp.call("ps", json!({ "services": ["web"] }))));
    assert!(wait_until(5 * SECOND, || project.log_file("web").ends_with(b"web up\n")), "web wrote nothing");
    insta::assert_snapshot!("mcp_logs", shown(&mcp.call("logs", json!({ "service": "web" }))));
    insta::assert_snapshot!("mcp_unknown", shown(&mcp.call("stop", json!({ "name": "wbe" }))));
    insta::assert_snapshot!("mcp_down", shown(&mcp.call("down", json!({}))));
    insta::assert_snapshot!("mcp_down_again", shown(&mcp.call("down", json!({}))));
    assert_eq!(mcp.close().code(), Some(0), "stderr:\n{}", mcp.stderr());
}
