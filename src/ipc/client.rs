//! The client side of the socket: connect, make sure the other end is this user's supervisor,
//! send one request, read the replies.

use std::io::{self, BufRead, BufReader, Read};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use super::{Envelope, Head, MAX_MESSAGE_BYTES, Outcome, PROTOCOL_VERSION, Reply, Request, ServiceStatus};

pub(crate) struct Connection {
    reader: BufReader<UnixStream>,
}

/// Why a connection could not be made.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ConnectError {
    /// Nothing listens (yet, or any more): the supervisor is starting or going away.
    #[error("nothing listens on the socket: {0}")]
    NotListening(io::Error),
    /// It accepted the connection but did not say hello in time: stopped or wedged.
    #[error("no answer within {0:?}")]
    NoAnswer(Duration),
    /// The socket is served by another user: nothing is sent to it.
    #[error("the socket {path} is served by uid {uid}, not by you (uid {me}); nothing was sent to it")]
    Stranger { path: String, uid: u32, me: u32 },
    /// It speaks another version of the protocol: another orch started it.
    #[error("the supervisor {0}")]
    Version(VersionMismatch),
    #[error("{0}")]
    Protocol(String),
}

impl Connection {
    /// Connects and says hello, waiting at most `patience` for the answer: a supervisor that
    /// is there but stopped or dying (its socket still accepting into a backlog nobody reads)
    /// is not taken for a live one. Before anything is sent, the peer must be this user's.
    pub(crate) fn connect(socket: &Path, patience: Duration) -> Result<Self, ConnectError> {
        let stream = UnixStream::connect(socket).map_err(ConnectError::NotListening)?;
        Self::greet(stream, socket, patience)
    }

    /// Says hello on a stream connected to `socket`, as [`Connection::connect`] does.
    pub(crate) fn greet(stream: UnixStream, socket: &Path, patience: Duration) -> Result<Self, ConnectError> {
        check_peer(&stream, socket)?;
        let mut conn = Self { reader: BufReader::new(stream) };
        let patience = patience.max(Duration::from_millis(1));
        conn.set_timeout(Some(patience)).map_err(ConnectError::NotListening)?;
        conn.send(Request::Hello).map_err(ConnectError::NotListening)?;
        match conn.next_reply() {
            Ok(Some(Reply::Hello { .. })) => {}
            Ok(Some(Reply::Error(refusal))) => return Err(ConnectError::Protocol(refusal.to_string())),
            Ok(_) => return Err(ConnectError::NotListening(io::ErrorKind::ConnectionAborted.into())),
            Err(e) => {
                return Err(match VersionMismatch::of(&e) {
                    Some(&mismatch) => ConnectError::Version(mismatch),
                    None if is_timeout(&e) => ConnectError::NoAnswer(patience),
                    None if e.kind() == io::ErrorKind::InvalidData => ConnectError::Protocol(e.to_string()),
                    None => ConnectError::NotListening(e),
                });
            }
        }
        conn.set_timeout(None).map_err(ConnectError::NotListening)?;
        Ok(conn)
    }

    /// Bounds how long `next` waits; None waits for ever.
    pub(crate) fn set_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.reader.get_ref().set_read_timeout(timeout)
    }

    pub(crate) fn send(&mut self, request: Request) -> io::Result<()> {
        let mut line = serde_json::to_vec(&Envelope { v: PROTOCOL_VERSION, body: request })?;
        line.push(b'\n');
        send_all(self.reader.get_ref(), &line)
    }

    /// The next reply; None when the supervisor closed the connection. Its version is read
    /// first: a reply of another version is that (a [`VersionMismatch`]), not "unreadable".
    pub(crate) fn next_reply(&mut self) -> io::Result<Option<Reply>> {
        let mut line = String::new();
        let read = (&mut self.reader).take(MAX_MESSAGE_BYTES).read_line(&mut line)?;
        if read == 0 {
            return Ok(None);
        }
        if !line.ends_with('\n') && read as u64 == MAX_MESSAGE_BYTES {
            let too_long = format!("the supervisor sent a reply longer than {} MiB", MAX_MESSAGE_BYTES >> 20);
            return Err(io::Error::new(io::ErrorKind::InvalidData, too_long));
        }
        let unreadable = |e: serde_json::Error| {
            io::Error::new(io::ErrorKind::InvalidData, format!("the supervisor sent something unreadable: {e}"))
        };
        let head = Head::read(line.as_bytes(), "reply").map_err(unreadable)?;
        if head.v != PROTOCOL_VERSION {
            return Err(io::Error::new(io::ErrorKind::InvalidData, VersionMismatch { theirs: head.v }));
        }
        decode(&line, head.kind.as_deref()).map(Some).map_err(unreadable)
    }
}

