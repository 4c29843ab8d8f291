//! [`StreamingProducer`]: a push producer that writes until paused, then aborts (Twisted's
//! `StreamingProducerClient` and `StreamingProducerClientLater`).

use std::time::Duration;

use bytes::Bytes;

use super::common::Checks;
use crate::clock::TimerId;
use crate::event::Reason;
use crate::protocol::Protocol;
use crate::transport::{ProducerKind, Transport};

/// Registers itself as a push producer, writes more than the high-water mark in one go, and
/// when paused, waits 10 ms and aborts: the "timeout with full write buffers" case.
///
/// Twisted's `StreamingProducerClient` ([`new`](Self::new): streams from `connection_made`) and
/// `StreamingProducerClientLater` ([`later`](Self::later): writes `hello` on connect, streams on
/// its first received piece). Its peer is a reader that stopped reading
/// ([`NoReadServer`](super::NoReadServer), [`EventualNoReadServer`](super::EventualNoReadServer)),
/// so the writes stay buffered and the producer stays paused until the abort; the peer is
/// still lost with [`Reason::Lost`], since a reset reaches a reader that paused. (Twisted's
/// client restarts the server's reading in its `connectionLost` for that; here nothing needs
/// to.)
///
/// When the 10 ms timer fires it checks that it is still paused (Twisted logs "BUG: We should
/// be paused at this point" otherwise: the peer read everything), and it checks that
/// `connection_lost` is not called from inside the timer callback. Broken expectations go to
/// [`problems`](Self::problems), or panic under [`strict`](Self::strict).
///
/// It writes 100 writes of 1 000 bytes by default (100 000 bytes, over the default 64 KiB
/// high-water mark); Twisted wrote 100 × 320 000 bytes to fill kernel buffers. Set another
/// amount with [`writes`](Self::writes).
///
/// # Examples
///
/// ```
/// use piecemeal::protocols::{NoReadServer, StreamingProducer};
/// use piecemeal::{Pair, Reason};
///
/// let mut pair = Pair::new(StreamingProducer::new(), NoReadServer::new());
/// pair.run();
/// assert_eq!(pair.client().pauses(), 1);
/// assert_eq!(pair.client().reason(), Some(&Reason::Aborted));
/// assert!(pair.client().problems().is_empty());
/// assert_eq!(pair.server().reason(), Some(&Reason::Lost));
/// assert_eq!(pair.now().since_start(), std::time::Duration::from_millis(10));
/// assert_eq!(pair.advance_to_next(), None); // no timer left behind
/// ```
#[derive(Clone, Debug)]
pub struct StreamingProducer {
    later: bool,
    writes: usize,
    chunk: Bytes,
    started: bool,
    paused: bool,
    pauses: usize,
    abort_timer: Option<TimerId>,
    checks: Checks,
}

/// How long it waits between being paused and aborting, as in Twisted.
const ABORT_DELAY: Duration = Duration::from_millis(10);

impl StreamingProducer {
    /// Stream from `connection_made` (Twisted's `StreamingProducerClient`).
    #[must_use]
    pub fn new() -> Self {
        Self {
            later: false,
            writes: 100,
            chunk: Bytes::from("1234567890".repeat(100)),
            started: false,
            paused: false,
            pauses: 0,
            abort_timer: None,
            checks: Checks::default(),
        }
    }

    /// Write `hello` on connect and stream from the first received piece (Twisted's
    /// `StreamingProducerClientLater`).
    #[must_use]
    pub fn later() -> Self {
        Self {
            later: true,
            ..Self::new()
        }
    }

    /// Stream `count` writes of `size` bytes (`1234567890` repeated) instead of 100 × 1 000.
    #[must_use]
    pub fn writes(mut self, count: usize, size: usize) -> Self {
        self.writes = count;
        self.chunk = b"1234567890".iter().copied().cycle().take(size).collect();
        self
    }

    /// Panic instead of recording a problem.
    #[must_use]
    pub fn strict(mut self) -> Self {
        self.checks.set_strict();
        self
    }

    /// How many times `pause_producing` was called.
    #[must_use]
    pub fn pauses(&self) -> usize {
        self.pauses
    }

    /// Whether it is paused now.
    #[must_use]
    pub fn is_paused(&self) -> bool {
        self.paused
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

    fn stream(&mut self, tx: &mut Transport<'_>) {
        if !self.started {
            self.started = true;
            tx.register_producer(ProducerKind::Push);
            for _ in 0..self.writes {
                tx.write_bytes(self.chunk.clone());
            }
        }
    }
}

impl Default for StreamingProducer {
    fn default() -> Self {
        Self::new()
    }
}

impl Protocol for StreamingProducer {
    fn connection_made(&mut self, tx: &mut Transport<'_>) {
        if self.later {
            tx.write("hello");
        } else {
            self.stream(tx);
        }
    }

    fn data_received(&mut self, _data: Bytes, tx: &mut Transport<'_>) {
        self.stream(tx);
    }

    fn pause_producing(&mut self, tx: &mut Transport<'_>) {
        self.pauses += 1;
        if !self.paused {
            self.paused = true;
            if self.abort_timer.is_none() {
                self.abort_timer = Some(tx.call_later(ABORT_DELAY));
            }
        }
    }

    fn resume_producing(&mut self, _tx: &mut Transport<'_>) {
        self.paused = false;
    }

    fn timer_fired(&mut self, timer: TimerId, tx: &mut Transport<'_>) {
        if self.abort_timer != Some(timer) {
            return;
        }
        if !self.paused {
            let label = self.log_prefix();
            self.checks.flag(
                &label,
                "not paused when the abort timer fired: the peer read everything it wrote".into(),
            );
        }
        self.checks.enter("timer_fired");
        tx.abort_connection();
        self.checks.leave();
    }

    fn connection_lost(&mut self, reason: &Reason) {
        let label = self.log_prefix();
        self.checks.lost(&label, reason);
    }
}
