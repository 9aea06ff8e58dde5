//! The clients subscribed to what happens (`Request::Subscribe`): a service's phase changes,
//! its lines. [`publish`] never blocks the supervisor: each subscriber has a bounded queue, and
//! what does not fit is counted and told to it as `Lost` instead. A subscriber that hung up is
//! dropped at the next update.
//!
//! The list is the process's: one supervisor runs per process, and the hooks that publish
//! (a service's `Svc::enter`, its log pump) are then one call each, with nothing to thread
//! through.

use std::io;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::unix::OwnedWriteHalf;
use tokio::sync::mpsc::{Receiver, Sender, channel, error::TrySendError};

use crate::ipc::{Envelope, PROTOCOL_VERSION, Reply, Update};
use crate::logs::Stream;
use crate::model::{Phase, Pid};

/// Updates a subscriber may be behind by before they are dropped (about a screenful of
/// burst per service of a small project).
const QUEUE: usize = 1024;

struct Subscriber {
    tx: Sender<Update>,
    /// It asked for the services' lines, not only their phases.
    lines: bool,
    /// Updates that did not fit, since the last one it was told about.
    lost: Arc<AtomicU64>,
}

static SUBSCRIBERS: Mutex<Vec<Subscriber>> = Mutex::new(Vec::new());

/// How many there are, and how many want lines, read without the lock: with none, publishing
/// costs nothing (a `logs -f` wants no lines: it reads the files).
static COUNT: AtomicUsize = AtomicUsize::new(0);
static WANT_LINES: AtomicUsize = AtomicUsize::new(0);

/// A new subscriber: its queue, and its count of lost updates.
fn subscribe(lines: bool) -> (Receiver<Update>, Arc<AtomicU64>) {
    let (tx, rx) = channel(QUEUE);
    let lost = Arc::new(AtomicU64::new(0));
    let mut list = SUBSCRIBERS.lock().unwrap_or_else(PoisonError::into_inner);
    list.push(Subscriber { tx, lines, lost: lost.clone() });
    count(&list);
    (rx, lost)
}

fn count(list: &[Subscriber]) {
    COUNT.store(list.len(), Ordering::Relaxed);
    WANT_LINES.store(list.iter().filter(|s| s.lines).count(), Ordering::Relaxed);
}

/// Hands the update to every subscriber that wants it and has room for it.
pub(crate) fn publish(update: &Update) {
    let is_line = matches!(update, Update::Line { .. });
    let mut list = SUBSCRIBERS.lock().unwrap_or_else(PoisonError::into_inner);
    list.retain(|s| {
        if is_line && !s.lines {
            return !s.tx.is_closed();
        }
        match s.tx.try_send(update.clone()) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) => {
                s.lost.fetch_add(1, Ordering::Relaxed);
                true
            }
            Err(TrySendError::Closed(_)) => false,
        }
    });
    count(&list);
}

/// A service moved to `phase`.
pub(crate) fn phase(service: &str, phase: Phase, pid: Option<Pid>, reason: Option<&str>) {
    if COUNT.load(Ordering::Relaxed) > 0 {
        let reason = reason.map(str::to_owned);
        publish(&Update::Phase { service: service.to_owned(), phase, pid, reason });
    }
}

/// A service wrote a line.
pub(crate) fn line(service: &str, stream: Stream, line: &[u8]) {
    if WANT_LINES.load(Ordering::Relaxed) > 0 {
        let text = String::from_utf8_lossy(line).into_owned();
        publish(&Update::Line { service: service.to_owned(), stream, text });
    }
}

/// Whether a request line is a subscription (of this protocol version), and to lines too.
pub(crate) fn subscription(line: &str) -> Option<bool> {
    if !line.contains("subscribe") {
        return None;
    }
    match serde_json::from_str::<Envelope<crate::ipc::Request>>(line).ok()? {
        Envelope { v: PROTOCOL_VERSION, body: crate::ipc::Request::Subscribe { lines } } => Some(lines),
        _ => None,
    }
}

