//! The executor-independent core of the async adapters: one end of a simulated connection as
//! a byte stream.
//!
//! A [`SimStream`] is the client end of a connection run by the one engine (a [`Sim`] with two
//! ends, as [`Harness`](crate::Harness) and [`Pair`](crate::Pair) have). Its end is an
//! internal protocol, `StreamEnd`, whose queue of delivered pieces is the socket's receive
//! buffer: the consumer takes one piece per read, so chunk boundaries reach it intact, and
//! reading pauses while more than the high-water mark waits there, so a consumer that does
//! not read pushes back on its peer. The other end is the test ([`SimPeer`]) or any
//! [`Protocol`].
//!
//! The trait impls (`tokio::io`, `futures_io`) in the sibling modules are thin: they call the
//! `poll_*` functions here, which take a [`Context`] only to store its waker. The oracle
//! functions both modules define (`read_invariant` and its kin) are in [`oracle`].

use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker, ready};
use std::time::Duration;

use bytes::Bytes;

use crate::chunking::Chunking;
use crate::config::Config;
use crate::engine::{ConnSpec, Protos, Sim};
use crate::event::{ConnId, End, Event, Reason};
use crate::harness::TestPeer;
use crate::harness::default_addrs;
use crate::protocol::Protocol;
use crate::transport::Transport;

pub(super) mod oracle;
pub(super) use oracle::async_oracles;

/// When the next piece becomes readable by the consumer of a [`SimStream`].
#[non_exhaustive]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Delivery {
    /// Whatever is deliverable is readable: each read returns the next piece (at most one
    /// piece per read, never two joined, so the consumer sees every chunk boundary).
    #[default]
    Eager,
    /// The consumer runs dry before each piece: a read returns `Pending` once (waking its
    /// waker at once) before each piece and before the EOF. Finds code that mistakes
    /// `Pending` for the end of the data, or that loses state across a `Pending`.
    Starved,
}

impl fmt::Display for Delivery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Eager => "Delivery::Eager",
            Self::Starved => "Delivery::Starved",
        })
    }
}

/// The stream's own end: its queue of pieces is the socket's receive buffer. Reading pauses
/// while more than the high-water mark waits there, so unread bytes push back on the peer.
struct StreamEnd {
    pieces: VecDeque<Bytes>,
    /// Bytes in `pieces`.
    queued: usize,
    /// The receive buffer's size: reading pauses above it.
    capacity: usize,
    eof: bool,
}

impl Protocol for StreamEnd {
    fn data_received(&mut self, data: Bytes, tx: &mut Transport<'_>) {
        self.queued += data.len();
        self.pieces.push_back(data);
        if self.queued > self.capacity {
            tx.pause_reading();
        }
    }

    fn read_connection_lost(&mut self, _tx: &mut Transport<'_>) {
        self.eof = true;
    }

    fn half_closeable(&self) -> bool {
        true
    }

    fn log_prefix(&self) -> std::borrow::Cow<'static, str> {
        "stream".into()
    }
}

enum PeerEnd {
    Test(TestPeer),
    Proto(Box<dyn Protocol + Send>),
}

struct Ends {
    stream: StreamEnd,
    peer: PeerEnd,
}

impl Protos for Ends {
    fn get(&mut self, _conn: ConnId, end: End) -> &mut dyn Protocol {
        match (end, &mut self.peer) {
            (STREAM, _) => &mut self.stream,
            (_, PeerEnd::Test(p)) => p,
            (_, PeerEnd::Proto(p)) => p.as_mut(),
        }
    }
}

const STREAM: End = End::Client;
const PEER: End = End::Server;

/// Which waker a poll stores (and does not wake when it ran the engine).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Slot {
    Read,
    Write,
    Flush,
}

