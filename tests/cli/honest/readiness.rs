//! Point 8: a readiness check that never passes says what it waits for and what it last saw
//! (`up --json` events carry it), fails `up` once its ready_timeout is over (no retries), and
//! the http check backs off instead of hammering the service.

use super::timed;
use crate::reconcile::QUIET;
use crate::supervisor::SECOND;
use crate::support::{Project, free_port, python, wait_until};

/// `python3 notfound.py PORT`: an HTTP server that answers 404 to everything and appends each
/// request's path to `requests`.
const NOT_FOUND: &str = r#"import http.server, sys
class NotFound(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        with open("requests", "a") as f:
            f.write(self.path + "\n")
        self.send_response(404)
        self.end_headers()
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), NotFound).serve_forever()
"#;

#[test]
fn a_check_that_never_passes_says_what_it_saw_and_backs_off() {
    let port = free_port();
    let project = Project::toml(&format!(
        r#"
[services.api]
cmd = ["{}", "notfound.py", "{port}"]
ready = {{ http = "http://127.0.0.1:{port}/healthz" }}
ready_timeout = "3s"
restart = "always"
"#,
        python()
    ))
    .file("notfound.py", NOT_FOUND);
    let requests = || project.read("requests").unwrap_or_default().lines().count();

    let (up, took) = timed(&project, &["up", "--json"]);
    let up = up.expect_code(1);
    assert!(took < 6 * SECOND, "up went on past the ready_timeout (3 s): {took:?}");
    let events: Vec<serde_json::Value> = up
        .stdout()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let saw_404 = events.iter().any(|e| {
        e["service"] == "api" && e["waiting"].as_str().is_some_and(|w| w.contains("/healthz") && w.contains("404"))
    });
    assert!(saw_404, "no event says the check waits for /healthz and saw a 404:\n{}", up.stdout());
    let done = events.last().expect("a done event");
    assert_eq!((done["event"].as_str(), done["ok"].as_bool()), (Some("done"), Some(false)), "{done}");
    let reason = done["outcomes"][0]["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("did not pass within 3s") && reason.contains("404"), "{done}");

    // Backed off: a 50 ms period would have made about 60 requests in 3 s.
    let made = requests();
    assert!((1..=20).contains(&made), "{made} requests during a 3 s ready_timeout");
    // A failed start is not retried, even under restart = "always".
    assert!(!wait_until(QUIET, || requests() > made), "the check went on after up gave up");
    let api = project.service("api");
    assert_eq!((api["state"].as_str(), api["restarts"].as_u64()), (Some("failed"), Some(0)), "{api:#}");
    assert!(api["reason"].as_str().is_some_and(|r| r.contains("404 Not Found")), "{api:#}");
}
