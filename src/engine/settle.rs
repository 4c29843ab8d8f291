//! Applying what a callback asked for: closes, aborts, failures, producers, and the callbacks themselves.

use std::any::Any;
use std::panic::{self, AssertUnwindSafe};

use bytes::Bytes;

use super::wire::Marker;
use super::{Callback, Close, Core, Producer, Protos, Requests, WriteHalf, panic_message};
use crate::config::PanicPolicy;
use crate::event::{ConnId, End, Event, Reason};
use crate::protocol::Protocol;
use crate::transport::{ProducerKind, Transport};

impl Core {
    /// Count a producer callback made straight after another callback in the same step; a
    /// protocol that keeps re-registering its producer inside them would otherwise recurse
    /// without bound.
    fn nest(&mut self) {
        self.nested += 1;
        if self.nested > self.cfg.step_limit_value() {
            self.step_limit_hit("one step's chain of producer callbacks");
        }
    }

    /// Apply what end `e` asked for during the callback that just returned.
    #[inline(always)]
    pub(super) fn settle<P: Protos>(&mut self, protos: &mut P, c: ConnId, e: End) {
        let end = self.end_state(c, e);
        if end.plain && end.producer.is_none() {
            debug_assert!(end.is_plain(), "a stale `plain` at {c} {e:?}");
            // An open end that only wrote (or did nothing): only its outbound wire may need a
            // turn. Anything else — a close in progress, a producer — takes the full path.
            if !self.conns[c.index()].wires[e.index()].queued {
                self.schedule_wire(c, e);
            }
            return;
        }
        self.settle_requests(protos, c, e);
        let end = self.end_mut(c, e);
        end.plain = end.is_plain();
    }

    pub(super) fn settle_requests<P: Protos>(&mut self, protos: &mut P, c: ConnId, e: End) {
        let high_water = self.cfg.high_water_value();
        let now = self.now;
        let end = self.end_mut(c, e);
        if end.lost.is_some() {
            end.req = Requests::default();
            return;
        }
        let req = std::mem::take(&mut end.req);
        if let Some(reason) = req.fail {
            if req.abort {
                // The failure is the reason, but the abort asked before it still discards
                // what was not yet sent.
                self.conns[c.index()].wires[e.index()].drop_data();
            }
            return self.fail_end(protos, c, e, reason);
        }
        if req.abort {
            return self.abort_end(c, e);
        }
        if req.lose {
            end.set_close(Close::Lose);
            if matches!(end.write_half, WriteHalf::FinConsumed | WriteHalf::Closed) {
                self.arm_notify(c, e);
            }
            self.schedule_wire(c, e.peer());
        }
        let end = self.end_mut(c, e);
        if req.lose_write && end.write_half == WriteHalf::Open {
            end.set_write_half(WriteHalf::Requested);
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
        // Only a full close waits for a producer: after a half-close its writes are refused,
        // so holding the EOF back for it would only hold the peer up.
        let blocked = end.close == Close::Lose && end.producer.is_some_and(Producer::blocks_close);
        if wants_fin && !blocked && !self.conn(c).wires[e.index()].closed {
            let stamp = self.next_stamp();
            let conn = &mut self.conns[c.index()];
            conn.wires[e.index()].push_marker(Marker::Fin, stamp, now);
            let end = &mut conn.ends[e.index()];
            if matches!(end.write_half, WriteHalf::Open | WriteHalf::Requested) {
                end.set_write_half(WriteHalf::FinQueued);
            }
        }
        if new_pull {
            self.record(c, e, Event::ProducerResumed);
            self.nest();
            return self.callback(protos, c, e, Callback::Resume);
        }
        if pause {
            self.record(c, e, Event::ProducerPaused);
            self.nest();
            return self.callback(protos, c, e, Callback::Pause);
        }
        self.schedule_wire(c, e);
    }

    pub(super) fn abort_end(&mut self, c: ConnId, e: End) {
        let stamp = self.next_stamp();
        let now = self.now;
        let conn = &mut self.conns[c.index()];
        let end = &mut conn.ends[e.index()];
        end.set_close(Close::Abort);
        end.notify_stamp = None;
        end.resume_stamp = None;
        let wire = &mut conn.wires[e.index()];
        wire.clear();
        wire.push_marker(Marker::Rst, stamp, now);
        self.schedule_wire(c, e);
        self.schedule_wire(c, e.peer());
    }

    pub(super) fn fail_end<P: Protos>(
        &mut self,
        protos: &mut P,
        c: ConnId,
        e: End,
        reason: Reason,
    ) {
        let stamp = self.next_stamp();
        let now = self.now;
        let conn = &mut self.conns[c.index()];
        conn.ends[e.index()].set_close(Close::Failed);
        let wire = &mut conn.wires[e.index()];
        if !wire.closed {
            wire.push_marker(Marker::Fin, stamp, now);
        }
        self.schedule_wire(c, e);
        self.finish(protos, c, e, reason);
    }

    /// A connection attempt failed: the connecting end hears `connection_lost(reason)` (it never
    /// had `connection_made`); there is no accepting end.
    pub(super) fn fail_attempt<P: Protos>(&mut self, protos: &mut P, c: ConnId, reason: Reason) {
        let server = self.end_mut(c, End::Server);
        server.set_lost(reason.clone());
        for w in [End::Client, End::Server] {
            self.conns[c.index()].wires[w.index()].clear();
        }
        self.finish(protos, c, End::Client, reason);
    }

    /// End `e`'s connection: cancel its timers, stop its producer, call `connection_lost`.
    #[inline]
    pub(super) fn finish<P: Protos>(&mut self, protos: &mut P, c: ConnId, e: End, reason: Reason) {
        let end = self.end_mut(c, e);
        if end.lost.is_some() {
            return;
        }
        end.set_lost(reason.clone());
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
    #[inline]
    pub(super) fn callback<P: Protos>(&mut self, protos: &mut P, c: ConnId, e: End, cb: Callback) {
        let name = cb.name();
        let proto = protos.get(c, e);
        let mut tx = Transport::new(self, c, e);
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| match cb {
            Callback::Made => proto.connection_made(&mut tx),
            Callback::ReadLost => proto.read_connection_lost(&mut tx),
            Callback::WriteLost => proto.write_connection_lost(&mut tx),
            Callback::Timer(id) => proto.timer_fired(id, &mut tx),
            Callback::Pause => proto.pause_producing(&mut tx),
            Callback::Resume => proto.resume_producing(&mut tx),
        }));
        if let Err(payload) = outcome {
            self.callback_panicked(c, e, name, payload.as_ref());
        }
        self.settle(protos, c, e);
        self.settle_touched(protos);
    }

