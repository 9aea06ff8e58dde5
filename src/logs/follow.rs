//! `orch logs -f`: new records of some services as they are appended, across rotations.
//!
//! Each followed service keeps its current file open and reads on from where it stopped. The
//! open descriptor is what makes rotation safe: when `<service>.log` turns out to be another
//! file, the old one (now `.log.1`, or deleted with `keep = 0`) is still readable through it
//! to its very end, then any rotated files written after it, then the new live file from 0.
//!
//! It wakes on inotify events for the log directory (through `notify`), and polls every
//! 250 ms anyway, so a lost event, an unsupported file system or a directory created later
//! only costs latency.

use std::collections::{HashMap, HashSet};
use std::fs::{self, File};
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant, SystemTime};

use notify::{RecommendedWatcher, RecursiveMode, Watcher};

use super::reader::{FileId, Position, files_of, merge, rotated_numbers, services_in};
use super::record::Record;
use super::{live_path, rotated_path};

/// The longest wait without looking at the files, in case an event was missed.
const FALLBACK_POLL: Duration = Duration::from_millis(250);

/// Follows the live files of some services, yielding new records as they are appended.
///
/// Blocking on purpose: it runs in the client process, in a plain loop around
/// [`Follower::next_batch`].
pub(crate) struct Follower {
    dir: PathBuf,
    /// Follow every service that has or gets a file in `dir`.
    all: bool,
    tails: Vec<Tail>,
    events: Receiver<notify::Result<notify::Event>>,
    /// None when inotify is not available; then only the fallback poll runs.
    watcher: Option<RecommendedWatcher>,
    /// Whether `dir` is watched (it may not exist yet).
    watching: bool,
}

impl Follower {
    /// Follows `services` (every service of `dir`, present and future, when empty) from the
    /// current end of their files; a service without a file is read from the start of the
    /// file it gets.
    #[cfg(test)]
    pub(crate) fn new(dir: &Path, services: Vec<String>) -> io::Result<Self> {
        Self::from_positions(dir, services, &HashMap::new())
    }

    /// Like [`Follower::new`], but a service with a position (as
    /// [`crate::logs::read_history`] returns them) goes on from exactly there, so history and
    /// following together show each record once, even across a rotation in between.
    pub(crate) fn from_positions(
        dir: &Path,
        services: Vec<String>,
        positions: &HashMap<String, Position>,
    ) -> io::Result<Self> {
        let all = services.is_empty();
        let services = if all { services_in(dir) } else { services };
        let mut tails = Vec::with_capacity(services.len());
        for service in services {
            let tail = match positions.get(&service) {
                Some(position) => Tail::at_position(dir, service, *position)?,
                None => Tail::at_end(dir, service)?,
            };
            tails.push(tail);
        }
        let (sender, events) = mpsc::channel();
        let mut follower = Follower {
            dir: dir.to_path_buf(),
            all,
            tails,
            events,
            watcher: notify::recommended_watcher(sender).ok(),
            watching: false,
        };
        follower.ensure_watch();
        Ok(follower)
    }

    /// Blocks until at least one record is available (or `timeout` passes), returning what was
    /// read (possibly empty on timeout). Records of one service stay in order; those of
    /// different services are merged by time.
    pub(crate) fn next_batch(&mut self, timeout: Duration) -> io::Result<Vec<Record>> {
        let deadline = Instant::now() + timeout;
        loop {
            self.ensure_watch();
            let batch = self.poll()?;
            let left = deadline.saturating_duration_since(Instant::now());
            if !batch.is_empty() || left.is_zero() {
                return Ok(batch);
            }
            self.wait(left.min(FALLBACK_POLL));
        }
    }

    /// Watches `dir` once it exists (`orch logs -f` may run before any service started).
    fn ensure_watch(&mut self) {
        if let (false, Some(watcher)) = (self.watching, self.watcher.as_mut()) {
            self.watching = watcher.watch(&self.dir, RecursiveMode::NonRecursive).is_ok();
        }
    }

    /// Reads what is new in every followed service.
    fn poll(&mut self) -> io::Result<Vec<Record>> {
        if self.all {
            self.add_new_services();
        }
        let mut parts = Vec::with_capacity(self.tails.len());
        for tail in &mut self.tails {
            let mut records = Vec::new();
            tail.poll(&mut records)?;
            parts.push(records);
        }
        Ok(merge(parts))
    }

