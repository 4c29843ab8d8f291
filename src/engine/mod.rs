//! The one engine behind every face.
//!
//! A connection is two ends and two wires. A wire holds what one end wrote that the other has
//! not received, followed by at most one FIN or RST. Everything that can happen next is a
//! *task* in one ready queue, ordered by the moment it became ready (its stamp): a wire's head
//! (a piece or an EOF or a reset), a close completing, a producer being resumed, a timer coming
//! due, a connection being made. One step runs one task. Callbacks run one at a time, and
//! whatever a protocol asks of its transport is applied by [`Core::settle`] after the callback
//! returns.
//!
//! [`Harness`](crate::Harness) and [`Pair`](crate::Pair) drive this engine through
//! [`Sim`]; there is no other delivery loop.

mod requests;
mod run;
mod settle;
mod sim;
pub(crate) mod wire;

use std::any::Any;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::net::SocketAddr;
use std::time::Duration;

use bytes::{Bytes, BytesMut};

use crate::chunking::Chunking;
use crate::clock::{Instant, TimerId};
use crate::config::Config;
use crate::event::{ConnId, End, Event, EventLog, Reason, TRANSCRIPT_TAIL};
use crate::protocol::Protocol;
use crate::schedule::Picker;
use crate::transport::ProducerKind;

pub(crate) use self::sim::Sim;
use self::wire::Wire;

/// How the engine reaches the protocols of a face (which own them).
pub(crate) trait Protos {
    fn get(&mut self, conn: ConnId, end: End) -> &mut dyn Protocol;

    /// A connection attempt to `addr` reached its destination: build the accepting end's
    /// protocol and return its label, or `None` if nobody listens there. Only faces that make
    /// connections by address (the reactor) accept anything.
    fn accept(&mut self, conn: ConnId, addr: SocketAddr) -> Option<String> {
        let _ = (conn, addr);
        None
    }
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Task {
    Made(ConnId, End),
    /// The head of the wire written by this end.
    Wire(ConnId, End),
    /// This end's FIN or RST was consumed by the peer, or its close can complete.
    Notify(ConnId, End),
    /// Resume this end's producer.
    Resume(ConnId, End),
    Timer(u64),
    /// A connection attempt reaches its destination.
    Connect(ConnId),
    /// A connection attempt gives up.
    ConnectTimeout(ConnId),
}

impl Task {
    const KIND_SHIFT: u32 = 61;

    /// The task as one word, for the ready queue: the kind in the top three bits, then the
    /// end (bit 32) and the connection (low 32 bits), or the timer id. Copying a queue entry
    /// is then two plain words, which the processor forwards from store to load without the
    /// stall that copying a byte-packed enum through wider registers costs.
    #[inline(always)]
    fn pack(self) -> u64 {
        let ce = |c: ConnId, e: End| u64::from(c.0) | ((e as u64) << 32);
        let (kind, rest) = match self {
            Self::Made(c, e) => (0, ce(c, e)),
            Self::Wire(c, e) => (1, ce(c, e)),
            Self::Notify(c, e) => (2, ce(c, e)),
            Self::Resume(c, e) => (3, ce(c, e)),
            // Timer ids count up from 0 one per `call_later`: they never reach 2^61.
            Self::Timer(id) => {
                debug_assert!(id < 1 << Self::KIND_SHIFT, "timer id {id} out of range");
                (4, id & ((1 << Self::KIND_SHIFT) - 1))
            }
            Self::Connect(c) => (5, u64::from(c.0)),
            Self::ConnectTimeout(c) => (6, u64::from(c.0)),
        };
        (kind << Self::KIND_SHIFT) | rest
    }

