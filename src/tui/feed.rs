//! What the TUI hears, each on a thread of its own so the screen never waits on a socket: the
//! supervisor's subscription (states and lines), a sample of cpu and memory every few seconds
//! (the one thing the subscription does not tell), and the outcome of each action.

use std::sync::mpsc::Sender;
use std::time::Duration;

use super::app::Action;
use crate::client::ops::ps::Listing;
use crate::client::subscribe::{Next, subscribe};
use crate::client::{ClientError, Place, Session, ops};
use crate::ipc::Update;

/// How often cpu and memory are sampled.
const USAGE_EVERY: Duration = Duration::from_secs(2);

pub(crate) enum Msg {
    Update(Update),
    /// Lines read back from the files, oldest first (see [`older`]).
    Older(Vec<crate::logs::Record>),
    /// The newest lines from the files, to replace those in memory (see [`reload`]).
    Reloaded(Vec<crate::logs::Record>),
    /// A subscription began (again): the rows and lines are to be read afresh.
    Resubscribed,
    Rows(Listing),
    /// What the status line says: an action's outcome, or the supervisor gone.
    Said(String),
}

/// How long after the supervisor went away the subscription is tried again.
const RESUBSCRIBE_EVERY: Duration = Duration::from_secs(1);

/// Follows the subscription, and follows the next supervisor when this one goes (an `up` in
/// another terminal), until the TUI ends (it drops the receiver).
pub(crate) fn follow(place: Place, tx: Sender<Msg>) {
    std::thread::spawn(move || {
        let mut said_last = String::new();
        loop {
            let said = follow_once(&place, &tx);
            let Some(said) = said else { return };
            if said != said_last && tx.send(Msg::Said(said.clone())).is_err() {
                return;
            }
            said_last = said;
            std::thread::sleep(RESUBSCRIBE_EVERY);
        }
    });
}

/// One subscription, to its end: what to say about that end, or None once the TUI is gone.
fn follow_once(place: &Place, tx: &Sender<Msg>) -> Option<String> {
    let mut subscription = match Session::open_lenient(place).and_then(|s| subscribe(&s, true)) {
        Ok(Some(subscription)) => subscription,
        Ok(None) => return Some("nothing runs: `orch up` (here with S, or in another terminal) starts it".to_owned()),
        Err(e) => return Some(format!("cannot follow the project: {e}")),
    };
    // A new supervisor: what happened meanwhile is in the files.
    tx.send(Msg::Resubscribed).ok()?;
    loop {
        match subscription.next(None) {
            Ok(Next::Update(update)) => tx.send(Msg::Update(update)).ok()?,
            Ok(Next::Quiet) => {}
            Ok(Next::Ended) => {
                return Some("the supervisor has exited (`orch up` starts it again); q quits".to_owned());
            }
            Err(e) => return Some(format!("lost the supervisor: {e}")),
        }
    }
}

/// The newest lines from the files, in place of those in memory (after updates were dropped).
pub(crate) fn reload(place: Place, tx: Sender<Msg>) {
    std::thread::spawn(move || {
        let read =
            Session::open_lenient(&place).and_then(|s| ops::logs::history(&s, &[], None, Some(super::app::KEPT_LINES)));
        if let Ok(history) = read {
            let _ = tx.send(Msg::Reloaded(history.records));
        }
    });
}

/// A fresh listing every few seconds, for cpu and memory (and uptimes).
pub(crate) fn sample_usage(place: Place, tx: Sender<Msg>) {
    std::thread::spawn(move || {
        let Ok(session) = Session::open_lenient(&place) else { return };
        loop {
            std::thread::sleep(USAGE_EVERY);
            let Ok(listing) = ops::ps::status(&session, None) else { continue };
            if tx.send(Msg::Rows(listing)).is_err() {
                return;
            }
        }
    });
}

/// Reads back from the files the `OLDER_LINES` lines before the `have` newest.
pub(crate) fn older(place: Place, have: usize, tx: Sender<Msg>) {
    std::thread::spawn(move || {
        let read = Session::open_lenient(&place)
            .and_then(|s| ops::logs::history(&s, &[], None, Some(have + super::app::OLDER_LINES)));
        let _ = match read {
            Ok(history) => tx.send(Msg::Older(history.records)),
            Err(e) => tx.send(Msg::Said(format!("cannot read the older lines: {e}"))),
        };
    });
}

/// Carries out an action and says how it ended.
pub(crate) fn act(place: Place, action: Action, tx: Sender<Msg>) {
    std::thread::spawn(move || {
        let said = match carry_out(&place, &action) {
            Ok(said) => said,
            Err(e) => format!("{}: {e}", action.doing().trim_end_matches('…')),
        };
        let _ = tx.send(Msg::Said(said));
    });
}

fn carry_out(place: &Place, action: &Action) -> Result<String, ClientError> {
    Ok(crate::render::action_done(
        &action.carry_out(&Session::open_lenient(place)?, crate::client::follow::Wait::default())?,
    )
    .1)
}
