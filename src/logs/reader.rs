//! Reading stored logs: which files and services there are, and the merged history.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::fs::{self, File, Metadata};
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::backwards::LogFile;
use super::live_path;
use super::record::Record;

/// The identity of a file, which a rename keeps: how a reader tells that the live file was
/// rotated away.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct FileId {
    /// The device holding the file.
    pub(crate) dev: u64,
    /// The inode number on that device.
    pub(crate) ino: u64,
}

impl FileId {
    /// The identity of the file `meta` describes.
    pub(crate) fn of(meta: &Metadata) -> FileId {
        FileId { dev: meta.dev(), ino: meta.ino() }
    }
}

/// Where reading of a service's live file stopped, so that following can go on from exactly
/// there (see [`crate::logs::Follower::from_positions`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Position {
    /// The live file that was read; None when the service had no live file.
    pub(crate) file: Option<FileId>,
    /// The byte just after the last whole record read from it.
    pub(crate) offset: u64,
}

/// The history of some services, and where each one's reading stopped.
#[derive(Clone, Debug, Default)]
pub(crate) struct History {
    /// The records, merged in time order.
    pub(crate) records: Vec<Record>,
    /// Per service read, where its live file ended.
    pub(crate) positions: HashMap<String, Position>,
}

/// The files of a service, oldest first: `<service>.log.N` … `.log.1`, `.log` (those that
/// exist). An unreadable `dir` has no files.
pub(crate) fn files_of(dir: &Path, service: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> =
        rotated_numbers(dir, service).into_iter().rev().map(|n| super::rotated_path(dir, service, n)).collect();
    let live = live_path(dir, service);
    if live.exists() {
        files.push(live);
    }
    files
}

/// The numbers N of the existing `<service>.log.N` files, ascending.
pub(crate) fn rotated_numbers(dir: &Path, service: &str) -> Vec<u32> {
    let prefix = format!("{service}.log.");
    let mut numbers: Vec<u32> =
        file_names(dir).iter().filter_map(|name| name.strip_prefix(&prefix)).filter_map(rotation_number).collect();
    numbers.sort_unstable();
    numbers
}

/// The service names that have a log file in dir (from `*.log` and `*.log.N` names), sorted.
pub(crate) fn services_in(dir: &Path) -> Vec<String> {
    let mut services: Vec<String> =
        file_names(dir).iter().filter_map(|name| service_of(name)).map(str::to_string).collect();
    services.sort();
    services.dedup();
    services
}

/// The service a log file name belongs to, if it is one.
fn service_of(name: &str) -> Option<&str> {
    let service = match name.strip_suffix(".log") {
        Some(service) => service,
        None => {
            let (base, number) = name.rsplit_once('.')?;
            rotation_number(number)?;
            base.strip_suffix(".log")?
        }
    };
    (!service.is_empty()).then_some(service)
}

/// The N of a `.log.N` suffix: digits only (so `.log.tmp` or `.log.+1` are not rotations).
fn rotation_number(suffix: &str) -> Option<u32> {
    if suffix.is_empty() || !suffix.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    suffix.parse().ok().filter(|&n| n > 0)
}

/// The UTF-8 names in `dir`; none when it cannot be read (no logs yet).
fn file_names(dir: &Path) -> Vec<String> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    entries.filter_map(Result::ok).filter_map(|entry| entry.file_name().into_string().ok()).collect()
}

/// History of the given services merged in time order (stable for equal times: by service
/// order given, then file order), only records at or after `since` when given, and only the
/// last `tail` records overall when given. No services given means every service in `dir`.
pub(crate) fn history(
    dir: &Path,
    services: &[String],
    since: Option<SystemTime>,
    tail: Option<usize>,
) -> io::Result<Vec<Record>> {
    Ok(read_history(dir, services, since, tail)?.records)
}

/// [`history`], with where each service's live file ended, for following on from there
/// without a gap or a repeat.
pub(crate) fn read_history(
    dir: &Path,
    services: &[String],
    since: Option<SystemTime>,
    tail: Option<usize>,
) -> io::Result<History> {
    read_history_shown(dir, services, since, tail, &|_| true)
}

