//! procs.toml → Spec. Each top-level key and each service is read on its own, so one broken
//! service does not hide the problems of the next; every problem points at its place.

use std::ops::Range;

use std::sync::Arc;

use indexmap::IndexMap;
use serde::Deserialize;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

use super::Context;
use super::duration::HumanDuration;
use super::environment::{Layers, PortOf, env_key_problem};
use super::port::PortSpec;
use super::problem::{Problem, SourceFile, nearest};
use super::raw::{RawEnv, RawHealthcheck, RawLog, RawMcp, RawService, TOP_LEVEL_KEYS};
use super::replicas;
use super::service_table::{ReadService, read_service, service_tables};
use super::spec::{
    Condition, DEFAULT_HEALTH_INTERVAL, DEFAULT_HEALTH_RETRIES, DEFAULT_MAX_RESTARTS, DEFAULT_MIN_UPTIME,
    DEFAULT_READY_TIMEOUT, DEFAULT_STOP_TIMEOUT, Dependency, Healthcheck, LogConfig, Ready, RestartPolicy, Service,
};
use crate::graph::GraphError;

/// What the TOML front end hands back: services by name, with the spans of their names and
/// dependency entries so the graph's findings can point at them.
pub(super) struct TomlManifest {
    pub(crate) watch: bool,
    pub(crate) log: LogConfig,
    pub(crate) min_uptime: HumanDuration,
    /// `[mcp] adhoc`: whether an agent may start commands of its own.
    pub(crate) mcp_adhoc: bool,
    pub(crate) global_env: IndexMap<String, String>,
    pub(crate) services: IndexMap<String, Service>,
    /// The scaled services and their number of replicas.
    pub(crate) groups: IndexMap<String, u32>,
    name_spans: IndexMap<String, Range<usize>>,
    dep_spans: IndexMap<(String, String), Range<usize>>,
}

