//! The client's side of a running project: which project this is, and a connection to its
//! supervisor, started on demand (`orch` re-executed in its own session).

use std::collections::HashMap;
use std::io;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use super::{CliError, Global};
use crate::ipc::client::Connection;
use crate::ipc::locate::{self, Found, LocateError};
use crate::ipc::{Origin, Reply, Request};
use crate::manifest::{self, LoadOptions, Loaded, PortPicker, Problem};
use crate::paths::ProjectPaths;
use crate::project::{self, DiscoverError};
use crate::state::State;
use crate::supervisor::SUPERVISOR_VAR;

/// How often a client that waits for a supervisor launches one again.
const RELAUNCH: Duration = Duration::from_millis(300);

/// How long a client waits for a supervisor it started to listen.
const LAUNCH_TIMEOUT: Duration = Duration::from_secs(10);

/// Between launches, how long the client gives a supervisor that holds the lock to answer.
const LAUNCH_PATIENCE: Duration = Duration::from_millis(100);

pub(crate) struct Session {
    pub(crate) paths: ProjectPaths,
    /// The manifest and what it resolved to; None for a folder without one (ad-hoc only).
    pub(crate) loaded: Option<Loaded>,
    pub(crate) options: LoadOptions,
    pub(crate) manifest: Option<PathBuf>,
}

impl Session {
    /// The project of the manifest found from where the user stands; its problems are errors
    /// (exit 2), its warnings kept in `loaded` for the commands that show them (`up`).
    pub(crate) fn open(global: &Global) -> Result<Self, CliError> {
        Self::open_with(global, false)
    }

    /// Like `open`, but a folder with no manifest is a project too (for ad-hoc services).
    pub(crate) fn open_any(global: &Global) -> Result<Self, CliError> {
        Self::open_with(global, true)
    }

    /// The project, for commands that only look at what runs (`ps`, `logs`, `stop`, `down`):
    /// they must work while the manifest is broken, so its problems are not theirs to report.
    pub(crate) fn open_lenient(global: &Global) -> Result<Self, CliError> {
        match Self::open_with(global, true) {
            Err(CliError::Manifest(_)) => {
                let options = LoadOptions::from_process();
                let dir = global.directory.as_deref();
                let path = project::discover(&options.display_base, dir, global.file.as_deref())?.path;
                let root = path.parent().map(PathBuf::from).unwrap_or_default();
                Ok(Self { paths: ProjectPaths::new(&root), loaded: None, options, manifest: Some(path) })
            }
            other => other,
        }
    }

    fn open_with(global: &Global, allow_missing: bool) -> Result<Self, CliError> {
        let options = LoadOptions::from_process();
        let found = project::discover(&options.display_base, global.directory.as_deref(), global.file.as_deref());
        let (manifest, note) = match found {
            Ok(found) => (Some(found.path), found.note),
            Err(DiscoverError::NotFound(start)) if allow_missing => {
                return Ok(Self { paths: ProjectPaths::new(&start), loaded: None, options, manifest: None });
            }
            Err(e) => return Err(e.into()),
        };
        let path = manifest.clone().unwrap_or_default();
        let root = path.parent().map(PathBuf::from).unwrap_or_default();
        let options = options.with_ports(recorded_ports(&ProjectPaths::new(&root)));
        let mut loaded = manifest::load(&path, &options).map_err(CliError::Manifest)?;
        loaded.warnings.splice(0..0, note.map(Problem::note));
        let paths = ProjectPaths::new(&loaded.spec.root);
        Ok(Self { paths, loaded: Some(loaded), options, manifest })
    }

    pub(crate) fn origin(&self) -> Origin {
        Origin { manifest: self.manifest.clone(), env: self.options.env.clone() }
    }

