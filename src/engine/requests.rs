//! What a protocol asks through its `Transport`: recorded at once, applied by `settle`.

use std::time::Duration;

use bytes::Bytes;

use super::{ClockEntry, Close, Core, LiveTimer, Producer, TimerKind};
use crate::clock::TimerId;
use crate::event::{ConnId, End, Event, Misuse, Reason};
use crate::transport::ProducerKind;

impl Core {
    // ----- transport requests (called through `Transport`) ---------------------------------

    #[inline(always)]
    pub(crate) fn write(&mut self, c: ConnId, e: End, data: Bytes) {
        let end = self.end_state(c, e);
        if !end.plain {
            return self.write_with_care(c, e, data);
        }
        debug_assert!(end.is_plain(), "a stale `plain` at {c} {e:?}");
        self.queue_write(c, e, data);
    }

    /// Queue a write the end may make, and record it when recording.
    #[inline(always)]
    fn queue_write(&mut self, c: ConnId, e: End, data: Bytes) {
        // Queued first, and the log clones the queued handle. Kept the other way round, the
        // queue's copy of `data` waited, even without recording, on the stores that had just
        // built it: a failed store-to-load forward that cost about 3 ns a piece at 1-byte
        // pieces (`bench/`, W1), a seventh of the step.
        let recording = self.recording();
        let stamp = self.next_stamp();
        let now = self.now;
        let queued = self.conns[c.index()].wires[e.index()].push(data, stamp, now);
        debug_assert!(queued.is_some(), "a write just queued is the newest");
        if recording && let Some(data) = queued {
            self.log.wrote(self.step, now, c, e, data);
        }
    }

    /// A write from an end that is closing, half-closed, lost or about to fail.
    #[inline(never)]
    fn write_with_care(&mut self, c: ConnId, e: End, data: Bytes) {
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
        self.queue_write(c, e, data);
    }

    pub(crate) fn request_lose(&mut self, c: ConnId, e: End) {
        let end = self.end_mut(c, e);
        if end.lost.is_none() && !end.is_closing() {
            end.ask().lose = true;
            self.record(c, e, Event::CloseRequested);
        }
    }

    pub(crate) fn request_abort(&mut self, c: ConnId, e: End) {
        let end = self.end_mut(c, e);
        let done = matches!(end.close, Close::Abort | Close::Failed) || end.req.fail.is_some();
        if end.lost.is_none() && !done && !end.req.abort {
            end.ask().abort = true;
            self.record(c, e, Event::AbortRequested);
        }
    }

    pub(crate) fn request_lose_write(&mut self, c: ConnId, e: End) {
        let end = self.end_mut(c, e);
        if end.lost.is_none() && !end.is_closing() && !end.write_shut() {
            end.ask().lose_write = true;
            self.record(c, e, Event::HalfCloseRequested);
        }
    }

    pub(crate) fn request_fail(&mut self, c: ConnId, e: End, reason: Reason) {
        let end = self.end_mut(c, e);
        if end.lost.is_none() && end.req.fail.is_none() {
            end.ask().fail = Some(reason);
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
        if end.lost.is_some() {
            return self.record(c, e, Event::Misuse(Misuse::ProducerAfterLost));
        }
        if end.producer.is_some() {
            return self.record(c, e, Event::Misuse(Misuse::ProducerAlreadyRegistered));
        }
        end.producer = Some(Producer {
            kind,
            paused: false,
        });
        end.ask().new_pull = kind == ProducerKind::Pull;
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
}
