//! Issue 12: orch at scale. Not timed (the benchmarks under `bench/` time it): what would let
//! a cost grow again unnoticed — system calls while idle, memory per service, writes of an
//! unchanged state file.

mod idle;
mod memory;
mod spawn;
mod state_writes;
