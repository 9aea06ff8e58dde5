//! `orch probe`: each kind of check on its own, passing once the thing is there and failing
//! with what it last saw when it is not in time.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use crate::support::{Project, python};

/// A child this test started, killed and reaped however the test ends.
struct Owned(std::process::Child);

impl Drop for Owned {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A port nobody listens on: bound, then let go.
fn closed_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).unwrap_or(9)
}

#[test]
fn tcp_passes_once_something_listens_and_fails_with_what_it_saw() {
    let project = Project::new();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let target = format!("127.0.0.1:{}", listener.local_addr().unwrap().port());
    let ready = project.run(&["probe", "--timeout", "10s", "tcp", &target]).expect_code(0).stdout();
    assert!(ready.starts_with(&format!("tcp {target}: ready in")), "{ready}");
    drop(listener);

    let closed = format!("127.0.0.1:{}", closed_port());
    let started = Instant::now();
    let failed = project.run(&["probe", "--timeout", "300ms", "tcp", &closed]);
    assert_eq!(failed.code(), 1);
    assert!(started.elapsed() < Duration::from_secs(10), "the timeout was not kept");
    assert_eq!(failed.stderr().trim(), format!("orch probe: tcp {closed}: not ready after 300ms: connection refused"));
    let bad = project.run(&["probe", "tcp", "localhost"]).expect_code(2).stderr();
    assert!(bad.contains("tcp target `localhost` is not host:port"), "{bad}");
}

#[test]
fn http_waits_for_a_2xx_and_tells_the_status_it_got() {
    let project = Project::new().file(
        "serve.py",
        "import http.server, sys\n\
         class H(http.server.BaseHTTPRequestHandler):\n\
         \x20   def do_GET(self):\n\
         \x20       self.send_response(200 if self.path == '/health' else 503); self.end_headers()\n\
         \x20   def log_message(self, *a): pass\n\
         s = http.server.HTTPServer(('127.0.0.1', 0), H)\n\
         print(s.server_address[1], flush=True)\n\
         s.serve_forever()\n",
    );
    let mut server = Owned(
        std::process::Command::new(python())
            .arg(project.path().join("serve.py"))
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(server.0.stdout.take().unwrap()), &mut line).unwrap();
    let port = line.trim();
    let url = format!("http://127.0.0.1:{port}/health");
    let ready = project.run(&["probe", "--timeout", "10s", "http", &url]).expect_code(0).stdout();
    assert!(ready.starts_with(&format!("http {url}: ready in")), "{ready}");
    let unwell = format!("http://127.0.0.1:{port}/other");
    let failed = project.run(&["probe", "--timeout", "400ms", "http", &unwell]);
    assert_eq!(failed.code(), 1);
    assert!(failed.stderr().contains("not ready after 400ms: 503 Service Unavailable"), "{}", failed.stderr());
}

#[test]
fn exec_passes_on_exit_0_and_runs_one_word_with_spaces_under_sh() {
    let project = Project::new();
    let flag = project.path().join("flag");
    // The command passes only once the file exists: made after the probe started.
    let check = format!("test -e {}", flag.display());
    let mut probe = Owned(
        std::process::Command::new(assert_cmd::cargo::cargo_bin!("orch"))
            .current_dir(project.path())
            .args(["probe", "--timeout", "20s", "exec", &check])
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    std::fs::write(&flag, "").unwrap();
    let status = probe.0.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let failed = project.run(&["probe", "--timeout", "300ms", "exec", "sh", "-c", "exit 3"]);
    assert_eq!(failed.code(), 1);
    assert!(failed.stderr().contains("exec sh -c exit 3: not ready after 300ms: exited with 3"), "{}", failed.stderr());
}
