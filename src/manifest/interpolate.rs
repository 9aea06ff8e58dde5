//! `${VAR}` expansion in env values, `cwd`, `env_file` and ready targets (never in `cmd`).
//!
//! - `${VAR}`: the value, or empty (and VAR is reported as unset);
//! - `${VAR:-default}`: the default when VAR is unset or empty; `${VAR-default}` only when unset;
//! - `$$`: a literal `$`;
//! - a `$` followed by anything else is kept as it is, so `$HOME` reaches the shell untouched.

#[derive(Debug, PartialEq, Eq)]
pub struct Expanded {
    pub value: String,
    /// Names looked up that had no value and no default.
    pub unset: Vec<String>,
}

#[derive(Debug, PartialEq, Eq)]
pub struct ExpandError {
    /// Byte offset in the input where the bad `${` starts.
    pub offset: usize,
    pub message: String,
}

pub fn expand(input: &str, lookup: impl Fn(&str) -> Option<String>) -> Result<Expanded, ExpandError> {
    let mut value = String::with_capacity(input.len());
    let mut unset = Vec::new();
    let mut rest = input;
    while let Some(i) = rest.find('$') {
        value.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            value.push('$');
            rest = tail;
        } else if let Some(body_and_tail) = after.strip_prefix('{') {
            let offset = input.len() - rest.len() + i;
            let close = body_and_tail
                .find('}')
                .ok_or_else(|| ExpandError { offset, message: "`${` is not closed by `}`".into() })?;
            let body = &body_and_tail[..close];
            value.push_str(&substitute(body, &lookup, &mut unset).map_err(|message| ExpandError { offset, message })?);
            rest = &body_and_tail[close + 1..];
        } else {
            value.push('$');
            rest = after;
        }
    }
    value.push_str(rest);
    Ok(Expanded { value, unset })
}

fn substitute(body: &str, lookup: &impl Fn(&str) -> Option<String>, unset: &mut Vec<String>) -> Result<String, String> {
    // `${web.port}` (a service's port); service names may hold `-`, which would otherwise read
    // as `${VAR-default}`.
    let port_ref = body.strip_suffix(".port").is_some_and(|svc| !svc.is_empty() && svc.chars().all(is_service_char));
    let name_end = if port_ref { body.len() } else { body.find(|c: char| !is_name_char(c)).unwrap_or(body.len()) };
    let (name, modifier) = body.split_at(name_end);
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(format!("`${{{body}}}` does not start with a variable name"));
    }
    let found = lookup(name);
    if let Some(default) = modifier.strip_prefix(":-") {
        return Ok(found.filter(|v| !v.is_empty()).unwrap_or_else(|| default.to_owned()));
    }
    if let Some(default) = modifier.strip_prefix('-') {
        return Ok(found.unwrap_or_else(|| default.to_owned()));
    }
    if !modifier.is_empty() {
        return Err(format!(
            "`${{{body}}}` is not a variable reference; write `${{{name}}}` or `${{{name}:-default}}`"
        ));
    }
    Ok(found.unwrap_or_else(|| {
        unset.push(name.to_owned());
        String::new()
    }))
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn is_service_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "HOST" => Some("db.local".into()),
            "EMPTY" => Some(String::new()),
            _ => None,
        }
    }

    fn ok(input: &str) -> String {
        expand(input, env).expect(input).value
    }

    #[test]
    fn expands_braced_names_only() {
        assert_eq!(ok("${HOST}:5432"), "db.local:5432");
        assert_eq!(ok("$HOST"), "$HOST");
        assert_eq!(ok("cost $5 and $"), "cost $5 and $");
        assert_eq!(ok("a$$b$${HOST}"), "a$b${HOST}");
    }

    #[test]
    fn defaults_follow_the_shell() {
        assert_eq!(ok("${NOPE:-x}"), "x");
        assert_eq!(ok("${EMPTY:-x}"), "x");
        assert_eq!(ok("${EMPTY-x}"), "");
        assert_eq!(ok("${NOPE-x}"), "x");
        assert_eq!(ok("${HOST:-x}"), "db.local");
        assert_eq!(ok("${NOPE:-}"), "");
    }

    #[test]
    fn reports_unset_names() {
        let e = expand("${A}${HOST}${B}", env).unwrap();
        assert_eq!(e.value, "db.local");
        assert_eq!(e.unset, ["A", "B"]);
    }

    #[test]
    fn service_port_references() {
        let ports = |name: &str| (name == "my-web.port").then(|| "4000".to_owned());
        assert_eq!(expand("http://127.0.0.1:${my-web.port}/", ports).unwrap().value, "http://127.0.0.1:4000/");
        assert_eq!(expand("${other.port}", ports).unwrap().unset, ["other.port"]);
    }

    #[test]
    fn rejects_malformed_references() {
        assert_eq!(expand("ab${HOST", env).unwrap_err().offset, 2);
        assert!(expand("${}", env).is_err());
        assert!(expand("${1X}", env).is_err());
        assert!(expand("${A B}", env).is_err());
    }
}
