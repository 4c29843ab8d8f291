//! The stock protocols (`piecemeal::protocols`): each one's documented behaviour under whole
//! and one-byte chunking. The aborting family is in `aborting.rs`, `Scripted` in `scripted.rs`.

use std::cell::RefCell;
use std::rc::Rc;

use bytes::Bytes;
use piecemeal::protocols::{
    Accumulating, AccumulatingHandle, ClosingLater, Discard, Echo, EventualNoReadServer,
    HalfCloseEcho, LineSender, NoReadServer, Script, Scripted,
};
use piecemeal::{Chunking, End, Event, Harness, Pair, Reactor, Reason};
use pretty_assertions::assert_eq;

use super::support::{lost_once_and_last, plan_pairs, plans};

// ----- Accumulating --------------------------------------------------------------------------

#[test]
fn accumulating_keeps_each_piece_and_the_joined_data() {
    for plan in plans() {
        let mut h = Harness::new(Accumulating::new());
        h.connect();
        assert!(h.protocol().is_made() && !h.protocol().is_closed());
        h.deliver(b"hello", plan.clone());
        h.peer_close();
        let acc = h.protocol();
        assert_eq!(acc.data(), "hello", "{plan}");
        assert_eq!(acc.len(), 5);
        assert!(!acc.is_empty());
        let expected: Vec<&str> = if plan.is_whole() {
            vec!["hello"]
        } else {
            vec!["h", "e", "l", "l", "o"]
        };
        assert_eq!(acc.pieces(), expected, "{plan}");
        assert_eq!(acc.piece_count(), expected.len());
        assert!(acc.is_closed());
        assert_eq!(acc.reason(), Some(&Reason::Done));
        assert!(h.written().is_empty());
    }
}

#[test]
fn accumulating_pieces_are_slices_of_what_the_peer_wrote() {
    for plan in plans() {
        let sent = Bytes::from_static(b"no copies here");
        let mut h = Harness::new(Accumulating::new());
        h.deliver_bytes(sent.clone(), plan.clone());
        let mut offset = 0;
        for piece in h.protocol().pieces() {
            assert_eq!(piece.as_ptr(), sent[offset..].as_ptr(), "{plan}");
            offset += piece.len();
        }
        assert_eq!(offset, sent.len());
        // Joining one piece is no copy either.
        if plan.is_whole() {
            assert_eq!(h.protocol().data().as_ptr(), sent.as_ptr());
        }
    }
}

#[test]
fn accumulating_records_a_reset_and_its_greeting() {
    for plan in plans() {
        let mut h = Harness::new(Accumulating::new().greeting(b"hello"));
        h.deliver(b"abc", plan);
        assert_eq!(h.written(), b"hello");
        h.peer_abort();
        assert_eq!(h.protocol().reason(), Some(&Reason::Lost));
        assert_eq!(h.protocol().data(), "abc");
    }
}

#[test]
fn accumulating_handle_sees_it_after_the_face_is_gone() {
    for (c2s, s2c) in plan_pairs() {
        let (server, handle) = Accumulating::new().with_handle();
        let early = handle.snapshot();
        assert!(!early.is_made() && early.is_empty());
        let mut pair = Pair::new(Accumulating::new().greeting(b"ping"), server)
            .client_to_server(c2s)
            .server_to_client(s2c);
        pair.run();
        drop(pair);
        let seen = handle.clone().snapshot();
        assert!(seen.is_made());
        assert_eq!(seen.data(), "ping");
        assert_eq!(seen.reason(), None); // nobody closed
    }
    let (proto, handle) = Accumulating::new().with_handle();
    let mut h = Harness::new(proto);
    h.deliver(b"x", Chunking::whole());
    h.peer_close();
    drop(h);
    assert_eq!(handle.snapshot().reason(), Some(&Reason::Done));
    assert_eq!(handle.snapshot().pieces(), ["x"]);
}

#[test]
fn accumulating_handles_watch_what_a_reactor_factory_built() {
    // Twisted's closedDeferred: the factory keeps a handle on each protocol it builds.
    let handles = Rc::new(RefCell::new(Vec::<AccumulatingHandle>::new()));
    let sink = Rc::clone(&handles);
    let mut net = Reactor::new();
    net.listen(([10, 0, 0, 1], 7), move || {
        let (proto, handle) = Accumulating::new().with_handle();
        sink.borrow_mut().push(handle);
        proto
    });
    for greeting in ["one", "two"] {
        let client = Scripted::new(Script::new().send(greeting).close());
        net.connect(([10, 0, 0, 1], 7), client);
    }
    net.run();
    drop(net);
    let seen: Vec<(Bytes, Option<Reason>)> = handles
        .borrow()
        .iter()
        .map(|h| (h.snapshot().data(), h.snapshot().reason().cloned()))
        .collect();
    assert_eq!(
        seen,
        [
            (Bytes::from("one"), Some(Reason::Done)),
            (Bytes::from("two"), Some(Reason::Done))
        ]
    );
}

