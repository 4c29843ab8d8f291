//! The event log: everything observable that happened, in order, with a readable transcript.
//!
//! Every run records one ordered log of [`Record`]s: the step that produced it, the virtual
//! time, the connection and end, and the [`Event`]. Data payloads are [`Bytes`] slices of what
//! was written, so recording copies nothing.
//!
//! Two views help compare runs:
//! - [`EventLog::lifecycle`] keeps the events a protocol sees (connected, data, read/write
//!   closed, lost) for one end, with adjacent data coalesced: the vocabulary of Twisted's
//!   traces.
//! - [`EventLog::normalized`] keeps every event of every end except notes, with each run of
//!   data events folded into one `Received` and one `Wrote`, so that two runs under different
//!   chunkings compare equal when the protocol behaved the same.
//!
//! [`EventLog::transcript`] renders the log as plain text, one line per event, with the
//! chunking literals on top so a failure can be replayed from the message alone.

mod store;

use std::borrow::Cow;
use std::fmt::{self, Write as _};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::{Bytes, BytesMut};

use self::store::Extra;
use crate::chunking::Chunking;
use crate::clock::{Instant, TimerId};

/// How many lines of a failing run's transcript a failure message shows: records for the
/// engine's failures and the oracles' reports, calls for the adapters' synchronous oracles.
pub(crate) const TRANSCRIPT_TAIL: usize = 60;

/// One of the two ends of a connection.
///
/// The client is the end that connected; the server is the end that accepted. A connection has
/// exactly these two ends, so this enum is exhaustive on purpose.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub enum End {
    /// The end that initiated the connection.
    Client,
    /// The end that accepted the connection.
    Server,
}

impl End {
    /// The other end of the same connection.
    #[must_use]
    pub fn peer(self) -> Self {
        match self {
            Self::Client => Self::Server,
            Self::Server => Self::Client,
        }
    }

    /// `0` for the client, `1` for the server.
    #[must_use]
    pub fn index(self) -> usize {
        match self {
            Self::Client => 0,
            Self::Server => 1,
        }
    }

    /// The name used in transcripts: `"client"` or `"server"`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Client => "client",
            Self::Server => "server",
        }
    }
}