/// The shared state behind a stream and its peer handle.
struct Inner {
    sim: Sim<Ends>,
    conn: ConnId,
    delivery: Delivery,
    /// Starved delivery: the consumer has returned `Pending` with nothing to read since the
    /// last piece.
    primed: bool,
    /// The consumer has seen the EOF or the error (later reads repeat it without starving).
    read_done: bool,
    /// `poll_shutdown` was called.
    shut: bool,
    wakers: [Option<Waker>; 3],
    /// Wakers to wake once the lock is released.
    to_wake: Vec<Waker>,
}

impl Inner {
    fn lost(&self) -> Option<&Reason> {
        self.sim.lost(self.conn, STREAM)
    }

    /// Run until idle; if that did anything, wake every stored waker but `except`'s (another
    /// task may now make progress; spurious wake-ups are allowed).
    fn run(&mut self, what: &str, except: Option<Slot>) {
        let before = self.sim.core.step;
        self.sim.run_until_idle(what);
        if self.sim.core.step != before {
            self.wake(except);
        }
    }

    fn wake(&mut self, except: Option<Slot>) {
        for slot in [Slot::Read, Slot::Write, Slot::Flush] {
            if Some(slot) != except
                && let Some(w) = self.wakers[slot as usize].take()
            {
                self.to_wake.push(w);
            }
        }
    }

    fn store(&mut self, slot: Slot, cx: &Context<'_>) {
        match &mut self.wakers[slot as usize] {
            Some(w) if w.will_wake(cx.waker()) => {}
            other => *other = Some(cx.waker().clone()),
        }
    }

    fn act_stream(&mut self, f: impl FnOnce(&mut Transport<'_>)) {
        self.sim.act(self.conn, STREAM, |_, tx| f(tx));
    }

    fn act_peer<R>(&mut self, what: &str, f: impl FnOnce(&mut Transport<'_>) -> R) -> R {
        let out = self.sim.act(self.conn, PEER, |_, tx| f(tx));
        self.after_peer(what);
        out
    }

    /// Run after the peer acted. Whatever it did (data, EOF, reset, resumed reading) may
    /// unblock the stream, whether or not the run did anything: wake every stored waker.
    fn after_peer(&mut self, what: &str) {
        self.sim.run_until_idle(what);
        self.wake(None);
    }

    /// The outcome of a read that found no bytes: the EOF, the error, or nothing yet.
    fn end_of_data(&mut self) -> Option<io::Result<()>> {
        let out = match self.lost() {
            Some(Reason::Lost) => Err(io::ErrorKind::ConnectionReset.into()),
            Some(Reason::Aborted) => Err(io::ErrorKind::ConnectionAborted.into()),
            Some(Reason::Done) => Ok(()),
            Some(other) => Err(io::Error::other(format!("connection lost: {other}"))),
            None if self.sim.ends.stream.eof => Ok(()),
            None => return None,
        };
        self.read_done = true;
        Some(out)
    }

    /// The next piece, the EOF (`Ok(None)`), an error, or `Pending`.
    fn poll_piece(&mut self, cx: &Context<'_>) -> Poll<io::Result<Option<Bytes>>> {
        self.sim.connect();
        if self.read_done {
            return Poll::Ready(self.end_of_data().unwrap_or(Ok(())).map(|()| None));
        }
        if self.delivery == Delivery::Starved && !self.primed {
            self.primed = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        if let Some(piece) = self.take_piece() {
            self.primed = false;
            return Poll::Ready(Ok(Some(piece)));
        }
        match self.end_of_data() {
            Some(out) => {
                self.primed = false;
                Poll::Ready(out.map(|()| None))
            }
            None => {
                self.store(Slot::Read, cx);
                Poll::Pending
            }
        }
    }

    /// Take the next piece from the receive buffer; resume reading if it has room again.
    fn take_piece(&mut self) -> Option<Bytes> {
        let end = &mut self.sim.ends.stream;
        let piece = end.pieces.pop_front()?;
        end.queued -= piece.len();
        let room = end.queued <= end.capacity;
        if room && self.sim.core.end_state(self.conn, STREAM).paused {
            self.act_stream(|tx| tx.resume_reading());
            self.run("a read from the stream", Some(Slot::Read));
        }
        Some(piece)
    }

    fn write_refused(&self) -> Option<io::Error> {
        if self.shut || self.lost().is_some() {
            Some(io::ErrorKind::BrokenPipe.into())
        } else {
            None
        }
    }

    fn poll_write(&mut self, cx: &Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.sim.connect();
        if let Some(e) = self.write_refused() {
            return Poll::Ready(Err(e));
        }
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        if self.sim.buffered(self.conn, STREAM) > self.sim.core.cfg.high_water_value() {
            self.store(Slot::Write, cx);
            return Poll::Pending;
        }
        self.act_stream(|tx| tx.write(buf));
        self.run("a write to the stream", Some(Slot::Write));
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(&mut self, cx: &Context<'_>) -> Poll<io::Result<()>> {
        self.sim.connect();
        if self.sim.buffered(self.conn, STREAM) == 0 {
            return Poll::Ready(Ok(()));
        }
        if self.lost().is_some() {
            return Poll::Ready(Err(io::ErrorKind::BrokenPipe.into()));
        }
        self.store(Slot::Flush, cx);
        Poll::Pending
    }

    fn poll_shutdown(&mut self) -> Poll<io::Result<()>> {
        self.sim.connect();
        if !self.shut && self.lost().is_none() {
            self.act_stream(|tx| tx.lose_write_connection());
            self.run("a shutdown of the stream", None);
        }
        self.shut = true;
        Poll::Ready(Ok(()))
    }
}

type Shared = Arc<Mutex<Inner>>;

/// The shared state, locked; the wakers it collected are woken once the lock is released (a
/// waker may poll the stream at once on some executors).
struct Locked<'a>(Option<MutexGuard<'a, Inner>>);

impl std::ops::Deref for Locked<'_> {
    type Target = Inner;

    fn deref(&self) -> &Inner {
        self.0
            .as_deref()
            .unwrap_or_else(|| unreachable!("the guard is held until drop"))
    }
}

impl std::ops::DerefMut for Locked<'_> {
    fn deref_mut(&mut self) -> &mut Inner {
        self.0
            .as_deref_mut()
            .unwrap_or_else(|| unreachable!("the guard is held until drop"))
    }
}

impl Drop for Locked<'_> {
    fn drop(&mut self) {
        let wake = self.0.as_mut().map(|g| std::mem::take(&mut g.to_wake));
        drop(self.0.take());
        for waker in wake.into_iter().flatten() {
            waker.wake();
        }
    }
}

