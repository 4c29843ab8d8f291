//! [`Pair`]: two protocols joined by one simulated connection.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use crate::chunking::Chunking;
use crate::clock::Instant;
use crate::config::Config;
use crate::engine::{ConnSpec, Protos, Sim};
use crate::event::{ConnId, End, Event, EventLog, Reason, Transcript};
use crate::harness::default_addrs;
use crate::protocol::Protocol;
use crate::transport::Transport;

/// A client protocol and a server protocol on one simulated connection, with a chunking and a
/// latency per direction.
///
/// Build it, then [`run`](Self::run): the connection is made (server first, then client), and
/// every byte either end writes is delivered to the other, cut by that direction's chunking,
/// until nothing is left. The test can act as either end between runs
/// ([`with_client`](Self::with_client), [`write`](Self::write), [`lose`](Self::lose), …);
/// those actions take effect at the next run.
///
/// # Examples
///
/// ```
/// use bytes::Bytes;
/// use piecemeal::{Chunking, Pair, Protocol, Reason, Transport};
///
/// struct Greeter;
/// impl Protocol for Greeter {
///     fn connection_made(&mut self, tx: &mut Transport<'_>) {
///         tx.write("hello");
///         tx.lose_connection();
///     }
///     fn data_received(&mut self, _: Bytes, _: &mut Transport<'_>) {}
/// }
///
/// #[derive(Default)]
/// struct Collect(Vec<u8>);
/// impl Protocol for Collect {
///     fn data_received(&mut self, data: Bytes, _: &mut Transport<'_>) {
///         self.0.extend_from_slice(&data);
///     }
/// }
///
/// let mut pair = Pair::new(Greeter, Collect::default()).client_to_server(Chunking::every_byte());
/// pair.run();
/// assert_eq!(pair.server().0, b"hello");
/// assert_eq!(pair.lost(piecemeal::End::Client), Some(&Reason::Done));
/// assert_eq!(pair.lost(piecemeal::End::Server), Some(&Reason::Done));
/// ```
pub struct Pair<C, S> {
    sim: Sim<Ends<C, S>>,
    conn: ConnId,
}

struct Ends<C, S> {
    client: C,
    server: S,
}

impl<C: Protocol, S: Protocol> Protos for Ends<C, S> {
    fn get(&mut self, _conn: ConnId, end: End) -> &mut dyn Protocol {
        match end {
            End::Client => &mut self.client,
            End::Server => &mut self.server,
        }
    }
}

impl<C: Protocol, S: Protocol> Pair<C, S> {
    /// Join `client` and `server`. Both directions default to [`Chunking::whole`] and no
    /// latency; nothing happens until [`connect`](Self::connect) or a run.
    #[must_use]
    pub fn new(client: C, server: S) -> Self {
        let spec = ConnSpec {
            labels: [
                client.log_prefix().into_owned(),
                server.log_prefix().into_owned(),
            ],
            addrs: default_addrs(),
            plans: [Chunking::whole(), Chunking::whole()],
            latency: [Duration::ZERO; 2],
        };
        let (sim, conn) = Sim::single(Config::new(), spec, Ends { client, server });
        Self { sim, conn }
    }

    /// Use these settings (step limit, high-water mark, panic policy, strict mode, recording).
    #[must_use]
    pub fn config(mut self, cfg: Config) -> Self {
        self.sim.core.set_config(cfg);
        self
    }

    /// Cut the client's writes with `chunking` before the server receives them.
    #[must_use]
    pub fn client_to_server(mut self, chunking: Chunking) -> Self {
        self.set_chunking(End::Client, chunking);
        self
    }

    /// Cut the server's writes with `chunking` before the client receives them.
    #[must_use]
    pub fn server_to_client(mut self, chunking: Chunking) -> Self {
        self.set_chunking(End::Server, chunking);
        self
    }

    /// Delay what the client writes by `latency`.
    #[must_use]
    pub fn latency_client_to_server(mut self, latency: Duration) -> Self {
        self.sim.core.set_latency(self.conn, End::Client, latency);
        self
    }

    /// Delay what the server writes by `latency`.
    #[must_use]
    pub fn latency_server_to_client(mut self, latency: Duration) -> Self {
        self.sim.core.set_latency(self.conn, End::Server, latency);
        self
    }

    /// Delay both directions by `latency`.
    #[must_use]
    pub fn latency(self, latency: Duration) -> Self {
        self.latency_client_to_server(latency)
            .latency_server_to_client(latency)
    }