/// [`read_history`] of only the records `shown` keeps: the last `tail` of those, read from
/// the files' end (as orch's own lines are sifted for the services shown).
pub(crate) fn read_history_shown(
    dir: &Path,
    services: &[String],
    since: Option<SystemTime>,
    tail: Option<usize>,
    shown: &dyn Fn(&Record) -> bool,
) -> io::Result<History> {
    let mut parts = Vec::new();
    let mut positions = HashMap::new();
    for service in requested(dir, services) {
        let (records, position) = read_service(dir, &service, since, tail, shown)?;
        parts.push(records);
        positions.insert(service, position);
    }
    let mut records = merge(parts);
    keep_last(&mut records, tail);
    Ok(History { records, positions })
}

/// The services asked for, without repeats; all of `dir`'s when none are.
fn requested(dir: &Path, services: &[String]) -> Vec<String> {
    if services.is_empty() {
        return services_in(dir);
    }
    let mut seen = HashSet::new();
    services.iter().filter(|s| seen.insert(s.as_str())).cloned().collect()
}

/// One service's records, oldest first, and where its live file ended. With `tail`, files
/// are read newest first and older files are left unread once there are enough records.
fn read_service(
    dir: &Path,
    service: &str,
    since: Option<SystemTime>,
    tail: Option<usize>,
    shown: &dyn Fn(&Record) -> bool,
) -> io::Result<(Vec<Record>, Position)> {
    let mut position = Position { file: None, offset: 0 };
    let mut parts = Vec::new();
    let mut count = 0;
    for OpenLog { file, id, len, live } in open_newest_first(dir, service)? {
        let (records, end) = read_records(&file, len, service, since, tail, shown)?;
        if live {
            position = Position { file: Some(id), offset: end };
        }
        count += records.len();
        parts.push(records);
        if tail.is_some_and(|t| count >= t) {
            break;
        }
    }
    let mut records: Vec<Record> = parts.into_iter().rev().flatten().collect();
    keep_last(&mut records, tail);
    Ok((records, position))
}

/// One of a service's files, opened for reading.
struct OpenLog {
    file: File,
    /// Its identity, which a rotation keeps.
    id: FileId,
    /// Its size when opened: reading goes no further.
    len: u64,
    /// Whether it is the live file.
    live: bool,
}