impl fmt::Display for End {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Identifies a connection within one simulation. Displayed as `#0`, `#1`, …
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnId(pub(crate) u32);

impl ConnId {
    /// The connection's index: connections are numbered from 0 in the order they were made.
    #[must_use]
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for ConnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

impl fmt::Debug for ConnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Why a connection ended for one end, as given to
/// [`Protocol::connection_lost`](crate::Protocol::connection_lost).
#[non_exhaustive]
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub enum Reason {
    /// A clean close: this end's `lose_connection` finished flushing, or the peer sent EOF to an
    /// end that is not half-closeable.
    Done,
    /// A non-clean close: the peer reset the connection (it aborted).
    Lost,
    /// This end called `abort_connection`.
    Aborted,
    /// A callback of this end panicked and the panic policy is
    /// [`PanicPolicy::LoseConnection`](crate::PanicPolicy::LoseConnection). Holds the panic
    /// message.
    Panicked(String),
    /// The connection attempt found nobody listening.
    Refused,
    /// The connection attempt timed out.
    TimedOut,
    /// The protocol closed the connection because of an error, with
    /// [`Transport::fail`](crate::Transport::fail). Holds its message.
    Error(String),
}

impl Reason {
    /// Whether this is the clean [`Reason::Done`].
    #[must_use]
    pub fn is_clean(&self) -> bool {
        matches!(self, Self::Done)
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Done => f.write_str("done"),
            Self::Lost => f.write_str("lost (reset by peer)"),
            Self::Aborted => f.write_str("aborted"),
            Self::Panicked(msg) => write!(f, "panicked: {msg}"),
            Self::Refused => f.write_str("refused"),
            Self::TimedOut => f.write_str("timed out"),
            Self::Error(msg) => write!(f, "error: {msg}"),
        }
    }
}

/// A use of the transport that real TCP would ignore but that is almost certainly a bug.
///
/// Misuse is recorded as [`Event::Misuse`]; in strict mode
/// ([`Config::strict`](crate::Config::strict)) it fails the test with the transcript.
#[non_exhaustive]
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Misuse {
    /// A write after this end's write half was closed (`lose_write_connection`, or a
    /// `lose_connection` whose EOF was already sent). The bytes were dropped.
    WriteAfterWriteClosed(Bytes),
    /// A write to an end whose connection was already lost. The bytes were dropped.
    WriteAfterLost(Bytes),
    /// `register_producer` while a producer was already registered.
    ProducerAlreadyRegistered,
    /// `unregister_producer` with no producer registered.
    NoProducerRegistered,
    /// `cancel` of a timer that already fired or was already cancelled.
    CancelInactiveTimer(TimerId),
    /// `call_later` on an end whose connection was already lost (from the test). The timer
    /// was not scheduled: nothing runs after `connection_lost`.
    TimerAfterLost(TimerId),
    /// `register_producer` on an end whose connection was already lost (from the test). Not
    /// registered: nothing runs after `connection_lost`.
    ProducerAfterLost,
}

impl fmt::Display for Misuse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::WriteAfterWriteClosed(b) => {
                write!(
                    f,
                    "wrote {} after its write half was closed (dropped)",
                    Escaped(b)
                )
            }
            Self::WriteAfterLost(b) => {
                write!(
                    f,
                    "wrote {} after the connection was lost (dropped)",
                    Escaped(b)
                )
            }
            Self::ProducerAlreadyRegistered => {
                f.write_str("register_producer while a producer was already registered")
            }
            Self::NoProducerRegistered => f.write_str("unregister_producer with no producer"),
            Self::CancelInactiveTimer(t) => write!(f, "cancel({t}) of a timer no longer pending"),
            Self::ProducerAfterLost => {
                f.write_str("register_producer after the connection was lost (not registered)")
            }
            Self::TimerAfterLost(t) => {
                write!(
                    f,
                    "call_later ({t}) after the connection was lost (not scheduled)"
                )
            }
        }
    }
}

