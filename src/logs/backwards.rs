//! Reading one log file from its end: the last N records by reading blocks backwards, and the
//! first record at or after a time by bisection on the offset, so that `orch logs -n N` and
//! `--since` cost what they show, not the size of the file.
//!
//! A file is read only up to the end of its last whole line as it was when opened: an
//! unterminated last line is a record still being written and is left out, and whatever is
//! appended meanwhile is for `logs -f` to continue with from [`LogFile::end`].
//!
//! Bisection assumes a file's timestamps are in order, as they are written. When the clock
//! stepped back they are not, and then the start it finds may be later than the first record
//! at or after `since`: records before that start are missed. From the start on the exact
//! filter applies (see docs/decisions.md, "logs -n and --since read from the end").

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::ops::ControlFlow;
use std::os::unix::fs::FileExt;
use std::time::SystemTime;

use super::record::Record;

/// The size of a block read backwards, and of the buffer of a forward read.
const BLOCK: usize = 64 * 1024;

/// The buffer of a bisection's probe, which reads one or two lines.
const PROBE: usize = 4 * 1024;

/// One open log file, up to the end of its last whole line.
pub(super) struct LogFile<'a> {
    file: &'a File,
    /// The offset just after the last '\n' among the bytes looked at.
    end: u64,
    /// The size of a block read backwards; bisection reads forwards once within one.
    block: usize,
}

impl<'a> LogFile<'a> {
    /// The whole lines among the first `len` bytes of `file` (its size when opened).
    pub(super) fn new(file: &'a File, len: u64) -> io::Result<Self> {
        Self::with_block(file, len, BLOCK)
    }

    /// [`LogFile::new`] with blocks of `block` bytes (small ones test the block boundaries).
    fn with_block(file: &'a File, len: u64, block: usize) -> io::Result<Self> {
        let mut log = LogFile { file, end: 0, block: block.max(1) };
        log.end = log.last_newline(len)?.map_or(0, |at| at + 1);
        Ok(log)
    }

    /// The offset just after the last whole line: where following goes on.
    pub(super) fn end(&self) -> u64 {
        self.end
    }

    /// The records at or after `since` (the last `tail` of them when given), oldest first.
    ///
    /// Without `since`, the same records as reading the whole file forwards. With it, a file
    /// whose last record is before `since` is left at that, and otherwise reading starts
    /// where bisection puts it; with `tail` too, reading backwards stops at that start or at
    /// `tail` records, whichever comes first.
    pub(super) fn records(
        &self,
        service: &str,
        since: Option<SystemTime>,
        tail: Option<usize>,
    ) -> io::Result<Vec<Record>> {
        if tail == Some(0) {
            return Ok(Vec::new());
        }
        let start = match since {
            None => 0,
            Some(since) => {
                if self.last_time()?.is_none_or(|last| last < since) {
                    return Ok(Vec::new());
                }
                self.since_start(since)?
            }
        };
        let kept = |record: &Record| since.is_none_or(|since| record.time >= since);
        let mut records = Vec::new();
        match tail {
            Some(tail) => {
                self.lines_back(start, |line| {
                    if let Some(record) = Record::parse(service, line).filter(kept) {
                        records.push(record);
                    }
                    if records.len() >= tail { ControlFlow::Break(()) } else { ControlFlow::Continue(()) }
                })?;
                records.reverse();
            }
            None => self.lines_forward(start, BLOCK, |_, line| {
                records.extend(Record::parse(service, line).filter(kept));
                ControlFlow::Continue(())
            })?,
        }
        Ok(records)
    }

    /// The time of the last record; None when there is none.
    fn last_time(&self) -> io::Result<Option<SystemTime>> {
        let mut last = None;
        self.lines_back(0, |line| match Record::parse("", line) {
            Some(record) => {
                last = Some(record.time);
                ControlFlow::Break(())
            }
            None => ControlFlow::Continue(()),
        })?;
        Ok(last)
    }

    /// Where reading forwards finds the records at or after `since`: a line start before
    /// which, timestamps being in order, every record is earlier than `since`.
    ///
    /// `lo` is such a start (0, or a record earlier than `since`); the first record at or
    /// after the line start following `hi` is at or after `since` (or there is none). Each
    /// probe halves the span between them, until it fits in a block.
    fn since_start(&self, since: SystemTime) -> io::Result<u64> {
        let (mut lo, mut hi) = (0, self.end);
        while hi - lo > self.block as u64 {
            let mid = lo + (hi - lo) / 2;
            match self.first_record_in(mid, hi)? {
                Some((at, time)) if time < since => lo = at,
                _ => hi = mid,
            }
        }
        Ok(lo)
    }

    /// The offset and time of the first record whose line starts in `from..below`; `from`
    /// need not be a line start (the line it falls in is skipped), and is above 0.
    fn first_record_in(&self, from: u64, below: u64) -> io::Result<Option<(u64, SystemTime)>> {
        let mut found = None;
        // The piece up to the first '\n' at or after from - 1 ends the line `from` falls in
        // (it is empty when `from` is a line start).
        let mut in_line = true;
        self.lines_forward(from.saturating_sub(1), PROBE, |at, line| {
            if std::mem::take(&mut in_line) {
                return ControlFlow::Continue(());
            }
            if at >= below {
                return ControlFlow::Break(());
            }
            match Record::parse("", line) {
                Some(record) => {
                    found = Some((at, record.time));
                    ControlFlow::Break(())
                }
                None => ControlFlow::Continue(()),
            }
        })?;
        Ok(found)
    }

