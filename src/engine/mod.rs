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

mod sim;
pub(crate) mod wire;

use std::any::Any;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};
use std::net::SocketAddr;
use std::panic::{self, AssertUnwindSafe};
use std::time::Duration;

use bytes::Bytes;

use crate::chunking::Chunking;
use crate::clock::{Instant, TimerId};
use crate::config::{Config, PanicPolicy};
use crate::event::{ConnId, End, Event, EventLog, Misuse, Reason};
use crate::protocol::Protocol;
use crate::schedule::Picker;
use crate::transport::{ProducerKind, Transport};

pub(crate) use self::sim::Sim;
use self::wire::{HeadKind, Marker, Wire};

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
        !(self.lose || self.abort || self.lose_write || self.new_pull || self.fail.is_some())
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
            producer: None,
            notify_stamp: None,
            resume_stamp: None,
            timers: Vec::new(),
        }
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

enum Callback {
    Made,
    Data(Bytes),
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
            Self::Data(_) => "data_received",
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
#[derive(Debug, Default)]
struct Ready {
    /// Increasing stamps.
    fifo: VecDeque<(u64, Task)>,
    heap: BinaryHeap<Reverse<(u64, Task)>>,
}

impl Ready {
    #[inline]
    fn push(&mut self, stamp: u64, task: Task) {
        if self.fifo.back().is_none_or(|&(last, _)| stamp > last) {
            self.fifo.push_back((stamp, task));
        } else {
            self.heap.push(Reverse((stamp, task)));
        }
    }

    #[inline]
    fn pop(&mut self) -> Option<(u64, Task)> {
        let from_heap = match (self.fifo.front(), self.heap.peek()) {
            (Some(&(f, _)), Some(Reverse((h, _)))) => *h < f,
            (None, _) => true,
            (Some(_), None) => false,
        };
        if from_heap {
            self.heap.pop().map(|Reverse(entry)| entry)
        } else {
            self.fifo.pop_front()
        }
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
    strict_violation: Option<String>,
}

impl Core {
    pub(crate) fn new(cfg: Config) -> Self {
        Self {
            conns: Vec::new(),
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
            strict_violation: None,
        }
    }

    /// Replace the configuration (before or between runs); the schedule starts over.
    pub(crate) fn set_config(&mut self, cfg: Config) {
        self.picker = cfg.schedule_value().picker();
        let line = (!cfg.schedule_value().is_fifo())
            .then(|| format!("schedule: {}", cfg.schedule_value()));
        self.log.set_preamble(line);
        self.cfg = cfg;
    }

    // ----- connections ------------------------------------------------------------------

    pub(crate) fn add_conn(&mut self, spec: ConnSpec) -> ConnId {
        let id = ConnId(u32::try_from(self.conns.len()).unwrap_or(u32::MAX));
        let [pc, ps] = spec.plans;
        let [lc, ls] = spec.latency;
        self.conns.push(Conn {
            connecting: false,
            ends: spec.addrs.map(EndState::new),
            wires: [Wire::new(pc, lc), Wire::new(ps, ls)],
        });
        let directions = [End::Client, End::Server].map(|w| {
            let wire = &self.conns[id.index()].wires[w.index()];
            (wire.plan.clone(), wire.latency)
        });
        self.log.add_conn(spec.labels, directions);
        id
    }

    /// Cut what `w` writes from now on with `plan`.
    pub(crate) fn set_plan(&mut self, c: ConnId, w: End, plan: Chunking) {
        self.log.set_plan(c, w, plan.clone());
        self.conn_mut(c).wires[w.index()].set_plan(plan);
    }

    pub(crate) fn set_addr(&mut self, c: ConnId, e: End, addr: SocketAddr) {
        self.end_mut(c, e).addr = addr;
    }

    pub(crate) fn set_latency(&mut self, c: ConnId, w: End, latency: Duration) {
        self.conn_mut(c).wires[w.index()].latency = latency;
        self.log.set_latency(c, w, latency);
    }

