//! The supervisor's socket: one request per connection, from this user only (SO_PEERCRED),
//! answered with a stream of replies until the request is finished.

use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::unix::OwnedWriteHalf;
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};
use tokio::sync::watch;

use super::core::Msg;
use crate::ipc::{Envelope, Head, MAX_MESSAGE_BYTES, PROTOCOL_VERSION, Refusal, Reply, Request, version_mismatch_line};

/// Counts the requests being answered, so that the supervisor can wait for the last replies
/// to be written before it exits, woken when the last one is (not by looking every so often).
#[derive(Clone)]
pub(crate) struct Busy(Arc<watch::Sender<usize>>);

impl Default for Busy {
    fn default() -> Self {
        Self(Arc::new(watch::Sender::new(0)))
    }
}

impl Busy {
    /// Busy until the guard is dropped.
    fn answering(&self) -> Answering {
        self.0.send_modify(|n| *n += 1);
        Answering(self.0.clone())
    }
}

/// One request being answered (see [`Busy`]).
struct Answering(Arc<watch::Sender<usize>>);

impl Drop for Answering {
    fn drop(&mut self) {
        self.0.send_modify(|n| *n = n.saturating_sub(1));
    }
}

/// The longest pause between tries when `accept` keeps failing.
const MAX_ACCEPT_PAUSE: Duration = Duration::from_secs(1);

/// How long without a failed `accept` ends an episode of them.
const ACCEPT_EPISODE: Duration = Duration::from_mins(1);

pub(crate) async fn serve(listener: UnixListener, tx: UnboundedSender<Msg>, busy: Busy) {
    let uid = nix::unistd::getuid().as_raw();
    let mut pause = Duration::ZERO;
    let mut last_failure: Option<Instant> = None;
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => {
                pause = Duration::ZERO;
                stream
            }
            // Out of file descriptors, say: trying again at once would spin a core until one is
            // freed, so wait, longer each time (10 ms doubling to a second). Said once for a run
            // of failures, however often a freed descriptor lets one connection in between.
            Err(e) => {
                if last_failure.is_none_or(|at| at.elapsed() > ACCEPT_EPISODE) {
                    say!("orch: cannot accept connections ({e}); trying again less and less often");
                }
                last_failure = Some(Instant::now());
                pause = (pause * 2).clamp(Duration::from_millis(10), MAX_ACCEPT_PAUSE);
                tokio::time::sleep(pause).await;
                continue;
            }
        };
        let same_user = stream.peer_cred().is_ok_and(|cred| cred.uid() == uid);
        if !same_user {
            continue;
        }
        tokio::spawn(connection(stream, tx.clone(), busy.clone()));
    }
}

/// Requests one after the other (a client's hello, then its request), each answered in full
/// before the next is read.
async fn connection(stream: UnixStream, tx: UnboundedSender<Msg>, busy: Busy) -> io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    let mut line = String::new();
    loop {
        line.clear();
        let read_bytes = (&mut read).take(MAX_MESSAGE_BYTES).read_line(&mut line).await?;
        if read_bytes == 0 {
            return Ok(());
        }
        if !line.ends_with('\n') && read_bytes as u64 == MAX_MESSAGE_BYTES {
            let refusal = Refusal::invalid(format!("a request longer than {} MiB", MAX_MESSAGE_BYTES >> 20));
            return write_reply(&mut write, refusal.into_reply()).await;
        }
        // A subscription is not an answer: it does not hold the supervisor's exit up.
        if let Some(lines) = super::subscribers::subscription(&line) {
            return super::subscribers::serve(read, &mut write, lines).await;
        }
        // Busy while answering only: a client that keeps the connection open and says nothing
        // does not hold the supervisor's exit up.
        let _answering = busy.answering();
        answer(&line, &tx, &mut write).await?;
    }
}

async fn answer(line: &str, tx: &UnboundedSender<Msg>, write: &mut OwnedWriteHalf) -> io::Result<()> {
    // The version first: a client of another version may send what this one cannot read, and
    // it is the version it must be told about, in a shape it can read.
    if let Ok(Head { v, .. }) = Head::read(line.as_bytes(), "request")
        && v != PROTOCOL_VERSION
    {
        return write.write_all(&version_mismatch_line(v)).await;
    }
    let (reply_tx, mut reply_rx) = unbounded_channel();
    // The sender is moved in every arm, so the replies below end with the request's last one.
    let refuse = |reply_tx: UnboundedSender<Reply>, refusal: Refusal| drop(reply_tx.send(refusal.into_reply()));
    match serde_json::from_str::<Envelope<Request>>(line) {
        Ok(envelope) => match bad_name(&envelope.body) {
            Some(refusal) => refuse(reply_tx, refusal),
            None => drop(tx.send(Msg::Request(envelope.body, reply_tx))),
        },
        Err(e) => refuse(reply_tx, Refusal::invalid(format!("unreadable request: {e}"))),
    }
    while let Some(reply) = reply_rx.recv().await {
        write_reply(write, reply).await?;
    }
    Ok(())
}

async fn write_reply(write: &mut OwnedWriteHalf, reply: Reply) -> io::Result<()> {
    let mut bytes = serde_json::to_vec(&Envelope { v: PROTOCOL_VERSION, body: reply })?;
    bytes.push(b'\n');
    write.write_all(&bytes).await
}

/// A name in the request that the manifest's rules would not allow: such a name never
/// reaches the supervisor, let alone a path.
fn bad_name(request: &Request) -> Option<Refusal> {
    let name = request.names().into_iter().find(|n| !crate::model::names::is_service_name(n))?;
    Some(Refusal::bad_name(name))
}

/// Waits (at most a second) until every connection has written its last reply.
pub(crate) async fn drain(busy: Busy) {
    let mut count = busy.0.subscribe();
    let _ = tokio::time::timeout(Duration::from_secs(1), count.wait_for(|n| *n == 0)).await;
}
