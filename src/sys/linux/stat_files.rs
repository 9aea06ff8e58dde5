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

use super::procfs::StatLine;
use crate::model::Pid;
use crate::sys::Usage;

/// The open stat files of the processes that were in a group asked about, by pid.
#[derive(Debug, Default)]
pub(super) struct StatFiles {
    open: HashMap<u32, File>,
}

impl StatFiles {
    /// The summed usage of each group asked about. At most `keep` files stay open after it,
    /// so that the open files never crowd out the services' own pipes.
    pub(super) fn group_usage(&mut self, pgids: &[Pid], keep: usize) -> HashMap<Pid, Usage> {
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
            if still.len() < keep {
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

#[cfg(test)]
mod tests {
    use std::os::unix::process::CommandExt;

    use super::*;

    fn own_group() -> Pid {
        Pid::new(nix::unistd::getpgrp().as_raw()).unwrap()
    }

    #[test]
    fn the_usage_of_a_group_counts_its_members_and_keeps_their_files() {
        let mut files = StatFiles::default();
        let group = own_group();
        let first = files.group_usage(&[group], 1000);
        assert!(first[&group].rss_bytes > 0, "{first:?}");
        assert!(files.kept() >= 1);
        // Read again through the kept files: the same process, still counted.
        let again = files.group_usage(&[group], 1000);
        assert!(again[&group].rss_bytes > 0 && again[&group].cpu_secs >= first[&group].cpu_secs);
        assert!(files.group_usage(&[], 1000).is_empty());
        assert_eq!(files.kept(), 0);
    }

    #[test]
    fn no_more_files_than_allowed_stay_open() {
        let mut files = StatFiles::default();
        let group = own_group();
        assert!(files.group_usage(&[group], 0)[&group].rss_bytes > 0);
        assert_eq!(files.kept(), 0);
    }

    #[test]
    fn a_process_that_ended_is_not_counted_through_its_old_file() {
        let mut child = std::process::Command::new("sleep").arg("30").process_group(0).spawn().unwrap();
        let group = Pid::new(i32::try_from(child.id()).unwrap()).unwrap();
        let mut files = StatFiles::default();
        let running = files.group_usage(&[group], 1000);
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(running.contains_key(&group), "{running:?}");
        assert!(!files.group_usage(&[group], 1000).contains_key(&group));
        assert_eq!(files.kept(), 0);
    }
}
