//! `orch mcp`: the client's verbs as Model Context Protocol tools, for coding agents. JSON-RPC
//! 2.0 over the process's stdin and stdout (one message a line, at most 4 MiB), served with the
//! official SDK (`rmcp`) once [`framing`] has answered every line rmcp would drop in silence;
//! nothing listens on a network port. An adapter with no logic of its own: each tool is an
//! operation of the client library ([`crate::client::ops`]), the same the CLI renders, worded
//! for an agent (see [`actions`]); only protocol messages are written to stdout.
//!
//! Protocol versions: rmcp's own negotiation, which does what MCP asks (tests/cli/mcp.rs checks
//! it): `initialize` is answered with the client's version when it is one that has an
//! `initialize` handshake (2024-11-05, 2025-03-26, 2025-06-18, 2025-11-25), and with the newest
//! of those otherwise.

mod actions;
mod announce;
mod args;
mod coerce;
pub(crate) mod framing;
mod log_reply;
mod outputs;

use std::path::PathBuf;
use std::sync::Arc;

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::tool::ToolCallContext;
use rmcp::handler::server::wrapper::Parameters;
#[allow(deprecated, reason = "logging/setLevel is the opt-in of the clients before protocol 2026-07-28")]
use rmcp::model::SetLevelRequestParams;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation, ListResourcesResult,
    PaginatedRequestParams, ReadResourceRequestParams, ReadResourceResponse, ReadResourceResult, Resource,
    ResourceContents, ServerCapabilities, ServerConfig, SubscribeRequestParams, UnsubscribeRequestParams,
};
use rmcp::service::{RequestContext, ServerInitializeError};
use rmcp::{ErrorData, RoleServer, ServerHandler, ServiceExt, tool, tool_handler, tool_router};

use crate::client::Place;
use announce::{Announcer, STATUS_URI};
use args::input_schema;
use outputs::{Shape, schema as output_schema};

pub(crate) use actions::{Answer, ToolResult};
pub(crate) use args::{DownArgs, LogsArgs, NameArgs, PsArgs, ScaleArgs, StartArgs, UpArgs, WaitArgs};

/// The MCP server of one project.
#[derive(Clone)]
pub(crate) struct Server {
    place: Arc<Place>,
    /// The project root, for the instructions.
    root: PathBuf,
    /// Whether `start` may run a command of the agent's own (`--no-adhoc` and `[mcp] adhoc`).
    adhoc: bool,
    announcer: Announcer,
    tool_router: ToolRouter<Self>,
}

