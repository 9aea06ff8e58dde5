//! What `up`, `start`, `restart`, `stop` and `down` show while they wait: on a terminal, one
//! spinner line per service (indicatif) that says what it waits for (`web  starting, waiting
//! for http …/health: 404 Not Found`) and turns into `✓ web  ready in 312ms`; elsewhere, plain
//! lines once services settle. Services the request did not touch read `= db  running
//! (unchanged)`.

use std::collections::HashMap;
use std::time::Duration;

use indexmap::IndexMap;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::ipc::{Event, Outcome};
use crate::model::Phase;
use crate::render::{self, Tone, paint};

/// What a request's outcome is measured against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Expect {
    /// Every service ready, running or completed.
    Up,
    /// Every service taken (`--no-wait`): anything but a failure.
    Accepted,
    /// Every service stopped.
    Stopped,
}

impl Expect {
    pub(crate) fn met_by(self, outcome: &Outcome) -> bool {
        match self {
            Expect::Up => outcome.succeeded(),
            Expect::Accepted => !outcome.phase.is_failure(),
            Expect::Stopped => outcome.phase == Phase::Stopped,
        }
    }
}

pub(crate) struct Progress {
    /// One JSON object per line on stdout instead (`up --json`).
    json: bool,
    multi: Option<MultiProgress>,
    bars: HashMap<String, ProgressBar>,
    width: usize,
    /// Colour on stdout, where the outcomes go.
    color: bool,
    /// The last event of each service, for what a timeout or Ctrl-C leaves waiting.
    last: IndexMap<String, Event>,
}

impl Progress {
    /// `names`: the services expected, to align the columns.
    pub(crate) fn new<'a>(names: impl IntoIterator<Item = &'a String>) -> Self {
        // Spinners need a terminal to redraw on; colour is another matter (NO_COLOR).
        let spinners = std::io::IsTerminal::is_terminal(&std::io::stderr());
        let multi = spinners.then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        let width = names.into_iter().map(String::len).max().unwrap_or(0);
        Self { json: false, multi, bars: HashMap::new(), width, color: render::stdout_color(), last: IndexMap::new() }
    }

    /// Events and outcomes as JSON lines: `{"event":"ready","service":"web"}` for each change,
    /// then `{"event":"done","ok":true,"outcomes":[…]}`.
    pub(crate) fn json() -> Self {
        Self { json: true, multi: None, bars: HashMap::new(), width: 0, color: false, last: IndexMap::new() }
    }

    /// The services the request takes in; for a stop, those not asked for are named first:
    /// `also stopping: api, worker`.
    pub(crate) fn targets(&mut self, requested: &[String], targets: &[String], expect: Expect) {
        self.width = targets.iter().map(String::len).fold(self.width, usize::max);
        let also: Vec<&str> = targets.iter().filter(|t| !requested.contains(t)).map(String::as_str).collect();
        if self.json || requested.is_empty() || also.is_empty() || expect != Expect::Stopped {
            return;
        }
        println!("also stopping: {} (they depend on {})", also.join(", "), requested.join(", "));
    }

    pub(crate) fn event(&mut self, event: &Event) {
        self.last.insert(event.service.clone(), event.clone());
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
    /// last log lines) on stdout; true when all met what was expected.
    pub(crate) fn done(&mut self, outcomes: &[Outcome], expect: Expect) -> bool {
        self.clear();
        let ok = outcomes.iter().all(|o| expect.met_by(o));
        if self.json {
            println!("{}", serde_json::json!({ "event": "done", "ok": ok, "outcomes": outcomes }));
            return ok;
        }
        for outcome in outcomes {
            println!("{}", self.line(outcome, expect.met_by(outcome)));
            for line in &outcome.last_lines {
                println!("    | {line}");
            }
        }
        ok
    }

    /// The request stopped waiting (a timeout, Ctrl-C): every service that had not settled, and
    /// what it was waiting for. Returns their names.
    pub(crate) fn unsettled(&mut self) -> Vec<String> {
        self.clear();
        let waiting: Vec<&Event> =
            self.last.values().filter(|e| e.phase.is_transient() || e.waiting.is_some()).collect();
        let names = waiting.iter().map(|e| e.service.clone()).collect();
        if self.json {
            println!("{}", serde_json::json!({ "event": "timeout", "ok": false, "waiting": waiting }));
            return names;
        }
        let width = self.width;
        for event in waiting {
            let mark = paint("…", Tone::Busy, self.color);
            println!("{mark} {:<width$}  {}", event.service, doing(event));
        }
        names
    }

    fn clear(&mut self) {
        for (_, bar) in self.bars.drain() {
            bar.finish_and_clear();
        }
        if let Some(multi) = &self.multi {
            let _ = multi.clear();
        }
    }

    fn line(&self, outcome: &Outcome, success: bool) -> String {
        let width = self.width;
        let name = &outcome.service;
        if outcome.unchanged {
            let mark = paint("=", Tone::Quiet, self.color);
            return format!("{mark} {name:<width$}  {} (unchanged)", outcome.phase.as_str());
        }
        let (mark, tone) = if success { ("✓", Tone::Good) } else { ("✗", Tone::Bad) };
        let what = paint(&describe(outcome), render::phase_tone(outcome.phase), self.color);
        format!("{} {name:<width$}  {what}", paint(mark, tone, self.color))
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

/// `ready in 312ms`, `running`, `completed in 20ms`, `exited with 1`, `blocked: db failed`.
pub(crate) fn describe(outcome: &Outcome) -> String {
    let took = |what: &str| match outcome.elapsed_ms {
        Some(ms) => format!("{what} in {}", human_ms(ms)),
        None => what.to_owned(),
    };
    match (outcome.phase, &outcome.reason) {
        (Phase::Ready, _) => took("ready"),
        (Phase::Completed, _) => took("completed"),
        (Phase::Running, _) => "running".to_owned(),
        (Phase::Stopped, Some(reason)) => format!("stopped: {reason}"),
        (Phase::Stopped, None) => "stopped".to_owned(),
        (Phase::Failed, Some(reason)) => reason.clone(),
        (phase, Some(reason)) => format!("{}: {reason}", phase.as_str()),
        (phase, None) => phase.as_str().to_owned(),
    }
}

pub(crate) fn human_ms(ms: u64) -> String {
    if ms < 1000 { format!("{ms}ms") } else { format!("{:.1}s", ms as f64 / 1000.0) }
}
