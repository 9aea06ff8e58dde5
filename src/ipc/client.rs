//! The client side of the socket: connect, send one request, read the replies.

use std::io::{self, BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;

use super::{Envelope, PROTOCOL_VERSION, Reply, Request};

/// How long a supervisor may take to answer hello.
const HELLO_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

pub struct Connection {
    reader: BufReader<UnixStream>,
}

impl Connection {
    /// Connects and says hello: a supervisor that is there but dying (its socket still
    /// accepting into a backlog nobody reads) is not taken for a live one.
    pub fn connect(socket: &Path) -> io::Result<Self> {
        let stream = UnixStream::connect(socket)?;
        let mut conn = Self { reader: BufReader::new(stream) };
        conn.set_timeout(Some(HELLO_TIMEOUT))?;
        conn.send(Request::Hello)?;
        match conn.next_reply()? {
            Some(Reply::Hello { .. }) => {}
            Some(Reply::Error { message }) => return Err(io::Error::other(message)),
            _ => return Err(io::Error::new(io::ErrorKind::ConnectionAborted, "no hello from the supervisor")),
        }
        conn.set_timeout(None)?;
        Ok(conn)
    }

    /// Bounds how long `next` waits; None waits for ever.
    pub fn set_timeout(&mut self, timeout: Option<std::time::Duration>) -> io::Result<()> {
        self.reader.get_ref().set_read_timeout(timeout)
    }

    pub fn send(&mut self, request: Request) -> io::Result<()> {
        let mut line = serde_json::to_vec(&Envelope { v: PROTOCOL_VERSION, body: request })?;
        line.push(b'\n');
        self.reader.get_mut().write_all(&line)
    }

    /// The next reply; None when the supervisor closed the connection.
    pub fn next_reply(&mut self) -> io::Result<Option<Reply>> {
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        let envelope: Envelope<Reply> = serde_json::from_str(&line).map_err(|e| {
            io::Error::new(io::ErrorKind::InvalidData, format!("the supervisor sent something unreadable: {e}"))
        })?;
        if envelope.v != PROTOCOL_VERSION {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "the supervisor speaks protocol {} and this orch {PROTOCOL_VERSION}; run `orch down` with the orch that started it",
                    envelope.v
                ),
            ));
        }
        Ok(Some(envelope.body))
    }
}
