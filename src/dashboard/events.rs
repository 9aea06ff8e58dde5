//! `/api/events`: what happens in the project, as Server-Sent Events, for as long as the page
//! listens. Each page gets a subscription of its own, followed on a thread of its own (the
//! client library speaks to a socket), across supervisors: one that exits is told, and the
//! next one followed.
//!
//! Events: `phase` and `line` (the subscription's updates, as JSON), `services` (the rows of
//! `ps --json` and its notes: after changes, and every few seconds for cpu and memory),
//! `dropped` (lines the page was not sent live) and `supervisor` (gone, or back).
//!
//! A flood costs the page a bounded amount: lines are paced ([`Pacer`]), and a page that reads
//! slower than its queue drains loses lines, not the server's memory; state changes are never
//! dropped.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::Stream;
use serde::Serialize;
use tokio::sync::mpsc::{self, Sender, error::TrySendError};

use super::Shared;
use super::pacer::{LINES_PER_SECOND, Pacer};
use crate::client::subscribe::{Next, Subscription, subscribe};
use crate::client::{Place, Session, ops};
use crate::ipc::Update;

/// The events queued for one page: a second or so of the paced lines.
const QUEUE: usize = 1024;
/// How often the rows are sent again, for cpu, memory and uptimes.
const SAMPLE_EVERY: Duration = Duration::from_secs(2);
/// How long after a state change the rows are sent: a restart's few changes make one listing.
const SETTLE: Duration = Duration::from_millis(200);
/// How long a wait for an update lasts at most: how soon a page gone away is noticed.
const POLL: Duration = Duration::from_secs(1);
/// How long after a supervisor went away the subscription is tried again.
const RESUBSCRIBE_EVERY: Duration = Duration::from_secs(1);

pub(crate) async fn stream(State(shared): State<Arc<Shared>>) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let (tx, rx) = mpsc::channel(QUEUE);
    let place = shared.place.clone();
    std::thread::spawn(move || follow(&place, &tx));
    let events = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|e| (Ok(e), rx)) });
    Sse::new(events).keep_alive(KeepAlive::default())
}

/// The page went away: nothing more to follow.
struct Gone;

/// Follows one supervisor after another until the page goes away.
fn follow(place: &Place, tx: &Sender<Event>) {
    let mut pacer = Pacer::new(LINES_PER_SECOND, Instant::now());
    let mut said_last: Option<String> = None;
    loop {
        let said = match Session::open_lenient(place).and_then(|s| Ok((subscribe(&s, true)?, s))) {
            Ok((Some(subscription), session)) => {
                if send(tx, "supervisor", &Supervisor { running: true, said: "following the supervisor" }).is_err() {
                    return;
                }
                match follow_one(&session, subscription, tx, &mut pacer) {
                    Ok(said) => said,
                    Err(Gone) => return,
                }
            }
            Ok((None, _)) => "nothing runs here: `orch up` starts the project".to_owned(),
            Err(e) => format!("cannot follow the project: {e}"),
        };
        if said_last.as_ref() != Some(&said) {
            if send(tx, "supervisor", &Supervisor { running: false, said: &said }).is_err() {
                return;
            }
            said_last = Some(said);
        }
        std::thread::sleep(RESUBSCRIBE_EVERY);
        if tx.is_closed() {
            return;
        }
    }
}

#[derive(Serialize)]
struct Supervisor<'a> {
    running: bool,
    said: &'a str,
}

/// One subscription, to its end: what to say about that end.
fn follow_one(
    session: &Session,
    mut subscription: Subscription,
    tx: &Sender<Event>,
    pacer: &mut Pacer,
) -> Result<String, Gone> {
    // What happened before it began is in the rows, and the files.
    let mut rows_due = Some(Instant::now());
    let mut sampled = Instant::now();
    loop {
        let now = Instant::now();
        if let Some(lines) = pacer.take_dropped(now) {
            send(tx, "dropped", &serde_json::json!({ "lines": lines }))?;
        }
        if rows_due.is_some_and(|due| now >= due) || now >= sampled + SAMPLE_EVERY {
            send_rows(session, tx)?;
            (rows_due, sampled) = (None, now);
        }
        let wake = [rows_due, Some(sampled + SAMPLE_EVERY), pacer.next_tell()].into_iter().flatten().min();
        let wait = wake.map_or(POLL, |at| at.saturating_duration_since(now)).clamp(Duration::from_millis(1), POLL);
        match subscription.next(Some(wait)) {
            Ok(Next::Update(Update::Line { service, stream, text })) => {
                if pacer.admit(Instant::now()) {
                    let line = Update::Line { service, stream, text: crate::sanitize::strip_controls(&text) };
                    offer(tx, "line", &line, pacer)?;
                }
            }
            Ok(Next::Update(phase @ Update::Phase { .. })) => {
                send(tx, "phase", &phase)?;
                rows_due.get_or_insert(Instant::now() + SETTLE);
            }
            Ok(Next::Update(Update::Lost { updates })) => {
                // Some may have been changes of state: the rows say where things are now.
                pacer.lost_at(updates, Instant::now());
                rows_due = Some(Instant::now());
            }
            Ok(Next::Quiet) if tx.is_closed() => return Err(Gone),
            Ok(Next::Quiet) => {}
            Ok(Next::Ended) => return Ok("the supervisor has exited (`orch up` starts it again)".to_owned()),
            Err(e) => return Ok(format!("lost the supervisor: {e}")),
        }
    }
}

/// The rows and notes of `ps --json`.
fn send_rows(session: &Session, tx: &Sender<Event>) -> Result<(), Gone> {
    match ops::ps::status(session, None) {
        Ok(listing) => send(tx, "services", &serde_json::json!({ "services": listing.rows, "notes": listing.notes })),
        // Said by the `supervisor` event that follows, when it is gone.
        Err(_) => Ok(()),
    }
}

/// An event that must arrive: waits while the page's queue is full.
fn send(tx: &Sender<Event>, name: &str, data: &impl Serialize) -> Result<(), Gone> {
    let Some(event) = event(name, data) else { return Ok(()) };
    tx.blocking_send(event).map_err(|_| Gone)
}

/// A line, dropped (and counted) when the page's queue is full.
fn offer(tx: &Sender<Event>, name: &str, data: &impl Serialize, pacer: &mut Pacer) -> Result<(), Gone> {
    let Some(event) = event(name, data) else { return Ok(()) };
    match tx.try_send(event) {
        Ok(()) => Ok(()),
        Err(TrySendError::Full(_)) => {
            pacer.lost_at(1, Instant::now());
            Ok(())
        }
        Err(TrySendError::Closed(_)) => Err(Gone),
    }
}

fn event(name: &str, data: &impl Serialize) -> Option<Event> {
    Event::default().event(name).json_data(data).ok()
}
