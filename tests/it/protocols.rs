//! The ready-made protocols (`piecemeal::protocols`): each one's documented behaviour under
//! whole and one-byte chunking, and Twisted's `AbortConnectionMixin` re-enacted with them.

use std::cell::RefCell;
use std::panic::{self, AssertUnwindSafe};
use std::rc::Rc;
use std::time::Duration;

use bytes::Bytes;
use piecemeal::protocols::{
    AbortingClient, AbortingServer, Accumulating, AccumulatingHandle, AfterAbort, ClosingLater,
    Discard, Echo, EventualNoReadServer, HalfCloseEcho, LineSender, NoReadServer, ProducerAborting,
    ReadAbortServer, Script, Scripted, Step, StreamingProducer,
};
use piecemeal::{
    Chunking, Config, End, Event, Harness, Pair, PanicPolicy, Protocol, Reactor, Reason,
};
use pretty_assertions::assert_eq;

/// The two chunkings every behaviour is checked under.
fn plans() -> [Chunking; 2] {
    [Chunking::whole(), Chunking::every_byte()]
}

/// Every combination of whole and one-byte chunking for (client→server, server→client).
fn plan_pairs() -> [(Chunking, Chunking); 4] {
    let (w, b) = (Chunking::whole, Chunking::every_byte);
    [(w(), w()), (b(), b()), (w(), b()), (b(), w())]
}

/// The message of the panic `f` raises.
#[track_caller]
fn panic_text(f: impl FnOnce()) -> String {
    let payload = panic::catch_unwind(AssertUnwindSafe(f)).expect_err("expected a panic");
    if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else {
        String::from("(not a string)")
    }
}

/// Each end's `Lost` events: exactly one, and the end's last event.
#[track_caller]
fn lost_once_and_last<C: Protocol, S: Protocol>(pair: &Pair<C, S>) {
    for end in [End::Client, End::Server] {
        let events = pair.events(end);
        let lost = events
            .iter()
            .filter(|e| matches!(e, Event::Lost(_)))
            .count();
        assert_eq!(lost, 1, "{end}: {events:?}");
        assert!(
            matches!(events.last(), Some(Event::Lost(_))),
            "{end}: {events:?}"
        );
    }
}

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

// ----- The aborting family, one by one -------------------------------------------------------

#[test]
fn aborting_client_writes_aborts_writes_in_order() {
    for (then, extra) in [
        (AfterAbort::Nothing, None),
        (AfterAbort::AbortAgain, None),
        (AfterAbort::Lose, None::<Event>),
    ] {
        let mut h = Harness::client(AbortingClient::with(then));
        h.deliver(b"ready", Chunking::every_byte());
        let p = h.protocol();
        assert_eq!(p.after_abort(), then);
        assert_eq!(p.received(), b"r");
        assert_eq!(p.reason(), Some(&Reason::Aborted));
        assert!(p.problems().is_empty());
        assert!(h.written().is_empty(), "the Xs were unsent: discarded");
        let requests: Vec<Event> = h
            .events()
            .into_iter()
            .filter(|e| {
                matches!(
                    e,
                    Event::Wrote(_)
                        | Event::Dropped(_)
                        | Event::AbortRequested
                        | Event::CloseRequested
                )
            })
            .collect();
        let mut expected = vec![
            Event::Wrote(Bytes::from(vec![b'X'; 10_000])),
            Event::AbortRequested,
            Event::Dropped(Bytes::from(vec![b'Y'; 10_000])),
        ];
        expected.extend(extra);
        assert_eq!(requests, expected, "{then:?}");
    }
}

#[test]
fn aborting_server_aborts_on_data() {
    for plan in plans() {
        for server in [
            AbortingServer::new(),
            AbortingServer::twice(),
            AbortingServer::then_lose(),
        ] {
            let then = server.after_abort();
            let mut h = Harness::new(server);
            h.deliver(b"hello", plan.clone());
            assert_eq!(h.lost(), Some(&Reason::Aborted), "{then:?}");
            let first: &[u8] = if plan.is_whole() { b"hello" } else { b"h" };
            assert_eq!(h.protocol().received(), first);
            let aborts = h
                .events()
                .iter()
                .filter(|e| **e == Event::AbortRequested)
                .count();
            assert_eq!(aborts, 1, "a repeated abort is a no-op");
            assert!(h.protocol().problems().is_empty());
        }
    }
}

