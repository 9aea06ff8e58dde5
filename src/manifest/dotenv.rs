//! `.env` files, as foreman, honcho and docker compose read them:
//!
//! - `KEY=value` per line, an optional `export ` in front, spaces around `=` allowed;
//! - blank lines and lines starting with `#` are skipped; in an unquoted value, ` #` starts a
//!   comment and surrounding whitespace is trimmed;
//! - `'single quotes'` are literal (no escapes, no `${VAR}`), and may span lines;
//! - `"double quotes"` understand `\n`, `\r`, `\t`, `\"`, `\\` and `\$`, and may span lines;
//! - `FOO=` is the empty string;
//! - lines end at `\n`, `\r\n` or a lone `\r` (old Mac files), and a UTF-8 byte-order mark at
//!   the start is skipped, as editors write them.
//!
//! A line that is none of these is an error naming its line (foreman skips it silently).

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Entry {
    pub(crate) key: String,
    pub(crate) value: String,
    /// Single-quoted: taken literally, never interpolated.
    pub(crate) literal: bool,
    /// 1-based line of the key.
    pub(crate) line: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Error {
    pub(crate) line: usize,
    pub(crate) message: String,
}

pub(super) fn parse(text: &str) -> Result<Vec<Entry>, Error> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // A lone CR becomes LF: one byte for one, so lines are counted as the file's source
    // counts them; a CR in a value was a line end too, as python-dotenv and dotenv read it.
    let text = lone_cr_as_lf(text);
    let mut parser = Parser { rest: &text, line: 1 };
    let mut entries = Vec::new();
    while !parser.rest.is_empty() {
        if let Some(entry) = parser.entry()? {
            entries.push(entry);
        }
    }
    Ok(entries)
}

fn lone_cr_as_lf(text: &str) -> std::borrow::Cow<'_, str> {
    let bytes = text.as_bytes();
    let lone = |i: usize| bytes[i] == b'\r' && bytes.get(i + 1) != Some(&b'\n');
    if !(0..bytes.len()).any(lone) {
        return text.into();
    }
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for i in (0..bytes.len()).filter(|&i| lone(i)) {
        out.push_str(&text[last..i]);
        out.push('\n');
        last = i + 1;
    }
    out.push_str(&text[last..]);
    out.into()
}

struct Parser<'a> {
    rest: &'a str,
    line: usize,
}

impl<'a> Parser<'a> {
    fn error<T>(&self, message: impl Into<String>) -> Result<T, Error> {
        Err(Error { line: self.line, message: message.into() })
    }

    /// Consumes through the end of the current line.
    fn next_line(&mut self) -> &'a str {
        let (line, rest) = match self.rest.find('\n') {
            Some(i) => (&self.rest[..i], &self.rest[i + 1..]),
            None => (self.rest, ""),
        };
        self.rest = rest;
        self.line += 1;
        line
    }

    fn entry(&mut self) -> Result<Option<Entry>, Error> {
        let trimmed = self.rest.trim_start_matches([' ', '\t']);
        if trimmed.starts_with(['\n', '\r', '#']) || trimmed.is_empty() {
            self.next_line();
            return Ok(None);
        }
        let line = self.line;
        let after_export = trimmed
            .strip_prefix("export")
            .filter(|r| r.starts_with([' ', '\t']))
            .map_or(trimmed, |r| r.trim_start_matches([' ', '\t']));
        let key_len = after_export
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.'))
            .unwrap_or(after_export.len());
        let key = &after_export[..key_len];
        let after_key = after_export[key_len..].trim_start_matches([' ', '\t']);
        let Some(value_text) = after_key.strip_prefix('=') else {
            let shown = self.rest.lines().next().unwrap_or("").trim();
            return self.error(format!("expected KEY=value, found `{shown}`"));
        };
        if key.is_empty() || key.starts_with(|c: char| c.is_ascii_digit()) {
            return self.error(format!("`{key}` is not a variable name"));
        }
        let key = key.to_owned();
        self.rest = value_text.trim_start_matches([' ', '\t']);
        let (value, literal) = match self.rest.chars().next() {
            Some('\'') => (self.quoted('\'')?, true),
            Some('"') => (self.quoted('"')?, false),
            _ => (self.unquoted(), false),
        };
        Ok(Some(Entry { key, value, literal, line }))
    }

    fn unquoted(&mut self) -> String {
        let line = self.next_line().trim_end_matches('\r');
        let value = match line.find(" #").or_else(|| line.find("\t#")) {
            Some(i) => &line[..i],
            None => line,
        };
        value.trim().to_owned()
    }

    /// A quoted value from the opening quote at `self.rest[0]` to its closing quote; what
    /// follows the closing quote on that line may only be whitespace or a comment.
    fn quoted(&mut self, quote: char) -> Result<String, Error> {
        let start_line = self.line;
        let mut value = String::new();
        let mut chars = self.rest[1..].char_indices();
        let mut close = None;
        while let Some((i, c)) = chars.next() {
            match c {
                c if c == quote => {
                    close = Some(i + 2);
                    break;
                }
                '\\' if quote == '"' => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, 'r')) => value.push('\r'),
                    Some((_, 't')) => value.push('\t'),
                    Some((_, e @ ('"' | '\\'))) => value.push(e),
                    // `\$` keeps a literal `$` past interpolation, which reads `$$` as `$`.
                    Some((_, '$')) => value.push_str("$$"),
                    Some((_, other)) => {
                        if other == '\n' {
                            self.line += 1;
                        }
                        value.push('\\');
                        value.push(other);
                    }
                    None => break,
                },
                '\n' => {
                    self.line += 1;
                    value.push('\n');
                }
                // CRLF files: a raw CR before a raw LF is the line ending, not part of the value.
                '\r' if self.rest[1..].get(i + 1..).is_some_and(|r| r.starts_with('\n')) => {}
                c => value.push(c),
            }
        }
        let Some(close) = close else {
            self.line = start_line;
            return self.error(format!("the {quote} quote opened here is never closed"));
        };
        self.rest = &self.rest[close..];
        let tail = self.next_line().trim();
        if !(tail.is_empty() || tail.starts_with('#')) {
            self.line -= 1;
            return self.error(format!("unexpected `{tail}` after the closing {quote} quote"));
        }
        Ok(value)
    }
}
