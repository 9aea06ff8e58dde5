//! What `up`, `start`, `restart`, `stop` and `down` show while they wait: on a terminal, one
//! spinner line per service (indicatif) that says what it waits for (`web  starting, waiting
//! for http …/health: 404 Not Found`) and turns into `✓ web  ready in 312ms`; elsewhere, plain
//! lines once services settle. Services the request did not touch read `= db  running
//! (unchanged)`. It renders the client's [`Notice`]s and [`Report`]; it decides nothing.

use std::collections::HashMap;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::client::Notice;
use crate::client::follow::{Expect, Report};
use crate::ipc::Event;
use crate::model::Phase;
use crate::render;
use crate::terminal::{self, Tone, paint};

pub(crate) struct Progress {
    /// One JSON object per line on stdout instead (`up --json`).
    json: bool,
    multi: Option<MultiProgress>,
    bars: HashMap<String, ProgressBar>,
    width: usize,
    /// Colour on stdout, where the outcomes go.
    color: bool,
    /// The services asked for, and what they are measured against: for a stop of some, the
    /// others it takes in are named first.
    requested: Vec<String>,
    expect: Expect,
}

impl Progress {
    /// `requested`: the services asked for, which align the columns.
    pub(crate) fn new(requested: &[String], expect: Expect) -> Self {
        // Spinners need a terminal to redraw on; colour is another matter (NO_COLOR).
        let spinners = std::io::IsTerminal::is_terminal(&std::io::stderr());
        let multi = spinners.then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        let width = requested.iter().map(String::len).max().unwrap_or(0);
        Self {
            json: false,
            multi,
            bars: HashMap::new(),
            width,
            color: terminal::stdout_color(),
            requested: requested.to_vec(),
            expect,
        }
    }

    /// Columns as wide as these names (all the manifest's, for `up`).
    pub(crate) fn aligned_to(mut self, names: &[String]) -> Self {
        self.width = names.iter().map(String::len).fold(self.width, usize::max);
        self
    }

    /// Events and outcomes as JSON lines: `{"event":"ready","service":"web"}` for each change,
    /// then `{"event":"done","ok":true,"outcomes":[…]}`.
    pub(crate) fn json(expect: Expect) -> Self {
        let mut progress = Self::new(&[], expect);
        progress.json = true;
        progress.multi = None;
        progress.color = false;
        progress
    }

    pub(crate) fn notice(&mut self, notice: Notice) {
        match notice {
            Notice::Note(note) => eprintln!("orch: {note}"),
            Notice::Targets(targets) => self.targets(targets),
            Notice::Event(event) => self.event(event),
        }
    }

    /// The services the request takes in; for a stop, those not asked for are named first:
    /// `also stopping: api, worker`.
    fn targets(&mut self, targets: &[String]) {
        self.width = targets.iter().map(String::len).fold(self.width, usize::max);
        // A replica of a group asked for (`stop web` stops `web.1`) was asked for too.
        let asked = |t: &String| {
            self.requested.contains(t)
                || crate::model::names::group_of(t).is_some_and(|group| self.requested.iter().any(|r| r == group))
        };
        let also: Vec<&str> = targets.iter().filter(|t| !asked(t)).map(String::as_str).collect();
        if self.json || self.requested.is_empty() || also.is_empty() || self.expect != Expect::Stopped {
            return;
        }
        println!("also stopping: {} (they depend on {})", also.join(", "), self.requested.join(", "));
    }

    fn event(&mut self, event: &Event) {
        if self.json {
            let line = serde_json::json!({
                "event": event.phase, "service": event.service, "reason": event.reason, "waiting": event.waiting,
            });
            println!("{line}");
            return;
        }
        self.width = self.width.max(event.service.len());
        let Some(multi) = &self.multi else { return };
        let width = self.width;
        let bar = self.bars.entry(event.service.clone()).or_insert_with(|| {
            let bar = multi.add(ProgressBar::new_spinner());
            bar.set_style(
                ProgressStyle::with_template("{spinner} {wide_msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(80));
            bar
        });
        bar.set_message(format!("{:<width$}  {}", event.service, doing(event)));
    }

    /// Clears the spinners and prints the outcome of every service (the failures with their
    /// last log lines) on stdout.
    pub(crate) fn done(&mut self, report: &Report) {
        self.clear();
        if self.json {
            println!("{}", serde_json::json!({ "event": "done", "ok": report.ok(), "outcomes": report.outcomes }));
            return;
        }
        print!("{}", render::outcomes(report, self.width, self.color));
    }

    /// The request stopped waiting (a timeout, Ctrl-C): every service that had not settled, and
    /// what it was waiting for.
    pub(crate) fn unsettled(&mut self, waiting: &[Event]) {
        self.clear();
        if self.json {
            println!("{}", serde_json::json!({ "event": "timeout", "ok": false, "waiting": waiting }));
            return;
        }
        let width = self.width;
        for event in waiting {
            let mark = paint("…", Tone::Busy, self.color);
            println!("{mark} {:<width$}  {}", event.service, doing(event));
        }
    }

    fn clear(&mut self) {
        for (_, bar) in self.bars.drain() {
            bar.finish_and_clear();
        }
        if let Some(multi) = &self.multi {
            let _ = multi.clear();
        }
    }
}

/// What a service is doing, for a spinner: `starting, waiting for tcp 127.0.0.1:5432`.
fn doing(event: &Event) -> String {
    match (event.phase, &event.reason, &event.waiting) {
        (Phase::Pending, _, Some(waiting)) => format!("waiting for {waiting}"),
        (Phase::Backoff, Some(reason), _) => format!("{reason}; restarting"),
        (phase, _, Some(waiting)) => format!("{}, waiting for {waiting}", phase.as_str()),
        (phase, Some(reason), None) if phase.is_failure() => format!("{}: {reason}", phase.as_str()),
        (phase, _, None) => phase.as_str().to_owned(),
    }
}