    #[inline(always)]
    fn unpack(word: u64) -> Self {
        // The casts keep the low 32 bits on purpose: that is where `pack` put the connection.
        let c = ConnId(word as u32);
        let e = if word & (1 << 32) == 0 {
            End::Client
        } else {
            End::Server
        };
        match word >> Self::KIND_SHIFT {
            0 => Self::Made(c, e),
            1 => Self::Wire(c, e),
            2 => Self::Notify(c, e),
            3 => Self::Resume(c, e),
            4 => Self::Timer(word & ((1 << Self::KIND_SHIFT) - 1)),
            5 => Self::Connect(c),
            _ => Self::ConnectTimeout(c),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Close {
    Open,
    Lose,
    Abort,
    Failed,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum WriteHalf {
    Open,
    /// `lose_write_connection` was asked; the FIN waits for a producer.
    Requested,
    FinQueued,
    FinConsumed,
    Closed,
}

/// What a protocol asked during the current callback, applied by `settle`.
#[derive(Default, Debug)]
struct Requests {
    lose: bool,
    abort: bool,
    lose_write: bool,
    fail: Option<Reason>,
    new_pull: bool,
}

impl Requests {
    #[inline]
    fn is_empty(&self) -> bool {
        // `|` rather than `||`: one test instead of a branch per flag.
        !(self.lose | self.abort | self.lose_write | self.new_pull) && self.fail.is_none()
    }
}

#[derive(Clone, Copy, Debug)]
struct Producer {
    kind: ProducerKind,
    paused: bool,
}

impl Producer {
    /// A pull producer, or a paused push producer, holds back the EOF (as in Twisted).
    fn blocks_close(self) -> bool {
        self.kind == ProducerKind::Pull || self.paused
    }
}

#[derive(Debug)]
pub(crate) struct EndState {
    pub(crate) addr: SocketAddr,
    pub(crate) made: bool,
    pub(crate) lost: Option<Reason>,
    pub(crate) paused: bool,
    /// The peer's EOF was delivered (half-closeable ends only).
    pub(crate) eof: bool,
    close: Close,
    write_half: WriteHalf,
    /// `lose_write_connection` was applied: later writes are misuse.
    half_close: bool,
    req: Requests,
    /// [`is_plain`](Self::is_plain), cached for the hot path (a write, and `settle` after a
    /// callback). Testing the fields there made the write path too big for the compiler to
    /// inline the log and the wire's queue into it, which cost about 2 ns a piece.
    ///
    /// It may be `false` while the end is plain: then the hot path takes the slow path, which
    /// gives the same result. It is never `true` while the end is not: `close`, `write_half`
    /// and `lost` change only through [`set_close`](Self::set_close),
    /// [`set_write_half`](Self::set_write_half) and [`set_lost`](Self::set_lost), and requests
    /// are added only through [`ask`](Self::ask), which all clear it; only `settle` sets it
    /// again, from `is_plain` itself. (Emptying the requests cannot end plainness.)
    plain: bool,
    producer: Option<Producer>,
    notify_stamp: Option<u64>,
    resume_stamp: Option<u64>,
    timers: Vec<u64>,
}

impl EndState {
    fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            made: false,
            lost: None,
            paused: false,
            eof: false,
            close: Close::Open,
            write_half: WriteHalf::Open,
            half_close: false,
            req: Requests::default(),
            plain: true,
            producer: None,
            notify_stamp: None,
            resume_stamp: None,
            timers: Vec::new(),
        }
    }

    /// Open (not closing, not lost), its write half open, and no request pending: a write is
    /// accepted as is, and after a callback only its outbound wire may need a turn.
    fn is_plain(&self) -> bool {
        self.close == Close::Open
            && self.write_half == WriteHalf::Open
            && self.lost.is_none()
            && self.req.is_empty()
    }

    /// Change how the end is closing; it is no longer plain.
    fn set_close(&mut self, close: Close) {
        self.close = close;
        self.plain = false;
    }

    /// Change the state of the write half; the end is no longer plain.
    fn set_write_half(&mut self, half: WriteHalf) {
        self.write_half = half;
        self.plain = false;
    }

    /// The end is lost, for `reason`; it is no longer plain.
    fn set_lost(&mut self, reason: Reason) {
        self.lost = Some(reason);
        self.plain = false;
    }

    /// The requests, to add one to; the end is no longer plain.
    fn ask(&mut self) -> &mut Requests {
        self.plain = false;
        &mut self.req
    }

    fn is_closing(&self) -> bool {
        self.close != Close::Open || self.req.lose || self.req.abort || self.req.fail.is_some()
    }

    /// Whether this end's write half finished closing (its EOF reached the peer).
    pub(crate) fn write_done(&self) -> bool {
        matches!(self.write_half, WriteHalf::FinConsumed | WriteHalf::Closed)
    }

    /// Whether this end's later writes are refused as misuse: it half-closed, or its EOF has
    /// already reached the peer. (After `lose_connection` writes are still sent until then.)
    pub(crate) fn write_shut(&self) -> bool {
        self.half_close
            || self.req.lose_write
            || matches!(self.write_half, WriteHalf::FinConsumed | WriteHalf::Closed)
    }
}

#[derive(Debug)]
pub(crate) struct Conn {
    /// A connection attempt is under way (reactor connections, before accept or refusal).
    pub(crate) connecting: bool,
    pub(crate) ends: [EndState; 2],
    /// `wires[e]` carries what end `e` writes.
    pub(crate) wires: [Wire; 2],
}

/// Everything needed to add a connection.
#[derive(Debug)]
pub(crate) struct ConnSpec {
    pub(crate) labels: [String; 2],
    pub(crate) addrs: [SocketAddr; 2],
    pub(crate) plans: [Chunking; 2],
    pub(crate) latency: [Duration; 2],
}

#[derive(Debug)]
enum TimerKind {
    Protocol(u64),
    Connect,
    ConnectTimeout,
    /// The head of a wire arrives (latency).
    Arrival,
}

#[derive(Debug)]
struct ClockEntry {
    conn: ConnId,
    end: End,
    kind: TimerKind,
}

#[derive(Clone, Copy, Debug)]
struct LiveTimer {
    key: (Instant, u64),
    conn: ConnId,
    end: End,
}

/// A callback other than `data_received`, which has a path of its own (`callback_data`).
enum Callback {
    Made,
    ReadLost,
    WriteLost,
    Timer(TimerId),
    Pause,
    Resume,
}

impl Callback {
    fn name(&self) -> &'static str {
        match self {
            Self::Made => "connection_made",
            Self::ReadLost => "read_connection_lost",
            Self::WriteLost => "write_connection_lost",
            Self::Timer(_) => "timer_fired",
            Self::Pause => "pause_producing",
            Self::Resume => "resume_producing",
        }
    }
}

/// The ready queue: tasks by stamp, smallest first.
///
/// Stamps are handed out in increasing order, so almost every push carries a stamp larger than
/// anything queued: those go to the back of a FIFO, in O(1). The few that carry an older stamp
/// (a wire rescheduled when its reader resumes, or when its bytes arrive) go to a heap. A pop
/// takes the smaller of the two fronts.
///
/// The FIFO is a `Vec` read from `head` on: a push is a `Vec` push, a pop a read and an
/// increment. When the buffer is full and at least half of it was consumed, the consumed
/// front is dropped in one move. The entries moved then are at most half of the buffer, and
/// the next compaction waits until half of a buffer at least as large was consumed, so by then
/// they were all popped: each entry is moved at most once.
#[derive(Debug, Default)]
struct Ready {
    /// Stamp and packed task ([`Task::pack`]), increasing stamps from `head` on; entries before
    /// `head` were popped.
    fifo: Vec<(u64, u64)>,
    head: usize,
    heap: BinaryHeap<Reverse<(u64, u64)>>,
}

impl Ready {
    /// Queue `task` at `stamp`, which may be older than tasks already queued (a wire's head
    /// keeps the stamp it became ready at).
    #[inline(always)]
    fn push(&mut self, stamp: u64, task: Task) {
        let newest = match self.fifo.last() {
            Some(&(last, _)) => stamp > last || self.head == self.fifo.len(),
            None => true,
        };
        if newest {
            self.push_newest(stamp, task);
        } else {
            self.heap.push(Reverse((stamp, task.pack())));
        }
    }

