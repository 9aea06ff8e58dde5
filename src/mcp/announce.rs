//! Notifications, only where the client asked for them: after `logging/setLevel`, each change
//! of a service's phase is a `notifications/message` (at or above the level set); after
//! `resources/subscribe` to [`STATUS_URI`], a `notifications/resources/updated` for it. Fed
//! by the client library's subscription to the supervisor, on a thread of its own, and sent
//! at most every [`SPACING`]: changes that come closer together go out in one message.
//! Nothing is sent before an opt-in, and nothing is polled while nothing runs but a look for a
//! supervisor every [`RETRY`].

// MCP's logging is deprecated from protocol 2026-07-28 on (SEP-2577), but it is how the
// clients of the versions before it (most of them) opt in to messages.
#![allow(deprecated)]

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rmcp::model::{LoggingLevel, LoggingMessageNotificationParam, ResourceUpdatedNotificationParam};
use rmcp::{Peer, RoleServer};
use serde_json::{Value, json};

use crate::client::subscribe::{Next, subscribe};
use crate::client::{Place, Session};
use crate::ipc::Update;
use crate::model::Phase;

/// The project's services as `ps` shows them, as a resource.
pub(crate) const STATUS_URI: &str = "orch://project/services";
/// The least time between two notifications: a few a second at most.
const SPACING: Duration = Duration::from_millis(300);
/// How often to look for a supervisor while none runs.
const RETRY: Duration = Duration::from_secs(1);
/// How long an opt-in waits for the first subscription before it is answered anyway.
const FIRST_LOOK: Duration = Duration::from_secs(3);

/// What the client opted in to, and where to send it.
#[derive(Default)]
struct Wishes {
    peer: Option<Peer<RoleServer>>,
    level: Option<LoggingLevel>,
    status: bool,
    watching: bool,
}

/// The server's half: what the handlers record, and the thread that sends.
#[derive(Clone, Default)]
pub(crate) struct Announcer {
    wishes: Arc<Mutex<Wishes>>,
}

impl Announcer {
    pub(crate) async fn set_level(&self, place: &Arc<Place>, peer: Peer<RoleServer>, level: LoggingLevel) {
        self.update(place, peer, |w| w.level = Some(level)).await;
    }

    pub(crate) async fn subscribe_status(&self, place: &Arc<Place>, peer: Peer<RoleServer>, on: bool) {
        self.update(place, peer, |w| w.status = on).await;
    }

    /// Records the wish, and starts the thread that follows the supervisor if none does yet:
    /// the opt-in is answered once that thread has subscribed (or found that none runs), so
    /// a change the client causes right after its opt-in is told.
    async fn update(&self, place: &Arc<Place>, peer: Peer<RoleServer>, change: impl FnOnce(&mut Wishes)) {
        let started = {
            let mut wishes = self.wishes.lock().unwrap_or_else(PoisonError::into_inner);
            change(&mut wishes);
            wishes.peer = Some(peer);
            if wishes.watching {
                return;
            }
            wishes.watching = true;
            let (announcer, place) = (self.clone(), place.clone());
            let runtime = tokio::runtime::Handle::current();
            let (subscribed, started) = tokio::sync::oneshot::channel();
            std::thread::spawn(move || announcer.watch(&place, &runtime, subscribed));
            started
        };
        let _ = tokio::time::timeout(FIRST_LOOK, started).await;
    }

