//! [`ReadAbortServer`]: writes `ready`, then fails if anything but `X` arrives (Twisted's
//! `ReadAbortServerProtocol`).

use bytes::{Bytes, BytesMut};

use super::common::{Checks, Short};
use crate::event::Reason;
use crate::protocol::Protocol;
use crate::transport::Transport;

/// Writes `ready` on connect, then accepts only `X` bytes: anything else is data its peer wrote
/// after aborting, which must never arrive.
///
/// Twisted's `ReadAbortServerProtocol` (an `AbortServerWritingProtocol` that checks what it
/// reads), the server of the [`AbortingClient`](super::AbortingClient) tests: the client writes
/// `X`s, aborts, then writes `Y`s. The `X`s "might arrive" (in piecemeal they never do, since an
/// abort discards unsent bytes); a `Y`, or any byte other than `X`, is a bug in the transport.
///
/// Such a byte is recorded in [`problems`](Self::problems) (observable after the run). With
/// [`strict`](Self::strict) it panics instead, in `data_received`, with a message naming the
/// bytes; under the default [`PanicPolicy`](crate::PanicPolicy) the harness attaches the
/// transcript and the test fails there.
///
/// # Examples
///
/// ```
/// use piecemeal::protocols::ReadAbortServer;
/// use piecemeal::{Chunking, Harness};
///
/// let mut h = Harness::new(ReadAbortServer::new());
/// h.connect();
/// assert_eq!(h.written(), b"ready");
/// h.deliver(b"XXXYX", Chunking::whole());
/// assert_eq!(h.protocol().received(), b"XXXYX");
/// assert_eq!(h.protocol().problems().len(), 1);
/// ```
///
/// Under [`strict`](Self::strict) the same delivery fails the test:
///
/// ```should_panic
/// use piecemeal::protocols::ReadAbortServer;
/// use piecemeal::{Chunking, Harness};
///
/// let mut h = Harness::new(ReadAbortServer::new().strict());
/// h.deliver(b"XXXYX", Chunking::whole()); // panics: received b"Y" …
/// ```
#[derive(Clone, Debug, Default)]
pub struct ReadAbortServer {
    received: BytesMut,
    checks: Checks,
}

impl ReadAbortServer {
    /// Write `ready`, record any byte other than `X`.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Panic when a byte other than `X` arrives (or `connection_lost` comes twice), instead of
    /// recording it.
    #[must_use]
    pub fn strict(mut self) -> Self {
        self.checks.set_strict();
        self
    }

    /// Everything received.
    #[must_use]
    pub fn received(&self) -> &[u8] {
        &self.received
    }

    /// Why the connection ended, once it has.
    #[must_use]
    pub fn reason(&self) -> Option<&Reason> {
        self.checks.reason()
    }

    /// The broken expectations it noticed (a piece holding bytes other than `X`, a second
    /// `connection_lost`); empty when all went well.
    #[must_use]
    pub fn problems(&self) -> &[String] {
        self.checks.problems()
    }
}

impl Protocol for ReadAbortServer {
    fn connection_made(&mut self, tx: &mut Transport<'_>) {
        tx.write("ready");
    }

    fn data_received(&mut self, data: Bytes, _tx: &mut Transport<'_>) {
        let offset = self.received.len();
        self.received.extend_from_slice(&data);
        let other: Vec<u8> = data.iter().copied().filter(|&b| b != b'X').collect();
        if !other.is_empty() {
            let label = self.log_prefix();
            self.checks.flag(
                &label,
                format!(
                    "received {} in a piece at offset {offset}: bytes other than X, which only \
                     its peer's writes after its abort could have sent",
                    Short(&other)
                ),
            );
        }
    }

    fn connection_lost(&mut self, reason: &Reason) {
        let label = self.log_prefix();
        self.checks.lost(&label, reason);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_connection_lost_is_flagged_and_its_reason_kept() {
        let mut p = ReadAbortServer::new();
        p.connection_lost(&Reason::Lost);
        assert!(p.problems().is_empty());
        p.connection_lost(&Reason::Done);
        assert_eq!(p.problems(), ["connection_lost was called twice"]);
        assert_eq!(p.reason(), Some(&Reason::Done));
    }
}
