//! One direction of a connection: the bytes one end wrote that the other has not yet received,
//! the FIN or RST that follows them, and the chunking that cuts them.

use std::collections::VecDeque;
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};

use crate::chunking::{Chunking, Cursor};
use crate::clock::{Instant, nanos};

/// What ends a direction: an orderly EOF or a reset.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Marker {
    Fin,
    Rst,
}

/// What is at the front of a wire.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum HeadKind {
    Data,
    End(Marker),
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Head {
    /// When the item became ready (the scheduler's order).
    pub(crate) stamp: u64,
    /// When it arrives at the receiver (write time plus latency).
    pub(crate) ready_at: Instant,
    pub(crate) kind: HeadKind,
}

/// One write on the wire. `repr(C)` with the payload first keeps the `Bytes` at offset 0, where
/// the copies in and out of the queue read it as it was written; with the fields reordered they
/// straddle the stores that wrote it, and the processor stalls on every piece.
#[derive(Debug)]
#[repr(C)]
struct Seg {
    data: Bytes,
    ready_at: Instant,
}

#[derive(Debug)]
struct Span {
    /// Stream offset where this plan starts; a plan change is also a cut.
    start: u64,
    cursor: Cursor,
    per_write: bool,
}

impl Span {
    fn new(start: u64, plan: &Chunking) -> Self {
        Self {
            start,
            cursor: plan.cursor(),
            per_write: plan.is_per_write(),
        }
    }
}

#[derive(Debug)]
pub(crate) struct Wire {
    segs: VecDeque<Seg>,
    marker: Option<(Marker, Instant)>,
    /// When the current head became ready: set when something is queued on an empty wire, and
    /// renewed each time a piece is taken (the rest of a wire goes to the back of the queue).
    pub(crate) head_stamp: u64,
    /// A FIN or RST was queued on this wire (it may since have been consumed).
    pub(crate) closed: bool,
    /// Bytes written and not yet received: the writer's `buffered()`.
    pub(crate) buffered: usize,
    /// Bytes received or discarded: the stream offset of the first byte still on the wire.
    delivered: u64,
    /// The plan cutting the bytes at `delivered`.
    span: Span,
    /// Plans chosen later, for bytes written after the switch; their starts increase.
    later: VecDeque<Span>,
    /// Where the first of `later` starts (`u64::MAX` when none): the current span ends there.
    switch_at: u64,
    /// Write time to arrival, in nanoseconds.
    latency: u64,
    last_ready: Instant,
    /// The scheduler holds an entry for the current head.
    pub(crate) queued: bool,
    /// An arrival is scheduled on the clock for the current head.
    pub(crate) arrival_pending: bool,
}

impl Wire {
    pub(crate) fn new(plan: &Chunking, latency: Duration) -> Self {
        Self {
            segs: VecDeque::new(),
            marker: None,
            head_stamp: 0,
            closed: false,
            buffered: 0,
            delivered: 0,
            span: Span::new(0, plan),
            later: VecDeque::new(),
            switch_at: u64::MAX,
            latency: nanos(latency),
            last_ready: Instant::ZERO,
            queued: false,
            arrival_pending: false,
        }
    }

    /// Cut what is written from now on with `plan`. The switch is itself a cut.
    pub(crate) fn set_plan(&mut self, plan: &Chunking) {
        let written = self.written();
        let span = Span::new(written, plan);
        if self.later.back().is_some_and(|s| s.start == written) {
            self.later.pop_back();
        }
        if self.later.is_empty() && self.span.start == written {
            // Nothing was written under the current plan since it was chosen: replace it.
            self.span = span;
        } else {
            self.later.push_back(span);
        }
        self.switch_at = self.later.front().map_or(u64::MAX, |s| s.start);
    }

    /// Bytes accepted on this wire so far (received, discarded or still buffered).
    fn written(&self) -> u64 {
        self.delivered + self.buffered as u64
    }

    /// Delay what is written from now on by `latency`.
    pub(crate) fn set_latency(&mut self, latency: Duration) {
        self.latency = nanos(latency);
    }

