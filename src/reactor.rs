//! [`Reactor`]: many connections, listeners and factories on one simulated network.

use std::any::Any;
use std::collections::BTreeMap;
use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use bytes::Bytes;

use crate::chunking::Chunking;
use crate::clock::Instant;
use crate::config::Config;
use crate::engine::{ConnSpec, Protos, Sim};
use crate::event::{ConnId, End, Event, EventLog, Reason, Transcript};
use crate::protocol::Protocol;
use crate::transport::Transport;

/// Many connections on one simulated network: servers listen on addresses with a factory that
/// builds a protocol per accepted connection; clients connect to addresses.
///
/// This is Twisted's `MemoryReactorClock` with connections that complete by themselves, as a
/// face on the same engine as [`Harness`](crate::Harness) and [`Pair`](crate::Pair): the same
/// semantics, time, step bound and event log, for any number of connections. A connection
/// attempt reaches its address after the connect latency (default zero): if something listens
/// there, its factory builds the accepting protocol and both ends get `connection_made` (the
/// server first); if nothing does, the connecting protocol gets only
/// `connection_lost(`[`Reason::Refused`]`)`. With a connect timeout shorter than the latency it
/// gets [`Reason::TimedOut`] instead. (A failed attempt is the one case where
/// `connection_lost` comes without `connection_made`, as Twisted's `clientConnectionFailed`.)
///
/// Connections are numbered in the order they were made ([`ConnId`]); the protocols of any
/// connection are reachable by type with [`protocol`](Self::protocol).
///
/// # Examples
///
/// ```
/// use bytes::Bytes;
/// use piecemeal::{End, Protocol, Reactor, Reason, Transport};
///
/// struct Echo;
/// impl Protocol for Echo {
///     fn data_received(&mut self, data: Bytes, tx: &mut Transport<'_>) {
///         tx.write_bytes(data);
///     }
/// }
///
/// #[derive(Default)]
/// struct Client { got: Vec<u8> }
/// impl Protocol for Client {
///     fn connection_made(&mut self, tx: &mut Transport<'_>) {
///         tx.write("ping");
///     }
///     fn data_received(&mut self, data: Bytes, tx: &mut Transport<'_>) {
///         self.got.extend_from_slice(&data);
///         tx.lose_connection();
///     }
/// }
///
/// let mut net = Reactor::new();
/// net.listen(([10, 0, 0, 1], 7), || Echo);
/// let a = net.connect(([10, 0, 0, 1], 7), Client::default());
/// let b = net.connect(([10, 0, 0, 1], 8), Client::default());
/// net.run();
/// assert_eq!(net.protocol::<Client>(a, End::Client).map(|c| &c.got[..]), Some(&b"ping"[..]));
/// assert_eq!(net.lost(b, End::Client), Some(&Reason::Refused));
/// assert_eq!(net.accepted(([10, 0, 0, 1], 7)), [a]);
/// ```
pub struct Reactor {
    sim: Sim<Slots>,
    defaults: Defaults,
}

#[derive(Clone, Debug)]
struct Defaults {
    plans: [Chunking; 2],
    latency: [Duration; 2],
    connect_latency: Duration,
    connect_timeout: Option<Duration>,
    clients: u32,
}

/// A protocol the reactor can hand back by type.
trait AnyProtocol: Protocol + Any {
    fn as_any(&self) -> &dyn Any;
    fn as_any_mut(&mut self) -> &mut dyn Any;
}

impl<T: Protocol + Any> AnyProtocol for T {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
}

type Factory = Box<dyn FnMut() -> Box<dyn AnyProtocol>>;

struct Listener {
    factory: Factory,
    accepted: Vec<ConnId>,
    open: bool,
}

/// The reactor's protocols: per connection, the two ends (the accepting end is built on
/// accept), and the listeners.
struct Slots {
    conns: Vec<[Option<Box<dyn AnyProtocol>>; 2]>,
    listeners: BTreeMap<SocketAddr, Listener>,
    nobody: Nobody,
}

/// Stands in for the accepting end of an attempt nobody accepted; the engine never calls it.
struct Nobody;

impl Protocol for Nobody {
    fn data_received(&mut self, _: Bytes, _: &mut Transport<'_>) {}
}

impl Protos for Slots {
    fn get(&mut self, conn: ConnId, end: End) -> &mut dyn Protocol {
        match self
            .conns
            .get_mut(conn.index())
            .and_then(|s| s[end.index()].as_deref_mut())
        {
            Some(p) => p,
            None => &mut self.nobody,
        }
    }

