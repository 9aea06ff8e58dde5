//! The client's side of a running project: which project this is, and a connection to its
//! supervisor, started on demand (see [`super::launch`]).

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::error::lost;
use super::launch::{Handoff, launch};
use super::{ClientError, Notice};
use crate::ipc::client::{ConnectError, Connection, is_timeout};
use crate::ipc::locate::{self, Found, LocateError};
use crate::ipc::{Origin, Reply, Request};
use crate::manifest::{self, LoadOptions, Loaded, PortPicker, Problem};
use crate::paths::ProjectPaths;
use crate::project::{self, DiscoverError};
use crate::state::State;

/// How often a client that waits for a supervisor launches one again.
const RELAUNCH: Duration = Duration::from_millis(300);

/// How long a client waits for a supervisor it started to listen.
const LAUNCH_TIMEOUT: Duration = Duration::from_secs(10);

/// Between launches, how long the client gives a supervisor that holds the lock to answer.
const LAUNCH_PATIENCE: Duration = Duration::from_millis(100);
/// How long a request that is answered at once (`ps`, a dry run) waits for its answer: no
/// command, and no agent's call, hangs on a supervisor that stopped answering.
pub(crate) const ANSWER_WAIT: Duration = Duration::from_secs(30);

/// Where the project is, as the user said it (`-f FILE`, `-C DIR`); found from the current
/// folder when neither is given.
#[derive(Clone, Debug, Default)]
pub(crate) struct Place {
    pub(crate) file: Option<PathBuf>,
    pub(crate) directory: Option<PathBuf>,
}

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
    pub(crate) fn open(place: &Place) -> Result<Self, ClientError> {
        Self::open_with(place, false)
    }

    /// Like `open`, but a folder with no manifest is a project too (for ad-hoc services).
    pub(crate) fn open_any(place: &Place) -> Result<Self, ClientError> {
        Self::open_with(place, true)
    }

    /// The services of the manifest (none without one, or with a broken one).
    pub(crate) fn manifest_names(&self) -> Vec<String> {
        self.loaded.as_ref().map(|l| l.spec.services.keys().cloned().collect()).unwrap_or_default()
    }

    /// The manifest's scaled services, by the name each group of replicas goes by (`web`).
    pub(crate) fn manifest_groups(&self) -> Vec<String> {
        self.loaded.as_ref().map(|l| l.spec.groups.keys().cloned().collect()).unwrap_or_default()
    }

    /// The project, for commands that only look at what runs (`ps`, `logs`, `stop`, `down`):
    /// they must work while the manifest is broken, so its problems are not theirs to report.
    pub(crate) fn open_lenient(place: &Place) -> Result<Self, ClientError> {
        match Self::open_with(place, true) {
            Err(ClientError::Manifest(_)) => {
                let options = LoadOptions::from_process();
                let dir = place.directory.as_deref();
                let path = project::discover(&options.display_base, dir, place.file.as_deref())?.path;
                let root = path.parent().map(PathBuf::from).unwrap_or_default();
                Ok(Self { paths: ProjectPaths::new(&root), loaded: None, options, manifest: Some(path) })
            }
            other => other,
        }
    }

    /// The project only: where it is, found as [`Session::open`] finds it, with neither the
    /// manifest nor state.json read (a thousand services make both slow to parse). For what
    /// the supervisor alone answers: `ps` of every service.
    pub(crate) fn locate(place: &Place) -> Result<Self, ClientError> {
        let options = LoadOptions::from_process();
        match project::discover(&options.display_base, place.directory.as_deref(), place.file.as_deref()) {
            Ok(found) => {
                let root = found.path.parent().map(PathBuf::from).unwrap_or_default();
                Ok(Self { paths: ProjectPaths::new(&root), loaded: None, options, manifest: Some(found.path) })
            }
            Err(DiscoverError::NotFound(start)) => {
                Ok(Self { paths: ProjectPaths::new(&start), loaded: None, options, manifest: None })
            }
            Err(e) => Err(e.into()),
        }
    }

    fn open_with(place: &Place, allow_missing: bool) -> Result<Self, ClientError> {
        let options = LoadOptions::from_process();
        let found = project::discover(&options.display_base, place.directory.as_deref(), place.file.as_deref());
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
        let mut loaded = manifest::load(&path, &options).map_err(ClientError::Manifest)?;
        loaded.warnings.splice(0..0, note.map(Problem::note));
        let paths = ProjectPaths::new(&loaded.spec.root);
        Ok(Self { paths, loaded: Some(loaded), options, manifest })
    }

    pub(crate) fn origin(&self) -> Origin {
        Origin { manifest: self.manifest.clone(), env: self.options.env.clone() }
    }

    /// A connection to the running supervisor; None when none runs. A supervisor that holds
    /// the lock but does not answer is an error, never "nothing runs".
    pub(crate) fn connect(&self) -> Result<Option<Connection>, ClientError> {
        match locate::find(&self.paths, locate::PATIENCE).map_err(located)? {
            Found::Connected(conn) => Ok(Some(conn)),
            Found::NotRunning => Ok(None),
        }
    }

    /// A connection to the running supervisor or, when none runs but something of the project
    /// does (its supervisor died), to a new one that adopts what runs; None when nothing runs.
    /// What runs is what state.json records, and with `markers` also any process carrying the
    /// project's marker (for `down`, which must leave nothing even when the record is lost).
    pub(crate) fn connect_or_adopt(
        &self,
        markers: bool,
        on: &mut dyn FnMut(Notice),
    ) -> Result<Option<Connection>, ClientError> {
        match self.connect()? {
            Some(conn) => Ok(Some(conn)),
            None if leftovers_run(&self.paths, markers) => self.connect_or_launch(on).map(Some),
            None => Ok(None),
        }
    }

    /// A connection to the supervisor, starting one when none runs.
    pub(crate) fn connect_or_launch(&self, on: &mut dyn FnMut(Notice)) -> Result<Connection, ClientError> {
        if let Some(conn) = self.connect()? {
            return Ok(conn);
        }
        self.prepare_launch()?;
        if let Some(note) = &self.paths.runtime_note {
            on(Notice::Note(note));
        }
        if let Some(conn) = self.launch_handing_socket()? {
            return Ok(conn);
        }
        let deadline = Instant::now() + LAUNCH_TIMEOUT;
        let mut launched: Option<Instant> = None;
        loop {
            // Launch again now and then: the one launched may have found the lock still held by
            // a supervisor on its way out (after a `down` that came first, or a SIGKILL), and
            // left. Extra ones find the lock taken and leave at once.
            if launched.is_none_or(|at| at.elapsed() >= RELAUNCH) {
                launch(&self.paths, None).map_err(cannot_start)?;
                launched = Some(Instant::now());
            }
            match locate::find(&self.paths, LAUNCH_PATIENCE) {
                Ok(Found::Connected(conn)) => return Ok(conn),
                Ok(Found::NotRunning) => std::thread::sleep(Duration::from_millis(2)),
                Err(LocateError::Unresponsive { .. }) if Instant::now() < deadline => {}
                Err(e) => return Err(located(e)),
            }
            if Instant::now() >= deadline {
                return Err(self.not_listening());
            }
        }
    }

    /// The first launch: the supervisor gets a socket this client is already connected to, so
    /// the hello is answered as soon as it serves, with no connect retried. None when it does
    /// not serve it (it found the lock held, by a supervisor starting or on its way out): then
    /// the client looks for the one that does.
    fn launch_handing_socket(&self) -> Result<Option<Connection>, ClientError> {
        let Ok(handoff) = Handoff::bind(&self.paths) else { return Ok(None) };
        launch(&self.paths, Some(&handoff)).map_err(cannot_start)?;
        let path = handoff.path().to_path_buf();
        match Connection::greet(handoff.into_stream(), &path, LAUNCH_TIMEOUT) {
            Ok(conn) => Ok(Some(conn)),
            Err(ConnectError::NoAnswer(_)) => Err(self.not_listening()),
            Err(_) => {
                let _ = std::fs::remove_file(&path);
                Ok(None)
            }
        }
    }

    fn not_listening(&self) -> ClientError {
        ClientError::Failed(format!(
            "the supervisor did not start listening within {}s; see {}",
            LAUNCH_TIMEOUT.as_secs(),
            self.paths.supervisor_log().display()
        ))
    }

    /// What a supervisor needs before it can start, checked here so a problem is told with
    /// the folder it is about (not as a supervisor that never listens).
    fn prepare_launch(&self) -> Result<(), ClientError> {
        self.paths.create_dirs().map_err(|e| {
            // The error may name the folder already (`/p/.orch: Permission denied`).
            let folder = self.paths.dir.display().to_string();
            let detail = e.to_string();
            let detail = detail.strip_prefix(&format!("{folder}: ")).unwrap_or(&detail);
            ClientError::Failed(format!("cannot create {folder}: {detail}"))
        })?;
        self.paths
            .create_runtime_dir()
            .map_err(|e| ClientError::Failed(format!("cannot use the socket folder: {e}")))?;
        Ok(())
    }
}