    #[inline]
    fn arrival(&mut self, now: Instant) -> Instant {
        let at = now.saturating_add_nanos(self.latency).max(self.last_ready);
        self.last_ready = at;
        at
    }

    /// Queue a write; returns the queued handle (always `Some`).
    #[inline(always)]
    pub(crate) fn push(&mut self, data: Bytes, stamp: u64, now: Instant) -> Option<&Bytes> {
        // Writes may follow a queued FIN (they go before it), never a reset.
        debug_assert!(!data.is_empty() && !matches!(self.marker, Some((Marker::Rst, _))));
        if self.segs.is_empty() {
            // The head changes (from a queued FIN, or nothing) to this write: any entry the
            // scheduler holds for the old head is stale.
            self.head_stamp = stamp;
            self.queued = false;
        }
        let ready_at = self.arrival(now);
        self.buffered += data.len();
        self.segs.push_back(Seg { data, ready_at });
        self.segs.back().map(|s| &s.data)
    }

    pub(crate) fn push_marker(&mut self, marker: Marker, stamp: u64, now: Instant) {
        if self.segs.is_empty() {
            self.head_stamp = stamp;
            self.queued = false;
        }
        let ready_at = self.arrival(now);
        self.marker = Some((marker, ready_at));
        self.closed = true;
    }

    /// The rest of the wire becomes ready anew (after a piece was taken from it).
    pub(crate) fn restamp(&mut self, stamp: u64) {
        self.head_stamp = stamp;
    }

    /// Drop everything not yet received (abort, reset, or EOF at a plain protocol). Returns how
    /// many bytes were discarded.
    pub(crate) fn clear(&mut self) -> usize {
        let dropped = self.buffered;
        self.segs.clear();
        self.marker = None;
        self.buffered = 0;
        self.delivered += dropped as u64;
        self.queued = false;
        dropped
    }

    /// Drop the unreceived bytes but keep a queued FIN or RST (an end lost on its peer's EOF).
    pub(crate) fn drop_data(&mut self) {
        let (marker, queued) = (self.marker.take(), self.queued);
        self.clear();
        // A scheduler entry for the old head now stands for the marker (same stamp).
        self.marker = marker;
        self.queued = queued && marker.is_some();
    }

    /// Whether the head is data (not a FIN or RST, not nothing).
    #[inline]
    pub(crate) fn has_data(&self) -> bool {
        !self.segs.is_empty()
    }

    /// When the head arrives at the receiver, if there is one.
    #[inline(always)]
    pub(crate) fn head_ready_at(&self) -> Option<Instant> {
        match self.segs.front() {
            Some(seg) => Some(seg.ready_at),
            None => self.marker.map(|(_, at)| at),
        }
    }

    pub(crate) fn head(&self) -> Option<Head> {
        if let Some(seg) = self.segs.front() {
            return Some(Head {
                stamp: self.head_stamp,
                ready_at: seg.ready_at,
                kind: HeadKind::Data,
            });
        }
        self.marker.map(|(m, ready_at)| Head {
            stamp: self.head_stamp,
            ready_at,
            kind: HeadKind::End(m),
        })
    }

    pub(crate) fn take_marker(&mut self) -> Option<Marker> {
        debug_assert!(self.segs.is_empty());
        self.marker.take().map(|(m, _)| m)
    }

    /// The next piece: it starts at the first unreceived byte and ends at the next planned cut,
    /// at a plan switch, at the end of what has arrived, or (per-write plans) at the end of the
    /// write. The head must be ready data.
    #[inline(always)]
    pub(crate) fn take_piece(&mut self, now: Instant) -> Bytes {
        let pos = self.delivered;
        if pos >= self.switch_at {
            self.switch_plan();
        }
        let limit = self
            .span
            .cursor
            .limit(pos - self.span.start)
            .unwrap_or(u64::MAX)
            .min(self.switch_at - pos);
        let Some(head) = self.segs.front_mut() else {
            return Bytes::new();
        };
        let head_len = head.data.len() as u64;
        let piece = if limit < head_len {
            // `limit < head_len <= usize::MAX`, so the cast is exact.
            head.data.split_to(limit as usize)
        } else if limit == head_len || self.span.per_write || !self.next_ready(now) {
            self.segs.pop_front().map(|s| s.data).unwrap_or_default()
        } else {
            self.join(limit, now)
        };
        self.delivered += piece.len() as u64;
        self.buffered -= piece.len();
        piece
    }