pub(super) fn load(file: &SourceFile, ctx: &mut Context) -> Option<TomlManifest> {
    let table = match DeTable::parse(file.text()) {
        Ok(table) => table.into_inner(),
        Err(e) => {
            ctx.problems.push(toml_problem(&e, file, None));
            return None;
        }
    };
    let mut manifest = TomlManifest {
        watch: true,
        log: LogConfig::default(),
        min_uptime: DEFAULT_MIN_UPTIME,
        mcp_adhoc: true,
        global_env: IndexMap::new(),
        services: IndexMap::new(),
        groups: IndexMap::new(),
        name_spans: IndexMap::new(),
        dep_spans: IndexMap::new(),
    };
    let mut raw_services = Vec::new();
    let mut raw_env = RawEnv::default();
    for (key, value) in table {
        match key.get_ref().as_ref() {
            "env" => raw_env = read(value, file, None, ctx).unwrap_or_default(),
            "log" => {
                let raw: RawLog = read(value, file, None, ctx).unwrap_or_default();
                manifest.log = log_config(Some(raw), LogConfig::default());
            }
            "watch" => manifest.watch = read(value, file, None, ctx).unwrap_or(true),
            "min_uptime" => manifest.min_uptime = read(value, file, None, ctx).unwrap_or(DEFAULT_MIN_UPTIME),
            "mcp" => {
                let raw: RawMcp = read(value, file, None, ctx).unwrap_or_default();
                manifest.mcp_adhoc = raw.adhoc.unwrap_or(true);
            }
            "services" => raw_services = service_tables(value, file, ctx),
            other => ctx.problems.push(unknown_key(other, key.span(), &TOP_LEVEL_KEYS, file, "at the top level")),
        }
    }
    if raw_services.is_empty() && !ctx.has_errors() {
        ctx.problems.push(
            Problem::error(format!("{} defines no services", file.name()))
                .at(file, 0..0, "no [services.NAME] in this file")
                .help("add a service:\n[services.web]\ncmd = \"python3 -m http.server 8000\""),
        );
    }

    let mut read_services = Vec::new();
    for table in raw_services {
        manifest.name_spans.insert(table.name.clone(), table.name_span.clone());
        read_services.push(read_service(table, file, ctx));
    }
    let groups = replicas::groups(&read_services, file, ctx);
    // Ports first: `${web.port}` may appear in [env] and in any service's env.
    let ports = Arc::new(port_table(&read_services, &groups, file, ctx));

    let mut layers = ctx.dotenv_layers().with_ports(ports.clone());
    for (name, value) in &raw_env {
        if let Some(problem) = env_key_problem(name.get_ref()) {
            ctx.problems.push(problem.at(file, name.span(), "in [env]"));
            continue;
        }
        layers.define(name.get_ref().clone(), &value.get_ref().0, false, file, value.span(), &mut ctx.problems);
    }
    manifest.global_env.clone_from(&layers.overlay);
    let shared = Shared {
        global: &layers,
        names: manifest.name_spans.keys().cloned().collect(),
        oneshots: read_services
            .iter()
            .filter(|read| read.raw.as_ref().is_some_and(|raw| raw.oneshot))
            .map(|read| read.name.clone())
            .collect(),
        unsure_oneshot: read_services.iter().filter(|read| !read.knows("oneshot")).map(|r| r.name.clone()).collect(),
        log: manifest.log,
        min_uptime: manifest.min_uptime,
        groups: &groups,
        file,
    };
    for read in read_services {
        let Some(raw) = read.raw else { continue };
        let span = manifest.name_spans.get(&read.name).cloned().unwrap_or(0..0);
        for (own, replica) in replicas::instances(&read.name, &groups) {
            // The replicas of a group share its problems: they are told once, for the first.
            let (told, first) = (ctx.problems.len(), replica.as_ref().is_none_or(|r| r.index == 1));
            let service = Service {
                replica,
                ..resolve_service(&read.name, &own, raw.clone(), span.clone(), &shared, ctx, &mut manifest.dep_spans)
            };
            if !first {
                ctx.problems.truncate(told);
            }
            manifest.services.insert(own, service);
        }
    }
    manifest.groups = groups;
    Some(manifest)
}

/// Each service's port for `${NAME.port}`: a replica's under its own name, and a group's name
/// as scaled (its references are refused, naming a replica's).
fn port_table(
    services: &[ReadService],
    groups: &IndexMap<String, u32>,
    file: &SourceFile,
    ctx: &mut Context,
) -> IndexMap<String, PortOf> {
    let mut table = IndexMap::new();
    for read in services {
        let written = read.raw.as_ref().and_then(|raw| raw.port.as_ref());
        if let Some(&scale) = groups.get(&read.name) {
            table.insert(read.name.clone(), PortOf::Scaled(scale));
        }
        for (own, replica) in replicas::instances(&read.name, groups) {
            let port = match written {
                _ if !read.knows("port") => PortOf::Unknown,
                None => PortOf::None,
                Some(port) => match port.get_ref() {
                    PortSpec::Auto => PortOf::Port((ctx.options.ports)(&own)),
                    PortSpec::Fixed(base) => match replicas::fixed_port(*base, replica.as_ref()) {
                        Some(number) => PortOf::Port(number),
                        None => {
                            ctx.problems.push(
                                Problem::error(format!(
                                    "service `{}`: `{own}` would have a port above 65535",
                                    read.name
                                ))
                                .at(file, port.span(), "replicas count up from this port")
                                .help("give the replicas a lower base port, or port = \"auto\""),
                            );
                            PortOf::Unknown
                        }
                    },
                },
            };
            table.insert(own, port);
        }
    }
    table
}

