//! Procfile → Spec: each entry a service with no dependencies, the defaults of procs.toml, and
//! `PORT` and `PS` as foreman assigns them.

use indexmap::IndexMap;

use super::Context;
use super::command_line::CommandLine;
use super::dotenv;
use super::environment::Layers;
use super::name::{self, reserved};
use super::problem::{Problem, SourceFile};
use super::procfile::{self, Finding};
use super::replicas;
use super::spec::Service;
use crate::model::names::{MAX_SCALE, RESERVED_NAME, replica_name};

/// foreman's default base port; each entry gets base + 100 × its position.
const BASE_PORT: u32 = 5000;
const PORT_STEP: u32 = 100;

/// The global env, the services (replicas as services of their own), and the scaled ones.
pub(super) fn load(
    file: &SourceFile,
    ctx: &mut Context,
) -> (IndexMap<String, String>, IndexMap<String, Service>, IndexMap<String, u32>) {
    let parsed = procfile::parse(file.text());
    for finding in &parsed.findings {
        ctx.problems.push(match finding {
            Finding::Skipped { line, span } => Problem::warning(format!("line {line} is not `name: command`; skipped"))
                .at(file, span.clone(), "skipped")
                .help("a Procfile line is `name: command`, the name made of letters, digits, `-` and `_`"),
            Finding::Duplicate { name, first_line, span, .. } => {
                Problem::error(format!("`{name}` is defined twice (first on line {first_line})"))
                    .at(file, span.clone(), "again here")
                    .help("give each process a name of its own")
            }
        });
    }
    if parsed.entries.is_empty() && !ctx.has_errors() {
        ctx.problems.push(
            Problem::error(format!("{} defines no processes", file.name()))
                .at(file, 0..0, "no `name: command` line in this file")
                .help("add a line such as `web: python3 -m http.server 8000`"),
        );
    }
    let layers = ctx.dotenv_layers();
    let count = u32::try_from(parsed.entries.len()).unwrap_or(u32::MAX);
    let base_port = base_port(&layers, count, ctx);
    let mut services = IndexMap::new();
    let mut all_groups = IndexMap::new();
    for (position, entry) in (0u32..).zip(parsed.entries) {
        if let Some(problem) = name::invalid(&entry.name) {
            ctx.problems.push(problem.at(file, entry.name_span.clone(), "bad name"));
            continue;
        }
        if entry.name == RESERVED_NAME {
            ctx.problems.push(reserved(&entry.name).at(file, entry.name_span.clone(), "reserved"));
            continue;
        }
        // A Procfile has no `scale`: only `up --scale` and `orch scale` make replicas.
        let replicas = ctx.options.scale.get(&entry.name).map(|&n| n.min(MAX_SCALE));
        let groups: IndexMap<String, u32> = replicas.map(|n| (entry.name.clone(), n)).into_iter().collect();
        let last = position + 1 == count;
        if let Some(problem) =
            replicas.and_then(|n| ports_problem(&entry.name, n, base_port + PORT_STEP * position, last))
        {
            ctx.problems.push(problem.at(file, entry.name_span.clone(), "its replicas count up from its PORT"));
            continue;
        }
        for (own, replica) in replicas::instances(&entry.name, &groups) {
            let mut env = layers.fork(file, entry.name_span.clone(), &mut ctx.problems);
            // foreman's ports: 100 apart per process type, one apart per replica of it.
            let offset = replica.as_ref().map_or(0, |r| r.index - 1);
            env.set("PORT".into(), (base_port + PORT_STEP * position + offset).to_string());
            // foreman's and honcho's `$PS`: the process's name and its number.
            let ps = if replica.is_some() { own.clone() } else { replica_name(&entry.name, 1) };
            env.set("PS".into(), ps);
            let service = Service { replica, ..service(entry.command.clone(), ctx, env.overlay) };
            services.insert(own, service);
        }
        all_groups.extend(groups);
    }
    (layers.overlay, services, all_groups)
}

/// Why `replicas` of a process whose first port is `first` cannot each have a port of their
/// own: past 65535, or (but for the last process) into the next process's ports.
fn ports_problem(name: &str, replicas: u32, first: u32, last: bool) -> Option<Problem> {
    if first + replicas.saturating_sub(1) > u32::from(u16::MAX) {
        let replica = replica_name(name, replicas);
        return Some(
            Problem::error(format!("process `{name}`: `{replica}` would have a port above 65535"))
                .help("scale it to fewer replicas, or set a lower PORT"),
        );
    }
    (!last && replicas > PORT_STEP).then(|| {
        Problem::error(format!("process `{name}`: {replicas} replicas would take the next process's ports"))
            .help(format!("each process has {PORT_STEP} ports; scale it to at most {PORT_STEP} replicas"))
    })
}

/// The first process's port: `PORT` from orch's environment or `.env`, else foreman's 5000.
fn base_port(layers: &Layers, count: u32, ctx: &mut Context) -> u32 {
    let Some(port) = layers.get("PORT").filter(|p| !p.trim().is_empty()) else { return BASE_PORT };
    let from = if layers.overlay.contains_key("PORT") { ".env" } else { "orch's environment" };
    // Where .env sets it, the problem points at that line.
    let line = ctx.dotenv.as_ref().and_then(|env| {
        let last = dotenv::parse(env.text()).ok()?.into_iter().rfind(|e| e.key == "PORT")?;
        Some((env.clone(), env.line_span(last.line)))
    });
    let help = "each process gets PORT, counting up by 100 from $PORT (5000 when it is not set); \
                set PORT to a number such as 5000, or unset it";
    let problem = match port.trim().parse::<u32>() {
        Err(_) | Ok(0) => Problem::error(format!("PORT is `{port}` in {from}, which is not a port number")),
        Ok(base) if u64::from(base) + u64::from(PORT_STEP * count.saturating_sub(1)) > u64::from(u16::MAX) => {
            Problem::error(format!(
                "PORT is `{port}` in {from}, which leaves no room for {count} ports 100 apart below 65536"
            ))
        }
        Ok(base) => return base,
    };
    let problem = match line {
        Some((env, span)) => problem.at(&env, span, "PORT is set here"),
        None => problem,
    };
    ctx.problems.push(problem.help(help));
    BASE_PORT
}

fn service(command: String, ctx: &Context, env: IndexMap<String, String>) -> Service {
    Service { env, ..Service::new(CommandLine::Shell(command), ctx.root.clone()) }
}
