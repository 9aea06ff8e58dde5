//! Service names as Kubernetes names. A Service's name is an RFC 1035 label: lowercase
//! letters, digits and `-`, starting with a letter, ending with a letter or a digit, at most
//! 63 characters. orch's names are wider (`Web`, `my_web`, `9lives`, `_x`), so each becomes
//! its label (lowercase, `_` as `-`); a name whose label is not valid, or that two services
//! share, is an error naming them: a rename is the user's to choose, and nothing is cut off or
//! dropped in silence (two services of one label would write one file).

use crate::export::{Unit, dns_label};

/// The longest DNS label.
const MAX_LABEL: usize = 63;

/// A CronJob's longest name: its Jobs are named after it with 11 characters more.
const MAX_CRON_JOB: usize = 52;

/// The prefix of the init container that waits for a dependency (`wait-db`).
pub(super) const WAIT_PREFIX: &str = "wait-";

/// An error naming the first service whose name cannot be a Kubernetes name (or is that of
/// the init container waiting for one of its dependencies), or the first two that become the
/// same one.
pub(super) fn check(units: &[Unit]) -> Result<(), String> {
    for unit in units {
        let awaited = units.iter().any(|u| u.depends_on.contains_key(&unit.name));
        let longest = if unit.service.schedule.is_some() {
            MAX_CRON_JOB
        } else if awaited {
            MAX_LABEL - WAIT_PREFIX.len()
        } else {
            MAX_LABEL
        };
        why_not(&unit.name, longest).map_or(Ok(()), Err)?;
        let label = dns_label(&unit.name);
        if let Some(dependency) = unit.depends_on.keys().find(|d| format!("{WAIT_PREFIX}{}", dns_label(d)) == label) {
            return Err(format!(
                "service `{}` waits for `{dependency}` in an init container of the same name, `{label}`; rename it",
                unit.name
            ));
        }
    }
    for (i, unit) in units.iter().enumerate() {
        let label = dns_label(&unit.name);
        if let Some(first) = units[..i].iter().find(|u| dns_label(&u.name) == label) {
            return Err(format!(
                "services `{}` and `{}` both become `{label}` in Kubernetes; rename one",
                first.name, unit.name
            ));
        }
    }
    Ok(())
}

/// Why a service's name cannot be a Kubernetes name of at most `longest` characters.
fn why_not(name: &str, longest: usize) -> Option<String> {
    let label = dns_label(name);
    let said = if label == name { format!("service `{name}`") } else { format!("service `{name}` (`{label}`)") };
    if !label.starts_with(|c: char| c.is_ascii_lowercase()) {
        return Some(format!("{said}: a Kubernetes name starts with a letter; rename it"));
    }
    if !label.ends_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit()) {
        return Some(format!("{said}: a Kubernetes name ends with a letter or a digit; rename it"));
    }
    if let Some(c) = label.chars().find(|&c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')) {
        return Some(format!("{said}: a Kubernetes name is letters, digits and `-`, not {c:?}; rename it"));
    }
    let length = label.len();
    if length > longest {
        let what = match longest {
            MAX_CRON_JOB => "a CronJob's name",
            MAX_LABEL => "a Kubernetes name",
            _ => "the name of a dependency (its init container is `wait-<name>`)",
        };
        return Some(format!("{said}: {what} has at most {longest} characters, this one {length}; rename it"));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::why_not;

    #[test]
    fn valid_labels() {
        for name in ["web", "Web", "my_web", "api-2", "w3", &"x".repeat(63)] {
            assert_eq!(why_not(name, 63), None, "{name}");
        }
    }

    #[test]
    fn what_cannot_be_a_label_is_named() {
        for (name, why) in [
            ("9lives", "service `9lives`: a Kubernetes name starts with a letter; rename it"),
            ("_x", "service `_x` (`-x`): a Kubernetes name starts with a letter; rename it"),
            ("web_", "service `web_` (`web-`): a Kubernetes name ends with a letter or a digit; rename it"),
            ("web-", "service `web-`: a Kubernetes name ends with a letter or a digit; rename it"),
        ] {
            assert_eq!(why_not(name, 63).as_deref(), Some(why), "{name}");
        }
        let long = "x".repeat(64);
        let said = why_not(&long, 63).unwrap();
        assert!(said.contains("at most 63 characters, this one 64"), "{said}");
        assert!(why_not(&"x".repeat(53), 52).unwrap().contains("a CronJob's name has at most 52"));
        assert!(why_not(&"x".repeat(59), 58).unwrap().contains("`wait-<name>`"));
    }
}