impl TomlManifest {
    /// A graph finding as a problem that points at the dependency entry (or name) involved.
    pub(super) fn graph_problem(&self, error: &GraphError, file: &SourceFile) -> Problem {
        let dep_span = |s: &str, d: &str| self.dep_spans.get(&(s.to_owned(), d.to_owned())).cloned();
        let name_span = |s: &str| {
            let group = crate::model::names::group_of(s).unwrap_or(s);
            self.name_spans.get(s).or_else(|| self.name_spans.get(group)).cloned().unwrap_or(0..0)
        };
        match error {
            GraphError::UnknownDependency { service, dependency } => {
                let names = self.name_spans.keys().map(String::as_str);
                let mut p =
                    Problem::error(format!("service `{service}` depends on `{dependency}`, which is not a service"))
                        .at(
                            file,
                            dep_span(service, dependency).unwrap_or_else(|| name_span(service)),
                            "unknown service",
                        );
                p = match nearest(dependency, names) {
                    Some(near) => p.help(format!("did you mean `{near}`?")),
                    None => p.help(format!("the services are: {}", self.service_list())),
                };
                p
            }
            GraphError::SelfDependency { service } => Problem::error(format!("service `{service}` depends on itself"))
                .at(file, dep_span(service, service).unwrap_or_else(|| name_span(service)), "itself")
                .help("remove it from its own depends_on"),
            GraphError::Cycle { path } => {
                let span = dep_span(&path[0], &path[1]).unwrap_or_else(|| name_span(&path[0]));
                Problem::error(format!("dependency cycle: {}", path.join(" → ")))
                    .at(file, span, "this dependency closes the cycle")
                    .help("each service waits for the next; remove one of these depends_on entries")
            }
        }
    }

    /// A service named in the manifest whose table could not be read.
    pub(super) fn is_unreadable(&self, name: &str) -> bool {
        self.name_spans.contains_key(name) && !self.services.contains_key(name)
    }

    fn service_list(&self) -> String {
        self.name_spans.keys().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
    }
}

/// Deserialises one value, turning serde's error into a problem that names the service.
fn read<'a, T: Deserialize<'a>>(
    value: Spanned<DeValue<'a>>,
    file: &SourceFile,
    service: Option<&str>,
    ctx: &mut Context,
) -> Option<T> {
    let span = value.span();
    match T::deserialize(ValueDeserializer::from(value)) {
        Ok(v) => Some(v),
        Err(mut e) => {
            if e.span().is_none() {
                e.set_input(None);
            }
            let mut p = toml_problem(&e, file, service);
            if p.at.is_none() {
                p = p.at(file, span, "here");
            }
            ctx.problems.push(p);
            None
        }
    }
}

/// A TOML or serde error as a problem; serde's "unknown field" and "unknown variant" get the
/// nearest valid name as a hint.
pub(super) fn toml_problem(e: &toml::de::Error, file: &SourceFile, service: Option<&str>) -> Problem {
    let message = e.message().trim();
    let span = e.span().unwrap_or(0..0);
    let context = service.map_or_else(String::new, |s| format!("service `{s}`: "));
    if let Some((kind, wrong, expected)) = parse_unknown(message) {
        let what = if kind == "field" { "key" } else { "value" };
        let mut p =
            Problem::error(format!("{context}unknown {what} `{wrong}`")).at(file, span, format!("unknown {what}"));
        let candidates: Vec<&str> = expected.iter().map(String::as_str).collect();
        p = match nearest(&wrong, candidates.iter().copied()) {
            Some(near) => p.help(format!("did you mean `{near}`?")),
            None => p.help(format!("expected one of: {}", expected.join(", "))),
        };
        return p;
    }
    if let Some(field) = message.strip_prefix("missing field `").and_then(|m| m.strip_suffix('`')) {
        let help =
            if field == "cmd" { "add the command to run: cmd = \"…\"".to_owned() } else { format!("add `{field}`") };
        return Problem::error(format!("{context}`{field}` is missing")).at(file, span, "in this service").help(help);
    }
    let message = plain_words(message);
    let (message, help) = match message.split_once("; ") {
        Some((m, h)) => (m.to_owned(), Some(h.to_owned())),
        None => (message.replace('\n', "; "), None),
    };
    let mut p = Problem::error(format!("{context}{message}")).at(file, span, "here");
    if let Some(help) = help {
        p = p.help(help);
    }
    p
}

