//! Integration tests: the real `orch` binary in temp project folders.

// A test binary has no surface of its own: its helpers are `pub` for its modules to share.
#![allow(unreachable_pub)]
// Tests are held to clippy's default set: they cast the pids of their own processes from JSON
// without ceremony, and other branches add tests at the same time.
#![allow(clippy::pedantic)]

mod agent_features;
mod architecture;
mod beyond;
mod check;
mod compat;
mod config;
mod conventions;
mod dashboard;
mod dev_loop;
mod honest;
mod limits;
mod logs_files;
mod mcp;
mod mcp_agents;
mod mcp_inspector;
mod mcp_sdk;
mod procs;
mod reconcile;
mod safety;
mod scale;
mod supervisor;
mod support;
mod tui;