#[test]
fn read_abort_server_flags_bytes_other_than_x() {
    for plan in plans() {
        let mut h = Harness::new(ReadAbortServer::new());
        h.connect();
        assert_eq!(h.written(), b"ready");
        h.deliver(b"XXX", plan.clone());
        assert!(h.protocol().problems().is_empty());
        h.deliver(b"XYY", plan.clone());
        let problems = h.protocol().problems();
        let expected = if plan.is_whole() { 1 } else { 2 };
        assert_eq!(problems.len(), expected, "{problems:?}");
        assert!(problems[0].contains("b\"YY\"") || problems[0].contains("b\"Y\""));
        assert!(problems[0].contains("other than X"), "{}", problems[0]);
        h.peer_abort();
        assert_eq!(h.protocol().reason(), Some(&Reason::Lost));
        assert_eq!(h.protocol().received(), b"XXXXYY");
    }
}

#[test]
fn read_abort_server_strict_fails_the_test_with_the_transcript() {
    let text = panic_text(|| {
        let mut h = Harness::new(ReadAbortServer::new().strict());
        h.deliver(b"XY", Chunking::every_byte());
    });
    assert!(
        text.contains("ReadAbortServer (strict): received b\"Y\""),
        "{text}"
    );
    assert!(text.contains("data_received"), "{text}");
    assert!(text.contains("transcript"), "{text}");
}

#[test]
fn producer_aborting_aborts_from_the_second_resume() {
    for plan in plans() {
        let mut h =
            Harness::client(ProducerAborting::new().payload(b"lalala")).outbound(plan.clone());
        h.connect();
        h.run();
        let p = h.protocol();
        assert_eq!(h.written(), b"lalala");
        assert_eq!(p.resumes(), 2);
        assert!(p.is_stopped());
        assert_eq!(p.reason(), Some(&Reason::Aborted));
        assert!(p.problems().is_empty(), "{:?}", p.problems());
        let tail: Vec<Event> = h.events().into_iter().rev().take(2).collect();
        assert_eq!(tail, [Event::Lost(Reason::Aborted), Event::ProducerStopped]);
    }
}

#[test]
fn producer_aborting_later_starts_on_data() {
    let mut h = Harness::client(ProducerAborting::later().payload(b"la"));
    h.connect();
    assert!(h.written().is_empty());
    h.deliver(b"ready", Chunking::every_byte());
    assert_eq!(h.written(), b"la");
    assert_eq!(h.protocol().reason(), Some(&Reason::Aborted));
    assert!(h.protocol().problems().is_empty());
}

#[test]
fn producer_aborting_notices_a_missing_stop_producing() {
    // Called directly, outside any harness: what a transport that forgot stop_producing does.
    let mut p = ProducerAborting::new();
    p.connection_lost(&Reason::Done);
    assert_eq!(
        p.problems(),
        [
            "connection_lost without stop_producing before it",
            "connection_lost before resume_producing was ever called"
        ]
    );
    let text = panic_text(|| {
        ProducerAborting::new()
            .strict()
            .connection_lost(&Reason::Done)
    });
    assert!(text.contains("without stop_producing"), "{text}");
}

#[test]
fn streaming_producer_flags_a_peer_that_read_everything() {
    // Against a reading peer the buffer drains, the producer resumes, and the abort timer finds
    // it unpaused: what Twisted logs as a bug of the test setup.
    let mut pair = Pair::new(StreamingProducer::new(), Discard::new());
    pair.run();
    let p = pair.client();
    assert_eq!(p.pauses(), 1);
    assert!(!p.is_paused());
    assert_eq!(p.problems().len(), 1, "{:?}", p.problems());
    assert!(p.problems()[0].contains("not paused"));
    assert_eq!(p.reason(), Some(&Reason::Aborted));
    assert_eq!(pair.server().received(), 100_000);
}

#[test]
fn streaming_producer_writes_what_it_is_told() {
    let mut pair = Pair::new(StreamingProducer::new().writes(3, 5), NoReadServer::new())
        .config(Config::new().high_water(10));
    pair.run();
    let wrote: Vec<Event> = pair
        .events(End::Client)
        .into_iter()
        .filter(|e| matches!(e, Event::Wrote(_)))
        .collect();
    assert_eq!(wrote, vec![Event::Wrote(Bytes::from("12345")); 3]);
    assert_eq!(pair.client().reason(), Some(&Reason::Aborted));
    assert!(pair.client().problems().is_empty());
}