    /// Queue `task` at the back of the FIFO: its stamp is newer than any queued (one just
    /// handed out by [`Core::next_stamp`], since stamps only grow), or the FIFO is consumed.
    #[inline(always)]
    fn push_newest(&mut self, stamp: u64, task: Task) {
        debug_assert!(
            self.head == self.fifo.len() || self.fifo.last().is_none_or(|&(last, _)| stamp > last),
            "stamp {stamp} is older than the FIFO's back"
        );
        if self.fifo.len() == self.fifo.capacity() {
            self.make_room();
        }
        self.fifo.push((stamp, task.pack()));
    }

    /// The FIFO is full: drop its consumed front if that is at least half of it (each entry
    /// is then moved at most once), else let it grow.
    #[cold]
    #[inline(never)]
    fn make_room(&mut self) {
        if self.head * 2 >= self.fifo.len() {
            self.fifo.drain(..self.head);
            self.head = 0;
        }
        self.fifo.reserve(self.fifo.len().max(64));
    }

    #[inline(always)]
    fn pop(&mut self) -> Option<(u64, Task)> {
        let front = self.fifo.get(self.head).copied();
        if let Some(Reverse((h, _))) = self.heap.peek()
            && front.is_none_or(|(f, _)| *h < f)
        {
            return self
                .heap
                .pop()
                .map(|Reverse((stamp, task))| (stamp, Task::unpack(task)));
        }
        self.head += usize::from(front.is_some());
        front.map(|(stamp, task)| (stamp, Task::unpack(task)))
    }
}

/// The engine's state, apart from the protocols (which the faces own).
#[derive(Debug)]
pub(crate) struct Core {
    conns: Vec<Conn>,
    pub(crate) now: Instant,
    pub(crate) step: u64,
    stamp: u64,
    ready: Ready,
    clock: BTreeMap<(Instant, u64), ClockEntry>,
    clock_seq: u64,
    live_timers: BTreeMap<u64, LiveTimer>,
    next_timer: u64,
    pub(crate) log: EventLog,
    pub(crate) cfg: Config,
    picker: Picker,
    /// Ends of other connections a callback acted on (`Transport::other`), to settle after it.
    pub(crate) touched: Vec<(ConnId, End)>,
    /// Producer callbacks chained within the current step (see `nest`).
    nested: u64,
    /// `step_scheduled`'s buffer of the valid ready tasks, kept from step to step.
    scratch: Vec<(u64, Task)>,
    /// Where small copied writes are packed while recording: see [`Core::copy_in`].
    packed: BytesMut,
    strict_violation: Option<String>,
}

impl Core {
    pub(crate) fn new(cfg: Config) -> Self {
        Self {
            // Room for exactly one: a `Harness` or a `Pair` has one connection, and a `Vec`'s
            // first growth would make room for four (3 KiB, past the allocator's small sizes:
            // about a sixth of a short `Harness` run). A reactor's second grows it as usual.
            conns: Vec::with_capacity(1),
            now: Instant::ZERO,
            step: 0,
            stamp: 0,
            ready: Ready::default(),
            clock: BTreeMap::new(),
            clock_seq: 0,
            live_timers: BTreeMap::new(),
            next_timer: 0,
            log: EventLog::default(),
            picker: cfg.schedule_value().picker(),
            cfg,
            touched: Vec::new(),
            nested: 0,
            scratch: Vec::new(),
            packed: BytesMut::new(),
            strict_violation: None,
        }
    }

