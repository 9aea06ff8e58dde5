//! `orch dashboard`: a local web page for the project, and a JSON API under it, served as a
//! client of the project's supervisor (every answer comes from the client library, as `ps`,
//! `logs` and `restart` have them).
//!
//! Safe by construction: it listens on the loopback only ([`bind`]), and answers only
//! requests that name it as the loopback, come from its own page or a script, and carry the
//! token it printed ([`guard`]); every answer forbids framing, sniffing and anything the page
//! did not bring itself (a strict Content-Security-Policy over assets embedded in the binary,
//! [`assets`]). What services write reaches the page as JSON text, never as markup.
//!
//! - [`api`]: the JSON API (`/api/services`, the actions, the logs, the graph).
//! - [`events`]: `/api/events`, the subscription as Server-Sent Events, paced ([`pacer`]).
//! - [`graph_svg`]: the dependency graph, drawn.

mod api;
mod assets;
mod bind;
mod events;
mod graph_svg;
mod guard;
mod outbox;
mod pacer;
mod token;

use std::io::Write;
use std::net::TcpListener;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use tokio::signal::unix::{SignalKind, signal};

use crate::client::follow::Wait;
use crate::client::{ClientError, Place, Session, ops};
use crate::exit::Exit;
use guard::{Asked, Credential, Guard};
use token::Token;

/// What `orch dashboard` is asked for.
#[derive(Clone, Debug, Default)]
pub(crate) struct Options {
    pub(crate) port: Option<u16>,
    pub(crate) open: bool,
    /// Only watch: do not start the project when nothing runs.
    pub(crate) no_up: bool,
}

/// What every handler shares: where the project is, and who may ask.
pub(crate) struct Shared {
    pub(crate) place: Place,
    pub(crate) paths: crate::paths::ProjectPaths,
    pub(crate) guard: Guard,
}

pub(crate) fn run(place: &Place, options: &Options) -> Result<Exit, ClientError> {
    let session = Session::open_lenient(place)?;
    if !options.no_up && session.connect()?.is_none() && session.loaded.is_some() {
        eprintln!("orch: starting the project…");
        // The page shows them coming up: the URL is not held back until they are.
        let up = ops::Up { no_wait: true, ..ops::Up::default() };
        ops::up(&session, &up, Wait::default(), &mut |_| {})?;
    }
    let failed = |what: &str, e: std::io::Error| ClientError::Failed(format!("the dashboard {what}: {e}"));
    let (listeners, port) = bind::loopback(options.port).map_err(|e| match options.port {
        Some(port) => failed(&format!("cannot listen on 127.0.0.1:{port}"), e),
        None => failed("cannot listen on the loopback", e),
    })?;
    let guard = Guard::new(Token::new().map_err(|e| failed("has no random token", e))?, port);
    let url = format!("http://127.0.0.1:{port}/?token={}", guard.token().as_str());
    let shared = Arc::new(Shared { place: place.clone(), paths: session.paths.clone(), guard });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| failed("cannot start", e))?;
    let served = runtime.block_on(serve(listeners, shared, &url, options.open));
    // Event streams hold threads of their own: they end with the process, not before it.
    runtime.shutdown_background();
    served.map_err(|e| failed("stopped", e))?;
    eprintln!("orch dashboard: stopped; the services keep running");
    Ok(Exit::Success)
}

/// Serves on every listener until Ctrl-C or SIGTERM.
async fn serve(listeners: Vec<TcpListener>, shared: Arc<Shared>, url: &str, open: bool) -> std::io::Result<()> {
    let app = router(shared.clone());
    let mut servers = tokio::task::JoinSet::new();
    for listener in listeners {
        listener.set_nonblocking(true)?;
        let listener = tokio::net::TcpListener::from_std(listener)?;
        servers.spawn(axum::serve(listener, app.clone()).into_future());
    }
    // Ctrl-C ends the dashboard cleanly from the moment its URL can be read.
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    // The URL alone on stdout, for a script to read; the words for a person on stderr.
    println!("{url}");
    eprintln!("orch dashboard: the URL above opens the project's page (its token lets you in: keep it to yourself)");
    eprintln!("orch dashboard: Ctrl-C stops the dashboard; the services keep running");
    let opener = open.then(|| Opener::open(&shared.paths, shared.guard.port(), url));
    let ended = tokio::select! {
        _ = interrupt.recv() => Ok(()),
        _ = terminate.recv() => Ok(()),
        Some(ended) = servers.join_next() => match ended {
            Ok(result) => result,
            Err(e) => Err(std::io::Error::other(e)),
        },
    };
    drop(opener);
    ended
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/", get(assets::page))
        .route("/assets/app.js", get(assets::script))
        .route("/assets/app.css", get(assets::style))
        .route("/api/project", get(api::project))
        .route("/api/services", get(api::services))
        .route("/api/services/{name}/{action}", post(api::act))
        .route("/api/logs", get(api::logs))
        .route("/api/graph.svg", get(api::graph))
        .route("/api/events", get(events::stream))
        // Asked for by every browser: nothing, rather than a 404 in the page's console.
        .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }))
        .fallback(|| async { api::Failure::new(StatusCode::NOT_FOUND, "no such page").into_response() })
        .method_not_allowed_fallback(|| async {
            api::Failure::new(StatusCode::METHOD_NOT_ALLOWED, "not with this method: a change is a POST")
                .into_response()
        })
        .layer(middleware::from_fn_with_state(shared.clone(), guarded))
        .with_state(shared)
}

