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

    /// The records at or after `since` that `shown` keeps (the last `tail` of them when
    /// given), oldest first.
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
        shown: &dyn Fn(&Record) -> bool,
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
        let kept = |record: &Record| since.is_none_or(|since| record.time >= since) && shown(record);
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

    /// The offset of the last '\n' among the first `len` bytes, reading blocks backwards: a
    /// probe's worth first, as the last line is mostly short.
    fn last_newline(&self, len: u64) -> io::Result<Option<u64>> {
        let mut buf = vec![0; self.block_for(len)];
        let mut hi = len;
        let mut size = PROBE.min(self.block);
        while hi > 0 {
            let lo = hi.saturating_sub(std::mem::replace(&mut size, self.block) as u64);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::Stream;
    use crate::logs::record::format_record;
    use proptest::prelude::*;
    use std::io::Write;
    use std::time::{Duration, UNIX_EPOCH};

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_795_592_529 + secs)
    }

    fn record(secs: u64, line: &[u8]) -> Vec<u8> {
        let mut buf = Vec::new();
        format_record(&mut buf, at(secs), Stream::Out, line);
        buf
    }

    /// One record per (second, text).
    fn records(list: &[(u64, &str)]) -> Vec<u8> {
        list.iter().flat_map(|(secs, text)| record(*secs, text.as_bytes())).collect()
    }

    fn file_of(bytes: &[u8]) -> File {
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(bytes).unwrap();
        file
    }

    /// The records and the end, as read from the end with blocks of `block` bytes.
    fn read(bytes: &[u8], block: usize, since: Option<SystemTime>, tail: Option<usize>) -> (Vec<Record>, u64) {
        let file = file_of(bytes);
        let log = LogFile::with_block(&file, bytes.len() as u64, block).unwrap();
        (log.records("web", since, tail, &|_| true).unwrap(), log.end())
    }

    /// What reading the whole file forwards gives (the reader before this one).
    fn forwards(bytes: &[u8], since: Option<SystemTime>, tail: Option<usize>) -> (Vec<Record>, u64) {
        let mut records = Vec::new();
        let mut end = 0;
        let mut rest = bytes;
        while let Some(at) = rest.iter().position(|&b| b == b'\n') {
            end += at + 1;
            let record = Record::parse("web", &rest[..at]);
            records.extend(record.filter(|r| since.is_none_or(|since| r.time >= since)));
            rest = &rest[at + 1..];
        }
        if let Some(tail) = tail {
            records.drain(..records.len().saturating_sub(tail));
        }
        (records, end as u64)
    }

    fn texts(records: &[Record]) -> Vec<String> {
        records.iter().map(|r| r.text().into_owned()).collect()
    }

    /// Ten records a second apart, texts "r0" to "r9", 35 bytes each.
    fn ten() -> Vec<u8> {
        let list: Vec<(u64, String)> = (0..10).map(|i| (i, format!("r{i}"))).collect();
        list.iter().flat_map(|(secs, text)| record(*secs, text.as_bytes())).collect()
    }

    #[test]
    fn the_tail_is_read_across_block_boundaries() {
        let bytes = ten();
        assert_eq!(bytes.len(), 350);
        for block in [1, 7, 34, 35, 36, 64, 350, 4096] {
            let (tail, end) = read(&bytes, block, None, Some(4));
            assert_eq!(texts(&tail), ["r6", "r7", "r8", "r9"], "block {block}");
            assert_eq!(end, 350);
            let (all, _) = read(&bytes, block, None, Some(100));
            assert_eq!(all.len(), 10, "block {block}");
            assert_eq!(read(&bytes, block, None, None).0, all);
        }
        assert!(read(&bytes, 16, None, Some(0)).0.is_empty());
    }

    #[test]
    fn lines_longer_than_a_block_are_read_whole() {
        let long = "x".repeat(1000);
        let bytes = records(&[(0, "a"), (1, &long), (2, "b"), (3, &long), (4, &long)]);
        let (tail, _) = read(&bytes, 64, None, Some(4));
        assert_eq!(texts(&tail), [&long, "b", &long, &long]);
        assert_eq!(read(&bytes, 64, None, None), forwards(&bytes, None, None));
    }

    #[test]
    fn garbage_lines_are_skipped_and_not_counted() {
        let mut bytes = record(0, b"a");
        bytes.extend_from_slice(b"garbage\n\n\xff\xfe not a record\n");
        bytes.extend(record(1, b"b"));
        bytes.extend_from_slice(b"2026-11-25T07:42:09.123456Z bad stream\n");
        for block in [3, 64] {
            let (tail, end) = read(&bytes, block, None, Some(2));
            assert_eq!(texts(&tail), ["a", "b"], "block {block}");
            assert_eq!(end, bytes.len() as u64);
        }
    }

    #[test]
    fn an_unterminated_last_line_is_left_out_and_the_end_is_before_it() {
        let mut bytes = ten();
        let whole = bytes.len() as u64;
        bytes.extend_from_slice(&record(10, b"still being written")[..20]);
        for block in [5, 64, 4096] {
            let (tail, end) = read(&bytes, block, None, Some(2));
            assert_eq!(texts(&tail), ["r8", "r9"]);
            assert_eq!(end, whole);
            assert_eq!(read(&bytes, block, Some(at(9)), None).0.len(), 1);
        }
    }

    #[test]
    fn the_end_is_found_past_an_unterminated_line_longer_than_the_first_read() {
        let mut bytes = ten();
        bytes.extend(std::iter::repeat_n(b'x', 3 * PROBE));
        for block in [PROBE / 2, PROBE, BLOCK] {
            let (tail, end) = read(&bytes, block, None, Some(1));
            assert_eq!((texts(&tail), end), (vec!["r9".to_owned()], 350), "block {block}");
        }
    }

    #[test]
    fn an_empty_file_and_one_without_a_newline_have_nothing() {
        for bytes in [&b""[..], b"no newline at all", &record(0, b"x")[..30]] {
            for block in [1, 4, 64] {
                assert_eq!(read(bytes, block, None, Some(3)), (Vec::new(), 0));
                assert_eq!(read(bytes, block, None, None), (Vec::new(), 0));
                assert_eq!(read(bytes, block, Some(at(0)), Some(3)), (Vec::new(), 0));
            }
        }
    }

    #[test]
    fn since_finds_the_first_of_equal_timestamps_at_the_boundary() {
        // Many records at second 5, with earlier and later ones around them.
        let mut list: Vec<(u64, String)> = (0..40).map(|i| (i / 8, format!("r{i}"))).collect();
        list.extend((0..30).map(|i| (5, format!("e{i}"))));
        list.sort_by_key(|(secs, _)| *secs);
        let bytes: Vec<u8> = list.iter().flat_map(|(secs, text)| record(*secs, text.as_bytes())).collect();
        for block in [1, 16, 35, 100, 4096] {
            for secs in 0..7 {
                let expected: Vec<String> =
                    list.iter().filter(|(s, _)| *s >= secs).map(|(_, text)| text.clone()).collect();
                let (found, _) = read(&bytes, block, Some(at(secs)), None);
                assert_eq!(texts(&found), expected, "block {block}, since {secs}");
            }
            // Just after second 5: none of its records.
            let (found, _) = read(&bytes, block, Some(at(5) + Duration::from_micros(1)), None);
            assert!(found.iter().all(|r| r.time > at(5)), "block {block}");
            assert_eq!(found.len(), list.iter().filter(|(s, _)| *s > 5).count());
        }
    }

    #[test]
    fn since_before_all_is_everything_and_after_all_is_nothing() {
        let bytes = ten();
        for block in [1, 16, 4096] {
            let before = read(&bytes, block, Some(at(0) - Duration::from_mins(1)), None);
            assert_eq!(before, read(&bytes, block, None, None));
            assert_eq!(read(&bytes, block, Some(at(9)), None).0.len(), 1);
            assert_eq!(read(&bytes, block, Some(at(10)), None), (Vec::new(), 350));
            assert_eq!(read(&bytes, block, Some(at(10)), Some(5)), (Vec::new(), 350));
        }
    }

    #[test]
    fn since_with_tail_takes_the_later_start() {
        let bytes = ten();
        for block in [1, 16, 4096] {
            // The tail is within since: the tail decides.
            assert_eq!(texts(&read(&bytes, block, Some(at(2)), Some(3)).0), ["r7", "r8", "r9"]);
            // Since is within the tail: since decides.
            assert_eq!(texts(&read(&bytes, block, Some(at(8)), Some(5)).0), ["r8", "r9"]);
        }
    }

    #[test]
    fn a_clock_step_back_loses_at_most_records_before_the_start_found() {
        // 0..20, then the clock steps back to 5 and runs on to 14.
        let list: Vec<(u64, String)> = (0..20).chain(5..15).enumerate().map(|(i, s)| (s, format!("r{i}"))).collect();
        let bytes: Vec<u8> = list.iter().flat_map(|(secs, text)| record(*secs, text.as_bytes())).collect();
        for block in [1, 35, 4096] {
            let (exact, _) = forwards(&bytes, Some(at(12)), None);
            let (found, _) = read(&bytes, block, Some(at(12)), None);
            assert!(exact.ends_with(&found), "block {block}");
            assert!(found.iter().all(|r| r.time >= at(12)));
            // What is after the step is never lost.
            assert!(texts(&found).ends_with(&["r27".to_owned(), "r28".to_owned(), "r29".to_owned()]));
        }
    }

    /// One line of a generated file.
    #[derive(Clone, Debug)]
    enum Line {
        /// A record this many seconds after the one before (or before it, when negative).
        Record { step: i8, err: bool, text: Vec<u8> },
        /// Bytes that are not a record.
        Garbage(Vec<u8>),
    }

    fn line_bytes() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            4 => proptest::collection::vec(any::<u8>().prop_filter("no newline", |b| *b != b'\n'), 0..40),
            1 => proptest::collection::vec(prop_oneof![Just(b'a'), Just(b' '), Just(b'\r')], 100..400),
        ]
    }

    fn lines(steps: std::ops::RangeInclusive<i8>) -> impl Strategy<Value = Vec<Line>> {
        let line = prop_oneof![
            5 => (steps, any::<bool>(), line_bytes()).prop_map(|(step, err, text)| Line::Record { step, err, text }),
            1 => line_bytes().prop_map(Line::Garbage),
        ];
        proptest::collection::vec(line, 0..60)
    }

    /// The file's bytes, and the times of its records.
    fn file_bytes(lines: &[Line], unterminated: &[u8]) -> (Vec<u8>, Vec<SystemTime>) {
        let mut bytes = Vec::new();
        let mut times = Vec::new();
        let mut secs: i64 = 100;
        for line in lines {
            match line {
                Line::Record { step, err, text } => {
                    secs = (secs + i64::from(*step)).max(0);
                    let time = at(0) + Duration::from_secs(secs.unsigned_abs());
                    let stream = if *err { Stream::Err } else { Stream::Out };
                    format_record(&mut bytes, time, stream, text);
                    times.push(time);
                }
                Line::Garbage(text) => {
                    bytes.extend_from_slice(text);
                    bytes.push(b'\n');
                }
            }
        }
        bytes.extend_from_slice(unterminated);
        (bytes, times)
    }

    /// A `since` around the records' times: before, at or just after one of them.
    fn since_of(times: &[SystemTime], pick: usize, shift: i8) -> SystemTime {
        let base = times.get(pick % times.len().max(1)).copied().unwrap_or_else(|| at(100));
        match shift {
            ..0 => base - Duration::from_micros(1),
            0 => base,
            _ => base + Duration::from_micros(1),
        }
    }

    proptest! {
        #[test]
        fn reading_from_the_end_is_reading_forwards(
            lines in lines(0..=3),
            unterminated in line_bytes(),
            block in 1usize..80,
            tail in proptest::option::of(0usize..30),
            use_since in any::<bool>(),
            pick in any::<usize>(),
            shift in -1i8..=1,
        ) {
            let (bytes, times) = file_bytes(&lines, &unterminated);
            let since = use_since.then(|| since_of(&times, pick, shift));
            prop_assert_eq!(read(&bytes, block, since, tail), forwards(&bytes, since, tail));
        }

        #[test]
        fn with_clock_steps_since_gives_a_suffix_of_the_exact_answer(
            lines in lines(-3..=3),
            unterminated in line_bytes(),
            block in 1usize..80,
            tail in proptest::option::of(0usize..30),
            pick in any::<usize>(),
            shift in -1i8..=1,
        ) {
            let (bytes, times) = file_bytes(&lines, &unterminated);
            // Without since, the order of the times does not matter.
            prop_assert_eq!(read(&bytes, block, None, tail), forwards(&bytes, None, tail));
            let since = Some(since_of(&times, pick, shift));
            let (found, end) = read(&bytes, block, since, tail);
            let (exact, exact_end) = forwards(&bytes, since, tail);
            prop_assert_eq!(end, exact_end);
            prop_assert!(found.len() <= exact.len());
            let (all, _) = forwards(&bytes, since, None);
            prop_assert!(all.ends_with(&found));
        }
    }
}
