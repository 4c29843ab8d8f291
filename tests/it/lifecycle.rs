//! The lifecycle contract (DESIGN §5): what the harness guarantees every protocol, rule by rule.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use bytes::Bytes;
use piecemeal::clock::TimerId;
use piecemeal::event::Misuse;
use piecemeal::{Chunking, Config, End, Event, Harness, Pair, PanicPolicy, ProducerKind};
use piecemeal::{Protocol, Reason, Transport};
use pretty_assertions::assert_eq;

use super::support::*;

const C: End = End::Client;
const S: End = End::Server;
const MADE: Event = Event::Connected;
const DONE: Event = Event::Lost(Reason::Done);

/// A log shared by both ends and the test, to see the order in which code ran.
type Journal = Rc<RefCell<Vec<&'static str>>>;

/// A way for a protocol to close its connection from a callback.
type Close = fn(&mut Transport<'_>);

/// A misuse a test commits as the protocol of a harness.
type Commit = fn(&mut Harness<Hooks>);

fn entries(j: &Journal) -> Vec<&'static str> {
    j.borrow().clone()
}

/// Exactly one `connection_lost`, the last callback, with `reason`.
#[track_caller]
fn assert_lost_once_last(p: &Hooks, reason: &Reason) {
    let calls = calls(p);
    assert!(calls.ends_with("lost"), "{calls}");
    let lost = calls.split(' ').filter(|c| *c == "lost").count();
    assert_eq!(lost, 1, "{calls}");
    assert_eq!(p.state.lost.as_ref(), Some(reason));
}

/// After its `Lost` event an end records nothing but misuse and notes.
#[track_caller]
fn assert_nothing_after_lost(events: &[Event]) {
    let at = events.iter().position(|e| matches!(e, Event::Lost(_)));
    let later = &events[at.expect("a Lost event") + 1..];
    let quiet = (later.iter()).all(|e| matches!(e, Event::Misuse(_) | Event::Note(_)));
    assert!(quiet, "events after Lost: {later:?}");
}

/// Both ends are lost; poking them afterwards (writes injected by the test, another run) calls
/// nothing and is recorded as misuse.
#[track_caller]
fn assert_lost_for_good(pair: &mut Pair<Hooks, Hooks>, client: &Reason, server: &Reason) {
    assert_lost_once_last(pair.client(), client);
    assert_lost_once_last(pair.server(), server);
    pair.write(C, "late").write(S, "late").run();
    assert_lost_once_last(pair.client(), client);
    assert_lost_once_last(pair.server(), server);
    let late = Event::Misuse(Misuse::WriteAfterLost(Bytes::from_static(b"late")));
    for end in [C, S] {
        assert_nothing_after_lost(&pair.events(end));
        assert_eq!(pair.events(end).last(), Some(&late));
    }
}

// ----- rule 1: connection_made once, first, per end ---------------------------------------

#[test]
fn connection_made_is_first_and_once_on_each_end() {
    // Both ends write at once; the server is made before the client.
    let client = Hooks::new("Client").on_made(|_, tx| tx.write("hi"));
    let server = Hooks::new("Server").on_made(|_, tx| tx.write("hello"));
    let mut pair = Pair::new(client, server);
    pair.set_chunking(C, Chunking::every_byte()).run();
    let made = pair.log().records().iter().filter(|r| r.event == MADE);
    assert_eq!(made.map(|r| r.end).collect::<Vec<_>>(), [S, C]);
    assert_eq!(calls(pair.client()), "made data");
    assert_eq!(calls(pair.server()), "made data data");
}

#[test]
fn connection_made_comes_first_when_the_test_starts_by_delivering() {
    // The first thing the test does is deliver; the protocol is made before the data.
    let mut h = Harness::new(quiet("Proto"));
    h.deliver(b"abc", Chunking::every_byte());
    h.peer_close().connect();
    assert_eq!(calls(h.protocol()), "made data data data lost");
    assert_eq!(count(&h.events(), &MADE), 1);
}