fn lock(shared: &Shared) -> Locked<'_> {
    Locked(Some(shared.lock().unwrap_or_else(PoisonError::into_inner)))
}

/// Builds a [`SimStream`] and its [`SimPeer`]: the delivery policy, the settings, how the
/// stream's writes are cut, and who the peer is.
///
/// # Examples
///
/// ```
/// # #[cfg(feature = "tokio")]
/// # use piecemeal::adapters::tokio as adapter;
/// # #[cfg(not(feature = "tokio"))]
/// # use piecemeal::adapters::futures as adapter;
/// use adapter::{Delivery, SimStream};
/// use piecemeal::{Chunking, Config};
///
/// let (stream, peer) = SimStream::builder()
///     .delivery(Delivery::Starved)
///     .config(Config::new().high_water(1024))
///     .outbound(Chunking::every_byte())
///     .build();
/// # drop((stream, peer));
/// ```
#[must_use = "a builder does nothing until `build`"]
pub struct StreamBuilder {
    delivery: Delivery,
    config: Config,
    outbound: Chunking,
    latency: Duration,
    peer: Option<Box<dyn Protocol + Send>>,
}

impl StreamBuilder {
    /// When pieces become readable (default [`Delivery::Eager`]).
    pub fn delivery(mut self, delivery: Delivery) -> Self {
        self.delivery = delivery;
        self
    }

    /// Settings for the run: the high-water mark over which `poll_write` returns `Pending`
    /// ([`Config::high_water`]), recording, step limit, panic policy.
    pub fn config(mut self, config: Config) -> Self {
        self.config = config;
        self
    }

