//! The log's storage: 8-byte records, with data payloads kept once.
//!
//! A `Wrote` keeps its `Bytes` (one handle, no copy) in the history of its direction's stream.
//! A `Received` keeps only its length: what an end receives is always a prefix of what its peer
//! wrote (bytes are discarded only at the tail, by a close, reset or abort), so a piece is the
//! next `len` bytes of that history. [`Store::materialize`] turns the records back into
//! [`Record`]s, slicing the history (a piece that spans several writes is joined there).
//!
//! A record holds its kind, its end, one `u32` argument and the step as a delta from the
//! previous record's step. What does not fit is carried by marker records placed before it:
//! the time when it changed, the connection when it differs from the previous record's, and
//! the full step when it is not 0 to `u16::MAX` after the previous one. A two-party run, where
//! one connection's steps advance by 0 or 1 from record to record, needs no markers.
//!
//! The storage's chunks are recycled through a per-thread pool (see [`Chunked`]), so that a
//! test that runs many simulations on one thread reuses the same memory.

use std::cell::RefCell;
use std::thread::LocalKey;

use bytes::{Bytes, BytesMut};

use super::{ConnId, End, Event, Record};
use crate::chunking::Chunking;
use crate::clock::Instant;
use crate::engine::field_by_field;

/// What a [`Rec`] stands for: an event, or a marker that updates the decoder's state.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    /// `arg` is the piece's length.
    Received,
    /// A piece longer than `u32::MAX`; `arg` indexes `longs`.
    ReceivedLong,
    /// The end's next write in its direction's history.
    Wrote,
    /// Any other event (connects, closes, pauses, producers, notes, misuse…); `arg` indexes
    /// `extras`, which keeps the event as it is. They are rare next to the data
    /// events, except where a protocol pauses and resumes around every piece.
    Extra,
    /// Marker: time changed to `times[arg]`.
    Time,
    /// Marker: the next records are of connection `arg`.
    Conn,
    /// Marker: the low 32 bits of the step changed to `arg`.
    StepLow,
    /// Marker: the high 32 bits of the step changed to `arg`.
    StepHigh,
}

/// One stored record: 8 bytes.
///
/// Its connection and time are those set by the last `Conn` and `Time` markers before it (at
/// first connection 0 and [`Instant::ZERO`]); its step is the previous record's step plus
/// `delta` (wrapping), where markers set the step (starting at 0) and add no `delta`.
#[derive(Clone, Copy, Debug)]
struct Rec {
    arg: u32,
    /// The step minus the previous record's step, wrapping (0 in markers).
    delta: u16,
    kind: Kind,
    /// The end (meaningless in markers).
    end: End,
}

impl Rec {
    /// A marker record.
    fn marker(kind: Kind, arg: u32) -> Self {
        Self {
            arg,
            delta: 0,
            kind,
            end: End::Client,
        }
    }
}

/// The element types a [`Chunked`] can hold, each with its thread's pool of spare chunks.
trait Pooled: Clone + Sized + 'static {
    /// The first chunk's first capacity, in entries.
    const FIRST: usize;

    /// This thread's spare chunks: empty vectors of capacity [`Chunked::PER_CHUNK`].
    fn pool() -> &'static LocalKey<RefCell<Vec<Vec<Self>>>>;
}

thread_local! {
    /// Spare chunks of records, for the next log built on this thread.
    static REC_POOL: RefCell<Vec<Vec<Rec>>> = const { RefCell::new(Vec::new()) };
    /// Spare chunks of stream histories, for the next log built on this thread.
    static BYTES_POOL: RefCell<Vec<Vec<Bytes>>> = const { RefCell::new(Vec::new()) };
}

impl Pooled for Rec {
    /// 1 KiB: a log's records, one a piece, outgrow a few entries at once (growing from four
    /// cost a short `Harness` run about a tenth of its time, `bench/`, W3).
    const FIRST: usize = 1024 / size_of::<Self>();

    fn pool() -> &'static LocalKey<RefCell<Vec<Vec<Self>>>> {
        &REC_POOL
    }
}

impl Pooled for Bytes {
    /// Four, as a `Vec` starts: one history per direction of each connection, and most
    /// connections write a few times.
    const FIRST: usize = 4;

    fn pool() -> &'static LocalKey<RefCell<Vec<Vec<Self>>>> {
        &BYTES_POOL
    }
}

