//! `orch dashboard`, through its HTTP layer: the real binary serving a temp project, asked
//! with raw HTTP/1.1 (so a test can send any Host, Origin or cookie a browser or an attacker
//! would).

mod api;
mod events;
mod security;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use crate::support::{Beside, ORCH_TIMEOUT, Project};

/// A project of two services: `api` serves http on its port, `worker` says its pid and ticks.
pub fn project() -> Project {
    let project = Project::toml(&format!(
        "[services.api]\ncmd = \"{} -u -m http.server $PORT --bind 127.0.0.1\"\nport = \"auto\"\n\
         ready = {{ http = \"http://127.0.0.1:${{PORT}}/\" }}\n\n\
         [services.worker]\ncmd = \"echo worker started as $$; while true; do echo tick; sleep 0.2; done\"\n\
         depends_on = [\"api\"]\nmin_uptime = \"0s\"\n",
        crate::support::python()
    ));
    project.up().expect_code(0);
    project
}

/// `orch dashboard --no-up` beside the test, and what its printed URL says.
pub struct Dashboard {
    pub beside: Beside,
    pub port: u16,
    pub token: String,
    pub url: String,
}

impl Dashboard {
    pub fn start(project: &Project) -> Self {
        let mut beside = Beside::start(project, &["dashboard", "--no-up"]);
        let url = beside
            .next_match(ORCH_TIMEOUT, |l| l.contains("?token="))
            .unwrap_or_else(|| panic!("no URL printed: {:?}", beside.seen));
        let rest = url.strip_prefix("http://127.0.0.1:").unwrap_or_else(|| panic!("a loopback URL: {url}"));
        let (port, token) = rest.split_once("/?token=").expect("port and token");
        Self { port: port.parse().expect("a port"), token: token.to_owned(), url: url.clone(), beside }
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn bearer(&self) -> String {
        format!("Bearer {}", self.token)
    }

    pub fn cookie(&self) -> String {
        format!("orch_dashboard_{}={}", self.port, self.token)
    }

    /// A request as a script sends it: the Host it is served on, the token as Bearer.
    pub fn get(&self, path: &str) -> Answer {
        self.ask("GET", path, &[("Host", &self.host()), ("Authorization", &self.bearer())], "")
    }

    pub fn post(&self, path: &str, body: &str) -> Answer {
        self.ask("POST", path, &[("Host", &self.host()), ("Authorization", &self.bearer())], body)
    }

    /// One request with exactly these headers, on a connection of its own.
    pub fn ask(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> Answer {
        let mut stream = self.connect();
        let mut request =
            format!("{method} {path} HTTP/1.1\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        if !body.is_empty() {
            request.push_str("Content-Type: application/json\r\n");
        }
        request.push_str("\r\n");
        request.push_str(body);
        stream.write_all(request.as_bytes()).expect("send the request");
        let mut raw = String::new();
        stream.read_to_string(&mut raw).expect("read the answer");
        Answer::parse(&raw)
    }

    pub fn connect(&self) -> TcpStream {
        let stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to the dashboard");
        // An action waits for the service to be up: bounded, well past what a start takes.
        stream.set_read_timeout(Some(ORCH_TIMEOUT * 2)).expect("a read timeout");
        stream
    }

    /// The event stream, read as it comes.
    pub fn events(&self) -> Events {
        let mut stream = self.connect();
        let request = format!(
            "GET /api/events HTTP/1.1\r\nHost: {}\r\nAuthorization: {}\r\nAccept: text/event-stream\r\n\r\n",
            self.host(),
            self.bearer()
        );
        stream.write_all(request.as_bytes()).expect("ask for the events");
        stream.set_read_timeout(Some(Duration::from_millis(200))).expect("a read timeout");
        Events { reader: BufReader::new(stream), event: String::new() }
    }

    pub fn pid(&self, service: &str) -> Option<i64> {
        let rows = self.get("/api/services").json();
        let row = rows.as_array()?.iter().find(|r| r["name"] == service)?.clone();
        row["pid"].as_i64()
    }
}

/// A status, the headers (names lowercase) and the body.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Answer {
    fn parse(raw: &str) -> Self {
        let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((raw, ""));
        let mut lines = head.lines();
        let status = lines.next().and_then(|l| l.split_whitespace().nth(1)).and_then(|s| s.parse().ok()).unwrap_or(0);
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_lowercase(), v.trim().to_owned()))
            .collect();
        Self { status, headers, body: body.to_owned() }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {self:?}"))
    }
}

/// Server-Sent Events as they arrive: `(event name, data)`.
pub struct Events {
    reader: BufReader<TcpStream>,
    event: String,
}

impl Events {
    /// The next event that `wanted` accepts, within `within`; None if none came.
    pub fn until(
        &mut self,
        within: Duration,
        mut wanted: impl FnMut(&str, &serde_json::Value) -> bool,
    ) -> Option<serde_json::Value> {
        let deadline = Instant::now() + within;
        // A line read in parts (a timeout mid-line) is kept until its end comes.
        let mut line = Vec::new();
        while Instant::now() < deadline {
            match self.reader.read_until(b'\n', &mut line) {
                Ok(0) => return None,
                Ok(_) if line.ends_with(b"\n") => {}
                Ok(_) => continue,
                Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => continue,
                Err(e) => panic!("the event stream broke: {e}"),
            }
            let text = String::from_utf8_lossy(&line).trim_end().to_owned();
            line.clear();
            if let Some(name) = text.strip_prefix("event: ") {
                self.event = name.to_owned();
            } else if let Some(data) = text.strip_prefix("data: ") {
                let data: serde_json::Value = serde_json::from_str(data).unwrap_or(serde_json::Value::Null);
                if wanted(&self.event, &data) {
                    return Some(data);
                }
            }
        }
        None
    }
}