    /// How the stream's writes are cut on their way to the peer (default
    /// [`Chunking::whole`]).
    pub fn outbound(mut self, chunking: Chunking) -> Self {
        self.outbound = chunking;
        self
    }

    /// Delay everything in both directions by `latency` (time moves only with
    /// [`SimPeer::advance`] and [`SimPeer::run`]).
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// Make a protocol the other end instead of the test: it is connected first (it may
    /// write a greeting), receives what the stream writes, and its writes reach the stream.
    /// The [`SimPeer`] then acts as that protocol's end.
    pub fn peer_protocol<P: Protocol + Send + 'static>(mut self, protocol: P) -> Self {
        self.peer = Some(Box::new(protocol));
        self
    }

    /// The stream and the handle through which the test plays (or watches) the peer.
    #[must_use]
    pub fn build(self) -> (SimStream, SimPeer) {
        let peer = match self.peer {
            Some(p) => PeerEnd::Proto(p),
            None => PeerEnd::Test(TestPeer::default()),
        };
        let peer_label = match &peer {
            PeerEnd::Test(p) => p.log_prefix().into_owned(),
            PeerEnd::Proto(p) => p.log_prefix().into_owned(),
        };
        let spec = ConnSpec {
            labels: ["stream".into(), peer_label],
            addrs: default_addrs(),
            plans: [self.outbound, Chunking::whole()],
            latency: [self.latency; 2],
        };
        let ends = Ends {
            stream: StreamEnd {
                pieces: VecDeque::new(),
                queued: 0,
                capacity: self.config.high_water_value(),
                eof: false,
            },
            peer,
        };
        let (mut sim, conn) = Sim::single(Config::new(), spec, ends);
        sim.core.set_config(self.config);
        let inner = Inner {
            sim,
            conn,
            delivery: self.delivery,
            primed: false,
            read_done: false,
            shut: false,
            wakers: [None, None, None],
            to_wake: Vec::new(),
        };
        let shared = Arc::new(Mutex::new(inner));
        let stream = SimStream {
            shared: Arc::clone(&shared),
            current: Bytes::new(),
        };
        (stream, SimPeer { shared })
    }
}

impl fmt::Debug for StreamBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamBuilder")
            .field("delivery", &self.delivery)
            .field("config", &self.config)
            .field("outbound", &self.outbound)
            .field("latency", &self.latency)
            .field("peer_protocol", &self.peer.is_some())
            .finish()
    }
}

/// One end of a simulated connection as an async byte stream: `AsyncRead`, `AsyncWrite` and
/// `AsyncBufRead` of tokio (feature `tokio`) and of futures-io (feature `futures`), on any
/// executor.
///
/// Reads return the pieces the peer's bytes were cut into, one piece (or the part of it that
/// fits) per read, never two joined; with [`Delivery::Starved`] the consumer also sees
/// `Pending` before each piece. Real-TCP semantics: after the peer's EOF a read returns 0;
/// after the peer's reset it fails with [`ConnectionReset`](io::ErrorKind::ConnectionReset)
/// (pieces the stream already holds are read first); a write after the peer's reset, or
/// after this stream's own `shutdown`, fails with [`BrokenPipe`](io::ErrorKind::BrokenPipe).
/// A write returns `Pending` while this end's unsent bytes (those the peer has not read) are
/// over [`Config::high_water`], and flush completes once they are all read. `shutdown`
/// closes the write half (EOF) and keeps reading; dropping the stream closes the connection
/// gracefully, and [`abort`](Self::abort) resets it. Writes after the peer closed (not
/// half-closed) are accepted and discarded: the simulation sends no reset in answer to them.
///
/// The peer's bytes go into the stream's receive buffer as they arrive; while more than the
/// high-water mark waits there, the stream stops reading and the rest waits on the wire,
/// counting against the peer's [`Transport::buffered`] (so a peer protocol's producer is
/// paused by a consumer that does not read).
///
/// The stream is the client end of the connection; the test drives the other end through
/// the [`SimPeer`] that [`build`](StreamBuilder::build) returns with it. Each poll runs the
/// engine until idle; virtual time moves only through the peer handle.
///
/// # Examples
///
/// ```
/// # #[cfg(feature = "tokio")]
/// # use piecemeal::adapters::tokio as adapter;
/// # #[cfg(not(feature = "tokio"))]
/// # use piecemeal::adapters::futures as adapter;
/// use adapter::SimStream;
/// use piecemeal::Chunking;
///
/// let (stream, peer) = SimStream::new();
/// peer.deliver(b"hello", Chunking::fixed(2));
/// peer.close();
/// // `stream` now reads "he", "ll", "o", then EOF.
/// # drop(stream);
/// ```
pub struct SimStream {
    shared: Shared,
    /// The piece being read (outside the lock, so `fill_buf` can lend it).
    current: Bytes,
}