/// An append-only sequence stored in fixed-size chunks of 64 KiB rather than one growing
/// buffer, with its chunks recycled through a per-thread pool.
///
/// A long run records millions of entries. One `Vec` would be reallocated as it grows, and
/// once large it is mapped fresh from the kernel and unmapped when dropped, so every run would
/// pay for first-touch page faults again. Chunks avoid the reallocation; the pool avoids the
/// faults: when a `Chunked` is dropped, its full-size chunks are emptied (their elements
/// dropped) and kept, with their memory, in a pool of the current thread, one pool per element
/// type; a new chunk is taken from that pool before one is allocated. Each pool keeps at most
/// [`POOL_BYTES`] (32 MiB) of chunks; the rest are freed. So a thread that has dropped a large
/// log retains up to 32 MiB per element type until it ends (each test of `cargo test` runs on
/// a thread of its own, which frees its pools when the test returns).
#[derive(Debug)]
struct Chunked<T: Pooled> {
    /// The full chunks, each holding exactly `PER_CHUNK` entries.
    full: Vec<Vec<T>>,
    /// The chunk being filled: fewer than `PER_CHUNK` entries, or exactly that many until the
    /// next push moves it to `full`.
    tail: Vec<T>,
}

/// The most memory a thread's pool of one element type keeps for reuse.
const POOL_BYTES: usize = 32 << 20;

impl<T: Pooled> Chunked<T> {
    /// The size of a chunk's buffer.
    const CHUNK_BYTES: usize = 64 * 1024;
    /// How many entries a chunk holds.
    const PER_CHUNK: usize = {
        let n = Self::CHUNK_BYTES / size_of::<T>();
        if n == 0 { 1 } else { n }
    };
    /// How many spare chunks the pool of `T` keeps.
    const POOL_CHUNKS: usize = POOL_BYTES / Self::CHUNK_BYTES;

    /// Append `item`. The first chunk grows as a `Vec` does (most sequences are short: a
    /// connection that writes a few times); once one is full, the next ones come whole from
    /// the pool or the allocator.
    #[inline]
    fn push(&mut self, item: T) {
        if let Err(item) = self.try_push(item) {
            self.push_slow(item);
        }
    }

    /// Append `item` if the current chunk has room for it without growing; else give it back.
    /// Inlined, this is a store and two tests: no call.
    #[inline(always)]
    fn try_push(&mut self, item: T) -> Result<(), T> {
        let len = self.tail.len();
        if len < self.tail.capacity() && len < Self::PER_CHUNK {
            self.tail.push(item);
            Ok(())
        } else {
            Err(item)
        }
    }

    /// [`push`](Self::push) when the current chunk is full: it grows if it is the first and
    /// still small, else it moves to `full` and a new one starts.
    #[cold]
    #[inline(never)]
    fn push_slow(&mut self, item: T) {
        if self.tail.capacity() == 0 {
            // The first push: room for what a short log needs at once.
            self.tail.reserve_exact(T::FIRST);
        }
        if self.tail.len() < Self::PER_CHUNK {
            self.tail.push(item);
            return;
        }
        let done = std::mem::replace(&mut self.tail, Self::new_chunk());
        self.full.push(done);
        self.tail.push(item);
    }

    /// An empty chunk of capacity `PER_CHUNK`: a spare one from this thread's pool, or a new
    /// allocation.
    fn new_chunk() -> Vec<T> {
        T::pool()
            .try_with(|pool| pool.try_borrow_mut().ok()?.pop())
            .ok()
            .flatten()
            .unwrap_or_else(|| Vec::with_capacity(Self::PER_CHUNK))
    }

    /// A copy of `chunk` with the same capacity, so the copy grows as the original would.
    fn copy_chunk(chunk: &[T], capacity: usize) -> Vec<T> {
        let mut copy = if capacity == Self::PER_CHUNK {
            Self::new_chunk()
        } else {
            Vec::with_capacity(capacity)
        };
        copy.extend_from_slice(chunk);
        copy
    }

    /// The `i`th entry, if there are that many.
    fn get(&self, i: usize) -> Option<&T> {
        let (c, k) = (i / Self::PER_CHUNK, i % Self::PER_CHUNK);
        match self.full.get(c) {
            Some(chunk) => chunk.get(k),
            None if c == self.full.len() => self.tail.get(k),
            None => None,
        }
    }

    /// Every entry, in order.
    fn iter(&self) -> impl Iterator<Item = &T> {
        self.full.iter().flatten().chain(&self.tail)
    }
}

impl<T: Pooled> Default for Chunked<T> {
    fn default() -> Self {
        Self {
            full: Vec::new(),
            tail: Vec::new(),
        }
    }
}

impl<T: Pooled> Clone for Chunked<T> {
    fn clone(&self) -> Self {
        Self {
            full: self
                .full
                .iter()
                .map(|c| Self::copy_chunk(c, c.capacity()))
                .collect(),
            tail: Self::copy_chunk(&self.tail, self.tail.capacity()),
        }
    }
}