/// Every request passes the guard first; every answer, a denial included, carries the headers
/// that keep it to this page.
async fn guarded(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let verdict = {
        let headers = request.headers();
        let asked = Asked {
            safe: matches!(*request.method(), Method::GET | Method::HEAD),
            host: only(headers, header::HOST),
            origin: only(headers, header::ORIGIN),
            cookie: only(headers, header::COOKIE),
            authorization: only(headers, header::AUTHORIZATION),
            query: request.uri().query(),
        };
        shared.guard.check(&asked)
    };
    let mut response = match verdict {
        Err(denied) => api::Failure::new(denied.status(), denied.message()).into_response(),
        // The printed URL: the page, with its token traded for the cookie (the page then takes
        // the token out of the address bar). Served at once rather than redirected, so a client
        // that follows redirects without keeping cookies (curl -L, a script) gets the page too.
        Ok(Credential::Query) if request.uri().path() == "/" && request.method() == Method::GET => {
            let mut response = next.run(request).await;
            if let Ok(cookie) = HeaderValue::from_str(&shared.guard.set_cookie()) {
                response.headers_mut().insert(header::SET_COOKIE, cookie);
            }
            response
        }
        Ok(_) => next.run(request).await,
    };
    assets::secure(response.headers_mut());
    response
}

/// A header given once, as text. One given twice (a smuggling attempt) or not as visible ASCII
/// is told as an empty one: a wrong value, which the guard refuses, never a missing one that
/// would let it look elsewhere.
fn only(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    let mut values = headers.get_all(name).iter();
    let first = values.next()?;
    if values.next().is_some() {
        return Some("");
    }
    Some(first.to_str().unwrap_or(""))
}

/// `--open`: the desktop's browser, handed a file of the project's that sends it on to the URL,
/// not the URL itself: a command line is anyone's to read (`/proc/PID/cmdline`), and the
/// URL holds the token. The file (0600, in `.orch/`) is removed when the dashboard ends.
struct Opener {
    file: Option<std::path::PathBuf>,
}

impl Opener {
    fn open(paths: &crate::paths::ProjectPaths, port: u16, url: &str) -> Self {
        let name = format!("dashboard-{port}.html");
        let page = format!(
            "<!doctype html><meta charset=\"utf-8\"><meta name=\"referrer\" content=\"no-referrer\">\
             <meta http-equiv=\"refresh\" content=\"0;url={url}\"><title>orch dashboard</title>\
             <a href=\"{url}\">orch dashboard</a>\n"
        );
        let written = paths.create_dirs().and_then(|dir| {
            let _ = dir.remove(&name);
            dir.open(&name, crate::safe_fs::Access::CreateNew)?.write_all(page.as_bytes())?;
            Ok(dir.path().join(&name))
        });
        let file = match written {
            Ok(file) => file,
            Err(e) => {
                eprintln!("orch dashboard: cannot open a browser ({e}); open the URL yourself");
                return Self { file: None };
            }
        };
        let opener = if cfg!(target_os = "macos") { "open" } else { "xdg-open" };
        let spawned = std::process::Command::new(opener)
            .arg(&file)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn();
        match spawned {
            // Reaped by a thread of its own: no zombie while the dashboard runs.
            Ok(mut child) => drop(std::thread::spawn(move || child.wait())),
            Err(e) => eprintln!("orch dashboard: cannot open a browser ({opener}: {e}); open the URL yourself"),
        }
        Self { file: Some(file) }
    }
}

impl Drop for Opener {
    fn drop(&mut self) {
        if let Some(file) = &self.file {
            let _ = std::fs::remove_file(file);
        }
    }
}
