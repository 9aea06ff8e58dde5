//! Integration tests: the real `orch` binary in temp project folders.

mod check;
mod config;
mod procs;
mod supervisor;
mod support;
mod conventions;
mod agent_features;
mod mcp;
