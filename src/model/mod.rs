//! The vocabulary every layer shares: where a service is in its lifecycle, how a process
//! ended, who a process is, a pid, and the one rule for service names. No I/O, and nothing of
//! orch's beneath it (std and serde; nix only to name a signal), so anything may use it.

mod identity;
pub(crate) mod names;
mod phase;
mod pid;
mod process_exit;

pub(crate) use identity::Identity;
pub(crate) use phase::Phase;
pub(crate) use pid::Pid;
pub(crate) use process_exit::ProcessExit;
