//! Text a service wrote, made safe to show: what orch itself displays of it (a `STATUS=` line
//! in `ps`, the last log lines `up` prints on a failure) could otherwise set the terminal's
//! title, clear the screen or rewrite what the user sees. Escape sequences (CSI, OSC and the
//! other ECMA-48 strings, in their 7-bit and 8-bit forms) are removed whole, and every other
//! control character but the tab is dropped. (`orch logs` shows the raw bytes on purpose: it
//! is the service's output, as `docker logs` shows it.)

/// A line a service wrote, as text fit to show: invalid UTF-8 replaced, controls removed.
pub(crate) fn shown_text(line: &[u8]) -> String {
    strip_controls(&String::from_utf8_lossy(line))
}

/// `text` without terminal control sequences or control characters (tab kept).
pub(crate) fn strip_controls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\x1b' => match chars.next() {
                Some('[') => skip_csi(&mut chars),
                Some(']' | 'P' | 'X' | '^' | '_') => skip_string(&mut chars),
                // ESC, intermediates (0x20–0x2F), then one final character.
                Some(' '..='/') => {
                    while chars.next_if(|c| (' '..='/').contains(c)).is_some() {}
                    chars.next();
                }
                _ => {}
            },
            '\u{9b}' => skip_csi(&mut chars),
            '\u{9d}' | '\u{90}' | '\u{98}' | '\u{9e}' | '\u{9f}' => skip_string(&mut chars),
            '\t' => out.push(c),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// A control sequence's parameters and intermediates, then its final character (0x40–0x7E).
/// Any other character ends it too, and is then looked at like any other.
fn skip_csi(chars: &mut std::iter::Peekable<std::str::Chars>) {
    while chars.next_if(|c| ('0'..='?').contains(c) || (' '..='/').contains(c)).is_some() {}
    chars.next_if(|c| ('@'..='~').contains(c));
}

/// An OSC, DCS, SOS, PM or APC string, up to its terminator: BEL, `ESC \` or ST.
fn skip_string(chars: &mut std::iter::Peekable<std::str::Chars>) {
    while let Some(c) = chars.next() {
        match c {
            '\x07' | '\u{9c}' => return,
            '\x1b' => {
                chars.next_if_eq(&'\\');
                return;
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn sequences_go_whole_and_text_stays() {
        let cases = [
            ("\x1b]0;pwned\x07hello", "hello"),
            ("\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\", "link"),
            ("\x1b[2J\x1b[1;31mred\x1b[0m", "red"),
            ("a\u{9b}31mb\u{9d}title\u{9c}c", "abc"),
            ("bell\x07 back\x08space\r\n", "bell backspace"),
            ("\x1b(Bascii \x1bcreset", "ascii reset"),
            ("tab\tkept, ünïcode kept", "tab\tkept, ünïcode kept"),
            ("unterminated \x1b]0;title", "unterminated "),
            ("\x1b[31", ""),
            ("\x1bPdcs\x1b\\ok\u{7f}", "ok"),
        ];
        for (input, expected) in cases {
            assert_eq!(strip_controls(input), expected, "{input:?}");
        }
    }

    proptest! {
        #[test]
        fn no_control_character_survives(input in any::<String>()) {
            let out = strip_controls(&input);
            prop_assert!(out.chars().all(|c| c == '\t' || !c.is_control()), "{out:?}");
            prop_assert!(out.len() <= input.len());
        }

        #[test]
        fn text_without_controls_is_kept(input in "[^\\p{Cc}]*") {
            prop_assert_eq!(strip_controls(&input), input);
        }
    }
}