impl SimStream {
    /// A stream with eager delivery and default settings, and the test as its peer.
    #[must_use]
    pub fn new() -> (Self, SimPeer) {
        Self::builder().build()
    }

    /// A builder for other settings.
    pub fn builder() -> StreamBuilder {
        StreamBuilder {
            delivery: Delivery::Eager,
            config: Config::new(),
            outbound: Chunking::whole(),
            latency: Duration::ZERO,
            peer: None,
        }
    }

    /// Reset the connection (as closing a socket with a zero linger): unsent bytes are
    /// discarded and the peer is lost with [`Reason::Lost`]. Later reads fail with
    /// `ConnectionAborted` and writes with `BrokenPipe`.
    pub fn abort(&self) {
        let mut inner = lock(&self.shared);
        inner.act_stream(|tx| tx.abort_connection());
        inner.run("SimStream::abort", None);
    }

    /// Hand at most `room` bytes of the current piece, fetching the next one if needed, to
    /// `put`, which copies them into the caller's buffer; returns how many. The body of both
    /// `poll_read`s, which differ only in their buffers (tokio's `put` copies into the unfilled
    /// part of a `ReadBuf` without zeroing the rest of it first).
    pub(crate) fn poll_read_with(
        &mut self,
        cx: &Context<'_>,
        room: usize,
        put: impl FnOnce(&[u8]),
    ) -> Poll<io::Result<usize>> {
        if room == 0 {
            return Poll::Ready(Ok(0));
        }
        let rest = ready!(self.poll_fill_buf_from(cx))?;
        let n = room.min(rest.len());
        put(&rest[..n]);
        self.consume(n);
        Poll::Ready(Ok(n))
    }

    /// The rest of the current piece, the next piece if that is empty, or nothing at the EOF:
    /// the body of both `poll_fill_buf`s.
    pub(crate) fn poll_fill_buf_from(&mut self, cx: &Context<'_>) -> Poll<io::Result<&[u8]>> {
        if self.current.is_empty()
            && let Some(piece) = ready!(lock(&self.shared).poll_piece(cx))?
        {
            self.current = piece;
        }
        Poll::Ready(Ok(&self.current))
    }

    pub(crate) fn consume(&mut self, n: usize) {
        let n = n.min(self.current.len());
        let _ = self.current.split_to(n);
    }

    pub(crate) fn poll_write_from(
        &mut self,
        cx: &Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        lock(&self.shared).poll_write(cx, buf)
    }

    pub(crate) fn poll_flush_out(&mut self, cx: &Context<'_>) -> Poll<io::Result<()>> {
        lock(&self.shared).poll_flush(cx)
    }

    pub(crate) fn poll_shutdown_write(&mut self) -> Poll<io::Result<()>> {
        lock(&self.shared).poll_shutdown()
    }
}

impl Drop for SimStream {
    fn drop(&mut self) {
        let mut inner = lock(&self.shared);
        if inner.sim.is_connected() && inner.lost().is_none() {
            inner.act_stream(|tx| tx.lose_connection());
            inner.run("dropping the SimStream", None);
        }
    }
}

