//! From the text a user writes to a validated, resolved [`Spec`]: procs.toml or a Procfile,
//! `.env` and `env_file`s, `${VAR}` interpolation, defaults, and the dependency graph.

mod adhoc;
mod command_line;
mod dotenv;
mod duration;
mod environment;
mod interpolate;
mod load_procfile;
mod load_toml;
mod name;
mod port;
mod problem;
mod procfile;
mod raw;
mod replicas;
mod service_table;
mod signal;
mod size;
mod spec;
mod trust;

use std::path::{Path, PathBuf};

use indexmap::IndexMap;

pub(crate) use adhoc::Adhoc;
pub(crate) use command_line::CommandLine;
pub(crate) use duration::HumanDuration;
pub(crate) use environment::{BaseEnv, is_valid_env_key};
pub(crate) use port::PortSpec;
pub(crate) use problem::{Problem, Problems, SourceFile};
pub(crate) use spec::{
    Condition, DEFAULT_MIN_UPTIME, Dependency, Format, LogConfig, Ready, RestartPolicy, Service, Spec,
};
// Only tests name it; the code reaches it through the fields that hold it.
#[cfg(test)]
pub(crate) use size::ByteSize;

use crate::graph::Graph;
use environment::Layers;

/// A manifest that was accepted: the spec, its graph, and the warnings to show.
#[derive(Debug, Clone)]
pub(crate) struct Loaded {
    pub(crate) spec: Spec,
    pub(crate) graph: Graph,
    pub(crate) warnings: Vec<Problem>,
}

/// What loading needs from the outside world, so that loading itself stays deterministic.
pub(crate) struct LoadOptions {
    /// orch's own environment: the lowest layer, and what `${VAR}` sees first.
    pub(crate) env: BaseEnv,
    /// The folder file names are shown relative to.
    pub(crate) display_base: PathBuf,
    /// The port of a service with `port = "auto"`, by its name.
    pub(crate) ports: PortPicker,
    /// The number of replicas of these services, over their `scale` (`up --scale`, `orch scale`).
    pub(crate) scale: IndexMap<String, u32>,
}

/// Chooses the port of a `port = "auto"` service (the supervisor keeps and registers them;
/// a preview just takes a free one).
pub(crate) type PortPicker = Box<dyn Fn(&str) -> u16 + Send + Sync>;

impl LoadOptions {
    pub(crate) fn new(env: BaseEnv, display_base: PathBuf) -> Self {
        Self { env, display_base, ports: Box::new(|_| crate::ports::any_free()), scale: IndexMap::new() }
    }

    pub(crate) fn from_process() -> Self {
        Self::new(std::env::vars().collect(), std::env::current_dir().unwrap_or_default())
    }

    pub(crate) fn with_ports(mut self, ports: PortPicker) -> Self {
        self.ports = ports;
        self
    }

    pub(crate) fn with_scale(mut self, scale: IndexMap<String, u32>) -> Self {
        self.scale = scale;
        self
    }
}

/// The JSON Schema of procs.toml, from the types the parser reads it with.
pub(crate) fn schema() -> serde_json::Value {
    let mut schema = serde_json::to_value(schemars::schema_for!(raw::RawManifest)).unwrap_or_default();
    drop_null(&mut schema);
    schema
}

/// TOML has no null: an optional key is one that may be left out, not one that may be null,
/// so the `null` that schemars adds for each `Option` is taken out again.
fn drop_null(value: &mut serde_json::Value) {
    use serde_json::Value;
    let Value::Object(map) = value else {
        if let Value::Array(items) = value {
            items.iter_mut().for_each(drop_null);
        }
        return;
    };
    if let Some(Value::Array(types)) = map.get_mut("type") {
        types.retain(|t| t != "null");
        if let [single] = types.as_slice() {
            let single = single.clone();
            map.insert("type".into(), single);
        }
    }
    if let Some(Value::Array(options)) = map.get_mut("anyOf") {
        options.retain(|o| o.get("type").is_none_or(|t| t != "null"));
        if let [single] = options.as_slice() {
            let single = single.clone();
            map.remove("anyOf");
            if let Value::Object(inner) = single {
                map.extend(inner);
            }
        }
    }
    map.values_mut().for_each(drop_null);
}

/// The bytes of a file that was just read as text (and was not UTF-8), read again without
/// blocking should it have become a FIFO meanwhile.
fn read_regular_file(path: &Path) -> Option<Vec<u8>> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(path).ok()?;
    if !file.metadata().ok()?.is_file() {
        return None;
    }
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).ok()?;
    Some(bytes)
}

/// Which front end reads a manifest file, by its name: a name with "procfile" in it
/// (`Procfile`, `Procfile.dev`) is a Procfile, anything else procs.toml-style TOML.
pub(crate) fn format_of(path: &Path) -> Format {
    let name = path.file_name().map(|n| n.to_string_lossy().to_lowercase()).unwrap_or_default();
    if name.contains("procfile") { Format::Procfile } else { Format::Toml }
}

