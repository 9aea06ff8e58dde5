//! orch: a declarative process orchestrator for project workspaces.
//!
//! The layers, in the order data flows through them (see the README's "How it is built"):
//! [`manifest`] (text → validated Spec), [`graph`] (Spec → DAG), [`cli`] (one file per command).

pub mod cli;
pub mod exit;
pub mod graph;
pub mod hash;
pub mod ipc;
pub mod logs;
pub mod manifest;
pub mod mcp;
pub mod model;
pub mod paths;
pub mod plan;
pub mod ports;
pub mod project;
pub mod render;
pub mod safe_fs;
pub mod sanitize;
pub mod state;
pub mod supervisor;
pub mod trust;