/// Serves one subscriber until it hangs up (its end of the socket reads as closed) or the
/// supervisor goes (the process ends, and with it the socket).
pub(crate) async fn serve(mut read: impl AsyncRead + Unpin, write: &mut OwnedWriteHalf, lines: bool) -> io::Result<()> {
    let (mut rx, lost) = subscribe(lines);
    send(write, Reply::Subscribed).await?;
    let mut scratch = [0u8; 256];
    loop {
        tokio::select! {
            update = rx.recv() => {
                let Some(update) = update else { return Ok(()) };
                send(write, Reply::Update(update)).await?;
                // What did not fit came after everything still queued: the gap is told once
                // the queue is empty, where it happened.
                if rx.is_empty() {
                    let dropped = lost.swap(0, Ordering::Relaxed);
                    if dropped > 0 {
                        send(write, Reply::Update(Update::Lost { updates: dropped })).await?;
                    }
                }
            }
            // Anything the client sends now is not a request; only its end counts.
            read = read.read(&mut scratch) => if read? == 0 { return Ok(()) },
        }
    }
}

async fn send(write: &mut OwnedWriteHalf, reply: Reply) -> io::Result<()> {
    let mut bytes = serde_json::to_vec(&Envelope { v: PROTOCOL_VERSION, body: reply })?;
    bytes.push(b'\n');
    write.write_all(&bytes).await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The list is the process's: the tests that subscribe take turns.
    static SERIAL: Mutex<()> = Mutex::new(());

    #[test]
    fn a_full_queue_counts_what_it_lost_and_a_gone_subscriber_is_dropped() {
        let _turn = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
        let (mut rx, lost) = subscribe(true);
        for _ in 0..QUEUE + 5 {
            line("web", Stream::Out, b"hello");
        }
        assert!(lost.load(Ordering::Relaxed) >= 5, "lost {lost:?}");
        // Other tests of this process may publish phases meanwhile: the list is the process's.
        let mut queued = std::iter::from_fn(|| rx.try_recv().ok());
        assert!(queued.any(|u| matches!(u, Update::Line { .. })));
        drop(rx);
        phase("web", Phase::Stopped, None, None);
        assert_eq!(COUNT.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn a_subscriber_without_lines_is_told_phases_only() {
        let _turn = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
        let (mut rx, _lost) = subscribe(false);
        line("quiet-web", Stream::Out, b"hello");
        phase("quiet-web", Phase::Stopped, None, None);
        let queued: Vec<Update> = std::iter::from_fn(|| rx.try_recv().ok()).collect();
        let ours = |u: &&Update| matches!(u, Update::Line { service, .. } | Update::Phase { service, .. } if service == "quiet-web");
        let ours: Vec<&Update> = queued.iter().filter(ours).collect();
        assert!(matches!(ours[..], [Update::Phase { .. }]), "{ours:?}");
    }

    #[test]
    fn only_a_subscribe_of_this_version_is_one() {
        assert!(subscription(r#"{"v":3,"request":"subscribe"}"#).is_some());
        assert!(subscription(r#"{"v":2,"request":"subscribe"}"#).is_none());
        assert!(subscription(r#"{"v":3,"request":"ps","services":["subscribe"]}"#).is_none());
        assert!(subscription("subscribe").is_none());
        assert_eq!(subscription(r#"{"v":3,"request":"subscribe"}"#), Some(true), "lines by default");
        assert_eq!(subscription(r#"{"v":3,"request":"subscribe","lines":false}"#), Some(false));
    }

    #[test]
    fn an_update_on_the_wire() {
        let wire =
            |update| serde_json::to_value(Envelope { v: PROTOCOL_VERSION, body: Reply::Update(update) }).unwrap();
        let phase = Update::Phase { service: "web".into(), phase: Phase::Running, pid: Pid::new(42), reason: None };
        let expected = serde_json::json!({"v": 3, "reply": "update", "update": "phase", "service": "web", "phase": "running", "pid": 42});
        assert_eq!(wire(phase), expected);
        let line = Update::Line { service: "web".into(), stream: Stream::Err, text: "oops".into() };
        let expected = serde_json::json!({"v": 3, "reply": "update", "update": "line", "service": "web", "stream": "err", "text": "oops"});
        assert_eq!(wire(line.clone()), expected);
        let back: Envelope<Reply> = serde_json::from_value(expected).unwrap();
        assert!(matches!(back.body, Reply::Update(read) if read == line));
    }
}
