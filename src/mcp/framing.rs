//! The lines of `orch mcp`'s stdin, checked before rmcp sees them. rmcp drops a line that is
//! not JSON, or longer than its limit, in silence, so a client waits for an answer that never
//! comes. Here every line gets the answer JSON-RPC 2.0 names: -32700 (parse error) for bytes
//! that are not UTF-8 or not JSON, -32600 (invalid request) for JSON that is not a JSON-RPC 2.0
//! message or a line longer than [`MAX_LINE`], -32602 (invalid params) for a request whose
//! parameters do not fit its method; with the message's `id` when it has a usable one, else
//! `null`. A line is never echoed back. Only what passes reaches rmcp, and everything written
//! to stdout, rmcp's messages and these errors alike, goes out one whole line at a time.

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

/// The longest line read: a message longer than this is answered with -32600, unread.
pub(crate) const MAX_LINE: usize = 4 * 1024 * 1024;

const PARSE_ERROR: i64 = -32700;
const INVALID_REQUEST: i64 = -32600;
const INVALID_PARAMS: i64 = -32602;

/// What one line of input is.
#[derive(Debug, PartialEq)]
pub(crate) enum Frame {
    Line(Vec<u8>),
    /// A line longer than [`MAX_LINE`], dropped as it came in; how long it was.
    TooLong(usize),
}

/// Cuts a byte stream into lines of at most [`MAX_LINE`] bytes, without ever holding more.
#[derive(Debug, Default)]
pub(crate) struct Framer {
    partial: Vec<u8>,
    /// The length so far of a line being dropped for its size.
    dropping: Option<usize>,
}

impl Framer {
    pub(crate) fn push(&mut self, mut chunk: &[u8], out: &mut Vec<Frame>) {
        while !chunk.is_empty() {
            let end = chunk.iter().position(|&b| b == b'\n');
            let (piece, rest) = match end {
                Some(at) => (&chunk[..at], &chunk[at + 1..]),
                None => (chunk, &[][..]),
            };
            chunk = rest;
            match &mut self.dropping {
                Some(len) => *len += piece.len(),
                None if self.partial.len() + piece.len() > MAX_LINE => {
                    self.dropping = Some(self.partial.len() + piece.len());
                    self.partial = Vec::new();
                }
                None => self.partial.extend_from_slice(piece),
            }
            if end.is_some() {
                out.push(self.take());
            }
        }
    }

    /// At the end of the input: an unterminated last line, if any.
    pub(crate) fn finish(&mut self) -> Option<Frame> {
        (self.dropping.is_some() || !self.partial.is_empty()).then(|| self.take())
    }

    fn take(&mut self) -> Frame {
        match self.dropping.take() {
            Some(len) => Frame::TooLong(len),
            None => Frame::Line(std::mem::take(&mut self.partial)),
        }
    }
}

/// What to do with a line: hand it to rmcp, answer it with an error, or skip it (blank).
#[derive(Debug, PartialEq)]
pub(crate) enum Verdict {
    Pass,
    Answer(Value),
    Skip,
}

pub(crate) fn judge(frame: &Frame) -> Verdict {
    let line = match frame {
        Frame::TooLong(len) => {
            let message = format!(
                "Invalid Request: the message is {len} bytes long, more than the {MAX_LINE} bytes (4 MiB) orch mcp \
                 reads in one line; it was not read"
            );
            return Verdict::Answer(error(Value::Null, INVALID_REQUEST, message));
        }
        Frame::Line(line) => line.strip_suffix(b"\r").unwrap_or(line),
    };
    let line = line.strip_prefix(b"\xef\xbb\xbf").unwrap_or(line);
    if line.iter().all(u8::is_ascii_whitespace) {
        return Verdict::Skip;
    }
    let Ok(text) = std::str::from_utf8(line) else {
        return Verdict::Answer(error(Value::Null, PARSE_ERROR, "Parse error: the message is not UTF-8".into()));
    };
    let value: Value = match serde_json::from_str(text) {
        Ok(value) => value,
        Err(e) => return Verdict::Answer(error(Value::Null, PARSE_ERROR, format!("Parse error: not JSON ({e})"))),
    };
    match check_message(&value) {
        Ok(()) => Verdict::Pass,
        Err((id, code, message)) => Verdict::Answer(error(id, code, message)),
    }
}

