//! Service names: the one rule for every name orch accepts, whether from procs.toml, a
//! Procfile, `orch start NAME -- …`, a process marker, the state file or a socket request.
//! A name becomes a log file name and a word on command lines, so it is short, plain, and
//! never reads as an option.

/// The longest name: log file names and `${NAME.port}` references stay readable.
pub(crate) const MAX_NAME_LEN: usize = 64;

/// The name orch's own lines go under in `orch logs`.
pub(crate) const RESERVED_NAME: &str = "orch";

/// Letters, digits, `-` and `_`, not starting with `-`, at most 64 characters.
pub(crate) fn is_valid_name(name: &str) -> bool {
    why_invalid(name).is_none()
}

/// What is wrong with a name, in words, or None when it is valid.
pub(crate) fn why_invalid(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("a service name cannot be empty".into());
    }
    if name.len() > MAX_NAME_LEN {
        return Some(format!(
            "a service name has at most {MAX_NAME_LEN} characters, this one has {}",
            name.chars().count()
        ));
    }
    if let Some(c) = name.chars().find(|&c| !(c.is_ascii_alphanumeric() || c == '_' || c == '-')) {
        return Some(format!("a service name is letters, digits, `-` and `_`, not {c:?}"));
    }
    if name.starts_with('-') {
        return Some("a service name cannot start with `-` (it would read as an option)".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule() {
        for good in ["web", "web-2", "my_worker", "W3", "a", &"x".repeat(64), "_x", "9lives"] {
            assert!(is_valid_name(good), "{good}");
        }
        for bad in ["", "-rf", "--help", "a b", "x.y", "é", "../x", &"x".repeat(65), "a/b"] {
            assert!(!is_valid_name(bad), "{bad}");
        }
    }
}
