//! The cpu and memory of process groups, for `ps`: one pass over /proc, with the stat files
//! of the groups' members kept open from one pass to the next.
//!
//! Opening and closing `/proc/<pid>/stat` is most of what reading it costs (the path lookup
//! and the permission check, not the line), and `ps` with a thousand services reads a
//! thousand of them. An open stat file stays the file of that one process: once it has
//! exited, reading it fails (ESRCH), even when a new process has been given the same pid.

use std::collections::HashMap;
use std::fmt::Write;
use std::fs::File;
use std::os::fd::OwnedFd;
use std::os::unix::fs::FileExt;

use nix::fcntl::{OFlag, open, openat};
use nix::sys::stat::Mode;

use crate::model::Pid;
use crate::sys::Usage;

/// The open stat files of the processes that were in a group asked about, by pid.
#[derive(Debug, Default)]
pub(super) struct StatFiles {
    open: HashMap<u32, File>,
    /// How many may stay open, so that they never crowd out the services' own pipes.
    keep: usize,
}

impl StatFiles {
    /// Keeping an eighth of the files this process may open, and none under a tight limit.
    pub(super) fn within(fd_limit: u64) -> Self {
        let keep = if fd_limit >= 1024 { usize::try_from(fd_limit / 8).unwrap_or(usize::MAX) } else { 0 };
        Self { open: HashMap::new(), keep }
    }

    /// The summed usage of each group asked about.
    pub(super) fn group_usage(&mut self, pgids: &[Pid]) -> HashMap<Pid, Usage> {
        let wanted: HashMap<i32, Pid> = pgids.iter().map(|p| (p.get(), *p)).collect();
        let mut usage: HashMap<Pid, Usage> = HashMap::new();
        if wanted.is_empty() {
            self.open.clear();
            return usage;
        }
        let flags = OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
        let (Ok(entries), Ok(proc)) = (std::fs::read_dir("/proc"), open("/proc", flags, Mode::empty())) else {
            self.open.clear();
            return usage;
        };
        let ticks = procfs::ticks_per_second() as f64;
        let page = procfs::page_size();
        let mut still = HashMap::with_capacity(self.open.len());
        // A stat line is a few hundred bytes; the fields used here are in its first half.
        let mut line = [0u8; 1024];
        for pid in entries.flatten().filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok()) {
            let Some((file, stat)) = self.read(&proc, pid, &mut line) else { continue };
            let Some(pgid) = wanted.get(&stat.pgrp) else { continue };
            let u = usage.entry(*pgid).or_default();
            u.cpu_secs += (stat.utime + stat.stime) as f64 / ticks;
            u.rss_bytes += stat.rss_pages * page;
            if still.len() < self.keep {
                still.insert(pid, file);
            }
        }
        // What is not kept is closed: processes gone, or out of the groups.
        self.open = still;
        usage
    }

    /// The stat line of a process, through its open file if it has one (which is taken, to be
    /// kept or closed by the caller), else through a new one. None when it is gone.
    fn read(&mut self, proc: &OwnedFd, pid: u32, line: &mut [u8]) -> Option<(File, StatLine)> {
        if let Some(file) = self.open.remove(&pid)
            && let Some(stat) = read_at_start(&file, line)
        {
            return Some((file, stat));
        }
        let mut path = String::with_capacity(24);
        let _ = write!(path, "{pid}/stat");
        let file = File::from(openat(proc, path.as_str(), OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty()).ok()?);
        let stat = read_at_start(&file, line)?;
        Some((file, stat))
    }

    #[cfg(test)]
    fn kept(&self) -> usize {
        self.open.len()
    }
}

/// The file's line as the kernel writes it now: read from its start, in one read(2).
fn read_at_start(file: &File, line: &mut [u8]) -> Option<StatLine> {
    let read = file.read_at(line, 0).ok()?;
    StatLine::parse(&line[..read])
}

/// The fields of a `/proc/<pid>/stat` line that `ps` shows.
#[derive(Debug, PartialEq, Eq)]
struct StatLine {
    pgrp: i32,
    utime: u64,
    stime: u64,
    rss_pages: u64,
}

impl StatLine {
    /// `pid (comm) state ppid pgrp … utime stime … rss …`: the command may hold spaces,
    /// parentheses and bytes that are no UTF-8, so the fields are counted from the last `)`.
    /// None for anything else.
    fn parse(line: &[u8]) -> Option<StatLine> {
        let close = line.iter().rposition(|&b| b == b')')?;
        let rest = std::str::from_utf8(&line[close + 1..]).ok()?;
        let fields: Vec<&str> = rest.split_ascii_whitespace().collect();
        // After the command: state is field 3 of the line, so field n is fields[n - 3].
        let field = |n: usize| fields.get(n - 3).copied();
        Some(StatLine {
            pgrp: field(5)?.parse().ok()?,
            utime: field(14)?.parse().ok()?,
            stime: field(15)?.parse().ok()?,
            rss_pages: field(24)?.parse().ok()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::process::CommandExt;

    use super::*;

    fn own_group() -> Pid {
        Pid::new(nix::unistd::getpgrp().as_raw()).unwrap()
    }

    #[test]
    fn the_usage_of_a_group_counts_its_members_and_keeps_their_files() {
        let mut files = StatFiles::within(8000);
        let group = own_group();
        let first = files.group_usage(&[group]);
        assert!(first[&group].rss_bytes > 0, "{first:?}");
        assert!(files.kept() >= 1);
        // Read again through the kept files: the same process, still counted.
        let again = files.group_usage(&[group]);
        assert!(again[&group].rss_bytes > 0 && again[&group].cpu_secs >= first[&group].cpu_secs);
        assert!(files.group_usage(&[]).is_empty());
        assert_eq!(files.kept(), 0);
    }

    #[test]
    fn no_more_files_than_allowed_stay_open() {
        let mut files = StatFiles::within(512);
        let group = own_group();
        assert!(files.group_usage(&[group])[&group].rss_bytes > 0);
        assert_eq!(files.kept(), 0);
    }

    #[test]
    fn a_process_that_ended_is_not_counted_through_its_old_file() {
        let mut child = std::process::Command::new("sleep").arg("30").process_group(0).spawn().unwrap();
        let group = Pid::new(i32::try_from(child.id()).unwrap()).unwrap();
        let mut files = StatFiles::within(8000);
        let running = files.group_usage(&[group]);
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(running.contains_key(&group), "{running:?}");
        assert!(!files.group_usage(&[group]).contains_key(&group));
        assert_eq!(files.kept(), 0);
    }

    #[test]
    fn a_stat_line_gives_its_group_times_and_memory() {
        let line = b"4242 (my (odd) \xff prog) S 1 4240 4240 0 -1 4194560 100 0 0 0 7 3 0 0 20 0 1 0 999 1000000 321 18446744073709551615 \n";
        let stat = StatLine::parse(line).unwrap();
        assert_eq!(stat, StatLine { pgrp: 4240, utime: 7, stime: 3, rss_pages: 321 });
        assert_eq!(StatLine::parse(b"4242 (prog) S 1"), None);
        assert_eq!(StatLine::parse(b"garbage"), None);
        let own = std::fs::read("/proc/self/stat").unwrap();
        let stat = StatLine::parse(&own).expect("this process's stat line");
        assert_eq!(stat.pgrp, nix::unistd::getpgrp().as_raw());
        assert!(stat.rss_pages > 0);
    }
}