// ----- ClosingLater --------------------------------------------------------------------------

#[test]
fn closing_later_closes_after_its_first_piece() {
    for plan in plans() {
        let mut h = Harness::new(ClosingLater::new().reply(b"bye"));
        h.deliver(b"hello", plan.clone());
        let first = if plan.is_whole() { "hello" } else { "h" };
        assert_eq!(h.protocol().received().cloned(), Some(Bytes::from(first)));
        assert_eq!(h.written(), b"bye");
        assert!(h.peer_got_eof());
        assert_eq!(h.protocol().reason(), Some(&Reason::Done));
        // Only the first piece was ever delivered.
        let lifecycle = h.log().lifecycle(h.conn(), h.end());
        assert_eq!(
            lifecycle,
            [
                Event::Connected,
                Event::Received(Bytes::from(first)),
                Event::Lost(Reason::Done)
            ]
        );
    }
}

#[test]
fn closing_later_against_a_greeting_client_exchanges_one_piece() {
    for (c2s, s2c) in plan_pairs() {
        let mut pair = Pair::new(Accumulating::new().greeting(b"x"), ClosingLater::new())
            .client_to_server(c2s)
            .server_to_client(s2c);
        pair.run();
        assert_eq!(pair.server().received().cloned(), Some(Bytes::from("x")));
        assert_eq!(pair.lost(End::Server), Some(&Reason::Done));
        assert_eq!(pair.client().reason(), Some(&Reason::Done));
        lost_once_and_last(&pair);
    }
}

// ----- Echo, Discard, HalfCloseEcho, LineSender ----------------------------------------------

#[test]
fn echo_writes_back_every_piece() {
    for plan in plans() {
        let mut h = Harness::new(Echo::new());
        h.deliver(b"ping pong", plan.clone());
        assert_eq!(h.written(), b"ping pong");
        assert_eq!(h.protocol().echoed(), 9);
        let pieces = if plan.is_whole() { 1 } else { 9 };
        assert_eq!(h.protocol().pieces(), pieces);
        h.peer_close();
        assert_eq!(h.protocol().reason(), Some(&Reason::Done));
    }
}

#[test]
fn echo_is_ended_by_a_half_close_unlike_half_close_echo() {
    for plan in plans() {
        let mut h = Harness::new(Echo::new());
        h.deliver(b"abc", plan.clone());
        h.peer_half_close();
        assert_eq!(h.protocol().reason(), Some(&Reason::Done));

        let mut h = Harness::new(HalfCloseEcho::new().trailer(b"!"));
        h.deliver(b"abc", plan);
        assert_eq!(h.protocol().reason(), None);
        h.peer_half_close();
        assert!(h.protocol().got_eof());
        assert_eq!(h.written(), b"abc!");
        assert!(h.peer_got_eof());
        assert_eq!(h.protocol().echoed(), 3);
        assert_eq!(h.protocol().reason(), Some(&Reason::Done));
    }
}

#[test]
fn half_close_echo_answers_a_half_closing_client_in_full() {
    // The client writes its request, half-closes at once, and must still read the whole echo.
    for (c2s, s2c) in plan_pairs() {
        let client = Scripted::new(
            Script::new()
                .send(b"request")
                .half_close()
                .expect(b"request")
                .expect(b"\r\nend")
                .expect_eof(),
        );
        let mut pair = Pair::new(client, HalfCloseEcho::new().trailer(b"\r\nend"))
            .client_to_server(c2s)
            .server_to_client(s2c);
        pair.run();
        assert!(pair.client().is_done());
        assert_eq!(pair.lost(End::Server), Some(&Reason::Done));
        assert_eq!(pair.lost(End::Client), Some(&Reason::Done));
        lost_once_and_last(&pair);
    }
}

