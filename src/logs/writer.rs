//! The supervisor side: a child's output cut into lines, and records appended to `<service>.log`,
//! rotated by size.

use std::fs::{self, File};
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use super::live_path;
use super::reader::rotated_numbers;
use crate::manifest::LogConfig;
use crate::safe_fs::{Access, PrivateDir};

/// The longest line stored as one record; a longer line is cut into several records of at most
/// this many bytes, so nothing is dropped and memory stays bounded.
pub(crate) const MAX_LINE: usize = 1 << 20;

/// Splits a pipe's bytes into lines, carrying a partial line across reads.
///
/// Lines are cut at `\n` only (a `\r` before it stays part of the line), and a line longer
/// than [`MAX_LINE`] comes out as several pieces of at most `MAX_LINE` bytes.
#[derive(Debug, Default)]
pub(crate) struct LineSplitter {
    /// The start of a line whose `\n` has not been read yet; never longer than `MAX_LINE`
    /// between calls.
    partial: Vec<u8>,
}

impl LineSplitter {
    /// A splitter with nothing carried.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Feeds a chunk; calls `f` for each complete line (without '\n').
    pub(crate) fn push(&mut self, chunk: &[u8], mut f: impl FnMut(&[u8])) {
        let mut rest = chunk;
        while let Some(at) = rest.iter().position(|&b| b == b'\n') {
            self.end_line(&rest[..at], &mut f);
            rest = &rest[at + 1..];
        }
        self.carry(rest, &mut f);
    }

    /// At EOF: the unterminated rest, if any, as a last line.
    pub(crate) fn finish(&mut self, mut f: impl FnMut(&[u8])) {
        if !self.partial.is_empty() {
            emit_cut(&self.partial, &mut f);
            self.partial.clear();
        }
    }

    /// `tail` ends the current line.
    fn end_line(&mut self, tail: &[u8], f: &mut impl FnMut(&[u8])) {
        if self.partial.is_empty() {
            emit_cut(tail, f);
        } else {
            self.partial.extend_from_slice(tail);
            emit_cut(&self.partial, f);
            self.partial.clear();
        }
    }

    /// Keeps `rest` for the next chunk, giving out full `MAX_LINE` pieces as soon as there is
    /// more than that (not at exactly `MAX_LINE`, or a line of that length followed by its
    /// `\n` would come out as the line and an extra empty one).
    fn carry(&mut self, rest: &[u8], f: &mut impl FnMut(&[u8])) {
        self.partial.extend_from_slice(rest);
        if self.partial.len() > MAX_LINE {
            let whole = (self.partial.len() - 1) / MAX_LINE * MAX_LINE;
            self.partial[..whole].chunks(MAX_LINE).for_each(&mut *f);
            self.partial.drain(..whole);
        }
    }
}

/// Gives out a complete line, cut into `MAX_LINE` pieces when longer.
fn emit_cut(line: &[u8], f: &mut impl FnMut(&[u8])) {
    if line.is_empty() {
        f(line);
    } else {
        line.chunks(MAX_LINE).for_each(f);
    }
}

/// Appends records to `<dir>/<service>.log`, rotating by size: when the file would exceed
/// `max_size` it is renamed to `.log.1` (and `.1` → `.2` … up to `keep` rotated files; the
/// oldest beyond `keep` is deleted), and a new `.log` is started. `keep = 0` keeps no old file.
///
/// A record never straddles two files. A single record longer than `max_size` goes alone into
/// a fresh file, which then exceeds `max_size`.
#[derive(Debug)]
pub(crate) struct LogWriter {
    /// `.orch/logs/`, held open: the files are opened and renamed relative to it.
    dir: PrivateDir,
    service: String,
    path: PathBuf,
    config: LogConfig,
    file: File,
    /// Bytes in the live file, so a write need not stat it.
    size: u64,
    /// Bytes of records that could not be written (a full disk) since the writer was opened.
    dropped: u64,
    /// While writes fail: why, and how many bytes were dropped since they began to.
    failing: Option<(String, u64)>,
}

/// A change in whether a writer can write, for its owner to say once (not once a line).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Episode {
    /// Writes began to fail: from now on records are dropped and counted.
    Began { error: String },
    /// Writes work again, after this many bytes were dropped.
    Ended { dropped: u64 },
}