/// Something that happened to one end of a connection.
#[non_exhaustive]
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Event {
    /// `connection_made` was called.
    Connected,
    /// `data_received` was called with this piece.
    Received(Bytes),
    /// The end wrote these bytes (accepted by the transport).
    Wrote(Bytes),
    /// The end wrote these bytes after aborting; the transport discarded them, as real TCP does.
    Dropped(Bytes),
    /// The end asked to close (`lose_connection`).
    CloseRequested,
    /// The end asked to abort (`abort_connection`).
    AbortRequested,
    /// The end asked to close its write half (`lose_write_connection`).
    HalfCloseRequested,
    /// The peer's EOF was delivered: `read_connection_lost` was called.
    ReadClosed,
    /// This end's write half finished closing: `write_connection_lost` was called.
    WriteClosed,
    /// The end paused reading (`pause_reading`).
    Paused,
    /// The end resumed reading (`resume_reading`).
    Resumed,
    /// The end registered itself as a producer.
    ProducerRegistered(crate::ProducerKind),
    /// The end unregistered its producer.
    ProducerUnregistered,
    /// `pause_producing` was called: the write buffer went over the high-water mark.
    ProducerPaused,
    /// `resume_producing` was called.
    ProducerResumed,
    /// `stop_producing` was called, just before `connection_lost`.
    ProducerStopped,
    /// `timer_fired` was called for this timer.
    TimerFired(TimerId),
    /// `connection_lost` was called with this reason.
    Lost(Reason),
    /// The transport was misused; see [`Misuse`].
    Misuse(Misuse),
    /// A line the driver of the simulation added to the log, such as a `deliver` call of a
    /// [`Harness`](crate::Harness) with its chunking.
    Note(Cow<'static, str>),
}

impl Event {
    fn is_data(&self) -> bool {
        matches!(self, Self::Received(_) | Self::Wrote(_))
    }

    fn is_lifecycle(&self) -> bool {
        matches!(
            self,
            Self::Connected
                | Self::Received(_)
                | Self::ReadClosed
                | Self::WriteClosed
                | Self::Lost(_)
        )
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Connected => f.write_str("connected"),
            Self::Received(b) => write!(f, "received {}", Escaped(b)),
            Self::Wrote(b) => write!(f, "wrote {}", Escaped(b)),
            Self::Dropped(b) => write!(f, "wrote {} after abort (discarded)", Escaped(b)),
            Self::CloseRequested => f.write_str("lose_connection()"),
            Self::AbortRequested => f.write_str("abort_connection()"),
            Self::HalfCloseRequested => f.write_str("lose_write_connection()"),
            Self::ReadClosed => f.write_str("read closed (peer EOF)"),
            Self::WriteClosed => f.write_str("write closed"),
            Self::Paused => f.write_str("paused reading"),
            Self::Resumed => f.write_str("resumed reading"),
            Self::ProducerRegistered(k) => write!(f, "registered {k:?} producer"),
            Self::ProducerUnregistered => f.write_str("unregistered producer"),
            Self::ProducerPaused => f.write_str("pause_producing"),
            Self::ProducerResumed => f.write_str("resume_producing"),
            Self::ProducerStopped => f.write_str("stop_producing"),
            Self::TimerFired(t) => write!(f, "{t} fired"),
            Self::Lost(r) => write!(f, "lost: {r}"),
            Self::Misuse(m) => write!(f, "MISUSE: {m}"),
            Self::Note(s) => write!(f, "# {s}"),
        }
    }
}

/// One entry of the [`EventLog`].
#[non_exhaustive]
#[derive(Clone, PartialEq, Eq)]
pub struct Record {
    /// The engine step that produced the event (every delivery, timer or close is one step;
    /// events caused by the test between steps carry the last step's number).
    pub step: u64,
    /// Virtual time when it happened.
    pub time: Instant,
    /// The connection.
    pub conn: ConnId,
    /// Which end of it.
    pub end: End,
    /// What happened.
    pub event: Event,
}

impl fmt::Debug for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "[{} @{} {} {}] {:?}",
            self.step, self.time, self.conn, self.end, self.event
        )
    }
}

/// The ordered record of everything that happened in one simulation.
///
/// Stored compactly while the simulation runs (8 bytes a record; a write's payload is kept
/// once, as the `Bytes` that was written, and a received piece as a length into it); the
/// [`Record`]s are built on first access and cached until the next event.
///
/// When a log is dropped, the memory of its storage is kept for the next log built on the same
/// thread, up to 32 MiB for the records and 32 MiB for the write handles; it is freed when the
/// thread ends (under `cargo test`, when the test returns).
#[derive(Clone, Default)]
pub struct EventLog {
    store: store::Store,
    cache: Cache,
    labels: Vec<[String; 2]>,
    /// Per connection, per writing end: the current chunking and latency (the header).
    directions: Vec<[(Chunking, Duration); 2]>,
    preamble: Option<String>,
}

impl EventLog {
    /// Record an event (any kind; `Received` must go through [`received`](Self::received)).
    pub(crate) fn push(&mut self, step: u64, time: Instant, conn: ConnId, end: End, event: Event) {
        debug_assert!(!matches!(event, Event::Received(_)));
        self.store.push(step, time, conn, end, event);
        self.cache.invalidate();
    }

    /// Record that the test, acting as `end`, delivers `len` bytes cut by `plan`: a note,
    /// formatted only when the log is read.
    pub(crate) fn delivers(
        &mut self,
        step: u64,
        time: Instant,
        conn: ConnId,
        end: End,
        len: usize,
        plan: Chunking,
    ) {
        let note = Extra::Delivers { len, plan };
        self.store.extra(step, time, conn, end, note);
        self.cache.invalidate();
    }

