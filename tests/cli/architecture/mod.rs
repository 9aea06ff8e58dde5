//! Issue 11, the ground the new layers stand on: refusals that cross the socket as kinds with
//! their data, a protocol version that old and new orch tell each other about, and a state file
//! of the first format that keeps loading.

mod protocol;
mod state_v1;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

/// The bound of every wait here.
pub const TIMEOUT: Duration = Duration::from_secs(10);

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
        self.stream.write_all(line.as_bytes()).expect("send a message");
        let mut reply = String::new();
        self.reader.read_line(&mut reply).expect("read a reply");
        serde_json::from_str(&reply).unwrap_or_else(|e| panic!("the reply is not JSON ({e}): {reply:?}"))
    }
}