/// A JSON-RPC 2.0 request, notification or response, as rmcp can read it; else the error, with
/// the id to answer to.
fn check_message(value: &Value) -> Result<(), (Value, i64, String)> {
    let invalid = |id: &Value, why: &str| Err((id.clone(), INVALID_REQUEST, format!("Invalid Request: {why}")));
    let object = match value {
        Value::Object(object) => object,
        Value::Array(_) => {
            return invalid(&Value::Null, "a batch (a JSON array) is not supported; send one message a line");
        }
        _ => return invalid(&Value::Null, "a message is a JSON object"),
    };
    let id = match object.get("id") {
        None => Value::Null,
        Some(id @ (Value::String(_) | Value::Number(_))) => id.clone(),
        Some(_) => return invalid(&Value::Null, "`id` must be a string or a number"),
    };
    if object.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return invalid(&id, "`jsonrpc` must be \"2.0\"");
    }
    match object.get("method") {
        Some(Value::String(method)) if object.contains_key("id") => {
            // Parameters rmcp cannot read are answered here, with the request's id (rmcp would
            // answer "invalid request" with a null one).
            let params = |why: &str| Err((id.clone(), INVALID_PARAMS, format!("Invalid params for `{method}`: {why}")));
            if object.get("params").is_some_and(|p| !p.is_object()) {
                return params("`params` must be an object (MCP names each parameter)");
            }
            match serde_json::from_value::<rmcp::model::JsonRpcRequest<rmcp::model::ClientRequest>>(value.clone()) {
                Ok(_) => Ok(()),
                Err(_) => params("they do not fit what the method takes"),
            }
        }
        Some(Value::String(_)) => Ok(()),
        Some(_) => invalid(&id, "`method` must be a string"),
        None if object.contains_key("id") && (object.contains_key("result") || object.contains_key("error")) => Ok(()),
        None => invalid(&id, "a message needs a `method` (or, as a response, an `id` and a `result` or an `error`)"),
    }
}

fn error(id: Value, code: i64, message: String) -> Value {
    json!({ "jsonrpc": "2.0", "id": id, "error": { "code": code, "message": message } })
}

/// Reads `input` line by line: what passes goes on to `rmcp` (one line each), what does not is
/// answered through `answers`. Returns at the end of the input, which closes rmcp's.
pub(crate) async fn read_input(
    mut input: impl AsyncRead + Unpin,
    mut rmcp: impl AsyncWrite + Unpin,
    answers: UnboundedSender<Vec<u8>>,
) {
    let mut framer = Framer::default();
    let mut buf = vec![0u8; 64 * 1024];
    let mut frames = Vec::new();
    loop {
        let n = input.read(&mut buf).await.unwrap_or(0);
        if n == 0 {
            frames.extend(framer.finish());
        } else {
            framer.push(&buf[..n], &mut frames);
        }
        for frame in frames.drain(..) {
            let verdict = judge(&frame);
            match (verdict, frame) {
                (Verdict::Pass, Frame::Line(mut line)) => {
                    line.push(b'\n');
                    if rmcp.write_all(&line).await.is_err() {
                        return;
                    }
                }
                (Verdict::Answer(error), _) => {
                    let mut line = error.to_string().into_bytes();
                    line.push(b'\n');
                    let _ = answers.send(line);
                }
                _ => {}
            }
        }
        if n == 0 {
            return;
        }
    }
}