fn cannot_start(e: std::io::Error) -> ClientError {
    ClientError::Failed(format!("cannot start the supervisor: {e}"))
}

/// Sends a request and returns its replies, through the final one.
pub(crate) fn request(conn: &mut Connection, request: Request) -> Result<Vec<Reply>, ClientError> {
    request_within(conn, request, ANSWER_WAIT)
}

/// [`request`], waiting at most `wait` for the answer.
pub(crate) fn request_within(
    conn: &mut Connection,
    request: Request,
    wait: Duration,
) -> Result<Vec<Reply>, ClientError> {
    conn.send(request).map_err(lost)?;
    conn.set_timeout(Some(wait.max(Duration::from_millis(1)))).map_err(lost)?;
    let unanswered = |e: std::io::Error| {
        if !is_timeout(&e) {
            return lost(e);
        }
        ClientError::Failed(format!(
            "the supervisor did not answer within {}; it may be stuck (its log is .orch/supervisor.log)",
            crate::manifest::HumanDuration(wait)
        ))
    };
    let mut replies = Vec::new();
    while let Some(reply) = conn.next_reply().map_err(unanswered)? {
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
        && state.services.values().any(|r| r.process.as_ref().is_some_and(crate::sys::linux::is_alive))
    {
        return true;
    }
    markers && !crate::sys::linux::marked(&paths.root.display().to_string()).is_empty()
}

fn located(e: LocateError) -> ClientError {
    ClientError::Failed(e.to_string())
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
