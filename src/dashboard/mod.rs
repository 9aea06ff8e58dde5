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
mod pacer;
mod token;

use std::net::TcpListener;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

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
    let shared = Arc::new(Shared { place: place.clone(), guard });
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
    let app = router(shared);
    let mut servers = tokio::task::JoinSet::new();
    for listener in listeners {
        listener.set_nonblocking(true)?;
        let listener = tokio::net::TcpListener::from_std(listener)?;
        servers.spawn(axum::serve(listener, app.clone()).into_future());
    }
    // The URL alone on stdout, for a script to read; the words for a person on stderr.
    println!("{url}");
    eprintln!("orch dashboard: the URL above opens the project's page (its token lets you in: keep it to yourself)");
    eprintln!("orch dashboard: Ctrl-C stops the dashboard; the services keep running");
    if open {
        open_browser(url);
    }
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => Ok(()),
        _ = terminate.recv() => Ok(()),
        Some(ended) = servers.join_next() => match ended {
            Ok(result) => result,
            Err(e) => Err(std::io::Error::other(e)),
        },
    }
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
        Err(denied) => {
            let status = StatusCode::from_u16(denied.status()).unwrap_or(StatusCode::FORBIDDEN);
            api::Failure::new(status, denied.message()).into_response()
        }
        // The printed URL: its token becomes the cookie, and leaves the address bar (and the
        // history) at once.
        Ok(Credential::Query) if request.uri().path() == "/" && request.method() == Method::GET => {
            let mut response = (StatusCode::SEE_OTHER, [(header::LOCATION, "/")]).into_response();
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

/// A header given once, as text; one given twice (a smuggling attempt) or not as visible
/// ASCII counts as none given, which the guard refuses where it matters.
fn only(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    let mut values = headers.get_all(name).iter();
    let first = values.next()?;
    if values.next().is_some() {
        return Some("");
    }
    first.to_str().ok()
}

/// `--open`: the desktop's browser, told the URL; failing that, the user opens it.
fn open_browser(url: &str) {
    let opener = if cfg!(target_os = "macos") { "open" } else { "xdg-open" };
    let spawned = std::process::Command::new(opener)
        .arg(url)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    match spawned {
        // Reaped by a thread of its own: no zombie while the dashboard runs.
        Ok(mut child) => drop(std::thread::spawn(move || child.wait())),
        Err(e) => eprintln!("orch dashboard: cannot open a browser ({opener}: {e}); open the URL yourself"),
    }
}
