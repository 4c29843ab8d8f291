//! [`EventualNoReadServer`]: stops reading after the first exchange (Twisted's
//! `EventualNoReadServer`).

use bytes::Bytes;

use crate::event::Reason;
use crate::protocol::Protocol;
use crate::transport::{ProducerKind, Transport};

/// On its first received piece, registers itself as a pull producer and writes `hello`; once
/// that write has drained (the peer received it all), it pauses reading for good.
///
/// Twisted's `EventualNoReadServer`, the server of the abort test "full write buffer after a
/// byte exchange", against [`StreamingProducer::later`](super::StreamingProducer::later). In
/// Twisted the pull producer's first `resumeProducing` comes from inside `registerProducer`,
/// before the write, so it stops reading at once despite its comment ("we've written out the
/// data"). Here it does what the comment says: it skips a `resume_producing` that comes while
/// its `hello` is still buffered, and stops reading on the one that comes when the buffer has
/// drained. It stays registered (as in Twisted), so it never sends an EOF of its own.
///
/// # Examples
///
/// ```
/// use piecemeal::protocols::EventualNoReadServer;
/// use piecemeal::{Chunking, Harness};
///
/// let mut h = Harness::new(EventualNoReadServer::new());
/// h.deliver(b"hi", Chunking::every_byte());
/// assert_eq!(h.written(), b"hello");
/// assert!(h.protocol().stopped_reading());
/// h.deliver(b"more", Chunking::whole());
/// assert_eq!(h.protocol().received(), b"hi"); // the second delivery waits, unread
/// ```
#[derive(Clone, Debug, Default)]
pub struct EventualNoReadServer {
    stopped_reading: bool,
    received: Vec<u8>,
    reason: Option<Reason>,
}

impl EventualNoReadServer {
    /// A server that stops reading after its first exchange.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether it has stopped reading.
    #[must_use]
    pub fn stopped_reading(&self) -> bool {
        self.stopped_reading
    }

    /// Everything it received before it stopped reading.
    #[must_use]
    pub fn received(&self) -> &[u8] {
        &self.received
    }

    /// Why the connection ended, once it has.
    #[must_use]
    pub fn reason(&self) -> Option<&Reason> {
        self.reason.as_ref()
    }
}

impl Protocol for EventualNoReadServer {
    fn data_received(&mut self, data: Bytes, tx: &mut Transport<'_>) {
        let first = self.received.is_empty(); // pieces are never empty
        self.received.extend_from_slice(&data);
        if first {
            tx.register_producer(ProducerKind::Pull);
            tx.write("hello");
        }
    }

    fn resume_producing(&mut self, tx: &mut Transport<'_>) {
        if self.stopped_reading || tx.buffered() > 0 {
            return;
        }
        self.stopped_reading = true;
        tx.pause_reading();
    }

    fn connection_lost(&mut self, reason: &Reason) {
        self.reason = Some(reason.clone());
    }
}