    /// Record that `end` received the next `len` bytes its peer wrote.
    #[inline(always)]
    pub(crate) fn received(
        &mut self,
        step: u64,
        time: Instant,
        conn: ConnId,
        end: End,
        len: usize,
    ) {
        self.store.received(step, time, conn, end, len);
        self.cache.invalidate();
    }

    /// Record that `end` wrote `data` (accepted by the transport).
    #[inline]
    pub(crate) fn wrote(&mut self, step: u64, time: Instant, conn: ConnId, end: End, data: &Bytes) {
        self.store.wrote(step, time, conn, end, data);
        self.cache.invalidate();
    }

    pub(crate) fn add_conn(&mut self, labels: [String; 2], directions: [(Chunking, Duration); 2]) {
        self.store.add_conn();
        self.labels.push(labels);
        self.directions.push(directions);
    }

    pub(crate) fn set_plan(&mut self, conn: ConnId, writer: End, plan: Chunking) {
        if let Some(d) = self.directions.get_mut(conn.index()) {
            d[writer.index()].0 = plan;
        }
    }

    pub(crate) fn set_latency(&mut self, conn: ConnId, writer: End, latency: Duration) {
        if let Some(d) = self.directions.get_mut(conn.index()) {
            d[writer.index()].1 = latency;
        }
    }

    pub(crate) fn set_label(&mut self, conn: ConnId, end: End, label: String) {
        if let Some(l) = self.labels.get_mut(conn.index()) {
            l[end.index()] = label;
        }
    }

    /// A first header line (the schedule, when it is not the default).
    pub(crate) fn set_preamble(&mut self, line: Option<String>) {
        self.preamble = line;
    }

    /// All records, in order.
    #[must_use]
    pub fn records(&self) -> &[Record] {
        self.cache.get_or_init(|| self.store.materialize())
    }

    /// The number of records.
    #[must_use]
    pub fn len(&self) -> usize {
        self.store.len()
    }

    /// Whether nothing was recorded.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.store.len() == 0
    }

    /// The events of one end, in order.
    pub fn events(&self, conn: ConnId, end: End) -> impl Iterator<Item = &Event> + '_ {
        self.records()
            .iter()
            .filter(move |r| r.conn == conn && r.end == end)
            .map(|r| &r.event)
    }

    /// The label of an end in transcripts: its protocol's
    /// [`log_prefix`](crate::Protocol::log_prefix).
    #[must_use]
    pub fn label(&self, conn: ConnId, end: End) -> &str {
        self.labels
            .get(conn.index())
            .map_or("?", |l| l[end.index()].as_str())
    }

    /// The events a protocol sees, for one end: `Connected`, `Received`, `ReadClosed`,
    /// `WriteClosed` and `Lost`, with each run of `Received` coalesced into one piece.
    ///
    /// This is the shape of Twisted's reference traces, where real TCP's chunking is not
    /// observable; two runs under different chunkings give the same lifecycle when the
    /// protocol sees the same bytes and the same closes.
    #[must_use]
    pub fn lifecycle(&self, conn: ConnId, end: End) -> Vec<Event> {
        coalesce(
            self.events(conn, end).filter(|e| e.is_lifecycle()).cloned(),
            false,
        )
    }

    /// Every end's events with notes dropped and each run of data events folded into one
    /// `Received` (everything received in the run) followed by one `Wrote` (everything written).
    ///
    /// Two runs of the same protocol under different chunkings normalise to equal values when
    /// the protocol did the same things between its non-data events.
    #[must_use]
    pub fn normalized(&self) -> Normalized {
        let mut keys: Vec<(ConnId, End)> = self.records().iter().map(|r| (r.conn, r.end)).collect();
        keys.sort_unstable();
        keys.dedup();
        let ends = keys
            .into_iter()
            .map(|(conn, end)| (conn, end, self.normalized_end(conn, end)))
            .collect();
        Normalized { ends }
    }

    /// One end's part of [`normalized`](Self::normalized): its events with notes dropped and
    /// each run of data events folded into one `Received` and one `Wrote`. Cheaper than
    /// normalising the whole log when only one end is compared.
    #[must_use]
    pub fn normalized_end(&self, conn: ConnId, end: End) -> Vec<Event> {
        let events = self
            .events(conn, end)
            .filter(|e| !matches!(e, Event::Note(_)));
        coalesce(events.cloned(), true)
    }

    /// The log as plain text, one line per event, headed by the chunking literals.
    #[must_use]
    pub fn transcript(&self) -> Transcript<'_> {
        Transcript {
            log: self,
            tail: None,
        }
    }

    /// Like [`transcript`](Self::transcript), but only the last `n` records (for failure
    /// messages; piecemeal's own show the last 60).
    #[must_use]
    pub fn transcript_tail(&self, n: usize) -> Transcript<'_> {
        Transcript {
            log: self,
            tail: Some(n),
        }
    }
}

