//! [`Harness`]: one protocol under test; the test plays the peer.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::{Bytes, BytesMut};

use crate::chunking::Chunking;
use crate::clock::Instant;
use crate::config::Config;
use crate::engine::{ConnSpec, Protos, Sim};
use crate::event::{ConnId, End, Event, EventLog, Reason, Transcript};
use crate::protocol::Protocol;
use crate::transport::Transport;

/// One protocol under test on a simulated connection whose other end is driven by the test.
///
/// The test *is* the peer: it delivers bytes cut by a [`Chunking`], closes, half-closes or
/// aborts, and reads back what the protocol wrote. Every method that acts as the peer returns
/// once the protocol has nothing left to do without time passing (it runs until idle); time
/// moves only with [`advance`](Self::advance), [`advance_to_next`](Self::advance_to_next) and
/// [`run`](Self::run).
///
/// The protocol is the server end of the connection (use [`Harness::client`] for the client
/// end). The peer is half-closeable: the protocol's EOF does not close it, so the test can keep
/// delivering until it calls [`peer_close`](Self::peer_close).
///
/// # Examples
///
/// ```
/// use bytes::Bytes;
/// use piecemeal::{Chunking, Event, Harness, Protocol, Reason, Transport};
///
/// #[derive(Default)]
/// struct Echo;
///
/// impl Protocol for Echo {
///     fn data_received(&mut self, data: Bytes, tx: &mut Transport<'_>) {
///         tx.write_bytes(data);
///     }
/// }
///
/// let mut h = Harness::new(Echo);
/// h.deliver(b"hello", Chunking::fixed(2));
/// assert_eq!(h.written(), b"hello");
/// h.peer_close();
/// assert_eq!(h.lost(), Some(&Reason::Done));
/// assert_eq!(h.events()[..2], [Event::Connected, Event::Received(Bytes::from_static(b"he"))]);
/// ```
pub struct Harness<P> {
    sim: Sim<Ends<P>>,
    conn: ConnId,
}

struct Ends<P> {
    proto: P,
    peer: TestPeer,
    proto_end: End,
}

impl<P: Protocol> Protos for Ends<P> {
    fn get(&mut self, _conn: ConnId, end: End) -> &mut dyn Protocol {
        if end == self.proto_end {
            &mut self.proto
        } else {
            &mut self.peer
        }
    }
}

/// The test as the peer (of a harness, or of an async adapter's stream): collects what it
/// receives, stays open on EOF.
#[derive(Default)]
pub(crate) struct TestPeer {
    pub(crate) received: BytesMut,
}

impl Protocol for TestPeer {
    fn data_received(&mut self, data: Bytes, _tx: &mut Transport<'_>) {
        self.received.extend_from_slice(&data);
    }

    fn half_closeable(&self) -> bool {
        true
    }

    fn log_prefix(&self) -> std::borrow::Cow<'static, str> {
        "peer".into()
    }
}

impl<P: Protocol> Harness<P> {
    /// A harness with `protocol` as the server end. Nothing happens until the first call that
    /// runs it ([`connect`](Self::connect), [`deliver`](Self::deliver), …).
    #[must_use]
    pub fn new(protocol: P) -> Self {
        Self::with_end(protocol, End::Server)
    }

    /// A harness with `protocol` as the client end (it only changes the labels and addresses).
    #[must_use]
    pub fn client(protocol: P) -> Self {
        Self::with_end(protocol, End::Client)
    }

    fn with_end(protocol: P, proto_end: End) -> Self {
        let mut labels = [String::new(), String::new()];
        labels[proto_end.index()] = protocol.log_prefix().into_owned();
        labels[proto_end.peer().index()] = "peer".into();
        let spec = ConnSpec {
            labels,
            addrs: default_addrs(),
            plans: [Chunking::whole(), Chunking::whole()],
            latency: [Duration::ZERO; 2],
        };
        let ends = Ends {
            proto: protocol,
            peer: TestPeer::default(),
            proto_end,
        };
        let (sim, conn) = Sim::single(Config::new(), spec, ends);
        Self { sim, conn }
    }

    /// Use these settings (step limit, high-water mark, panic policy, strict mode, recording).
    #[must_use]
    pub fn config(mut self, cfg: Config) -> Self {
        self.sim.core.set_config(cfg);
        self
    }