    /// The ends' addresses, as [`Transport::host`] and [`Transport::peer`] report them
    /// (default: client `10.0.0.2:49152`, server `10.0.0.1:9000`).
    #[must_use]
    pub fn addresses(mut self, client: SocketAddr, server: SocketAddr) -> Self {
        self.sim.core.set_addr(self.conn, End::Client, client);
        self.sim.core.set_addr(self.conn, End::Server, server);
        self
    }

    /// Cut what `writer` writes from now on with `chunking` (the switch is itself a cut).
    pub fn set_chunking(&mut self, writer: End, chunking: Chunking) -> &mut Self {
        self.sim.core.set_plan(self.conn, writer, chunking);
        self
    }

    /// Make the connection (`connection_made` on the server, then the client) and run until
    /// idle. Runs connect first if needed.
    pub fn connect(&mut self) -> &mut Self {
        self.sim.connect();
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

    /// Run until idle without moving time (timers already due do fire).
    pub fn run_until_idle(&mut self) -> &mut Self {
        self.sim.run_until_idle("Pair::run_until_idle");
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

    /// Call into the client from the test with its transport. Its requests apply at once;
    /// deliveries happen at the next run. Connects first (and runs until idle) if the pair was
    /// not connected yet, so the client has had its `connection_made`.
    pub fn with_client<R>(&mut self, f: impl FnOnce(&mut C, &mut Transport<'_>) -> R) -> R {
        self.sim
            .act(self.conn, End::Client, |ends, tx| f(&mut ends.client, tx))
    }

    /// Call into the server from the test with its transport; see
    /// [`with_client`](Self::with_client).
    pub fn with_server<R>(&mut self, f: impl FnOnce(&mut S, &mut Transport<'_>) -> R) -> R {
        self.sim
            .act(self.conn, End::Server, |ends, tx| f(&mut ends.server, tx))
    }

    /// Write `data` as `end` (as if its protocol had). Delivered at the next run.
    pub fn write(&mut self, end: End, data: impl AsRef<[u8]>) -> &mut Self {
        self.sim.act(self.conn, end, |_, tx| tx.write(data));
        self
    }

    /// `lose_connection` as `end`.
    pub fn lose(&mut self, end: End) -> &mut Self {
        self.sim.act(self.conn, end, |_, tx| tx.lose_connection());
        self
    }

    /// `abort_connection` as `end`.
    pub fn abort(&mut self, end: End) -> &mut Self {
        self.sim.act(self.conn, end, |_, tx| tx.abort_connection());
        self
    }

    /// `lose_write_connection` as `end`.
    pub fn half_close(&mut self, end: End) -> &mut Self {
        self.sim
            .act(self.conn, end, |_, tx| tx.lose_write_connection());
        self
    }

    /// The client protocol.
    #[must_use]
    pub fn client(&self) -> &C {
        &self.sim.ends.client
    }

    /// The server protocol.
    #[must_use]
    pub fn server(&self) -> &S {
        &self.sim.ends.server
    }

    /// The client protocol, mutably.
    #[must_use]
    pub fn client_mut(&mut self) -> &mut C {
        &mut self.sim.ends.client
    }

    /// The server protocol, mutably.
    #[must_use]
    pub fn server_mut(&mut self) -> &mut S {
        &mut self.sim.ends.server
    }

    /// Consume the pair, returning `(client, server)`.
    #[must_use]
    pub fn into_inner(self) -> (C, S) {
        (self.sim.ends.client, self.sim.ends.server)
    }

    /// The events of one end, in order.
    #[must_use]
    pub fn events(&self, end: End) -> Vec<Event> {
        self.sim.events(self.conn, end)
    }

    /// The whole event log.
    #[must_use]
    pub fn log(&self) -> &EventLog {
        &self.sim.core.log
    }

    /// The transcript of the run, headed by both directions' chunking literals.
    #[must_use]
    pub fn transcript(&self) -> Transcript<'_> {
        self.sim.core.log.transcript()
    }

    /// Why `end`'s connection ended, once it has.
    #[must_use]
    pub fn lost(&self, end: End) -> Option<&Reason> {
        self.sim.lost(self.conn, end)
    }

    /// Bytes `end` wrote that its peer has not received.
    #[must_use]
    pub fn buffered(&self, end: End) -> usize {
        self.sim.buffered(self.conn, end)
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
}

impl<C, S> fmt::Debug for Pair<C, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pair")
            .field("now", &self.sim.core.now)
            .field("events", &self.sim.core.log.len())
            .finish_non_exhaustive()
    }
}