// ----- Twisted's AbortConnectionMixin (test_tcp.py), re-enacted ------------------------------

/// `runAbortTest`: runs the pair under each pair of chunkings (default: every combination of
/// whole and one-byte) until nothing is left, then asserts what Twisted asserts — the client was
/// aborted or reset, the server's reason is one of `server_reasons` (default: reset or closed),
/// nothing is left scheduled (no timer, no delivery), each end was lost exactly once and last —
/// and then `check`.
struct AbortTest {
    plans: Vec<(Chunking, Chunking)>,
    server_reasons: Vec<Reason>,
}

impl Default for AbortTest {
    fn default() -> Self {
        Self {
            plans: plan_pairs().to_vec(),
            server_reasons: vec![Reason::Lost, Reason::Done],
        }
    }
}

impl AbortTest {
    /// For the tests where the server aborts: Twisted's check accepts it because its
    /// `ConnectionAborted` is a subclass of `ConnectionLost`.
    fn server_aborts() -> Self {
        Self {
            server_reasons: vec![Reason::Lost, Reason::Done, Reason::Aborted],
            ..Self::default()
        }
    }

    fn run<C: Protocol, S: Protocol>(
        &self,
        client: impl Fn() -> C,
        server: impl Fn() -> S,
        check: impl Fn(&Pair<C, S>),
    ) {
        for (c2s, s2c) in &self.plans {
            println!("run: client→server {c2s}, server→client {s2c}");
            let mut pair = Pair::new(client(), server())
                .client_to_server(c2s.clone())
                .server_to_client(s2c.clone());
            pair.run();
            let (c, s) = (pair.lost(End::Client), pair.lost(End::Server));
            assert!(
                matches!(c, Some(Reason::Aborted | Reason::Lost)),
                "client {c:?}"
            );
            let s = s.expect("the server was not lost");
            assert!(self.server_reasons.contains(s), "server {s:?}");
            assert_eq!(pair.advance_to_next(), None, "something is still scheduled");
            lost_once_and_last(&pair);
            check(&pair);
        }
    }
}

/// `AbortTest::default().run(..)`.
fn run_abort_test<C: Protocol, S: Protocol>(
    client: impl Fn() -> C,
    server: impl Fn() -> S,
    check: impl Fn(&Pair<C, S>),
) {
    AbortTest::default().run(client, server, check);
}

fn dropped_ys<C: Protocol, S: Protocol>(pair: &Pair<C, S>) -> bool {
    let ys = Event::Dropped(Bytes::from(vec![b'Y'; 10_000]));
    pair.events(End::Client).contains(&ys)
}

#[test]
fn test_data_received_abort() {
    run_abort_test(AbortingClient::new, ReadAbortServer::new, |pair| {
        assert!(
            pair.client().problems().is_empty(),
            "re-entrant connection_lost"
        );
        assert!(pair.server().problems().is_empty(), "a Y arrived");
        assert_eq!(pair.server().received(), b"");
        assert_eq!(pair.client().reason(), Some(&Reason::Aborted));
        assert_eq!(pair.server().reason(), Some(&Reason::Lost));
        assert!(dropped_ys(pair));
    });
}

#[test]
fn test_client_aborts_connection_twice() {
    run_abort_test(AbortingClient::twice, ReadAbortServer::new, |pair| {
        assert!(pair.client().problems().is_empty());
        assert!(pair.server().problems().is_empty());
        let aborts = pair
            .events(End::Client)
            .iter()
            .filter(|e| **e == Event::AbortRequested)
            .count();
        assert_eq!(aborts, 1);
    });
}

#[test]
fn test_client_aborts_connection_then_loses_connection() {
    run_abort_test(AbortingClient::then_lose, ReadAbortServer::new, |pair| {
        assert!(pair.client().problems().is_empty());
        assert!(pair.server().problems().is_empty());
        assert_eq!(pair.client().reason(), Some(&Reason::Aborted));
        assert!(!pair.events(End::Client).contains(&Event::CloseRequested));
    });
}

