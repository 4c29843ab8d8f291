//! What the ready-made protocols share: `Checks` (the bookkeeping of the checking protocols:
//! why the connection ended, and the expectations found broken) and `ByteLit` (bytes as a Rust
//! byte-string literal).

use std::fmt::{self, Write as _};

use crate::event::Reason;

/// What a checking protocol (the aborting family) keeps track of: why the connection ended,
/// the callback it is running while it aborts, and the broken expectations it noticed (a
/// second or re-entrant `connection_lost`, data that should never have arrived, …), in order. In strict
/// mode the first problem panics instead, with a message that names the protocol; under the
/// default panic policy the harness attaches the transcript to that panic.
#[derive(Clone, Debug, Default)]
pub(super) struct Checks {
    reason: Option<Reason>,
    inside: Option<&'static str>,
    problems: Vec<String>,
    strict: bool,
}

impl Checks {
    /// Panic on the first problem instead of recording it.
    pub(super) fn set_strict(&mut self) {
        self.strict = true;
    }

    /// Record a problem, or panic with it in strict mode.
    pub(super) fn flag(&mut self, who: &str, problem: String) {
        assert!(
            !self.strict,
            "{who} (strict): {problem}; without strict() it would only be recorded in problems()"
        );
        self.problems.push(problem);
    }

    /// The problems recorded so far.
    pub(super) fn problems(&self) -> &[String] {
        &self.problems
    }

    /// Why the connection ended, once [`lost`](Self::lost) was called.
    pub(super) fn reason(&self) -> Option<&Reason> {
        self.reason.as_ref()
    }

    /// Mark the start of `callback`, the one that aborts: a `connection_lost` that comes before
    /// [`leave`](Self::leave) is re-entrant.
    pub(super) fn enter(&mut self, callback: &'static str) {
        self.inside = Some(callback);
    }

    /// Mark the end of the callback [`enter`](Self::enter)ed.
    pub(super) fn leave(&mut self) {
        self.inside = None;
    }

    /// For `connection_lost`: flag it if it came a second time, or from inside the callback
    /// entered, then keep `reason` (the last one).
    pub(super) fn lost(&mut self, who: &str, reason: &Reason) {
        if self.reason.is_some() {
            self.flag(who, "connection_lost was called twice".into());
        }
        if let Some(callback) = self.inside {
            self.flag(
                who,
                format!("connection_lost was called re-entrantly, from inside {callback}"),
            );
        }
        self.reason = Some(reason.clone());
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

    #[test]
    fn checks_flag_a_second_connection_lost_and_one_from_inside_the_entered_callback() {
        let mut checks = Checks::default();
        checks.enter("data_received");
        checks.leave();
        checks.lost("P", &Reason::Done);
        assert!(checks.problems().is_empty());
        assert_eq!(checks.reason(), Some(&Reason::Done));

        checks.enter("timer_fired");
        checks.lost("P", &Reason::Aborted);
        assert_eq!(
            checks.problems(),
            [
                "connection_lost was called twice",
                "connection_lost was called re-entrantly, from inside timer_fired"
            ]
        );
        assert_eq!(checks.reason(), Some(&Reason::Aborted));
    }

    #[test]
    fn strict_checks_panic_with_the_label_instead_of_recording() {
        let mut checks = Checks::default();
        checks.set_strict();
        checks.enter("resume_producing");
        let payload = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            checks.lost("P", &Reason::Done)
        }))
        .expect_err("a strict check panics");
        let text = payload
            .downcast_ref::<String>()
            .expect("a formatted panic message");
        assert_eq!(
            text,
            "P (strict): connection_lost was called re-entrantly, from inside resume_producing; \
             without strict() it would only be recorded in problems()"
        );
        assert!(
            checks.problems().is_empty(),
            "panicked instead of recording"
        );
    }
}
