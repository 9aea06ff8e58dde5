//! Building a service's environment layer by layer, with `${VAR}` expanded against what was
//! built so far: orch's own environment < `.env` < `[env]` < `env_file` < the service's `env`.

use std::collections::HashMap;
use std::ops::Range;
use std::path::Path;

use std::sync::Arc;

use indexmap::IndexMap;
use toml::Spanned;

use super::dotenv;
use super::interpolate::expand;
use super::problem::{Problem, SourceFile};

/// orch's own environment, as the lowest layer.
pub type BaseEnv = HashMap<String, String>;

/// The variables orch adds on top of its own environment, in the order they were set.
#[derive(Clone, Debug)]
pub struct Layers<'a> {
    base: &'a BaseEnv,
    pub overlay: IndexMap<String, String>,
    /// Each service's port (None: the service has no `port`), for `${NAME.port}`.
    ports: Option<Arc<IndexMap<String, Option<u16>>>>,
}

impl<'a> Layers<'a> {
    pub fn new(base: &'a BaseEnv) -> Self {
        Self { base, overlay: IndexMap::new(), ports: None }
    }

    /// Lets `${NAME.port}` see the services' ports.
    pub fn with_ports(mut self, ports: Arc<IndexMap<String, Option<u16>>>) -> Self {
        self.ports = Some(ports);
        self
    }

    pub fn get(&self, name: &str) -> Option<String> {
        if let Some(service) = name.strip_suffix(".port")
            && let Some(ports) = &self.ports
        {
            return ports.get(service).copied().flatten().map(|p| p.to_string());
        }
        self.overlay.get(name).or_else(|| self.base.get(name)).cloned()
    }

    pub fn set(&mut self, name: String, value: String) {
        // shift_remove keeps the order of insertion meaningful: the last layer that set a
        // variable decides, and it is listed where it was last set.
        self.overlay.shift_remove(&name);
        self.overlay.insert(name, value);
    }

    /// Expands `text` (found at `span` of `file`) against the layers so far. A malformed
    /// reference is an error; an unset one a warning.
    pub fn expand(&self, text: &str, file: &SourceFile, span: Range<usize>, problems: &mut Vec<Problem>) -> String {
        match expand(text, |name| self.get(name)) {
            Ok(expanded) => {
                for name in expanded.unset {
                    if let Some(service) = name.strip_suffix(".port") {
                        problems.push(self.port_problem(service).at(file, span.clone(), "this reference"));
                        continue;
                    }
                    problems.push(
                        Problem::warning(format!("`${{{name}}}` is not set; using an empty string"))
                            .at(file, span.clone(), "expanded here")
                            .help(format!(
                                "set {name} in the environment, .env or [env], or write `${{{name}:-default}}`"
                            )),
                    );
                }
                expanded.value
            }
            Err(e) => {
                problems.push(Problem::error(e.message).at(file, span, "bad `${…}` reference"));
                text.to_owned()
            }
        }
    }

    /// `${web.port}` where web has no port, or there is no web.
    fn port_problem(&self, service: &str) -> Problem {
        match self.ports.as_ref().map(|p| p.contains_key(service)) {
            Some(true) => Problem::error(format!("`${{{service}.port}}`: service `{service}` has no port"))
                .help(format!("give `{service}` a port: port = \"auto\" or a number")),
            _ => Problem::error(format!("`${{{service}.port}}`: there is no service `{service}`")),
        }
    }

    pub fn expand_spanned(&self, s: &Spanned<String>, file: &SourceFile, problems: &mut Vec<Problem>) -> String {
        self.expand(s.get_ref(), file, s.span(), problems)
    }

    /// Reads an env file (`.env` or an `env_file`) into the layers, each value expanded against
    /// what was set before it (single-quoted values are literal).
    pub fn load_file(&mut self, file: &SourceFile, problems: &mut Vec<Problem>) {
        match dotenv::parse(file.text()) {
            Ok(entries) => {
                for entry in entries {
                    let span = file.line_span(entry.line);
                    let value =
                        if entry.literal { entry.value } else { self.expand(&entry.value, file, span, problems) };
                    self.set(entry.key, value);
                }
            }
            Err(e) => {
                let span = file.line_span(e.line);
                problems.push(Problem::error(e.message).at(file, span, "here"));
            }
        }
    }
}

/// Reads a file that a manifest names, as a source for problems to point into; only if its
/// owner may say what runs (see [`crate::trust`]).
pub fn read_source(path: &Path, display: &str, env: &BaseEnv) -> std::io::Result<SourceFile> {
    let text = crate::trust::read_trusted(path, env)?;
    Ok(SourceFile::new(display, text))
}