#[test]
fn test_server_aborts_connection_twice() {
    let client = || Accumulating::new().greeting(b"hello");
    AbortTest::server_aborts().run(client, AbortingServer::twice, |pair| {
        assert_eq!(pair.client().reason(), Some(&Reason::Lost));
        assert_eq!(pair.server().reason(), Some(&Reason::Aborted));
        assert!(pair.server().problems().is_empty());
    });
}

#[test]
fn test_server_aborts_connection_then_loses_connection() {
    let client = || Accumulating::new().greeting(b"hello");
    AbortTest::server_aborts().run(client, AbortingServer::then_lose, |pair| {
        assert_eq!(pair.client().reason(), Some(&Reason::Lost));
        assert_eq!(pair.server().reason(), Some(&Reason::Aborted));
        assert!(pair.server().problems().is_empty());
    });
}

/// `stop_producing` came right before the client's `connection_lost`.
#[track_caller]
fn stopped_then_lost<C: Protocol, S: Protocol>(pair: &Pair<C, S>) {
    let events = pair.events(End::Client);
    let at = events.len() - 2;
    assert_eq!(
        events[at..],
        [Event::ProducerStopped, Event::Lost(Reason::Aborted)]
    );
}

#[test]
fn test_resume_producing_abort() {
    run_abort_test(ProducerAborting::new, Accumulating::new, |pair| {
        let p = pair.client();
        assert!(p.problems().is_empty(), "{:?}", p.problems());
        assert!(p.is_stopped());
        assert_eq!(p.resumes(), 2);
        stopped_then_lost(pair);
        assert_eq!(pair.server().len(), 6_000);
        assert_eq!(pair.server().reason(), Some(&Reason::Lost));
    });
}

#[test]
fn test_resume_producing_abort_later() {
    let server = || Accumulating::new().greeting(b"ready");
    run_abort_test(ProducerAborting::later, server, |pair| {
        let p = pair.client();
        assert!(p.problems().is_empty(), "{:?}", p.problems());
        stopped_then_lost(pair);
        assert_eq!(pair.server().len(), 6_000);
    });
}

#[test]
fn test_full_write_buffer() {
    run_abort_test(StreamingProducer::new, NoReadServer::new, |pair| {
        let p = pair.client();
        assert!(p.problems().is_empty(), "{:?}", p.problems());
        assert_eq!(p.pauses(), 1);
        assert_eq!(p.reason(), Some(&Reason::Aborted));
        assert_eq!(pair.server().reason(), Some(&Reason::Lost));
        assert_eq!(pair.server().received(), 0);
        assert_eq!(pair.now().since_start(), Duration::from_millis(10));
    });
}

#[test]
fn test_full_write_buffer_after_byte_exchange() {
    // The server stops reading once its `hello` has drained; the client streams on its first
    // piece of that `hello`. When the client's stream arrives whole while the `hello` still
    // trickles out byte by byte, the server reads the stream before it stops: see the next test.
    let (w, b) = (Chunking::whole, Chunking::every_byte);
    let test = AbortTest {
        plans: vec![(w(), w()), (b(), b()), (b(), w())],
        ..AbortTest::default()
    };
    test.run(
        StreamingProducer::later,
        EventualNoReadServer::new,
        |pair| {
            let p = pair.client();
            assert!(p.problems().is_empty(), "{:?}", p.problems());
            assert!(p.is_paused());
            assert!(pair.server().stopped_reading());
            let received = pair.server().received();
            assert!(
                received.starts_with(b"h") && received.len() < 100,
                "{received:?}"
            );
            assert_eq!(pair.server().reason(), Some(&Reason::Lost));
        },
    );
}

#[test]
fn test_full_write_buffer_after_byte_exchange_race() {
    // Client→server whole, server→client one byte at a time: the client starts streaming on
    // the `h` of the server's `hello`, and its whole stream reaches the server before the `o`
    // has left, so the server reads everything, the producer resumes, and the abort timer finds
    // it unpaused. The StreamingProducer reports it as Twisted does ("BUG: We should be paused
    // at this point"); the connection still ends as the mixin requires. (Twisted's
    // EventualNoReadServer stops reading at registration, before its write, and so never races.)
    let test = AbortTest {
        plans: vec![(Chunking::whole(), Chunking::every_byte())],
        ..AbortTest::default()
    };
    test.run(
        StreamingProducer::later,
        EventualNoReadServer::new,
        |pair| {
            let p = pair.client();
            assert_eq!(p.problems().len(), 1);
            assert!(p.problems()[0].contains("not paused"));
            assert_eq!(pair.server().received().len(), 5 + 100_000);
            assert!(pair.server().stopped_reading());
        },
    );
}