/// State shared by the front ends while one manifest is loaded.
struct Context<'a> {
    root: PathBuf,
    options: &'a LoadOptions,
    problems: Vec<Problem>,
    dotenv: Option<SourceFile>,
}

impl<'a> Context<'a> {
    fn has_errors(&self) -> bool {
        self.problems.iter().any(Problem::is_error)
    }

    fn display(&self, path: &Path) -> String {
        path.strip_prefix(&self.options.display_base).unwrap_or(path).display().to_string()
    }

    fn read_named_file(&self, path: &Path) -> std::io::Result<SourceFile> {
        environment::read_source(path, &self.display(path), &self.options.env)
    }

    /// Why a file could not be read; text that is not UTF-8 is shown where it stops being so.
    fn read_problem(&self, path: &Path, error: &std::io::Error) -> Problem {
        let name = self.display(path);
        if error.kind() == std::io::ErrorKind::InvalidData
            && let Some(bytes) = read_regular_file(path)
            && let Err(bad) = std::str::from_utf8(&bytes)
        {
            // The text before the bad byte is the same in the lossy copy; the byte is one `�`.
            let at = bad.valid_up_to();
            let file = SourceFile::new(&name, String::from_utf8_lossy(&bytes).into_owned());
            return Problem::error(format!("{name} is not UTF-8 text"))
                .at(&file, at..at + '\u{fffd}'.len_utf8(), "not UTF-8")
                .help("orch reads manifests and env files as UTF-8; save the file in that encoding");
        }
        Problem::error(format!("cannot read {name}: {error}"))
    }

    /// orch's environment with `.env` over it.
    fn dotenv_layers(&mut self) -> Layers<'a> {
        let options: &'a LoadOptions = self.options;
        let mut layers = Layers::new(&options.env);
        if let Some(file) = &self.dotenv {
            layers.load_file(file, &mut self.problems);
        }
        layers
    }
}

pub(crate) fn load(file: &Path, options: &LoadOptions) -> Result<Loaded, Problems> {
    let root = file.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut ctx = Context { root: root.clone(), options, problems: Vec::new(), dotenv: None };
    let source = ctx.read_named_file(file).map_err(|e| Problems(vec![ctx.read_problem(file, &e)]))?;
    let dotenv_path = root.join(".env");
    if dotenv_path.is_file() {
        match ctx.read_named_file(&dotenv_path) {
            Ok(dotenv) => ctx.dotenv = Some(dotenv),
            Err(e) => ctx.problems.push(ctx.read_problem(&dotenv_path, &e)),
        }
    }
    let (spec, graph) = match format_of(file) {
        Format::Toml => {
            let manifest = load_toml::load(&source, &mut ctx);
            let spec = manifest.as_ref().map(|m| Spec {
                file: file.to_path_buf(),
                root: root.clone(),
                watch: m.watch,
                env: m.global_env.clone(),
                log: m.log,
                mcp_adhoc: m.mcp_adhoc,
                services: m.services.clone(),
                groups: m.groups.clone(),
            });
            // A service that could not be read is already reported; edges to it are left out
            // so its dependents are not also told it does not exist.
            let unreadable = |name: &str| manifest.as_ref().is_some_and(|m| m.is_unreadable(name));
            let graph = spec.as_ref().and_then(|spec| match build_graph(spec, &unreadable) {
                Ok(graph) => Some(graph),
                Err(errors) => {
                    if let Some(m) = &manifest {
                        ctx.problems.extend(errors.iter().map(|e| m.graph_problem(e, &source)));
                    }
                    None
                }
            });
            (spec, graph)
        }
        Format::Procfile => {
            let (env, services, groups) = load_procfile::load(&source, &mut ctx);
            let spec = Spec {
                file: file.to_path_buf(),
                root: root.clone(),
                watch: true,
                env,
                log: LogConfig::default(),
                mcp_adhoc: true,
                services,
                groups,
            };
            let graph = build_graph(&spec, &|_| false).ok();
            (Some(spec), graph)
        }
    };
    match (spec, graph) {
        (Some(spec), Some(graph)) if !ctx.has_errors() => Ok(Loaded { spec, graph, warnings: ctx.problems }),
        _ => Err(Problems(ctx.problems)),
    }
}

fn build_graph(spec: &Spec, unreadable: &dyn Fn(&str) -> bool) -> Result<Graph, Vec<crate::graph::GraphError>> {
    Graph::new(
        spec.services
            .iter()
            .map(|(name, s)| (name.as_str(), s.depends_on.keys().map(String::as_str).filter(|d| !unreadable(d)))),
    )
}

#[cfg(test)]
mod tests;
