//! Readiness checks. A check is tried at once, then again 10 ms later, and then with a period
//! that doubles up to a cap that fits its cost: 10 ms for a local TCP connect (nothing), 500 ms
//! for an HTTP GET (the service may log every request, and a check that never passes must not
//! flood its log) and for a command (a process each time). So readiness is noticed within
//! milliseconds of being true. What a failing attempt saw (`connection refused`, `404 Not
//! Found`, `exited with 1`) is reported whenever it changes, for the progress lines. The `log` check is not polled: the
//! log pump matches each line as it arrives, and `notify` waits for the service's message on
//! its notify socket.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio::time::{sleep, timeout};

use crate::manifest::Ready;
use crate::sys::{Os, Signal, SpawnRequest};

const FIRST_RETRY: Duration = Duration::from_millis(10);
const MAX_RETRY_TCP: Duration = Duration::from_millis(10);
const MAX_RETRY_HTTP: Duration = Duration::from_millis(500);
const MAX_RETRY_EXEC: Duration = Duration::from_millis(500);
/// One attempt may take this long before it counts as failed (a hung connect or command).
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);

/// What a check needs besides its target.
pub(crate) struct ProbeContext {
    pub(crate) cwd: std::path::PathBuf,
    pub(crate) env: Vec<(String, String)>,
    pub(crate) os: Arc<dyn Os>,
    /// For http checks only.
    pub(crate) http: Option<reqwest::Client>,
}

/// An HTTP client for probes: no proxy (health checks are local), short timeouts.
pub(crate) fn http_client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().timeout(ATTEMPT_TIMEOUT).build().unwrap_or_default()
}

/// Returns once the check passes; never, for a `log` check (see the module's doc). The caller
/// bounds it with the service's ready_timeout and drops it when the service goes away. `saw`
/// is told what a failed attempt saw, each time that changes.
pub(crate) async fn wait_until_ready(check: &Ready, ctx: &ProbeContext, mut saw: impl FnMut(String)) {
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
    let mut last = None;
    loop {
        match attempt(check, ctx).await {
            Ok(()) => return,
            Err(what) if last.as_ref() != Some(&what) => {
                saw(what.clone());
                last = Some(what);
            }
            Err(_) => {}
        }
        sleep(pause).await;
        pause = (pause * 2).min(max);
    }
}

/// One try: Ok when the check passes, else what it saw.
pub(crate) async fn attempt(check: &Ready, ctx: &ProbeContext) -> Result<(), String> {
    match check {
        Ready::Tcp(target) => match timeout(ATTEMPT_TIMEOUT, TcpStream::connect(target.as_str())).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(io_error_words(&e)),
            Err(_) => Err("timed out".to_owned()),
        },
        Ready::Http(url) => match &ctx.http {
            Some(http) => match http.get(url).send().await {
                Ok(reply) if reply.status().is_success() => Ok(()),
                Ok(reply) => Err(reply.status().to_string()),
                Err(e) => Err(http_error_words(&e)),
            },
            None => Err("no HTTP client".to_owned()),
        },
        Ready::Exec(cmd) => {
            let (program, argv) = super::running::exec_of(cmd, &ctx.env, &ctx.cwd);
            exec_passes(&program, &argv, &ctx.cwd, &ctx.env, &*ctx.os).await
        }
        Ready::Log(_) | Ready::Delay(_) | Ready::Notify(_) => Err(String::new()),
    }
}

/// `connection refused`, not `Connection refused (os error 111)`.
fn io_error_words(e: &std::io::Error) -> String {
    let text = e.to_string();
    let text = text.split(" (os error").next().unwrap_or(&text);
    text.to_lowercase()
}

fn http_error_words(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return "timed out".to_owned();
    }
    // The innermost cause says it best (`connection refused`); reqwest's own text repeats the URL.
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    let mut words = None;
    while let Some(cause) = source {
        match cause.downcast_ref::<std::io::Error>() {
            Some(io) => words = Some(io_error_words(io)),
            None => words = Some(cause.to_string()),
        }
        source = cause.source();
    }
    words.unwrap_or_else(|| if e.is_connect() { "cannot connect".to_owned() } else { e.to_string() })
}

/// Runs the command in its own process group; passes on exit 0. A hung command is killed
/// with its group after ATTEMPT_TIMEOUT.
async fn exec_passes(
    program: &Path,
    argv: &[String],
    cwd: &Path,
    env: &[(String, String)],
    os: &dyn Os,
) -> Result<(), String> {
    let req = SpawnRequest { program, argv, cwd, env, capture: false };
    let spawned = os.spawn(&req).map_err(|e| format!("cannot run it: {}", io_error_words(&e)))?;
    let pid = spawned.identity.pid;
    let exit = os.watch_exit(pid);
    match timeout(ATTEMPT_TIMEOUT, exit).await {
        Ok(Ok(exit)) if exit.success() => Ok(()),
        Ok(Ok(exit)) => Err(exit.to_string()),
        Ok(Err(_)) => Err("ended unseen".to_owned()),
        Err(_) => {
            let _ = os.signal_group(pid, Signal::SIGKILL);
            Err(format!("still running after {}s", ATTEMPT_TIMEOUT.as_secs()))
        }
    }
}