    fn accept(&mut self, conn: ConnId, addr: SocketAddr) -> Option<String> {
        let listener = self.listeners.get_mut(&addr).filter(|l| l.open)?;
        let protocol = (listener.factory)();
        let label = protocol.log_prefix().into_owned();
        listener.accepted.push(conn);
        if let Some(slots) = self.conns.get_mut(conn.index()) {
            slots[End::Server.index()] = Some(protocol);
        }
        Some(label)
    }
}

/// Where one end of a reactor connection stands; see [`Reactor::status`].
#[non_exhaustive]
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum EndStatus {
    /// The connection attempt has not completed (or `connection_made` has not run yet).
    Connecting,
    /// Connected, both halves open.
    Open,
    /// Connected with a half closed: `read` when the peer's EOF was delivered (half-closeable
    /// protocols), `write` when this end's `lose_write_connection` finished.
    HalfClosed {
        /// The peer's EOF was delivered.
        read: bool,
        /// This end's write half is closed.
        write: bool,
    },
    /// The end asked to close, abort or fail, and `connection_lost` has not run yet.
    Closing,
    /// `connection_lost` ran with this reason. For a refused or timed-out attempt both ends
    /// report the attempt's reason (the accepting end never existed).
    Lost(Reason),
}

/// Per-connection settings for [`Reactor::connect_with`]; unset ones take the reactor's
/// defaults.
#[derive(Clone, Debug, Default)]
pub struct ConnectOptions {
    plans: [Option<Chunking>; 2],
    latency: [Option<Duration>; 2],
    connect_latency: Option<Duration>,
    timeout: Option<Option<Duration>>,
    local: Option<SocketAddr>,
}

impl ConnectOptions {
    /// All defaults.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// How the client's writes are cut.
    #[must_use]
    pub fn client_to_server(mut self, chunking: Chunking) -> Self {
        self.plans[End::Client.index()] = Some(chunking);
        self
    }

    /// How the server's writes are cut.
    #[must_use]
    pub fn server_to_client(mut self, chunking: Chunking) -> Self {
        self.plans[End::Server.index()] = Some(chunking);
        self
    }

    /// Both directions' latency.
    #[must_use]
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = [Some(latency); 2];
        self
    }

    /// The client's direction's latency.
    #[must_use]
    pub fn latency_client_to_server(mut self, latency: Duration) -> Self {
        self.latency[End::Client.index()] = Some(latency);
        self
    }

    /// The server's direction's latency.
    #[must_use]
    pub fn latency_server_to_client(mut self, latency: Duration) -> Self {
        self.latency[End::Server.index()] = Some(latency);
        self
    }

    /// How long the attempt takes to reach its address.
    #[must_use]
    pub fn connect_latency(mut self, latency: Duration) -> Self {
        self.connect_latency = Some(latency);
        self
    }

    /// Give up with [`Reason::TimedOut`] if the attempt has not completed after `timeout`
    /// (`None`: never, whatever the reactor's default).
    #[must_use]
    pub fn timeout(mut self, timeout: Option<Duration>) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The connecting end's own address (default: `10.0.0.2` with a fresh port per
    /// connection).
    #[must_use]
    pub fn local(mut self, addr: SocketAddr) -> Self {
        self.local = Some(addr);
        self
    }
}

impl Reactor {
    /// An empty network: nothing listens, time is zero, every direction is cut by
    /// [`Chunking::whole`] with no latency, connections complete at once.
    #[must_use]
    pub fn new() -> Self {
        let slots = Slots {
            conns: Vec::new(),
            listeners: BTreeMap::new(),
            nobody: Nobody,
        };
        Self {
            sim: Sim::empty(Config::new(), slots),
            defaults: Defaults {
                plans: [Chunking::whole(), Chunking::whole()],
                latency: [Duration::ZERO; 2],
                connect_latency: Duration::ZERO,
                connect_timeout: None,
                clients: 0,
            },
        }
    }

    /// Use these settings (step limit, high-water mark, panic policy, strict mode, recording,
    /// schedule).
    #[must_use]
    pub fn config(mut self, cfg: Config) -> Self {
        self.sim.core.set_config(cfg);
        self
    }

    /// Cut both directions of every connection made from now on with `chunking`.
    #[must_use]
    pub fn chunking(mut self, chunking: Chunking) -> Self {
        self.defaults.plans = [chunking.clone(), chunking];
        self
    }

