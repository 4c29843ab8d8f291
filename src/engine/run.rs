//! Scheduling and stepping: the ready queue, the clock, and running one task.

use bytes::Bytes;

use super::wire::{HeadKind, Marker};
use super::{Callback, ClockEntry, Close, Core, Protos, Task, TimerKind, WriteHalf};
use crate::clock::{Instant, TimerId};
use crate::event::{ConnId, End, Event, Reason};
use crate::transport::ProducerKind;

impl Core {
    // ----- scheduling -------------------------------------------------------------------

    /// Put the head of the wire `writer` writes into the ready queue, if the receiver can take
    /// it now; or wake the wire when its head arrives.
    #[inline]
    pub(super) fn schedule_wire(&mut self, c: ConnId, writer: End) {
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
        // A reset reaches even a paused reader, but never one not yet made.
        let reset = head.kind == HeadKind::End(Marker::Rst) && rx.made;
        if takes_anything || reads || reset {
            wire.queued = true;
            self.ready.push(head.stamp, Task::Wire(c, writer));
        }
    }

    /// Move every clock entry due by now into the ready queue. Returns whether any was due.
    pub(super) fn release_due(&mut self) -> bool {
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
                    self.ready.push_newest(stamp, Task::Timer(id));
                }
                TimerKind::Arrival => {
                    self.conn_mut(conn).wires[end.index()].arrival_pending = false;
                    self.schedule_wire(conn, end);
                }
                TimerKind::Connect => {
                    let stamp = self.next_stamp();
                    self.ready.push_newest(stamp, Task::Connect(conn));
                }
                TimerKind::ConnectTimeout => {
                    let stamp = self.next_stamp();
                    self.ready.push_newest(stamp, Task::ConnectTimeout(conn));
                }
            }
        }
        any
    }

    /// The earliest clock entry that still stands for something. Entries that no longer do —
    /// a connect attempt's timeout after it resolved, an arrival for bytes a close or reset
    /// discarded — are dropped here, so they never move time.
    pub(crate) fn next_deadline(&mut self) -> Option<Instant> {
        loop {
            let (&(at, seq), entry) = self.clock.first_key_value()?;
            let (conn, end) = (entry.conn, entry.end);
            let stale = match entry.kind {
                TimerKind::Protocol(_) => false,
                TimerKind::Connect | TimerKind::ConnectTimeout => !self.conn(conn).connecting,
                TimerKind::Arrival => {
                    let head = self.conn(conn).wires[end.index()].head();
                    head.is_none_or(|h| h.ready_at != at)
                }
            };
            if !stale {
                return Some(at);
            }
            let removed = self.clock.remove(&(at, seq));
            if removed.is_some_and(|e| matches!(e.kind, TimerKind::Arrival)) {
                // Whatever is on the wire now gets an entry of its own, at its own time.
                self.conn_mut(conn).wires[end.index()].arrival_pending = false;
                self.schedule_wire(conn, end);
            }
        }
    }

    #[inline]
    pub(super) fn arm_notify(&mut self, c: ConnId, e: End) {
        let stamp = self.next_stamp();
        let end = self.end_mut(c, e);
        if end.lost.is_none() {
            if end.write_half == WriteHalf::FinQueued {
                end.set_write_half(WriteHalf::FinConsumed);
            }
            end.notify_stamp = Some(stamp);
            self.ready.push_newest(stamp, Task::Notify(c, e));
        }
    }

    /// The peer consumed bytes `w` wrote; if that drained `w`'s buffer, its producer is due to
    /// resume.
    #[inline]
    pub(super) fn after_consume(&mut self, c: ConnId, w: End) {
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
            self.ready.push_newest(stamp, Task::Resume(c, w));
        }
    }

    // ----- running ----------------------------------------------------------------------

    /// One step in the default order: run the oldest valid task. Returns false when nothing
    /// is ready.
    #[inline]
    fn step_fifo<P: Protos>(&mut self, protos: &mut P) -> bool {
        while let Some((stamp, task)) = self.ready.pop() {
            self.nested = 0;
            // A wire's head, almost every step, goes straight to `exec_wire` (inlined here);
            // `exec` would route it there too, through a call.
            let ran = match task {
                Task::Wire(c, w) => self.exec_wire(protos, stamp, c, w),
                _ => self.exec(protos, stamp, task),
            };
            if ran {
                self.check_strict();
                return true;
            }
        }
        false
    }

    /// One step under a non-default schedule: gather the valid ready tasks (oldest first), let
    /// the schedule pick one, put the others back.
    pub(super) fn step_scheduled<P: Protos>(&mut self, protos: &mut P) -> bool {
        // The gathered tasks go in a buffer kept from step to step: a fresh `Vec` each step
        // cost an allocation and a free a step.
        let mut ready = std::mem::take(&mut self.scratch);
        ready.clear();
        while let Some((stamp, task)) = self.ready.pop() {
            if self.is_valid(stamp, task) {
                ready.push((stamp, task));
            } else {
                self.retire(stamp, task);
            }
        }
        let picked = match ready.len() {
            0 => None,
            1 => ready.pop(),
            n => Some(ready.remove(self.picker.pick(n))),
        };
        // Put the others back, oldest first: they go to the back of the consumed FIFO.
        for &(s, t) in &ready {
            self.ready.push_newest(s, t);
        }
        self.scratch = ready;
        let Some((stamp, task)) = picked else {
            return false;
        };
        self.nested = 0;
        let ran = self.exec(protos, stamp, task);
        debug_assert!(ran, "a valid task must run: {task:?}");
        self.check_strict();
        ran
    }

    /// Whether a queued task is current. `exec` runs a task only when this holds; for a wire's
    /// head, `exec_wire` makes the same checks on its fast path.
    pub(super) fn is_valid(&self, stamp: u64, task: Task) -> bool {
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
                let reset = head.kind == HeadKind::End(Marker::Rst);
                discard || (rx.made && (reset || !rx.paused))
            }
            Task::Notify(c, e) => {
                let end = self.end_state(c, e);
                end.notify_stamp == Some(stamp) && end.lost.is_none()
            }
            Task::Resume(c, e) => {
                // Valid only while the buffer is still drained: if the protocol wrote
                // meanwhile, the next drain re-arms it.
                let end = self.end_state(c, e);
                end.resume_stamp == Some(stamp)
                    && end.lost.is_none()
                    && end.producer.is_some()
                    && self.conn(c).wires[e.index()].buffered == 0
            }
            Task::Timer(id) => self.live_timers.contains_key(&id),
            Task::Connect(c) | Task::ConnectTimeout(c) => self.conn(c).connecting,
        }
    }

    /// Drop a task that is no longer valid, with the bookkeeping `exec` would have done.
    pub(super) fn retire(&mut self, stamp: u64, task: Task) {
        if let Task::Resume(c, e) = task {
            // Re-armed by the next drain.
            let end = self.end_mut(c, e);
            if end.resume_stamp == Some(stamp) {
                end.resume_stamp = None;
            }
        }
        if let Task::Wire(c, w) = task {
            let wire = &mut self.conns[c.index()].wires[w.index()];
            if wire.queued && wire.head().is_some_and(|h| h.stamp == stamp) {
                wire.queued = false;
            }
        }
    }

    /// Run everything ready now, including timers due now, without moving time.
    pub(crate) fn drain<P: Protos>(&mut self, protos: &mut P, steps: &mut u64, what: &str) {
        let fifo = self.cfg.schedule_value().is_fifo();
        loop {
            let ran = if fifo {
                self.step_fifo(protos)
            } else {
                self.step_scheduled(protos)
            };
            if ran {
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

    pub(super) fn step_limit_hit(&self, what: &str) -> ! {
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

    /// Run a task if it is still current (`is_valid`), else drop it (`retire`). A wire's head
    /// goes to `exec_wire`, which makes the same checks on its own fast path.
    #[inline]
    pub(super) fn exec<P: Protos>(&mut self, protos: &mut P, stamp: u64, task: Task) -> bool {
        match task {
            Task::Wire(c, w) => self.exec_wire(protos, stamp, c, w),
            _ if !self.is_valid(stamp, task) => {
                self.retire(stamp, task);
                false
            }
            Task::Made(c, e) => {
                self.end_mut(c, e).made = true;
                self.step += 1;
                self.record(c, e, Event::Connected);
                self.callback(protos, c, e, Callback::Made);
                self.schedule_wire(c, e.peer());
                true
            }
            Task::Notify(c, e) => {
                let end = self.end_mut(c, e);
                end.notify_stamp = None;
                let state = (end.close, end.write_half);
                if state.1 == WriteHalf::FinConsumed && state.0 == Close::Open {
                    end.set_write_half(WriteHalf::Closed);
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
                self.conn_mut(c).connecting = false;
                self.step += 1;
                let addr = self.end_state(c, End::Server).addr;
                let accepted = self.guarded(c, End::Server, "the listener's factory", || {
                    protos.accept(c, addr)
                });
                match accepted {
                    Some(label) => {
                        self.log.set_label(c, End::Server, label);
                        self.connect(c);
                    }
                    None => self.fail_attempt(protos, c, Reason::Refused),
                }
                true
            }
            Task::ConnectTimeout(c) => {
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

    /// Run the head of the wire `w` writes. The common case — a piece for a receiver that is
    /// open and reading — is handled here in one pass; anything else goes to `exec_wire_rest`.
    #[inline(always)]
    pub(super) fn exec_wire<P: Protos>(
        &mut self,
        protos: &mut P,
        stamp: u64,
        c: ConnId,
        w: End,
    ) -> bool {
        let now = self.now;
        let r = w.peer();
        let Some(conn) = self.conns.get_mut(c.index()) else {
            return false;
        };
        let rx = &conn.ends[r.index()];
        let takes_piece = rx.made && !rx.paused && rx.lost.is_none() && rx.close == Close::Open;
        let wire = &mut conn.wires[w.index()];
        if !wire.queued || wire.head_stamp != stamp {
            return false;
        }
        if !(takes_piece && wire.has_data()) {
            return self.exec_wire_rest(protos, stamp, c, w);
        }
        let next = self.stamp;
        self.stamp += 1;
        // In an `Option` from the start: see `callback_data`.
        let mut piece = Some(wire.take_piece(now));
        let len = piece.as_ref().map_or(0, Bytes::len);
        // The rest of the wire becomes ready now, before the receiver runs: what the receiver
        // writes in reply comes after it. The receiver still takes what has arrived, so the
        // rest is requeued without re-checking it.
        wire.restamp(next);
        match wire.head_ready_at() {
            Some(at) if at <= now => self.ready.push_newest(next, Task::Wire(c, w)),
            Some(_) => {
                wire.queued = false;
                self.schedule_wire(c, w);
            }
            None => wire.queued = false,
        }
        let conn = &self.conns[c.index()];
        if conn.wires[w.index()].buffered == 0 && conn.ends[w.index()].producer.is_some() {
            self.after_consume(c, w);
        }
        // Counted here, apart from the stamp above: incremented side by side, the two are
        // loaded as one 16-byte vector that waits for the separate stores that last wrote
        // them (a failed store-to-load forward: an eighth of the drain loop's profile).
        self.step += 1;
        if self.recording() {
            self.log.received(self.step, now, c, r, len);
        }
        self.callback_data(protos, c, r, &mut piece);
        true
    }

    /// Every other head: data to discard or to a receiver not reading, a FIN, a reset.
    #[inline(never)]
    fn exec_wire_rest<P: Protos>(&mut self, protos: &mut P, stamp: u64, c: ConnId, w: End) -> bool {
        let now = self.now;
        let r = w.peer();
        let conn = &mut self.conns[c.index()];
        let wire = &mut conn.wires[w.index()];
        // `exec_wire` checked that this head is the queued one.
        let Some(head) = wire.head() else {
            return false;
        };
        debug_assert!(wire.queued && head.stamp == stamp);
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
                // A receiver that reads takes its piece in `exec_wire`; this one is not made
                // yet or paused, and the wire waits until it reads.
                debug_assert!(!reads, "a piece for a reader reached exec_wire_rest");
                return false;
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
                if !discard && !rx.made {
                    return false;
                }
                self.step += 1;
                self.conns[c.index()].wires[w.index()].take_marker();
                self.arm_notify(c, w);
                let rx = self.end_state(c, r);
                // An end that aborted itself ends with its own `Aborted`, not the peer's reset.
                if rx.lost.is_none() && rx.close != Close::Abort {
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
    pub(super) fn deliver_eof<P: Protos>(&mut self, protos: &mut P, c: ConnId, r: End) {
        let proto = protos.get(c, r);
        if self.guarded(c, r, "half_closeable", || proto.half_closeable()) {
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
}
