//! `orch up [SVC…]`: start the services (all if none) and what they depend on, wait until
//! each is ready, return. `--foreground` runs the supervisor in the terminal instead.

use std::time::Instant;

use clap::Args;
use tokio::sync::mpsc::unbounded_channel;

use super::Global;
use super::follow::{catch_sigint, conclude};
use super::progress::Progress;
use crate::client::follow::{Expect, Report, Wait};
use crate::client::{ClientError, Session, ops};
use crate::exit::Exit;
use crate::ipc::{Reply, Request};
use crate::lock::Lock;
use crate::manifest::HumanDuration;
use crate::supervisor::{self, output::Output};

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
    /// Also start the services of this profile (repeatable; ORCH_PROFILES=a,b says the same)
    #[arg(long = "profile", value_name = "NAME", env = "ORCH_PROFILES", value_delimiter = ',')]
    pub(crate) profiles: Vec<String>,
    /// Run N replicas of a service for this up, over its `scale` (repeatable), e.g. web=2
    #[arg(long = "scale", value_name = "NAME=N", value_parser = ops::parse_count)]
    pub(crate) scale: Vec<(String, u32)>,
    /// Then watch the project in `orch tui`
    #[arg(long, conflicts_with_all = ["foreground", "json", "dry_run"])]
    pub(crate) tui: bool,
}

pub(super) fn run(global: &Global, args: UpArgs) -> Result<Exit, ClientError> {
    let session = Session::open(&global.place())?;
    // Of the commands that read the manifest, check, config and up say what is odd in it.
    if let Some(loaded) = &session.loaded {
        crate::terminal::problems(&loaded.warnings);
    }
    let profiles = active_profiles(&session, &args.profiles)?;
    let up = ops::Up {
        services: args.services.clone(),
        no_wait: args.no_wait,
        force_recreate: args.force_recreate,
        no_watch: args.no_watch,
        profiles,
        scale: args.scale.iter().cloned().collect(),
    };
    if args.dry_run {
        return dry_run(&session, &up);
    }
    if args.foreground {
        crate::client::names::check_manifest_names(&session, &up.services)?;
        return foreground(&session, up.request(&session, false));
    }
    let expect = if args.no_wait { Expect::Accepted } else { Expect::Up };
    let mut progress = if args.json {
        Progress::json(expect)
    } else {
        Progress::new(&args.services, expect).aligned_to(&session.manifest_names())
    };
    let wait = Wait { deadline: args.timeout.map(|t| Instant::now() + t.0), interrupted: Some(catch_sigint()) };
    let ending = ops::up(&session, &up, wait, &mut |n| progress.notice(n))?;
    let exit = conclude(ending, &mut progress)?;
    if args.tui {
        // The TUI shows what failed; the exit still says that the up did not succeed.
        crate::tui::run(&global.place(), &crate::tui::Options::new(true, false))?;
    }
    Ok(exit)
}

/// The supervisor in this terminal: services' output merged and prefixed; Ctrl-C (or SIGTERM,
/// or the terminal closing) stops everything, dependents first. Exit 0, or 1 when a service
/// could not be brought up.
fn foreground(session: &Session, request: Request) -> Result<Exit, ClientError> {
    let lock = Lock::try_acquire(&session.paths)
        .map_err(|e| ClientError::Failed(format!("cannot lock the project in {}: {e}", session.paths.dir.display())))?;
    let Some(lock) = lock else {
        let pid = Lock::holder(&session.paths).map(|h| format!(" (pid {})", h.pid)).unwrap_or_default();
        return Err(ClientError::Failed(format!(
            "a supervisor already runs for this project{pid}; use `orch logs -f` to watch it or `orch down` to stop it"
        )));
    };
    let names = session.manifest_names();
    let (reply_tx, mut reply_rx) = unbounded_channel();
    // The outcome of the start, told in the merged output as it comes.
    let watcher = std::thread::spawn(move || {
        let mut ok = true;
        while let Some(reply) = reply_rx.blocking_recv() {
            if let Reply::Done { outcomes, exiting } = reply {
                ok = Report { outcomes, expect: Expect::Up, exiting }.ok();
            }
        }
        ok
    });
    supervisor::run(&session.paths, lock, Output::foreground(&session.paths, &names), Some((request, reply_tx)))
        .map_err(|e| ClientError::Failed(format!("supervisor: {e}")))?;
    let ok = watcher.join().unwrap_or(false);
    Ok(if ok { Exit::Success } else { Exit::ServiceFailed })
}

/// Prints the plan: `+ api  new`, `~ web  env PORT changed`, `- old  removed`, `= db  unchanged`.
fn dry_run(session: &Session, up: &ops::Up) -> Result<Exit, ClientError> {
    let plan = ops::dry_run(session, up)?;
    print!("{}", crate::render::plan(&plan));
    Ok(Exit::Success)
}

/// The profiles asked for (blank ones from `ORCH_PROFILES=a,,b` dropped), each a valid name;
/// one no service is in is said, as a typo would be.
fn active_profiles(session: &Session, asked: &[String]) -> Result<Vec<String>, ClientError> {
    let asked: Vec<String> = asked.iter().map(|p| p.trim().to_owned()).filter(|p| !p.is_empty()).collect();
    if let Some(bad) = asked.iter().find(|p| !crate::model::names::is_valid_name(p)) {
        return Err(ClientError::Usage(format!("`{bad}` is not a profile name (letters, digits, `-` and `_`)")));
    }
    let known = session.loaded.as_ref().map(|l| l.spec.profiles()).unwrap_or_default();
    for profile in asked.iter().filter(|p| !known.contains(p)) {
        let there = match known.as_slice() {
            [] => "no service has `profiles`".to_owned(),
            names => format!("the profiles are `{}`", names.join("`, `")),
        };
        crate::terminal::problems(&[crate::manifest::Problem::warning(format!(
            "no service is in profile `{profile}`"
        ))
        .help(there)]);
    }
    Ok(asked)
}