    /// Cut what clients write with `chunking` (connections made from now on).
    #[must_use]
    pub fn client_to_server(mut self, chunking: Chunking) -> Self {
        self.defaults.plans[End::Client.index()] = chunking;
        self
    }

    /// Cut what servers write with `chunking` (connections made from now on).
    #[must_use]
    pub fn server_to_client(mut self, chunking: Chunking) -> Self {
        self.defaults.plans[End::Server.index()] = chunking;
        self
    }

    /// Delay both directions of every connection made from now on.
    #[must_use]
    pub fn latency(mut self, latency: Duration) -> Self {
        self.defaults.latency = [latency; 2];
        self
    }

    /// How long a connection attempt takes to reach its address (default zero).
    #[must_use]
    pub fn connect_latency(mut self, latency: Duration) -> Self {
        self.defaults.connect_latency = latency;
        self
    }

    /// Give up on connection attempts that have not completed after `timeout`, with
    /// [`Reason::TimedOut`] (default: never).
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.defaults.connect_timeout = Some(timeout);
        self
    }

    /// Listen on `addr`: each connection that reaches it gets a protocol from `factory`.
    ///
    /// # Panics
    ///
    /// If something already listens on `addr`.
    #[track_caller]
    pub fn listen<P, F>(&mut self, addr: impl Into<SocketAddr>, mut factory: F) -> &mut Self
    where
        P: Protocol + 'static,
        F: FnMut() -> P + 'static,
    {
        let addr = addr.into();
        let slots = &mut self.sim.ends;
        if slots.listeners.get(&addr).is_some_and(|l| l.open) {
            panic!("Reactor::listen({addr}): something already listens there");
        }
        let factory: Factory = Box::new(move || Box::new(factory()));
        let accepted = slots
            .listeners
            .remove(&addr)
            .map(|l| l.accepted)
            .unwrap_or_default();
        slots.listeners.insert(
            addr,
            Listener {
                factory,
                accepted,
                open: true,
            },
        );
        self
    }

    /// Stop listening on `addr`: later attempts are refused; connections already accepted go
    /// on. Returns whether something was listening.
    pub fn stop_listening(&mut self, addr: impl Into<SocketAddr>) -> bool {
        let listener = self.sim.ends.listeners.get_mut(&addr.into());
        listener.is_some_and(|l| std::mem::replace(&mut l.open, false))
    }

    /// The connections accepted on `addr`, in order (including after `stop_listening`).
    #[must_use]
    pub fn accepted(&self, addr: impl Into<SocketAddr>) -> &[ConnId] {
        self.sim
            .ends
            .listeners
            .get(&addr.into())
            .map_or(&[], |l| &l.accepted[..])
    }

    /// Start connecting `protocol` to `addr` with the reactor's defaults. The attempt completes
    /// (or is refused) at the next run.
    pub fn connect<P: Protocol + 'static>(
        &mut self,
        addr: impl Into<SocketAddr>,
        protocol: P,
    ) -> ConnId {
        self.connect_with(addr, protocol, ConnectOptions::new())
    }

    /// [`connect`](Self::connect) with per-connection settings.
    pub fn connect_with<P: Protocol + 'static>(
        &mut self,
        addr: impl Into<SocketAddr>,
        protocol: P,
        opts: ConnectOptions,
    ) -> ConnId {
        let addr = addr.into();
        let d = &mut self.defaults;
        let local = opts.local.unwrap_or_else(|| client_addr(d.clients));
        d.clients += 1;
        let pick = |i: usize| opts.plans[i].clone().unwrap_or_else(|| d.plans[i].clone());
        let spec = ConnSpec {
            labels: [protocol.log_prefix().into_owned(), format!("({addr})")],
            addrs: [local, addr],
            plans: [pick(0), pick(1)],
            latency: [0, 1].map(|i| opts.latency[i].unwrap_or(d.latency[i])),
        };
        let latency = opts.connect_latency.unwrap_or(d.connect_latency);
        let timeout = opts.timeout.unwrap_or(d.connect_timeout);
        let conn = self.sim.core.add_conn(spec);
        self.sim.ends.conns.push([Some(Box::new(protocol)), None]);
        self.sim.core.begin_connect(conn, latency, timeout);
        conn
    }

    /// Every connection, in the order they were made.
    pub fn connections(&self) -> impl Iterator<Item = ConnId> + '_ {
        (0..self.sim.core.conn_count()).map(|i| ConnId(u32::try_from(i).unwrap_or(u32::MAX)))
    }

    /// Cut what `writer` writes on `conn` from now on with `chunking`.
    #[track_caller]
    pub fn set_chunking(&mut self, conn: ConnId, writer: End, chunking: Chunking) -> &mut Self {
        self.check(conn, "set_chunking");
        self.sim.core.set_plan(conn, writer, chunking);
        self
    }

    /// The protocol at `end` of `conn`, if it is a `P` (the accepting end exists once the
    /// connection was accepted).
    #[must_use]
    pub fn protocol<P: 'static>(&self, conn: ConnId, end: End) -> Option<&P> {
        let slot = self.sim.ends.conns.get(conn.index())?[end.index()].as_deref()?;
        slot.as_any().downcast_ref()
    }

    /// The protocol at `end` of `conn`, mutably, if it is a `P`.
    #[must_use]
    pub fn protocol_mut<P: 'static>(&mut self, conn: ConnId, end: End) -> Option<&mut P> {
        let slot = self.sim.ends.conns.get_mut(conn.index())?[end.index()].as_deref_mut()?;
        slot.as_any_mut().downcast_mut()
    }

    /// Call into the protocol at `end` of `conn` from the test with its transport. Its requests
    /// apply at once; deliveries happen at the next run.
    ///
    /// # Panics
    ///
    /// If there is no such connection, the end is not connected yet or already lost, or its
    /// protocol is not a `P`.
    #[track_caller]
    pub fn with_protocol<P: 'static, R>(
        &mut self,
        conn: ConnId,
        end: End,
        f: impl FnOnce(&mut P, &mut Transport<'_>) -> R,
    ) -> R {
        self.check_open(conn, end, "with_protocol");
        let ty = std::any::type_name::<P>();
        let found = self.protocol::<P>(conn, end).is_some();
        assert!(
            found,
            "Reactor::with_protocol: the {end} of {conn} is not a {ty}"
        );
        self.sim.act(conn, end, |slots, tx| {
            let slot = slots.conns[conn.index()][end.index()].as_deref_mut();
            let proto = slot.and_then(|p| p.as_any_mut().downcast_mut::<P>());
            let Some(proto) = proto else {
                unreachable!("checked above: the end is a {ty}")
            };
            f(proto, tx)
        })
    }

    /// Write `data` as `end` of `conn`. Delivered at the next run.
    #[track_caller]
    pub fn write(&mut self, conn: ConnId, end: End, data: impl AsRef<[u8]>) -> &mut Self {
        self.check_open(conn, end, "write");
        self.sim.act(conn, end, |_, tx| tx.write(data));
        self
    }

    /// `lose_connection` as `end` of `conn`.
    #[track_caller]
    pub fn lose(&mut self, conn: ConnId, end: End) -> &mut Self {
        self.check_open(conn, end, "lose");
        self.sim.act(conn, end, |_, tx| tx.lose_connection());
        self
    }

    /// `abort_connection` as `end` of `conn`.
    #[track_caller]
    pub fn abort(&mut self, conn: ConnId, end: End) -> &mut Self {
        self.check_open(conn, end, "abort");
        self.sim.act(conn, end, |_, tx| tx.abort_connection());
        self
    }

    /// `lose_write_connection` as `end` of `conn`.
    #[track_caller]
    pub fn half_close(&mut self, conn: ConnId, end: End) -> &mut Self {
        self.check_open(conn, end, "half_close");
        self.sim.act(conn, end, |_, tx| tx.lose_write_connection());
        self
    }

    /// Run until nothing is left: deliver everything, complete connection attempts, and when
    /// nothing is ready jump to the next timer or arrival.
    ///
    /// # Panics
    ///
    /// If more than [`Config::step_limit`] steps pass, with the last events in the message.
    pub fn run(&mut self) -> &mut Self {
        self.sim.run();
        self
    }

    /// Run until idle without moving time.
    pub fn run_until_idle(&mut self) -> &mut Self {
        self.sim.run_until_idle("Reactor::run_until_idle");
        self
    }

    /// Let `d` of virtual time pass, running what comes due at its own time.
    pub fn advance(&mut self, d: Duration) -> &mut Self {
        self.sim.advance(d);
        self
    }

    /// Jump to the next timer, arrival or connection attempt and run until idle there. Returns
    /// the new time, or `None` if nothing is scheduled.
    pub fn advance_to_next(&mut self) -> Option<Instant> {
        self.sim.advance_to_next()
    }

    /// Where `end` of `conn` stands.
    #[must_use]
    #[track_caller]
    pub fn status(&self, conn: ConnId, end: End) -> EndStatus {
        self.check(conn, "status");
        let core = &self.sim.core;
        let state = core.end_state(conn, end);
        if let Some(reason) = &state.lost {
            return EndStatus::Lost(reason.clone());
        }
        if core.conn(conn).connecting || !state.made {
            return EndStatus::Connecting;
        }
        if core.is_closing(conn, end) {
            return EndStatus::Closing;
        }
        match (state.eof, state.write_done()) {
            (false, false) => EndStatus::Open,
            (read, write) => EndStatus::HalfClosed { read, write },
        }
    }

    /// Why `end` of `conn` ended, once it has.
    #[must_use]
    #[track_caller]
    pub fn lost(&self, conn: ConnId, end: End) -> Option<&Reason> {
        self.check(conn, "lost");
        self.sim.lost(conn, end)
    }

    /// The address of `end` of `conn`.
    #[must_use]
    #[track_caller]
    pub fn host(&self, conn: ConnId, end: End) -> SocketAddr {
        self.check(conn, "host");
        self.sim.core.end_state(conn, end).addr
    }

    /// The address of the other end of `conn`, as seen from `end`.
    #[must_use]
    #[track_caller]
    pub fn peer(&self, conn: ConnId, end: End) -> SocketAddr {
        self.host(conn, end.peer())
    }

    /// Bytes `end` of `conn` wrote that its peer has not received.
    #[must_use]
    #[track_caller]
    pub fn buffered(&self, conn: ConnId, end: End) -> usize {
        self.check(conn, "buffered");
        self.sim.buffered(conn, end)
    }

    /// The events of `end` of `conn`, in order.
    #[must_use]
    #[track_caller]
    pub fn events(&self, conn: ConnId, end: End) -> Vec<Event> {
        self.check(conn, "events");
        self.sim.events(conn, end)
    }

    /// The whole event log, every connection in step order.
    #[must_use]
    pub fn log(&self) -> &EventLog {
        &self.sim.core.log
    }

    /// The reactor-wide transcript: every connection, interleaved in step order, headed by
    /// each direction's chunking literal (and the schedule, when it is not the default).
    #[must_use]
    pub fn transcript(&self) -> Transcript<'_> {
        self.sim.core.log.transcript()
    }

    /// The current virtual time.
    #[must_use]
    pub fn now(&self) -> Instant {
        self.sim.core.now
    }

    #[track_caller]
    fn check(&self, conn: ConnId, what: &str) {
        let count = self.sim.core.conn_count();
        assert!(
            conn.index() < count,
            "Reactor::{what}({conn}): there is no such connection ({count} were made)"
        );
    }

    #[track_caller]
    fn check_open(&self, conn: ConnId, end: End, what: &str) {
        match self.status(conn, end) {
            EndStatus::Connecting => {
                panic!("Reactor::{what}({conn}, {end}): the connection is not established yet")
            }
            EndStatus::Lost(reason) => {
                panic!("Reactor::{what}({conn}, {end}): that end was already lost ({reason})")
            }
            _ => {}
        }
    }
}

impl Default for Reactor {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Reactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reactor")
            .field("now", &self.sim.core.now)
            .field("connections", &self.sim.core.conn_count())
            .field(
                "listening",
                &self
                    .sim
                    .ends
                    .listeners
                    .iter()
                    .filter(|(_, l)| l.open)
                    .count(),
            )
            .field("events", &self.sim.core.log.len())
            .finish_non_exhaustive()
    }
}

/// The default address of the `n`-th connecting end: `10.0.0.2:49152` upward, moving to the
/// next host every 16,384 ports.
fn client_addr(n: u32) -> SocketAddr {
    let host = n / 16_384;
    let port = 49_152 + u16::try_from(n % 16_384).unwrap_or(0);
    let [_, _, hi, lo] = (host + 2).to_be_bytes();
    SocketAddr::from((Ipv4Addr::new(10, 0, hi, lo), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_addresses_are_unique_and_readable() {
        assert_eq!(client_addr(0).to_string(), "10.0.0.2:49152");
        assert_eq!(client_addr(1).to_string(), "10.0.0.2:49153");
        assert_eq!(client_addr(16_384).to_string(), "10.0.0.3:49152");
        let mut all: Vec<_> = (0..40_000).map(client_addr).collect();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), 40_000);
    }
}
