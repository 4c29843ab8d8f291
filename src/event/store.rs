//! The log's storage: 16-byte records, with data payloads kept once.
//!
//! A `Wrote` keeps its `Bytes` (one handle, no copy) in the history of its direction's stream.
//! A `Received` keeps only its length: what an end receives is always a prefix of what its peer
//! wrote (bytes are discarded only at the tail, by a close, reset or abort), so a piece is the
//! next `len` bytes of that history. [`Store::materialize`] turns the records back into
//! [`Record`]s, slicing the history (a piece that spans several writes is joined there).
//! Step and time are stored as markers when they change, not per record.

use bytes::{Bytes, BytesMut};

use super::{ConnId, End, Event, Record};
use crate::clock::Instant;
use crate::transport::ProducerKind;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Received,
    /// A piece longer than `u32::MAX`; `arg` indexes `longs`.
    ReceivedLong,
    Wrote,
    /// Any event with a payload of its own; `arg` indexes `extras`.
    Extra,
    /// Marker: time changed to `times[arg]`.
    Time,
    /// Marker: the high 32 bits of the step changed to `arg`.
    Epoch,
    Connected,
    CloseRequested,
    AbortRequested,
    HalfCloseRequested,
    ReadClosed,
    WriteClosed,
    Paused,
    Resumed,
    PushRegistered,
    PullRegistered,
    ProducerUnregistered,
    ProducerPaused,
    ProducerResumed,
    ProducerStopped,
}

#[derive(Clone, Copy, Debug)]
struct Rec {
    step: u32,
    conn: u32,
    arg: u32,
    kind: Kind,
    end: End,
}

/// An append-only sequence stored in fixed-size chunks rather than one growing buffer.
///
/// A long run records millions of entries. One `Vec` would be reallocated as it grows, and
/// once large it is mapped fresh from the kernel and unmapped when dropped, so every run pays
/// for first-touch page faults again. Chunks of 64 KiB stay in the allocator's reach: when one
/// simulation's log is dropped, the next one reuses its memory.
#[derive(Clone, Debug)]
struct Chunked<T> {
    chunks: Vec<Vec<T>>,
}

impl<T> Chunked<T> {
    const CHUNK_BYTES: usize = 64 * 1024;
    const PER_CHUNK: usize = {
        let n = Self::CHUNK_BYTES / size_of::<T>();
        if n == 0 { 1 } else { n }
    };

    /// The first chunk grows as a `Vec` does (most sequences are short: a connection that
    /// writes a few times); once one is full, the next ones are allocated whole.
    #[inline]
    fn push(&mut self, item: T) {
        match self.chunks.last_mut() {
            Some(chunk) if chunk.len() < Self::PER_CHUNK => chunk.push(item),
            Some(_) => {
                let mut chunk = Vec::with_capacity(Self::PER_CHUNK);
                chunk.push(item);
                self.chunks.push(chunk);
            }
            None => self.chunks.push(vec![item]),
        }
    }

    fn get(&self, i: usize) -> Option<&T> {
        self.chunks
            .get(i / Self::PER_CHUNK)?
            .get(i % Self::PER_CHUNK)
    }

    fn iter(&self) -> impl Iterator<Item = &T> {
        self.chunks.iter().flatten()
    }
}

impl<T> Default for Chunked<T> {
    fn default() -> Self {
        Self { chunks: Vec::new() }
    }
}

#[derive(Clone, Default, Debug)]
pub(super) struct Store {
    recs: Chunked<Rec>,
    extras: Vec<Event>,
    times: Vec<Instant>,
    longs: Vec<u64>,
    /// Per connection, per writing end: every accepted write, in order.
    streams: Vec<[Chunked<Bytes>; 2]>,
    last_time: Instant,
    last_epoch: u32,
    events: usize,
}

