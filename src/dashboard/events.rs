//! `/api/events`: what happens in the project, as Server-Sent Events, for as long as the page
//! listens. Each page gets a subscription of its own, followed on a thread of its own (the
//! client library speaks to a socket), across supervisors: one that exits is told, and the
//! next one followed.
//!
//! Events: `phase` and `line` (the subscription's updates, as JSON; orch's own lines are
//! service `orch`'s), `services` (the rows of `ps --json` and its notes: after changes, and
//! every few seconds for cpu and memory), `dropped` (lines the page was not sent live) and
//! `supervisor` (gone, or followed again).
//!
//! A flood costs the page a bounded amount: lines are paced ([`Pacer`]) and sent in batches
//! ([`Outbox`]); state changes are never dropped.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tokio::sync::mpsc;

use super::Shared;
use super::outbox::{Gone, Outbox};
use super::pacer::{LINES_PER_SECOND, Pacer};
use crate::client::subscribe::{Next, Subscription, subscribe};
use crate::client::{Place, Session, ops};
use crate::ipc::Update;

/// The writes queued for one page: a few seconds of batches.
const QUEUE: usize = 64;
/// How often the rows are sent again, for cpu, memory and uptimes.
const SAMPLE_EVERY: Duration = Duration::from_secs(2);
/// How long after a state change the rows are sent: a restart's few changes make one listing.
const SETTLE: Duration = Duration::from_millis(200);
/// How long a wait for an update lasts at most: how soon a page gone away is noticed.
const POLL: Duration = Duration::from_secs(1);
/// How long after a supervisor went away the subscription is tried again.
const RESUBSCRIBE_EVERY: Duration = Duration::from_secs(1);

pub(crate) async fn stream(State(shared): State<Arc<Shared>>) -> Response {
    let (tx, rx) = mpsc::channel::<Bytes>(QUEUE);
    let place = shared.place.clone();
    std::thread::spawn(move || follow(&place, &mut Outbox::new(tx)));
    let chunks = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (Ok::<_, Infallible>(chunk), rx))
    });
    ([(header::CONTENT_TYPE, "text/event-stream")], Body::from_stream(chunks)).into_response()
}

#[derive(Serialize)]
struct Supervisor<'a> {
    running: bool,
    said: &'a str,
}

/// Follows one supervisor after another until the page goes away.
fn follow(place: &Place, outbox: &mut Outbox) {
    let mut pacer = Pacer::new(LINES_PER_SECOND, Instant::now());
    // What the page was last told of a supervisor gone, so that a retry each second does not
    // say it again.
    let mut said_last: Option<String> = None;
    loop {
        // The project only: what the supervisor tells needs no manifest read.
        let said = match Session::locate(place).and_then(|s| Ok((subscribe(&s, true)?, s))) {
            Ok((Some(subscription), session)) => {
                said_last = None;
                let following = Supervisor { running: true, said: "following the supervisor" };
                match outbox
                    .must("supervisor", &following)
                    .and_then(|()| follow_one(&session, subscription, outbox, &mut pacer))
                {
                    Ok(said) => said,
                    Err(Gone) => return,
                }
            }
            Ok((None, _)) => "nothing runs here: `orch up` starts the project".to_owned(),
            Err(e) => format!("cannot follow the project: {e}"),
        };
        if said_last.as_ref() != Some(&said) {
            if outbox.must("supervisor", &Supervisor { running: false, said: &said }).is_err() {
                return;
            }
            said_last = Some(said);
        }
        std::thread::sleep(RESUBSCRIBE_EVERY);
        if outbox.is_closed() {
            return;
        }
    }
}

/// One subscription, to its end: what to say about that end.
fn follow_one(
    session: &Session,
    mut subscription: Subscription,
    outbox: &mut Outbox,
    pacer: &mut Pacer,
) -> Result<String, Gone> {
    // What happened before it began is in the rows, and the files.
    let mut rows_due = Some(Instant::now());
    let mut sampled = Instant::now();
    loop {
        let now = Instant::now();
        pacer.lost_at(outbox.flush_due(now)?, now);
        if let Some(lines) = pacer.take_dropped(now) {
            outbox.must("dropped", &serde_json::json!({ "lines": lines }))?;
        }
        if rows_due.is_some_and(|due| now >= due) || now >= sampled + SAMPLE_EVERY {
            send_rows(session, outbox)?;
            (rows_due, sampled) = (None, now);
        }
        let wake = [rows_due, Some(sampled + SAMPLE_EVERY), pacer.next_tell(), Some(outbox.next_due())]
            .into_iter()
            .flatten()
            .min();
        let wait = wake.map_or(POLL, |at| at.saturating_duration_since(now)).clamp(Duration::from_millis(1), POLL);
        match subscription.next(Some(wait)) {
            Ok(Next::Update(Update::Line { service, stream, text })) => {
                let now = Instant::now();
                if pacer.admit(now) {
                    let line = Update::Line { service, stream, text: crate::sanitize::strip_controls(&text) };
                    outbox.line(&line, now);
                }
            }
            Ok(Next::Update(phase @ Update::Phase { .. })) => {
                outbox.must("phase", &phase)?;
                rows_due.get_or_insert(Instant::now() + SETTLE);
            }
            Ok(Next::Update(Update::Lost { updates })) => {
                // Some may have been changes of state: the rows say where things are now (once
                // they settle: under a flood a Lost comes before nearly every update).
                let now = Instant::now();
                pacer.lost_at(updates, now);
                rows_due.get_or_insert(now + SETTLE);
            }
            Ok(Next::Quiet) if outbox.is_closed() => return Err(Gone),
            Ok(Next::Quiet) => {}
            Ok(Next::Ended) => return Ok("the supervisor has exited (`orch up` starts it again)".to_owned()),
            Err(e) => return Ok(format!("lost the supervisor: {e}")),
        }
    }
}

/// The rows and notes of `ps --json`.
fn send_rows(session: &Session, outbox: &mut Outbox) -> Result<(), Gone> {
    match ops::ps::status(session, None) {
        Ok(listing) => {
            outbox.must("services", &serde_json::json!({ "services": listing.rows, "notes": listing.notes }))
        }
        // Said by the `supervisor` event that follows, when it is gone.
        Err(_) => Ok(()),
    }
}