    /// `data_received`: the one callback of the hot path, so it has a body of its own.
    ///
    /// The piece comes in an `Option`, taken inside the call. A piece is a `Bytes` that
    /// `bytes` has just built field by field. Captured by value, it is copied into the
    /// closure in 16-byte halves, and each half waits for the field stores under it to reach
    /// the cache (a failed store-to-load forward). Taken out of the `Option`, it is moved field
    /// by field, and nothing waits. This is about 2 ns a piece, a tenth of the step, at 1-byte
    /// pieces (`bench/`, W1).
    #[inline(always)]
    pub(super) fn callback_data<P: Protos>(
        &mut self,
        protos: &mut P,
        c: ConnId,
        e: End,
        data: &mut Option<Bytes>,
    ) {
        let proto = protos.get(c, e);
        let mut tx = Transport::new(self, c, e);
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
            proto.data_received(data.take().unwrap_or_default(), &mut tx);
        }));
        if let Err(payload) = outcome {
            self.callback_panicked(c, e, "data_received", payload.as_ref());
        }
        self.settle(protos, c, e);
        if !self.touched.is_empty() {
            self.settle_touched(protos);
        }
    }

    #[cold]
    #[inline(never)]
    fn callback_panicked(&mut self, c: ConnId, e: End, name: &str, payload: &(dyn Any + Send)) {
        let msg = panic_message(payload);
        self.on_panic(c, e, name, &msg);
        self.request_fail(c, e, Reason::Panicked(msg));
    }

    /// Settle the ends of other connections that the last callback acted on.
    #[inline]
    pub(super) fn settle_touched<P: Protos>(&mut self, protos: &mut P) {
        // In the order the callback acted on them, each once.
        while !self.touched.is_empty() {
            let (c, e) = self.touched.remove(0);
            self.touched.retain(|&t| t != (c, e));
            self.settle(protos, c, e);
        }
    }

    /// `stop_producing` and `connection_lost`: no transport, nothing to settle after.
    pub(super) fn last_call<P: Protos>(
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

    /// Run user code that is not a protocol callback (a listener's factory, `half_closeable`):
    /// a panic there is a bug in the test's setup, so it always continues to the test, with
    /// the end, what was called, and the transcript attached.
    pub(super) fn guarded<T>(&self, c: ConnId, e: End, what: &str, f: impl FnOnce() -> T) -> T {
        match panic::catch_unwind(AssertUnwindSafe(f)) {
            Ok(value) => value,
            Err(payload) => {
                let msg = panic_message(payload.as_ref());
                let who = self.who(c, e);
                let step = self.step;
                panic!(
                    "{}",
                    self.failure(&format!("{what} for {who} panicked at step {step}: {msg}"))
                );
            }
        }
    }

    /// Under the default policy a panic continues, with the context attached.
    pub(super) fn on_panic(&self, c: ConnId, e: End, name: &str, msg: &str) {
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
        self.nested = 0;
        let out = f(protos, &mut Transport::new(self, c, e));
        self.settle(protos, c, e);
        self.settle_touched(protos);
        self.check_strict();
        out
    }
}