    /// Queue `connection_made` for both ends: the server first, as Twisted does.
    pub(crate) fn connect(&mut self, c: ConnId) {
        for e in [End::Server, End::Client] {
            let stamp = self.next_stamp();
            self.ready.push(stamp, Task::Made(c, e));
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

    pub(crate) fn conn(&self, c: ConnId) -> &Conn {
        &self.conns[c.index()]
    }

    fn conn_mut(&mut self, c: ConnId) -> &mut Conn {
        &mut self.conns[c.index()]
    }

    pub(crate) fn end_state(&self, c: ConnId, e: End) -> &EndState {
        &self.conns[c.index()].ends[e.index()]
    }

    fn end_mut(&mut self, c: ConnId, e: End) -> &mut EndState {
        &mut self.conns[c.index()].ends[e.index()]
    }

    fn next_stamp(&mut self) -> u64 {
        let s = self.stamp;
        self.stamp += 1;
        s
    }

    // ----- recording --------------------------------------------------------------------

    pub(crate) fn recording(&self) -> bool {
        self.cfg.is_recording()
    }

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

    fn who(&self, c: ConnId, e: End) -> String {
        format!("{} ({} of {c})", self.log.label(c, e), e.name())
    }

    /// A failure message: the headline, then the transcript's tail with the chunking literals.
    pub(crate) fn failure(&self, headline: &str) -> String {
        let mut text = format!("piecemeal: {headline}\n");
        if self.recording() {
            text.push_str("transcript (replay with the chunkings in its header):\n");
            text.push_str(&self.log.transcript_tail(40).to_string());
        } else {
            text.push_str("(recording is off: Config::record(true) shows the transcript)\n");
        }
        text
    }

    #[inline]
    fn check_strict(&mut self) {
        if self.strict_violation.is_some() {
            let v = self.strict_violation.take().unwrap_or_default();
            panic!("{}", self.failure(&v));
        }
    }

    // ----- transport requests (called through `Transport`) ---------------------------------

    pub(crate) fn write(&mut self, c: ConnId, e: End, data: Bytes) {
        let end = self.end_state(c, e);
        if end.lost.is_some() {
            return self.record(c, e, Event::Misuse(Misuse::WriteAfterLost(data)));
        }
        if matches!(end.close, Close::Abort | Close::Failed)
            || end.req.abort
            || end.req.fail.is_some()
        {
            return self.record(c, e, Event::Dropped(data));
        }
        if end.write_shut() {
            return self.record(c, e, Event::Misuse(Misuse::WriteAfterWriteClosed(data)));
        }
        if self.recording() {
            self.log.wrote(self.step, self.now, c, e, &data);
        }
        let stamp = self.next_stamp();
        let now = self.now;
        let wire = &mut self.conn_mut(c).wires[e.index()];
        if !wire.has_data() {
            // The head changes (from a queued FIN, or nothing) to this write; any entry the
            // scheduler holds for the old head is stale.
            wire.queued = false;
        }
        wire.push(data, stamp, now);
    }

    pub(crate) fn request_lose(&mut self, c: ConnId, e: End) {
        let end = self.end_mut(c, e);
        if end.lost.is_none() && !end.is_closing() {
            end.req.lose = true;
            self.record(c, e, Event::CloseRequested);
        }
    }

    pub(crate) fn request_abort(&mut self, c: ConnId, e: End) {
        let end = self.end_mut(c, e);
        let done = matches!(end.close, Close::Abort | Close::Failed) || end.req.fail.is_some();
        if end.lost.is_none() && !done && !end.req.abort {
            end.req.abort = true;
            self.record(c, e, Event::AbortRequested);
        }
    }

    pub(crate) fn request_lose_write(&mut self, c: ConnId, e: End) {
        let end = self.end_mut(c, e);
        if end.lost.is_none() && !end.is_closing() && !end.write_shut() {
            end.req.lose_write = true;
            self.record(c, e, Event::HalfCloseRequested);
        }
    }

    pub(crate) fn request_fail(&mut self, c: ConnId, e: End, reason: Reason) {
        let end = self.end_mut(c, e);
        if end.lost.is_none() && end.req.fail.is_none() {
            end.req.fail = Some(reason);
        }
    }

    pub(crate) fn set_paused(&mut self, c: ConnId, e: End, paused: bool) {
        let end = self.end_mut(c, e);
        if end.lost.is_some() || end.paused == paused {
            return;
        }
        end.paused = paused;
        self.record(
            c,
            e,
            if paused {
                Event::Paused
            } else {
                Event::Resumed
            },
        );
        if !paused {
            self.schedule_wire(c, e.peer());
        }
    }

    pub(crate) fn register_producer(&mut self, c: ConnId, e: End, kind: ProducerKind) {
        let end = self.end_mut(c, e);
        if end.producer.is_some() {
            return self.record(c, e, Event::Misuse(Misuse::ProducerAlreadyRegistered));
        }
        end.producer = Some(Producer {
            kind,
            paused: false,
        });
        end.req.new_pull = kind == ProducerKind::Pull;
        self.record(c, e, Event::ProducerRegistered(kind));
    }

    pub(crate) fn unregister_producer(&mut self, c: ConnId, e: End) {
        let end = self.end_mut(c, e);
        if end.producer.take().is_none() {
            return self.record(c, e, Event::Misuse(Misuse::NoProducerRegistered));
        }
        end.resume_stamp = None;
        end.req.new_pull = false;
        self.record(c, e, Event::ProducerUnregistered);
    }

    pub(crate) fn call_later(&mut self, c: ConnId, e: End, delay: Duration) -> TimerId {
        let id = self.next_timer;
        self.next_timer += 1;
        if self.end_state(c, e).lost.is_some() {
            // Nothing runs after `connection_lost`: the timer is never scheduled.
            self.record(c, e, Event::Misuse(Misuse::TimerAfterLost(TimerId(id))));
            return TimerId(id);
        }
        let key = (self.now + delay, self.clock_seq);
        self.clock_seq += 1;
        self.clock.insert(
            key,
            ClockEntry {
                conn: c,
                end: e,
                kind: TimerKind::Protocol(id),
            },
        );
        self.live_timers.insert(
            id,
            LiveTimer {
                key,
                conn: c,
                end: e,
            },
        );
        self.end_mut(c, e).timers.push(id);
        TimerId(id)
    }

    /// Cancel one of this end's pending timers; another end's timer counts as not pending.
    pub(crate) fn cancel_timer(&mut self, c: ConnId, e: End, timer: TimerId) -> bool {
        let own = self
            .live_timers
            .get(&timer.0)
            .is_some_and(|t| t.conn == c && t.end == e);
        if own && let Some(t) = self.live_timers.remove(&timer.0) {
            self.clock.remove(&t.key);
            self.end_mut(c, e).timers.retain(|&id| id != timer.0);
            true
        } else {
            self.record(c, e, Event::Misuse(Misuse::CancelInactiveTimer(timer)));
            false
        }
    }

    pub(crate) fn is_closing(&self, c: ConnId, e: End) -> bool {
        self.end_state(c, e).is_closing()
    }

    // ----- scheduling -------------------------------------------------------------------

    /// Put the head of the wire `writer` writes into the ready queue, if the receiver can take
    /// it now; or wake the wire when its head arrives.
    #[inline]
    fn schedule_wire(&mut self, c: ConnId, writer: End) {
        let now = self.now;
        let conn = &mut self.conns[c.index()];
        let wire = &conn.wires[writer.index()];
        if wire.queued {
            return;
        }
        let Some(head) = wire.head() else { return };
        let rx = &conn.ends[writer.peer().index()];
        let takes_anything = rx.lost.is_some() || rx.close != Close::Open;
        let reads = rx.made && !rx.paused;
        let wire = &mut conn.wires[writer.index()];
        if head.ready_at > now {
            if !wire.arrival_pending {
                wire.arrival_pending = true;
                let key = (head.ready_at, self.clock_seq);
                self.clock_seq += 1;
                self.clock.insert(
                    key,
                    ClockEntry {
                        conn: c,
                        end: writer,
                        kind: TimerKind::Arrival,
                    },
                );
            }
            return;
        }
        let reset = head.kind == HeadKind::End(Marker::Rst);
        if takes_anything || reads || reset {
            wire.queued = true;
            self.ready.push(head.stamp, Task::Wire(c, writer));
        }
    }

    /// Move every clock entry due by now into the ready queue. Returns whether any was due.
    fn release_due(&mut self) -> bool {
        let mut any = false;
        while let Some(entry) = self.clock.first_entry() {
            if entry.key().0 > self.now {
                break;
            }
            let ClockEntry { conn, end, kind } = entry.remove();
            any = true;
            match kind {
                TimerKind::Protocol(id) => {
                    let stamp = self.next_stamp();
                    self.ready.push(stamp, Task::Timer(id));
                }
                TimerKind::Arrival => {
                    self.conn_mut(conn).wires[end.index()].arrival_pending = false;
                    self.schedule_wire(conn, end);
                }
                TimerKind::Connect => {
                    let stamp = self.next_stamp();
                    self.ready.push(stamp, Task::Connect(conn));
                }
                TimerKind::ConnectTimeout => {
                    let stamp = self.next_stamp();
                    self.ready.push(stamp, Task::ConnectTimeout(conn));
                }
            }
        }
        any
    }

    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.clock.first_key_value().map(|((t, _), _)| *t)
    }

    fn arm_notify(&mut self, c: ConnId, e: End) {
        let stamp = self.next_stamp();
        let end = self.end_mut(c, e);
        if end.lost.is_none() {
            if end.write_half == WriteHalf::FinQueued {
                end.write_half = WriteHalf::FinConsumed;
            }
            end.notify_stamp = Some(stamp);
            self.ready.push(stamp, Task::Notify(c, e));
        }
    }

    /// The peer consumed bytes `w` wrote; if that drained `w`'s buffer, its producer is due to
    /// resume.
    fn after_consume(&mut self, c: ConnId, w: End) {
        if self.conn(c).wires[w.index()].buffered != 0 {
            return;
        }
        let end = self.end_state(c, w);
        let due = end.lost.is_none()
            && end.resume_stamp.is_none()
            && end
                .producer
                .is_some_and(|p| p.kind == ProducerKind::Pull || p.paused);
        if due {
            let stamp = self.next_stamp();
            self.end_mut(c, w).resume_stamp = Some(stamp);
            self.ready.push(stamp, Task::Resume(c, w));
        }
    }

    // ----- running ----------------------------------------------------------------------

    /// Run one ready task. Returns false when nothing is ready.
    pub(crate) fn step<P: Protos>(&mut self, protos: &mut P) -> bool {
        if !self.cfg.schedule_value().is_fifo() {
            return self.step_scheduled(protos);
        }
        while let Some((stamp, task)) = self.ready.pop() {
            if self.exec(protos, stamp, task) {
                self.check_strict();
                return true;
            }
        }
        false
    }

    /// One step under a non-default schedule: gather the valid ready tasks (oldest first), let
    /// the schedule pick one, put the others back.
    fn step_scheduled<P: Protos>(&mut self, protos: &mut P) -> bool {
        let mut ready = Vec::new();
        while let Some((stamp, task)) = self.ready.pop() {
            if self.is_valid(stamp, task) {
                ready.push((stamp, task));
            } else {
                self.retire(stamp, task);
            }
        }
        if ready.is_empty() {
            return false;
        }
        let k = if ready.len() > 1 {
            self.picker.pick(ready.len())
        } else {
            0
        };
        let (stamp, task) = ready.remove(k);
        for (s, t) in ready {
            self.ready.push(s, t);
        }
        let ran = self.exec(protos, stamp, task);
        debug_assert!(ran, "a valid task must run: {task:?}");
        self.check_strict();
        ran
    }

    /// Whether a queued task is current: exactly the checks `exec` makes before it runs one.
    fn is_valid(&self, stamp: u64, task: Task) -> bool {
        match task {
            Task::Made(c, e) => {
                let end = self.end_state(c, e);
                !end.made && end.lost.is_none()
            }
            Task::Wire(c, w) => {
                let conn = self.conn(c);
                let wire = &conn.wires[w.index()];
                let Some(head) = wire.head().filter(|h| wire.queued && h.stamp == stamp) else {
                    return false;
                };
                let rx = &conn.ends[w.peer().index()];
                let discard = rx.lost.is_some() || rx.close != Close::Open;
                discard || head.kind == HeadKind::End(Marker::Rst) || (rx.made && !rx.paused)
            }
            Task::Notify(c, e) => {
                let end = self.end_state(c, e);
                end.notify_stamp == Some(stamp) && end.lost.is_none()
            }
            Task::Resume(c, e) => {
                let end = self.end_state(c, e);
                end.resume_stamp == Some(stamp) && end.lost.is_none() && end.producer.is_some()
            }
            Task::Timer(id) => self.live_timers.contains_key(&id),
            Task::Connect(c) | Task::ConnectTimeout(c) => self.conn(c).connecting,
        }
    }

    /// Drop a task that is no longer valid, with the bookkeeping `exec` would have done.
    fn retire(&mut self, stamp: u64, task: Task) {
        if let Task::Wire(c, w) = task {
            let wire = &mut self.conns[c.index()].wires[w.index()];
            if wire.queued && wire.head().is_some_and(|h| h.stamp == stamp) {
                wire.queued = false;
            }
        }
    }

    /// Run everything ready now, including timers due now, without moving time.
    pub(crate) fn drain<P: Protos>(&mut self, protos: &mut P, steps: &mut u64, what: &str) {
        loop {
            if self.step(protos) {
                *steps += 1;
                if *steps > self.cfg.step_limit_value() {
                    self.step_limit_hit(what);
                }
            } else if !self.release_due() {
                return;
            }
        }
    }

    /// Move the clock to `t` (never backwards) and release what is due.
    pub(crate) fn jump(&mut self, t: Instant) {
        self.now = self.now.max(t);
        self.release_due();
    }

    fn step_limit_hit(&self, what: &str) -> ! {
        let limit = self.cfg.step_limit_value();
        panic!(
            "{}",
            self.failure(&format!(
                "{what} took more than {limit} steps without going idle (the bound is \
                 Config::step_limit; raise it if the run really needs more). A protocol may be \
                 looping: a timer that reschedules itself, or an exchange that never ends. The \
                 last events are below."
            ))
        );
    }

    fn exec<P: Protos>(&mut self, protos: &mut P, stamp: u64, task: Task) -> bool {
        match task {
            Task::Made(c, e) => {
                let end = self.end_mut(c, e);
                if end.made || end.lost.is_some() {
                    return false;
                }
                end.made = true;
                self.step += 1;
                self.record(c, e, Event::Connected);
                self.callback(protos, c, e, Callback::Made);
                self.schedule_wire(c, e.peer());
                true
            }
            Task::Wire(c, w) => self.exec_wire(protos, stamp, c, w),
            Task::Notify(c, e) => {
                let end = self.end_mut(c, e);
                if end.notify_stamp != Some(stamp) || end.lost.is_some() {
                    return false;
                }
                end.notify_stamp = None;
                let state = (end.close, end.write_half);
                if state.1 == WriteHalf::FinConsumed && state.0 == Close::Open {
                    end.write_half = WriteHalf::Closed;
                }
                self.step += 1;
                match state {
                    (Close::Abort, _) => self.finish(protos, c, e, Reason::Aborted),
                    (Close::Lose, _) => self.finish(protos, c, e, Reason::Done),
                    (_, WriteHalf::FinConsumed) => {
                        self.record(c, e, Event::WriteClosed);
                        self.callback(protos, c, e, Callback::WriteLost);
                    }
                    _ => {}
                }
                true
            }
            Task::Resume(c, e) => {
                let end = self.end_mut(c, e);
                if end.resume_stamp != Some(stamp) || end.lost.is_some() {
                    return false;
                }
                end.resume_stamp = None;
                let Some(p) = end.producer.as_mut() else {
                    return false;
                };
                p.paused = false;
                self.step += 1;
                self.record(c, e, Event::ProducerResumed);
                self.callback(protos, c, e, Callback::Resume);
                true
            }
            Task::Connect(c) => {
                if !self.conn(c).connecting {
                    return false;
                }
                self.conn_mut(c).connecting = false;
                self.step += 1;
                let addr = self.end_state(c, End::Server).addr;
                match protos.accept(c, addr) {
                    Some(label) => {
                        self.log.set_label(c, End::Server, label);
                        self.connect(c);
                    }
                    None => self.fail_attempt(protos, c, Reason::Refused),
                }
                true
            }
            Task::ConnectTimeout(c) => {
                if !self.conn(c).connecting {
                    return false;
                }
                self.conn_mut(c).connecting = false;
                self.step += 1;
                self.fail_attempt(protos, c, Reason::TimedOut);
                true
            }
            Task::Timer(id) => {
                let Some(t) = self.live_timers.remove(&id) else {
                    return false;
                };
                self.end_mut(t.conn, t.end).timers.retain(|&x| x != id);
                self.step += 1;
                self.record(t.conn, t.end, Event::TimerFired(TimerId(id)));
                self.callback(protos, t.conn, t.end, Callback::Timer(TimerId(id)));
                true
            }
        }
    }

    fn exec_wire<P: Protos>(&mut self, protos: &mut P, stamp: u64, c: ConnId, w: End) -> bool {
        let now = self.now;
        let r = w.peer();
        let conn = &mut self.conns[c.index()];
        let wire = &mut conn.wires[w.index()];
        let head = match wire.head() {
            Some(h) if wire.queued && h.stamp == stamp => h,
            _ => return false,
        };
        wire.queued = false;
        let rx = &conn.ends[r.index()];
        let discard = rx.lost.is_some() || rx.close != Close::Open;
        let reads = rx.made && !rx.paused;
        match head.kind {
            HeadKind::Data if discard => {
                self.step += 1;
                let stamp = self.next_stamp();
                let wire = &mut self.conns[c.index()].wires[w.index()];
                wire.discard_arrived(now);
                wire.restamp(stamp);
                self.after_consume(c, w);
                self.schedule_wire(c, w);
            }
            HeadKind::Data => {
                if !reads {
                    return false;
                }
                self.step += 1;
                let stamp = self.next_stamp();
                let wire = &mut self.conns[c.index()].wires[w.index()];
                let piece = wire.take_piece(now);
                // The rest of the wire becomes ready now, before the receiver runs: what the
                // receiver writes in reply comes after it. The receiver still takes what has
                // arrived, so requeue the rest without re-checking it.
                wire.restamp(stamp);
                match wire.head() {
                    Some(h) if h.ready_at <= now => {
                        wire.queued = true;
                        self.ready.push(h.stamp, Task::Wire(c, w));
                    }
                    Some(_) => self.schedule_wire(c, w),
                    None => {}
                }
                self.after_consume(c, w);
                if self.recording() {
                    self.log.received(self.step, self.now, c, r, piece.len());
                }
                self.callback(protos, c, r, Callback::Data(piece));
            }
            HeadKind::End(Marker::Fin) => {
                if !discard && !reads {
                    return false;
                }
                self.step += 1;
                self.conns[c.index()].wires[w.index()].take_marker();
                self.arm_notify(c, w);
                if !discard {
                    self.deliver_eof(protos, c, r);
                }
            }
            HeadKind::End(Marker::Rst) => {
                self.step += 1;
                self.conns[c.index()].wires[w.index()].take_marker();
                self.arm_notify(c, w);
                if self.end_state(c, r).lost.is_none() {
                    // A reset: what the receiver had not yet sent is discarded with it.
                    let out = &mut self.conns[c.index()].wires[r.index()];
                    out.clear();
                    out.closed = true;
                    self.finish(protos, c, r, Reason::Lost);
                }
            }
        }
        true
    }

    /// The peer's EOF reaches `r`: a half-closeable protocol is told and stays open; any other
    /// is lost with `Done`, its unsent writes dropped and an EOF sent back.
    fn deliver_eof<P: Protos>(&mut self, protos: &mut P, c: ConnId, r: End) {
        if protos.get(c, r).half_closeable() {
            self.end_mut(c, r).eof = true;
            self.record(c, r, Event::ReadClosed);
            self.callback(protos, c, r, Callback::ReadLost);
            return;
        }
        let stamp = self.next_stamp();
        let now = self.now;
        let out = &mut self.conns[c.index()].wires[r.index()];
        out.drop_data();
        if !out.closed {
            out.push_marker(Marker::Fin, stamp, now);
        }
        self.schedule_wire(c, r);
        self.finish(protos, c, r, Reason::Done);
    }

    /// Apply what end `e` asked for during the callback that just returned.
    #[inline]
    fn settle<P: Protos>(&mut self, protos: &mut P, c: ConnId, e: End) {
        let end = self.end_state(c, e);
        let quiet = end.req.is_empty()
            && end.producer.is_none()
            && end.lost.is_none()
            && end.close == Close::Open
            && end.write_half == WriteHalf::Open;
        if quiet {
            // An open end that only wrote (or did nothing): only its outbound wire may need a
            // turn. Anything else — a close in progress, a producer — takes the full path.
            return self.schedule_wire(c, e);
        }
        self.settle_requests(protos, c, e);
    }

    fn settle_requests<P: Protos>(&mut self, protos: &mut P, c: ConnId, e: End) {
        let high_water = self.cfg.high_water_value();
        let now = self.now;
        let end = self.end_mut(c, e);
        if end.lost.is_some() {
            end.req = Requests::default();
            return;
        }
        let req = std::mem::take(&mut end.req);
        if let Some(reason) = req.fail {
            return self.fail_end(protos, c, e, reason);
        }
        if req.abort {
            return self.abort_end(c, e);
        }
        if req.lose {
            end.close = Close::Lose;
            if matches!(end.write_half, WriteHalf::FinConsumed | WriteHalf::Closed) {
                self.arm_notify(c, e);
            }
            self.schedule_wire(c, e.peer());
        }
        let end = self.end_mut(c, e);
        if req.lose_write && end.write_half == WriteHalf::Open {
            end.write_half = WriteHalf::Requested;
            end.half_close = true;
        }
        // A push producer over the high-water mark is paused before the EOF is considered: in
        // Twisted the pause happens inside the write, so a close asked after it waits.
        let buffered = self.conn(c).wires[e.index()].buffered;
        let end = self.end_mut(c, e);
        let pause = end
            .producer
            .as_mut()
            .filter(|p| p.kind == ProducerKind::Push && !p.paused && buffered > high_water);
        let pause = pause.map(|p| p.paused = true).is_some();
        let new_pull = req.new_pull && end.producer.is_some_and(|p| p.kind == ProducerKind::Pull);
        let wants_fin = end.close == Close::Lose || end.write_half == WriteHalf::Requested;
        let blocked = end.producer.is_some_and(Producer::blocks_close);
        if wants_fin && !blocked && !self.conn(c).wires[e.index()].closed {
            let stamp = self.next_stamp();
            let conn = &mut self.conns[c.index()];
            conn.wires[e.index()].push_marker(Marker::Fin, stamp, now);
            let end = &mut conn.ends[e.index()];
            if matches!(end.write_half, WriteHalf::Open | WriteHalf::Requested) {
                end.write_half = WriteHalf::FinQueued;
            }
        }
        if new_pull {
            self.record(c, e, Event::ProducerResumed);
            return self.callback(protos, c, e, Callback::Resume);
        }
        if pause {
            self.record(c, e, Event::ProducerPaused);
            return self.callback(protos, c, e, Callback::Pause);
        }
        self.schedule_wire(c, e);
    }

    fn abort_end(&mut self, c: ConnId, e: End) {
        let stamp = self.next_stamp();
        let now = self.now;
        let conn = &mut self.conns[c.index()];
        let end = &mut conn.ends[e.index()];
        end.close = Close::Abort;
        end.notify_stamp = None;
        end.resume_stamp = None;
        let wire = &mut conn.wires[e.index()];
        wire.clear();
        wire.push_marker(Marker::Rst, stamp, now);
        self.schedule_wire(c, e);
        self.schedule_wire(c, e.peer());
    }

    fn fail_end<P: Protos>(&mut self, protos: &mut P, c: ConnId, e: End, reason: Reason) {
        let stamp = self.next_stamp();
        let now = self.now;
        let conn = &mut self.conns[c.index()];
        conn.ends[e.index()].close = Close::Failed;
        let wire = &mut conn.wires[e.index()];
        if !wire.closed {
            wire.push_marker(Marker::Fin, stamp, now);
        }
        self.schedule_wire(c, e);
        self.finish(protos, c, e, reason);
    }

    /// A connection attempt failed: the connecting end hears `connection_lost(reason)` (it never
    /// had `connection_made`); there is no accepting end.
    fn fail_attempt<P: Protos>(&mut self, protos: &mut P, c: ConnId, reason: Reason) {
        self.end_mut(c, End::Server).lost = Some(reason.clone());
        for w in [End::Client, End::Server] {
            self.conns[c.index()].wires[w.index()].clear();
        }
        self.finish(protos, c, End::Client, reason);
    }

    /// End `e`'s connection: cancel its timers, stop its producer, call `connection_lost`.
    fn finish<P: Protos>(&mut self, protos: &mut P, c: ConnId, e: End, reason: Reason) {
        let end = self.end_mut(c, e);
        if end.lost.is_some() {
            return;
        }
        end.lost = Some(reason.clone());
        end.notify_stamp = None;
        end.resume_stamp = None;
        end.req = Requests::default();
        let producer = end.producer.take();
        for id in std::mem::take(&mut end.timers) {
            if let Some(t) = self.live_timers.remove(&id) {
                self.clock.remove(&t.key);
            }
        }
        if producer.is_some() {
            self.record(c, e, Event::ProducerStopped);
            self.last_call(protos, c, e, "stop_producing", |p| p.stop_producing());
        }
        self.record(c, e, Event::Lost(reason.clone()));
        self.last_call(protos, c, e, "connection_lost", |p| {
            p.connection_lost(&reason)
        });
        self.schedule_wire(c, e.peer());
    }

    /// Call a protocol with a transport, then apply what it asked for.
    fn callback<P: Protos>(&mut self, protos: &mut P, c: ConnId, e: End, cb: Callback) {
        let name = cb.name();
        let proto = protos.get(c, e);
        let mut tx = Transport::new(self, c, e);
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| match cb {
            Callback::Made => proto.connection_made(&mut tx),
            Callback::Data(data) => proto.data_received(data, &mut tx),
            Callback::ReadLost => proto.read_connection_lost(&mut tx),
            Callback::WriteLost => proto.write_connection_lost(&mut tx),
            Callback::Timer(id) => proto.timer_fired(id, &mut tx),
            Callback::Pause => proto.pause_producing(&mut tx),
            Callback::Resume => proto.resume_producing(&mut tx),
        }));
        if let Err(payload) = outcome {
            let msg = panic_message(payload.as_ref());
            self.on_panic(c, e, name, &msg);
            self.request_fail(c, e, Reason::Panicked(msg));
        }
        self.settle(protos, c, e);
        self.settle_touched(protos);
    }

