//! A service name that breaks the rule (see [`crate::model::names`]), as a problem of the
//! manifest: what is wrong, and what a name may be.

use super::problem::Problem;
use crate::model::names::{MAX_NAME_LEN, why_invalid};

/// The problem of a name that is not valid (without its place).
pub(super) fn invalid(name: &str) -> Option<Problem> {
    let why = why_invalid(name)?;
    let shown: String = name.chars().take(MAX_NAME_LEN).collect();
    let shown = if shown.len() < name.len() { format!("{shown}…") } else { shown };
    Some(
        Problem::error(format!("`{shown}` is not a valid service name: {why}"))
            .help("use letters, digits, `-` and `_` (as a Procfile does), at most 64, not starting with `-`"),
    )
}

pub(super) fn reserved(name: &str) -> Problem {
    Problem::error(format!("`{name}` is reserved: orch's own lines show under that name in `orch logs`"))
        .help("give the service another name")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_names_are_shown_cut() {
        let p = invalid(&"n".repeat(300)).unwrap();
        assert!(p.message.contains("at most 64 characters, this one has 300"), "{}", p.message);
        assert!(p.message.len() < 200, "{}", p.message);
    }
}
