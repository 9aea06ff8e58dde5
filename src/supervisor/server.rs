//! The supervisor's socket: one request per connection, from this user only (SO_PEERCRED),
//! answered with a stream of replies until the request is finished.

use std::io;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::unix::OwnedWriteHalf;
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};

use super::core::Msg;
use crate::ipc::{Envelope, PROTOCOL_VERSION, Refusal, Request};

/// Held while a request is being answered, so that the supervisor can wait for the last
/// replies to be written before it exits.
pub type Busy = Arc<()>;

pub async fn serve(listener: UnixListener, tx: UnboundedSender<Msg>, busy: Busy) {
    let uid = nix::unistd::getuid().as_raw();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let same_user = stream.peer_cred().is_ok_and(|cred| cred.uid() == uid);
        if !same_user {
            continue;
        }
        tokio::spawn(connection(stream, tx.clone(), Arc::downgrade(&busy)));
    }
}

/// Requests one after the other (a client's hello, then its request), each answered in full
/// before the next is read.
async fn connection(stream: UnixStream, tx: UnboundedSender<Msg>, busy: Weak<()>) -> io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut read = BufReader::new(read);
    let mut line = String::new();
    loop {
        line.clear();
        if read.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        // Busy while answering only: a client that keeps the connection open and says nothing
        // does not hold the supervisor's exit up.
        let _answering = busy.upgrade();
        answer(&line, &tx, &mut write).await?;
    }
}

async fn answer(line: &str, tx: &UnboundedSender<Msg>, write: &mut OwnedWriteHalf) -> io::Result<()> {
    let (reply_tx, mut reply_rx) = unbounded_channel();
    match serde_json::from_str::<Envelope<Request>>(line) {
        Ok(envelope) if envelope.v == PROTOCOL_VERSION => {
            let _ = tx.send(Msg::Request(envelope.body, reply_tx));
        }
        Ok(envelope) => {
            let message = format!("this supervisor speaks protocol {PROTOCOL_VERSION}, the client {}", envelope.v);
            let _ = reply_tx.send(Refusal::failed(message).into_reply());
        }
        Err(e) => {
            let _ = reply_tx.send(Refusal::usage(format!("unreadable request: {e}")).into_reply());
        }
    }
    while let Some(reply) = reply_rx.recv().await {
        let mut bytes = serde_json::to_vec(&Envelope { v: PROTOCOL_VERSION, body: reply })?;
        bytes.push(b'\n');
        write.write_all(&bytes).await?;
    }
    Ok(())
}

/// Waits (at most a second) until every connection has written its last reply.
pub async fn drain(busy: Busy) {
    let deadline = Instant::now() + Duration::from_secs(1);
    while Arc::strong_count(&busy) > 1 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}
