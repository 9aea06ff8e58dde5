//! `orch up [SVC…]`: start the services (all if none) and what they depend on, wait until
//! each is ready, return. `--foreground` runs the supervisor in the terminal instead.

use std::time::Instant;

use clap::Args;
use tokio::sync::mpsc::unbounded_channel;

use super::follow::Follow;
use super::progress::{Expect, Progress};
use super::session::{Session, lost};
use super::{CliError, Global};
use crate::exit::Exit;
use crate::ipc::{Outcome, Reply, Request};
use crate::manifest::HumanDuration;
use crate::plan::{self, Force, Observed, Plan};
use crate::state::State;
use crate::supervisor::{self, lock::Lock, output::Output};

#[derive(Debug, Args)]
#[expect(clippy::struct_excessive_bools, reason = "command-line flags are booleans")]
pub(crate) struct UpArgs {
    /// Services to start (with what they depend on); all when none are named
    #[arg(add = clap_complete::ArgValueCandidates::new(super::completions::service_names))]
    pub(crate) services: Vec<String>,
    /// Run in this terminal with merged output; Ctrl-C stops everything
    #[arg(long, conflicts_with_all = ["no_wait", "timeout"])]
    pub(crate) foreground: bool,
    /// Return once the request is accepted, without waiting for readiness
    #[arg(long)]
    pub(crate) no_wait: bool,
    /// Give up waiting after this long (the services keep starting), e.g. "30s"
    #[arg(long, value_parser = HumanDuration::parse)]
    pub(crate) timeout: Option<HumanDuration>,
    /// Print what would start, stop and restart, and why; change nothing
    #[arg(long, conflicts_with = "foreground")]
    pub(crate) dry_run: bool,
    /// Restart the named services (all when none) even if nothing changed
    #[arg(long)]
    pub(crate) force_recreate: bool,
    /// Do not reload when procs.toml, .env or an env_file changes
    #[arg(long)]
    pub(crate) no_watch: bool,
    /// Print one JSON object per line for each event (starting, ready, failed, …), then the outcome
    #[arg(long, conflicts_with = "foreground")]
    pub(crate) json: bool,
}

pub(super) fn run(global: &Global, args: UpArgs) -> Result<Exit, CliError> {
    let session = Session::open(global)?;
    // Of the commands that read the manifest, check, config and up say what is odd in it.
    if let Some(loaded) = &session.loaded {
        crate::render::problems(&loaded.warnings);
    }
    session.check_names(&args.services)?;
    let request = Request::Up {
        origin: session.origin(),
        services: args.services.clone(),
        wait: !args.no_wait,
        force: args.force_recreate.then(|| args.services.clone()),
        watch: !args.no_watch,
        dry_run: args.dry_run,
    };
    if args.dry_run {
        return dry_run(&session, request);
    }
    if args.foreground {
        return foreground(&session, request);
    }
    let mut conn = session.connect_or_launch()?;
    conn.send(request).map_err(lost)?;
    let names =
        session.loaded.as_ref().map(|l| l.spec.services.keys().cloned().collect::<Vec<_>>()).unwrap_or_default();
    let deadline = args.timeout.map(|t| Instant::now() + t.0);
    let expect = if args.no_wait { Expect::Accepted } else { Expect::Up };
    let progress = if args.json { Progress::json() } else { Progress::new(&names) };
    Follow { requested: &args.services, expect, deadline, interruptible: true }.run(&mut conn, progress)
}

/// The supervisor in this terminal: services' output merged and prefixed; Ctrl-C (or SIGTERM,
/// or the terminal closing) stops everything, dependents first. Exit 0, or 1 when a service
/// could not be brought up.
fn foreground(session: &Session, request: Request) -> Result<Exit, CliError> {
    let lock = Lock::try_acquire(&session.paths)
        .map_err(|e| CliError::Failed(format!("cannot lock the project in {}: {e}", session.paths.dir.display())))?;
    let Some(lock) = lock else {
        let pid = Lock::holder(&session.paths).map(|h| format!(" (pid {})", h.pid)).unwrap_or_default();
        return Err(CliError::Failed(format!(
            "a supervisor already runs for this project{pid}; use `orch logs -f` to watch it or `orch down` to stop it"
        )));
    };
    let names: Vec<String> =
        session.loaded.as_ref().map(|l| l.spec.services.keys().cloned().collect()).unwrap_or_default();
    let (reply_tx, mut reply_rx) = unbounded_channel();
    // The outcome of the start, told in the merged output as it comes.
    let watcher = std::thread::spawn(move || {
        let mut ok = true;
        while let Some(reply) = reply_rx.blocking_recv() {
            if let Reply::Done { outcomes, .. } = reply {
                ok = outcomes.iter().all(Outcome::succeeded);
            }
        }
        ok
    });
    supervisor::run(&session.paths, lock, Output::foreground(&session.paths, &names), Some((request, reply_tx)))
        .map_err(|e| CliError::Failed(format!("supervisor: {e}")))?;
    let ok = watcher.join().unwrap_or(false);
    Ok(if ok { Exit::Success } else { Exit::ServiceFailed })
}

/// Prints the plan: `+ api  new`, `~ web  env PORT changed`, `- old  removed`, `= db  unchanged`.
/// From the supervisor when one runs, else against what state.json recorded.
fn dry_run(session: &Session, request: Request) -> Result<Exit, CliError> {
    let plan = match session.connect()? {
        Some(mut conn) => match super::session::request(&mut conn, request)?.into_iter().next() {
            Some(Reply::Plan(plan)) => plan,
            Some(Reply::Error(refusal)) => return Err(CliError::Refused(refusal)),
            _ => return Err(CliError::Failed("the supervisor sent no plan".into())),
        },
        None => offline_plan(session)?,
    };
    let width = plan.steps.iter().map(|s| s.service.len()).max().unwrap_or(0);
    for step in &plan.steps {
        println!("{} {:<width$}  {}", step.action.mark(), step.service, step.reason);
    }
    Ok(Exit::Success)
}

/// The plan against state.json: a recorded service counts as running only if its process
/// still does (it would be adopted).
fn offline_plan(session: &Session) -> Result<Plan, CliError> {
    let Some(loaded) = &session.loaded else { return Ok(Plan::default()) };
    let state = State::load(&session.paths.state()).map_err(|e| CliError::Failed(e.to_string()))?.unwrap_or_default();
    let observed = state
        .services
        .into_iter()
        .filter(|(_, r)| r.adhoc.is_none())
        .map(|(name, r)| {
            let up = r.process.as_ref().is_some_and(crate::supervisor::process::is_alive);
            (name, Observed { config: r.config, up })
        })
        .collect();
    Ok(plan::plan(&loaded.spec.services, &loaded.graph, &observed, &Force::Nothing))
}
