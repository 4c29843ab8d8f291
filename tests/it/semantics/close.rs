//! Closing, aborting and half-closing (DESIGN §6: the close rows).

use pretty_assertions::assert_eq;

use super::*;

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