// ----- rule 2: data in order, no loss, no duplication, cut as planned, never empty --------

/// A protocol that keeps every piece `data_received` got, in order.
fn piece_recorder() -> (Hooks, Rc<RefCell<Vec<Bytes>>>) {
    let pieces = Rc::new(RefCell::new(Vec::new()));
    let sink = Rc::clone(&pieces);
    let hooks = Hooks::new("Reader").on_data(move |_, data, _| sink.borrow_mut().push(data));
    (hooks, pieces)
}

fn expected_pieces(input: &[u8], plan: &Chunking) -> Vec<Bytes> {
    let pieces = plan.pieces(input.len()).into_iter();
    pieces.map(|r| Bytes::copy_from_slice(&input[r])).collect()
}

fn bytes_list(parts: &[&str]) -> Vec<Bytes> {
    let bytes = parts.iter().map(|s| s.as_bytes());
    bytes.map(Bytes::copy_from_slice).collect()
}

#[test]
fn pieces_are_cut_exactly_as_the_chunking_says() {
    // One delivery of 40 bytes under each kind of plan: the pieces are the plan's pieces.
    let input: Vec<u8> = (0..40u8).map(|i| b'a' + i % 26).collect();
    let mut plans = vec![Chunking::whole(), Chunking::every_byte()];
    plans.push(Chunking::fixed(3));
    plans.extend([Chunking::cuts([1, 5, 9]), Chunking::sizes([2, 3])]);
    plans.extend([Chunking::seeded(42, 8), Chunking::seeded(7, 3)]);
    for plan in plans {
        let (proto, pieces) = piece_recorder();
        Harness::new(proto).deliver(&input, plan.clone());
        assert_eq!(*pieces.borrow(), expected_pieces(&input, &plan), "{plan}");
        assert!(pieces.borrow().iter().all(|p| !p.is_empty()), "{plan}");
    }
}

/// A client that writes `ab`, `cde`, `f` in `connection_made`.
fn three_writes() -> Hooks {
    Hooks::new("Writer").on_made(|_, tx| {
        tx.write("ab");
        tx.write("cde");
        tx.write("f");
    })
}

#[test]
fn every_cut_set_of_three_writes_is_delivered_as_planned() {
    // All 32 ways to cut 6 bytes the client wrote as three writes, then per-write pieces.
    let run = |plan: &Chunking| {
        let (server, pieces) = piece_recorder();
        let mut pair = Pair::new(three_writes(), server);
        pair.set_chunking(C, plan.clone()).run();
        pieces.take()
    };
    for plan in Chunking::all(6) {
        assert_eq!(run(&plan), expected_pieces(b"abcdef", &plan), "{plan}");
    }
    let per_write = run(&Chunking::per_write());
    assert_eq!(per_write, bytes_list(&["ab", "cde", "f"]));
}

#[test]
fn each_delivery_is_cut_from_its_own_start() {
    // Two deliveries with one cut each: offsets are relative, pieces never span deliveries.
    let (proto, pieces) = piece_recorder();
    let mut h = Harness::new(proto);
    h.deliver(b"abcd", Chunking::cuts([1]));
    h.deliver(b"efgh", Chunking::cuts([3]));
    assert_eq!(*pieces.borrow(), bytes_list(&["a", "bcd", "efg", "h"]));
}

#[test]
fn echo_round_trip_loses_and_duplicates_nothing() {
    // An echo server under one-byte pieces, the client under seeded pieces, 200 bytes.
    let input: Vec<u8> = (0..200u32).map(|i| (i * 7 % 251) as u8).collect();
    let sent = input.clone();
    let client = Hooks::new("Client").on_made(move |_, tx| tx.write(&sent));
    let mut pair = Pair::new(client, echo())
        .client_to_server(Chunking::every_byte())
        .server_to_client(Chunking::seeded(3, 17));
    pair.run();
    assert_eq!(pair.server().state.received, input);
    assert_eq!(pair.server().state.pieces, 200);
    assert_eq!(pair.client().state.received, input);
}