/// Opens all of a service's files at once, newest first. Opening them together keeps the
/// window in which a rotation could shift names under the reader tiny, and a file seen twice
/// (renamed in between) is read once.
fn open_newest_first(dir: &Path, service: &str) -> io::Result<Vec<OpenLog>> {
    let live = live_path(dir, service);
    let mut seen = HashSet::new();
    let mut files = Vec::new();
    for path in files_of(dir, service).into_iter().rev() {
        let file = match crate::safe_fs::open_read(&path) {
            Ok(file) => file,
            // Rotated away (beyond `keep`) since it was listed.
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        let meta = file.metadata()?;
        let id = FileId::of(&meta);
        if seen.insert(id) {
            files.push(OpenLog { file, id, len: meta.len(), live: path == live });
        }
    }
    Ok(files)
}

/// The records of one file at or after `since` that `shown` keeps (the last `tail` of them
/// when given), and the offset after its last whole line. An unterminated last line is a
/// record still being written (or cut by a crash) and is left out. Only the file's first
/// `len` bytes (its size when opened) are looked at; `tail` is read backwards from their end
/// and `since` found by bisection (see [`LogFile::records`]).
fn read_records(
    file: &File,
    len: u64,
    service: &str,
    since: Option<SystemTime>,
    tail: Option<usize>,
    shown: &dyn Fn(&Record) -> bool,
) -> io::Result<(Vec<Record>, u64)> {
    let log = LogFile::new(file, len)?;
    Ok((log.records(service, since, tail, shown)?, log.end()))
}

/// Drops all but the last `tail` records.
fn keep_last(records: &mut Vec<Record>, tail: Option<usize>) {
    if let Some(tail) = tail {
        let extra = records.len().saturating_sub(tail);
        records.drain(..extra);
    }
}

/// Merges per-service sequences by time, earlier part first on equal times. A k-way merge
/// rather than a sort, so each service's own order stays as written even if the clock
/// stepped back.
pub(crate) fn merge(parts: Vec<Vec<Record>>) -> Vec<Record> {
    let total = parts.iter().map(Vec::len).sum();
    let mut merged = Vec::with_capacity(total);
    let mut rests: Vec<_> = parts.into_iter().map(Vec::into_iter).collect();
    let mut heads: Vec<Option<Record>> = rests.iter_mut().map(Iterator::next).collect();
    let mut order: BinaryHeap<_> =
        heads.iter().enumerate().filter_map(|(i, head)| head.as_ref().map(|r| Reverse((r.time, i)))).collect();
    while let Some(Reverse((_, i))) = order.pop() {
        merged.extend(heads[i].take());
        heads[i] = rests[i].next();
        if let Some(record) = &heads[i] {
            order.push(Reverse((record.time, i)));
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::Stream;
    use crate::logs::record::format_record;
    use crate::logs::writer::LogWriter;
    use crate::manifest::{ByteSize, LogConfig};
    use std::time::{Duration, UNIX_EPOCH};

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_795_592_529 + secs)
    }

    fn writer(dir: &Path, service: &str, max_size: u64, keep: u32) -> LogWriter {
        let config = LogConfig { max_size: ByteSize(max_size), keep };
        LogWriter::open(crate::safe_fs::private(dir), service, config).unwrap()
    }

    fn put(writer: &mut LogWriter, secs: u64, stream: Stream, line: &str) {
        let mut buf = Vec::new();
        format_record(&mut buf, at(secs), stream, line.as_bytes());
        writer.write(&buf).unwrap();
    }

    fn summary(records: &[Record]) -> Vec<String> {
        records.iter().map(|r| format!("{} {}", r.service, r.text())).collect()
    }

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(ToString::to_string).collect()
    }

    /// web at 0, 2, 4 and db at 1, 2, 3.
    fn two_services(dir: &Path) {
        let mut web = writer(dir, "web", 1 << 20, 2);
        let mut db = writer(dir, "db", 1 << 20, 2);
        put(&mut web, 0, Stream::Out, "w0");
        put(&mut db, 1, Stream::Err, "d1");
        put(&mut db, 2, Stream::Out, "d2");
        put(&mut web, 2, Stream::Out, "w2");
        put(&mut db, 3, Stream::Out, "d3");
        put(&mut web, 4, Stream::Err, "w4");
    }

    #[test]
    fn history_merges_services_by_time_then_given_order() {
        let tmp = tempfile::tempdir().unwrap();
        two_services(tmp.path());
        let all = history(tmp.path(), &names(&["web", "db"]), None, None).unwrap();
        assert_eq!(summary(&all), ["web w0", "db d1", "web w2", "db d2", "db d3", "web w4"]);
        assert_eq!(all[1].stream, Stream::Err);
        let swapped = history(tmp.path(), &names(&["db", "web"]), None, None).unwrap();
        assert_eq!(summary(&swapped[2..4]), ["db d2", "web w2"]);
    }

    #[test]
    fn history_since_and_tail() {
        let tmp = tempfile::tempdir().unwrap();
        two_services(tmp.path());
        let services = names(&["web", "db"]);
        let since = history(tmp.path(), &services, Some(at(2)), None).unwrap();
        assert_eq!(summary(&since), ["web w2", "db d2", "db d3", "web w4"]);
        let tail = history(tmp.path(), &services, None, Some(2)).unwrap();
        assert_eq!(summary(&tail), ["db d3", "web w4"]);
        let both = history(tmp.path(), &services, Some(at(3)), Some(5)).unwrap();
        assert_eq!(summary(&both), ["db d3", "web w4"]);
        assert!(history(tmp.path(), &services, None, Some(0)).unwrap().is_empty());
    }

    #[test]
    fn history_of_no_services_means_all_and_missing_ones_are_empty() {
        let tmp = tempfile::tempdir().unwrap();
        two_services(tmp.path());
        assert_eq!(history(tmp.path(), &[], None, None).unwrap().len(), 6);
        let none = history(tmp.path(), &names(&["cache"]), None, None).unwrap();
        assert!(none.is_empty());
        let gone = history(&tmp.path().join("nope"), &[], None, None).unwrap();
        assert!(gone.is_empty());
    }

    #[test]
    fn history_reads_rotated_files_in_order() {
        let tmp = tempfile::tempdir().unwrap();
        // Each record is 35 bytes; 3 fit in 120.
        let mut web = writer(tmp.path(), "web", 120, 3);
        for i in 0..10 {
            put(&mut web, i, Stream::Out, &format!("w{i}"));
        }
        assert_eq!(files_of(tmp.path(), "web").len(), 4);
        let all = history(tmp.path(), &names(&["web"]), None, None).unwrap();
        let expected: Vec<String> = (0..10).map(|i| format!("web w{i}")).collect();
        assert_eq!(summary(&all), expected);
        let tail = history(tmp.path(), &names(&["web"]), None, Some(5)).unwrap();
        assert_eq!(summary(&tail), expected[5..]);
    }

    #[test]
    fn history_since_and_tail_across_rotated_files() {
        let tmp = tempfile::tempdir().unwrap();
        // Each record is 35 bytes; 3 fit in 120: files of w0-w2, w3-w5, w6-w8 and w9.
        let mut web = writer(tmp.path(), "web", 120, 3);
        for i in 0..10 {
            put(&mut web, i, Stream::Out, &format!("w{i}"));
        }
        let web = names(&["web"]);
        let expected: Vec<String> = (0..10).map(|i| format!("web w{i}")).collect();
        for since in 0..11 {
            let found = history(tmp.path(), &web, Some(at(since)), None).unwrap();
            assert_eq!(summary(&found), expected[usize::try_from(since).unwrap()..], "since {since}");
        }
        let both = history(tmp.path(), &web, Some(at(4)), Some(4)).unwrap();
        assert_eq!(summary(&both), expected[6..]);
        let both = history(tmp.path(), &web, Some(at(7)), Some(5)).unwrap();
        assert_eq!(summary(&both), expected[7..]);
        // The live file's end is where following goes on, whichever files were read.
        let live = fs::metadata(tmp.path().join("web.log")).unwrap().len();
        for (since, tail) in [(None, Some(1)), (None, Some(8)), (Some(at(2)), None), (Some(at(20)), None)] {
            let read = read_history(tmp.path(), &web, since, tail).unwrap();
            assert_eq!(read.positions["web"].offset, live);
        }
    }

    #[test]
    fn history_skips_garbage_and_an_unfinished_last_line() {
        let tmp = tempfile::tempdir().unwrap();
        let mut record = Vec::new();
        format_record(&mut record, at(0), Stream::Out, b"ok");
        let mut text = b"garbage\n".to_vec();
        text.extend_from_slice(&record);
        text.extend_from_slice(&record[..10]);
        fs::write(tmp.path().join("web.log"), &text).unwrap();
        let found = read_history(tmp.path(), &names(&["web"]), None, None).unwrap();
        assert_eq!(summary(&found.records), ["web ok"]);
        let position = found.positions["web"];
        assert_eq!(position.offset, (8 + record.len()) as u64);
        assert!(position.file.is_some());
    }

    #[test]
    fn files_and_services_are_found_by_name() {
        let tmp = tempfile::tempdir().unwrap();
        for name in [
            "web.log",
            "web.log.2",
            "web.log.10",
            "web.log.1",
            "api.v2.log.1",
            "db.log",
            "db.log.tmp",
            "x.log.0",
            ".log",
            "notes.txt",
        ] {
            fs::write(tmp.path().join(name), b"").unwrap();
        }
        let files: Vec<String> =
            files_of(tmp.path(), "web").iter().map(|p| p.file_name().unwrap().to_str().unwrap().to_string()).collect();
        assert_eq!(files, ["web.log.10", "web.log.2", "web.log.1", "web.log"]);
        assert_eq!(services_in(tmp.path()), ["api.v2", "db", "web"]);
        assert!(files_of(tmp.path(), "api").is_empty());
    }
}
