//! The aborting family of `piecemeal::protocols`, one by one, and Twisted's
//! `AbortConnectionMixin` (`test_tcp.py`) re-enacted with them.

use std::time::Duration;

use bytes::Bytes;
use piecemeal::protocols::{
    AbortingClient, AbortingServer, Accumulating, AfterAbort, Discard, EventualNoReadServer,
    NoReadServer, ProducerAborting, ReadAbortServer, StreamingProducer,
};
use piecemeal::{Chunking, Config, End, Event, Harness, Pair, Protocol, Reason};
use pretty_assertions::assert_eq;

use super::support::{count, lost_once_and_last, panic_text, plan_pairs, plans, transcript_of};

// ----- The aborting family, one by one -------------------------------------------------------

#[test]
fn aborting_client_writes_aborts_writes_in_order() {
    // Whatever it does after the abort adds no request: a second abort or a close is a no-op.
    for then in [
        AfterAbort::Nothing,
        AfterAbort::AbortAgain,
        AfterAbort::Lose,
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
        let expected = [
            Event::Wrote(Bytes::from(vec![b'X'; 10_000])),
            Event::AbortRequested,
            Event::Dropped(Bytes::from(vec![b'Y'; 10_000])),
        ];
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
            let aborts = count(&h.events(), &Event::AbortRequested);
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
        // One problem per piece holding bytes other than X, at its stream offset.
        let problems = h.protocol().problems();
        let expected: &[&str] = if plan.is_whole() {
            &["received b\"YY\" in a piece at offset 3"]
        } else {
            &[
                "received b\"Y\" in a piece at offset 4",
                "received b\"Y\" in a piece at offset 5",
            ]
        };
        assert_eq!(problems.len(), expected.len(), "{problems:?}");
        for (problem, start) in problems.iter().zip(expected) {
            assert!(problem.starts_with(start), "{problem}");
            assert!(problem.contains("other than X"), "{problem}");
        }
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
    let transcript = transcript_of(&text);
    assert!(transcript.contains("received b\"X\""), "{text}");
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
        assert_eq!(count(&pair.events(End::Client), &Event::AbortRequested), 1);
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

/// The server aborts on the client's `hello`, then does something more (`server`), which
/// must change nothing: the server is aborted, the client reset, and the server's requests are
/// one abort and no close.
fn run_server_aborts_test(server: fn() -> AbortingServer) {
    let client = || Accumulating::new().greeting(b"hello");
    AbortTest::server_aborts().run(client, server, |pair| {
        assert_eq!(pair.client().reason(), Some(&Reason::Lost));
        assert_eq!(pair.server().reason(), Some(&Reason::Aborted));
        assert!(pair.server().problems().is_empty());
        let events = pair.events(End::Server);
        assert_eq!(count(&events, &Event::AbortRequested), 1, "{events:?}");
        assert_eq!(count(&events, &Event::CloseRequested), 0, "{events:?}");
    });
}

#[test]
fn test_server_aborts_connection_twice() {
    run_server_aborts_test(AbortingServer::twice);
}

#[test]
fn test_server_aborts_connection_then_loses_connection() {
    run_server_aborts_test(AbortingServer::then_lose);
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
