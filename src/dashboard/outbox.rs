//! What one page is sent, as Server-Sent Events text, in batches: the lines that arrive within
//! [`BATCH`] go out as one write (one chunk, one wake-up of the page's reader), and an event
//! that must arrive (a state change, the rows) takes the batch with it at once.
//!
//! A page that reads slower than its queue drains loses whole batches of lines (counted, for the
//! `dropped` event), never a state change: those wait for room.

use std::time::{Duration, Instant};

use axum::body::Bytes;
use serde::Serialize;
use tokio::sync::mpsc::{Sender, error::TrySendError};

/// How long lines are gathered before they go out.
pub(crate) const BATCH: Duration = Duration::from_millis(50);
/// A batch goes out at this size whatever its age.
const BATCH_BYTES: usize = 64 * 1024;
/// With nothing to say for this long, a comment keeps proxies and the browser from giving up.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// The page went away: nothing more to send.
#[derive(Debug)]
pub(crate) struct Gone;

pub(crate) struct Outbox {
    tx: Sender<Bytes>,
    batch: String,
    lines: u64,
    /// When the first line of the batch came.
    since: Option<Instant>,
    last_sent: Instant,
}

impl Outbox {
    pub(crate) fn new(tx: Sender<Bytes>) -> Self {
        Self { tx, batch: String::new(), lines: 0, since: None, last_sent: Instant::now() }
    }

    /// A line, sent with the next batch.
    pub(crate) fn line(&mut self, data: &impl Serialize, now: Instant) {
        if push_event(&mut self.batch, "line", data) {
            self.lines += 1;
            self.since.get_or_insert(now);
        }
    }

    /// An event that must arrive, sent now with the batch before it; waits while the page's
    /// queue is full.
    pub(crate) fn must(&mut self, name: &str, data: &impl Serialize) -> Result<(), Gone> {
        push_event(&mut self.batch, name, data);
        let chunk = self.take();
        self.tx.blocking_send(chunk).map_err(|_| Gone)
    }

    /// Sends the batch once it is due (or a keep-alive after a long quiet); the number of lines
    /// dropped when the page's queue is full.
    pub(crate) fn flush_due(&mut self, now: Instant) -> Result<u64, Gone> {
        let due = self.since.is_some_and(|since| now >= since + BATCH) || self.batch.len() >= BATCH_BYTES;
        if !due {
            if !self.batch.is_empty() || now < self.last_sent + KEEP_ALIVE {
                return Ok(0);
            }
            self.batch.push_str(": keep-alive\n\n");
        }
        let lines = self.lines;
        let chunk = self.take();
        match self.tx.try_send(chunk) {
            Ok(()) => Ok(0),
            Err(TrySendError::Full(_)) => Ok(lines),
            Err(TrySendError::Closed(_)) => Err(Gone),
        }
    }

    /// When [`Outbox::flush_due`] next has something to do.
    pub(crate) fn next_due(&self) -> Instant {
        self.since.map_or(self.last_sent + KEEP_ALIVE, |since| since + BATCH)
    }

    /// Whether the page is gone (seen without sending anything).
    pub(crate) fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }

    fn take(&mut self) -> Bytes {
        self.lines = 0;
        self.since = None;
        self.last_sent = Instant::now();
        Bytes::from(std::mem::take(&mut self.batch))
    }
}

/// `event: NAME\ndata: JSON\n\n`; JSON has no raw newline, so one `data:` line holds it.
fn push_event(out: &mut String, name: &str, data: &impl Serialize) -> bool {
    let Ok(json) = serde_json::to_string(data) else { return false };
    out.push_str("event: ");
    out.push_str(name);
    out.push_str("\ndata: ");
    out.push_str(&json);
    out.push_str("\n\n");
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outbox(room: usize) -> (Outbox, tokio::sync::mpsc::Receiver<Bytes>) {
        let (tx, rx) = tokio::sync::mpsc::channel(room);
        (Outbox::new(tx), rx)
    }

    #[test]
    fn lines_within_a_batch_go_out_as_one_chunk() {
        let (mut outbox, mut rx) = outbox(4);
        let start = Instant::now();
        outbox.line(&serde_json::json!({"text": "a"}), start);
        outbox.line(&serde_json::json!({"text": "b"}), start);
        assert_eq!(outbox.flush_due(start).unwrap(), 0);
        assert!(rx.try_recv().is_err(), "not yet due");
        assert_eq!(outbox.next_due(), start + BATCH);
        assert_eq!(outbox.flush_due(start + BATCH).unwrap(), 0);
        let chunk = rx.try_recv().unwrap();
        assert_eq!(&chunk[..], b"event: line\ndata: {\"text\":\"a\"}\n\nevent: line\ndata: {\"text\":\"b\"}\n\n");
    }

    #[test]
    fn a_state_change_takes_the_batch_with_it() {
        let (mut outbox, mut rx) = outbox(4);
        outbox.line(&"x", Instant::now());
        outbox.must("phase", &"ready").unwrap();
        assert_eq!(&rx.try_recv().unwrap()[..], b"event: line\ndata: \"x\"\n\nevent: phase\ndata: \"ready\"\n\n");
    }

    #[test]
    fn a_full_queue_drops_the_batch_and_counts_its_lines() {
        let (mut outbox, _rx) = outbox(1);
        let start = Instant::now();
        outbox.must("services", &[1]).unwrap();
        outbox.line(&"x", start);
        outbox.line(&"y", start);
        assert_eq!(outbox.flush_due(start + BATCH).unwrap(), 2);
    }

    #[test]
    fn a_page_gone_is_told() {
        let (mut outbox, rx) = outbox(1);
        drop(rx);
        assert!(outbox.is_closed());
        assert!(outbox.must("phase", &"x").is_err());
    }
}