    /// Follows the supervisor (whichever runs, one after another) for as long as the server
    /// lives; says on `subscribed` when its first look is done.
    fn watch(&self, place: &Place, runtime: &tokio::runtime::Handle, subscribed: tokio::sync::oneshot::Sender<()>) {
        let mut pending: Vec<Value> = Vec::new();
        let mut last_sent = Instant::now().checked_sub(SPACING).unwrap_or_else(Instant::now);
        let mut subscribed = Some(subscribed);
        loop {
            let subscription = Session::open_lenient(place).ok().and_then(|s| subscribe(&s, false).ok().flatten());
            if let Some(first) = subscribed.take() {
                let _ = first.send(());
            }
            let Some(mut subscription) = subscription else {
                std::thread::sleep(RETRY);
                continue;
            };
            loop {
                // (A read timeout of zero is refused by the socket: at least a millisecond.)
                let wait = (!pending.is_empty())
                    .then(|| SPACING.saturating_sub(last_sent.elapsed()).max(Duration::from_millis(1)));
                match subscription.next(wait) {
                    Ok(Next::Update(Update::Phase { service, phase, pid, reason })) => {
                        pending
                            .push(json!({ "service": service, "phase": phase.as_str(), "pid": pid, "reason": reason }));
                    }
                    Ok(Next::Update(_) | Next::Quiet) => {}
                    Ok(Next::Ended) | Err(_) => break,
                }
                if !pending.is_empty() && last_sent.elapsed() >= SPACING {
                    self.send(runtime, std::mem::take(&mut pending));
                    last_sent = Instant::now();
                }
            }
            if !pending.is_empty() {
                self.send(runtime, std::mem::take(&mut pending));
                last_sent = Instant::now();
            }
        }
    }

    /// One notification of each kind opted in to, for these changes.
    fn send(&self, runtime: &tokio::runtime::Handle, changes: Vec<Value>) {
        let (peer, level, status) = {
            let wishes = self.wishes.lock().unwrap_or_else(PoisonError::into_inner);
            (wishes.peer.clone(), wishes.level, wishes.status)
        };
        let Some(peer) = peer else { return };
        let severity = changes.iter().map(severity).max_by_key(|l| rank(*l)).unwrap_or(LoggingLevel::Info);
        let message = level.filter(|wanted| rank(severity) >= rank(*wanted)).map(|_| {
            let text: Vec<String> = changes.iter().map(describe).collect();
            let data = crate::mcp::outputs::without_nulls(json!({ "text": text.join("; "), "changes": changes }));
            let mut param = LoggingMessageNotificationParam::new(severity, data);
            param.logger = Some("orch".to_owned());
            param
        });
        runtime.spawn(async move {
            if let Some(message) = message {
                let _ = peer.notify_logging_message(message).await;
            }
            if status {
                let _ = peer.notify_resource_updated(ResourceUpdatedNotificationParam::new(STATUS_URI)).await;
            }
        });
    }
}

/// `web: ready`, `db: failed (exited with 1)`.
fn describe(change: &Value) -> String {
    let mut text =
        format!("{}: {}", change["service"].as_str().unwrap_or("?"), change["phase"].as_str().unwrap_or("?"));
    if let Some(reason) = change["reason"].as_str() {
        text.push_str(&format!(" ({reason})"));
    }
    text
}

/// A failure is a warning (a fatal one an error); anything else is news.
fn severity(change: &Value) -> LoggingLevel {
    match change["phase"].as_str().and_then(Phase::parse) {
        Some(Phase::Fatal) => LoggingLevel::Error,
        Some(phase) if phase.is_failure() || phase == Phase::Backoff => LoggingLevel::Warning,
        _ => LoggingLevel::Info,
    }
}

fn rank(level: LoggingLevel) -> u8 {
    match level {
        LoggingLevel::Debug => 0,
        LoggingLevel::Info => 1,
        LoggingLevel::Notice => 2,
        LoggingLevel::Warning => 3,
        LoggingLevel::Error => 4,
        LoggingLevel::Critical => 5,
        LoggingLevel::Alert => 6,
        LoggingLevel::Emergency => 7,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_is_louder_than_news_and_is_said_with_its_reason() {
        let change = |phase: &str| json!({ "service": "db", "phase": phase, "reason": "exited with 1" });
        assert_eq!(severity(&change("ready")), LoggingLevel::Info);
        assert_eq!(severity(&change("failed")), LoggingLevel::Warning);
        assert_eq!(severity(&change("fatal")), LoggingLevel::Error);
        assert!(rank(LoggingLevel::Warning) > rank(LoggingLevel::Info));
        assert_eq!(describe(&change("failed")), "db: failed (exited with 1)");
        assert_eq!(describe(&json!({ "service": "web", "phase": "ready" })), "web: ready");
    }
}
