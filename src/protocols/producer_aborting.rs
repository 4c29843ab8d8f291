//! [`ProducerAborting`]: a pull producer that aborts from `resume_producing` (Twisted's
//! `ProducerAbortingClient` and `ProducerAbortingClientLater`).

use bytes::Bytes;

use super::common::Checks;
use crate::event::Reason;
use crate::protocol::Protocol;
use crate::transport::{ProducerKind, Transport};

/// Writes a large payload, registers itself as a pull producer, and aborts from the
/// `resume_producing` that follows once the payload has drained, not from the one that comes
/// with the registration.
///
/// Twisted's `ProducerAbortingClient` ([`new`](Self::new): starts in `connection_made`) and
/// `ProducerAbortingClientLater` ([`later`](Self::later): starts on its first received piece,
/// after the server's `ready`). The harness resumes a pull producer right after the callback
/// that registered it (that call is skipped), then each time its write buffer drains: the
/// second `resume_producing` comes once the peer has received the whole payload, and aborts.
///
/// It checks, as the original does, that `stop_producing` is called before `connection_lost`,
/// that `connection_lost` is not called from inside `resume_producing`, and that the producer
/// was resumed at least once before the end. A broken expectation is recorded in
/// [`problems`](Self::problems), or panics under [`strict`](Self::strict).
///
/// The payload defaults to `lalala`×1000 (6 000 bytes); Twisted wrote `lalala`×127 000 to fill
/// real kernel buffers, which a simulation does not need (and which would take 762 000 steps at
/// one byte a piece). Set another with [`payload`](Self::payload).
///
/// # Examples
///
/// ```
/// use piecemeal::protocols::{Accumulating, ProducerAborting};
/// use piecemeal::{Event, Pair, Reason};
///
/// let mut pair = Pair::new(ProducerAborting::new(), Accumulating::new());
/// pair.run();
/// let client = pair.client();
/// assert_eq!(client.reason(), Some(&Reason::Aborted));
/// assert_eq!(client.resumes(), 2);
/// assert!(client.problems().is_empty(), "{:?}", client.problems());
/// assert_eq!(pair.server().len(), 6_000);
/// assert_eq!(pair.server().reason(), Some(&Reason::Lost));
/// // stop_producing came just before connection_lost.
/// let events = pair.events(piecemeal::End::Client);
/// assert_eq!(events[events.len() - 2..], [Event::ProducerStopped, Event::Lost(Reason::Aborted)]);
/// ```
#[derive(Clone, Debug)]
pub struct ProducerAborting {
    later: bool,
    payload: Bytes,
    registered: bool,
    resumes: usize,
    stopped: bool,
    checks: Checks,
}

impl ProducerAborting {
    /// Write and register in `connection_made` (Twisted's `ProducerAbortingClient`).
    #[must_use]
    pub fn new() -> Self {
        Self {
            later: false,
            payload: Bytes::from("lalala".repeat(1000)),
            registered: false,
            resumes: 0,
            stopped: false,
            checks: Checks::default(),
        }
    }

    /// Write and register on the first received piece (Twisted's
    /// `ProducerAbortingClientLater`).
    #[must_use]
    pub fn later() -> Self {
        Self {
            later: true,
            ..Self::new()
        }
    }

    /// Write `payload` instead of `lalala`×1000.
    #[must_use]
    pub fn payload(mut self, payload: impl AsRef<[u8]>) -> Self {
        self.payload = Bytes::copy_from_slice(payload.as_ref());
        self
    }

    /// Panic instead of recording a problem.
    #[must_use]
    pub fn strict(mut self) -> Self {
        self.checks.set_strict();
        self
    }

    /// How many times `resume_producing` was called (the registration call included).
    #[must_use]
    pub fn resumes(&self) -> usize {
        self.resumes
    }

    /// Whether `stop_producing` was called.
    #[must_use]
    pub fn is_stopped(&self) -> bool {
        self.stopped
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

    fn start(&mut self, tx: &mut Transport<'_>) {
        if !self.registered {
            self.registered = true;
            tx.write_bytes(self.payload.clone());
            tx.register_producer(ProducerKind::Pull);
        }
    }
}

impl Default for ProducerAborting {
    fn default() -> Self {
        Self::new()
    }
}

impl Protocol for ProducerAborting {
    fn connection_made(&mut self, tx: &mut Transport<'_>) {
        if !self.later {
            self.start(tx);
        }
    }

    fn data_received(&mut self, _data: Bytes, tx: &mut Transport<'_>) {
        self.start(tx);
    }

    fn resume_producing(&mut self, tx: &mut Transport<'_>) {
        self.resumes += 1;
        self.checks.enter("resume_producing");
        if self.resumes > 1 {
            tx.abort_connection();
        }
        self.checks.leave();
    }

    fn stop_producing(&mut self) {
        self.stopped = true;
    }

    fn connection_lost(&mut self, reason: &Reason) {
        let label = self.log_prefix();
        if !self.stopped {
            self.checks.flag(
                &label,
                "connection_lost without stop_producing before it".into(),
            );
        }
        if self.resumes == 0 {
            self.checks.flag(
                &label,
                "connection_lost before resume_producing was ever called".into(),
            );
        }
        self.checks.lost(&label, reason);
    }
}