    /// Replace the configuration (before or between runs); the schedule starts over.
    ///
    /// # Panics
    ///
    /// If recording is switched on or off after the simulation started: the log keeps every
    /// byte or none, and half a history cannot be read back.
    #[track_caller]
    pub(crate) fn set_config(&mut self, cfg: Config) {
        let started = self.step > 0 || !self.log.is_empty();
        assert!(
            !started || cfg.is_recording() == self.cfg.is_recording(),
            "Config::record({}) after the simulation started: choose whether to record before \
             the first run (the event log keeps every byte or none)",
            cfg.is_recording()
        );
        self.picker = cfg.schedule_value().picker();
        let line = (!cfg.schedule_value().is_fifo())
            .then(|| format!("schedule: {}", cfg.schedule_value()));
        self.log.set_preamble(line);
        self.cfg = cfg;
    }

    // ----- connections ------------------------------------------------------------------

    pub(crate) fn add_conn(&mut self, spec: ConnSpec) -> ConnId {
        let id = ConnId(u32::try_from(self.conns.len()).unwrap_or(u32::MAX));
        let [(pc, lc), (ps, ls)] = [0, 1].map(|w| (&spec.plans[w], spec.latency[w]));
        self.conns.push(Conn {
            connecting: false,
            ends: spec.addrs.map(EndState::new),
            wires: [Wire::new(pc, lc), Wire::new(ps, ls)],
        });
        let [plan_c, plan_s] = spec.plans;
        self.log.add_conn(spec.labels, [(plan_c, lc), (plan_s, ls)]);
        id
    }