// ----- rule 3: no re-entrancy; requests take effect after the callback returns ------------

/// Wraps a protocol; panics if one of its callbacks starts while a callback of either end of
/// the connection is on the stack (the flag is shared by both ends).
struct Guarded {
    inner: Hooks,
    busy: Rc<Cell<bool>>,
}

/// Marks a callback as running until dropped.
struct Busy(Rc<Cell<bool>>);

impl Busy {
    fn enter(flag: &Rc<Cell<bool>>, name: &str) -> Self {
        assert!(!flag.replace(true), "{name} called inside another callback");
        Self(Rc::clone(flag))
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.set(false);
    }
}

/// Delegates each callback to the inner protocol, with the callback marked as running.
macro_rules! guard_each {
    ($($name:ident($($arg:ident: $ty:ty),*);)*) => {$(
        fn $name(&mut self, $($arg: $ty),*) {
            let _busy = Busy::enter(&self.busy, stringify!($name));
            self.inner.$name($($arg),*);
        }
    )*};
}

impl Protocol for Guarded {
    guard_each! {
        connection_made(tx: &mut Transport<'_>);
        data_received(data: Bytes, tx: &mut Transport<'_>);
        read_connection_lost(tx: &mut Transport<'_>);
        write_connection_lost(tx: &mut Transport<'_>);
        connection_lost(reason: &Reason);
        timer_fired(timer: TimerId, tx: &mut Transport<'_>);
        pause_producing(tx: &mut Transport<'_>);
        resume_producing(tx: &mut Transport<'_>);
        stop_producing();
    }
    fn half_closeable(&self) -> bool {
        Protocol::half_closeable(&self.inner)
    }
    fn log_prefix(&self) -> std::borrow::Cow<'static, str> {
        self.inner.log_prefix()
    }
}

fn guarded(client: Hooks, server: Hooks) -> Pair<Guarded, Guarded> {
    let busy = Rc::new(Cell::new(false));
    let wrap = |inner| Guarded {
        inner,
        busy: Rc::clone(&busy),
    };
    Pair::new(wrap(client), wrap(server))
}

#[test]
fn no_callback_runs_inside_another_during_ping_pong_and_close() {
    // Ten one-byte rounds, then the client closes from data_received; the half-closeable
    // server answers the EOF and closes too.
    let client = Hooks::new("Pinger").on_made(|_, tx| tx.write("p"));
    let client = client.on_data(|s, _, tx| {
        s.counter += 1;
        match s.counter {
            ..10 => tx.write("p"),
            _ => tx.lose_connection(),
        }
    });
    let server = echo().half_closeable().on_read_lost(|_, tx| {
        tx.write("bye");
        tx.lose_connection();
    });
    let mut pair = guarded(client, server);
    pair.run();
    assert_eq!(pair.client().inner.state.received, b"pppppppppp");
    assert_eq!(pair.server().inner.state.calls[11..], ["read_lost", "lost"]);
    assert_eq!(pair.client().inner.state.lost, Some(Reason::Done));
}

#[test]
fn no_callback_runs_inside_another_with_producers_and_timers() {
    // A pull producer writes three pieces, then a timer aborts; the echoing push producer on
    // the other end is paused by a tiny high-water mark and stopped by the reset.
    let client = Hooks::new("Puller")
        .on_made(|_, tx| tx.register_producer(ProducerKind::Pull))
        .on_resume(|s, tx| {
            s.counter += 1;
            if s.counter <= 3 {
                tx.write("data");
            } else {
                tx.unregister_producer();
                tx.call_later(Duration::from_millis(5));
            }
        })
        .on_timer(|_, _, tx| tx.abort_connection());
    let server = echo().on_made(|_, tx| tx.register_producer(ProducerKind::Push));
    let mut pair = guarded(client, server).config(Config::new().high_water(2));
    pair.run();
    let (c, s) = (&pair.client().inner, &pair.server().inner);
    let want = "made resume resume data resume data resume data timer lost";
    assert_eq!(calls(c), want);
    // The server got the three pieces; its echoes kept its buffer over the mark, so it was
    // paused once and resumed only when the buffer had drained to zero, then stopped and lost.
    assert_eq!(calls(s), "made data pause data data resume stop lost");
    assert_eq!(s.state.pieces, 3);
    assert!(calls(s).ends_with("resume stop lost"), "{}", calls(s));
    assert_eq!(c.state.lost, Some(Reason::Aborted));
    assert_eq!(s.state.lost, Some(Reason::Lost));
}

#[test]
fn a_write_reaches_the_peer_only_after_the_writing_callback_returns() {
    // The server writes in data_received and notes when it returns; the client notes receipt.
    let j: Journal = Rc::default();
    let (js, jc) = (Rc::clone(&j), Rc::clone(&j));
    let server = Hooks::new("Server").on_data(move |_, _, tx| {
        tx.write("pong");
        js.borrow_mut().extend(["server wrote", "server returns"]);
    });
    let client = Hooks::new("Client").on_made(|_, tx| tx.write("ping"));
    let client = client.on_data(move |_, _, _| jc.borrow_mut().push("client received"));
    Pair::new(client, server).run();
    let want = ["server wrote", "server returns", "client received"];
    assert_eq!(entries(&j), want);
}

#[test]
fn connection_lost_never_runs_inside_lose_abort_or_fail() {
    // Each way of closing notes that the call returned; connection_lost must come later.
    let closes: [(Close, Reason); 3] = [
        (|tx| tx.lose_connection(), Reason::Done),
        (|tx| tx.abort_connection(), Reason::Aborted),
        (|tx| tx.fail("bad"), Reason::Error("bad".into())),
    ];
    for (close, reason) in closes {
        let j: Journal = Rc::default();
        let (jm, jl) = (Rc::clone(&j), Rc::clone(&j));
        let server = Hooks::new("Closer").on_made(move |_, tx| {
            close(tx);
            let mut j = jm.borrow_mut();
            j.extend(["close returned", "callback returns"]);
        });
        let server = server.on_lost(move |_, _| jl.borrow_mut().push("connection_lost"));
        let mut pair = Pair::new(quiet("Peer"), server);
        pair.run();
        let want = ["close returned", "callback returns", "connection_lost"];
        assert_eq!(entries(&j), want);
        assert_eq!(pair.server().state.lost, Some(reason));
    }
}

#[test]
fn connection_lost_never_runs_inside_the_tests_own_lose_connection() {
    // The test closes the protocol from outside; nothing is called until that returns.
    let mut h = Harness::new(quiet("Proto"));
    let calls_inside = h.with_protocol(|p, tx| {
        tx.lose_connection();
        calls(p)
    });
    assert_eq!(calls_inside, "made");
    assert_eq!(calls(h.protocol()), "made lost");
}

#[test]
fn pause_producing_runs_after_the_write_that_crossed_the_mark() {
    // A push producer writes past the high-water mark and notes that the write returned.
    let j: Journal = Rc::default();
    let (jm, jp) = (Rc::clone(&j), Rc::clone(&j));
    let proto = Hooks::new("Pusher").on_made(move |_, tx| {
        tx.register_producer(ProducerKind::Push);
        tx.write([0; 16]);
        jm.borrow_mut().push("write returned");
    });
    let proto = proto.on_pause(move |_, _| jp.borrow_mut().push("pause_producing"));
    let mut h = Harness::new(proto).config(Config::new().high_water(8));
    h.peer_pause_reading();
    assert_eq!(entries(&j), ["write returned", "pause_producing"]);
}

// ----- rule 4: connection_lost exactly once per end, last --------------------------------

/// A pair of which the client writes `hi` in `connection_made`.
fn greeted(server: Hooks) -> Pair<Hooks, Hooks> {
    Pair::new(Hooks::new("Client").on_made(|_, tx| tx.write("hi")), server)
}

#[test]
fn lost_once_last_however_the_connection_ends() {
    // Normal close, abort (and so peer abort), double close on both ends, fail, and a panic
    // under PanicPolicy::LoseConnection; then the test pokes both ends.
    let close = Hooks::new("Closer").on_made(|_, tx| {
        tx.write("hi");
        tx.lose_connection();
    });
    let abort = Hooks::new("Aborter").on_made(|_, tx| tx.abort_connection());
    let twice = |_: &mut State, tx: &mut Transport<'_>| {
        tx.lose_connection();
        tx.lose_connection();
    };
    let fail = Hooks::new("Failer").on_data(|_, _, tx| tx.fail("bad"));
    let boom = Hooks::new("Boom").on_data(|_, _, _| panic!("kaboom"));
    let cfg = Config::new().panic_policy(PanicPolicy::LoseConnection);
    let both = Pair::new(quiet("A").on_made(twice), quiet("B").on_made(twice));
    let (done, error) = (Reason::Done, Reason::Error("bad".into()));
    let (aborted, lost) = (Reason::Aborted, Reason::Lost);
    let panicked = Reason::Panicked("kaboom".into());
    let cases = [
        ("close", Pair::new(close, echo()), &done, &done),
        ("abort", Pair::new(abort, echo()), &aborted, &lost),
        ("twice", both, &done, &done),
        ("fail", greeted(fail), &done, &error),
        ("panic", greeted(boom).config(cfg), &done, &panicked),
    ];
    for (case, mut pair, client, server) in cases {
        pair.run();
        for end in [C, S] {
            let requests = count(&pair.events(end), &Event::CloseRequested);
            assert!(requests <= 1, "{case}: {end} closed {requests}×");
        }
        assert_lost_for_good(&mut pair, client, server);
    }
}

#[test]
fn lost_once_last_after_eof_at_a_plain_protocol() {
    // The peer half-closes then closes: a plain protocol is lost at the EOF, once.
    let mut h = Harness::new(echo());
    h.deliver(b"abc", Chunking::whole()).peer_half_close();
    h.peer_close().run();
    assert_eq!(calls(h.protocol()), "made data lost");
    assert_eq!(h.lost(), Some(&Reason::Done));
    assert_nothing_after_lost(&h.events());
}

#[test]
fn timers_pending_at_loss_never_fire() {
    // The server schedules timers and is lost in four ways (the last: its peer aborts).
    let closes: [Close; 4] = [
        |tx| tx.lose_connection(),
        |tx| tx.abort_connection(),
        |tx| tx.fail("bad"),
        |_| {},
    ];
    for close in closes {
        let server = Hooks::new("Timed").on_made(move |_, tx| {
            tx.call_later(Duration::ZERO);
            tx.call_later(Duration::from_secs(1));
            close(tx);
        });
        let client = Hooks::new("Peer").on_made(|_, tx| {
            tx.call_later(Duration::from_secs(2));
            tx.abort_connection();
        });
        let mut pair = Pair::new(client, server);
        pair.run();
        let events = [pair.events(C), pair.events(S)].concat();
        let fired = events.iter().any(|e| matches!(e, Event::TimerFired(_)));
        assert!(!fired, "{}", pair.transcript());
        assert!(pair.lost(C).is_some() && pair.lost(S).is_some());
    }
}

// ----- rule 5: no data after own lose/abort/fail, none while paused -----------------------

#[test]
fn no_data_after_own_lose_abort_or_fail() {
    // The protocol closes on its third one-byte piece; the other three bytes are never seen.
    let closes: [(Close, Reason); 3] = [
        (|tx| tx.lose_connection(), Reason::Done),
        (|tx| tx.abort_connection(), Reason::Aborted),
        (|tx| tx.fail("enough"), Reason::Error("enough".into())),
    ];
    for (close, reason) in closes {
        let proto = Hooks::new("Closer").on_data(move |s, _, tx| {
            if s.pieces == 3 {
                close(tx);
            }
        });
        let mut h = Harness::new(proto);
        h.deliver(b"abcdef", Chunking::every_byte());
        assert_eq!(h.protocol().state.received, b"abc", "{reason:?}");
        assert_eq!(calls(h.protocol()), "made data data data lost");
        assert_eq!(h.lost(), Some(&reason));
    }
}

#[test]
fn no_data_to_a_protocol_that_closed_before_it_arrived() {
    // The server closes in connection_made; the client's greeting is never delivered.
    let mut pair = greeted(Hooks::new("Server").on_made(|_, tx| tx.lose_connection()));
    pair.run();
    assert_eq!(pair.log().lifecycle(pair.conn(), S), [MADE, DONE]);
    assert_eq!(pair.lost(C), Some(&Reason::Done));
}

#[test]
fn no_data_while_paused() {
    // The protocol pauses, the peer sends bytes and closes; all of it waits until resume.
    let mut h = Harness::new(quiet("Reader"));
    h.with_protocol(|_, tx| tx.pause_reading());
    h.deliver(b"abc", Chunking::every_byte()).peer_close().run();
    assert_eq!(h.events(), [MADE, Event::Paused]);
    h.with_protocol(|_, tx| tx.resume_reading());
    assert_eq!(calls(h.protocol()), "made data data data lost");
    assert_eq!(h.protocol().state.received, b"abc");
}

#[test]
fn pausing_inside_data_received_stops_delivery_at_once() {
    // The protocol pauses on its second one-byte piece, then resumes from the test.
    let proto = Hooks::new("Reader").on_data(|s, _, tx| {
        if s.pieces == 2 {
            tx.pause_reading();
        }
    });
    let mut h = Harness::new(proto);
    h.deliver(b"abcd", Chunking::every_byte());
    assert_eq!(h.protocol().state.received, b"ab");
    h.with_protocol(|_, tx| tx.resume_reading());
    assert_eq!(h.protocol().state.received, b"abcd");
}

// ----- rule 6: writes after the write half or the connection is gone ----------------------

#[test]
fn writes_after_lose_write_connection_are_dropped_as_misuse() {
    // The protocol half-closes between two writes, and writes again from data_received.
    let proto = Hooks::new("Writer").half_closeable();
    let proto = proto.on_data(|_, _, tx| tx.write("late"));
    let mut h = Harness::new(proto);
    h.with_protocol(|_, tx| {
        tx.write("a");
        tx.lose_write_connection();
        tx.write("b");
    });
    h.deliver(b"x", Chunking::whole());
    assert_eq!((h.written(), h.peer_got_eof()), (&b"a"[..], true));
    let closed = |s: &'static [u8]| Event::Misuse(Misuse::WriteAfterWriteClosed(Bytes::from(s)));
    assert_eq!(misuse_events(h.events()), [closed(b"b"), closed(b"late")]);
}

#[test]
fn writes_after_loss_are_dropped_as_misuse() {
    // The peer resets the protocol; the test then writes as the protocol.
    let mut h = Harness::new(quiet("Writer"));
    h.peer_abort().with_protocol(|_, tx| tx.write("ghost"));
    assert_eq!(calls(h.protocol()), "made lost");
    assert_eq!(h.written(), b"");
    let late = Event::Misuse(Misuse::WriteAfterLost(Bytes::from_static(b"ghost")));
    assert_eq!(h.events().last(), Some(&late));
}

/// Each misuse, and how to commit it from the test as the protocol.
fn misuses() -> Vec<(Misuse, Commit)> {
    let b = || Bytes::from_static(b"b");
    vec![
        (Misuse::WriteAfterWriteClosed(b()), |h| {
            h.with_protocol(|_, tx| {
                tx.lose_write_connection();
                tx.write("b");
            });
        }),
        (Misuse::WriteAfterLost(b()), |h| {
            h.peer_abort().with_protocol(|_, tx| tx.write("b"));
        }),
        (Misuse::ProducerAlreadyRegistered, |h| {
            h.with_protocol(|_, tx| {
                tx.register_producer(ProducerKind::Push);
                tx.register_producer(ProducerKind::Pull);
            });
        }),
        (Misuse::NoProducerRegistered, |h| {
            h.with_protocol(|_, tx| tx.unregister_producer());
        }),
        (Misuse::CancelInactiveTimer(first_timer()), |h| {
            let t = h.with_protocol(|_, tx| tx.call_later(Duration::ZERO));
            h.run().with_protocol(|_, tx| tx.cancel(t));
        }),
    ]
}

/// The id of the first timer of a simulation (ids count from zero in each one).
fn first_timer() -> TimerId {
    Harness::new(quiet("Clock")).with_protocol(|_, tx| tx.call_later(Duration::ZERO))
}

#[test]
fn misuse_is_recorded_without_strict_mode() {
    // Each misuse in turn, default config: recorded as an event, no panic.
    for (misuse, commit) in misuses() {
        let mut h = Harness::new(quiet("Misuser"));
        commit(&mut h);
        assert_eq!(misuse_events(h.events()), [Event::Misuse(misuse)]);
    }
}

#[test]
fn strict_mode_turns_each_misuse_into_a_panic_with_the_transcript() {
    // Each misuse in turn under Config::strict(true).
    for (misuse, commit) in misuses() {
        let mut h = Harness::new(quiet("Misuser")).config(Config::new().strict(true));
        let text = panic_text(|| commit(&mut h));
        assert!(text.contains(&misuse.to_string()), "{misuse:?}: {text}");
        assert!(text.contains("Misuser (server of #0)"), "{text}");
        let transcript = transcript_of(&text);
        assert!(transcript.contains(&format!("MISUSE: {misuse}")), "{text}");
    }
}

#[test]
fn strict_mode_panics_on_misuse_inside_a_callback() {
    // The protocol half-closes and writes again from its data_received.
    let proto = Hooks::new("Sloppy").on_data(|_, _, tx| {
        tx.lose_write_connection();
        tx.write("oops");
    });
    let mut h = Harness::new(proto).config(Config::new().strict(true));
    let text = panic_text(|| {
        h.deliver(b"go", Chunking::whole());
    });
    let misuse = Misuse::WriteAfterWriteClosed(Bytes::from_static(b"oops"));
    assert!(text.contains(&misuse.to_string()), "{text}");
    let transcript = transcript_of(&text);
    assert!(transcript.contains("received b\"go\""), "{text}");
}

#[test]
fn a_timer_scheduled_on_a_lost_end_never_fires() {
    // The test schedules a timer for the client after its connection was lost (found by the
    // lifecycle fuzz target): it is refused as misuse and never fires.
    let mut pair = Pair::new(quiet("Client"), quiet("Server"));
    pair.run();
    pair.lose(End::Client);
    pair.run();
    let timer = pair.with_client(|_, tx| tx.call_later(Duration::ZERO));
    pair.run();
    let client = pair.events(End::Client);
    assert_eq!(
        client.last(),
        Some(&Event::Misuse(Misuse::TimerAfterLost(timer)))
    );
    assert!(!client.iter().any(|e| matches!(e, Event::TimerFired(_))));
    assert_eq!(pair.client().state.calls.last(), Some(&"lost"));
}
