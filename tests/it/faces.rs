//! The API surface of the two faces: `Harness` (one protocol, the test is the peer) and `Pair`
//! (two protocols on one connection).

use bytes::Bytes;
use piecemeal::{Chunking, End, Event, Harness, Pair, Protocol, Reason, Transport};
use pretty_assertions::assert_eq;

use super::support::*;

fn b(s: &'static str) -> Bytes {
    Bytes::from_static(s.as_bytes())
}

// ----- Harness ----------------------------------------------------------------------------

#[test]
fn harness_new_puts_the_protocol_at_the_server_end() {
    // `Harness::new` makes the protocol the server; its Connected is recorded at End::Server.
    let mut h = Harness::new(quiet("Proto"));
    assert_eq!(h.end(), End::Server);
    h.connect();
    let ends: Vec<(End, &str)> = h
        .log()
        .records()
        .iter()
        .filter(|r| r.event == Event::Connected)
        .map(|r| (r.end, h.log().label(r.conn, r.end)))
        .collect();
    assert_eq!(ends, [(End::Server, "Proto"), (End::Client, "peer")]);
}

#[test]
fn harness_client_puts_the_protocol_at_the_client_end() {
    // `Harness::client` makes the protocol the client; the peer is the server.
    let mut h = Harness::client(quiet("Proto"));
    assert_eq!(h.end(), End::Client);
    h.deliver(b"hi", Chunking::whole());
    let labels: Vec<(End, &str)> = h
        .log()
        .records()
        .iter()
        .filter(|r| matches!(r.event, Event::Received(_)))
        .map(|r| (r.end, h.log().label(r.conn, r.end)))
        .collect();
    assert_eq!(labels, [(End::Client, "Proto")]);
    assert_eq!(h.protocol().state.received, b"hi");
}

#[test]
fn deliver_connects_first() {
    // A fresh harness is not connected; deliver makes the connection, then delivers.
    let mut h = Harness::new(quiet("P"));
    assert!(!h.is_connected());
    h.deliver(b"abc", Chunking::whole());
    assert!(h.is_connected());
    assert_eq!(h.events(), [Event::Connected, Event::Received(b("abc"))]);
    assert_eq!(h.protocol().state.calls, ["made", "data"]);
}

#[test]
fn written_accumulates_and_take_written_empties_it() {
    // An echo writes back each delivery; take_written hands over and clears what arrived.
    let mut h = Harness::new(echo());
    h.deliver(b"abc", Chunking::every_byte());
    assert_eq!(h.written(), b"abc");
    assert_eq!(h.take_written(), b("abc"));
    assert_eq!(h.written(), b"");
    h.deliver(b"de", Chunking::whole());
    assert_eq!(h.written(), b"de");
}

#[test]
fn peer_got_eof_once_the_protocol_half_closes() {
    // The protocol writes and half-closes: the peer has the bytes and the EOF.
    let mut h = Harness::new(quiet("P"));
    h.connect();
    assert!(!h.peer_got_eof());
    h.with_protocol(|_, tx| {
        tx.write("bye");
        tx.lose_write_connection();
    });
    assert!(h.peer_got_eof());
    assert_eq!(h.written(), b"bye");
    assert_eq!(h.protocol().state.calls, ["made", "write_lost"]);
    assert_eq!(h.lost(), None);
}

#[test]
fn with_protocol_lets_the_test_make_the_protocol_write() {
    // The closure gets the protocol and its transport; its return value is passed through.
    let mut h = Harness::new(quiet("P"));
    let counter = h.with_protocol(|p, tx| {
        p.state.counter = 7;
        tx.write("hello");
        p.state.counter
    });
    assert_eq!(counter, 7);
    assert_eq!(h.written(), b"hello");
    assert_eq!(h.events(), [Event::Connected, Event::Wrote(b("hello"))]);
}

#[test]
fn protocol_mut_and_into_protocol_reach_the_protocol() {
    // The test changes the protocol directly, then takes it back with what it received.
    let mut h = Harness::new(quiet("P"));
    h.deliver(b"xy", Chunking::whole());
    h.protocol_mut().state.counter = 42;
    assert_eq!(h.protocol().state.counter, 42);
    let proto = h.into_protocol();
    assert_eq!(proto.state.counter, 42);
    assert_eq!(proto.state.received, b"xy");
}

#[test]
fn events_are_only_the_protocols_end() {
    // The peer's notes and writes are in the log, but not in `events()`.
    let mut h = Harness::new(echo());
    h.deliver(b"x", Chunking::whole());
    assert_eq!(
        h.events(),
        [
            Event::Connected,
            Event::Received(b("x")),
            Event::Wrote(b("x"))
        ]
    );
    let peer: Vec<&Event> = h.log().events(conn_of(&h), End::Client).collect();
    assert!(matches!(peer[1], Event::Note(_)), "{}", h.transcript());
    assert_eq!(peer[2..], [&Event::Wrote(b("x")), &Event::Received(b("x"))]);
}