/// serde's words for a value of the wrong type, in the words of a TOML file: `invalid type:
/// string "x", expected u32` becomes `expected a whole number from 0 to 4294967295, found "x"`.
fn plain_words(message: &str) -> String {
    let rest = message.strip_prefix("invalid type: ").or_else(|| message.strip_prefix("invalid value: "));
    let Some((found, expected)) = rest.and_then(|r| r.split_once(", expected ")) else { return message.to_owned() };
    let expected = match expected {
        "u8" => "a whole number from 0 to 255",
        "u16" => "a whole number from 0 to 65535",
        "u32" => "a whole number from 0 to 4294967295",
        "u64" | "usize" => "a whole number (0 or more)",
        "i8" | "i16" | "i32" | "i64" | "isize" => "a whole number",
        "f32" | "f64" => "a number",
        "a boolean" => "true or false",
        other => other,
    };
    let found = match found {
        "map" => "a table".to_owned(),
        "sequence" => "an array".to_owned(),
        other => match other.split_once(' ') {
            Some(("integer" | "boolean" | "floating", value)) => {
                value.trim_start_matches("point ").trim_matches('`').to_owned()
            }
            Some(("string", value)) => value.to_owned(),
            _ => other.to_owned(),
        },
    };
    format!("expected {expected}, found {found}")
}

/// Picks apart serde's "unknown field `x`, expected one of `a`, `b`" (and "unknown variant").
fn parse_unknown(message: &str) -> Option<(&'static str, String, Vec<String>)> {
    let (kind, rest) = if let Some(rest) = message.strip_prefix("unknown field `") {
        ("field", rest)
    } else {
        ("variant", message.strip_prefix("unknown variant `")?)
    };
    let (wrong, expected) = rest.split_once('`')?;
    let expected = expected.split('`').skip(1).step_by(2).map(str::to_owned).collect();
    Some((kind, wrong.to_owned(), expected))
}

fn unknown_key(key: &str, span: Range<usize>, valid: &[&str], file: &SourceFile, place: &str) -> Problem {
    let p = Problem::error(format!("unknown key `{key}` {place}")).at(file, span, "unknown key");
    match nearest(key, valid.iter().copied()) {
        Some(near) => p.help(format!("did you mean `{near}`?")),
        None => p.help(format!("expected one of: {}", valid.join(", "))),
    }
}

fn log_config(raw: Option<RawLog>, default: LogConfig) -> LogConfig {
    let raw = raw.unwrap_or_default();
    LogConfig { max_size: raw.max_size.unwrap_or(default.max_size), keep: raw.keep.unwrap_or(default.keep) }
}

/// What every service's resolution reads.
struct Shared<'a> {
    /// orch's environment, `.env` and `[env]`.
    global: &'a Layers<'a>,
    names: Vec<String>,
    oneshots: Vec<String>,
    /// Services whose `oneshot` could not be read: what waits for them is not judged.
    unsure_oneshot: Vec<String>,
    /// The top-level `[log]`, the default of each service's `log`.
    log: LogConfig,
    /// The top-level `min_uptime`, the default of each service's.
    min_uptime: HumanDuration,
    /// The scaled services and their number of replicas.
    groups: &'a IndexMap<String, u32>,
    file: &'a SourceFile,
}

