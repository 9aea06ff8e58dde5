//! The one-service actions a front end offers on a button or a key (the TUI, the dashboard):
//! restart, stop, start, scale, each carried out to its end (told in one line by
//! [`crate::render::action_done`]).

use super::follow::{Ending, Wait};
use super::{ClientError, Notice, Session, ops};

/// What a key or a button asks the supervisor for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Action {
    Restart(String),
    Stop(String),
    Start(String),
    /// A scaled service's group and its new number of replicas.
    Scale(String, u32),
}

/// How an action ended.
#[derive(Debug)]
pub(crate) enum Done {
    Followed(Ending),
    /// A stop of a service that was not running.
    NotRunning(String),
}

impl Action {
    /// How a status line says it is under way.
    pub(crate) fn doing(&self) -> String {
        match self {
            Action::Restart(name) => format!("restarting {name}…"),
            Action::Stop(name) => format!("stopping {name}…"),
            Action::Start(name) => format!("starting {name}…"),
            Action::Scale(group, n) => format!("scaling {group} to {n}…"),
        }
    }

    /// Carries the action out and follows it until every service it touched is up (or down),
    /// or `wait` ends (the action then goes on without the caller).
    pub(crate) fn carry_out(&self, session: &Session, wait: Wait) -> Result<Done, ClientError> {
        let quiet: &mut dyn FnMut(Notice) = &mut |_| {};
        let ending = match self {
            Action::Restart(name) => ops::restart(session, std::slice::from_ref(name), wait, quiet)?,
            Action::Start(name) => {
                let up = ops::Up { services: vec![name.clone()], ..ops::Up::default() };
                ops::up(session, &up, wait, quiet)?
            }
            Action::Stop(name) => match ops::down(session, std::slice::from_ref(name), wait, quiet)? {
                ops::Down::Followed(ending) => ending,
                ops::Down::NotRunning => return Ok(Done::NotRunning(name.clone())),
            },
            Action::Scale(group, count) => {
                let scale = [(group.clone(), *count)].into_iter().collect();
                ops::scale(session, &scale, wait, quiet)?
            }
        };
        Ok(Done::Followed(ending))
    }
}