    /// Cut what `w` writes from now on with `plan`.
    pub(crate) fn set_plan(&mut self, c: ConnId, w: End, plan: Chunking) {
        self.conn_mut(c).wires[w.index()].set_plan(&plan);
        self.log.set_plan(c, w, plan);
    }

    pub(crate) fn set_addr(&mut self, c: ConnId, e: End, addr: SocketAddr) {
        self.end_mut(c, e).addr = addr;
    }

    pub(crate) fn set_latency(&mut self, c: ConnId, w: End, latency: Duration) {
        self.conn_mut(c).wires[w.index()].set_latency(latency);
        self.log.set_latency(c, w, latency);
    }

    /// Queue `connection_made` for both ends: the server first, as Twisted does.
    pub(crate) fn connect(&mut self, c: ConnId) {
        for e in [End::Server, End::Client] {
            let stamp = self.next_stamp();
            self.ready.push_newest(stamp, Task::Made(c, e));
        }
    }

    /// Start a connection attempt: it reaches its destination after `latency` (then the face
    /// accepts or refuses it), or gives up after `timeout`.
    pub(crate) fn begin_connect(
        &mut self,
        c: ConnId,
        latency: Duration,
        timeout: Option<Duration>,
    ) {
        self.conn_mut(c).connecting = true;
        let at = self.now + latency;
        self.clock_entry(at, c, End::Client, TimerKind::Connect);
        if let Some(t) = timeout {
            let at = self.now + t;
            self.clock_entry(at, c, End::Client, TimerKind::ConnectTimeout);
        }
    }

    fn clock_entry(&mut self, at: Instant, conn: ConnId, end: End, kind: TimerKind) {
        let key = (at, self.clock_seq);
        self.clock_seq += 1;
        self.clock.insert(key, ClockEntry { conn, end, kind });
    }

    pub(crate) fn conn_count(&self) -> usize {
        self.conns.len()
    }

    #[inline]
    pub(crate) fn conn(&self, c: ConnId) -> &Conn {
        &self.conns[c.index()]
    }

    #[inline]
    fn conn_mut(&mut self, c: ConnId) -> &mut Conn {
        &mut self.conns[c.index()]
    }

    #[inline]
    pub(crate) fn end_state(&self, c: ConnId, e: End) -> &EndState {
        &self.conns[c.index()].ends[e.index()]
    }

    #[inline]
    fn end_mut(&mut self, c: ConnId, e: End) -> &mut EndState {
        &mut self.conns[c.index()].ends[e.index()]
    }

    #[inline]
    fn next_stamp(&mut self) -> u64 {
        let s = self.stamp;
        self.stamp += 1;
        s
    }

    /// `data` as a new `Bytes`, copied once: what `Transport::write` queues (and through it
    /// `Pair::write` and `Reactor::write`), and what `Harness::deliver` and `SimPeer::deliver`
    /// send.
    ///
    /// While recording, a small write is packed into a buffer shared with the small writes
    /// before it, and handed over as a slice of it. The log keeps every write, so each would
    /// otherwise stay behind as two allocations of its own: the copy, and the reference count
    /// that `bytes` allocates the first time a `Bytes` made from a `Vec` is cloned. A million
    /// live small allocations make every later `malloc` slow (at 1-byte pieces, `bench/`,
    /// W1's copying echo: about 40% of the time with recording). A packed write costs one
    /// reference-count increment instead, and a byte of memory a byte. Without recording a
    /// write is freed as soon as it is delivered, and a plain copy is cheaper.
    #[inline]
    pub(crate) fn copy_in(&mut self, data: &[u8]) -> Bytes {
        if self.recording() && data.len() <= Self::PACKED_MAX {
            self.pack([data])
        } else {
            Bytes::copy_from_slice(data)
        }
    }