    /// The bytes at `delivered` fall under a plan chosen later: make it the current one.
    #[cold]
    fn switch_plan(&mut self) {
        while self
            .later
            .front()
            .is_some_and(|s| s.start <= self.delivered)
        {
            if let Some(span) = self.later.pop_front() {
                self.span = span;
            }
        }
        self.switch_at = self.later.front().map_or(u64::MAX, |s| s.start);
    }

    fn next_ready(&self, now: Instant) -> bool {
        self.segs.get(1).is_some_and(|s| s.ready_at <= now)
    }

    /// A piece spanning several writes: the one place delivery copies.
    fn join(&mut self, limit: u64, now: Instant) -> Bytes {
        let cap = usize::try_from(limit)
            .unwrap_or(usize::MAX)
            .min(self.buffered);
        let mut buf = BytesMut::with_capacity(cap);
        while let Some(seg) = self.segs.front_mut() {
            let want = cap - buf.len();
            if want == 0 || seg.ready_at > now {
                break;
            }
            if seg.data.len() <= want {
                buf.extend_from_slice(&seg.data);
                self.segs.pop_front();
            } else {
                buf.extend_from_slice(&seg.data[..want]);
                seg.data.advance(want);
            }
        }
        buf.freeze()
    }

    /// Consume every byte that has arrived without delivering it (the receiver stopped reading
    /// for good). Returns how many.
    pub(crate) fn discard_arrived(&mut self, now: Instant) -> usize {
        let mut n = 0;
        while self.segs.front().is_some_and(|s| s.ready_at <= now) {
            n += self.segs.pop_front().map_or(0, |s| s.data.len());
        }
        self.delivered += n as u64;
        self.buffered -= n;
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(plan: Chunking) -> Wire {
        Wire::new(&plan, Duration::ZERO)
    }

    fn drain(w: &mut Wire) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        while w.head().is_some_and(|h| h.kind == HeadKind::Data) {
            out.push(w.take_piece(Instant::ZERO).to_vec());
        }
        out
    }

    #[test]
    fn writes_coalesce_under_whole_and_split_at_cuts() {
        let mut w = wire(Chunking::whole());
        w.push(Bytes::from_static(b"ab"), 1, Instant::ZERO);
        w.push(Bytes::from_static(b"cd"), 2, Instant::ZERO);
        assert_eq!(drain(&mut w), [b"abcd".to_vec()]);

        let mut w = wire(Chunking::cuts([1, 3]));
        w.push(Bytes::from_static(b"ab"), 1, Instant::ZERO);
        w.push(Bytes::from_static(b"cde"), 2, Instant::ZERO);
        assert_eq!(
            drain(&mut w),
            [b"a".to_vec(), b"bc".to_vec(), b"de".to_vec()]
        );
        assert_eq!(w.buffered, 0);
    }

    #[test]
    fn per_write_keeps_write_boundaries() {
        let mut w = wire(Chunking::per_write());
        for (i, d) in [&b"a"[..], b"bc", b"d"].into_iter().enumerate() {
            w.push(Bytes::copy_from_slice(d), i as u64, Instant::ZERO);
        }
        assert_eq!(
            drain(&mut w),
            [b"a".to_vec(), b"bc".to_vec(), b"d".to_vec()]
        );
    }

    #[test]
    fn a_plan_switch_is_a_cut() {
        let mut w = wire(Chunking::whole());
        w.push(Bytes::from_static(b"abc"), 1, Instant::ZERO);
        w.set_plan(&Chunking::every_byte());
        w.push(Bytes::from_static(b"de"), 2, Instant::ZERO);
        assert_eq!(
            drain(&mut w),
            [b"abc".to_vec(), b"d".to_vec(), b"e".to_vec()]
        );
    }