fn index(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

impl Store {
    pub(super) fn add_conn(&mut self) {
        self.streams.push([Chunked::default(), Chunked::default()]);
    }

    pub(super) fn len(&self) -> usize {
        self.events
    }

    #[inline]
    fn rec(&mut self, step: u64, time: Instant, conn: ConnId, end: End, kind: Kind, arg: u32) {
        // The high half of a u64 step, as a marker; `as` keeps the low half on purpose.
        let epoch = (step >> 32) as u32;
        if epoch != self.last_epoch {
            self.last_epoch = epoch;
            self.recs.push(Rec {
                step: 0,
                conn: 0,
                arg: epoch,
                kind: Kind::Epoch,
                end,
            });
        }
        if time != self.last_time {
            self.last_time = time;
            let arg = index(self.times.len());
            self.times.push(time);
            self.recs.push(Rec {
                step: 0,
                conn: 0,
                arg,
                kind: Kind::Time,
                end,
            });
        }
        self.recs.push(Rec {
            step: step as u32,
            conn: conn.0,
            arg,
            kind,
            end,
        });
        self.events += 1;
    }

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
            Err(_) => {
                let arg = index(self.longs.len());
                self.longs.push(len as u64);
                self.rec(step, time, conn, end, Kind::ReceivedLong, arg);
            }
        }
    }

    #[inline]
    pub(super) fn wrote(&mut self, step: u64, time: Instant, conn: ConnId, end: End, data: &Bytes) {
        if let Some(streams) = self.streams.get_mut(conn.index()) {
            streams[end.index()].push(data.clone());
        }
        self.rec(step, time, conn, end, Kind::Wrote, 0);
    }

    pub(super) fn push(&mut self, step: u64, time: Instant, conn: ConnId, end: End, event: Event) {
        let kind = match event {
            Event::Wrote(data) => return self.wrote(step, time, conn, end, &data),
            Event::Connected => Kind::Connected,
            Event::CloseRequested => Kind::CloseRequested,
            Event::AbortRequested => Kind::AbortRequested,
            Event::HalfCloseRequested => Kind::HalfCloseRequested,
            Event::ReadClosed => Kind::ReadClosed,
            Event::WriteClosed => Kind::WriteClosed,
            Event::Paused => Kind::Paused,
            Event::Resumed => Kind::Resumed,
            Event::ProducerRegistered(ProducerKind::Push) => Kind::PushRegistered,
            Event::ProducerRegistered(ProducerKind::Pull) => Kind::PullRegistered,
            Event::ProducerUnregistered => Kind::ProducerUnregistered,
            Event::ProducerPaused => Kind::ProducerPaused,
            Event::ProducerResumed => Kind::ProducerResumed,
            Event::ProducerStopped => Kind::ProducerStopped,
            // `Received` goes through `received` (the engine knows the piece is the next bytes
            // of the stream); everything else keeps its payload as is.
            other => {
                let arg = index(self.extras.len());
                self.extras.push(other);
                return self.rec(step, time, conn, end, Kind::Extra, arg);
            }
        };
        self.rec(step, time, conn, end, kind, 0);
    }

    /// Rebuild the records, in order.
    pub(super) fn materialize(&self) -> Vec<Record> {
        let mut out = Vec::with_capacity(self.events);
        let mut epoch = 0u64;
        let mut time = Instant::ZERO;
        let mut reading = vec![[StreamCursor::default(); 2]; self.streams.len()];
        let mut writing = vec![[0usize; 2]; self.streams.len()];
        for r in self.recs.iter() {
            let c = r.conn as usize;
            let event = match r.kind {
                Kind::Time => {
                    time = self.times.get(r.arg as usize).copied().unwrap_or(time);
                    continue;
                }
                Kind::Epoch => {
                    epoch = u64::from(r.arg);
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
                Kind::Extra => self
                    .extras
                    .get(r.arg as usize)
                    .cloned()
                    .unwrap_or(Event::Note(
                        "(missing event payload: a piecemeal bug)".into(),
                    )),
                Kind::Connected => Event::Connected,
                Kind::CloseRequested => Event::CloseRequested,
                Kind::AbortRequested => Event::AbortRequested,
                Kind::HalfCloseRequested => Event::HalfCloseRequested,
                Kind::ReadClosed => Event::ReadClosed,
                Kind::WriteClosed => Event::WriteClosed,
                Kind::Paused => Event::Paused,
                Kind::Resumed => Event::Resumed,
                Kind::PushRegistered => Event::ProducerRegistered(ProducerKind::Push),
                Kind::PullRegistered => Event::ProducerRegistered(ProducerKind::Pull),
                Kind::ProducerUnregistered => Event::ProducerUnregistered,
                Kind::ProducerPaused => Event::ProducerPaused,
                Kind::ProducerResumed => Event::ProducerResumed,
                Kind::ProducerStopped => Event::ProducerStopped,
            };
            let step = (epoch << 32) | u64::from(r.step);
            out.push(Record {
                step,
                time,
                conn: ConnId(r.conn),
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
    /// The next `len` bytes: a slice when they lie in one write, else a joined copy.
    fn take(&mut self, stream: &Chunked<Bytes>, len: usize) -> Bytes {
        if let Some(seg) = stream.get(self.seg)
            && self.off + len <= seg.len()
        {
            let piece = seg.slice(self.off..self.off + len);
            self.advance(seg.len(), len);
            return piece;
        }
        let mut buf = BytesMut::with_capacity(len);
        while buf.len() < len {
            let Some(seg) = stream.get(self.seg) else {
                break;
            };
            let n = (len - buf.len()).min(seg.len() - self.off);
            buf.extend_from_slice(&seg[self.off..self.off + n]);
            self.advance(seg.len(), n);
        }
        buf.freeze()
    }

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
    use std::time::Duration;

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
}
