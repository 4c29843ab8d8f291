//! [`HalfCloseEcho`]: an echo that answers the peer's EOF by finishing and closing.

use bytes::Bytes;

use crate::event::Reason;
use crate::protocol::Protocol;
use crate::transport::Transport;

/// Echoes every piece; on the peer's EOF it writes what is left (an optional
/// [`trailer`](Self::trailer)) and closes, after everything it echoed has been delivered.
///
/// It is half-closeable: the peer's EOF (its `lose_write_connection`) does not end it, so a
/// client that half-closes after its request still reads the whole echo, then the trailer, then
/// this end's EOF; this end's `connection_lost` is [`Reason::Done`]. That is the exchange of
/// Twisted's half-close tests; a plain [`Echo`](super::Echo) would instead be ended by the EOF
/// and drop the echo it had not sent yet.
///
/// # Examples
///
/// ```
/// use piecemeal::protocols::HalfCloseEcho;
/// use piecemeal::{Chunking, Harness, Reason};
///
/// let mut h = Harness::new(HalfCloseEcho::new().trailer(b"\r\nbye"));
/// h.deliver(b"abc", Chunking::every_byte());
/// h.peer_half_close();
/// assert_eq!(h.written(), b"abc\r\nbye");
/// assert!(h.peer_got_eof());
/// assert!(h.protocol().got_eof());
/// assert_eq!(h.lost(), Some(&Reason::Done));
/// ```
#[derive(Clone, Debug, Default)]
pub struct HalfCloseEcho {
    trailer: Option<Bytes>,
    echoed: usize,
    eof: bool,
    reason: Option<Reason>,
}

impl HalfCloseEcho {
    /// Echo, and close on EOF.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Write `data` when the peer's EOF arrives, after the echo and before closing.
    #[must_use]
    pub fn trailer(mut self, data: impl AsRef<[u8]>) -> Self {
        self.trailer = Some(Bytes::copy_from_slice(data.as_ref()));
        self
    }

    /// How many bytes it echoed.
    #[must_use]
    pub fn echoed(&self) -> usize {
        self.echoed
    }

    /// Whether the peer's EOF arrived.
    #[must_use]
    pub fn got_eof(&self) -> bool {
        self.eof
    }

    /// Why the connection ended, once it has.
    #[must_use]
    pub fn reason(&self) -> Option<&Reason> {
        self.reason.as_ref()
    }
}

impl Protocol for HalfCloseEcho {
    fn data_received(&mut self, data: Bytes, tx: &mut Transport<'_>) {
        self.echoed += data.len();
        tx.write_bytes(data);
    }

    fn read_connection_lost(&mut self, tx: &mut Transport<'_>) {
        self.eof = true;
        if let Some(trailer) = &self.trailer {
            tx.write_bytes(trailer.clone());
        }
        tx.lose_connection();
    }

    fn connection_lost(&mut self, reason: &Reason) {
        self.reason = Some(reason.clone());
    }

    fn half_closeable(&self) -> bool {
        true
    }
}
