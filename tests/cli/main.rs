//! Integration tests: the real `orch` binary in temp project folders.

mod agent_features;
mod architecture;
mod check;
mod compat;
mod config;
mod conventions;
mod honest;
mod limits;
mod mcp;
mod procs;
mod reconcile;
mod safety;
mod supervisor;
mod support;