/// Writes rmcp's lines and the errors to `output`, whole lines only, until both have ended.
pub(crate) async fn write_output(
    rmcp: impl AsyncRead + Unpin,
    mut answers: UnboundedReceiver<Vec<u8>>,
    mut output: impl AsyncWrite + Unpin,
) {
    let mut rmcp = BufReader::new(rmcp);
    let mut line = Vec::new();
    let (mut rmcp_open, mut answers_open) = (true, true);
    while rmcp_open || answers_open {
        let next = tokio::select! {
            read = rmcp.read_until(b'\n', &mut line), if rmcp_open => match read {
                Ok(0) | Err(_) => { rmcp_open = false; None }
                Ok(_) => Some(std::mem::take(&mut line)),
            },
            answer = answers.recv(), if answers_open => match answer {
                None => { answers_open = false; None }
                some => some,
            },
        };
        if let Some(bytes) = next
            && (output.write_all(&bytes).await.is_err() || output.flush().await.is_err())
        {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(chunks: &[&[u8]]) -> Vec<Frame> {
        let mut framer = Framer::default();
        let mut out = Vec::new();
        for chunk in chunks {
            framer.push(chunk, &mut out);
        }
        out.extend(framer.finish());
        out
    }

    fn code_and_id(line: &[u8]) -> (i64, Value) {
        match judge(&Frame::Line(line.to_vec())) {
            Verdict::Answer(e) => (e["error"]["code"].as_i64().unwrap(), e["id"].clone()),
            other => panic!("{:?} was not answered: {other:?}", String::from_utf8_lossy(line)),
        }
    }

    #[test]
    fn lines_are_cut_and_an_oversized_one_is_dropped_as_it_comes() {
        let big = vec![b'x'; MAX_LINE + 10];
        let got = frames(&[b"a\nb", b"c\n", &big[..MAX_LINE], &big[MAX_LINE..], b"\nlast"]);
        assert_eq!(
            got,
            [
                Frame::Line(b"a".to_vec()),
                Frame::Line(b"bc".to_vec()),
                Frame::TooLong(MAX_LINE + 10),
                Frame::Line(b"last".to_vec())
            ]
        );
        let exact = vec![b'y'; MAX_LINE];
        assert_eq!(frames(&[&exact, b"\n"]), [Frame::Line(exact)]);
    }

    #[test]
    fn each_malformed_line_gets_the_error_the_spec_names() {
        assert_eq!(code_and_id(b"\xff\xfe{}"), (PARSE_ERROR, Value::Null));
        assert_eq!(code_and_id(b"{\"jsonrpc\": \"2.0\", "), (PARSE_ERROR, Value::Null));
        assert_eq!(code_and_id(b"[1, 2]"), (INVALID_REQUEST, Value::Null));
        assert_eq!(code_and_id(b"42"), (INVALID_REQUEST, Value::Null));
        assert_eq!(code_and_id(br#"{"id": 7, "method": "ping"}"#), (INVALID_REQUEST, json!(7)));
        assert_eq!(code_and_id(br#"{"jsonrpc": "1.0", "id": "a", "method": "ping"}"#), (INVALID_REQUEST, json!("a")));
        assert_eq!(code_and_id(br#"{"jsonrpc": "2.0", "id": true, "method": "ping"}"#), (INVALID_REQUEST, Value::Null));
        assert_eq!(code_and_id(br#"{"jsonrpc": "2.0", "id": 3, "method": 5}"#), (INVALID_REQUEST, json!(3)));
        assert_eq!(code_and_id(br#"{"jsonrpc": "2.0", "id": 3}"#), (INVALID_REQUEST, json!(3)));
        let bad_params = br#"{"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": "x"}"#;
        assert_eq!(code_and_id(bad_params), (INVALID_PARAMS, json!(9)));
        match judge(&Frame::TooLong(MAX_LINE + 1)) {
            Verdict::Answer(e) => {
                assert_eq!((e["error"]["code"].as_i64(), e["id"].clone()), (Some(INVALID_REQUEST), Value::Null));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn good_messages_and_blank_lines_pass() {
        for line in [
            &br#"{"jsonrpc": "2.0", "id": 1, "method": "ping"}"#[..],
            br#"{"jsonrpc": "2.0", "method": "notifications/initialized"}"#,
            br#"{"jsonrpc": "2.0", "id": 1, "result": {}}"#,
            b"\xef\xbb\xbf{\"jsonrpc\": \"2.0\", \"id\": 2, \"method\": \"tools/list\"}\r",
        ] {
            assert_eq!(judge(&Frame::Line(line.to_vec())), Verdict::Pass, "{}", String::from_utf8_lossy(line));
        }
        assert_eq!(judge(&Frame::Line(b"  \r".to_vec())), Verdict::Skip);
    }
}
