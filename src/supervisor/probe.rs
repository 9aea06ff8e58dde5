//! Readiness checks. A check is tried at once, then again 10 ms later, and then with a period
//! that doubles up to a cap that fits its cost: 10 ms for a local TCP connect (nothing), 50 ms
//! for an HTTP GET (which the service may log), 500 ms for a command (a process each time). So
//! readiness is noticed within milliseconds of being true. The `log` check is not polled: the
//! log pump matches each line as it arrives, and `notify` waits for the service's message on
//! its notify socket.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use nix::sys::signal::Signal;
use tokio::net::TcpStream;
use tokio::time::{sleep, timeout};

use super::process::{self, Reaper, SpawnRequest};
use crate::manifest::Ready;

const FIRST_RETRY: Duration = Duration::from_millis(10);
const MAX_RETRY_TCP: Duration = Duration::from_millis(10);
const MAX_RETRY_HTTP: Duration = Duration::from_millis(50);
const MAX_RETRY_EXEC: Duration = Duration::from_millis(500);
/// One attempt may take this long before it counts as failed (a hung connect or command).
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);

/// What a check needs besides its target.
pub struct ProbeContext {
    pub cwd: std::path::PathBuf,
    pub env: Vec<(String, String)>,
    pub reaper: Arc<Reaper>,
    /// For http checks only.
    pub http: Option<reqwest::Client>,
}

/// An HTTP client for probes: no proxy (health checks are local), short timeouts.
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().timeout(ATTEMPT_TIMEOUT).build().unwrap_or_default()
}

/// Returns once the check passes; never, for a `log` check (see the module's doc). The caller
/// bounds it with the service's ready_timeout and drops it when the service goes away.
pub async fn wait_until_ready(check: &Ready, ctx: &ProbeContext) {
    if let Ready::Delay(delay) = check {
        sleep(delay.0).await;
        return;
    }
    if let Ready::Log(_) | Ready::Notify(_) = check {
        std::future::pending::<()>().await;
    }
    let max = match check {
        Ready::Tcp(_) => MAX_RETRY_TCP,
        Ready::Http(_) => MAX_RETRY_HTTP,
        _ => MAX_RETRY_EXEC,
    };
    let mut pause = FIRST_RETRY;
    loop {
        if attempt(check, ctx).await {
            return;
        }
        sleep(pause).await;
        pause = (pause * 2).min(max);
    }
}

async fn attempt(check: &Ready, ctx: &ProbeContext) -> bool {
    match check {
        Ready::Tcp(target) => matches!(timeout(ATTEMPT_TIMEOUT, TcpStream::connect(target.as_str())).await, Ok(Ok(_))),
        Ready::Http(url) => match &ctx.http {
            Some(http) => http.get(url).send().await.is_ok_and(|reply| reply.status().is_success()),
            None => false,
        },
        Ready::Exec(cmd) => exec_passes(&cmd.argv(), &ctx.cwd, &ctx.env, &ctx.reaper).await,
        Ready::Log(_) | Ready::Delay(_) | Ready::Notify(_) => false,
    }
}

/// Runs the command in its own process group; passes on exit 0. A hung command is killed
/// with its group after ATTEMPT_TIMEOUT.
async fn exec_passes(argv: &[String], cwd: &Path, env: &[(String, String)], reaper: &Reaper) -> bool {
    let req = SpawnRequest { argv, cwd, env, capture: false };
    let Ok(spawned) = process::spawn(&req) else {
        return false;
    };
    let pid = spawned.identity.pid;
    let exit = reaper.watch(pid);
    match timeout(ATTEMPT_TIMEOUT, exit).await {
        Ok(Ok(exit)) => exit.success(),
        Ok(Err(_)) => false,
        Err(_) => {
            let _ = process::signal_group(pid, Signal::SIGKILL);
            false
        }
    }
}

/// How a check reads in `ps` and in messages: `tcp 127.0.0.1:5432`.
pub fn describe(check: &Ready) -> String {
    match check {
        Ready::Tcp(t) => format!("tcp {t}"),
        Ready::Http(u) => format!("http {u}"),
        Ready::Exec(c) => format!("exec {c}"),
        Ready::Log(r) => format!("log /{r}/"),
        Ready::Delay(d) => format!("delay {d}"),
        Ready::Notify(_) => "notify".to_owned(),
    }
}
