//! Building a service's environment layer by layer, with `${VAR}` expanded against what was
//! built so far: orch's own environment < `.env` < `[env]` < `env_file` < the service's `env`.

use std::cell::Cell;
use std::collections::HashMap;
use std::ops::Range;
use std::path::Path;

use std::rc::Rc;
use std::sync::Arc;

use indexmap::IndexMap;
use toml::Spanned;

use super::dotenv;
use super::interpolate::{ErrorKind, FORMS, expand};
use super::problem::{Problem, SourceFile};

/// orch's own environment, as the lowest layer.
pub(crate) type BaseEnv = HashMap<String, String>;

/// The longest value orch accepts: Linux's limit for one variable of a process
/// (`MAX_ARG_STRLEN`), so a longer one could never be started anyway.
pub(super) const MAX_VALUE: usize = 128 * 1024;

/// What all the services' environments of one manifest may add up to: a bound on the memory a
/// hostile `.env` (each line doubling the one before) can make a load or a reload take.
pub(super) const MAX_TOTAL: usize = 16 * 1024 * 1024;

/// A service's port as `${NAME.port}` sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum PortOf {
    /// The service has no `port`.
    None,
    Port(u16),
    /// The service is scaled to this many replicas, each with a port of its own.
    Scaled(u32),
    /// The service could not be read (its own problems say why): its references expand to
    /// nothing, and are not reported again.
    Unknown,
}

/// The variables orch adds on top of its own environment, in the order they were set. Not
/// `Clone`: a copy for a service is a `fork`, which counts what it copies.
#[derive(Debug)]
pub(super) struct Layers<'a> {
    base: &'a BaseEnv,
    pub(crate) overlay: IndexMap<String, String>,
    /// The bytes of the overlay's keys and values.
    bytes: usize,
    /// Each service's port, for `${NAME.port}`.
    ports: Option<Arc<IndexMap<String, PortOf>>>,
    /// What is left of MAX_TOTAL, shared by every layer of one load.
    budget: Rc<Budget>,
}

#[derive(Debug)]
struct Budget {
    left: Cell<usize>,
    /// Whether running out was reported (once is enough).
    told: Cell<bool>,
}

impl<'a> Layers<'a> {
    pub(super) fn new(base: &'a BaseEnv) -> Self {
        let budget = Rc::new(Budget { left: Cell::new(MAX_TOTAL), told: Cell::new(false) });
        Self { base, overlay: IndexMap::new(), bytes: 0, ports: None, budget }
    }

    /// Lets `${NAME.port}` see the services' ports.
    pub(super) fn with_ports(mut self, ports: Arc<IndexMap<String, PortOf>>) -> Self {
        self.ports = Some(ports);
        self
    }

    pub(super) fn get(&self, name: &str) -> Option<String> {
        if let Some(service) = name.strip_suffix(".port")
            && let Some(ports) = &self.ports
        {
            return match ports.get(service) {
                Some(PortOf::Port(port)) => Some(port.to_string()),
                Some(PortOf::Unknown) => Some(String::new()),
                Some(PortOf::None | PortOf::Scaled(_)) | None => None,
            };
        }
        self.overlay.get(name).or_else(|| self.base.get(name)).cloned()
    }

    /// Sets a variable orch itself chooses (PORT, PS): short, so not counted.
    pub(super) fn set(&mut self, name: String, value: String) {
        // shift_remove keeps the order of insertion meaningful: the last layer that set a
        // variable decides, and it is listed where it was last set.
        if let Some(old) = self.overlay.shift_remove(&name) {
            self.bytes -= name.len() + old.len();
        }
        self.bytes += name.len() + value.len();
        self.overlay.insert(name, value);
    }

    /// Sets a variable from a file: `text` (found at `span` of `file`) expanded against the
    /// layers so far (or taken as it is when `literal`), checked, and counted against MAX_TOTAL.
    pub(super) fn define(
        &mut self,
        name: String,
        text: &str,
        literal: bool,
        file: &SourceFile,
        span: Range<usize>,
        problems: &mut Vec<Problem>,
    ) {
        let value = if literal {
            checked(text.to_owned(), file, &span, problems)
        } else {
            self.expand(text, file, span.clone(), problems)
        };
        if self.charge(name.len() + value.len(), file, &span, problems) {
            self.set(name, value);
        }
    }

    /// A copy of these layers for one service to build on (counted against MAX_TOTAL: it is
    /// memory too); empty when the budget ran out, which is reported at `span`.
    pub(super) fn fork(&self, file: &SourceFile, span: Range<usize>, problems: &mut Vec<Problem>) -> Self {
        let copied = self.charge(self.bytes, file, &span, problems);
        Self {
            base: self.base,
            overlay: if copied { self.overlay.clone() } else { IndexMap::new() },
            bytes: if copied { self.bytes } else { 0 },
            ports: self.ports.clone(),
            budget: self.budget.clone(),
        }
    }

    /// Takes `bytes` from the budget, or reports (once) that it ran out.
    fn charge(&self, bytes: usize, file: &SourceFile, span: &Range<usize>, problems: &mut Vec<Problem>) -> bool {
        let budget = &self.budget;
        if let Some(left) = budget.left.get().checked_sub(bytes) {
            budget.left.set(left);
            return true;
        }
        budget.left.set(0);
        if !budget.told.replace(true) {
            problems.push(over_budget(file, span.clone()));
        }
        false
    }

