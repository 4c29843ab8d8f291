//! `Sim`: one engine plus the protocols of a face, and the run loops every face shares.

use std::time::Duration;

use bytes::Bytes;

use crate::chunking::Chunking;
use crate::clock::Instant;
use crate::config::Config;
use crate::event::{ConnId, End, Event, Reason};
use crate::transport::Transport;

use super::{ConnSpec, Core, Protos};

#[derive(Debug)]
pub(crate) struct Sim<E> {
    pub(crate) core: Core,
    pub(crate) ends: E,
    /// A connection made on the first run (a `Harness`'s or a `Pair`'s only connection).
    pending: Option<ConnId>,
}

impl<E: Protos> Sim<E> {
    /// A simulation with no connection yet.
    pub(crate) fn empty(cfg: Config, ends: E) -> Self {
        Self {
            core: Core::new(cfg),
            ends,
            pending: None,
        }
    }

    /// A simulation with one connection, made on the first run.
    pub(crate) fn single(cfg: Config, spec: ConnSpec, ends: E) -> (Self, ConnId) {
        let mut sim = Self::empty(cfg, ends);
        let conn = sim.core.add_conn(spec);
        sim.pending = Some(conn);
        (sim, conn)
    }

    pub(crate) fn is_connected(&self) -> bool {
        self.pending.is_none()
    }

    /// Make the pending connection (both `connection_made` calls) and run until idle.
    pub(crate) fn connect(&mut self) {
        if let Some(conn) = self.pending.take() {
            self.core.connect(conn);
            self.run_until_idle("connect");
        }
    }

    pub(crate) fn run_until_idle(&mut self, what: &str) {
        self.connect();
        let mut steps = 0;
        self.core.drain(&mut self.ends, &mut steps, what);
    }

    /// Deliver everything; when nothing is deliverable, jump to the next timer; until nothing
    /// is left.
    pub(crate) fn run(&mut self) {
        self.connect();
        let mut steps = 0;
        loop {
            self.core.drain(&mut self.ends, &mut steps, "run()");
            match self.core.next_deadline() {
                Some(t) => self.core.jump(t),
                None => return,
            }
        }
    }

    /// Let `d` of virtual time pass, running each timer at its deadline and delivering what
    /// becomes deliverable along the way.
    pub(crate) fn advance(&mut self, d: Duration) {
        self.connect();
        let target = self.core.now + d;
        let mut steps = 0;
        loop {
            self.core.drain(&mut self.ends, &mut steps, "advance()");
            match self.core.next_deadline() {
                Some(t) if t <= target => self.core.jump(t),
                _ => break,
            }
        }
        self.core.jump(target);
        self.core.drain(&mut self.ends, &mut steps, "advance()");
    }

    /// Run until idle, then jump to the next deadline and run until idle again.
    pub(crate) fn advance_to_next(&mut self) -> Option<Instant> {
        self.run_until_idle("advance_to_next()");
        let t = self.core.next_deadline()?;
        self.core.jump(t);
        self.run_until_idle("advance_to_next()");
        Some(t)
    }

    /// Act as end `e` of `conn` from the test (outside any callback); nothing is delivered
    /// until a run.
    pub(crate) fn act<R>(
        &mut self,
        conn: ConnId,
        e: End,
        f: impl FnOnce(&mut E, &mut Transport<'_>) -> R,
    ) -> R {
        self.connect();
        self.core.act(&mut self.ends, conn, e, f)
    }

    /// The test, acting as `peer` of `conn`, sends `data` cut by `chunking` (a note in the
    /// log, the plan, the write); nothing is delivered until a run. Refused once the peer has
    /// closed its write half: the error is the failure message, naming the call as `call`
    /// and the test's ways of closing as `closes`, for the face to panic with.
    pub(crate) fn peer_sends(
        &mut self,
        conn: ConnId,
        peer: End,
        data: Bytes,
        chunking: Chunking,
        call: &str,
        closes: &str,
    ) -> Result<(), String> {
        self.connect();
        if self.core.end_state(conn, peer).write_shut() || self.core.is_closing(conn, peer) {
            return Err(self.core.failure(&format!(
                "{call}({} bytes, {chunking}) after the peer closed its write half ({closes}): \
                 a peer cannot send after its EOF",
                data.len()
            )));
        }
        self.core.note_delivery(conn, peer, data.len(), &chunking);
        self.core.set_plan(conn, peer, chunking);
        self.act(conn, peer, |_, tx| tx.write_bytes(data));
        Ok(())
    }

    pub(crate) fn lost(&self, conn: ConnId, e: End) -> Option<&Reason> {
        self.core.end_state(conn, e).lost.as_ref()
    }

    pub(crate) fn events(&self, conn: ConnId, e: End) -> Vec<Event> {
        self.core.log.events(conn, e).cloned().collect()
    }

    pub(crate) fn buffered(&self, conn: ConnId, e: End) -> usize {
        self.core.conn(conn).wires[e.index()].buffered
    }
}