/// The connection of a harness, read from its first record.
fn conn_of<P>(h: &Harness<P>) -> piecemeal::ConnId
where
    P: Protocol,
{
    h.log().records()[0].conn
}

#[test]
fn lost_reports_the_reason_once_the_connection_ended() {
    // None while open; Done after the peer's close; Lost after the peer's reset.
    let mut h = Harness::new(quiet("P"));
    h.connect();
    assert_eq!(h.lost(), None);
    h.peer_close();
    assert_eq!(h.lost(), Some(&Reason::Done));
    let mut h = Harness::new(quiet("P"));
    h.peer_abort();
    assert_eq!(h.lost(), Some(&Reason::Lost));
    assert_eq!(h.protocol().state.lost, Some(Reason::Lost));
}

#[test]
#[should_panic(expected = "after the peer closed its write half (peer_close")]
fn deliver_after_peer_close_panics() {
    // A half-closeable protocol stays open after the peer's EOF, but the peer cannot send.
    let mut h = Harness::new(quiet("P").half_closeable());
    h.peer_close();
    h.deliver(b"late", Chunking::whole());
}

#[test]
#[should_panic(expected = "Harness::deliver(4 bytes, Chunking::whole())")]
fn deliver_after_peer_half_close_panics_naming_the_call() {
    // The message names the call with its size and chunking.
    let mut h = Harness::new(quiet("P").half_closeable());
    h.peer_half_close();
    h.deliver(b"late", Chunking::whole());
}

#[test]
fn peer_pause_reading_buffers_and_resume_drains() {
    // While the peer is paused the protocol's writes pile up; resuming delivers them.
    let mut h = Harness::new(quiet("P"));
    h.peer_pause_reading();
    h.with_protocol(|_, tx| tx.write("abc"));
    h.with_protocol(|_, tx| tx.write("de"));
    assert_eq!(h.buffered(), 5);
    assert_eq!(h.written(), b"");
    h.peer_resume_reading();
    assert_eq!(h.buffered(), 0);
    assert_eq!(h.written(), b"abcde");
}

#[test]
fn outbound_chunking_cuts_what_the_peer_receives() {
    // Outbound every_byte: the peer receives the echo one byte at a time.
    let mut h = Harness::new(echo()).outbound(Chunking::every_byte());
    h.deliver(b"abc", Chunking::whole());
    assert_eq!(h.written(), b"abc");
    let peer = h.log().events(conn_of(&h), End::Client);
    assert_eq!(pieces(peer), [b("a"), b("b"), b("c")]);
    let text = h.transcript().to_string();
    assert!(
        text.contains("# #0 server→client: Chunking::every_byte()"),
        "{text}"
    );
    let one_byte_lines = text
        .lines()
        .filter(|l| l.contains(" peer ") && l.ends_with("received b\"b\""))
        .count();
    assert_eq!(one_byte_lines, 1, "{text}");
}

// ----- Pair -------------------------------------------------------------------------------

#[test]
fn pair_actions_apply_at_the_next_run() {
    // write, lose, abort and half_close are queued: nothing is delivered before run().
    let mut pair = Pair::new(quiet("C"), quiet("S").half_closeable());
    pair.connect();
    pair.write(End::Client, "hi");
    pair.half_close(End::Client);
    assert_eq!(pair.server().state.received, b"");
    assert_eq!(pair.buffered(End::Client), 2);
    assert_eq!(pair.server().state.calls, ["made"]);
    pair.run();
    assert_eq!(pair.server().state.received, b"hi");
    assert_eq!(pair.server().state.calls, ["made", "data", "read_lost"]);
    assert_eq!(pair.client().state.calls, ["made", "write_lost"]);

    pair.lose(End::Server);
    assert_eq!(pair.lost(End::Server), None);
    pair.run();
    assert_eq!(pair.lost(End::Server), Some(&Reason::Done));
    assert_eq!(pair.lost(End::Client), Some(&Reason::Done));
}

#[test]
fn pair_abort_applies_at_the_next_run() {
    // abort(Server) discards the server's unsent write; the client is reset at the next run.
    let mut pair = Pair::new(quiet("C"), quiet("S"));
    pair.write(End::Server, "unsent");
    pair.abort(End::Server);
    assert_eq!(pair.lost(End::Client), None);
    assert_eq!(pair.lost(End::Server), None);
    pair.run();
    assert_eq!(pair.client().state.received, b"");
    assert_eq!(pair.lost(End::Client), Some(&Reason::Lost));
    assert_eq!(pair.lost(End::Server), Some(&Reason::Aborted));
}