    /// The parts, joined into one new `Bytes`: what `Transport::write_sequence` queues. While
    /// recording they are joined in the packing buffer whatever their size, since the size is
    /// known only once they are joined: a sequence that does not fit in what is left moves to
    /// a buffer of its own (see [`pack`](Self::pack)).
    pub(crate) fn copy_in_parts<I>(&mut self, parts: I) -> Bytes
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        if self.recording() {
            return self.pack(parts);
        }
        let mut buf = BytesMut::new();
        for part in parts {
            buf.extend_from_slice(part.as_ref());
        }
        buf.freeze()
    }

    /// The largest write that [`copy_in`](Self::copy_in) packs.
    const PACKED_MAX: usize = 1024;

    /// The parts joined in the packing buffer, handed over as a slice of it. When a part does
    /// not fit in what is left, the write so far moves to a new buffer of 16 KiB, or bigger if
    /// the write needs it (at least twice what it has so far, so that a long sequence moves a
    /// bounded number of times); the old buffer stays alive through the slices handed out. A
    /// buffer grown past 16 KiB is the write's own: packing goes on in a new one.
    fn pack<I>(&mut self, parts: I) -> Bytes
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        /// The size of each packing buffer.
        const PACK_CHUNK: usize = 16 * 1024;
        // Empty between writes, unless the last sequence's iterator panicked halfway: its
        // bytes must not lead the next write.
        self.packed.clear();
        for part in parts {
            let part = part.as_ref();
            let (len, room) = (self.packed.len(), self.packed.capacity());
            if room - len < part.len() {
                let need = (len + part.len()).max(2 * len);
                let mut fresh = BytesMut::with_capacity(PACK_CHUNK.max(need));
                fresh.extend_from_slice(&self.packed);
                self.packed = fresh;
            }
            self.packed.extend_from_slice(part);
        }
        let data = self.packed.split().freeze();
        if data.len() + self.packed.capacity() > PACK_CHUNK {
            // A buffer grown for a big sequence: later writes do not share it.
            self.packed = BytesMut::new();
        }
        data
    }

    // ----- recording --------------------------------------------------------------------

    #[inline]
    pub(crate) fn recording(&self) -> bool {
        self.cfg.is_recording()
    }

    #[inline]
    pub(crate) fn record(&mut self, conn: ConnId, end: End, event: Event) {
        if let Event::Misuse(m) = &event
            && self.cfg.is_strict()
            && self.strict_violation.is_none()
        {
            let who = self.who(conn, end);
            self.strict_violation = Some(format!("strict mode: {who} {m}"));
        }
        if self.recording() {
            self.log.push(self.step, self.now, conn, end, event);
        }
    }

    /// Note that the test, acting as `end`, delivers `len` bytes cut by `plan` (when
    /// recording).
    pub(crate) fn note_delivery(&mut self, conn: ConnId, end: End, len: usize, plan: &Chunking) {
        if self.recording() {
            let plan = plan.clone();
            self.log.delivers(self.step, self.now, conn, end, len, plan);
        }
    }

    fn who(&self, c: ConnId, e: End) -> String {
        format!("{} ({} of {c})", self.log.label(c, e), e.name())
    }

    /// A failure message: the headline, then the transcript's tail with the chunking literals.
    pub(crate) fn failure(&self, headline: &str) -> String {
        let mut text = format!("piecemeal: {headline}\n");
        if self.recording() {
            text.push_str("transcript (replay with the chunkings in its header):\n");
            text.push_str(&self.log.transcript_tail(TRANSCRIPT_TAIL).to_string());
        } else {
            text.push_str("(recording is off: Config::record(true) shows the transcript)\n");
        }
        text
    }

    #[inline]
    fn check_strict(&mut self) {
        if self.strict_violation.is_some() {
            self.strict_failed();
        }
    }

    #[cold]
    #[inline(never)]
    fn strict_failed(&mut self) -> ! {
        let v = self.strict_violation.take().unwrap_or_default();
        panic!("{}", self.failure(&v));
    }
}

