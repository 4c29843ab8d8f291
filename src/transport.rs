//! [`Transport`]: what a protocol may ask of its connection from inside a callback.

use std::borrow::Cow;
use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;

use crate::clock::{Instant, TimerId};
use crate::engine::Core;
use crate::event::{ConnId, End};

/// How a protocol registered as a producer wants to be driven
/// ([`Transport::register_producer`]).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum ProducerKind {
    /// Writes on its own until told to pause: paused when the write buffer goes over the
    /// high-water mark, resumed when it drains (Twisted's streaming `IPushProducer`).
    Push,
    /// Writes only when asked: resumed at registration and each time the write buffer drains
    /// (Twisted's `IPullProducer`).
    Pull,
}

/// The handle a protocol gets in each callback: write, close, abort, half-close, pause reading,
/// produce, schedule timers, and read the clock and the addresses.
///
/// Requests are recorded at once and take effect after the callback returns: a write is queued
/// on the wire immediately (so [`buffered`](Self::buffered) counts it), but the peer receives it
/// in a later step, and callbacks such as `pause_producing` or `connection_lost` run after the
/// current callback returns, never inside it.
///
/// The semantics follow real TCP; see the crate's `docs/semantics.md`:
/// - Writes after [`lose_connection`](Self::lose_connection) are still sent, before the EOF.
/// - Writes after [`abort_connection`](Self::abort_connection) are discarded, with everything
///   unsent.
/// - Writes after [`lose_write_connection`](Self::lose_write_connection) are dropped and
///   recorded as misuse.
pub struct Transport<'a> {
    core: &'a mut Core,
    conn: ConnId,
    end: End,
}

impl<'a> Transport<'a> {
    pub(crate) fn new(core: &'a mut Core, conn: ConnId, end: End) -> Self {
        Self { core, conn, end }
    }

    /// Write bytes to the peer. They are copied once into a [`Bytes`]; use
    /// [`write_bytes`](Self::write_bytes) to hand over a buffer without copying. Empty writes
    /// are ignored.
    ///
    /// While the log records, a write of up to 1 KiB is copied into a buffer shared with the
    /// small writes before it, and the peer receives slices of that buffer. The log keeps every
    /// write, and packed this way a small one costs no allocation of its own. (A received
    /// piece kept after the simulation is dropped keeps its whole buffer, up to 16 KiB, alive.)
    #[inline]
    pub fn write(&mut self, data: impl AsRef<[u8]>) {
        let data = data.as_ref();
        if !data.is_empty() {
            let data = self.core.copy_in(data);
            self.core.write(self.conn, self.end, data);
        }
    }

    /// Write a buffer without copying it: the peer receives slices of this very buffer.
    #[inline]
    pub fn write_bytes(&mut self, data: Bytes) {
        if !data.is_empty() {
            self.core.write(self.conn, self.end, data);
        }
    }

