//! Real-TCP semantics (DESIGN §6): one test per row of the table, then `fail`, misuse, the step
//! bound and the addresses.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use piecemeal::clock::Instant;
use piecemeal::event::Misuse;
use piecemeal::{Chunking, Config, End, Event, EventLog, Harness, Pair, PanicPolicy};
use piecemeal::{ProducerKind, Reason};

use super::support::*;

const C: End = End::Client;
const S: End = End::Server;
const MADE: Event = Event::Connected;
const DONE: Event = Event::Lost(Reason::Done);
const RESET: Event = Event::Lost(Reason::Lost);
const ABORTED: Event = Event::Lost(Reason::Aborted);
const PUSH: ProducerKind = ProducerKind::Push;
const PULL: ProducerKind = ProducerKind::Pull;

fn rx(s: &str) -> Event {
    Event::Received(Bytes::copy_from_slice(s.as_bytes()))
}

fn wrote(s: &str) -> Event {
    Event::Wrote(Bytes::copy_from_slice(s.as_bytes()))
}

/// The lifecycle events of one end of a pair.
fn life(pair: &Pair<Hooks, Hooks>, end: End) -> Vec<Event> {
    pair.log().lifecycle(pair.conn(), end)
}

/// The whole log as (end, event), notes dropped.
fn timeline(log: &EventLog) -> Vec<(End, Event)> {
    let records = log.records().iter();
    let records = records.filter(|r| !matches!(r.event, Event::Note(_)));
    records.map(|r| (r.end, r.event.clone())).collect()
}

/// The timeline, keeping only the events `keep` selects.
fn timeline_of(log: &EventLog, keep: fn(&Event) -> bool) -> Vec<(End, Event)> {
    timeline(log).into_iter().filter(|(_, e)| keep(e)).collect()
}

fn at_ms(ms: u64) -> Instant {
    Instant::ZERO + Duration::from_millis(ms)
}

/// A push producer whose `pause_producing` notes the buffer size in `counter`.
fn pusher() -> Hooks {
    Hooks::new("Pusher").on_pause(|s, tx| s.counter = tx.buffered() as u64)
}

fn high_water(bytes: usize) -> Config {
    Config::new().high_water(bytes)
}

mod close;
mod failures;
mod flow;