/// `handle` itself, moved so that the compiler copies it field by field.
///
/// `bytes` builds a `Bytes` with one store per field. A copy of it made soon after is, left to
/// the compiler, two 16-byte loads, and each waits for the field stores under it to reach the
/// cache: the processor cannot forward them (a failed store-to-load forward, some ten cycles
/// each). Choosing between two values makes the compiler move the handle field by field
/// instead, and those loads are forwarded. The log passes its clone of each written handle
/// through here before keeping it: at 1-byte pieces (`bench/`, W1) that is worth about 3 ns a
/// piece with recording, a tenth of the step. (`Core::write` used to pass the handle it queues
/// through here too; it now queues the handle before anything else reads it, which is what
/// removed the stall there: see `Core::queue_write`.)
///
/// Only non-empty handles come here (empty writes are ignored before), so the first arm never
/// runs; were it to, an empty `Bytes` is replaced by another empty one.
#[inline(always)]
pub(crate) fn field_by_field(handle: Bytes) -> Bytes {
    if handle.is_empty() {
        Bytes::new()
    } else {
        handle
    }
}

/// The message of a caught panic.
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(a panic payload that is not a string)".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(i: u32) -> Task {
        Task::Wire(ConnId(i), End::Client)
    }

    #[test]
    fn small_copies_are_packed_only_while_recording() {
        let mut core = Core::new(Config::new());
        let a = core.copy_in(b"ab");
        let b = core.copy_in(b"cde");
        assert_eq!((&a[..], &b[..]), (&b"ab"[..], &b"cde"[..]));
        // Packed back to back in one buffer.
        assert_eq!(a.as_ptr().wrapping_add(2), b.as_ptr());
        // A write too big to pack is a copy of its own, and packing goes on after it.
        let big = vec![7u8; Core::PACKED_MAX + 1];
        let c = core.copy_in(&big);
        assert_eq!(&c[..], &big[..]);
        let d = core.copy_in(b"f");
        assert_eq!(b.as_ptr().wrapping_add(3), d.as_ptr());
        let e = core.copy_in(&[9; Core::PACKED_MAX]);
        assert_eq!(
            d.as_ptr().wrapping_add(1),
            e.as_ptr(),
            "the limit itself is packed"
        );
        // A write that does not fit in what is left starts a new buffer; the earlier slices
        // keep theirs.
        let mut last = e;
        let mut fresh = None;
        for i in 0..64u8 {
            let next = core.copy_in(&[i; 1000]);
            assert_eq!(&next[..], &[i; 1000][..]);
            if last.as_ptr().wrapping_add(last.len()) != next.as_ptr() {
                fresh = Some(i);
            }
            last = next;
        }
        assert!(
            fresh.is_some(),
            "16 KiB of packing must run out within 64 KB"
        );
        assert_eq!(
            (&a[..], &b[..], &d[..]),
            (&b"ab"[..], &b"cde"[..], &b"f"[..])
        );

        // A sequence is joined in the packing buffer too, small or not.
        let mut core = Core::new(Config::new());
        let a = core.copy_in(b"ab");
        let seq = core.copy_in_parts([&b"cd"[..], b"", b"e"]);
        assert_eq!(&seq[..], b"cde");
        assert_eq!(a.as_ptr().wrapping_add(2), seq.as_ptr());
        let g = core.copy_in(b"g");
        assert_eq!(
            seq.as_ptr().wrapping_add(3),
            g.as_ptr(),
            "packing goes on after it"
        );
        let parts: Vec<Vec<u8>> = (0..40u8).map(|i| vec![i; 1000]).collect();
        let big = core.copy_in_parts(&parts);
        assert_eq!(&big[..], &parts.concat()[..]);
        let f = core.copy_in(b"f");
        let after = f.as_ptr() as usize;
        let big_range = big.as_ptr() as usize..big.as_ptr() as usize + 2 * big.len();
        assert!(
            !big_range.contains(&after),
            "a buffer grown for a big sequence is not shared by later writes"
        );
        assert_eq!(
            (&a[..], &seq[..], &f[..]),
            (&b"ab"[..], &b"cde"[..], &b"f"[..])
        );

        // A fresh buffer's first write may be a sequence.
        let mut core = Core::new(Config::new());
        let seqs: Vec<Bytes> = (0..100)
            .map(|_| core.copy_in_parts([&b"ab"[..], b"c"]))
            .collect();
        assert!(
            seqs.windows(2)
                .all(|w| w[0].as_ptr().wrapping_add(3) == w[1].as_ptr()),
            "small sequences pack back to back from the first"
        );

        // A sequence whose iterator panics halfway leaves nothing behind for the next write.
        let mut core = Core::new(Config::new());
        let parts = (0..3).map(|i| {
            assert!(i < 2, "the third part panics");
            &b"STALE"[..]
        });
        let unwound =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| core.copy_in_parts(parts)));
        assert!(unwound.is_err());
        assert_eq!(&core.copy_in(b"hi")[..], b"hi");
        assert_eq!(&core.copy_in_parts([&b"h"[..], b"o"])[..], b"ho");

        let mut quiet = Core::new(Config::new().record(false));
        let seq = quiet.copy_in_parts([&b"cd"[..], b"e"]);
        assert_eq!(&seq[..], b"cde");
        let seq2 = quiet.copy_in_parts([&b"fg"[..], b"h"]);
        assert_ne!(
            seq.as_ptr().wrapping_add(3),
            seq2.as_ptr(),
            "without recording, sequences are not packed"
        );
        let a = quiet.copy_in(b"ab");
        let b = quiet.copy_in(b"cd");
        assert_ne!(
            a.as_ptr().wrapping_add(2),
            b.as_ptr(),
            "without recording, no packing"
        );
    }

    #[test]
    fn tasks_pack_into_one_word_and_back() {
        let (c, big) = (ConnId(7), ConnId(u32::MAX));
        let tasks = [
            Task::Made(c, End::Server),
            Task::Wire(big, End::Server),
            Task::Wire(ConnId(0), End::Client),
            Task::Notify(c, End::Client),
            Task::Resume(big, End::Client),
            Task::Timer(0),
            Task::Timer(123_456_789),
            Task::Connect(big),
            Task::ConnectTimeout(c),
        ];
        for t in tasks {
            assert_eq!(Task::unpack(t.pack()), t);
        }
    }

    #[test]
    fn ready_pops_by_stamp_across_the_fifo_and_the_heap() {
        let mut q = Ready::default();
        for s in [1, 2, 5, 7] {
            q.push(s, task(s as u32));
        }
        // Older than the newest queued: they go to the heap and still come out in order.
        q.push(6, task(6));
        q.push(3, task(3));
        let mut out = Vec::new();
        while let Some((s, t)) = q.pop() {
            assert_eq!(t, task(s as u32));
            out.push(s);
            if s == 3 {
                q.push(4, task(4));
            }
        }
        assert_eq!(out, [1, 2, 3, 4, 5, 6, 7]);
        assert!(q.pop().is_none());
    }

    #[test]
    fn a_consumed_fifo_takes_any_stamp_and_the_heap_still_orders() {
        let mut q = Ready::default();
        q.push_newest(5, task(5));
        assert_eq!(q.pop().map(|(s, _)| s), Some(5));
        // Everything queued was consumed: an older stamp may go to the FIFO's back.
        q.push(2, task(2));
        q.push_newest(6, task(6));
        assert!(q.heap.is_empty(), "both went to the FIFO");
        // Older than the FIFO's back, which is live: the heap.
        q.push(4, task(4));
        assert_eq!(q.heap.len(), 1);
        let order: Vec<u64> = std::iter::from_fn(|| q.pop().map(|(s, _)| s)).collect();
        assert_eq!(order, [2, 4, 6]);
    }

    #[test]
    fn ready_reuses_its_buffer_when_the_front_is_consumed() {
        let mut q = Ready::default();
        // A steady state of two entries over many steps: each time the buffer fills, its
        // consumed front is dropped, so it grows only once, from 64 entries to 128 (the first
        // compaction leaves 2 live entries and room for 64 more is asked).
        let (mut next, mut popped) = (0u64, 0u64);
        for _ in 0..2 {
            q.push(next, task(0));
            next += 1;
        }
        for _ in 0..100_000 {
            let (s, _) = q
                .pop()
                .unwrap_or_else(|| unreachable!("two entries are live"));
            assert_eq!(s, popped, "pops come out in stamp order");
            popped += 1;
            q.push(next, task(0));
            next += 1;
        }
        assert!(
            q.fifo.capacity() <= 128,
            "front not dropped: {} entries, capacity {}",
            q.fifo.len(),
            q.fifo.capacity()
        );
        assert!(q.heap.is_empty());
    }
}
