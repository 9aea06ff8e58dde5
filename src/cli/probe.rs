//! `orch probe tcp HOST:PORT | http URL | exec CMD…`: one of orch's readiness checks on its
//! own, with the same backoff, until it passes or `--timeout` is up. Exports run it where an
//! engine cannot make the check itself (systemd's `ExecStartPost=`, a Nomad prestart task),
//! and it serves scripts and CI as `wait-for-it` does.

use std::time::{Duration, Instant};

use clap::{Args, Subcommand};

use super::ClientError;
use crate::exit::Exit;
use crate::manifest::{CommandLine, HumanDuration, Ready};
use crate::supervisor::probe::{ProbeContext, http_client, wait_until_ready};

#[derive(Debug, Args)]
pub(crate) struct ProbeArgs {
    /// Give up after this long, e.g. 30s or 2m
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = HumanDuration::parse)]
    timeout: HumanDuration,
    #[command(subcommand)]
    check: Check,
}

#[derive(Debug, Subcommand)]
enum Check {
    /// Passes once a TCP connect to HOST:PORT succeeds
    Tcp {
        #[arg(value_name = "HOST:PORT", value_parser = parse_target)]
        target: String,
    },
    /// Passes once a GET of the http:// URL answers 2xx
    Http {
        #[arg(value_name = "URL", value_parser = parse_url)]
        url: String,
    },
    /// Passes once the command exits 0 (one argument with spaces runs under sh -c)
    Exec {
        #[arg(value_name = "CMD", required = true, trailing_var_arg = true, allow_hyphen_values = true)]
        command: Vec<String>,
    },
}

impl Check {
    fn ready(self) -> Ready {
        match self {
            Check::Tcp { target } => Ready::Tcp(target),
            Check::Http { url } => Ready::Http(url),
            Check::Exec { mut command } if command.len() == 1 => Ready::Exec(CommandLine::Shell(command.remove(0))),
            Check::Exec { command } => Ready::Exec(CommandLine::Argv(command)),
        }
    }
}

pub(super) fn run(args: ProbeArgs) -> Result<Exit, ClientError> {
    let check = args.check.ready();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| ClientError::Failed(format!("cannot start: {e}")))?;
    let started = Instant::now();
    let (passed, last) = runtime.block_on(probe(&check, args.timeout.0))?;
    if passed {
        println!("{check}: ready in {}", HumanDuration(round(started.elapsed())));
        return Ok(Exit::Success);
    }
    let saw = last.map(|l| format!(": {l}")).unwrap_or_default();
    eprintln!("orch probe: {check}: not ready after {}{saw}", args.timeout);
    Ok(Exit::ServiceFailed)
}

/// Whether the check passed in time, and what its last failed attempt saw.
async fn probe(check: &Ready, timeout: Duration) -> Result<(bool, Option<String>), ClientError> {
    let os = crate::sys::linux::Linux::start().map_err(|e| ClientError::Failed(format!("cannot start: {e}")))?;
    let ctx = ProbeContext {
        cwd: std::env::current_dir().unwrap_or_else(|_| "/".into()),
        env: std::env::vars().collect(),
        os,
        http: matches!(check, Ready::Http(_)).then(http_client),
    };
    let mut last = None;
    let passed = tokio::time::timeout(timeout, wait_until_ready(check, &ctx, |saw| last = Some(saw))).await.is_ok();
    Ok((passed, last))
}

/// To the millisecond: what a person reads.
fn round(elapsed: Duration) -> Duration {
    Duration::from_millis(u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX))
}

/// A target the check can work with, by the manifest's own rule for `ready`.
fn parse_target(text: &str) -> Result<String, String> {
    match Ready::Tcp(text.to_owned()).target_problem() {
        Some((problem, how)) => Err(format!("{problem}; {how}")),
        None => Ok(text.to_owned()),
    }
}

fn parse_url(text: &str) -> Result<String, String> {
    if let Some((problem, how)) = Ready::Http(text.to_owned()).target_problem() {
        return Err(format!("{problem}; {how}"));
    }
    // orch's checks are of local services, which answer plain http; the probe has no TLS.
    if !text.starts_with("http:") {
        return Err(format!("`{text}` is not an http:// URL (orch's checks have no TLS)"));
    }
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_and_urls() {
        assert!(parse_target("127.0.0.1:5432").is_ok());
        assert!(parse_target("[::1]:80").is_ok());
        for bad in ["localhost", "x:0", "x:70000", ":", ":5432"] {
            assert!(parse_target(bad).is_err(), "{bad}");
        }
        assert!(parse_url("http://127.0.0.1:8080/health").is_ok());
        for bad in ["ftp://x/", "https://x/", "127.0.0.1:80", "http://"] {
            assert!(parse_url(bad).is_err(), "{bad}");
        }
    }
}