/// Service `name` of the manifest, as the service `own` (itself, or one of its replicas).
fn resolve_service(
    name: &str,
    own: &str,
    raw: RawService,
    name_span: Range<usize>,
    shared: &Shared,
    ctx: &mut Context,
    dep_spans: &mut IndexMap<(String, String), Range<usize>>,
) -> Service {
    let file = shared.file;
    let mut layers = shared.global.fork(file, name_span, &mut ctx.problems);
    let env_file = raw.env_file.as_ref().and_then(|path| read_env_file(name, path, &mut layers, file, ctx));
    if raw.port.is_some() {
        if let Some((key, _)) = raw.env.iter().find(|(k, _)| k.get_ref() == "PORT") {
            ctx.problems.push(
                Problem::error(format!("service `{name}` sets both `port` and env PORT"))
                    .at(file, key.span(), "PORT comes from `port`")
                    .help("keep one: `port` puts the port in $PORT"),
            );
        }
        if let Some(number) = layers.get(&format!("{own}.port")).and_then(|p| p.parse::<u16>().ok()) {
            layers.set("PORT".into(), number.to_string());
        }
    }
    if own != name {
        // foreman's and honcho's `$PS`: which process of the group this is.
        layers.set("PS".into(), own.to_owned());
    }
    for (key, value) in &raw.env {
        if let Some(problem) = env_key_problem(key.get_ref()) {
            ctx.problems.push(problem.at(file, key.span(), format!("in service `{name}`")));
            continue;
        }
        layers.define(key.get_ref().clone(), &value.get_ref().0, false, file, value.span(), &mut ctx.problems);
    }
    let cwd = match &raw.cwd {
        None => ctx.root.clone(),
        Some(cwd) => {
            let path = tidy(ctx.root.join(layers.expand_spanned(cwd, file, &mut ctx.problems)));
            if !path.is_dir() {
                ctx.problems.push(
                    Problem::error(format!("service `{name}`: cwd `{}` is not a folder", path.display()))
                        .at(file, cwd.span(), "no such folder")
                        .help("paths are relative to the manifest's folder"),
                );
            }
            path
        }
    };
    let ready = raw.ready.as_ref().map(|ready| resolve_ready(name, ready, &layers, file, ctx));
    let mut depends_on = IndexMap::new();
    for (dep, entry) in &raw.depends_on.0 {
        let dep_name = dep.get_ref().clone();
        let is_oneshot = shared.oneshots.contains(&dep_name);
        let condition = match entry.condition {
            // A oneshot is never "ready": it is done. Waiting for it means waiting for that.
            Condition::Ready if is_oneshot => Condition::Completed,
            Condition::Completed
                if !is_oneshot && shared.names.contains(&dep_name) && !shared.unsure_oneshot.contains(&dep_name) =>
            {
                ctx.problems.push(
                    Problem::error(format!(
                        "service `{name}` waits for `{dep_name}` to complete, but it is not a oneshot"
                    ))
                    .at(file, dep.span(), "never completes")
                    .help(format!("wait for \"ready\" or \"started\", or set oneshot = true on `{dep_name}`")),
                );
                Condition::Completed
            }
            c => c,
        };
        for target in replicas::dependency_targets(&dep_name, shared.groups) {
            dep_spans.insert((own.to_owned(), target.clone()), dep.span());
            depends_on.insert(target, Dependency { condition, restart: entry.restart });
        }
    }
    let restart = raw.restart.unwrap_or(if raw.oneshot { RestartPolicy::No } else { RestartPolicy::OnFailure });
    let healthcheck = raw.healthcheck.and_then(|h| resolve_healthcheck(name, h, &layers, file, ctx));
    let schedule = raw.schedule.map(|s| checked_schedule(name, s, raw.oneshot, file, ctx));
    Service {
        cmd: raw.cmd.into_inner(),
        cwd,
        env: layers.overlay,
        env_file,
        depends_on,
        ready,
        ready_timeout: raw.ready_timeout.unwrap_or(DEFAULT_READY_TIMEOUT),
        min_uptime: raw.min_uptime.unwrap_or(shared.min_uptime),
        restart,
        max_restarts: raw.max_restarts.unwrap_or(DEFAULT_MAX_RESTARTS),
        stop_signal: raw.stop_signal.unwrap_or_default(),
        stop_timeout: raw.stop_timeout.unwrap_or(DEFAULT_STOP_TIMEOUT),
        oneshot: raw.oneshot,
        log: log_config(raw.log, shared.log),
        port: raw.port.map(Spanned::into_inner),
        profiles: checked_profiles(name, raw.profiles, file, ctx),
        watch: checked_globs(name, "watch", raw.watch, file, ctx),
        watch_ignore: checked_globs(name, "watch_ignore", raw.watch_ignore, file, ctx),
        healthcheck,
        schedule,
        replica: None,
        rolling: raw.rolling,
        image: raw.export.and_then(|e| e.image),
    }
}

