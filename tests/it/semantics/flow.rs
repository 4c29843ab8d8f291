//! Flow control: push and pull producers, a reader that pauses (DESIGN §6).

use pretty_assertions::assert_eq;

use super::*;

// ----- producers ------------------------------------------------------------------------

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