#[test]
fn with_client_and_with_server_write_through_their_transports() {
    // Both closures write; the other end receives at the next run; values pass through.
    let mut pair = Pair::new(quiet("C"), quiet("S"));
    let end = pair.with_client(|_, tx| {
        tx.write("to server");
        tx.end()
    });
    let label = pair.with_server(|p, tx| {
        p.state.counter = 1;
        tx.write("to client");
        tx.label().into_owned()
    });
    assert_eq!((end, label.as_str()), (End::Client, "S"));
    assert_eq!(pair.client().state.received, b"");
    pair.run();
    assert_eq!(pair.server().state.received, b"to server");
    assert_eq!(pair.client().state.received, b"to client");
    assert_eq!(pair.server().state.counter, 1);
}

#[test]
fn set_chunking_mid_stream_cuts_later_bytes_only() {
    // `abcd` is written under whole; the switch to every_byte applies to `ef` and is a cut.
    let mut pair = Pair::new(quiet("C"), quiet("S"));
    pair.write(End::Client, "abcd");
    pair.set_chunking(End::Client, Chunking::every_byte());
    pair.write(End::Client, "ef");
    pair.run();
    assert_eq!(
        pieces(&pair.events(End::Server)),
        [b("abcd"), b("e"), b("f")]
    );
    let text = pair.transcript().to_string();
    assert!(
        text.starts_with("# #0 client→server: Chunking::every_byte()\n"),
        "{text}"
    );
}

#[test]
fn into_inner_returns_both_protocols() {
    // After a run, into_inner gives back (client, server) with their state.
    let mut pair = Pair::new(Hooks::new("C").on_made(|_, tx| tx.write("ping")), echo());
    pair.run();
    let (client, server) = pair.into_inner();
    assert_eq!(client.state.received, b"ping");
    assert_eq!(server.state.received, b"ping");
}

#[test]
fn client_mut_and_server_mut_reach_the_protocols() {
    // The test changes each protocol directly.
    let mut pair = Pair::new(quiet("C"), quiet("S"));
    pair.client_mut().state.counter = 1;
    pair.server_mut().state.counter = 2;
    assert_eq!(
        (pair.client().state.counter, pair.server().state.counter),
        (1, 2)
    );
}

/// Says hello on connect; no `log_prefix`, so it is labelled with its type name.
struct Greeter;

impl Protocol for Greeter {
    fn connection_made(&mut self, tx: &mut Transport<'_>) {
        tx.write("hello");
    }

    fn data_received(&mut self, _: Bytes, _: &mut Transport<'_>) {}
}

#[test]
fn log_prefix_labels_each_end_in_the_transcript() {
    // Greeter is labelled by its type name, the Hooks server by its custom log_prefix.
    let mut pair = Pair::new(Greeter, quiet("CustomLabel"));
    pair.run();
    let conn = pair.conn();
    assert_eq!(pair.log().label(conn, End::Client), "Greeter");
    assert_eq!(pair.log().label(conn, End::Server), "CustomLabel");
    let text = pair.transcript().to_string();
    let wrote = text.lines().find(|l| l.ends_with("wrote b\"hello\""));
    assert!(
        wrote.is_some_and(|l| l.contains(" client Greeter ")),
        "{text}"
    );
    let received = text.lines().find(|l| l.ends_with("received b\"hello\""));
    assert!(
        received.is_some_and(|l| l.contains(" server CustomLabel ")),
        "{text}"
    );
}

#[test]
fn debug_impls_print_a_summary() {
    // Debug of both faces, the transport, the log and a chunking: readable and non-panicking.
    let mut h = Harness::new(quiet("P"));
    let tx_debug = h.with_protocol(|_, tx| format!("{tx:?}"));
    assert!(tx_debug.starts_with("Transport {"), "{tx_debug}");
    assert!(tx_debug.contains("end: Server"), "{tx_debug}");
    h.deliver(b"a", Chunking::fixed(3));
    let harness = format!("{h:?}");
    assert!(harness.starts_with("Harness {"), "{harness}");
    assert!(harness.contains("end: Server"), "{harness}");
    let log = format!("{:?}", h.log());
    assert!(log.contains("Received(b\"a\")"), "{log}");
    assert_eq!(format!("{:?}", Chunking::fixed(3)), "Chunking::fixed(3)");

    let mut pair = Pair::new(Greeter, quiet("S"));
    pair.run();
    let text = format!("{pair:?}");
    assert!(text.starts_with("Pair {"), "{text}");
    let normalized = format!("{:?}", pair.log().normalized());
    assert!(normalized.contains("#0 client"), "{normalized}");
    assert!(format!("{:?}", pair.transcript()).contains("Greeter"));
}