/// A cron schedule, which must parse and be a oneshot's.
fn checked_schedule(
    name: &str,
    schedule: Spanned<String>,
    oneshot: bool,
    file: &SourceFile,
    ctx: &mut Context,
) -> String {
    let span = schedule.span();
    let text = schedule.into_inner();
    if let Err(e) = text.parse::<croner::Cron>() {
        ctx.problems.push(
            Problem::error(format!("service `{name}`: `{text}` is not a cron schedule: {e}"))
                .at(file, span.clone(), "this schedule")
                .help("five fields: minute hour day-of-month month day-of-week, e.g. \"*/5 * * * *\""),
        );
    }
    if !oneshot {
        ctx.problems.push(
            Problem::error(format!("service `{name}` has a schedule but is not a oneshot"))
                .at(file, span, "runs on a schedule")
                .help("a scheduled service is a task that exits: add oneshot = true"),
        );
    }
    text
}

/// A `healthcheck`: its one check expanded and checked as a readiness check is, with its
/// defaults filled in.
fn resolve_healthcheck(
    name: &str,
    raw: Spanned<RawHealthcheck>,
    layers: &Layers,
    file: &SourceFile,
    ctx: &mut Context,
) -> Option<Healthcheck> {
    let span = raw.span();
    let raw = raw.into_inner();
    let check = match (raw.tcp, raw.http, raw.exec) {
        (Some(target), None, None) => Ready::Tcp(target),
        (None, Some(url), None) => Ready::Http(url),
        (None, None, Some(cmd)) => Ready::Exec(cmd),
        _ => {
            ctx.problems.push(
                Problem::error(format!("service `{name}`: a healthcheck has one of `tcp`, `http` or `exec`"))
                    .at(file, span, "this healthcheck")
                    .help("e.g. healthcheck = { http = \"http://127.0.0.1:${PORT}/health\", interval = \"10s\" }"),
            );
            return None;
        }
    };
    let interval = raw.interval.unwrap_or(DEFAULT_HEALTH_INTERVAL);
    let retries = raw.retries.unwrap_or(DEFAULT_HEALTH_RETRIES);
    if interval.0.is_zero() || retries == 0 {
        ctx.problems.push(
            Problem::error(format!(
                "service `{name}`: a healthcheck needs an interval above 0s and retries of 1 or more"
            ))
            .at(file, span, "this healthcheck"),
        );
        return None;
    }
    let resolved = resolve_ready(name, &Spanned::new(span, check), layers, file, ctx);
    let (mut tcp, mut http, mut exec) = (None, None, None);
    match resolved {
        Ready::Tcp(target) => tcp = Some(target),
        Ready::Http(url) => http = Some(url),
        Ready::Exec(cmd) => exec = Some(cmd),
        _ => return None,
    }
    let start_period = raw.start_period.unwrap_or(HumanDuration(std::time::Duration::ZERO));
    Some(Healthcheck { tcp, http, exec, interval, retries, start_period })
}