/// The [`Record`]s built from an [`EventLog`]'s store, kept until its next event.
///
/// Every event invalidates the cache, so the test must cost no call: `built` is a plain flag
/// read through `&mut`, where asking the `OnceLock` itself can be an out-of-line call into
/// `std` (the compiler does not always inline `OnceLock::get_mut`).
#[derive(Default)]
struct Cache {
    records: OnceLock<Vec<Record>>,
    /// Whether `records` is set: `get_or_init` sets it right after building them and `clear`
    /// resets both, so it is exact whenever the cache is borrowed mutably.
    built: AtomicBool,
}

impl Cache {
    /// The cached records, built by `build` if there are none.
    fn get_or_init(&self, build: impl FnOnce() -> Vec<Record>) -> &[Record] {
        let records = self.records.get_or_init(build);
        if !self.built.load(Ordering::Relaxed) {
            self.built.store(true, Ordering::Relaxed);
        }
        records
    }

    /// Forget the records, if any: one inlined test; the drop is out of line.
    #[inline(always)]
    fn invalidate(&mut self) {
        if *self.built.get_mut() {
            self.clear();
        }
    }

    /// The rare part of [`invalidate`](Self::invalidate).
    #[cold]
    #[inline(never)]
    fn clear(&mut self) {
        self.records = OnceLock::new();
        *self.built.get_mut() = false;
    }
}

impl Clone for Cache {
    fn clone(&self) -> Self {
        let records = self.records.clone();
        // From the copy itself, not from `built`: a `records` call on another thread may have
        // set the records and not yet the flag.
        let built = AtomicBool::new(records.get().is_some());
        Self { records, built }
    }
}

impl fmt::Debug for EventLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.records()).finish()
    }
}

/// Folds runs of data events. With `split_writes`, a run becomes `Received(all received)` then
/// `Wrote(all written)`; without, only consecutive `Received` events are joined.
fn coalesce(events: impl Iterator<Item = Event>, split_writes: bool) -> Vec<Event> {
    let mut out = Vec::new();
    let mut received: Vec<Bytes> = Vec::new();
    let mut wrote: Vec<Bytes> = Vec::new();
    let flush = |out: &mut Vec<Event>, received: &mut Vec<Bytes>, wrote: &mut Vec<Bytes>| {
        if !received.is_empty() {
            out.push(Event::Received(join(received)));
        }
        if !wrote.is_empty() {
            out.push(Event::Wrote(join(wrote)));
        }
    };
    for event in events {
        match event {
            Event::Received(b) => received.push(b),
            Event::Wrote(b) if split_writes => wrote.push(b),
            other => {
                debug_assert!(!(split_writes && other.is_data()));
                flush(&mut out, &mut received, &mut wrote);
                out.push(other);
            }
        }
    }
    flush(&mut out, &mut received, &mut wrote);
    out
}