impl<T: Pooled> Drop for Chunked<T> {
    /// Empties the full-size chunks into this thread's pool, up to its cap; the others, and
    /// all of them once the thread's pool is gone (the thread is ending), are freed.
    fn drop(&mut self) {
        let tail = std::mem::take(&mut self.tail);
        let chunks = std::mem::take(&mut self.full)
            .into_iter()
            .chain(std::iter::once(tail))
            .filter(|c| c.capacity() == Self::PER_CHUNK);
        // If the pool is gone or in use (an element's drop dropping another log), `chunks` is
        // dropped with the closure: freed as usual.
        let _ = T::pool().try_with(|pool| {
            let Ok(mut pool) = pool.try_borrow_mut() else {
                return;
            };
            for mut chunk in chunks {
                if pool.len() >= Self::POOL_CHUNKS {
                    break;
                }
                chunk.clear();
                pool.push(chunk);
            }
        });
    }
}

/// The compact event log: records, their side tables and the streams' histories.
#[derive(Clone, Default, Debug)]
pub(super) struct Store {
    recs: Chunked<Rec>,
    extras: Vec<Extra>,
    times: Vec<Instant>,
    longs: Vec<u64>,
    /// Per connection, per writing end: every accepted write, in order.
    streams: Vec<[Chunked<Bytes>; 2]>,
    /// The decoder's state after the last record: its time, connection and step.
    last_time: Instant,
    last_conn: u32,
    last_step: u64,
    events: usize,
}

/// An event kept in `extras`: as it is, or in parts that make it when it is read.
#[derive(Clone, Debug)]
pub(super) enum Extra {
    Event(Event),
    /// A test's peer delivering `len` bytes cut by `plan`: read as a [`Event::Note`]. A
    /// `Harness` records one for every `deliver`, and formatting it there and then took about
    /// a tenth of a short run (a plan of cuts prints every cut); most logs are never printed.
    Delivers {
        len: usize,
        plan: Chunking,
    },
}

impl Extra {
    fn event(&self) -> Event {
        match self {
            Self::Event(e) => e.clone(),
            Self::Delivers { len, plan } => {
                Event::Note(format!("peer delivers {len} bytes cut by {plan}").into())
            }
        }
    }
}