    /// Delay every piece by `latency` in both directions.
    #[must_use]
    pub fn latency(mut self, latency: Duration) -> Self {
        for e in [End::Client, End::Server] {
            self.sim.core.set_latency(self.conn, e, latency);
        }
        self
    }

    /// How the protocol's own writes are cut on their way to the peer (default
    /// [`Chunking::whole`]); visible in the transcript and in when a producer is resumed.
    #[must_use]
    pub fn outbound(mut self, chunking: Chunking) -> Self {
        let end = self.end();
        self.sim.core.set_plan(self.conn, end, chunking);
        self
    }

    /// Make the connection: `connection_made` on both ends, then run until idle. Every other
    /// driving method connects first if needed.
    pub fn connect(&mut self) -> &mut Self {
        self.sim.connect();
        self
    }

    /// The peer writes `data`, cut into pieces by `chunking` (offsets relative to the start of
    /// `data`; pieces never span two `deliver` calls). Then runs until idle. `data` is copied
    /// once, as [`Transport::write`](crate::Transport::write) copies.
    ///
    /// # Panics
    ///
    /// If the peer already closed its write half ([`peer_close`](Self::peer_close),
    /// [`peer_half_close`](Self::peer_half_close), [`peer_abort`](Self::peer_abort)).
    #[track_caller]
    pub fn deliver(&mut self, data: impl AsRef<[u8]>, chunking: Chunking) -> &mut Self {
        // Copied as `Transport::write` copies (packed with other small copies while recording).
        let data = self.sim.core.copy_in(data.as_ref());
        self.deliver_bytes(data, chunking)
    }

    /// [`deliver`](Self::deliver) without copying: the protocol receives slices of `data`.
    ///
    /// # Panics
    ///
    /// As [`deliver`](Self::deliver).
    #[track_caller]
    pub fn deliver_bytes(&mut self, data: Bytes, chunking: Chunking) -> &mut Self {
        let (conn, peer) = (self.conn, self.end().peer());
        let closes = "peer_close, peer_half_close or peer_abort";
        let sent = self
            .sim
            .peer_sends(conn, peer, data, chunking, "Harness::deliver", closes);
        if let Err(msg) = sent {
            panic!("{msg}");
        }
        self.sim.run_until_idle("Harness::deliver");
        self
    }

    /// The peer closes the connection gracefully (EOF after what it sent), then runs until
    /// idle. A protocol that is not half-closeable is lost with [`Reason::Done`].
    pub fn peer_close(&mut self) -> &mut Self {
        self.peer_act(|tx| tx.lose_connection(), "Harness::peer_close")
    }

    /// The peer closes its write half (EOF) and keeps reading, then runs until idle.
    pub fn peer_half_close(&mut self) -> &mut Self {
        self.peer_act(|tx| tx.lose_write_connection(), "Harness::peer_half_close")
    }

    /// The peer resets the connection, then runs until idle: the protocol is lost with
    /// [`Reason::Lost`] and its unsent writes are discarded.
    pub fn peer_abort(&mut self) -> &mut Self {
        self.peer_act(|tx| tx.abort_connection(), "Harness::peer_abort")
    }

    /// The peer stops reading: the protocol's writes pile up in its buffer (see
    /// [`buffered`](Self::buffered)), which pauses a push producer.
    pub fn peer_pause_reading(&mut self) -> &mut Self {
        self.peer_act(|tx| tx.pause_reading(), "Harness::peer_pause_reading")
    }

    /// The peer reads again, then runs until idle.
    pub fn peer_resume_reading(&mut self) -> &mut Self {
        self.peer_act(|tx| tx.resume_reading(), "Harness::peer_resume_reading")
    }

