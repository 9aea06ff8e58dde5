//! Issue 13: MCP tools every client can call and that never stall an agent — plain schemas
//! (and text arguments taken for what they mean), bounded calls and `wait`, logs within a
//! byte cap, where to connect, idempotent starts, annotations and output schemas, opt-in
//! notifications, and ad-hoc commands as a grant. The real binary over JSON-RPC lines.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::mcp::{Mcp, SECOND, assert_ok, is_error, text};
use crate::procs::{is_alive, pids_of};
use crate::support::{Project, free_port, port_open, python, wait_until};

/// The tools as listed, by name.
fn tools(mcp: &mut Mcp) -> Vec<Value> {
    mcp.result("tools/list", json!({}))["tools"].as_array().cloned().expect("a list of tools")
}

/// Checks a tool's structured answer against the output schema it lists.
fn assert_matches_its_schema(tools: &[Value], tool: &str, result: &Value) {
    let listed = tools.iter().find(|t| t["name"] == tool).unwrap_or_else(|| panic!("no tool {tool}"));
    let validator = jsonschema::validator_for(&listed["outputSchema"]).expect("an output schema that compiles");
    let content = &result["structuredContent"];
    let problems: Vec<String> =
        validator.iter_errors(content).map(|e| format!("{e} at {}", e.instance_path())).collect();
    assert!(problems.is_empty(), "{tool}'s answer does not match its schema: {problems:?}\n{content:#}");
    assert_eq!(content["ok"], !is_error(result), "{tool}: `ok` and isError disagree: {result:#}");
}

#[test]
fn every_tool_is_annotated_and_every_answer_matches_its_output_schema() {
    let port = free_port();
    let project = Project::toml(&format!(
        "[services.web]\ncmd = \"echo web says hi; exec sleep 1000\"\nmin_uptime = \"0s\"\n\
         [services.slow]\ncmd = \"sleep 1000\"\nready = {{ tcp = \"127.0.0.1:{port}\" }}\n"
    ));
    let mut mcp = Mcp::spawn(&project.path(), &[]);
    let init = mcp.initialize("2025-06-18");
    let instructions = init["instructions"].as_str().unwrap_or_default();
    for word in ["`up`", "`wait`", "`logs`", "`grep`", "`down`", "after this session ends"] {
        assert!(instructions.contains(word), "the instructions do not say {word}: {instructions}");
    }
    let tools = tools(&mut mcp);
    for tool in &tools {
        let name = tool["name"].as_str().unwrap();
        let hints = &tool["annotations"];
        let read_only = ["ps", "logs", "wait"].contains(&name);
        assert_eq!(hints["readOnlyHint"], read_only, "{name}: {hints}");
        if ["down", "stop"].contains(&name) {
            assert_eq!(hints["destructiveHint"], true, "{name}: {hints}");
        }
        if ["up", "start", "down", "stop", "ps", "logs", "wait"].contains(&name) {
            assert_eq!(hints["idempotentHint"], true, "{name}: {hints}");
        }
        assert_eq!(tool["outputSchema"]["type"], "object", "{name}");
        let input = tool["inputSchema"].to_string();
        assert!(!input.contains("null") && !input.contains("oneOf") && !input.contains("anyOf"), "{name}: {input}");
    }

    let calls = [
        ("up", json!({ "services": ["web"] })),
        ("ps", json!({})),
        ("wait", json!({ "services": ["web"] })),
        ("logs", json!({ "service": "web" })),
        ("logs", json!({ "grep": "nothing matches this" })),
        ("start", json!({ "name": "tmp", "command": "exec sleep 1000" })),
        ("up", json!({ "services": ["slow"], "timeout": "300ms" })),
        ("wait", json!({ "services": ["slow"], "timeout": 0.3 })),
        ("stop", json!({ "name": "wbe" })),
        ("restart", json!({ "name": "web" })),
        ("logs", json!({ "grep": "(" })),
        ("stop", json!({ "name": "tmp" })),
        ("down", json!({})),
        ("down", json!({})),
    ];
    for (tool, args) in calls {
        let result = mcp.call(tool, args.clone());
        assert_matches_its_schema(&tools, tool, &result);
        assert!(!text(&result).is_empty(), "{tool} {args}: no readable text");
    }
    assert_eq!(mcp.close().code(), Some(0), "stderr:\n{}", mcp.stderr());
}

