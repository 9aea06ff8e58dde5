//! Moved to `crate::sys`: what the client side (src/cli/) still reaches by this path, until its
//! call sites name `crate::sys::linux` themselves (then this file goes).

pub(crate) use crate::sys::linux::{is_alive, marked, own_pid};
