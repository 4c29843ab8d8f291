//! What the ready-made protocols share: `Problems` (the expectations a checking protocol found
//! broken) and `ByteLit` (bytes as a Rust byte-string literal).

use std::fmt::{self, Write as _};

/// The broken expectations one protocol noticed (a re-entrant `connection_lost`, data that
/// should never have arrived, …), in order. In strict mode the first one panics instead, with a
/// message that names the protocol; under the default panic policy the harness attaches the
/// transcript to that panic.
#[derive(Clone, Debug, Default)]
pub(super) struct Problems {
    list: Vec<String>,
    strict: bool,
}

impl Problems {
    pub(super) fn set_strict(&mut self, strict: bool) {
        self.strict = strict;
    }

    /// Record a problem, or panic with it in strict mode.
    pub(super) fn flag(&mut self, who: &str, problem: String) {
        assert!(
            !self.strict,
            "{who} (strict): {problem}; without strict() it would only be recorded in problems()"
        );
        self.list.push(problem);
    }

    pub(super) fn list(&self) -> &[String] {
        &self.list
    }
}

/// Bytes displayed as a Rust byte-string literal (`b"GET /\r\n"`), complete, so that it pastes
/// back into code. With `{:#}`, a line break follows every `\n` escape but a final one (for
/// line diffs).
pub(crate) struct ByteLit<'a>(pub(crate) &'a [u8]);

impl fmt::Display for ByteLit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("b\"")?;
        let last = self.0.len().wrapping_sub(1);
        for (i, &b) in self.0.iter().enumerate() {
            match b {
                b'\n' if f.alternate() && i != last => f.write_str("\\n\n")?,
                b'\n' => f.write_str("\\n")?,
                b'\r' => f.write_str("\\r")?,
                b'\t' => f.write_str("\\t")?,
                b'\0' => f.write_str("\\0")?,
                b'\\' => f.write_str("\\\\")?,
                b'"' => f.write_str("\\\"")?,
                0x20..=0x7e => f.write_char(char::from(b))?,
                _ => write!(f, "\\x{b:02x}")?,
            }
        }
        f.write_str("\"")
    }
}

impl fmt::Debug for ByteLit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Bytes shown short, for messages: the literal when it is short, else its start and length.
pub(super) struct Short<'a>(pub(super) &'a [u8]);

impl fmt::Display for Short<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 48;
        if self.0.len() <= SHOWN {
            write!(f, "{}", ByteLit(self.0))
        } else {
            write!(f, "{}… ({} bytes)", ByteLit(&self.0[..SHOWN]), self.0.len())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_literals_escape_what_rust_needs() {
        assert_eq!(
            ByteLit(b"a\r\n\t\0\\\"\x7f\xff").to_string(),
            r#"b"a\r\n\t\0\\\"\x7f\xff""#
        );
        assert_eq!(format!("{:#}", ByteLit(b"a\nb\n")), "b\"a\\n\nb\\n\"");
        assert_eq!(
            Short(&[b'x'; 50]).to_string(),
            format!("b\"{}\"… (50 bytes)", "x".repeat(48))
        );
    }
}