#[test]
fn arguments_sent_as_text_are_taken_for_what_they_mean() {
    let project = Project::toml(
        "[services.web]\ncmd = \"for i in 1 2 3 4 5; do echo line $i; done; exec sleep 1000\"\nmin_uptime = \"0s\"\n\
         [services.db]\ncmd = \"sleep 1000\"\nmin_uptime = \"0s\"\n",
    );
    let mut mcp = Mcp::spawn(&project.path(), &[]);
    mcp.initialize("2024-11-05");
    // As the Inspector CLI of old sends them: every value a string.
    let up = mcp.call("up", json!({ "services": "web", "wait": "true", "timeout": "10" }));
    assert_ok(&up);
    assert_eq!(up["structuredContent"]["outcomes"].as_array().map(Vec::len), Some(1), "{up:#}");
    assert!(wait_until(5 * SECOND, || project.log_file("web").ends_with(b"line 5\n")));
    let logs = mcp.call("logs", json!({ "service": "web", "tail": "2" }));
    assert_ok(&logs);
    assert_eq!(text(&logs), "line 4\nline 5\n", "{logs:#}");
    let ps = mcp.call("ps", json!({ "services": "[\"web\"]" }));
    assert_eq!(ps["structuredContent"]["services"].as_array().map(Vec::len), Some(1), "{ps:#}");
    let both = mcp.call("up", json!({ "services": "web, db", "wait": "false" }));
    assert_ok(&both);
    // Text that means nothing of the kind is still an error that names the argument.
    let bad = mcp.call("logs", json!({ "tail": "lots" }));
    assert!(is_error(&bad) && text(&bad).starts_with("tail:"), "{bad:#}");
    assert_ok(&mcp.call("down", json!({})));
    assert_eq!(mcp.close().code(), Some(0));
}

#[test]
fn a_wait_returns_the_state_the_failing_check_and_the_last_lines_within_its_timeout() {
    let (closed, open) = (free_port(), free_port());
    let project = Project::toml(&format!(
        "[services.slow]\ncmd = \"echo trying to reach the database; exec sleep 1000\"\n\
         ready = {{ tcp = \"127.0.0.1:{closed}\" }}\n\
         [services.srv]\ncmd = [\"{py}\", \"-m\", \"http.server\", \"{open}\", \"--bind\", \"127.0.0.1\"]\n\
         ready = {{ http = \"http://127.0.0.1:{open}/\" }}\n",
        py = python()
    ));
    let mut mcp = Mcp::spawn(&project.path(), &[]);
    mcp.initialize("2025-06-18");
    assert_ok(&mcp.call("up", json!({ "wait": false })));

    let began = Instant::now();
    let waited = mcp.call("wait", json!({ "services": ["slow"], "timeout": "1s" }));
    let took = began.elapsed();
    assert!(is_error(&waited), "{waited:#}");
    assert!(took >= Duration::from_millis(900) && took < 5 * SECOND, "the bound was not kept: {took:?}");
    let slow = &waited["structuredContent"]["services"][0];
    assert_eq!(waited["structuredContent"]["timed_out"], true, "{waited:#}");
    assert_eq!(slow["state"], "starting", "{slow:#}");
    let waiting = slow["waiting"].as_str().unwrap_or_default();
    assert!(waiting.starts_with(&format!("tcp 127.0.0.1:{closed}")), "{slow:#}");
    assert!(
        slow["last_lines"].as_array().is_some_and(|l| l.contains(&json!("trying to reach the database"))),
        "{slow:#}"
    );
    assert!(text(&waited).contains("timed out") && text(&waited).contains("trying to reach the database"));

    // One that gets there: the wait ends when it does, with where it listens.
    let ready = mcp.call("wait", json!({ "services": ["srv"], "until": "ready" }));
    assert_ok(&ready);
    let srv = &ready["structuredContent"]["services"][0];
    assert_eq!(srv["state"], "ready", "{srv:#}");
    assert_eq!(srv["ports"], json!([open]), "{srv:#}");
    assert_eq!(srv["url"], format!("http://127.0.0.1:{open}/"), "{srv:#}");
    let ps = mcp.call("ps", json!({ "services": ["srv"] }));
    assert_eq!(ps["structuredContent"]["services"][0]["ports"], json!([open]), "{ps:#}");

    // Every waiting tool is bounded: an up that cannot finish says how far it got.
    let began = Instant::now();
    let up = mcp.call("up", json!({ "services": ["slow"], "timeout": 0.5 }));
    assert!(is_error(&up) && began.elapsed() < 5 * SECOND, "{up:#}");
    assert_eq!(up["structuredContent"]["timed_out"], true, "{up:#}");
    assert_eq!(up["structuredContent"]["services"][0]["name"], "slow", "{up:#}");

    // Stopped is waited for too, and a stopped service is no wait at all for ready.
    assert_ok(&mcp.call("stop", json!({ "name": "srv" })));
    assert_ok(&mcp.call("wait", json!({ "services": ["srv"], "until": "stopped" })));
    let began = Instant::now();
    let never = mcp.call("wait", json!({ "services": ["srv"] }));
    assert!(is_error(&never) && began.elapsed() < 3 * SECOND, "{never:#}");
    assert_eq!(never["structuredContent"]["timed_out"], false, "{never:#}");
    assert!(!port_open(open));
    assert_ok(&mcp.call("down", json!({})));
    assert_eq!(mcp.close().code(), Some(0));
}

