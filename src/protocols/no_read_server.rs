//! [`NoReadServer`]: stops reading as soon as it is connected (Twisted's `NoReadServer`).

use bytes::Bytes;

use crate::event::Reason;
use crate::protocol::Protocol;
use crate::transport::Transport;

/// Pauses reading in `connection_made` and never resumes: a peer that looks dead.
///
/// Twisted's `NoReadServer`, the server of the full-write-buffer abort test: whatever its peer
/// writes stays buffered on the peer's side (it counts in the peer's
/// [`buffered`](crate::Transport::buffered), which pauses a push producer such as
/// [`StreamingProducer`](super::StreamingProducer)). It receives nothing, not even an EOF; a
/// reset still reaches it, so an aborting peer ends it with [`Reason::Lost`].
///
/// # Examples
///
/// ```
/// use piecemeal::protocols::NoReadServer;
/// use piecemeal::{Chunking, Harness, Reason};
///
/// let mut h = Harness::new(NoReadServer::new());
/// h.deliver(b"anyone there?", Chunking::whole());
/// h.peer_close();
/// assert_eq!(h.protocol().reason(), None); // not even the EOF arrived
/// h.peer_abort();
/// assert_eq!(h.protocol().reason(), Some(&Reason::Lost));
/// assert_eq!(h.protocol().received(), 0);
/// ```
#[derive(Clone, Debug, Default)]
pub struct NoReadServer {
    received: usize,
    reason: Option<Reason>,
}

impl NoReadServer {
    /// A server that stops reading at once.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// How many bytes it received (zero, unless something resumed its reading).
    #[must_use]
    pub fn received(&self) -> usize {
        self.received
    }

    /// Why the connection ended, once it has.
    #[must_use]
    pub fn reason(&self) -> Option<&Reason> {
        self.reason.as_ref()
    }
}

impl Protocol for NoReadServer {
    fn connection_made(&mut self, tx: &mut Transport<'_>) {
        tx.pause_reading();
    }

    fn data_received(&mut self, data: Bytes, _tx: &mut Transport<'_>) {
        self.received += data.len();
    }

    fn connection_lost(&mut self, reason: &Reason) {
        self.reason = Some(reason.clone());
    }
}
