//! What `up`, `start`, `restart`, `stop` and `down` show while they wait: on a terminal, one
//! spinner line per service (indicatif) that turns into `✓ web  ready in 312ms`; elsewhere,
//! plain lines as services settle.

use std::collections::HashMap;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::ipc::{Event, Outcome};
use crate::supervisor::lifecycle::Phase;

/// What a request's outcome is measured against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// Every service ready, running or completed.
    Up,
    /// Every service taken (`--no-wait`): anything but a failure.
    Accepted,
    /// Every service stopped.
    Stopped,
}

pub struct Progress {
    /// One JSON object per line on stdout instead (`up --json`).
    json: bool,
    multi: Option<MultiProgress>,
    bars: HashMap<String, ProgressBar>,
    width: usize,
}

impl Progress {
    /// `names`: the services expected, to align the columns.
    pub fn new<'a>(names: impl IntoIterator<Item = &'a String>) -> Self {
        let tty = crate::render::stderr_color();
        let multi = tty.then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr()));
        let width = names.into_iter().map(String::len).max().unwrap_or(0);
        Self { json: false, multi, bars: HashMap::new(), width }
    }

    /// Events and outcomes as JSON lines: `{"event":"ready","service":"web"}` for each change,
    /// then `{"event":"done","ok":true,"outcomes":[…]}`.
    pub fn json() -> Self {
        Self { json: true, multi: None, bars: HashMap::new(), width: 0 }
    }

    pub fn event(&mut self, event: &Event) {
        if self.json {
            let line = serde_json::json!({ "event": event.phase, "service": event.service, "reason": event.reason });
            println!("{line}");
            return;
        }
        self.width = self.width.max(event.service.len());
        let Some(multi) = &self.multi else { return };
        let width = self.width;
        let bar = self.bars.entry(event.service.clone()).or_insert_with(|| {
            let bar = multi.add(ProgressBar::new_spinner());
            bar.set_style(
                ProgressStyle::with_template("{spinner} {msg}").unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(80));
            bar
        });
        let what = match (&event.reason, event.phase) {
            (Some(reason), Phase::Backoff) => format!("{reason}; restarting"),
            (_, phase) => phase.as_str().to_owned(),
        };
        bar.set_message(format!("{:<width$}  {what}", event.service));
    }

    /// Clears the spinners and prints the outcome of every service (the failures with their
    /// last log lines) on stdout; true when all succeeded.
    pub fn done(&mut self, outcomes: &[Outcome], expect: Expect) -> bool {
        for (_, bar) in self.bars.drain() {
            bar.finish_and_clear();
        }
        if let Some(multi) = &self.multi {
            let _ = multi.clear();
        }
        let mut ok = true;
        if self.json {
            ok = outcomes.iter().all(|o| success(o, expect));
            println!("{}", serde_json::json!({ "event": "done", "ok": ok, "outcomes": outcomes }));
            return ok;
        }
        for outcome in outcomes {
            let success = success(outcome, expect);
            ok &= success;
            println!("{}", self.line(outcome, success));
            self.tail(outcome);
        }
        ok
    }

    fn tail(&self, outcome: &Outcome) {
        for line in &outcome.last_lines {
            println!("    | {line}");
        }
    }

    fn line(&self, outcome: &Outcome, success: bool) -> String {
        let mark = if success { '✓' } else { '✗' };
        let what = describe(outcome);
        format!("{mark} {:<width$}  {what}", outcome.service, width = self.width)
    }
}

fn success(outcome: &Outcome, expect: Expect) -> bool {
    match expect {
        Expect::Up => outcome.succeeded(),
        Expect::Accepted => !outcome.phase.is_failure(),
        Expect::Stopped => outcome.phase == Phase::Stopped,
    }
}

/// `ready in 312ms`, `running`, `completed in 20ms`, `exited with 1`, `blocked: db failed`.
pub fn describe(outcome: &Outcome) -> String {
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

pub fn human_ms(ms: u64) -> String {
    if ms < 1000 { format!("{ms}ms") } else { format!("{:.1}s", ms as f64 / 1000.0) }
}