#[test]
fn logs_keep_to_their_byte_cap_filter_with_grep_and_say_what_they_cut() {
    let project = Project::toml(
        "[services.loud]\ncmd = \"python3 -c 'import sys\\nfor i in range(30000): print(f\\\"line {i:06d} \\\" + \\\"x\\\" * 90)\\nsys.stdout.flush()' && exec sleep 1000\"\nmin_uptime = \"0s\"\n",
    );
    let mut mcp = Mcp::spawn(&project.path(), &[]);
    mcp.initialize("2025-06-18");
    assert_ok(&mcp.call("up", json!({})));
    let last = b"line 029999 ";
    assert!(
        wait_until(20 * SECOND, || project.log_file("loud").windows(last.len()).any(|w| w == last)),
        "the lines did not reach the log"
    );

    // Everything asked for, but no more than the cap reaches the agent, newest kept.
    let response = mcp.request("tools/call", json!({ "name": "logs", "arguments": { "tail": 30000 } }));
    let size = response.to_string().len();
    assert!(size <= 64 * 1024 + 4096, "the answer is {size} bytes");
    let result = &response["result"];
    assert_ok(result);
    assert_eq!(result["structuredContent"]["truncated"], true);
    assert!(
        result["structuredContent"]["omitted_lines"].as_u64().unwrap_or(0) > 25_000,
        "{:#}",
        result["structuredContent"]["omitted_lines"]
    );
    let said = text(result);
    assert!(said.contains("line 029999") && said.contains("max_bytes"), "{}", &said[said.len().saturating_sub(400)..]);
    let smaller = mcp.call("logs", json!({ "tail": 30000, "max_bytes": 2000 }));
    assert!(text(&smaller).len() < 2000 + 300, "{}", text(&smaller).len());

    // grep: only the matching lines, the last `tail` of them.
    let grepped = mcp.call("logs", json!({ "service": "loud", "grep": "line 02999[0-9]", "tail": 3 }));
    assert_ok(&grepped);
    let said = text(&grepped);
    let lines: Vec<&str> = said.lines().map(|l| &l[..11]).collect();
    assert_eq!(lines, ["line 029997", "line 029998", "line 029999"]);
    assert_eq!(grepped["structuredContent"]["truncated"], false);
    let bad = mcp.call("logs", json!({ "grep": "[" }));
    assert!(is_error(&bad) && text(&bad).starts_with("grep:"), "{bad:#}");
    assert_ok(&mcp.call("down", json!({})));
    assert_eq!(mcp.close().code(), Some(0));
}

#[test]
fn a_start_retried_starts_nothing_twice_and_another_command_needs_replace() {
    let project = Project::new();
    let root = project.path();
    let mut mcp = Mcp::spawn(&root, &[]);
    mcp.initialize("2025-06-18");
    let start = json!({ "name": "srv", "command": "exec sleep 1000" });
    assert_ok(&mcp.call("start", start.clone()));
    let first = pids_of(&root, "srv");
    assert_eq!(first.len(), 1);

    let again = mcp.call("start", start.clone());
    assert_ok(&again);
    assert_eq!(again["structuredContent"]["outcomes"][0]["unchanged"], true, "{again:#}");
    assert!(text(&again).contains("unchanged"), "{again:#}");
    assert_eq!(pids_of(&root, "srv"), first, "a retry started a second server");

    let other = mcp.call("start", json!({ "name": "srv", "command": "exec sleep 2000" }));
    assert!(is_error(&other) && text(&other).contains("replace"), "{other:#}");
    assert_eq!(pids_of(&root, "srv"), first, "a refused start touched what runs");

    let replaced = mcp.call("start", json!({ "name": "srv", "command": "exec sleep 2000", "replace": true }));
    assert_ok(&replaced);
    assert!(wait_until(5 * SECOND, || !is_alive(first[0])), "the old command still runs");
    let now = pids_of(&root, "srv");
    assert_eq!(now.len(), 1);
    assert_ne!(now, first);
    let ps = mcp.call("ps", json!({}));
    assert_eq!(ps["structuredContent"]["services"][0]["command"], "exec sleep 2000", "{ps:#}");
    assert_ok(&mcp.call("down", json!({})));
    assert_eq!(mcp.close().code(), Some(0));
}