    /// Services whose first file appeared since: everything they wrote is new.
    fn add_new_services(&mut self) {
        let known: HashSet<&str> = self.tails.iter().map(|t| t.service.as_str()).collect();
        let new: Vec<String> = services_in(&self.dir).into_iter().filter(|s| !known.contains(s.as_str())).collect();
        for service in new {
            self.tails.push(Tail::from_start(&self.dir, service));
        }
    }

    /// Sleeps until a change in `dir` is signalled or `max` passes.
    fn wait(&self, max: Duration) {
        let until = Instant::now() + max;
        loop {
            let left = until.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                // Opening a file or listing `dir` (which this very follower does) is reported
                // too; waking on those would make it spin.
                Ok(Ok(event)) if event.kind.is_access() => {}
                Ok(_) | Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => {
                    std::thread::sleep(left);
                    break;
                }
            }
        }
        // One poll answers every change signalled so far.
        while self.events.try_recv().is_ok() {}
    }
}

/// The file a service is being read from.
struct Current {
    file: File,
    id: FileId,
}

/// Following one service.
struct Tail {
    dir: PathBuf,
    service: String,
    live: PathBuf,
    current: Option<Current>,
    /// Bytes read after the last `\n`: a record still being written.
    partial: Vec<u8>,
    /// While there is no current file: the rotated files that were there before following
    /// began, so they are not taken for new ones when the live file appears.
    known_old: Vec<FileId>,
}

impl Tail {
    /// A service seen for the first time after following began: all its files are new.
    fn from_start(dir: &Path, service: String) -> Tail {
        Tail {
            dir: dir.to_path_buf(),
            live: live_path(dir, &service),
            service,
            current: None,
            partial: Vec::new(),
            known_old: Vec::new(),
        }
    }