/// A service's `env_file`, read into its layers; None (and a problem) when it cannot be read.
fn read_env_file(
    name: &str,
    path: &Spanned<String>,
    layers: &mut Layers,
    file: &SourceFile,
    ctx: &mut Context,
) -> Option<std::path::PathBuf> {
    let expanded = layers.expand_spanned(path, file, &mut ctx.problems);
    let full = tidy(ctx.root.join(&expanded));
    match ctx.read_named_file(&full) {
        Ok(source) => {
            layers.load_file(&source, &mut ctx.problems);
            Some(full)
        }
        Err(e) => {
            ctx.problems.push(
                Problem::error(format!("service `{name}`: cannot read env_file `{expanded}`: {e}"))
                    .at(file, path.span(), "this file")
                    .help("paths are relative to the manifest's folder"),
            );
            None
        }
    }
}

/// The profile names, each held to the service-name rules (they are typed on command lines).
fn checked_profiles(
    name: &str,
    profiles: Option<Spanned<Vec<String>>>,
    file: &SourceFile,
    ctx: &mut Context,
) -> Vec<String> {
    checked_list(profiles, "in these profiles", file, ctx, |profile| {
        (!crate::model::names::is_valid_name(profile)).then(|| {
            Problem::error(format!("service `{name}`: `{profile}` is not a profile name"))
                .help("a profile name is letters, digits, `-` and `_`, as a service name")
        })
    })
}

/// Watch globs: each must compile, and stay in the service's folder.
fn checked_globs(
    name: &str,
    key: &str,
    globs: Option<Spanned<Vec<String>>>,
    file: &SourceFile,
    ctx: &mut Context,
) -> Vec<String> {
    checked_list(globs, "in these globs", file, ctx, |glob| {
        if let Err(e) = globset::Glob::new(glob) {
            return Some(
                Problem::error(format!("service `{name}`: `{glob}` in `{key}` is not a glob: {}", e.kind()))
                    .help("globs are relative to the service's cwd, e.g. \"src/**/*.py\" or \"config/*.toml\""),
            );
        }
        (std::path::Path::new(glob).is_absolute() || glob.split('/').any(|part| part == "..")).then(|| {
            Problem::error(format!("service `{name}`: `{glob}` in `{key}` leaves the service's folder"))
                .help("watch globs are relative to the service's cwd, without `..`")
        })
    })
}

/// A list of strings whose every item `problem` judges; each problem is reported at the list.
fn checked_list(
    list: Option<Spanned<Vec<String>>>,
    label: &str,
    file: &SourceFile,
    ctx: &mut Context,
    problem: impl Fn(&str) -> Option<Problem>,
) -> Vec<String> {
    let Some(list) = list else { return Vec::new() };
    let span = list.span();
    let list = list.into_inner();
    for found in list.iter().filter_map(|item| problem(item)) {
        ctx.problems.push(found.at(file, span.clone(), label));
    }
    list
}

/// A path without its `.` parts (`/p/./db/.` is `/p/db`); `..` stays, since a link before it
/// decides where it leads.
fn tidy(path: std::path::PathBuf) -> std::path::PathBuf {
    path.components().collect()
}

/// Expands the targets of a readiness check against the service's environment and checks
/// that they can work: `host:port` for tcp, an http(s) URL, a regex that compiles.
fn resolve_ready(name: &str, ready: &Spanned<Ready>, layers: &Layers, file: &SourceFile, ctx: &mut Context) -> Ready {
    let span = ready.span();
    let resolved = match ready.get_ref() {
        Ready::Tcp(target) => Ready::Tcp(layers.expand(target, file, span.clone(), &mut ctx.problems)),
        Ready::Http(url) => Ready::Http(layers.expand(url, file, span.clone(), &mut ctx.problems)),
        other => other.clone(),
    };
    if let Some((message, help)) = resolved.target_problem() {
        ctx.problems
            .push(Problem::error(format!("service `{name}`: {message}")).at(file, span, "this check").help(help));
    }
    resolved
}