#[test]
fn discard_counts_and_never_writes() {
    for plan in plans() {
        let mut h = Harness::new(Discard::new());
        h.deliver(b"0123456789", plan.clone());
        assert_eq!(h.protocol().received(), 10);
        assert_eq!(h.protocol().pieces(), if plan.is_whole() { 1 } else { 10 });
        h.peer_abort();
        assert_eq!(h.protocol().reason(), Some(&Reason::Lost));
        assert!(h.written().is_empty());
    }
}

#[test]
fn line_sender_sends_on_connect_and_records_lines_split_anywhere() {
    for plan in plans() {
        let mut h = Harness::new(LineSender::new(["one", "two"]));
        h.connect();
        assert_eq!(h.written(), b"one\r\ntwo\r\n");
        // One write per line, as Twisted's sendLine.
        let writes: Vec<Event> = h
            .events()
            .into_iter()
            .filter(|e| matches!(e, Event::Wrote(_)))
            .collect();
        assert_eq!(writes.len(), 2);
        h.deliver(b"a\r", plan.clone());
        h.deliver(b"\nb\r\n\r\nc", plan.clone());
        let p = h.protocol();
        assert_eq!(p.lines(), ["a", "b", ""], "{plan}");
        assert_eq!(p.pending(), b"c");
        assert!(!p.is_lost());
        h.peer_close();
        assert!(h.protocol().is_lost());
        assert_eq!(h.protocol().reason(), Some(&Reason::Done));
    }
}

#[test]
fn line_sender_on_first_line_waits_for_a_line() {
    for plan in plans() {
        let mut h = Harness::new(LineSender::new(["hi"]).on_first_line());
        h.connect();
        assert!(h.written().is_empty());
        h.deliver(b"hel", plan.clone());
        assert!(h.written().is_empty());
        h.deliver(b"lo\r\nagain\r\n", plan);
        assert_eq!(h.written(), b"hi\r\n"); // sent once, not per line
        assert_eq!(h.protocol().lines(), ["hello", "again"]);
    }
}

#[test]
fn two_line_senders_talk() {
    for (c2s, s2c) in plan_pairs() {
        let client = LineSender::new(["HELO", "QUIT"]);
        let server = LineSender::new(["250 ok"]).on_first_line();
        let mut pair = Pair::new(client, server)
            .client_to_server(c2s)
            .server_to_client(s2c);
        pair.run();
        assert_eq!(pair.server().lines(), ["HELO", "QUIT"]);
        assert_eq!(pair.client().lines(), ["250 ok"]);
    }
}

// ----- NoReadServer, EventualNoReadServer ----------------------------------------------------

#[test]
fn no_read_server_reads_nothing_and_pushes_back() {
    for (c2s, s2c) in plan_pairs() {
        let mut pair = Pair::new(Accumulating::new().greeting(b"hello?"), NoReadServer::new())
            .client_to_server(c2s)
            .server_to_client(s2c);
        pair.run();
        assert_eq!(pair.server().received(), 0);
        assert_eq!(pair.buffered(End::Client), 6);
        pair.lose(End::Client).run();
        assert_eq!(pair.server().reason(), None); // the EOF waits too
        pair.abort(End::Client).run();
        assert_eq!(pair.server().reason(), Some(&Reason::Lost));
        assert_eq!(pair.client().reason(), Some(&Reason::Aborted));
    }
}

#[test]
fn eventual_no_read_server_stops_after_its_hello_drained() {
    for plan in plans() {
        let mut h = Harness::new(EventualNoReadServer::new());
        h.connect();
        assert!(!h.protocol().stopped_reading());
        h.deliver(b"hi", plan.clone());
        assert_eq!(h.written(), b"hello");
        assert!(h.protocol().stopped_reading());
        assert_eq!(h.protocol().received(), b"hi", "{plan}");
        h.deliver(b"unread", plan);
        assert_eq!(h.protocol().received(), b"hi");
        let registered = h
            .events()
            .contains(&Event::ProducerRegistered(piecemeal::ProducerKind::Pull));
        assert!(registered);
    }
}

#[test]
fn eventual_no_read_server_keeps_reading_while_its_hello_is_held_up() {
    // The peer does not read: the hello never drains, so the server keeps reading.
    let mut h = Harness::new(EventualNoReadServer::new());
    h.peer_pause_reading();
    h.deliver(b"a", Chunking::whole());
    h.deliver(b"b", Chunking::whole());
    assert!(!h.protocol().stopped_reading());
    assert_eq!(h.protocol().received(), b"ab");
    h.peer_resume_reading();
    assert!(h.protocol().stopped_reading());
}
