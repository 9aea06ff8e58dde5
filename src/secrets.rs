//! Which variables hold credentials, by their names: what the TUI masks in a service's details
//! and what `orch export kubernetes` keeps out of a ConfigMap.

/// Words in a variable's name that say its value is a credential.
const SECRET_WORDS: [&str; 5] = ["PASSWORD", "PASSWD", "SECRET", "TOKEN", "CREDENTIAL"];

/// Whether a variable's name says it holds a credential: `DATABASE_PASSWORD`, `API_KEY`,
/// `GITHUB_TOKEN`. `KEY` counts as a word of the name or its end (`APIKEY`), so `KEYBOARD`
/// does not.
pub(crate) fn looks_secret(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    SECRET_WORDS.iter().any(|word| upper.contains(word))
        || upper.split(|c: char| !c.is_ascii_alphanumeric()).any(|word| word.ends_with("KEY"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_names() {
        for name in ["API_KEY", "DATABASE_PASSWORD", "github_token", "AWS_SECRET_ACCESS_KEY", "APIKEY", "DB_PASSWD"] {
            assert!(looks_secret(name), "{name}");
        }
        for name in ["DATABASE_URL", "PORT", "KEYBOARD_LAYOUT", "RUST_LOG", "PS", "KEYS_DIR"] {
            assert!(!looks_secret(name), "{name}");
        }
    }
}