impl fmt::Debug for SimStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = lock(&self.shared);
        f.debug_struct("SimStream")
            .field("delivery", &inner.delivery)
            .field("lost", &inner.lost())
            .field("unread_in_piece", &self.current.len())
            .finish_non_exhaustive()
    }
}

/// The other end of a [`SimStream`]'s connection, driven by the test: deliver bytes cut by a
/// [`Chunking`], close, half-close, abort, stop reading, and see what the stream wrote.
///
/// Every action runs the connection until idle and wakes the stream's tasks. When the peer
/// is a protocol ([`StreamBuilder::peer_protocol`]) the same actions act as that protocol's
/// end. Cloning gives another handle to the same peer.
///
/// # Examples
///
/// ```
/// # #[cfg(feature = "tokio")]
/// # use piecemeal::adapters::tokio as adapter;
/// # #[cfg(not(feature = "tokio"))]
/// # use piecemeal::adapters::futures as adapter;
/// use adapter::SimStream;
/// use piecemeal::Chunking;
///
/// let (stream, peer) = SimStream::new();
/// peer.deliver(b"ping", Chunking::every_byte());
/// drop(stream); // closes gracefully
/// assert!(peer.got_eof());
/// assert_eq!(peer.written(), b"");
/// ```
#[derive(Clone)]
pub struct SimPeer {
    shared: Shared,
}

impl SimPeer {
    /// Write `data` to the stream, cut into pieces by `chunking` (pieces never span two
    /// calls). It becomes readable as the stream is read.
    ///
    /// # Panics
    ///
    /// If the peer already closed its write half ([`close`](Self::close),
    /// [`half_close`](Self::half_close), [`abort`](Self::abort)).
    #[track_caller]
    pub fn deliver(&self, data: impl AsRef<[u8]>, chunking: Chunking) {
        let mut inner = lock(&self.shared);
        // Copied as `Transport::write` copies (packed with other small copies while recording).
        let data = inner.sim.core.copy_in(data.as_ref());
        let conn = inner.conn;
        let sent = inner.sim.peer_sends(
            conn,
            PEER,
            data,
            chunking,
            "SimPeer::deliver",
            "close, half_close or abort",
        );
        if let Err(msg) = sent {
            drop(inner);
            panic!("{msg}");
        }
        inner.after_peer("SimPeer::deliver");
    }

    /// Close gracefully: EOF after what was delivered; the stream's reads then return 0.
    pub fn close(&self) {
        lock(&self.shared).act_peer("SimPeer::close", |tx| tx.lose_connection());
    }

    /// Close the write half (EOF) and keep reading what the stream writes.
    pub fn half_close(&self) {
        lock(&self.shared).act_peer("SimPeer::half_close", |tx| {
            tx.lose_write_connection();
        });
    }

    /// Reset the connection: the stream's reads fail with `ConnectionReset`, its writes with
    /// `BrokenPipe`.
    pub fn abort(&self) {
        lock(&self.shared).act_peer("SimPeer::abort", |tx| tx.abort_connection());
    }

    /// Stop reading: the stream's writes pile up until its writes return `Pending`.
    pub fn pause_reading(&self) {
        lock(&self.shared).act_peer("SimPeer::pause_reading", |tx| tx.pause_reading());
    }

    /// Read again (wakes a stream waiting to write or flush).
    pub fn resume_reading(&self) {
        lock(&self.shared).act_peer("SimPeer::resume_reading", |tx| tx.resume_reading());
    }