impl LogWriter {
    /// Opens (or creates, mode 0600) `<dir>/<service>.log` for appending. `service` must be a
    /// valid service name (or orch's own): it is a file name.
    pub(crate) fn open(dir: PrivateDir, service: &str, config: LogConfig) -> io::Result<Self> {
        if !crate::model::names::is_service_name(service) {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, format!("`{service}` is not a service name")));
        }
        let path = live_path(dir.path(), service);
        let file = open_live(&dir, service)?;
        let size = file.metadata()?.len();
        Ok(Self { dir, service: service.to_string(), path, config, file, size, dropped: 0, failing: None })
    }

    /// Writes records as [`LogWriter::write`] does; records that cannot be written (a full
    /// disk) are dropped and counted, and the writer goes on. Returns the change, if this write
    /// began or ended an episode of failing writes.
    pub(crate) fn write_or_drop(&mut self, records: &[u8]) -> Option<Episode> {
        let (landed, result) = self.write_counting(records);
        match result {
            Ok(()) => {
                let (_, dropped) = self.failing.take()?;
                Some(Episode::Ended { dropped })
            }
            Err(e) => {
                let lost = (records.len() - landed) as u64;
                self.dropped += lost;
                let began = self.failing.is_none();
                let (error, dropped) = self.failing.get_or_insert_with(|| (String::new(), 0));
                *error = format!("{}: {e}", self.path.display());
                *dropped += lost;
                began.then(|| Episode::Began { error: error.clone() })
            }
        }
    }

    /// Bytes dropped since the writer was opened, and why writes fail now, if they do.
    pub(crate) fn health(&self) -> (u64, Option<&str>) {
        (self.dropped, self.failing.as_ref().map(|(error, _)| error.as_str()))
    }

    /// Writes already formatted records (whole lines) with one write(2) call when possible (no
    /// userspace buffering left behind: after it returns, a reader sees the bytes).
    ///
    /// More than one call happens when the records do not all fit before the size limit (they
    /// are then cut between two records, around a rotation) or the kernel takes them in parts.
    pub(crate) fn write(&mut self, records: &[u8]) -> io::Result<()> {
        self.write_counting(records).1
    }

    /// [`LogWriter::write`], and how many leading bytes of `records` landed, whole records
    /// only: of a record the disk took only part of, that part is taken back, so the file
    /// always ends with a whole line.
    fn write_counting(&mut self, records: &[u8]) -> (usize, io::Result<()>) {
        let mut rest = records;
        while !rest.is_empty() {
            let fit = self.fitting(rest);
            if fit == 0 {
                if let Err(e) = self.rotate() {
                    return (records.len() - rest.len(), Err(e));
                }
                continue;
            }
            let start = self.size;
            if let Err(e) = self.write_all(&rest[..fit]) {
                // What the disk took is at most what was written.
                let landed = usize::try_from(self.size - start).map_or(fit, |n| n.min(fit));
                let whole = rest[..landed].iter().rposition(|&b| b == b'\n').map_or(0, |at| at + 1);
                if whole < landed && self.file.set_len(start + whole as u64).is_ok() {
                    self.size = start + whole as u64;
                }
                return (records.len() - rest.len() + whole, Err(e));
            }
            rest = &rest[fit..];
        }
        (records.len(), Ok(()))
    }

    /// The path of the live file.
    #[cfg(test)]
    pub(crate) fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// How many leading bytes of `records` go into the live file before it must rotate: all
    /// of them, or up to the last whole record that fits, or (into an empty file) the first
    /// record even when it alone is too big. 0 means "rotate first".
    fn fitting(&self, records: &[u8]) -> usize {
        let room = self.config.max_size.0.saturating_sub(self.size);
        let room = usize::try_from(room).unwrap_or(usize::MAX);
        if records.len() <= room {
            return records.len();
        }
        match records[..room].iter().rposition(|&b| b == b'\n') {
            Some(at) => at + 1,
            None if self.size == 0 => records.iter().position(|&b| b == b'\n').map_or(records.len(), |at| at + 1),
            None => 0,
        }
    }

    /// A loop around write(2) rather than `write_all`, to count the bytes that did land even
    /// when a later part fails.
    fn write_all(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        while !bytes.is_empty() {
            match self.file.write(bytes) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    self.size += n as u64;
                    bytes = &bytes[n..];
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Shifts the rotated files up by one, moves the live file to `.log.1` and starts a new one.
    fn rotate(&mut self) -> io::Result<()> {
        let keep = self.config.keep;
        // Newest number first, so each rename's target has already moved out of the way.
        let (live, rotated) = (live_name(&self.service), |n| rotated_name(&self.service, n));
        for n in rotated_numbers(self.dir.path(), &self.service).into_iter().rev() {
            if n >= keep {
                ignore_missing(self.dir.remove(&rotated(n)))?;
            } else {
                ignore_missing(self.dir.rename(&rotated(n), &rotated(n + 1)))?;
            }
        }
        if keep == 0 {
            ignore_missing(self.dir.remove(&live))?;
        } else {
            ignore_missing(self.dir.rename(&live, &rotated(1)))?;
        }
        self.file = open_live(&self.dir, &self.service)?;
        self.size = self.file.metadata()?.len();
        Ok(())
    }
}

/// Opens the live file for appending, creating it 0600, and takes group and other access away
/// from an existing one (logs may hold secrets).
fn open_live(dir: &PrivateDir, service: &str) -> io::Result<File> {
    let file = dir.open(&live_name(service), Access::Append)?;
    let permissions = file.metadata()?.permissions();
    if permissions.mode() & 0o077 != 0 {
        file.set_permissions(fs::Permissions::from_mode(0o600))?;
    }
    Ok(file)
}

fn live_name(service: &str) -> String {
    format!("{service}.log")
}

fn rotated_name(service: &str, n: u32) -> String {
    format!("{service}.log.{n}")
}

/// Someone (a user cleaning up) may have removed a file already; that is not an error here.
fn ignore_missing(result: io::Result<()>) -> io::Result<()> {
    match result {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::logs::Record;
    use crate::logs::reader::files_of;
    use crate::logs::record::push_record;
    use crate::manifest::ByteSize;
    use crate::safe_fs::private;

    fn split(chunks: &[&[u8]]) -> Vec<Vec<u8>> {
        let mut splitter = LineSplitter::new();
        let mut lines = Vec::new();
        for chunk in chunks {
            splitter.push(chunk, |l| lines.push(l.to_vec()));
        }
        splitter.finish(|l| lines.push(l.to_vec()));
        lines
    }

    fn v(lines: &[&[u8]]) -> Vec<Vec<u8>> {
        lines.iter().map(|l| l.to_vec()).collect()
    }

    #[test]
    fn splitter_joins_lines_split_across_chunks() {
        let lines = split(&[b"hel", b"lo\nwor", b"", b"ld\n", b"x"]);
        assert_eq!(lines, v(&[b"hello", b"world", b"x"]));
    }

    #[test]
    fn splitter_keeps_cr_and_empty_lines() {
        let lines = split(&[b"a\r\n\n\r\n", b"\nb\r", b"\n"]);
        assert_eq!(lines, v(&[b"a\r", b"", b"\r", b"", b"b\r"]));
    }

    #[test]
    fn splitter_finish_gives_the_partial_line_once() {
        let mut splitter = LineSplitter::new();
        let mut lines = Vec::new();
        splitter.push(b"done\npart", |l| lines.push(l.to_vec()));
        assert_eq!(lines, v(&[b"done"]));
        splitter.finish(|l| lines.push(l.to_vec()));
        splitter.finish(|l| lines.push(l.to_vec()));
        assert_eq!(lines, v(&[b"done", b"part"]));
    }

    #[test]
    fn splitter_cuts_a_3_mib_line_without_losing_a_byte() {
        let line: Vec<u8> = (0..3 * MAX_LINE + 5).map(|i| b"abcdefghijklmnopqrstuvwxyz"[i % 26]).collect();
        let mut input = line.clone();
        input.extend_from_slice(b"\nnext\n");
        // Odd-sized chunks, so line ends and cuts fall anywhere inside them.
        let chunks: Vec<&[u8]> = input.chunks(65_531).collect();
        let lines = split(&chunks);
        let sizes: Vec<usize> = lines.iter().map(Vec::len).collect();
        assert_eq!(sizes, [MAX_LINE, MAX_LINE, MAX_LINE, 5, 4]);
        assert_eq!(lines[..4].concat(), line);
        assert_eq!(lines[4], b"next");
    }

    #[test]
    fn splitter_gives_a_line_of_exactly_max_line_as_one() {
        let line = vec![b'x'; MAX_LINE];
        let lines = split(&[&line[..10], &line[10..], b"\n"]);
        assert_eq!(lines, vec![line]);
    }

    fn config(max_size: u64, keep: u32) -> LogConfig {
        LogConfig { max_size: ByteSize(max_size), keep }
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> =
            fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        names.sort();
        names
    }

    /// Writes records `first..last`, one write each; every record is 40 bytes.
    fn write_numbered(writer: &mut LogWriter, range: std::ops::Range<u32>) {
        for i in range {
            let mut buf = Vec::new();
            push_record(&mut buf, b"2026-11-25T07:42:09.123456Z out ", format!("{i:07}").as_bytes());
            assert_eq!(buf.len(), 40);
            writer.write(&buf).unwrap();
        }
    }

    fn numbers_in(path: &Path) -> Vec<u32> {
        let text = fs::read(path).unwrap();
        text.split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| Record::parse("s", l).unwrap().text().parse().unwrap())
            .collect()
    }

    #[test]
    fn rotation_keeps_exactly_keep_files_with_the_newest_in_the_live_one() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("logs");
        let mut writer = LogWriter::open(private(&dir), "web", config(200, 2)).unwrap();
        write_numbered(&mut writer, 0..100);
        assert_eq!(names(&dir), ["web.log", "web.log.1", "web.log.2"]);
        // 5 records of 40 bytes fill 200 bytes exactly; the 6th starts a new file.
        assert_eq!(numbers_in(&dir.join("web.log")), [95, 96, 97, 98, 99]);
        assert_eq!(numbers_in(&dir.join("web.log.1")), [90, 91, 92, 93, 94]);
        assert_eq!(numbers_in(&dir.join("web.log.2")), [85, 86, 87, 88, 89]);
        assert_eq!(writer.path(), dir.join("web.log"));
    }

    #[test]
    fn a_write_too_big_for_the_room_left_is_cut_between_records() {
        let tmp = tempfile::tempdir().unwrap();
        let mut writer = LogWriter::open(private(tmp.path()), "web", config(200, 5)).unwrap();
        write_numbered(&mut writer, 0..3);
        let mut batch = Vec::new();
        for i in 3..12 {
            push_record(&mut batch, b"2026-11-25T07:42:09.123456Z out ", format!("{i:07}").as_bytes());
        }
        writer.write(&batch).unwrap();
        let all: Vec<u32> = files_of(tmp.path(), "web").iter().flat_map(|p| numbers_in(p)).collect();
        assert_eq!(all, (0..12).collect::<Vec<_>>());
        assert_eq!(numbers_in(&tmp.path().join("web.log.1")), [5, 6, 7, 8, 9]);
    }

    #[test]
    fn keep_zero_keeps_no_old_file_and_an_oversized_record_gets_its_own_file() {
        let tmp = tempfile::tempdir().unwrap();
        let mut writer = LogWriter::open(private(tmp.path()), "web", config(50, 0)).unwrap();
        write_numbered(&mut writer, 0..3);
        assert_eq!(names(tmp.path()), ["web.log"]);
        assert_eq!(numbers_in(writer.path()), [2]);
        writer.write(&[b'x'; 80]).unwrap();
        assert_eq!(fs::read(writer.path()).unwrap(), [b'x'; 80]);
    }

    #[test]
    fn lowering_keep_removes_the_extra_old_files_at_the_next_rotation() {
        let tmp = tempfile::tempdir().unwrap();
        let mut writer = LogWriter::open(private(tmp.path()), "web", config(40, 4)).unwrap();
        write_numbered(&mut writer, 0..6);
        assert_eq!(names(tmp.path()).len(), 5);
        let mut writer = LogWriter::open(private(tmp.path()), "web", config(40, 1)).unwrap();
        write_numbered(&mut writer, 6..7);
        assert_eq!(names(tmp.path()), ["web.log", "web.log.1"]);
        assert_eq!(numbers_in(&tmp.path().join("web.log.1")), [5]);
    }

    #[test]
    fn files_are_0600_in_a_0700_dir() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/logs");
        let mut writer = LogWriter::open(private(&dir), "web", config(40, 2)).unwrap();
        write_numbered(&mut writer, 0..3);
        let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        for name in names(&dir) {
            assert_eq!(mode(&dir.join(&name)), 0o600, "{name}");
        }
    }

    #[test]
    fn open_appends_and_tightens_an_existing_file() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("web.log");
        fs::write(&path, b"").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let mut writer = LogWriter::open(private(tmp.path()), "web", config(1000, 2)).unwrap();
        write_numbered(&mut writer, 0..1);
        let mut writer = LogWriter::open(private(tmp.path()), "web", config(1000, 2)).unwrap();
        write_numbered(&mut writer, 1..2);
        assert_eq!(numbers_in(&path), [0, 1]);
        assert_eq!(fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    }
}