    /// Write several buffers as one write (Twisted's `writeSequence`), joined into one
    /// [`Bytes`]. While the log records, they are joined in the buffer [`write`](Self::write)
    /// packs small writes into, whatever their size; a sequence that does not fit in what is
    /// left moves to a buffer of its own.
    #[doc(alias = "write_all")]
    pub fn write_sequence<I>(&mut self, parts: I)
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        let data = self.core.copy_in_parts(parts);
        self.write_bytes(data);
    }

    /// Close the connection gracefully: stop reading at once, deliver everything written
    /// (including writes made after this call, until the EOF is sent), then EOF. This end's
    /// [`connection_lost`](crate::Protocol::connection_lost) gets
    /// [`Reason::Done`](crate::Reason::Done) once the peer has received it all.
    ///
    /// A registered pull producer, or a paused push producer, delays the EOF until it
    /// unregisters. Calling it twice, or after an abort, does nothing.
    pub fn lose_connection(&mut self) {
        self.core.request_lose(self.conn, self.end);
    }

    /// Reset the connection: discard everything not yet received, stop reading, and send a
    /// reset. The peer is lost with [`Reason::Lost`](crate::Reason::Lost); this end with
    /// [`Reason::Aborted`](crate::Reason::Aborted). Wins over an earlier `lose_connection`;
    /// repeats do nothing.
    pub fn abort_connection(&mut self) {
        self.core.request_abort(self.conn, self.end);
    }

    /// Close only the write half: deliver everything written, then EOF. This end keeps reading
    /// and gets [`write_connection_lost`](crate::Protocol::write_connection_lost) once the peer
    /// has the EOF; its later writes are dropped (and recorded as misuse). A registered producer
    /// does not hold the EOF back, since its later writes would be dropped too.
    pub fn lose_write_connection(&mut self) {
        self.core.request_lose_write(self.conn, self.end);
    }

    /// Close the connection because of an error: this end is lost with
    /// [`Reason::Error`](crate::Reason::Error) as soon as the callback returns, and the peer
    /// sees an orderly close after what was already written (real TCP's behaviour when a
    /// protocol callback raises). After an `abort_connection` in the same callback, the error
    /// is still the reason and the peer still gets an EOF, but what the abort discarded stays
    /// discarded.
    pub fn fail(&mut self, error: impl Into<String>) {
        self.core
            .request_fail(self.conn, self.end, crate::Reason::Error(error.into()));
    }

    /// Stop reading: nothing is delivered (not even EOF) until
    /// [`resume_reading`](Self::resume_reading). Unread bytes wait on the wire and count
    /// against the peer's write buffer, so a paused reader pushes back on its peer. A reset
    /// is still delivered.
    pub fn pause_reading(&mut self) {
        self.core.set_paused(self.conn, self.end, true);
    }

    /// Resume reading after [`pause_reading`](Self::pause_reading).
    pub fn resume_reading(&mut self) {
        self.core.set_paused(self.conn, self.end, false);
    }

    /// Whether this end has paused reading.
    #[must_use]
    pub fn is_reading_paused(&self) -> bool {
        self.core.end_state(self.conn, self.end).paused
    }

    /// Register this protocol as a producer of the data it writes; see [`ProducerKind`]. A
    /// pull producer gets its first `resume_producing` right after this callback returns.
    /// Registering twice is misuse (the first registration stays).
    pub fn register_producer(&mut self, kind: ProducerKind) {
        self.core.register_producer(self.conn, self.end, kind);
    }

    /// Stop being a producer. Unregistering with no producer is misuse.
    pub fn unregister_producer(&mut self) {
        self.core.unregister_producer(self.conn, self.end);
    }

    /// Bytes this end wrote that the peer has not received yet (what real TCP would hold in
    /// the send buffers).
    #[must_use]
    pub fn buffered(&self) -> usize {
        self.core.conn(self.conn).wires[self.end.index()].buffered
    }

    /// Schedule [`timer_fired`](crate::Protocol::timer_fired) `delay` from now. Timers with the
    /// same deadline fire in the order they were scheduled. Pending timers are cancelled when
    /// the connection is lost.
    pub fn call_later(&mut self, delay: Duration) -> TimerId {
        self.core.call_later(self.conn, self.end, delay)
    }

    /// Cancel one of this end's pending timers. Returns whether it was pending; cancelling a
    /// timer that already fired, was cancelled, or belongs to another end is misuse.
    pub fn cancel(&mut self, timer: TimerId) -> bool {
        self.core.cancel_timer(self.conn, self.end, timer)
    }

    /// The current virtual time.
    #[must_use]
    pub fn now(&self) -> Instant {
        self.core.now
    }

    /// This end's address.
    #[must_use]
    pub fn host(&self) -> SocketAddr {
        self.core.end_state(self.conn, self.end).addr
    }

    /// The peer's address.
    #[must_use]
    pub fn peer(&self) -> SocketAddr {
        self.core.end_state(self.conn, self.end.peer()).addr
    }

    /// Whether this end asked to close, abort or fail.
    #[must_use]
    pub fn is_closing(&self) -> bool {
        self.core.is_closing(self.conn, self.end)
    }

    /// A transport for the same end of another connection, for as long as this callback runs:
    /// how a server protocol writes to its other clients (a chat room's broadcast), as a
    /// Twisted protocol writes to another protocol's transport. What is asked of it takes
    /// effect after the callback returns, like everything else.
    ///
    /// # Panics
    ///
    /// If `conn` does not exist, or its end of this kind is not connected yet
    /// (`connection_made` has not run on it): nothing may reach a protocol before that. A lost
    /// end is fine: writes to it are recorded as misuse, closes do nothing.
    #[track_caller]
    pub fn other(&mut self, conn: ConnId) -> Transport<'_> {
        let count = self.core.conn_count();
        assert!(
            conn.index() < count,
            "Transport::other({conn}): there is no such connection ({count} exist)"
        );
        let end = self.end;
        assert!(
            self.core.end_state(conn, end).made,
            "Transport::other({conn}): its {end} end is not connected yet (connection_made has \
             not run on it); reach only connections whose protocol has been made"
        );
        self.core.touched.push((conn, self.end));
        Transport::new(self.core, conn, self.end)
    }

    /// The connection this transport belongs to.
    #[must_use]
    pub fn conn(&self) -> ConnId {
        self.conn
    }

    /// Which end of the connection this is.
    #[must_use]
    pub fn end(&self) -> End {
        self.end
    }

    /// This end's label in transcripts.
    #[must_use]
    pub fn label(&self) -> Cow<'_, str> {
        Cow::Borrowed(self.core.log.label(self.conn, self.end))
    }
}

impl fmt::Debug for Transport<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field("conn", &self.conn)
            .field("end", &self.end)
            .field("buffered", &self.buffered())
            .field("closing", &self.is_closing())
            .finish_non_exhaustive()
    }
}
