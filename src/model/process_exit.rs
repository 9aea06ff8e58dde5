//! How a process ended, as its parent learnt it (or did not: an adopted process's exit status
//! went to the supervisor before this one).

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ProcessExit {
    Code(i32),
    Signal(i32),
    /// An adopted process ended: only its parent could know how.
    Unknown,
}

impl ProcessExit {
    pub(crate) fn success(self) -> bool {
        self == ProcessExit::Code(0)
    }
}

impl fmt::Display for ProcessExit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProcessExit::Code(code) => write!(f, "exited with {code}"),
            // nix's table, not one of our own: the numbers differ between architectures.
            ProcessExit::Signal(sig) => match nix::sys::signal::Signal::try_from(*sig) {
                Ok(sig) => write!(f, "killed by {}", sig.as_str()),
                Err(_) => write!(f, "killed by signal {sig}"),
            },
            // Only the parent of a process learns its exit status; an adopted one's parent
            // was the supervisor before this one.
            ProcessExit::Unknown => f.write_str("ended with an unknown exit status"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exits_read_like_a_sentence() {
        assert_eq!(ProcessExit::Code(1).to_string(), "exited with 1");
        assert_eq!(ProcessExit::Signal(9).to_string(), "killed by SIGKILL");
        assert_eq!(ProcessExit::Signal(4242).to_string(), "killed by signal 4242");
        assert!(ProcessExit::Code(0).success() && !ProcessExit::Unknown.success());
    }

    #[test]
    fn the_recorded_form_is_kept() {
        let json = serde_json::to_string(&[ProcessExit::Code(1), ProcessExit::Signal(9), ProcessExit::Unknown]);
        assert_eq!(json.unwrap(), r#"[{"code":1},{"signal":9},"unknown"]"#);
    }
}