#[test]
fn ad_hoc_commands_can_be_turned_off_for_an_agent() {
    let project = Project::toml("[services.web]\ncmd = \"sleep 1000\"\nmin_uptime = \"0s\"\n");
    let root = project.path();
    let mut mcp = Mcp::spawn_with(&root, &[], &["--no-adhoc"]);
    let init = mcp.initialize("2025-06-18");
    assert!(init["instructions"].as_str().is_some_and(|i| i.contains("turned off")), "{init:#}");
    let refused = mcp.call("start", json!({ "name": "srv", "command": "exec sleep 1000" }));
    assert!(is_error(&refused) && text(&refused).contains("--no-adhoc"), "{refused:#}");
    assert!(pids_of(&root, "srv").is_empty());
    assert_ok(&mcp.call("start", json!({ "name": "web" })));
    assert_ok(&mcp.call("down", json!({})));
    let _ = mcp.close();

    // The manifest can say it for every agent.
    let project = Project::toml("[mcp]\nadhoc = false\n[services.web]\ncmd = \"sleep 1000\"\n");
    let mut mcp = Mcp::spawn(&project.path(), &[]);
    mcp.initialize("2025-06-18");
    let refused = mcp.call("start", json!({ "name": "srv", "command": "exec sleep 1000" }));
    assert!(is_error(&refused) && text(&refused).contains("adhoc = false"), "{refused:#}");
    assert_eq!(mcp.close().code(), Some(0));
}

/// Every message up to the answer to request `id` (notifications in between included).
fn messages_until_answer(mcp: &mut Mcp, id: u64, method: &str, params: Value) -> Vec<Value> {
    mcp.send(&json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }));
    let deadline = Instant::now() + 30 * SECOND;
    let mut seen = Vec::new();
    loop {
        let message = mcp.next_message(deadline);
        let done = message["id"] == id;
        seen.push(message);
        if done {
            return seen;
        }
    }
}

/// Reads messages until one has this method, within `limit`.
fn notification(mcp: &mut Mcp, method: &str, limit: Duration, wanted: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + limit;
    loop {
        let message = mcp.next_message(deadline);
        if message["method"] == method && wanted(&message) {
            return message;
        }
    }
}

#[test]
fn state_changes_are_announced_only_to_a_client_that_asked() {
    let project = Project::toml("[services.web]\ncmd = \"sleep 1000\"\nmin_uptime = \"0s\"\n");
    let mut mcp = Mcp::spawn(&project.path(), &[]);
    let init = mcp.initialize("2025-06-18");
    assert!(init["capabilities"]["logging"].is_object(), "{init:#}");
    assert_eq!(init["capabilities"]["resources"]["subscribe"], true, "{init:#}");

    // No opt-in: an up and a restart, and nothing but answers.
    let seen = messages_until_answer(&mut mcp, 100, "tools/call", json!({ "name": "up", "arguments": {} }));
    let seen_more = messages_until_answer(
        &mut mcp,
        101,
        "tools/call",
        json!({ "name": "restart", "arguments": { "name": "web" } }),
    );
    let unasked: Vec<&Value> = seen.iter().chain(&seen_more).filter(|m| m.get("method").is_some()).collect();
    assert!(unasked.is_empty(), "notifications without an opt-in: {unasked:?}");

    // logging/setLevel: each change of state is a message.
    let set = messages_until_answer(&mut mcp, 102, "logging/setLevel", json!({ "level": "info" }));
    assert!(set.last().unwrap()["result"].is_object(), "{set:?}");
    mcp.send(&json!({ "jsonrpc": "2.0", "id": 103, "method": "tools/call", "params": { "name": "restart", "arguments": { "name": "web" } } }));
    let message = notification(&mut mcp, "notifications/message", 10 * SECOND, |m| {
        m["params"]["data"]["text"].as_str().is_some_and(|t| t.contains("web: ready") || t.contains("web: running"))
    });
    assert_eq!(message["params"]["logger"], "orch", "{message}");

    // resources/subscribe: a notice that the services resource changed.
    let resources = mcp.result("resources/list", json!({}));
    assert_eq!(resources["resources"][0]["uri"], "orch://project/services", "{resources:#}");
    let read = mcp.result("resources/read", json!({ "uri": "orch://project/services" }));
    assert!(read["contents"][0]["text"].as_str().is_some_and(|t| t.contains("\"web\"")), "{read:#}");
    mcp.result("resources/subscribe", json!({ "uri": "orch://project/services" }));
    mcp.send(&json!({ "jsonrpc": "2.0", "id": 104, "method": "tools/call", "params": { "name": "stop", "arguments": { "name": "web" } } }));
    let updated = notification(&mut mcp, "notifications/resources/updated", 10 * SECOND, |_| true);
    assert_eq!(updated["params"]["uri"], "orch://project/services", "{updated}");
    assert_ok(&mcp.call("down", json!({})));
    assert_eq!(mcp.close().code(), Some(0));
}
