//! The vocabulary every layer shares: where a service is in its lifecycle, how a process
//! ended, who a process is, a pid, and the one rule for service names. No I/O, and nothing of
//! orch's beneath it (std and serde; nix only to name a signal), so anything may use it.

mod identity;
pub mod names;
mod phase;
mod pid;
mod process_exit;

pub use identity::Identity;
pub use phase::Phase;
pub use pid::Pid;
pub use process_exit::ProcessExit;
