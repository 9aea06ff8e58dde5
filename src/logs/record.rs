//! One record of a log file: `<timestamp> <stream> <raw line bytes>\n`.
//!
//! The timestamp is RFC 3339 UTC with exactly six fractional digits, as
//! `humantime::format_rfc3339_micros` prints it, so every timestamp has the same width and
//! files sort and `grep` well. The line bytes are kept exactly as the child wrote them (they
//! may be non-UTF-8, and a trailing `\r` stays), minus the `\n` that ends the record.

use std::borrow::Cow;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// Which pipe of the child a line came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Stream {
    /// Standard output.
    Out,
    /// Standard error.
    Err,
}

impl Stream {
    /// The tag written in a record: `out` or `err`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Stream::Out => "out",
            Stream::Err => "err",
        }
    }

    fn from_tag(tag: &[u8]) -> Option<Stream> {
        match tag {
            b"out" => Some(Stream::Out),
            b"err" => Some(Stream::Err),
            _ => None,
        }
    }
}

impl std::fmt::Display for Stream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One line of a service's output, with when it was read and from which pipe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Record {
    /// The service that wrote the line.
    pub(crate) service: String,
    /// When the supervisor read the line (microsecond precision once stored).
    pub(crate) time: SystemTime,
    /// The pipe the line came from.
    pub(crate) stream: Stream,
    /// The raw line, without its `\n`.
    pub(crate) line: Vec<u8>,
}

impl Record {
    /// Parses one record line (without its '\n'); None when it is not a record.
    ///
    /// A record of an empty line is `<timestamp> <stream> ` with a trailing space; the form
    /// without that space (as an editor that trims lines would leave it) is accepted too.
    pub(crate) fn parse(service: &str, line: &[u8]) -> Option<Record> {
        let (stamp, rest) = split_at_space(line)?;
        let time = humantime::parse_rfc3339(std::str::from_utf8(stamp).ok()?).ok()?;
        let (tag, text) = split_at_space(rest).unwrap_or((rest, &[]));
        Some(Record { service: service.to_string(), time, stream: Stream::from_tag(tag)?, line: text.to_vec() })
    }

    /// The line bytes as text (lossy UTF-8).
    pub(crate) fn text(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.line)
    }
}

/// Splits at the first space, dropping it.
fn split_at_space(bytes: &[u8]) -> Option<(&[u8], &[u8])> {
    let at = bytes.iter().position(|&b| b == b' ')?;
    Some((&bytes[..at], &bytes[at + 1..]))
}

/// Appends one full record, including its `\n`, to `buf`.
pub(crate) fn format_record(buf: &mut Vec<u8>, time: SystemTime, stream: Stream, line: &[u8]) {
    push_record(buf, &record_prefix(time, stream), line);
}

/// The `<timestamp> <stream> ` prefix of a record. The pump formats it once per read, as all
/// the lines of one read share their time.
pub(crate) fn record_prefix(time: SystemTime, stream: Stream) -> Vec<u8> {
    // `format!` would panic if the timestamp's Display failed; it only fails outside
    // 1970..=9999, which `clamp` rules out (a clock set before 1970 must not crash the pump).
    format!("{} {} ", humantime::format_rfc3339_micros(clamp(time)), stream.as_str()).into_bytes()
}

/// Appends `prefix`, `line` and the terminating `\n`.
pub(crate) fn push_record(buf: &mut Vec<u8>, prefix: &[u8], line: &[u8]) {
    buf.reserve(prefix.len() + line.len() + 1);
    buf.extend_from_slice(prefix);
    buf.extend_from_slice(line);
    buf.push(b'\n');
}

/// Brings a time into the range an RFC 3339 timestamp can show (years 1970 to 9999).
fn clamp(time: SystemTime) -> SystemTime {
    const LAST_SECOND_OF_9999: u64 = 253_402_300_799;
    let latest = UNIX_EPOCH + Duration::new(LAST_SECOND_OF_9999, 999_999_999);
    time.clamp(UNIX_EPOCH, latest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at_micros(micros: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_micros(micros)
    }

    fn round_trip(stream: Stream, line: &[u8]) -> Record {
        let mut buf = Vec::new();
        format_record(&mut buf, at_micros(1_795_592_529_123_456), stream, line);
        assert_eq!(buf.last(), Some(&b'\n'));
        Record::parse("web", &buf[..buf.len() - 1]).expect("a record")
    }

    #[test]
    fn the_format_is_timestamp_stream_line() {
        let mut buf = Vec::new();
        format_record(&mut buf, at_micros(1_795_592_529_123_456), Stream::Err, b"boom");
        assert_eq!(buf, b"2026-11-25T07:42:09.123456Z err boom\n");
    }

    #[test]
    fn round_trip_keeps_spaces_and_time() {
        let record = round_trip(Stream::Out, b"GET /  200  12ms ");
        assert_eq!(record.service, "web");
        assert_eq!(record.time, at_micros(1_795_592_529_123_456));
        assert_eq!(record.stream, Stream::Out);
        assert_eq!(record.line, b"GET /  200  12ms ");
    }

    #[test]
    fn round_trip_keeps_non_utf8_bytes_and_cr() {
        let raw = b"caf\xe9 \xff\xfe\r";
        let record = round_trip(Stream::Err, raw);
        assert_eq!(record.line, raw);
        assert_eq!(record.text(), "caf\u{fffd} \u{fffd}\u{fffd}\r");
    }

    #[test]
    fn an_empty_line_round_trips_and_a_trimmed_one_parses() {
        assert_eq!(round_trip(Stream::Out, b"").line, b"");
        let trimmed = Record::parse("web", b"2026-11-25T07:42:09.123456Z out").unwrap();
        assert_eq!(trimmed.line, b"");
    }

    #[test]
    fn whole_seconds_are_printed_with_six_digits() {
        let mut buf = Vec::new();
        format_record(&mut buf, at_micros(1_795_592_529_000_000), Stream::Out, b"x");
        assert_eq!(buf, b"2026-11-25T07:42:09.000000Z out x\n");
    }

    #[test]
    fn times_outside_the_printable_range_are_clamped() {
        let mut buf = Vec::new();
        format_record(&mut buf, UNIX_EPOCH - Duration::from_secs(5), Stream::Out, b"x");
        assert_eq!(buf, b"1970-01-01T00:00:00.000000Z out x\n");
    }

    #[test]
    fn other_lines_are_not_records() {
        for line in [
            &b""[..],
            b"hello world",
            b"2026-11-25T07:42:09.123456Z",
            b"2026-11-25T07:42:09.123456Z bad line",
            b"2026-13-25T07:42:09.123456Z out x",
            b"\xff\xfe out x",
        ] {
            assert_eq!(Record::parse("web", line), None, "{line:?}");
        }
    }

    #[test]
    fn stream_serializes_lowercase() {
        assert_eq!(serde_json::to_string(&Stream::Err).unwrap(), "\"err\"");
        let back: Stream = serde_json::from_str("\"out\"").unwrap();
        assert_eq!(back, Stream::Out);
    }
}
