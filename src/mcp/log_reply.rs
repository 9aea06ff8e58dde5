//! A `logs` answer an agent can afford: the newest lines that fit a byte budget, oldest first,
//! as text (`service | line` when several services are shown) and as structured lines, and a
//! note saying what was cut. The budget holds for the whole answer: each line is counted in
//! both forms, so a reply stays near `max_bytes` however long the log is.

use serde_json::{Value, json};

use crate::logs::Record;

/// Bytes a line costs in the structured form beyond its text and service: the keys, the
/// timestamp, the stream and JSON's punctuation.
const STRUCTURED_OVERHEAD: usize = 80;
/// A single line longer than this is cut to it (with a mark), so that one huge line does not
/// leave the answer empty.
const LINE_MARK: &str = " …[line cut]";

/// What a `logs` call answers.
#[derive(Debug)]
pub(crate) struct LogReply {
    pub(crate) text: String,
    pub(crate) lines: Vec<Value>,
    /// Lines left out (the oldest) to keep to the budget.
    pub(crate) omitted: usize,
    /// Lines shortened because one alone was over the budget.
    pub(crate) shortened: usize,
}

impl LogReply {
    pub(crate) fn truncated(&self) -> bool {
        self.omitted > 0 || self.shortened > 0
    }

    /// The note that says what was cut, for a block of its own after the lines.
    pub(crate) fn cut_note(&self, max_bytes: usize) -> Option<String> {
        self.truncated().then(|| {
            let mut note = format!("(cut to keep to max_bytes = {max_bytes}: ");
            if self.omitted > 0 {
                note.push_str(&format!("{} older lines left out", self.omitted));
            }
            if self.shortened > 0 {
                let sep = if self.omitted > 0 { "; " } else { "" };
                note.push_str(&format!("{sep}{} over-long lines shortened", self.shortened));
            }
            note.push_str("; narrow it with `grep`, `since` or `tail`, or raise `max_bytes`)");
            note
        })
    }
}

/// The newest of `records` that fit `max_bytes`, with the service before each line when
/// `prefixed`.
pub(crate) fn reply(records: &[Record], prefixed: bool, max_bytes: usize) -> LogReply {
    let width = if prefixed { records.iter().map(|r| r.service.len()).max().unwrap_or(0) } else { 0 };
    let mut kept: Vec<(&Record, String)> = Vec::new();
    let mut used = 0;
    let mut shortened = 0;
    for record in records.iter().rev() {
        let mut text = record.text().into_owned();
        let cost = |text: &str| 2 * (text.len() + width) + record.service.len() + STRUCTURED_OVERHEAD;
        if cost(&text) > max_bytes && kept.is_empty() {
            // The newest line alone is over the budget: the start of it, marked.
            let room = (max_bytes.saturating_sub(cost("")) / 2).saturating_sub(LINE_MARK.len());
            text = format!("{}{LINE_MARK}", cut_at(&text, room));
            shortened += 1;
        }
        if used + cost(&text) > max_bytes {
            break;
        }
        used += cost(&text);
        kept.push((record, text));
    }
    let omitted = records.len() - kept.len();
    kept.reverse();
    let mut text = String::new();
    let mut lines = Vec::with_capacity(kept.len());
    for (record, line) in kept {
        if prefixed {
            text.push_str(&format!("{:<width$} | ", record.service));
        }
        text.push_str(&line);
        text.push('\n');
        lines.push(json!({
            "service": record.service,
            "stream": record.stream.as_str(),
            "time": humantime::format_rfc3339_micros(record.time).to_string(),
            "text": line,
        }));
    }
    LogReply { text, lines, omitted, shortened }
}

/// The longest start of `text` of at most `bytes` bytes that ends on a character boundary.
fn cut_at(text: &str, bytes: usize) -> &str {
    let mut end = bytes.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::Stream;
    use std::time::SystemTime;

    fn records(n: usize, text: &str) -> Vec<Record> {
        (0..n)
            .map(|i| Record {
                service: "web".into(),
                time: SystemTime::UNIX_EPOCH,
                stream: Stream::Out,
                line: format!("{text} {i}").into_bytes(),
            })
            .collect()
    }

    #[test]
    fn everything_that_fits_is_kept_oldest_first() {
        let got = reply(&records(3, "hello"), false, 64 * 1024);
        assert_eq!(got.text, "hello 0\nhello 1\nhello 2\n");
        assert_eq!((got.omitted, got.shortened, got.lines.len()), (0, 0, 3));
        assert_eq!(got.lines[2]["text"], "hello 2");
        assert_eq!(got.lines[2]["time"], "1970-01-01T00:00:00.000000Z");
        assert!(got.cut_note(64 * 1024).is_none());
        assert_eq!(reply(&records(1, "x"), true, 1000).text, "web | x 0\n");
    }

    #[test]
    fn the_budget_keeps_the_newest_lines_and_says_how_many_went() {
        let all = records(10_000, &"x".repeat(200));
        let got = reply(&all, false, 64 * 1024);
        let whole = got.text.len() + serde_json::to_string(&got.lines).unwrap().len();
        assert!(whole <= 64 * 1024, "the answer is {whole} bytes");
        assert!(got.omitted > 9000 && got.text.ends_with(" 9999\n"), "{}", got.omitted);
        assert_eq!(got.omitted + got.lines.len(), 10_000);
        let note = got.cut_note(64 * 1024).unwrap();
        assert!(note.contains("older lines left out") && note.contains("grep"), "{note}");
    }

    #[test]
    fn one_line_over_the_budget_is_shortened_on_a_character_boundary() {
        let got = reply(&records(2, &"é".repeat(50_000)), false, 1000);
        assert_eq!((got.lines.len(), got.omitted, got.shortened), (1, 1, 1));
        assert!(got.text.ends_with("…[line cut]\n") && got.text.len() < 1000, "{}", got.text.len());
        assert!(got.cut_note(1000).unwrap().contains("1 over-long lines shortened"));
    }
}