fn join(parts: &mut Vec<Bytes>) -> Bytes {
    if parts.len() == 1 {
        return parts.pop().unwrap_or_default();
    }
    let mut buf = BytesMut::with_capacity(parts.iter().map(Bytes::len).sum());
    for p in parts.drain(..) {
        buf.extend_from_slice(&p);
    }
    buf.freeze()
}

/// The normalised form of an [`EventLog`]: per end, the events with data runs folded.
///
/// Compare two of these with `pretty_assertions::assert_eq!` to see where two runs differ.
#[derive(Clone, PartialEq, Eq)]
pub struct Normalized {
    ends: Vec<(ConnId, End, Vec<Event>)>,
}

impl Normalized {
    /// The normalised events of one end (empty if it recorded nothing).
    #[must_use]
    pub fn events(&self, conn: ConnId, end: End) -> &[Event] {
        self.ends
            .iter()
            .find(|(c, e, _)| *c == conn && *e == end)
            .map_or(&[], |(_, _, events)| events.as_slice())
    }
}

impl fmt::Debug for Normalized {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for (conn, end, events) in &self.ends {
            map.entry(&format_args!("{conn} {end}"), events);
        }
        map.finish()
    }
}

/// A plain-text rendering of an [`EventLog`]; see [`EventLog::transcript`].
#[derive(Clone, Copy)]
pub struct Transcript<'a> {
    log: &'a EventLog,
    tail: Option<usize>,
}

impl fmt::Debug for Transcript<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Transcript<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let log = self.log;
        if let Some(line) = &log.preamble {
            writeln!(f, "# {line}")?;
        }
        for (i, directions) in log.directions.iter().enumerate() {
            let conn = ConnId(u32::try_from(i).unwrap_or(u32::MAX));
            for (w, (plan, latency)) in [End::Client, End::Server].into_iter().zip(directions) {
                write!(f, "# {conn} {}→{}: {plan}", w.name(), w.peer().name())?;
                if !latency.is_zero() {
                    write!(f, ", latency {latency:?}")?;
                }
                writeln!(f)?;
            }
        }
        let records = log.records();
        let skip = self.tail.map_or(0, |n| records.len().saturating_sub(n));
        if skip > 0 {
            writeln!(f, "# … {skip} earlier events not shown")?;
        }
        let width = log
            .labels
            .iter()
            .flat_map(|l| l.iter().map(String::len))
            .max()
            .unwrap_or(0)
            .min(24);
        let mut line = String::new();
        for r in &records[skip..] {
            line.clear();
            let _ = write!(
                line,
                "{:>6} {:>8} {:<3} {:<6} {:<width$}  {}",
                r.step,
                r.time.to_string(),
                r.conn.to_string(),
                r.end.name(),
                log.label(r.conn, r.end),
                r.event,
            );
            writeln!(f, "{}", line.trim_end())?;
        }
        if records.is_empty() {
            writeln!(f, "# (no events recorded)")?;
        }
        Ok(())
    }
}

