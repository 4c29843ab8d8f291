//! [`AbortingServer`]: aborts in `data_received`, then aborts again or closes (Twisted's
//! `ServerAbortsTwice` and `ServerAbortsThenLoses`).

use bytes::{Bytes, BytesMut};

use super::AfterAbort;
use super::common::Checks;
use crate::event::Reason;
use crate::protocol::Protocol;
use crate::transport::Transport;

/// In `data_received`: aborts, then does what its [`AfterAbort`] says. Writes nothing.
///
/// Twisted's `ServerAbortsTwice` ([`twice`](Self::twice)) and `ServerAbortsThenLoses`
/// ([`then_lose`](Self::then_lose)), against a client that writes `hello`
/// (`Accumulating::new().greeting(b"hello")`): the server is lost with [`Reason::Aborted`],
/// the client with [`Reason::Lost`]. Like [`AbortingClient`](super::AbortingClient) it checks
/// that `connection_lost` is not called from inside its `data_received`
/// ([`problems`](Self::problems)).
///
/// # Examples
///
/// ```
/// use piecemeal::protocols::{AbortingServer, Accumulating};
/// use piecemeal::{Chunking, Pair, Reason};
///
/// let client = Accumulating::new().greeting(b"hello");
/// let mut pair = Pair::new(client, AbortingServer::twice()).client_to_server(Chunking::every_byte());
/// pair.run();
/// assert_eq!(pair.server().received(), b"h");
/// assert_eq!(pair.server().reason(), Some(&Reason::Aborted));
/// assert_eq!(pair.client().reason(), Some(&Reason::Lost));
/// ```
#[derive(Clone, Debug, Default)]
pub struct AbortingServer {
    then: AfterAbort,
    received: BytesMut,
    checks: Checks,
}

impl AbortingServer {
    /// Abort once.
    #[must_use]
    pub fn new() -> Self {
        Self::with(AfterAbort::Nothing)
    }

    /// Abort, then abort again (Twisted's `ServerAbortsTwice`).
    #[must_use]
    pub fn twice() -> Self {
        Self::with(AfterAbort::AbortAgain)
    }

    /// Abort, then `lose_connection` (Twisted's `ServerAbortsThenLoses`).
    #[must_use]
    pub fn then_lose() -> Self {
        Self::with(AfterAbort::Lose)
    }

    /// Abort, then `then`.
    #[must_use]
    pub fn with(then: AfterAbort) -> Self {
        Self {
            then,
            ..Self::default()
        }
    }

    /// Panic instead of recording a problem.
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

    /// Why the connection ended, once it has.
    #[must_use]
    pub fn reason(&self) -> Option<&Reason> {
        self.checks.reason()
    }

    /// The broken expectations it noticed; empty when all went well.
    #[must_use]
    pub fn problems(&self) -> &[String] {
        self.checks.problems()
    }
}

impl Protocol for AbortingServer {
    fn data_received(&mut self, data: Bytes, tx: &mut Transport<'_>) {
        self.received.extend_from_slice(&data);
        self.checks.enter("data_received");
        tx.abort_connection();
        self.then.apply(tx);
        self.checks.leave();
    }

    fn connection_lost(&mut self, reason: &Reason) {
        let label = self.log_prefix();
        self.checks.lost(&label, reason);
    }
}