/// `i` as a record's `arg` (an index into a side table), saturating.
fn index(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

impl Store {
    /// Start the histories of a new connection (the next `ConnId`).
    pub(super) fn add_conn(&mut self) {
        self.streams.push([Chunked::default(), Chunked::default()]);
    }

    /// The number of events recorded (markers not counted).
    pub(super) fn len(&self) -> usize {
        self.events
    }

    /// Append a record. The common case (same time and connection as the previous record, a
    /// step at most `u16::MAX` after its step, room in the current chunk) is inlined and makes
    /// no call; anything else goes through [`rec_slow`](Self::rec_slow).
    #[inline]
    fn rec(&mut self, step: u64, time: Instant, conn: ConnId, end: End, kind: Kind, arg: u32) {
        // Deltas wrap: a step a little before the previous one is a delta far over `u16::MAX`
        // (markers), and 0 after `u64::MAX` is a delta of 1.
        let delta = step.wrapping_sub(self.last_step);
        if time == self.last_time
            && conn.0 == self.last_conn
            && let Ok(delta) = u16::try_from(delta)
            && self
                .recs
                .try_push(Rec {
                    arg,
                    delta,
                    kind,
                    end,
                })
                .is_ok()
        {
            self.last_step = step;
            self.events += 1;
        } else {
            self.rec_slow(step, time, conn, end, kind, arg);
        }
    }

    /// [`rec`](Self::rec) with the markers the record needs first, or a new chunk.
    #[inline(never)]
    fn rec_slow(&mut self, step: u64, time: Instant, conn: ConnId, end: End, kind: Kind, arg: u32) {
        if time != self.last_time {
            self.time_marker(time);
        }
        if conn.0 != self.last_conn {
            self.conn_marker(conn.0);
        }
        let delta = match u16::try_from(step.wrapping_sub(self.last_step)) {
            Ok(delta) => delta,
            Err(_) => {
                self.step_markers(step);
                0
            }
        };
        self.last_step = step;
        self.recs.push(Rec {
            arg,
            delta,
            kind,
            end,
        });
        self.events += 1;
    }

    /// Record that time is now `time`.
    fn time_marker(&mut self, time: Instant) {
        self.last_time = time;
        let arg = index(self.times.len());
        self.times.push(time);
        self.recs.push(Rec::marker(Kind::Time, arg));
    }

    /// Record that the next records are of connection `conn`.
    fn conn_marker(&mut self, conn: u32) {
        self.last_conn = conn;
        self.recs.push(Rec::marker(Kind::Conn, conn));
    }

    /// Record that the step is now `step` (each half that changed), for a step that is no
    /// small delta from the previous one.
    fn step_markers(&mut self, step: u64) {
        // The halves of the u64 steps; `as` keeps the low half on purpose.
        let (high, low) = ((step >> 32) as u32, step as u32);
        if high != (self.last_step >> 32) as u32 {
            self.recs.push(Rec::marker(Kind::StepHigh, high));
        }
        if low != self.last_step as u32 {
            self.recs.push(Rec::marker(Kind::StepLow, low));
        }
    }

    /// Record that `end` received the next `len` bytes its peer wrote.
    #[inline]
    pub(super) fn received(
        &mut self,
        step: u64,
        time: Instant,
        conn: ConnId,
        end: End,
        len: usize,
    ) {
        match u32::try_from(len) {
            Ok(len) => self.rec(step, time, conn, end, Kind::Received, len),
            Err(_) => self.received_long(step, time, conn, end, len),
        }
    }

    /// [`received`](Self::received) of a piece longer than `u32::MAX`: its length goes to
    /// `longs`.
    #[cold]
    #[inline(never)]
    fn received_long(&mut self, step: u64, time: Instant, conn: ConnId, end: End, len: usize) {
        let arg = index(self.longs.len());
        self.longs.push(len as u64);
        self.rec(step, time, conn, end, Kind::ReceivedLong, arg);
    }

    /// Record that `end` wrote `data`, keeping the handle in its direction's history.
    #[inline(always)]
    pub(super) fn wrote(&mut self, step: u64, time: Instant, conn: ConnId, end: End, data: &Bytes) {
        if let Some(streams) = self.streams.get_mut(conn.index()) {
            streams[end.index()].push(field_by_field(data.clone()));
        }
        self.rec(step, time, conn, end, Kind::Wrote, 0);
    }

    /// Record any event but `Received` (which goes through [`received`](Self::received)).
    pub(super) fn push(&mut self, step: u64, time: Instant, conn: ConnId, end: End, event: Event) {
        // `Received` goes through `received` (the engine knows the piece is the next bytes of
        // the stream); a write keeps its handle in the history; anything else is kept as is.
        if let Event::Wrote(data) = event {
            return self.wrote(step, time, conn, end, &data);
        }
        self.extra(step, time, conn, end, Extra::Event(event));
    }

    /// Record an event kept in `extras`.
    pub(super) fn extra(&mut self, step: u64, time: Instant, conn: ConnId, end: End, extra: Extra) {
        let arg = index(self.extras.len());
        self.extras.push(extra);
        self.rec(step, time, conn, end, Kind::Extra, arg);
    }

    /// Rebuild the records, in order.
    pub(super) fn materialize(&self) -> Vec<Record> {
        let mut out = Vec::with_capacity(self.events);
        let mut step = 0u64;
        let mut conn = 0u32;
        let mut time = Instant::ZERO;
        let mut reading = vec![[StreamCursor::default(); 2]; self.streams.len()];
        let mut writing = vec![[0usize; 2]; self.streams.len()];
        for r in self.recs.iter() {
            let c = conn as usize;
            let event = match r.kind {
                Kind::Time => {
                    time = self.times.get(r.arg as usize).copied().unwrap_or(time);
                    continue;
                }
                Kind::Conn => {
                    conn = r.arg;
                    continue;
                }
                Kind::StepLow => {
                    step = (step & !u64::from(u32::MAX)) | u64::from(r.arg);
                    continue;
                }
                Kind::StepHigh => {
                    step = (step & u64::from(u32::MAX)) | (u64::from(r.arg) << 32);
                    continue;
                }
                Kind::Received | Kind::ReceivedLong => {
                    let len = if r.kind == Kind::Received {
                        r.arg as usize
                    } else {
                        self.longs.get(r.arg as usize).map_or(0, |&l| l as usize)
                    };
                    let w = r.end.peer().index();
                    let stream = self.streams.get(c).map(|s| &s[w]);
                    let cursor = reading.get_mut(c).map(|cs| &mut cs[w]);
                    let piece = match (cursor, stream) {
                        (Some(cursor), Some(stream)) => cursor.take(stream, len),
                        _ => Bytes::new(),
                    };
                    Event::Received(piece)
                }
                Kind::Wrote => {
                    let e = r.end.index();
                    let k = writing.get_mut(c).map_or(0, |ws| {
                        ws[e] += 1;
                        ws[e] - 1
                    });
                    let data = self.streams.get(c).and_then(|s| s[e].get(k));
                    Event::Wrote(data.cloned().unwrap_or_default())
                }
                Kind::Extra => {
                    self.extras
                        .get(r.arg as usize)
                        .map(Extra::event)
                        .unwrap_or(Event::Note(
                            "(missing event payload: a piecemeal bug)".into(),
                        ))
                }
            };
            step = step.wrapping_add(u64::from(r.delta));
            out.push(Record {
                step,
                time,
                conn: ConnId(conn),
                end: r.end,
                event,
            });
        }
        out
    }
}

/// A reading position in a stream's history: which write, and how far into it.
#[derive(Clone, Copy, Default, Debug)]
struct StreamCursor {
    seg: usize,
    off: usize,
}

impl StreamCursor {
    /// The next `len` bytes: a slice when they lie in one write, else a joined copy (of what
    /// the history holds, if it holds fewer).
    fn take(&mut self, stream: &Chunked<Bytes>, len: usize) -> Bytes {
        if let Some(seg) = stream.get(self.seg)
            && len <= seg.len().saturating_sub(self.off)
        {
            let piece = seg.slice(self.off..self.off + len);
            self.advance(seg.len(), len);
            return piece;
        }
        let mut buf = BytesMut::with_capacity(self.available(stream, len));
        while buf.len() < len {
            let Some(seg) = stream.get(self.seg) else {
                break;
            };
            let n = (len - buf.len()).min(seg.len().saturating_sub(self.off));
            buf.extend_from_slice(&seg[self.off..self.off + n]);
            self.advance(seg.len(), n);
        }
        buf.freeze()
    }

    /// How many of the next `len` bytes the history holds, so a join reserves no more (a
    /// `ReceivedLong` can claim more than is in memory).
    fn available(&self, stream: &Chunked<Bytes>, len: usize) -> usize {
        let mut total = 0usize;
        let mut off = self.off;
        let mut seg = self.seg;
        while total < len {
            let Some(s) = stream.get(seg) else {
                break;
            };
            total = total.saturating_add(s.len().saturating_sub(off));
            off = 0;
            seg += 1;
        }
        total.min(len)
    }

    /// Move `n` bytes on in a write of `seg_len` bytes, to the next write at its end.
    fn advance(&mut self, seg_len: usize, n: usize) {
        self.off += n;
        if self.off >= seg_len {
            self.seg += 1;
            self.off = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::ProducerKind;
    use std::time::Duration;

    #[test]
    fn a_delivery_note_reads_as_the_note_it_stands_for() {
        let mut s = Store::default();
        s.add_conn();
        let c = ConnId(0);
        let plan = Chunking::cuts([1, 3]);
        let delivers = Extra::Delivers { len: 4, plan };
        s.extra(1, Instant::ZERO, c, End::Client, delivers);
        s.push(
            1,
            Instant::ZERO,
            c,
            End::Client,
            Event::Note("after".into()),
        );
        let want = [
            Event::Note("peer delivers 4 bytes cut by Chunking::cuts([1, 3])".into()),
            Event::Note("after".into()),
        ];
        for store in [s.clone(), s] {
            let recs = store.materialize();
            let events: Vec<Event> = recs.into_iter().map(|r| r.event).collect();
            assert_eq!(events, want);
        }
    }

    #[test]
    fn records_round_trip_with_sliced_and_joined_payloads() {
        let mut s = Store::default();
        s.add_conn();
        let c = ConnId(0);
        let t1 = Instant::ZERO + Duration::from_secs(1);
        let ab = Bytes::from_static(b"ab");
        s.push(1, Instant::ZERO, c, End::Client, Event::Connected);
        s.wrote(2, Instant::ZERO, c, End::Client, &ab);
        s.wrote(2, Instant::ZERO, c, End::Client, &Bytes::from_static(b"cd"));
        s.received(3, t1, c, End::Server, 1);
        s.received(4, t1, c, End::Server, 2);
        s.received((1 << 32) + 5, t1, c, End::Server, 1);
        s.push(6, t1, c, End::Server, Event::Note("n".into()));
        let recs = s.materialize();
        let events: Vec<&Event> = recs.iter().map(|r| &r.event).collect();
        assert_eq!(
            events,
            [
                &Event::Connected,
                &Event::Wrote(ab.clone()),
                &Event::Wrote(Bytes::from_static(b"cd")),
                &Event::Received(Bytes::from_static(b"a")),
                &Event::Received(Bytes::from_static(b"bc")),
                &Event::Received(Bytes::from_static(b"d")),
                &Event::Note("n".into()),
            ]
        );
        assert_eq!(s.len(), 7);
        assert_eq!(recs[3].time, t1);
        assert_eq!(recs[5].step, (1 << 32) + 5);
        let Event::Received(a) = &recs[3].event else {
            unreachable!()
        };
        assert_eq!(
            a.as_ptr(),
            ab.as_ptr(),
            "a piece inside one write is a slice of it"
        );
    }

    /// Record `input` in `s`. It must be a consistent log: each `Received` holds the next bytes
    /// its peer wrote, on a connection that has histories (the store keeps only the length).
    fn record_all(s: &mut Store, input: &[Record]) {
        for r in input {
            match &r.event {
                Event::Received(piece) => s.received(r.step, r.time, r.conn, r.end, piece.len()),
                event => s.push(r.step, r.time, r.conn, r.end, event.clone()),
            }
        }
    }

    /// Asserts that `got` equals `want`, naming the first record that differs (a whole-vector
    /// diff of thousands of records would drown it).
    fn assert_same(got: &[Record], want: &[Record]) {
        if let Some(i) = (0..got.len().min(want.len())).find(|&i| got[i] != want[i]) {
            panic!("record {i} differs: got {:?}, want {:?}", got[i], want[i]);
        }
        assert_eq!(got.len(), want.len(), "record counts differ");
    }

    /// Records `input` in a fresh store with `conns` connections and checks that it comes back
    /// unchanged; returns the store.
    fn round_trip(conns: usize, input: &[Record]) -> Store {
        let mut s = Store::default();
        for _ in 0..conns {
            s.add_conn();
        }
        record_all(&mut s, input);
        assert_eq!(s.len(), input.len());
        assert_same(&s.materialize(), input);
        s
    }

    /// How many marker records `s` holds.
    fn markers(s: &Store) -> usize {
        s.recs.iter().count() - s.len()
    }

    /// The number of spare chunks in this thread's pool of `T`.
    fn pool_len<T: Pooled>() -> usize {
        T::pool().with(|pool| pool.borrow().len())
    }

    fn record(step: u64, time: Instant, conn: u32, end: End, event: Event) -> Record {
        Record {
            step,
            time,
            conn: ConnId(conn),
            end,
            event,
        }
    }

    #[test]
    fn a_rec_is_8_bytes() {
        assert_eq!(size_of::<Rec>(), 8);
    }

    #[test]
    fn a_two_party_run_needs_no_markers() {
        let mut input = Vec::new();
        let mut step = 0;
        for i in 0..20_000u64 {
            // Each step: the server receives a byte the client wrote and echoes it.
            step += i % 2;
            let byte = Bytes::from(vec![i as u8]);
            input.push(record(
                step,
                Instant::ZERO,
                0,
                End::Client,
                Event::Wrote(byte.clone()),
            ));
            input.push(record(
                step,
                Instant::ZERO,
                0,
                End::Server,
                Event::Received(byte.clone()),
            ));
            input.push(record(
                step,
                Instant::ZERO,
                0,
                End::Server,
                Event::Wrote(byte),
            ));
        }
        let s = round_trip(1, &input);
        assert_eq!(markers(&s), 0);
    }

    #[test]
    fn steps_that_jump_go_back_or_pass_u32_come_back() {
        let max = u64::from(u16::MAX);
        let u32_max = u64::from(u32::MAX);
        // Each step, with the markers it needs after the previous one: (high half, low half).
        let steps = [
            (0, 0, 0),
            (max, 0, 0), // a delta of u16::MAX fits
            (2 * max, 0, 0),
            (3 * max + 1, 0, 1), // one more does not
            (3, 0, 1),           // back
            (u32_max - 1, 0, 1),
            (u32_max, 0, 0),
            (1 << 32, 0, 0), // into the high half by a delta of 1
            ((1 << 32) + max + 7, 0, 1),
            ((5 << 32) + 9, 1, 1),
            (9, 1, 0), // only the high half changes
            (1 << 48, 1, 1),
            (u64::MAX - 1, 1, 1),
            (u64::MAX, 0, 0),
            (0, 0, 0), // deltas wrap: 1
            (0, 0, 0),
            ((7 << 32) + 1, 1, 1),
            (1, 1, 0),
        ];
        let input: Vec<Record> = steps
            .iter()
            .map(|&(step, _, _)| record(step, Instant::ZERO, 0, End::Client, Event::Paused))
            .collect();
        let s = round_trip(1, &input);
        let count = |kind| s.recs.iter().filter(|r| r.kind == kind).count();
        let high: usize = steps.iter().map(|&(_, h, _)| h).sum();
        let low: usize = steps.iter().map(|&(_, _, l)| l).sum();
        assert_eq!((count(Kind::StepHigh), count(Kind::StepLow)), (high, low));
        assert_eq!(markers(&s), high + low);
    }

    #[test]
    fn connections_that_take_turns_come_back() {
        let t = |ms| Instant::ZERO + Duration::from_millis(ms);
        let ab = Bytes::from_static(b"ab");
        let xyz = Bytes::from_static(b"xyz");
        let input = [
            record(1, t(0), 0, End::Client, Event::Connected),
            record(1, t(0), 1, End::Client, Event::Connected),
            record(2, t(0), 0, End::Client, Event::Wrote(ab.clone())),
            record(2, t(0), 1, End::Server, Event::Wrote(xyz.clone())),
            record(3, t(5), 0, End::Server, Event::Received(ab.slice(..1))),
            record(3, t(5), 1, End::Client, Event::Received(xyz.slice(..2))),
            record(4, t(5), 0, End::Server, Event::Received(ab.slice(1..))),
            record(4, t(6), 1, End::Client, Event::Received(xyz.slice(2..))),
            record(4, t(6), u32::MAX, End::Server, Event::Connected),
            record(4, t(6), u32::MAX, End::Server, Event::Note("last".into())),
            record(5, t(6), 0, End::Client, Event::Lost(crate::Reason::Done)),
            record(5, t(6), u32::MAX - 1, End::Client, Event::CloseRequested),
            record(5, t(6), 1, End::Server, Event::Lost(crate::Reason::Lost)),
        ];
        let s = round_trip(2, &input);
        // A marker on each of the 11 switches (the first record's connection 0 is the default).
        assert_eq!(s.recs.iter().filter(|r| r.kind == Kind::Conn).count(), 11);
        assert_eq!(s.times.len(), 2);
    }

    /// A small deterministic generator (xorshift64*) for the long mixed log.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        /// A number in `0..n`.
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    #[test]
    fn a_long_log_over_many_connections_comes_back() {
        const CONNS: u32 = 300;
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        // Per connection, per writing end: the bytes written and not yet received.
        let mut pending = vec![[Vec::<u8>::new(), Vec::new()]; CONNS as usize];
        let mut input = Vec::new();
        let (mut step, mut time) = (0u64, Instant::ZERO);
        while input.len() < 60_000 {
            step = match rng.below(100) {
                0..60 => step,
                60..90 => step.wrapping_add(1),
                90..95 => step.wrapping_add(rng.below(200_000)),
                95..98 => rng.next(),
                _ => u64::MAX - rng.below(3),
            };
            if rng.below(10) == 0 {
                time = time + Duration::from_nanos(rng.below(1_000_000));
            }
            // Half the events on connection 0, so its histories span several chunks.
            let conn = if rng.below(2) == 0 {
                0
            } else {
                rng.below(u64::from(CONNS)) as u32
            };
            let end = if rng.below(2) == 0 {
                End::Client
            } else {
                End::Server
            };
            let event = match rng.below(10) {
                0..4 => {
                    let len = rng.below(4) as usize;
                    let data: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
                    pending[conn as usize][end.index()].extend_from_slice(&data);
                    Event::Wrote(Bytes::from(data))
                }
                4..8 => {
                    let from = &mut pending[conn as usize][end.peer().index()];
                    if from.is_empty() {
                        continue;
                    }
                    let len = 1 + rng.below(from.len() as u64) as usize;
                    Event::Received(Bytes::from(from.drain(..len).collect::<Vec<u8>>()))
                }
                8 => Event::Note(format!("note {}", input.len()).into()),
                _ => Event::ProducerRegistered(ProducerKind::Pull),
            };
            input.push(record(step, time, conn, end, event));
        }
        let s = round_trip(CONNS as usize, &input);
        assert!(s.recs.full.len() >= 5, "records span several chunks");
        assert!(
            s.streams[0].iter().any(|h| h.full.len() >= 2),
            "a history spans several chunks"
        );
    }

    #[test]
    fn a_piece_longer_than_u32_comes_back_as_what_the_history_holds() {
        let mut s = Store::default();
        s.add_conn();
        s.add_conn();
        let c = ConnId(1);
        let t = Instant::ZERO + Duration::from_secs(3);
        s.wrote(7, t, c, End::Client, &Bytes::from_static(b"ab"));
        s.wrote(7, t, c, End::Client, &Bytes::from_static(b"cd"));
        let huge = usize::try_from(u64::from(u32::MAX) + 10).unwrap_or(usize::MAX);
        s.received(1 << 40, t, c, End::Server, huge);
        s.push(1 << 40, t, c, End::Server, Event::ReadClosed);
        assert_eq!(s.longs, [huge as u64]);
        let history = &s.streams[1][End::Client.index()];
        assert_eq!(
            StreamCursor::default().available(history, huge),
            4,
            "the join reserves what the history holds, not the length claimed"
        );
        let recs = s.materialize();
        assert_same(
            &recs[2..],
            &[
                record(
                    1 << 40,
                    t,
                    1,
                    End::Server,
                    Event::Received(Bytes::from_static(b"abcd")),
                ),
                record(1 << 40, t, 1, End::Server, Event::ReadClosed),
            ],
        );
    }

    #[test]
    fn a_clone_is_a_deep_copy() {
        let per = Chunked::<Rec>::PER_CHUNK;
        let mut input = Vec::new();
        for i in 0..(2 * per + 100) as u64 {
            let data = Bytes::from(vec![i as u8; 2]);
            input.push(record(
                i,
                Instant::ZERO,
                0,
                End::Client,
                Event::Wrote(data.clone()),
            ));
            input.push(record(
                i,
                Instant::ZERO,
                0,
                End::Server,
                Event::Received(data),
            ));
        }
        let capacities = |s: &Store| -> Vec<usize> {
            s.recs
                .full
                .iter()
                .chain([&s.recs.tail])
                .map(Vec::capacity)
                .collect()
        };
        // A first chunk still growing keeps its capacity, so the copy grows as it would.
        let small = round_trip(1, &input[..5]);
        assert!(small.recs.tail.capacity() > 5, "{:?}", capacities(&small));
        assert_eq!(capacities(&small.clone()), capacities(&small));
        let (head, rest) = input.split_at(per * 3);
        let mut original = round_trip(1, head);
        let mut copy = original.clone();
        assert_eq!(capacities(&copy), capacities(&original));
        // What one records after the clone does not reach the other.
        original.push(
            0,
            Instant::ZERO,
            ConnId(0),
            End::Client,
            Event::Note("only here".into()),
        );
        assert_same(&copy.materialize(), head);
        drop(original);
        record_all(&mut copy, rest);
        assert_same(&copy.materialize(), &input);
    }

    #[test]
    fn a_dropped_logs_chunks_are_reused_on_its_thread() {
        // A thread of its own, so the pools start empty whatever ran before on this one.
        std::thread::spawn(|| {
            assert_eq!((pool_len::<Rec>(), pool_len::<Bytes>()), (0, 0));
            let per = Chunked::<Rec>::PER_CHUNK;
            let data = Bytes::from(vec![1, 2, 3]);
            let fill = |s: &mut Store| {
                s.add_conn();
                for i in 0..3 * per + 10 {
                    s.wrote(i as u64, Instant::ZERO, ConnId(0), End::Client, &data);
                }
            };
            let chunks = |c: &Chunked<Rec>| -> Vec<(usize, usize)> {
                c.full
                    .iter()
                    .chain([&c.tail])
                    .map(|c| (c.as_ptr() as usize, c.capacity()))
                    .collect()
            };
            let mut first = Store::default();
            fill(&mut first);
            assert!(!data.is_unique(), "the history holds a handle");
            let old = chunks(&first.recs);
            assert_eq!(old.len(), 4);
            let whole = old.iter().filter(|&&(_, cap)| cap == per).count();
            assert!(whole >= 3, "every chunk after the first is allocated whole");
            drop(first);
            assert_eq!(pool_len::<Rec>(), whole);
            assert!(pool_len::<Bytes>() > 0);
            assert!(data.is_unique(), "the pooled chunks hold no handles");
            REC_POOL.with(|p| assert!(p.borrow().iter().all(|c| c.is_empty())));

            let mut second = Store::default();
            fill(&mut second);
            // The three chunks after the first (which grows as a `Vec`) come from the pool.
            let new = chunks(&second.recs);
            assert!(
                new[1..].iter().all(|chunk| old.contains(chunk)),
                "{old:?} {new:?}"
            );
            assert_eq!(pool_len::<Rec>(), whole - 3);
        })
        .join()
        .expect("the test thread passed");
    }

    #[test]
    fn a_threads_pool_keeps_at_most_its_cap() {
        std::thread::spawn(|| {
            type C = Chunked<Rec>;
            let mut c = C::default();
            for _ in 0..(C::POOL_CHUNKS + 3) * C::PER_CHUNK {
                c.push(Rec::marker(Kind::Time, 0));
            }
            assert_eq!(c.full.len(), C::POOL_CHUNKS + 2);
            drop(c);
            assert_eq!(pool_len::<Rec>(), C::POOL_CHUNKS);
            assert_eq!(C::POOL_CHUNKS * C::CHUNK_BYTES, 32 << 20);
        })
        .join()
        .expect("the test thread passed");
    }
}