    /// The offset of the last '\n' among the first `len` bytes, reading blocks backwards.
    fn last_newline(&self, len: u64) -> io::Result<Option<u64>> {
        let mut buf = vec![0; self.block_for(len)];
        let mut hi = len;
        while hi > 0 {
            let lo = hi.saturating_sub(self.block as u64);
            let block = &mut buf[..span(lo, hi)];
            let got = read_at_most(self.file, block, lo)?;
            // A file cut shorter since it was opened ends where the read stopped.
            if let Some(at) = block[..got].iter().rposition(|&b| b == b'\n') {
                return Ok(Some(lo + at as u64));
            }
            hi = lo;
        }
        Ok(None)
    }

    /// Calls `visit` with each line from `start` (a line start) to the end, last first,
    /// without its '\n', until it breaks. Lines within a block are handed out of it; a line
    /// longer than a block is read whole once its start is found.
    fn lines_back(&self, start: u64, mut visit: impl FnMut(&[u8]) -> ControlFlow<()>) -> io::Result<()> {
        if self.end <= start {
            return Ok(());
        }
        let mut buf = vec![0; self.block_for(self.end - start)];
        let mut long = Vec::new();
        // The '\n' that ends the line being looked for, and the end of the next block read:
        // the same, unless the line is longer than a block (then the block is part of it).
        let mut newline = self.end - 1;
        let mut read_to = newline;
        loop {
            let from = read_to.saturating_sub(self.block as u64).max(start);
            let block = &mut buf[..span(from, read_to)];
            self.file.read_exact_at(block, from).map_err(changed)?;
            let mut searched = block.len();
            loop {
                let found = block[..searched].iter().rposition(|&b| b == b'\n');
                if found.is_none() && from > start {
                    // The line began before this block: read on backwards, from its end if
                    // this block held later lines, else from this block's start.
                    read_to = if newline < read_to { newline } else { from };
                    break;
                }
                let line_start = found.map_or(from, |at| from + at as u64 + 1);
                let line = if newline <= read_to {
                    &block[span(from, line_start)..span(from, newline)]
                } else {
                    long.resize(span(line_start, newline), 0);
                    self.file.read_exact_at(&mut long, line_start).map_err(changed)?;
                    &long[..]
                };
                if visit(line).is_break() {
                    return Ok(());
                }
                let Some(at) = found else {
                    return Ok(());
                };
                newline = from + at as u64;
                searched = at;
            }
        }
    }

    /// Calls `visit` with the offset and bytes (without '\n') of each line from `start` to
    /// the end, in order, until it breaks; `start` need not be a line start (the first piece
    /// is then the rest of a line). Reads through a buffer of `capacity` bytes.
    fn lines_forward(
        &self,
        start: u64,
        capacity: usize,
        mut visit: impl FnMut(u64, &[u8]) -> ControlFlow<()>,
    ) -> io::Result<()> {
        let bytes = At { file: self.file, pos: start, end: self.end };
        let mut reader =
            BufReader::with_capacity(capacity.min(self.block_for(self.end.saturating_sub(start))).max(1), bytes);
        let mut line = Vec::new();
        let mut at = start;
        loop {
            line.clear();
            let n = reader.read_until(b'\n', &mut line)?;
            // A file cut shorter since it was opened ends at its last whole line.
            if n == 0 || line.last() != Some(&b'\n') {
                return Ok(());
            }
            if visit(at, &line[..n - 1]).is_break() {
                return Ok(());
            }
            at += n as u64;
        }
    }

    /// A buffer size for reading `len` bytes by blocks: no bigger than either.
    fn block_for(&self, len: u64) -> usize {
        usize::try_from(len).map_or(self.block, |len| len.min(self.block))
    }
}

/// The length of `from..to`, a part of one block or of one line in memory.
fn span(from: u64, to: u64) -> usize {
    usize::try_from(to - from).unwrap_or(usize::MAX)
}

/// Reads at `offset` until `buf` is full or the file ends; how many bytes were read.
fn read_at_most(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match file.read_at(&mut buf[got..], offset + got as u64) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// A file cut shorter under the reader, before the end of the whole lines it had seen: said
/// so rather than as a bare "failed to fill whole buffer".
fn changed(error: io::Error) -> io::Error {
    if error.kind() == io::ErrorKind::UnexpectedEof {
        return io::Error::new(io::ErrorKind::UnexpectedEof, "a log file was cut shorter while it was read");
    }
    error
}

/// A file's bytes from `pos` up to `end`, read at offsets (the file's own position is left
/// alone).
struct At<'a> {
    file: &'a File,
    pos: u64,
    end: u64,
}

impl Read for At<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = usize::try_from(self.end.saturating_sub(self.pos)).unwrap_or(usize::MAX);
        let want = buf.len().min(left);
        if want == 0 {
            return Ok(0);
        }
        let n = self.file.read_at(&mut buf[..want], self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}
