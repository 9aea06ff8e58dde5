//! Issue 14: the dev loop (restart on source change, replicas, profiles, health checks and
//! schedules), each with real processes.

mod health;
mod profiles;
mod replicas;
mod schedule;
mod watch;