// ----- Scripted ------------------------------------------------------------------------------

#[test]
fn script_is_a_value_that_prints_as_code() {
    let script = Script::new()
        .expect(b"HELLO\r\n")
        .send(b"hi \"you\"\\\x00\xff\t")
        .wait(Duration::from_secs(2))
        .wait(Duration::from_millis(1500))
        .wait(Duration::from_micros(7))
        .wait(Duration::from_nanos(3))
        .half_close()
        .expect_eof()
        .close()
        .abort();
    assert_eq!(
        script.to_string(),
        concat!(
            r#"Script::new().expect(b"HELLO\r\n").send(b"hi \"you\"\\\0\xff\t")"#,
            ".wait(Duration::from_secs(2)).wait(Duration::from_millis(1500))",
            ".wait(Duration::from_micros(7)).wait(Duration::from_nanos(3))",
            ".half_close().expect_eof().close().abort()"
        )
    );
    assert_eq!(format!("{script:?}"), script.to_string());
    assert_eq!(script.len(), 10);
    assert_eq!(script.steps()[2], Step::Wait(Duration::from_secs(2)));
    assert_ne!(script, Script::new());
    assert!(Script::new().is_empty());
    assert_eq!(
        Script::new().then(Step::Close),
        Script::new().close(),
        "then(step) is the general form"
    );
}

#[test]
fn scripted_plays_a_conversation_under_any_chunking() {
    for (c2s, s2c) in plan_pairs() {
        let script = Script::new()
            .send(b"HELO me\r\n")
            .expect(b"HELO me\r\n")
            .send(b"QUIT\r\n")
            .expect(b"QUIT\r\n")
            .close();
        let mut pair = Pair::new(Scripted::new(script), Echo::new())
            .client_to_server(c2s)
            .server_to_client(s2c);
        pair.run();
        assert!(pair.client().is_done());
        assert!(pair.client().remaining().is_empty());
        assert_eq!(pair.client().reason(), Some(&Reason::Done));
        assert_eq!(pair.server().echoed(), 15);
        pair.client().assert_done();
    }
}

#[test]
fn scripted_expectations_carry_extra_bytes_over() {
    for plan in plans() {
        let script = Script::new().expect(b"ab").expect(b"cd").send(b"ok");
        let mut h = Harness::new(Scripted::new(script));
        h.deliver(b"abc", plan.clone());
        assert_eq!(h.protocol().unmatched(), b"c");
        assert!(h.written().is_empty());
        h.deliver(b"d", plan);
        assert_eq!(h.written(), b"ok");
        assert!(h.protocol().is_done());
    }
}

#[test]
fn scripted_waits_on_the_virtual_clock() {
    let script = Script::new()
        .send(b"a")
        .wait(Duration::from_secs(1))
        .send(b"b");
    let mut h = Harness::new(Scripted::new(script));
    h.connect();
    assert_eq!(h.written(), b"a");
    h.advance(Duration::from_millis(999));
    assert_eq!(h.written(), b"a");
    h.advance(Duration::from_millis(1));
    assert_eq!(h.written(), b"ab");
    assert!(h.protocol().is_done());
}

#[test]
fn scripted_half_closes_and_expects_the_eof() {
    for plan in plans() {
        let script = Script::new()
            .send(b"req")
            .half_close()
            .expect(b"resp")
            .expect_eof()
            .send(b"late?");
        let mut h = Harness::new(Scripted::new(script));
        h.connect();
        assert!(h.peer_got_eof());
        assert!(h.events().contains(&Event::WriteClosed));
        h.deliver(b"resp", plan);
        h.peer_half_close();
        assert!(h.protocol().is_done());
        // Its write half was closed: the send after it is refused as misuse.
        let misuse = h.events().iter().any(|e| matches!(e, Event::Misuse(_)));
        assert!(misuse);
    }
}

#[test]
fn scripted_closes_on_eof_once_the_script_is_used_up() {
    let mut h = Harness::new(Scripted::new(Script::new().send(b"x")));
    h.peer_half_close();
    assert_eq!(h.lost(), Some(&Reason::Done));
    assert_eq!(h.written(), b"x");
}