    /// Settle the ends of other connections that the last callback acted on.
    #[inline]
    fn settle_touched<P: Protos>(&mut self, protos: &mut P) {
        while let Some((c, e)) = self.touched.pop() {
            self.settle(protos, c, e);
        }
    }

    /// `stop_producing` and `connection_lost`: no transport, nothing to settle after.
    fn last_call<P: Protos>(
        &mut self,
        protos: &mut P,
        c: ConnId,
        e: End,
        name: &str,
        f: impl FnOnce(&mut dyn Protocol),
    ) {
        let proto = protos.get(c, e);
        if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(|| f(proto))) {
            let msg = panic_message(payload.as_ref());
            self.on_panic(c, e, name, &msg);
            self.record(
                c,
                e,
                Event::Note(format!("panicked in {name}: {msg}").into()),
            );
        }
    }

    /// Under the default policy a panic continues, with the context attached.
    fn on_panic(&self, c: ConnId, e: End, name: &str, msg: &str) {
        if self.cfg.panic_policy_value() == PanicPolicy::Propagate {
            let who = self.who(c, e);
            let step = self.step;
            panic!(
                "{}",
                self.failure(&format!("{who} panicked in {name} at step {step}: {msg}"))
            );
        }
    }

    /// Let the test act as end `e` (outside any callback), then apply what it asked for. The
    /// closure gets the face's protocols, to reach the typed protocol of that end.
    pub(crate) fn act<P: Protos, R>(
        &mut self,
        protos: &mut P,
        c: ConnId,
        e: End,
        f: impl FnOnce(&mut P, &mut Transport<'_>) -> R,
    ) -> R {
        let out = f(protos, &mut Transport::new(self, c, e));
        self.settle(protos, c, e);
        self.settle_touched(protos);
        self.check_strict();
        out
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
