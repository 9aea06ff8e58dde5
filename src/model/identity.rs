//! Who a process is, beyond its pid: a pid is trusted only if its start time and the boot id
//! still match, so a pid reused after a crash or a reboot is never signalled. Reading one from
//! /proc is the OS layer's (`sys::linux`); this is the record and the
//! comparison.

use serde::{Deserialize, Serialize};

use super::Pid;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Identity {
    pub(crate) pid: Pid,
    /// Clock ticks after boot (field 22 of /proc/<pid>/stat).
    pub(crate) start_time: u64,
    pub(crate) boot_id: String,
}

impl Identity {
    /// Whether `now` (what the process table says of the same pid) is this very process, not a
    /// reused pid: the same start, in the same boot.
    pub(crate) fn is_same_process(&self, now: &Identity) -> bool {
        self == now
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reused_pid_is_another_process() {
        let pid = Pid::new(42).unwrap();
        let recorded = Identity { pid, start_time: 7, boot_id: "b".into() };
        assert!(recorded.is_same_process(&recorded.clone()));
        assert!(!recorded.is_same_process(&Identity { start_time: 8, ..recorded.clone() }));
        assert!(!recorded.is_same_process(&Identity { boot_id: "another boot".into(), ..recorded.clone() }));
    }
}