    /// Starts at the current end of the live file, or before the live file to come.
    fn at_end(dir: &Path, service: String) -> io::Result<Tail> {
        let mut tail = Tail::from_start(dir, service);
        match open_current(&tail.live) {
            Ok(mut current) => {
                current.file.seek(SeekFrom::End(0))?;
                tail.current = Some(current);
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => tail.known_old = tail.rotated_ids(),
            Err(e) => return Err(e),
        }
        Ok(tail)
    }

    /// Starts where a history read stopped: in the file it read, wherever rotation has moved
    /// it since. When that file is gone, every file there is now is newer.
    fn at_position(dir: &Path, service: String, position: Position) -> io::Result<Tail> {
        let mut tail = Tail::from_start(dir, service);
        let Some(id) = position.file else {
            tail.known_old = tail.rotated_ids();
            return Ok(tail);
        };
        for path in files_of(dir, &tail.service).iter().rev() {
            let Ok(mut current) = open_current(path) else {
                continue;
            };
            // The size check guards against a reused inode number.
            if current.id == id && current.file.metadata()?.len() >= position.offset {
                current.file.seek(SeekFrom::Start(position.offset))?;
                tail.current = Some(current);
                break;
            }
        }
        Ok(tail)
    }

    /// The rotated files there now, oldest first, with their metadata.
    fn rotated(&self) -> Vec<(PathBuf, fs::Metadata)> {
        rotated_numbers(&self.dir, &self.service)
            .into_iter()
            .rev()
            .map(|n| rotated_path(&self.dir, &self.service, n))
            .filter_map(|path| fs::metadata(&path).ok().map(|meta| (path, meta)))
            .collect()
    }

    /// The identities of the rotated files there now.
    fn rotated_ids(&self) -> Vec<FileId> {
        self.rotated().iter().map(|(_, meta)| FileId::of(meta)).collect()
    }

    /// Reads what was appended since the last poll, switching files if the live one changed.
    fn poll(&mut self, out: &mut Vec<Record>) -> io::Result<()> {
        if let Some(current) = self.current.as_mut() {
            read_new(&mut current.file, &mut self.partial, &self.service, out)?;
        }
        let live = match fs::metadata(&self.live) {
            Ok(meta) => FileId::of(&meta),
            // Not created yet, or between the writer's rename and its new file.
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        if self.current.as_ref().is_some_and(|c| c.id == live) {
            return Ok(());
        }
        self.switch(out)
    }

    /// The live file is another one: finish the old file, read the rotated files written
    /// after it, then go on with the new live file.
    fn switch(&mut self, out: &mut Vec<Record>) -> io::Result<()> {
        // Opened first, so that if it rotates too while the others are read, it is the old
        // file of the next switch rather than skipped.
        let new = match open_current(&self.live) {
            Ok(new) => new,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        let between = match self.current.take() {
            Some(mut old) => {
                // The writer renames only after its last write to the old file, so this
                // reads it to its true end.
                read_new(&mut old.file, &mut self.partial, &self.service, out)?;
                self.flush_partial(out);
                self.rotated_after(&old)?
            }
            None => self.rotated_unknown(),
        };
        for (path, id) in between {
            if id != new.id {
                self.read_whole(&path, out)?;
            }
        }
        self.known_old.clear();
        let current = self.current.insert(new);
        read_new(&mut current.file, &mut self.partial, &self.service, out)
    }

    /// The rotated files newer than `old`: those after it in rotation order, or, when it is
    /// gone (deleted beyond `keep`, or by a user), those written to since it was.
    fn rotated_after(&self, old: &Current) -> io::Result<Vec<(PathBuf, FileId)>> {
        let rotated = self.rotated();
        let found = rotated.iter().position(|(_, meta)| FileId::of(meta) == old.id);
        let last_write = old.file.metadata()?.modified()?;
        Ok(rotated
            .iter()
            .enumerate()
            .filter(|(i, (_, meta))| match found {
                Some(at) => *i > at,
                None => modified(meta) >= last_write,
            })
            .map(|(_, (path, meta))| (path.clone(), FileId::of(meta)))
            .collect())
    }

    /// With no previous file: the rotated files that were not there when following began.
    fn rotated_unknown(&self) -> Vec<(PathBuf, FileId)> {
        self.rotated()
            .into_iter()
            .map(|(path, meta)| (path, FileId::of(&meta)))
            .filter(|(_, id)| !self.known_old.contains(id))
            .collect()
    }

    /// Reads a whole rotated file; one rotated away meanwhile is skipped.
    fn read_whole(&mut self, path: &Path, out: &mut Vec<Record>) -> io::Result<()> {
        let mut file = match crate::safe_fs::open_read(path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        read_new(&mut file, &mut self.partial, &self.service, out)?;
        self.flush_partial(out);
        Ok(())
    }

    /// At the end of a file that will not grow any more, an unterminated rest is all there is
    /// of that record.
    fn flush_partial(&mut self, out: &mut Vec<Record>) {
        out.extend(Record::parse(&self.service, &self.partial));
        self.partial.clear();
    }
}

fn modified(meta: &fs::Metadata) -> SystemTime {
    meta.modified().unwrap_or(SystemTime::UNIX_EPOCH)
}

fn open_current(path: &Path) -> io::Result<Current> {
    let file = crate::safe_fs::open_read(path)?;
    let id = FileId::of(&file.metadata()?);
    Ok(Current { file, id })
}

/// Reads `file` from where it is to its end and parses the whole lines, keeping an
/// unterminated rest in `partial` for the next read.
fn read_new(file: &mut File, partial: &mut Vec<u8>, service: &str, out: &mut Vec<Record>) -> io::Result<()> {
    let before = partial.len();
    file.read_to_end(partial)?;
    if partial.len() == before {
        return Ok(());
    }
    let Some(end) = partial.iter().rposition(|&b| b == b'\n') else {
        return Ok(());
    };
    let lines = partial[..end].split(|&b| b == b'\n');
    out.extend(lines.filter_map(|line| Record::parse(service, line)));
    partial.drain(..=end);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::reader::files_of;
    use crate::logs::record::format_record;
    use crate::logs::writer::LogWriter;
    use crate::logs::{Stream, read_history};
    use crate::manifest::{ByteSize, LogConfig};

    fn writer(dir: &Path, service: &str, max_size: u64, keep: u32) -> LogWriter {
        let config = LogConfig { max_size: ByteSize(max_size), keep };
        LogWriter::open(crate::safe_fs::private(dir), service, config).unwrap()
    }

    fn put(writer: &mut LogWriter, line: &str) {
        let mut buf = Vec::new();
        format_record(&mut buf, SystemTime::now(), Stream::Out, line.as_bytes());
        writer.write(&buf).unwrap();
    }

    fn texts(records: &[Record]) -> Vec<String> {
        records.iter().map(|r| format!("{} {}", r.service, r.text())).collect()
    }

    /// Collects batches until `count` records came, or fails after a second.
    fn collect(follower: &mut Follower, count: usize) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(1);
        let mut seen = Vec::new();
        while seen.len() < count && Instant::now() < deadline {
            seen.extend(texts(&follower.next_batch(Duration::from_millis(100)).unwrap()));
        }
        seen
    }

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn an_appended_record_is_seen_within_200_ms() {
        let tmp = tempfile::tempdir().unwrap();
        let mut web = writer(tmp.path(), "web", 1 << 20, 2);
        put(&mut web, "old");
        let mut follower = Follower::new(tmp.path(), names(&["web"])).unwrap();
        assert!(follower.next_batch(Duration::ZERO).unwrap().is_empty());
        let late = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            put(&mut web, "new");
            Instant::now()
        });
        let batch = follower.next_batch(Duration::from_secs(2)).unwrap();
        let written = late.join().unwrap();
        assert!(written.elapsed() < Duration::from_millis(200));
        assert_eq!(texts(&batch), ["web new"]);
    }

    #[test]
    fn a_timeout_gives_an_empty_batch() {
        let tmp = tempfile::tempdir().unwrap();
        let mut follower = Follower::new(tmp.path(), names(&["web"])).unwrap();
        let start = Instant::now();
        assert!(follower.next_batch(Duration::from_millis(60)).unwrap().is_empty());
        assert!(start.elapsed() >= Duration::from_millis(60));
    }

    #[test]
    fn records_written_across_rotations_are_all_seen_in_order() {
        let tmp = tempfile::tempdir().unwrap();
        // A record is about 40 bytes: a rotation every 3 records, several between two polls.
        let mut web = writer(tmp.path(), "web", 130, 5);
        put(&mut web, "before");
        let mut follower = Follower::new(tmp.path(), names(&["web"])).unwrap();
        for round in 0..3 {
            let mut expected = Vec::new();
            for i in 0..(4 + 3 * round) {
                let line = format!("r{round}-{i}");
                put(&mut web, &line);
                expected.push(format!("web {line}"));
            }
            assert_eq!(collect(&mut follower, expected.len()), expected);
        }
        assert!(files_of(tmp.path(), "web").len() >= 4);
    }

    #[test]
    fn keep_zero_rotation_loses_nothing_already_written() {
        let tmp = tempfile::tempdir().unwrap();
        let mut web = writer(tmp.path(), "web", 100, 0);
        let mut follower = Follower::new(tmp.path(), names(&["web"])).unwrap();
        put(&mut web, "a");
        put(&mut web, "b");
        put(&mut web, "c");
        assert_eq!(collect(&mut follower, 3), ["web a", "web b", "web c"]);
    }

    #[test]
    fn a_named_service_whose_file_appears_later_is_read_from_its_start() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("logs");
        let mut follower = Follower::new(&dir, names(&["web"])).unwrap();
        assert!(follower.next_batch(Duration::from_millis(10)).unwrap().is_empty());
        let mut web = writer(&dir, "web", 1 << 20, 2);
        put(&mut web, "first");
        put(&mut web, "second");
        assert_eq!(collect(&mut follower, 2), ["web first", "web second"]);
    }

