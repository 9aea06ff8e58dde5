//! A process id. Always positive: to kill(2), 0 means "my own group" and -1 "every process I
//! may signal", so a number read from a file, a socket or /proc that is not a pid is refused
//! where it is read, never risked where it is used.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize};

/// A pid, or a process group's id (its leader's pid).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub(crate) struct Pid(i32);

impl Pid {
    /// The pid of that number, when it can be one.
    pub(crate) fn new(raw: i32) -> Option<Pid> {
        (raw > 0).then_some(Pid(raw))
    }

    /// The number, as the system calls take it.
    pub(crate) fn get(self) -> i32 {
        self.0
    }
}

/// std and procfs give pids as u32 (`Child::id`, a task's children).
impl TryFrom<u32> for Pid {
    type Error = NotAPid;

    fn try_from(raw: u32) -> Result<Self, NotAPid> {
        i32::try_from(raw).ok().and_then(Pid::new).ok_or(NotAPid)
    }
}

impl FromStr for Pid {
    type Err = NotAPid;

    fn from_str(text: &str) -> Result<Self, NotAPid> {
        text.parse::<i32>().ok().and_then(Pid::new).ok_or(NotAPid)
    }
}

impl fmt::Display for Pid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl<'de> Deserialize<'de> for Pid {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = i64::deserialize(d)?;
        i32::try_from(raw)
            .ok()
            .and_then(Pid::new)
            .ok_or_else(|| serde::de::Error::custom(format!("{raw} is not a process id")))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct NotAPid;

impl fmt::Display for NotAPid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not a process id")
    }
}

impl std::error::Error for NotAPid {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_positive_numbers_are_pids() {
        assert_eq!(Pid::new(1).map(Pid::get), Some(1));
        assert_eq!(Pid::new(0), None);
        assert_eq!(Pid::new(-1), None);
        assert_eq!(Pid::try_from(u32::MAX), Err(NotAPid));
        assert_eq!("4242".parse::<Pid>().map(Pid::get), Ok(4242));
        assert_eq!("-1".parse::<Pid>(), Err(NotAPid));
    }

    #[test]
    fn a_recorded_pid_that_is_none_is_refused() {
        assert_eq!(serde_json::from_str::<Pid>("42").unwrap().to_string(), "42");
        for bad in ["0", "-1", "4294967296", "\"42\""] {
            assert!(serde_json::from_str::<Pid>(bad).is_err(), "{bad}");
        }
    }
}