#[test]
fn scripted_mismatch_fails_with_a_diff_the_step_and_the_transcript() {
    for plan in plans() {
        let text = panic_text(|| {
            let script = Script::new().send(b"hi").expect(b"HELLO\r\n").close();
            let mut h = Harness::new(Scripted::new(script));
            h.deliver(b"HELP!\r\n", plan.clone());
        });
        assert!(
            text.contains("step 2 of 3 .expect(b\"HELLO\\r\\n\")"),
            "{text}"
        );
        assert!(text.contains("received other bytes"), "{text}");
        assert!(
            text.contains(r#"script: Script::new().send(b"hi").expect(b"HELLO\r\n").close()"#),
            "{text}"
        );
        assert!(text.contains("HELP!"), "{text}");
        assert!(text.contains("Diff"), "{text}");
        assert!(text.contains("transcript"), "{text}");
        assert!(text.contains("data_received"), "{text}");
    }
}

#[test]
fn scripted_fails_on_eof_while_expecting_and_on_bytes_after_the_end() {
    let text = panic_text(|| {
        let mut h = Harness::new(Scripted::new(Script::new().expect(b"abc")));
        h.deliver(b"ab", Chunking::whole());
        h.peer_half_close();
    });
    assert!(
        text.contains("EOF arrived while bytes were expected"),
        "{text}"
    );
    assert!(text.contains("read_connection_lost"), "{text}");

    let text = panic_text(|| {
        let mut h = Harness::new(Scripted::new(Script::new().expect(b"ab")));
        h.deliver(b"abc", Chunking::every_byte());
    });
    assert!(text.contains("after the end of the script"), "{text}");

    let text = panic_text(|| {
        let mut h = Harness::new(Scripted::new(Script::new().expect_eof()));
        h.deliver(b"?", Chunking::whole());
    });
    assert!(text.contains("while the EOF was expected"), "{text}");
}

#[test]
fn scripted_fails_when_lost_with_steps_left() {
    let text = panic_text(|| {
        let mut h = Harness::new(Scripted::new(Script::new().expect(b"never")));
        h.deliver(b"nev", Chunking::whole());
        h.peer_abort();
    });
    assert!(text.contains("1 of 1 steps left"), "{text}");
    assert!(
        text.contains("connection lost: lost (reset by peer)"),
        "{text}"
    );
    assert!(
        text.contains("received and not matched: b\"nev\""),
        "{text}"
    );
    assert!(text.contains("connection_lost"), "{text}");
}

#[test]
fn scripted_dropped_with_steps_left_fails() {
    let scripted = Scripted::new(Script::new().send(b"a").expect(b"b"));
    let text = panic_text(move || drop(scripted));
    assert!(
        text.contains("2 of 2 steps left, waiting at step 1 .send(b\"a\")"),
        "{text}"
    );
    assert!(text.contains("dropped"), "{text}");

    let text = panic_text(|| {
        let mut h = Harness::new(Scripted::new(Script::new().expect(b"ab")));
        h.deliver(b"a", Chunking::whole());
        h.protocol().assert_done();
    });
    assert!(
        text.contains("waiting at step 1 .expect(b\"ab\")"),
        "{text}"
    );

    // A disarmed one is not checked, and a used-up one passes.
    let mut quiet = Scripted::new(Script::new().expect(b"x"));
    quiet.disarm();
    drop(quiet);
    drop(Scripted::new(Script::new()));
}

#[test]
fn scripted_failure_caught_by_the_panic_policy_is_raised_again_at_drop() {
    let cfg = Config::new().panic_policy(PanicPolicy::LoseConnection);
    let run = || {
        let mut h = Harness::new(Scripted::new(Script::new().expect(b"yes"))).config(cfg.clone());
        h.deliver(b"no!", Chunking::every_byte());
        assert!(matches!(h.lost(), Some(Reason::Panicked(_))));
        assert!(h.protocol().failure().is_some());
        h
    };
    let text = panic_text(|| drop(run()));
    assert!(text.contains("raised earlier"), "{text}");

    let mut h = run();
    h.protocol_mut().disarm();
    drop(h);
}

#[test]
fn scripted_name_labels_the_transcript() {
    let mut h = Harness::new(Scripted::new(Script::new().send(b"x")).name("smtp"));
    h.connect();
    assert!(h.transcript().to_string().contains("smtp"));
    assert_eq!(h.protocol().script(), &Script::new().send(b"x"));
}
