//! [`ClosingLater`]: closes itself after its first received piece (Twisted's
//! `ClosingLaterProtocol`).

use bytes::Bytes;

use crate::event::Reason;
use crate::protocol::Protocol;
use crate::transport::Transport;

/// Closes the connection gracefully as soon as its first piece arrives, optionally after
/// writing a reply.
///
/// Twisted's `ClosingLaterProtocol`: "exchange one byte, then disconnect". Because the close
/// stops reading at once, the first piece is all it ever receives: under
/// [`Chunking::every_byte`](crate::Chunking::every_byte) that is one byte, whatever the peer
/// sent. The reply, if any, reaches the peer before the EOF.
///
/// # Examples
///
/// ```
/// use piecemeal::protocols::ClosingLater;
/// use piecemeal::{Chunking, Harness, Reason};
///
/// let mut h = Harness::new(ClosingLater::new().reply(b"bye"));
/// h.deliver(b"hello", Chunking::every_byte());
/// assert_eq!(h.protocol().received().map(|b| &b[..]), Some(&b"h"[..]));
/// assert_eq!(h.written(), b"bye");
/// assert!(h.peer_got_eof());
/// assert_eq!(h.lost(), Some(&Reason::Done));
/// ```
#[derive(Clone, Debug, Default)]
pub struct ClosingLater {
    reply: Option<Bytes>,
    received: Option<Bytes>,
    reason: Option<Reason>,
}

impl ClosingLater {
    /// Close after the first piece, writing nothing.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Write `data` just before closing.
    #[must_use]
    pub fn reply(mut self, data: impl AsRef<[u8]>) -> Self {
        self.reply = Some(Bytes::copy_from_slice(data.as_ref()));
        self
    }

    /// The piece that made it close, once it arrived.
    #[must_use]
    pub fn received(&self) -> Option<&Bytes> {
        self.received.as_ref()
    }

    /// Why the connection ended, once it has.
    #[must_use]
    pub fn reason(&self) -> Option<&Reason> {
        self.reason.as_ref()
    }
}

impl Protocol for ClosingLater {
    fn data_received(&mut self, data: Bytes, tx: &mut Transport<'_>) {
        if self.received.is_some() {
            return;
        }
        self.received = Some(data);
        if let Some(reply) = &self.reply {
            tx.write_bytes(reply.clone());
        }
        tx.lose_connection();
    }

    fn connection_lost(&mut self, reason: &Reason) {
        self.reason = Some(reason.clone());
    }
}