/// Bytes shown as an escaped byte-string literal, truncated after 48 bytes.
pub(crate) struct Escaped<'a>(pub(crate) &'a [u8]);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 48;
        let bytes = self.0;
        let shown = &bytes[..bytes.len().min(SHOWN)];
        f.write_str("b\"")?;
        for &b in shown {
            match b {
                b'\n' => f.write_str("\\n")?,
                b'\r' => f.write_str("\\r")?,
                b'\t' => f.write_str("\\t")?,
                b'\\' => f.write_str("\\\\")?,
                b'"' => f.write_str("\\\"")?,
                0x20..=0x7e => f.write_char(char::from(b))?,
                _ => write!(f, "\\x{b:02x}")?,
            }
        }
        f.write_str("\"")?;
        if bytes.len() > SHOWN {
            write!(f, "… ({} bytes)", bytes.len())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn rec(step: u64, end: End, event: Event) -> Record {
        Record {
            step,
            time: Instant::ZERO,
            conn: ConnId(0),
            end,
            event,
        }
    }

    fn sample() -> EventLog {
        let mut log = EventLog::default();
        let plans = [
            (Chunking::every_byte(), Duration::ZERO),
            (Chunking::whole(), Duration::ZERO),
        ];
        log.add_conn(["Client".into(), "Server".into()], plans);
        for r in [
            rec(1, End::Server, Event::Connected),
            rec(2, End::Client, Event::Connected),
            rec(2, End::Client, Event::Wrote(Bytes::from_static(b"ab"))),
            rec(3, End::Server, Event::Received(Bytes::from_static(b"a"))),
            rec(3, End::Server, Event::Wrote(Bytes::from_static(b"A"))),
            rec(4, End::Server, Event::Received(Bytes::from_static(b"b"))),
            rec(4, End::Server, Event::Wrote(Bytes::from_static(b"B"))),
            rec(5, End::Server, Event::Note("a note".into())),
            rec(6, End::Server, Event::Lost(Reason::Done)),
        ] {
            match r.event {
                Event::Received(b) => log.received(r.step, r.time, r.conn, r.end, b.len()),
                event => log.push(r.step, r.time, r.conn, r.end, event),
            }
        }
        log
    }

    #[test]
    fn lifecycle_coalesces_received_and_drops_the_rest() {
        assert_eq!(
            sample().lifecycle(ConnId(0), End::Server),
            [
                Event::Connected,
                Event::Received(Bytes::from_static(b"ab")),
                Event::Lost(Reason::Done)
            ]
        );
    }

    #[test]
    fn normalized_folds_data_runs_and_drops_notes() {
        let n = sample().normalized();
        assert_eq!(
            n.events(ConnId(0), End::Server),
            [
                Event::Connected,
                Event::Received(Bytes::from_static(b"ab")),
                Event::Wrote(Bytes::from_static(b"AB")),
                Event::Lost(Reason::Done),
            ]
        );
        assert_eq!(n.events(ConnId(1), End::Server), []);
    }

    #[test]
    fn transcript_has_header_labels_and_escapes() {
        let text = sample().transcript().to_string();
        assert!(
            text.starts_with("# #0 client→server: Chunking::every_byte()\n"),
            "{text}"
        );
        assert!(
            text.contains("#0  server Server  received b\"a\""),
            "{text}"
        );
        assert!(text.contains("lost: done"), "{text}");
        let tail = sample().transcript_tail(2).to_string();
        assert!(tail.contains("7 earlier events not shown"), "{tail}");
    }

    #[test]
    fn records_are_rebuilt_after_each_event_in_a_log_and_its_clone() {
        let mut log = sample();
        assert_eq!(log.records().len(), 9);
        let mut copy = log.clone();
        let c = Bytes::from_static(b"c");
        copy.wrote(7, Instant::ZERO, ConnId(0), End::Client, &c);
        assert_eq!(
            copy.records().len(),
            10,
            "a clone made with its records built rebuilds them after an event"
        );
        assert_eq!(copy.records()[9].event, Event::Wrote(c.clone()));
        copy.received(8, Instant::ZERO, ConnId(0), End::Server, 1);
        assert_eq!(copy.records().len(), 11);
        assert_eq!(copy.records()[10].event, Event::Received(c));
        assert_eq!(log.records().len(), 9, "the original keeps its own records");
        log.push(7, Instant::ZERO, ConnId(0), End::Client, Event::Paused);
        assert_eq!(log.records().len(), 10);
        assert_eq!(log.records()[9].event, Event::Paused);
    }

    #[test]
    fn escaped_truncates_long_payloads() {
        let long = vec![b'x'; 100];
        let shown = Escaped(&long).to_string();
        assert!(shown.ends_with("\"… (100 bytes)"), "{shown}");
        assert_eq!(Escaped(b"\r\n\x00\"").to_string(), r#"b"\r\n\x00\"""#);
    }
}
