//! Where the supervisor's words go. orch's own lines (`web: ready in 312ms`, `worker: exited
//! with 1; restarting in 100ms`, `reload: ~ web (env PORT changed)`) are appended to
//! `.orch/logs/orch.log`, where `orch logs` shows them inline as `orch | …` lines among the
//! services'. In the background they also go to the supervisor's own log
//! (`.orch/supervisor.log`, its stderr). In the foreground every service's lines are printed,
//! merged and colour-prefixed as foreman does (`web    | line`), and orch's as `orch | …`.

use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use crate::logs::record::{Stream, format_record};
use crate::logs::writer::LogWriter;
use crate::manifest::LogConfig;
use crate::model::names::RESERVED_NAME;
use crate::paths::ProjectPaths;
use crate::terminal::Speaker;

#[derive(Clone)]
pub(crate) struct Output {
    /// Set when the supervisor runs in the terminal (`up --foreground`).
    foreground: Option<Arc<Foreground>>,
    orch_log: Arc<OrchLog>,
}

pub(crate) struct Foreground {
    color: bool,
    inner: Mutex<Names>,
}

/// The names seen so far: each gets a colour in turn, and the prefix is as wide as the longest.
struct Names {
    width: usize,
    order: Vec<String>,
}

/// `.orch/logs/orch.log`, opened at the first line.
struct OrchLog {
    paths: ProjectPaths,
    writer: Mutex<Option<LogWriter>>,
}

impl Output {
    pub(crate) fn background(paths: &ProjectPaths) -> Self {
        Self { foreground: None, orch_log: OrchLog::new(paths) }
    }

    pub(crate) fn foreground(paths: &ProjectPaths, names: &[String]) -> Self {
        let color = crate::terminal::color(std::io::stdout().is_terminal());
        let width = names.iter().map(String::len).max().unwrap_or(0).max(RESERVED_NAME.len());
        let names = Names { width, order: names.to_vec() };
        let foreground = Foreground { color, inner: Mutex::new(names) };
        Self { foreground: Some(Arc::new(foreground)), orch_log: OrchLog::new(paths) }
    }

    pub(crate) fn is_foreground(&self) -> bool {
        self.foreground.is_some()
    }

    /// A line of a service's output.
    pub(crate) fn line(&self, service: &str, line: &[u8]) {
        if let Some(fg) = &self.foreground {
            fg.print(Some(service), line);
        }
    }

    /// Something orch has to say about a service: `web: ready in 312ms`.
    pub(crate) fn notice(&self, service: &str, text: &str) {
        self.say(&format!("{service}: {text}"));
    }

    /// One of orch's own lines.
    pub(crate) fn say(&self, line: &str) {
        self.orch_log.append(line);
        // A subscriber that follows lines (the TUI, the dashboard) hears orch's too, as
        // `orch.log` has them.
        super::subscribers::line(RESERVED_NAME, crate::logs::Stream::Out, line.as_bytes());
        match &self.foreground {
            Some(fg) => fg.print(None, line.as_bytes()),
            None => {
                let now = humantime::format_rfc3339_millis(SystemTime::now());
                say!("{now} {line}");
            }
        }
    }
}

impl OrchLog {
    fn new(paths: &ProjectPaths) -> Arc<Self> {
        Arc::new(Self { paths: paths.clone(), writer: Mutex::new(None) })
    }

    fn append(&self, line: &str) {
        let mut writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        if writer.is_none() {
            match self.paths.logs_dir().and_then(|dir| LogWriter::open(dir, RESERVED_NAME, LogConfig::default())) {
                Ok(opened) => *writer = Some(opened),
                Err(e) => {
                    say!("orch: cannot open orch's own log in {}: {e}", self.paths.logs().display());
                    return;
                }
            }
        }
        let mut record = Vec::with_capacity(line.len() + 40);
        format_record(&mut record, SystemTime::now(), Stream::Out, line.as_bytes());
        if let Some(writer) = writer.as_mut() {
            let _ = writer.write(&record);
        }
    }
}

impl Foreground {
    /// A service's line (`Some(name)`), or one of orch's own.
    fn print(&self, service: Option<&str>, line: &[u8]) {
        let name = service.unwrap_or(RESERVED_NAME);
        let (width, index) = {
            let mut names = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
            let index = match names.order.iter().position(|n| n == name) {
                Some(i) => i,
                None => {
                    names.order.push(name.to_owned());
                    names.width = names.width.max(name.len());
                    names.order.len() - 1
                }
            };
            (names.width, index)
        };
        let mut out = Vec::with_capacity(line.len() + width + 16);
        let speaker = if service.is_some() { Speaker::Service(index) } else { Speaker::Orch };
        crate::terminal::line_prefix(&mut out, name, width, speaker, self.color);
        out.extend_from_slice(line);
        out.push(b'\n');
        // One write per line, so lines of different services never interleave mid-line.
        let _ = std::io::stdout().lock().write_all(&out);
    }
}
