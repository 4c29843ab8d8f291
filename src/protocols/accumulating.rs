//! [`Accumulating`]: collects everything it receives (Twisted's `AccumulatingProtocol`).

use std::sync::{Arc, Mutex, PoisonError};

use bytes::{Bytes, BytesMut};

use crate::event::Reason;
use crate::protocol::Protocol;
use crate::transport::Transport;

/// Collects every piece it receives, and records whether it was connected and why it was lost.
///
/// The pieces are kept as the [`Bytes`] the harness delivered (no copies), so
/// [`pieces`](Self::pieces) shows exactly how the stream was cut, and [`data`](Self::data) joins
/// them. It never writes (unless given a [`greeting`](Self::greeting)) and never closes by
/// itself: it is the passive peer of most tests, Twisted's `AccumulatingProtocol` (and, with a
/// greeting, its `WritingButNotAbortingClient`). It is not half-closeable: the peer's EOF ends
/// it with [`Reason::Done`].
///
/// Read it after the run through the face that owns it ([`Harness::protocol`],
/// [`Pair::client`], …), or, when something else owns it, through an
/// [`AccumulatingHandle`] from [`with_handle`](Self::with_handle) (Twisted's `closedDeferred`).
///
/// [`Harness::protocol`]: crate::Harness::protocol
/// [`Pair::client`]: crate::Pair::client
///
/// # Examples
///
/// ```
/// use piecemeal::protocols::Accumulating;
/// use piecemeal::{Chunking, Harness, Reason};
///
/// let mut h = Harness::new(Accumulating::new());
/// h.deliver(b"hello", Chunking::fixed(2));
/// h.peer_close();
///
/// let acc = h.protocol();
/// assert!(acc.is_made() && acc.is_closed());
/// assert_eq!(acc.pieces(), ["he", "ll", "o"]);
/// assert_eq!(acc.data(), "hello");
/// assert_eq!(acc.reason(), Some(&Reason::Done));
/// ```
#[derive(Clone, Debug, Default)]
pub struct Accumulating {
    seen: Seen,
    greeting: Option<Bytes>,
    shared: Option<Arc<Mutex<Seen>>>,
}

/// What an [`Accumulating`] observed; shared with its handle when it has one.
#[derive(Clone, Debug, Default)]
struct Seen {
    pieces: Vec<Bytes>,
    len: usize,
    made: bool,
    reason: Option<Reason>,
}

impl Seen {
    fn push(&mut self, piece: Bytes) {
        self.len += piece.len();
        self.pieces.push(piece);
    }
}

impl Accumulating {
    /// A protocol that only collects.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Write `data` in `connection_made` (for example Twisted's `WritingButNotAbortingClient`,
    /// which writes `hello`).
    #[must_use]
    pub fn greeting(mut self, data: impl AsRef<[u8]>) -> Self {
        self.greeting = Some(Bytes::copy_from_slice(data.as_ref()));
        self
    }

    /// This protocol and a handle that sees what it observes, for when the protocol itself is
    /// out of reach (owned by a factory or moved into a closure).
    ///
    /// # Examples
    ///
    /// ```
    /// use piecemeal::protocols::Accumulating;
    /// use piecemeal::{Chunking, Harness};
    ///
    /// let (proto, handle) = Accumulating::new().with_handle();
    /// let mut h = Harness::new(proto);
    /// h.deliver(b"hi", Chunking::whole());
    /// h.peer_abort();
    /// drop(h);
    /// assert_eq!(handle.snapshot().data(), "hi");
    /// assert!(handle.snapshot().is_closed());
    /// ```
    #[must_use]
    pub fn with_handle(mut self) -> (Self, AccumulatingHandle) {
        let shared = Arc::new(Mutex::new(self.seen.clone()));
        self.shared = Some(Arc::clone(&shared));
        (self, AccumulatingHandle { shared })
    }

    /// Every piece received, in order, as delivered.
    #[must_use]
    pub fn pieces(&self) -> &[Bytes] {
        &self.seen.pieces
    }

    /// How many pieces arrived.
    #[must_use]
    pub fn piece_count(&self) -> usize {
        self.seen.pieces.len()
    }

    /// Everything received, joined (no copy when it arrived in one piece).
    #[must_use]
    pub fn data(&self) -> Bytes {
        match self.seen.pieces.as_slice() {
            [] => Bytes::new(),
            [one] => one.clone(),
            many => {
                let mut buf = BytesMut::with_capacity(self.seen.len);
                for piece in many {
                    buf.extend_from_slice(piece);
                }
                buf.freeze()
            }
        }
    }

    /// How many bytes were received.
    #[must_use]
    pub fn len(&self) -> usize {
        self.seen.len
    }

    /// Whether nothing was received.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.seen.len == 0
    }

    /// Whether `connection_made` was called (Twisted's `made`).
    #[must_use]
    pub fn is_made(&self) -> bool {
        self.seen.made
    }

    /// Whether `connection_lost` was called (Twisted's `closed`).
    #[must_use]
    pub fn is_closed(&self) -> bool {
        self.seen.reason.is_some()
    }

    /// Why the connection ended, once it has (Twisted's `closedReason`).
    #[must_use]
    pub fn reason(&self) -> Option<&Reason> {
        self.seen.reason.as_ref()
    }

    fn publish(&self) {
        if let Some(shared) = &self.shared {
            *shared.lock().unwrap_or_else(PoisonError::into_inner) = self.seen.clone();
        }
    }
}

impl Protocol for Accumulating {
    fn connection_made(&mut self, tx: &mut Transport<'_>) {
        self.seen.made = true;
        if let Some(greeting) = &self.greeting {
            tx.write_bytes(greeting.clone());
        }
        self.publish();
    }

    fn data_received(&mut self, data: Bytes, _tx: &mut Transport<'_>) {
        if let Some(shared) = &self.shared {
            shared
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(data.clone());
        }
        self.seen.push(data);
    }

    fn connection_lost(&mut self, reason: &Reason) {
        self.seen.reason = Some(reason.clone());
        self.publish();
    }
}

/// Sees what an [`Accumulating`] observed, wherever the protocol itself is; from
/// [`Accumulating::with_handle`]. Clones share the same view.
#[derive(Clone, Debug)]
pub struct AccumulatingHandle {
    shared: Arc<Mutex<Seen>>,
}

impl AccumulatingHandle {
    /// A copy of what the protocol has observed so far (the pieces are shared, not copied), with
    /// the same accessors.
    #[must_use]
    pub fn snapshot(&self) -> Accumulating {
        let seen = self
            .shared
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        Accumulating {
            seen,
            greeting: None,
            shared: None,
        }
    }
}