#[tool_router]
impl Server {
    #[tool(
        description = "Start the project's services (all of procs.toml's, or the ones named, with what they depend on) \
                       and wait until each is ready, at most `timeout` (30s). Returns per service the outcome: ready, \
                       running, completed, or failed with the reason and its last log lines; cut short by the \
                       timeout, how far each got. Services that already run are left alone, so a retry is safe.",
        input_schema = input_schema::<UpArgs>(),
        output_schema = output_schema(Shape::Outcomes),
        annotations(read_only_hint = false, destructive_hint = false, idempotent_hint = true, open_world_hint = false)
    )]
    async fn up(&self, Parameters(args): Parameters<UpArgs>) -> CallToolResult {
        self.run(move |place| actions::up(place, args)).await
    }

    #[tool(
        description = "Stop services and the services that depend on them, dependents first; with no names, stop \
                       everything (ad-hoc services too) and the project's supervisor. Waits at most `timeout` (30s).",
        input_schema = input_schema::<DownArgs>(),
        output_schema = output_schema(Shape::Outcomes),
        annotations(read_only_hint = false, destructive_hint = true, idempotent_hint = true, open_world_hint = false)
    )]
    async fn down(&self, Parameters(args): Parameters<DownArgs>) -> CallToolResult {
        self.run(move |place| actions::down(place, args)).await
    }

    #[tool(
        description = "List the services and how they are: state (with the reason of any unhappy one, and what a \
                       starting one waits for), pid, uptime, restarts, readiness, cpu, memory, ad-hoc or not, and \
                       where to connect: `ports` (the TCP ports its processes listen on), `port` and `url`.",
        input_schema = input_schema::<PsArgs>(),
        output_schema = output_schema(Shape::Ps),
        annotations(read_only_hint = true, idempotent_hint = true, open_world_hint = false)
    )]
    async fn ps(&self, Parameters(args): Parameters<PsArgs>) -> CallToolResult {
        self.run(move |place| actions::ps(place, args)).await
    }

    #[tool(
        description = "Wait, in one call, until services are ready (or `until` = stopped / completed), one of them \
                       can no longer get there, or `timeout` (30s) passes. Returns each service's state, the check it \
                       waits on with what the check last saw, its ports, and its last 10 log lines. Use it instead \
                       of calling `ps` in a loop.",
        input_schema = input_schema::<WaitArgs>(),
        output_schema = output_schema(Shape::Wait),
        annotations(read_only_hint = true, idempotent_hint = true, open_world_hint = false)
    )]
    async fn wait(&self, Parameters(args): Parameters<WaitArgs>) -> CallToolResult {
        self.run(move |place| actions::wait(place, args)).await
    }

    #[tool(
        description = "Read the services' output (stdout and stderr), oldest first and newest last: one service's, or \
                       all merged in time order as `service | line`. The last `tail` (100) lines, only those matching \
                       `grep` when given, within `max_bytes` (64 KB; the answer says what it cut). Does not follow.",
        input_schema = input_schema::<LogsArgs>(),
        output_schema = output_schema(Shape::Logs),
        annotations(read_only_hint = true, idempotent_hint = true, open_world_hint = false)
    )]
    async fn logs(&self, Parameters(args): Parameters<LogsArgs>) -> CallToolResult {
        self.run(move |place| actions::logs(place, args)).await
    }

    #[tool(
        description = "Start one service. Without `command`: the manifest's service `name`, with what it depends on. \
                       With `command`: an ad-hoc service the manifest does not know (a server you need for a while), \
                       run under `sh -c` in the project root or `cwd`; it shows in `ps` and `logs` and runs until \
                       `stop` or `down`. The same command again is left running (a retry is safe); another command \
                       under a running name is an error unless `replace` is true. With `ready` (e.g. \
                       {\"tcp\": \"127.0.0.1:3000\"}) the call returns once the check passes, or fails with the \
                       reason and the last log lines; at most `timeout` (30s).",
        input_schema = input_schema::<StartArgs>(),
        output_schema = output_schema(Shape::Outcomes),
        annotations(read_only_hint = false, destructive_hint = false, idempotent_hint = true, open_world_hint = false)
    )]
    async fn start(&self, Parameters(args): Parameters<StartArgs>) -> CallToolResult {
        let adhoc = self.adhoc;
        self.run(move |place| actions::start(place, args, adhoc)).await
    }

    #[tool(
        description = "Stop one service (of the manifest, or an ad-hoc one) and the services that depend on it; waits \
                       until its whole process group is gone, at most `timeout` (30s).",
        input_schema = input_schema::<NameArgs>(),
        output_schema = output_schema(Shape::Outcomes),
        annotations(read_only_hint = false, destructive_hint = true, idempotent_hint = true, open_world_hint = false)
    )]
    async fn stop(&self, Parameters(args): Parameters<NameArgs>) -> CallToolResult {
        self.run(move |place| actions::stop(place, args)).await
    }

    #[tool(
        description = "Run this many replicas of one of the manifest's services (`NAME.1` … `NAME.N`, each with its \
                       own $PORT): the new ones start and are waited on, the ones left over stop; 0 stops them all. \
                       Lasts until the next `up` of the service. At most `timeout` (30s).",
        input_schema = input_schema::<ScaleArgs>(),
        output_schema = output_schema(Shape::Outcomes),
        annotations(read_only_hint = false, destructive_hint = true, idempotent_hint = true, open_world_hint = false)
    )]
    async fn scale(&self, Parameters(args): Parameters<ScaleArgs>) -> CallToolResult {
        self.run(move |place| actions::scale(place, args)).await
    }

    #[tool(
        description = "Stop one service and start it again (its dependencies are brought up if they are not), and \
                       wait until it is ready, at most `timeout` (30s); a scaled service's name restarts all its \
                       replicas (one at a time with `rolling = true`). Takes the manifest as it is now.",
        input_schema = input_schema::<NameArgs>(),
        output_schema = output_schema(Shape::Outcomes),
        annotations(read_only_hint = false, destructive_hint = true, idempotent_hint = false, open_world_hint = false)
    )]
    async fn restart(&self, Parameters(args): Parameters<NameArgs>) -> CallToolResult {
        self.run(move |place| actions::restart(place, args)).await
    }
}

impl Server {
    pub(crate) fn new(place: Place, root: PathBuf, adhoc: bool) -> Self {
        Self { place: Arc::new(place), root, adhoc, announcer: Announcer::default(), tool_router: Self::tool_router() }
    }

    /// Runs a tool's blocking work on tokio's blocking pool. A panic in it is a failed call,
    /// not a dead server.
    async fn run(&self, work: impl FnOnce(&Place) -> ToolResult<Answer> + Send + 'static) -> CallToolResult {
        let place = self.place.clone();
        let answer = match tokio::task::spawn_blocking(move || work(&place)).await {
            Ok(Ok(answer) | Err(answer)) => answer,
            Err(e) => Answer::failed(format!("orch failed inside this call: {e}")),
        };
        to_result(&answer)
    }

    fn instructions(&self) -> String {
        let adhoc = if self.adhoc {
            "or `start` with `command` (and `ready`, e.g. {\"tcp\": \"127.0.0.1:8000\"}) for a server of your own"
        } else {
            "(ad-hoc commands are turned off here: only the manifest's services can be started)"
        };
        format!(
            "orch runs the services of the project at {root} (its procs.toml or Procfile) under a small supervisor. \
             The workflow: 1. `up` starts the manifest's services, {adhoc}. 2. `wait` until they are ready (one \
             call; it returns the failing check and the last lines), never `ps` in a loop. 3. `ps` says where each \
             listens (`ports`, `url`). 4. `logs` with `grep` (and `tail`, `since`) reads their output; it never \
             follows. 5. `down` at the end (or `stop` one). Every call returns within its `timeout` (30s). Retries \
             are safe: `up` and `start` of what already runs change nothing. Services keep running between calls \
             and after this session ends, until stopped.",
            root = self.root.display()
        )
    }

