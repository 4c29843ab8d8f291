//! [`Discard`]: reads and drops everything.

use bytes::Bytes;

use crate::event::Reason;
use crate::protocol::Protocol;
use crate::transport::Transport;

/// Reads everything and keeps only counts: a sink that never writes and never closes by itself.
///
/// Use it as the peer of a writer whose output does not matter (a producer under test, a
/// client whose requests are checked elsewhere), or when a large stream would make
/// [`Accumulating`](super::Accumulating) hold on to every piece.
///
/// # Examples
///
/// ```
/// use piecemeal::protocols::Discard;
/// use piecemeal::{Chunking, Harness, Reason};
///
/// let mut h = Harness::new(Discard::new());
/// h.deliver(vec![7; 1000], Chunking::fixed(100));
/// h.peer_close();
/// assert_eq!((h.protocol().received(), h.protocol().pieces()), (1000, 10));
/// assert_eq!(h.protocol().reason(), Some(&Reason::Done));
/// assert!(h.written().is_empty());
/// ```
#[derive(Clone, Debug, Default)]
pub struct Discard {
    received: usize,
    pieces: usize,
    reason: Option<Reason>,
}

impl Discard {
    /// A sink.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// How many bytes it received.
    #[must_use]
    pub fn received(&self) -> usize {
        self.received
    }

    /// How many pieces they came in.
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

impl Protocol for Discard {
    fn data_received(&mut self, data: Bytes, _tx: &mut Transport<'_>) {
        self.received += data.len();
        self.pieces += 1;
    }

    fn connection_lost(&mut self, reason: &Reason) {
        self.reason = Some(reason.clone());
    }
}