    fn peer_act(&mut self, f: impl FnOnce(&mut Transport<'_>), what: &str) -> &mut Self {
        let peer = self.end().peer();
        self.sim.act(self.conn, peer, |_, tx| f(tx));
        self.sim.run_until_idle(what);
        self
    }

    /// Call into the protocol from the test with its transport (for example to make it send a
    /// request), then run until idle.
    pub fn with_protocol<R>(&mut self, f: impl FnOnce(&mut P, &mut Transport<'_>) -> R) -> R {
        let end = self.end();
        let out = self
            .sim
            .act(self.conn, end, |ends, tx| f(&mut ends.proto, tx));
        self.sim.run_until_idle("Harness::with_protocol");
        out
    }

    /// Run until idle without moving time (timers already due do fire).
    pub fn run_until_idle(&mut self) -> &mut Self {
        self.sim.run_until_idle("Harness::run_until_idle");
        self
    }

    /// Run until nothing is left: deliver everything, and when nothing is deliverable jump to
    /// the next timer.
    ///
    /// # Panics
    ///
    /// If more than [`Config::step_limit`] steps pass, with the last events in the message.
    pub fn run(&mut self) -> &mut Self {
        self.sim.run();
        self
    }

    /// Let `d` of virtual time pass: each timer fires at its own deadline, in order, and what
    /// becomes deliverable meanwhile is delivered.
    pub fn advance(&mut self, d: Duration) -> &mut Self {
        self.sim.advance(d);
        self
    }

    /// Jump to the next timer (or latency arrival) and run until idle there. Returns the new
    /// time, or `None` if nothing is scheduled.
    pub fn advance_to_next(&mut self) -> Option<Instant> {
        self.sim.advance_to_next()
    }

    /// Everything the protocol wrote that reached the peer, in order.
    #[must_use]
    pub fn written(&self) -> &[u8] {
        &self.sim.ends.peer.received
    }

    /// Take what the protocol wrote so far, leaving [`written`](Self::written) empty.
    #[must_use = "the written bytes are removed from the harness"]
    pub fn take_written(&mut self) -> Bytes {
        self.sim.ends.peer.received.split().freeze()
    }

    /// Whether the protocol's EOF (from `lose_connection`, `lose_write_connection`, or its
    /// close on a failure) reached the peer.
    #[must_use]
    pub fn peer_got_eof(&self) -> bool {
        self.sim.core.end_state(self.conn, self.end().peer()).eof
    }

    /// Bytes the protocol wrote that the peer has not received (non-zero while the peer has
    /// paused reading, or under latency).
    #[must_use]
    pub fn buffered(&self) -> usize {
        self.sim.buffered(self.conn, self.end())
    }

    /// The protocol under test.
    #[must_use]
    pub fn protocol(&self) -> &P {
        &self.sim.ends.proto
    }

    /// The protocol under test, mutably (calling it this way bypasses the transport; use
    /// [`with_protocol`](Self::with_protocol) to let it write).
    #[must_use]
    pub fn protocol_mut(&mut self) -> &mut P {
        &mut self.sim.ends.proto
    }

    /// Consume the harness, returning the protocol.
    #[must_use]
    pub fn into_protocol(self) -> P {
        self.sim.ends.proto
    }

    /// The protocol's events, in order.
    #[must_use]
    pub fn events(&self) -> Vec<Event> {
        self.sim.events(self.conn, self.end())
    }

    /// The whole event log, both ends.
    #[must_use]
    pub fn log(&self) -> &EventLog {
        &self.sim.core.log
    }

    /// The transcript of the whole run.
    #[must_use]
    pub fn transcript(&self) -> Transcript<'_> {
        self.sim.core.log.transcript()
    }

    /// Why the protocol's connection ended, once it has.
    #[must_use]
    pub fn lost(&self) -> Option<&Reason> {
        self.sim.lost(self.conn, self.end())
    }

    /// The current virtual time.
    #[must_use]
    pub fn now(&self) -> Instant {
        self.sim.core.now
    }

    /// The connection's id in the event log.
    #[must_use]
    pub fn conn(&self) -> ConnId {
        self.conn
    }

    /// Which end of the connection the protocol is.
    #[must_use]
    pub fn end(&self) -> End {
        self.sim.ends.proto_end
    }

    /// Whether the connection was made.
    #[must_use]
    pub fn is_connected(&self) -> bool {
        self.sim.is_connected()
    }
}

impl<P> fmt::Debug for Harness<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Harness")
            .field("end", &self.sim.ends.proto_end)
            .field("now", &self.sim.core.now)
            .field("events", &self.sim.core.log.len())
            .finish_non_exhaustive()
    }
}

/// The default addresses: the client `10.0.0.2:49152`, the server `10.0.0.1:9000`.
pub(crate) fn default_addrs() -> [SocketAddr; 2] {
    [
        SocketAddr::from(([10, 0, 0, 2], 49152)),
        SocketAddr::from(([10, 0, 0, 1], 9000)),
    ]
}
