//! [`Echo`]: writes back every piece it receives.

use bytes::Bytes;

use crate::event::Reason;
use crate::protocol::Protocol;
use crate::transport::Transport;

/// Writes back every piece it receives, as it arrives (the very `Bytes`, no copy).
///
/// The simplest live peer: a client under test talks to it and reads its own bytes back. Each
/// piece is echoed in the callback that received it, so under
/// [`Chunking::every_byte`](crate::Chunking::every_byte) the echo interleaves with the input
/// byte by byte. It is not half-closeable: the peer's EOF ends it, and whatever it had not yet
/// sent back is dropped, as real TCP does (use [`HalfCloseEcho`](super::HalfCloseEcho) to
/// answer a half-close).
///
/// # Examples
///
/// ```
/// use piecemeal::protocols::Echo;
/// use piecemeal::{Chunking, Harness};
///
/// let mut h = Harness::new(Echo::new());
/// h.deliver(b"ping", Chunking::every_byte());
/// assert_eq!(h.written(), b"ping");
/// assert_eq!(h.protocol().echoed(), 4);
/// assert_eq!(h.protocol().pieces(), 4);
/// ```
#[derive(Clone, Debug, Default)]
pub struct Echo {
    echoed: usize,
    pieces: usize,
    reason: Option<Reason>,
}

impl Echo {
    /// An echo.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// How many bytes it echoed.
    #[must_use]
    pub fn echoed(&self) -> usize {
        self.echoed
    }

    /// How many pieces it received (and wrote back).
    #[must_use]
    pub fn pieces(&self) -> usize {
        self.pieces
    }

    /// Why the connection ended, once it has.
    #[must_use]
    pub fn reason(&self) -> Option<&Reason> {
        self.reason.as_ref()
    }
}

impl Protocol for Echo {
    fn data_received(&mut self, data: Bytes, tx: &mut Transport<'_>) {
        self.echoed += data.len();
        self.pieces += 1;
        tx.write_bytes(data);
    }

    fn connection_lost(&mut self, reason: &Reason) {
        self.reason = Some(reason.clone());
    }
}
