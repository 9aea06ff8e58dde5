//! A subscription to what happens in the project: every change of a service's phase and every
//! line a service writes, as the supervisor tells them, until either side goes away.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::error::{lost, peer_gone};
use super::follow::unexpected;
use super::{ClientError, Session};
use crate::ipc::client::{Connection, is_timeout};
use crate::ipc::{Reply, Request, Update};

pub(crate) struct Subscription {
    conn: Connection,
}

/// Subscribes to the running supervisor, to the services' lines too when `lines`; None when
/// none runs (nothing happens to tell).
pub(crate) fn subscribe(session: &Session, lines: bool) -> Result<Option<Subscription>, ClientError> {
    let Some(mut conn) = session.connect()? else { return Ok(None) };
    // A supervisor on its way out (a `down` just served) answers the hello and then closes:
    // that is no supervisor, not one lost.
    match conn.send(Request::Subscribe { lines }) {
        Err(e) if peer_gone(&e) => return Ok(None),
        sent => sent.map_err(lost)?,
    }
    match conn.next_reply() {
        Ok(Some(Reply::Subscribed)) => Ok(Some(Subscription { conn })),
        Ok(Some(Reply::Error(refusal))) => Err(ClientError::Refused(refusal)),
        Ok(Some(other)) => Err(unexpected(&other)),
        Ok(None) => Ok(None),
        Err(e) if peer_gone(&e) => Ok(None),
        Err(e) => Err(lost(e)),
    }
}

/// What the next wait for an update saw.
#[derive(Debug)]
pub(crate) enum Next {
    Update(Update),
    /// Nothing within the wait.
    Quiet,
    /// The supervisor is gone: it exited, or was killed.
    Ended,
}

impl Subscription {
    /// The next update, waiting at most `wait` (for ever with None).
    pub(crate) fn next(&mut self, wait: Option<Duration>) -> Result<Next, ClientError> {
        self.conn.set_timeout(wait).map_err(lost)?;
        match self.conn.next_reply() {
            Ok(Some(Reply::Update(update))) => Ok(Next::Update(update)),
            Ok(Some(other)) => Err(unexpected(&other)),
            Ok(None) => Ok(Next::Ended),
            Err(e) if is_timeout(&e) => Ok(Next::Quiet),
            Err(e) if peer_gone(&e) => Ok(Next::Ended),
            Err(e) => Err(lost(e)),
        }
    }
}

impl Subscription {
    /// A flag raised once the supervisor is gone, read by a thread of its own: for a front end
    /// that follows something else (the log files) and wants only the subscription's end.
    pub(crate) fn end_flag(mut self) -> Arc<AtomicBool> {
        let ended = Arc::new(AtomicBool::new(false));
        let flag = ended.clone();
        std::thread::spawn(move || {
            while let Ok(Next::Update(_) | Next::Quiet) = self.next(None) {}
            flag.store(true, Ordering::SeqCst);
        });
        ended
    }
}
