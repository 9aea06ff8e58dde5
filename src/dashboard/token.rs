//! The dashboard's secret: 256 random bits, shown once in the URL it prints, and compared in
//! time that does not depend on where a guess first differs.

use std::fmt;
use std::io::Read;

/// 32 bytes from the kernel's random source, as 64 hex digits.
#[derive(Clone)]
pub(crate) struct Token(String);

impl Token {
    pub(crate) fn new() -> std::io::Result<Self> {
        let mut bytes = [0u8; 32];
        std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
        Ok(Self(bytes.iter().map(|b| format!("{b:02x}")).collect()))
    }

    #[cfg(test)]
    pub(crate) fn fixed(text: &str) -> Self {
        Self(text.to_owned())
    }

    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `offered` is this token. Every byte is looked at, whatever the first
    /// difference, so the time an answer takes tells a guesser nothing.
    pub(crate) fn matches(&self, offered: &str) -> bool {
        let (ours, theirs) = (self.0.as_bytes(), offered.as_bytes());
        ours.len() == theirs.len() && ours.iter().zip(theirs).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
    }
}

/// Never printed by accident (a `{:?}` in a log line).
impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(…)")
    }
}

#[cfg(test)]
mod tests {
    use super::Token;

    #[test]
    fn a_token_is_256_bits_of_hex_and_new_each_time() {
        let (a, b) = (Token::new().unwrap(), Token::new().unwrap());
        assert_eq!(a.as_str().len(), 64);
        assert!(a.as_str().bytes().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a.as_str(), b.as_str());
    }

    #[test]
    fn only_the_token_itself_matches() {
        let token = Token::fixed("abcd");
        assert!(token.matches("abcd"));
        assert!(!token.matches("abce"));
        assert!(!token.matches("abc"));
        assert!(!token.matches("abcde"));
        assert!(!token.matches(""));
        assert_eq!(format!("{token:?}"), "Token(…)");
    }
}
