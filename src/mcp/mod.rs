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
mod args;
pub(crate) mod framing;

use std::path::PathBuf;
use std::sync::Arc;

use rmcp::handler::server::router::tool::ToolRouter;
use rmcp::handler::server::tool::ToolCallContext;
use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation, ServerCapabilities,
    ServerConfig,
};
use rmcp::service::{RequestContext, ServerInitializeError};
use rmcp::{ErrorData, RoleServer, ServerHandler, ServiceExt, tool, tool_handler, tool_router};

use crate::client::Place;

pub(crate) use actions::{Answer, ToolResult};
pub(crate) use args::{DownArgs, LogsArgs, NameArgs, PsArgs, StartArgs, UpArgs};

/// The MCP server of one project.
#[derive(Clone)]
pub(crate) struct Server {
    place: Arc<Place>,
    /// The project root, for the instructions.
    root: PathBuf,
    tool_router: ToolRouter<Self>,
}

#[tool_router]
impl Server {
    #[tool(
        description = "Start the project's services (all of procs.toml's, or the ones named, with what they depend on) \
                       and wait until each is ready. Returns per service the outcome: ready, running, completed, or \
                       failed with the reason and its last log lines. Services that already run are left alone.",
        annotations(destructive_hint = false, idempotent_hint = true, open_world_hint = false)
    )]
    async fn up(&self, Parameters(args): Parameters<UpArgs>) -> CallToolResult {
        self.run(move |place| actions::up(place, args)).await
    }

    #[tool(
        description = "Stop services and the services that depend on them, dependents first; with no names, stop \
                       everything (ad-hoc services too) and the project's supervisor.",
        annotations(destructive_hint = true, idempotent_hint = true, open_world_hint = false)
    )]
    async fn down(&self, Parameters(args): Parameters<DownArgs>) -> CallToolResult {
        self.run(move |place| actions::down(place, args)).await
    }

    #[tool(
        description = "List the services and how they are: state (with the reason of any unhappy one), pid, uptime, \
                       restarts, readiness, cpu, memory, ad-hoc or not. The same JSON array as `orch ps --json`.",
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn ps(&self, Parameters(args): Parameters<PsArgs>) -> CallToolResult {
        self.run(move |place| actions::ps(place, args)).await
    }

    #[tool(
        description = "Read the services' output (stdout and stderr), oldest first and newest last: one service's, or \
                       all merged in time order as `service | line`. The last 100 lines unless `lines` says otherwise.",
        annotations(read_only_hint = true, open_world_hint = false)
    )]
    async fn logs(&self, Parameters(args): Parameters<LogsArgs>) -> CallToolResult {
        self.run(move |place| actions::logs(place, args)).await
    }

    #[tool(
        description = "Start one service. Without `command`: the manifest's service `name`, with what it depends on. \
                       With `command`: an ad-hoc service the manifest does not know (a server you need for a while), \
                       run under `sh -c` in the project root or `cwd`; it shows in `ps` and `logs` and runs until \
                       `stop` or `down`. With `ready` (e.g. {\"tcp\": \"127.0.0.1:3000\"}) the call returns once the \
                       check passes, or fails with the reason and the last log lines.",
        annotations(destructive_hint = false, open_world_hint = false)
    )]
    async fn start(&self, Parameters(args): Parameters<StartArgs>) -> CallToolResult {
        self.run(move |place| actions::start(place, args)).await
    }

    #[tool(
        description = "Stop one service (of the manifest, or an ad-hoc one) and the services that depend on it; waits \
                       until its whole process group is gone.",
        annotations(destructive_hint = true, idempotent_hint = true, open_world_hint = false)
    )]
    async fn stop(&self, Parameters(args): Parameters<NameArgs>) -> CallToolResult {
        self.run(move |place| actions::stop(place, args)).await
    }

    #[tool(
        description = "Stop one service and start it again (its dependencies are brought up if they are not), and \
                       wait until it is ready. Takes the manifest as it is now.",
        annotations(destructive_hint = true, open_world_hint = false)
    )]
    async fn restart(&self, Parameters(args): Parameters<NameArgs>) -> CallToolResult {
        self.run(move |place| actions::restart(place, args)).await
    }
}

impl Server {
    pub(crate) fn new(place: Place, root: PathBuf) -> Self {
        Self { place: Arc::new(place), root, tool_router: Self::tool_router() }
    }

    /// Runs a tool's blocking work on tokio's blocking pool. A panic in it is a failed call,
    /// not a dead server.
    async fn run(&self, work: impl FnOnce(&Place) -> ToolResult<Answer> + Send + 'static) -> CallToolResult {
        let place = self.place.clone();
        let answer = match tokio::task::spawn_blocking(move || work(&place)).await {
            Ok(Ok(answer) | Err(answer)) => answer,
            Err(e) => Answer::failed(format!("orch failed inside this call: {e}")),
        };
        to_result(answer)
    }

    fn instructions(&self) -> String {
        format!(
            "orch runs the services of the project at {root} (its procs.toml or Procfile) under a small supervisor, \
             and ad-hoc services you start yourself. `ps` shows what runs; `up` starts the manifest's services and \
             waits until they are ready; `start` with `command` (and `ready`) starts a server of your own; `logs` \
             reads their output; `restart`, `stop` and `down` do what they say. Services keep running between \
             calls and after this server exits, until stopped.",
            root = self.root.display()
        )
    }
}

fn to_result(answer: Answer) -> CallToolResult {
    let blocks = answer.blocks.into_iter().map(ContentBlock::text).collect();
    let mut result = if answer.failed { CallToolResult::error(blocks) } else { CallToolResult::success(blocks) };
    result.structured_content = answer.json;
    result
}

#[tool_handler(router = self.tool_router)]
impl ServerHandler for Server {
    /// Arguments that do not fit a tool (`"lines": "ten"`, a name like `../x`) are a tool error
    /// the agent can read (`isError`), naming the argument in plain words, before rmcp's router
    /// would say it in serde's ("expected usize").
    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        if let Err(message) = args::check(&request.name, request.arguments.as_ref()) {
            return Ok(CallToolResult::error(vec![ContentBlock::text(message)]).into());
        }
        self.tool_router.call(ToolCallContext::new(self, request, context)).await
    }

    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("orch", env!("CARGO_PKG_VERSION")))
            .with_instructions(self.instructions())
    }
}

/// Serves the project's tools on stdin/stdout until stdin closes.
pub(crate) fn serve(place: Place, root: PathBuf) -> Result<(), String> {
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
        let served = match Server::new(place, root).serve((rmcp_input, rmcp_output)).await {
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
