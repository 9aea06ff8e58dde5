//! Service log files under `.orch/logs/`: written by the supervisor, read by `orch logs`.
//!
//! One file per service, `<dir>/<service>.log` (mode 0600), rotated by size into
//! `<service>.log.1` … `<service>.log.<keep>`. Each line of a file is one record,
//! `<RFC 3339 UTC timestamp with microseconds> <out|err> <raw line bytes>`, so plain `grep`
//! and `cut -d' ' -f3-` work on the files.
//!
//! - [`record`]: the record format, both ways.
//! - [`writer`]: the supervisor side: splitting a child's output into lines and appending them,
//!   rotating by size.
//! - [`pump`]: a child's pipe into its writer, without ever blocking the child for long.
//! - [`reader`]: the history of one or more services, merged in time order.
//! - [`backwards`]: one file's last records, read from its end, and its records since a time,
//!   found by bisection.
//! - [`follow`]: `orch logs -f`: new records as they are appended, across rotations.

mod backwards;
pub(crate) mod follow;
pub(crate) mod pump;
pub(crate) mod reader;
pub(crate) mod record;
pub(crate) mod writer;

use std::path::{Path, PathBuf};

pub(crate) use follow::Follower;
pub(crate) use reader::{History, read_history, services_in};
pub(crate) use record::{Record, Stream};

/// The live (currently written) log file of `service` in `dir`: `<dir>/<service>.log`.
pub(crate) fn live_path(dir: &Path, service: &str) -> PathBuf {
    dir.join(format!("{service}.log"))
}

/// The `n`th rotated file of `service` in `dir` (1 is the newest): `<dir>/<service>.log.<n>`.
pub(crate) fn rotated_path(dir: &Path, service: &str, n: u32) -> PathBuf {
    dir.join(format!("{service}.log.{n}"))
}
