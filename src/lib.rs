//! orch: a declarative process orchestrator for project workspaces.
//!
//! The layers, in the order data flows through them, are in the README's "How it is built".
//! What the crate offers outside is what `main.rs` needs: [`cli::Cli`] to parse the command
//! line, [`cli::main`] and [`cli::supervise`] to run it; everything else is the crate's own.

pub mod cli;
mod client;
mod dashboard;
mod exit;
mod export;
mod graph;
mod hash;
mod ipc;
mod lock;
mod logs;
mod manifest;
mod mcp;
mod model;
mod paths;
mod plan;
mod ports;
mod project;
mod render;
mod safe_fs;
mod sanitize;
mod secrets;
mod state;
mod supervisor;
mod sys;
mod terminal;
mod tui;