    #[test]
    fn plan_switches_queue_up_and_the_last_one_at_an_offset_wins() {
        let mut w = wire(Chunking::every_byte());
        // Two switches before anything is written: only the last one counts.
        w.set_plan(&Chunking::whole());
        w.set_plan(&Chunking::fixed(2));
        assert!(
            w.later.is_empty(),
            "a switch before any byte replaces the plan"
        );
        w.push(Bytes::from_static(b"abcde"), 1, Instant::ZERO);
        // Switches at offsets 5 and 7, the one at 7 replaced by a later choice.
        w.set_plan(&Chunking::whole());
        w.push(Bytes::from_static(b"fg"), 2, Instant::ZERO);
        w.set_plan(&Chunking::every_byte());
        w.set_plan(&Chunking::fixed(3));
        let starts: Vec<u64> = w.later.iter().map(|s| s.start).collect();
        assert_eq!(
            starts,
            [5, 7],
            "the switch at 7 was replaced, not queued again"
        );
        w.push(Bytes::from_static(b"hijklmn"), 3, Instant::ZERO);
        // Read part of the first write, then switch again: the switch applies to what is
        // written from then on only.
        assert_eq!(w.take_piece(Instant::ZERO).to_vec(), b"ab");
        w.set_plan(&Chunking::every_byte());
        w.push(Bytes::from_static(b"op"), 4, Instant::ZERO);
        let rest = drain(&mut w);
        let want: [&[u8]; 8] = [b"cd", b"e", b"fg", b"hij", b"klm", b"n", b"o", b"p"];
        assert_eq!(rest, want.map(<[u8]>::to_vec));
        assert_eq!(w.buffered, 0);
        assert_eq!(w.written(), 16);
    }

    #[test]
    fn slices_share_the_written_buffer() {
        let data = Bytes::from(vec![7u8; 16]);
        let mut w = wire(Chunking::fixed(4));
        w.push(data.clone(), 1, Instant::ZERO);
        let piece = w.take_piece(Instant::ZERO);
        assert_eq!(
            piece.as_ptr(),
            data.as_ptr(),
            "a piece within one write is a slice, not a copy"
        );
    }

    #[test]
    fn latency_delays_arrival_and_limits_pieces() {
        let mut w = Wire::new(&Chunking::whole(), Duration::from_secs(1));
        w.push(Bytes::from_static(b"ab"), 1, Instant::ZERO);
        let later = Instant::ZERO + Duration::from_millis(500);
        w.push(Bytes::from_static(b"cd"), 2, later);
        let head = w.head().unwrap_or_else(|| unreachable!());
        assert_eq!(head.ready_at, Instant::ZERO + Duration::from_secs(1));
        let t1 = Instant::ZERO + Duration::from_secs(1);
        assert_eq!(w.take_piece(t1).to_vec(), b"ab");
        assert_eq!(
            w.head().map(|h| h.ready_at),
            Some(later + Duration::from_secs(1))
        );
    }

    #[test]
    fn markers_follow_data_and_clear_drops_everything() {
        let mut w = wire(Chunking::whole());
        w.push(Bytes::from_static(b"x"), 1, Instant::ZERO);
        w.push_marker(Marker::Fin, 2, Instant::ZERO);
        assert_eq!(w.head().map(|h| h.kind), Some(HeadKind::Data));
        assert_eq!(w.discard_arrived(Instant::ZERO), 1);
        assert_eq!(w.head().map(|h| h.kind), Some(HeadKind::End(Marker::Fin)));
        assert_eq!(w.take_marker(), Some(Marker::Fin));
        assert!(w.closed && w.head().is_none());
        let mut w = wire(Chunking::whole());
        w.push(Bytes::from_static(b"xyz"), 1, Instant::ZERO);
        assert_eq!(w.clear(), 3);
        assert_eq!((w.buffered, w.written()), (0, 3));
    }
}
