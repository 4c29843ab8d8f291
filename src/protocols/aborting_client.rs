//! [`AbortingClient`]: writes, aborts, writes again, in `data_received` (Twisted's
//! `AbortingClient`, `AbortingTwiceClient` and `AbortingThenLosingClient`), and [`AfterAbort`].

use bytes::{Bytes, BytesMut};

use super::common::Checks;
use crate::event::Reason;
use crate::protocol::Protocol;
use crate::transport::Transport;

/// What an aborting protocol does right after its `abort_connection`, in the same callback.
///
/// Both are no-ops in piecemeal as in real TCP: the abort wins. The variants exist to check
/// exactly that (Twisted's `test_clientAbortsConnectionTwice` and
/// `test_clientAbortsConnectionThenLosesConnection`).
#[non_exhaustive]
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub enum AfterAbort {
    /// Nothing more.
    #[default]
    Nothing,
    /// Call `abort_connection` a second time.
    AbortAgain,
    /// Call `lose_connection`.
    Lose,
}

impl AfterAbort {
    pub(super) fn apply(self, tx: &mut Transport<'_>) {
        match self {
            Self::Nothing => {}
            Self::AbortAgain => tx.abort_connection(),
            Self::Lose => tx.lose_connection(),
        }
    }
}

/// In `data_received`: writes `X`×10 000, aborts, writes `Y`×10 000, then does what its
/// [`AfterAbort`] says. The `Y`s must never reach the peer.
///
/// Twisted's `AbortingClient` family (`test_tcp.py`), for
/// [`ReadAbortServer`](super::ReadAbortServer), which checks that no `Y` arrives. It acts on
/// every piece it receives; after the abort it receives nothing more, so in practice it acts
/// once, on the first piece (under
/// [`Chunking::every_byte`](crate::Chunking::every_byte), after one byte of the server's
/// `ready`). The abort discards the `X`s too, since they were not yet sent. It can play either
/// end: the name is Twisted's.
///
/// Like Twisted's `BaseAbortingClient` it checks that `connection_lost` is not called while its
/// `data_received` is still running (the harness guarantees it, so this is a check of the
/// harness); a violation is recorded in [`problems`](Self::problems), or panics under
/// [`strict`](Self::strict).
///
/// # Examples
///
/// ```
/// use piecemeal::protocols::{AbortingClient, ReadAbortServer};
/// use piecemeal::{Chunking, Event, Pair, Reason};
///
/// let mut pair = Pair::new(AbortingClient::then_lose(), ReadAbortServer::new())
///     .server_to_client(Chunking::every_byte());
/// pair.run();
/// assert_eq!(pair.client().reason(), Some(&Reason::Aborted));
/// assert_eq!(pair.server().reason(), Some(&Reason::Lost));
/// assert_eq!(pair.server().received(), b"");
/// assert!(pair.client().problems().is_empty() && pair.server().problems().is_empty());
/// // The Ys were written after the abort: discarded, and recorded as such.
/// let dropped = pair.events(piecemeal::End::Client);
/// assert!(dropped.iter().any(|e| matches!(e, Event::Dropped(b) if b.len() == 10_000)));
/// ```
#[derive(Clone, Debug)]
pub struct AbortingClient {
    then: AfterAbort,
    before: Bytes,
    after: Bytes,
    received: BytesMut,
    checks: Checks,
}

impl AbortingClient {
    /// Write, abort, write (Twisted's `AbortingClient`).
    #[must_use]
    pub fn new() -> Self {
        Self::with(AfterAbort::Nothing)
    }

    /// Write, abort, write, abort again (Twisted's `AbortingTwiceClient`).
    #[must_use]
    pub fn twice() -> Self {
        Self::with(AfterAbort::AbortAgain)
    }

    /// Write, abort, write, then `lose_connection` (Twisted's `AbortingThenLosingClient`).
    #[must_use]
    pub fn then_lose() -> Self {
        Self::with(AfterAbort::Lose)
    }

    /// Write, abort, write, then `then`.
    #[must_use]
    pub fn with(then: AfterAbort) -> Self {
        Self {
            then,
            before: Bytes::from(vec![b'X'; 10_000]),
            after: Bytes::from(vec![b'Y'; 10_000]),
            received: BytesMut::new(),
            checks: Checks::default(),
        }
    }

    /// Panic (with the transcript, under the default panic policy) instead of recording a
    /// problem.
    #[must_use]
    pub fn strict(mut self) -> Self {
        self.checks.set_strict();
        self
    }

    /// What it does after the abort.
    #[must_use]
    pub fn after_abort(&self) -> AfterAbort {
        self.then
    }

    /// Everything received (before its abort).
    #[must_use]
    pub fn received(&self) -> &[u8] {
        &self.received
    }

    /// Why the connection ended, once it has: [`Reason::Aborted`] when its own abort ended it.
    #[must_use]
    pub fn reason(&self) -> Option<&Reason> {
        self.checks.reason()
    }

    /// The broken expectations it noticed (a second or re-entrant `connection_lost`); empty
    /// when all went well.
    #[must_use]
    pub fn problems(&self) -> &[String] {
        self.checks.problems()
    }
}

impl Default for AbortingClient {
    fn default() -> Self {
        Self::new()
    }
}

impl Protocol for AbortingClient {
    fn data_received(&mut self, data: Bytes, tx: &mut Transport<'_>) {
        self.received.extend_from_slice(&data);
        self.checks.enter("data_received");
        tx.write_bytes(self.before.clone());
        tx.abort_connection();
        tx.write_bytes(self.after.clone());
        self.then.apply(tx);
        self.checks.leave();
    }

    fn connection_lost(&mut self, reason: &Reason) {
        let label = self.log_prefix();
        self.checks.lost(&label, reason);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Event, Harness};

    #[test]
    fn after_abort_asks_what_it_names() {
        for (then, want) in [
            (AfterAbort::Nothing, vec![]),
            (
                AfterAbort::AbortAgain,
                vec![Event::AbortRequested, Event::Lost(Reason::Aborted)],
            ),
            (
                AfterAbort::Lose,
                vec![Event::CloseRequested, Event::Lost(Reason::Done)],
            ),
        ] {
            let mut h = Harness::new(AbortingClient::new());
            h.connect();
            let before = h.events().len();
            h.with_protocol(|_, tx| then.apply(tx));
            assert_eq!(h.events()[before..], want[..], "{then:?}");
        }
    }
}