    /// Act as the peer's end with its transport (for a protocol peer: on its behalf), then
    /// run until idle.
    pub fn with_transport<R>(&self, f: impl FnOnce(&mut Transport<'_>) -> R) -> R {
        lock(&self.shared).act_peer("SimPeer::with_transport", f)
    }

    /// Let `d` of virtual time pass (timers fire, delayed bytes arrive), then wake the
    /// stream's tasks.
    pub fn advance(&self, d: Duration) {
        let mut inner = lock(&self.shared);
        inner.sim.advance(d);
        inner.wake(None);
    }

    /// Run until nothing is left, jumping to each timer (the stream takes what fits in its
    /// receive buffer).
    pub fn run(&self) {
        let mut inner = lock(&self.shared);
        inner.sim.run();
        inner.wake(None);
    }

    /// What the stream wrote that reached this (test) peer. Empty when the peer is a
    /// protocol.
    #[must_use]
    pub fn written(&self) -> Vec<u8> {
        match &lock(&self.shared).sim.ends.peer {
            PeerEnd::Test(p) => p.received.to_vec(),
            PeerEnd::Proto(_) => Vec::new(),
        }
    }

    /// Take what the stream wrote so far, leaving [`written`](Self::written) empty.
    #[must_use = "the written bytes are removed from the peer"]
    pub fn take_written(&self) -> Bytes {
        match &mut lock(&self.shared).sim.ends.peer {
            PeerEnd::Test(p) => p.received.split().freeze(),
            PeerEnd::Proto(_) => Bytes::new(),
        }
    }

    /// Whether the stream's EOF (from `shutdown`, drop or its close) reached the peer.
    #[must_use]
    pub fn got_eof(&self) -> bool {
        let inner = lock(&self.shared);
        let state = inner.sim.core.end_state(inner.conn, PEER);
        state.eof || state.lost.is_some()
    }

    /// Bytes the stream wrote that the peer has not read.
    #[must_use]
    pub fn buffered(&self) -> usize {
        let inner = lock(&self.shared);
        inner.sim.buffered(inner.conn, STREAM)
    }

    /// Bytes the peer wrote that the stream has not handed to its reader yet: in its receive
    /// buffer, or waiting on the wire because that buffer is over the high-water mark.
    #[must_use]
    pub fn unread(&self) -> usize {
        let inner = lock(&self.shared);
        inner.sim.buffered(inner.conn, PEER) + inner.sim.ends.stream.queued
    }

    /// What the peer's [`Transport::buffered`] says: bytes it wrote that the stream has not
    /// received, because its receive buffer is over the high-water mark (or under latency).
    #[must_use]
    pub fn peer_buffered(&self) -> usize {
        let inner = lock(&self.shared);
        inner.sim.buffered(inner.conn, PEER)
    }

    /// Why the stream's end of the connection ended, once it has.
    #[must_use]
    pub fn stream_lost(&self) -> Option<Reason> {
        lock(&self.shared).lost().cloned()
    }

    /// Why the peer's end ended, once it has.
    #[must_use]
    pub fn peer_lost(&self) -> Option<Reason> {
        let inner = lock(&self.shared);
        inner.sim.lost(inner.conn, PEER).cloned()
    }

    /// The stream end's events, in order (`Received` once per piece the stream took).
    #[must_use]
    pub fn events(&self) -> Vec<Event> {
        let inner = lock(&self.shared);
        inner.sim.events(inner.conn, STREAM)
    }

    /// The transcript of the run so far, both ends.
    #[must_use]
    pub fn transcript(&self) -> String {
        lock(&self.shared).sim.core.log.transcript().to_string()
    }

    /// The end of [`transcript`](Self::transcript): its last `n` events, for a failure report.
    pub(crate) fn transcript_tail(&self, n: usize) -> String {
        lock(&self.shared)
            .sim
            .core
            .log
            .transcript_tail(n)
            .to_string()
    }
}

impl fmt::Debug for SimPeer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = lock(&self.shared);
        f.debug_struct("SimPeer")
            .field(
                "protocol",
                &matches!(inner.sim.ends.peer, PeerEnd::Proto(_)),
            )
            .field("lost", &inner.sim.lost(inner.conn, PEER))
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send<T: Send>() {}

    #[test]
    fn stream_and_peer_are_send() {
        assert_send::<SimStream>();
        assert_send::<SimPeer>();
    }
}