    /// Names that are not services of the manifest are a usage error (exit 2).
    pub(crate) fn check_names(&self, names: &[String]) -> Result<(), CliError> {
        let Some(loaded) = &self.loaded else {
            return Ok(());
        };
        let known: Vec<&str> = loaded.spec.services.keys().map(String::as_str).collect();
        match names.iter().find(|n| !known.contains(&n.as_str())) {
            Some(name) => Err(CliError::Usage(crate::ipc::unknown_service(name, &known))),
            None => Ok(()),
        }
    }

    /// With no supervisor to ask, names must be services of the manifest or recorded in
    /// state.json (ad-hoc ones); anything else is a usage error (exit 2).
    pub(crate) fn check_known(&self, names: &[String]) -> Result<(), CliError> {
        let mut known: Vec<String> =
            self.loaded.as_ref().map(|l| l.spec.services.keys().cloned().collect()).unwrap_or_default();
        if let Ok(Some(state)) = State::load(&self.paths.state()) {
            known.extend(state.services.into_keys().filter(|n| !known.contains(n)).collect::<Vec<_>>());
        }
        match names.iter().find(|n| !known.contains(n)) {
            Some(name) => {
                let known: Vec<&str> = known.iter().map(String::as_str).collect();
                Err(CliError::Usage(crate::ipc::unknown_service(name, &known)))
            }
            None => Ok(()),
        }
    }

    /// A connection to the running supervisor; None when none runs. A supervisor that holds
    /// the lock but does not answer is an error, never "nothing runs".
    pub(crate) fn connect(&self) -> Result<Option<Connection>, CliError> {
        match locate::find(&self.paths, locate::PATIENCE).map_err(located)? {
            Found::Connected(conn) => Ok(Some(conn)),
            Found::NotRunning => Ok(None),
        }
    }

    /// A connection to the running supervisor or, when none runs but something of the project
    /// does (its supervisor died), to a new one that adopts what runs; None when nothing runs.
    /// What runs is what state.json records, and with `markers` also any process carrying the
    /// project's marker (for `down`, which must leave nothing even when the record is lost).
    pub(crate) fn connect_or_adopt(&self, markers: bool) -> Result<Option<Connection>, CliError> {
        match self.connect()? {
            Some(conn) => Ok(Some(conn)),
            None if leftovers_run(&self.paths, markers) => self.connect_or_launch().map(Some),
            None => Ok(None),
        }
    }

    /// A connection to the supervisor, starting one when none runs.
    pub(crate) fn connect_or_launch(&self) -> Result<Connection, CliError> {
        if let Some(conn) = self.connect()? {
            return Ok(conn);
        }
        self.prepare_launch()?;
        let deadline = Instant::now() + LAUNCH_TIMEOUT;
        let mut launched: Option<Instant> = None;
        loop {
            // Launch again now and then: the one launched may have found the lock still held by
            // a supervisor on its way out (after a `down` that came first, or a SIGKILL), and
            // left. Extra ones find the lock taken and leave at once.
            if launched.is_none_or(|at| at.elapsed() >= RELAUNCH) {
                launch(&self.paths).map_err(|e| CliError::Failed(format!("cannot start the supervisor: {e}")))?;
                launched = Some(Instant::now());
            }
            match locate::find(&self.paths, LAUNCH_PATIENCE) {
                Ok(Found::Connected(conn)) => return Ok(conn),
                Ok(Found::NotRunning) => std::thread::sleep(Duration::from_millis(2)),
                Err(LocateError::Unresponsive { .. }) if Instant::now() < deadline => {}
                Err(e) => return Err(located(e)),
            }
            if Instant::now() >= deadline {
                return Err(CliError::Failed(format!(
                    "the supervisor did not start listening within {}s; see {}",
                    LAUNCH_TIMEOUT.as_secs(),
                    self.paths.supervisor_log().display()
                )));
            }
        }
    }