    #[test]
    fn following_all_picks_up_new_services() {
        let tmp = tempfile::tempdir().unwrap();
        let mut web = writer(tmp.path(), "web", 1 << 20, 2);
        put(&mut web, "old");
        let mut follower = Follower::new(tmp.path(), Vec::new()).unwrap();
        assert!(follower.next_batch(Duration::from_millis(10)).unwrap().is_empty());
        // Small files, so the new service has rotated before it is first seen.
        let mut db = writer(tmp.path(), "db", 100, 3);
        for line in ["d1", "d2", "d3", "d4"] {
            put(&mut db, line);
        }
        put(&mut web, "w1");
        let mut seen = collect(&mut follower, 5);
        seen.sort();
        assert_eq!(seen, ["db d1", "db d2", "db d3", "db d4", "web w1"]);
    }

    #[test]
    fn history_then_follow_shows_each_record_once_across_a_rotation() {
        let tmp = tempfile::tempdir().unwrap();
        let mut web = writer(tmp.path(), "web", 100, 3);
        put(&mut web, "h1");
        put(&mut web, "h2");
        let history = read_history(tmp.path(), &names(&["web"]), None, None).unwrap();
        assert_eq!(texts(&history.records), ["web h1", "web h2"]);
        // Written (and rotated) between reading history and starting to follow.
        put(&mut web, "gap1");
        put(&mut web, "gap2");
        let services = names(&["web"]);
        let mut follower = Follower::from_positions(tmp.path(), services, &history.positions).unwrap();
        put(&mut web, "live");
        assert_eq!(collect(&mut follower, 3), ["web gap1", "web gap2", "web live"]);
    }
}