/// A reply of this version. The two that grow with the services (`ps`, and the outcomes an
/// `up` ends with) are read straight into their fields: serde reads a tagged enum flattened
/// into an envelope through copies of the whole message, which was half of what `ps` cost
/// the client at 1000 services.
fn decode(line: &str, kind: Option<&str>) -> serde_json::Result<Reply> {
    #[derive(Deserialize)]
    struct PsFields {
        services: Vec<ServiceStatus>,
        #[serde(default)]
        notes: Vec<String>,
    }
    #[derive(Deserialize)]
    struct DoneFields {
        outcomes: Vec<Outcome>,
        #[serde(default)]
        exiting: bool,
    }
    Ok(match kind {
        Some("ps") => {
            let PsFields { services, notes } = serde_json::from_str(line)?;
            Reply::Ps { services, notes }
        }
        Some("done") => {
            let DoneFields { outcomes, exiting } = serde_json::from_str(line)?;
            Reply::Done { outcomes, exiting }
        }
        _ => serde_json::from_str::<Envelope<Reply>>(line)?.body,
    })
}

/// Writes all of `bytes` with MSG_NOSIGNAL: a supervisor that went away is EPIPE, an error the
/// caller words, not a SIGPIPE that ends a client which prints (see `cli::die_of_a_closed_pipe`).
fn send_all(stream: &UnixStream, mut bytes: &[u8]) -> io::Result<()> {
    use nix::sys::socket::{MsgFlags, send};
    while !bytes.is_empty() {
        match send(stream.as_raw_fd(), bytes, MsgFlags::MSG_NOSIGNAL) {
            Ok(sent) => bytes = &bytes[sent..],
            Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// The supervisor speaks protocol `theirs`, this orch [`PROTOCOL_VERSION`]; worded to follow
/// "the supervisor".
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "speaks protocol {theirs} and this orch {PROTOCOL_VERSION}: another version of orch started it; run `orch down` with the orch that started it, then this command again"
)]
pub(crate) struct VersionMismatch {
    pub(crate) theirs: u32,
}

impl VersionMismatch {
    /// The mismatch an I/O error of `next_reply` stands for, if it does.
    pub(crate) fn of(error: &io::Error) -> Option<&VersionMismatch> {
        error.get_ref()?.downcast_ref()
    }
}

/// The process at the other end must run as this user (SO_PEERCRED), or it gets nothing: not
/// the request, not the environment that goes with it.
fn check_peer(stream: &UnixStream, socket: &Path) -> Result<(), ConnectError> {
    use nix::sys::socket::{getsockopt, sockopt::PeerCredentials};
    let me = nix::unistd::getuid().as_raw();
    let uid = getsockopt(stream, PeerCredentials).map_err(|e| ConnectError::NotListening(e.into()))?.uid();
    if uid == me {
        return Ok(());
    }
    Err(ConnectError::Stranger { path: socket.display().to_string(), uid, me })
}

pub(crate) fn is_timeout(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Phase;

    /// The direct reading of `ps` and `done` gives what the general one gives.
    #[test]
    fn replies_read_directly_are_the_replies_sent() {
        let row =
            ServiceStatus { name: "web".into(), state: "running".into(), restarts: 2, ..ServiceStatus::default() };
        let outcome = Outcome {
            service: "db".into(),
            phase: Phase::Ready,
            reason: None,
            elapsed_ms: Some(12),
            last_lines: vec!["hello".into()],
            unchanged: false,
            removed: false,
        };
        let replies = [
            Reply::Ps { services: vec![row.clone(), row], notes: vec!["a note".into()] },
            Reply::Done { outcomes: vec![outcome], exiting: true },
            Reply::Targets { services: vec!["web".into()] },
        ];
        for reply in replies {
            let line = serde_json::to_string(&Envelope { v: PROTOCOL_VERSION, body: reply.clone() }).unwrap();
            let head = Head::read(line.as_bytes(), "reply").unwrap();
            let general = serde_json::from_str::<Envelope<Reply>>(&line).unwrap().body;
            let direct = decode(&line, head.kind.as_deref()).unwrap();
            assert_eq!(format!("{direct:?}"), format!("{general:?}"));
            assert_eq!(format!("{direct:?}"), format!("{reply:?}"));
        }
    }
}
