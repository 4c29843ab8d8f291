//! `Sim`: one engine plus the protocols of one connection, and the run loops every face shares.

use std::time::Duration;

use crate::clock::Instant;
use crate::config::Config;
use crate::event::{ConnId, End, Event, Reason};
use crate::transport::Transport;

use super::{ConnSpec, Core, Protos};

#[derive(Debug)]
pub(crate) struct Sim<E> {
    pub(crate) core: Core,
    pub(crate) ends: E,
    pub(crate) conn: ConnId,
    connected: bool,
}

impl<E: Protos> Sim<E> {
    pub(crate) fn new(cfg: Config, spec: ConnSpec, ends: E) -> Self {
        let mut core = Core::new(cfg);
        let conn = core.add_conn(spec);
        Self {
            core,
            ends,
            conn,
            connected: false,
        }
    }

    pub(crate) fn is_connected(&self) -> bool {
        self.connected
    }

    /// Make the connection (both `connection_made` calls) and run until idle.
    pub(crate) fn connect(&mut self) {
        if !self.connected {
            self.connected = true;
            self.core.connect(self.conn);
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

    /// Act as end `e` from the test (outside any callback); nothing is delivered until a run.
    pub(crate) fn act<R>(&mut self, e: End, f: impl FnOnce(&mut E, &mut Transport<'_>) -> R) -> R {
        self.connect();
        self.core.act(&mut self.ends, self.conn, e, f)
    }

    pub(crate) fn lost(&self, e: End) -> Option<&Reason> {
        self.core.end_state(self.conn, e).lost.as_ref()
    }

    pub(crate) fn events(&self, e: End) -> Vec<Event> {
        self.core.log.events(self.conn, e).cloned().collect()
    }

    pub(crate) fn buffered(&self, e: End) -> usize {
        self.core.conn(self.conn).wires[e.index()].buffered
    }
}
