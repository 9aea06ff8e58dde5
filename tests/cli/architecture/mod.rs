//! Issue 11, the ground the new layers stand on: refusals that cross the socket as kinds with
//! their data, a protocol version that old and new orch tell each other about, and a state file
//! of the first format that keeps loading; front ends over one client library, and a
//! subscription to what happens.

mod imports;
mod layers;
mod protocol;
mod shown;
mod state_v1;
mod subscribe;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

/// The bound of every wait here.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// What varies from run to run, replaced by what it is, for a snapshot: pids, durations and
/// times, uptimes, cpu and memory, the project's folder.
pub fn redact(text: &str, root: &Path) -> String {
    let rules: [(&str, &str); 7] = [
        (r#""(pid|mem_bytes)": \d+"#, r#""$1": "[$1]""#),
        (r#""(uptime_secs|cpu_percent|elapsed_ms|ready_after_ms)": [\d.]+"#, r#""$1": "[$1]""#),
        (r"\d{4}-\d\d-\d\dT[\d:.]+Z", "[time]"),
        (r"\b(pid) \d+", "$1 [pid]"),
        (r"\b\d+(\.\d+)?(ms|s)\b", "[duration]"),
        (r"\b\d+(\.\d+)?%", "[cpu]"),
        (r"\b\d+(\.\d+)?M\b", "[mem]"),
    ];
    let mut text = text.replace(&root.display().to_string(), "[project]");
    for (pattern, with) in rules {
        text = regex::Regex::new(pattern).expect("a pattern").replace_all(&text, with).into_owned();
    }
    text
}

/// A sleeper service.
pub fn sleeper(name: &str) -> String {
    format!("[services.{name}]\ncmd = \"exec sleep 1000\"\nmin_uptime = \"0s\"\n")
}

/// A connection to a supervisor's socket, written to by hand as a client of any version would.
pub struct RawClient {
    stream: UnixStream,
    reader: BufReader<UnixStream>,
}

impl RawClient {
    pub fn connect(socket: &Path) -> Self {
        let stream = UnixStream::connect(socket).expect("connect to the supervisor's socket");
        stream.set_read_timeout(Some(TIMEOUT)).expect("a read timeout");
        let reader = BufReader::new(stream.try_clone().expect("a second handle"));
        Self { stream, reader }
    }

    /// Sends one message and reads one line back, parsed.
    pub fn ask(&mut self, message: &serde_json::Value) -> serde_json::Value {
        let mut line = message.to_string();
        line.push('\n');
        self.ask_bytes(line.as_bytes())
    }

    /// Sends these bytes as they are and reads one line back, parsed.
    pub fn ask_bytes(&mut self, bytes: &[u8]) -> serde_json::Value {
        self.stream.write_all(bytes).expect("send a message");
        let mut reply = String::new();
        self.reader.read_line(&mut reply).expect("read a reply");
        serde_json::from_str(&reply).unwrap_or_else(|e| panic!("the reply is not JSON ({e}): {reply:?}"))
    }

    /// The next line, parsed; None once the supervisor closed the socket.
    pub fn next(&mut self) -> Option<serde_json::Value> {
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(0) => None,
            Ok(_) => Some(serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line:?}"))),
            Err(e) => panic!("no line within {TIMEOUT:?}: {e}"),
        }
    }
}
