//! The words of the overlays: a service's details (`enter`) and the dependency tree (`d`),
//! from the supervisor's row and the manifest's resolved configuration.

use super::app::App;
use crate::manifest::Condition;
use crate::secrets::looks_secret;

/// The selected service: what it runs, where, with what (secrets masked by their names), its
/// checks with their last result, and its last exit.
pub(crate) fn details(app: &App) -> Vec<String> {
    let Some(row) = app.rows.get(app.selected) else { return vec!["no service selected".to_owned()] };
    let config = app.configs.get(&row.name);
    let mut lines = vec![format!("{}  {}", row.name, row.state)];
    // As written: a string as the shell reads it, an array word by word.
    let command = config
        .map(|c| match &c.cmd {
            crate::manifest::CommandLine::Shell(script) => script.clone(),
            crate::manifest::CommandLine::Argv(words) => format!("{words:?}"),
        })
        .or_else(|| row.command.clone());
    lines.push(format!("command   {}", command.unwrap_or_else(|| "-".into())));
    if let Some(config) = config {
        lines.push(format!("cwd       {}", config.cwd.display()));
    }
    if let Some(pid) = row.pid {
        lines.push(format!("pid       {pid}"));
    }
    let ready = match (&row.ready_check, row.ready_after_ms, &row.waiting) {
        (Some(check), Some(ms), _) => format!("{check}: passed in {}", crate::render::human_ms(ms)),
        (Some(check), None, Some(waiting)) => format!("{check}: waiting for {waiting}"),
        (Some(check), None, None) => check.clone(),
        (None, ..) => "none".to_owned(),
    };
    lines.push(format!("ready     {ready}"));
    if let Some(health) = config.and_then(|c| c.healthcheck.as_ref()) {
        let state = row.health.as_deref().unwrap_or("not checked yet");
        lines.push(format!("health    {} every {}: {state}", health.check(), health.interval));
    }
    if let Some(reason) = &row.reason {
        lines.push(format!("why       {reason}"));
    }
    lines.push(format!("last exit {}", row.last_exit.as_deref().unwrap_or("-")));
    if let Some(config) = config.filter(|c| !c.env.is_empty()) {
        lines.push("env".to_owned());
        for (key, value) in &config.env {
            let shown = if looks_secret(key) { "••••••" } else { value.as_str() };
            lines.push(format!("  {key}={shown}"));
        }
    }
    lines.iter().map(|l| crate::sanitize::strip_controls(l)).collect()
}

/// Each service, and under it what it waits for and how: `└─ db (ready, restarts with it)`.
pub(crate) fn tree(app: &App) -> Vec<String> {
    let mut lines = Vec::new();
    for row in &app.rows {
        lines.push(format!("{}  {}", row.name, row.state));
        let Some(config) = app.configs.get(&row.name) else { continue };
        let count = config.depends_on.len();
        for (index, (name, dependency)) in config.depends_on.iter().enumerate() {
            let branch = if index + 1 == count { "└─" } else { "├─" };
            let condition = match dependency.condition {
                Condition::Started => "started",
                Condition::Ready => "ready",
                Condition::Completed => "completed",
            };
            let restarts = if dependency.restart { ", restarts with it" } else { "" };
            let state = app.rows.iter().find(|r| &r.name == name).map_or("", |r| r.state.as_str());
            lines.push(format!("  {branch} {name} ({condition}{restarts}): {state}"));
        }
    }
    if lines.is_empty() {
        lines.push("no services".to_owned());
    }
    lines
}