    /// What a supervisor needs before it can start, checked here so a problem is told with
    /// the folder it is about (not as a supervisor that never listens).
    fn prepare_launch(&self) -> Result<(), CliError> {
        self.paths.create_dirs().map_err(|e| {
            // The error may name the folder already (`/p/.orch: Permission denied`).
            let folder = self.paths.dir.display().to_string();
            let detail = e.to_string();
            let detail = detail.strip_prefix(&format!("{folder}: ")).unwrap_or(&detail);
            CliError::Failed(format!("cannot create {folder}: {detail}"))
        })?;
        self.paths.create_runtime_dir().map_err(|e| CliError::Failed(format!("cannot use the socket folder: {e}")))?;
        if let Some(note) = &self.paths.runtime_note {
            eprintln!("orch: {note}");
        }
        Ok(())
    }
}

/// Sends a request and returns its replies, through the final one.
pub(crate) fn request(conn: &mut Connection, request: Request) -> Result<Vec<Reply>, CliError> {
    conn.send(request).map_err(lost)?;
    let mut replies = Vec::new();
    while let Some(reply) = conn.next_reply().map_err(lost)? {
        let last = reply.is_final();
        replies.push(reply);
        if last {
            break;
        }
    }
    Ok(replies)
}

/// Whether something of the project runs with no supervisor: a process state.json recorded
/// that is still the same process, or (with `markers`) one carrying the project's marker.
pub(crate) fn leftovers_run(paths: &ProjectPaths, markers: bool) -> bool {
    if let Ok(Some(state)) = State::load(&paths.state())
        && state.services.values().any(|r| r.process.as_ref().is_some_and(crate::supervisor::process::is_alive))
    {
        return true;
    }
    markers && !crate::supervisor::process::marked(&paths.root.display().to_string()).is_empty()
}

fn located(e: LocateError) -> CliError {
    CliError::Failed(e.to_string())
}

/// Ports as the supervisor recorded them, so that `config`, `check` and `up --dry-run` show the
/// ports the services have; a service with none yet gets any free port, for the preview only.
fn recorded_ports(paths: &ProjectPaths) -> PortPicker {
    let recorded: HashMap<String, u16> = State::load(&paths.state())
        .ok()
        .flatten()
        .map(|state| {
            state
                .services
                .into_iter()
                .filter_map(|(name, r)| r.config.and_then(|c| c.port_number()).map(|p| (name, p)))
                .collect()
        })
        .unwrap_or_default();
    Box::new(move |service: &str| recorded.get(service).copied().unwrap_or_else(crate::ports::any_free))
}

pub(crate) fn lost(e: io::Error) -> CliError {
    CliError::Failed(format!("lost the supervisor: {e}"))
}

/// Starts `orch __supervise` for the project: a new session, stdin from /dev/null, output to
/// `.orch/supervisor.log`. It takes the lock itself; if another one won the race it just exits.
fn launch(paths: &ProjectPaths) -> io::Result<()> {
    let dir = paths.create_dirs()?;
    // A planted lock is refused here, with its reason, not later in the supervisor's log.
    dir.open("supervisor.lock", crate::safe_fs::Access::ReadWrite)?;
    let log = dir.open("supervisor.log", crate::safe_fs::Access::Append)?;
    let exe = std::env::current_exe()?;
    let mut cmd = std::process::Command::new(exe);
    cmd.arg("__supervise")
        .arg(&paths.root)
        .current_dir(&paths.root)
        .env(SUPERVISOR_VAR, &paths.root)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    // SAFETY: setsid and close_range are async-signal-safe system calls and touch no memory
    // of the parent.
    unsafe {
        cmd.pre_exec(|| {
            nix::unistd::setsid().map_err(io::Error::from)?;
            // Whatever this client inherited without close-on-exec (a terminal's pipe, a test
            // harness's descriptors) is not the supervisor's, nor its services': close it at the
            // exec. Best effort: kernels before 5.11 lack close_range.
            libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, libc::CLOSE_RANGE_CLOEXEC);
            Ok(())
        });
    }
    // Not waited for: it outlives this client, and is reparented when the client exits.
    cmd.spawn().map(drop)
}
