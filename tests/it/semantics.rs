//! Real-TCP semantics (DESIGN §6): one test per row of the table, then `fail`, misuse, the step
//! bound and the addresses.

use std::net::SocketAddr;
use std::panic::{self, AssertUnwindSafe};
use std::time::Duration;

use bytes::Bytes;
use piecemeal::clock::Instant;
use piecemeal::event::Misuse;
use piecemeal::{Chunking, Config, End, Event, EventLog, Harness, Pair, PanicPolicy};
use piecemeal::{ProducerKind, Reason};
use pretty_assertions::assert_eq;

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

/// The callbacks a `Hooks` protocol got, space-separated.
fn calls(p: &Hooks) -> String {
    p.state.calls.join(" ")
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

fn count(events: &[Event], wanted: &Event) -> usize {
    events.iter().filter(|e| *e == wanted).count()
}

fn misuse_events(events: Vec<Event>) -> Vec<Event> {
    let misuse = events.into_iter().filter(|e| matches!(e, Event::Misuse(_)));
    misuse.collect()
}

/// The message of the panic that `f` raises.
fn panic_text(f: impl FnOnce()) -> String {
    let payload = panic::catch_unwind(AssertUnwindSafe(f)).expect_err("expected a panic");
    let text = payload.downcast_ref::<&str>().map(|s| (*s).to_string());
    text.or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}

fn at_ms(ms: u64) -> Instant {
    Instant::ZERO + Duration::from_millis(ms)
}

// ----- lose_connection ------------------------------------------------------------------

#[test]
fn lose_with_unsent_writes_delivers_them_then_eof() {
    // The client writes twice and closes in connection_made; one-byte pieces to the server.
    let client = Hooks::new("Closer").on_made(|_, tx| {
        tx.write("a");
        tx.write("b");
        tx.lose_connection();
    });
    let mut pair = Pair::new(client, quiet("Server"));
    pair.set_chunking(C, Chunking::every_byte()).run();
    assert_eq!(calls(pair.server()), "made data data lost");
    assert_eq!(life(&pair, S), [MADE, rx("ab"), DONE]);
    assert_eq!(life(&pair, C), [MADE, DONE]);
}

#[test]
fn writes_after_own_lose_are_sent_before_the_eof() {
    // The client writes, closes, and writes again in the same callback (Twisted trace 08).
    let client = Hooks::new("Closer").on_made(|_, tx| {
        tx.write("before");
        tx.lose_connection();
        tx.write("after");
    });
    let mut pair = Pair::new(client, quiet("Server"));
    pair.run();
    assert_eq!(life(&pair, S), [MADE, rx("beforeafter"), DONE]);
    assert!(pair.events(C).contains(&wrote("after")));
    assert_eq!(life(&pair, C), [MADE, DONE]);
}

#[test]
fn data_arriving_after_own_lose_is_not_delivered() {
    // The protocol closes while the peer is not reading, so its close cannot finish; the
    // peer's bytes sent meanwhile are discarded.
    let mut h = Harness::new(quiet("Closer"));
    h.peer_pause_reading();
    h.with_protocol(|_, tx| tx.lose_connection());
    h.deliver(b"too late", Chunking::every_byte());
    assert_eq!((calls(h.protocol()), h.lost()), ("made".into(), None));
    h.peer_resume_reading();
    assert_eq!(calls(h.protocol()), "made lost");
    assert_eq!((h.lost(), h.peer_got_eof()), (Some(&Reason::Done), true));
}

// ----- abort_connection -----------------------------------------------------------------

#[test]
fn abort_discards_unsent_writes_and_resets_the_peer() {
    // The client writes twice, aborts, writes again (Twisted traces 06 and 07).
    let client = Hooks::new("Aborter").on_made(|_, tx| {
        tx.write("pending-1");
        tx.write("pending-2");
        tx.abort_connection();
        tx.write("after");
    });
    let mut pair = Pair::new(client, quiet("Server"));
    pair.run();
    assert_eq!(life(&pair, S), [MADE, RESET]);
    assert_eq!(life(&pair, C), [MADE, ABORTED]);
    let dropped = Event::Dropped(Bytes::from_static(b"after"));
    assert_eq!(count(&pair.events(C), &dropped), 1);
    assert_eq!(pair.buffered(C), 0);
}

#[test]
fn peer_abort_discards_what_the_protocol_had_not_sent() {
    // The peer stops reading, the protocol writes, the peer resets.
    let mut h = Harness::new(quiet("Proto"));
    h.peer_pause_reading();
    h.with_protocol(|_, tx| tx.write("unsent"));
    assert_eq!(h.buffered(), 6);
    h.peer_abort();
    assert_eq!((h.lost(), h.buffered()), (Some(&Reason::Lost), 0));
    h.peer_resume_reading();
    assert_eq!(h.written(), b"");
}

#[test]
fn abort_after_lose_wins() {
    // The client writes, closes, then aborts (Twisted trace 10): the data is dropped.
    let client = Hooks::new("Client").on_made(|_, tx| {
        tx.write("data");
        tx.lose_connection();
        tx.abort_connection();
    });
    let mut pair = Pair::new(client, quiet("Server"));
    pair.run();
    assert_eq!(life(&pair, S), [MADE, RESET]);
    assert_eq!(life(&pair, C), [MADE, ABORTED]);
}

#[test]
fn lose_twice_closes_once() {
    // The client writes 'x' and closes twice (Twisted trace 09).
    let client = Hooks::new("Client").on_made(|_, tx| {
        tx.write("x");
        tx.lose_connection();
        tx.lose_connection();
    });
    let mut pair = Pair::new(client, quiet("Server"));
    pair.run();
    assert_eq!(count(&pair.events(C), &Event::CloseRequested), 1);
    assert_eq!(life(&pair, S), [MADE, rx("x"), DONE]);
    assert_eq!(life(&pair, C), [MADE, DONE]);
}

#[test]
fn abort_twice_and_lose_after_abort_are_no_ops() {
    // The server aborts twice then closes on the client's greeting (Twisted traces 13, 14).
    let server = Hooks::new("Server").on_data(|_, _, tx| {
        tx.abort_connection();
        tx.abort_connection();
        tx.lose_connection();
    });
    let client = Hooks::new("Client").on_made(|_, tx| tx.write("hello"));
    let mut pair = Pair::new(client, server);
    pair.run();
    let events = pair.events(S);
    assert_eq!(count(&events, &Event::AbortRequested), 1);
    assert_eq!(count(&events, &Event::CloseRequested), 0);
    assert_eq!(life(&pair, S), [MADE, rx("hello"), ABORTED]);
    assert_eq!(life(&pair, C), [MADE, RESET]);
}

// ----- half-close and peer EOF ----------------------------------------------------------

/// A half-closeable client that sends a request, half-closes, and closes on the reply's EOF.
fn requester() -> Hooks {
    let client = Hooks::new("Client").half_closeable();
    let client = client.on_made(|_, tx| {
        tx.write("request");
        tx.lose_write_connection();
    });
    client.on_read_lost(|_, tx| tx.lose_connection())
}

#[test]
fn half_close_with_half_closeable_peer_keeps_both_directions_going() {
    // The server answers from read_connection_lost, then closes (Twisted trace 15).
    let server = Hooks::new("Server").half_closeable();
    let server = server.on_read_lost(|_, tx| {
        tx.write("response");
        tx.lose_connection();
    });
    let mut pair = Pair::new(requester(), server);
    pair.run();
    let (read, write) = (Event::ReadClosed, Event::WriteClosed);
    let client = [MADE, write, rx("response"), read.clone(), DONE];
    assert_eq!(life(&pair, C), client);
    assert_eq!(life(&pair, S), [MADE, rx("request"), read, DONE]);
}

#[test]
fn half_close_with_plain_peer_ends_it_and_drops_its_reply() {
    // The plain server replies in data_received; the EOF then ends it (Twisted trace 16).
    let server = Hooks::new("Server").on_data(|_, _, tx| tx.write("response"));
    let mut pair = Pair::new(requester(), server);
    pair.run();
    let client = [MADE, Event::WriteClosed, Event::ReadClosed, DONE];
    assert_eq!(life(&pair, C), client);
    assert_eq!(life(&pair, S), [MADE, rx("request"), DONE]);
}

#[test]
fn peer_eof_at_half_closeable_protocol_keeps_it_open() {
    // The peer half-closes; the protocol still writes, then closes when it chooses.
    let mut h = Harness::new(Hooks::new("Proto").half_closeable());
    h.peer_half_close();
    assert_eq!(
        (calls(h.protocol()), h.lost()),
        ("made read_lost".into(), None)
    );
    h.with_protocol(|_, tx| tx.write("still here"));
    assert_eq!(h.written(), b"still here");
    h.with_protocol(|_, tx| tx.lose_connection());
    assert_eq!(calls(h.protocol()), "made read_lost lost");
    assert_eq!(h.lost(), Some(&Reason::Done));
}

#[test]
fn peer_eof_at_plain_protocol_loses_it_and_drops_unsent_writes() {
    // The peer stops reading, the protocol writes, the peer half-closes.
    let mut h = Harness::new(quiet("Proto"));
    h.peer_pause_reading();
    h.with_protocol(|_, tx| tx.write("unsent"));
    h.peer_half_close();
    assert_eq!((h.lost(), h.buffered()), (Some(&Reason::Done), 0));
    assert_eq!(calls(h.protocol()), "made lost");
    h.peer_resume_reading();
    assert_eq!((h.written(), h.peer_got_eof()), (&b""[..], true));
}

// ----- producers ------------------------------------------------------------------------

/// A push producer whose `pause_producing` notes the buffer size in `counter`.
fn pusher() -> Hooks {
    Hooks::new("Pusher").on_pause(|s, tx| s.counter = tx.buffered() as u64)
}

fn high_water(bytes: usize) -> Config {
    Config::new().high_water(bytes)
}

#[test]
fn push_producer_paused_once_over_high_water_and_resumed_after_drain() {
    // Three 5-byte writes in one callback against a high-water mark of 8.
    let mut h = Harness::new(pusher()).config(high_water(8));
    h.with_protocol(|_, tx| {
        tx.register_producer(PUSH);
        for _ in 0..3 {
            tx.write("xxxxx");
        }
    });
    let mut want = vec![MADE, Event::ProducerRegistered(PUSH)];
    want.extend([wrote("xxxxx"), wrote("xxxxx"), wrote("xxxxx")]);
    want.extend([Event::ProducerPaused, Event::ProducerResumed]);
    assert_eq!(h.events(), want);
    assert_eq!((h.protocol().state.counter, h.written().len()), (15, 15));
}

#[test]
fn push_producer_is_stopped_just_before_connection_lost() {
    // A registered push producer, then the peer closes; another one, and the peer resets.
    for (close, reason) in [(true, DONE), (false, RESET)] {
        let mut h = Harness::new(pusher());
        h.with_protocol(|_, tx| tx.register_producer(PUSH));
        if close {
            h.peer_close()
        } else {
            h.peer_abort()
        };
        let events = h.events();
        let last_two = &events[events.len() - 2..];
        assert_eq!(last_two, [Event::ProducerStopped, reason]);
        assert_eq!(calls(h.protocol()), "made stop lost");
    }
}

#[test]
fn paused_reader_pushes_back_on_the_writers_buffer() {
    // End-to-end backpressure: the peer stops reading, the producer's bytes stay buffered.
    let mut h = Harness::new(pusher()).config(high_water(8));
    h.peer_pause_reading();
    h.with_protocol(|_, tx| {
        tx.register_producer(PUSH);
        tx.write([b'x'; 10]);
    });
    h.with_protocol(|_, tx| tx.write([b'y'; 5]));
    let seen_by_protocol = h.with_protocol(|_, tx| tx.buffered());
    assert_eq!((h.buffered(), seen_by_protocol), (15, 15));
    h.run();
    assert_eq!(
        (calls(h.protocol()), h.written().len()),
        ("made pause".into(), 0)
    );
    h.peer_resume_reading();
    assert_eq!(calls(h.protocol()), "made pause resume");
    let state = &h.protocol().state;
    assert_eq!(
        (h.written().len(), h.buffered(), state.counter),
        (15, 0, 10)
    );
}

fn close_order(e: &Event) -> bool {
    matches!(
        e,
        Event::ProducerUnregistered | Event::ReadClosed | Event::Lost(_)
    )
}

#[test]
fn paused_push_producer_delays_eof_until_it_unregisters() {
    // The producer is paused by a non-reading peer, then closes; it unregisters on resume.
    let proto = pusher().on_resume(|_, tx| tx.unregister_producer());
    let mut h = Harness::new(proto).config(high_water(4));
    h.peer_pause_reading();
    h.with_protocol(|_, tx| {
        tx.register_producer(PUSH);
        tx.write("0123456789");
    });
    h.with_protocol(|_, tx| tx.lose_connection());
    h.peer_resume_reading();
    let want = [
        (S, Event::ProducerUnregistered),
        (C, Event::ReadClosed),
        (S, DONE),
    ];
    assert_eq!(timeline_of(h.log(), close_order), want);
}

#[test]
fn push_producer_paused_by_the_closing_callback_delays_eof() {
    // Twisted trace 18: register, write past the mark and close in one callback; the producer
    // unregisters when resumed. Real TCP sends the FIN only after that.
    let server = pusher().on_made(|_, tx| {
        tx.register_producer(PUSH);
        tx.write([b'a'; 70_000]);
        tx.write("end");
        tx.lose_connection();
    });
    let server = server.on_resume(|_, tx| tx.unregister_producer());
    let mut pair = Pair::new(quiet("Client"), server);
    pair.run();
    assert_eq!(calls(pair.server()), "made pause resume lost");
    let want = [(S, Event::ProducerUnregistered), (C, DONE), (S, DONE)];
    assert_eq!(timeline_of(pair.log(), close_order), want);
}

#[test]
fn pull_producer_resumed_at_registration_and_after_each_drain() {
    // The client writes one digit per resume, three times, then unregisters and closes.
    let client = Hooks::new("Puller").on_made(|_, tx| tx.register_producer(PULL));
    let client = client.on_resume(|s, tx| {
        if s.counter < 3 {
            tx.write(s.counter.to_string());
            s.counter += 1;
        } else {
            tx.unregister_producer();
            tx.lose_connection();
        }
    });
    let mut pair = Pair::new(client, quiet("Server"));
    pair.run();
    let mut want = vec![(S, MADE), (C, MADE), (C, Event::ProducerRegistered(PULL))];
    for digit in ["0", "1", "2"] {
        want.extend([
            (C, Event::ProducerResumed),
            (C, wrote(digit)),
            (S, rx(digit)),
        ]);
    }
    want.extend([
        (C, Event::ProducerResumed),
        (C, Event::ProducerUnregistered),
    ]);
    want.extend([(C, Event::CloseRequested), (S, DONE), (C, DONE)]);
    assert_eq!(timeline(pair.log()), want);
}

#[test]
fn registered_pull_producer_delays_eof_until_it_unregisters() {
    // The client closes right after registering; its producer writes once more, then leaves.
    let client = Hooks::new("Puller").on_made(|_, tx| {
        tx.register_producer(PULL);
        tx.write("a");
        tx.lose_connection();
    });
    let client = client.on_resume(|s, tx| {
        s.counter += 1;
        match s.counter {
            1 => tx.write("b"),
            _ => tx.unregister_producer(),
        }
    });
    let mut pair = Pair::new(client, quiet("Server"));
    pair.run();
    assert_eq!(life(&pair, S), [MADE, rx("ab"), DONE]);
    assert_eq!(calls(pair.client()), "made resume resume lost");
    let want = [(C, Event::ProducerUnregistered), (S, DONE), (C, DONE)];
    assert_eq!(timeline_of(pair.log(), close_order), want);
}

// ----- the receiver pauses reading ------------------------------------------------------

#[test]
fn paused_receiver_gets_nothing_until_it_resumes_not_even_eof() {
    // Twisted trace 20: the client pauses in connection_made and resumes 50 ms later; the
    // server writes and closes at once.
    let client = Hooks::new("Client").on_made(|_, tx| {
        tx.pause_reading();
        tx.call_later(Duration::from_millis(50));
    });
    let client = client.on_timer(|_, _, tx| tx.resume_reading());
    let server = Hooks::new("Server").on_made(|_, tx| {
        tx.write("hello");
        tx.lose_connection();
    });
    let mut pair = Pair::new(client, server);
    pair.advance(Duration::from_millis(49));
    assert_eq!(life(&pair, C), [MADE]);
    assert_eq!((pair.buffered(S), pair.lost(S)), (5, None));
    pair.run();
    assert_eq!(life(&pair, C), [MADE, rx("hello"), DONE]);
    let lost = pair.log().records().iter();
    let lost = lost.filter(|r| matches!(r.event, Event::Lost(_)));
    let lost: Vec<(End, Instant)> = lost.map(|r| (r.end, r.time)).collect();
    assert_eq!(lost, [(C, at_ms(50)), (S, at_ms(50))]);
}

#[test]
fn reset_reaches_a_paused_receiver() {
    // The server stops reading; the client writes and aborts.
    let server = Hooks::new("Server").on_made(|_, tx| tx.pause_reading());
    let client = Hooks::new("Client").on_made(|_, tx| {
        tx.write("abc");
        tx.abort_connection();
    });
    let mut pair = Pair::new(client, server);
    pair.run_until_idle();
    assert_eq!(life(&pair, S), [MADE, RESET]);
    assert_eq!(life(&pair, C), [MADE, ABORTED]);
}

// ----- panics ---------------------------------------------------------------------------

fn boom() -> Hooks {
    Hooks::new("Boom").on_data(|_, _, _| panic!("kaboom"))
}

fn lose_on_panic() -> Config {
    Config::new().panic_policy(PanicPolicy::LoseConnection)
}

#[test]
#[should_panic(expected = "Boom (server of #0) panicked in data_received at step 3: kaboom")]
fn panic_propagates_naming_the_end_callback_and_step() {
    // Default policy: steps 1 and 2 make the ends, step 3 delivers and the protocol panics.
    Harness::new(boom()).deliver(b"x", Chunking::whole());
}

#[test]
fn propagated_panic_carries_the_transcript() {
    // Default policy: the message has the chunking literals and the events so far.
    let mut h = Harness::new(boom());
    let text = panic_text(|| {
        h.deliver(b"trigger", Chunking::fixed(4));
    });
    assert!(text.contains("transcript"), "{text}");
    assert!(text.contains("Chunking::fixed(4)"), "{text}");
    assert!(text.contains("received b\"trig\""), "{text}");
}

#[test]
fn panic_under_lose_connection_policy_closes_in_order() {
    // Twisted trace 21: the server greets, then panics on the client's data.
    let server = boom().on_made(|_, tx| tx.write("srv-greeting"));
    let client = Hooks::new("Client").on_made(|_, tx| tx.write("boom"));
    let mut pair = Pair::new(client, server).config(lose_on_panic());
    pair.run();
    let panicked = Event::Lost(Reason::Panicked("kaboom".into()));
    assert_eq!(life(&pair, S), [MADE, rx("boom"), panicked]);
    assert_eq!(life(&pair, C), [MADE, rx("srv-greeting"), DONE]);
}

#[test]
fn panic_after_abort_in_the_same_callback_wins() {
    // Twisted trace 22: the client aborts then panics; the server sees an orderly close.
    let client = Hooks::new("Client").on_data(|_, _, tx| {
        tx.abort_connection();
        panic!("after abort");
    });
    let server = Hooks::new("Server").on_made(|_, tx| tx.write("ready"));
    let mut pair = Pair::new(client, server).config(lose_on_panic());
    pair.run();
    let panicked = Reason::Panicked("after abort".into());
    assert_eq!(pair.lost(C), Some(&panicked));
    assert_eq!(life(&pair, S), [MADE, DONE]);
}

// ----- timers and who hears first -------------------------------------------------------

#[test]
fn same_deadline_timers_fire_in_scheduling_order() {
    // Timers at 2 s, 1 s, 2 s, 2 s; the 1 s one schedules a fifth for 2 s.
    let proto = Hooks::new("Timed").on_timer(|s, _, tx| {
        s.counter += 1;
        if s.counter == 1 {
            tx.call_later(Duration::from_secs(1));
        }
    });
    let mut h = Harness::new(proto);
    let ids = h.with_protocol(|_, tx| [2, 1, 2, 2].map(|s| tx.call_later(Duration::from_secs(s))));
    h.run();
    let fired = h.log().records().iter().filter_map(|r| match r.event {
        Event::TimerFired(t) => Some((t.get(), r.time)),
        _ => None,
    });
    let [a, b, c, d] = ids.map(|t| t.get());
    let (one, two) = (at_ms(1000), at_ms(2000));
    let want = [(b, one), (a, two), (c, two), (d, two), (4, two)];
    assert_eq!(fired.collect::<Vec<_>>(), want);
}

#[test]
fn same_deadline_timers_of_both_ends_fire_in_scheduling_order() {
    // Server, client, server each schedule a timer for 1 s.
    let mut pair = Pair::new(quiet("Client"), quiet("Server"));
    let second = Duration::from_secs(1);
    pair.with_server(|_, tx| tx.call_later(second));
    pair.with_client(|_, tx| tx.call_later(second));
    pair.with_server(|_, tx| tx.call_later(second));
    pair.run();
    let fired = timeline_of(pair.log(), |e| matches!(e, Event::TimerFired(_)));
    let ends: Vec<End> = fired.into_iter().map(|(end, _)| end).collect();
    assert_eq!(ends, [S, C, S]);
}

#[test]
fn the_closers_peer_hears_of_the_close_first() {
    // The client writes and closes; the whole log in order.
    let client = Hooks::new("Closer").on_made(|_, tx| {
        tx.write("bye");
        tx.lose_connection();
    });
    let mut pair = Pair::new(client, quiet("Server"));
    pair.run();
    let mut want = vec![(S, MADE), (C, MADE), (C, wrote("bye"))];
    want.extend([(C, Event::CloseRequested), (S, rx("bye"))]);
    want.extend([(S, DONE), (C, DONE)]);
    assert_eq!(timeline(pair.log()), want);
}

#[test]
fn the_aborters_peer_hears_of_the_reset_first() {
    // The server aborts in connection_made; the whole log in order.
    let server = Hooks::new("Aborter").on_made(|_, tx| tx.abort_connection());
    let mut pair = Pair::new(quiet("Client"), server);
    pair.run();
    let mut want = vec![(S, MADE), (S, Event::AbortRequested), (C, MADE)];
    want.extend([(C, RESET), (S, ABORTED)]);
    assert_eq!(timeline(pair.log()), want);
}

// ----- fail -----------------------------------------------------------------------------

#[test]
fn fail_loses_with_error_and_closes_in_order_for_the_peer() {
    // The server greets, then writes last words and fails on the client's request.
    let server = Hooks::new("Server").on_made(|_, tx| tx.write("hi, "));
    let server = server.on_data(|_, _, tx| {
        tx.write("bye");
        tx.fail("bad request");
    });
    let client = Hooks::new("Client").on_made(|_, tx| tx.write("req"));
    let mut pair = Pair::new(client, server);
    pair.run();
    let failed = Event::Lost(Reason::Error("bad request".into()));
    assert_eq!(life(&pair, S), [MADE, rx("req"), failed]);
    assert_eq!(life(&pair, C), [MADE, rx("hi, bye"), DONE]);
}

#[test]
fn fail_wins_over_abort_in_the_same_callback() {
    // Abort then fail, and fail then abort: the failure is the reason, the peer gets an EOF.
    for abort_first in [true, false] {
        let proto = Hooks::new("Proto").on_data(move |_, _, tx| {
            if abort_first {
                tx.abort_connection();
            }
            tx.fail("broken");
            tx.abort_connection();
        });
        let mut h = Harness::new(proto);
        h.deliver(b"x", Chunking::whole());
        assert_eq!(h.lost(), Some(&Reason::Error("broken".into())));
        assert!(h.peer_got_eof(), "an orderly EOF, not a reset");
    }
}

#[test]
fn fail_stops_a_registered_producer_first() {
    // A pull producer fails from its first resume.
    let proto = Hooks::new("Proto").on_resume(|_, tx| tx.fail("no more"));
    let mut h = Harness::new(proto);
    h.with_protocol(|_, tx| tx.register_producer(PULL));
    assert_eq!(calls(h.protocol()), "made resume stop lost");
    let events = h.events();
    let failed = Event::Lost(Reason::Error("no more".into()));
    assert_eq!(events[events.len() - 2..], [Event::ProducerStopped, failed]);
}

// ----- misuse, step bound, addresses ----------------------------------------------------

#[test]
fn producer_misuse_is_recorded_and_the_first_registration_stays() {
    // Register push then pull, write past the mark; unregister twice.
    let mut h = Harness::new(pusher()).config(high_water(1));
    h.peer_pause_reading();
    h.with_protocol(|_, tx| {
        tx.register_producer(PUSH);
        tx.register_producer(PULL);
        tx.write("xy");
    });
    assert_eq!(calls(h.protocol()), "made pause", "still a push producer");
    h.with_protocol(|_, tx| {
        tx.unregister_producer();
        tx.unregister_producer();
    });
    let want = [
        Misuse::ProducerAlreadyRegistered,
        Misuse::NoProducerRegistered,
    ];
    assert_eq!(misuse_events(h.events()), want.map(Event::Misuse));
}

#[test]
fn cancelling_an_inactive_timer_is_misuse() {
    // Cancel a pending timer twice, and cancel one that already fired.
    let mut h = Harness::new(quiet("Timed"));
    let t1 = h.with_protocol(|_, tx| tx.call_later(Duration::from_secs(1)));
    let t2 = h.with_protocol(|_, tx| tx.call_later(Duration::ZERO));
    assert_eq!(calls(h.protocol()), "made timer");
    let cancels = h.with_protocol(|_, tx| [tx.cancel(t1), tx.cancel(t1), tx.cancel(t2)]);
    assert_eq!(cancels, [true, false, false]);
    let want = [t1, t2].map(|t| Event::Misuse(Misuse::CancelInactiveTimer(t)));
    assert_eq!(misuse_events(h.events()), want);
    h.run();
    assert_eq!(calls(h.protocol()), "made timer");
}

#[test]
fn step_limit_panic_names_the_setting_and_shows_the_last_events() {
    // A timer that reschedules itself with zero delay, under a limit of 1000 steps.
    let proto = Hooks::new("Looper").on_timer(|_, _, tx| {
        tx.call_later(Duration::ZERO);
    });
    let mut h = Harness::new(proto).config(Config::new().step_limit(1000));
    h.with_protocol(|_, tx| tx.call_later(Duration::from_millis(1)));
    let text = panic_text(|| {
        h.run();
    });
    assert!(text.contains("run() took more than 1000 steps"), "{text}");
    assert!(text.contains("Config::step_limit"), "{text}");
    assert!(text.contains("earlier events not shown"), "{text}");
    assert!(text.contains("Looper") && text.contains(" fired"), "{text}");
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

#[test]
fn default_addresses_of_both_ends() {
    // host() and peer() from each end of a pair, and from a harness's protocol.
    let (client, server) = (addr("10.0.0.2:49152"), addr("10.0.0.1:9000"));
    let mut pair = Pair::new(quiet("Client"), quiet("Server"));
    let c = pair.with_client(|_, tx| (tx.host(), tx.peer()));
    let s = pair.with_server(|_, tx| (tx.host(), tx.peer()));
    assert_eq!((c, s), ((client, server), (server, client)));
    let mut h = Harness::new(quiet("Proto"));
    let proto = h.with_protocol(|_, tx| (tx.host(), tx.peer()));
    assert_eq!(proto, (server, client));
    let mut h = Harness::client(quiet("Proto"));
    let proto = h.with_protocol(|_, tx| (tx.host(), tx.peer()));
    assert_eq!(proto, (client, server));
}

#[test]
fn pair_addresses_override_the_defaults() {
    // Custom IPv4 and IPv6 addresses, seen from both ends.
    let (client, server) = (addr("192.168.1.7:5555"), addr("[::1]:443"));
    let pair = Pair::new(quiet("Client"), quiet("Server"));
    let mut pair = pair.addresses(client, server);
    let c = pair.with_client(|_, tx| (tx.host(), tx.peer()));
    let s = pair.with_server(|_, tx| (tx.host(), tx.peer()));
    assert_eq!((c, s), ((client, server), (server, client)));
}