    /// Expands `text` (found at `span` of `file`) against the layers so far. A malformed
    /// reference, a missing required variable, or a value too long or holding a NUL is an
    /// error; an unset variable a warning.
    pub(super) fn expand(
        &self,
        text: &str,
        file: &SourceFile,
        span: Range<usize>,
        problems: &mut Vec<Problem>,
    ) -> String {
        let limit = MAX_VALUE.min(self.budget.left.get());
        match expand(text, |name| self.get(name), limit) {
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
                checked(expanded.value, file, &span, problems)
            }
            Err(e) => {
                let problem = match e.kind {
                    ErrorKind::Syntax => Problem::error(e.message)
                        .at(file, span, "bad `${…}` reference")
                        .help(format!("orch expands {FORMS}")),
                    ErrorKind::Required => Problem::error(e.message).at(file, span, "required here"),
                    // The budget, not this value, is what ran out.
                    ErrorKind::TooLong if limit < MAX_VALUE => {
                        if self.budget.told.replace(true) {
                            return String::new();
                        }
                        over_budget(file, span)
                    }
                    ErrorKind::TooLong => too_long(file, span),
                };
                problems.push(problem);
                String::new()
            }
        }
    }

    /// `${web.port}` where web has no port, or there is no web.
    fn port_problem(&self, service: &str) -> Problem {
        match self.ports.as_ref().and_then(|p| p.get(service)) {
            Some(PortOf::Scaled(scale)) => Problem::error(format!(
                "`${{{service}.port}}`: service `{service}` is scaled (scale = {scale}), and each replica has a port of \
                 its own"
            ))
            .help(format!("name one replica: `${{{service}.1.port}}`")),
            Some(_) => Problem::error(format!("`${{{service}.port}}`: service `{service}` has no port"))
                .help(format!("give `{service}` a port: port = \"auto\" or a number")),
            None => Problem::error(format!("`${{{service}.port}}`: there is no service `{service}`")),
        }
    }

    pub(super) fn expand_spanned(&self, s: &Spanned<String>, file: &SourceFile, problems: &mut Vec<Problem>) -> String {
        self.expand(s.get_ref(), file, s.span(), problems)
    }

    /// Reads an env file (`.env` or an `env_file`) into the layers, each value expanded against
    /// what was set before it (single-quoted values are literal).
    pub(super) fn load_file(&mut self, file: &SourceFile, problems: &mut Vec<Problem>) {
        match dotenv::parse(file.text()) {
            Ok(entries) => {
                for entry in entries {
                    let span = file.line_span(entry.line);
                    self.define(entry.key, &entry.value, entry.literal, file, span, problems);
                }
            }
            Err(e) => {
                let span = file.line_span(e.line);
                problems.push(Problem::error(e.message).at(file, span, "here"));
            }
        }
    }
}

/// A value as it may reach a process: no NUL (execve would cut the value there) and no longer
/// than MAX_VALUE; empty, with the problem reported, otherwise.
fn checked(value: String, file: &SourceFile, span: &Range<usize>, problems: &mut Vec<Problem>) -> String {
    if value.contains('\0') {
        problems.push(
            Problem::error("a value cannot hold a NUL character")
                .at(file, span.clone(), "holds a NUL")
                .help("a process's environment ends each value at its first NUL; remove it"),
        );
        return String::new();
    }
    if value.len() > MAX_VALUE {
        problems.push(too_long(file, span.clone()));
        return String::new();
    }
    value
}

fn too_long(file: &SourceFile, span: Range<usize>) -> Problem {
    Problem::error(format!(
        "this value is longer than {} KiB, the most a variable of a process can hold",
        MAX_VALUE / 1024
    ))
    .at(file, span, "too long")
    .help("a value that repeats others (B=${A}${A}) grows fast; keep values short")
}

fn over_budget(file: &SourceFile, span: Range<usize>) -> Problem {
    Problem::error(format!("the services' environments add up to more than {} MiB", MAX_TOTAL / (1024 * 1024)))
        .at(file, span, "the limit is passed here")
        .help("a value that repeats others (B=${A}${A}) grows fast; keep values short")
}

/// An environment variable's name: letters, digits, `_` and `.`, not starting with a digit
/// (what a `.env` accepts). Above all never `=` or NUL, which would change what execve sees.
pub(crate) fn is_valid_env_key(key: &str) -> bool {
    !key.is_empty()
        && !key.starts_with(|c: char| c.is_ascii_digit())
        && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
}

/// The problem of a key that is no variable name (without its place).
pub(super) fn env_key_problem(key: &str) -> Option<Problem> {
    (!is_valid_env_key(key)).then(|| {
        Problem::error(format!("`{}` is not a variable name", key.escape_debug()))
            .help("a variable name is letters, digits, `_` and `.`, not starting with a digit")
    })
}

/// Reads a file that a manifest names, as a source for problems to point into; only if its
/// owner may say what runs (see [`super::trust`]).
pub(super) fn read_source(path: &Path, display: &str, env: &BaseEnv) -> std::io::Result<SourceFile> {
    let text = super::trust::read_trusted(path, env)?;
    Ok(SourceFile::new(display, text))
}