    /// The services as `ps` has them, as the status resource's text.
    async fn status_text(&self) -> String {
        let answer = self.run(|place| actions::ps(place, PsArgs::default())).await;
        answer.structured_content.map(|v| v.to_string()).unwrap_or_default()
    }
}

fn to_result(answer: &Answer) -> CallToolResult {
    let blocks = answer.blocks.iter().cloned().map(ContentBlock::text).collect();
    let mut result = if answer.failed { CallToolResult::error(blocks) } else { CallToolResult::success(blocks) };
    result.structured_content = Some(answer.structured());
    result
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Server {
    /// Arguments are first taken for what they plainly mean (`"20"` for a number, see
    /// [`coerce`]); then those that do not fit a tool (`"tail": "ten"`, a name like `../x`) are
    /// a tool error the agent can read (`isError`), naming the argument in plain words, before
    /// rmcp's router would say it in serde's ("expected usize").
    async fn call_tool(
        &self,
        mut request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        if let (Some(arguments), Some(tool)) = (request.arguments.as_mut(), self.tool_router.get(&request.name)) {
            coerce::coerce(arguments, &tool.input_schema);
        }
        if let Err(message) = args::check(&request.name, request.arguments.as_ref()) {
            let answer = Answer::failed(message);
            return Ok(to_result(&answer).into());
        }
        self.tool_router.call(ToolCallContext::new(self, request, context)).await
    }

    #[allow(deprecated, reason = "logging is the opt-in of the clients before protocol 2026-07-28")]
    fn get_info(&self) -> ServerConfig {
        let capabilities = ServerCapabilities::builder()
            .enable_tools()
            .enable_logging()
            .enable_resources()
            .enable_resources_subscribe()
            .build();
        ServerConfig::new(capabilities)
            .with_server_info(Implementation::new("orch", env!("CARGO_PKG_VERSION")))
            .with_instructions(self.instructions())
    }

    /// The opt-in to notifications of every change of a service's state.
    #[allow(deprecated, reason = "logging/setLevel is the opt-in of the clients before protocol 2026-07-28")]
    async fn set_level(
        &self,
        request: SetLevelRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.announcer.set_level(&self.place, context.peer, request.level).await;
        Ok(())
    }

    async fn list_resources(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let resource = Resource::new(STATUS_URI, "services")
            .with_description("The project's services as the `ps` tool returns them; subscribe to be told of changes.")
            .with_mime_type("application/json");
        Ok(ListResourcesResult::with_all_items(vec![resource]))
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        if request.uri != STATUS_URI {
            return Err(ErrorData::resource_not_found(
                format!("no resource {}; there is {STATUS_URI}", request.uri),
                None,
            ));
        }
        let contents = ResourceContents::text(self.status_text().await, STATUS_URI).with_mime_type("application/json");
        Ok(ReadResourceResult::new(vec![contents]).into())
    }

    /// The opt-in to a notice each time the services' state changes.
    async fn subscribe(
        &self,
        request: SubscribeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        if request.uri != STATUS_URI {
            return Err(ErrorData::resource_not_found(
                format!("no resource {}; there is {STATUS_URI}", request.uri),
                None,
            ));
        }
        self.announcer.subscribe_status(&self.place, context.peer, true).await;
        Ok(())
    }

    async fn unsubscribe(
        &self,
        _request: UnsubscribeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        self.announcer.subscribe_status(&self.place, context.peer, false).await;
        Ok(())
    }
}

/// Serves the project's tools on stdin/stdout until stdin closes.
pub(crate) fn serve(place: Place, root: PathBuf, adhoc: bool) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    let result = runtime.block_on(async {
        // stdin → checked lines → rmcp; rmcp's lines and the errors for the others → stdout.
        let (rmcp_input, to_rmcp) = tokio::io::duplex(64 * 1024);
        let (from_rmcp, rmcp_output) = tokio::io::duplex(64 * 1024);
        let (answers, answered) = tokio::sync::mpsc::unbounded_channel();
        let reader = tokio::spawn(framing::read_input(tokio::io::stdin(), to_rmcp, answers));
        let writer = tokio::spawn(framing::write_output(from_rmcp, answered, tokio::io::stdout()));
        let served = match Server::new(place, root, adhoc).serve((rmcp_input, rmcp_output)).await {
            Ok(running) => running.waiting().await.map(drop).map_err(|e| format!("the MCP server stopped: {e}")),
            // stdin closed before the client said anything: nothing to serve.
            Err(ServerInitializeError::ConnectionClosed(_)) => Ok(()),
            Err(e) => Err(format!("the MCP session did not start: {e}")),
        };
        // rmcp is done once stdin ended (or on its own): what is left to say is still said.
        reader.abort();
        let _ = writer.await;
        served
    });
    // A call still waiting on the supervisor is abandoned; its request goes on there.
    runtime.shutdown_background();
    result
}
