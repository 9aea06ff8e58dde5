//! The supervisor: one per project, `orch` re-executed in its own session (or run in the
//! terminal with `up --foreground`). It holds the project's lock for its whole life, listens on
//! the project's socket, and executes what clients ask through [`core::Supervisor`].

/// A line in the supervisor's log (its stderr, `.orch/supervisor.log`). Unlike `eprintln!`,
/// which panics when it cannot write, a full disk does not take the supervisor down. The line
/// is formatted first and written with one `write(2)` (stderr is unbuffered, so `writeln!`
/// would make one per piece): whole under `O_APPEND`, and 4× fewer calls during a `down`.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let mut line = format!($($arg)*);
        line.push('\n');
        let _ = std::io::stderr().write_all(line.as_bytes());
    }};
}

pub(crate) mod core;
pub(crate) mod handoff;
mod health;
mod health_check;
pub(crate) mod lifecycle;

mod machine;
mod notify;
#[cfg(test)]
mod os_tests;
mod outcomes;
pub(crate) mod output;
pub(crate) mod probe;
mod reconcile;
mod recover;
mod requests;
mod restart_on_change;
mod rolling;
mod running;
mod scaling;
mod schedule;
pub(crate) mod server;
pub(crate) mod service;
mod source_watch;
pub(crate) mod subscribers;
mod unit;
pub(crate) mod waiters;
mod watch;

use std::io;
use std::os::unix::fs::PermissionsExt;

use tokio::net::UnixListener;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::mpsc::{UnboundedSender, unbounded_channel};

use self::core::{Msg, Supervisor};
use self::output::Output;
use crate::ipc::{Reply, Request};
use crate::lock::Lock;
use crate::paths::ProjectPaths;
use crate::sys::linux::Linux;

/// Environment variable set on the background supervisor: the project root it serves.
pub(crate) const SUPERVISOR_VAR: &str = "ORCH_SUPERVISOR";

/// Runs the supervisor until a `down` (or SIGTERM/SIGINT) leaves nothing running. `first` is
/// a request to handle at once (the foreground's `up`), with where its replies go.
pub(crate) fn run(
    paths: &ProjectPaths,
    lock: Lock,
    output: Output,
    first: Option<(Request, UnboundedSender<Reply>)>,
) -> io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let foreground = output.is_foreground();
    let result = runtime.block_on(async {
        let os = Linux::start()?;
        let listener = bind(paths)?;
        let (tx, rx) = unbounded_channel();
        let busy = server::Busy::default();
        let accepting = tokio::spawn(server::serve(listener, tx.clone(), busy.clone()));
        tokio::spawn(shutdown_on_signals(tx.clone(), foreground));
        if let Some((request, reply)) = first {
            let _ = tx.send(Msg::Request(request, reply));
        }
        let mut supervisor = Supervisor::new(paths.clone(), tx, os, output);
        supervisor.recover();
        supervisor.run(rx).await;
        accepting.abort();
        server::drain(busy).await;
        Ok::<_, io::Error>(())
    });
    // The socket and its folder go while the lock is held, so that no supervisor started next
    // can have made them anew yet. A folder something else still holds (a notify socket) stays.
    let _ = std::fs::remove_file(paths.socket());
    let _ = std::fs::remove_dir(&paths.runtime_dir);
    drop(lock);
    // Pumps and timers still pending belong to processes that are gone.
    runtime.shutdown_background();
    result
}

/// The project's socket: the one the client that launched this supervisor handed over, or one
/// bound here (0600, in a 0700 folder), replacing a stale one: the lock is held, so no other
/// supervisor can be using it.
fn bind(paths: &ProjectPaths) -> io::Result<UnixListener> {
    paths.create_runtime_dir()?;
    if let Some(handed) = handoff::take(paths) {
        return UnixListener::from_std(handed);
    }
    let socket = paths.socket();
    crate::safe_fs::remove_stale(&socket)?;
    let listener = UnixListener::bind(&socket)?;
    std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}

/// SIGINT and SIGTERM stop everything; so does SIGHUP (the terminal closed) in the foreground.
async fn shutdown_on_signals(tx: UnboundedSender<Msg>, foreground: bool) -> io::Result<()> {
    let mut int = signal(SignalKind::interrupt())?;
    let mut term = signal(SignalKind::terminate())?;
    let mut hup = signal(SignalKind::hangup())?;
    loop {
        tokio::select! {
            _ = int.recv() => {}
            _ = term.recv() => {}
            _ = hup.recv() => if !foreground { continue },
        }
        let _ = tx.send(Msg::Shutdown);
    }
}
